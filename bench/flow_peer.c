/*
 * flow_peer.c - the peer workload (bench/README.md, part 2, summarised
 * in bench/README.md) through Flow: the 50 flows are written as Flow source,
 * compiled by the project's own pipeline (parse, check, code generation),
 * loaded through the verifying loader and run by the VM.
 *
 * What is native C here, as the runtime (flowvm) does it natively: the SIMs
 * (compact records, strings and tag lists made once, from which each event
 * fills the VmEnv record the VM reads), the scope index (all, tag, package,
 * static ICCID set) and the rising-edge state per (flow, SIM).
 * What runs as bytecode: every in-scope flow's `when` condition (an event's
 * in one vm_call_batch, as the runtime's evaluate calls them), and through
 * vm_call the `do` body of every firing, whose `log` statement hands the
 * action text to the host's log callback, which the driver hashes.
 *
 * A project holds at most CHK_MAX_FLOWS flows, so the 50 flows are compiled
 * as three projects of at most 20.  Set-up is not timed; only the
 * 2,000,000-event loop is.  Prints one line
 *
 *   peer=flow events=2000000 seconds=.. events_per_s=.. fires=.. hash=.. len=..
 *
 * and exits 1 when the checksum differs from the workload's, 2 when set-up
 * fails.  `flow_peer --source` prints the generated Flow source instead;
 * `flow_peer --events N` runs the first N events only (for profiling under
 * callgrind; the checksum is then not checked).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang/ast.h"
#include "lang/check.h"
#include "lang/compile.h"
#include "lang/diag.h"
#include "lang/parse.h"
#include "lang/source.h"
#include "vm/artifact.h"
#include "vm/vm.h"

/* ============================================================ workload */

#define NSIMS 100000
#define NFLOWS 50
#define NEVENTS 2000000
#define NSTATIC 1000
#define NTAGS 20
#define NPACKAGES 10
#define FLOWS_PER_PROJECT 20        /* CHK_MAX_FLOWS */
#define EVENT_TIME0 1798761600      /* 2027-01-01T00:00:00Z; one event a second */

#define EXPECT_FIRES 43176u
#define EXPECT_HASH 1175160724u
#define EXPECT_LEN 1760021u

static uint32_t rng_state = 2463534242u;

static inline uint32_t rnd(void)
{
    uint32_t s = rng_state;
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    rng_state = s;
    return s;
}

