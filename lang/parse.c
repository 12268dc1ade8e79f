/*
 * parse.c - the parser's driver: runs the lexer, feeds lemon, decodes strings
 * and parses their ${} interpolations, and recovers from errors.
 *
 * Recovery, in three layers:
 *  1. inside a flow, a block or a test, lemon's `error` productions resume
 *     at the next clause, statement or step; after an error nothing more is
 *     said until a token that starts a new line (Parser.quiet);
 *  2. when lemon gives up, or an error leaves the declaration in doubt, the
 *     driver skips to the next `input const flow sub test` that starts a
 *     line and parses on from there with a fresh parser;
 *  3. a declaration holding any error is reported but never added to the
 *     Program, so the checker sees only well-formed declarations.
 * Not the grammar (grammar.y) nor the tokens (lexer.re).
 */
#include "parse.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"

/* ------------------------------------------------------------ utilities */

static void out_of_memory(void)
{
    fputs("flowc: out of memory\n", stderr);
    exit(70);
}

static void *xrealloc(void *ptr, size_t size)
{
    void *fresh = realloc(ptr, size ? size : 1);
    if (!fresh) out_of_memory();
    return fresh;
}

static char *arena_copy(Program *prog, const char *text, size_t len)
{
    char *copy = arena_strndup(&prog->arena, text, len);
    if (!copy) out_of_memory();
    return copy;
}

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

static void buf_put(Buf *buf, const void *bytes, size_t n)
{
    if (buf->len + n > buf->cap) {
        buf->cap = (buf->len + n) * 2 + 16;
        buf->data = xrealloc(buf->data, buf->cap);
    }
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
}

static Span span_at(const Parser *p, uint32_t off, uint32_t len)
{
    return (Span){ p->file, off, len };
}

