/*
 * engine.c - events, trigger semantics, runs, waits and the clock.
 *
 * Invariants:
 *  1. Everything an event causes is written in the caller's transaction, so
 *     after a crash an event is either wholly processed or not at all, and
 *     its re-delivery (same id) is recognised by the events table's key.
 *  2. A run row is unique per (version, event): a flow version runs at most
 *     once per event, whatever path brought the event.
 *  3. trigger_state holds a row per (flow, SIM) that fired and is not
 *     re-armed; the map below mirrors it and is reloaded after a rollback or
 *     when another process changed the store.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../stdlib/cron.h"
#include "../stdlib/format.h"
#include "../stdlib/validate.h"
#include "json.h"
#include "record.h"
#include "scope.h"

/* ============================================================ state */

/* A flow version loaded to run: active ones, and older ones that parked runs
 * still need. */
typedef struct Loaded {
    int64_t version, flow, deployed;
    int number;
    bool active;
    Artifact *art;
    Artifact **subs;
    int nsubs;
    VmProgram *program;
    VmRun *run;                 /* reused by each call */
    const CatEvent *event;
    Cron cron;
    bool has_cron;
    const char **iccids;        /* ICCID scope: a hash set (open addressing; NULL: empty) */
    size_t iccid_mask;          /* its size - 1 */
    const VStr *name;           /* flow.name, made once */
    /* on data.usage.total: the data used by the SIMs of the scope, kept up
     * to date by the data.usage events; counted again when not valid */
    int64_t total;
    bool total_valid;
    Value *inputs;
    bool *missing;              /* inputs without a value (test worlds only) */
    Arena arena;                /* inputs' strings */
} Loaded;

typedef struct TrigEntry {
    int64_t flow, sim;
    int64_t fired_at;           /* INT64_MIN: armed (no row) */
    bool used;
} TrigEntry;

struct Engine {
    Store *store;
    int64_t org;
    EngOptions opt;
    HostConnector conn;
    SimTable *sims;
    Loaded **loaded;
    int nloaded;
    Loaded ***by_event;         /* per catalog event: active versions, in deploy order */
    int *nby_event;
    TrigEntry *trig;
    size_t trig_cap, trig_count;
    Value unknown_sim[SIM_NFIELDS];
    Arena fixed;                /* unknown_sim, empty */
    const VStr *empty;          /* "" */
    uint32_t scope_gen;         /* SimRec.scope_bits made with this by_event are valid */
    /* the event types the engine makes from the SIMs' usage */
    const CatEvent *total_event;    /* data.usage.total */
    const CatEvent *dormant_event;  /* sim.dormant */
    Arena scratch;              /* per event */
    EngStats stats;
    char clock_key[48];
    /* What the caches above were loaded from: the connection's data_version
     * and the organisation's engine generation (store.h) when last checked. */
    int64_t seen_version, seen_gen;
};

static int sql_fail(Engine *e, char *err, size_t errlen)
{
    snprintf(err, errlen, "store: %s", store_errmsg(e->store));
    return -1;
}

/* Every flow's total of data used counted again at its next use. */
static void totals_stale(Engine *e)
{
    for (int i = 0; i < e->nloaded; i++) e->loaded[i]->total_valid = false;
}

/* ============================================================ trigger state */

static size_t trig_slot(const Engine *e, int64_t flow, int64_t sim)
{
    uint64_t h = ((uint64_t)flow * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)sim * 0xC2B2AE3D27D4EB4Full);
    size_t i = (size_t)(h ^ (h >> 29)) & (e->trig_cap - 1);
    while (e->trig[i].used && (e->trig[i].flow != flow || e->trig[i].sim != sim)) i = (i + 1) & (e->trig_cap - 1);
    return i;
}

static int trig_put(Engine *e, int64_t flow, int64_t sim, int64_t fired_at)
{
    if ((e->trig_count + 1) * 2 > e->trig_cap) {
        TrigEntry *old = e->trig;
        size_t old_cap = e->trig_cap;
        e->trig_cap = old_cap ? old_cap * 2 : 1024;
        e->trig = calloc(e->trig_cap, sizeof *e->trig);
        if (!e->trig) {
            e->trig = old;
            e->trig_cap = old_cap;
            return -1;
        }
        e->trig_count = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].used) {
                e->trig[trig_slot(e, old[i].flow, old[i].sim)] = old[i];
                e->trig_count++;
            }
        free(old);
    }
    TrigEntry *t = &e->trig[trig_slot(e, flow, sim)];
    if (!t->used) e->trig_count++;
    *t = (TrigEntry){ flow, sim, fired_at, true };
    return 0;
}

static int64_t trig_get(Engine *e, int64_t flow, int64_t sim)
{
    if (!e->trig_cap) return INT64_MIN;
    TrigEntry *t = &e->trig[trig_slot(e, flow, sim)];
    return t->used ? t->fired_at : INT64_MIN;
}

static int trig_load(Engine *e, char *err, size_t errlen)
{
    free(e->trig);
    e->trig = NULL;
    e->trig_cap = e->trig_count = 0;
    sqlite3_stmt *st = store_stmt(e->store, "SELECT t.flow, t.sim, t.fired_at FROM trigger_state t"
                                            " JOIN flows f ON f.id = t.flow WHERE f.org = ?1");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, e->org);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (trig_put(e, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2)) != 0) {
            sqlite3_reset(st);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    sqlite3_reset(st);
    return 0;
}