static void fail_setup(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail_setup(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("flow_peer: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) fail_setup("out of memory");
    return p;
}

static int luhn_digit(const char *digits, int n)
{
    int sum = 0, dbl = 1;
    for (int k = n - 1; k >= 0; k--) {
        int d = digits[k] - '0';
        if (dbl) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        dbl = !dbl;
    }
    return (10 - sum % 10) % 10;
}

static void make_iccid(uint32_t i, char out[21])
{
    snprintf(out, 21, "8944100030%09u", i);
    out[19] = (char)('0' + luhn_digit(out, 19));
    out[20] = '\0';
}

/* ============================================================ values */

/* Strings and lists the embedder owns (never freed: they live as long as
 * the process). */
static const VStr *make_str(const char *text)
{
    size_t len = strlen(text);
    VStr *s = xcalloc(1, sizeof(VStr) + len + 1);
    s->len = (uint32_t)len;
    memcpy(s->data, text, len + 1);
    return s;
}

static const VList *make_list(const Value *items, uint32_t n)
{
    VList *l = xcalloc(1, sizeof(VList) + n * sizeof(Value));
    l->len = n;
    l->depth = 1;
    memcpy(l->items, items, n * sizeof(Value));
    return l;
}

/* ============================================================ SIMs */

/* A SIM as the driver keeps it, compact as the plain-C peer's arrays (48
 * bytes, so that an event's SIM is one or two cache lines): what the VM's
 * record of it needs, the scope index's and the trigger state.  The tags
 * list is shared by every SIM with the same tags (made once per set), and
 * the ICCID strings sit in one block (iccid_str). */
typedef struct Sim {
    int64_t used, quota;
    uint64_t static_flows;       /* bit f: the SIM is in flow f's static ICCID set */
    uint64_t edge;               /* bit f: flow f's condition at its previous in-scope evaluation */
    const VList *tags;           /* sim.tags */
    uint32_t tag_mask;           /* bit t: tag "T<t>" */
    uint8_t package;
    bool active;
} Sim;

#define ICCID_SLOT 32            /* bytes per ICCID string: a VStr of 20 characters and its NUL */

static Sim *sims;
static unsigned char *iccid_block;
static const VStr *tag_names[NTAGS], *package_names[NPACKAGES];
static const VStr *str_active, *str_suspended;

static inline const VStr *iccid_str(uint32_t i) { return (const VStr *)(iccid_block + (size_t)i * ICCID_SLOT); }

/* The list of the tags of `mask`, made once per mask. */
static const VList *tags_list(uint32_t mask)
{
    static struct { uint32_t mask; const VList *list; } table[4096];
    uint32_t h = (mask * 2654435761u) >> 20;
    while (table[h].list && table[h].mask != mask) h = (h + 1) & 4095;
    if (!table[h].list) {
        Value tags[NTAGS];
        uint32_t n = 0;
        for (int t = 0; t < NTAGS; t++)
            if (mask & (1u << t)) tags[n++] = val_str(tag_names[t]);
        table[h].mask = mask;
        table[h].list = make_list(tags, n);
    }
    return table[h].list;
}

/* The VM's record of a SIM (SIM_NFIELDS values): the fields no SIM of the
 * workload sets are filled once, the others per event from the Sim. */
static Value sim_record[SIM_NFIELDS];

static void setup_sims(void)
{
    char name[16];
    for (int t = 0; t < NTAGS; t++) snprintf(name, sizeof name, "T%d", t), tag_names[t] = make_str(name);
    for (int p = 0; p < NPACKAGES; p++) snprintf(name, sizeof name, "P%d", p), package_names[p] = make_str(name);
    str_active = make_str("active");
    str_suspended = make_str("suspended");
    const VStr *empty = make_str("");
    Value *f = sim_record;
    for (int k = 0; k < SIM_NFIELDS; k++) f[k] = val_str(empty);
    f[SIM_TYPE] = val_str(make_str("subscription"));
    f[SIM_DAYS_LEFT] = val_integral(VAL_INT, 30);
    f[SIM_EXPIRES] = val_integral(VAL_TIME, EVENT_TIME0 + 365 * 86400);
    f[SIM_IN_SESSION] = val_str(make_str("n/a"));

    sims = xcalloc(NSIMS, sizeof *sims);
    iccid_block = xcalloc(NSIMS, ICCID_SLOT);
    for (uint32_t i = 0; i < NSIMS; i++) {
        Sim *s = &sims[i];
        VStr *iccid = (VStr *)(iccid_block + (size_t)i * ICCID_SLOT);
        make_iccid(i, iccid->data);
        iccid->len = 20;
        s->quota = (int64_t)(1 + rnd() % 5) * 1000000000;
        uint32_t ntags = 1 + rnd() % 3, mask = 0;
        for (uint32_t k = 0; k < ntags; k++) mask |= 1u << (rnd() % NTAGS);
        s->tag_mask = mask;
        s->tags = tags_list(mask);
        s->package = (uint8_t)(rnd() % NPACKAGES);
        s->active = (rnd() % 100) < 95;
    }
}

/* ============================================================ source */

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) fail_setup("cannot format the source");
        if (b->data && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) fail_setup("out of memory");
        b->data = grown;
        b->cap = cap;
    }
}

/* Flow f of the workload, as Flow source. */
static void write_flow(Buf *b, int f)
{
    buf_printf(b, "flow f%02d {\n  on data.usage\n", f);
    switch (f % 4) {
    case 0: buf_printf(b, "  scope all\n"); break;
    case 1: buf_printf(b, "  scope tags [\"T%d\"]\n", f % 20); break;
    case 2: buf_printf(b, "  scope package \"P%d\"\n", f % 10); break;
    default:
        buf_printf(b, "  scope iccids [");
        for (uint32_t k = 0; k < NSTATIC; k++) {
            char iccid[21];
            make_iccid(((uint32_t)f * 7919u + k * 97u) % NSIMS, iccid);
            buf_printf(b, "%s\"%s\"", k ? (k % 4 ? ", " : ",\n    ") : "\n    ", iccid);
        }
        buf_printf(b, "\n  ]\n");
        break;
    }
    buf_printf(b, "  when event.used >= %d%% of sim.quota and ", 50 + (f % 5) * 10);
    if (f % 2 == 0) buf_printf(b, "sim.status == \"active\"\n");
    else buf_printf(b, "\"T%d\" in sim.tags\n", (f + 3) % 20);
    buf_printf(b, "  do { log \"SIM ${sim.iccid} at ${floor(event.used * 100 / sim.quota)}%% (flow %d)\" }\n}\n\n",
               f);
}