static Diag *parse_error(Parser *p, Span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static Diag *parse_error(Parser *p, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Diag *diag = diag_addv(p->diags, DIAG_ERROR, span, fmt, ap);
    va_end(ap);
    parse_errs_note(p->errs, span.off);
    return diag;
}

static void too_deep(Parser *p, Span span)
{
    parse_error(p, span, "nesting too deep (more than %d levels)", PARSE_MAX_NESTING);
    p->failed = true;
}

/* ------------------------------------------------------------ strings */

static Expr *parse_interpolation(Parser *outer, uint32_t start, uint32_t end);

static void parts_push(Parser *p, StrPart part)
{
    ParseScratch *scratch = p->scratch;
    if (scratch->nparts == scratch->parts_cap) {
        scratch->parts_cap = scratch->parts_cap ? scratch->parts_cap * 2 : 16;
        scratch->parts = xrealloc(scratch->parts, scratch->parts_cap * sizeof *scratch->parts);
    }
    scratch->parts[scratch->nparts++] = part;
}

/* The literal text being decoded.  While it is the source's bytes as
 * written, it is only where they start and how many: the part will point
 * into the source (which lives as long as the Program).  An escape, a CRLF or
 * a removed indentation makes it differ: then it is copied into the scratch
 * buffer and, when done, into the arena. */
typedef struct Lit {
    uint32_t off, len;   /* !copied: the source bytes [off, off + len) */
    bool copied;         /* the text is in p->scratch->lit */
} Lit;

static void lit_put(Parser *p, const void *bytes, size_t n)
{
    ParseScratch *scratch = p->scratch;
    if (n == 0) return;
    if (scratch->lit_len + n > scratch->lit_cap) {
        scratch->lit_cap = (scratch->lit_len + n) * 2 + 64;
        scratch->lit = xrealloc(scratch->lit, scratch->lit_cap);
    }
    memcpy(scratch->lit + scratch->lit_len, bytes, n);
    scratch->lit_len += n;
}

static void lit_copy(Parser *p, Lit *lit)
{
    if (lit->copied) return;
    p->scratch->lit_len = 0;
    lit_put(p, p->lx->text + lit->off, lit->len);
    lit->copied = true;
}

/* Appends the n source bytes at pos, as written. */
static void lit_source(Parser *p, Lit *lit, uint32_t pos, uint32_t n)
{
    if (!lit->copied) {
        if (lit->len == 0) lit->off = pos;
        if (lit->off + lit->len == pos) {
            lit->len += n;
            return;
        }
        lit_copy(p, lit);
    }
    lit_put(p, p->lx->text + pos, n);
}

/* The bytes of a string's text that are taken as written, in runs: not an
 * escape, a ${, a line end or a NUL. */
static const bool lit_stop[256] = { [0] = true, ['\\'] = true, ['$'] = true, ['\r'] = true, ['\n'] = true };

/* Appends decoded bytes, which are not the source's. */
static void lit_decoded(Parser *p, Lit *lit, const void *bytes, size_t n)
{
    lit_copy(p, lit);
    lit_put(p, bytes, n);
}

static void flush_literal(Parser *p, Lit *lit)
{
    const char *text;
    size_t len;
    if (lit->copied) {
        len = p->scratch->lit_len;
        text = len ? arena_copy(p->prog, p->scratch->lit, len) : NULL;
    } else {
        len = lit->len;
        text = (const char *)p->lx->text + lit->off;
    }
    if (len) parts_push(p, (StrPart){ .text = text, .len = (uint32_t)len });
    *lit = (Lit){ 0, 0, false };
    p->scratch->lit_len = 0;
}

static void put_utf8(Parser *p, Lit *lit, uint32_t cp)
{
    unsigned char out[4];
    size_t n;
    if (cp < 0x80) { out[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (unsigned char)(0xC0 | cp >> 6); out[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12); out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (unsigned char)(0xF0 | cp >> 18); out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4;
    }
    lit_decoded(p, lit, out, n);
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Decodes the escape at pos (a backslash) into lit; returns the offset after it. */
static uint32_t decode_escape(Parser *p, const unsigned char *s, uint32_t pos, uint32_t end, Lit *lit)
{
    unsigned char c = pos + 1 < end ? s[pos + 1] : 0;
    const char *simple = NULL;
    switch (c) {
    case 'n': simple = "\n"; break;
    case 't': simple = "\t"; break;
    case 'r': simple = "\r"; break;
    case '"': simple = "\""; break;
    case '\\': simple = "\\"; break;
    case '$': simple = "$"; break;
    default: break;
    }
    if (simple) {
        lit_decoded(p, lit, simple, 1);
        return pos + 2;
    }
    if (c == 'u') {
        uint32_t q = pos + 2, cp = 0;
        int ndigits = 0;
        bool ok = q < end && s[q] == '{';
        if (ok) {
            for (q++; q < end && ndigits <= 6; q++, ndigits++) {
                unsigned char h = s[q];
                int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (v < 0) break;
                cp = cp * 16 + (uint32_t)v;
            }
            ok = q < end && s[q] == '}' && ndigits >= 1 && ndigits <= 6;
        }
        if (!ok) {
            Diag *d = parse_error(p, span_at(p, pos, 2), "invalid unicode escape");
            diag_help(d, "write \\u{HEX} with 1 to 6 hex digits, e.g. \\u{20AC}");
            return pos + 2;
        }
        Span span = span_at(p, pos, q + 1 - pos);
        if (cp == 0) parse_error(p, span, "\\u{0} is not allowed: strings cannot hold NUL");
        else if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            parse_error(p, span, "\\u{%X} is not a Unicode scalar value", cp);
        else put_utf8(p, lit, cp);
        return q + 1;
    }
    Diag *d;
    if (c > 0x20 && c < 0x7F) d = parse_error(p, span_at(p, pos, 2), "unknown escape '\\%c'", c);
    else d = parse_error(p, span_at(p, pos, 1), "unknown escape");
    diag_help(d, "escapes are \\n \\t \\r \\\" \\\\ \\$ and \\u{HEX}");
    return c ? pos + 2 : pos + 1;
}

/* Skips the rest of a raw line of a string: escapes, ${} code and all. */
static uint32_t skip_raw_line(Parser *p, const unsigned char *s, uint32_t pos, uint32_t end)
{
    while (pos < end && s[pos] != '\n') {
        if (s[pos] == '\\') pos += 2;
        else if (s[pos] == '$' && s[pos + 1] == '{') pos = lex_interp_end(p->lx, pos + 2) + 1;
        else pos++;
    }
    return pos;
}

/* The least indentation (blanks) of the lines of a """ string that hold
 * more than blanks. */
static uint32_t common_indent(Parser *p, const unsigned char *s, uint32_t pos, uint32_t end)
{
    uint32_t best = UINT32_MAX;
    while (pos < end) {
        uint32_t n = 0;
        while (pos < end && is_blank(s[pos])) pos++, n++;
        bool blank = pos >= end || s[pos] == '\n' || (s[pos] == '\r' && s[pos + 1] == '\n');
        if (!blank && n < best) best = n;
        pos = skip_raw_line(p, s, pos, end) + 1;
    }
    return best == UINT32_MAX ? 0 : best;
}

/* Turns a STRING token into an E_STRING: escapes decoded, ${} parsed, and
 * for """ the first newline and the common indentation removed. */
static Expr *parse_string(Parser *p, const Token *tok)
{
    const unsigned char *s = p->lx->text;
    bool triple = tok->flags & LEX_STR_TRIPLE;
    if (tok->flags & LEX_STR_BAD) return ast_string(p->prog, NULL, 0, triple, tok->span);
    uint32_t quote = triple ? 3 : 1;
    uint32_t pos = tok->span.off + quote, end = tok->span.off + tok->span.len - quote;
    uint32_t indent = 0;
    if (triple) {
        if (s[pos] == '\r' && s[pos + 1] == '\n') pos += 2;
        else if (s[pos] == '\n') pos++;
        /* a last line of blanks only, before the closing quotes, is dropped */
        uint32_t back = end;
        while (back > pos && is_blank(s[back - 1])) back--;
        if (back == pos || s[back - 1] == '\n') end = back;
        indent = common_indent(p, s, pos, end);
    }
    unsigned base = p->scratch->nparts;
    Lit lit = { 0, 0, false };
    bool line_start = triple;
    while (pos < end) {
        if (line_start) {
            line_start = false;
            uint32_t n = 0;
            while (pos < end && n < indent && is_blank(s[pos])) pos++, n++;
            uint32_t q = pos;
            while (q < end && is_blank(s[q])) q++;
            if (q >= end || s[q] == '\n' || s[q] == '\r') pos = q;   /* blank line: empty */
            continue;
        }
        unsigned char c = s[pos];
        if (c == '\\') {
            pos = decode_escape(p, s, pos, end, &lit);
        } else if (c == '$' && s[pos + 1] == '{') {
            uint32_t close = lex_interp_end(p->lx, pos + 2);
            flush_literal(p, &lit);
            Expr *expr = parse_interpolation(p, pos + 2, close);
            if (expr) parts_push(p, (StrPart){ .expr = expr, .is_expr = true });
            pos = close + 1;
        } else if (c == '\r' && s[pos + 1] == '\n') {
            pos++;   /* CRLF reads as LF */
        } else if (c == '\n') {
            lit_source(p, &lit, pos, 1);
            pos++;
            line_start = true;
        } else if (c == 0) {
            pos++;   /* reported by the lexer */
        } else {
            uint32_t run = pos + 1;
            while (run < end && !lit_stop[s[run]]) run++;
            lit_source(p, &lit, pos, run - pos);
            pos = run;
        }
    }
    flush_literal(p, &lit);
    int nparts = (int)(p->scratch->nparts - base);
    StrPart *items = NULL;
    if (nparts) {
        items = arena_alloc_packed(&p->prog->arena, (size_t)nparts * sizeof *items);
        if (!items) out_of_memory();
        memcpy(items, p->scratch->parts + base, (size_t)nparts * sizeof *items);
    }
    p->scratch->nparts = base;
    return ast_string(p->prog, items, nparts, triple, tok->span);
}

Ident parse_test_title(Parser *p, const Token *tok)
{
    Expr *str = tok->v.str;
    Buf text = { NULL, 0, 0 };
    for (int i = 0; str && i < str->u.str.nparts; i++) {
        const StrPart *part = &str->u.str.parts[i];
        if (part->is_expr) {
            parse_error(p, part->expr->span, "a test's title cannot interpolate");
            continue;
        }
        buf_put(&text, part->text, part->len);
    }
    Ident id = ast_ident_text(p->prog, text.len ? text.data : "", text.len, tok->span);
    free(text.data);
    return id;
}

/* ------------------------------------------------------------ syntax errors */

typedef struct TokenClass {
    int probe;               /* when this kind is expected, the phrase stands for the members */
    const char *phrase;
    int members[20];
} TokenClass;

static const TokenClass token_classes[] = {
    { TK_INPUT, "a declaration (input, const, flow, sub or test)",
      { TK_INPUT, TK_CONST, TK_FLOW, TK_SUB, TK_TEST } },
    { TK_TITLE, "a flow clause (title, on, scope, when, repeat, rearm, active or do)",
      { TK_TITLE, TK_ON, TK_SCOPE, TK_WHEN, TK_REPEAT, TK_REARM, TK_ACTIVE, TK_DO } },
    { TK_ADVANCE, "a test step (sim, set, event, advance or expect)",
      { TK_SIM, TK_SET, TK_EVENT, TK_ADVANCE, TK_EXPECT } },
    { TK_LET, "a statement",
      { TK_LET, TK_IF, TK_FOR, TK_RETURN, TK_STOP, TK_LOG, TK_WAIT, TK_EMAIL, TK_WEBHOOK,
        TK_SUSPEND, TK_RESUME, TK_TOPUP, TK_RENEW, TK_TAG, TK_UNTAG, TK_ID } },
    { TK_HTML, "an email item (subject, text, html, cc, bcc or smtp)",
      { TK_SUBJECT, TK_TEXT, TK_HTML, TK_CC, TK_BCC, TK_SMTP } },
    { TK_INT, "an expression",
      { TK_INT, TK_FLOAT, TK_BYTES, TK_PERCENT, TK_DURATION, TK_TIME, TK_STRING, TK_ID, TK_TRUE,
        TK_FALSE, TK_LPAREN, TK_LBRACKET, TK_LBRACE, TK_MINUS, TK_NOT } },
    { TK_SUSPEND, "an action (suspend, resume, topup, renew, tag or untag)",
      { TK_SUSPEND, TK_RESUME, TK_TOPUP, TK_RENEW, TK_TAG, TK_UNTAG } },
};

enum { MAX_PHRASES = 6 };

/* Writes "a, b or c" for what the parser would have accepted. */
static void describe_expected(const bool *expected, int ntokens, char *out, size_t size)
{
    bool covered[256] = { false };
    const char *phrases[MAX_PHRASES];
    int n = 0;
    for (size_t i = 0; i < sizeof token_classes / sizeof token_classes[0]; i++) {
        const TokenClass *tc = &token_classes[i];
        if (tc->probe >= ntokens || !expected[tc->probe] || covered[tc->probe]) continue;
        if (n < MAX_PHRASES) phrases[n++] = tc->phrase;
        for (int j = 0; j < 20 && tc->members[j]; j++) covered[tc->members[j]] = true;
    }
    for (int t = 1; t < ntokens && t < 256; t++) {
        if (!expected[t] || covered[t] || t == TK_EXPR_START || t == TK_SEMI) continue;
        if (n < MAX_PHRASES) phrases[n++] = lex_kind_text(t);
        covered[t] = true;
    }
    out[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < n && len < size; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
        len += (size_t)snprintf(out + len, size - len, "%s%s", sep, phrases[i]);
    }
}

static bool is_unit(const char *text, size_t len)
{
    static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB",
                                         "s", "m", "h", "d", "w" };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i]) == len && memcmp(units[i], text, len) == 0) return true;
    return false;
}