/* Disarms (fired_at) or re-arms (INT64_MIN) a (flow, SIM), in the store too. */
static int trig_set(Engine *e, int64_t flow, int64_t sim, int64_t fired_at, char *err, size_t errlen)
{
    sqlite3_stmt *st = fired_at == INT64_MIN
        ? store_stmt(e->store, "DELETE FROM trigger_state WHERE flow = ?1 AND sim = ?2")
        : store_stmt(e->store, "INSERT OR REPLACE INTO trigger_state (flow, sim, fired_at) VALUES (?1, ?2, ?3)");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_int64(st, 2, sim);
    if (fired_at != INT64_MIN) sqlite3_bind_int64(st, 3, fired_at);
    if (store_step_done(e->store, st, err, errlen) != 0) return -1;
    if (trig_put(e, flow, sim, fired_at) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* ============================================================ versions */

static void loaded_free(Loaded *l)
{
    if (!l) return;
    vm_run_free(l->run);
    vm_program_free(l->program);
    if (l->art) art_free(l->art);
    for (int i = 0; i < l->nsubs; i++) art_free(l->subs[i]);
    free(l->subs);
    free(l->iccids);
    arena_free(&l->arena);
    free(l);
}

static uint64_t iccid_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h ^ (h >> 32);
}

static int load_inputs(Engine *e, Loaded *l, char *err, size_t errlen)
{
    uint32_t n = l->art->ninputs;
    l->inputs = arena_alloc(&l->arena, (n ? n : 1) * sizeof(Value));
    l->missing = arena_alloc(&l->arena, (n ? n : 1) * sizeof(bool));
    if (!l->inputs || !l->missing) goto oom;
    for (uint32_t i = 0; i < n; i++) {
        const ArtInput *in = &l->art->inputs[i];
        l->inputs[i] = in->has_default ? in->dflt : val_nil();
        l->missing[i] = !in->has_default;
        sqlite3_stmt *st = store_stmt(e->store, "SELECT value FROM inputs WHERE version = ?1 AND name = ?2");
        if (!st) return sql_fail(e, err, errlen);
        sqlite3_bind_int64(st, 1, l->version);
        sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *json = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
            const Type *type = ty_parse(in->type, strlen(in->type));
            char why[256];
            if (!json || !type || json_to_value(json, type, &l->arena, &l->inputs[i], why, sizeof why) != 0) {
                cJSON_Delete(json);
                sqlite3_reset(st);
                snprintf(err, errlen, "flow '%s' version %d: stored input '%s' is not valid", l->art->name, l->number,
                         in->name);
                return -1;
            }
            l->missing[i] = false;
            cJSON_Delete(json);
        }
        sqlite3_reset(st);
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int load_subs(Engine *e, Loaded *l, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(e->store, "SELECT v.artifact FROM version_subs s JOIN versions v ON v.id = s.sub_version"
                                            " WHERE s.version = ?1");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, l->version);
    int status = 0;
    while (status == 0 && sqlite3_step(st) == SQLITE_ROW) {
        Artifact **grown = realloc(l->subs, (size_t)(l->nsubs + 1) * sizeof *grown);
        if (!grown) {
            status = -1;
            break;
        }
        l->subs = grown;
        char why[256];
        if (art_load(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &l->subs[l->nsubs], why,
                     sizeof why) != 0) {
            snprintf(err, errlen, "a sub of flow '%s' does not verify: %s", l->art->name, why);
            status = -1;
            break;
        }
        l->nsubs++;
    }
    sqlite3_reset(st);
    return status;
}

/* Loads a version by id (cached). */
static Loaded *load_version(Engine *e, int64_t version, char *err, size_t errlen)
{
    for (int i = 0; i < e->nloaded; i++)
        if (e->loaded[i]->version == version) return e->loaded[i];
    sqlite3_stmt *st = store_stmt(e->store, "SELECT v.flow, v.number, v.artifact, coalesce(v.deployed, v.created),"
                                            " v.state = 'active', v.window_from, v.window_until FROM versions v WHERE v.id = ?1");
    if (!st) {
        sql_fail(e, err, errlen);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, version);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        snprintf(err, errlen, "no flow version %lld", (long long)version);
        return NULL;
    }
    Loaded *l = calloc(1, sizeof *l);
    char why[256];
    int ok = 0;
    if (l) {
        arena_init(&l->arena, 0);
        l->version = version;
        l->flow = sqlite3_column_int64(st, 0);
        l->number = sqlite3_column_int(st, 1);
        l->deployed = sqlite3_column_int64(st, 3);
        l->active = sqlite3_column_int(st, 4) != 0;
        ok = art_load(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &l->art, why, sizeof why) == 0;
        if (!ok) {
            l->art = NULL;
            snprintf(err, errlen, "flow version %lld does not verify: %s", (long long)version, why);
        } else {   /* an activation window given at deploy overrides the artifact's */
            if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
                l->art->has_active_from = true;
                l->art->active_from = sqlite3_column_int64(st, 5);
            }
            if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
                l->art->has_active_until = true;
                l->art->active_until = sqlite3_column_int64(st, 6);
            }
        }
    }
    sqlite3_reset(st);
    if (!l || !ok || l->art->kind != ART_FLOW || load_subs(e, l, err, errlen) != 0 || load_inputs(e, l, err, errlen) != 0)
        goto fail;
    l->program = vm_program_new(l->art, (const Artifact *const *)l->subs, (size_t)l->nsubs, why, sizeof why);
    if (!l->program) {
        snprintf(err, errlen, "flow '%s' version %d does not link: %s", l->art->name, l->number, why);
        goto fail;
    }
    l->run = vm_run_new(l->program, NULL);
    l->name = json_str(&l->arena, l->art->name, strlen(l->art->name));
    l->event = cat_event_find(l->art->event, strlen(l->art->event));
    if (!l->run || !l->event) {
        snprintf(err, errlen, "flow '%s' version %d cannot run", l->art->name, l->number);
        goto fail;
    }
    if (l->art->cron[0]) {
        size_t at;
        l->has_cron = cron_parse(l->art->cron, strlen(l->art->cron), &l->cron, &at) == NULL;
    }
    if (l->art->scope == ART_SCOPE_ICCIDS && l->art->nscope_items) {
        size_t cap = 16;
        while (cap < 2 * (size_t)l->art->nscope_items) cap *= 2;
        l->iccids = calloc(cap, sizeof *l->iccids);
        if (!l->iccids) goto fail;
        l->iccid_mask = cap - 1;
        for (uint32_t i = 0; i < l->art->nscope_items; i++) {
            const char *iccid = l->art->scope_items[i];
            size_t k = (size_t)iccid_hash(iccid) & l->iccid_mask;
            while (l->iccids[k] && strcmp(l->iccids[k], iccid) != 0) k = (k + 1) & l->iccid_mask;
            l->iccids[k] = iccid;
        }
    }
    Loaded **grown = realloc(e->loaded, (size_t)(e->nloaded + 1) * sizeof *grown);
    if (!grown) goto fail;
    e->loaded = grown;
    e->loaded[e->nloaded++] = l;
    return l;
fail:
    if (l && !err[0]) snprintf(err, errlen, "out of memory");
    loaded_free(l);
    return NULL;
}

static void unload_all(Engine *e)
{
    for (int i = 0; i < e->nloaded; i++) loaded_free(e->loaded[i]);
    free(e->loaded);
    e->loaded = NULL;
    e->nloaded = 0;
    for (int i = 0; e->by_event && i < cat_nevents; i++) free(e->by_event[i]);
    free(e->by_event);
    free(e->nby_event);
    e->by_event = NULL;
    e->nby_event = NULL;
}

/* The scope index: per event type, the active versions on it. */
static int load_active(Engine *e, char *err, size_t errlen)
{
    unload_all(e);
    if (++e->scope_gen == 0) e->scope_gen = 1;
    e->by_event = calloc((size_t)cat_nevents, sizeof *e->by_event);
    e->nby_event = calloc((size_t)cat_nevents, sizeof *e->nby_event);
    if (!e->by_event || !e->nby_event) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sqlite3_stmt *st = store_stmt(e->store, "SELECT v.id FROM versions v JOIN flows f ON f.id = v.flow"
                                            " WHERE f.org = ?1 AND f.kind = 'flow' AND v.state = 'active'"
                                            " AND f.enabled = 1 AND f.deleted IS NULL ORDER BY v.id");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, e->org);
    int64_t ids[4096];
    int n = 0;
    while (n < 4096 && sqlite3_step(st) == SQLITE_ROW) ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        err[0] = '\0';
        Loaded *l = load_version(e, ids[i], err, errlen);
        if (!l) return -1;
        int ev = (int)(l->event - cat_events);
        Loaded **grown = realloc(e->by_event[ev], (size_t)(e->nby_event[ev] + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        e->by_event[ev] = grown;
        e->by_event[ev][e->nby_event[ev]++] = l;
    }
    return 0;
}

static bool has_text(const Value *list, const char *text)
{
    for (uint32_t i = 0; list->tag == VAL_LIST && i < list->as.l->len; i++)
        if (strcmp(list->as.l->items[i].as.s->data, text) == 0) return true;
    return false;
}

/* hash: the SIM's iccid_hash, 0 until computed */
static bool in_scope(const Loaded *l, const Value *sim, uint64_t *hash)
{
    const Artifact *a = l->art;
    switch (a->scope) {
    case ART_SCOPE_ALL: return true;
    case ART_SCOPE_ICCIDS: {
        if (!sim) return false;
        const char *key = sim[SIM_ICCID].as.s->data;
        if (!*hash) *hash = iccid_hash(key);
        for (size_t k = (size_t)*hash & l->iccid_mask; l->iccids[k]; k = (k + 1) & l->iccid_mask)
            if (strcmp(l->iccids[k], key) == 0) return true;
        return false;
    }
    case ART_SCOPE_TAGS:
        for (uint32_t i = 0; sim && i < a->nscope_items; i++)
            if (has_text(&sim[SIM_TAGS], a->scope_items[i])) return true;
        return false;
    default:
        return sim && scope_contains(a, sim);
    }
}

/* ============================================================ open, transactions */

Engine *eng_open(Store *store, int64_t org, const EngOptions *options, char *err, size_t errlen)
{
    Engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->store = store;
    e->org = org;
    if (options) e->opt = *options;
    e->conn = e->opt.connector ? *e->opt.connector : host_store_connector;
    snprintf(e->clock_key, sizeof e->clock_key, "clock:%lld", (long long)org);
    e->total_event = cat_event_find("data.usage.total", strlen("data.usage.total"));
    e->dormant_event = cat_event_find("sim.dormant", strlen("sim.dormant"));
    arena_init(&e->fixed, 0);
    arena_init(&e->scratch, 0);
    e->empty = json_str(&e->fixed, "", 0);
    e->sims = sims_new(store);
    /* read before loading: a change that lands in between reloads once more,
     * it is not missed */
    e->seen_version = store_data_version(store);
    e->seen_gen = store_engine_gen(store, org);
    cJSON *blank = cJSON_Parse("{\"iccid\": \"89441000300000000012\"}");
    int ok = e->sims && blank && json_to_sim(blank, &e->fixed, e->unknown_sim, err, errlen) == 0;
    cJSON_Delete(blank);
    if (!ok || load_active(e, err, errlen) != 0 || trig_load(e, err, errlen) != 0) {
        eng_free(e);
        return NULL;
    }
    return e;
}

