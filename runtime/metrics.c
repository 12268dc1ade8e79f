/*
 * metrics.c - counters, latency histograms and their Prometheus text.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
#define NBUCKETS (sizeof bucket_bounds / sizeof *bucket_bounds)
/* the statuses the API answers; any other is counted as "other" */
static const unsigned statuses[] = { 200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503 };
#define NSTATUSES (sizeof statuses / sizeof *statuses)

typedef struct RouteStats {
    uint64_t by_status[NSTATUSES + 1];
    uint64_t buckets[NBUCKETS + 1];   /* the last: +Inf */
    double sum;
    uint64_t count;
} RouteStats;

typedef struct OrgCounters {
    int64_t org;
    uint64_t accepted, duplicates, unknown_sims, rejected;
    uint64_t runs_ok, runs_failed, runs_waiting;
} OrgCounters;

struct Metrics {
    const char *const *routes;
    int nroutes;
    RouteStats *route_stats;          /* nroutes + 1: the last for requests matching no route */
    OrgCounters *orgs;
    int norgs, cap;
};

Metrics *metrics_new(const char *const *routes)
{
    Metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->routes = routes;
    while (routes[m->nroutes]) m->nroutes++;
    m->route_stats = calloc((size_t)m->nroutes + 1, sizeof *m->route_stats);
    if (!m->route_stats) {
        free(m);
        return NULL;
    }
    return m;
}

void metrics_free(Metrics *m)
{
    if (!m) return;
    free(m->route_stats);
    free(m->orgs);
    free(m);
}

void metrics_request(Metrics *m, int route, unsigned status, double seconds)
{
    RouteStats *r = &m->route_stats[route < 0 || route >= m->nroutes ? m->nroutes : route];
    size_t s = 0;
    while (s < NSTATUSES && statuses[s] != status) s++;
    r->by_status[s]++;
    size_t b = 0;
    while (b < NBUCKETS && seconds > bucket_bounds[b]) b++;
    r->buckets[b]++;
    r->sum += seconds;
    r->count++;
}

/* The organisation's counters, made on first use; NULL out of memory. */
static OrgCounters *org_counters(Metrics *m, int64_t org)
{
    for (int i = 0; i < m->norgs; i++)
        if (m->orgs[i].org == org) return &m->orgs[i];
    if (m->norgs == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        OrgCounters *orgs = realloc(m->orgs, (size_t)cap * sizeof *orgs);
        if (!orgs) return NULL;
        m->orgs = orgs;
        m->cap = cap;
    }
    OrgCounters *o = &m->orgs[m->norgs++];
    memset(o, 0, sizeof *o);
    o->org = org;
    return o;
}

void metrics_events(Metrics *m, int64_t org, const IngestReport *r)
{
    OrgCounters *o = org_counters(m, org);
    if (!o) return;
    o->accepted += r->accepted;
    o->duplicates += r->duplicates;
    o->unknown_sims += r->unknown_sims;
    o->rejected += r->rejected;
}

void metrics_runs(Metrics *m, int64_t org, uint64_t ok, uint64_t failed, uint64_t waiting)
{
    OrgCounters *o = org_counters(m, org);
    if (!o) return;
    o->runs_ok += ok;
    o->runs_failed += failed;
    o->runs_waiting += waiting;
}

/* Counts of the organisation's rows by a label, read from the store. */
static int store_gauge(FILE *out, Store *store, int64_t org, const char *name, const char *label, const char *sql)
{
    sqlite3_stmt *st = store_stmt(store, sql);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, org);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (label) fprintf(out, "%s{%s=\"%s\"} %lld\n", name, label, (const char *)sqlite3_column_text(st, 0),
                           (long long)sqlite3_column_int64(st, 1));
        else fprintf(out, "%s %lld\n", name, (long long)sqlite3_column_int64(st, 0));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

