/*
 * metrics.h - what `flowvm serve` counts, and GET /metrics: the Prometheus
 * text exposition format (version 0.0.4).
 *
 * Counters of an organisation (events by result, runs by status) are kept
 * in memory since the process started; gauges of an organisation (parked
 * runs, deliveries by state: the queue's depth) are read from the store
 * when scraped; requests by route and status and their latency histograms
 * are the process's, with no organisation's data in them.  A scrape shows
 * the caller's organisation only.  Not thread-safe: the server serialises.
 */
#ifndef FLOW_RUNTIME_METRICS_H
#define FLOW_RUNTIME_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "store.h"

typedef struct Metrics Metrics;

/* `routes` labels (NULL-ended, kept by reference) name the route indexes. */
Metrics *metrics_new(const char *const *routes);
void metrics_free(Metrics *metrics);

/* A request answered: its route index (-1: no route) and its duration. */
void metrics_request(Metrics *metrics, int route, unsigned status, double seconds);
/* An ingestion's lines by result. */
void metrics_events(Metrics *metrics, int64_t org, const IngestReport *report);
/* Runs finished (ok, failed) or parked (waiting). */
void metrics_runs(Metrics *metrics, int64_t org, uint64_t ok, uint64_t failed, uint64_t waiting);

/* The exposition for `org` (malloc'd, *len bytes); NULL on a store error. */
char *metrics_render(Metrics *metrics, Store *store, int64_t org, size_t *len);

#endif
