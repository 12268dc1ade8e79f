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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 5
#define STORE_DEFAULT_PATH "flow.db"
#define STORE_MAX_STMTS 96

typedef struct Store {
    sqlite3 *db;
    bool in_tx;
    int64_t data_version;        /* PRAGMA data_version after our last commit */
    struct { const char *sql; sqlite3_stmt *stmt; } stmts[STORE_MAX_STMTS];
    int nstmts;
} Store;

/* Opens (creating and migrating when needed) the store at `path`; ":memory:"
 * gives a private in-memory store (flowc test).  Returns NULL with err set. */
Store *store_open(const char *path, char *err, size_t errlen);
void store_close(Store *store);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Return 0, or -1 with err set. */
int store_begin(Store *store, char *err, size_t errlen);
int store_commit(Store *store, char *err, size_t errlen);
void store_rollback(Store *store);

/* Has another connection committed since our last commit or store_begin? */
bool store_changed_elsewhere(Store *store);

int store_exec(Store *store, const char *sql, char *err, size_t errlen);

/* A prepared statement for `sql` (a string literal: cached by its address),
 * reset and with bindings cleared; NULL on a prepare error (store_errmsg). */
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
