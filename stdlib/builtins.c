/*
 * builtins.c - the built-in functions: the table of builtins.h and their
 * implementations.  Each function may assume its arguments fit the row's
 * parameter types (the VM checks with std_accepts before the call); items of
 * lists are checked here, since a list's tag says nothing of its items.
 *
 * Text functions treat strings as UTF-8: len counts code points; lower and
 * upper change ASCII letters only (other letters are left as they are); trim
 * removes ASCII white space (space, \t \n \v \f \r) at both ends.
 */
#include "builtins.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

/* ----------------------------------------------------------------- helpers */

const VStr *std_make_str(StdCtx *ctx, const char *text, size_t len)
{
    if (len >= UINT32_MAX) return NULL;
    VStr *s = ctx->alloc(ctx, sizeof(VStr) + len + 1);
    if (!s) return NULL;
    s->len = (uint32_t)len;
    if (len) memcpy(s->data, text, len);
    s->data[len] = '\0';
    return s;
}

bool std_accepts(const Type *param, const Value *value)
{
    switch (param->kind) {
    case TY_BOOL: return value->tag == VAL_BOOL;
    case TY_INT: return value->tag == VAL_INT;
    case TY_FLOAT: return value->tag == VAL_FLOAT || value->tag == VAL_INT;
    case TY_STRING:
    case TY_EMAIL:
    case TY_URL: return value->tag == VAL_STR;
    case TY_BYTES: return value->tag == VAL_BYTES;
    case TY_PERCENT: return value->tag == VAL_PERCENT;
    case TY_DURATION: return value->tag == VAL_DURATION;
    case TY_TIME: return value->tag == VAL_TIME;
    case TY_LIST: return value->tag == VAL_LIST;
    case TY_RECORD: return value->tag == VAL_RECORD;
    default: return false;
    }
}

static void charge_bytes(StdCtx *ctx, size_t bytes) { ctx->charge(ctx, bytes / STD_BYTES_PER_CHARGE); }

static int fail_f(StdCtx *ctx, const char *fmt, const char *what)
{
    char message[160];
    snprintf(message, sizeof message, fmt, what);
    return ctx->fail(ctx, message);
}

static int set_str(StdCtx *ctx, const char *text, size_t len, Value *out)
{
    const VStr *s = std_make_str(ctx, text, len);
    if (!s) return -1;
    *out = val_str(s);
    return 0;
}

static double num(const Value *v) { return v->tag == VAL_INT ? (double)v->as.i : v->as.f; }

/* A double rounded to an int64, or -1 after fail when out of range. */
static int to_int(StdCtx *ctx, double x, const char *name, int64_t *out)
{
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
        return fail_f(ctx, "%s: the result is out of the range of int", name);
    *out = (int64_t)x;
    return 0;
}

/* ------------------------------------------------------------------- text */

static int fn_len_str(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VStr *s = args[0].as.s;
    int64_t n = 0;
    for (uint32_t i = 0; i < s->len; i++) n += ((unsigned char)s->data[i] & 0xc0) != 0x80;
    charge_bytes(ctx, s->len);
    *out = val_integral(VAL_INT, n);
    return 0;
}

static int fn_len_list(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    *out = val_integral(VAL_INT, args[0].as.l->len);
    return 0;
}

static int change_case(StdCtx *ctx, const Value *args, Value *out, bool upper)
{
    const VStr *s = args[0].as.s;
    charge_bytes(ctx, s->len);
    VStr *r = (VStr *)std_make_str(ctx, s->data, s->len);
    if (!r) return -1;
    for (uint32_t i = 0; i < r->len; i++) {
        char c = r->data[i];
        if (upper && c >= 'a' && c <= 'z') r->data[i] = (char)(c - 'a' + 'A');
        if (!upper && c >= 'A' && c <= 'Z') r->data[i] = (char)(c - 'A' + 'a');
    }
    *out = val_str(r);
    return 0;
}