static const char *closer_of(int open)
{
    return open == TK_LPAREN ? "')'" : open == TK_LBRACKET ? "']'" : "'}'";
}

static Diag *report_unclosed(Parser *p)
{
    int k = p->open_kind[p->depth - 1];
    Span at = p->open[p->depth - 1];
    if (k == TK_LBRACE) return parse_error(p, at, "expected '}' to close the block opened here");
    return parse_error(p, at, "expected %s to close the %s opened here", closer_of(k), lex_kind_text(k));
}

void parse_syntax_error(Parser *p, int kind, const Token *tok, const bool *expected, int ntokens)
{
    parse_errs_note(p->errs, tok->span.off);
    bool silent = p->quiet || p->recovering;
    p->recovering = p->quiet = true;
    if (silent) return;
    if (kind == 0 && p->depth > 0 && !p->range_end) {
        Diag *d = report_unclosed(p);
        diag_help(d, "the file ends before it is closed");
        return;
    }
    char what[96];
    const char *text = (const char *)p->lx->text + tok->span.off;
    if (kind == 0) snprintf(what, sizeof what, "%s", p->range_end ? "'}'" : "end of file");
    else if (kind == TK_STRING) snprintf(what, sizeof what, "string");
    else if (tok->span.len > 40) snprintf(what, sizeof what, "'%.40s...'", text);
    else snprintf(what, sizeof what, "'%.*s'", (int)tok->span.len, text);
    if (kind == TK_EQ || kind == TK_NE || kind == TK_LT || kind == TK_LE || kind == TK_GT ||
        kind == TK_GE || kind == TK_IN) {
        if (ntokens > kind && !expected[kind]) {
            Diag *d = diag_add(p->diags, DIAG_ERROR, tok->span, "unexpected %s: comparisons do not chain", what);
            diag_help(d, "write `a < b and b < c`, or use parentheses");
            return;
        }
    }
    char wanted[512];
    describe_expected(expected, ntokens, wanted, sizeof wanted);
    Diag *d = wanted[0] ? diag_add(p->diags, DIAG_ERROR, tok->span, "unexpected %s; expected %s", what, wanted)
                        : diag_add(p->diags, DIAG_ERROR, tok->span, "unexpected %s", what);
    if (ntokens > TK_SIM && expected[TK_SIM] && !expected[TK_ID] && !expected[TK_EXPECT])
        diag_help(d, "actions act on the run's SIM, written `sim`: `suspend sim`");
    else if (kind == TK_ID && (p->prev_kind == TK_INT || p->prev_kind == TK_FLOAT) && is_unit(text, tok->span.len))
        diag_help(d, "write the unit right after the number, without a space: 3KB, 24h");
}

