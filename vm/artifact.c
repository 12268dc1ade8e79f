/*
 * artifact.c - the artifact's bytes (spec/artifact.md): the deterministic
 * encoder, the decoding and verifying loader, the line table and the
 * disassembler.  The loader trusts nothing: every count, length, index and
 * operand is checked before an artifact is handed out, so that the VM may
 * rely on the verified invariants without checking them again.
 */
#include "artifact.h"

#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/builtins.h"
#include "../stdlib/format.h"
#include "../stdlib/types.h"
#include "opcodes.h"

const uint8_t art_action_nargs[ACT_NACTIONS] = {
    [ACT_EMAIL] = 1 + EMAIL_NFIELDS,
    [ACT_WEBHOOK] = 2,
    [ACT_SUSPEND] = 0,
    [ACT_RESUME] = 0,
    [ACT_TOPUP] = 1,
    [ACT_RENEW] = 0,
    [ACT_TAG] = 1,
    [ACT_UNTAG] = 1,
};

/* Sections, in the one order they appear. */
enum { SEC_HEAD = 1, SEC_META, SEC_INPUTS, SEC_IMPORTS, SEC_CONSTANTS, SEC_FUNCTIONS, SEC_COUNT };
static const char *const section_names[SEC_COUNT] = {
    "", "head", "metadata", "inputs", "imports", "constants", "functions"
};

#define HEADER_BYTES 16     /* magic, format version, file length */
#define CHECKSUM_BYTES 32

static void sha256(const uint8_t *bytes, size_t len, uint8_t digest[32])
{
    unsigned int n = 32;
    EVP_Digest(bytes, len, digest, &n, EVP_sha256(), NULL);
}

/* ================================================================ encoder */

typedef struct Writer {
    uint8_t *data;
    size_t len, cap;
    bool failed;
    char *err;
    size_t errlen;
} Writer;