static int fn_lower(StdCtx *ctx, const Value *args, int nargs, Value *out) { return change_case(ctx, args, out, false); }
static int fn_upper(StdCtx *ctx, const Value *args, int nargs, Value *out) { return change_case(ctx, args, out, true); }

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int fn_trim(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VStr *s = args[0].as.s;
    uint32_t start = 0, end = s->len;
    while (start < end && is_space(s->data[start])) start++;
    while (end > start && is_space(s->data[end - 1])) end--;
    charge_bytes(ctx, s->len);
    if (start == 0 && end == s->len) {
        *out = args[0];
        return 0;
    }
    return set_str(ctx, s->data + start, end - start, out);
}

/* The first position of needle in hay at or after `from`, or -1. */
static int64_t find(const VStr *hay, const VStr *needle, uint32_t from)
{
    if (needle->len == 0) return from;
    if (needle->len > hay->len) return -1;
    for (uint32_t i = from; i + needle->len <= hay->len; i++)
        if (hay->data[i] == needle->data[0] && memcmp(hay->data + i, needle->data, needle->len) == 0)
            return i;
    return -1;
}

static int fn_contains_str(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VStr *hay = args[0].as.s, *needle = args[1].as.s;
    charge_bytes(ctx, (size_t)hay->len * (needle->len > 64 ? needle->len / 64 + 1 : 1));
    *out = val_bool(find(hay, needle, 0) >= 0);
    return 0;
}

static int fn_contains_list(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VList *l = args[0].as.l;
    ctx->charge(ctx, l->len);
    bool found = false;
    for (uint32_t i = 0; i < l->len && !found; i++) found = val_equal(&l->items[i], &args[1]);
    *out = val_bool(found);
    return 0;
}

static int fn_starts_with(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VStr *s = args[0].as.s, *p = args[1].as.s;
    charge_bytes(ctx, p->len);
    *out = val_bool(p->len <= s->len && memcmp(s->data, p->data, p->len) == 0);
    return 0;
}

static int fn_ends_with(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VStr *s = args[0].as.s, *p = args[1].as.s;
    charge_bytes(ctx, p->len);
    *out = val_bool(p->len <= s->len && memcmp(s->data + s->len - p->len, p->data, p->len) == 0);
    return 0;
}

/* Bytes of the UTF-8 sequence starting with c (1 for a stray byte). */
static uint32_t utf8_width(unsigned char c)
{
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* split(s, ""): one item per code point; otherwise the pieces between seps. */
static int fn_split(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VStr *s = args[0].as.s, *sep = args[1].as.s;
    charge_bytes(ctx, s->len);
    uint32_t n = 0;
    if (sep->len == 0) {
        for (uint32_t i = 0; i < s->len; i += utf8_width((unsigned char)s->data[i])) n++;
    } else {
        n = 1;
        for (int64_t at = find(s, sep, 0); at >= 0; at = find(s, sep, (uint32_t)at + sep->len)) n++;
    }
    ctx->charge(ctx, n);
    VList *l = ctx->alloc(ctx, sizeof(VList) + (size_t)n * sizeof(Value));
    if (!l) return -1;
    l->len = n;
    uint32_t start = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t end;
        if (sep->len == 0) {
            end = start + utf8_width((unsigned char)s->data[start]);
            if (end > s->len) end = s->len;
        } else {
            int64_t at = k + 1 < n ? find(s, sep, start) : -1;
            end = at >= 0 ? (uint32_t)at : s->len;
        }
        const VStr *piece = std_make_str(ctx, s->data + start, end - start);
        if (!piece) return -1;
        l->items[k] = val_str(piece);
        start = end + (sep->len ? sep->len : 0);
    }
    *out = val_list(l);
    return 0;
}

static int fn_join(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    const VList *l = args[0].as.l;
    const VStr *sep = args[1].as.s;
    uint64_t total = 0;
    for (uint32_t i = 0; i < l->len; i++) {
        if (l->items[i].tag != VAL_STR) return ctx->fail(ctx, "join: the list holds a value that is not a string");
        total += l->items[i].as.s->len + (i ? sep->len : 0);
    }
    ctx->charge(ctx, l->len);
    charge_bytes(ctx, total);
    if (total >= UINT32_MAX) return -1;
    VStr *r = ctx->alloc(ctx, sizeof(VStr) + total + 1);
    if (!r) return -1;
    size_t at = 0;
    for (uint32_t i = 0; i < l->len; i++) {
        if (i) {
            memcpy(r->data + at, sep->data, sep->len);
            at += sep->len;
        }
        memcpy(r->data + at, l->items[i].as.s->data, l->items[i].as.s->len);
        at += l->items[i].as.s->len;
    }
    r->len = (uint32_t)total;
    r->data[total] = '\0';
    *out = val_str(r);
    return 0;
}