void parse_stack_overflow(Parser *p)
{
    parse_error(p, span_at(p, p->lx->pos, 0), "out of memory for the parser's stack");
    p->failed = true;
}

/* ------------------------------------------------------------ declarations */

static bool decl_has_error(const Parser *p, Span span)
{
    if (p->errs->saturated) return true;
    for (unsigned i = 0; i < p->errs->n; i++) {
        uint32_t off = p->errs->offs[i];
        if (off >= span.off && off <= span.off + span.len) return true;
    }
    return false;
}

/* The height check walks the tree without recursion: the tree may be a
 * million levels deep, which is why it is being checked. */
typedef struct WalkItem {
    const void *node;
    int kind;            /* 0 expression, 1 statement, 2 block */
    int depth;
} WalkItem;

typedef struct Walk {
    WalkItem *items;
    size_t n, cap;
} Walk;

static void walk_push(Walk *w, const void *node, int kind, int depth)
{
    if (!node) return;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->items = xrealloc(w->items, w->cap * sizeof *w->items);
    }
    w->items[w->n++] = (WalkItem){ node, kind, depth };
}

/* A literal or a name has no children: it needs a place on the stack only
 * when it is itself too deep. */
static inline void walk_push_expr(Walk *w, const Expr *e, int d)
{
    if (!e || ((e->kind <= E_TIME || e->kind == E_NAME) && d <= PARSE_MAX_HEIGHT)) return;
    walk_push(w, e, 0, d);
}

