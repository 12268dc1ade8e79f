/*
 * deploy.h - making artifacts the active versions of their flows and subs.
 *
 * Minimal for now (the full lifecycle of drafts, approvals and rollback is a
 * later issue; the versions table already has their states): each artifact
 * given becomes the active version of its flow or sub, the version before it
 * archived.  An artifact identical to the active version, with the same
 * inputs, stays as it is.  A flow version pins the sub versions it links
 * against (version_subs).
 */
#ifndef FLOW_RUNTIME_DEPLOY_H
#define FLOW_RUNTIME_DEPLOY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

typedef struct DeployItem {
    const char *label;       /* the file name, for messages */
    const uint8_t *bytes;
    size_t len;
} DeployItem;

/* Deploys the artifacts in one transaction; refuses them all (-1, err says
 * which and why) when one fails art_load's verification, does not link, lacks
 * a required input (no default, no value in `inputs`) or has an input value
 * of the wrong type.  `inputs` is a JSON object of input name -> value, or
 * NULL.  `allow_missing` (flowc test) lets required inputs stay unset.
 * `at` is the deployment time.  A line per artifact goes to `out` (may be
 * NULL). */
int deploy_artifacts(Store *store, int64_t org, const DeployItem *items, int nitems, const cJSON *inputs,
                     bool allow_missing, int64_t at, FILE *out, char *err, size_t errlen);

#endif
