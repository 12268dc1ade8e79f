/*
 * check.c - the type checker.
 *
 * Walks a parsed project once, in this order: register the global names
 * (inputs, consts, flows, subs); resolve input types and sub signatures;
 * check sub bodies; propagate what subs need (a SIM) and do (actions) through
 * the call graph (cycles too: recursion is bounded at run time by the call
 * depth); check flows and tests; then the
 * project-wide rules (the flow limit, unused inputs).  Every node it accepts
 * gets its static type and resolution (see the "checker:" fields of ast.h),
 * which is all the compiler needs.  It reports; it never stops at the first
 * error, and an expression that had an error gets TY_ERROR, which is silently
 * accepted everywhere so that one mistake makes one message.
 */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/builtins.h"
#include "../stdlib/cron.h"
#include "../stdlib/validate.h"
#include "../vm/opcodes.h"

/* Deepest expression nesting the checker follows (the parser's own limit is
 * lower; this guards hand-built trees). */
#define CHK_MAX_DEPTH 1000

/* ============================================================ the context */

typedef struct Local {
    const char *name;
    Span span;
    const Type *type;
    int slot;
    bool readonly;       /* a `for` variable */
} Local;

typedef struct Scope {
    struct Scope *up;
    Local *items;
    int n, cap;
    int slot_base;       /* next_slot when the scope opened */
} Scope;

/* Where the expression or statement being checked stands. */
typedef enum {
    WHERE_GLOBAL,   /* an input's default, a const: compile-time values only */
    WHERE_COND,     /* when, rearm, on date: no effects */
    WHERE_DO,       /* a flow's do body */
    WHERE_SUB,      /* a sub's body */
    WHERE_TEST      /* a test step */
} Where;

typedef struct CallEdge {
    Decl *from, *to;
} CallEdge;

typedef struct Checker {
    Program *prog;
    DiagSink *diags;
    unsigned errors_at_start;

    Decl **globals;          /* open-addressing table of inputs, consts, flows, subs */
    size_t globals_cap;

    Decl *decl;              /* the flow, sub or test being checked */
    const CatEvent *event;   /* the event bound to `event`, or NULL */
    bool sim_bound;
    Where where;
    bool in_date;            /* checking the date of `on date`, before any event exists */
    Scope *scope;
    int next_slot, max_slot;
    int depth;

    CallEdge *edges;
    int nedges, edges_cap;

    struct Shape { const Type *type; uint64_t hash; } *shapes;   /* see shape_type */
    size_t nshapes, shapes_cap;
    TypeField *fields;       /* a stack: the fields of the record literals being checked */
    size_t nfields, fields_cap;

    /* The names the checker looks for, as interned by the parser (NULL when
     * the project never writes them): a name is one of them when it is the
     * same pointer, since every name of the tree is interned (ast_ident). */
    const char *n_event, *n_sim, *n_flow, *n_run, *n_now;
    int8_t *sim_field;       /* by name number: its index in cat_sim_fields, -1 none, -2 not looked up */
} Checker;

/* The static type the checker gave an expression (ast.h keeps it as a number). */
static inline const Type *type_of(const Checker *c, const Expr *e)
{
    return ast_expr_type(c->prog, e);
}

/* ============================================================ reporting */

static const char *tname(const Type *t)
{
    static char bufs[4][160];
    static int next;
    char *buf = bufs[next++ & 3];
    return ty_name(t, buf, sizeof bufs[0]);
}

static Diag *error_at(Checker *c, Span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static Diag *error_at(Checker *c, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Diag *d = diag_addv(c->diags, DIAG_ERROR, span, fmt, ap);
    va_end(ap);
    return d;
}

static Diag *warning_at(Checker *c, Span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static Diag *warning_at(Checker *c, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Diag *d = diag_addv(c->diags, DIAG_WARNING, span, fmt, ap);
    va_end(ap);
    return d;
}

static void suggest(Diag *d, const char *name, const char *const *candidates, size_t n)
{
    const char *best = diag_suggest(name, strlen(name), candidates, n);
    if (best) diag_help(d, "did you mean '%s'?", best);
}

static const char *decl_kind_name(DeclKind kind)
{
    switch (kind) {
    case D_INPUT: return "an input";
    case D_CONST: return "a const";
    case D_FLOW: return "a flow";
    case D_SUB: return "a sub";
    case D_TEST: return "a test";
    }
    return "a declaration";
}

/* The one way out below main: without memory a check cannot go on. */
static void out_of_memory(void)
{
    fputs("flowc: out of memory\n", stderr);
    exit(70);
}

/* ============================================================ globals */

/* Names are compared often and mostly differ in their first byte; the
 * parser interns them (ast.c), so equal names are often the same pointer. */
static inline bool same_name(const char *a, const char *b)
{
    return a == b || (a[0] == b[0] && strcmp(a, b) == 0);
}

static uint64_t hash_name(const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (; *name; name++) h = (h ^ (unsigned char)*name) * 1099511628211ull;
    return h;
}

static Decl **global_slot(Checker *c, const char *name)
{
    size_t mask = c->globals_cap - 1;
    for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask)
        if (!c->globals[i] || same_name(c->globals[i]->name.text, name)) return &c->globals[i];
}

static Decl *global_find(Checker *c, const char *name)
{
    return *global_slot(c, name);
}

static void register_globals(Checker *c)
{
    size_t cap = 16;
    while (cap < (size_t)c->prog->ndecls * 2 + 2) cap *= 2;
    c->globals = calloc(cap, sizeof *c->globals);
    if (!c->globals) out_of_memory();
    c->globals_cap = cap;
    for (int i = 0; i < c->prog->ndecls; i++) {
        Decl *d = c->prog->decls[i];
        if (d->kind == D_TEST) continue;
        Decl **slot = global_slot(c, d->name.text);
        if (*slot) {
            error_at(c, d->name.span, "'%s' is already declared as %s", d->name.text, decl_kind_name((*slot)->kind));
            diag_add(c->diags, DIAG_NOTE, (*slot)->name.span, "'%s' is first declared here", d->name.text);
            continue;
        }
        *slot = d;
    }
}

/* Every name a `did you mean` may offer in an expression: locals and globals. */
static const char **visible_names(Checker *c, size_t *n)
{
    size_t cap = 16 + c->globals_cap, count = 0;
    for (Scope *s = c->scope; s; s = s->up) cap += (size_t)s->n;
    const char **names = malloc(cap * sizeof *names);
    if (!names) {
        *n = 0;
        return NULL;
    }
    for (Scope *s = c->scope; s; s = s->up)
        for (int i = 0; i < s->n; i++) names[count++] = s->items[i].name;
    for (size_t i = 0; i < c->globals_cap; i++)
        if (c->globals[i] && (c->globals[i]->kind == D_INPUT || c->globals[i]->kind == D_CONST))
            names[count++] = c->globals[i]->name.text;
    static const char *const bound[] = { "event", "sim", "now", "flow", "run" };
    for (size_t i = 0; i < 5; i++) names[count++] = bound[i];
    *n = count;
    return names;
}

/* ============================================================ scopes */

static void scope_push(Checker *c, Scope *s)
{
    memset(s, 0, sizeof *s);
    s->up = c->scope;
    s->slot_base = c->next_slot;
    c->scope = s;
}

static void scope_pop(Checker *c)
{
    Scope *s = c->scope;
    c->next_slot = s->slot_base;
    c->scope = s->up;
    free(s->items);
}

/* Locals and the names looked up are all interned (ast_ident): equal names
 * are the same pointer. */
static Local *scope_find(Checker *c, const char *name)
{
    for (Scope *s = c->scope; s; s = s->up)
        for (int i = s->n; i-- > 0;)
            if (s->items[i].name == name) return &s->items[i];
    return NULL;
}

static int alloc_slots(Checker *c, int count)
{
    int slot = c->next_slot;
    c->next_slot += count;
    if (c->next_slot > c->max_slot) c->max_slot = c->next_slot;
    return slot;
}

/* Declares a local in the innermost scope; returns its slot. */
static int declare_local(Checker *c, Ident name, const Type *type, bool readonly, int slot)
{
    Scope *s = c->scope;
    for (int i = 0; i < s->n; i++)
        if (same_name(s->items[i].name, name.text)) {
            error_at(c, name.span, "'%s' is already defined in this block", name.text);
            break;
        }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->items = realloc(s->items, (size_t)s->cap * sizeof *s->items);
        if (!s->items) out_of_memory();
    }
    if (slot < 0) slot = alloc_slots(c, 1);
    s->items[s->n++] = (Local){ name.text, name.span, type, slot, readonly };
    return slot;
}

/* ============================================================ types */

/* The list and record types the checker makes are made once per shape (the
 * element type; the fields' names and types), so that a project has few
 * types however many literals it writes: an expression numbers its type in
 * 16 bits (ast.h), and a record literal no longer costs a type of its own.
 * Names are interned and types made once, so addresses compare them. */
static uint64_t shape_hash(TypeKind kind, const Type *elem, const TypeField *fields, int n)
{
    uint64_t h = ((uint64_t)kind + 1) * 0x9E3779B97F4A7C15u ^ (uintptr_t)elem;
    for (int i = 0; i < n; i++) {
        h = (h ^ (uintptr_t)fields[i].name) * 0x100000001B3u;
        h = (h ^ (uintptr_t)fields[i].type) * 0x100000001B3u;
    }
    return h ^ (h >> 31);
}

static bool same_shape(const Type *t, TypeKind kind, const Type *elem, const TypeField *fields, int n)
{
    if (t->kind != kind || t->elem != elem || t->nfields != n) return false;
    for (int i = 0; i < n; i++)
        if (t->fields[i].name != fields[i].name || t->fields[i].type != fields[i].type) return false;
    return true;
}

static const Type *shape_type(Checker *c, TypeKind kind, const Type *elem, const TypeField *fields, int n)
{
    if ((c->nshapes + 1) * 2 > c->shapes_cap) {
        size_t cap = c->shapes_cap ? c->shapes_cap * 2 : 64;
        struct Shape *fresh = calloc(cap, sizeof *fresh);
        if (!fresh) out_of_memory();
        for (size_t i = 0; i < c->shapes_cap; i++) {
            if (!c->shapes[i].type) continue;
            size_t at = c->shapes[i].hash & (cap - 1);
            while (fresh[at].type) at = (at + 1) & (cap - 1);
            fresh[at] = c->shapes[i];
        }
        free(c->shapes);
        c->shapes = fresh;
        c->shapes_cap = cap;
    }
    uint64_t hash = shape_hash(kind, elem, fields, n);
    size_t mask = c->shapes_cap - 1, at = hash & mask;
    for (; c->shapes[at].type; at = (at + 1) & mask)
        if (c->shapes[at].hash == hash && same_shape(c->shapes[at].type, kind, elem, fields, n))
            return c->shapes[at].type;
    TypeField *copy = n ? arena_alloc(&c->prog->arena, (size_t)n * sizeof *copy) : NULL;
    Type *t = arena_alloc(&c->prog->arena, sizeof *t);
    if ((n && !copy) || !t) out_of_memory();
    if (n) memcpy(copy, fields, (size_t)n * sizeof *copy);
    t->kind = kind;
    t->elem = elem;
    t->fields = copy;
    t->nfields = n;
    c->shapes[at] = (struct Shape){ t, hash };
    c->nshapes++;
    return t;
}