/* The source of flows first .. first+count-1, one project. */
static void write_project(Buf *b, int first, int count)
{
    b->len = 0;
    buf_printf(b, "// The peer workload's flows %d to %d (bench/flow_peer.c).\n\n", first, first + count - 1);
    for (int f = first; f < first + count; f++) write_flow(b, f);
}

/* ============================================================ compile */

typedef struct FlowRt {
    Artifact *art;
    VmProgram *program;
    VmRun *run;
    Value name;                  /* flow.name */
} FlowRt;

static FlowRt flows[NFLOWS];
static VmBatchItem conditions[NFLOWS];   /* flow f's `when`, on its run */

/* The scope index, as the runtime keeps it: bit f of a mask is flow f.  The
 * flows a SIM's event reaches are all_flows | tag_flows[each of its tags] |
 * package_flows[its package] | its static_flows. */
static uint64_t all_flows, tag_flows[NTAGS], package_flows[NPACKAGES];

static int compare_iccid(const void *a, const void *b)
{
    return strcmp(iccid_str(*(const uint32_t *)a)->data, iccid_str(*(const uint32_t *)b)->data);
}

static uint32_t *iccid_order;    /* SIM indices sorted by ICCID */

static int64_t find_sim(const char *iccid)
{
    size_t lo = 0, hi = NSIMS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(iccid_str(iccid_order[mid])->data, iccid);
        if (c == 0) return iccid_order[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Enters flow f into the scope index, from its artifact's metadata. */
static void index_scope(int f, const Artifact *art)
{
    uint64_t bit = (uint64_t)1 << f;
    switch (art->scope) {
    case ART_SCOPE_ALL: all_flows |= bit; break;
    case ART_SCOPE_TAGS:
        for (uint32_t i = 0; i < art->nscope_items; i++)
            for (int t = 0; t < NTAGS; t++)
                if (strcmp(art->scope_items[i], tag_names[t]->data) == 0) tag_flows[t] |= bit;
        break;
    case ART_SCOPE_PACKAGE:
        for (int p = 0; p < NPACKAGES; p++)
            if (strcmp(art->scope_items[0], package_names[p]->data) == 0) package_flows[p] |= bit;
        break;
    case ART_SCOPE_ICCIDS:
        for (uint32_t i = 0; i < art->nscope_items; i++) {
            int64_t si = find_sim(art->scope_items[i]);
            if (si >= 0) sims[si].static_flows |= bit;
        }
        break;
    default: fail_setup("flow %s: a scope this workload does not use", art->name);
    }
}

/* Compiles one project of flows with the project's pipeline and loads each
 * artifact through the verifier into a program and a run of its own. */
static void compile_project(int first, int count, Buf *source)
{
    write_project(source, first, count);
    SourceSet sources;
    Program prog;
    DiagSink diags;
    src_init(&sources);
    ast_program_init(&prog, &sources);
    diag_init(&diags, &sources);
    char path[32];
    snprintf(path, sizeof path, "peer_%02d.flow", first);
    int file = src_add_text(&sources, path, source->data, source->len);
    if (file < 0) fail_setup("cannot add the source");
    parse_file(&prog, &diags, (uint32_t)file);
    if (diags.errors == 0) chk_program(&prog, &diags);
    CgArtifact *artifacts = NULL;
    int nartifacts = 0;
    if (diags.errors == 0) cg_program(&prog, &diags, &artifacts, &nartifacts);
    if (diags.errors != 0) {
        diag_print(&diags, stderr);
        fail_setup("the generated source of flows %d..%d does not compile", first, first + count - 1);
    }
    if (nartifacts != count) fail_setup("%d artifacts for %d flows", nartifacts, count);

    for (int i = 0; i < nartifacts; i++) {
        FlowRt *fl = &flows[first + i];
        char err[256];
        if (art_load(artifacts[i].bytes, artifacts[i].len, &fl->art, err, sizeof err) != 0)
            fail_setup("artifact %s refused by the loader: %s", artifacts[i].name, err);
        if (fl->art->kind != ART_FLOW || fl->art->fn_when < 0 || fl->art->fn_do < 0)
            fail_setup("artifact %s: not a flow with a condition", fl->art->name);
        char want[8];
        snprintf(want, sizeof want, "f%02d", first + i);
        if (strcmp(fl->art->name, want) != 0) fail_setup("artifact %s where %s was expected", fl->art->name, want);
        fl->program = vm_program_new(fl->art, NULL, 0, err, sizeof err);
        if (!fl->program) fail_setup("cannot link %s: %s", fl->art->name, err);
        fl->run = vm_run_new(fl->program, NULL);
        if (!fl->run) fail_setup("out of memory");
        fl->name = val_str(make_str(fl->art->name));
        conditions[first + i] = (VmBatchItem){ .run = fl->run, .fn = fl->art->fn_when, .flow_name = fl->name,
                                               .flow_version = val_integral(VAL_INT, 1) };
        index_scope(first + i, fl->art);
    }
    cg_free(artifacts, nartifacts);
    diag_free(&diags);
    ast_program_free(&prog);
    src_free(&sources);
}

/* ============================================================ host */

typedef struct Checksum {
    uint64_t fires, hash, len;
} Checksum;

static void host_log(void *ctx, const char *text, size_t len, uint32_t line)
{
    Checksum *sum = ctx;
    uint64_t h = sum->hash;
    for (size_t k = 0; k < len; k++) h = (h * 31 + (unsigned char)text[k]) % 2147483647u;
    sum->hash = h;
    sum->len += len;
    sum->fires++;
}

static int host_action(void *ctx, ActionKind action, const Value *args, int nargs, uint32_t line, char *message,
                       size_t message_size)
{
    snprintf(message, message_size, "the benchmark's flows take no actions");
    return -1;
}

/* ============================================================ main */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The flows whose scope holds the SIM, by the scope index. */
static inline uint64_t flows_in_scope(const Sim *s)
{
    uint64_t mask = all_flows | package_flows[s->package] | s->static_flows;
    for (uint32_t tags = s->tag_mask; tags; tags &= tags - 1) mask |= tag_flows[__builtin_ctz(tags)];
    return mask;
}

static void fail_run(const FlowRt *fl, const char *what)
{
    const VmError *e = vm_error(fl->run);
    fprintf(stderr, "flow_peer: %s of %s failed: %s (line %u)\n", what, fl->art->name, e->message, e->line);
    exit(2);
}

int main(int argc, char **argv)
{
    Buf source = { 0 };
    if (argc == 2 && strcmp(argv[1], "--source") == 0) {
        for (int first = 0; first < NFLOWS; first += FLOWS_PER_PROJECT) {
            int count = NFLOWS - first < FLOWS_PER_PROJECT ? NFLOWS - first : FLOWS_PER_PROJECT;
            write_project(&source, first, count);
            fwrite(source.data, 1, source.len, stdout);
        }
        return 0;
    }
    uint32_t nevents = NEVENTS;
    if (argc == 3 && strcmp(argv[1], "--events") == 0) {
        char *end;
        unsigned long n = strtoul(argv[2], &end, 10);
        if (*end || n == 0 || n > NEVENTS) {
            fprintf(stderr, "flow_peer: --events takes 1 to %d\n", NEVENTS);
            return 2;
        }
        nevents = (uint32_t)n;
    } else if (argc != 1) {
        fprintf(stderr, "usage: flow_peer [--source | --events N]\n");
        return 2;
    }

    setup_sims();
    iccid_order = xcalloc(NSIMS, sizeof *iccid_order);
    for (uint32_t i = 0; i < NSIMS; i++) iccid_order[i] = i;
    qsort(iccid_order, NSIMS, sizeof *iccid_order, compare_iccid);
    for (int first = 0; first < NFLOWS; first += FLOWS_PER_PROJECT)
        compile_project(first, NFLOWS - first < FLOWS_PER_PROJECT ? NFLOWS - first : FLOWS_PER_PROJECT, &source);
    free(source.data);

    Checksum sum = { 0 };
    VmHost host = { &sum, host_action, host_log };
    Value event[EVF_PAYLOAD + 3];   /* iccid, time, used, quota, percent */
    VmEnv env = { .event = event, .nevent = EVF_PAYLOAD + 3 };
    env.ctx[CTX_FLOW_VERSION] = val_integral(VAL_INT, 1);
    env.ctx[CTX_RUN_ID] = val_str(make_str("bench"));

    double t0 = now_s();
    for (uint32_t e = 0; e < nevents; e++) {
        uint32_t si = rnd() % NSIMS;
        Sim *s = &sims[si];
        s->used += rnd() % 50000000u;
        int64_t quota = s->quota;
        if (s->used > quota + quota / 5) s->used = 0;   /* a new billing cycle */
        int64_t used = s->used;

        /* the event as ingestion would deliver it, and the SIM's record with
         * the fields it updates */
        Value iccid = val_str(iccid_str(si));
        event[EVF_ICCID] = iccid;
        event[EVF_TIME] = val_integral(VAL_TIME, EVENT_TIME0 + (int64_t)e);
        event[EVF_PAYLOAD + 0] = val_integral(VAL_BYTES, used);
        event[EVF_PAYLOAD + 1] = val_integral(VAL_BYTES, quota);
        event[EVF_PAYLOAD + 2] = val_real(VAL_PERCENT, (double)used * 100.0 / (double)quota);
        sim_record[SIM_ICCID] = iccid;
        sim_record[SIM_STATUS] = val_str(s->active ? str_active : str_suspended);
        sim_record[SIM_PACKAGE] = val_str(package_names[s->package]);
        sim_record[SIM_TAGS] = val_list(s->tags);
        sim_record[SIM_QUOTA] = val_integral(VAL_BYTES, quota);
        sim_record[SIM_MONTH_USAGE] = val_integral(VAL_BYTES, used);
        sim_record[SIM_DATA_LEFT] = val_integral(VAL_BYTES, quota - used);
        env.sim = sim_record;
        env.ctx[CTX_NOW] = event[EVF_TIME];

        /* the in-scope flows' conditions, in one batch (flows in order: the
         * lowest bit first); conditions take no action, so the `do` bodies
         * of the rising edges then run in the same order as if each ran
         * right after its condition */
        uint64_t scope = flows_in_scope(s), failed;
        uint64_t now_true = vm_call_batch(conditions, scope, &env, &host, &failed);
        if (failed) fail_run(&flows[__builtin_ctzll(failed)], "when");
        uint64_t edge = s->edge;
        s->edge = (edge & ~scope) | now_true;
        for (uint64_t rising = now_true & ~edge; rising; rising &= rising - 1) {
            FlowRt *fl = &flows[__builtin_ctzll(rising)];
            env.ctx[CTX_FLOW_NAME] = fl->name;
            if (vm_call(fl->run, fl->art->fn_do, NULL, 0, &env, &host, NULL) != VM_DONE) fail_run(fl, "do");
        }
    }
    double secs = now_s() - t0;

    printf("peer=flow events=%u seconds=%.3f events_per_s=%.0f fires=%llu hash=%llu len=%llu\n", nevents, secs,
           nevents / secs, (unsigned long long)sum.fires, (unsigned long long)sum.hash,
           (unsigned long long)sum.len);
    for (int f = 0; f < NFLOWS; f++) {
        vm_run_free(flows[f].run);
        vm_program_free(flows[f].program);
        art_free(flows[f].art);
    }
    if (nevents != NEVENTS) return 0;
    bool ok = sum.fires == EXPECT_FIRES && sum.hash == EXPECT_HASH && sum.len == EXPECT_LEN;
    if (!ok)
        fprintf(stderr, "flow_peer: checksum mismatch: want fires=%u hash=%u len=%u\n", EXPECT_FIRES, EXPECT_HASH,
                EXPECT_LEN);
    return ok ? 0 : 1;
}
