/*
 * cmd_test.c - `flowc test`: every `test` block of a project against the
 * project's flows, on the runtime's own engine (runtime/engine.h) with an
 * in-memory store.  Deliveries are recorded in the store's outbox, never
 * sent; SIM operations change the store's SIMs.  One engine, not two.
 *
 * Semantics: spec/language.md, "Tests".
 */
#include "cmd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/deploy.h"
#include "../runtime/engine.h"
#include "../runtime/json.h"
#include "../stdlib/format.h"
#include "compile.h"
#include "project.h"

#define TEST_CLOCK_START 1767225600   /* 2026-01-01T00:00:00Z */
#define TEST_MAX_SIMS 256
#define TEST_MAX_SETS 256

typedef struct World {
    Project *project;
    CgArtifact *artifacts;
    int nartifacts;
    Artifact **subs;              /* loaded sub artifacts, for `expect EXPR` */
    int nsubs;
    Store *store;
    Engine *engine;
    int64_t org, clock;
    char sims[TEST_MAX_SIMS][24];
    int nsims;
    struct { const char *name; Value value; } sets[TEST_MAX_SETS];
    int nsets;
    Arena arena;                  /* folded values */
    const Step *last;             /* the step expectations refer to */
    char step_iccid[24];          /* the SIM of that step's event */
    int64_t mark_action;          /* the last action id before that step */
    int failures;
    const char *test_name;
    int events;
} World;

/* ============================================================ reporting */

static void where(World *w, Span span, char *out, size_t size)
{
    uint32_t line, col;
    src_position(&w->project->sources, span.file, span.off, &line, &col);
    snprintf(out, size, "%s:%u", w->project->sources.files[span.file].path, line);
}