void eng_free(Engine *e)
{
    if (!e) return;
    unload_all(e);
    sims_free(e->sims);
    free(e->trig);
    arena_free(&e->fixed);
    arena_free(&e->scratch);
    free(e);
}

/* Inside the transaction, so that nothing commits between the check and
 * the work: the caches are reloaded when another connection changed what
 * they hold, and only then (its other commits, such as the delivery
 * worker's, leave the generation as it was). */
int eng_begin(Engine *e, char *err, size_t errlen)
{
    if (store_begin(e->store, err, errlen) != 0) return -1;
    int64_t version = store_data_version(e->store);
    if (version == e->seen_version) return 0;
    int64_t gen = store_engine_gen(e->store, e->org);
    if (gen != e->seen_gen) {
        e->stats.reloads++;
        sims_forget(e->sims);
        if (load_active(e, err, errlen) != 0 || trig_load(e, err, errlen) != 0) {
            store_rollback(e->store);
            return -1;
        }
    }
    e->seen_version = version;
    e->seen_gen = gen;
    return 0;
}

int eng_commit(Engine *e, char *err, size_t errlen)
{
    int64_t gen = -1;
    if (sims_flush(e->sims, err, errlen) != 0 || (gen = store_raise_engine_gen(e->store, e->org, err, errlen)) < 0 ||
        store_commit(e->store, err, errlen) != 0) {
        eng_rollback(e);
        return -1;
    }
    sims_trim(e->sims);
    e->seen_gen = gen;   /* our own change: nothing to reload for it */
    return 0;
}

void eng_rollback(Engine *e)
{
    char err[256];
    store_rollback(e->store);
    sims_forget(e->sims);
    totals_stale(e);
    trig_load(e, err, sizeof err);
}

SimTable *eng_sims(Engine *e) { return e->sims; }

void eng_set_time_bounds(Engine *e, int64_t time_min, int64_t time_max)
{
    e->opt.time_min = time_min;
    e->opt.time_max = time_max;
}
const EngStats *eng_stats(const Engine *e) { return &e->stats; }
EngStats *eng_stats_mut(Engine *e) { return &e->stats; }

int64_t eng_clock(Engine *e)
{
    int64_t clock = 0;
    store_meta_get(e->store, e->clock_key, &clock);
    return clock;
}

/* ============================================================ runs */

/* What a run or an evaluation needs of its event. */
typedef struct EvCtx {
    int64_t id;                 /* events row */
    const CatEvent *type;
    int64_t time;
    Value *fields;              /* EVF_PAYLOAD + type->nfields */
    SimRec *sim;                /* NULL for events without a SIM */
} EvCtx;

static void make_env(Engine *e, const Loaded *l, const EvCtx *ev, int64_t now, const char *run_id, VmEnv *env)
{
    memset(env, 0, sizeof *env);
    env->event = ev->fields;
    env->nevent = (uint32_t)(EVF_PAYLOAD + ev->type->nfields);
    env->sim = ev->sim ? ev->sim->f : NULL;
    env->inputs = l->inputs;
    env->ninputs = l->art->ninputs;
    env->ctx[CTX_NOW] = val_integral(VAL_TIME, now);
    const VStr *rid = run_id[0] || !e->empty ? json_str(&e->scratch, run_id, strlen(run_id)) : e->empty;
    env->ctx[CTX_FLOW_NAME] = l->name ? val_str(l->name) : val_nil();
    env->ctx[CTX_FLOW_VERSION] = val_integral(VAL_INT, l->number);
    env->ctx[CTX_RUN_ID] = rid ? val_str(rid) : val_nil();
}

/* "flow NAME version N run R: MESSAGE (line L)" */
static void describe_failure(const Loaded *l, int64_t run, const VmError *ve, char *out, size_t size)
{
    char where[160] = "";
    if (ve->artifact && ve->function && strcmp(ve->artifact, l->art->name) != 0)
        snprintf(where, sizeof where, " (in sub %s", ve->artifact);
    size_t used = strlen(where);
    if (ve->line) snprintf(where + used, sizeof where - used, "%sline %u", used ? ", " : " (", ve->line);
    used = strlen(where);
    if (used) snprintf(where + used, sizeof where - used, ")");
    snprintf(out, size, "flow %s version %d run %lld: %s%s", l->art->name, l->number, (long long)run, ve->message,
             where);
}

static int missing_input(const Loaded *l)
{
    for (uint32_t i = 0; i < l->art->ninputs; i++)
        if (l->missing[i]) return (int)i;
    return -1;
}

static int insert_run(Engine *e, const Loaded *l, const EvCtx *ev, int64_t *run, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(e->store, "INSERT OR IGNORE INTO runs (version, event, iccid, status, started)"
                                            " VALUES (?1, ?2, ?3, 'ok', ?4)");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, l->version);
    sqlite3_bind_int64(st, 2, ev->id);
    sqlite3_bind_text(st, 3, ev->sim ? ev->sim->f[SIM_ICCID].as.s->data : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ev->time);
    if (store_step_done(e->store, st, err, errlen) != 0) return -1;
    *run = sqlite3_changes(e->store->db) ? sqlite3_last_insert_rowid(e->store->db) : 0;
    return 0;
}

/* Records the run's end (ok or failed) or its wait. */
static int finish_run(Engine *e, Loaded *l, VmRun *vm, VmStatus status, int64_t run, const EvCtx *ev, int64_t now,
                      RecHost *rec, double started, char *err, size_t errlen)
{
    char message[512] = "";
    uint32_t line = 0;
    uint8_t *state = NULL;
    size_t state_len = 0;
    char *fields_json = NULL;
    if (status == VM_FAILED) {
        const VmError *ve = vm_error(vm);
        describe_failure(l, run, ve, message, sizeof message);
        line = ve->line;
        e->stats.failed++;
    } else {
        int n = host_commit(e->store, e->sims, &e->conn, run, now, rec, 0, ev->sim, err, errlen);
        if (n < 0) return -1;
        e->stats.actions += (uint64_t)n;
        if (ev->sim && n > 0) totals_stale(e);   /* a renewal, a tag: usage or scopes may have moved */
    }
    if (status == VM_WAITING) {
        if (vm_save(vm, &state, &state_len) != 0) {
            status = VM_FAILED;
            snprintf(message, sizeof message, "flow %s version %d run %lld: the run's state cannot be saved",
                     l->art->name, l->number, (long long)run);
        } else {
            cJSON *fields = cJSON_CreateObject();
            for (int f = 0; fields && f < ev->type->nfields; f++)
                cJSON_AddItemToObject(fields, ev->type->fields[f].name, json_from_value(&ev->fields[EVF_PAYLOAD + f]));
            fields_json = fields ? cJSON_PrintUnformatted(fields) : NULL;
            cJSON_Delete(fields);
            int64_t due = now + vm_wait_seconds(vm);
            sqlite3_stmt *st = store_stmt(e->store, "INSERT INTO waits (run, due, state, event_fields) VALUES (?1, ?2, ?3, ?4)");
            if (!st || !fields_json) {
                free(state);
                free(fields_json);
                return sql_fail(e, err, errlen);
            }
            sqlite3_bind_int64(st, 1, run);
            sqlite3_bind_int64(st, 2, due);
            sqlite3_bind_blob(st, 3, state, (int)state_len, free);
            sqlite3_bind_text(st, 4, fields_json, -1, free);
            if (store_step_done(e->store, st, err, errlen) != 0) return -1;
            e->stats.waiting++;
        }
    }
    char *log = cJSON_PrintUnformatted(rec->log);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - started;
    sqlite3_stmt *st = store_stmt(e->store, "UPDATE runs SET status = ?2, finished = ?3, error = ?4, error_line = ?5,"
                                            " log = ?6, wall_us = wall_us + ?7, instructions = instructions + ?8 WHERE id = ?1");
    if (!st || !log) {
        free(log);
        return sql_fail(e, err, errlen);
    }
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, status == VM_FAILED ? "failed" : status == VM_WAITING ? "waiting" : "ok", -1, SQLITE_STATIC);
    if (status != VM_WAITING) sqlite3_bind_int64(st, 3, now);
    if (message[0]) sqlite3_bind_text(st, 4, message, -1, SQLITE_TRANSIENT);
    if (line) sqlite3_bind_int64(st, 5, line);
    sqlite3_bind_text(st, 6, log, -1, free);
    sqlite3_bind_int64(st, 7, (int64_t)(wall * 1e6));
    sqlite3_bind_int64(st, 8, (int64_t)vm_instructions(vm));
    return store_step_done(e->store, st, err, errlen);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A run that fails before its `do` starts: a missing input, a failing
 * condition. */