/* ---------------------------------------------------------------- numbers */

static int fn_round(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    int64_t n = 0;
    if (to_int(ctx, round(num(&args[0])), "round", &n) < 0) return -1;
    *out = val_integral(VAL_INT, n);
    return 0;
}

static int fn_round_percent(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    *out = val_real(VAL_PERCENT, round(args[0].as.f));
    return 0;
}

static int fn_floor(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    int64_t n = 0;
    if (to_int(ctx, floor(num(&args[0])), "floor", &n) < 0) return -1;
    *out = val_integral(VAL_INT, n);
    return 0;
}

static int fn_ceil(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    int64_t n = 0;
    if (to_int(ctx, ceil(num(&args[0])), "ceil", &n) < 0) return -1;
    *out = val_integral(VAL_INT, n);
    return 0;
}

/* min and max of two values of one tag (int bytes duration time percent) */
static int pick(const Value *args, Value *out, bool want_max)
{
    bool first;
    if (val_is_integral(args[0].tag)) first = want_max ? args[0].as.i >= args[1].as.i : args[0].as.i <= args[1].as.i;
    else first = want_max ? args[0].as.f >= args[1].as.f : args[0].as.f <= args[1].as.f;
    *out = args[first ? 0 : 1];
    return 0;
}

static int fn_min(StdCtx *ctx, const Value *args, int nargs, Value *out) { return pick(args, out, false); }
static int fn_max(StdCtx *ctx, const Value *args, int nargs, Value *out) { return pick(args, out, true); }

static int fn_min_float(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    *out = val_real(VAL_FLOAT, fmin(num(&args[0]), num(&args[1])));
    return 0;
}

static int fn_max_float(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    *out = val_real(VAL_FLOAT, fmax(num(&args[0]), num(&args[1])));
    return 0;
}

static int fn_abs(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    if (val_is_integral(args[0].tag)) {
        if (args[0].as.i == INT64_MIN) return ctx->fail(ctx, "abs: the result is out of range");
        *out = val_integral(args[0].tag, args[0].as.i < 0 ? -args[0].as.i : args[0].as.i);
    } else {
        *out = val_real(args[0].tag == VAL_INT ? VAL_FLOAT : args[0].tag, fabs(num(&args[0])));
    }
    return 0;
}

static int fn_abs_float(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    *out = val_real(VAL_FLOAT, fabs(num(&args[0])));
    return 0;
}

/* ------------------------------------------------------- units and times */

static int fn_format_bytes(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    FmtBuf fb;
    fmt_init(&fb);
    if (nargs > 1 && args[1].as.b) fmt_bytes_binary(&fb, args[0].as.i);
    else fmt_bytes(&fb, args[0].as.i);
    int rc = set_str(ctx, fb.data, fb.len, out);
    fmt_free(&fb);
    return rc;
}

