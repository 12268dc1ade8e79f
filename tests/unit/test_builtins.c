/*
 * test_builtins.c - the built-ins' table (rows, overloads, signatures) and
 * their behaviour, as a table of cases called the way the VM calls them.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../stdlib/arena.h"
#include "../../stdlib/builtins.h"
#include "../../stdlib/format.h"
#include "testing.h"

typedef struct TestCtx {
    StdCtx base;
    Arena arena;
    char failure[160];
    uint64_t charged;
} TestCtx;

static void *t_alloc(StdCtx *ctx, size_t size) { return arena_alloc(&((TestCtx *)ctx)->arena, size); }
static int t_fail(StdCtx *ctx, const char *message)
{
    snprintf(((TestCtx *)ctx)->failure, sizeof ((TestCtx *)ctx)->failure, "%s", message);
    return -1;
}
static void t_charge(StdCtx *ctx, uint64_t n) { ((TestCtx *)ctx)->charged += n; }

static TestCtx ctx = { .base = { t_alloc, t_fail, t_charge } };

static Value S(const char *text) { return val_str(std_make_str(&ctx.base, text, strlen(text))); }
#define I(n) val_integral(VAL_INT, n)
#define BY(n) val_integral(VAL_BYTES, n)
#define DU(n) val_integral(VAL_DURATION, n)
#define TM(n) val_integral(VAL_TIME, n)
#define FL(x) val_real(VAL_FLOAT, x)
#define PC(x) val_real(VAL_PERCENT, x)

static Value L(int n, ...)
{
    VList *l = ctx.base.alloc(&ctx.base, sizeof(VList) + (size_t)n * sizeof(Value));
    l->len = (uint32_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) l->items[i] = va_arg(ap, Value);
    va_end(ap);
    return val_list(l);
}

/* Picks the first row of `name` accepting the arguments (as the checker
 * does by types) and calls it; returns "tag:text" or "fail:message". */
static const char *call(const char *name, int nargs, ...)
{
    static char out[512];
    static const char *const tags[] = { "nil", "bool", "int", "bytes", "duration", "time", "float",
                                        "percent", "string", "list", "record" };
    Value args[STD_MAX_PARAMS];
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) args[i] = va_arg(ap, Value);
    va_end(ap);
    int row = std_find(name, strlen(name));
    for (; row >= 0 && row < std_nbuiltins && strcmp(std_builtins[row].name, name) == 0; row++) {
        const StdBuiltin *b = &std_builtins[row];
        if (nargs < b->nparams || nargs > b->nparams + b->nopt) continue;
        bool ok = true;
        for (int i = 0; i < nargs && ok; i++) ok = std_accepts(b->params[i], &args[i]);
        if (!ok) continue;
        Value result;
        ctx.failure[0] = '\0';
        if (b->fn(&ctx.base, args, nargs, &result) != 0) {
            snprintf(out, sizeof out, "fail:%s", ctx.failure);
            return out;
        }
        FmtBuf fb;
        fmt_init(&fb);
        fmt_value(&fb, &result);
        snprintf(out, sizeof out, "%s:%s", tags[result.tag], fb.data ? fb.data : "");
        fmt_free(&fb);
        return out;
    }
    return "no row";
}

static void test_table(void)
{
    static const char *const names[] = { "len", "lower", "upper", "trim", "contains", "starts_with",
                                         "ends_with", "split", "join", "round", "floor", "ceil", "min",
                                         "max", "abs", "format_bytes", "format_time", "days", "hours" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) CHECK(std_find(names[i], strlen(names[i])) >= 0);
    CHECK(std_find("nope", 4) == -1);
    CHECK(std_find("len", 2) == -1);
    /* overloads are consecutive; every row is complete */
    for (int i = 0; i < std_nbuiltins; i++) {
        const StdBuiltin *b = &std_builtins[i];
        CHECK(b->fn && b->doc && b->doc[0] && b->nparams >= 1 && b->nparams + b->nopt <= STD_MAX_PARAMS);
        for (int p = 0; p < b->nparams + b->nopt; p++) CHECK(b->params[p] != NULL);
        int first = std_find(b->name, strlen(b->name));
        for (int k = first; k < i; k++) CHECK(strcmp(std_builtins[k].name, b->name) == 0);
    }
    int fb = std_find("format_bytes", 12), ft = std_find("format_time", 11);
    CHECK(std_builtins[fb].nparams == 1 && std_builtins[fb].nopt == 1 && std_builtins[fb].params[1] == &ty_bool);
    CHECK(std_builtins[ft].nparams == 1 && std_builtins[ft].nopt == 1 && std_builtins[ft].params[1] == &ty_string);
    int len = std_find("len", 3);
    CHECK(std_builtins[len + 1].params[0] == &ty_empty_list && std_builtins[len + 1].ret == &ty_int);
    int mn = std_find("min", 3);
    CHECK(std_builtins[mn + 1].ret == &ty_float && std_builtins[mn + 2].ret == NULL);
}

