/*
 * ast.c - the syntax tree's builders (called by the grammar's actions), the
 * program that owns the tree, and ast_dump, its printed form.
 *
 * Not the parser: nothing here looks at tokens.  Every node lives in the
 * program's arena; builders never fail (out of memory ends the process, see
 * ast.h).
 */
#include "ast.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ memory */

/* Nodes hold pointers, 32- and 64-bit integers and doubles: 8-aligned. */
static void *ast_alloc(Program *prog, size_t size)
{
    void *block = arena_alloc_packed(&prog->arena, size);
    if (!block) {
        fputs("flowc: out of memory\n", stderr);
        exit(70);
    }
    return block;
}

_Static_assert(offsetof(Expr, u) == 16, "the Expr header is 16 bytes");

static void types_grow(Program *prog);

void ast_program_init(Program *prog, SourceSet *sources)
{
    arena_init(&prog->arena, 0);
    prog->types = NULL;
    prog->ntypes = prog->types_cap = 0;
    prog->type_ids = NULL;
    prog->type_ids_cap = 0;
    prog->types_full = false;
    types_grow(prog);            /* types[0]: not checked yet */
    ast_type_id(prog, &ty_error);   /* what the types beyond the last number become */
    prog->sources = sources;
    prog->decls = NULL;
    prog->ndecls = prog->cap = 0;
    prog->names = NULL;
    prog->nnames = prog->names_cap = 0;
    prog->name_texts = NULL;
    prog->scratch = NULL;
    prog->nscratch = prog->scratch_cap = 0;
    prog->free_fields = NULL;
    prog->free_items = NULL;
}

void ast_program_free(Program *prog)
{
    arena_free(&prog->arena);
    free(prog->types);
    free(prog->type_ids);
    prog->types = NULL;
    prog->type_ids = NULL;
    prog->ntypes = prog->types_cap = prog->type_ids_cap = 0;
    free(prog->decls);
    free(prog->names);
    free(prog->name_texts);
    free(prog->scratch);
    prog->decls = NULL;
    prog->ndecls = prog->cap = 0;
    prog->names = NULL;
    prog->nnames = prog->names_cap = 0;
    prog->scratch = NULL;
    prog->nscratch = prog->scratch_cap = 0;
    prog->free_fields = NULL;
    prog->free_items = NULL;
}

/* ------------------------------------------------------------ types */
/*
 * An expression keeps its type as a 16-bit number (a pointer would make every
 * expression 8 bytes larger): prog->types[id].  Types are numbered on first
 * use, found by their address in a small open-addressing table.  The checker
 * makes each list and record shape once, so a project has few types.
 */

#define AST_MAX_TYPES 65536u

static void types_grow(Program *prog)
{
    if (prog->ntypes == prog->types_cap) {
        uint32_t cap = prog->types_cap ? prog->types_cap * 2 : 64;
        const Type **fresh = realloc(prog->types, cap * sizeof *fresh);
        if (!fresh) ast_alloc(prog, SIZE_MAX);   /* reports out of memory */
        prog->types = fresh;
        prog->types_cap = cap;
    }
    if (prog->ntypes == 0) prog->types[prog->ntypes++] = NULL;
    if ((prog->ntypes + 1) * 2 > prog->type_ids_cap) {
        uint32_t cap = prog->type_ids_cap ? prog->type_ids_cap * 2 : 128;
        struct AstTypeSlot *fresh = calloc(cap, sizeof *fresh);
        if (!fresh) ast_alloc(prog, SIZE_MAX);
        for (uint32_t i = 0; i < prog->type_ids_cap; i++) {
            if (!prog->type_ids[i].type) continue;
            uint32_t at = ast_type_slot(prog->type_ids[i].type, cap);
            while (fresh[at].type) at = (at + 1) & (cap - 1);
            fresh[at] = prog->type_ids[i];
        }
        free(prog->type_ids);
        prog->type_ids = fresh;
        prog->type_ids_cap = cap;
    }
}

uint16_t ast_type_id(Program *prog, const Type *type)
{
    if (!type) return 0;
    uint32_t mask = prog->type_ids_cap - 1, at = ast_type_slot(type, prog->type_ids_cap);
    for (; prog->type_ids[at].type; at = (at + 1) & mask)
        if (prog->type_ids[at].type == type) return (uint16_t)prog->type_ids[at].id;
    if (prog->ntypes == AST_MAX_TYPES) {
        /* the checker reports it; ty_error (numbered first) keeps any more
         * messages about the expression quiet */
        prog->types_full = true;
        return ast_type_id(prog, &ty_error);
    }
    uint32_t id = prog->ntypes;
    prog->types[prog->ntypes++] = type;
    prog->type_ids[at] = (struct AstTypeSlot){ type, id };
    types_grow(prog);
    return (uint16_t)id;
}

void ast_program_add(Program *prog, Decl *decl)
{
    if (prog->ndecls == prog->cap) {
        int cap = prog->cap ? prog->cap * 2 : 16;
        Decl **fresh = realloc(prog->decls, (size_t)cap * sizeof *fresh);
        if (!fresh) {
            fputs("flowc: out of memory\n", stderr);
            exit(70);
        }
        prog->decls = fresh;
        prog->cap = cap;
    }
    decl->index = prog->ndecls;
    prog->decls[prog->ndecls++] = decl;
}

