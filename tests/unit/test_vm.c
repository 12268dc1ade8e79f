/*
 * test_vm.c - the interpreter: every opcode's semantics with unit tags and
 * errors, the limits, actions and logs, errors' locations, wait with
 * save/restore (also in another process), and the speed of a small call.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../stdlib/builtins.h"
#include "../../stdlib/format.h"
#include "art_builder.h"
#include "testing.h"

/* ------------------------------------------------------------- the world */

static Arena world;
static Value event_values[5], sim_values[SIM_NFIELDS], input_values[2];
static VmEnv env;

static Value wstr(const char *text)
{
    size_t n = strlen(text);
    VStr *s = arena_alloc(&world, sizeof(VStr) + n + 1);
    s->len = (uint32_t)n;
    memcpy(s->data, text, n + 1);
    return val_str(s);
}

static void world_init(void)
{
    arena_init(&world, 0);
    event_values[EVF_ICCID] = wstr("89441000300000000012");
    event_values[EVF_TIME] = val_integral(VAL_TIME, 1796464800);   /* 2026-12-05T10:00:00Z */
    event_values[EVF_PAYLOAD + 0] = val_integral(VAL_BYTES, 800000000);
    event_values[EVF_PAYLOAD + 1] = val_integral(VAL_BYTES, 1000000000);
    event_values[EVF_PAYLOAD + 2] = val_real(VAL_PERCENT, 80);
    for (int i = 0; i < SIM_NFIELDS; i++) sim_values[i] = wstr("");
    sim_values[SIM_STATUS] = wstr("active");
    sim_values[SIM_QUOTA] = val_integral(VAL_BYTES, 1000000000);
    VList *tags = arena_alloc(&world, sizeof(VList) + 2 * sizeof(Value));
    tags->len = 2;
    tags->items[0] = wstr("T1");
    tags->items[1] = wstr("T2");
    sim_values[SIM_TAGS] = val_list(tags);
    VList *noc = arena_alloc(&world, sizeof(VList) + sizeof(Value));
    noc->len = 1;
    noc->items[0] = wstr("noc@acme.example");
    input_values[0] = val_list(noc);
    input_values[1] = val_real(VAL_PERCENT, 80);
    env.event = event_values;
    env.nevent = 5;
    env.sim = sim_values;
    env.inputs = input_values;
    env.ninputs = 2;
    env.ctx[CTX_NOW] = val_integral(VAL_TIME, 1796464800);
    env.ctx[CTX_FLOW_NAME] = wstr("usage_alert");
    env.ctx[CTX_FLOW_VERSION] = val_integral(VAL_INT, 3);
    env.ctx[CTX_RUN_ID] = wstr("run-1");
}

/* ------------------------------------------------------------------ host */

typedef struct Recorded {
    char text[4096];
    int nactions, nlogs;
    uint32_t last_line;
    bool refuse;
} Recorded;

static int record_action(void *ctx, ActionKind action, const Value *args, int nargs, uint32_t line,
                         char *message, size_t message_size)
{
    Recorded *rec = ctx;
    if (rec->refuse) {
        snprintf(message, message_size, "the operator said no");
        return -1;
    }
    FmtBuf fb;
    fmt_init(&fb);
    fmt_append(&fb, cat_action_names[action], strlen(cat_action_names[action]));
    for (int i = 0; i < nargs; i++) {
        fmt_append(&fb, i ? "|" : "(", 1);
        if (args[i].tag == VAL_NIL) fmt_append(&fb, "-", 1);
        else fmt_value(&fb, &args[i]);
    }
    if (nargs) fmt_append(&fb, ")", 1);
    size_t used = strlen(rec->text);
    snprintf(rec->text + used, sizeof rec->text - used, "%s;", fb.data);
    fmt_free(&fb);
    rec->nactions++;
    rec->last_line = line;
    return 0;
}

static void record_log(void *ctx, const char *text, size_t len, uint32_t line)
{
    Recorded *rec = ctx;
    size_t used = strlen(rec->text);
    snprintf(rec->text + used, sizeof rec->text - used, "log:%.*s;", (int)len, text);
    rec->nlogs++;
    rec->last_line = line;
}

static Recorded recorded;
static VmHost host = { &recorded, record_action, record_log };

/* ---------------------------------------------------------------- runner */

static const char *const code_names[] = { "none", "budget", "memory", "depth", "div_zero", "overflow",
                                          "index", "type", "builtin", "host", "state" };

/* Runs function 0 of the builder's artifact; returns "tag:text" of the
 * result, or "error:code:message" (static buffer). */
static const char *run_with(Builder *b, const VmLimits *limits, VmError *error_out)
{
    static char out[512];
    static const char *const tags[] = { "nil", "bool", "int", "bytes", "duration", "time", "float",
                                        "percent", "string", "list", "record" };
    char err[256] = "";
    Prog p;
    memset(&recorded, 0, sizeof recorded);
    if (!prog_open(&p, b, limits, err, sizeof err)) {
        snprintf(out, sizeof out, "load:%s", err);
        prog_close(&p);
        return out;
    }
    Value result;
    VmStatus st = vm_call(p.run, 0, NULL, 0, &env, &host, &result);
    if (st == VM_DONE) {
        FmtBuf fb;
        fmt_init(&fb);
        fmt_value(&fb, &result);
        snprintf(out, sizeof out, "%s:%s", tags[result.tag], fb.data ? fb.data : "");
        fmt_free(&fb);
    } else if (st == VM_WAITING) {
        snprintf(out, sizeof out, "waiting:%lld", (long long)vm_wait_seconds(p.run));
    } else {
        const VmError *e = vm_error(p.run);
        snprintf(out, sizeof out, "error:%s:%s", code_names[e->code], e->message);
        if (error_out) {
            /* the names live in the artifact, freed below */
            static char artifact[64], function[64];
            *error_out = *e;
            snprintf(artifact, sizeof artifact, "%s", e->artifact ? e->artifact : "");
            snprintf(function, sizeof function, "%s", e->function ? e->function : "");
            error_out->artifact = artifact;
            error_out->function = function;
        }
    }
    prog_close(&p);
    return out;
}

static const char *run_b(Builder *b) { return run_with(b, NULL, NULL); }

/* R2 = R0 op R1 with R0 = x, R1 = y */
static const char *binop(Opcode op, Value x, Value y)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, x));
    ABX(LOADK, 1, b_const(b, y));
    b_emit(b, INS_ABC(op, 2, 0, 1));
    ABC(RET, 2, 1, 0);
    const char *r = run_b(b);
    b_free(b);
    return r;
}

static const char *unop(Opcode op, Value x)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 2);
    ABX(LOADK, 0, b_const(b, x));
    b_emit(b, INS_ABC(op, 1, 0, 0));
    ABC(RET, 1, 1, 0);
    const char *r = run_b(b);
    b_free(b);
    return r;
}

#define I(n) val_integral(VAL_INT, n)
#define BY(n) val_integral(VAL_BYTES, n)
#define DU(n) val_integral(VAL_DURATION, n)
#define TM(n) val_integral(VAL_TIME, n)
#define FL(x) val_real(VAL_FLOAT, x)
#define PC(x) val_real(VAL_PERCENT, x)

static Arena scratch;

static Value sstr(const char *text)
{
    size_t n = strlen(text);
    VStr *s = arena_alloc(&scratch, sizeof(VStr) + n + 1);
    s->len = (uint32_t)n;
    memcpy(s->data, text, n + 1);
    return val_str(s);
}

/* 2 < 1, a JMPF on it over a LOADK to a RET of register `ret` (2: the
 * compare's, which the pair returns from itself; another: not fused) */
static Builder *lt_jmpf_ret(uint32_t ret)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, I(2)));
    ABX(LOADK, 1, b_const(b, I(1)));
    ABC(LT, 2, 0, 1);
    ASBX(JMPF, 2, 2);
    ABX(LOADK, 2, b_const(b, sstr("through")));
    ABC(RET, 2, 1, 0);
    ABC(RET, ret, 1, 0);
    return b;
}

static Value slist(int n, const Value *items)
{
    VList *l = arena_alloc(&scratch, sizeof(VList) + (size_t)n * sizeof(Value));
    l->len = (uint32_t)n;
    memcpy(l->items, items, (size_t)n * sizeof(Value));
    return val_list(l);
}

/* ------------------------------------------------------------ arithmetic */

