/*
 * commands.c - `flowc build`, `flowc dis` and `flowc run`.
 *
 * `run` is the "Test" button: one run of one flow against a SIM and an event
 * given as JSON, through the verifying loader and the VM, with recording
 * host functions.  It prints what the run would do and sends nothing.
 */
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../runtime/json.h"
#include "../runtime/record.h"
#include "../runtime/scope.h"
#include "../stdlib/format.h"
#include "../vm/vm.h"
#include "compile.h"
#include "project.h"

#define MAX_PATHS 256
#define MAX_SETS 256
#define MAX_JSON_FILE (16u * 1024u * 1024u)

/* ============================================================ helpers */

static int usage(const char *text)
{
    fprintf(stderr, "usage: %s\n", text);
    return 2;
}

/* Loads and checks a project, printing its diagnostics; false on errors. */
static bool load_checked(Project *project, char **paths, int npaths)
{
    int errors = project_load(project, paths, npaths);
    diag_print(&project->diags, stderr);
    return errors == 0;
}

static bool compile_project(Project *project, CgArtifact **artifacts, int *count)
{
    int errors = cg_program(&project->prog, &project->diags, artifacts, count);
    if (errors) diag_print(&project->diags, stderr);
    return errors == 0;
}

static char *read_file(const char *path, size_t *len, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = malloc(max + 1);
    size_t n = data ? fread(data, 1, max + 1, f) : 0;
    fclose(f);
    if (!data) return NULL;
    if (n > max) {
        free(data);
        errno = EFBIG;
        return NULL;
    }
    data[n] = '\0';
    *len = n;
    return data;
}

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* ============================================================ build */

int cmd_build(int argc, char **argv)
{
    const char *outdir = NULL;
    char *paths[MAX_PATHS];
    int npaths = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) outdir = argv[++i];
        else if (argv[i][0] == '-') return usage("flowc build PATH... -o DIR");
        else if (npaths < MAX_PATHS) paths[npaths++] = argv[i];
    }
    if (!outdir || npaths == 0) return usage("flowc build PATH... -o DIR");
    Project project;
    CgArtifact *artifacts = NULL;
    int count = 0, status = 1;
    if (load_checked(&project, paths, npaths) && compile_project(&project, &artifacts, &count)) {
        if (mkdirs(outdir) != 0) {
            fprintf(stderr, "flowc: cannot create '%s': %s\n", outdir, strerror(errno));
        } else {
            status = 0;
            for (int i = 0; i < count && status == 0; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s.art", outdir, artifacts[i].name);
                FILE *f = fopen(path, "wb");
                if (!f || fwrite(artifacts[i].bytes, 1, artifacts[i].len, f) != artifacts[i].len) {
                    fprintf(stderr, "flowc: cannot write '%s': %s\n", path, strerror(errno));
                    status = 1;
                }
                if (f && fclose(f) != 0) status = 1;
            }
            if (status == 0) printf("wrote %d artifact%s to %s\n", count, count == 1 ? "" : "s", outdir);
        }
    }
    cg_free(artifacts, count);
    project_free(&project);
    return status;
}

/* ============================================================ dis */

int cmd_dis(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') return usage("flowc dis FILE");
    size_t len;
    char *bytes = read_file(argv[0], &len, ART_MAX_BYTES);
    if (!bytes) {
        fprintf(stderr, "flowc: cannot read '%s': %s\n", argv[0], strerror(errno));
        return 1;
    }
    Artifact *art = NULL;
    char err[256];
    int status = 0;
    if (art_load((const uint8_t *)bytes, len, &art, err, sizeof err) != 0) {
        fprintf(stderr, "flowc: %s: not a valid artifact: %s\n", argv[0], err);
        status = 1;
    } else {
        art_disassemble(art, stdout);
        art_free(art);
    }
    free(bytes);
    return status;
}

/* ============================================================ run */

typedef struct RunArgs {
    char *paths[MAX_PATHS];
    int npaths;
    const char *flow, *sim_path, *event_path, *at;
    const char *sets[MAX_SETS];
    int nsets;
} RunArgs;