/* Pushes item; a NULL item (what an error production leaves) is skipped. */
void ast_vec_push(Program *prog, AstVec *vec, void *item)
{
    if (!item) return;
    if (vec->n == 0) vec->base = prog->nscratch;
    /* anything above the list belongs to lists the parser abandoned while
     * recovering from an error: a live inner list is taken before its outer
     * list grows */
    else prog->nscratch = vec->base + (uint32_t)vec->n;
    if (prog->nscratch == prog->scratch_cap) {
        uint32_t cap = prog->scratch_cap ? prog->scratch_cap * 2 : 256;
        void **fresh = realloc(prog->scratch, cap * sizeof *fresh);
        if (!fresh) ast_alloc(prog, SIZE_MAX);   /* reports out of memory */
        prog->scratch = fresh;
        prog->scratch_cap = cap;
    }
    prog->scratch[prog->nscratch++] = item;
    vec->n++;
}

/* The list's items, valid until the next push; vec_pop then forgets them. */
static void **vec_items(Program *prog, const AstVec *vec)
{
    return prog->scratch + vec->base;
}

static void vec_pop(Program *prog, const AstVec *vec)
{
    if (vec->n) prog->nscratch = vec->base;
}

/* The list's items copied into the arena, exactly sized; NULL when empty. */
static void **vec_take(Program *prog, const AstVec *vec)
{
    if (!vec->n) return NULL;
    void **items = ast_alloc(prog, (size_t)vec->n * sizeof *items);
    memcpy(items, vec_items(prog, vec), (size_t)vec->n * sizeof *items);
    vec_pop(prog, vec);
    return items;
}

/* ------------------------------------------------------------ names, spans */

Span ast_span_join(Span a, Span b)
{
    if (a.file != b.file) return a;
    uint32_t start = a.off < b.off ? a.off : b.off;
    uint32_t end_a = a.off + a.len, end_b = b.off + b.len;
    uint32_t end = end_a > end_b ? end_a : end_b;
    return (Span){ a.file, start, end - start };
}

/* ------------------------------------------------------------ names */
/*
 * A project uses few distinct names many times (`sim`, `event`, `used`), so
 * each is copied into the arena once and every Ident shares that copy.
 */

/* Names are read 8 bytes at a time (most fit in one word): a word may run
 * past the name's end, into the SRC_PAD NULs after a source's text or into
 * the rounding of an interned copy (the arena hands out multiples of 8
 * bytes); the bytes past the end are masked off. */
static inline uint64_t name_word(const char *text, size_t left)
{
    uint64_t w;
    memcpy(&w, text, 8);
    if (left >= 8) return w;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return w & ~(UINT64_MAX >> (left * 8));
#else
    return w & ((1ull << (left * 8)) - 1);
#endif
}

/* The hash of a name whose first word is `first`. */
static uint32_t name_hash(uint64_t first, const char *text, size_t len)
{
    uint64_t hash = (first ^ len * 0x9E3779B97F4A7C15ull) * 0xFF51AFD7ED558CCDull;
    for (size_t i = 8; i < len; i += 8) hash = (hash ^ name_word(text + i, len - i)) * 0xFF51AFD7ED558CCDull;
    return (uint32_t)(hash ^ hash >> 32);
}

static void names_grow(Program *prog)
{
    uint32_t cap = prog->names_cap ? prog->names_cap * 2 : 256;
    AstName *fresh = calloc(cap, sizeof *fresh);
    if (!fresh) ast_alloc(prog, SIZE_MAX);   /* reports out of memory */
    for (uint32_t i = 0; i < prog->names_cap; i++) {
        AstName name = prog->names[i];
        if (!name.text) continue;
        uint32_t at = name.hash & (cap - 1);
        while (fresh[at].text) at = (at + 1) & (cap - 1);
        fresh[at] = name;
    }
    free(prog->names);
    prog->names = fresh;
    prog->names_cap = cap;
    /* at most half the slots are used: room for every number */
    const char **texts = realloc(prog->name_texts, cap / 2 * sizeof *texts);
    if (!texts) ast_alloc(prog, SIZE_MAX);
    prog->name_texts = texts;
}

/* a: an interned copy; b: a name in a source (see name_word) */
enum { AST_NAME_FIND_MAX = 64 };
static bool same_bytes(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i += 8)
        if (name_word(a + i, len - i) != name_word(b + i, len - i)) return false;
    return true;
}

static const AstName *name_intern(Program *prog, const char *text, size_t len)
{
    if ((prog->nnames + 1) * 2 > prog->names_cap) names_grow(prog);
    uint64_t first = name_word(text, len);
    uint32_t hash = name_hash(first, text, len), mask = prog->names_cap - 1;
    uint32_t at = hash & mask;
    for (; prog->names[at].text; at = (at + 1) & mask) {
        const AstName *name = &prog->names[at];
        if (name->first == first && name->len == len &&
            (len <= 8 || same_bytes(name->text + 8, text + 8, len - 8)))
            return name;
    }
    char *copy = ast_alloc(prog, len + 1);
    memcpy(copy, text, len);
    prog->names[at] = (AstName){ copy, first, (uint32_t)len, hash, prog->nnames };
    prog->name_texts[prog->nnames++] = copy;
    return &prog->names[at];
}

const char *ast_name_find(const Program *prog, const char *text)
{
    char padded[AST_NAME_FIND_MAX + 8] = { 0 };   /* name_word reads whole words */
    size_t len = strlen(text);
    if (len > AST_NAME_FIND_MAX || !prog->names_cap) return NULL;
    memcpy(padded, text, len);
    uint64_t first = name_word(padded, len);
    uint32_t mask = prog->names_cap - 1;
    for (uint32_t at = name_hash(first, padded, len) & mask; prog->names[at].text; at = (at + 1) & mask) {
        const AstName *name = &prog->names[at];
        if (name->first == first && name->len == len && (len <= 8 || same_bytes(name->text + 8, padded + 8, len - 8)))
            return name->text;
    }
    return NULL;
}