static const Type *new_list_type(Checker *c, const Type *elem)
{
    if (elem == &ty_string) return &ty_list_string;
    if (elem == &ty_email) return &ty_list_email;
    return shape_type(c, TY_LIST, elem, NULL, 0);
}

static const char *const type_names[] = { "bool", "int", "float", "string", "bytes", "percent",
                                           "duration", "time", "list", "record", "email", "url" };

/* Resolves a written type: the simple names, list<T> of them, record. */
static const Type *resolve_type(Checker *c, TypeExpr *te)
{
    if (!te) return &ty_error;
    const char *name = te->name.text;
    if (strcmp(name, "list") == 0) {
        if (!te->arg) {
            error_at(c, te->span, "'list' needs its item type, like list<string>");
            return &ty_error;
        }
        const Type *elem = resolve_type(c, te->arg);
        if (elem->kind == TY_ERROR) return elem;
        return new_list_type(c, elem);
    }
    if (te->arg) {
        error_at(c, te->span, "'%s' takes no type argument", name);
        return &ty_error;
    }
    const Type *t = ty_parse(name, strlen(name));
    if (t) return t;
    Diag *d = error_at(c, te->name.span, "unknown type '%s'", name);
    suggest(d, name, type_names, sizeof type_names / sizeof type_names[0]);
    return &ty_error;
}

static bool is_error(const Type *t)
{
    return t->kind == TY_ERROR;
}

/* ============================================================ constants */

/* The text of a string known at compile time: a literal without ${}, or a
 * const holding one.  NULL otherwise. */
static const char *const_text(Checker *c, const Expr *e, size_t *len, int depth)
{
    if (!e || depth > 64) return NULL;
    if (e->kind == E_NAME && e->name_kind == NAME_CONST)
        return const_text(c, ast_name_decl(c->prog, e)->u.konst.value, len, depth + 1);
    if (e->kind != E_STRING) return NULL;
    for (int i = 0; i < e->u.str.nparts; i++)
        if (e->u.str.parts[i].is_expr) return NULL;
    if (e->u.str.nparts == 0) {
        *len = 0;
        return "";
    }
    /* a part written as is points into the source: joined below, it gets a NUL */
    if (e->u.str.nparts == 1 && e->u.str.parts[0].text[e->u.str.parts[0].len] == '\0') {
        *len = e->u.str.parts[0].len;
        return e->u.str.parts[0].text;
    }
    size_t total = 0;
    for (int i = 0; i < e->u.str.nparts; i++) total += e->u.str.parts[i].len;
    char *joined = arena_alloc(&c->prog->arena, total + 1);
    if (!joined) return NULL;
    size_t at = 0;
    for (int i = 0; i < e->u.str.nparts; i++) {
        memcpy(joined + at, e->u.str.parts[i].text, e->u.str.parts[i].len);
        at += e->u.str.parts[i].len;
    }
    *len = total;
    return joined;
}

/* The list literal behind an expression known at compile time, or NULL. */
static const Expr *const_list(const Checker *c, const Expr *e, int depth)
{
    if (!e || depth > 64) return NULL;
    if (e->kind == E_NAME && e->name_kind == NAME_CONST)
        return const_list(c, ast_name_decl(c->prog, e)->u.konst.value, depth + 1);
    return e->kind == E_LIST ? e : NULL;
}

/* The integral value of a literal known at compile time (bytes, durations,
 * times, ints), following consts; false when it is computed. */
static bool const_integral(const Checker *c, const Expr *e, int64_t *out, int depth)
{
    if (!e || depth > 64) return false;
    if (e->kind == E_NAME && e->name_kind == NAME_CONST)
        return const_integral(c, ast_name_decl(c->prog, e)->u.konst.value, out, depth + 1);
    if (e->kind == E_INT || e->kind == E_BYTES || e->kind == E_DURATION || e->kind == E_TIME) {
        *out = e->u.i;
        return true;
    }
    if (e->kind == E_UNARY && e->op == OPR_NEG && const_integral(c, e->u.unary.operand, out, depth + 1)) {
        if (*out == INT64_MIN) return false;
        *out = -*out;
        return true;
    }
    return false;
}

/* ============================================================ literal checks */

/* Checks a string literal (or const) against a domain; reports and returns
 * false when it is not one of the domain's words. */
static bool check_domain_word(Checker *c, const Expr *e, StrDomain domain)
{
    size_t len;
    const char *text = const_text(c, e, &len, 0);
    if (!text) return true;
    const char *const *words = ty_domain_words(domain);
    size_t n = 0;
    for (; words[n]; n++)
        if (strlen(words[n]) == len && memcmp(words[n], text, len) == 0) return true;
    Diag *d = error_at(c, e->span, "\"%.*s\" is not a %s", (int)(len > 60 ? 60 : len), text,
                       ty_domain_name(domain));
    const char *best = diag_suggest(text, len, words, n);
    if (best) {
        diag_help(d, "did you mean \"%s\"?", best);
    } else {
        char list[256] = "";
        for (size_t i = 0; i < n; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, words[i], sizeof list - strlen(list) - 1);
        }
        diag_help(d, "a %s is one of: %s", ty_domain_name(domain), list);
    }
    return false;
}

static void check_email_literal(Checker *c, const Expr *e)
{
    size_t len;
    const char *text = const_text(c, e, &len, 0);
    if (!text) return;
    const char *why = valid_email(text, len);
    if (why) error_at(c, e->span, "\"%.*s\" is not an email address: %s", (int)(len > 80 ? 80 : len), text, why);
}

static void check_url_literal(Checker *c, const Expr *e)
{
    size_t len;
    const char *text = const_text(c, e, &len, 0);
    if (!text) return;
    const char *why = valid_https_url(text, len);
    if (why) error_at(c, e->span, "\"%.*s\" is not a webhook URL: %s", (int)(len > 80 ? 80 : len), text, why);
}

static bool check_iccid_text(Checker *c, Span span, const char *text, size_t len)
{
    char why_buf[64];
    const char *why = valid_iccid(text, len, why_buf);
    if (!why) return true;
    error_at(c, span, "\"%.*s\" is not a valid ICCID: %s", (int)(len > 40 ? 40 : len), text, why);
    return false;
}

/* Literal checks that depend on the type a value is put to: an email or a
 * URL literal, a word of a domain, and lists of them. */
static void check_literal_for(Checker *c, const Expr *e, const Type *want)
{
    if (!e || !want) return;
    if (want->kind == TY_LIST) {
        const Expr *list = const_list(c, e, 0);
        if (list)
            for (int i = 0; i < list->u.list.n; i++) check_literal_for(c, list->u.list.items[i], want->elem);
        return;
    }
    if (want->kind == TY_EMAIL) check_email_literal(c, e);
    else if (want->kind == TY_URL) check_url_literal(c, e);
    else if (want->kind == TY_STRING && want->domain != DOM_NONE) check_domain_word(c, e, want->domain);
}

/* Can a value of `from` stand where `want` is expected?  Strings may stand
 * for emails and URLs (literals are checked now, computed ones at run time)
 * and for domain words (literals checked now). */
static bool fits(const Type *from, const Type *want)
{
    if (ty_assignable(from, want)) return true;
    if (from->kind == TY_STRING && (want->kind == TY_EMAIL || want->kind == TY_URL)) return true;
    if (from->kind == TY_STRING && want->kind == TY_STRING) return true;   /* domain words */
    if (from->kind == TY_LIST && want->kind == TY_LIST) return fits(from->elem, want->elem);
    return false;
}

/* Reports unless `e` (already checked) fits `want`; `what` names the place. */
static bool expect_type(Checker *c, const Expr *e, const Type *want, const char *what)
{
    if (is_error(type_of(c, e)) || is_error(want)) return true;
    if (type_of(c, e)->kind == TY_LIST && type_of(c, e)->elem->kind == TY_EMPTY && want->kind == TY_LIST) return true;
    if (!fits(type_of(c, e), want)) {
        Diag *d = error_at(c, e->span, "%s must be %s, not %s", what, tname(want), tname(type_of(c, e)));
        if (want->kind == TY_BYTES && type_of(c, e)->kind == TY_PERCENT)
            diag_help(d, "a percent is not a data size: write '%s of sim.quota'", "80%");
        if (want->kind == TY_LIST && fits(type_of(c, e), want->elem))
            diag_help(d, "put it in a list: [ ... ]");
        return false;
    }
    check_literal_for(c, e, want);
    return true;
}

/* ============================================================ expressions */

static const Type *check_expr(Checker *c, Expr *e);

static const Type *set_type(Checker *c, Expr *e, const Type *t, bool is_const)
{
    ast_set_expr_type(c->prog, e, t);
    e->is_const = is_const;
    return t;
}

static bool sim_available(Checker *c, Span span, const char *what)
{
    if (c->sim_bound) {
        if (c->where == WHERE_SUB && c->decl) c->decl->u.sub.needs_sim = true;
        return true;
    }
    if (c->where == WHERE_GLOBAL) error_at(c, span, "%s is only known while a flow runs", what);
    else if (c->event)
        error_at(c, span, "there is no SIM in a flow on %s: the event is about %s", c->event->name,
                 c->event->subject == SUBJ_ORG ? "the organisation" : "the whole scope");
    else error_at(c, span, "%s is not available here", what);
    return false;
}

