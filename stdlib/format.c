/*
 * format.c - values as text (format.h states the rules) and the RFC 3339
 * time parser.  Pure: no locale, no clock, no I/O.
 */
#include "format.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FMT_INITIAL_CAP 64

/* ------------------------------------------------------------ the buffer */

void fmt_init(FmtBuf *fb)
{
    fb->data = NULL;
    fb->len = fb->cap = 0;
    fb->truncated = false;
}

void fmt_free(FmtBuf *fb)
{
    free(fb->data);
    fmt_init(fb);
}

void fmt_reset(FmtBuf *fb)
{
    fb->len = 0;
    fb->truncated = false;
    if (fb->data) fb->data[0] = '\0';
}

/* Makes room for `more` bytes plus the NUL; false when it cannot (cut). */
static bool reserve(FmtBuf *fb, size_t more)
{
    if (fb->len + more + 1 <= fb->cap) return true;
    size_t want = fb->cap ? fb->cap : FMT_INITIAL_CAP;
    while (want < fb->len + more + 1) want *= 2;
    if (want > FMT_MAX + 1) want = FMT_MAX + 1;
    if (want <= fb->cap) return false;
    char *grown = realloc(fb->data, want);
    if (!grown) return false;
    fb->data = grown;
    fb->cap = want;
    return fb->len + more + 1 <= fb->cap;
}

void fmt_append(FmtBuf *fb, const char *text, size_t len)
{
    if (fb->truncated) return;
    if (len > FMT_MAX - fb->len) {
        len = FMT_MAX - fb->len;
        fb->truncated = true;
    }
    if (!reserve(fb, len)) {
        /* out of memory: keep what fits */
        size_t room = fb->cap > fb->len + 1 ? fb->cap - fb->len - 1 : 0;
        if (len > room) len = room;
        fb->truncated = true;
    }
    if (len) memcpy(fb->data + fb->len, text, len);
    fb->len += len;
    if (fb->data) fb->data[fb->len] = '\0';
}

static void append_str(FmtBuf *fb, const char *text) { fmt_append(fb, text, strlen(text)); }

static void appendf_int(FmtBuf *fb, int64_t value)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRId64, value);
    fmt_append(fb, buf, (size_t)n);
}

/* ------------------------------------------------------------------ units */

/* magnitude / unit with two decimals, rounded half up, trailing zeros dropped */
static void append_scaled(FmtBuf *fb, uint64_t magnitude, uint64_t unit, const char *suffix)
{
    uint64_t whole = magnitude / unit, rest = magnitude % unit;
    /* rest < unit <= 2^50, so rest * 100 cannot overflow */
    uint64_t hundredths = (rest * 100 + unit / 2) / unit;
    if (hundredths == 100) {
        whole++;
        hundredths = 0;
    }
    char buf[48];
    int n;
    if (hundredths == 0) n = snprintf(buf, sizeof buf, "%" PRIu64 " %s", whole, suffix);
    else if (hundredths % 10 == 0)
        n = snprintf(buf, sizeof buf, "%" PRIu64 ".%" PRIu64 " %s", whole, hundredths / 10, suffix);
    else n = snprintf(buf, sizeof buf, "%" PRIu64 ".%02" PRIu64 " %s", whole, hundredths, suffix);
    fmt_append(fb, buf, (size_t)n);
}

static void append_size(FmtBuf *fb, int64_t bytes, uint64_t base, const char *const *units, int nunits)
{
    uint64_t magnitude = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
    if (bytes < 0) fmt_append(fb, "-", 1);
    int u = 0;
    uint64_t unit = 1;
    while (u + 1 < nunits && magnitude >= unit * base) {
        unit *= base;
        u++;
    }
    /* 999.999 KB rounds to 1000 KB: say 1 MB instead */
    if (u + 1 < nunits && u > 0) {
        uint64_t whole = magnitude / unit, rest = magnitude % unit;
        if (whole == base - 1 && (rest * 100 + unit / 2) / unit == 100) {
            unit *= base;
            u++;
        }
    }
    append_scaled(fb, magnitude, unit, units[u]);
}

void fmt_bytes(FmtBuf *fb, int64_t bytes)
{
    static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB" };
    append_size(fb, bytes, 1000, units, 6);
}

void fmt_bytes_binary(FmtBuf *fb, int64_t bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    append_size(fb, bytes, 1024, units, 5);
}