static const char *const weekday_names[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Appends the part of an RFC 3339 text (fmt_time's) a directive names. */
static bool format_directive(FmtBuf *fb, char directive, const char *rfc, int64_t t)
{
    /* rfc: YYYY-MM-DDTHH:MM:SSZ, the year possibly longer or signed */
    size_t ylen = strlen(rfc) - 16;
    const char *rest = rfc + ylen;   /* "-MM-DDTHH:MM:SSZ" */
    switch (directive) {
    case 'Y': fmt_append(fb, rfc, ylen); return true;
    case 'm': fmt_append(fb, rest + 1, 2); return true;
    case 'd': fmt_append(fb, rest + 4, 2); return true;
    case 'H': fmt_append(fb, rest + 7, 2); return true;
    case 'M': fmt_append(fb, rest + 10, 2); return true;
    case 'S': fmt_append(fb, rest + 13, 2); return true;
    case 'a': {
        int64_t days = t / 86400 - (t % 86400 < 0);
        fmt_append(fb, weekday_names[((days % 7) + 7) % 7], 3);
        return true;
    }
    case 'b': {
        int month = (rest[1] - '0') * 10 + (rest[2] - '0');
        fmt_append(fb, month_names[(month - 1) % 12], 3);
        return true;
    }
    case '%': fmt_append(fb, "%", 1); return true;
    default: return false;
    }
}

static int fn_format_time(StdCtx *ctx, const Value *args, int nargs, Value *out)
{
    FmtBuf fb;
    fmt_init(&fb);
    fmt_time(&fb, args[0].as.i);
    if (nargs < 2) {
        int rc = set_str(ctx, fb.data, fb.len, out);
        fmt_free(&fb);
        return rc;
    }
    char rfc[64];
    snprintf(rfc, sizeof rfc, "%s", fb.data);
    fmt_reset(&fb);
    const VStr *layout = args[1].as.s;
    charge_bytes(ctx, (size_t)layout->len * 8);
    for (uint32_t i = 0; i < layout->len; i++) {
        if (layout->data[i] != '%') {
            fmt_append(&fb, &layout->data[i], 1);
            continue;
        }
        char directive = i + 1 < layout->len ? layout->data[++i] : '\0';
        if (!format_directive(&fb, directive, rfc, args[0].as.i)) {
            fmt_free(&fb);
            char what[8];
            snprintf(what, sizeof what, "%%%c", directive >= ' ' && directive < 127 ? directive : '?');
            return fail_f(ctx, "format_time: the layout has %s; it knows %%Y %%m %%d %%H %%M %%S %%a %%b %%%%", directive ? what : "a lone %");
        }
    }
    int rc = set_str(ctx, fb.data ? fb.data : "", fb.len, out);
    fmt_free(&fb);
    return rc;
}

static int unit_of(StdCtx *ctx, const Value *args, Value *out, int64_t size, const char *name)
{
    if (args[0].tag == VAL_DURATION) {
        *out = val_integral(VAL_INT, args[0].as.i / size);   /* C division: toward zero */
        return 0;
    }
    if (args[0].as.i > INT64_MAX / size || args[0].as.i < INT64_MIN / size)
        return fail_f(ctx, "%s: the duration is out of range", name);
    *out = val_integral(VAL_DURATION, args[0].as.i * size);
    return 0;
}

static int fn_days(StdCtx *ctx, const Value *args, int nargs, Value *out) { return unit_of(ctx, args, out, 86400, "days"); }
static int fn_hours(StdCtx *ctx, const Value *args, int nargs, Value *out) { return unit_of(ctx, args, out, 3600, "hours"); }

/* ------------------------------------------------------------------ table */

#define P1(a) { a, NULL, NULL }
#define P2(a, b) { a, b, NULL }
#define LIST_ANY (&ty_empty_list)

/* The float rows of min, max and abs name their result: with ret NULL, an int
 * first argument (accepted where float is expected) would type the result. */
const StdBuiltin std_builtins[] = {
    { "len", 1, 0, P1(&ty_string), &ty_int, fn_len_str, "the number of characters (code points) of a string" },
    { "len", 1, 0, P1(LIST_ANY), &ty_int, fn_len_list, "the number of items of a list" },
    { "lower", 1, 0, P1(&ty_string), &ty_string, fn_lower, "the string with ASCII letters in lower case" },
    { "upper", 1, 0, P1(&ty_string), &ty_string, fn_upper, "the string with ASCII letters in upper case" },
    { "trim", 1, 0, P1(&ty_string), &ty_string, fn_trim, "the string without white space at either end" },
    { "contains", 2, 0, P2(&ty_string, &ty_string), &ty_bool, fn_contains_str, "whether the second string occurs in the first" },
    { "contains", 2, 0, P2(LIST_ANY, &ty_string), &ty_bool, fn_contains_list, "whether the list holds the string" },
    { "starts_with", 2, 0, P2(&ty_string, &ty_string), &ty_bool, fn_starts_with, "whether the string begins with the prefix" },
    { "ends_with", 2, 0, P2(&ty_string, &ty_string), &ty_bool, fn_ends_with, "whether the string ends with the suffix" },
    { "split", 2, 0, P2(&ty_string, &ty_string), &ty_list_string, fn_split, "the pieces between separators (\"\": one per character)" },
    { "join", 2, 0, P2(&ty_list_string, &ty_string), &ty_string, fn_join, "the strings joined by the separator" },
    { "round", 1, 0, P1(&ty_float), &ty_int, fn_round, "the nearest int, halves away from zero" },
    { "round", 1, 0, P1(&ty_percent), &ty_percent, fn_round_percent, "the nearest whole percent, halves away from zero" },
    { "floor", 1, 0, P1(&ty_float), &ty_int, fn_floor, "the greatest int not above the number" },
    { "ceil", 1, 0, P1(&ty_float), &ty_int, fn_ceil, "the least int not below the number" },
    { "min", 2, 0, P2(&ty_int, &ty_int), &ty_int, fn_min, "the smaller of two ints" },
    { "min", 2, 0, P2(&ty_float, &ty_float), &ty_float, fn_min_float, "the smaller of two numbers" },
    { "min", 2, 0, P2(&ty_bytes, &ty_bytes), NULL, fn_min, "the smaller of two data sizes" },
    { "min", 2, 0, P2(&ty_percent, &ty_percent), NULL, fn_min, "the smaller of two percents" },
    { "min", 2, 0, P2(&ty_duration, &ty_duration), NULL, fn_min, "the shorter of two durations" },
    { "min", 2, 0, P2(&ty_time, &ty_time), NULL, fn_min, "the earlier of two times" },
    { "max", 2, 0, P2(&ty_int, &ty_int), &ty_int, fn_max, "the larger of two ints" },
    { "max", 2, 0, P2(&ty_float, &ty_float), &ty_float, fn_max_float, "the larger of two numbers" },
    { "max", 2, 0, P2(&ty_bytes, &ty_bytes), NULL, fn_max, "the larger of two data sizes" },
    { "max", 2, 0, P2(&ty_percent, &ty_percent), NULL, fn_max, "the larger of two percents" },
    { "max", 2, 0, P2(&ty_duration, &ty_duration), NULL, fn_max, "the longer of two durations" },
    { "max", 2, 0, P2(&ty_time, &ty_time), NULL, fn_max, "the later of two times" },
    { "abs", 1, 0, P1(&ty_int), &ty_int, fn_abs, "the magnitude of an int" },
    { "abs", 1, 0, P1(&ty_float), &ty_float, fn_abs_float, "the magnitude of a number" },
    { "abs", 1, 0, P1(&ty_bytes), NULL, fn_abs, "the magnitude of a data size" },
    { "abs", 1, 0, P1(&ty_duration), NULL, fn_abs, "the magnitude of a duration" },
    { "abs", 1, 0, P1(&ty_percent), NULL, fn_abs, "the magnitude of a percent" },
    { "format_bytes", 1, 1, P2(&ty_bytes, &ty_bool), &ty_string, fn_format_bytes, "a data size as text: 1.5 GB, or 1.4 GiB when binary is true" },
    { "format_time", 1, 1, P2(&ty_time, &ty_string), &ty_string, fn_format_time, "a time as RFC 3339 text, or by a layout of %Y %m %d %H %M %S %a %b %%" },
    { "days", 1, 0, P1(&ty_duration), &ty_int, fn_days, "the whole days of a duration, toward zero" },
    { "days", 1, 0, P1(&ty_int), &ty_duration, fn_days, "a duration of n days" },
    { "hours", 1, 0, P1(&ty_duration), &ty_int, fn_hours, "the whole hours of a duration, toward zero" },
    { "hours", 1, 0, P1(&ty_int), &ty_duration, fn_hours, "a duration of n hours" },
};
const int std_nbuiltins = (int)(sizeof std_builtins / sizeof std_builtins[0]);

int std_find(const char *name, size_t len)
{
    for (int i = 0; i < std_nbuiltins; i++)
        if (strlen(std_builtins[i].name) == len && memcmp(std_builtins[i].name, name, len) == 0) return i;
    return -1;
}