static void test_integer_arithmetic(void)
{
    CHECK_STR(binop(OP_ADDI, I(2), I(3)), "int:5");
    CHECK_STR(binop(OP_ADDI, BY(500000000), BY(300000000)), "bytes:800 MB");
    CHECK_STR(binop(OP_ADDI, TM(1796464800), DU(86400)), "time:2026-12-06T10:00:00Z");
    CHECK_STR(binop(OP_ADDI, DU(3600), TM(0)), "time:1970-01-01T01:00:00Z");
    CHECK_STR(binop(OP_ADDI, DU(60), DU(30)), "duration:1m 30s");
    CHECK_STR(binop(OP_ADDI, I(1), BY(1)), "error:type:+ of int and bytes");
    CHECK_STR(binop(OP_ADDI, TM(1), TM(1)), "error:type:+ of time and time");
    CHECK_STR(binop(OP_ADDI, I(INT64_MAX), I(1)), "error:overflow:overflow in +");
    CHECK_STR(binop(OP_SUBI, TM(1796464800), TM(1796378400)), "duration:1d");
    CHECK_STR(binop(OP_SUBI, TM(86400), DU(3600)), "time:1970-01-01T23:00:00Z");
    CHECK_STR(binop(OP_SUBI, BY(1000), BY(1500)), "bytes:-500 B");
    CHECK_STR(binop(OP_SUBI, I(INT64_MIN), I(1)), "error:overflow:overflow in -");
    CHECK_STR(binop(OP_SUBI, DU(1), TM(1)), "error:type:- of duration and time");
    CHECK_STR(binop(OP_MULI, BY(1000000), I(3)), "bytes:3 MB");
    CHECK_STR(binop(OP_MULI, I(3), BY(1000000)), "bytes:3 MB");
    CHECK_STR(binop(OP_MULI, I(6), I(7)), "int:42");
    CHECK_STR(binop(OP_MULI, DU(3600), I(24)), "duration:1d");
    CHECK_STR(binop(OP_MULI, BY(2), BY(2)), "error:type:* of bytes and bytes");
    CHECK_STR(binop(OP_MULI, I(INT64_MAX / 2 + 1), I(2)), "error:overflow:overflow in *");
    CHECK_STR(binop(OP_DIVI, I(-7), I(2)), "int:-3");
    CHECK_STR(binop(OP_DIVI, BY(3000), I(3)), "bytes:1 KB");
    CHECK_STR(binop(OP_DIVI, I(1), I(0)), "error:div_zero:division by zero");
    CHECK_STR(binop(OP_DIVI, I(INT64_MIN), I(-1)), "error:overflow:overflow in /");
    CHECK_STR(binop(OP_DIVI, BY(1), BY(1)), "error:type:/ of bytes and bytes");
    CHECK_STR(binop(OP_MODI, I(-7), I(3)), "int:2");
    CHECK_STR(binop(OP_MODI, I(7), I(-3)), "int:-2");
    CHECK_STR(binop(OP_MODI, I(INT64_MIN), I(-1)), "int:0");
    CHECK_STR(binop(OP_MODI, I(7), I(0)), "error:div_zero:division by zero in mod");
    CHECK_STR(binop(OP_MODI, DU(90), DU(60)), "duration:30s");
    CHECK_STR(unop(OP_NEGI, BY(5)), "bytes:-5 B");
    CHECK_STR(unop(OP_NEGI, I(INT64_MIN)), "error:overflow:overflow in negation");
    CHECK_STR(unop(OP_NEGI, FL(1)), "error:type:negation of a float");
    CHECK_STR(unop(OP_NEGI, TM(1)), "error:type:negation of a time");
}

static void test_float_arithmetic(void)
{
    CHECK_STR(binop(OP_ADDF, FL(0.5), I(1)), "float:1.5");
    CHECK_STR(binop(OP_ADDF, PC(12.5), PC(0.5)), "percent:13%");
    CHECK_STR(binop(OP_ADDF, PC(1), FL(1)), "error:type:+ of percent and float");
    CHECK_STR(binop(OP_SUBF, I(1), FL(0.25)), "float:0.75");
    CHECK_STR(binop(OP_MULF, PC(10), I(3)), "percent:30%");
    CHECK_STR(binop(OP_MULF, FL(2), PC(10)), "percent:20%");
    CHECK_STR(binop(OP_MULF, FL(1e300), FL(1e300)), "error:overflow:overflow in *");
    CHECK_STR(binop(OP_DIVF, BY(500), BY(1000)), "float:0.5");
    CHECK_STR(binop(OP_DIVF, DU(90), DU(60)), "float:1.5");
    CHECK_STR(binop(OP_DIVF, PC(50), PC(25)), "float:2");
    CHECK_STR(binop(OP_DIVF, PC(50), I(2)), "percent:25%");
    CHECK_STR(binop(OP_DIVF, I(1), I(4)), "float:0.25");
    CHECK_STR(binop(OP_DIVF, FL(1), FL(0)), "error:div_zero:division by zero");
    CHECK_STR(binop(OP_DIVF, BY(1), I(2)), "error:type:/ of bytes and int");
    CHECK_STR(binop(OP_MODF, FL(7.5), FL(2)), "float:1.5");
    CHECK_STR(binop(OP_MODF, FL(-1), FL(3)), "float:2");
    CHECK_STR(binop(OP_MODF, FL(1), I(0)), "error:div_zero:division by zero in mod");
    CHECK_STR(unop(OP_NEGF, PC(5)), "percent:-5%");
    CHECK_STR(unop(OP_NEGF, I(5)), "error:type:negation of a int");
    CHECK_STR(binop(OP_MULR, BY(3), FL(0.5)), "bytes:2 B");
    CHECK_STR(binop(OP_MULR, BY(-3), FL(0.5)), "bytes:-2 B");
    CHECK_STR(binop(OP_MULR, DU(3600), FL(1.5)), "duration:1h 30m");
    CHECK_STR(binop(OP_MULR, BY(INT64_MAX), FL(2)), "error:overflow:overflow in *");
    CHECK_STR(binop(OP_MULR, TM(1), FL(2)), "error:type:* of time and float");
    CHECK_STR(binop(OP_DIVR, BY(1000), FL(3)), "bytes:333 B");
    CHECK_STR(binop(OP_DIVR, BY(1000), FL(0)), "error:div_zero:division by zero");
}

static void test_of(void)
{
    CHECK_STR(binop(OP_OF, PC(60), BY(1000000000)), "bytes:600 MB");
    CHECK_STR(binop(OP_OF, PC(50), I(3)), "int:2");
    CHECK_STR(binop(OP_OF, PC(50), I(-3)), "int:-2");
    CHECK_STR(binop(OP_OF, PC(-50), I(3)), "int:-2");
    CHECK_STR(binop(OP_OF, PC(12.5), I(8)), "int:1");
    CHECK_STR(binop(OP_OF, PC(-150), I(3)), "int:-5");     /* whole percents: the int64 path */
    CHECK_STR(binop(OP_OF, PC(150), I(-3)), "int:-5");
    CHECK_STR(binop(OP_OF, PC(149), I(-1)), "int:-1");
    CHECK_STR(binop(OP_OF, PC(12.5), I(-4)), "int:-1");    /* halves away from zero: the 128-bit path */
    CHECK_STR(binop(OP_OF, PC(1e9), I(10000000000)), "int:100000000000000000");
    CHECK_STR(binop(OP_OF, PC(49.9), I(1)), "int:0");
    CHECK_STR(binop(OP_OF, PC(10), DU(86400)), "duration:2h 24m");
    CHECK_STR(binop(OP_OF, PC(50), FL(3)), "float:1.5");
    CHECK_STR(binop(OP_OF, PC(50), PC(80)), "percent:40%");
    /* exact beyond doubles: 2^53 + 1 survives 100% */
    CHECK_STR(binop(OP_OF, PC(100), I(9007199254740993)), "int:9007199254740993");
    CHECK_STR(binop(OP_OF, PC(200), I(4611686018427387904)), "error:overflow:overflow in of");
    CHECK_STR(binop(OP_OF, PC(1e300), I(5)), "error:overflow:overflow in of");
    CHECK_STR(binop(OP_OF, PC(1e-300), I(5)), "int:0");
    CHECK_STR(binop(OP_OF, PC(100), I(INT64_MIN)), "int:-9223372036854775808");
    CHECK_STR(binop(OP_OF, PC(100), I(INT64_MAX)), "int:9223372036854775807");
    CHECK_STR(binop(OP_OF, FL(50), I(2)), "error:type:of of float and int");
    CHECK_STR(binop(OP_OF, PC(50), TM(2)), "error:type:of of percent and time");
}