char *metrics_render(Metrics *m, Store *store, int64_t org, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (!out) return NULL;
    OrgCounters none = { .org = org }, *o = org_counters(m, org);
    if (!o) o = &none;
    fputs("# HELP flow_events_total Events received over the API since the server started, by result.\n"
          "# TYPE flow_events_total counter\n", out);
    fprintf(out, "flow_events_total{result=\"accepted\"} %llu\n", (unsigned long long)(o->accepted - o->unknown_sims));
    fprintf(out, "flow_events_total{result=\"unknown_sim\"} %llu\n", (unsigned long long)o->unknown_sims);
    fprintf(out, "flow_events_total{result=\"duplicate\"} %llu\n", (unsigned long long)o->duplicates);
    fprintf(out, "flow_events_total{result=\"rejected\"} %llu\n", (unsigned long long)o->rejected);
    fputs("# HELP flow_runs_total Runs started or resumed since the server started, by how they ended (waiting: parked).\n"
          "# TYPE flow_runs_total counter\n", out);
    fprintf(out, "flow_runs_total{status=\"ok\"} %llu\n", (unsigned long long)o->runs_ok);
    fprintf(out, "flow_runs_total{status=\"failed\"} %llu\n", (unsigned long long)o->runs_failed);
    fprintf(out, "flow_runs_total{status=\"waiting\"} %llu\n", (unsigned long long)o->runs_waiting);
    fputs("# HELP flow_runs_parked Runs parked in a wait.\n# TYPE flow_runs_parked gauge\n", out);
    int rc = store_gauge(out, store, org, "flow_runs_parked", NULL,
                         "SELECT count(*) FROM waits w JOIN runs r ON r.id = w.run JOIN versions v ON v.id = r.version"
                         " JOIN flows f ON f.id = v.flow WHERE f.org = ?1");
    fputs("# HELP flow_deliveries Webhook and email deliveries by state (pending: the queue).\n"
          "# TYPE flow_deliveries gauge\n", out);
    if (rc == 0)
        rc = store_gauge(out, store, org, "flow_deliveries", "state",
                         "SELECT s.state, (SELECT count(*) FROM outbox o JOIN actions a ON a.id = o.action"
                         "  JOIN runs r ON r.id = a.run JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow"
                         "  WHERE f.org = ?1 AND o.state = s.state)"
                         " FROM (SELECT 'pending' AS state UNION ALL SELECT 'sent' UNION ALL SELECT 'failed') s");
    fputs("# HELP flow_http_requests_total Requests answered, by route and status.\n"
          "# TYPE flow_http_requests_total counter\n", out);
    for (int r = 0; r <= m->nroutes; r++) {
        const char *route = r < m->nroutes ? m->routes[r] : "none";
        for (size_t s = 0; s <= NSTATUSES; s++) {
            if (!m->route_stats[r].by_status[s]) continue;
            fprintf(out, "flow_http_requests_total{route=\"%s\",code=\"", route);
            if (s < NSTATUSES) fprintf(out, "%u", statuses[s]);
            else fputs("other", out);
            fprintf(out, "\"} %llu\n", (unsigned long long)m->route_stats[r].by_status[s]);
        }
    }
    fputs("# HELP flow_http_request_duration_seconds Time from a request's headers to its answer, by route.\n"
          "# TYPE flow_http_request_duration_seconds histogram\n", out);
    for (int r = 0; r <= m->nroutes; r++) {
        const RouteStats *rs = &m->route_stats[r];
        if (!rs->count) continue;
        const char *route = r < m->nroutes ? m->routes[r] : "none";
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) {
            cumulative += rs->buckets[b];
            fprintf(out, "flow_http_request_duration_seconds_bucket{route=\"%s\",le=\"", route);
            if (b < NBUCKETS) fprintf(out, "%g", bucket_bounds[b]);
            else fputs("+Inf", out);
            fprintf(out, "\"} %llu\n", (unsigned long long)cumulative);
        }
        fprintf(out, "flow_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route, rs->sum);
        fprintf(out, "flow_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route,
                (unsigned long long)rs->count);
    }
    if (fclose(out) != 0 || rc != 0) {
        free(text);
        return NULL;
    }
    return text;
}