Ident ast_ident(Program *prog, Span span)
{
    const SourceFile *file = &prog->sources->files[span.file];
    const AstName *name = name_intern(prog, file->text + span.off, span.len);
    return (Ident){ name->text, span, name->id };
}

Ident ast_ident_text(Program *prog, const char *text, size_t len, Span span)
{
    Ident id;
    id.span = span;
    id.name = AST_NO_NAME;
    id.text = arena_strndup(&prog->arena, text, len);
    if (!id.text) ast_alloc(prog, SIZE_MAX);
    return id;
}

Ident ast_dotted(Program *prog, Ident left, Ident right)
{
    size_t l = strlen(left.text), r = strlen(right.text);
    char *text = ast_alloc(prog, l + r + 2);
    memcpy(text, left.text, l);
    text[l] = '.';
    memcpy(text + l + 1, right.text, r + 1);
    return (Ident){ text, ast_span_join(left.span, right.span), AST_NO_NAME };
}

/* ------------------------------------------------------------ expressions */

const char *ast_op_text(OpKind op)
{
    static const char *const names[] = {
        [OPR_OR] = "or", [OPR_AND] = "and", [OPR_NOT] = "not",
        [OPR_EQ] = "==", [OPR_NE] = "!=", [OPR_LT] = "<", [OPR_LE] = "<=",
        [OPR_GT] = ">", [OPR_GE] = ">=", [OPR_IN] = "in",
        [OPR_ADD] = "+", [OPR_SUB] = "-", [OPR_MUL] = "*", [OPR_DIV] = "/",
        [OPR_MOD] = "mod", [OPR_OF] = "of", [OPR_NEG] = "-",
    };
    return (unsigned)op < sizeof names / sizeof names[0] && names[op] ? names[op] : "?";
}

#define EXPR_SIZE(member) (offsetof(Expr, u) + sizeof(((Expr *)0)->u.member))

size_t ast_expr_size(ExprKind kind)
{
    static const size_t sizes[] = {
        [E_BOOL] = EXPR_SIZE(b),       [E_INT] = EXPR_SIZE(i),        [E_FLOAT] = EXPR_SIZE(f),
        [E_BYTES] = EXPR_SIZE(i),      [E_PERCENT] = EXPR_SIZE(f),    [E_DURATION] = EXPR_SIZE(i),
        [E_TIME] = EXPR_SIZE(i),       [E_STRING] = EXPR_SIZE(str),   [E_LIST] = EXPR_SIZE(list),
        [E_RECORD] = EXPR_SIZE(rec),   [E_NAME] = EXPR_SIZE(name),    [E_FIELD] = EXPR_SIZE(field),
        [E_INDEX] = EXPR_SIZE(index),  [E_CALL] = EXPR_SIZE(call),    [E_UNARY] = EXPR_SIZE(unary),
        [E_BINARY] = EXPR_SIZE(binary),
    };
    return (unsigned)kind < sizeof sizes / sizeof sizes[0] && sizes[kind] ? sizes[kind] : sizeof(Expr);
}

Expr *ast_expr(Program *prog, ExprKind kind, Span span)
{
    Expr *expr = ast_alloc(prog, ast_expr_size(kind));
    expr->kind = kind;
    expr->span = span;
    return expr;
}

Expr *ast_binary(Program *prog, OpKind op, Expr *left, Expr *right)
{
    Expr *expr = ast_expr(prog, E_BINARY, ast_span_join(left->span, right->span));
    expr->op = (uint8_t)op;
    expr->u.binary.left = left;
    expr->u.binary.right = right;
    return expr;
}

Expr *ast_unary(Program *prog, OpKind op, Expr *operand, Span op_span)
{
    Expr *expr = ast_expr(prog, E_UNARY, ast_span_join(op_span, operand->span));
    expr->op = (uint8_t)op;
    expr->u.unary.operand = operand;
    return expr;
}

Expr *ast_name(Program *prog, Ident id)
{
    Expr *expr = ast_expr(prog, E_NAME, id.span);
    expr->u.name.text = id.name;
    expr->u.name.slot = -1;
    return expr;
}

Expr *ast_field(Program *prog, Expr *obj, Ident name)
{
    Expr *expr = ast_expr(prog, E_FIELD, ast_span_join(obj->span, name.span));
    expr->u.field.obj = obj;
    expr->u.field.name = name.name;
    expr->u.field.index = -1;
    return expr;
}

Span ast_call_name_span(const Expr *e)
{
    return (Span){ e->span.file, e->span.off, (uint32_t)strlen(e->u.call.name) };
}

Span ast_field_name_span(const Program *prog, const Expr *e)
{
    uint32_t n = (uint32_t)strlen(ast_field_text(prog, e));
    return (Span){ e->span.file, e->span.off + e->span.len - n, n };
}

Expr *ast_index(Program *prog, Expr *obj, Expr *index, Span end)
{
    Expr *expr = ast_expr(prog, E_INDEX, ast_span_join(obj->span, end));
    expr->u.index.obj = obj;
    expr->u.index.index = index;
    return expr;
}

Expr *ast_call(Program *prog, Ident name, AstVec *args, Span end)
{
    Expr *expr = ast_expr(prog, E_CALL, ast_span_join(name.span, end));
    expr->u.call.name = name.text;
    expr->u.call.args = (Expr **)vec_take(prog, args);
    expr->u.call.nargs = args->n;
    expr->u.call.builtin = -1;
    return expr;
}