static void walk_expr(Walk *w, const Expr *e, int d)
{
    switch (e->kind) {
    case E_STRING:
        for (int i = 0; i < e->u.str.nparts; i++)
            if (e->u.str.parts[i].is_expr) walk_push_expr(w, e->u.str.parts[i].expr, d);
        break;
    case E_LIST: for (int i = 0; i < e->u.list.n; i++) walk_push_expr(w, e->u.list.items[i], d); break;
    case E_RECORD: for (int i = 0; i < e->u.rec.n; i++) walk_push_expr(w, e->u.rec.fields[i].value, d); break;
    case E_FIELD: walk_push_expr(w, e->u.field.obj, d); break;
    case E_INDEX: walk_push_expr(w, e->u.index.obj, d); walk_push_expr(w, e->u.index.index, d); break;
    case E_CALL: for (int i = 0; i < e->u.call.nargs; i++) walk_push_expr(w, e->u.call.args[i], d); break;
    case E_UNARY: walk_push_expr(w, e->u.unary.operand, d); break;
    case E_BINARY: walk_push_expr(w, e->u.binary.left, d); walk_push_expr(w, e->u.binary.right, d); break;
    default: break;
    }
}

static void walk_stmt(Walk *w, const Stmt *s, int d)
{
    switch (s->kind) {
    case S_LET: case S_ASSIGN: walk_push_expr(w, s->u.let.value, d); break;
    case S_IF:
        walk_push_expr(w, s->u.if_.cond, d);
        walk_push(w, &s->u.if_.then, 2, d);
        if (s->u.if_.has_else) walk_push(w, &s->u.if_.otherwise, 2, d);
        break;
    case S_FOR: walk_push_expr(w, s->u.for_.list, d); walk_push(w, &s->u.for_.body, 2, d); break;
    case S_RETURN: walk_push_expr(w, s->u.ret.value, d); break;
    case S_LOG: walk_push_expr(w, s->u.log.message, d); break;
    case S_CALL: walk_push_expr(w, s->u.call.call, d); break;
    case S_WAIT: walk_push_expr(w, s->u.wait.duration, d); break;
    case S_EMAIL:
        walk_push_expr(w, s->u.email.recipients, d);
        for (int i = 0; i < s->u.email.nitems; i++) walk_push_expr(w, s->u.email.items[i].value, d);
        break;
    case S_WEBHOOK: walk_push_expr(w, s->u.webhook.url, d); walk_push_expr(w, s->u.webhook.params, d); break;
    case S_SIMOP: walk_push_expr(w, s->u.simop.arg, d); break;
    case S_STOP: break;
    }
}

