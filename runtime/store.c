/*
 * store.c - the sqlite3 connection, schema migrations and transactions.
 *
 * Durability: WAL mode with synchronous=NORMAL.  In WAL mode a commit is
 * atomic and consistent after a crash of the process (the case the crash
 * test exercises: SIGKILL); a power loss may lose the last transactions
 * committed before it, never corrupt the store.  FLOW_SYNC=FULL in the
 * environment makes every commit wait for the disk as well.
 */
#include "store.h"
#include "walbuf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The statement of a trigger body that raises the engine generation of the
 * organisation `org` (an SQL expression); see migration 5 -> 6. */
#define ENGINE_GEN(org) \
    "  INSERT INTO meta (key, value) VALUES ('engine_gen:' || " org ", 1)" \
    "  ON CONFLICT (key) DO UPDATE SET value = value + 1; "
#define VERSION_ORG(version) "(SELECT f.org FROM versions v JOIN flows f ON f.id = v.flow WHERE v.id = " version ")"

/* Each entry brings the schema from version i to i + 1; never edit one that
 * has shipped, append another. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE organisations (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
    "CREATE TABLE users (id INTEGER PRIMARY KEY, org INTEGER NOT NULL REFERENCES organisations(id),"
    "  name TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('user','operator','admin')),"
    "  created INTEGER NOT NULL, UNIQUE (org, email));"
    "CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, user INTEGER NOT NULL REFERENCES users(id),"
    "  hash BLOB NOT NULL UNIQUE, created INTEGER NOT NULL, expires INTEGER, revoked INTEGER);"
    /* A SIM: the catalog's fields as a JSON document (a field added to the
     * catalog needs no schema edit), and the columns that are searched. */
    "CREATE TABLE sims (id INTEGER PRIMARY KEY, iccid TEXT NOT NULL UNIQUE,"
    "  org INTEGER NOT NULL REFERENCES organisations(id), package TEXT NOT NULL DEFAULT '',"
    "  pool TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT '', doc TEXT NOT NULL,"
    "  last_usage INTEGER, updated INTEGER NOT NULL);"
    "CREATE INDEX sims_org_package ON sims (org, package);"
    "CREATE INDEX sims_org_pool ON sims (org, pool);"
    "CREATE INDEX sims_org_status ON sims (org, status);"
    "CREATE INDEX sims_org_last_usage ON sims (org, last_usage);"
    "CREATE TABLE sim_tags (tag TEXT NOT NULL, sim INTEGER NOT NULL REFERENCES sims(id),"
    "  PRIMARY KEY (tag, sim)) WITHOUT ROWID;"
    "CREATE INDEX sim_tags_sim ON sim_tags (sim);"
    /* flows and subs by name; their versions with the artifact and a lifecycle state */
    "CREATE TABLE flows (id INTEGER PRIMARY KEY, org INTEGER NOT NULL REFERENCES organisations(id),"
    "  name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('flow','sub')), UNIQUE (org, kind, name));"
    "CREATE TABLE versions (id INTEGER PRIMARY KEY, flow INTEGER NOT NULL REFERENCES flows(id),"
    "  number INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('draft','active','archived')),"
    "  artifact BLOB NOT NULL, sha256 TEXT NOT NULL, event TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL, deployed INTEGER, author TEXT, approver TEXT, UNIQUE (flow, number));"
    "CREATE INDEX versions_state ON versions (state);"
    /* the sub versions a flow version links against */
    "CREATE TABLE version_subs (version INTEGER NOT NULL REFERENCES versions(id),"
    "  sub_version INTEGER NOT NULL REFERENCES versions(id), PRIMARY KEY (version, sub_version)) WITHOUT ROWID;"
    "CREATE TABLE inputs (version INTEGER NOT NULL REFERENCES versions(id), name TEXT NOT NULL,"
    "  value TEXT NOT NULL, PRIMARY KEY (version, name)) WITHOUT ROWID;"
    /* events: the idempotency key is (org, key); made events (schedule, date,
     * dormant) have keys of their own */
    "CREATE TABLE events (id INTEGER PRIMARY KEY, org INTEGER NOT NULL, key TEXT NOT NULL,"
    "  type TEXT NOT NULL, iccid TEXT NOT NULL DEFAULT '', time INTEGER NOT NULL, payload TEXT NOT NULL,"
    "  sim_known INTEGER NOT NULL, received INTEGER NOT NULL, UNIQUE (org, key));"
    /* a row per (flow, SIM) that has fired and is not re-armed yet */
    "CREATE TABLE trigger_state (flow INTEGER NOT NULL REFERENCES flows(id), sim INTEGER NOT NULL,"
    "  fired_at INTEGER NOT NULL, PRIMARY KEY (flow, sim)) WITHOUT ROWID;"
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, version INTEGER NOT NULL REFERENCES versions(id),"
    "  event INTEGER NOT NULL REFERENCES events(id), iccid TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL CHECK (status IN ('ok','failed','waiting')), started INTEGER NOT NULL,"
    "  finished INTEGER, error TEXT, error_line INTEGER, log TEXT NOT NULL DEFAULT '[]',"
    "  wall_us INTEGER NOT NULL DEFAULT 0, instructions INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (version, event));"
    "CREATE INDEX runs_status ON runs (status);"
    "CREATE INDEX runs_iccid ON runs (iccid);"
    /* parked runs: the VM state, when it is due, and the event's resolved fields */
    "CREATE TABLE waits (run INTEGER PRIMARY KEY REFERENCES runs(id), due INTEGER NOT NULL,"
    "  state BLOB NOT NULL, event_fields TEXT NOT NULL);"
    "CREATE INDEX waits_due ON waits (due);"
    "CREATE TABLE actions (id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id),"
    "  kind TEXT NOT NULL, line INTEGER NOT NULL, body TEXT NOT NULL, time INTEGER NOT NULL);"
    "CREATE INDEX actions_run ON actions (run);"
    "CREATE TABLE action_results (id INTEGER PRIMARY KEY, action INTEGER NOT NULL REFERENCES actions(id),"
    "  recipient TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending','done','failed')),"
    "  detail TEXT NOT NULL DEFAULT '', time INTEGER NOT NULL);"
    "CREATE INDEX action_results_action ON action_results (action);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY, action INTEGER NOT NULL REFERENCES actions(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('email','webhook')), body TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL);"
    "CREATE INDEX outbox_pending ON outbox (state, next_attempt);"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, org INTEGER, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;",
    /* 1 -> 2: deliveries (spec/deliveries.md): the webhook id kept across
     * retries, every attempt, endpoints with their secrets, SMTP profiles,
     * email groups, each organisation's delivery settings */
    "ALTER TABLE outbox ADD COLUMN delivery_id TEXT;"
    "ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE outbox ADD COLUMN finished INTEGER;"
    "CREATE TABLE delivery_attempts (id INTEGER PRIMARY KEY, outbox INTEGER NOT NULL REFERENCES outbox(id),"
    "  number INTEGER NOT NULL, time INTEGER NOT NULL, duration_ms INTEGER NOT NULL, status INTEGER NOT NULL,"
    "  error TEXT NOT NULL, response TEXT NOT NULL);"
    "CREATE INDEX delivery_attempts_outbox ON delivery_attempts (outbox);"
    "CREATE TABLE webhook_endpoints (id INTEGER PRIMARY KEY, org INTEGER NOT NULL REFERENCES organisations(id),"
    "  url TEXT NOT NULL, secrets TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
    "  disabled_reason TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, UNIQUE (org, url));"
    "CREATE TABLE smtp_profiles (id INTEGER PRIMARY KEY, org INTEGER NOT NULL REFERENCES organisations(id),"
    "  name TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL DEFAULT 25,"
    "  tls TEXT NOT NULL DEFAULT 'starttls' CHECK (tls IN ('none','starttls','implicit')),"
    "  username TEXT NOT NULL DEFAULT '', password TEXT NOT NULL DEFAULT '', from_name TEXT NOT NULL DEFAULT '',"
    "  from_address TEXT NOT NULL, is_default INTEGER NOT NULL DEFAULT 0, UNIQUE (org, name));"
    "CREATE TABLE email_groups (org INTEGER NOT NULL REFERENCES organisations(id), name TEXT NOT NULL,"
    "  members TEXT NOT NULL, PRIMARY KEY (org, name)) WITHOUT ROWID;"
    "CREATE TABLE delivery_settings (org INTEGER PRIMARY KEY REFERENCES organisations(id),"
    "  allow INTEGER NOT NULL DEFAULT 0, allow_http INTEGER NOT NULL DEFAULT 0,"
    "  allow_any_port INTEGER NOT NULL DEFAULT 0);",
    /* 2 -> 3: the deployment lifecycle (spec/deployments.md): flows grouped
     * in projects, enabled or not, deleted (restorable); versions with the
     * approval asked for, the compiler, the source's hash, the version a
     * rollback copied, activation windows given at deploy, when archived */
    "ALTER TABLE flows ADD COLUMN project TEXT NOT NULL DEFAULT 'default';"
    "ALTER TABLE flows ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE flows ADD COLUMN deleted INTEGER;"
    "CREATE INDEX flows_org_project ON flows (org, project);"
    "ALTER TABLE versions ADD COLUMN requested INTEGER;"
    "ALTER TABLE versions ADD COLUMN compiler TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE versions ADD COLUMN source_sha256 TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE versions ADD COLUMN origin INTEGER;"
    "ALTER TABLE versions ADD COLUMN window_from INTEGER;"
    "ALTER TABLE versions ADD COLUMN window_until INTEGER;"
    "ALTER TABLE versions ADD COLUMN archived INTEGER;",
    /* 3 -> 4: the fields every usage event changes, in a narrow table of
     * their own (a batch rewrites a few small pages, not every SIM's JSON
     * document); they override the doc's copies when read.  sims.last_usage
     * is no longer written (sim_usage.last_usage is the SIM's), and not
     * indexed: every event moves it, so an index costs each batch a rewrite
     * of it, while a tick's scan of this narrow table for dormant SIMs is
     * cheap. */
    "CREATE TABLE sim_usage (sim INTEGER PRIMARY KEY, month_usage INTEGER NOT NULL, data_left INTEGER NOT NULL,"
    "  days_left INTEGER NOT NULL, last_usage INTEGER);"
    "INSERT INTO sim_usage SELECT id, coalesce(json_extract(doc, '$.month_usage'), 0),"
    "  coalesce(json_extract(doc, '$.data_left'), 0), coalesce(json_extract(doc, '$.days_left'), 0), last_usage FROM sims;"
    "DROP INDEX sims_org_last_usage;",
    /* 4 -> 5: API tokens (spec/http-api.md) belong to an organisation with a
     * role, a user optional; the table was schema only, never written */
    "DROP TABLE api_tokens;"
    "CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, org INTEGER NOT NULL REFERENCES organisations(id),"
    "  role TEXT NOT NULL CHECK (role IN ('user','operator','admin')), user INTEGER REFERENCES users(id),"
    "  hash BLOB NOT NULL UNIQUE, created INTEGER NOT NULL, expires INTEGER, revoked INTEGER);",
    /* 5 -> 6: each organisation's engine generation, meta 'engine_gen:ORG':
     * raised by every change to what an engine keeps in memory (its SIMs,
     * their tags, its flows, versions and inputs) by whichever connection
     * makes it, so that an engine reloads when that changed, not on every
     * commit of another connection (the delivery worker's).  Engines raise
     * it themselves for the usage and edge state they write (sim_usage,
     * trigger_state: no trigger there, as every event writes them). */
    "CREATE TRIGGER sims_gen_insert AFTER INSERT ON sims BEGIN" ENGINE_GEN("NEW.org") "END;"
    "CREATE TRIGGER sims_gen_update AFTER UPDATE ON sims BEGIN" ENGINE_GEN("OLD.org")
    "  INSERT INTO meta (key, value) SELECT 'engine_gen:' || NEW.org, 1 WHERE NEW.org <> OLD.org"
    "  ON CONFLICT (key) DO UPDATE SET value = value + 1; END;"
    "CREATE TRIGGER sims_gen_delete AFTER DELETE ON sims BEGIN" ENGINE_GEN("OLD.org") "END;"
    "CREATE TRIGGER sim_tags_gen_insert AFTER INSERT ON sim_tags BEGIN"
    ENGINE_GEN("(SELECT org FROM sims WHERE id = NEW.sim)") "END;"
    "CREATE TRIGGER sim_tags_gen_delete AFTER DELETE ON sim_tags BEGIN"
    ENGINE_GEN("(SELECT org FROM sims WHERE id = OLD.sim)") "END;"
    "CREATE TRIGGER flows_gen_insert AFTER INSERT ON flows BEGIN" ENGINE_GEN("NEW.org") "END;"
    "CREATE TRIGGER flows_gen_update AFTER UPDATE ON flows BEGIN" ENGINE_GEN("NEW.org") "END;"
    "CREATE TRIGGER flows_gen_delete AFTER DELETE ON flows BEGIN" ENGINE_GEN("OLD.org") "END;"
    "CREATE TRIGGER versions_gen_insert AFTER INSERT ON versions BEGIN"
    ENGINE_GEN("(SELECT org FROM flows WHERE id = NEW.flow)") "END;"
    "CREATE TRIGGER versions_gen_update AFTER UPDATE ON versions BEGIN"
    ENGINE_GEN("(SELECT org FROM flows WHERE id = NEW.flow)") "END;"
    "CREATE TRIGGER versions_gen_delete AFTER DELETE ON versions BEGIN"
    ENGINE_GEN("(SELECT org FROM flows WHERE id = OLD.flow)") "END;"
    "CREATE TRIGGER version_subs_gen_insert AFTER INSERT ON version_subs BEGIN"
    ENGINE_GEN(VERSION_ORG("NEW.version")) "END;"
    "CREATE TRIGGER version_subs_gen_delete AFTER DELETE ON version_subs BEGIN"
    ENGINE_GEN(VERSION_ORG("OLD.version")) "END;"
    "CREATE TRIGGER inputs_gen_insert AFTER INSERT ON inputs BEGIN" ENGINE_GEN(VERSION_ORG("NEW.version")) "END;"
    "CREATE TRIGGER inputs_gen_update AFTER UPDATE ON inputs BEGIN" ENGINE_GEN(VERSION_ORG("NEW.version")) "END;"
    "CREATE TRIGGER inputs_gen_delete AFTER DELETE ON inputs BEGIN" ENGINE_GEN(VERSION_ORG("OLD.version")) "END;",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof *migrations))