Expr *ast_list(Program *prog, AstVec *items, Span span)
{
    Expr *expr = ast_expr(prog, E_LIST, span);
    expr->u.list.items = (Expr **)vec_take(prog, items);
    expr->u.list.n = items->n;
    return expr;
}

RecField *ast_rec_field(Program *prog, Ident name, Expr *value)
{
    RecField *field = prog->free_fields;
    if (field) prog->free_fields = (RecField *)field->value;
    else field = ast_alloc(prog, sizeof *field);
    field->name = name;
    field->value = value;
    return field;
}

Expr *ast_record(Program *prog, AstVec *fields, Span span)
{
    Expr *expr = ast_expr(prog, E_RECORD, span);
    expr->u.rec.n = fields->n;
    if (fields->n) {
        expr->u.rec.fields = ast_alloc(prog, (size_t)fields->n * sizeof(RecField));
        for (int i = 0; i < fields->n; i++) {
            RecField *field = vec_items(prog, fields)[i];
            expr->u.rec.fields[i] = *field;
            field->value = (Expr *)prog->free_fields;
            prog->free_fields = field;
        }
        vec_pop(prog, fields);
    }
    return expr;
}

Expr *ast_int(Program *prog, ExprKind kind, int64_t value, Span span)
{
    Expr *expr = ast_expr(prog, kind, span);
    expr->u.i = value;
    return expr;
}

Expr *ast_float(Program *prog, ExprKind kind, double value, Span span)
{
    Expr *expr = ast_expr(prog, kind, span);
    expr->u.f = value;
    return expr;
}

Expr *ast_bool(Program *prog, bool value, Span span)
{
    Expr *expr = ast_expr(prog, E_BOOL, span);
    expr->u.b = value;
    return expr;
}

Expr *ast_string(Program *prog, StrPart *parts, int nparts, bool triple, Span span)
{
    Expr *expr = ast_expr(prog, E_STRING, span);
    expr->u.str.parts = parts;
    expr->u.str.nparts = nparts;
    expr->triple = triple;
    return expr;
}

/* ------------------------------------------------------------ statements */

static Block block_of(Program *prog, Stmt *stmt);

#define STMT_SIZE(member) (offsetof(Stmt, u) + sizeof(((Stmt *)0)->u.member))

size_t ast_stmt_size(StmtKind kind)
{
    static const size_t sizes[] = {
        [S_LET] = STMT_SIZE(let),      [S_ASSIGN] = STMT_SIZE(assign), [S_IF] = STMT_SIZE(if_),
        [S_FOR] = STMT_SIZE(for_),     [S_RETURN] = STMT_SIZE(ret),    [S_STOP] = offsetof(Stmt, u),
        [S_LOG] = STMT_SIZE(log),      [S_CALL] = STMT_SIZE(call),     [S_WAIT] = STMT_SIZE(wait),
        [S_EMAIL] = STMT_SIZE(email),  [S_WEBHOOK] = STMT_SIZE(webhook), [S_SIMOP] = STMT_SIZE(simop),
    };
    return (unsigned)kind < sizeof sizes / sizeof sizes[0] && sizes[kind] ? sizes[kind] : sizeof(Stmt);
}

Stmt *ast_stmt(Program *prog, StmtKind kind, Span span)
{
    Stmt *stmt = ast_alloc(prog, ast_stmt_size(kind));
    stmt->kind = kind;
    stmt->span = span;
    return stmt;
}

Block ast_block(Program *prog, AstVec *stmts, Span span)
{
    Block block = { (Stmt **)vec_take(prog, stmts), stmts->n, span };
    return block;
}

EmailItem *ast_email_item(Program *prog, EmailField field, Span keyword, Expr *value)
{
    EmailItem *item = prog->free_items;
    if (item) prog->free_items = (EmailItem *)item->value;
    else item = ast_alloc(prog, sizeof *item);
    item->field = field;
    item->keyword = keyword;
    item->value = value;
    return item;
}

Stmt *ast_email(Program *prog, Expr *recipients, AstVec *items, Span span)
{
    Stmt *stmt = ast_stmt(prog, S_EMAIL, span);
    stmt->u.email.recipients = recipients;
    stmt->u.email.nitems = items->n;
    if (items->n) {
        stmt->u.email.items = ast_alloc(prog, (size_t)items->n * sizeof(EmailItem));
        for (int i = 0; i < items->n; i++) {
            EmailItem *item = vec_items(prog, items)[i];
            stmt->u.email.items[i] = *item;
            item->value = (Expr *)prog->free_items;
            prog->free_items = item;
        }
        vec_pop(prog, items);
    }
    return stmt;
}

Stmt *ast_let(Program *prog, StmtKind kind, Ident name, Expr *value, Span start)
{
    Stmt *stmt = ast_stmt(prog, kind, ast_span_join(start, value->span));
    if (kind == S_LET) {
        stmt->u.let.name = name;
        stmt->u.let.value = value;
        stmt->u.let.slot = -1;
    } else {
        stmt->u.assign.name = name;
        stmt->u.assign.value = value;
        stmt->u.assign.slot = -1;
    }
    return stmt;
}

Stmt *ast_if(Program *prog, Span start, Expr *cond, Block then, const Block *otherwise)
{
    Stmt *stmt = ast_stmt(prog, S_IF, ast_span_join(start, otherwise ? otherwise->span : then.span));
    stmt->u.if_.cond = cond;
    stmt->u.if_.then = then;
    if (otherwise) {
        stmt->u.if_.has_else = true;
        stmt->u.if_.otherwise = *otherwise;
    }
    return stmt;
}