static void test_comparisons(void)
{
    Value ab[] = { sstr("a"), sstr("b") }, ab2[] = { sstr("a"), sstr("b") };
    CHECK_STR(binop(OP_EQ, sstr("active"), sstr("active")), "bool:true");
    CHECK_STR(binop(OP_NE, sstr("active"), sstr("activ")), "bool:true");
    CHECK_STR(binop(OP_EQ, I(3), FL(3)), "bool:true");
    CHECK_STR(binop(OP_EQ, I(3), BY(3)), "bool:false");
    CHECK_STR(binop(OP_EQ, slist(2, ab), slist(2, ab2)), "bool:true");
    CHECK_STR(binop(OP_EQ, val_nil(), val_nil()), "bool:true");
    CHECK_STR(binop(OP_LT, sstr("abc"), sstr("abd")), "bool:true");
    CHECK_STR(binop(OP_LT, sstr("ab"), sstr("abc")), "bool:true");
    CHECK_STR(binop(OP_LE, BY(5), BY(5)), "bool:true");
    CHECK_STR(binop(OP_LT, BY(5), BY(5)), "bool:false");
    CHECK_STR(binop(OP_LT, I(1), FL(1.5)), "bool:true");
    CHECK_STR(binop(OP_LE, PC(80), PC(79.5)), "bool:false");
    CHECK_STR(binop(OP_LT, TM(1), TM(2)), "bool:true");
    CHECK_STR(binop(OP_LT, BY(1), I(2)), "error:type:comparison of bytes and int");
    CHECK_STR(binop(OP_LT, val_bool(false), val_bool(true)), "error:type:comparison of bool and bool");
    CHECK_STR(unop(OP_NOT, val_bool(false)), "bool:true");
    CHECK_STR(unop(OP_NOT, I(0)), "error:type:not of a int");
    CHECK_STR(binop(OP_IN, sstr("b"), slist(2, ab)), "bool:true");
    CHECK_STR(binop(OP_IN, sstr("c"), slist(2, ab)), "bool:false");
    CHECK_STR(binop(OP_IN, sstr("ell"), sstr("hello")), "bool:true");
    CHECK_STR(binop(OP_IN, sstr(""), sstr("")), "bool:true");
    CHECK_STR(binop(OP_IN, sstr("x"), sstr("hello")), "bool:false");
    CHECK_STR(binop(OP_IN, I(1), sstr("hello")), "error:type:in of int and string");
}

/* --------------------------------------------------------------- control */

static void test_loads(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 8);
    ABC(EVENT, 0, EVF_ICCID, 0);
    ABC(EVENT, 1, EVF_PAYLOAD + 0, 0);
    ABC(SIM, 2, SIM_STATUS, 0);
    ABX(INPUT, 3, 1);
    ABC(CTX, 4, CTX_FLOW_NAME, 0);
    ABC(LOADB, 5, 1, 0);
    ABC(LOADNIL, 6, 0, 0);
    ABC(CONCAT, 7, 0, 7);
    ABC(RET, 7, 1, 0);
    b->inputs[0] = (ArtInput){ "noc", "list<email>", false, { 0 } };
    b->inputs[1] = (ArtInput){ "alert_at", "percent", true, PC(80) };
    b->art.ninputs = 2;
    CHECK_STR(run_b(b), "string:89441000300000000012800 MBactive80%usage_alerttruenil");
    b_free(b);

    /* no SIM for this event: a precise error, not a crash */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(SIM, 0, SIM_QUOTA, 0);
    ABC(RET, 0, 1, 0);
    const Value *saved = env.sim;
    env.sim = NULL;
    CHECK_STR(run_b(b), "error:type:no SIM for this event");
    env.sim = saved;
    uint32_t n = env.nevent;
    env.nevent = 2;
    b_free(b);
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(EVENT, 0, EVF_PAYLOAD, 0);
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_b(b), "error:type:event field 2 is not given");
    env.nevent = n;
    CHECK_STR(run_b(b), "bytes:800 MB");
    b_free(b);
}

static void test_jumps_and_loops(void)
{
    /* max(R0, R1) by a branch */
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, I(4)));
    ABX(LOADK, 1, b_const(b, I(9)));
    ABC(LT, 2, 0, 1);
    ASBX(JMPT, 2, 1);
    ABC(RET, 0, 1, 0);
    ABC(RET, 1, 1, 0);
    CHECK_STR(run_b(b), "int:9");
    b_free(b);

    /* sum of a list by FORPREP/FORLOOP */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 5);
    Value items[] = { I(1), I(2), I(3), I(4) };
    ABX(LOADK, 0, b_const(b, slist(4, items)));
    ABX(LOADK, 3, b_const(b, I(0)));
    ASBX(FORPREP, 0, 1);              /* -> 4 */
    ABC(ADDI, 3, 3, 2);               /* 3: body */
    ASBX(FORLOOP, 0, -2);             /* 4: -> 3 */
    ABC(RET, 3, 1, 0);
    CHECK_STR(run_b(b), "int:10");
    b_free(b);

    /* a JMPF on a non-bool */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABX(LOADK, 0, b_const(b, I(1)));
    ASBX(JMPF, 0, 0);
    ABC(RET, 0, 0, 0);
    CHECK_STR(run_b(b), "error:type:a condition of a int");
    b_free(b);

    /* a loop whose list register is overwritten in the body */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 4);
    ABX(LOADK, 0, b_const(b, slist(4, items)));
    ASBX(FORPREP, 0, 1);
    ABX(LOADK, 0, b_const(b, I(0)));
    ASBX(FORLOOP, 0, -2);
    ABC(RET, 0, 0, 0);
    CHECK_STR(run_b(b), "error:type:a loop's list or counter was overwritten");
    b_free(b);
}

static void test_calls(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 4);
    ABX(LOADK, 1, b_const(b, I(40)));
    ABX(LOADK, 2, b_const(b, I(2)));
    ABX(LOADK, 3, b_const(b, I(7)));
    ABC(CALL, 1, 1, 2);               /* R1 = add(R1, R2) */
    ABC(ADDI, 0, 1, 3);               /* R3 survives the call */
    ABC(RET, 0, 1, 0);
    b_fn(b, "add", 2, 3);
    ABC(ADDI, 2, 0, 1);
    ABC(RET, 2, 1, 0);
    CHECK_STR(run_b(b), "int:49");
    b_free(b);

    /* STOP from depth 2 ends the run */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(CALL, 0, 1, 0);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABC(RET, 0, 1, 0);
    b_fn(b, "stopper", 0, 0);
    ABC(STOP, 0, 0, 0);
    CHECK_STR(run_b(b), "nil:nil");
    b_free(b);

    /* built-ins: len of a string in code points; a wrong kind of argument */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABX(LOADK, 0, b_const(b, sstr("h\xc3\xa9llo")));
    ABC(CALLB, 0, std_find("len", 3), 1);
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_b(b), "int:5");
    b->consts[0] = I(5);
    CHECK_STR(run_b(b), "error:type:argument 1 of len is a int");
    b_free(b);

    /* a built-in's failure names the built-in */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 2);
    ABC(CTX, 0, CTX_NOW, 0);
    ABX(LOADK, 1, b_const(b, sstr("%Y %q")));
    ABC(CALLB, 0, std_find("format_time", 11), 2);
    ABC(RET, 0, 1, 0);
    VmError e;
    CHECK(strncmp(run_with(b, NULL, &e), "error:builtin:format_time: the layout has %q", 44) == 0);
    CHECK(e.line == 102);
    b->consts[0] = sstr("%d.%m.%Y %H:%M");
    CHECK_STR(run_b(b), "string:05.12.2026 10:00");
    b_free(b);
}

static void test_values(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 6);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABX(LOADK, 1, b_const(b, sstr("x")));
    ABC(RECORD, 2, 0, 2);
    const char *keys[] = { "a", "b" };
    ABX(EXTRA, 0, b_const(b, b_strs(b, 2, keys)));
    ABC(GETFIELD, 3, 2, 1);
    ABC(LIST, 4, 2, 2);
    ABC(CONCAT, 5, 3, 2);
    ABC(RET, 5, 1, 0);
    CHECK_STR(run_b(b), "string:x{ a: 1, b: x }, x");
    b_free(b);

    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    Value items[] = { I(10), I(20), I(30) };
    ABX(LOADK, 0, b_const(b, slist(3, items)));
    ABX(LOADK, 1, b_const(b, I(2)));
    ABC(INDEX, 2, 0, 1);
    ABC(RET, 2, 1, 0);
    CHECK_STR(run_b(b), "int:30");
    b->consts[1] = I(5);
    CHECK_STR(run_b(b), "error:index:index 5 out of range for a list of 3");
    b->consts[1] = I(-1);
    CHECK_STR(run_b(b), "error:index:index -1 out of range for a list of 3");
    b->consts[1] = sstr("0");
    CHECK_STR(run_b(b), "error:type:indexing of list and string");
    b_free(b);

    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 2);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABC(GETFIELD, 1, 0, 0);
    ABC(RET, 1, 1, 0);
    CHECK_STR(run_b(b), "error:type:field 0 of a int");
    b_free(b);

    /* an empty list and an empty record */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 2);
    ABC(LIST, 0, 0, 0);
    ABC(RECORD, 1, 0, 0);
    ABX(EXTRA, 0, b_const(b, b_strs(b, 0, NULL)));
    ABC(CONCAT, 0, 0, 2);
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_b(b), "string:{}");
    b_free(b);
}

