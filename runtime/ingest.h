/*
 * ingest.h - `flowvm ingest`: events as NDJSON from a file or stdin,
 * validated line by line, processed by the engine in batches (one
 * transaction per batch).
 *
 * A refused line (malformed JSON, over-long, unknown type, a field of the
 * wrong type, no id, a time out of bounds) is reported with its line number
 * and reason, and the stream goes on.  Re-delivered ids are ignored; events
 * about SIMs the store does not know are recorded and counted.
 */
#ifndef FLOW_RUNTIME_INGEST_H
#define FLOW_RUNTIME_INGEST_H

#include <stdint.h>
#include <stdio.h>

#include "engine.h"

#define INGEST_MAX_LINE (64u * 1024u)
#define INGEST_DEFAULT_BATCH 5000
#define INGEST_PAST (400 * 86400)     /* accepted times: this far before the reference time */
#define INGEST_FUTURE (30 * 86400)    /* and this far after it */

typedef struct IngestReport {
    uint64_t lines, accepted, rejected, duplicates, unknown_sims;
    uint64_t runs, failed, actions;
    double parse_s, evaluate_s, commit_s, total_s;
} IngestReport;

/* The bounds on event times: around the later of the wall clock and the
 * organisation's clock. */
void ingest_time_bounds(int64_t reference, int64_t *min, int64_t *max);

/* Reads `in` to its end.  `batch`: events per transaction (0: default).
 * Rejections go to `rejects` (may be NULL).  Returns 0, or -1 on a store or
 * read error (err; the batch under way is rolled back, earlier ones stay). */
int ingest_stream(Engine *engine, FILE *in, int batch, FILE *rejects, IngestReport *report, char *err, size_t errlen);

/* What became of one line (blank lines have none). */
typedef enum { INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_UNKNOWN_SIM, INGEST_REJECTED } IngestResult;
typedef void (*IngestLineFn)(void *ctx, uint64_t line, IngestResult result, const char *why);

/* ingest_stream with each line's result given to `fn` (the HTTP API's
 * per-line answer; ingest_stream is this with a printer of rejections). */
int ingest_stream_lines(Engine *engine, FILE *in, int batch, IngestLineFn fn, void *ctx, IngestReport *report,
                        char *err, size_t errlen);

/* The lines of `text` (modified: each line is NUL-terminated in place)
 * inside a transaction the caller opened (eng_begin) and ends: a group of
 * requests commits together.  0, or -1 on a store error (err; the caller
 * rolls back). */
int ingest_text(Engine *engine, char *text, size_t len, IngestLineFn fn, void *ctx, IngestReport *report, char *err,
                size_t errlen);

/* ingest_text of one event parsed already (its text `raw`, one line). */
int ingest_event(Engine *engine, const cJSON *event, const char *raw, IngestLineFn fn, void *ctx,
                 IngestReport *report, char *err, size_t errlen);

#endif