static const char run_usage[] =
    "flowc run PATH... --flow NAME --sim SIM.json --event EVENT.json [--set INPUT=VALUE]... [--at TIME]";

static int parse_run_args(int argc, char **argv, RunArgs *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--flow") == 0 && next) a->flow = argv[++i];
        else if (strcmp(arg, "--sim") == 0 && next) a->sim_path = argv[++i];
        else if (strcmp(arg, "--event") == 0 && next) a->event_path = argv[++i];
        else if (strcmp(arg, "--at") == 0 && next) a->at = argv[++i];
        else if (strcmp(arg, "--set") == 0 && next) {
            if (a->nsets == MAX_SETS) return -1;
            a->sets[a->nsets++] = argv[++i];
        } else if (arg[0] == '-') return -1;
        else if (a->npaths < MAX_PATHS) a->paths[a->npaths++] = argv[i];
    }
    return a->flow && a->npaths && a->event_path ? 0 : -1;
}

static cJSON *read_json(const char *path, const char *what)
{
    size_t len;
    char *text = read_file(path, &len, MAX_JSON_FILE);
    if (!text) {
        fprintf(stderr, "flowc: cannot read %s '%s': %s\n", what, path, strerror(errno));
        return NULL;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!json) {
        size_t at = end ? (size_t)(end - text) : 0;
        fprintf(stderr, "flowc: %s '%s' is not valid JSON (near byte %zu)\n", what, path, at);
    }
    free(text);
    return json;
}

/* Input values in the order of the flow artifact's input table: --set, else
 * the default.  A --set VALUE is JSON when it parses as JSON, else a string. */
static bool resolve_inputs(const Artifact *art, const RunArgs *a, Arena *arena, Value *inputs)
{
    for (int s = 0; s < a->nsets; s++) {
        const char *eq = strchr(a->sets[s], '=');
        if (!eq) {
            fprintf(stderr, "flowc: --set takes INPUT=VALUE, not '%s'\n", a->sets[s]);
            return false;
        }
    }
    bool ok = true;
    for (uint32_t i = 0; i < art->ninputs; i++) {
        const ArtInput *in = &art->inputs[i];
        const char *given = NULL;
        size_t name_len = strlen(in->name);
        for (int s = 0; s < a->nsets; s++)
            if (strncmp(a->sets[s], in->name, name_len) == 0 && a->sets[s][name_len] == '=')
                given = a->sets[s] + name_len + 1;
        if (!given) {
            if (in->has_default) {
                inputs[i] = in->dflt;
                continue;
            }
            fprintf(stderr, "flowc: input '%s' has no default: give it with --set %s=VALUE\n", in->name, in->name);
            ok = false;
            continue;
        }
        cJSON *json = cJSON_Parse(given);
        if (!json) json = cJSON_CreateString(given);
        const Type *type = ty_parse(in->type, strlen(in->type));
        char err[256];
        if (!type || json_to_value(json, type, arena, &inputs[i], err, sizeof err) != 0) {
            fprintf(stderr, "flowc: input '%s' (%s): %s\n", in->name, in->type, type ? err : "unknown type");
            ok = false;
        }
        cJSON_Delete(json);
    }
    return ok;
}

static const Artifact *find_artifact(Artifact **loaded, int count, const char *name, bool sub)
{
    for (int i = 0; i < count; i++)
        if (loaded[i] && (loaded[i]->kind == ART_SUB) == sub && strcmp(loaded[i]->name, name) == 0) return loaded[i];
    return NULL;
}

/* A runtime error names the flow, its version, the run and the line. */
static void print_failure(const VmRun *run, const Artifact *flow)
{
    const VmError *e = vm_error(run);
    fprintf(stderr, "flowc: run test-run of flow '%s' (draft) failed", flow->name);
    if (e->line) fprintf(stderr, " at line %u", e->line);
    if (e->artifact && strcmp(e->artifact, flow->name) != 0) fprintf(stderr, " of sub '%s'", e->artifact);
    fprintf(stderr, ": %s\n", e->message);
}