/* event.X, sim.X, flow.X, run.X: the bound names are not values themselves. */
static const Type *check_bound_field(Checker *c, Expr *e, const char *base)
{
    const char *field = ast_field_text(c->prog, e);
    Expr *obj = e->u.field.obj;
    if (base == c->n_event) {
        obj->name_kind = NAME_EVENT;
        if (!c->event) {
            if (c->in_date)
                error_at(c, obj->span, "the date of 'on date' cannot use 'event': it is computed before the event exists");
            else if (c->where == WHERE_SUB)
                error_at(c, obj->span, "a sub has no 'event': pass what it needs as a parameter");
            else if (c->where == WHERE_TEST)
                error_at(c, obj->span, "'event' is not available in a test's expectations");
            else
                error_at(c, obj->span, "'event' is only known while a flow runs");
            return set_type(c, e, &ty_error, false);
        }
        if (same_name(field, CAT_EVENT_ICCID)) {
            if (c->event->subject != SUBJ_SIM)
                error_at(c, ast_field_name_span(c->prog, e), "%s is not about one SIM: it has no iccid", c->event->name);
            e->u.field.index = EVF_ICCID;
            return set_type(c, e, &ty_string, false);
        }
        if (same_name(field, CAT_EVENT_TIME)) {
            e->u.field.index = EVF_TIME;
            return set_type(c, e, &ty_time, false);
        }
        size_t flen = strlen(field);
        int i = cat_event_field_find(c->event, field, flen);
        if (i < 0) {
            const char *names[40];
            size_t n = 0;
            names[n++] = CAT_EVENT_ICCID;
            names[n++] = CAT_EVENT_TIME;
            for (int k = 0; k < c->event->nfields && n < 40; k++) names[n++] = c->event->fields[k].name;
            Diag *d = error_at(c, ast_field_name_span(c->prog, e), "%s has no field '%s'", c->event->name, field);
            const char *best = diag_suggest(field, flen, names, n);
            if (best) diag_help(d, "did you mean '%s'?", best);
            else if (c->event->nfields == 0) diag_help(d, "%s carries only iccid and time", c->event->name);
            return set_type(c, e, &ty_error, false);
        }
        e->u.field.index = EVF_PAYLOAD + i;
        return set_type(c, e, c->event->fields[i].type, false);
    }
    if (base == c->n_sim) {
        obj->name_kind = NAME_SIM;
        if (!sim_available(c, obj->span, "'sim'")) return set_type(c, e, &ty_error, false);
        int8_t *known = &c->sim_field[e->u.field.name];
        if (*known == -2) *known = (int8_t)cat_sim_field_find(field, strlen(field));
        int i = *known;
        if (i < 0) {
            const char *names[SIM_NFIELDS];
            for (int k = 0; k < SIM_NFIELDS; k++) names[k] = cat_sim_fields[k].name;
            Diag *d = error_at(c, ast_field_name_span(c->prog, e), "a SIM has no field '%s'", field);
            suggest(d, field, names, SIM_NFIELDS);
            return set_type(c, e, &ty_error, false);
        }
        e->u.field.index = i;
        return set_type(c, e, cat_sim_fields[i].type, false);
    }
    if (c->where == WHERE_GLOBAL) {
        error_at(c, obj->span, "'%s' is only known while a flow runs", base);
        return set_type(c, e, &ty_error, false);
    }
    if (base == c->n_flow) {
        obj->name_kind = NAME_FLOW;
        if (strcmp(field, "name") == 0) { e->u.field.index = CTX_FLOW_NAME; return set_type(c, e, &ty_string, false); }
        if (strcmp(field, "version") == 0) { e->u.field.index = CTX_FLOW_VERSION; return set_type(c, e, &ty_int, false); }
        Diag *d = error_at(c, ast_field_name_span(c->prog, e), "'flow' has no field '%s'", field);
        diag_help(d, "'flow' has 'name' and 'version'");
        return set_type(c, e, &ty_error, false);
    }
    obj->name_kind = NAME_RUN;
    if (strcmp(field, "id") == 0) { e->u.field.index = CTX_RUN_ID; return set_type(c, e, &ty_string, false); }
    Diag *d = error_at(c, ast_field_name_span(c->prog, e), "'run' has no field '%s'", field);
    diag_help(d, "'run' has 'id'");
    return set_type(c, e, &ty_error, false);
}

/* name: interned (see Checker.n_event) */
static bool is_bound_name(const Checker *c, const char *name)
{
    return name && (name == c->n_event || name == c->n_sim || name == c->n_flow || name == c->n_run);
}

static const Type *check_const_decl(Checker *c, Decl *d);

static const Type *check_name(Checker *c, Expr *e)
{
    const char *name = ast_name_text(c->prog, e);
    Local *local = scope_find(c, name);
    if (local) {
        e->name_kind = NAME_LOCAL;
        e->u.name.slot = local->slot;
        return set_type(c, e, local->type, false);
    }
    if (name == c->n_now) {
        e->name_kind = NAME_NOW;
        if (c->where == WHERE_GLOBAL) {
            error_at(c, e->span, "'now' is only known while a flow runs");
            return set_type(c, e, &ty_error, false);
        }
        return set_type(c, e, &ty_time, false);
    }
    if (is_bound_name(c, name)) {
        Diag *d = error_at(c, e->span, "'%s' is not a value by itself", name);
        if (strcmp(name, "sim") == 0) diag_help(d, "use one of its fields, like sim.iccid");
        else if (strcmp(name, "event") == 0) diag_help(d, "use one of its fields, like event.time");
        else if (strcmp(name, "flow") == 0) diag_help(d, "use flow.name or flow.version");
        else diag_help(d, "use run.id");
        return set_type(c, e, &ty_error, false);
    }
    Decl *g = global_find(c, name);
    if (g && g->kind == D_INPUT) {
        e->name_kind = NAME_INPUT;
        e->u.name.decl = (uint32_t)g->index;
        g->u.input.used = true;
        if (c->where == WHERE_GLOBAL) {
            error_at(c, e->span, "'%s' is an input, set at deploy: it is not known at compile time", name);
            return set_type(c, e, &ty_error, false);
        }
        return set_type(c, e, g->u.input.resolved ? g->u.input.resolved : &ty_error, false);
    }
    if (g && g->kind == D_CONST) {
        e->name_kind = NAME_CONST;
        e->u.name.decl = (uint32_t)g->index;
        return set_type(c, e, check_const_decl(c, g), true);
    }
    if (g) {
        Diag *d = error_at(c, e->span, "'%s' is %s, not a value", name, decl_kind_name(g->kind));
        if (g->kind == D_SUB) diag_help(d, "call it: %s(...)", name);
        return set_type(c, e, &ty_error, false);
    }
    size_t n;
    const char **names = visible_names(c, &n);
    Diag *d = error_at(c, e->span, "unknown name '%s'", name);
    if (names) suggest(d, name, names, n);
    free(names);
    return set_type(c, e, &ty_error, false);
}

static const Type *check_field(Checker *c, Expr *e)
{
    Expr *obj = e->u.field.obj;
    if (obj->kind == E_NAME && is_bound_name(c, ast_name_text(c->prog, obj)) && !scope_find(c, ast_name_text(c->prog, obj))) {
        ast_set_expr_type(c->prog, obj, &ty_void);
        return check_bound_field(c, e, ast_name_text(c->prog, obj));
    }
    const Type *t = check_expr(c, obj);
    if (is_error(t)) return set_type(c, e, &ty_error, false);
    const char *field = ast_field_text(c->prog, e);
    if (t->kind != TY_RECORD) {
        error_at(c, ast_field_name_span(c->prog, e), "a value of type %s has no fields", tname(t));
        return set_type(c, e, &ty_error, false);
    }
    for (int i = 0; i < t->nfields; i++)
        if (same_name(t->fields[i].name, field)) {
            e->u.field.index = i;
            return set_type(c, e, t->fields[i].type, obj->is_const);
        }
    if (t->nfields == 0) {
        error_at(c, ast_field_name_span(c->prog, e), "the fields of a record input are not known when compiling");
        return set_type(c, e, &ty_error, false);
    }
    const char *names[64];
    size_t n = 0;
    for (int i = 0; i < t->nfields && n < 64; i++) names[n++] = t->fields[i].name;
    Diag *d = error_at(c, ast_field_name_span(c->prog, e), "the record has no field '%s'", field);
    suggest(d, field, names, n);
    return set_type(c, e, &ty_error, false);
}

static const Type *check_index(Checker *c, Expr *e)
{
    const Type *obj = check_expr(c, e->u.index.obj);
    const Type *idx = check_expr(c, e->u.index.index);
    if (!is_error(idx) && idx->kind != TY_INT)
        error_at(c, e->u.index.index->span, "a list index must be int, not %s", tname(idx));
    if (is_error(obj)) return set_type(c, e, &ty_error, false);
    if (obj->kind != TY_LIST) {
        error_at(c, e->u.index.obj->span, "only lists can be indexed, not %s", tname(obj));
        return set_type(c, e, &ty_error, false);
    }
    if (obj->elem->kind == TY_EMPTY) {
        error_at(c, e->span, "the list is always empty");
        return set_type(c, e, &ty_error, false);
    }
    return set_type(c, e, obj->elem, false);
}

/* ------------------------------------------------------------ calls */

static bool builtin_accepts(const Checker *c, const StdBuiltin *b, Expr **args, int nargs)
{
    if (nargs < b->nparams || nargs > b->nparams + b->nopt) return false;
    for (int i = 0; i < nargs; i++) {
        const Type *have = type_of(c, args[i]), *want = b->params[i];
        if (is_error(have)) continue;
        if (want == &ty_empty_list) {
            if (have->kind != TY_LIST) return false;
        } else if (!ty_assignable(have, want)) {
            return false;
        }
    }
    return true;
}