int64_t store_wall_clock(void)
{
    return (int64_t)time(NULL);
}

static int sql_fail(Store *store, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "store: %s: %s", what, sqlite3_errmsg(store->db));
    return -1;
}

int store_exec(Store *store, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "store: %s", msg ? msg : sqlite3_errmsg(store->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int64_t pragma_int(Store *store, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(Store *store, char *err, size_t errlen)
{
    int64_t have = pragma_int(store, "PRAGMA user_version");
    if (have < 0) return sql_fail(store, err, errlen, "reading the schema version");
    if (have > NMIGRATIONS) {
        snprintf(err, errlen, "store: the schema is version %lld, newer than this flowvm knows (%d)",
                 (long long)have, NMIGRATIONS);
        return -1;
    }
    for (int v = (int)have; v < NMIGRATIONS; v++) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (store_exec(store, "BEGIN IMMEDIATE", err, errlen) != 0) return -1;
        if (pragma_int(store, "PRAGMA user_version") != v) {   /* another process migrated meanwhile */
            store_exec(store, "ROLLBACK", err, errlen);
            continue;
        }
        if (store_exec(store, migrations[v], err, errlen) != 0 || store_exec(store, sql, err, errlen) != 0 ||
            store_exec(store, "COMMIT", err, errlen) != 0) {
            char keep[256];
            snprintf(keep, sizeof keep, "%s", err);
            store_exec(store, "ROLLBACK", err, errlen);
            snprintf(err, errlen, "store: migration to version %d failed: %s", v + 1, keep);
            return -1;
        }
    }
    return 0;
}

/* sqlite configured before its first use: no statistics of its memory
 * (they take a process-wide mutex on every allocation, and nothing here reads
 * them); then the log's VFS. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    walbuf_install();
}

Store *store_open(const char *path, char *err, size_t errlen)
{
    Store *store = calloc(1, sizeof *store);
    if (!store) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the store '%s': %s", path,
                 store->db ? sqlite3_errmsg(store->db) : "out of memory");
        store_close(store);
        return NULL;
    }
    sqlite3_busy_timeout(store->db, 10000);
    const char *sync = getenv("FLOW_SYNC");
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;",
             sync && strcmp(sync, "FULL") == 0 ? "FULL" : "NORMAL");
    if (store_exec(store, pragmas, err, errlen) != 0 || migrate(store, err, errlen) != 0) {
        char keep[300];
        snprintf(keep, sizeof keep, "%s", err);
        snprintf(err, errlen, "'%s': %s", path, keep);
        store_close(store);
        return NULL;
    }
    return store;
}

void store_close(Store *store)
{
    if (!store) return;
    for (int i = 0; i < store->nstmts; i++) sqlite3_finalize(store->stmts[i].stmt);
    free(store->stmts);
    if (store->db) sqlite3_close(store->db);
    free(store);
}

/* A statement without parameters, prepared once: transactions are begun and
 * committed many times a second, and sqlite3_exec would parse them each time. */
static int run_cached(Store *store, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, sql);
    if (!st) return sql_fail(store, err, errlen, sql);
    return store_step_done(store, st, err, errlen);
}

int store_begin(Store *store, char *err, size_t errlen)
{
    if (run_cached(store, "BEGIN IMMEDIATE", err, errlen) != 0) return -1;
    store->in_tx = true;
    return 0;
}

int store_commit(Store *store, char *err, size_t errlen)
{
    if (run_cached(store, "COMMIT", err, errlen) != 0) return -1;
    store->in_tx = false;
    return 0;
}

void store_rollback(Store *store)
{
    char err[256];
    if (store->in_tx) run_cached(store, "ROLLBACK", err, sizeof err);
    store->in_tx = false;
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    Store *store = arg;
    if (frames >= store->checkpoint_hard) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    else if (frames >= store->checkpoint_soft) atomic_store(store->checkpoint_wanted, true);
    return SQLITE_OK;
}

void store_defer_checkpoints(Store *store, atomic_bool *wanted, int soft, int hard)
{
    store->checkpoint_wanted = wanted;
    store->checkpoint_soft = soft;
    store->checkpoint_hard = hard;
    sqlite3_wal_hook(store->db, on_wal_commit, store);
}

int store_checkpoint(Store *store, char *err, size_t errlen)
{
    int rc = sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY) return 0;
    return sql_fail(store, err, errlen, "checkpoint");
}

