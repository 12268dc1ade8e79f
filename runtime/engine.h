/*
 * engine.h - evaluation: events against the deployed flows of one
 * organisation, trigger semantics, runs, waits and the clock.
 *
 * One engine serves flowvm (a file store) and flowc test (an in-memory
 * store).  Work happens inside a transaction the caller opens with
 * eng_begin and ends with eng_commit (or eng_rollback): an event, its SIM
 * update, the runs it causes with their actions and deliveries, and their
 * waits commit together.  spec/runtime.md describes the semantics.
 */
#ifndef FLOW_RUNTIME_ENGINE_H
#define FLOW_RUNTIME_ENGINE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vm/vm.h"
#include "host.h"
#include "sims.h"
#include "store.h"

/* sim.dormant: made for a SIM at each whole day after its last data.usage
 * event (idle 1d, 2d, ...) up to ENG_DORMANT_MAX, while a flow is on
 * sim.dormant (a later data.usage event starts a new idle period). */
#define ENG_DORMANT_STEP 86400
#define ENG_DORMANT_MAX (400 * 86400)
#define ENG_MAX_ID 256               /* bytes of an event id */
#define ENG_MAX_TICK_ITEMS 2000000   /* clock-made events per tick */

typedef struct EngOptions {
    bool test_world;              /* flowc test: inputs may stay unset */
    const HostConnector *connector;   /* NULL: host_store_connector */
    int64_t time_min, time_max;   /* accepted event times; 0, 0: any */
} EngOptions;

typedef struct EngStats {
    uint64_t events, duplicates, unknown_sims, evaluations, runs, failed, waiting, resumed, actions;
    uint64_t reloads;   /* caches reloaded because another connection changed what they hold */
    double parse_s, evaluate_s, commit_s;   /* filled by callers that time their phases */
} EngStats;

typedef enum { ENG_PROCESSED, ENG_DUPLICATE, ENG_UNKNOWN_SIM } EngOutcome;

typedef struct Engine Engine;

/* Loads the organisation's active flow versions.  NULL with err set. */
Engine *eng_open(Store *store, int64_t org, const EngOptions *options, char *err, size_t errlen);
void eng_free(Engine *engine);

int eng_begin(Engine *engine, char *err, size_t errlen);
int eng_commit(Engine *engine, char *err, size_t errlen);
void eng_rollback(Engine *engine);

/* One event (a JSON object: id, type, iccid, time and the payload beside
 * them), `raw` its text or NULL.  Returns 0 with *outcome; -2 when the event
 * is refused (err: the reason; nothing recorded); -1 on a store error (the
 * transaction must be rolled back). */
int eng_event(Engine *engine, const cJSON *event, const char *raw, EngOutcome *outcome, char *err, size_t errlen);

/* Advances the clock to `until`: resumes the parked runs that fall due, and
 * makes the schedule, date and sim.dormant events that fall due, in time
 * order.  Opens and commits its own transactions.  0 or -1 with err. */
int eng_tick(Engine *engine, int64_t until, char *err, size_t errlen);

/* Replaces the accepted event times (EngOptions' time_min, time_max): a
 * long-lived engine moves them on with the clock. */
void eng_set_time_bounds(Engine *engine, int64_t time_min, int64_t time_max);

/* The organisation's clock: the last time ticked to. */
int64_t eng_clock(Engine *engine);

/* Gives an input a value in every active version that declares it
 * (flowc test's `set`).  0, or -1 with err (a value of the wrong type). */
int eng_set_input(Engine *engine, const char *name, const cJSON *value, char *err, size_t errlen);

SimTable *eng_sims(Engine *engine);
const EngStats *eng_stats(const Engine *engine);
EngStats *eng_stats_mut(Engine *engine);

#endif