static void fail(World *w, Span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(World *w, Span span, const char *fmt, ...)
{
    char at[512];
    where(w, span, at, sizeof at);
    if (w->failures++ == 0) printf("FAIL - %s\n", w->test_name);
    printf("  %s: ", at);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static const char *source_of(World *w, const Expr *e, char *out, size_t size)
{
    const SourceFile *f = &w->project->sources.files[e->span.file];
    snprintf(out, size, "%.*s", (int)e->span.len, f->text + e->span.off);
    return out;
}

/* ============================================================ values */

static bool input_value(World *w, const char *name, Value *out)
{
    for (int i = w->nsets - 1; i >= 0; i--)
        if (strcmp(w->sets[i].name, name) == 0) {
            *out = w->sets[i].value;
            return true;
        }
    Program *prog = &w->project->prog;
    for (int i = 0; i < prog->ndecls; i++) {
        Decl *d = prog->decls[i];
        if (d->kind == D_INPUT && strcmp(d->name.text, name) == 0)
            return d->u.input.dflt && cg_fold_value(prog, d->u.input.dflt, &w->arena, out);
    }
    return false;
}

/* A step's value: a constant, or an input's current value. */
static bool value_of(World *w, Expr *e, Value *out)
{
    if (e->kind == E_NAME && e->name_kind == NAME_INPUT) return input_value(w, ast_name_text(&w->project->prog, e), out);
    return cg_fold_value(&w->project->prog, e, &w->arena, out);
}

static cJSON *record_json(World *w, Expr *rec, Span span)
{
    cJSON *obj = cJSON_CreateObject();
    for (int i = 0; rec && obj && i < rec->u.rec.n; i++) {
        Value v;
        if (!value_of(w, rec->u.rec.fields[i].value, &v)) {
            fail(w, rec->u.rec.fields[i].value->span, "'%s' is not known when compiling", rec->u.rec.fields[i].name.text);
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_AddItemToObject(obj, rec->u.rec.fields[i].name.text, json_from_value(&v));
    }
    (void)span;
    return obj;
}

/* ============================================================ the world */

static int64_t max_id(World *w, const char *sql)
{
    sqlite3_stmt *st = store_stmt(w->store, sql);
    int64_t id = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (st) sqlite3_reset(st);
    return id;
}

static bool open_world(World *w)
{
    char err[512];
    arena_init(&w->arena, 0);
    w->store = store_open(":memory:", err, sizeof err);
    if (!w->store) {
        fprintf(stderr, "flowc: %s\n", err);
        return false;
    }
    w->org = store_org(w->store, "default", true, err, sizeof err);
    DeployItem *items = calloc((size_t)(w->nartifacts ? w->nartifacts : 1), sizeof *items);
    if (!items) return false;
    for (int i = 0; i < w->nartifacts; i++)
        items[i] = (DeployItem){ w->artifacts[i].name, w->artifacts[i].bytes, w->artifacts[i].len };
    w->clock = TEST_CLOCK_START;
    int rc = deploy_artifacts(w->store, w->org, items, w->nartifacts, NULL, true, w->clock, NULL, err, sizeof err);
    free(items);
    EngOptions opt = { .test_world = true };
    if (rc != 0 || !(w->engine = eng_open(w->store, w->org, &opt, err, sizeof err))) {
        fprintf(stderr, "flowc: the test world cannot be made: %s\n", err);
        return false;
    }
    return true;
}

static void close_world(World *w)
{
    eng_free(w->engine);
    store_close(w->store);
    arena_free(&w->arena);
    w->engine = NULL;
    w->store = NULL;
}

/* Runs whose failure the step caused fail the test. */
static void check_failures(World *w, const Step *st, uint64_t failed_before)
{
    if (eng_stats(w->engine)->failed == failed_before) return;
    sqlite3_stmt *q = store_stmt(w->store, "SELECT error FROM runs WHERE status = 'failed' ORDER BY id DESC LIMIT 1");
    const char *error = q && sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : "?";
    fail(w, st->span, "a run failed: %s", error ? error : "?");
    if (q) sqlite3_reset(q);
}

static bool tick(World *w, const Step *st, int64_t until)
{
    char err[512];
    if (eng_tick(w->engine, until, err, sizeof err) != 0) {
        fail(w, st->span, "the clock cannot move: %s", err);
        return false;
    }
    w->clock = until;
    return true;
}

static void step_sim(World *w, const Step *st)
{
    cJSON *obj = record_json(w, st->u.sim, st->span);
    Arena arena;
    arena_init(&arena, 0);
    Value fields[SIM_NFIELDS];
    char err[512];
    if (obj && json_to_sim(obj, &arena, fields, err, sizeof err) != 0) fail(w, st->span, "the SIM is refused: %s", err);
    else if (obj) {
        if (eng_begin(w->engine, err, sizeof err) != 0 ||
            sims_put(eng_sims(w->engine), w->org, fields, false, err, sizeof err) != 0 ||
            eng_commit(w->engine, err, sizeof err) != 0) {
            eng_rollback(w->engine);
            fail(w, st->span, "the SIM cannot be stored: %s", err);
        } else {
            const char *iccid = fields[SIM_ICCID].as.s->data;
            bool seen = false;
            for (int i = 0; i < w->nsims; i++) seen |= strcmp(w->sims[i], iccid) == 0;
            if (!seen && w->nsims < TEST_MAX_SIMS) snprintf(w->sims[w->nsims++], 24, "%s", iccid);
            snprintf(w->step_iccid, sizeof w->step_iccid, "%s", iccid);
        }
    }
    cJSON_Delete(obj);
    arena_free(&arena);
}

static void step_set(World *w, const Step *st)
{
    Value v;
    char err[512];
    if (!value_of(w, st->u.set.value, &v)) {
        fail(w, st->span, "the value of '%s' is not known when compiling", st->u.set.input.text);
        return;
    }
    cJSON *json = json_from_value(&v);
    if (eng_set_input(w->engine, st->u.set.input.text, json, err, sizeof err) != 0) fail(w, st->span, "%s", err);
    else if (w->nsets < TEST_MAX_SETS) {
        w->sets[w->nsets].name = st->u.set.input.text;
        w->sets[w->nsets++].value = v;
    }
    cJSON_Delete(json);
}

static void step_event(World *w, const Step *st)
{
    const char *type = st->u.event.type.text;
    const CatEvent *ev = cat_event_find(type, strlen(type));
    Value v;
    if (st->u.event.at) {
        if (!value_of(w, st->u.event.at, &v)) return fail(w, st->span, "the event's time is not known when compiling");
        if (v.as.i < w->clock) return fail(w, st->u.event.at->span, "the event's time is before the test's clock");
        if (v.as.i > w->clock && !tick(w, st, v.as.i)) return;
    }
    char iccid[64] = "";
    if (st->u.event.iccid) {
        if (!value_of(w, st->u.event.iccid, &v) || v.tag != VAL_STR) return fail(w, st->span, "the event's SIM is not known");
        snprintf(iccid, sizeof iccid, "%s", v.as.s->data);
    } else if (ev && ev->subject == SUBJ_SIM) {
        if (w->nsims != 1) return fail(w, st->span, "the test has %d SIMs: name the event's SIM with: for \"ICCID\"", w->nsims);
        snprintf(iccid, sizeof iccid, "%s", w->sims[0]);
    }
    cJSON *obj = st->u.event.fields ? record_json(w, st->u.event.fields, st->span) : cJSON_CreateObject();
    if (!obj) return;
    char id[32], when[40];
    snprintf(id, sizeof id, "test-%d", ++w->events);
    FmtBuf fb;
    fmt_init(&fb);
    fmt_time(&fb, w->clock);
    snprintf(when, sizeof when, "%s", fb.data ? fb.data : "");
    fmt_free(&fb);
    cJSON_AddStringToObject(obj, "id", id);
    cJSON_AddStringToObject(obj, "type", type);
    cJSON_AddStringToObject(obj, "time", when);
    if (iccid[0]) cJSON_AddStringToObject(obj, "iccid", iccid);
    if (iccid[0]) snprintf(w->step_iccid, sizeof w->step_iccid, "%.23s", iccid);
    char err[512];
    EngOutcome outcome;
    int rc = eng_begin(w->engine, err, sizeof err);
    if (rc == 0) rc = eng_event(w->engine, obj, NULL, &outcome, err, sizeof err);
    if (rc == 0) rc = eng_commit(w->engine, err, sizeof err);
    else eng_rollback(w->engine);
    if (rc != 0) fail(w, st->span, "the event is refused: %s", err);
    else if (outcome == ENG_UNKNOWN_SIM) fail(w, st->span, "the event is about SIM %s, which the test has not added", iccid);
    cJSON_Delete(obj);
}

/* ============================================================ expectations */

/* The actions the step took, as JSON objects, in order. */
static cJSON *step_actions(World *w)
{
    cJSON *list = cJSON_CreateArray();
    sqlite3_stmt *st = store_stmt(w->store, "SELECT body FROM actions WHERE id > ?1 ORDER BY id");
    if (!st) return list;
    sqlite3_bind_int64(st, 1, w->mark_action);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *a = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        if (a) cJSON_AddItemToArray(list, a);
    }
    sqlite3_reset(st);
    return list;
}

static const char *text_of(const cJSON *a, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, key));
    return s ? s : "";
}

