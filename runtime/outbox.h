/*
 * outbox.h - the delivery worker: outbox rows in, attempts and results out.
 *
 * Claims due rows (holding each for a lease so that no other worker and no
 * later pass takes it while it is in flight), builds each webhook envelope
 * and signature or email, hands them to the engine (deliver.h), and records
 * every attempt, the per-recipient results and the row's new state in
 * batched transactions.  A crash between sending and recording sends again
 * after the lease with the same webhook-id: deliveries are at least once.
 * spec/deliveries.md describes the envelope, the signature and the policy.
 */
#ifndef FLOW_RUNTIME_OUTBOX_H
#define FLOW_RUNTIME_OUTBOX_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "deliver.h"
#include "store.h"

#define OBX_BATCH 256              /* rows claimed at once */
#define OBX_JOBS (DLV_IN_FLIGHT_MAX + OBX_BATCH)   /* jobs from claim to recording at most */
#define OBX_LEASE_MARGIN 60        /* seconds a claim outlives the total timeout */

typedef struct ObxOptions {
    DlvConfig config;
    bool once;                     /* stop when nothing due is left */
    int64_t (*clock)(void *ctx);   /* unix seconds; NULL: the wall clock */
    void *clock_ctx;
    FILE *log;                     /* a line per attempt; NULL: none */
    volatile sig_atomic_t *stop;   /* set by a signal handler: finish what is in flight, then return */
    pthread_mutex_t *store_lock;   /* the store is shared: held around each of the worker's
                                      transactions, as its other users hold it; NULL: ours alone */
} ObxOptions;

typedef struct ObxStats {
    int64_t attempts, delivered, retried, dead;
} ObxStats;

/* Runs the worker.  0, or -1 with err set. */
int obx_run(Store *store, const ObxOptions *options, ObxStats *stats, char *err, size_t errlen);

/* The organisation's network policy (delivery_settings). */
int obx_policy(Store *store, int64_t org, NetPolicy *policy);

/* The endpoint of a URL, created with a new secret when missing.  secrets
 * gets the space-separated list (WHK_HEADER_MAX bytes at most).  Returns its
 * id, or -1 with err set. */
int64_t obx_endpoint(Store *store, int64_t org, const char *url, char *secrets, size_t size, bool *disabled,
                     char *err, size_t errlen);

#endif