int64_t store_data_version(Store *store)
{
    sqlite3_stmt *st = store_stmt(store, "PRAGMA data_version");
    int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    if (st) sqlite3_reset(st);
    return v;
}

static void engine_gen_key(char *key, size_t size, int64_t org)
{
    snprintf(key, size, "engine_gen:%lld", (long long)org);
}

int64_t store_engine_gen(Store *store, int64_t org)
{
    char key[48];
    int64_t gen = 0;
    engine_gen_key(key, sizeof key, org);
    store_meta_get(store, key, &gen);
    return gen;
}

int64_t store_raise_engine_gen(Store *store, int64_t org, char *err, size_t errlen)
{
    char key[48];
    engine_gen_key(key, sizeof key, org);
    /* an UPDATE first: an upsert with RETURNING makes sqlite open a
     * temporary table on every call, a third of a small commit's cost */
    sqlite3_stmt *st = store_stmt(store, "UPDATE meta SET value = value + 1 WHERE key = ?1");
    if (!st) return sql_fail(store, err, errlen, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    if (sqlite3_changes(store->db) == 0 && store_meta_set(store, key, 1, err, errlen) != 0) return -1;
    int64_t gen = 0;
    store_meta_get(store, key, &gen);
    return gen;
}

sqlite3_stmt *store_stmt(Store *store, const char *sql)
{
    for (int i = 0; i < store->nstmts; i++)
        if (store->stmts[i].sql == sql) {
            sqlite3_stmt *st = store->stmts[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    if (store->nstmts == store->stmts_cap) {
        int cap = store->stmts_cap ? 2 * store->stmts_cap : 64;
        struct StoreStmt *grown = realloc(store->stmts, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        store->stmts = grown;
        store->stmts_cap = cap;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) return NULL;
    store->stmts[store->nstmts++] = (struct StoreStmt){ sql, st };
    return st;
}

const char *store_errmsg(Store *store)
{
    return sqlite3_errmsg(store->db);
}

int store_step_done(Store *store, sqlite3_stmt *stmt, char *err, size_t errlen)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sql_fail(store, err, errlen, sqlite3_sql(stmt));
    sqlite3_reset(stmt);
    return 0;
}

int64_t store_org(Store *store, const char *name, bool create, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT id FROM organisations WHERE name = ?1");
    if (!st) return sql_fail(store, err, errlen, "organisations");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return id;
    }
    sqlite3_reset(st);
    if (!create) {
        snprintf(err, errlen, "no organisation named '%s'", name);
        return -1;
    }
    st = store_stmt(store, "INSERT INTO organisations (name, created) VALUES (?1, ?2)");
    if (!st) return sql_fail(store, err, errlen, "organisations");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, store_wall_clock());
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    return sqlite3_last_insert_rowid(store->db);
}

bool store_meta_get(Store *store, const char *key, int64_t *value)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT value FROM meta WHERE key = ?1");
    if (!st) return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) *value = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return found;
}

int store_meta_set(Store *store, const char *key, int64_t value, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!st) return sql_fail(store, err, errlen, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, value);
    return store_step_done(store, st, err, errlen);
}

int store_audit(Store *store, int64_t org, const char *action, const char *detail, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO audit (time, org, actor, action, detail)"
                                         " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return sql_fail(store, err, errlen, "audit");
    const char *user = getenv("USER");
    sqlite3_bind_int64(st, 1, store_wall_clock());
    sqlite3_bind_int64(st, 2, org);
    sqlite3_bind_text(st, 3, user ? user : "cli", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_TRANSIENT);
    return store_step_done(store, st, err, errlen);
}