/* Runs the loaded flow once: `when`, then `do` through its waits. */
static int run_once(const VmProgram *program, const Artifact *flow, VmEnv *env, Value *sim, Arena *arena,
                    RecHost *rec, cJSON *out)
{
    VmLimits limits;
    vm_limits_default(&limits);
    VmRun *run = vm_run_new(program, &limits);
    if (!run) {
        fprintf(stderr, "flowc: out of memory\n");
        return 1;
    }
    int status = 0;
    Value result = val_bool(true);
    /* the Test button runs as if deployed at the event's time */
    const CatEvent *type = cat_event_find(flow->event, strlen(flow->event));
    bool in_scope = (type && type->subject == SUBJ_SCOPE) || scope_contains(flow, sim);   /* a total: of its own scope */
    bool active = scope_active(flow, env->ctx[CTX_NOW].as.i, env->ctx[CTX_NOW].as.i);
    cJSON_AddBoolToObject(out, "in_scope", in_scope);
    cJSON_AddBoolToObject(out, "active", active);
    if (!in_scope || !active) result = val_bool(false);
    else if (flow->fn_when >= 0) {
        if (vm_call(run, flow->fn_when, NULL, 0, env, &rec->host, &result) != VM_DONE) {
            print_failure(run, flow);
            vm_run_free(run);
            return 1;
        }
    }
    bool fires = result.tag == VAL_BOOL && result.as.b;
    cJSON_AddBoolToObject(out, "fires", fires);
    if (fires) {
        VmStatus st = vm_call(run, flow->fn_do, NULL, 0, env, &rec->host, &result);
        int applied = 0;
        while (st == VM_WAITING) {
            /* what the run did so far takes effect; `sim` is read afresh after the wait */
            if (sim) applied = rec_apply_sim_ops(rec, applied, sim, arena);
            int64_t seconds = vm_wait_seconds(run);
            cJSON *wait = cJSON_CreateObject();
            cJSON_AddStringToObject(wait, "action", "wait");
            cJSON_AddNumberToObject(wait, "seconds", (double)seconds);
            cJSON_AddItemToArray(rec->actions, wait);
            applied++;
            env->ctx[CTX_NOW].as.i += seconds;
            st = vm_resume(run, env, &rec->host, &result);
        }
        if (st == VM_FAILED) {
            print_failure(run, flow);
            status = 1;
        }
    }
    vm_run_free(run);
    return status;
}

