/*
 * test_format.c - values as text, by the rules of format.h, and the RFC 3339
 * parser, as tables of cases.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../stdlib/format.h"
#include "testing.h"

static FmtBuf fb;

#define FMT_CASE(call, want)   \
    do {                       \
        fmt_reset(&fb);        \
        call;                  \
        CHECK_STR(fb.data, want); \
    } while (0)

static void test_bytes(void)
{
    static const struct { int64_t in; const char *want; } cases[] = {
        { 0, "0 B" }, { 512, "512 B" }, { 999, "999 B" }, { 1000, "1 KB" }, { 1500, "1.5 KB" },
        { 800000000, "800 MB" }, { 1500000000, "1.5 GB" }, { 1234567, "1.23 MB" }, { 1235000, "1.24 MB" },
        { 999999, "1 MB" }, { 999994999, "999.99 MB" }, { 999995000, "1 GB" }, { 2000000000000, "2 TB" },
        { 1000000000000000, "1 PB" }, { INT64_MAX, "9223.37 PB" }, { -5000000, "-5 MB" },
        { INT64_MIN, "-9223.37 PB" }, { 1010000, "1.01 MB" }, { 1100000, "1.1 MB" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) FMT_CASE(fmt_bytes(&fb, cases[i].in), cases[i].want);
    static const struct { int64_t in; const char *want; } binary[] = {
        { 1023, "1023 B" }, { 1024, "1 KiB" }, { 1536, "1.5 KiB" }, { 1073741824, "1 GiB" },
        { 1500000000, "1.4 GiB" }, { 1099511627776LL * 2048, "2048 TiB" },
    };
    for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++)
        FMT_CASE(fmt_bytes_binary(&fb, binary[i].in), binary[i].want);
}

static void test_percent_duration(void)
{
    FMT_CASE(fmt_percent(&fb, 80), "80%");
    FMT_CASE(fmt_percent(&fb, 12.5), "12.5%");
    FMT_CASE(fmt_percent(&fb, 33.3333), "33.33%");
    FMT_CASE(fmt_percent(&fb, 0.004), "0%");
    FMT_CASE(fmt_percent(&fb, -0.001), "0%");
    FMT_CASE(fmt_percent(&fb, 100.999), "101%");
    FMT_CASE(fmt_percent(&fb, -7.25), "-7.25%");
    static const struct { int64_t in; const char *want; } cases[] = {
        { 0, "0s" }, { 90, "1m 30s" }, { 86400, "1d" }, { 93600, "1d 2h" }, { 604800, "7d" },
        { 1209600 + 61, "14d 1m 1s" }, { 30 * 86400, "30d" }, { -90, "-1m 30s" }, { 59, "59s" },
        { INT64_MIN, "-106751991167300d 15h 30m 8s" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) FMT_CASE(fmt_duration(&fb, cases[i].in), cases[i].want);
}

static void test_time(void)
{
    static const struct { int64_t in; const char *want; } cases[] = {
        { 0, "1970-01-01T00:00:00Z" }, { 1796464800, "2026-12-05T10:00:00Z" }, { -1, "1969-12-31T23:59:59Z" },
        { 951782400, "2000-02-29T00:00:00Z" }, { 253402300799, "9999-12-31T23:59:59Z" },
        { -62135596800, "0001-01-01T00:00:00Z" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) FMT_CASE(fmt_time(&fb, cases[i].in), cases[i].want);
    fmt_reset(&fb);
    fmt_time(&fb, INT64_MAX);   /* far future: no crash, some text */
    CHECK(fb.len > 10);
    fmt_reset(&fb);
    fmt_time(&fb, INT64_MIN);
    CHECK(fb.len > 10);

    static const struct { const char *in; int64_t want; } good[] = {
        { "2026-12-05T10:00:00Z", 1796464800 }, { "2026-12-05t10:00:00z", 1796464800 },
        { "2026-12-05T12:00:00+02:00", 1796464800 }, { "2026-12-05T09:30:00-00:30", 1796464800 },
        { "2026-12-05T10:00:00.123Z", 1796464800 }, { "2026-12-05", 1796428800 },
        { "2024-02-29", 1709164800 }, { "1970-01-01T00:00:00Z", 0 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t t = -1;
        CHECK(fmt_parse_time(good[i].in, strlen(good[i].in), &t) && t == good[i].want);
    }
    static const char *const bad[] = {
        "", "2026", "2026-13-01", "2026-02-29", "2025-04-31", "2026-12-05T10:00:00", "2026-12-05T24:00:00Z",
        "2026-12-05T10:60:00Z", "2026-12-05T10:00:60Z", "2026-12-05 10:00:00Z", "2026-12-05T10:00:00+2:00",
        "2026-12-05T10:00:00.Z", "2026-12-05T10:00:00Zjunk", "26-12-05", "2026-12-5", "2026-12-05T10:00Z",
        "2026-00-10", "2026-01-00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        if (fmt_parse_time(bad[i], strlen(bad[i]), &t)) {
            testing_failed++;
            fprintf(stderr, "parsed \"%s\"\n", bad[i]);
        } else {
            testing_passed++;
        }
    }
}