static void test_actions(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 9);
    ABX(INPUT, 0, 0);
    ABX(LOADK, 1, b_const(b, sstr("SIM used")));
    ABX(LOADK, 2, b_const(b, sstr("text")));
    ABC(LOADNIL, 3, 0, 0);
    ABC(LOADNIL, 4, 0, 0);
    ABC(LOADNIL, 5, 0, 0);
    ABC(LOADNIL, 6, 0, 0);
    ABC(ACT, 0, ACT_EMAIL, 7);          /* line 107 */
    ABX(LOADK, 7, b_const(b, sstr("https://hooks.acme.example/usage")));
    ABC(LOADNIL, 8, 0, 0);
    ABC(ACT, 7, ACT_WEBHOOK, 2);
    ABC(ACT, 0, ACT_SUSPEND, 0);
    ABX(LOADK, 8, b_const(b, BY(500000000)));
    ABC(ACT, 8, ACT_TOPUP, 1);
    ABC(LOG, 1, 0, 0);                  /* line 114 */
    ABC(RET, 0, 0, 0);
    b->inputs[0] = (ArtInput){ "noc", "list<email>", false, { 0 } };
    b->art.ninputs = 1;
    CHECK_STR(run_b(b), "nil:nil");
    CHECK_STR(recorded.text, "email(noc@acme.example|SIM used|text|-|-|-|-);webhook(https://hooks.acme.example/usage|-);"
                             "suspend;topup(500 MB);log:SIM used;");
    CHECK(recorded.nactions == 4 && recorded.nlogs == 1 && recorded.last_line == 114);

    /* a host that refuses fails the run with its message */
    Prog p;
    char err[256];
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    memset(&recorded, 0, sizeof recorded);
    recorded.refuse = true;
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_FAILED);
    CHECK(vm_error(p.run)->code == VMERR_HOST);
    CHECK_STR(vm_error(p.run)->message, "email: the operator said no");
    CHECK(vm_error(p.run)->line == 107);
    /* no host: actions are refused, not dropped */
    CHECK(vm_call(p.run, 0, NULL, 0, &env, NULL, NULL) == VM_FAILED);
    CHECK_STR(vm_error(p.run)->message, "email: this run cannot take actions");
    prog_close(&p);
    recorded.refuse = false;

    /* arguments against the conventions */
    b->code[0][0] = INS_ABX(OP_LOADK, 0, 0);
    CHECK_STR(run_b(b), "error:type:the arguments of email do not follow its conventions");
    b_free(b);
}

static void test_error_location(void)
{
    Builder *b = b_new(ART_FLOW, "usage_cap", "data.usage");
    b_fn(b, "do", 0, 2);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABX(LOADK, 1, b_const(b, I(0)));
    ABC(CALL, 0, 1, 2);
    ABC(RET, 0, 0, 0);
    b_fn(b, "ratio", 2, 2);
    ABC(LOADNIL, 1, 0, 0);
    ABC(DIVI, 0, 0, 1);
    ABC(RET, 0, 1, 0);
    b->lines[1][1] = 42;
    b->code[1][0] = INS_ABX(OP_LOADK, 1, 1);
    VmError e;
    CHECK_STR(run_with(b, NULL, &e), "error:div_zero:division by zero");
    CHECK_STR(e.artifact, "usage_cap");
    CHECK_STR(e.function, "ratio");
    CHECK(e.line == 42);
    b_free(b);
}

/* ------------------------------------------------------- quickening */

/* R0 = x, R1 = y; `cmp` R0 R0 R1 (its operand is also its result and the
 * branch's condition); `jump` R0 over a LOADK of "skipped"; returns R2. */
static const char *compare_branch(Opcode cmp, Opcode jump, Value x, Value y)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, x));
    ABX(LOADK, 1, b_const(b, y));
    ABX(LOADK, 2, b_const(b, sstr("fell through")));
    b_emit(b, INS_ABC(cmp, 0, 0, 1));
    b_emit(b, INS_ASBX(jump, 0, 1));
    ABX(LOADK, 2, b_const(b, sstr("not taken")));
    ABC(RET, 2, 1, 0);
    const char *r = run_b(b);
    b_free(b);
    return r;
}

/* R0 = x, R1 = y; `cmp` R2 R0 R1; `jump` R2 to a RET of R2 (line 106):
 * the pair's _RET form returns there itself; otherwise "through". */
static const char *compare_return(Opcode cmp, Opcode jump, Value x, Value y, const VmLimits *limits, VmError *e)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, x));
    ABX(LOADK, 1, b_const(b, y));
    b_emit(b, INS_ABC(cmp, 2, 0, 1));
    b_emit(b, INS_ASBX(jump, 2, 2));
    ABX(LOADK, 2, b_const(b, sstr("through")));
    ABC(RET, 2, 1, 0);
    ABC(RET, 2, 1, 0);
    const char *r = run_with(b, limits, e);
    b_free(b);
    return r;
}