static void walk_decl(Walk *w, const Decl *decl)
{
    switch (decl->kind) {
    case D_INPUT: walk_push_expr(w, decl->u.input.dflt, 1); break;
    case D_CONST: walk_push_expr(w, decl->u.konst.value, 1); break;
    case D_SUB: walk_push(w, &decl->u.sub.body, 2, 1); break;
    case D_FLOW:
        for (int i = 0; i < decl->u.flow.nclauses; i++) {
            const Clause *c = &decl->u.flow.clauses[i];
            switch (c->kind) {
            case C_TITLE: walk_push_expr(w, c->u.title, 1); break;
            case C_ON: walk_push_expr(w, c->u.on.date, 1); walk_push_expr(w, c->u.on.cron, 1); break;
            case C_SCOPE: walk_push_expr(w, c->u.scope.value, 1); break;
            case C_WHEN: walk_push_expr(w, c->u.when, 1); break;
            case C_REPEAT: walk_push_expr(w, c->u.repeat.after, 1); break;
            case C_REARM: walk_push_expr(w, c->u.rearm, 1); break;
            case C_ACTIVE:
                walk_push_expr(w, c->u.active.from, 1);
                walk_push_expr(w, c->u.active.until, 1);
                walk_push_expr(w, c->u.active.for_, 1);
                break;
            case C_DO: walk_push(w, &c->u.body, 2, 1); break;
            }
        }
        break;
    case D_TEST:
        for (int i = 0; i < decl->u.test.nsteps; i++) {
            const Step *s = &decl->u.test.steps[i];
            switch (s->kind) {
            case T_SIM: walk_push_expr(w, s->u.sim, 1); break;
            case T_SET: walk_push_expr(w, s->u.set.value, 1); break;
            case T_EVENT:
                walk_push_expr(w, s->u.event.fields, 1);
                walk_push_expr(w, s->u.event.iccid, 1);
                walk_push_expr(w, s->u.event.at, 1);
                break;
            case T_ADVANCE: walk_push_expr(w, s->u.advance, 1); break;
            case T_EXPECT_ACTION:
                walk_push_expr(w, s->u.expect.target, 1);
                walk_push_expr(w, s->u.expect.subject_contains, 1);
                break;
            case T_EXPECT_TRUE: walk_push_expr(w, s->u.expect_true, 1); break;
            case T_EXPECT_NOTHING: break;
            }
        }
        break;
    }
}

static bool height_ok(Parser *p, const Decl *decl)
{
    Walk w = { NULL, 0, 0 };
    bool ok = true;
    walk_decl(&w, decl);
    while (w.n > 0 && ok) {
        WalkItem it = w.items[--w.n];
        if (it.depth > PARSE_MAX_HEIGHT) {
            Span span = it.kind == 0 ? ((const Expr *)it.node)->span
                      : it.kind == 1 ? ((const Stmt *)it.node)->span : ((const Block *)it.node)->span;
            parse_error(p, (Span){ span.file, span.off, 0 },
                        "too deeply nested (more than %d levels of expressions and statements)",
                        PARSE_MAX_HEIGHT);
            ok = false;
        } else if (it.kind == 0) {
            walk_expr(&w, it.node, it.depth + 1);
        } else if (it.kind == 1) {
            walk_stmt(&w, it.node, it.depth + 1);
        } else {
            const Block *b = it.node;
            for (int i = 0; i < b->n; i++) walk_push(&w, b->items[i], 1, it.depth + 1);
        }
    }
    free(w.items);
    return ok;
}

void parse_add_decl(Parser *p, Decl *decl)
{
    if (!decl || decl_has_error(p, decl->span) || !height_ok(p, decl)) return;
    ast_program_add(p->prog, decl);
}

/* ------------------------------------------------------------ feeding lemon */

static bool closes(int open, int close)
{
    return (open == TK_LPAREN && close == TK_RPAREN) || (open == TK_LBRACKET && close == TK_RBRACKET) ||
           (open == TK_LBRACE && close == TK_RBRACE);
}

/* Keywords that begin a declaration, clause, statement, step or email item.
 * At the start of a line one of them is that keyword, never a name carried
 * over from the line before, unless an `=`, `(`, `.` or `[` follows: so
 * `when x >=` followed by a line `do {` reports the missing operand at `do`. */