static void put(Writer *w, const void *bytes, size_t n)
{
    if (w->failed) return;
    if (w->len + n > ART_MAX_BYTES) {
        snprintf(w->err, w->errlen, "the artifact would exceed %u bytes", ART_MAX_BYTES);
        w->failed = true;
        return;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        while (cap < w->len + n) cap *= 2;
        uint8_t *grown = realloc(w->data, cap);
        if (!grown) {
            snprintf(w->err, w->errlen, "out of memory");
            w->failed = true;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    if (n) memcpy(w->data + w->len, bytes, n);
    w->len += n;
}

static void put_u8(Writer *w, uint8_t v) { put(w, &v, 1); }

static void put_u32(Writer *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put(w, b, 4);
}

static void put_u64(Writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_i32(Writer *w, int32_t v) { put_u32(w, (uint32_t)v); }
static void put_i64(Writer *w, int64_t v) { put_u64(w, (uint64_t)v); }

static void put_f64(Writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put_u64(w, bits);
}

static void put_strn(Writer *w, const char *s, size_t n)
{
    if (n > ART_MAX_STRING) {
        if (!w->failed) snprintf(w->err, w->errlen, "a string of %zu bytes exceeds %u", n, ART_MAX_STRING);
        w->failed = true;
        return;
    }
    put_u32(w, (uint32_t)n);
    put(w, s, n);
}

static void put_str(Writer *w, const char *s) { put_strn(w, s ? s : "", s ? strlen(s) : 0); }

static void put_value(Writer *w, const Value *v, int depth)
{
    if (depth > ART_MAX_NESTING) {
        if (!w->failed) snprintf(w->err, w->errlen, "a constant nests deeper than %d", ART_MAX_NESTING);
        w->failed = true;
        return;
    }
    put_u8(w, (uint8_t)v->tag);
    switch ((ValTag)v->tag) {
    case VAL_NIL: break;
    case VAL_BOOL: put_u8(w, v->as.b ? 1 : 0); break;
    case VAL_INT:
    case VAL_BYTES:
    case VAL_DURATION:
    case VAL_TIME: put_i64(w, v->as.i); break;
    case VAL_FLOAT:
    case VAL_PERCENT: put_f64(w, v->as.f); break;
    case VAL_STR: put_strn(w, v->as.s->data, v->as.s->len); break;
    case VAL_LIST:
        put_u32(w, v->as.l->len);
        for (uint32_t i = 0; i < v->as.l->len; i++) put_value(w, &v->as.l->items[i], depth + 1);
        break;
    case VAL_RECORD:
        put_u32(w, v->as.r->len);
        for (uint32_t i = 0; i < v->as.r->len; i++) {
            put_strn(w, v->as.r->keys[i]->data, v->as.r->keys[i]->len);
            put_value(w, &v->as.r->values[i], depth + 1);
        }
        break;
    default:
        if (!w->failed) snprintf(w->err, w->errlen, "a constant has the unknown tag %u", (unsigned)v->tag);
        w->failed = true;
    }
}

/* Sections are written with a placeholder length, patched at the end. */
static size_t begin_section(Writer *w, uint32_t id)
{
    put_u32(w, id);
    put_u32(w, 0);
    return w->len;
}

static void end_section(Writer *w, size_t start)
{
    if (w->failed) return;
    uint32_t n = (uint32_t)(w->len - start);
    uint8_t *at = w->data + start - 4;
    at[0] = (uint8_t)n, at[1] = (uint8_t)(n >> 8), at[2] = (uint8_t)(n >> 16), at[3] = (uint8_t)(n >> 24);
}

static int check_bounds(const Artifact *art, char *err, size_t errlen)
{
    if (art->nfunctions > ART_MAX_FUNCTIONS) return snprintf(err, errlen, "more than %d functions", ART_MAX_FUNCTIONS), -1;
    if (art->nconstants > ART_MAX_CONSTANTS) return snprintf(err, errlen, "more than %d constants", ART_MAX_CONSTANTS), -1;
    if (art->ninputs > ART_MAX_INPUTS) return snprintf(err, errlen, "more than %d inputs", ART_MAX_INPUTS), -1;
    if (art->nimports > ART_MAX_IMPORTS) return snprintf(err, errlen, "more than %d imports", ART_MAX_IMPORTS), -1;
    if (art->nscope_items > ART_MAX_SCOPE_ITEMS) return snprintf(err, errlen, "more than %d scope items", ART_MAX_SCOPE_ITEMS), -1;
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        if (art->functions[f].ncode > ART_MAX_CODE)
            return snprintf(err, errlen, "function %u has more than %d instructions", f, ART_MAX_CODE), -1;
        if (art->functions[f].nregs > ART_MAX_REGISTERS)
            return snprintf(err, errlen, "function %u has more than %d registers", f, ART_MAX_REGISTERS), -1;
    }
    return 0;
}

int art_encode(const Artifact *art, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    if (check_bounds(art, err, errlen) < 0) return -1;
    if (strnlen(art->compiler_version, sizeof art->compiler_version) == sizeof art->compiler_version) {
        snprintf(err, errlen, "the compiler version is not NUL-terminated");
        return -1;
    }
    Writer w = { .err = err, .errlen = errlen };
    put(&w, ART_MAGIC, 8);
    put_u32(&w, ART_FORMAT_VERSION);
    put_u32(&w, 0);   /* the file's length, patched below */

    size_t sec = begin_section(&w, SEC_HEAD);
    put_u8(&w, (uint8_t)art->kind);
    put_strn(&w, art->compiler_version, strnlen(art->compiler_version, sizeof art->compiler_version));
    put(&w, art->source_sha256, 32);
    put_str(&w, art->source_name);
    put_u32(&w, art->source_first_line);
    put_str(&w, art->source_text);
    put_str(&w, art->name);
    put_str(&w, art->title);
    end_section(&w, sec);

    sec = begin_section(&w, SEC_META);
    put_str(&w, art->event);
    put_i32(&w, art->at_minutes);
    put_str(&w, art->cron);
    put_u8(&w, (uint8_t)art->scope);
    put_u32(&w, art->nscope_items);
    for (uint32_t i = 0; i < art->nscope_items; i++) put_str(&w, art->scope_items[i]);
    put_u8(&w, (uint8_t)art->repeat);
    put_i64(&w, art->repeat_after);
    put_u8(&w, (uint8_t)((art->has_active_from ? 1 : 0) | (art->has_active_until ? 2 : 0)));
    put_i64(&w, art->active_from);
    put_i64(&w, art->active_until);
    put_i64(&w, art->active_for);
    put_i32(&w, art->fn_do);
    put_i32(&w, art->fn_when);
    put_i32(&w, art->fn_rearm);
    put_i32(&w, art->fn_date);
    put_str(&w, art->signature);
    put_i32(&w, art->fn_sub);
    end_section(&w, sec);

    sec = begin_section(&w, SEC_INPUTS);
    put_u32(&w, art->ninputs);
    for (uint32_t i = 0; i < art->ninputs; i++) {
        put_str(&w, art->inputs[i].name);
        put_str(&w, art->inputs[i].type);
        put_u8(&w, art->inputs[i].has_default ? 1 : 0);
        if (art->inputs[i].has_default) put_value(&w, &art->inputs[i].dflt, 0);
    }
    end_section(&w, sec);

    sec = begin_section(&w, SEC_IMPORTS);
    put_u32(&w, art->nimports);
    for (uint32_t i = 0; i < art->nimports; i++) {
        put_str(&w, art->imports[i].name);
        put_str(&w, art->imports[i].signature);
    }
    end_section(&w, sec);

    sec = begin_section(&w, SEC_CONSTANTS);
    put_u32(&w, art->nconstants);
    for (uint32_t i = 0; i < art->nconstants; i++) put_value(&w, &art->constants[i], 0);
    end_section(&w, sec);

    sec = begin_section(&w, SEC_FUNCTIONS);
    put_u32(&w, art->nfunctions);
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        const ArtFunction *fn = &art->functions[f];
        put_str(&w, fn->name);
        put_u8(&w, fn->nparams);
        put_u8(&w, fn->nregs);
        put_u32(&w, fn->ncode);
        for (uint32_t pc = 0; pc < fn->ncode; pc++) put_u32(&w, fn->code[pc]);
        for (uint32_t pc = 0; pc < fn->ncode; pc++) put_u32(&w, fn->lines ? fn->lines[pc] : 0);
    }
    end_section(&w, sec);

    if (!w.failed && w.len + CHECKSUM_BYTES > ART_MAX_BYTES) {
        snprintf(err, errlen, "the artifact would exceed %u bytes", ART_MAX_BYTES);
        w.failed = true;
    }
    if (!w.failed) {
        uint32_t total = (uint32_t)(w.len + CHECKSUM_BYTES);
        w.data[12] = (uint8_t)total, w.data[13] = (uint8_t)(total >> 8);
        w.data[14] = (uint8_t)(total >> 16), w.data[15] = (uint8_t)(total >> 24);
        uint8_t digest[32];
        sha256(w.data, w.len, digest);
        put(&w, digest, 32);
    }
    if (w.failed) {
        free(w.data);
        return -1;
    }
    *out = w.data;
    *len = w.len;
    return 0;
}

/* ================================================================ decoder */

typedef struct Reader {
    const uint8_t *base;
    size_t pos, end;          /* end: of the current section */
    Artifact *art;
    uint32_t nvalues;         /* values decoded so far, against ART_MAX_VALUES */
    char *err;
    size_t errlen;
    bool failed;
} Reader;

static int fail_at(Reader *r, size_t offset, const char *fmt, ...)
{
    if (r->failed) return -1;
    r->failed = true;
    int n = snprintf(r->err, r->errlen, "offset %zu: ", offset);
    if (n > 0 && (size_t)n < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool need(Reader *r, size_t n, const char *what)
{
    if (r->failed) return false;
    if (n > r->end - r->pos) {
        fail_at(r, r->pos, "truncated: %s needs %zu bytes, %zu left", what, n, r->end - r->pos);
        return false;
    }
    return true;
}

static uint8_t get_u8(Reader *r, const char *what)
{
    if (!need(r, 1, what)) return 0;
    return r->base[r->pos++];
}

static uint32_t get_u32(Reader *r, const char *what)
{
    if (!need(r, 4, what)) return 0;
    const uint8_t *b = r->base + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(Reader *r, const char *what)
{
    if (!need(r, 8, what)) return 0;
    uint64_t lo = get_u32(r, what), hi = get_u32(r, what);
    return lo | hi << 32;
}

static int32_t get_i32(Reader *r, const char *what) { return (int32_t)get_u32(r, what); }
static int64_t get_i64(Reader *r, const char *what) { return (int64_t)get_u64(r, what); }

/* Is text[0..len) well-formed UTF-8 without NUL?  Returns the offset of the
 * first bad byte, or len. */
static size_t utf8_check(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (n > len - i) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n;
    }
    return len;
}

/* A length-prefixed string; *out points into the input (not NUL-terminated). */
static bool get_span(Reader *r, const char *what, const uint8_t **out, uint32_t *len)
{
    size_t at = r->pos;
    uint32_t n = get_u32(r, what);
    if (r->failed) return false;
    if (n > ART_MAX_STRING) return fail_at(r, at, "%s is %u bytes long, more than %u", what, n, ART_MAX_STRING), false;
    if (!need(r, n, what)) return false;
    size_t bad = utf8_check(r->base + r->pos, n);
    if (bad < n) {
        return fail_at(r, r->pos + bad, "%s is not UTF-8 text without NUL bytes", what), false;
    }
    *out = r->base + r->pos;
    *len = n;
    r->pos += n;
    return true;
}

static bool out_of_memory(Reader *r) { return fail_at(r, r->pos, "out of memory"), false; }

static const char *get_cstr(Reader *r, const char *what)
{
    const uint8_t *s;
    uint32_t n;
    if (!get_span(r, what, &s, &n)) return NULL;
    char *copy = arena_strndup(&r->art->arena, (const char *)s, n);
    if (!copy) out_of_memory(r);
    return copy;
}

static const VStr *get_vstr(Reader *r, const char *what)
{
    const uint8_t *s;
    uint32_t n;
    if (!get_span(r, what, &s, &n)) return NULL;
    VStr *v = arena_alloc(&r->art->arena, sizeof(VStr) + n + 1);
    if (!v) return out_of_memory(r), NULL;
    v->len = n;
    memcpy(v->data, s, n);
    v->data[n] = '\0';
    return v;
}

/* A count of items each at least min_bytes long, bounded by max. */
static uint32_t get_count(Reader *r, const char *what, uint32_t max, size_t min_bytes)
{
    size_t at = r->pos;
    uint32_t n = get_u32(r, what);
    if (r->failed) return 0;
    if (n > max) return fail_at(r, at, "%u %s, more than %u", n, what, max), 0;
    if ((uint64_t)n * min_bytes > r->end - r->pos)
        return fail_at(r, at, "%u %s cannot fit in the %zu bytes left", n, what, r->end - r->pos), 0;
    return n;
}

static bool get_value(Reader *r, Value *out, int depth)
{
    size_t at = r->pos;
    if (depth > ART_MAX_NESTING) return fail_at(r, at, "a value nests deeper than %d", ART_MAX_NESTING), false;
    if (++r->nvalues > ART_MAX_VALUES) return fail_at(r, at, "more than %u values", ART_MAX_VALUES), false;
    uint8_t tag = get_u8(r, "a value's tag");
    if (r->failed) return false;
    out->tag = tag;
    switch ((ValTag)tag) {
    case VAL_NIL: out->as.i = 0; return true;
    case VAL_BOOL: {
        uint8_t b = get_u8(r, "a bool");
        if (b > 1) return fail_at(r, at + 1, "a bool is %u, not 0 or 1", b), false;
        out->as.b = b;
        return !r->failed;
    }
    case VAL_INT:
    case VAL_BYTES:
    case VAL_DURATION:
    case VAL_TIME: out->as.i = get_i64(r, "a number"); return !r->failed;
    case VAL_FLOAT:
    case VAL_PERCENT: {
        uint64_t bits = get_u64(r, "a number");
        memcpy(&out->as.f, &bits, 8);
        if (!r->failed && !isfinite(out->as.f)) return fail_at(r, at + 1, "a number is not finite"), false;
        return !r->failed;
    }
    case VAL_STR: out->as.s = get_vstr(r, "a string"); return !r->failed;
    case VAL_LIST: {
        uint32_t n = get_count(r, "list items", ART_MAX_VALUES - r->nvalues, 1);
        if (r->failed) return false;
        VList *l = arena_alloc(&r->art->arena, sizeof(VList) + (size_t)n * sizeof(Value));
        if (!l) return out_of_memory(r);
        l->len = n;
        l->depth = 1;
        for (uint32_t i = 0; i < n; i++) {
            if (!get_value(r, &l->items[i], depth + 1)) return false;
            if (val_depth(&l->items[i]) >= l->depth) l->depth = val_depth(&l->items[i]) + 1;
        }
        out->as.l = l;
        return true;
    }
    case VAL_RECORD: {
        uint32_t n = get_count(r, "record fields", ART_MAX_VALUES - r->nvalues, 5);
        if (r->failed) return false;
        VRecord *rec = arena_alloc(&r->art->arena, sizeof(VRecord) + (size_t)n * sizeof(Value));
        const VStr **keys = arena_alloc(&r->art->arena, (size_t)n * sizeof *keys);
        if (!rec || !keys) return out_of_memory(r);
        rec->len = n;
        rec->depth = 1;
        rec->keys = keys;
        for (uint32_t i = 0; i < n; i++) {
            keys[i] = get_vstr(r, "a record key");
            if (r->failed || !get_value(r, &rec->values[i], depth + 1)) return false;
            if (val_depth(&rec->values[i]) >= rec->depth) rec->depth = val_depth(&rec->values[i]) + 1;
        }
        out->as.r = rec;
        return true;
    }
    default: return fail_at(r, at, "unknown value tag %u", tag), false;
    }
}

static bool begin_read_section(Reader *r, uint32_t id, size_t file_end)
{
    r->end = file_end;
    size_t at = r->pos;
    uint32_t got = get_u32(r, "a section id");
    uint32_t n = get_u32(r, "a section length");
    if (r->failed) return false;
    if (got != id) return fail_at(r, at, "section %u where the %s section (%u) belongs", got, section_names[id], id), false;
    if (n > file_end - r->pos)
        return fail_at(r, at + 4, "the %s section claims %u bytes, %zu are left", section_names[id], n, file_end - r->pos), false;
    r->end = r->pos + n;
    return true;
}

static bool end_read_section(Reader *r, uint32_t id)
{
    if (r->failed) return false;
    if (r->pos != r->end)
        return fail_at(r, r->pos, "%zu unread bytes at the end of the %s section", r->end - r->pos, section_names[id]), false;
    return true;
}

/* Offsets of things the verifier reports on, kept while decoding. */
typedef struct Offsets {
    size_t meta, roles;
    size_t input[ART_MAX_INPUTS];
    size_t function[ART_MAX_FUNCTIONS];
    size_t code[ART_MAX_FUNCTIONS];
} Offsets;

static bool read_head(Reader *r)
{
    Artifact *art = r->art;
    size_t at = r->pos;
    uint8_t kind = get_u8(r, "the kind");
    if (!r->failed && kind > ART_SUB) return fail_at(r, at, "unknown artifact kind %u", kind), false;
    art->kind = (ArtKind)kind;
    at = r->pos;
    const uint8_t *cv;
    uint32_t cvlen;
    if (!get_span(r, "the compiler version", &cv, &cvlen)) return false;
    if (cvlen >= sizeof art->compiler_version)
        return fail_at(r, at, "the compiler version is %u bytes, more than %zu", cvlen, sizeof art->compiler_version - 1), false;
    memcpy(art->compiler_version, cv, cvlen);
    if (!need(r, 32, "the source's SHA-256")) return false;
    memcpy(art->source_sha256, r->base + r->pos, 32);
    r->pos += 32;
    art->source_name = get_cstr(r, "the source name");
    art->source_first_line = get_u32(r, "the source's first line");
    art->source_text = get_cstr(r, "the source text");
    at = r->pos;
    art->name = get_cstr(r, "the name");
    if (!r->failed && art->name[0] == '\0') return fail_at(r, at, "the artifact has no name"), false;
    art->title = get_cstr(r, "the title");
    return !r->failed;
}

static bool read_meta(Reader *r, Offsets *off)
{
    Artifact *art = r->art;
    off->meta = r->pos;
    art->event = get_cstr(r, "the event");
    size_t at = r->pos;
    art->at_minutes = get_i32(r, "the at time");
    if (!r->failed && (art->at_minutes < -1 || art->at_minutes >= 24 * 60))
        return fail_at(r, at, "the at time %" PRId32 " is not -1 or minutes of a day", art->at_minutes), false;
    art->cron = get_cstr(r, "the cron expression");
    at = r->pos;
    uint8_t scope = get_u8(r, "the scope kind");
    if (!r->failed && scope > ART_SCOPE_POOL) return fail_at(r, at, "unknown scope kind %u", scope), false;
    art->scope = (ArtScopeKind)scope;
    at = r->pos;
    art->nscope_items = get_count(r, "scope items", ART_MAX_SCOPE_ITEMS, 4);
    if (r->failed) return false;
    if (art->scope == ART_SCOPE_ALL && art->nscope_items != 0)
        return fail_at(r, at, "scope all with %u items", art->nscope_items), false;
    if ((art->scope == ART_SCOPE_PACKAGE || art->scope == ART_SCOPE_POOL) && art->nscope_items != 1)
        return fail_at(r, at, "a package or pool scope names %u items, not 1", art->nscope_items), false;
    art->scope_items = arena_alloc(&art->arena, (art->nscope_items + 1) * sizeof(char *));
    if (!art->scope_items) return out_of_memory(r);
    for (uint32_t i = 0; i < art->nscope_items && !r->failed; i++) art->scope_items[i] = get_cstr(r, "a scope item");
    at = r->pos;
    uint8_t repeat = get_u8(r, "the repeat kind");
    if (!r->failed && repeat > ART_REPEAT_AFTER) return fail_at(r, at, "unknown repeat kind %u", repeat), false;
    art->repeat = (ArtRepeat)repeat;
    at = r->pos;
    art->repeat_after = get_i64(r, "the repeat interval");
    if (!r->failed && (art->repeat_after < 0 || (art->repeat != ART_REPEAT_AFTER && art->repeat_after != 0)))
        return fail_at(r, at, "the repeat interval %" PRId64 " does not fit the repeat kind", art->repeat_after), false;
    at = r->pos;
    uint8_t flags = get_u8(r, "the active flags");
    if (!r->failed && flags > 3) return fail_at(r, at, "unknown active flags 0x%x", flags), false;
    art->has_active_from = flags & 1;
    art->has_active_until = (flags & 2) != 0;
    art->active_from = get_i64(r, "the active start");
    art->active_until = get_i64(r, "the active end");
    at = r->pos;
    art->active_for = get_i64(r, "the active duration");
    if (!r->failed && art->active_for < 0) return fail_at(r, at, "a negative active duration"), false;
    off->roles = r->pos;
    art->fn_do = get_i32(r, "the do function");
    art->fn_when = get_i32(r, "the when function");
    art->fn_rearm = get_i32(r, "the rearm function");
    art->fn_date = get_i32(r, "the date function");
    art->signature = get_cstr(r, "the signature");
    art->fn_sub = get_i32(r, "the sub's function");
    return !r->failed;
}

static bool read_inputs(Reader *r, Offsets *off)
{
    Artifact *art = r->art;
    art->ninputs = get_count(r, "inputs", ART_MAX_INPUTS, 9);
    if (r->failed) return false;
    art->inputs = arena_alloc(&art->arena, (art->ninputs + 1) * sizeof(ArtInput));
    if (!art->inputs) return out_of_memory(r);
    for (uint32_t i = 0; i < art->ninputs; i++) {
        ArtInput *in = &art->inputs[i];
        off->input[i] = r->pos;
        in->name = get_cstr(r, "an input's name");
        in->type = get_cstr(r, "an input's type");
        size_t at = r->pos;
        uint8_t has = get_u8(r, "an input's default flag");
        if (r->failed) return false;
        if (has > 1) return fail_at(r, at, "an input's default flag is %u, not 0 or 1", has), false;
        in->has_default = has;
        if (has && !get_value(r, &in->dflt, 0)) return false;
    }
    return true;
}

static bool read_imports(Reader *r)
{
    Artifact *art = r->art;
    art->nimports = get_count(r, "imports", ART_MAX_IMPORTS, 8);
    if (r->failed) return false;
    art->imports = arena_alloc(&art->arena, (art->nimports + 1) * sizeof(ArtImport));
    if (!art->imports) return out_of_memory(r);
    for (uint32_t i = 0; i < art->nimports && !r->failed; i++) {
        size_t at = r->pos;
        art->imports[i].name = get_cstr(r, "an import's name");
        if (!r->failed && art->imports[i].name[0] == '\0') return fail_at(r, at, "an import without a name"), false;
        art->imports[i].signature = get_cstr(r, "an import's signature");
    }
    return !r->failed;
}

static bool read_constants(Reader *r)
{
    Artifact *art = r->art;
    art->nconstants = get_count(r, "constants", ART_MAX_CONSTANTS, 1);
    if (r->failed) return false;
    art->constants = arena_alloc(&art->arena, (art->nconstants + 1) * sizeof(Value));
    if (!art->constants) return out_of_memory(r);
    for (uint32_t i = 0; i < art->nconstants; i++)
        if (!get_value(r, &art->constants[i], 0)) return false;
    return true;
}

static bool read_functions(Reader *r, Offsets *off)
{
    Artifact *art = r->art;
    art->nfunctions = get_count(r, "functions", ART_MAX_FUNCTIONS, 10);
    if (r->failed) return false;
    art->functions = arena_alloc(&art->arena, (art->nfunctions + 1) * sizeof(ArtFunction));
    if (!art->functions) return out_of_memory(r);
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        ArtFunction *fn = &art->functions[f];
        off->function[f] = r->pos;
        fn->name = get_cstr(r, "a function's name");
        size_t at = r->pos;
        fn->nparams = get_u8(r, "a function's parameter count");
        fn->nregs = get_u8(r, "a function's register count");
        if (r->failed) return false;
        if (fn->nregs > ART_MAX_REGISTERS)
            return fail_at(r, at + 1, "function %u has %u registers, more than %d", f, fn->nregs, ART_MAX_REGISTERS), false;
        if (fn->nparams > fn->nregs)
            return fail_at(r, at, "function %u has %u parameters but %u registers", f, fn->nparams, fn->nregs), false;
        at = r->pos;
        fn->ncode = get_count(r, "instructions", ART_MAX_CODE, 8);
        if (r->failed) return false;
        if (fn->ncode == 0) return fail_at(r, at, "function %u has no instructions", f), false;
        fn->code = arena_alloc(&art->arena, fn->ncode * sizeof(uint32_t));
        fn->lines = arena_alloc(&art->arena, fn->ncode * sizeof(uint32_t));
        if (!fn->code || !fn->lines) return out_of_memory(r);
        off->code[f] = r->pos;
        for (uint32_t pc = 0; pc < fn->ncode; pc++) fn->code[pc] = get_u32(r, "an instruction");
        for (uint32_t pc = 0; pc < fn->ncode; pc++) fn->lines[pc] = get_u32(r, "a line");
    }
    return !r->failed;
}

/* =============================================================== verifier */

/* Does a value fit a declared input type? */
static bool value_fits(const Type *type, const Value *v)
{
    if (type->kind == TY_LIST) {
        if (v->tag != VAL_LIST) return false;
        for (uint32_t i = 0; i < v->as.l->len; i++)
            if (!value_fits(type->elem, &v->as.l->items[i])) return false;
        return true;
    }
    if (type->kind == TY_FLOAT) return v->tag == VAL_FLOAT;
    return std_accepts(type, v);
}

static bool verify_inputs(Reader *r, const Offsets *off)
{
    const Artifact *art = r->art;
    for (uint32_t i = 0; i < art->ninputs; i++) {
        const ArtInput *in = &art->inputs[i];
        const Type *type = ty_parse(in->type, strlen(in->type));
        if (!type) return fail_at(r, off->input[i], "input %s has the unknown type \"%s\"", in->name, in->type), false;
        if (in->has_default && !value_fits(type, &in->dflt))
            return fail_at(r, off->input[i], "input %s's default is not a %s", in->name, in->type), false;
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(art->inputs[k].name, in->name) == 0)
                return fail_at(r, off->input[i], "input %s is declared twice", in->name), false;
    }
    return true;
}

static bool role_ok(const Artifact *art, int32_t fn, bool required)
{
    if (fn == -1) return !required;
    return fn >= 0 && (uint32_t)fn < art->nfunctions;
}

static bool verify_meta(Reader *r, const Offsets *off)
{
    const Artifact *art = r->art;
    if (art->kind == ART_FLOW) {
        if (!cat_event_find(art->event, strlen(art->event)))
            return fail_at(r, off->meta, "unknown event \"%s\"", art->event), false;
        if (!role_ok(art, art->fn_do, true)) return fail_at(r, off->roles, "the do function %" PRId32 " does not exist", art->fn_do), false;
        if (!role_ok(art, art->fn_when, false)) return fail_at(r, off->roles + 4, "the when function %" PRId32 " does not exist", art->fn_when), false;
        if (!role_ok(art, art->fn_rearm, false)) return fail_at(r, off->roles + 8, "the rearm function %" PRId32 " does not exist", art->fn_rearm), false;
        if (!role_ok(art, art->fn_date, false)) return fail_at(r, off->roles + 12, "the date function %" PRId32 " does not exist", art->fn_date), false;
        const int32_t roles[] = { art->fn_do, art->fn_when, art->fn_rearm, art->fn_date };
        for (int i = 0; i < 4; i++)
            if (roles[i] >= 0 && art->functions[roles[i]].nparams != 0)
                return fail_at(r, off->roles + 4 * (size_t)i, "role function %" PRId32 " takes parameters", roles[i]), false;
        if (art->fn_sub != -1) return fail_at(r, off->roles + 16, "a flow with a sub function"), false;
    } else {
        if (art->event[0] != '\0') return fail_at(r, off->meta, "a sub with an event"), false;
        if (art->fn_do != -1 || art->fn_when != -1 || art->fn_rearm != -1 || art->fn_date != -1)
            return fail_at(r, off->roles, "a sub with flow role functions"), false;
        if (!role_ok(art, art->fn_sub, true)) return fail_at(r, off->roles + 16, "the sub's function %" PRId32 " does not exist", art->fn_sub), false;
    }
    return true;
}

static bool is_terminator(Opcode op) { return op == OP_RET || op == OP_STOP || op == OP_JMP; }

/* Checks the operand of one role; `at` is the instruction's offset. */
static bool check_role(Reader *r, size_t at, const ArtFunction *fn, const bool *is_operand, uint32_t pc,
                       uint8_t role, uint32_t value, uint32_t count, const char *which)
{
    uint32_t op = fn->code[pc] & 0xff;
    switch ((OpRole)role) {
    case OPR_UNUSED:
        if (value) return fail_at(r, at, "%s: operand %s is %u, must be 0", op_names[op], which, value), false;
        return true;
    case OPR_REG:
        if (value >= fn->nregs)
            return fail_at(r, at, "%s: register R%u out of range (the function has %u)", op_names[op], value, fn->nregs), false;
        return true;
    case OPR_REG3:
        if (value + 2 >= fn->nregs)
            return fail_at(r, at, "%s: registers R%u..R%u out of range (the function has %u)", op_names[op], value, value + 2, fn->nregs), false;
        return true;
    case OPR_RANGE:
        /* an empty range may start at nregs; CALL and CALLB also write R[A] */
        if (value + count > fn->nregs || ((op == OP_CALL || op == OP_CALLB) && value >= fn->nregs))
            return fail_at(r, at, "%s: registers R%u..R%u out of range (the function has %u)", op_names[op], value,
                           value + (count ? count - 1 : 0), fn->nregs), false;
        return true;
    case OPR_CONST:
        if (value >= r->art->nconstants)
            return fail_at(r, at, "%s: constant K%u out of range (the artifact has %u)", op_names[op], value, r->art->nconstants), false;
        return true;
    case OPR_JUMP: {
        int64_t target = (int64_t)pc + 1 + ((int64_t)value - 32767);
        if (target < 0 || target >= fn->ncode)
            return fail_at(r, at, "%s: jump to %" PRId64 " is outside the function (0..%u)", op_names[op], target, fn->ncode - 1), false;
        if (is_operand[target]) return fail_at(r, at, "%s: jump to %" PRId64 " lands on an operand word", op_names[op], target), false;
        return true;
    }
    case OPR_COUNT:
    case OPR_NUM: return true;
    }
    return false;
}

/* The rules of NUM operands and the instructions that span two words. */
static bool check_specific(Reader *r, size_t at, const ArtFunction *fn, uint32_t pc, uint32_t nevent_fields)
{
    const Artifact *art = r->art;
    uint32_t ins = fn->code[pc];
    Opcode op = INS_OP(ins);
    uint32_t a = INS_A(ins), b = INS_B(ins), c = INS_C(ins);
    switch (op) {
    case OP_LOADB:
        if (b > 1) return fail_at(r, at, "LOADB: B is %u, not 0 or 1", b), false;
        return true;
    case OP_EVENT:
        if (b >= nevent_fields)
            return fail_at(r, at, "EVENT: field %u out of range (%s has %u)", b,
                           art->kind == ART_FLOW ? art->event : "a sub", nevent_fields), false;
        return true;
    case OP_SIM:
        if (b >= SIM_NFIELDS) return fail_at(r, at, "SIM: field %u out of range (a SIM has %d)", b, SIM_NFIELDS), false;
        return true;
    case OP_INPUT:
        if (INS_BX(ins) >= art->ninputs)
            return fail_at(r, at, "INPUT: input %u out of range (the artifact has %u)", INS_BX(ins), art->ninputs), false;
        return true;
    case OP_CTX:
        if (b >= CTX_NSLOTS) return fail_at(r, at, "CTX: slot %u out of range (there are %d)", b, CTX_NSLOTS), false;
        return true;
    case OP_CALL:
        if (b >= art->nfunctions + art->nimports)
            return fail_at(r, at, "CALL: function %u out of range (%u functions, %u imports)", b, art->nfunctions, art->nimports), false;
        if (b < art->nfunctions && c != art->functions[b].nparams)
            return fail_at(r, at, "CALL: %u arguments to function %u, which takes %u", c, b, art->functions[b].nparams), false;
        return true;
    case OP_CALLB: {
        if ((int)b >= std_nbuiltins) return fail_at(r, at, "CALLB: built-in %u out of range (there are %d)", b, std_nbuiltins), false;
        const StdBuiltin *row = &std_builtins[b];
        if ((int)c < row->nparams || (int)c > row->nparams + row->nopt)
            return fail_at(r, at, "CALLB: %u arguments to %s, which takes %d..%d", c, row->name, row->nparams, row->nparams + row->nopt), false;
        return true;
    }
    case OP_RET:
        if (b > 1) return fail_at(r, at, "RET: B is %u, not 0 or 1", b), false;
        if (b == 1 && a >= fn->nregs) return fail_at(r, at, "RET: register R%u out of range (the function has %u)", a, fn->nregs), false;
        if (b == 0 && a != 0) return fail_at(r, at, "RET: operand A is %u, must be 0", a), false;
        return true;
    case OP_ACT:
        if (b >= ACT_NACTIONS) return fail_at(r, at, "ACT: unknown action %u", b), false;
        if (c != art_action_nargs[b])
            return fail_at(r, at, "ACT: %u arguments to %s, which takes %u", c, cat_action_names[b], art_action_nargs[b]), false;
        return true;
    case OP_RECORD: {
        if (pc + 1 >= fn->ncode || INS_OP(fn->code[pc + 1]) != OP_EXTRA)
            return fail_at(r, at, "RECORD: not followed by an EXTRA word"), false;
        uint32_t k = INS_BX(fn->code[pc + 1]);
        if (k >= art->nconstants) return true;   /* the EXTRA word's own check reports it */
        const Value *keys = &art->constants[k];
        if (keys->tag != VAL_LIST || keys->as.l->len != c)
            return fail_at(r, at + 4, "RECORD: K%u is not a list of %u keys", k, c), false;
        for (uint32_t i = 0; i < c; i++)
            if (keys->as.l->items[i].tag != VAL_STR) return fail_at(r, at + 4, "RECORD: key %u of K%u is not a string", i, k), false;
        return true;
    }
    case OP_FORPREP: {
        uint32_t target = (uint32_t)((int64_t)pc + 1 + INS_SBX(ins));
        if (INS_OP(fn->code[target]) != OP_FORLOOP || INS_A(fn->code[target]) != a)
            return fail_at(r, at, "FORPREP: jumps to %u, not to a FORLOOP of R%u", target, a), false;
        return true;
    }
    default: return true;
    }
}

static bool verify_function(Reader *r, const Offsets *off, uint32_t f, bool *is_operand)
{
    const Artifact *art = r->art;
    const ArtFunction *fn = &art->functions[f];
    uint32_t nevent_fields = EVF_PAYLOAD;
    if (art->kind == ART_FLOW) nevent_fields += (uint32_t)cat_event_find(art->event, strlen(art->event))->nfields;

    /* pass 1: opcodes, and which words are operands rather than instructions */
    memset(is_operand, 0, fn->ncode * sizeof *is_operand);
    for (uint32_t pc = 0; pc < fn->ncode; pc++) {
        size_t at = off->code[f] + 4 * (size_t)pc;
        uint32_t op = fn->code[pc] & 0xff;
        if (op >= OP_NOPCODES) return fail_at(r, at, "unknown opcode %u", op), false;
        if (is_operand[pc] && op != OP_EXTRA) return fail_at(r, at, "RECORD: not followed by an EXTRA word"), false;
        if (op == OP_EXTRA && !is_operand[pc]) return fail_at(r, at, "EXTRA without a RECORD before it"), false;
        if (op == OP_RECORD && pc + 1 < fn->ncode) is_operand[pc + 1] = true;
    }
    /* pass 2: operands */
    for (uint32_t pc = 0; pc < fn->ncode; pc++) {
        size_t at = off->code[f] + 4 * (size_t)pc;
        uint32_t ins = fn->code[pc];
        Opcode op = INS_OP(ins);
        const OpRoles *roles = &op_roles[op];
        uint32_t c = INS_C(ins);
        if (!check_role(r, at, fn, is_operand, pc, roles->a, INS_A(ins), c, "A")) return false;
        if (op_formats[op] == FMT_ABC) {
            if (!check_role(r, at, fn, is_operand, pc, roles->b, INS_B(ins), c, "B") ||
                !check_role(r, at, fn, is_operand, pc, roles->c, c, 0, "C"))
                return false;
        } else if (!check_role(r, at, fn, is_operand, pc, roles->c, INS_BX(ins), 0, "Bx")) {
            return false;
        }
        if (!check_specific(r, at, fn, pc, nevent_fields)) return false;
    }
    uint32_t last = fn->ncode - 1;
    if (is_operand[last] || !is_terminator(INS_OP(fn->code[last])))
        return fail_at(r, off->code[f] + 4 * (size_t)last, "function %u (%s) does not end in RET, STOP or JMP", f, fn->name), false;
    return true;
}

int art_load(const uint8_t *bytes, size_t len, Artifact **out, char *err, size_t errlen)
{
    *out = NULL;
    Reader r = { .base = bytes, .pos = 0, .end = len, .err = err, .errlen = errlen };
    if (len < HEADER_BYTES + CHECKSUM_BYTES)
        return fail_at(&r, len, "truncated: %zu bytes, an artifact has at least %d", len, HEADER_BYTES + CHECKSUM_BYTES);
    if (memcmp(bytes, ART_MAGIC, 8) != 0) return fail_at(&r, 0, "not a Flow artifact (bad magic)");
    uint32_t version = (uint32_t)bytes[8] | (uint32_t)bytes[9] << 8 | (uint32_t)bytes[10] << 16 | (uint32_t)bytes[11] << 24;
    if (version != ART_FORMAT_VERSION)
        return fail_at(&r, 8, "format version %u, this VM reads version %d", version, ART_FORMAT_VERSION);
    uint32_t total = (uint32_t)bytes[12] | (uint32_t)bytes[13] << 8 | (uint32_t)bytes[14] << 16 | (uint32_t)bytes[15] << 24;
    if (len > ART_MAX_BYTES) return fail_at(&r, 12, "%zu bytes, more than %u", len, ART_MAX_BYTES);
    if (total != len) return fail_at(&r, 12, "the header says %u bytes, the file has %zu", total, len);
    size_t body = len - CHECKSUM_BYTES;
    uint8_t digest[32];
    sha256(bytes, body, digest);
    if (memcmp(digest, bytes + body, 32) != 0) return fail_at(&r, body, "checksum mismatch: the artifact is corrupt");

    Artifact *art = calloc(1, sizeof *art);
    Offsets *off = calloc(1, sizeof *off);
    bool *is_operand = malloc(ART_MAX_CODE * sizeof *is_operand);
    if (!art || !off || !is_operand) {
        free(art), free(off), free(is_operand);
        return fail_at(&r, 0, "out of memory");
    }
    arena_init(&art->arena, 0);
    memcpy(art->checksum, bytes + body, 32);
    r.art = art;
    r.pos = HEADER_BYTES;
    bool ok = begin_read_section(&r, SEC_HEAD, body) && read_head(&r) && end_read_section(&r, SEC_HEAD) &&
              begin_read_section(&r, SEC_META, body) && read_meta(&r, off) && end_read_section(&r, SEC_META) &&
              begin_read_section(&r, SEC_INPUTS, body) && read_inputs(&r, off) && end_read_section(&r, SEC_INPUTS) &&
              begin_read_section(&r, SEC_IMPORTS, body) && read_imports(&r) && end_read_section(&r, SEC_IMPORTS) &&
              begin_read_section(&r, SEC_CONSTANTS, body) && read_constants(&r) && end_read_section(&r, SEC_CONSTANTS) &&
              begin_read_section(&r, SEC_FUNCTIONS, body) && read_functions(&r, off) && end_read_section(&r, SEC_FUNCTIONS);
    if (ok && r.pos != body) ok = fail_at(&r, r.pos, "%zu bytes after the last section", body - r.pos) == 0;
    ok = ok && verify_meta(&r, off) && verify_inputs(&r, off);
    for (uint32_t f = 0; ok && f < art->nfunctions; f++) ok = verify_function(&r, off, f, is_operand);
    free(off);
    free(is_operand);
    if (!ok) {
        art_free(art);
        return -1;
    }
    *out = art;
    return 0;
}

void art_free(Artifact *art)
{
    if (!art) return;
    arena_free(&art->arena);
    free(art);
}

uint32_t art_line(const Artifact *art, uint32_t fn, uint32_t pc)
{
    if (fn >= art->nfunctions || pc >= art->functions[fn].ncode || !art->functions[fn].lines) return 0;
    return art->functions[fn].lines[pc];
}

/* =========================================================== disassembler */

static void print_quoted(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

/* Exact, in the source's literal style: 800MB, 1536B, 2.5 as 2.5. */
static void print_constant(FILE *out, const Value *v, int depth)
{
    FmtBuf fb;
    fmt_init(&fb);
    switch ((ValTag)v->tag) {
    case VAL_NIL: fputs("nil", out); break;
    case VAL_BOOL: fputs(v->as.b ? "true" : "false", out); break;
    case VAL_INT: fprintf(out, "%" PRId64, v->as.i); break;
    case VAL_BYTES: {
        static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB" };
        int64_t n = v->as.i;
        int u = 0;
        while (u < 5 && n != 0 && n % 1000 == 0) n /= 1000, u++;
        fprintf(out, "%" PRId64 "%s", n, units[u]);
        break;
    }
    case VAL_DURATION:
        fmt_duration(&fb, v->as.i);
        fputs(fb.data, out);
        break;
    case VAL_TIME:
        fmt_time(&fb, v->as.i);
        fputs(fb.data, out);
        break;
    case VAL_FLOAT:
    case VAL_PERCENT:
        fmt_float(&fb, v->as.f);
        fputs(fb.data, out);
        if (v->tag == VAL_PERCENT) fputc('%', out);
        else if (!strpbrk(fb.data, ".en")) fputs(".0", out);
        break;
    case VAL_STR: print_quoted(out, v->as.s->data, v->as.s->len); break;
    case VAL_LIST:
        fputc('[', out);
        for (uint32_t i = 0; i < v->as.l->len; i++) {
            if (i) fputs(", ", out);
            print_constant(out, &v->as.l->items[i], depth + 1);
        }
        fputc(']', out);
        break;
    case VAL_RECORD:
        fputc('{', out);
        for (uint32_t i = 0; i < v->as.r->len; i++) {
            fputs(i ? ", " : " ", out);
            fputs(v->as.r->keys[i]->data, out);
            fputs(": ", out);
            print_constant(out, &v->as.r->values[i], depth + 1);
        }
        fputs(v->as.r->len ? " }" : "}", out);
        break;
    default: fprintf(out, "<tag %u>", (unsigned)v->tag); break;
    }
    fmt_free(&fb);
}

static void print_hex(FILE *out, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) fprintf(out, "%02x", bytes[i]);
}

static const char *const ctx_names[CTX_NSLOTS] = { "now", "flow.name", "flow.version", "run.id" };
static const char *const scope_names[] = { "all", "iccids", "tags", "package", "pool" };

static void print_metadata(const Artifact *art, FILE *out)
{
    fprintf(out, "%s %s\n", art->kind == ART_FLOW ? "flow" : "sub", art->name);
    fprintf(out, "  format %d, compiler %s\n", ART_FORMAT_VERSION, art->compiler_version);
    fprintf(out, "  source %s, from line %u, sha256 ", art->source_name ? art->source_name : "", art->source_first_line);
    print_hex(out, art->source_sha256, 32);
    fputc('\n', out);
    if (art->title && art->title[0]) {
        fputs("  title ", out);
        print_quoted(out, art->title, strlen(art->title));
        fputc('\n', out);
    }
    if (art->kind == ART_SUB) {
        fprintf(out, "  signature %s\n  function %" PRId32 "\n", art->signature ? art->signature : "", art->fn_sub);
        return;
    }
    fprintf(out, "  on %s", art->event);
    if (art->cron && art->cron[0]) fprintf(out, " schedule \"%s\"", art->cron);
    if (art->at_minutes >= 0) fprintf(out, " at %02d:%02d", art->at_minutes / 60, art->at_minutes % 60);
    fprintf(out, "\n  scope %s", scope_names[art->scope <= ART_SCOPE_POOL ? art->scope : 0]);
    for (uint32_t i = 0; i < art->nscope_items; i++) {
        fputc(' ', out);
        print_quoted(out, art->scope_items[i], strlen(art->scope_items[i]));
    }
    FmtBuf fb;
    fmt_init(&fb);
    if (art->repeat == ART_REPEAT_AFTER) fmt_duration(&fb, art->repeat_after);
    fprintf(out, "\n  repeat %s%s\n", art->repeat == ART_REPEAT_EDGE ? "on the rising edge"
                                      : art->repeat == ART_REPEAT_EVERY ? "every event" : "after ",
            fb.data ? fb.data : "");
    fputs("  active", out);
    if (art->has_active_from) {
        fmt_reset(&fb);
        fmt_time(&fb, art->active_from);
        fprintf(out, " from %s", fb.data);
    }
    if (art->has_active_until) {
        fmt_reset(&fb);
        fmt_time(&fb, art->active_until);
        fprintf(out, " until %s", fb.data);
    }
    if (art->active_for) {
        fmt_reset(&fb);
        fmt_duration(&fb, art->active_for);
        fprintf(out, " for %s", fb.data);
    }
    if (!art->has_active_from && !art->has_active_until && !art->active_for) fputs(" always", out);
    fmt_free(&fb);
    fprintf(out, "\n  functions do %" PRId32 ", when %" PRId32 ", rearm %" PRId32 ", date %" PRId32 "\n",
            art->fn_do, art->fn_when, art->fn_rearm, art->fn_date);
}

/* Where each line of the embedded source text starts. */
typedef struct LineIndex {
    const char **starts;
    uint32_t count;
} LineIndex;

static void index_lines(const Artifact *art, LineIndex *index)
{
    index->starts = NULL;
    index->count = 0;
    if (!art->source_text || !art->source_text[0]) return;
    uint32_t n = 1;
    for (const char *p = art->source_text; *p; p++) n += *p == '\n';
    index->starts = malloc(n * sizeof *index->starts);
    if (!index->starts) return;
    const char *p = art->source_text;
    index->starts[index->count++] = p;
    for (; *p; p++)
        if (*p == '\n' && p[1]) index->starts[index->count++] = p + 1;
}

/* The text of source line `line`, or NULL when the artifact does not hold it. */
static const char *source_line(const Artifact *art, const LineIndex *index, uint32_t line, size_t *len)
{
    if (line < art->source_first_line || line - art->source_first_line >= index->count) return NULL;
    const char *p = index->starts[line - art->source_first_line];
    const char *end = strchr(p, '\n');
    *len = end ? (size_t)(end - p) : strlen(p);
    return p;
}

static void print_operand(FILE *out, uint8_t role, uint32_t value, uint32_t pc, bool *first)
{
    if (role == OPR_UNUSED) return;
    fputs(*first ? "" : " ", out);
    *first = false;
    switch ((OpRole)role) {
    case OPR_REG:
    case OPR_REG3:
    case OPR_RANGE: fprintf(out, "R%u", value); break;
    case OPR_CONST: fprintf(out, "K%u", value); break;
    case OPR_JUMP: fprintf(out, "-> %04" PRId64, (int64_t)pc + 1 + ((int64_t)value - 32767)); break;
    default: fprintf(out, "%u", value); break;
    }
}

static void print_comment(const Artifact *art, uint32_t ins, FILE *out)
{
    Opcode op = INS_OP(ins);
    uint32_t a = INS_A(ins), b = INS_B(ins), bx = INS_BX(ins);
    switch (op) {
    case OP_LOADK:
    case OP_EXTRA:
        if (bx < art->nconstants) {
            fputs("  ; ", out);
            print_constant(out, &art->constants[bx], 0);
        }
        break;
    case OP_EVENT: {
        const CatEvent *ev = art->event ? cat_event_find(art->event, strlen(art->event)) : NULL;
        if (b == EVF_ICCID) fputs("  ; event.iccid", out);
        else if (b == EVF_TIME) fputs("  ; event.time", out);
        else if (ev && b - EVF_PAYLOAD < (uint32_t)ev->nfields) fprintf(out, "  ; event.%s", ev->fields[b - EVF_PAYLOAD].name);
        break;
    }
    case OP_SIM:
        if (b < SIM_NFIELDS) fprintf(out, "  ; sim.%s", cat_sim_fields[b].name);
        break;
    case OP_INPUT:
        if (bx < art->ninputs) fprintf(out, "  ; input %s", art->inputs[bx].name);
        break;
    case OP_CTX:
        if (b < CTX_NSLOTS) fprintf(out, "  ; %s", ctx_names[b]);
        break;
    case OP_CALL:
        if (b < art->nfunctions) fprintf(out, "  ; %s", art->functions[b].name);
        else if (b - art->nfunctions < art->nimports) fprintf(out, "  ; import %s", art->imports[b - art->nfunctions].name);
        break;
    case OP_CALLB:
        if ((int)b < std_nbuiltins) fprintf(out, "  ; %s", std_builtins[b].name);
        break;
    case OP_ACT:
        if (b < ACT_NACTIONS) fprintf(out, "  ; %s", cat_action_names[b]);
        break;
    case OP_LOADB: fprintf(out, "  ; %s", b ? "true" : "false"); break;
    default: (void)a; break;
    }
}

static void print_instruction(const Artifact *art, uint32_t ins, uint32_t pc, uint32_t line, FILE *out)
{
    Opcode op = INS_OP(ins);
    fprintf(out, "  %04u  [line %u]  ", pc, line);
    if (op >= OP_NOPCODES) {
        fprintf(out, "??? 0x%08x\n", ins);
        return;
    }
    fprintf(out, "%-8s ", op_names[op]);
    const OpRoles *roles = &op_roles[op];
    bool first = true;
    if (op == OP_RET) {
        if (INS_B(ins)) fprintf(out, "R%u", INS_A(ins));
    } else {
        print_operand(out, roles->a, INS_A(ins), pc, &first);
        if (op_formats[op] == FMT_ABC) {
            print_operand(out, roles->b, INS_B(ins), pc, &first);
            print_operand(out, roles->c, INS_C(ins), pc, &first);
        } else {
            print_operand(out, roles->c, INS_BX(ins), pc, &first);
        }
    }
    print_comment(art, ins, out);
    fputc('\n', out);
}

void art_disassemble(const Artifact *art, FILE *out)
{
    print_metadata(art, out);
    fprintf(out, "inputs (%u)\n", art->ninputs);
    for (uint32_t i = 0; i < art->ninputs; i++) {
        fprintf(out, "  %u  %s: %s", i, art->inputs[i].name, art->inputs[i].type);
        if (art->inputs[i].has_default) {
            fputs(" = ", out);
            print_constant(out, &art->inputs[i].dflt, 0);
        }
        fputc('\n', out);
    }
    fprintf(out, "imports (%u)\n", art->nimports);
    for (uint32_t i = 0; i < art->nimports; i++)
        fprintf(out, "  %u  %s %s\n", i, art->imports[i].name, art->imports[i].signature);
    fprintf(out, "constants (%u)\n", art->nconstants);
    for (uint32_t i = 0; i < art->nconstants; i++) {
        fprintf(out, "  K%u  ", i);
        print_constant(out, &art->constants[i], 0);
        fputc('\n', out);
    }
    LineIndex index;
    index_lines(art, &index);
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        const ArtFunction *fn = &art->functions[f];
        fprintf(out, "function %u %s: %u params, %u registers, %u instructions\n", f, fn->name, fn->nparams,
                fn->nregs, fn->ncode);
        uint32_t shown = 0;
        for (uint32_t pc = 0; pc < fn->ncode; pc++) {
            uint32_t line = fn->lines ? fn->lines[pc] : 0;
            if (line != shown) {
                size_t n;
                const char *text = source_line(art, &index, line, &n);
                if (text) fprintf(out, "        ; %u: %.*s\n", line, (int)n, text);
                shown = line;
            }
            print_instruction(art, fn->code[pc], pc, line, out);
        }
    }
    free(index.starts);
}