static void test_quickened(void)
{
    Value ab[] = { sstr("a"), sstr("b") };
    /* compare-and-branch, fast paths and deopts (floats, mixed kinds, long strings) */
    CHECK_STR(compare_branch(OP_LT, OP_JMPF, I(1), I(2)), "string:not taken");
    CHECK_STR(compare_branch(OP_LT, OP_JMPF, I(2), I(1)), "string:fell through");
    CHECK_STR(compare_branch(OP_LT, OP_JMPT, I(1), I(2)), "string:fell through");
    CHECK_STR(compare_branch(OP_LE, OP_JMPF, BY(2), BY(2)), "string:not taken");
    CHECK_STR(compare_branch(OP_LE, OP_JMPT, BY(3), BY(2)), "string:not taken");
    CHECK_STR(compare_branch(OP_EQ, OP_JMPF, sstr("active"), sstr("active")), "string:not taken");
    CHECK_STR(compare_branch(OP_EQ, OP_JMPT, sstr("active"), sstr("activ")), "string:not taken");
    CHECK_STR(compare_branch(OP_NE, OP_JMPF, val_bool(true), val_bool(false)), "string:not taken");
    CHECK_STR(compare_branch(OP_NE, OP_JMPT, I(7), I(7)), "string:not taken");
    CHECK_STR(compare_branch(OP_LT, OP_JMPF, FL(1.5), I(2)), "string:not taken");
    CHECK_STR(compare_branch(OP_EQ, OP_JMPT, I(3), FL(3)), "string:fell through");
    CHECK_STR(compare_branch(OP_EQ, OP_JMPF, sstr("a somewhat long string, longer than sixty-four bytes, to be charged"),
                             sstr("a somewhat long string, longer than sixty-four bytes, to be charged")),
              "string:not taken");
    CHECK_STR(compare_branch(OP_EQ, OP_JMPF, slist(2, ab), slist(2, ab)), "string:not taken");
    VmError e;
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, BY(1)));
    ABX(LOADK, 1, b_const(b, I(2)));
    ABC(LT, 2, 0, 1);                  /* line 102: fails on its own line */
    ASBX(JMPF, 2, 0);
    ABC(RET, 2, 1, 0);
    CHECK_STR(run_with(b, NULL, &e), "error:type:comparison of bytes and int");
    CHECK(e.line == 102);
    b_free(b);

    /* compare-and-branch onto a RET of its register: returns from the pair
     * (every form, a deopt, the budget of the RET charged on its own) */
    CHECK_STR(compare_return(OP_LT, OP_JMPF, I(2), I(1), NULL, NULL), "bool:false");
    CHECK_STR(compare_return(OP_LT, OP_JMPF, I(1), I(2), NULL, NULL), "string:through");
    CHECK_STR(compare_return(OP_LT, OP_JMPT, I(1), I(2), NULL, NULL), "bool:true");
    CHECK_STR(compare_return(OP_LE, OP_JMPF, BY(3), BY(2), NULL, NULL), "bool:false");
    CHECK_STR(compare_return(OP_LE, OP_JMPT, BY(2), BY(2), NULL, NULL), "bool:true");
    CHECK_STR(compare_return(OP_LE, OP_JMPT, BY(3), BY(2), NULL, NULL), "string:through");
    CHECK_STR(compare_return(OP_EQ, OP_JMPF, sstr("a"), sstr("b"), NULL, NULL), "bool:false");
    CHECK_STR(compare_return(OP_EQ, OP_JMPT, sstr("a"), sstr("a"), NULL, NULL), "bool:true");
    CHECK_STR(compare_return(OP_NE, OP_JMPF, I(4), I(4), NULL, NULL), "bool:false");
    CHECK_STR(compare_return(OP_NE, OP_JMPT, I(4), I(5), NULL, NULL), "bool:true");
    CHECK_STR(compare_return(OP_NE, OP_JMPT, I(4), I(4), NULL, NULL), "string:through");
    CHECK_STR(compare_return(OP_LT, OP_JMPF, FL(2.5), I(2), NULL, NULL), "bool:false");
    CHECK_STR(compare_return(OP_EQ, OP_JMPF, slist(2, ab), slist(1, ab), NULL, NULL), "bool:false");
    CHECK_STR(compare_return(OP_LT, OP_JMPF, BY(1), I(2), NULL, &e), "error:type:comparison of bytes and int");
    CHECK(e.line == 102);
    for (uint64_t budget = 1; budget <= 6; budget++) {
        VmLimits limits = { 0, budget, 0 };
        const char *r = compare_return(OP_LT, OP_JMPF, I(2), I(1), &limits, &e);
        if (budget >= 5) {
            CHECK_STR(r, "bool:false");
        } else {
            CHECK(strncmp(r, "error:budget:", 13) == 0);
            CHECK(e.line == (budget == 4 ? 106u : 100 + budget));
        }
    }
    {
        b = lt_jmpf_ret(2);
        Prog rp;
        char rerr[256];
        CHECK(prog_open(&rp, b, NULL, rerr, sizeof rerr));
        Value rv;
        CHECK(vm_call(rp.run, 0, NULL, 0, &env, &host, &rv) == VM_DONE && vm_instructions(rp.run) == 5);
        CHECK(rv.tag == VAL_BOOL && !rv.as.b);
        prog_close(&rp);
        b_free(b);
    }
    /* a jump onto a RET of another register is not fused */
    b = lt_jmpf_ret(0);
    CHECK_STR(run_b(b), "int:2");
    b_free(b);

    /* a jump into the second instruction of a pair finds it intact */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABC(LOADB, 0, 0, 0);
    ASBX(JMP, 0, 3);                   /* -> 5, the JMPT of the pair at 4 */
    ABX(LOADK, 1, b_const(b, I(1)));
    ABX(LOADK, 2, b_const(b, I(2)));
    ABC(LT, 0, 1, 2);
    ASBX(JMPT, 0, 1);
    ABC(RET, 0, 1, 0);
    ABX(LOADK, 0, b_const(b, sstr("jumped")));
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_b(b), "bool:false");
    b_free(b);

    /* the budget at the edge of a pair: each original instruction costs one,
     * and the one that cannot run is blamed */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABX(LOADK, 1, b_const(b, I(2)));
    ABC(LT, 2, 0, 1);
    ASBX(JMPF, 2, 0);
    ABC(RET, 2, 1, 0);
    for (uint64_t budget = 1; budget <= 5; budget++) {
        VmLimits limits = { 0, budget, 0 };
        const char *r = run_with(b, &limits, &e);
        if (budget == 5) {
            CHECK_STR(r, "bool:true");
        } else {
            CHECK(strncmp(r, "error:budget:", 13) == 0);
            CHECK(e.line == 100 + budget);
        }
    }
    Prog p;
    char err[256];
    VmLimits five = { 0, 5, 0 };
    CHECK(prog_open(&p, b, &five, err, sizeof err));
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_DONE && vm_instructions(p.run) == 5);
    prog_close(&p);
    b_free(b);

    /* compare-and-return, IN-and-return (charged per item), and a RET of
     * another register (not fused) */
    CHECK_STR(binop(OP_EQ, sstr("x"), sstr("x")), "bool:true");
    CHECK_STR(binop(OP_IN, sstr("b"), slist(2, ab)), "bool:true");
    CHECK_STR(binop(OP_IN, sstr("b"), sstr("abc")), "bool:true");
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, sstr("b")));
    ABX(LOADK, 1, b_const(b, slist(2, ab)));
    ABC(IN, 2, 0, 1);
    ABC(RET, 2, 1, 0);
    VmLimits four = { 0, 4, 0 }, five_items = { 0, 5, 0 };
    CHECK_STR(run_with(b, &four, &e), "error:budget:instruction budget exceeded (4 instructions)");
    CHECK(e.line == 102);
    CHECK_STR(run_with(b, &five_items, NULL), "error:budget:instruction budget exceeded (5 instructions)");
    VmLimits six = { 0, 6, 0 };
    CHECK_STR(run_with(b, &six, NULL), "bool:true");
    b_free(b);
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABC(EQ, 1, 0, 0);
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_b(b), "int:1");
    b_free(b);

    /* load pairs: their errors are the second instruction's */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABC(SIM, 1, SIM_QUOTA, 0);         /* line 101 */
    ABC(EVENT, 2, EVF_PAYLOAD + 0, 0);
    ABC(SIM, 0, SIM_STATUS, 0);
    ABC(EVENT, 1, EVF_PAYLOAD + 2, 0); /* line 104 */
    ABC(LOADK, 1, 0, 0);
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_b(b), "string:active");
    const Value *saved_sim = env.sim;
    env.sim = NULL;
    CHECK_STR(run_with(b, NULL, &e), "error:type:no SIM for this event");
    CHECK(e.line == 101);
    env.sim = saved_sim;
    env.nevent = 4;
    CHECK_STR(run_with(b, NULL, &e), "error:type:event field 4 is not given");
    CHECK(e.line == 104);
    env.nevent = 5;
    b_free(b);

    /* registers start nil even when an earlier call of the run left a value
     * there: read before written on some path */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 4);
    ABX(LOADK, 3, b_const(b, I(5)));
    ABX(LOADK, 2, b_const(b, I(6)));
    ABC(RET, 3, 1, 0);
    int reader = b_fn(b, "when", 0, 4);
    b->art.fn_when = reader;
    ABC(LOADB, 0, 1, 0);
    ASBX(JMPT, 0, 1);
    ABX(LOADK, 3, b_const(b, I(7)));   /* skipped: R3 is not written on every path */
    ABC(LIST, 1, 2, 2);                /* reads R2 and R3 */
    ABC(RET, 1, 1, 0);
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    Value result;
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, &result) == VM_DONE && result.as.i == 5);
    CHECK(vm_call(p.run, reader, NULL, 0, &env, &host, &result) == VM_DONE && result.tag == VAL_LIST);
    CHECK(result.as.l->len == 2 && result.as.l->items[0].tag == VAL_NIL && result.as.l->items[1].tag == VAL_NIL);
    prog_close(&p);
    b_free(b);
}

/* LOADK R0 pct; SIM or EVENT R1 field; OF R2 R0 R1; RET R2: the triple
 * KOF_SIM / KOF_EVENT when pct is a whole percent.  The field's value is
 * put in place for the call; `limits` may be NULL. */
static const char *percent_of_field(Value pct, Opcode load, int field, Value x, const VmLimits *limits,
                                    VmError *e)
{
    Value *slot = load == OP_SIM ? &sim_values[field] : &event_values[field];
    Value saved = *slot;
    *slot = x;
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, pct));
    b_emit(b, INS_ABC(load, 1, field, 0));
    ABC(OF, 2, 0, 1);                  /* line 102 */
    ABC(RET, 2, 1, 0);
    const char *r = run_with(b, limits, e);
    b_free(b);
    *slot = saved;
    return r;
}