/* "the step took no action" / "the step took: email to a@b \"subject\", suspend 8944..." */
static void happened(cJSON *actions, char *out, size_t size)
{
    if (cJSON_GetArraySize(actions) == 0) {
        snprintf(out, size, "the step took no action");
        return;
    }
    size_t used = (size_t)snprintf(out, size, "the step took: ");
    const cJSON *a;
    bool first = true;
    cJSON_ArrayForEach(a, actions) {
        if (used >= size) break;
        const char *kind = text_of(a, "action");
        char one[400];
        if (strcmp(kind, "email") == 0) {
            const cJSON *to = cJSON_GetObjectItemCaseSensitive(a, "to");
            snprintf(one, sizeof one, "email to %s \"%s\"", cJSON_GetStringValue(cJSON_GetArrayItem(to, 0)) ?
                     cJSON_GetStringValue(cJSON_GetArrayItem(to, 0)) : "?", text_of(a, "subject"));
        } else if (strcmp(kind, "webhook") == 0) {
            snprintf(one, sizeof one, "webhook %s", text_of(a, "url"));
        } else {
            snprintf(one, sizeof one, "%s %s%s%s", kind, text_of(a, "iccid"), text_of(a, "tag")[0] ? " " : "",
                     text_of(a, "tag"));
        }
        used += (size_t)snprintf(out + used, size - used, "%s%s", first ? "" : ", ", one);
        first = false;
    }
}

static bool has_address(const cJSON *a, const char *addr)
{
    static const char *const lists[] = { "to", "cc", "bcc" };
    for (int l = 0; l < 3; l++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(a, lists[l]))
            if (cJSON_IsString(item) && strcmp(item->valuestring, addr) == 0) return true;
    }
    return false;
}