static int failed_run(Engine *e, Loaded *l, const EvCtx *ev, const char *what, uint32_t line, char *err, size_t errlen)
{
    int64_t run;
    if (insert_run(e, l, ev, &run, err, errlen) != 0) return -1;
    if (!run) return 0;
    char message[512];
    snprintf(message, sizeof message, "flow %s version %d run %lld: %s", l->art->name, l->number, (long long)run, what);
    sqlite3_stmt *st = store_stmt(e->store, "UPDATE runs SET status = 'failed', finished = ?2, error = ?3, error_line = ?4"
                                            " WHERE id = ?1");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, ev->time);
    sqlite3_bind_text(st, 3, message, -1, SQLITE_TRANSIENT);
    if (line) sqlite3_bind_int64(st, 4, line);
    e->stats.runs++;
    e->stats.failed++;
    return store_step_done(e->store, st, err, errlen);
}

static int refuse_action(void *ctx, ActionKind action, const Value *args, int nargs, uint32_t line, char *message,
                         size_t size)
{
    (void)ctx; (void)action; (void)args; (void)nargs; (void)line;
    snprintf(message, size, "a condition takes no action");
    return -1;
}

static void ignore_log(void *ctx, const char *text, size_t len, uint32_t line)
{
    (void)ctx; (void)text; (void)len; (void)line;
}

static const VmHost condition_host = { NULL, refuse_action, ignore_log };

/* A condition's result called ahead by evaluate (vm_call_batch): 1 true,
 * 0 false, PRE_FAILED (the error is in the flow's run), or PRE_NONE: not
 * called ahead, condition calls it. */
enum { PRE_FAILED = -2, PRE_NONE = -3 };

typedef struct Pre {
    int rearm, when;
} Pre;

static const Pre pre_none = { PRE_NONE, PRE_NONE };

/* Evaluates a condition function (or takes its result `pre`): 1 true, 0
 * false, -2 it failed (recorded). */
static int condition(Engine *e, Loaded *l, const EvCtx *ev, int32_t fn, int pre, char *err, size_t errlen)
{
    e->stats.evaluations++;
    if (pre == 0 || pre == 1) return pre;
    if (pre == PRE_NONE) {
        VmEnv env;
        make_env(e, l, ev, ev->time, "", &env);
        Value result;
        if (vm_call(l->run, fn, NULL, 0, &env, &condition_host, &result) == VM_DONE)
            return result.tag == VAL_BOOL && result.as.b;
    }
    const VmError *ve = vm_error(l->run);
    char what[320];
    snprintf(what, sizeof what, "its condition failed: %s", ve->message);
    return failed_run(e, l, ev, what, ve->line, err, errlen) == 0 ? -2 : -1;
}

static int fire(Engine *e, Loaded *l, const EvCtx *ev, char *err, size_t errlen)
{
    int64_t run;
    if (insert_run(e, l, ev, &run, err, errlen) != 0) return -1;
    if (!run) return 0;   /* this version already ran for this event */
    e->stats.runs++;
    double started = mono();
    char run_id[32];
    snprintf(run_id, sizeof run_id, "%lld", (long long)run);
    VmEnv env;
    make_env(e, l, ev, ev->time, run_id, &env);
    RecHost rec;
    rec_init(&rec);
    rec.iccid = ev->sim ? ev->sim->f[SIM_ICCID].as.s->data : NULL;
    Value result;
    VmStatus status = vm_call(l->run, l->art->fn_do, NULL, 0, &env, &rec.host, &result);
    int rc = finish_run(e, l, l->run, status, run, ev, ev->time, &rec, started, err, errlen);
    rec_free(&rec);
    return rc;
}

/* Trigger semantics for one flow version and one event (spec/runtime.md);
 * pre: its conditions' results when called ahead; *ran: a run started. */
static int decide(Engine *e, Loaded *l, const EvCtx *ev, const Pre *pre, bool *ran, char *err, size_t errlen)
{
    int missing = missing_input(l);
    if (missing >= 0) {
        char what[256];
        snprintf(what, sizeof what, "input '%s' has no value", l->art->inputs[missing].name);
        return failed_run(e, l, ev, what, 0, err, errlen);
    }
    const Artifact *a = l->art;
    bool edge = ev->type->kind == EV_STATE && a->repeat != ART_REPEAT_EVERY;
    int64_t sim = ev->sim ? ev->sim->id : 0;
    int64_t fired_at = edge ? trig_get(e, l->flow, sim) : INT64_MIN;
    if (edge && fired_at != INT64_MIN && a->fn_rearm >= 0) {
        int rearm = condition(e, l, ev, a->fn_rearm, pre->rearm, err, errlen);
        if (rearm < 0) return rearm == -2 ? 0 : -1;
        if (rearm) {
            if (trig_set(e, l->flow, sim, INT64_MIN, err, errlen) != 0) return -1;
            fired_at = INT64_MIN;
        }
    }
    int holds = a->fn_when >= 0 ? condition(e, l, ev, a->fn_when, pre->when, err, errlen) : 1;
    if (holds < 0) return holds == -2 ? 0 : -1;
    if (!edge) return holds ? (*ran = true, fire(e, l, ev, err, errlen)) : 0;
    if (!holds) {
        if (fired_at != INT64_MIN && a->fn_rearm < 0) return trig_set(e, l->flow, sim, INT64_MIN, err, errlen);
        return 0;
    }
    if (fired_at != INT64_MIN && !(a->repeat == ART_REPEAT_AFTER && ev->time - fired_at >= a->repeat_after)) return 0;
    if (trig_set(e, l->flow, sim, ev->time, err, errlen) != 0) return -1;
    *ran = true;
    return fire(e, l, ev, err, errlen);
}

/* Which of the flows on event type t hold the SIM in scope (at most 64), kept
 * in the record. */
static uint64_t scope_mask(Engine *e, int t, SimRec *sim, uint64_t *hash)
{
    uint64_t bits = 0;
    for (int i = 0; i < e->nby_event[t]; i++)
        if (in_scope(e->by_event[t][i], sim->f, hash)) bits |= 1ull << i;
    sim->scope_bits = bits;
    sim->scope_gen = e->scope_gen;
    sim->scope_event = t;
    return bits;
}

/* A batch item: condition fn of l. */
static VmBatchItem batch_item(const Loaded *l, int32_t fn)
{
    return (VmBatchItem){ .run = l->run, .fn = fn, .ninputs = l->art->ninputs, .inputs = l->inputs,
                          .flow_name = l->name ? val_str(l->name) : val_nil(),
                          .flow_version = val_integral(VAL_INT, l->number) };
}

#define BATCH_MAX 64   /* vm_call_batch's items */

/* Every active flow on the event whose scope holds the SIM and whose window
 * holds the time, in order; or only `only`.  The conditions of the flows
 * ahead are called in one batch (vm_call_batch: the event and SIM bound
 * once), then each flow is decided with its results.  Conditions take no
 * actions, so only a run can change what they read (the SIM's record, the
 * scopes): after a run the batch is made again from the next flow.  A
 * condition the batch did not call (after one that failed, or a rearm
 * the trigger state did not ask for then) is called by decide itself. */