static void test_quickened_percent_of(void)
{
    VmError e;
    /* the fast path, rounding half away from zero, and each integral kind */
    CHECK_STR(percent_of_field(PC(80), OP_SIM, SIM_QUOTA, BY(1000000000), NULL, NULL), "bytes:800 MB");
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, BY(3), NULL, NULL), "bytes:2 B");
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, BY(-3), NULL, NULL), "bytes:-2 B");
    CHECK_STR(percent_of_field(PC(-10), OP_EVENT, EVF_PAYLOAD + 0, I(15), NULL, NULL), "int:-2");
    CHECK_STR(percent_of_field(PC(200), OP_EVENT, EVF_PAYLOAD + 0, DU(90), NULL, NULL), "duration:3m");
    /* the edges of the fast path: |product| up to 2^63, halves away from zero */
    CHECK_STR(percent_of_field(PC(1), OP_SIM, SIM_QUOTA, I(INT64_MAX), NULL, NULL), "int:92233720368547758");
    CHECK_STR(percent_of_field(PC(1), OP_SIM, SIM_QUOTA, I(INT64_MIN), NULL, NULL), "int:-92233720368547758");
    CHECK_STR(percent_of_field(PC(-1), OP_SIM, SIM_QUOTA, I(INT64_MAX), NULL, NULL), "int:-92233720368547758");
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, I(1), NULL, NULL), "int:1");
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, I(-1), NULL, NULL), "int:-1");
    CHECK_STR(percent_of_field(PC(-50), OP_SIM, SIM_QUOTA, I(1), NULL, NULL), "int:-1");
    CHECK_STR(percent_of_field(PC(49), OP_SIM, SIM_QUOTA, I(1), NULL, NULL), "int:0");
    CHECK_STR(percent_of_field(PC(0), OP_SIM, SIM_QUOTA, I(-7), NULL, NULL), "int:0");
    /* against the definition (x * p / 100, half away from zero, in 128 bits) */
    {
        static const int64_t xs[] = { 0, 1, -1, 49, 50, 51, 149, 150, -150, 12345, -99999, 1000000007,
                                      INT64_MAX / 1000000000, INT64_MIN / 1000000000, INT64_MAX / 7 };
        static const int ps[] = { 0, 1, -1, 3, 33, 50, 99, 100, 101, 250, -250, 1000000000, -1000000000 };
        for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
            for (size_t j = 0; j < sizeof ps / sizeof *ps; j++) {
                __int128 n = (__int128)xs[i] * ps[j];
                __int128 mag = n < 0 ? -n : n, q = (mag + 50) / 100;
                char want[64];
                if ((n < 0 ? -q : q) > INT64_MAX || (n < 0 ? -q : q) < INT64_MIN) continue;
                snprintf(want, sizeof want, "int:%lld", (long long)(n < 0 ? -q : q));
                CHECK_STR(percent_of_field(PC(ps[j]), OP_SIM, SIM_QUOTA, I(xs[i]), NULL, NULL), want);
            }
    }
    /* a loaded register read after the triple keeps its value (KOF_SIM
     * writes all three); dead ones are skipped (KOF_SIM_D, above) */
    {
        Value saved_quota = sim_values[SIM_QUOTA];
        sim_values[SIM_QUOTA] = BY(1000);
        Builder *b = b_new(ART_FLOW, "t", "data.usage");
        b_fn(b, "do", 0, 3);
        ABX(LOADK, 0, b_const(b, PC(80)));
        ABC(SIM, 1, SIM_QUOTA, 0);
        ABC(OF, 2, 0, 1);
        ABC(RET, 1, 1, 0);
        CHECK_STR(run_b(b), "bytes:1 KB");
        b_free(b);
        b = b_new(ART_FLOW, "t", "data.usage");
        b_fn(b, "do", 0, 3);
        ABX(LOADK, 0, b_const(b, PC(80)));
        ABC(SIM, 1, SIM_QUOTA, 0);
        ABC(OF, 2, 0, 1);
        ABC(LIST, 0, 0, 3);
        ABC(RET, 0, 1, 0);
        CHECK_STR(run_b(b), "list:80%, 1 KB, 800 B");
        b_free(b);
        sim_values[SIM_QUOTA] = saved_quota;
    }
    /* a load before a triple with dead registers: four in one dispatch
     * (EVENT_KOF_SIM_D); the load's deopt and error, the triple's deopt
     * after the load */
    {
        Value saved_quota = sim_values[SIM_QUOTA], saved_used = event_values[EVF_PAYLOAD + 0];
        sim_values[SIM_QUOTA] = BY(1000);
        event_values[EVF_PAYLOAD + 0] = BY(5);
        Builder *b = b_new(ART_FLOW, "t", "data.usage");
        b_fn(b, "do", 0, 4);
        ABC(EVENT, 3, EVF_PAYLOAD + 0, 0);   /* line 100 */
        ABX(LOADK, 0, b_const(b, PC(80)));
        ABC(SIM, 1, SIM_QUOTA, 0);
        ABC(OF, 2, 0, 1);
        ABC(LIST, 0, 2, 2);
        ABC(RET, 0, 1, 0);
        CHECK_STR(run_b(b), "list:800 B, 5 B");
        sim_values[SIM_QUOTA] = FL(3);
        CHECK_STR(run_b(b), "list:2.4, 5 B");
        sim_values[SIM_QUOTA] = BY(1000);
        env.nevent = 2;
        CHECK_STR(run_with(b, NULL, &e), "error:type:event field 2 is not given");
        CHECK(e.line == 100);
        env.nevent = 5;
        for (uint64_t budget = 1; budget <= 6; budget++) {
            VmLimits limits = { 0, budget, 0 };
            const char *r = run_with(b, &limits, &e);
            if (budget == 6) {
                CHECK_STR(r, "list:800 B, 5 B");
            } else {
                CHECK(strncmp(r, "error:budget:", 13) == 0);
                CHECK(e.line == 100 + budget);
            }
        }
        b_free(b);
        sim_values[SIM_QUOTA] = saved_quota;
        event_values[EVF_PAYLOAD + 0] = saved_used;
    }
    /* not whole: no triple, the same answer */
    CHECK_STR(percent_of_field(PC(12.5), OP_SIM, SIM_QUOTA, BY(1000), NULL, NULL), "bytes:125 B");
    /* deopts: a float, a product beyond int64 (the exact slow path), a wrong kind */
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, FL(3), NULL, NULL), "float:1.5");
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, I(INT64_MAX), NULL, NULL),
              "int:4611686018427387904");
    CHECK_STR(percent_of_field(PC(1000000000), OP_SIM, SIM_QUOTA, BY(INT64_MAX), NULL, &e),
              "error:overflow:overflow in of");
    CHECK(e.line == 102);
    CHECK_STR(percent_of_field(PC(50), OP_EVENT, EVF_TIME, TM(10), NULL, &e), "error:type:of of percent and time");
    CHECK(e.line == 102);
    /* the loads' own errors, on their own line */
    const Value *saved_sim = env.sim;
    env.sim = NULL;
    CHECK_STR(percent_of_field(PC(50), OP_SIM, SIM_QUOTA, BY(10), NULL, &e), "error:type:no SIM for this event");
    CHECK(e.line == 101);
    env.sim = saved_sim;
    env.nevent = 4;
    CHECK_STR(percent_of_field(PC(50), OP_EVENT, EVF_PAYLOAD + 2, PC(10), NULL, &e),
              "error:type:event field 4 is not given");
    CHECK(e.line == 101);
    env.nevent = 5;
    /* the budget at the edge of the triple: one per original instruction */
    for (uint64_t budget = 1; budget <= 4; budget++) {
        VmLimits limits = { 0, budget, 0 };
        const char *r = percent_of_field(PC(80), OP_SIM, SIM_QUOTA, BY(1000), &limits, &e);
        if (budget == 4) {
            CHECK_STR(r, "bytes:800 B");
        } else {
            CHECK(strncmp(r, "error:budget:", 13) == 0);
            CHECK(e.line == 100 + budget);
        }
    }
}

/* ---------------------------------------------------------------- limits */

static void test_budget(void)
{
    /* a loop over a list of two million items */
    enum { N = 2000000 };
    VList *big = malloc(sizeof(VList) + N * sizeof(Value));
    big->len = N;
    big->depth = 1;
    for (int i = 0; i < N; i++) big->items[i] = I(i);
    Value saved = input_values[0];
    input_values[0] = val_list(big);
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 4);
    ABX(INPUT, 0, 0);
    ASBX(FORPREP, 0, 0);
    ASBX(FORLOOP, 0, -1);
    ABC(RET, 0, 0, 0);
    b->inputs[0] = (ArtInput){ "many", "list<int>", false, { 0 } };
    b->art.ninputs = 1;
    VmError e;
    CHECK_STR(run_with(b, NULL, &e), "error:budget:instruction budget exceeded (1000000 instructions)");
    CHECK(e.line == 102);
    VmLimits generous = { 0, 5000000, 0 };
    CHECK_STR(run_with(b, &generous, NULL), "nil:nil");
    /* IN over the big list is charged per item */
    b_free(b);
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(INPUT, 0, 0);
    ABX(LOADK, 1, b_const(b, I(-1)));
    ABC(IN, 2, 1, 0);
    ABC(RET, 2, 1, 0);
    b->inputs[0] = (ArtInput){ "many", "list<int>", false, { 0 } };
    b->art.ninputs = 1;
    CHECK_STR(run_b(b), "error:budget:instruction budget exceeded (1000000 instructions)");
    CHECK_STR(run_with(b, &generous, NULL), "bool:false");
    input_values[0] = saved;
    free(big);
    b_free(b);

    /* at the edge: exactly the budget passes, one fewer fails */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    for (int i = 0; i < 9; i++) ABC(LOADNIL, 0, 0, 0);
    ABC(RET, 0, 0, 0);
    VmLimits ten = { 0, 10, 0 }, nine = { 0, 9, 0 };
    CHECK_STR(run_with(b, &ten, NULL), "nil:nil");
    CHECK_STR(run_with(b, &nine, NULL), "error:budget:instruction budget exceeded (9 instructions)");
    Prog p;
    char err[256];
    CHECK(prog_open(&p, b, &ten, err, sizeof err));
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_DONE && vm_instructions(p.run) == 10);
    prog_close(&p);
    b_free(b);

    /* runs are charged whole, yet the budget stays exact: work charged in
     * the middle of a run (CONCAT: one per part), and an error there */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, sstr("a")));
    ABX(LOADK, 1, b_const(b, sstr("b")));
    ABC(CONCAT, 2, 0, 2);              /* line 102: 1 + 2 */
    ABC(LOADNIL, 0, 0, 0);
    ABC(RET, 2, 1, 0);                 /* line 104: the 7th */
    VmLimits seven = { 0, 7, 0 }, six = { 0, 6, 0 }, four = { 0, 4, 0 };
    VmError e2;
    CHECK_STR(run_with(b, &seven, NULL), "string:ab");
    CHECK_STR(run_with(b, &six, &e2), "error:budget:instruction budget exceeded (6 instructions)");
    CHECK(e2.line == 104);
    CHECK_STR(run_with(b, &four, &e2), "error:budget:instruction budget exceeded (4 instructions)");
    CHECK(e2.line == 102);
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_DONE && vm_instructions(p.run) == 7);
    prog_close(&p);
    b_free(b);
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 3);
    ABX(LOADK, 0, b_const(b, I(1)));
    ABX(LOADK, 1, b_const(b, I(0)));
    ABC(DIVI, 2, 0, 1);                /* line 102: division by zero, the 3rd */
    for (int i = 0; i < 5; i++) ABC(LOADNIL, 0, 0, 0);
    ABC(RET, 2, 1, 0);
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_FAILED && vm_instructions(p.run) == 3);
    CHECK(vm_error(p.run)->line == 102);
    prog_close(&p);
    b_free(b);
}