static Block block_of(Program *prog, Stmt *stmt)
{
    Stmt **items = ast_alloc(prog, sizeof *items);
    items[0] = stmt;
    Block block = { items, 1, stmt->span };
    return block;
}

Stmt *ast_for(Program *prog, Span start, Ident var, Expr *list, Block body)
{
    Stmt *stmt = ast_stmt(prog, S_FOR, ast_span_join(start, body.span));
    stmt->u.for_.var = var;
    stmt->u.for_.list = list;
    stmt->u.for_.body = body;
    stmt->u.for_.slot = -1;
    return stmt;
}

Stmt *ast_stmt_expr(Program *prog, StmtKind kind, Span start, Expr *value)
{
    Stmt *stmt = ast_stmt(prog, kind, value ? ast_span_join(start, value->span) : start);
    switch (kind) {
    case S_RETURN: stmt->u.ret.value = value; break;
    case S_LOG: stmt->u.log.message = value; break;
    case S_CALL: stmt->u.call.call = value; break;
    case S_WAIT: stmt->u.wait.duration = value; break;
    default: break;
    }
    return stmt;
}

Stmt *ast_webhook(Program *prog, Span start, Expr *url, Expr *params)
{
    Stmt *stmt = ast_stmt(prog, S_WEBHOOK, ast_span_join(start, (params ? params : url)->span));
    stmt->u.webhook.url = url;
    stmt->u.webhook.params = params;
    return stmt;
}

Stmt *ast_simop(Program *prog, ActionKind action, Span start, Span target, Expr *arg)
{
    Stmt *stmt = ast_stmt(prog, S_SIMOP, ast_span_join(start, arg ? arg->span : target));
    stmt->u.simop.action = action;
    stmt->u.simop.target = target;
    stmt->u.simop.arg = arg;
    return stmt;
}

Stmt *ast_if_else_if(Program *prog, Span start, Expr *cond, Block then, Stmt *else_if)
{
    Block otherwise = block_of(prog, else_if);
    return ast_if(prog, start, cond, then, &otherwise);
}

/* ------------------------------------------------------------ clauses, steps */

Clause *ast_clause(Program *prog, ClauseKind kind, Span span)
{
    Clause *clause = ast_alloc(prog, sizeof *clause);
    clause->kind = kind;
    clause->span = span;
    if (kind == C_ON) clause->u.on.at_minutes = -1;
    return clause;
}

Step *ast_step(Program *prog, StepKind kind, Span span)
{
    Step *step = ast_alloc(prog, sizeof *step);
    step->kind = kind;
    step->span = span;
    return step;
}

Clause *ast_clause_expr(Program *prog, ClauseKind kind, Span start, Expr *value)
{
    Clause *clause = ast_clause(prog, kind, ast_span_join(start, value->span));
    if (kind == C_TITLE) clause->u.title = value;
    else if (kind == C_WHEN) clause->u.when = value;
    else clause->u.rearm = value;
    return clause;
}

Clause *ast_on(Program *prog, Span start, Ident event, Expr *date, Expr *cron, int at_minutes, Span end)
{
    Clause *clause = ast_clause(prog, C_ON, ast_span_join(start, end));
    clause->u.on.event = event;
    clause->u.on.date = date;
    clause->u.on.cron = cron;
    clause->u.on.at_minutes = at_minutes;
    if (at_minutes >= 0) clause->u.on.at_span = end;
    return clause;
}

Clause *ast_scope(Program *prog, Span start, ScopeKind kind, Span kind_span, Expr *value)
{
    Clause *clause = ast_clause(prog, C_SCOPE, ast_span_join(start, value ? value->span : kind_span));
    clause->u.scope.kind = kind;
    clause->u.scope.kind_span = kind_span;
    clause->u.scope.value = value;
    return clause;
}

Clause *ast_repeat(Program *prog, Span start, Expr *after, Span end)
{
    Clause *clause = ast_clause(prog, C_REPEAT, ast_span_join(start, end));
    clause->u.repeat.every_event = after == NULL;
    clause->u.repeat.after = after;
    return clause;
}

Clause *ast_active(Program *prog, Span start, Expr *from, Expr *until, Expr *for_)
{
    Expr *last = for_ ? for_ : until ? until : from;
    Clause *clause = ast_clause(prog, C_ACTIVE, ast_span_join(start, last->span));
    clause->u.active.from = from;
    clause->u.active.until = until;
    clause->u.active.for_ = for_;
    return clause;
}

Clause *ast_do(Program *prog, Span start, Block body)
{
    Clause *clause = ast_clause(prog, C_DO, ast_span_join(start, body.span));
    clause->u.body = body;
    return clause;
}

Step *ast_step_expr(Program *prog, StepKind kind, Span start, Expr *value)
{
    Step *step = ast_step(prog, kind, ast_span_join(start, value->span));
    if (kind == T_SIM) step->u.sim = value;
    else if (kind == T_ADVANCE) step->u.advance = value;
    else step->u.expect_true = value;
    return step;
}

Step *ast_step_set(Program *prog, Span start, Ident input, Expr *value)
{
    Step *step = ast_step(prog, T_SET, ast_span_join(start, value->span));
    step->u.set.input = input;
    step->u.set.value = value;
    return step;
}

Step *ast_step_event(Program *prog, Span start, Ident type, Expr *fields, Expr *iccid, Expr *at)
{
    Span end = at ? at->span : iccid ? iccid->span : fields ? fields->span : type.span;
    Step *step = ast_step(prog, T_EVENT, ast_span_join(start, end));
    step->u.event.type = type;
    step->u.event.fields = fields;
    step->u.event.iccid = iccid;
    step->u.event.at = at;
    return step;
}

