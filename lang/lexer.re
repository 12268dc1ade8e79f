/*
 * lexer.re - the lexer of Flow, for re2c: bytes to tokens.
 *
 * re2c turns this file into build/gen/lexer.c.  The lexer finds tokens and
 * computes literal values (numbers with units, times, clock times); it finds
 * where a string ends, tracking ${ } nesting and nested strings, but leaves
 * decoding strings to the driver (parse.c).  It reports lexical errors itself
 * and always returns a usable token, so that the parser can go on.
 *
 * Two rules make soft keywords robust (spec/language.md, "Lexical
 * structure"): a word right after a `.` token is a name, and so is a word
 * followed by optional blanks and a `:`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"
#include "parse.h"

/* ------------------------------------------------------------ keywords */

typedef struct Keyword {
    const char *text;
    int kind;
    bool soft;
} Keyword;

/* Sorted by text, for bsearch. */
static const Keyword keywords[] = {
    {"active", TK_ACTIVE, true},   {"advance", TK_ADVANCE, true}, {"after", TK_AFTER, true},
    {"all", TK_ALL, true},         {"and", TK_AND, false},        {"at", TK_AT, true},
    {"bcc", TK_BCC, true},         {"cc", TK_CC, true},           {"const", TK_CONST, true},
    {"contains", TK_CONTAINS, true}, {"date", TK_DATE, true},     {"do", TK_DO, true},
    {"else", TK_ELSE, true},       {"email", TK_EMAIL, true},     {"event", TK_EVENT, true},
    {"every", TK_EVERY, true},     {"expect", TK_EXPECT, true},   {"false", TK_FALSE, false},
    {"file", TK_FILE, true},       {"flow", TK_FLOW, true},       {"for", TK_FOR, true},
    {"from", TK_FROM, true},       {"html", TK_HTML, true},       {"iccids", TK_ICCIDS, true},
    {"if", TK_IF, true},           {"in", TK_IN, false},          {"input", TK_INPUT, true},
    {"let", TK_LET, true},         {"log", TK_LOG, true},         {"mod", TK_MOD, false},
    {"not", TK_NOT, false},        {"nothing", TK_NOTHING, true}, {"of", TK_OF, false},
    {"on", TK_ON, true},           {"or", TK_OR, false},          {"package", TK_PACKAGE, true},
    {"pool", TK_POOL, true},       {"rearm", TK_REARM, true},     {"renew", TK_RENEW, true},
    {"repeat", TK_REPEAT, true},   {"resume", TK_RESUME, true},   {"return", TK_RETURN, true},
    {"schedule", TK_SCHEDULE, true}, {"scope", TK_SCOPE, true},   {"set", TK_SET, true},
    {"sim", TK_SIM, true},         {"smtp", TK_SMTP, true},       {"stop", TK_STOP, true},
    {"sub", TK_SUB, true},         {"subject", TK_SUBJECT, true}, {"suspend", TK_SUSPEND, true},
    {"tag", TK_TAG, true},         {"tags", TK_TAGS, true},       {"test", TK_TEST, true},
    {"text", TK_TEXT, true},       {"title", TK_TITLE, true},     {"to", TK_TO, true},
    {"topup", TK_TOPUP, true},     {"true", TK_TRUE, false},      {"untag", TK_UNTAG, true},
    {"until", TK_UNTIL, true},     {"wait", TK_WAIT, true},       {"webhook", TK_WEBHOOK, true},
    {"when", TK_WHEN, true},
};
enum { NKEYWORDS = sizeof keywords / sizeof keywords[0] };

/* Keyword lookup runs for every word of every file.  A keyword is at most 8
 * bytes, so a word of 2 to 8 bytes is read as one 64-bit number (a source's
 * text ends in SRC_PAD NULs, so reading 8 bytes is safe; the bytes past the
 * word are masked off) and looked up in a small open-addressing table of the
 * keywords' numbers, built on first use. */
enum { KW_SLOTS = 256 };
static struct {
    bool ready;
    int8_t soft[256];           /* by token kind: 1 soft keyword, 0 hard, -1 no keyword */
    uint64_t word[KW_SLOTS];    /* 0: free slot */
    uint8_t index[KW_SLOTS];    /* into keywords[] */
} kw_index;

