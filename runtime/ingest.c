/*
 * ingest.c - NDJSON lines to the engine, in batches.
 */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ingest_time_bounds(int64_t reference, int64_t *min, int64_t *max)
{
    *min = reference - INGEST_PAST;
    *max = reference + INGEST_FUTURE;
}

typedef struct LineSink {
    IngestLineFn fn;
    void *ctx;
} LineSink;

static void reject(IngestReport *r, const LineSink *sink, uint64_t line, const char *why)
{
    r->rejected++;
    if (sink->fn) sink->fn(sink->ctx, line, INGEST_REJECTED, why);
}

static void print_reject(void *ctx, uint64_t line, IngestResult result, const char *why)
{
    if (result == INGEST_REJECTED && ctx) fprintf(ctx, "line %llu: %s\n", (unsigned long long)line, why);
}

int ingest_stream(Engine *e, FILE *in, int batch, FILE *rejects, IngestReport *r, char *err, size_t errlen)
{
    return ingest_stream_lines(e, in, batch, print_reject, rejects, r, err, errlen);
}

/* One parsed event (line `lineno` of its text, `raw`) inside an open
 * transaction.  0 (processed or rejected), or -1 on a store error (err; the
 * caller rolls back). */
static int ingest_parsed(Engine *e, const cJSON *json, const char *raw, uint64_t lineno, const LineSink *sink,
                         IngestReport *r, char *err, size_t errlen)
{
    EngOutcome outcome;
    char why[400];
    int rc = eng_event(e, json, raw, &outcome, why, sizeof why);
    if (rc == -2) {
        reject(r, sink, lineno, why);
        return 0;
    }
    if (rc != 0) {
        snprintf(err, errlen, "line %llu: %s", (unsigned long long)lineno, why);
        return -1;
    }
    if (outcome == ENG_DUPLICATE) r->duplicates++;
    else r->accepted++;
    if (outcome == ENG_UNKNOWN_SIM) r->unknown_sims++;
    if (sink->fn)
        sink->fn(sink->ctx, lineno, outcome == ENG_DUPLICATE ? INGEST_DUPLICATE
                                   : outcome == ENG_UNKNOWN_SIM ? INGEST_UNKNOWN_SIM
                                                                : INGEST_ACCEPTED, NULL);
    return 0;
}

/* One line (NUL-terminated, without its newline, not blank): ingest_parsed
 * once parsed. */
static int ingest_line(Engine *e, char *line, uint64_t lineno, const LineSink *sink, IngestReport *r, char *err,
                       size_t errlen)
{
    double t0 = mono();
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithOpts(line, &end, 1);
    double t1 = mono();
    r->parse_s += t1 - t0;
    if (!json) {
        char why[96];
        snprintf(why, sizeof why, "malformed JSON near byte %ld", end ? (long)(end - line) + 1 : 1L);
        reject(r, sink, lineno, why);
        return 0;
    }
    int rc = ingest_parsed(e, json, line, lineno, sink, r, err, errlen);
    cJSON_Delete(json);
    r->evaluate_s += mono() - t1;
    return rc;
}

/* The report's counts of runs, from the engine's before and after. */
typedef struct RunsBefore {
    uint64_t runs, failed, actions;
} RunsBefore;

static RunsBefore runs_before(Engine *e)
{
    const EngStats *stats = eng_stats(e);
    return (RunsBefore){ stats->runs, stats->failed, stats->actions };
}

static void count_runs(Engine *e, RunsBefore b, IngestReport *r)
{
    const EngStats *stats = eng_stats(e);
    r->runs = stats->runs - b.runs;
    r->failed = stats->failed - b.failed;
    r->actions = stats->actions - b.actions;
}

int ingest_stream_lines(Engine *e, FILE *in, int batch, IngestLineFn fn, void *ctx, IngestReport *r, char *err,
                        size_t errlen)
{
    const LineSink sink = { fn, ctx };
    memset(r, 0, sizeof *r);
    if (batch <= 0) batch = INGEST_DEFAULT_BATCH;
    char *line = malloc(INGEST_MAX_LINE + 2);
    if (!line) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    RunsBefore before = runs_before(e);
    double start = mono();
    int in_batch = 0, status = 0;
    bool open = false, too_long = false;
    while (fgets(line, INGEST_MAX_LINE + 2, in)) {
        size_t len = strlen(line);
        bool complete = len > 0 && line[len - 1] == '\n';
        if (too_long) {
            if (complete) too_long = false;
            continue;
        }
        r->lines++;
        if (!complete && len > INGEST_MAX_LINE) {
            reject(r, &sink, r->lines, "the line is longer than 65536 bytes");
            too_long = true;
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        if (!open) {
            if (eng_begin(e, err, errlen) != 0) {
                status = -1;
                break;
            }
            open = true;
        }
        if (ingest_line(e, line, r->lines, &sink, r, err, errlen) != 0) {
            eng_rollback(e);
            open = false;
            status = -1;
            break;
        }
        if (++in_batch >= batch) {
            double t3 = mono();
            open = false;
            in_batch = 0;
            if (eng_commit(e, err, errlen) != 0) {
                status = -1;
                break;
            }
            r->commit_s += mono() - t3;
        }
    }
    if (status == 0 && ferror(in)) {
        snprintf(err, errlen, "reading the events failed");
        status = -1;
    }
    if (open) {
        double t3 = mono();
        if (status == 0) status = eng_commit(e, err, errlen);
        else eng_rollback(e);
        r->commit_s += mono() - t3;
    }
    count_runs(e, before, r);
    r->total_s = mono() - start;
    free(line);
    return status;
}

int ingest_text(Engine *e, char *text, size_t len, IngestLineFn fn, void *ctx, IngestReport *r, char *err,
                size_t errlen)
{
    const LineSink sink = { fn, ctx };
    memset(r, 0, sizeof *r);
    RunsBefore before = runs_before(e);
    int status = 0;
    for (char *p = text, *end = text + len; p < end && status == 0;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        r->lines++;
        size_t n = (size_t)(stop - p);
        while (n && p[n - 1] == '\r') n--;
        if (n > INGEST_MAX_LINE) reject(r, &sink, r->lines, "the line is longer than 65536 bytes");
        else if (memchr(p, '\0', n)) reject(r, &sink, r->lines, "the line holds a NUL byte");
        else if (n) {
            p[n] = '\0';
            status = ingest_line(e, p, r->lines, &sink, r, err, errlen);
        }
        p = stop + 1;
    }
    count_runs(e, before, r);
    return status;
}

int ingest_event(Engine *e, const cJSON *event, const char *raw, IngestLineFn fn, void *ctx, IngestReport *r,
                 char *err, size_t errlen)
{
    const LineSink sink = { fn, ctx };
    memset(r, 0, sizeof *r);
    RunsBefore before = runs_before(e);
    r->lines = 1;
    int status = 0;
    if (strlen(raw) > INGEST_MAX_LINE) reject(r, &sink, 1, "the line is longer than 65536 bytes");
    else status = ingest_parsed(e, event, raw, 1, &sink, r, err, errlen);
    count_runs(e, before, r);
    return status;
}