Step *ast_step_expect(Program *prog, Span start, ActionKind action, Expr *target,
                      Expr *subject_contains, Span end)
{
    Step *step = ast_step(prog, T_EXPECT_ACTION, ast_span_join(start, end));
    step->u.expect.action = action;
    step->u.expect.target = target;
    step->u.expect.subject_contains = subject_contains;
    return step;
}

/* ------------------------------------------------------------ declarations */

Decl *ast_decl(Program *prog, DeclKind kind, Span span, Ident name)
{
    Decl *decl = ast_alloc(prog, sizeof *decl);
    decl->kind = kind;
    decl->span = span;
    decl->name = name;
    return decl;
}

Decl *ast_input(Program *prog, Span span, Ident name, TypeExpr *type, Expr *dflt)
{
    Decl *decl = ast_decl(prog, D_INPUT, span, name);
    decl->u.input.type = type;
    decl->u.input.dflt = dflt;
    return decl;
}

Decl *ast_const(Program *prog, Span span, Ident name, Expr *value)
{
    Decl *decl = ast_decl(prog, D_CONST, span, name);
    decl->u.konst.value = value;
    return decl;
}

Decl *ast_flow(Program *prog, Span span, Ident name, AstVec *clauses)
{
    Decl *decl = ast_decl(prog, D_FLOW, span, name);
    ast_flow_set_clauses(prog, decl, clauses);
    return decl;
}

Decl *ast_sub(Program *prog, Span span, Ident name, AstVec *params, TypeExpr *ret, Block body)
{
    Decl *decl = ast_decl(prog, D_SUB, span, name);
    ast_sub_set_params(prog, decl, params);
    decl->u.sub.ret = ret;
    decl->u.sub.body = body;
    return decl;
}

Decl *ast_test(Program *prog, Span span, Ident title, AstVec *steps)
{
    Decl *decl = ast_decl(prog, D_TEST, span, title);
    ast_test_set_steps(prog, decl, steps);
    return decl;
}

void ast_flow_set_clauses(Program *prog, Decl *flow, AstVec *clauses)
{
    flow->u.flow.nclauses = clauses->n;
    if (!clauses->n) return;
    flow->u.flow.clauses = ast_alloc(prog, (size_t)clauses->n * sizeof(Clause));
    for (int i = 0; i < clauses->n; i++) flow->u.flow.clauses[i] = *(Clause *)vec_items(prog, clauses)[i];
    vec_pop(prog, clauses);
}

void ast_test_set_steps(Program *prog, Decl *test, AstVec *steps)
{
    test->u.test.nsteps = steps->n;
    if (!steps->n) return;
    test->u.test.steps = ast_alloc(prog, (size_t)steps->n * sizeof(Step));
    for (int i = 0; i < steps->n; i++) test->u.test.steps[i] = *(Step *)vec_items(prog, steps)[i];
    vec_pop(prog, steps);
}

void ast_sub_set_params(Program *prog, Decl *sub, AstVec *params)
{
    sub->u.sub.nparams = params->n;
    if (!params->n) return;
    sub->u.sub.params = ast_alloc(prog, (size_t)params->n * sizeof(Param));
    for (int i = 0; i < params->n; i++) sub->u.sub.params[i] = *(Param *)vec_items(prog, params)[i];
    vec_pop(prog, params);
}

Param *ast_param(Program *prog, Ident name, TypeExpr *type)
{
    Param *param = ast_alloc(prog, sizeof *param);
    param->name = name;
    param->type = type;
    return param;
}

TypeExpr *ast_type(Program *prog, Ident name, TypeExpr *arg, Span span)
{
    TypeExpr *type = ast_alloc(prog, sizeof *type);
    type->name = name;
    type->arg = arg;
    type->span = span;
    return type;
}

/* ------------------------------------------------------------ dump */
/*
 * One declaration per top-level S-expression; clauses, statements and steps
 * one per line, indented by two spaces per level; expressions on one line.
 */

static void dump_expr(const Program *prog, const Expr *expr, FILE *out);

static void dump_quoted(const char *text, size_t len, FILE *out)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (c < 0x20 || c == 0x7F) fprintf(out, "\\x%02X", c);
            else fputc(c, out);
        }
    }
    fputc('"', out);
}

static void dump_type(const TypeExpr *type, FILE *out)
{
    fputs(type->name.text, out);
    if (type->arg) {
        fputc('<', out);
        dump_type(type->arg, out);
        fputc('>', out);
    }
}

static void dump_exprs(const Program *prog, Expr *const *items, int n, FILE *out)
{
    for (int i = 0; i < n; i++) {
        fputc(' ', out);
        dump_expr(prog, items[i], out);
    }
}

