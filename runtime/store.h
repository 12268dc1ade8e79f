/*
 * store.h - flowvm's store: one sqlite3 database in WAL mode, its schema and
 * its migrations (by PRAGMA user_version), transactions, cached statements
 * and the few key/value settings (the clock of `flowvm tick`).
 *
 * The schema is in spec/runtime.md.  Modules write their own SQL against it
 * through store_stmt; this module owns only the connection and the schema.
 */
#ifndef FLOW_RUNTIME_STORE_H
#define FLOW_RUNTIME_STORE_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 6
#define STORE_DEFAULT_PATH "flow.db"

typedef struct Store {
    sqlite3 *db;
    bool in_tx;
    atomic_bool *checkpoint_wanted;   /* store_defer_checkpoints */
    int checkpoint_soft, checkpoint_hard;
    struct StoreStmt { const char *sql; sqlite3_stmt *stmt; } *stmts;   /* store_stmt's, by address */
    int nstmts, stmts_cap;
} Store;

/* Opens (creating and migrating when needed) the store at `path`; ":memory:"
 * gives a private in-memory store (flowc test).  Returns NULL with err set. */
Store *store_open(const char *path, char *err, size_t errlen);
void store_close(Store *store);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Return 0, or -1 with err set. */
int store_begin(Store *store, char *err, size_t errlen);
int store_commit(Store *store, char *err, size_t errlen);
void store_rollback(Store *store);

/* PRAGMA data_version: changes when another connection commits. */
int64_t store_data_version(Store *store);

/* An organisation's engine generation: it changes with anything an engine
 * keeps in memory (its SIMs, tags, flows, versions, inputs), whichever
 * connection changes it.  Triggers raise it for those tables; a writer of
 * sim_usage or trigger_state raises it itself (store_raise_engine_gen, in its
 * transaction), which returns the new value, or -1 with err set. */
int64_t store_engine_gen(Store *store, int64_t org);
int64_t store_raise_engine_gen(Store *store, int64_t org, char *err, size_t errlen);

int store_exec(Store *store, const char *sql, char *err, size_t errlen);

/* Checkpoints off the writer's path (flowvm serve).  After a commit that
 * leaves the write-ahead log at `soft` frames or more, *wanted is set, for
 * another thread to run store_checkpoint on a connection of its own while
 * this one goes on writing; at `hard` frames this connection checkpoints
 * itself as it commits (SQLite's default, at 1,000), so that the log stays
 * bounded even when the other thread falls behind. */
void store_defer_checkpoints(Store *store, atomic_bool *wanted, int soft, int hard);
/* A passive checkpoint: copies what it can without waiting for anyone. */
int store_checkpoint(Store *store, char *err, size_t errlen);

/* A prepared statement for `sql` (a string literal, or a static buffer:
 * cached by its address, so their number is the program's), reset and with
 * bindings cleared; NULL on a prepare error (store_errmsg). */
sqlite3_stmt *store_stmt(Store *store, const char *sql);
const char *store_errmsg(Store *store);

/* Runs a statement that returns no rows, after the caller bound it;
 * 0 or -1 with err set. */
int store_step_done(Store *store, sqlite3_stmt *stmt, char *err, size_t errlen);

/* The organisation's id; created when `create` and missing.  -1 when missing
 * (or on error, with err set). */
int64_t store_org(Store *store, const char *name, bool create, char *err, size_t errlen);

/* Settings in the meta table. */
bool store_meta_get(Store *store, const char *key, int64_t *value);
int store_meta_set(Store *store, const char *key, int64_t value, char *err, size_t errlen);

/* An audit record (who did what); 0 or -1. */
int store_audit(Store *store, int64_t org, const char *action, const char *detail, char *err, size_t errlen);

/* The wall clock, unix seconds. */
int64_t store_wall_clock(void);

#endif
