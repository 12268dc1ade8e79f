/*
 * deploy.h - versions of flows and subs: drafts, approval, activation,
 * rollback, pinned subs, inputs.  spec/deployments.md describes the
 * lifecycle; permissions are checked by the caller (lifecycle.h).
 *
 * A deployed artifact becomes a draft of its flow or sub waiting for
 * approval; approval by another user makes it the active version and the
 * active one before it archived.  An artifact identical to the active
 * version, with the same inputs, stays as it is.  A flow version pins the
 * sub versions it links against (version_subs) when it is approved.
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

#define DEPLOY_MAX_FLOWS 20   /* flows and subs per project, deleted ones not counted */

typedef struct DeployOptions {
    const char *author;      /* NULL: each artifact active at once (--auto-approve, flowc test) */
    const char *approver;    /* with author: approved in the same transaction (--approve-as) */
    const char *project;     /* of the flows it creates; NULL: "default" */
    bool has_from, has_until;
    int64_t from, until;     /* an activation window overriding the artifact's */
} DeployOptions;

/* Deploys the artifacts in one transaction (active at once, as
 * deploy_versions with no author);  refuses them all (-1, err says
 * which and why) when one fails art_load's verification, does not link, lacks
 * a required input (no default, no value in `inputs`) or has an input value
 * of the wrong type.  `inputs` is a JSON object of input name -> value, or
 * NULL.  `allow_missing` (flowc test) lets required inputs stay unset.
 * `at` is the deployment time.  A line per artifact goes to `out` (may be
 * NULL). */
int deploy_artifacts(Store *store, int64_t org, const DeployItem *items, int nitems, const cJSON *inputs,
                     bool allow_missing, int64_t at, FILE *out, char *err, size_t errlen);

/* The same with options: drafts by `author` (approved at once by
 * `approver` when given, in the same transaction), a project, an activation window.  Also refuses a
 * flow beyond DEPLOY_MAX_FLOWS in its project, a deleted flow, a flow of
 * another project. */
int deploy_versions(Store *store, int64_t org, const DeployItem *items, int nitems, const cJSON *inputs,
                    bool allow_missing, int64_t at, const DeployOptions *options, FILE *out, char *err,
                    size_t errlen);

/* Approves the drafts of the named flows or subs (subs first) in one
 * transaction: each becomes active, the version before it archived.
 * Refuses (-1, err) a flow without a draft, a draft by `approver`, a flow
 * that does not link with the active subs. */
int deploy_approve(Store *store, int64_t org, const char *const *names, int nnames, const char *approver, int64_t at,
                   FILE *out, char *err, size_t errlen);

/* A new draft of `name` by `author` copying version `number`'s artifact,
 * inputs and window; it goes through approval as any draft. */
int deploy_rollback(Store *store, int64_t org, const char *name, int number, const char *author, int64_t at,
                    FILE *out, char *err, size_t errlen);

/* The flows and subs of `project` that count against DEPLOY_MAX_FLOWS (the
 * ones not deleted); -1 on a store error. */
int64_t deploy_project_flows(Store *store, int64_t org, const char *project);

/* enable, disable, delete (no new runs, not listed, not counted in the
 * limit; restorable) and restore a flow or sub. */
typedef enum { DEPLOY_ENABLE, DEPLOY_DISABLE, DEPLOY_DELETE, DEPLOY_RESTORE } DeployState;

/* The state named `verb` ("enable" "disable" "delete" "restore"); -1 for another. */
int deploy_state_of(const char *verb);

/* Applies `state` to the flow (or else the sub) `name` with an audit row by
 * `actor`, in one transaction; `kind` gets "flow" or "sub".  0; -2 when
 * there is no such flow; -1 with err when the state is so already, the flow
 * is deleted (enable, disable), its project is full (restore) or the store
 * fails.  Messages: spec/deployments.md. */
int deploy_set_state(Store *store, int64_t org, const char *name, DeployState state, const char *actor, int64_t at,
                     char kind[8], char *err, size_t errlen);

/* The inputs of `art` taken from `inputs` as a canonical JSON object
 * (malloc'd), each type-checked; NULL with err when one is refused. */
struct Artifact;
char *deploy_resolve_inputs(const struct Artifact *art, const char *label, const cJSON *inputs, bool allow_missing,
                            char *err, size_t errlen);

/* Audit record with its actor (store_audit's actor is the OS user). */
int deploy_audit(Store *store, int64_t org, const char *actor, const char *action, const char *detail, char *err,
                 size_t errlen);

#endif