/* a double with at most two decimals, trailing zeros dropped */
static void append_two_decimals(FmtBuf *fb, double value)
{
    char buf[400];
    if (!isfinite(value)) {
        append_str(fb, isnan(value) ? "nan" : value < 0 ? "-inf" : "inf");
        return;
    }
    int n = snprintf(buf, sizeof buf, "%.2f", value);
    if (n < 0 || (size_t)n >= sizeof buf) {
        fmt_float(fb, value);
        return;
    }
    while (n > 0 && buf[n - 1] == '0') n--;
    if (n > 0 && buf[n - 1] == '.') n--;
    buf[n] = '\0';
    if (strcmp(buf, "-0") == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    fmt_append(fb, buf, (size_t)n);
}

void fmt_percent(FmtBuf *fb, double percent)
{
    append_two_decimals(fb, percent);
    fmt_append(fb, "%", 1);
}

void fmt_duration(FmtBuf *fb, int64_t seconds)
{
    static const struct { const char *suffix; uint64_t size; } parts[] = {
        { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
    };
    if (seconds == 0) {
        fmt_append(fb, "0s", 2);
        return;
    }
    uint64_t left = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
    if (seconds < 0) fmt_append(fb, "-", 1);
    bool first = true;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        uint64_t n = left / parts[i].size;
        left %= parts[i].size;
        if (!n) continue;
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%s%" PRIu64 "%s", first ? "" : " ", n, parts[i].suffix);
        fmt_append(fb, buf, (size_t)len);
        first = false;
    }
}

/* ------------------------------------------------------------------ time */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void fmt_time(FmtBuf *fb, int64_t unix_seconds)
{
    int64_t days = unix_seconds / 86400, secs = unix_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    fmt_append(fb, buf, (size_t)n);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

static bool digits(const char *text, size_t len, size_t at, size_t n, int *out)
{
    if (at + n > len) return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[at + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

bool fmt_parse_time(const char *text, size_t len, int64_t *unix_seconds)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!digits(text, len, 0, 4, &y) || len < 10 || text[4] != '-' || !digits(text, len, 5, 2, &mo) ||
        text[7] != '-' || !digits(text, len, 8, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo)) return false;
    int64_t offset = 0;
    if (len > 10) {
        if (text[10] != 'T' && text[10] != 't') return false;
        if (len < 19 || !digits(text, len, 11, 2, &h) || text[13] != ':' ||
            !digits(text, len, 14, 2, &mi) || text[16] != ':' || !digits(text, len, 17, 2, &s))
            return false;
        if (h > 23 || mi > 59 || s > 59) return false;
        size_t at = 19;
        if (at < len && text[at] == '.') {
            at++;
            size_t start = at;
            while (at < len && text[at] >= '0' && text[at] <= '9') at++;
            if (at == start) return false;
        }
        if (at == len) return false;
        if (text[at] == 'Z' || text[at] == 'z') {
            at++;
        } else if (text[at] == '+' || text[at] == '-') {
            int oh, om;
            if (!digits(text, len, at + 1, 2, &oh) || at + 3 >= len || text[at + 3] != ':' ||
                !digits(text, len, at + 4, 2, &om) || oh > 23 || om > 59)
                return false;
            offset = (int64_t)(oh * 3600 + om * 60) * (text[at] == '-' ? -1 : 1);
            at += 6;
        } else {
            return false;
        }
        if (at != len) return false;
    }
    *unix_seconds = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s - offset;
    return true;
}

/* ----------------------------------------------------------------- values */

void fmt_float(FmtBuf *fb, double value)
{
    char buf[40];
    if (isnan(value)) {
        append_str(fb, "nan");
        return;
    }
    if (isinf(value)) {
        append_str(fb, value < 0 ? "-inf" : "inf");
        return;
    }
    /* at least as many digits as the integer part has, so that 100 reads
     * "100" and not "1e+02"; exponents only for very large or small values */
    int start = 1;
    for (double mag = fabs(value); mag >= 10 && mag < 1e16 && start < 17; mag /= 10) start++;
    for (int precision = start; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, value);
        if (strtod(buf, NULL) == value) break;
    }
    append_str(fb, buf);
}

#define FMT_MAX_DEPTH 64

static void format_value(FmtBuf *fb, const Value *value, int depth)
{
    if (depth > FMT_MAX_DEPTH) {
        append_str(fb, "...");
        return;
    }
    switch ((ValTag)value->tag) {
    case VAL_NIL: append_str(fb, "nil"); return;
    case VAL_BOOL: append_str(fb, value->as.b ? "true" : "false"); return;
    case VAL_INT: appendf_int(fb, value->as.i); return;
    case VAL_BYTES: fmt_bytes(fb, value->as.i); return;
    case VAL_DURATION: fmt_duration(fb, value->as.i); return;
    case VAL_TIME: fmt_time(fb, value->as.i); return;
    case VAL_FLOAT: fmt_float(fb, value->as.f); return;
    case VAL_PERCENT: fmt_percent(fb, value->as.f); return;
    case VAL_STR: fmt_append(fb, value->as.s->data, value->as.s->len); return;
    case VAL_LIST:
        for (uint32_t i = 0; i < value->as.l->len && !fb->truncated; i++) {
            if (i) fmt_append(fb, ", ", 2);
            format_value(fb, &value->as.l->items[i], depth + 1);
        }
        return;
    case VAL_RECORD: {
        const VRecord *r = value->as.r;
        if (r->len == 0) {
            append_str(fb, "{}");
            return;
        }
        append_str(fb, "{ ");
        for (uint32_t i = 0; i < r->len && !fb->truncated; i++) {
            if (i) fmt_append(fb, ", ", 2);
            fmt_append(fb, r->keys[i]->data, r->keys[i]->len);
            fmt_append(fb, ": ", 2);
            format_value(fb, &r->values[i], depth + 1);
        }
        append_str(fb, " }");
        return;
    }
    case VAL_NTAGS: break;
    }
    append_str(fb, "?");
}

void fmt_value(FmtBuf *fb, const Value *value) { format_value(fb, value, 0); }