static inline uint64_t kw_word(const unsigned char *text, size_t len)
{
    uint64_t w;
    memcpy(&w, text, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return len >= 8 ? w : w & ~(UINT64_MAX >> (len * 8));
#else
    return len >= 8 ? w : w & ((1ull << (len * 8)) - 1);
#endif
}

static inline unsigned kw_slot(uint64_t word)
{
    return (unsigned)((word * 0x9E3779B97F4A7C15ull) >> 56) & (KW_SLOTS - 1);
}

static void kw_index_build(void)
{
    memset(kw_index.soft, -1, sizeof kw_index.soft);
    for (int i = 0; i < NKEYWORDS; i++) {
        unsigned char padded[16] = { 0 };
        size_t len = strlen(keywords[i].text);
        memcpy(padded, keywords[i].text, len);
        uint64_t word = kw_word(padded, len);
        unsigned at = kw_slot(word);
        while (kw_index.word[at]) at = (at + 1) & (KW_SLOTS - 1);
        kw_index.word[at] = word;
        kw_index.index[at] = (uint8_t)i;
        if (keywords[i].kind >= 0 && keywords[i].kind < 256) kw_index.soft[keywords[i].kind] = keywords[i].soft;
    }
    kw_index.ready = true;
}

/* text: followed by at least 8 readable bytes (a source's text, see SRC_PAD) */
static const Keyword *keyword_find(const unsigned char *text, size_t len)
{
    if (!kw_index.ready) kw_index_build();
    if (len < 2 || len > 8) return NULL;
    uint64_t word = kw_word(text, len);
    for (unsigned at = kw_slot(word); kw_index.word[at]; at = (at + 1) & (KW_SLOTS - 1))
        if (kw_index.word[at] == word) return &keywords[kw_index.index[at]];
    return NULL;
}

bool lex_is_soft_keyword(int kind)
{
    if (!kw_index.ready) kw_index_build();
    return kind >= 0 && kind < 256 && kw_index.soft[kind] == 1;
}

bool lex_word_is_name(const unsigned char *text, size_t len)
{
    if (len == 0 || len > LEX_MAX_IDENT) return false;
    const Keyword *kw = keyword_find(text, len);
    return !kw || kw->soft;
}


const char *lex_kind_text(int kind)
{
    static const char *const punct[] = {
        [TK_LPAREN] = "'('", [TK_RPAREN] = "')'", [TK_LBRACKET] = "'['", [TK_RBRACKET] = "']'",
        [TK_LBRACE] = "'{'", [TK_RBRACE] = "'}'", [TK_COMMA] = "','", [TK_COLON] = "':'",
        [TK_DOT] = "'.'", [TK_SEMI] = "';'", [TK_ASSIGN] = "'='", [TK_ARROW] = "'->'",
        [TK_EQ] = "'=='", [TK_NE] = "'!='", [TK_LT] = "'<'", [TK_LE] = "'<='", [TK_GT] = "'>'",
        [TK_GE] = "'>='", [TK_PLUS] = "'+'", [TK_MINUS] = "'-'", [TK_STAR] = "'*'",
        [TK_SLASH] = "'/'", [TK_ID] = "a name", [TK_INT] = "a number", [TK_FLOAT] = "a number",
        [TK_BYTES] = "a data size", [TK_PERCENT] = "a percentage", [TK_DURATION] = "a duration",
        [TK_TIME] = "a time", [TK_CLOCK] = "a time of day (HH:MM)", [TK_STRING] = "a string",
    };
    static char quoted[NKEYWORDS][16];
    if (kind == 0) return "end of file";
    if (kind > 0 && (size_t)kind < sizeof punct / sizeof punct[0] && punct[kind]) return punct[kind];
    for (int i = 0; i < NKEYWORDS; i++) {
        if (keywords[i].kind != kind) continue;
        if (!quoted[i][0]) snprintf(quoted[i], sizeof quoted[i], "'%s'", keywords[i].text);
        return quoted[i];
    }
    return "a token";
}

/* ------------------------------------------------------------ errors */

void parse_errs_note(ParseErrs *errs, uint32_t off)
{
    enum { ERRS_MAX = 1u << 16 };
    if (errs->n == errs->cap) {
        if (errs->cap >= ERRS_MAX) {
            errs->saturated = true;
            return;
        }
        unsigned cap = errs->cap ? errs->cap * 2 : 16;
        uint32_t *offs = realloc(errs->offs, cap * sizeof *offs);
        if (!offs) {
            errs->saturated = true;
            return;
        }
        errs->offs = offs;
        errs->cap = cap;
    }
    errs->offs[errs->n++] = off;
}

Diag *lex_error(Lexer *lx, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Diag *diag = diag_addv(lx->diags, DIAG_ERROR, span, fmt, ap);
    va_end(ap);
    parse_errs_note(lx->errs, span.off);
    return diag;
}

static Span span_at(const Lexer *lx, uint32_t off, uint32_t len)
{
    return (Span){ lx->file, off, len };
}

/* ------------------------------------------------------------ UTF-8 */

/* The length of the valid UTF-8 sequence at pos, or 0 when invalid. */
static uint32_t utf8_valid(const Lexer *lx, uint32_t pos)
{
    const unsigned char *s = lx->text + pos;
    uint32_t avail = lx->len - pos;
    unsigned char c = s[0];
    uint32_t len, min, cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; }
    else return 0;
    if (len > avail) return 0;
    cp = c & (0x7Fu >> len);
    for (uint32_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Steps over one byte or character of a string or comment at pos, reporting
 * an invalid UTF-8 sequence or a NUL when `report`; returns the new pos. */
static uint32_t step_char(Lexer *lx, uint32_t pos, bool report)
{
    unsigned char c = lx->text[pos];
    if (c == 0) {
        if (report) lex_error(lx, span_at(lx, pos, 1), "NUL byte in source");
        return pos + 1;
    }
    if (c < 0x80) return pos + 1;
    uint32_t len = utf8_valid(lx, pos);
    if (len) return pos + len;
    if (report) lex_error(lx, span_at(lx, pos, 1), "invalid UTF-8 byte 0x%02X", c);
    return pos + 1;
}

/* ------------------------------------------------------------ comments */

/* pos is just past the opening slash-star; returns the offset past the
 * closing star-slash, or the file's end after reporting. */
static uint32_t skip_block_comment(Lexer *lx, uint32_t start, uint32_t pos, bool report)
{
    while (pos < lx->len) {
        if (lx->text[pos] == '*' && lx->text[pos + 1] == '/') return pos + 2;
        if (lx->text[pos] == '\n') lx->newline = true;
        pos = step_char(lx, pos, report);
    }
    if (report) lex_error(lx, span_at(lx, start, 2), "unterminated comment");
    return lx->len;
}

static uint32_t skip_line_comment(Lexer *lx, uint32_t pos, bool report)
{
    while (pos < lx->len && lx->text[pos] != '\n') pos = step_char(lx, pos, report);
    return pos;
}

/* ------------------------------------------------------------ strings */
/*
 * A string's extent is found here; its content is decoded by parse.c.  The
 * literal text of the string is checked for encoding errors; code inside
 * ${ } is only skipped (the parse of that code lexes and checks it).
 */

typedef enum { SCAN_OK, SCAN_UNTERMINATED, SCAN_TOO_DEEP } ScanResult;

/* Bytes that need a look in a string's text (1) or in ${} code (2): the
 * rest, most of them, are stepped over in runs. */
static const uint8_t scan_special[256] = {
    [0] = 3, ['\n'] = 3, ['"'] = 3, ['\\'] = 1, ['$'] = 1, ['{'] = 2, ['}'] = 2, ['/'] = 2,
    [0x80 ... 0xFF] = 1,
};

typedef struct Scan {
    ScanResult result;
    uint32_t pos;        /* past the string, or where the problem was found */
} Scan;

static Scan scan_string(Lexer *lx, uint32_t pos, bool triple, bool report, int depth);

/* Skips the code of an interpolation; pos is past "${".  Returns the offset
 * of the closing "}" in .pos. */
static Scan scan_code(Lexer *lx, uint32_t pos, bool triple, int depth)
{
    int braces = 0;
    if (depth > PARSE_MAX_NESTING) return (Scan){ SCAN_TOO_DEEP, pos };
    while (pos < lx->len) {
        unsigned char c = lx->text[pos];
        if (!(scan_special[c] & 2)) {
            pos++;
            continue;
        }
        if (c == '\n' && !triple) break;
        if (c == '}') {
            if (braces == 0) return (Scan){ SCAN_OK, pos };
            braces--;
            pos++;
        } else if (c == '{') {
            if (depth + ++braces > PARSE_MAX_NESTING) return (Scan){ SCAN_TOO_DEEP, pos };
            pos++;
        } else if (c == '"') {
            bool inner_triple = lx->text[pos + 1] == '"' && lx->text[pos + 2] == '"';
            Scan inner = scan_string(lx, pos + (inner_triple ? 3 : 1), inner_triple, false,
                                     depth + braces + 1);
            if (inner.result != SCAN_OK) return inner;
            pos = inner.pos;
        } else if (c == '/' && lx->text[pos + 1] == '/') {
            pos = skip_line_comment(lx, pos + 2, false);
        } else if (c == '/' && lx->text[pos + 1] == '*') {
            bool newline = lx->newline;
            pos = skip_block_comment(lx, pos, pos + 2, false);
            lx->newline = newline;
        } else {
            pos++;
        }
    }
    return (Scan){ SCAN_UNTERMINATED, pos };
}

/* pos is past the opening quote(s); returns the offset past the closing ones. */
static Scan scan_string(Lexer *lx, uint32_t pos, bool triple, bool report, int depth)
{
    if (depth > PARSE_MAX_NESTING) return (Scan){ SCAN_TOO_DEEP, pos };
    while (pos < lx->len) {
        unsigned char c = lx->text[pos];
        if (c == '"') {
            if (!triple) return (Scan){ SCAN_OK, pos + 1 };
            if (lx->text[pos + 1] == '"' && lx->text[pos + 2] == '"') {
                /* """" ends with the last three quotes: a quote may end the text */
                while (lx->text[pos + 3] == '"') pos++;
                return (Scan){ SCAN_OK, pos + 3 };
            }
            pos++;
        } else if (c == '\n' && !triple) {
            break;
        } else if (c == '\\') {
            pos++;
            if (pos < lx->len && lx->text[pos] != '\n') pos = step_char(lx, pos, report);
        } else if (c == '$' && lx->text[pos + 1] == '{') {
            Scan code = scan_code(lx, pos + 2, triple, depth + 1);
            if (code.result != SCAN_OK) return code;
            pos = code.pos + 1;
        } else if (!(scan_special[c] & 1)) {
            pos++;   /* ASCII, no NUL: nothing to check */
        } else {
            pos = step_char(lx, pos, report);
        }
    }
    return (Scan){ SCAN_UNTERMINATED, pos };
}

uint32_t lex_interp_end(const Lexer *lx, uint32_t pos)
{
    Lexer copy = *lx;
    Scan code = scan_code(&copy, pos, true, 0);
    return code.pos;
}

static Token lex_string(Lexer *lx, uint32_t start, bool triple)
{
    Token tok = { TK_STRING, span_at(lx, start, 0), false, triple ? LEX_STR_TRIPLE : 0, {0} };
    Scan scan = scan_string(lx, start + (triple ? 3 : 1), triple, true, 1);
    uint32_t end = scan.pos;
    if (scan.result != SCAN_OK) {
        tok.flags |= LEX_STR_BAD;
        if (scan.result == SCAN_TOO_DEEP)
            lex_error(lx, span_at(lx, scan.pos, 1), "nesting too deep (more than %d levels)",
                      PARSE_MAX_NESTING);
        else
            lex_error(lx, span_at(lx, start, triple ? 3 : 1), "unterminated string");
        /* go on after the line (or, for """, the file) */
        end = scan.pos;
        if (!triple || scan.result == SCAN_TOO_DEEP)
            while (end < lx->len && lx->text[end] != '\n') end++;
        else
            end = lx->len;
    }
    if (memchr(lx->text + start, '\n', end - start)) lx->newline = true;
    tok.span.len = end - start;
    lx->pos = end;
    return tok;
}

/* ------------------------------------------------------------ literals */

static bool mul_add(int64_t *acc, int64_t mul, int64_t add)
{
    int64_t r;
    if (__builtin_mul_overflow(*acc, mul, &r) || __builtin_add_overflow(r, add, &r)) return false;
    *acc = r;
    return true;
}

typedef struct Unit {
    char name[4];        /* NUL-padded: compared as one 32-bit word */
    int kind;            /* TK_BYTES or TK_DURATION */
    int64_t factor;
} Unit;

static const Unit units[] = {
    {"B", TK_BYTES, 1},
    {"KB", TK_BYTES, 1000},
    {"MB", TK_BYTES, 1000000},
    {"GB", TK_BYTES, 1000000000},
    {"TB", TK_BYTES, 1000000000000},
    {"PB", TK_BYTES, 1000000000000000},
    {"KiB", TK_BYTES, 1024},
    {"MiB", TK_BYTES, 1024 * 1024},
    {"GiB", TK_BYTES, 1024 * 1024 * 1024},
    {"TiB", TK_BYTES, 1024LL * 1024 * 1024 * 1024},
    {"s", TK_DURATION, 1},
    {"m", TK_DURATION, 60},
    {"h", TK_DURATION, 3600},
    {"d", TK_DURATION, 86400},
    {"w", TK_DURATION, 604800},
};

/* The value of the digits [start, end) (at most 63 of them are read). */
static double number_value(const unsigned char *s, uint32_t start, uint32_t end)
{
    char number[64];
    uint32_t nlen = end - start < sizeof number - 1 ? end - start : (uint32_t)sizeof number - 1;
    memcpy(number, s + start, nlen);
    number[nlen] = '\0';
    return strtod(number, NULL);
}

/* A number [digits][.digits] at start, suffix from suffix to end. */
static Token lex_number(Lexer *lx, uint32_t start, uint32_t end)
{
    const unsigned char *s = lx->text;
    Token tok = { TK_INT, span_at(lx, start, end - start), false, 0, {0} };
    uint32_t pos = start, dot = 0, suffix = 0;
    int64_t whole = 0, frac = 0, scale = 1;
    bool overflow = false;
    for (; pos < end && s[pos] >= '0' && s[pos] <= '9'; pos++)
        if (!mul_add(&whole, 10, s[pos] - '0')) overflow = true;
    if (pos < end && s[pos] == '.') {
        dot = pos++;
        for (; pos < end && s[pos] >= '0' && s[pos] <= '9'; pos++) {
            if (scale <= INT64_MAX / 10 && mul_add(&frac, 10, s[pos] - '0')) scale *= 10;
            else if (s[pos] != '0') overflow = true;   /* more digits than we can keep */
        }
    }
    suffix = pos;

    if (suffix == end) {
        if (dot) {
            tok.kind = TK_FLOAT;
            tok.v.f = number_value(s, start, suffix);
        } else if (overflow) {
            lex_error(lx, tok.span, "integer too large (the largest is 9223372036854775807)");
        } else {
            tok.v.i = whole;
        }
        return tok;
    }
    if (s[suffix] == '%' && suffix + 1 == end) {
        tok.kind = TK_PERCENT;
        /* a whole number converts exactly as strtod would round it */
        tok.v.f = dot || overflow ? number_value(s, start, suffix) : (double)whole;
        return tok;
    }
    const Unit *unit = NULL;
    if (end - suffix <= 3) {
        char name[4] = { 0 };
        for (uint32_t i = suffix; i < end; i++) name[i - suffix] = (char)s[i];
        uint32_t word;
        memcpy(&word, name, 4);
        for (size_t i = 0; i < sizeof units / sizeof units[0] && !unit; i++) {
            uint32_t unit_word;
            memcpy(&unit_word, units[i].name, 4);
            if (unit_word == word) unit = &units[i];
        }
    }
    if (!unit) {
        Diag *d = lex_error(lx, span_at(lx, suffix, end - suffix), "unknown unit '%.*s'",
                            (int)(end - suffix > 32 ? 32 : end - suffix), (const char *)s + suffix);
        diag_help(d, "units are B KB MB GB TB PB KiB MiB GiB TiB (data sizes) and s m h d w (durations)");
        return tok;
    }
    tok.kind = unit->kind;
    /* whole*factor + frac*factor/scale, exactly */
    int64_t value = whole, part = frac;
    if (overflow || !mul_add(&value, unit->factor, 0)) {
        lex_error(lx, tok.span, "%s too large", unit->kind == TK_BYTES ? "data size" : "duration");
        return tok;
    }
    if (frac) {
        int64_t scaled;
        if (__builtin_mul_overflow(part, unit->factor, &scaled) || scaled % scale != 0) {
            lex_error(lx, tok.span, unit->kind == TK_BYTES
                          ? "a data size must be a whole number of bytes"
                          : "a duration must be a whole number of seconds");
            return tok;
        }
        if (!mul_add(&value, 1, scaled / scale)) {
            lex_error(lx, tok.span, "%s too large", unit->kind == TK_BYTES ? "data size" : "duration");
            return tok;
        }
    }
    tok.v.i = value;
    return tok;
}

static int digits(const unsigned char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* YYYY-MM-DD[THH:MM:SS[.frac](Z|+HH:MM|-HH:MM)] */
static Token lex_time(Lexer *lx, uint32_t start, uint32_t end)
{
    const unsigned char *s = lx->text + start;
    Token tok = { TK_TIME, span_at(lx, start, end - start), false, 0, {0} };
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = 0, mi = 0, sec = 0, off = 0;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
        lex_error(lx, tok.span, "invalid date '%.10s'", (const char *)s);
        return tok;
    }
    if (end - start > 10) {
        h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
        uint32_t p = 19;
        if (s[p] == '.') {
            p++;
            while (s[p] >= '0' && s[p] <= '9') p++;   /* fractional seconds are dropped */
        }
        if (s[p] == '+' || s[p] == '-') {
            int oh = digits(s + p + 1, 2), om = digits(s + p + 4, 2);
            if (oh > 23 || om > 59) {
                lex_error(lx, tok.span, "invalid time zone offset in '%.*s'", (int)(end - start),
                          (const char *)s);
                return tok;
            }
            off = (oh * 60 + om) * 60 * (s[p] == '+' ? 1 : -1);
        }
        if (h > 23 || mi > 59 || sec > 59) {
            lex_error(lx, tok.span, "invalid time of day in '%.*s'", (int)(end - start),
                      (const char *)s);
            return tok;
        }
    }
    tok.v.i = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    return tok;
}

static Token lex_clock(Lexer *lx, uint32_t start, uint32_t end)
{
    const unsigned char *s = lx->text + start;
    Token tok = { TK_CLOCK, span_at(lx, start, end - start), false, 0, {0} };
    int colon = s[1] == ':' ? 1 : 2;
    int h = digits(s, colon), m = digits(s + colon + 1, 2);
    if (h > 23 || m > 59) {
        lex_error(lx, tok.span, "invalid time of day '%.*s' (00:00 to 23:59)", (int)(end - start),
                  (const char *)s);
        return tok;
    }
    tok.v.i = h * 60 + m;
    return tok;
}

/* ------------------------------------------------------------ words */

static Token lex_word(Lexer *lx, uint32_t start, uint32_t end)
{
    Token tok = { TK_ID, span_at(lx, start, end - start), false, 0, {0} };
    if (end - start > LEX_MAX_IDENT) {
        lex_error(lx, tok.span, "name too long (more than %d bytes)", LEX_MAX_IDENT);
        return tok;
    }
    const Keyword *kw = keyword_find(lx->text + start, end - start);
    if (!kw || lx->prev_kind == TK_DOT) return tok;
    uint32_t pos = end;
    while (lx->text[pos] == ' ' || lx->text[pos] == '\t') pos++;
    if (lx->text[pos] == ':') return tok;
    tok.kind = kw->kind;
    if (kw->soft) tok.flags |= LEX_SOFT;
    return tok;
}

static void lex_bad_char(Lexer *lx, uint32_t pos)
{
    unsigned char c = lx->text[pos];
    if (c == 0) {
        lex_error(lx, span_at(lx, pos, 1), "NUL byte in source");
        lx->pos = pos + 1;
        return;
    }
    if (c >= 0x80) {
        uint32_t len = utf8_valid(lx, pos);
        if (!len) {
            lex_error(lx, span_at(lx, pos, 1), "invalid UTF-8 byte 0x%02X", c);
            lx->pos = pos + 1;
            return;
        }
        lex_error(lx, span_at(lx, pos, len), "unexpected character '%.*s'", (int)len,
                  (const char *)lx->text + pos);
        lx->pos = pos + len;
        return;
    }
    if (c < 0x20 || c == 0x7F)
        lex_error(lx, span_at(lx, pos, 1), "unexpected control character 0x%02X", c);
    else
        lex_error(lx, span_at(lx, pos, 1), "unexpected character '%c'", c);
    lx->pos = pos + 1;
}

/* ------------------------------------------------------------ the lexer */

void lex_init(Lexer *lx, SourceSet *sources, DiagSink *diags, ParseErrs *errs, uint32_t file,
              uint32_t start)
{
    lx->sources = sources;
    lx->diags = diags;
    lx->errs = errs;
    lx->text = (const unsigned char *)sources->files[file].text;
    lx->len = (uint32_t)sources->files[file].len;
    lx->file = file;
    lx->pos = start;
    lx->newline = start == 0;
    lx->prev_kind = 0;
}

/*!re2c
    re2c:define:YYCTYPE = "unsigned char";
    re2c:yyfill:enable = 0;
    re2c:define:YYCURSOR = cur;
    re2c:define:YYMARKER = mar;

    digit = [0-9];
    word  = [A-Za-z_][A-Za-z0-9_]*;
    num   = digit+ ("." digit+)?;
*/

static Token lex_token(Lexer *lx)
{
    for (;;) {
        const unsigned char *cur = lx->text + lx->pos, *mar, *tok = cur;
        uint32_t start = lx->pos;
#define TOKEN(k) do { lx->pos = (uint32_t)(cur - lx->text); \
        return (Token){ (k), span_at(lx, start, lx->pos - start), false, 0, {0} }; } while (0)
#define END ((uint32_t)(cur - lx->text))
        (void)tok;
        /*!re2c
        "\x00"            { if (start >= lx->len) { lx->pos = lx->len; TOKEN(0); }
                            lex_bad_char(lx, start); continue; }
        [ \t\r]+          { lx->pos = END; continue; }
        "\n"              { lx->newline = true; lx->pos = END; continue; }
        "//"              { lx->pos = skip_line_comment(lx, END, true); continue; }
        "/*"              { lx->pos = skip_block_comment(lx, start, END, true); continue; }

        "\"\"\""          { return lex_string(lx, start, true); }
        "\""              { return lex_string(lx, start, false); }

        digit{4} "-" digit{2} "-" digit{2}
                          { lx->pos = END; return lex_time(lx, start, END); }
        digit{4} "-" digit{2} "-" digit{2} [Tt] digit{2} ":" digit{2} ":" digit{2}
            ("." digit+)? ([Zz] | [+-] digit{2} ":" digit{2})
                          { lx->pos = END; return lex_time(lx, start, END); }
        digit{4} "-" digit{2} "-" digit{2} [Tt] [0-9A-Za-z:.+-]*
                          { lx->pos = END;
                            lex_error(lx, span_at(lx, start, END - start),
                                      "invalid time '%.*s' (write RFC 3339: 2026-12-01T09:00:00Z)",
                                      (int)(END - start > 40 ? 40 : END - start),
                                      (const char *)lx->text + start);
                            return (Token){ TK_TIME, span_at(lx, start, END - start), false, 0, {0} }; }
        digit{1,2} ":" digit{2}
                          { lx->pos = END; return lex_clock(lx, start, END); }
        num               { lx->pos = END; return lex_number(lx, start, END); }
        num "%"           { lx->pos = END; return lex_number(lx, start, END); }
        num [A-Za-z_][A-Za-z0-9_]*
                          { lx->pos = END; return lex_number(lx, start, END); }
        word              { lx->pos = END; return lex_word(lx, start, END); }

        "("  { TOKEN(TK_LPAREN); }   ")"  { TOKEN(TK_RPAREN); }
        "["  { TOKEN(TK_LBRACKET); } "]"  { TOKEN(TK_RBRACKET); }
        "{"  { TOKEN(TK_LBRACE); }   "}"  { TOKEN(TK_RBRACE); }
        ","  { TOKEN(TK_COMMA); }    ":"  { TOKEN(TK_COLON); }
        "."  { TOKEN(TK_DOT); }      ";"  { TOKEN(TK_SEMI); }
        "==" { TOKEN(TK_EQ); }       "!=" { TOKEN(TK_NE); }
        "<=" { TOKEN(TK_LE); }       ">=" { TOKEN(TK_GE); }
        "<"  { TOKEN(TK_LT); }       ">"  { TOKEN(TK_GT); }
        "="  { TOKEN(TK_ASSIGN); }   "->" { TOKEN(TK_ARROW); }
        "+"  { TOKEN(TK_PLUS); }     "-"  { TOKEN(TK_MINUS); }
        "*"  { TOKEN(TK_STAR); }     "/"  { TOKEN(TK_SLASH); }

        *                 { lex_bad_char(lx, start); continue; }
        */
#undef TOKEN
#undef END
    }
}

Token lex_next(Lexer *lx)
{
    Token tok = lex_token(lx);
    tok.bol = lx->newline;
    lx->newline = false;
    lx->prev_kind = tok.kind;
    return tok;
}