static int evaluate(Engine *e, const EvCtx *ev, Loaded *only, char *err, size_t errlen)
{
    int t = (int)(ev->type - cat_events);
    int n = only ? 1 : e->nby_event[t];
    uint64_t hash = 0, mask = 0;
    bool masked = !only && ev->sim && n <= 64;
    VmEnv env;   /* make_env's, but for the flow's own inputs and ctx, which the items give */
    memset(&env, 0, sizeof env);
    env.event = ev->fields;
    env.nevent = (uint32_t)(EVF_PAYLOAD + ev->type->nfields);
    env.sim = ev->sim ? ev->sim->f : NULL;
    env.ctx[CTX_NOW] = val_integral(VAL_TIME, ev->time);
    const VStr *rid = e->empty ? e->empty : json_str(&e->scratch, "", 0);
    env.ctx[CTX_RUN_ID] = rid ? val_str(rid) : val_nil();
    int64_t sim = ev->sim ? ev->sim->id : 0;
    bool state = ev->type->kind == EV_STATE;
    for (int i = 0; i < n;) {
        Loaded *flows[BATCH_MAX];
        int at[BATCH_MAX], rearm_item[BATCH_MAX], when_item[BATCH_MAX];
        VmBatchItem items[BATCH_MAX];
        int nflows = 0, nitems = 0, next = n;
        for (int j = i; j < n; j++) {
            if (nflows == BATCH_MAX || nitems > BATCH_MAX - 2) {
                next = j;
                break;
            }
            Loaded *l = only ? only : e->by_event[t][j];
            if (masked) {   /* the scopes, cached per SIM; made again when an earlier flow's action changed the record */
                if (ev->sim->scope_gen != e->scope_gen || ev->sim->scope_event != t) mask = scope_mask(e, t, ev->sim, &hash);
                else mask = ev->sim->scope_bits;
                if (!(mask >> j & 1)) continue;
            } else if (ev->type->subject != SUBJ_SCOPE && !in_scope(l, ev->sim ? ev->sim->f : NULL, &hash)) {
                continue;   /* an event about a scope's total is about each flow's own scope */
            }
            if (!scope_active(l->art, ev->time, l->deployed)) continue;
            const Artifact *a = l->art;
            rearm_item[nflows] = when_item[nflows] = -1;
            if (missing_input(l) < 0) {   /* decide fails the run without calling anything */
                if (state && a->repeat != ART_REPEAT_EVERY && a->fn_rearm >= 0 && trig_get(e, l->flow, sim) != INT64_MIN) {
                    rearm_item[nflows] = nitems;
                    items[nitems++] = batch_item(l, a->fn_rearm);
                }
                if (a->fn_when >= 0) {
                    when_item[nflows] = nitems;
                    items[nitems++] = batch_item(l, a->fn_when);
                }
            }
            flows[nflows] = l;
            at[nflows++] = j;
        }
        uint64_t failed = 0, holds = 0, called = 0;
        if (nitems) {
            uint64_t all = nitems == 64 ? ~(uint64_t)0 : ((uint64_t)1 << nitems) - 1;
            holds = vm_call_batch(items, all, &env, &condition_host, &failed);
            called = failed ? failed | (failed - 1) : all;
        }
        i = next;
        for (int k = 0; k < nflows; k++) {
            int r = rearm_item[k], w = when_item[k];
            Pre pre = pre_none;
            if (r >= 0 && (called >> r & 1)) pre.rearm = (failed >> r & 1) ? PRE_FAILED : (int)(holds >> r & 1);
            if (w >= 0 && (called >> w & 1)) pre.when = (failed >> w & 1) ? PRE_FAILED : (int)(holds >> w & 1);
            bool ran = false;
            if (decide(e, flows[k], ev, &pre, &ran, err, errlen) != 0) return -1;
            if (ran) {   /* the rest see what the run changed */
                i = at[k] + 1;
                break;
            }
        }
    }
    return 0;
}

/* ============================================================ events */

static int refuse(char *err, size_t errlen, const char *fmt, const char *arg)
{
    snprintf(err, errlen, fmt, arg);
    return -2;
}

/* Sets the SIM fields that the event's payload updates (catalog's
 * sim_field); data_left follows month_usage when the event does not set it. */
static int update_sim(Engine *e, const EvCtx *ev)
{
    Value f[SIM_NFIELDS];
    memcpy(f, ev->sim->f, sizeof f);
    bool changed = false, usage = false, left = false;
    for (int i = 0; i < ev->type->nfields; i++) {
        int sf = ev->type->fields[i].sim_field;
        if (sf < 0 || sf >= SIM_NFIELDS) continue;
        const Value *v = &ev->fields[EVF_PAYLOAD + i];
        usage |= sf == SIM_MONTH_USAGE;
        left |= sf == SIM_DATA_LEFT;
        if (!val_equal(&f[sf], v)) {
            f[sf] = *v;
            changed = true;
        }
    }
    if (usage && !left) {
        int64_t rest = f[SIM_QUOTA].as.i - f[SIM_MONTH_USAGE].as.i;
        Value v = val_integral(VAL_BYTES, rest > 0 ? rest : 0);
        if (!val_equal(&f[SIM_DATA_LEFT], &v)) {
            f[SIM_DATA_LEFT] = v;
            changed = true;
        }
    }
    if (usage && ev->sim->last_usage != ev->time) {
        ev->sim->last_usage = ev->time;
        if (sims_touch(e->sims, ev->sim) != 0) return -1;
    }
    return changed ? sims_set(e->sims, ev->sim, f) : 0;
}

static int process(Engine *e, const CatEvent *type, const char *key, const char *iccid, int64_t time,
                   const cJSON *payload, const char *raw, Loaded *only, EngOutcome *outcome, char *err, size_t errlen);
static int for_scope(Engine *e, Loaded *l, int (*fn)(Engine *, Loaded *, const char *, void *), void *arg, char *err,
                     size_t errlen);

typedef struct TotalArgs {
    int64_t total;
    char *err;
    size_t errlen;
} TotalArgs;

static int add_usage(Engine *e, Loaded *l, const char *iccid, void *arg)
{
    TotalArgs *t = arg;
    SimRec *sim;
    int rc = sims_get(e->sims, iccid, &sim, t->err, t->errlen);
    if (rc < 0) return -1;
    if (rc == 0 && sim->org == e->org) t->total += sim->f[SIM_MONTH_USAGE].as.i;
    return 0;
}

/* A data.usage.total event for each flow on it whose scope holds the SIM
 * whose usage moved by `delta`: the total of the scope after the change,
 * made by flowvm with a key of the flow version and the event.  A total is
 * counted over the scope's SIMs (their changes written first, so that the
 * store's scope and the records agree) when not known, then moved by each
 * change. */
static int update_totals(Engine *e, const EvCtx *ev, int64_t delta, char *err, size_t errlen)
{
    const CatEvent *total_type = e->total_event;
    if (!total_type) return 0;
    int t = (int)(total_type - cat_events);
    for (int i = 0; i < e->nby_event[t]; i++) {
        Loaded *l = e->by_event[t][i];
        if (!in_scope(l, ev->sim->f, &(uint64_t){ 0 })) continue;
        if (l->total_valid) {
            l->total += delta;
        } else {
            TotalArgs args = { 0, err, errlen };
            if (sims_flush(e->sims, err, errlen) != 0 || for_scope(e, l, add_usage, &args, err, errlen) != 0)
                return -1;
            l->total = args.total;
            l->total_valid = true;
        }
        if (!scope_active(l->art, ev->time, l->deployed)) continue;   /* kept, but no event outside its window */
        char key[96];
        snprintf(key, sizeof key, "flowvm:total:%lld:%lld", (long long)l->version, (long long)ev->id);
        cJSON *payload = cJSON_CreateObject();
        if (!payload || !cJSON_AddNumberToObject(payload, "used", (double)l->total)) {
            cJSON_Delete(payload);
            return refuse(err, errlen, "%s", "out of memory");
        }
        EngOutcome outcome;
        int rc = process(e, total_type, key, NULL, ev->time, payload, NULL, l, &outcome, err, errlen);
        cJSON_Delete(payload);
        if (rc == -1) return -1;   /* refused (-2): not the data.usage event's failure */
    }
    return 0;
}

/* Records and processes one event already validated; `only` limits it to one
 * flow version (made schedule and date events). */