static void test_text(void)
{
    CHECK_STR(call("len", 1, S("h\xc3\xa9llo \xf0\x9f\x98\x80")), "int:7");
    CHECK_STR(call("len", 1, S("")), "int:0");
    CHECK_STR(call("len", 1, L(3, I(1), I(2), I(3))), "int:3");
    CHECK_STR(call("lower", 1, S("RESET \xc3\x89t\xc3\xa9")), "string:reset \xc3\x89t\xc3\xa9");
    CHECK_STR(call("upper", 1, S("reset-1")), "string:RESET-1");
    CHECK_STR(call("trim", 1, S(" \t reset\r\n")), "string:reset");
    CHECK_STR(call("trim", 1, S("   ")), "string:");
    CHECK_STR(call("trim", 1, S("x")), "string:x");
    CHECK_STR(call("contains", 2, S("hello"), S("ell")), "bool:true");
    CHECK_STR(call("contains", 2, S("hello"), S("")), "bool:true");
    CHECK_STR(call("contains", 2, S("he"), S("hello")), "bool:false");
    CHECK_STR(call("contains", 2, L(2, S("T1"), S("T2")), S("T2")), "bool:true");
    CHECK_STR(call("contains", 2, L(2, S("T1"), S("T2")), S("T3")), "bool:false");
    CHECK_STR(call("starts_with", 2, S("89441"), S("894")), "bool:true");
    CHECK_STR(call("starts_with", 2, S("8"), S("894")), "bool:false");
    CHECK_STR(call("ends_with", 2, S("noc@acme.example"), S(".example")), "bool:true");
    CHECK_STR(call("ends_with", 2, S("a"), S("ab")), "bool:false");
    CHECK_STR(call("split", 2, S("a,b,,c"), S(",")), "list:a, b, , c");
    CHECK_STR(call("split", 2, S(""), S(",")), "list:");
    CHECK_STR(call("split", 2, S("a--b"), S("--")), "list:a, b");
    CHECK_STR(call("split", 2, S("h\xc3\xa9!"), S("")), "list:h, \xc3\xa9, !");
    CHECK_STR(call("len", 1, L(0)), "int:0");
    CHECK_STR(call("join", 2, L(3, S("a"), S("b"), S("c")), S(", ")), "string:a, b, c");
    CHECK_STR(call("join", 2, L(0), S(", ")), "string:");
    CHECK_STR(call("join", 2, L(2, S("a"), I(1)), S(",")), "fail:join: the list holds a value that is not a string");
}