static void dump_expr(const Program *prog, const Expr *expr, FILE *out)
{
    switch (expr->kind) {
    case E_BOOL: fputs(expr->u.b ? "true" : "false", out); break;
    case E_INT: fprintf(out, "%" PRId64, expr->u.i); break;
    case E_FLOAT: fprintf(out, "%.17g", expr->u.f); break;
    case E_BYTES: fprintf(out, "(bytes %" PRId64 ")", expr->u.i); break;
    case E_PERCENT: fprintf(out, "(percent %.17g)", expr->u.f); break;
    case E_DURATION: fprintf(out, "(duration %" PRId64 ")", expr->u.i); break;
    case E_TIME: fprintf(out, "(time %" PRId64 ")", expr->u.i); break;
    case E_STRING:
        fputs(expr->triple ? "(text" : "(string", out);
        for (int i = 0; i < expr->u.str.nparts; i++) {
            const StrPart *part = &expr->u.str.parts[i];
            fputc(' ', out);
            if (part->is_expr) dump_expr(prog, part->expr, out);
            else dump_quoted(part->text, part->len, out);
        }
        fputc(')', out);
        break;
    case E_LIST:
        fputs("(list", out);
        dump_exprs(prog, expr->u.list.items, expr->u.list.n, out);
        fputc(')', out);
        break;
    case E_RECORD:
        fputs("(record", out);
        for (int i = 0; i < expr->u.rec.n; i++) {
            fprintf(out, " (%s ", expr->u.rec.fields[i].name.text);
            dump_expr(prog, expr->u.rec.fields[i].value, out);
            fputc(')', out);
        }
        fputc(')', out);
        break;
    case E_NAME: fputs(ast_name_text(prog, expr), out); break;
    case E_FIELD:
        fputs("(. ", out);
        dump_expr(prog, expr->u.field.obj, out);
        fprintf(out, " %s)", ast_field_text(prog, expr));
        break;
    case E_INDEX:
        fputs("([] ", out);
        dump_expr(prog, expr->u.index.obj, out);
        fputc(' ', out);
        dump_expr(prog, expr->u.index.index, out);
        fputc(')', out);
        break;
    case E_CALL:
        fprintf(out, "(call %s", expr->u.call.name);
        dump_exprs(prog, expr->u.call.args, expr->u.call.nargs, out);
        fputc(')', out);
        break;
    case E_UNARY:
        fprintf(out, "(%s ", ast_op_text(expr->op));
        dump_expr(prog, expr->u.unary.operand, out);
        fputc(')', out);
        break;
    case E_BINARY:
        fprintf(out, "(%s ", ast_op_text(expr->op));
        dump_expr(prog, expr->u.binary.left, out);
        fputc(' ', out);
        dump_expr(prog, expr->u.binary.right, out);
        fputc(')', out);
        break;
    }
}

static void indent(int depth, FILE *out)
{
    for (int i = 0; i < depth; i++) fputs("  ", out);
}

static void dump_block(const Program *prog, const Block *block, int depth, FILE *out);

static void dump_stmt(const Program *prog, const Stmt *stmt, int depth, FILE *out)
{
    indent(depth, out);
    switch (stmt->kind) {
    case S_LET:
    case S_ASSIGN:
        fprintf(out, "(%s %s ", stmt->kind == S_LET ? "let" : "assign", stmt->u.let.name.text);
        dump_expr(prog, stmt->u.let.value, out);
        fputc(')', out);
        break;
    case S_IF:
        fputs("(if ", out);
        dump_expr(prog, stmt->u.if_.cond, out);
        fputc('\n', out);
        dump_block(prog, &stmt->u.if_.then, depth + 1, out);
        if (stmt->u.if_.has_else) {
            fputc('\n', out);
            dump_block(prog, &stmt->u.if_.otherwise, depth + 1, out);
        }
        fputc(')', out);
        break;
    case S_FOR:
        fprintf(out, "(for %s ", stmt->u.for_.var.text);
        dump_expr(prog, stmt->u.for_.list, out);
        fputc('\n', out);
        dump_block(prog, &stmt->u.for_.body, depth + 1, out);
        fputc(')', out);
        break;
    case S_RETURN:
        fputs("(return", out);
        if (stmt->u.ret.value) dump_exprs(prog, &stmt->u.ret.value, 1, out);
        fputc(')', out);
        break;
    case S_STOP: fputs("(stop)", out); break;
    case S_LOG: fputs("(log", out); dump_exprs(prog, &stmt->u.log.message, 1, out); fputc(')', out); break;
    case S_CALL: dump_expr(prog, stmt->u.call.call, out); break;
    case S_WAIT: fputs("(wait", out); dump_exprs(prog, &stmt->u.wait.duration, 1, out); fputc(')', out); break;
    case S_EMAIL:
        fputs("(email", out);
        dump_exprs(prog, &stmt->u.email.recipients, 1, out);
        for (int i = 0; i < stmt->u.email.nitems; i++) {
            const EmailItem *item = &stmt->u.email.items[i];
            fputc('\n', out);
            indent(depth + 1, out);
            fprintf(out, "(%s ", cat_email_field_names[item->field]);
            dump_expr(prog, item->value, out);
            fputc(')', out);
        }
        fputc(')', out);
        break;
    case S_WEBHOOK:
        fputs("(webhook", out);
        dump_exprs(prog, &stmt->u.webhook.url, 1, out);
        if (stmt->u.webhook.params) dump_exprs(prog, &stmt->u.webhook.params, 1, out);
        fputc(')', out);
        break;
    case S_SIMOP:
        fprintf(out, "(%s sim", cat_action_names[stmt->u.simop.action]);
        if (stmt->u.simop.arg) dump_exprs(prog, &stmt->u.simop.arg, 1, out);
        fputc(')', out);
        break;
    }
}

static void dump_block(const Program *prog, const Block *block, int depth, FILE *out)
{
    indent(depth, out);
    fputs("(block", out);
    for (int i = 0; i < block->n; i++) {
        fputc('\n', out);
        dump_stmt(prog, block->items[i], depth + 1, out);
    }
    fputc(')', out);
}

static const char *const scope_names[] = {
    [SCOPE_ALL] = "all", [SCOPE_ICCIDS] = "iccids", [SCOPE_ICCIDS_FILE] = "iccids-file",
    [SCOPE_TAGS] = "tags", [SCOPE_PACKAGE] = "package", [SCOPE_POOL] = "pool",
};