static void expect_action(World *w, const Step *st, cJSON *actions)
{
    ActionKind kind = st->u.expect.action;
    char target[512] = "", contains[512] = "";
    Value v;
    if (st->u.expect.target) {
        if (!value_of(w, st->u.expect.target, &v) || v.tag != VAL_STR)
            return fail(w, st->span, "the expectation's target is not known when compiling");
        snprintf(target, sizeof target, "%s", v.as.s->data);
    }
    if (st->u.expect.subject_contains) {
        if (!value_of(w, st->u.expect.subject_contains, &v) || v.tag != VAL_STR)
            return fail(w, st->span, "the expected subject text is not known when compiling");
        snprintf(contains, sizeof contains, "%s", v.as.s->data);
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, actions) {
        if (strcmp(text_of(a, "action"), cat_action_names[kind]) != 0) continue;
        if (kind == ACT_EMAIL) {
            if (target[0] && !has_address(a, target)) continue;
            if (contains[0] && !strstr(text_of(a, "subject"), contains)) continue;
        } else if (kind == ACT_WEBHOOK) {
            if (target[0] && strcmp(text_of(a, "url"), target) != 0) continue;
        } else if (target[0] && strcmp(text_of(a, "iccid"), target) != 0) {
            continue;
        }
        return;
    }
    char what[1200], got[4096];
    if (kind == ACT_EMAIL)
        snprintf(what, sizeof what, "an email to %s%s%s%s", target, contains[0] ? " whose subject contains \"" : "",
                 contains, contains[0] ? "\"" : "");
    else if (kind == ACT_WEBHOOK) snprintf(what, sizeof what, "a call of webhook %s", target);
    else snprintf(what, sizeof what, "%s %s", cat_action_names[kind], target[0] ? target : "of a SIM");
    happened(actions, got, sizeof got);
    fail(w, st->span, "expected %s, but %s", what, got);
}

static const Artifact *find_sub(World *w, const char *name)
{
    for (int i = 0; i < w->nsubs; i++)
        if (strcmp(w->subs[i]->name, name) == 0) return w->subs[i];
    return NULL;
}

static void expect_true(World *w, const Step *st)
{
    char src[400];
    source_of(w, st->u.expect_true, src, sizeof src);
    const char *iccid = w->step_iccid[0] ? w->step_iccid : w->nsims == 1 ? w->sims[0] : NULL;
    if (!iccid) return fail(w, st->span, "expected %s, but the test has no SIM", src);
    DiagSink diags;
    diag_init(&diags, &w->project->sources);
    CgArtifact compiled;
    Artifact *art = NULL;
    VmProgram *program = NULL;
    VmRun *run = NULL;
    char err[512] = "";
    Arena arena;
    arena_init(&arena, 0);
    if (cg_test_expr(&w->project->prog, st->u.expect_true, &diags, &compiled) != 0) {
        diag_print(&diags, stderr);
        fail(w, st->span, "the expectation cannot be compiled");
        goto done;
    }
    if (art_load(compiled.bytes, compiled.len, &art, err, sizeof err) != 0) {
        art = NULL;
        fail(w, st->span, "the expectation does not verify: %s", err);
        goto done;
    }
    const Artifact *subs[64];
    size_t nsubs = 0;
    for (uint32_t i = 0; i < art->nimports && nsubs < 64; i++) {
        const Artifact *sub = find_sub(w, art->imports[i].name);
        if (sub) subs[nsubs++] = sub;
    }
    program = vm_program_new(art, subs, nsubs, err, sizeof err);
    run = program ? vm_run_new(program, NULL) : NULL;
    if (!run) {
        fail(w, st->span, "the expectation cannot be linked: %s", err);
        goto done;
    }
    SimRec *sim;
    if (sims_get(eng_sims(w->engine), iccid, &sim, err, sizeof err) != 0) {
        fail(w, st->span, "expected %s, but there is no SIM %s", src, iccid);
        goto done;
    }
    Value *inputs = arena_alloc(&arena, (art->ninputs ? art->ninputs : 1) * sizeof(Value));
    for (uint32_t i = 0; inputs && i < art->ninputs; i++)
        if (!input_value(w, art->inputs[i].name, &inputs[i])) inputs[i] = val_nil();
    const CatEvent *ev = cat_event_find(art->event, strlen(art->event));
    Value *fields = arena_alloc(&arena, (size_t)(EVF_PAYLOAD + ev->nfields) * sizeof(Value));
    const VStr *empty = json_str(&arena, "", 0);
    for (int i = 0; fields && i < EVF_PAYLOAD + ev->nfields; i++) fields[i] = val_str(empty);
    fields[EVF_ICCID] = sim->f[SIM_ICCID];
    fields[EVF_TIME] = val_integral(VAL_TIME, w->clock);
    VmEnv env = { .event = fields, .nevent = (uint32_t)(EVF_PAYLOAD + ev->nfields), .sim = sim->f,
                  .inputs = inputs, .ninputs = art->ninputs };
    env.ctx[CTX_NOW] = val_integral(VAL_TIME, w->clock);
    env.ctx[CTX_FLOW_NAME] = val_str(json_str(&arena, "expect", 6));
    env.ctx[CTX_FLOW_VERSION] = val_integral(VAL_INT, 0);
    env.ctx[CTX_RUN_ID] = val_str(empty);
    RecHost rec;
    rec_init(&rec);
    Value result;
    if (vm_call(run, art->fn_when, NULL, 0, &env, &rec.host, &result) != VM_DONE)
        fail(w, st->span, "expected %s, but it failed: %s", src, vm_error(run)->message);
    else if (!(result.tag == VAL_BOOL && result.as.b)) {
        char *doc = sims_doc(sim->f);
        fail(w, st->span, "expected %s, but it is false (SIM %s is %s)", src, iccid, doc ? doc : "?");
        free(doc);
    }
    rec_free(&rec);
done:
    vm_run_free(run);
    vm_program_free(program);
    if (art) art_free(art);
    free(compiled.name);
    free(compiled.bytes);
    diag_free(&diags);
    arena_free(&arena);
}