static bool is_structural(int kind)
{
    switch (kind) {
    case TK_INPUT: case TK_CONST: case TK_FLOW: case TK_SUB: case TK_TEST:
    case TK_TITLE: case TK_ON: case TK_SCOPE: case TK_WHEN: case TK_REPEAT: case TK_REARM:
    case TK_ACTIVE: case TK_DO:
    case TK_LET: case TK_IF: case TK_ELSE: case TK_FOR: case TK_RETURN: case TK_STOP: case TK_LOG:
    case TK_WAIT: case TK_EMAIL: case TK_WEBHOOK: case TK_SUSPEND: case TK_RESUME: case TK_TOPUP:
    case TK_RENEW: case TK_TAG: case TK_UNTAG:
    case TK_SUBJECT: case TK_TEXT: case TK_HTML: case TK_CC: case TK_BCC: case TK_SMTP:
    case TK_SET: case TK_ADVANCE: case TK_EXPECT:
        return true;
    default:
        return false;
    }
}

static bool continues_name(int next)
{
    return next == TK_ASSIGN || next == TK_LPAREN || next == TK_DOT || next == TK_LBRACKET;
}

/* A soft keyword is a name where the parser cannot take it as the keyword
 * (the %fallback rule, see grammar.y), except a structural keyword that
 * starts a line: that one stays a keyword and the parser reports it. */
static int resolve_keyword(void *lemon, const Token *tok, int next)
{
    if (!(tok->flags & LEX_SOFT) || FlowParseAcceptsDirectly(lemon, tok->kind)) return tok->kind;
    if (tok->bol && is_structural(tok->kind) && !continues_name(next)) return tok->kind;
    return FlowParseAcceptsDirectly(lemon, TK_ID) ? TK_ID : tok->kind;
}

/* Tracks nesting, decodes strings, and hands the token to lemon.  `next` is
 * the kind of the token after it. */
static void feed(Parser *p, void *lemon, Token tok, int next)
{
    if (tok.bol) p->quiet = false;
    if (tok.flags & LEX_HAD_ERROR) p->quiet = true;   /* no syntax error after a lexical one */
    switch (tok.kind) {
    case TK_LPAREN: case TK_LBRACKET: case TK_LBRACE:
        if (p->base_depth + p->depth >= PARSE_MAX_NESTING) {
            too_deep(p, tok.span);
            return;
        }
        p->open[p->depth] = tok.span;
        p->open_kind[p->depth++] = tok.kind;
        break;
    case TK_RPAREN: case TK_RBRACKET: case TK_RBRACE:
        if (p->depth > 0 && closes(p->open_kind[p->depth - 1], tok.kind)) p->depth--;
        break;
    default: break;
    }
    if (tok.kind == TK_MINUS || tok.kind == TK_NOT) {
        if (++p->prefix_run > PARSE_MAX_NESTING) {
            too_deep(p, tok.span);
            return;
        }
    } else {
        p->prefix_run = 0;
    }
    if (tok.kind == TK_STRING) {
        unsigned before = p->errs->n;
        tok.v.str = parse_string(p, &tok);
        if (p->errs->n != before) p->quiet = true;
    }
    tok.kind = resolve_keyword(lemon, &tok, next);
    FlowParse(lemon, tok.kind, tok);
    p->prev_kind = tok.kind;
}

static void *restart(Parser *p, void *lemon)
{
    if (lemon) FlowParseFree(lemon, free);
    lemon = FlowParseAlloc(malloc, p);
    if (!lemon) out_of_memory();
    p->depth = 0;
    p->prefix_run = 0;
    p->quiet = p->recovering = p->failed = false;
    return lemon;
}

static bool is_decl_keyword(int kind)
{
    return kind == TK_INPUT || kind == TK_CONST || kind == TK_FLOW || kind == TK_SUB || kind == TK_TEST;
}

/* Does `kind` then `next` look like the start of a declaration? */
static bool starts_decl(int kind, int next)
{
    return kind == TK_TEST ? next == TK_STRING : next == TK_ID;
}

/* The next token, flagged when reading it reported a lexical error. */
static Token next_token(Lexer *lx)
{
    unsigned before = lx->errs->n;
    Token tok = lex_next(lx);
    if (lx->errs->n != before) tok.flags |= LEX_HAD_ERROR;
    return tok;
}

static bool is_word_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_word_char(unsigned char c)
{
    return is_word_start(c) || (c >= '0' && c <= '9');
}

/* The length of the word at pos (0: none). */
static uint32_t word_at(const unsigned char *s, uint32_t pos, uint32_t end)
{
    if (pos >= end || !is_word_start(s[pos])) return 0;
    uint32_t q = pos + 1;
    while (q < end && is_word_char(s[q])) q++;
    return q - pos;
}

/* Most interpolations are `${name}` or `${name.field}`: those are built here
 * as the grammar would build them (name, primary, postfix DOT name), without
 * a lexer and a parser for three tokens.  NULL for anything else, which the
 * parser reads. */