static int process(Engine *e, const CatEvent *type, const char *key, const char *iccid, int64_t time,
                   const cJSON *payload, const char *raw, Loaded *only, EngOutcome *outcome, char *err, size_t errlen)
{
    SimRec *sim = NULL;
    bool known = true;
    if (type->subject == SUBJ_SIM) {
        int rc = sims_get(e->sims, iccid, &sim, err, errlen);
        if (rc < 0) return -1;
        known = rc == 0 && sim->org == e->org;
        if (!known) sim = NULL;
    }
    Value *fields = arena_alloc(&e->scratch, (size_t)(EVF_PAYLOAD + type->nfields) * sizeof(Value));
    if (!fields) return refuse(err, errlen, "%s", "out of memory");
    Value blank[SIM_NFIELDS];
    const Value *sim_fields = sim ? sim->f : NULL;
    if (type->subject == SUBJ_SIM && !sim) {
        memcpy(blank, e->unknown_sim, sizeof blank);
        const VStr *s = json_str(&e->scratch, iccid, strlen(iccid));
        if (s) blank[SIM_ICCID] = val_str(s);
        sim_fields = blank;
    }
    char why[300];
    if (json_to_event(payload, type, sim_fields, time, &e->scratch, fields, why, sizeof why) != 0)
        return refuse(err, errlen, "%s", why);
    char *printed = raw ? NULL : cJSON_PrintUnformatted(payload);
    sqlite3_stmt *st = store_stmt(e->store, "INSERT OR IGNORE INTO events (org, key, type, iccid, time, payload,"
                                            " sim_known, received) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st) {
        free(printed);
        return sql_fail(e, err, errlen);
    }
    sqlite3_bind_int64(st, 1, e->org);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, iccid ? iccid : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, time);
    sqlite3_bind_text(st, 6, raw ? raw : printed ? printed : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, known);
    sqlite3_bind_int64(st, 8, store_wall_clock());
    int rc = store_step_done(e->store, st, err, errlen);
    free(printed);
    if (rc != 0) return -1;
    if (sqlite3_changes(e->store->db) == 0) {
        e->stats.duplicates++;
        *outcome = ENG_DUPLICATE;
        return 0;
    }
    e->stats.events++;
    if (!known) {
        e->stats.unknown_sims++;
        *outcome = ENG_UNKNOWN_SIM;
        return 0;
    }
    *outcome = ENG_PROCESSED;
    EvCtx ev = { sqlite3_last_insert_rowid(e->store->db), type, time, fields, sim };
    int64_t usage = sim ? sim->f[SIM_MONTH_USAGE].as.i : 0;
    if (sim && update_sim(e, &ev) != 0) return refuse(err, errlen, "%s", "out of memory");
    if (evaluate(e, &ev, only, err, errlen) != 0) return -1;
    if (sim && !only && sim->f[SIM_MONTH_USAGE].as.i != usage)
        return update_totals(e, &ev, sim->f[SIM_MONTH_USAGE].as.i - usage, err, errlen);
    return 0;
}

int eng_event(Engine *e, const cJSON *event, const char *raw, EngOutcome *outcome, char *err, size_t errlen)
{
    arena_reset(&e->scratch);
    if (!cJSON_IsObject(event)) return refuse(err, errlen, "%s", "an event is a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(event, "id");
    if (!cJSON_IsString(id) || !id->valuestring[0]) return refuse(err, errlen, "%s", "missing \"id\" (a non-empty string)");
    if (strlen(id->valuestring) > ENG_MAX_ID) return refuse(err, errlen, "%s", "\"id\" is longer than 256 bytes");
    const cJSON *type_json = cJSON_GetObjectItemCaseSensitive(event, "type");
    if (!cJSON_IsString(type_json)) return refuse(err, errlen, "%s", "missing \"type\" (an event type of the catalog)");
    const CatEvent *type = cat_event_find(type_json->valuestring, strlen(type_json->valuestring));
    if (!type) return refuse(err, errlen, "unknown event type \"%.60s\"", type_json->valuestring);
    if (type->source == EV_SRC_DATE || type->source == EV_SRC_SCHEDULE)
        return refuse(err, errlen, "%s events are made by flowvm's clock, not ingested", type->name);
    const cJSON *time_json = cJSON_GetObjectItemCaseSensitive(event, "time");
    int64_t time;
    if (!cJSON_IsString(time_json)) return refuse(err, errlen, "%s", "missing \"time\" (an RFC 3339 string)");
    if (!fmt_parse_time(time_json->valuestring, strlen(time_json->valuestring), &time))
        return refuse(err, errlen, "\"time\": \"%.40s\" is not an RFC 3339 time", time_json->valuestring);
    if ((e->opt.time_min || e->opt.time_max) && (time < e->opt.time_min || time > e->opt.time_max))
        return refuse(err, errlen, "\"time\": %s is too far in the past or the future", time_json->valuestring);
    const char *iccid = NULL;
    const cJSON *iccid_json = cJSON_GetObjectItemCaseSensitive(event, "iccid");
    if (type->subject == SUBJ_SIM) {
        if (!cJSON_IsString(iccid_json)) return refuse(err, errlen, "%s", "missing \"iccid\" (the SIM's ICCID)");
        char why[64];
        const char *bad = valid_iccid(iccid_json->valuestring, strlen(iccid_json->valuestring), why);
        if (bad) return refuse(err, errlen, "\"iccid\": %s", bad);
        iccid = iccid_json->valuestring;
    } else if (iccid_json) {
        return refuse(err, errlen, "%s is not about one SIM: it takes no \"iccid\"", type->name);
    }
    return process(e, type, id->valuestring, iccid, time, event, raw, NULL, outcome, err, errlen);
}

/* ============================================================ waits */

/* Resumes one parked run: its own flow version, `sim` read afresh, `now` the
 * due time. */
static int resume_one(Engine *e, sqlite3_stmt *row, char *err, size_t errlen)
{
    int64_t run = sqlite3_column_int64(row, 0), due = sqlite3_column_int64(row, 1);
    int64_t version = sqlite3_column_int64(row, 4), event_id = sqlite3_column_int64(row, 5);
    const char *iccid = (const char *)sqlite3_column_text(row, 6);
    const CatEvent *type = cat_event_find((const char *)sqlite3_column_text(row, 8),
                                          (size_t)sqlite3_column_bytes(row, 8));
    int64_t time = sqlite3_column_int64(row, 9);
    cJSON *fields_json = cJSON_Parse((const char *)sqlite3_column_text(row, 3));
    cJSON *log = cJSON_Parse((const char *)sqlite3_column_text(row, 7));
    size_t state_len = (size_t)sqlite3_column_bytes(row, 2);
    uint8_t *state = malloc(state_len ? state_len : 1);
    if (state) memcpy(state, sqlite3_column_blob(row, 2), state_len);
    char *iccid_copy = strdup(iccid ? iccid : "");
    sqlite3_reset(row);
    arena_reset(&e->scratch);
    e->stats.resumed++;
    int rc = -1;
    RecHost rec;
    rec_init(&rec);
    VmRun *vm = NULL;
    sqlite3_stmt *del = store_stmt(e->store, "DELETE FROM waits WHERE run = ?1");
    if (!del) {
        sql_fail(e, err, errlen);
        goto done;
    }
    sqlite3_bind_int64(del, 1, run);
    if (store_step_done(e->store, del, err, errlen) != 0) goto done;
    err[0] = '\0';
    Loaded *l = load_version(e, version, err, errlen);
    if (!l || !type || !state || !iccid_copy || !fields_json) {
        if (!err[0]) snprintf(err, errlen, "parked run %lld cannot be resumed", (long long)run);
        goto done;
    }
    if (log) {
        cJSON_Delete(rec.log);
        rec.log = log;
        log = NULL;
    }
    SimRec *sim = NULL;
    if (type->subject == SUBJ_SIM) {
        int found = sims_get(e->sims, iccid_copy, &sim, err, errlen);
        if (found < 0) goto done;
        if (found == 1 || sim->org != e->org) sim = NULL;
    }
    Value *fields = arena_alloc(&e->scratch, (size_t)(EVF_PAYLOAD + type->nfields) * sizeof(Value));
    char why[300];
    if (!fields || json_to_event(fields_json, type, sim ? sim->f : e->unknown_sim, time, &e->scratch, fields, why,
                                 sizeof why) != 0) {
        snprintf(err, errlen, "parked run %lld: its event cannot be read back: %s", (long long)run, why);
        goto done;
    }
    EvCtx ev = { event_id, type, time, fields, sim };
    rec.iccid = iccid_copy;
    vm = vm_run_new(l->program, NULL);
    if (!vm) goto done;
    VmStatus status;
    if (type->subject == SUBJ_SIM && !sim) {
        /* the SIM left the organisation (or the store): the run ends here */
        char what[300];
        snprintf(what, sizeof what, "flow %s version %d run %lld: SIM %s is no longer in the organisation",
                 l->art->name, l->number, (long long)run, iccid_copy);
        sqlite3_stmt *st = store_stmt(e->store, "UPDATE runs SET status = 'failed', finished = ?2, error = ?3 WHERE id = ?1");
        if (!st) goto done;
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_int64(st, 2, due);
        sqlite3_bind_text(st, 3, what, -1, SQLITE_TRANSIENT);
        e->stats.failed++;
        rc = store_step_done(e->store, st, err, errlen);
        goto done;
    }
    if (vm_restore(vm, state, state_len, why, sizeof why) != 0) {
        snprintf(err, errlen, "flow %s version %d run %lld: the parked state does not restore: %s", l->art->name,
                 l->number, (long long)run, why);
        goto done;
    }
    char run_id[32];
    snprintf(run_id, sizeof run_id, "%lld", (long long)run);
    VmEnv env;
    make_env(e, l, &ev, due, run_id, &env);
    Value result;
    double started = mono();
    status = vm_resume(vm, &env, &rec.host, &result);
    rc = finish_run(e, l, vm, status, run, &ev, due, &rec, started, err, errlen);
done:
    vm_run_free(vm);
    rec_free(&rec);
    cJSON_Delete(log);
    cJSON_Delete(fields_json);
    free(state);
    free(iccid_copy);
    return rc;
}

/* Resumes, in due order, every parked run of the organisation due at or
 * before `until`. */
static int resume_due(Engine *e, int64_t until, char *err, size_t errlen)
{
    for (;;) {
        sqlite3_stmt *st = store_stmt(e->store,
            "SELECT w.run, w.due, w.state, w.event_fields, r.version, r.event, r.iccid, r.log, ev.type, ev.time"
            " FROM waits w JOIN runs r ON r.id = w.run JOIN events ev ON ev.id = r.event"
            " WHERE ev.org = ?1 AND w.due <= ?2 ORDER BY w.due, w.run LIMIT 1");
        if (!st) return sql_fail(e, err, errlen);
        sqlite3_bind_int64(st, 1, e->org);
        sqlite3_bind_int64(st, 2, until);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            sqlite3_reset(st);
            return 0;
        }
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            return sql_fail(e, err, errlen);
        }
        if (resume_one(e, st, err, errlen) != 0) return -1;
    }
}

