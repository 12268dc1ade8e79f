/*
 * test_engine_cache.c - an engine's caches against changes made by another
 * connection to the same store file: reloaded when what they hold changed
 * (SIMs, tags, flows, another engine's usage writes), kept when it did not
 * (the delivery worker's kind of commit, another organisation's SIMs).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/engine.h"
#include "runtime/sims.h"
#include "runtime/store.h"
#include "testing.h"

static char err[512];

/* a SIM's stored document */
#define DOC(iccid, status) "{\"iccid\": \"" iccid "\", \"status\": \"" status "\"}"

static void exec(Store *store, const char *sql)
{
    if (store_exec(store, sql, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", sql, err);
        exit(2);
    }
}

/* One empty transaction of the engine: it checks its caches at the start. */
static uint64_t reloads_after_begin(Engine *e)
{
    CHECK(eng_begin(e, err, sizeof err) == 0);
    CHECK(eng_commit(e, err, sizeof err) == 0);
    return eng_stats(e)->reloads;
}

static const char *cached_status(Engine *e, const char *iccid)
{
    SimRec *rec = NULL;
    if (sims_get(eng_sims(e), iccid, &rec, err, sizeof err) != 0 || !rec) return "(none)";
    return rec->f[SIM_STATUS].as.s->data;
}

int main(void)
{
    char path[] = "/tmp/flow-engine-cache-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 2;
    close(fd);
    Store *mine = store_open(path, err, sizeof err), *other = store_open(path, err, sizeof err);
    if (!mine || !other) {
        fprintf(stderr, "store: %s\n", err);
        return 2;
    }
    int64_t acme = store_org(mine, "acme", true, err, sizeof err);
    int64_t globex = store_org(mine, "globex", true, err, sizeof err);
    CHECK(acme > 0 && globex > 0 && acme != globex);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO sims (iccid, org, status, doc, updated) VALUES"
             " ('89441000300000000012', %lld, 'active', '" DOC("89441000300000000012", "active") "', 0),"
             " ('89441000300000000020', %lld, 'active', '" DOC("89441000300000000020", "active") "', 0)",
             (long long)acme, (long long)globex);
    exec(mine, sql);

    Engine *e = eng_open(mine, acme, NULL, err, sizeof err);
    CHECK(e != NULL);
    if (!e) return testing_done();
    CHECK(reloads_after_begin(e) == 0);
    CHECK(eng_begin(e, err, sizeof err) == 0);
    CHECK_STR(cached_status(e, "89441000300000000012"), "active");
    CHECK(eng_commit(e, err, sizeof err) == 0);

    /* commits elsewhere that touch nothing the engine holds: no reload */
    exec(other, "INSERT INTO audit (time, org, actor, action, detail) VALUES (0, 1, 'worker', 'x', '')");
    CHECK(reloads_after_begin(e) == 0);
    exec(other, "UPDATE sims SET status = 'suspended', doc = '" DOC("89441000300000000020", "suspended") "'"
                " WHERE iccid = '89441000300000000020'");   /* globex's SIM */
    CHECK(reloads_after_begin(e) == 0);

    /* a change to one of its SIMs: reloaded, and the new status is what it reads */
    exec(other, "UPDATE sims SET status = 'suspended', doc = '" DOC("89441000300000000012", "suspended") "'"
                " WHERE iccid = '89441000300000000012'");
    CHECK(reloads_after_begin(e) == 1);
    CHECK(eng_begin(e, err, sizeof err) == 0);
    CHECK_STR(cached_status(e, "89441000300000000012"), "suspended");
    CHECK(eng_commit(e, err, sizeof err) == 0);

    /* its tags, its flows: reloaded */
    exec(other, "INSERT INTO sim_tags (tag, sim) SELECT 'fleet-a', id FROM sims WHERE iccid = '89441000300000000012'");
    CHECK(reloads_after_begin(e) == 2);
    snprintf(sql, sizeof sql, "INSERT INTO flows (org, name, kind) VALUES (%lld, 'watch', 'flow')", (long long)acme);
    exec(other, sql);
    CHECK(reloads_after_begin(e) == 3);

    /* an import that changes only a SIM's usage (no row with a trigger): reloaded */
    static char line[] = "{\"iccid\": \"89441000300000000012\", \"status\": \"suspended\", \"month_usage\": 5000}\n";
    FILE *in = fmemopen(line, strlen(line), "r");
    SimsImportReport rep;
    CHECK(in && sims_import_stream(other, acme, in, "the test", false, NULL, &rep, err, sizeof err) == 0);
    if (in) fclose(in);
    CHECK(reloads_after_begin(e) == 4);
    CHECK(eng_begin(e, err, sizeof err) == 0);
    SimRec *rec = NULL;
    CHECK(sims_get(eng_sims(e), "89441000300000000012", &rec, err, sizeof err) == 0 && rec &&
          rec->f[SIM_MONTH_USAGE].as.i == 5000);
    CHECK(eng_commit(e, err, sizeof err) == 0);

    /* another engine of the same organisation commits (usage, edge state): reloaded */
    Engine *peer = eng_open(other, acme, NULL, err, sizeof err);
    CHECK(peer != NULL);
    if (peer) {
        CHECK(eng_begin(peer, err, sizeof err) == 0);
        CHECK(eng_commit(peer, err, sizeof err) == 0);
        CHECK(reloads_after_begin(e) == 5);
        /* and its own commits cost it nothing afterwards */
        exec(other, "INSERT INTO audit (time, org, actor, action, detail) VALUES (0, 1, 'worker', 'y', '')");
        CHECK(reloads_after_begin(e) == 5);
        eng_free(peer);
    }

    eng_free(e);
    store_close(mine);
    store_close(other);
    unlink(path);
    char side[sizeof path + 8];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return testing_done();
}