static Expr *parse_simple_interpolation(Parser *outer, uint32_t start, uint32_t end)
{
    const unsigned char *s = outer->lx->text;
    uint32_t first = word_at(s, start, end);
    if (!first || !lex_word_is_name(s + start, first)) return NULL;
    uint32_t second = 0;
    if (start + first < end) {
        /* a word after `.` is always a name (lexer.re) */
        if (s[start + first] != '.') return NULL;
        second = word_at(s, start + first + 1, end);
        if (!second || second > LEX_MAX_IDENT || start + first + 1 + second != end) return NULL;
    }
    Expr *e = ast_name(outer->prog, ast_ident(outer->prog, span_at(outer, start, first)));
    if (second) e = ast_field(outer->prog, e, ast_ident(outer->prog, span_at(outer, start + first + 1, second)));
    return e;
}

static Expr *parse_interpolation(Parser *outer, uint32_t start, uint32_t end)
{
    int base = outer->base_depth + outer->depth + 1;
    if (base > PARSE_MAX_NESTING) {
        parse_error(outer, span_at(outer, start - 2, 2), "nesting too deep (more than %d levels)",
                    PARSE_MAX_NESTING);
        return NULL;
    }
    Expr *simple = parse_simple_interpolation(outer, start, end);
    if (simple) return simple;
    Lexer lx;
    lex_init(&lx, outer->prog->sources, outer->diags, outer->errs, outer->file, start);
    lx.newline = false;
    Parser p;
    memset(&p, 0, offsetof(Parser, open));
    p.prog = outer->prog;
    p.diags = outer->diags;
    p.errs = outer->errs;
    p.lx = &lx;
    p.scratch = outer->scratch;
    p.file = outer->file;
    p.range_end = end;
    p.base_depth = base;
    void **cached = &outer->scratch->lemons[base];
    if (*cached) FlowParseReset(*cached, &p);
    else if (!(*cached = FlowParseAlloc(malloc, &p))) out_of_memory();
    void *lemon = *cached;
    FlowParse(lemon, TK_EXPR_START, (Token){ TK_EXPR_START, span_at(&p, start, 0), false, 0, {0} });
    Token tok = next_token(&lx);
    while (!p.failed) {
        if (tok.kind == 0 || tok.span.off >= end) {
            FlowParse(lemon, 0, (Token){ 0, span_at(&p, end, 1), false, 0, {0} });
            break;
        }
        Token next = next_token(&lx);
        feed(&p, lemon, tok, next.span.off >= end ? 0 : next.kind);
        tok = next;
    }
    return p.failed || p.recovering ? NULL : p.result;
}

int parse_file(Program *prog, DiagSink *diags, uint32_t file)
{
    unsigned errors_before = diags->errors;
    ParseErrs errs = { NULL, 0, 0, false };
    prog->nscratch = 0;   /* no list is being built between files (ast.h, AstVec) */
    Lexer lx;
    lex_init(&lx, prog->sources, diags, &errs, file, 0);
    Parser *p = calloc(1, sizeof *p);
    if (!p) out_of_memory();
    p->prog = prog;
    p->diags = diags;
    p->errs = &errs;
    ParseScratch scratch;
    memset(&scratch, 0, sizeof scratch);
    p->lx = &lx;
    p->scratch = &scratch;
    p->file = file;
    void *lemon = restart(p, NULL);
    bool skipping = false;
    Token tok = next_token(&lx);
    while (tok.kind != 0) {
        Token next = next_token(&lx);
        if (is_decl_keyword(tok.kind) && tok.bol) {
            if (skipping || p->recovering) {
                lemon = restart(p, lemon);
                skipping = false;
            } else if (p->depth > 0 && starts_decl(tok.kind, next.kind)) {
                Diag *d = report_unclosed(p);
                uint32_t line, col;
                src_position(prog->sources, file, tok.span.off, &line, &col);
                diag_help(d, "'%.*s' on line %u starts a new declaration", (int)tok.span.len,
                          (const char *)lx.text + tok.span.off, line);
                lemon = restart(p, lemon);
            }
        }
        if (!skipping) {
            feed(p, lemon, tok, next.kind);
            if (p->failed) skipping = true;
        }
        tok = next;
    }
    if (!skipping) {
        tok.span = (Span){ file, lx.len, 0 };
        FlowParse(lemon, 0, tok);
    }
    FlowParseFree(lemon, free);
    free(p);
    free(scratch.parts);
    free(scratch.lit);
    for (int i = 0; i <= PARSE_MAX_NESTING; i++)
        if (scratch.lemons[i]) FlowParseFree(scratch.lemons[i], free);
    free(errs.offs);
    return (int)(diags->errors - errors_before);
}
