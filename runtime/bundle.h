/*
 * bundle.h - export and import: a flow (with the subs its versions pin) or
 * a project as one portable JSON bundle of flows, their versions (artifact
 * bytes in base64, the declaration's source, who/when/what, pinned subs)
 * and, when kept, their inputs.  spec/deployments.md describes the format.
 * Permissions are the caller's (deploy_cli.c).
 */
#ifndef FLOW_RUNTIME_BUNDLE_H
#define FLOW_RUNTIME_BUNDLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define BUNDLE_FORMAT "flow-bundle"
#define BUNDLE_VERSION 1
#define BUNDLE_MAX_FLOWS 4096

/* The bundle of flow `name` (and the subs it pins), or of every flow of
 * `project` that is not deleted (name NULL), as malloc'd JSON text; NULL
 * with err set. */
char *bundle_export(Store *store, int64_t org, const char *name, const char *project, bool keep_inputs, char *err,
                    size_t errlen);

/* Imports a bundle (`label` names it in messages) in one transaction after
 * verifying every artifact with art_load; refuses (-1, err) an incompatible
 * or altered bundle, a flow that exists already, a project beyond its
 * limit.  A bundle without inputs takes them from `inputs` (may be NULL).
 * States, authors and approvers are kept; the import is audited under
 * `actor`.  A line per flow goes to `out`. */
int bundle_import(Store *store, int64_t org, const char *label, const char *text, size_t len, const cJSON *inputs,
                  const char *actor, FILE *out, char *err, size_t errlen);

/* Decodes base64 into malloc'd bytes; NULL when it is not base64. */
uint8_t *bundle_unbase64(const char *text, size_t *len);

#endif