static void builtin_forms(int first, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    for (int r = first; r < std_nbuiltins && strcmp(std_builtins[r].name, name) == 0; r++) {
        const StdBuiltin *b = &std_builtins[r];
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s(", r == first ? "" : ", ");
        for (int i = 0; i < b->nparams + b->nopt; i++) {
            used = strlen(out);
            snprintf(out + used, size - used, "%s%s%s", i ? ", " : "",
                     b->params[i] == &ty_empty_list ? "list" : tname(b->params[i]),
                     i >= b->nparams ? "?" : "");
        }
        used = strlen(out);
        snprintf(out + used, size - used, ")");
    }
}

static const Type *check_builtin_call(Checker *c, Expr *e, int first)
{
    const char *name = e->u.call.name;
    bool any_error = false;
    for (int i = 0; i < e->u.call.nargs; i++) any_error |= is_error(type_of(c, e->u.call.args[i]));
    for (int r = first; r < std_nbuiltins && strcmp(std_builtins[r].name, name) == 0; r++) {
        const StdBuiltin *b = &std_builtins[r];
        if (!builtin_accepts(c, b, e->u.call.args, e->u.call.nargs)) continue;
        e->call_kind = CALL_BUILTIN;
        e->u.call.builtin = r;
        if (any_error) return set_type(c, e, &ty_error, false);
        const Type *ret = b->ret ? b->ret : type_of(c, e->u.call.args[0]);
        return set_type(c, e, ret, false);
    }
    if (any_error) return set_type(c, e, &ty_error, false);
    char have[256] = "";
    for (int i = 0; i < e->u.call.nargs; i++) {
        size_t used = strlen(have);
        snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", tname(type_of(c, e->u.call.args[i])));
    }
    char forms[512];
    builtin_forms(first, name, forms, sizeof forms);
    Diag *d = error_at(c, e->span, "%s() does not take (%s)", name, have);
    diag_help(d, "%s takes %s", name, forms);
    return set_type(c, e, &ty_error, false);
}

static void add_edge(Checker *c, Decl *to)
{
    if (!c->decl || c->decl->kind != D_SUB) return;
    if (c->nedges == c->edges_cap) {
        c->edges_cap = c->edges_cap ? c->edges_cap * 2 : 16;
        c->edges = realloc(c->edges, (size_t)c->edges_cap * sizeof *c->edges);
        if (!c->edges) out_of_memory();
    }
    c->edges[c->nedges++] = (CallEdge){ c->decl, to };
}

static const Type *check_sub_call(Checker *c, Expr *e, Decl *sub)
{
    e->call_kind = CALL_SUB;
    e->u.call.sub = sub;
    add_edge(c, sub);
    int nparams = sub->u.sub.nparams, nargs = e->u.call.nargs;
    if (nargs != nparams) {
        error_at(c, e->span, "%s() takes %d argument%s, not %d", sub->name.text, nparams, nparams == 1 ? "" : "s",
                 nargs);
    } else {
        for (int i = 0; i < nargs; i++) {
            char what[160];
            snprintf(what, sizeof what, "argument '%s' of %s()", sub->u.sub.params[i].name.text, sub->name.text);
            expect_type(c, e->u.call.args[i], sub->u.sub.params[i].resolved, what);
        }
    }
    if (c->where == WHERE_COND || c->where == WHERE_TEST) {
        /* flags are final: subs are checked and propagated before flows and tests */
        if (sub->u.sub.has_effects)
            error_at(c, e->span, "%s() takes actions, which a condition cannot", sub->name.text);
    }
    if (c->where != WHERE_SUB && !c->sim_bound && sub->u.sub.needs_sim && c->event)
        error_at(c, e->span, "%s() uses the SIM, and there is no SIM in a flow on %s", sub->name.text,
                 c->event->name);
    if (c->where == WHERE_GLOBAL) error_at(c, e->span, "a sub cannot be called at compile time");
    return set_type(c, e, sub->u.sub.resolved_ret ? sub->u.sub.resolved_ret : &ty_void, false);
}

static const Type *check_call(Checker *c, Expr *e)
{
    for (int i = 0; i < e->u.call.nargs; i++) check_expr(c, e->u.call.args[i]);
    const char *name = e->u.call.name;
    Decl *g = global_find(c, name);
    if (g && g->kind == D_SUB) return check_sub_call(c, e, g);
    int first = std_find(name, strlen(name));
    if (first >= 0) {
        if (c->where == WHERE_GLOBAL) {
            error_at(c, e->span, "a const must be known at compile time; %s() runs only in a flow", name);
            return set_type(c, e, &ty_error, false);
        }
        return check_builtin_call(c, e, first);
    }
    if (g) {
        if (g->kind == D_INPUT) g->u.input.used = true;
        error_at(c, ast_call_name_span(e), "'%s' is %s; only subs and built-ins can be called", name,
                 decl_kind_name(g->kind));
        return set_type(c, e, &ty_error, false);
    }
    const char **names = malloc(((size_t)std_nbuiltins + c->globals_cap) * sizeof *names);
    size_t n = 0;
    if (names) {
        for (int r = 0; r < std_nbuiltins; r++) names[n++] = std_builtins[r].name;
        for (size_t i = 0; i < c->globals_cap; i++)
            if (c->globals[i] && c->globals[i]->kind == D_SUB) names[n++] = c->globals[i]->name.text;
    }
    Diag *d = error_at(c, ast_call_name_span(e), "unknown function '%s'", name);
    if (names) suggest(d, name, names, n);
    free(names);
    return set_type(c, e, &ty_error, false);
}

/* ------------------------------------------------------------ operators */

static bool is_number(const Type *t)
{
    return t->kind == TY_INT || t->kind == TY_FLOAT;
}

/* The type of `l op r` for + - * / mod, or NULL when the units do not mix. */
static const Type *arith_type(OpKind op, const Type *l, const Type *r)
{
    TypeKind a = l->kind, b = r->kind;
    switch (op) {
    case OPR_ADD:
    case OPR_SUB:
        if (a == TY_INT && b == TY_INT) return &ty_int;
        if (is_number(l) && is_number(r)) return &ty_float;
        if (a == b && (a == TY_BYTES || a == TY_PERCENT || a == TY_DURATION)) return l;
        if (a == TY_TIME && b == TY_DURATION) return &ty_time;
        if (op == OPR_ADD && a == TY_DURATION && b == TY_TIME) return &ty_time;
        if (op == OPR_SUB && a == TY_TIME && b == TY_TIME) return &ty_duration;
        if (op == OPR_ADD && ty_is_stringlike(l) && ty_is_stringlike(r)) return &ty_string;
        return NULL;
    case OPR_MUL:
        if (a == TY_INT && b == TY_INT) return &ty_int;
        if (is_number(l) && is_number(r)) return &ty_float;
        if ((a == TY_BYTES || a == TY_DURATION || a == TY_PERCENT) && is_number(r)) return l;
        if ((b == TY_BYTES || b == TY_DURATION || b == TY_PERCENT) && is_number(l)) return r;
        return NULL;
    case OPR_DIV:
        if (a == TY_INT && b == TY_INT) return &ty_int;
        if (is_number(l) && is_number(r)) return &ty_float;
        if ((a == TY_BYTES || a == TY_DURATION || a == TY_PERCENT) && is_number(r)) return l;
        if (a == b && (a == TY_BYTES || a == TY_DURATION || a == TY_PERCENT)) return &ty_float;
        return NULL;
    case OPR_MOD:
        if (a == TY_INT && b == TY_INT) return &ty_int;
        if (is_number(l) && is_number(r)) return &ty_float;
        if (a == b && (a == TY_BYTES || a == TY_DURATION)) return l;
        return NULL;
    default:
        return NULL;
    }
}

static const char *op_verb(OpKind op)
{
    switch (op) {
    case OPR_ADD: return "add";
    case OPR_SUB: return "subtract";
    case OPR_MUL: return "multiply";
    case OPR_DIV: return "divide";
    case OPR_MOD: return "take the remainder of";
    default: return "combine";
    }
}

/* May values of these types be compared with < <= > >=? */
static bool orderable(const Type *l, const Type *r)
{
    if (is_number(l) && is_number(r)) return true;
    if (l->kind != r->kind) return ty_is_stringlike(l) && ty_is_stringlike(r);
    switch (l->kind) {
    case TY_BYTES: case TY_PERCENT: case TY_DURATION: case TY_TIME: case TY_STRING: return true;
    default: return false;
    }
}

/* May values of these types be compared with == and !=? */
static bool equatable(const Type *l, const Type *r)
{
    if (is_number(l) && is_number(r)) return true;
    if (ty_is_stringlike(l) && ty_is_stringlike(r)) {
        /* two domains of different kinds never hold the same word */
        return l->kind != TY_STRING || r->kind != TY_STRING || !l->domain || !r->domain ||
               l->domain == r->domain;
    }
    return ty_equal(l, r) || (l->kind == TY_LIST && r->kind == TY_LIST &&
                              (l->elem->kind == TY_EMPTY || r->elem->kind == TY_EMPTY ||
                               equatable(l->elem, r->elem)));
}

static void unit_mismatch_help(Diag *d, const Type *l, const Type *r)
{
    if ((l->kind == TY_PERCENT && r->kind == TY_BYTES) || (l->kind == TY_BYTES && r->kind == TY_PERCENT))
        diag_help(d, "a percent is not a data size: write '80%% of sim.quota' for the size");
    else if ((l->kind == TY_PERCENT && r->kind == TY_DURATION) || (l->kind == TY_DURATION && r->kind == TY_PERCENT))
        diag_help(d, "write '50%% of 24h' for a share of a duration");
    else if ((l->kind == TY_TIME && is_number(r)) || (r->kind == TY_TIME && is_number(l)))
        diag_help(d, "add a duration to a time, like now + 3d");
    else if ((l->kind == TY_BYTES && is_number(r)) || (r->kind == TY_BYTES && is_number(l)))
        diag_help(d, "give the number a unit, like 500MB");
    else if ((l->kind == TY_DURATION && is_number(r)) || (r->kind == TY_DURATION && is_number(l)))
        diag_help(d, "give the number a unit, like 24h");
}

/* Domain words on either side of == != in: check the literal side. */
static void check_domain_compare(Checker *c, Expr *l, Expr *r)
{
    if (type_of(c, l)->kind == TY_STRING && type_of(c, l)->domain) {
        if (type_of(c, r)->kind == TY_LIST) {
            const Expr *list = const_list(c, r, 0);
            if (list)
                for (int i = 0; i < list->u.list.n; i++) check_domain_word(c, list->u.list.items[i], type_of(c, l)->domain);
        } else {
            check_domain_word(c, r, type_of(c, l)->domain);
        }
    } else if (type_of(c, r)->kind == TY_STRING && type_of(c, r)->domain) {
        check_domain_word(c, l, type_of(c, r)->domain);
    }
}

static const Type *check_binary(Checker *c, Expr *e)
{
    OpKind op = e->op;
    Expr *le = e->u.binary.left, *re = e->u.binary.right;
    const Type *l = check_expr(c, le), *r = check_expr(c, re);
    bool is_const = le->is_const && re->is_const;
    if (is_error(l) || is_error(r)) return set_type(c, e, &ty_error, false);
    const char *ops = ast_op_text(op);
    switch (op) {
    case OPR_AND:
    case OPR_OR:
        if (l->kind != TY_BOOL) error_at(c, le->span, "'%s' needs bool on its left, not %s", ops, tname(l));
        if (r->kind != TY_BOOL) error_at(c, re->span, "'%s' needs bool on its right, not %s", ops, tname(r));
        return set_type(c, e, &ty_bool, is_const);
    case OPR_EQ:
    case OPR_NE:
        if (!equatable(l, r)) {
            Diag *d = error_at(c, e->span, "cannot compare %s with %s", tname(l), tname(r));
            unit_mismatch_help(d, l, r);
            return set_type(c, e, &ty_bool, false);
        }
        check_domain_compare(c, le, re);
        return set_type(c, e, &ty_bool, is_const);
    case OPR_LT:
    case OPR_LE:
    case OPR_GT:
    case OPR_GE:
        if (!orderable(l, r)) {
            Diag *d = error_at(c, e->span, "cannot compare %s with %s using '%s'", tname(l), tname(r), ops);
            unit_mismatch_help(d, l, r);
        }
        return set_type(c, e, &ty_bool, is_const);
    case OPR_IN:
        if (r->kind == TY_LIST) {
            if (r->elem->kind != TY_EMPTY && !equatable(l, r->elem))
                error_at(c, e->span, "a value of type %s is never in a %s", tname(l), tname(r));
            else
                check_domain_compare(c, le, re);
        } else if (ty_is_stringlike(r)) {
            if (!ty_is_stringlike(l))
                error_at(c, le->span, "'in' a string looks for a string, not %s", tname(l));
        } else {
            error_at(c, re->span, "'in' needs a list or a string on its right, not %s", tname(r));
        }
        return set_type(c, e, &ty_bool, is_const);
    case OPR_OF:
        if (l->kind != TY_PERCENT) {
            Diag *d = error_at(c, le->span, "'of' needs a percent on its left, not %s", tname(l));
            diag_help(d, "write it like 80%% of sim.quota");
            return set_type(c, e, &ty_error, false);
        }
        if (!(is_number(r) || r->kind == TY_BYTES || r->kind == TY_DURATION)) {
            error_at(c, re->span, "a percent can be taken of a number, a data size or a duration, not %s",
                     tname(r));
            return set_type(c, e, &ty_error, false);
        }
        return set_type(c, e, r, is_const);
    default: {
        const Type *t = arith_type(op, l, r);
        if (!t) {
            Diag *d = error_at(c, e->span, "cannot %s %s and %s", op_verb(op), tname(l), tname(r));
            unit_mismatch_help(d, l, r);
            return set_type(c, e, &ty_error, false);
        }
        return set_type(c, e, t, is_const);
    }
    }
}

static const Type *check_unary(Checker *c, Expr *e)
{
    Expr *operand = e->u.unary.operand;
    const Type *t = check_expr(c, operand);
    if (is_error(t)) return set_type(c, e, &ty_error, false);
    if (e->op == OPR_NOT) {
        if (t->kind != TY_BOOL) error_at(c, operand->span, "'not' needs bool, not %s", tname(t));
        return set_type(c, e, &ty_bool, operand->is_const);
    }
    if (!(is_number(t) || t->kind == TY_BYTES || t->kind == TY_PERCENT || t->kind == TY_DURATION)) {
        error_at(c, e->span, "cannot negate %s", tname(t));
        return set_type(c, e, &ty_error, false);
    }
    return set_type(c, e, t, operand->is_const);
}

/* ------------------------------------------------------------ literals */

static const Type *check_list(Checker *c, Expr *e)
{
    const Type *elem = &ty_empty;
    bool is_const = true;
    for (int i = 0; i < e->u.list.n; i++) {
        Expr *item = e->u.list.items[i];
        const Type *t = check_expr(c, item);
        is_const &= item->is_const;
        if (is_error(t)) continue;
        if (t->kind == TY_VOID) {
            error_at(c, item->span, "this gives no value to put in a list");
            continue;
        }
        if (elem->kind == TY_EMPTY || (ty_assignable(elem, t) && !ty_assignable(t, elem)))
            elem = t;   /* the first item, or a wider type: [1, 2.5] is list<float> */
        else if (ty_is_stringlike(t) && ty_is_stringlike(elem) && !ty_assignable(t, elem))
            elem = &ty_string;
        else if (!ty_assignable(t, elem))
            error_at(c, item->span, "a list holds one type: this item is %s, the first is %s", tname(t), tname(elem));
    }
    if (elem->kind == TY_STRING && elem->domain) elem = &ty_string;
    return set_type(c, e, new_list_type(c, elem), is_const);
}

static const Type *check_record(Checker *c, Expr *e)
{
    int n = e->u.rec.n;
    /* the fields' types go on the stack c->fields (records nest) */
    size_t base = c->nfields;
    if (base + (size_t)n > c->fields_cap) {
        c->fields_cap = (base + (size_t)n) * 2 + 16;
        c->fields = realloc(c->fields, c->fields_cap * sizeof *c->fields);
        if (!c->fields) out_of_memory();
    }
    c->nfields = base + (size_t)n;
    bool is_const = true;
    for (int i = 0; i < n; i++) {
        RecField *f = &e->u.rec.fields[i];
        for (int k = 0; k < i; k++)
            if (strcmp(e->u.rec.fields[k].name.text, f->name.text) == 0) {
                error_at(c, f->name.span, "'%s' appears twice in this record", f->name.text);
                break;
            }
        const Type *ft = check_expr(c, f->value);
        if (ft->kind == TY_VOID) error_at(c, f->value->span, "this gives no value for '%s'", f->name.text);
        is_const &= f->value->is_const;
        c->fields[base + (size_t)i] = (TypeField){ f->name.text, ft };
    }
    /* an empty record may come before any stack: no offset from NULL */
    const Type *t = shape_type(c, TY_RECORD, NULL, n ? c->fields + base : NULL, n);
    c->nfields = base;
    return set_type(c, e, t, is_const);
}

static const Type *check_string(Checker *c, Expr *e)
{
    bool is_const = true;
    for (int i = 0; i < e->u.str.nparts; i++) {
        StrPart *p = &e->u.str.parts[i];
        if (!p->is_expr) continue;
        const Type *t = check_expr(c, p->expr);
        is_const &= p->expr->is_const;
        if (t->kind == TY_VOID) error_at(c, p->expr->span, "this gives no value to put in the text");
    }
    return set_type(c, e, &ty_string, is_const);
}

static const Type *check_expr(Checker *c, Expr *e)
{
    if (++c->depth > CHK_MAX_DEPTH) {
        c->depth--;
        error_at(c, e->span, "expression nested too deeply");
        return set_type(c, e, &ty_error, false);
    }
    const Type *t;
    switch (e->kind) {
    case E_BOOL: t = set_type(c, e, &ty_bool, true); break;
    case E_INT: t = set_type(c, e, &ty_int, true); break;
    case E_FLOAT: t = set_type(c, e, &ty_float, true); break;
    case E_BYTES: t = set_type(c, e, &ty_bytes, true); break;
    case E_PERCENT: t = set_type(c, e, &ty_percent, true); break;
    case E_DURATION: t = set_type(c, e, &ty_duration, true); break;
    case E_TIME: t = set_type(c, e, &ty_time, true); break;
    case E_STRING: t = check_string(c, e); break;
    case E_LIST: t = check_list(c, e); break;
    case E_RECORD: t = check_record(c, e); break;
    case E_NAME: t = check_name(c, e); break;
    case E_FIELD: t = check_field(c, e); break;
    case E_INDEX: t = check_index(c, e); break;
    case E_CALL: t = check_call(c, e); break;
    case E_UNARY: t = check_unary(c, e); break;
    case E_BINARY: t = check_binary(c, e); break;
    default: t = set_type(c, e, &ty_error, false); break;
    }
    c->depth--;
    return t;
}

/* Checks an expression that must have a type; `what` names it in messages. */
static const Type *check_typed(Checker *c, Expr *e, const Type *want, const char *what)
{
    check_expr(c, e);
    if (type_of(c, e)->kind == TY_VOID) {
        error_at(c, e->span, "this call returns nothing, so it cannot serve as %s", what);
        ast_set_expr_type(c->prog, e, &ty_error);
    }
    if (want) expect_type(c, e, want, what);
    return type_of(c, e);
}

/* Checks an expression whose value must be known at compile time. */
static bool check_constant(Checker *c, Expr *e, const Type *want, const char *what)
{
    Where saved = c->where;
    c->where = WHERE_GLOBAL;
    check_typed(c, e, want, what);
    c->where = saved;
    if (is_error(type_of(c, e))) return false;
    if (!e->is_const) {
        error_at(c, e->span, "%s must be known at compile time", what);
        return false;
    }
    return true;
}

static const Type *check_const_decl(Checker *c, Decl *d)
{
    if (d->mark == 2) return type_of(c, d->u.konst.value) ? type_of(c, d->u.konst.value) : &ty_error;
    if (d->mark == 1) {
        error_at(c, d->name.span, "const '%s' is defined in terms of itself", d->name.text);
        ast_set_expr_type(c->prog, d->u.konst.value, &ty_error);
        return &ty_error;
    }
    d->mark = 1;
    /* a const is checked where it is declared, whatever scope uses it */
    Checker saved = *c;
    c->scope = NULL;
    c->event = NULL;
    c->sim_bound = false;
    c->decl = d;
    char what[160];
    snprintf(what, sizeof what, "the value of const '%s'", d->name.text);
    check_constant(c, d->u.konst.value, NULL, what);
    c->scope = saved.scope;
    c->event = saved.event;
    c->sim_bound = saved.sim_bound;
    c->decl = saved.decl;
    c->where = saved.where;
    d->mark = 2;
    return type_of(c, d->u.konst.value);
}

/* ============================================================ statements */

static void check_block(Checker *c, Block *b);

static void mark_effect(Checker *c)
{
    if (c->where == WHERE_SUB && c->decl) c->decl->u.sub.has_effects = true;
}

/* Recipients of an email, and its cc and bcc: addresses, one or a list. */
static void check_addresses(Checker *c, Expr *e, const char *what)
{
    const Type *t = check_typed(c, e, NULL, what);
    if (is_error(t)) return;
    if (t->kind == TY_LIST) {
        if (t->elem->kind == TY_EMPTY) {
            error_at(c, e->span, "%s cannot be an empty list", what);
            return;
        }
        expect_type(c, e, &ty_list_email, what);
    } else {
        expect_type(c, e, &ty_email, what);
    }
}

static void check_email(Checker *c, Stmt *s)
{
    check_addresses(c, s->u.email.recipients, "the recipients");
    EmailItem *seen[EMAIL_NFIELDS] = { 0 };
    for (int i = 0; i < s->u.email.nitems; i++) {
        EmailItem *item = &s->u.email.items[i];
        const char *name = cat_email_field_names[item->field];
        if (seen[item->field]) {
            error_at(c, item->keyword, "'%s' appears twice in this email", name);
            continue;
        }
        seen[item->field] = item;
        char what[64];
        snprintf(what, sizeof what, "the %s", name);
        switch (item->field) {
        case EMAIL_CC:
        case EMAIL_BCC:
            check_addresses(c, item->value, what);
            break;
        case EMAIL_SMTP:
            check_typed(c, item->value, &ty_string, "the smtp profile");
            if (!item->value->is_const && !is_error(type_of(c, item->value)))
                error_at(c, item->value->span, "the smtp profile must be a name known at compile time");
            break;
        default:
            check_typed(c, item->value, &ty_string, what);
            break;
        }
    }
    EmailItem *subject = seen[EMAIL_SUBJECT];
    if (!subject) error_at(c, s->span, "an email needs a subject");
    else if (subject->value->kind == E_STRING) {
        for (int i = 0; i < subject->value->u.str.nparts; i++) {
            StrPart *p = &subject->value->u.str.parts[i];
            const char *why = p->is_expr ? NULL : valid_header_value(p->text, p->len);
            if (why) {
                Diag *d = error_at(c, subject->value->span, "a subject must be one line: %s", why);
                diag_help(d, "put longer text in 'text'");
                break;
            }
        }
    }
    if (!seen[EMAIL_TEXT] && !seen[EMAIL_HTML]) {
        Diag *d = error_at(c, s->span, "an email needs a body: 'text', 'html' or both");
        diag_help(d, "add a line like: text \"...\"");
    }
}

static void check_simop(Checker *c, Stmt *s)
{
    const char *name = cat_action_names[s->u.simop.action];
    if (!sim_available(c, s->u.simop.target, "'sim'")) return;
    if (s->u.simop.action == ACT_TOPUP) {
        check_typed(c, s->u.simop.arg, &ty_bytes, "the top-up amount");
    } else if (s->u.simop.action == ACT_TAG || s->u.simop.action == ACT_UNTAG) {
        check_typed(c, s->u.simop.arg, &ty_string, "the tag");
        size_t len;
        const char *text = const_text(c, s->u.simop.arg, &len, 0);
        if (text && len == 0) error_at(c, s->u.simop.arg->span, "a tag cannot be empty");
    } else if (s->u.simop.arg) {
        error_at(c, s->u.simop.arg->span, "'%s sim' takes no argument", name);
    }
}

/* Does the block always end the run or return (for "missing return")? */
static bool block_ends(const Block *b)
{
    if (b->n == 0) return false;
    const Stmt *last = b->items[b->n - 1];
    switch (last->kind) {
    case S_RETURN:
    case S_STOP:
        return true;
    case S_IF:
        return last->u.if_.has_else && block_ends(&last->u.if_.then) && block_ends(&last->u.if_.otherwise);
    default:
        return false;
    }
}

static void check_stmt(Checker *c, Stmt *s)
{
    switch (s->kind) {
    case S_LET: {
        const Type *t = check_typed(c, s->u.let.value, NULL, "the value");
        if (t->kind == TY_LIST && t->elem->kind == TY_EMPTY) {
            error_at(c, s->u.let.value->span, "the type of an empty list is not known here");
            t = &ty_error;
        }
        if (scope_find(c, s->u.let.name.text) == NULL) {
            Decl *g = global_find(c, s->u.let.name.text);
            if (g && (g->kind == D_INPUT || g->kind == D_CONST))
                warning_at(c, s->u.let.name.span, "'%s' hides %s of the same name", s->u.let.name.text,
                           decl_kind_name(g->kind));
        }
        if (is_bound_name(c, s->u.let.name.text) || s->u.let.name.text == c->n_now)
            error_at(c, s->u.let.name.span, "'%s' is a name the language binds; choose another", s->u.let.name.text);
        s->u.let.slot = declare_local(c, s->u.let.name, t, false, -1);
        break;
    }
    case S_ASSIGN: {
        Local *local = scope_find(c, s->u.assign.name.text);
        check_typed(c, s->u.assign.value, NULL, "the value");
        if (!local) {
            Decl *g = global_find(c, s->u.assign.name.text);
            if (g && (g->kind == D_INPUT || g->kind == D_CONST))
                error_at(c, s->u.assign.name.span, "'%s' is %s and cannot be changed", s->u.assign.name.text,
                         decl_kind_name(g->kind));
            else {
                Diag *d = error_at(c, s->u.assign.name.span, "unknown variable '%s'", s->u.assign.name.text);
                diag_help(d, "declare it first: let %s = ...", s->u.assign.name.text);
            }
            break;
        }
        if (local->readonly) {
            error_at(c, s->u.assign.name.span, "'%s' is a loop variable and cannot be changed", local->name);
            break;
        }
        s->u.assign.slot = local->slot;
        char what[160];
        snprintf(what, sizeof what, "the new value of '%s'", local->name);
        expect_type(c, s->u.assign.value, local->type, what);
        break;
    }
    case S_IF:
        check_typed(c, s->u.if_.cond, &ty_bool, "the condition");
        check_block(c, &s->u.if_.then);
        if (s->u.if_.has_else) check_block(c, &s->u.if_.otherwise);
        break;
    case S_FOR: {
        const Type *t = check_typed(c, s->u.for_.list, NULL, "the loop's list");
        const Type *elem = &ty_error;
        if (!is_error(t)) {
            if (t->kind != TY_LIST) error_at(c, s->u.for_.list->span, "'for' runs over a list, not %s", tname(t));
            else if (t->elem->kind == TY_EMPTY) error_at(c, s->u.for_.list->span, "the list is always empty");
            else elem = t->elem;
        }
        Scope scope;
        scope_push(c, &scope);
        int base = alloc_slots(c, 3);   /* the list, the index, the variable */
        s->u.for_.slot = base;
        declare_local(c, s->u.for_.var, elem, true, base + 2);
        Block *body = &s->u.for_.body;
        for (int i = 0; i < body->n; i++) check_stmt(c, body->items[i]);
        scope_pop(c);
        break;
    }
    case S_RETURN: {
        if (c->where != WHERE_SUB) {
            error_at(c, s->span, "'return' ends a sub; a flow's run ends with 'stop'");
            if (s->u.ret.value) check_expr(c, s->u.ret.value);
            break;
        }
        const Type *ret = c->decl->u.sub.resolved_ret;
        if (s->u.ret.value) {
            if (!ret) {
                check_expr(c, s->u.ret.value);
                error_at(c, s->u.ret.value->span, "sub '%s' returns nothing; declare it with '-> TYPE' to return a value",
                         c->decl->name.text);
            } else {
                char what[160];
                snprintf(what, sizeof what, "the value sub '%s' returns", c->decl->name.text);
                check_typed(c, s->u.ret.value, ret, what);
            }
        } else if (ret && !is_error(ret)) {
            error_at(c, s->span, "sub '%s' must return %s", c->decl->name.text, tname(ret));
        }
        break;
    }
    case S_STOP:
        break;
    case S_LOG:
        check_typed(c, s->u.log.message, &ty_string, "the log message");
        mark_effect(c);
        break;
    case S_CALL: {
        Expr *call = s->u.call.call;
        check_expr(c, call);
        if (call->kind == E_CALL && call->call_kind == CALL_BUILTIN)
            error_at(c, call->span, "the result of %s() is not used", call->u.call.name);
        else if (call->kind == E_CALL && call->call_kind == CALL_SUB && call->u.call.sub->u.sub.resolved_ret &&
                 !call->u.call.sub->u.sub.has_effects && c->where != WHERE_SUB)
            warning_at(c, call->span, "the result of %s() is not used", call->u.call.name);
        mark_effect(c);   /* the callee's effects arrive through the call graph */
        break;
    }
    case S_WAIT: {
        check_typed(c, s->u.wait.duration, &ty_duration, "the time to wait");
        int64_t secs;
        if (const_integral(c, s->u.wait.duration, &secs, 0) && secs <= 0)
            error_at(c, s->u.wait.duration->span, "a wait must be longer than 0s");
        mark_effect(c);
        break;
    }
    case S_EMAIL:
        check_email(c, s);
        mark_effect(c);
        break;
    case S_WEBHOOK: {
        check_typed(c, s->u.webhook.url, &ty_url, "the webhook URL");
        if (s->u.webhook.params) {
            const Type *t = check_typed(c, s->u.webhook.params, NULL, "the webhook's params");
            if (!is_error(t) && t->kind != TY_RECORD)
                error_at(c, s->u.webhook.params->span, "the webhook's params must be a record, not %s", tname(t));
        }
        mark_effect(c);
        break;
    }
    case S_SIMOP:
        check_simop(c, s);
        mark_effect(c);
        break;
    }
}

static void check_block(Checker *c, Block *b)
{
    Scope scope;
    scope_push(c, &scope);
    bool warned = false;
    for (int i = 0; i < b->n; i++) {
        Stmt *s = b->items[i];
        if (i > 0 && !warned && (b->items[i - 1]->kind == S_RETURN || b->items[i - 1]->kind == S_STOP)) {
            warning_at(c, s->span, "this statement is never reached");
            warned = true;
        }
        check_stmt(c, s);
    }
    scope_pop(c);
}

/* ============================================================ subs */

static void resolve_sub_signature(Checker *c, Decl *d)
{
    for (int i = 0; i < d->u.sub.nparams; i++) {
        Param *p = &d->u.sub.params[i];
        p->resolved = resolve_type(c, p->type);
        for (int k = 0; k < i; k++)
            if (strcmp(d->u.sub.params[k].name.text, p->name.text) == 0)
                error_at(c, p->name.span, "parameter '%s' appears twice", p->name.text);
    }
    d->u.sub.resolved_ret = d->u.sub.ret ? resolve_type(c, d->u.sub.ret) : NULL;
}

static void check_sub(Checker *c, Decl *d)
{
    c->decl = d;
    c->event = NULL;
    c->sim_bound = true;
    c->where = WHERE_SUB;
    c->next_slot = c->max_slot = 0;
    Scope params;
    scope_push(c, &params);
    for (int i = 0; i < d->u.sub.nparams; i++) {
        bool repeated = false;   /* reported by resolve_sub_signature; the slot stays */
        for (int k = 0; k < i; k++)
            repeated |= strcmp(d->u.sub.params[k].name.text, d->u.sub.params[i].name.text) == 0;
        if (repeated) alloc_slots(c, 1);
        else declare_local(c, d->u.sub.params[i].name, d->u.sub.params[i].resolved, false, -1);
    }
    check_block(c, &d->u.sub.body);
    scope_pop(c);
    d->nslots = c->max_slot;
    if (d->u.sub.resolved_ret && !is_error(d->u.sub.resolved_ret) && !block_ends(&d->u.sub.body))
        error_at(c, d->name.span, "sub '%s' can end without returning %s", d->name.text,
                 tname(d->u.sub.resolved_ret));
}

/* Spreads needs_sim and has_effects from callees to callers. */
static void propagate_sub_flags(Checker *c)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = 0; i < c->nedges; i++) {
            Decl *from = c->edges[i].from, *to = c->edges[i].to;
            if (to->u.sub.needs_sim && !from->u.sub.needs_sim) from->u.sub.needs_sim = changed = true;
            if (to->u.sub.has_effects && !from->u.sub.has_effects) from->u.sub.has_effects = changed = true;
        }
    }
}