static void test_numbers(void)
{
    CHECK_STR(call("round", 1, FL(2.5)), "int:3");
    CHECK_STR(call("round", 1, FL(-2.5)), "int:-3");
    CHECK_STR(call("round", 1, I(7)), "int:7");
    CHECK_STR(call("round", 1, PC(12.5)), "percent:13%");
    CHECK_STR(call("round", 1, FL(1e30)), "fail:round: the result is out of the range of int");
    CHECK_STR(call("floor", 1, FL(-1.5)), "int:-2");
    CHECK_STR(call("ceil", 1, FL(1.2)), "int:2");
    CHECK_STR(call("ceil", 1, FL(9.3e18)), "fail:ceil: the result is out of the range of int");
    CHECK_STR(call("min", 2, I(3), I(-4)), "int:-4");
    CHECK_STR(call("min", 2, I(3), FL(2.5)), "float:2.5");
    CHECK_STR(call("max", 2, I(3), FL(2.5)), "float:3");
    CHECK_STR(call("min", 2, BY(500000000), BY(1000000000)), "bytes:500 MB");
    CHECK_STR(call("max", 2, PC(80), PC(85)), "percent:85%");
    CHECK_STR(call("max", 2, DU(60), DU(3600)), "duration:1h");
    CHECK_STR(call("min", 2, TM(0), TM(86400)), "time:1970-01-01T00:00:00Z");
    CHECK_STR(call("min", 2, BY(1), I(1)), "no row");
    CHECK_STR(call("abs", 1, I(-5)), "int:5");
    CHECK_STR(call("abs", 1, I(INT64_MIN)), "fail:abs: the result is out of range");
    CHECK_STR(call("abs", 1, FL(-0.5)), "float:0.5");
    CHECK_STR(call("abs", 1, BY(-1000)), "bytes:1 KB");
    CHECK_STR(call("abs", 1, DU(-90)), "duration:1m 30s");
    CHECK_STR(call("abs", 1, PC(-3)), "percent:3%");
}

static void test_units_and_times(void)
{
    CHECK_STR(call("format_bytes", 1, BY(1500000000)), "string:1.5 GB");
    CHECK_STR(call("format_bytes", 2, BY(1500000000), val_bool(true)), "string:1.4 GiB");
    CHECK_STR(call("format_bytes", 2, BY(1536), val_bool(false)), "string:1.54 KB");
    CHECK_STR(call("format_time", 1, TM(1796464800)), "string:2026-12-05T10:00:00Z");
    CHECK_STR(call("format_time", 2, TM(1796464800), S("%a %d %b %Y %H:%M:%S %%")), "string:Sat 05 Dec 2026 10:00:00 %");
    CHECK_STR(call("format_time", 2, TM(0), S("%a")), "string:Thu");
    CHECK_STR(call("format_time", 2, TM(-86400), S("%a %m")), "string:Wed 12");
    CHECK_STR(call("format_time", 2, TM(0), S("")), "string:");
    CHECK_STR(call("format_time", 2, TM(0), S("%x")),
              "fail:format_time: the layout has %x; it knows %Y %m %d %H %M %S %a %b %%");
    CHECK_STR(call("format_time", 2, TM(0), S("50%")),
              "fail:format_time: the layout has a lone %; it knows %Y %m %d %H %M %S %a %b %%");
    CHECK_STR(call("days", 1, DU(86400 * 3 - 1)), "int:2");
    CHECK_STR(call("days", 1, DU(-86400 - 1)), "int:-1");
    CHECK_STR(call("days", 1, I(2)), "duration:2d");
    CHECK_STR(call("days", 1, I(INT64_MAX / 86400 + 1)), "fail:days: the duration is out of range");
    CHECK_STR(call("hours", 1, DU(5400)), "int:1");
    CHECK_STR(call("hours", 1, I(26)), "duration:1d 2h");
}

static void test_charges(void)
{
    char *big = malloc(64001);
    memset(big, 'a', 64000);
    big[64000] = '\0';
    ctx.charged = 0;
    call("len", 1, S(big));
    CHECK(ctx.charged == 1000);
    ctx.charged = 0;
    call("upper", 1, S(big));
    CHECK(ctx.charged >= 1000);
    ctx.charged = 0;
    call("contains", 2, L(3, I(1), I(2), I(3)), S("x"));
    CHECK(ctx.charged == 3);
    free(big);
    /* a failed allocation: -1 without a failure message */
    Arena saved = ctx.arena;
    arena_init(&ctx.arena, 8);
    Value result;
    ctx.failure[0] = '\0';
    int row = std_find("format_bytes", 12);
    CHECK(std_builtins[row].fn(&ctx.base, (Value[]){ BY(1) }, 1, &result) == -1 && ctx.failure[0] == '\0');
    arena_free(&ctx.arena);
    ctx.arena = saved;
}

int main(void)
{
    arena_init(&ctx.arena, 0);
    test_table();
    test_text();
    test_numbers();
    test_units_and_times();
    test_charges();
    arena_free(&ctx.arena);
    return testing_done();
}