/* ============================================================ running */

static void run_test(World *w, Decl *test)
{
    w->test_name = test->name.text;
    w->failures = 0;
    w->nsims = w->nsets = w->events = 0;
    w->step_iccid[0] = '\0';
    w->last = NULL;
    w->mark_action = 0;
    if (!open_world(w)) {
        w->failures++;
        printf("FAIL - %s\n", w->test_name);
        close_world(w);
        return;
    }
    cJSON *actions = NULL;
    for (int i = 0; i < test->u.test.nsteps; i++) {
        const Step *st = &test->u.test.steps[i];
        bool expect = st->kind == T_EXPECT_ACTION || st->kind == T_EXPECT_TRUE || st->kind == T_EXPECT_NOTHING;
        if (!expect) {
            cJSON_Delete(actions);
            actions = NULL;
            w->last = st;
            w->mark_action = max_id(w, "SELECT coalesce(max(id), 0) FROM actions");
            uint64_t failed_before = eng_stats(w->engine)->failed;
            if (st->kind != T_EVENT) w->step_iccid[0] = '\0';
            switch (st->kind) {
            case T_SIM: step_sim(w, st); break;
            case T_SET: step_set(w, st); break;
            case T_EVENT: step_event(w, st); break;
            case T_ADVANCE: {
                Value v;
                if (!value_of(w, st->u.advance, &v)) fail(w, st->span, "the duration is not known when compiling");
                else tick(w, st, w->clock + v.as.i);
                break;
            }
            default: break;
            }
            check_failures(w, st, failed_before);
            continue;
        }
        if (!actions) actions = step_actions(w);
        if (st->kind == T_EXPECT_NOTHING) {
            if (cJSON_GetArraySize(actions) > 0) {
                char got[4096];
                happened(actions, got, sizeof got);
                fail(w, st->span, "expected nothing, but %s", got);
            }
        } else if (st->kind == T_EXPECT_ACTION) {
            expect_action(w, st, actions);
        } else {
            expect_true(w, st);
        }
    }
    cJSON_Delete(actions);
    if (w->failures == 0) printf("ok - %s\n", w->test_name);
    close_world(w);
}

int cmd_test(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: flowc test PATH...\n");
        return 2;
    }
    for (int i = 0; i < argc; i++)
        if (argv[i][0] == '-') {
            fprintf(stderr, "usage: flowc test PATH...\n");
            return 2;
        }
    Project project;
    World w;
    memset(&w, 0, sizeof w);
    w.project = &project;
    int status = 1;
    int errors = project_load(&project, argv, argc);
    diag_print(&project.diags, stderr);
    if (errors == 0 && cg_program(&project.prog, &project.diags, &w.artifacts, &w.nartifacts) != 0)
        diag_print(&project.diags, stderr);
    else if (errors == 0) {
        w.subs = calloc((size_t)(w.nartifacts ? w.nartifacts : 1), sizeof *w.subs);
        for (int i = 0; w.subs && i < w.nartifacts; i++) {
            char err[256];
            Artifact *art;
            if (w.artifacts[i].is_sub && art_load(w.artifacts[i].bytes, w.artifacts[i].len, &art, err, sizeof err) == 0)
                w.subs[w.nsubs++] = art;
        }
        int passed = 0, failed = 0;
        for (int i = 0; i < project.prog.ndecls; i++) {
            Decl *d = project.prog.decls[i];
            if (d->kind != D_TEST) continue;
            run_test(&w, d);
            if (w.failures) failed++;
            else passed++;
        }
        printf("%d passed, %d failed\n", passed, failed);
        status = failed ? 1 : 0;
        for (int i = 0; i < w.nsubs; i++) art_free(w.subs[i]);
        free(w.subs);
    }
    cg_free(w.artifacts, w.nartifacts);
    project_free(&project);
    return status;
}