/* ============================================================ flows */

static const char *const clause_names[] = { "title", "on", "scope", "when", "repeat", "rearm", "active", "do" };

static const char **event_names(size_t *n)
{
    static const char *names[64];
    *n = 0;
    for (int i = 0; i < cat_nevents && *n < 64; i++) names[(*n)++] = cat_events[i].name;
    return names;
}

/* A set of strings by hash, for duplicates among up to a million scope items. */
typedef struct NameSet {
    const char **slots;
    size_t cap;          /* a power of two; at most half full */
    size_t count;
} NameSet;

/* Adds `name`; false when it was there already. */
static bool name_set_add(NameSet *set, const char *name)
{
    if ((set->count + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        const char **slots = calloc(cap, sizeof *slots);
        if (!slots) out_of_memory();
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slots[i]) continue;
            size_t k = hash_name(set->slots[i]) & (cap - 1);
            while (slots[k]) k = (k + 1) & (cap - 1);
            slots[k] = set->slots[i];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t k = hash_name(name) & (set->cap - 1);
    for (; set->slots[k]; k = (k + 1) & (set->cap - 1))
        if (strcmp(set->slots[k], name) == 0) return false;
    set->slots[k] = name;
    set->count++;
    return true;
}

static void check_scope_strings(Checker *c, Clause *cl, bool iccids)
{
    const char *what = iccids ? "the ICCIDs" : "the tags";
    Expr *value = cl->u.scope.value;
    if (!check_constant(c, value, &ty_list_string, what)) return;
    const Expr *list = const_list(c, value, 0);
    if (!list) return;
    if (list->u.list.n == 0) {
        error_at(c, value->span, "%s of a scope cannot be an empty list", what);
        return;
    }
    cl->u.scope.items = arena_alloc(&c->prog->arena, (size_t)list->u.list.n * sizeof(char *));
    if (!cl->u.scope.items) return;
    NameSet seen = { NULL, 0, 0 };
    for (int i = 0; i < list->u.list.n; i++) {
        const Expr *item = list->u.list.items[i];
        size_t len;
        const char *text = const_text(c, item, &len, 0);
        if (!text) {
            error_at(c, item->span, "each of %s must be a plain string", what);
            continue;
        }
        if (iccids ? !check_iccid_text(c, item->span, text, len) : len == 0) {
            if (!iccids) error_at(c, item->span, "a tag cannot be empty");
            continue;
        }
        if (!name_set_add(&seen, text)) {
            warning_at(c, item->span, "\"%s\" is listed twice", text);
            continue;
        }
        cl->u.scope.items[cl->u.scope.nitems++] = text;
    }
    free(seen.slots);
}

/* Reads `iccids file "fleet.csv"`: one ICCID per line, first CSV column; an
 * optional header line; blank lines and # comments skipped.  The file is
 * added to the sources so that its errors point into it. */
static void check_scope_file(Checker *c, Clause *cl)
{
    Expr *value = cl->u.scope.value;
    if (!check_constant(c, value, &ty_string, "the ICCID file")) return;
    size_t len;
    const char *name = const_text(c, value, &len, 0);
    if (!name) return;
    SourceSet *src = c->prog->sources;
    const char *base = src->files[value->span.file].path;
    const char *slash = strrchr(base, '/');
    char path[4096];
    if (name[0] == '/' || !slash) snprintf(path, sizeof path, "%s", name);
    else snprintf(path, sizeof path, "%.*s/%s", (int)(slash - base), base, name);
    int file = src_add_file(src, path);
    if (file < 0) {
        error_at(c, value->span, "cannot read the ICCID file '%s': %s", path, strerror(errno));
        return;
    }
    const char *text = src->files[file].text;
    size_t size = src->files[file].len;
    /* at most one ICCID per line: count lines for the array's size */
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += text[i] == '\n';
    const char **items = arena_alloc(&c->prog->arena, lines * sizeof(char *));
    int count = 0;
    for (size_t at = 0; at < size && items;) {
        size_t end = at;
        while (end < size && text[end] != '\n') end++;
        size_t col_end = at;
        while (col_end < end && text[col_end] != ',' && text[col_end] != '\r') col_end++;
        size_t start = at;
        while (start < col_end && (text[start] == ' ' || text[start] == '"')) start++;
        size_t stop = col_end;
        while (stop > start && (text[stop - 1] == ' ' || text[stop - 1] == '"')) stop--;
        bool header = count == 0 && stop > start && (text[start] < '0' || text[start] > '9') && text[start] != '#';
        if (stop > start && text[start] != '#' && !header) {
            Span span = { (uint32_t)file, (uint32_t)start, (uint32_t)(stop - start) };
            if (check_iccid_text(c, span, text + start, stop - start))
                items[count++] = arena_strndup(&c->prog->arena, text + start, stop - start);
        }
        at = end + 1;
    }
    cl->u.scope.items = items;
    cl->u.scope.nitems = count;
    if (count == 0) error_at(c, value->span, "the ICCID file '%s' lists no ICCID", name);
}

static void check_scope(Checker *c, Clause *cl)
{
    switch (cl->u.scope.kind) {
    case SCOPE_ALL:
        break;
    case SCOPE_ICCIDS:
        check_scope_strings(c, cl, true);
        break;
    case SCOPE_TAGS:
        check_scope_strings(c, cl, false);
        break;
    case SCOPE_ICCIDS_FILE:
        check_scope_file(c, cl);
        break;
    case SCOPE_PACKAGE:
    case SCOPE_POOL: {
        const char *what = cl->u.scope.kind == SCOPE_PACKAGE ? "the package" : "the pool";
        if (!check_constant(c, cl->u.scope.value, &ty_string, what)) break;
        size_t len;
        const char *text = const_text(c, cl->u.scope.value, &len, 0);
        if (!text) break;
        if (len == 0) error_at(c, cl->u.scope.value->span, "%s name cannot be empty", what);
        cl->u.scope.items = arena_alloc(&c->prog->arena, sizeof(char *));
        if (cl->u.scope.items) {
            cl->u.scope.items[0] = text;
            cl->u.scope.nitems = 1;
        }
        break;
    }
    }
    if (cl->u.scope.kind != SCOPE_ALL && c->event && c->event->subject == SUBJ_ORG)
        error_at(c, cl->span, "%s is about the organisation, not SIMs: its flows have no scope", c->event->name);
}

static void check_on(Checker *c, Decl *d, Clause *on)
{
    const char *name = on->u.on.event.text;
    const CatEvent *ev = cat_event_find(name, strlen(name));
    if (!ev) {
        size_t n;
        const char **names = event_names(&n);
        Diag *e = error_at(c, on->u.on.event.span, "unknown event '%s'", name);
        suggest(e, name, names, n);
        return;
    }
    d->u.flow.event = ev;
    if (ev->source == EV_SRC_DATE && !on->u.on.date)
        error_at(c, on->u.on.event.span, "'on date' needs the date, like: on date sim.expires - 3d at 09:00");
    if (ev->source == EV_SRC_SCHEDULE && !on->u.on.cron)
        error_at(c, on->u.on.event.span, "'on schedule' needs a cron schedule, like: on schedule \"0 9 * * MON\"");
}

static void check_on_exprs(Checker *c, Clause *on)
{
    if (on->u.on.date) {
        const CatEvent *event = c->event;
        c->where = WHERE_COND;
        c->in_date = true;
        c->event = NULL;
        check_typed(c, on->u.on.date, &ty_time, "the date");
        c->event = event;
        c->in_date = false;
    }
    if (on->u.on.cron && check_constant(c, on->u.on.cron, &ty_string, "the schedule")) {
        size_t len, at = 0;
        const char *text = const_text(c, on->u.on.cron, &len, 0);
        Cron cron;
        const char *why = text ? cron_parse(text, len, &cron, &at) : NULL;
        if (why) {
            Diag *e = error_at(c, on->u.on.cron->span, "invalid schedule \"%s\": %s", text, why);
            diag_help(e, "five fields, UTC: minute hour day-of-month month day-of-week, like \"0 9 * * MON\"");
        }
    }
}

static void check_active(Checker *c, Clause *cl)
{
    int64_t from = 0, until = 0, span = 0;
    bool has_from = false, has_until = false;
    if (cl->u.active.from && check_constant(c, cl->u.active.from, &ty_time, "the start of 'active'"))
        has_from = const_integral(c, cl->u.active.from, &from, 0);
    if (cl->u.active.until && check_constant(c, cl->u.active.until, &ty_time, "the end of 'active'"))
        has_until = const_integral(c, cl->u.active.until, &until, 0);
    if (cl->u.active.for_ && check_constant(c, cl->u.active.for_, &ty_duration, "the length of 'active'") &&
        const_integral(c, cl->u.active.for_, &span, 0) && span <= 0)
        error_at(c, cl->u.active.for_->span, "'active for' must be longer than 0s");
    if (has_from && has_until && until <= from)
        error_at(c, cl->u.active.until->span, "'active' ends before it starts");
}

static void check_flow(Checker *c, Decl *d)
{
    c->decl = d;
    c->event = NULL;
    c->sim_bound = false;
    Clause **by_kind = d->u.flow.by_kind;
    for (int i = 0; i < d->u.flow.nclauses; i++) {
        Clause *cl = &d->u.flow.clauses[i];
        if (by_kind[cl->kind]) {
            error_at(c, cl->span, "flow '%s' has a second '%s' clause", d->name.text, clause_names[cl->kind]);
            diag_add(c->diags, DIAG_NOTE, by_kind[cl->kind]->span, "the first '%s' is here", clause_names[cl->kind]);
            continue;
        }
        by_kind[cl->kind] = cl;
    }
    if (!by_kind[C_ON]) {
        Diag *e = error_at(c, d->name.span, "flow '%s' has no 'on' clause", d->name.text);
        diag_help(e, "say which event it handles, like: on data.usage");
    } else {
        check_on(c, d, by_kind[C_ON]);
    }
    if (!by_kind[C_DO]) {
        Diag *e = error_at(c, d->name.span, "flow '%s' has no 'do' clause", d->name.text);
        diag_help(e, "say what it does: do { ... }");
    }
    const CatEvent *ev = d->u.flow.event;
    c->event = ev;
    c->sim_bound = !ev || ev->subject == SUBJ_SIM;
    c->scope = NULL;
    c->next_slot = c->max_slot = 0;

    if (by_kind[C_TITLE]) check_constant(c, by_kind[C_TITLE]->u.title, &ty_string, "the title");
    if (by_kind[C_SCOPE]) check_scope(c, by_kind[C_SCOPE]);
    if (by_kind[C_ON]) check_on_exprs(c, by_kind[C_ON]);
    c->where = WHERE_COND;
    if (by_kind[C_WHEN]) check_typed(c, by_kind[C_WHEN]->u.when, &ty_bool, "the 'when' condition");
    if (by_kind[C_REARM]) {
        check_typed(c, by_kind[C_REARM]->u.rearm, &ty_bool, "the 'rearm' condition");
        if (ev && ev->kind != EV_STATE)
            error_at(c, by_kind[C_REARM]->span, "'rearm' applies to state events; %s fires on every occurrence",
                     ev->name);
        else if (!by_kind[C_WHEN])
            error_at(c, by_kind[C_REARM]->span, "'rearm' needs a 'when' condition to re-arm");
    }
    if (by_kind[C_REPEAT]) {
        Clause *r = by_kind[C_REPEAT];
        if (ev && ev->kind != EV_STATE)
            error_at(c, r->span, "'repeat' applies to state events; %s already fires on every occurrence", ev->name);
        if (r->u.repeat.after) {
            int64_t secs;
            if (check_constant(c, r->u.repeat.after, &ty_duration, "the repeat interval") &&
                const_integral(c, r->u.repeat.after, &secs, 0) && secs <= 0)
                error_at(c, r->u.repeat.after->span, "the repeat interval must be longer than 0s");
        }
        if (r->u.repeat.every_event && by_kind[C_REARM])
            error_at(c, by_kind[C_REARM]->span, "'rearm' has no meaning with 'repeat every event'");
    }
    if (by_kind[C_ACTIVE]) check_active(c, by_kind[C_ACTIVE]);
    if (by_kind[C_DO]) {
        c->where = WHERE_DO;
        check_block(c, &by_kind[C_DO]->u.body);
    }
    d->nslots = c->max_slot;
}

/* ============================================================ tests */

/* Reports field i of a record literal when an earlier field has its name. */
static bool repeated_field(Checker *c, const Expr *rec, int i)
{
    const RecField *f = &rec->u.rec.fields[i];
    for (int k = 0; k < i; k++)
        if (strcmp(rec->u.rec.fields[k].name.text, f->name.text) == 0) {
            error_at(c, f->name.span, "'%s' appears twice in this record", f->name.text);
            return true;
        }
    return false;
}

static void check_test_sim(Checker *c, Step *st)
{
    Expr *rec = st->u.sim;
    if (rec->kind != E_RECORD) {
        error_at(c, rec->span, "a test SIM is written as a record: sim { iccid: \"...\", ... }");
        return;
    }
    bool has_iccid = false;
    for (int i = 0; i < rec->u.rec.n; i++) {
        RecField *f = &rec->u.rec.fields[i];
        if (repeated_field(c, rec, i)) continue;
        int field = cat_sim_field_find(f->name.text, strlen(f->name.text));
        if (field < 0) {
            const char *names[SIM_NFIELDS];
            for (int k = 0; k < SIM_NFIELDS; k++) names[k] = cat_sim_fields[k].name;
            Diag *d = error_at(c, f->name.span, "a SIM has no field '%s'", f->name.text);
            suggest(d, f->name.text, names, SIM_NFIELDS);
            check_expr(c, f->value);
            continue;
        }
        char what[96];
        snprintf(what, sizeof what, "the SIM's %s", f->name.text);
        if (!check_constant(c, f->value, cat_sim_fields[field].type, what)) continue;
        if (field == SIM_ICCID) {
            has_iccid = true;
            size_t len;
            const char *text = const_text(c, f->value, &len, 0);
            if (text) check_iccid_text(c, f->value->span, text, len);
        }
    }
    ast_set_expr_type(c->prog, rec, &ty_any_record);
    if (!has_iccid) error_at(c, st->span, "a test SIM needs an iccid");
}

static void check_test_event(Checker *c, Step *st)
{
    const char *name = st->u.event.type.text;
    const CatEvent *ev = cat_event_find(name, strlen(name));
    if (!ev) {
        size_t n;
        const char **names = event_names(&n);
        Diag *d = error_at(c, st->u.event.type.span, "unknown event '%s'", name);
        suggest(d, name, names, n);
    }
    Expr *rec = st->u.event.fields;
    bool given[64] = { false };
    if (rec && rec->kind != E_RECORD) {
        error_at(c, rec->span, "an event's fields are written as a record: { used: 800MB }");
        rec = NULL;
    }
    for (int i = 0; rec && i < rec->u.rec.n; i++) {
        RecField *f = &rec->u.rec.fields[i];
        if (repeated_field(c, rec, i)) continue;
        if (!ev) {
            check_expr(c, f->value);
            continue;
        }
        int field = cat_event_field_find(ev, f->name.text, strlen(f->name.text));
        if (field < 0) {
            const char *names[64];
            size_t n = 0;
            for (int k = 0; k < ev->nfields && n < 64; k++) names[n++] = ev->fields[k].name;
            Diag *d = error_at(c, f->name.span, "%s has no field '%s'", ev->name, f->name.text);
            if (strcmp(f->name.text, "iccid") == 0) diag_help(d, "name the SIM with: for \"ICCID\"");
            else if (strcmp(f->name.text, "time") == 0) diag_help(d, "give the time with: at 2026-12-05T10:00:00Z");
            else suggest(d, f->name.text, names, n);
            check_expr(c, f->value);
            continue;
        }
        if (field < 64) given[field] = true;
        char what[96];
        snprintf(what, sizeof what, "the event's %s", f->name.text);
        check_constant(c, f->value, ev->fields[field].type, what);
    }
    if (rec) ast_set_expr_type(c->prog, rec, &ty_any_record);
    for (int k = 0; ev && k < ev->nfields && k < 64; k++)
        if (!given[k] && !(ev->fields[k].flags & (CAT_F_DERIVED | CAT_F_OPTIONAL)))
            error_at(c, st->span, "this %s event needs '%s' (%s)", ev->name, ev->fields[k].name,
                     tname(ev->fields[k].type));
    if (st->u.event.iccid && ev && ev->subject != SUBJ_SIM)
        error_at(c, st->u.event.iccid->span, "%s is not about one SIM: it takes no 'for'", ev->name);
    else if (st->u.event.iccid && check_constant(c, st->u.event.iccid, &ty_string, "the event's SIM")) {
        size_t len;
        const char *text = const_text(c, st->u.event.iccid, &len, 0);
        if (text) check_iccid_text(c, st->u.event.iccid->span, text, len);
    }
    if (st->u.event.at) check_constant(c, st->u.event.at, &ty_time, "the event's time");
}

static void check_test(Checker *c, Decl *d)
{
    c->decl = d;
    c->event = NULL;
    c->scope = NULL;
    c->where = WHERE_TEST;
    for (int i = 0; i < d->u.test.nsteps; i++) {
        Step *st = &d->u.test.steps[i];
        c->sim_bound = false;
        switch (st->kind) {
        case T_SIM:
            check_test_sim(c, st);
            break;
        case T_SET: {
            Decl *g = global_find(c, st->u.set.input.text);
            if (!g || g->kind != D_INPUT) {
                Diag *e = error_at(c, st->u.set.input.span, g ? "'%s' is not an input" : "unknown input '%s'",
                                   st->u.set.input.text);
                if (!g) {
                    const char *names[256];
                    size_t n = 0;
                    for (size_t k = 0; k < c->globals_cap && n < 256; k++)
                        if (c->globals[k] && c->globals[k]->kind == D_INPUT) names[n++] = c->globals[k]->name.text;
                    suggest(e, st->u.set.input.text, names, n);
                }
                check_expr(c, st->u.set.value);
                break;
            }
            char what[160];
            snprintf(what, sizeof what, "the value of input '%s'", g->name.text);
            check_constant(c, st->u.set.value, g->u.input.resolved, what);
            break;
        }
        case T_EVENT:
            check_test_event(c, st);
            break;
        case T_ADVANCE: {
            int64_t secs;
            if (check_constant(c, st->u.advance, &ty_duration, "the time to advance") &&
                const_integral(c, st->u.advance, &secs, 0) && secs <= 0)
                error_at(c, st->u.advance->span, "advance must move the clock forward");
            break;
        }
        case T_EXPECT_ACTION: {
            Expr *target = st->u.expect.target;
            ActionKind act = st->u.expect.action;
            if (act == ACT_EMAIL) {
                if (target) check_typed(c, target, &ty_email, "the expected recipient");
                if (st->u.expect.subject_contains)
                    check_typed(c, st->u.expect.subject_contains, &ty_string, "the expected subject text");
            } else if (act == ACT_WEBHOOK) {
                if (target) check_typed(c, target, &ty_url, "the expected webhook URL");
            } else if (target && check_typed(c, target, &ty_string, "the expected SIM")) {
                size_t len;
                const char *text = const_text(c, target, &len, 0);
                if (text) check_iccid_text(c, target->span, text, len);
            }
            break;
        }
        case T_EXPECT_TRUE:
            c->sim_bound = true;
            check_typed(c, st->u.expect_true, &ty_bool, "an expectation");
            break;
        case T_EXPECT_NOTHING:
            break;
        }
    }
}

/* ============================================================ the program */

static void check_inputs(Checker *c)
{
    for (int i = 0; i < c->prog->ndecls; i++) {
        Decl *d = c->prog->decls[i];
        if (d->kind != D_INPUT) continue;
        d->u.input.resolved = resolve_type(c, d->u.input.type);
        if (d->u.input.dflt) {
            char what[160];
            snprintf(what, sizeof what, "the default of input '%s'", d->name.text);
            c->decl = d;
            check_constant(c, d->u.input.dflt, d->u.input.resolved, what);
        }
    }
}

int chk_program(Program *prog, DiagSink *diags)
{
    Checker checker = { .prog = prog, .diags = diags, .errors_at_start = diags->errors };
    Checker *c = &checker;
    c->n_event = ast_name_find(prog, "event");
    c->n_sim = ast_name_find(prog, "sim");
    c->n_flow = ast_name_find(prog, "flow");
    c->n_run = ast_name_find(prog, "run");
    c->n_now = ast_name_find(prog, "now");
    _Static_assert(SIM_NFIELDS < INT8_MAX, "a SIM field's index fits in an int8_t");
    c->sim_field = malloc(prog->nnames + 1);
    if (!c->sim_field) out_of_memory();
    memset(c->sim_field, -2, prog->nnames + 1);
    register_globals(c);
    check_inputs(c);

    int nflows = 0;
    for (int i = 0; i < prog->ndecls; i++) {
        Decl *d = prog->decls[i];
        if (d->kind == D_SUB) resolve_sub_signature(c, d);
        if (d->kind == D_FLOW || d->kind == D_SUB) {
            if (++nflows == CHK_MAX_FLOWS + 1) {
                Diag *e = error_at(c, d->name.span, "a project holds at most %d flows and subs; '%s' is the %dst",
                                   CHK_MAX_FLOWS, d->name.text, CHK_MAX_FLOWS + 1);
                diag_help(e, "split the project, or merge flows that share their trigger");
            }
        }
    }
    c->where = WHERE_GLOBAL;
    for (int i = 0; i < prog->ndecls; i++)
        if (prog->decls[i]->kind == D_CONST) check_const_decl(c, prog->decls[i]);
    for (int i = 0; i < prog->ndecls; i++)
        if (prog->decls[i]->kind == D_SUB) check_sub(c, prog->decls[i]);
    propagate_sub_flags(c);
    for (int i = 0; i < prog->ndecls; i++)
        if (prog->decls[i]->kind == D_FLOW) check_flow(c, prog->decls[i]);
    for (int i = 0; i < prog->ndecls; i++)
        if (prog->decls[i]->kind == D_TEST) check_test(c, prog->decls[i]);
    for (int i = 0; i < prog->ndecls; i++) {
        Decl *d = prog->decls[i];
        if (d->kind == D_INPUT && !d->u.input.used && global_find(c, d->name.text) == d) {
            Diag *e = error_at(c, d->name.span, "input '%s' is never used", d->name.text);
            diag_help(e, "remove it, or use it in a flow");
        }
    }
    if (prog->types_full && prog->ndecls)
        error_at(c, prog->decls[0]->span, "the project uses more than 65,535 distinct types");
    free(c->globals);
    free(c->edges);
    free(c->shapes);
    free(c->fields);
    free(c->sim_field);
    return (int)(diags->errors - c->errors_at_start);
}