static void test_float_and_values(void)
{
    FMT_CASE(fmt_float(&fb, 0.1), "0.1");
    FMT_CASE(fmt_float(&fb, 3.5), "3.5");
    FMT_CASE(fmt_float(&fb, 1e20), "1e+20");
    FMT_CASE(fmt_float(&fb, 3), "3");
    FMT_CASE(fmt_float(&fb, 100), "100");          /* not 1e+02 */
    FMT_CASE(fmt_float(&fb, 1234.5), "1234.5");
    FMT_CASE(fmt_float(&fb, 1e15), "1000000000000000");
    FMT_CASE(fmt_float(&fb, 1e16), "1e+16");
    FMT_CASE(fmt_float(&fb, 1e-7), "1e-07");
    FMT_CASE(fmt_float(&fb, -0.25), "-0.25");
    FMT_CASE(fmt_float(&fb, 1.0 / 3), "0.3333333333333333");
    FMT_CASE(fmt_float(&fb, INFINITY), "inf");
    FMT_CASE(fmt_float(&fb, NAN), "nan");
    for (double x = 1e-7; x < 1e7; x *= 3.7) {
        fmt_reset(&fb);
        fmt_float(&fb, x);
        CHECK(strtod(fb.data, NULL) == x);
    }

    Value v = val_integral(VAL_INT, -42);
    FMT_CASE(fmt_value(&fb, &v), "-42");
    v = val_bool(true);
    FMT_CASE(fmt_value(&fb, &v), "true");
    v = val_nil();
    FMT_CASE(fmt_value(&fb, &v), "nil");
    v = val_integral(VAL_BYTES, 800000000);
    FMT_CASE(fmt_value(&fb, &v), "800 MB");
    v = val_real(VAL_PERCENT, 80);
    FMT_CASE(fmt_value(&fb, &v), "80%");
    v = val_integral(VAL_DURATION, 86400);
    FMT_CASE(fmt_value(&fb, &v), "1d");
    v = val_integral(VAL_TIME, 1796464800);
    FMT_CASE(fmt_value(&fb, &v), "2026-12-05T10:00:00Z");

    struct { VStr s; char data[8]; } a = { { 1 }, "a" }, key = { { 3 }, "pct" };
    VList *list = malloc(sizeof(VList) + 3 * sizeof(Value));
    list->len = 3;
    list->items[0] = val_str(&a.s);
    list->items[1] = val_integral(VAL_BYTES, 1500);
    list->items[2] = val_real(VAL_FLOAT, 0.5);
    v = val_list(list);
    FMT_CASE(fmt_value(&fb, &v), "a, 1.5 KB, 0.5");
    const VStr *keys[2] = { &key.s, &a.s };
    VRecord *rec = malloc(sizeof(VRecord) + 2 * sizeof(Value));
    rec->len = 2;
    rec->keys = keys;
    rec->values[0] = val_real(VAL_PERCENT, 12.5);
    rec->values[1] = v;
    Value r = val_record(rec);
    FMT_CASE(fmt_value(&fb, &r), "{ pct: 12.5%, a: a, 1.5 KB, 0.5 }");
    rec->len = 0;
    FMT_CASE(fmt_value(&fb, &r), "{}");
    list->len = 0;
    FMT_CASE(fmt_value(&fb, &v), "");
    free(list);
    free(rec);
}

static void test_limits(void)
{
    /* past FMT_MAX the text is cut and says so */
    size_t chunk = 1 << 20;
    char *big = malloc(chunk);
    memset(big, 'x', chunk);
    fmt_reset(&fb);
    for (int i = 0; i < 16; i++) fmt_append(&fb, big, chunk);
    CHECK(fb.len == FMT_MAX && !fb.truncated);
    fmt_append(&fb, "y", 1);
    CHECK(fb.len == FMT_MAX && fb.truncated && fb.data[FMT_MAX] == '\0');
    fmt_reset(&fb);
    CHECK(fb.len == 0 && !fb.truncated);
    free(big);
    fmt_free(&fb);
    fmt_init(&fb);
}

int main(void)
{
    fmt_init(&fb);
    test_bytes();
    test_percent_duration();
    test_time();
    test_float_and_values();
    test_limits();
    fmt_free(&fb);
    return testing_done();
}
