/*
 * host.h - what a run's actions become in flowvm: the operator connector that
 * carries out SIM operations, and the commit of a run's buffered actions.
 *
 * During a run the VM's host is record.h's RecHost, which validates and
 * buffers every action.  When the run ends or reaches a wait, host_commit
 * writes the buffered actions (in the caller's transaction): each action in
 * the run's history, SIM operations through the connector with their result,
 * emails and webhooks into the delivery outbox as pending (sending them is
 * the delivery worker's job) with a pending result per recipient.
 */
#ifndef FLOW_RUNTIME_HOST_H
#define FLOW_RUNTIME_HOST_H

#include <cjson/cJSON.h>

#include "../stdlib/arena.h"
#include "../stdlib/catalog.h"
#include "record.h"
#include "sims.h"
#include "store.h"

/* The operator connector: an interface, so that an operator's API can stand
 * behind it later. */
typedef struct HostConnector {
    void *ctx;
    /* Applies one SIM operation, given as recorded ({"action": "topup",
     * "amount": N, ...}), to the SIM's fields (new strings in `arena`).
     * Returns 0, or -1 with err set (the operation's result is "failed"). */
    int (*apply)(void *ctx, ActionKind op, const cJSON *action, Value *sim, Arena *arena, char *err, size_t errlen);
} HostConnector;

/* The store's connector: the SIM's record in the store (suspend -> status
 * suspended, resume -> active, tag/untag -> tags, topup -> data_left +=
 * amount, renew -> month_usage 0 and data_left = quota). */
extern const HostConnector host_store_connector;

/* Commits actions [from, end) of rec for run `run` at `time`; SIM operations
 * change `sim` (may be NULL for runs without a SIM) through the connector
 * and the table.  Returns the new `from`, or -1 with err set. */
int host_commit(Store *store, SimTable *sims, const HostConnector *conn, int64_t run, int64_t time, RecHost *rec,
                int from, SimRec *sim, char *err, size_t errlen);

#endif