int cmd_run(int argc, char **argv)
{
    RunArgs a;
    if (parse_run_args(argc, argv, &a) != 0) return usage(run_usage);
    Project project;
    CgArtifact *artifacts = NULL;
    int count = 0, status = 1;
    Artifact **loaded = NULL;
    VmProgram *program = NULL;
    cJSON *sim_json = NULL, *event_json = NULL, *out = NULL;
    Arena arena;
    arena_init(&arena, 0);
    RecHost rec;
    rec_init(&rec);

    if (!load_checked(&project, a.paths, a.npaths) || !compile_project(&project, &artifacts, &count)) goto done;
    /* every artifact goes through the verifying loader, as on a server */
    loaded = calloc((size_t)(count ? count : 1), sizeof *loaded);
    if (!loaded) goto done;
    for (int i = 0; i < count; i++) {
        char err[256];
        if (art_load(artifacts[i].bytes, artifacts[i].len, &loaded[i], err, sizeof err) != 0) {
            fprintf(stderr, "flowc: the artifact of '%s' does not verify: %s\n", artifacts[i].name, err);
            goto done;
        }
    }
    const Artifact *flow = find_artifact(loaded, count, a.flow, false);
    if (!flow) {
        fprintf(stderr, "flowc: no flow named '%s' in the project\n", a.flow);
        goto done;
    }
    const Artifact **subs = calloc((size_t)(count ? count : 1), sizeof *subs);
    int nsubs = 0;
    for (int i = 0; subs && i < count; i++)
        if (loaded[i]->kind == ART_SUB) subs[nsubs++] = loaded[i];
    char err[512];
    program = subs ? vm_program_new(flow, subs, (size_t)nsubs, err, sizeof err) : NULL;
    free(subs);
    if (!program) {
        fprintf(stderr, "flowc: cannot link '%s': %s\n", a.flow, err);
        goto done;
    }

    const CatEvent *ev = cat_event_find(flow->event, strlen(flow->event));
    if (!ev) goto done;
    Value sim[SIM_NFIELDS];
    bool has_sim = ev->subject == SUBJ_SIM;
    if (has_sim) {
        if (!a.sim_path) {
            fprintf(stderr, "flowc: flow '%s' runs on %s, which is about a SIM: give it with --sim SIM.json\n",
                    a.flow, ev->name);
            goto done;
        }
        if (!(sim_json = read_json(a.sim_path, "the SIM"))) goto done;
        if (json_to_sim(sim_json, &arena, sim, err, sizeof err) != 0) {
            fprintf(stderr, "flowc: %s: %s\n", a.sim_path, err);
            goto done;
        }
    }
    if (!(event_json = read_json(a.event_path, "the event"))) goto done;
    int64_t time = 1767225600;   /* 2026-01-01T00:00:00Z, as in flowc test */
    const cJSON *time_json = cJSON_GetObjectItemCaseSensitive(event_json, "time");
    const char *time_text = a.at ? a.at : cJSON_IsString(time_json) ? time_json->valuestring : NULL;
    if (time_text && !fmt_parse_time(time_text, strlen(time_text), &time)) {
        fprintf(stderr, "flowc: '%s' is not an RFC 3339 time\n", time_text);
        goto done;
    }
    Value *fields = arena_alloc(&arena, (size_t)(EVF_PAYLOAD + ev->nfields) * sizeof(Value));
    Value *inputs = arena_alloc(&arena, (flow->ninputs ? flow->ninputs : 1) * sizeof(Value));
    if (!fields || !inputs) goto done;
    if (json_to_event(event_json, ev, has_sim ? sim : NULL, time, &arena, fields, err, sizeof err) != 0) {
        fprintf(stderr, "flowc: %s: %s\n", a.event_path, err);
        goto done;
    }
    if (!resolve_inputs(flow, &a, &arena, inputs)) goto done;

    VmEnv env = { .event = fields, .nevent = (uint32_t)(EVF_PAYLOAD + ev->nfields), .sim = has_sim ? sim : NULL,
                  .inputs = inputs, .ninputs = flow->ninputs };
    env.ctx[CTX_NOW] = val_integral(VAL_TIME, time);
    env.ctx[CTX_FLOW_NAME] = val_str(json_str(&arena, flow->name, strlen(flow->name)));
    env.ctx[CTX_FLOW_VERSION] = val_integral(VAL_INT, 0);
    env.ctx[CTX_RUN_ID] = val_str(json_str(&arena, "test-run", 8));
    rec.iccid = has_sim ? sim[SIM_ICCID].as.s->data : NULL;

    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "flow", flow->name);
    cJSON_AddStringToObject(out, "event", ev->name);
    status = run_once(program, flow, &env, has_sim ? sim : NULL, &arena, &rec, out);
    cJSON_AddItemReferenceToObject(out, "actions", rec.actions);
    cJSON_AddItemReferenceToObject(out, "log", rec.log);
    char *text = cJSON_Print(out);
    if (text) puts(text);
    free(text);

done:
    cJSON_Delete(out);
    cJSON_Delete(sim_json);
    cJSON_Delete(event_json);
    rec_free(&rec);
    arena_free(&arena);
    vm_program_free(program);
    for (int i = 0; loaded && i < count; i++)
        if (loaded[i]) art_free(loaded[i]);
    free(loaded);
    cg_free(artifacts, count);
    project_free(&project);
    return status;
}