/* ============================================================ the clock */

typedef enum { ITEM_SCHEDULE, ITEM_DATE, ITEM_DORMANT } ItemKind;

typedef struct TickItem {
    int64_t time;
    ItemKind kind;
    Loaded *flow;               /* schedule, date */
    char iccid[24];             /* date, dormant */
    int64_t idle;               /* dormant */
} TickItem;

typedef struct Items {
    TickItem *items;
    size_t n, cap;
} Items;

static int push_item(Items *it, TickItem item, char *err, size_t errlen)
{
    if (it->n == ENG_MAX_TICK_ITEMS) {
        snprintf(err, errlen, "more than %d clock events fall due in this tick: tick in smaller steps",
                 ENG_MAX_TICK_ITEMS);
        return -1;
    }
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 256;
        TickItem *grown = realloc(it->items, cap * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        it->items = grown;
        it->cap = cap;
    }
    it->items[it->n++] = item;
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    const TickItem *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    if (x->kind != y->kind) return (int)x->kind - (int)y->kind;
    int64_t vx = x->flow ? x->flow->version : 0, vy = y->flow ? y->flow->version : 0;
    if (vx != vy) return vx < vy ? -1 : 1;
    return strcmp(x->iccid, y->iccid);
}

/* The SIMs of the organisation in a flow's scope, by the indexed columns. */
static sqlite3_stmt *scope_query(Engine *e, const Loaded *l)
{
    sqlite3_stmt *st;
    switch (l->art->scope) {
    case ART_SCOPE_TAGS:
        st = store_stmt(e->store, "SELECT DISTINCT s.iccid FROM sim_tags t JOIN sims s ON s.id = t.sim"
                                  " WHERE s.org = ?1 AND t.tag = ?2 ORDER BY s.iccid");
        break;
    case ART_SCOPE_PACKAGE:
        st = store_stmt(e->store, "SELECT iccid FROM sims WHERE org = ?1 AND package = ?2 ORDER BY iccid");
        break;
    case ART_SCOPE_POOL:
        st = store_stmt(e->store, "SELECT iccid FROM sims WHERE org = ?1 AND pool = ?2 ORDER BY iccid");
        break;
    default:
        st = store_stmt(e->store, "SELECT iccid FROM sims WHERE org = ?1 ORDER BY iccid");
        break;
    }
    return st;
}

static int cmp_iccid(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Calls fn for every SIM of the flow's scope (ICCIDs copied first: fn may
 * use the store). */
static int for_scope(Engine *e, Loaded *l, int (*fn)(Engine *, Loaded *, const char *, void *), void *arg, char *err,
                     size_t errlen)
{
    char (*iccids)[24] = NULL;
    size_t n = 0, cap = 0;
    uint32_t rounds = l->art->scope == ART_SCOPE_TAGS ? l->art->nscope_items : 1;
    if (l->art->scope == ART_SCOPE_ICCIDS) rounds = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        sqlite3_stmt *st = scope_query(e, l);
        if (!st) {
            free(iccids);
            return sql_fail(e, err, errlen);
        }
        sqlite3_bind_int64(st, 1, e->org);
        if (l->art->scope != ART_SCOPE_ALL) sqlite3_bind_text(st, 2, l->art->scope_items[r], -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                char (*grown)[24] = realloc(iccids, cap * sizeof *iccids);
                if (!grown) {
                    sqlite3_reset(st);
                    free(iccids);
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                iccids = grown;
            }
            snprintf(iccids[n++], 24, "%s", (const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_reset(st);
    }
    for (uint32_t i = 0; l->art->scope == ART_SCOPE_ICCIDS && i < l->art->nscope_items; i++) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char (*grown)[24] = realloc(iccids, cap * sizeof *iccids);
            if (!grown) {
                free(iccids);
                return -1;
            }
            iccids = grown;
        }
        snprintf(iccids[n++], 24, "%s", l->art->scope_items[i]);
    }
    if (rounds > 1) qsort(iccids, n, sizeof *iccids, cmp_iccid);   /* a SIM of several of the tags: once */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && strcmp(iccids[i], iccids[i - 1]) == 0) continue;
        rc = fn(e, l, iccids[i], arg);
    }
    free(iccids);
    return rc;
}

typedef struct DateArgs {
    Items *items;
    int64_t from, until;
    char *err;
    size_t errlen;
} DateArgs;

/* The due time of a date flow for one SIM: its date function's value, at
 * HH:MM of that day when the flow says `at`. */
static int date_item(Engine *e, Loaded *l, const char *iccid, void *arg)
{
    DateArgs *d = arg;
    SimRec *sim;
    int rc = sims_get(e->sims, iccid, &sim, d->err, d->errlen);
    if (rc < 0) return -1;
    if (rc == 1 || sim->org != e->org) return 0;
    Value fields[EVF_PAYLOAD];
    fields[EVF_ICCID] = sim->f[SIM_ICCID];
    fields[EVF_TIME] = val_integral(VAL_TIME, d->from);
    EvCtx ev = { 0, l->event, d->from, fields, sim };
    VmEnv env;
    make_env(e, l, &ev, d->from, "", &env);
    Value result;
    if (missing_input(l) >= 0 || vm_call(l->run, l->art->fn_date, NULL, 0, &env, &condition_host, &result) != VM_DONE ||
        result.tag != VAL_TIME)
        return 0;   /* no date for this SIM */
    int64_t due = result.as.i;
    if (l->art->at_minutes >= 0) {
        int64_t day = due >= 0 ? due / 86400 : (due - 86399) / 86400;
        due = day * 86400 + (int64_t)l->art->at_minutes * 60;
    }
    if (due <= d->from || due > d->until) return 0;
    TickItem item = { .time = due, .kind = ITEM_DATE, .flow = l };
    snprintf(item.iccid, sizeof item.iccid, "%s", iccid);
    return push_item(d->items, item, d->err, d->errlen);
}