static void test_memory(void)
{
    /* a string that doubles until the cap */
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 2);
    ABX(LOADK, 0, b_const(b, sstr("0123456789abcdef")));
    ABC(MOVE, 1, 0, 0);               /* 1 */
    ABC(CONCAT, 0, 0, 2);             /* 2: R0 = R0 R1 */
    ASBX(JMP, 0, -3);                 /* -> 1 */
    VmError e;
    CHECK_STR(run_with(b, NULL, &e), "error:memory:memory limit exceeded (16 MB)");
    CHECK(e.line == 102);
    VmLimits small = { 100000, 0, 0 };
    CHECK_STR(run_with(b, &small, NULL), "error:memory:memory limit exceeded (100000 bytes)");
    b_free(b);

    /* lists nested in lists, deeper than values may nest */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(LIST, 0, 0, 1);
    ASBX(JMP, 0, -2);
    CHECK_STR(run_b(b), "error:memory:values nest deeper than 64");
    b_free(b);
}

static void test_depth(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(CALL, 0, 1, 0);
    ABC(RET, 0, 0, 0);
    b_fn(b, "deeper", 0, 1);
    ABC(CALL, 0, 1, 0);
    ABC(RET, 0, 0, 0);
    VmError e;
    CHECK_STR(run_with(b, NULL, &e), "error:depth:call depth exceeded (64)");
    CHECK_STR(e.function, "deeper");
    VmLimits shallow = { 0, 0, 3 };
    CHECK_STR(run_with(b, &shallow, NULL), "error:depth:call depth exceeded (3)");
    b_free(b);

    /* exactly at the limit: depth 3 with limit 3 passes */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(CALL, 0, 1, 0);
    ABC(RET, 0, 1, 0);
    b_fn(b, "two", 0, 1);
    ABC(CALL, 0, 2, 0);
    ABC(RET, 0, 1, 0);
    b_fn(b, "three", 0, 1);
    ABX(LOADK, 0, b_const(b, I(3)));
    ABC(RET, 0, 1, 0);
    CHECK_STR(run_with(b, &shallow, NULL), "int:3");
    VmLimits two = { 0, 0, 2 };
    CHECK_STR(run_with(b, &two, NULL), "error:depth:call depth exceeded (2)");
    b_free(b);
}

/* ------------------------------------------------------------ wait/state */

/* do: R0 = event.iccid; R1 = [R0, "x"]; CALL waiter(R2 = 24h); R3 = R0 .. R1 .. R2 */
static Builder *waiting_flow(void)
{
    Builder *b = b_new(ART_FLOW, "waits", "data.usage");
    b_fn(b, "do", 0, 5);
    ABC(EVENT, 0, EVF_ICCID, 0);
    ABX(LOADK, 4, b_const(b, sstr("x")));
    ABC(LIST, 1, 0, 1);
    ABX(LOADK, 2, b_const(b, DU(86400)));
    ABC(CALL, 2, 1, 1);
    ABC(SIM, 3, SIM_STATUS, 0);
    ABC(CONCAT, 3, 1, 3);
    ABC(RET, 3, 1, 0);
    b_fn(b, "waiter", 1, 3);
    ABX(LOADK, 1, b_const(b, sstr("kept")));
    ABC(RECORD, 2, 1, 1);
    const char *keys[] = { "k" };
    ABX(EXTRA, 0, b_const(b, b_strs(b, 1, keys)));
    ABC(WAIT, 0, 0, 0);
    ABC(CONCAT, 0, 1, 2);
    ABC(RET, 0, 1, 0);
    return b;
}

static const char *resume_text(VmRun *run)
{
    static char out[512];
    Value result;
    VmStatus st = vm_resume(run, &env, &host, &result);
    if (st != VM_DONE) {
        snprintf(out, sizeof out, "status %d: %s", (int)st, vm_error(run)->message);
        return out;
    }
    FmtBuf fb;
    fmt_init(&fb);
    fmt_value(&fb, &result);
    snprintf(out, sizeof out, "%s", fb.data);
    fmt_free(&fb);
    return out;
}

static void test_wait_in_place(void)
{
    Builder *b = waiting_flow();
    Prog p;
    char err[256];
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    /* the iccid comes from a buffer the embedder changes before resuming */
    Value saved = event_values[EVF_ICCID];
    VStr *tmp = malloc(sizeof(VStr) + 8);
    tmp->len = 7;
    memcpy(tmp->data, "8944ABC", 8);
    event_values[EVF_ICCID] = val_str(tmp);
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_WAITING);
    CHECK(vm_wait_seconds(p.run) == 86400);
    memcpy(tmp->data, "zzzzzzz", 8);
    free(tmp);
    event_values[EVF_ICCID] = saved;
    CHECK_STR(resume_text(p.run), "8944ABCkept{ k: kept }active");
    /* a finished run cannot be resumed; a new call forgets a wait */
    CHECK(vm_resume(p.run, &env, &host, NULL) == VM_FAILED && vm_error(p.run)->code == VMERR_STATE);
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_WAITING);
    CHECK(vm_call(p.run, 1, (Value[]){ DU(5) }, 1, &env, &host, NULL) == VM_WAITING);
    uint8_t *bytes;
    size_t len;
    CHECK(vm_save(p.run, &bytes, &len) == 0);
    free(bytes);
    CHECK(vm_call(p.run, 1, NULL, 0, &env, &host, NULL) == VM_FAILED);
    CHECK(vm_save(p.run, &bytes, &len) == -1);
    prog_close(&p);
    b_free(b);
}

static const char state_path[] = "/tmp/flow_test_vm_state.bin";

static void test_save_restore(void)
{
    Builder *b = waiting_flow();
    Prog p, q;
    char err[256];
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    CHECK(prog_open(&q, b, NULL, err, sizeof err));
    CHECK(vm_call(p.run, 0, NULL, 0, &env, &host, NULL) == VM_WAITING);
    uint8_t *bytes, *again;
    size_t len, len2;
    CHECK(vm_save(p.run, &bytes, &len) == 0);
    CHECK(vm_save(p.run, &again, &len2) == 0);
    CHECK(len == len2 && memcmp(bytes, again, len) == 0);
    free(again);

    /* into another run of the same program (a second load of the artifact) */
    CHECK(vm_restore(q.run, bytes, len, err, sizeof err) == 0);
    CHECK(vm_wait_seconds(q.run) == 86400);
    CHECK_STR(resume_text(q.run), "89441000300000000012kept{ k: kept }active");
    CHECK_STR(resume_text(p.run), "89441000300000000012kept{ k: kept }active");

    /* in another process, through a file */
    FILE *f = fopen(state_path, "wb");
    CHECK(f && fwrite(bytes, 1, len, f) == len);
    if (f) fclose(f);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        Prog c;
        char cerr[256];
        uint8_t buf[65536];
        FILE *in = fopen(state_path, "rb");
        size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
        if (in) fclose(in);
        int ok = prog_open(&c, b, NULL, cerr, sizeof cerr) && vm_restore(c.run, buf, n, cerr, sizeof cerr) == 0 &&
                 strcmp(resume_text(c.run), "89441000300000000012kept{ k: kept }active") == 0;
        prog_close(&c);
        b_free(b);
        free(bytes);
        prog_close(&p);
        prog_close(&q);
        arena_free(&scratch);
        arena_free(&world);
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    remove(state_path);

    /* another program refuses the state */
    Builder *other = waiting_flow();
    other->consts[0] = sstr("y");
    Prog o;
    CHECK(prog_open(&o, other, NULL, err, sizeof err));
    CHECK(vm_restore(o.run, bytes, len, err, sizeof err) == -1);
    CHECK(strstr(err, "saved by another program") != NULL);
    CHECK(vm_resume(o.run, &env, &host, NULL) == VM_FAILED);
    prog_close(&o);
    b_free(other);

    /* truncated at every length, and every byte flipped: refused or sound */
    VmLimits limits = { 1 << 20, 10000, 0 };
    Prog t;
    CHECK(prog_open(&t, b, &limits, err, sizeof err));
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) refused += vm_restore(t.run, bytes, cut, err, sizeof err) == -1;
    CHECK(refused == (int)len);
    uint8_t *flipped = malloc(len);
    int restored = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(flipped, bytes, len);
            flipped[i] ^= (uint8_t)(1u << bit);
            if (vm_restore(t.run, flipped, len, err, sizeof err) == 0) {
                restored++;
                vm_resume(t.run, &env, &host, NULL);   /* whatever it does, no crash */
            }
        }
    }
    CHECK(restored < (int)len * 8);
    free(flipped);
    /* hostile counts */
    uint8_t hostile[64];
    memcpy(hostile, bytes, 52);
    memset(hostile + 52, 0xff, 12);
    CHECK(vm_restore(t.run, hostile, sizeof hostile, err, sizeof err) == -1);
    CHECK(strstr(err, "cannot fit") != NULL);
    memcpy(hostile, "FLOWRUN", 8);
    hostile[8] = 9;
    CHECK(vm_restore(t.run, hostile, sizeof hostile, err, sizeof err) == -1);
    CHECK(strstr(err, "version 9") != NULL);
    prog_close(&t);

    free(bytes);
    prog_close(&p);
    prog_close(&q);
    b_free(b);
}