static void dump_clause(const Program *prog, const Clause *clause, FILE *out)
{
    indent(1, out);
    switch (clause->kind) {
    case C_TITLE: fputs("(title", out); dump_exprs(prog, &clause->u.title, 1, out); break;
    case C_ON:
        fprintf(out, "(on %s", clause->u.on.event.text);
        if (clause->u.on.date) dump_exprs(prog, &clause->u.on.date, 1, out);
        if (clause->u.on.at_minutes >= 0)
            fprintf(out, " (at %02d:%02d)", clause->u.on.at_minutes / 60, clause->u.on.at_minutes % 60);
        if (clause->u.on.cron) dump_exprs(prog, &clause->u.on.cron, 1, out);
        break;
    case C_SCOPE:
        fprintf(out, "(scope %s", scope_names[clause->u.scope.kind]);
        if (clause->u.scope.value) dump_exprs(prog, &clause->u.scope.value, 1, out);
        break;
    case C_WHEN: fputs("(when", out); dump_exprs(prog, &clause->u.when, 1, out); break;
    case C_REPEAT:
        if (clause->u.repeat.every_event) fputs("(repeat every-event", out);
        else { fputs("(repeat after", out); dump_exprs(prog, &clause->u.repeat.after, 1, out); }
        break;
    case C_REARM: fputs("(rearm", out); dump_exprs(prog, &clause->u.rearm, 1, out); break;
    case C_ACTIVE:
        fputs("(active", out);
        if (clause->u.active.from) { fputs(" (from", out); dump_exprs(prog, &clause->u.active.from, 1, out); fputc(')', out); }
        if (clause->u.active.until) { fputs(" (until", out); dump_exprs(prog, &clause->u.active.until, 1, out); fputc(')', out); }
        if (clause->u.active.for_) { fputs(" (for", out); dump_exprs(prog, &clause->u.active.for_, 1, out); fputc(')', out); }
        break;
    case C_DO:
        fputs("(do\n", out);
        dump_block(prog, &clause->u.body, 2, out);
        break;
    }
    fputc(')', out);
}

static void dump_step(const Program *prog, const Step *step, FILE *out)
{
    indent(1, out);
    switch (step->kind) {
    case T_SIM: fputs("(sim", out); dump_exprs(prog, &step->u.sim, 1, out); break;
    case T_SET: fprintf(out, "(set %s", step->u.set.input.text); dump_exprs(prog, &step->u.set.value, 1, out); break;
    case T_EVENT:
        fprintf(out, "(event %s", step->u.event.type.text);
        if (step->u.event.fields) dump_exprs(prog, &step->u.event.fields, 1, out);
        if (step->u.event.iccid) { fputs(" (for", out); dump_exprs(prog, &step->u.event.iccid, 1, out); fputc(')', out); }
        if (step->u.event.at) { fputs(" (at", out); dump_exprs(prog, &step->u.event.at, 1, out); fputc(')', out); }
        break;
    case T_ADVANCE: fputs("(advance", out); dump_exprs(prog, &step->u.advance, 1, out); break;
    case T_EXPECT_ACTION:
        fprintf(out, "(expect %s", cat_action_names[step->u.expect.action]);
        if (step->u.expect.target) dump_exprs(prog, &step->u.expect.target, 1, out);
        if (step->u.expect.subject_contains) {
            fputs(" (subject-contains", out);
            dump_exprs(prog, &step->u.expect.subject_contains, 1, out);
            fputc(')', out);
        }
        break;
    case T_EXPECT_TRUE: fputs("(expect", out); dump_exprs(prog, &step->u.expect_true, 1, out); break;
    case T_EXPECT_NOTHING: fputs("(expect nothing", out); break;
    }
    fputc(')', out);
}

static void dump_decl(const Program *prog, const Decl *decl, FILE *out)
{
    switch (decl->kind) {
    case D_INPUT:
        fprintf(out, "(input %s ", decl->name.text);
        dump_type(decl->u.input.type, out);
        if (decl->u.input.dflt) dump_exprs(prog, &decl->u.input.dflt, 1, out);
        fputc(')', out);
        break;
    case D_CONST:
        fprintf(out, "(const %s", decl->name.text);
        dump_exprs(prog, &decl->u.konst.value, 1, out);
        fputc(')', out);
        break;
    case D_FLOW:
        fprintf(out, "(flow %s", decl->name.text);
        for (int i = 0; i < decl->u.flow.nclauses; i++) {
            fputc('\n', out);
            dump_clause(prog, &decl->u.flow.clauses[i], out);
        }
        fputc(')', out);
        break;
    case D_SUB:
        fprintf(out, "(sub %s (params", decl->name.text);
        for (int i = 0; i < decl->u.sub.nparams; i++) {
            fprintf(out, " (%s ", decl->u.sub.params[i].name.text);
            dump_type(decl->u.sub.params[i].type, out);
            fputc(')', out);
        }
        fputc(')', out);
        if (decl->u.sub.ret) {
            fputs(" (returns ", out);
            dump_type(decl->u.sub.ret, out);
            fputc(')', out);
        }
        fputc('\n', out);
        dump_block(prog, &decl->u.sub.body, 1, out);
        fputc(')', out);
        break;
    case D_TEST:
        fputs("(test ", out);
        dump_quoted(decl->name.text, strlen(decl->name.text), out);
        for (int i = 0; i < decl->u.test.nsteps; i++) {
            fputc('\n', out);
            dump_step(prog, &decl->u.test.steps[i], out);
        }
        fputc(')', out);
        break;
    }
    fputc('\n', out);
}

void ast_dump(const Program *prog, FILE *out)
{
    for (int i = 0; i < prog->ndecls; i++) dump_decl(prog, prog->decls[i], out);
}