static int collect(Engine *e, int64_t from, int64_t until, Items *items, char *err, size_t errlen)
{
    for (int i = 0; i < e->nloaded; i++) {
        Loaded *l = e->loaded[i];
        if (!l->active) continue;
        if (l->has_cron)
            for (int64_t t = cron_next(&l->cron, from); t > 0 && t <= until; t = cron_next(&l->cron, t))
                if (push_item(items, (TickItem){ .time = t, .kind = ITEM_SCHEDULE, .flow = l }, err, errlen) != 0)
                    return -1;
        if (l->art->fn_date >= 0) {
            DateArgs d = { items, from, until, err, errlen };
            if (for_scope(e, l, date_item, &d, err, errlen) != 0) return -1;
        }
    }
    const CatEvent *dormant = e->dormant_event;
    if (!dormant || e->nby_event[dormant - cat_events] == 0) return 0;   /* nobody listens: nothing made */
    /* the SIMs whose idle time passes a whole day in (from, until] */
    sqlite3_stmt *st = store_stmt(e->store, "SELECT s.iccid, u.last_usage FROM sim_usage u JOIN sims s ON s.id = u.sim"
                                            " WHERE s.org = ?1 AND u.last_usage > ?2 AND u.last_usage <= ?3"
                                            " AND (?4 - u.last_usage) % ?5 < ?4 - ?6");
    if (!st) return sql_fail(e, err, errlen);
    sqlite3_bind_int64(st, 1, e->org);
    sqlite3_bind_int64(st, 2, from - ENG_DORMANT_MAX);
    sqlite3_bind_int64(st, 3, until - ENG_DORMANT_STEP);
    sqlite3_bind_int64(st, 4, until);
    sqlite3_bind_int64(st, 5, ENG_DORMANT_STEP);
    sqlite3_bind_int64(st, 6, from);
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        int64_t last = sqlite3_column_int64(st, 1);
        int64_t first = from > last ? (from - last) / ENG_DORMANT_STEP + 1 : 1;   /* the first day past `from` */
        for (int64_t k = first; rc == 0 && k * ENG_DORMANT_STEP <= ENG_DORMANT_MAX && last + k * ENG_DORMANT_STEP <= until;
             k++) {
            TickItem item = { .time = last + k * ENG_DORMANT_STEP, .kind = ITEM_DORMANT, .idle = k * ENG_DORMANT_STEP };
            snprintf(item.iccid, sizeof item.iccid, "%s", (const char *)sqlite3_column_text(st, 0));
            rc = push_item(items, item, err, errlen);
        }
    }
    sqlite3_reset(st);
    return rc;
}

static const char *time_text(int64_t t, char *buf, size_t size)
{
    FmtBuf fb;
    fmt_init(&fb);
    fmt_time(&fb, t);
    snprintf(buf, size, "%s", fb.data ? fb.data : "");
    fmt_free(&fb);
    return buf;
}

static int schedule_one(Engine *e, Loaded *l, const char *iccid, void *arg)
{
    const TickItem *item = arg;
    char key[128], when[40];
    snprintf(key, sizeof key, "flowvm:schedule:%lld:%s:%s", (long long)l->version,
             time_text(item->time, when, sizeof when), iccid);
    arena_reset(&e->scratch);
    EngOutcome outcome;
    char err[256];
    return process(e, l->event, key, iccid, item->time, NULL, "{}", l, &outcome, err, sizeof err) == -1 ? -1 : 0;
}

/* One idle day's sim.dormant, kept only when it ran a flow (a run needs its
 * event's row): the others, one a day per idle SIM, leave nothing behind. */
static int dormant_one(Engine *e, const TickItem *item, const char *key, char *err, size_t errlen)
{
    cJSON *payload = cJSON_CreateObject();
    if (!e->dormant_event || !payload || !cJSON_AddNumberToObject(payload, "idle", (double)item->idle)) {
        cJSON_Delete(payload);
        return refuse(err, errlen, "%s", "out of memory");
    }
    uint64_t runs = e->stats.runs;
    EngOutcome outcome;
    int rc = store_exec(e->store, "SAVEPOINT dormant", err, errlen);
    if (rc == 0) {
        rc = process(e, e->dormant_event, key, item->iccid, item->time, payload, NULL, NULL, &outcome, err, errlen);
        bool ran = rc == -1 || e->stats.runs != runs;
        if (store_exec(e->store, ran ? "RELEASE dormant" : "ROLLBACK TO dormant; RELEASE dormant", err, errlen) != 0)
            rc = -1;
    }
    cJSON_Delete(payload);
    return rc;
}

static int run_item(Engine *e, const TickItem *item, char *err, size_t errlen)
{
    char key[160], when[40];
    EngOutcome outcome;
    arena_reset(&e->scratch);
    time_text(item->time, when, sizeof when);
    int rc = 0;
    switch (item->kind) {
    case ITEM_SCHEDULE:
        err[0] = '\0';
        rc = for_scope(e, item->flow, schedule_one, (void *)item, err, errlen);
        if (rc != 0 && !err[0]) snprintf(err, errlen, "store: %s", store_errmsg(e->store));
        return rc;
    case ITEM_DATE:
        snprintf(key, sizeof key, "flowvm:date:%lld:%s:%s", (long long)item->flow->version, when, item->iccid);
        rc = process(e, item->flow->event, key, item->iccid, item->time, NULL, "{}", item->flow, &outcome, err, errlen);
        break;
    case ITEM_DORMANT:
        snprintf(key, sizeof key, "flowvm:dormant:%s:%s", item->iccid, when);
        rc = dormant_one(e, item, key, err, errlen);
        break;
    }
    return rc == -1 ? -1 : 0;   /* a refused made event (-2) is not the tick's failure */
}

/* One tick: what falls due in (clock, until], in one run of transactions. */
static int tick_to(Engine *e, int64_t until, char *err, size_t errlen)
{
    if (eng_begin(e, err, errlen) != 0) return -1;
    int64_t from = eng_clock(e);
    Items items = { 0 };
    int rc = 0;
    if (until > from) {
        rc = collect(e, from, until, &items, err, errlen);
        if (rc == 0 && items.n) qsort(items.items, items.n, sizeof *items.items, cmp_item);
    }
    for (size_t i = 0; rc == 0 && i < items.n; i++) {
        rc = resume_due(e, items.items[i].time, err, errlen);
        if (rc == 0) rc = run_item(e, &items.items[i], err, errlen);
        if (rc == 0 && i % 512 == 511) rc = eng_commit(e, err, errlen) == 0 ? eng_begin(e, err, errlen) : -1;
    }
    if (rc == 0) rc = resume_due(e, until, err, errlen);
    if (rc == 0 && until > from) rc = store_meta_set(e->store, e->clock_key, until, err, errlen);
    free(items.items);
    if (rc != 0) {
        eng_rollback(e);
        return -1;
    }
    return eng_commit(e, err, errlen);
}

int eng_tick(Engine *e, int64_t until, char *err, size_t errlen)
{
    /* a day at a time: after a long stop, each tick holds one day of the
     * idle SIMs' sim.dormant events, well within ENG_MAX_TICK_ITEMS */
    int64_t from = eng_clock(e);
    for (; from > 0 && until - from > ENG_DORMANT_STEP; from += ENG_DORMANT_STEP)
        if (tick_to(e, from + ENG_DORMANT_STEP, err, errlen) != 0) return -1;
    return tick_to(e, until, err, errlen);
}

/* ============================================================ inputs (test worlds) */

int eng_set_input(Engine *e, const char *name, const cJSON *value, char *err, size_t errlen)
{
    char *text = cJSON_PrintUnformatted(value);
    int rc = 0;
    for (int i = 0; rc == 0 && i < e->nloaded; i++) {
        Loaded *l = e->loaded[i];
        for (uint32_t k = 0; k < l->art->ninputs; k++) {
            if (strcmp(l->art->inputs[k].name, name) != 0) continue;
            const Type *type = ty_parse(l->art->inputs[k].type, strlen(l->art->inputs[k].type));
            char why[256];
            if (!type || json_to_value(value, type, &l->arena, &l->inputs[k], why, sizeof why) != 0) {
                snprintf(err, errlen, "input '%s': %s", name, why);
                rc = -1;
                break;
            }
            l->missing[k] = false;
            sqlite3_stmt *st = store_stmt(e->store, "INSERT OR REPLACE INTO inputs (version, name, value) VALUES (?1, ?2, ?3)");
            if (!st) {
                rc = sql_fail(e, err, errlen);
                break;
            }
            sqlite3_bind_int64(st, 1, l->version);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, text ? text : "null", -1, SQLITE_STATIC);
            rc = store_step_done(e->store, st, err, errlen);
        }
    }
    free(text);
    return rc;
}