/* ----------------------------------------------------------------- speed */

/* vm_call_batch: per item its run's limits, inputs and flow name; the
 * calls stop at the first failure, whose run tells why */
static void test_batch(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(RET, 0, 0, 0);
    int named = b_fn(b, "named", 0, 2);    /* flow.name == "a" */
    ABC(CTX, 0, CTX_FLOW_NAME, 0);
    ABX(LOADK, 1, b_const(b, sstr("a")));
    ABC(EQ, 0, 0, 1);
    ABC(RET, 0, 1, 0);
    int input = b_fn(b, "input", 0, 1);    /* the input itself */
    ABX(INPUT, 0, 0);
    ABC(RET, 0, 1, 0);
    int number = b_fn(b, "number", 0, 1);  /* not a bool: not true */
    ABC(CTX, 0, CTX_FLOW_VERSION, 0);
    ABC(RET, 0, 1, 0);
    int loop = b_fn(b, "loop", 0, 1);      /* line 100: ends with the budget error */
    ASBX(JMP, 0, -1);
    int waits = b_fn(b, "waits", 0, 1);
    ABX(LOADK, 0, b_const(b, DU(60)));
    ABC(WAIT, 0, 0, 0);                    /* line 101 */
    ABC(RET, 0, 0, 0);
    int ten = b_fn(b, "ten", 0, 1);        /* 10 instructions, then true */
    for (int i = 0; i < 9; i++) ABC(LOADB, 0, 1, 0);
    ABC(RET, 0, 1, 0);
    b->inputs[0] = (ArtInput){ "flag", "bool", false, { 0 } };
    b->art.ninputs = 1;
    Prog p, q, r;
    char err[256];
    VmLimits nine = { 0, 9, 0 };
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    CHECK(prog_open(&q, b, NULL, err, sizeof err));
    CHECK(prog_open(&r, b, &nine, err, sizeof err));
    Value yes = val_bool(true), no = val_bool(false);
    VmBatchItem items[8] = {
        { p.run, named, 1, &yes, sstr("a"), I(1) },
        { q.run, named, 1, &yes, sstr("b"), I(1) },
        { p.run, input, 1, &yes, sstr("a"), I(1) },
        { q.run, input, 1, &no, sstr("a"), I(1) },
        { p.run, number, 1, &yes, sstr("a"), I(7) },
        { q.run, ten, 0, NULL, sstr("a"), I(1) },
        { r.run, ten, 0, NULL, sstr("a"), I(1) },   /* over its run's budget of 9 */
        { p.run, named, 0, NULL, sstr("a"), I(1) },
    };
    uint64_t failed;
    CHECK(vm_call_batch(items, 0x3f, &env, &host, &failed) == 0x25 && failed == 0);
    CHECK(vm_instructions(q.run) == 10);
    CHECK(vm_call_batch(items, 0, &env, &host, &failed) == 0 && failed == 0);
    /* a failure stops the batch: the item after it is not called */
    CHECK(vm_call_batch(items, 0xe1, &env, &host, &failed) == 0x21 && failed == 0x40);
    CHECK(vm_error(r.run)->code == VMERR_BUDGET && vm_error(r.run)->line == 109);
    CHECK_STR(vm_error(r.run)->function, "ten");
    CHECK(vm_instructions(r.run) == 9);
    /* an input the item does not give */
    items[7].fn = input;
    CHECK(vm_call_batch(items + 5, 0x5, &env, &host, &failed) == 0x1 && failed == 0x4);
    CHECK(vm_error(p.run)->code == VMERR_TYPE);
    /* a loop ends with the budget error, named; wait is refused */
    items[0].fn = loop;
    CHECK(vm_call_batch(items, 0x3, &env, &host, &failed) == 0 && failed == 0x1);
    CHECK(vm_error(p.run)->code == VMERR_BUDGET && vm_error(p.run)->line == 100);
    CHECK_STR(vm_error(p.run)->artifact, "t");
    items[0].fn = waits;
    CHECK(vm_call_batch(items, 0x3, &env, &host, &failed) == 0 && failed == 0x1);
    CHECK(vm_error(p.run)->code == VMERR_STATE && vm_error(p.run)->line == 101);
    items[0].fn = 99;
    CHECK(vm_call_batch(items, 0x3, &env, &host, &failed) == 0 && failed == 0x1);
    CHECK(vm_error(p.run)->code == VMERR_TYPE);
    /* an item whose function reads nothing of its env (bound only for
     * those that read it) between two that do: each reads its own */
    VmBatchItem mixed[3] = {
        { p.run, named, 1, &yes, sstr("a"), I(1) },
        { q.run, ten, 0, NULL, sstr("x"), I(1) },
        { p.run, named, 1, &yes, sstr("b"), I(1) },
    };
    CHECK(vm_call_batch(mixed, 0x7, &env, &host, &failed) == 0x3 && failed == 0);
    mixed[0].flow_name = sstr("b");
    mixed[2].flow_name = sstr("a");
    CHECK(vm_call_batch(mixed, 0x7, &env, &host, &failed) == 0x6 && failed == 0);
    /* the runs go on as usual afterwards */
    Value result;
    CHECK(vm_call(p.run, named, NULL, 0, &env, &host, &result) == VM_DONE && result.tag == VAL_BOOL);
    prog_close(&p);
    prog_close(&q);
    prog_close(&r);
    b_free(b);

    /* the memory cap of the item's run */
    b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 2);
    ABX(LOADK, 0, b_const(b, sstr("0123456789abcdef")));
    ABC(MOVE, 1, 0, 0);
    ABC(CONCAT, 0, 0, 2);
    ASBX(JMP, 0, -3);
    VmLimits small = { 100000, 0, 0 };
    CHECK(prog_open(&p, b, &small, err, sizeof err));
    VmBatchItem grow = { p.run, 0, 0, NULL, sstr("a"), I(1) };
    CHECK(vm_call_batch(&grow, 1, &env, &host, &failed) == 0 && failed == 1);
    CHECK(vm_error(p.run)->code == VMERR_MEMORY && vm_error(p.run)->line == 102);
    prog_close(&p);
    b_free(b);
}

/* when event.used >= 60% of sim.quota and sim.status == "active" */
static void test_speed(void)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 1);
    ABC(RET, 0, 0, 0);
    int when = b_fn(b, "when", 0, 3);
    b->art.fn_when = when;
    ABC(EVENT, 0, EVF_PAYLOAD + 0, 0);
    ABC(SIM, 1, SIM_QUOTA, 0);
    ABX(LOADK, 2, b_const(b, PC(60)));
    ABC(OF, 1, 2, 1);
    ABC(LE, 0, 1, 0);
    ASBX(JMPF, 0, 3);
    ABC(SIM, 1, SIM_STATUS, 0);
    ABX(LOADK, 2, b_const(b, sstr("active")));
    ABC(EQ, 0, 1, 2);
    ABC(RET, 0, 1, 0);
    Prog p;
    char err[256];
    CHECK(prog_open(&p, b, NULL, err, sizeof err));
    enum { CALLS = 3000000 };
    int fires = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < CALLS; i++) {
        Value result;
        event_values[EVF_PAYLOAD].as.i = (int64_t)((uint32_t)i * 7919u % 1000000000u);
        if (vm_call(p.run, when, NULL, 0, &env, &host, &result) == VM_DONE && result.as.b) fires++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("ok vm_call of a 10-instruction condition: %.1f million calls/s (%d fired)\n", CALLS / seconds / 1e6, fires);
    CHECK(fires > 0 && fires < CALLS);
    CHECK(CALLS / seconds > 100000);
    event_values[EVF_PAYLOAD].as.i = 800000000;
    prog_close(&p);
    b_free(b);
}

int main(void)
{
    world_init();
    arena_init(&scratch, 0);
    test_integer_arithmetic();
    test_float_arithmetic();
    test_of();
    test_comparisons();
    test_loads();
    test_jumps_and_loops();
    test_calls();
    test_values();
    test_actions();
    test_error_location();
    test_quickened();
    test_quickened_percent_of();
    test_budget();
    test_memory();
    test_depth();
    test_wait_in_place();
    test_save_restore();
    test_batch();
    test_speed();
    arena_free(&scratch);
    arena_free(&world);
    return testing_done();
}
