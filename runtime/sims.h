/*
 * sims.h - SIM records in the store: the in-memory table the engine reads
 * and changes, and the inventory commands (import, list, show, transfer).
 *
 * A SIM is stored as a JSON document of the catalog's fields (a field added
 * to stdlib/catalog.h needs no schema change) beside indexed columns (iccid,
 * organisation, package, pool, status) and its tags in sim_tags.  The table
 * keeps the records it has read, writes changed ones back with sims_flush
 * (inside the caller's transaction) and forgets them all with sims_forget
 * (after a rollback, or when another process changed the store).
 */
#ifndef FLOW_RUNTIME_SIMS_H
#define FLOW_RUNTIME_SIMS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stdlib/arena.h"
#include "../stdlib/catalog.h"
#include "../stdlib/value.h"
#include "store.h"

#define SIMS_CACHE_MAX 200000        /* records kept between transactions */
#define SIMS_MAX_LINE (64u * 1024u)  /* an import line */

typedef struct SimRec {
    int64_t id, org;
    Value f[SIM_NFIELDS];    /* strings and lists in `block` */
    void *block;
    int64_t last_usage;      /* time of the last data.usage event; 0 when none */
    bool dirty;              /* sim_usage's fields (month_usage, data_left, days_left, last_usage) */
    bool doc_dirty;          /* the rest: the doc and the searched columns */
    bool tags_dirty;
    bool listed;             /* in the table's list of changed records */
    /* the engine's cache: which flows on event type scope_event hold this SIM
     * in scope (bit i: the i-th); valid while scope_gen is the engine's,
     * reset when the record's strings or lists change */
    uint64_t scope_bits;
    uint32_t scope_gen;
    int scope_event;
} SimRec;

/* A SIM's record as stored: sims.doc with sim_usage's fields over it (s: the
 * sims row, u: its sim_usage row, LEFT JOINed). */
#define SIMS_DOC_SQL(s, u)                                                                                   \
    "CASE WHEN " u ".sim IS NULL THEN " s ".doc ELSE json_set(" s ".doc, '$.month_usage', " u ".month_usage," \
    " '$.data_left', " u ".data_left, '$.days_left', " u ".days_left) END"

typedef struct SimTable SimTable;

SimTable *sims_new(Store *store);
void sims_free(SimTable *table);

/* The record of `iccid`: 0 with *out (owned by the table, valid until the
 * next sims_forget), 1 when there is no such SIM, -1 on a store error. */
int sims_get(SimTable *table, const char *iccid, SimRec **out, char *err, size_t errlen);

/* Replaces the record's fields by `fields` (copied) and marks it changed. */
int sims_set(SimTable *table, SimRec *rec, const Value *fields);
/* Marks rec's sim_usage fields changed (written at the next flush); -1 out of memory. */
int sims_touch(SimTable *table, SimRec *rec);

/* Inserts or replaces a SIM (fields: SIM_NFIELDS values) in organisation
 * `org`, written at once; a SIM of another organisation is refused unless
 * `move`.  0 or -1 with err. */
int sims_put(SimTable *table, int64_t org, const Value *fields, bool move, char *err, size_t errlen);

int sims_flush(SimTable *table, char *err, size_t errlen);
void sims_forget(SimTable *table);
/* sims_forget when the table holds more than SIMS_CACHE_MAX records (after a
 * commit: records stay valid inside a transaction). */
void sims_trim(SimTable *table);

/* Records as JSON: {"iccid": .., ...} of every catalog field. */
char *sims_doc(const Value *fields);

/* ------------------------------------------------------------ commands */

typedef struct SimsImportReport {
    int rows, imported, rejected;
} SimsImportReport;

/* `flowvm sims import FILE`: CSV with a header line, or NDJSON (a file whose
 * first non-blank byte is '{').  Every row is validated; rejected rows are
 * reported on `report` by line number.  Without skip_invalid nothing is
 * applied when a row is rejected.  Returns 0, 1 when rows were rejected, -1
 * on an I/O or store error (err). */
int sims_import(Store *store, int64_t org, const char *path, bool skip_invalid, FILE *report,
                SimsImportReport *rep, char *err, size_t errlen);

/* The same from an open stream (`label` names it in messages). */
int sims_import_stream(Store *store, int64_t org, FILE *in, const char *label, bool skip_invalid, FILE *report,
                       SimsImportReport *rep, char *err, size_t errlen);

int sims_list(Store *store, int64_t org, FILE *out, char *err, size_t errlen);
int sims_show(Store *store, int64_t org, const char *iccid, FILE *out, char *err, size_t errlen);

/* Moves a SIM to organisation `to`: it leaves every scope of its old
 * organisation, and the old organisation's trigger state and parked runs
 * for it are dropped. */
int sims_transfer(Store *store, int64_t from, const char *iccid, int64_t to, char *err, size_t errlen);

#endif
