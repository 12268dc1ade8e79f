/*
 * history.h - `flowvm runs`: what ran, on which event, with what result.
 */
#ifndef FLOW_RUNTIME_HISTORY_H
#define FLOW_RUNTIME_HISTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

typedef struct HistFilter {
    const char *flow;        /* flow name, or NULL */
    const char *iccid;       /* or NULL */
    const char *status;      /* "ok" "failed" "waiting", or NULL */
    int limit;               /* 0: 100 */
} HistFilter;

/* One line per run, newest first (or a JSON array with `json`). */
int hist_list(Store *store, int64_t org, const HistFilter *filter, bool json, FILE *out, char *err, size_t errlen);

/* A run in detail: its event, flow version, timings, each action with its
 * results, the log, and the error of a failed run. */
int hist_show(Store *store, int64_t org, int64_t run, FILE *out, char *err, size_t errlen);

#endif
