/*
 * compile.c - the code generator.
 *
 * One artifact per flow and per sub.  A flow's functions are, in order: its
 * `do` body, then its `when`, `rearm` and `on date` expressions when present.
 * Locals live in the registers the checker numbered (slots); temporaries are
 * allocated above them as a stack.  Expressions known at compile time are
 * folded into constants (literals, consts, unit arithmetic on them, lists and
 * records of them); arithmetic that overflows while folding is a compile
 * error rather than a run-time surprise.
 */
#include "compile.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/builtins.h"
#include "../vm/artifact.h"
#include "../vm/opcodes.h"

/* ============================================================ state */

typedef struct Func {
    uint32_t *code, *lines;
    uint32_t n, cap;
    int free_reg;        /* first register not holding a local or a live temporary */
    int max_reg;
    bool too_many_regs;
} Func;

typedef struct ConstEntry {
    uint64_t hash;
    uint32_t index;
} ConstEntry;

/* What a compiled sub reads and calls, so that a flow calling it declares
 * every input the sub (and what it calls) reads: the VM's linker maps a
 * sub's inputs by name onto the flow's input table. */
typedef struct SubInfo {
    Decl *sub;
    Decl **inputs, **imports;
    uint32_t ninputs, nimports;
} SubInfo;

typedef struct Cg {
    Program *prog;
    DiagSink *diags;
    unsigned errors_at_start;
    Decl *decl;
    Artifact *art;
    Arena *arena;            /* the artifact's: constants' strings and lists */

    Value *consts;
    uint32_t nconsts, consts_cap;
    ConstEntry *const_index; /* open addressing over consts, by value hash */
    uint32_t const_index_cap;

    Decl **inputs;           /* the inputs this artifact reads, in first-use order */
    Decl **imports;          /* the subs this artifact calls */
    uint32_t nfunctions;     /* local functions: CALL's B at or above this is an import */

    uint32_t line;           /* source line of what is being compiled */
    int fold_depth;
    SubInfo *subs;           /* the subs compiled so far */
    int nsubs;
} Cg;

static void out_of_memory(void)
{
    fputs("flowc: out of memory\n", stderr);
    exit(70);
}

static void *grow(void *items, uint32_t *cap, size_t item_size)
{
    uint32_t want = *cap ? *cap * 2 : 16;
    void *grown = realloc(items, (size_t)want * item_size);
    if (!grown) out_of_memory();
    *cap = want;
    return grown;
}

static void set_line(Cg *cg, Span span)
{
    uint32_t line, col;
    src_position(cg->prog->sources, span.file, span.off, &line, &col);
    cg->line = line;
}

/* ============================================================ emitting */

static uint32_t emit(Cg *cg, Func *fn, uint32_t ins)
{
    if (fn->n == fn->cap) {
        uint32_t cap = fn->cap;
        fn->code = grow(fn->code, &cap, sizeof *fn->code);
        fn->lines = realloc(fn->lines, (size_t)cap * sizeof *fn->lines);
        if (!fn->lines) out_of_memory();
        fn->cap = cap;
    }
    fn->code[fn->n] = ins;
    fn->lines[fn->n] = cg->line;
    return fn->n++;
}

static uint32_t emit_abc(Cg *cg, Func *fn, Opcode op, int a, int b, int c)
{
    return emit(cg, fn, INS_ABC(op, a & 0xff, b & 0xff, c & 0xff));
}

static uint32_t emit_abx(Cg *cg, Func *fn, Opcode op, int a, uint32_t bx)
{
    return emit(cg, fn, INS_ABX(op, a & 0xff, bx & 0xffff));
}

/* Emits a jump whose target is patched later; returns its position. */
static uint32_t emit_jump(Cg *cg, Func *fn, Opcode op, int a)
{
    return emit(cg, fn, INS_ASBX(op, a & 0xff, 0));
}

/* Points the jump at `at` to `target` (jumps count from the next instruction). */
static void patch_jump(Cg *cg, Func *fn, uint32_t at, uint32_t target)
{
    int64_t offset = (int64_t)target - (int64_t)(at + 1);
    if (offset > SBX_MAX - 1 || offset < SBX_MIN) {
        diag_add(cg->diags, DIAG_ERROR, cg->decl->name.span, "'%s' is too large: a jump spans more than %d instructions",
                 cg->decl->name.text, SBX_MAX - 1);
        return;
    }
    uint32_t ins = fn->code[at];
    fn->code[at] = INS_ASBX(INS_OP(ins), INS_A(ins), (int32_t)offset);
}

static int alloc_reg(Cg *cg, Func *fn)
{
    int reg = fn->free_reg++;
    if (fn->free_reg > fn->max_reg) fn->max_reg = fn->free_reg;
    if (fn->free_reg > ART_MAX_REGISTERS && !fn->too_many_regs) {
        fn->too_many_regs = true;
        diag_add(cg->diags, DIAG_ERROR, cg->decl->name.span,
                 "'%s' needs more than %d registers: split long expressions or use fewer variables",
                 cg->decl->name.text, ART_MAX_REGISTERS);
    }
    return reg;
}

static int alloc_regs(Cg *cg, Func *fn, int count)
{
    int base = fn->free_reg;
    for (int i = 0; i < count; i++) alloc_reg(cg, fn);
    if (count == 0 && base >= fn->max_reg) fn->max_reg = base + 1;   /* RANGE base must exist */
    return base;
}

/* ============================================================ constants */

static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint64_t value_hash(const Value *v)
{
    uint64_t h = hash_bytes(1469598103934665603ull, &v->tag, sizeof v->tag);
    switch (v->tag) {
    case VAL_BOOL: return hash_bytes(h, &v->as.b, sizeof v->as.b);
    case VAL_STR: return hash_bytes(h, v->as.s->data, v->as.s->len);
    case VAL_LIST:
        for (uint32_t i = 0; i < v->as.l->len; i++) h = h * 31 + value_hash(&v->as.l->items[i]);
        return h;
    case VAL_RECORD:
        for (uint32_t i = 0; i < v->as.r->len; i++)
            h = hash_bytes(h * 31 + value_hash(&v->as.r->values[i]), v->as.r->keys[i]->data, v->as.r->keys[i]->len);
        return h;
    case VAL_FLOAT:
    case VAL_PERCENT: return hash_bytes(h, &v->as.f, sizeof v->as.f);
    default: return hash_bytes(h, &v->as.i, sizeof v->as.i);
    }
}

/* Identical constants (same tag, same bits): 0.0 and -0.0 stay apart. */
static bool value_same(const Value *a, const Value *b)
{
    if (a->tag != b->tag) return false;
    if (a->tag == VAL_FLOAT || a->tag == VAL_PERCENT) return memcmp(&a->as.f, &b->as.f, sizeof a->as.f) == 0;
    if (a->tag == VAL_RECORD) {
        if (a->as.r->len != b->as.r->len) return false;
        for (uint32_t i = 0; i < a->as.r->len; i++)
            if (a->as.r->keys[i]->len != b->as.r->keys[i]->len ||
                memcmp(a->as.r->keys[i]->data, b->as.r->keys[i]->data, a->as.r->keys[i]->len) != 0 ||
                !value_same(&a->as.r->values[i], &b->as.r->values[i]))
                return false;
        return true;
    }
    if (a->tag == VAL_LIST) {
        if (a->as.l->len != b->as.l->len) return false;
        for (uint32_t i = 0; i < a->as.l->len; i++)
            if (!value_same(&a->as.l->items[i], &b->as.l->items[i])) return false;
        return true;
    }
    return val_equal(a, b);
}

static uint32_t add_const(Cg *cg, Value v)
{
    uint64_t h = value_hash(&v);
    if (cg->const_index_cap) {
        uint32_t mask = cg->const_index_cap - 1;
        for (uint32_t i = (uint32_t)h & mask; cg->const_index[i].hash; i = (i + 1) & mask)
            if (cg->const_index[i].hash == (h | 1) && value_same(&cg->consts[cg->const_index[i].index], &v))
                return cg->const_index[i].index;
    }
    if (cg->nconsts >= ART_MAX_CONSTANTS) {
        if (cg->nconsts == ART_MAX_CONSTANTS)
            diag_add(cg->diags, DIAG_ERROR, cg->decl->name.span, "'%s' has more than %d constants",
                     cg->decl->name.text, ART_MAX_CONSTANTS);
        cg->nconsts = ART_MAX_CONSTANTS + 1;
        return 0;
    }
    if (cg->nconsts == cg->consts_cap) cg->consts = grow(cg->consts, &cg->consts_cap, sizeof *cg->consts);
    uint32_t index = cg->nconsts++;
    cg->consts[index] = v;
    if (cg->nconsts * 2 > cg->const_index_cap) {
        uint32_t cap = cg->const_index_cap ? cg->const_index_cap * 2 : 64;
        ConstEntry *table = calloc(cap, sizeof *table);
        if (!table) out_of_memory();
        for (uint32_t k = 0; k < cg->nconsts; k++) {
            uint64_t kh = value_hash(&cg->consts[k]) | 1;
            uint32_t i = (uint32_t)kh & (cap - 1);
            while (table[i].hash) i = (i + 1) & (cap - 1);
            table[i] = (ConstEntry){ kh, k };
        }
        free(cg->const_index);
        cg->const_index = table;
        cg->const_index_cap = cap;
    } else {
        uint32_t mask = cg->const_index_cap - 1, i = (uint32_t)h & mask;
        while (cg->const_index[i].hash) i = (i + 1) & mask;
        cg->const_index[i] = (ConstEntry){ h | 1, index };
    }
    return index;
}

static const VStr *make_str(Cg *cg, const char *text, size_t len)
{
    VStr *s = arena_alloc(cg->arena, sizeof *s + len + 1);
    if (!s) out_of_memory();
    s->len = (uint32_t)len;
    memcpy(s->data, text, len);
    s->data[len] = '\0';
    return s;
}

/* The static type the checker gave an expression. */
static inline const Type *type_of(const Cg *cg, const Expr *e)
{
    return ast_expr_type(cg->prog, e);
}

static ValTag tag_of(const Type *t)
{
    switch (t->kind) {
    case TY_BOOL: return VAL_BOOL;
    case TY_INT: return VAL_INT;
    case TY_BYTES: return VAL_BYTES;
    case TY_DURATION: return VAL_DURATION;
    case TY_TIME: return VAL_TIME;
    case TY_FLOAT: return VAL_FLOAT;
    case TY_PERCENT: return VAL_PERCENT;
    case TY_LIST: return VAL_LIST;
    case TY_RECORD: return VAL_RECORD;
    case TY_STRING: case TY_EMAIL: case TY_URL: return VAL_STR;
    default: return VAL_NIL;
    }
}

/* ============================================================ folding */

static bool fold(Cg *cg, const Expr *e, Value *out);

static bool fold_overflow(Cg *cg, const Expr *e)
{
    diag_add(cg->diags, DIAG_ERROR, e->span, "this constant arithmetic overflows");
    return false;
}

static double as_double(const Value *v)
{
    return val_is_integral((ValTag)v->tag) ? (double)v->as.i : v->as.f;
}

static bool fold_binary(Cg *cg, const Expr *e, Value *out)
{
    Value l, r;
    if (!fold(cg, e->u.binary.left, &l) || !fold(cg, e->u.binary.right, &r)) return false;
    ValTag tag = tag_of(type_of(cg, e));
    OpKind op = e->op;
    if (op == OPR_OF) {
        double p = l.as.f;
        if (val_is_integral((ValTag)r.tag)) {
            double x = (double)r.as.i * p / 100.0;
            if (!(fabs(x) < 9.2e18)) return fold_overflow(cg, e);
            *out = val_integral(tag, llround(x));
        } else {
            *out = val_real(tag, r.as.f * p / 100.0);
        }
        return true;
    }
    if (op == OPR_ADD && tag == VAL_STR) {
        size_t len = l.as.s->len + (size_t)r.as.s->len;
        char *joined = malloc(len + 1);
        if (!joined) out_of_memory();
        memcpy(joined, l.as.s->data, l.as.s->len);
        memcpy(joined + l.as.s->len, r.as.s->data, r.as.s->len);
        *out = val_str(make_str(cg, joined, len));
        free(joined);
        return true;
    }
    bool both_integral = val_is_integral((ValTag)l.tag) && val_is_integral((ValTag)r.tag);
    if (both_integral && val_is_integral(tag)) {
        int64_t a = l.as.i, b = r.as.i, v;
        bool overflow;
        switch (op) {
        case OPR_ADD: overflow = __builtin_add_overflow(a, b, &v); break;
        case OPR_SUB: overflow = __builtin_sub_overflow(a, b, &v); break;
        case OPR_MUL: overflow = __builtin_mul_overflow(a, b, &v); break;
        case OPR_DIV:
        case OPR_MOD:
            if (b == 0) {
                diag_add(cg->diags, DIAG_ERROR, e->span, "division by zero");
                return false;
            }
            if (a == INT64_MIN && b == -1) return fold_overflow(cg, e);
            if (op == OPR_DIV) v = a / b;
            else {
                v = a % b;
                if (v != 0 && ((v < 0) != (b < 0))) v += b;
            }
            overflow = false;
            break;
        default: return false;
        }
        if (overflow) return fold_overflow(cg, e);
        *out = val_integral(tag, v);
        return true;
    }
    if (tag == VAL_FLOAT || tag == VAL_PERCENT) {
        double a = as_double(&l), b = as_double(&r), v;
        switch (op) {
        case OPR_ADD: v = a + b; break;
        case OPR_SUB: v = a - b; break;
        case OPR_MUL: v = a * b; break;
        case OPR_DIV:
            if (b == 0) {
                diag_add(cg->diags, DIAG_ERROR, e->span, "division by zero");
                return false;
            }
            v = a / b;
            break;
        default: return false;
        }
        if (!isfinite(v)) return fold_overflow(cg, e);
        *out = val_real(tag, v);
        return true;
    }
    return false;   /* mixed integral-by-float units: computed at run time */
}

static bool fold_list(Cg *cg, const Expr *e, Value *out)
{
    int n = e->u.list.n;
    VList *list = arena_alloc(cg->arena, sizeof *list + (size_t)n * sizeof(Value));
    if (!list) out_of_memory();
    list->len = (uint32_t)n;
    for (int i = 0; i < n; i++)
        if (!fold(cg, e->u.list.items[i], &list->items[i])) return false;
    *out = val_list(list);
    return true;
}

static const VStr *const *record_keys(Cg *cg, const Expr *e)
{
    int n = e->u.rec.n;
    const VStr **keys = arena_alloc(cg->arena, (size_t)(n ? n : 1) * sizeof *keys);
    if (!keys) out_of_memory();
    for (int i = 0; i < n; i++) keys[i] = make_str(cg, e->u.rec.fields[i].name.text, strlen(e->u.rec.fields[i].name.text));
    return keys;
}

static bool fold_record(Cg *cg, const Expr *e, Value *out)
{
    int n = e->u.rec.n;
    VRecord *rec = arena_alloc(cg->arena, sizeof *rec + (size_t)n * sizeof(Value));
    if (!rec) out_of_memory();
    rec->len = (uint32_t)n;
    rec->keys = record_keys(cg, e);
    for (int i = 0; i < n; i++)
        if (!fold(cg, e->u.rec.fields[i].value, &rec->values[i])) return false;
    *out = val_record(rec);
    return true;
}

static bool fold_string(Cg *cg, const Expr *e, Value *out)
{
    size_t total = 0;
    for (int i = 0; i < e->u.str.nparts; i++) {
        if (e->u.str.parts[i].is_expr) return false;
        total += e->u.str.parts[i].len;
    }
    VStr *s = arena_alloc(cg->arena, sizeof *s + total + 1);
    if (!s) out_of_memory();
    s->len = (uint32_t)total;
    size_t at = 0;
    for (int i = 0; i < e->u.str.nparts; i++) {
        memcpy(s->data + at, e->u.str.parts[i].text, e->u.str.parts[i].len);
        at += e->u.str.parts[i].len;
    }
    s->data[total] = '\0';
    *out = val_str(s);
    return true;
}

/* The value of an expression known at compile time; false when it has to be
 * computed at run time (or folding reported an error). */
static bool fold(Cg *cg, const Expr *e, Value *out)
{
    if (!e || !e->is_const || !type_of(cg, e) || type_of(cg, e)->kind == TY_ERROR) return false;
    if (++cg->fold_depth > 200) {
        cg->fold_depth--;
        return false;
    }
    bool ok = false;
    ValTag tag = tag_of(type_of(cg, e));
    switch (e->kind) {
    case E_BOOL: *out = val_bool(e->u.b); ok = true; break;
    case E_INT: case E_BYTES: case E_DURATION: case E_TIME: *out = val_integral(tag, e->u.i); ok = true; break;
    case E_FLOAT: case E_PERCENT: *out = val_real(tag, e->u.f); ok = true; break;
    case E_STRING: ok = fold_string(cg, e, out); break;
    case E_LIST: ok = fold_list(cg, e, out); break;
    case E_RECORD: ok = fold_record(cg, e, out); break;
    case E_NAME:
        ok = e->name_kind == NAME_CONST && fold(cg, ast_name_decl(cg->prog, e)->u.konst.value, out);
        /* a const's list keeps the list type of its use (list<email> and list<string> are one at run time) */
        break;
    case E_FIELD:
        if (fold(cg, e->u.field.obj, out) && out->tag == VAL_RECORD && e->u.field.index < (int)out->as.r->len) {
            *out = out->as.r->values[e->u.field.index];
            ok = true;
        }
        break;
    case E_UNARY: {
        Value v;
        if (!fold(cg, e->u.unary.operand, &v)) break;
        if (e->op == OPR_NOT) {
            *out = val_bool(!v.as.b);
            ok = true;
        } else if (val_is_integral((ValTag)v.tag)) {
            if (v.as.i == INT64_MIN) ok = fold_overflow(cg, e);
            else { *out = val_integral((ValTag)v.tag, -v.as.i); ok = true; }
        } else {
            *out = val_real((ValTag)v.tag, -v.as.f);
            ok = true;
        }
        break;
    }
    case E_BINARY:
        switch (e->op) {
        case OPR_ADD: case OPR_SUB: case OPR_MUL: case OPR_DIV: case OPR_MOD: case OPR_OF:
            ok = fold_binary(cg, e, out);
            break;
        default:
            break;
        }
        break;
    default:
        break;
    }
    cg->fold_depth--;
    return ok;
}

/* ============================================================ expressions */

static void expr_to(Cg *cg, Func *fn, Expr *e, int dst);

/* The register holding e's value: a local's own register, or a new temporary. */
static int expr_reg(Cg *cg, Func *fn, Expr *e)
{
    if (e->kind == E_NAME && e->name_kind == NAME_LOCAL) return e->u.name.slot;
    int reg = alloc_reg(cg, fn);
    expr_to(cg, fn, e, reg);
    return reg;
}

/* Computes the expressions into consecutive new registers; returns the first. */
static int exprs_to_range(Cg *cg, Func *fn, Expr **items, int n)
{
    int base = alloc_regs(cg, fn, n);
    for (int i = 0; i < n; i++) expr_to(cg, fn, items[i], base + i);
    return base;
}

static uint32_t input_index(Cg *cg, Decl *input)
{
    for (uint32_t i = 0; i < cg->art->ninputs; i++)
        if (cg->inputs[i] == input) return i;
    uint32_t n = cg->art->ninputs, cap = n;
    if (n == 0 || (n & (n - 1)) == 0) {
        cap = n ? n * 2 : 4;
        cg->inputs = realloc(cg->inputs, cap * sizeof *cg->inputs);
        if (!cg->inputs) out_of_memory();
    }
    cg->inputs[n] = input;
    cg->art->ninputs = n + 1;
    return n;
}

static uint32_t import_index(Cg *cg, Decl *sub)
{
    for (uint32_t i = 0; i < cg->art->nimports; i++)
        if (cg->imports[i] == sub) return i;
    uint32_t n = cg->art->nimports;
    if (n == 0 || (n & (n - 1)) == 0) {
        cg->imports = realloc(cg->imports, (n ? n * 2 : 4) * sizeof *cg->imports);
        if (!cg->imports) out_of_memory();
    }
    cg->imports[n] = sub;
    cg->art->nimports = n + 1;
    return n;
}

static void load_const(Cg *cg, Func *fn, Value v, int dst)
{
    if (v.tag == VAL_BOOL) emit_abc(cg, fn, OP_LOADB, dst, v.as.b, 0);
    else emit_abx(cg, fn, OP_LOADK, dst, add_const(cg, v));
}

static void string_to(Cg *cg, Func *fn, Expr *e, int dst)
{
    int n = e->u.str.nparts;
    int mark = fn->free_reg;
    int base = alloc_regs(cg, fn, n);
    for (int i = 0; i < n; i++) {
        StrPart *p = &e->u.str.parts[i];
        if (p->is_expr) expr_to(cg, fn, p->expr, base + i);
        else load_const(cg, fn, val_str(make_str(cg, p->text, p->len)), base + i);
    }
    emit_abc(cg, fn, OP_CONCAT, dst, base, n);
    fn->free_reg = mark;
}

static void logic_to(Cg *cg, Func *fn, Expr *e, int dst)
{
    /* a and b: dst = a; if not dst skip b; dst = b */
    expr_to(cg, fn, e->u.binary.left, dst);
    uint32_t jump = emit_jump(cg, fn, e->op == OPR_AND ? OP_JMPF : OP_JMPT, dst);
    expr_to(cg, fn, e->u.binary.right, dst);
    patch_jump(cg, fn, jump, fn->n);
}

static Opcode arith_opcode(OpKind op, const Type *l, const Type *r, const Type *result, bool *swap)
{
    *swap = false;
    bool li = ty_is_integral(l), ri = ty_is_integral(r);
    if (li && ri) {
        switch (op) {
        case OPR_ADD: return OP_ADDI;
        case OPR_SUB: return OP_SUBI;
        case OPR_MUL: return OP_MULI;
        case OPR_DIV: return result->kind == TY_FLOAT ? OP_DIVF : OP_DIVI;
        default: return OP_MODI;
        }
    }
    /* an integral unit with a float: the result keeps the unit, rounded */
    if (ty_is_integral(result) && (op == OPR_MUL || op == OPR_DIV)) {
        if (op == OPR_MUL && !li) *swap = true;
        return op == OPR_MUL ? OP_MULR : OP_DIVR;
    }
    switch (op) {
    case OPR_ADD: return OP_ADDF;
    case OPR_SUB: return OP_SUBF;
    case OPR_MUL: return OP_MULF;
    case OPR_DIV: return OP_DIVF;
    default: return OP_MODF;
    }
}

static void binary_to(Cg *cg, Func *fn, Expr *e, int dst)
{
    OpKind op = e->op;
    Expr *le = e->u.binary.left, *re = e->u.binary.right;
    if (op == OPR_AND || op == OPR_OR) {
        logic_to(cg, fn, e, dst);
        return;
    }
    int mark = fn->free_reg;
    if (op == OPR_ADD && type_of(cg, e)->kind == TY_STRING) {
        Expr *parts[2] = { le, re };
        int base = exprs_to_range(cg, fn, parts, 2);
        emit_abc(cg, fn, OP_CONCAT, dst, base, 2);
        fn->free_reg = mark;
        return;
    }
    int l = expr_reg(cg, fn, le), r = expr_reg(cg, fn, re);
    switch (op) {
    case OPR_EQ: emit_abc(cg, fn, OP_EQ, dst, l, r); break;
    case OPR_NE: emit_abc(cg, fn, OP_NE, dst, l, r); break;
    case OPR_LT: emit_abc(cg, fn, OP_LT, dst, l, r); break;
    case OPR_LE: emit_abc(cg, fn, OP_LE, dst, l, r); break;
    case OPR_GT: emit_abc(cg, fn, OP_LT, dst, r, l); break;
    case OPR_GE: emit_abc(cg, fn, OP_LE, dst, r, l); break;
    case OPR_IN: emit_abc(cg, fn, OP_IN, dst, l, r); break;
    case OPR_OF: emit_abc(cg, fn, OP_OF, dst, l, r); break;
    default: {
        bool swap;
        Opcode opcode = arith_opcode(op, type_of(cg, le), type_of(cg, re), type_of(cg, e), &swap);
        emit_abc(cg, fn, opcode, dst, swap ? r : l, swap ? l : r);
        break;
    }
    }
    fn->free_reg = mark;
}

static void call_to(Cg *cg, Func *fn, Expr *e, int dst)
{
    int mark = fn->free_reg;
    int n = e->u.call.nargs;
    int base = exprs_to_range(cg, fn, e->u.call.args, n);
    if (n == 0) base = alloc_regs(cg, fn, 1);   /* the result lands at base */
    if (e->call_kind == CALL_BUILTIN)
        emit_abc(cg, fn, OP_CALLB, base, e->u.call.builtin, n);
    else
        emit_abc(cg, fn, OP_CALL, base, (int)(cg->nfunctions + import_index(cg, e->u.call.sub)), n);
    if (dst != base) emit_abc(cg, fn, OP_MOVE, dst, base, 0);
    fn->free_reg = mark;
}

static void expr_code(Cg *cg, Func *fn, Expr *e, int dst);

/* Each instruction carries the line of the expression it computes, so that
 * a run-time error in a multi-line email names the line of its field. */
static void expr_to(Cg *cg, Func *fn, Expr *e, int dst)
{
    uint32_t outer = cg->line;
    set_line(cg, e->span);
    expr_code(cg, fn, e, dst);
    cg->line = outer;
}

static void expr_code(Cg *cg, Func *fn, Expr *e, int dst)
{
    Value v;
    if (e->is_const && fold(cg, e, &v)) {
        load_const(cg, fn, v, dst);
        return;
    }
    int mark = fn->free_reg;
    switch (e->kind) {
    case E_STRING:
        string_to(cg, fn, e, dst);
        break;
    case E_LIST: {
        int base = exprs_to_range(cg, fn, e->u.list.items, e->u.list.n);
        emit_abc(cg, fn, OP_LIST, dst, base, e->u.list.n);
        break;
    }
    case E_RECORD: {
        int n = e->u.rec.n;
        int base = alloc_regs(cg, fn, n);
        for (int i = 0; i < n; i++) expr_to(cg, fn, e->u.rec.fields[i].value, base + i);
        VList *keys = arena_alloc(cg->arena, sizeof *keys + (size_t)n * sizeof(Value));
        if (!keys) out_of_memory();
        keys->len = (uint32_t)n;
        const VStr *const *names = record_keys(cg, e);
        for (int i = 0; i < n; i++) keys->items[i] = val_str(names[i]);
        emit_abc(cg, fn, OP_RECORD, dst, base, n);
        emit_abx(cg, fn, OP_EXTRA, 0, add_const(cg, val_list(keys)));
        break;
    }
    case E_NAME:
        switch (e->name_kind) {
        case NAME_LOCAL:
            if (e->u.name.slot != dst) emit_abc(cg, fn, OP_MOVE, dst, e->u.name.slot, 0);
            break;
        case NAME_INPUT:
            emit_abx(cg, fn, OP_INPUT, dst, input_index(cg, ast_name_decl(cg->prog, e)));
            break;
        case NAME_CONST:
            expr_to(cg, fn, ast_name_decl(cg->prog, e)->u.konst.value, dst);
            break;
        case NAME_NOW:
            emit_abc(cg, fn, OP_CTX, dst, CTX_NOW, 0);
            break;
        default:
            emit_abc(cg, fn, OP_LOADNIL, dst, 0, 0);
            break;
        }
        break;
    case E_FIELD: {
        Expr *obj = e->u.field.obj;
        NameKind base = obj->kind == E_NAME && type_of(cg, obj) == &ty_void ? obj->name_kind : NAME_UNRESOLVED;
        if (base == NAME_EVENT) emit_abc(cg, fn, OP_EVENT, dst, e->u.field.index, 0);
        else if (base == NAME_SIM) emit_abc(cg, fn, OP_SIM, dst, e->u.field.index, 0);
        else if (base == NAME_FLOW || base == NAME_RUN) emit_abc(cg, fn, OP_CTX, dst, e->u.field.index, 0);
        else emit_abc(cg, fn, OP_GETFIELD, dst, expr_reg(cg, fn, obj), e->u.field.index);
        break;
    }
    case E_INDEX: {
        int obj = expr_reg(cg, fn, e->u.index.obj);
        int idx = expr_reg(cg, fn, e->u.index.index);
        emit_abc(cg, fn, OP_INDEX, dst, obj, idx);
        break;
    }
    case E_CALL:
        call_to(cg, fn, e, dst);
        break;
    case E_UNARY: {
        int r = expr_reg(cg, fn, e->u.unary.operand);
        Opcode op = e->op == OPR_NOT ? OP_NOT : ty_is_integral(type_of(cg, e)) ? OP_NEGI : OP_NEGF;
        emit_abc(cg, fn, op, dst, r, 0);
        break;
    }
    case E_BINARY:
        binary_to(cg, fn, e, dst);
        break;
    default:
        /* literals always fold; reaching here means folding reported an error */
        emit_abc(cg, fn, OP_LOADNIL, dst, 0, 0);
        break;
    }
    fn->free_reg = mark;
}

/* ============================================================ statements */

static void block(Cg *cg, Func *fn, const Block *b);

static void email_stmt(Cg *cg, Func *fn, Stmt *s)
{
    int mark = fn->free_reg;
    int base = alloc_regs(cg, fn, 1 + EMAIL_NFIELDS);
    Expr *to = s->u.email.recipients;
    if (type_of(cg, to)->kind == TY_LIST) {
        expr_to(cg, fn, to, base);
    } else {
        expr_to(cg, fn, to, base + 1);
        emit_abc(cg, fn, OP_LIST, base, base + 1, 1);
    }
    for (int f = 0; f < EMAIL_NFIELDS; f++) {
        int reg = base + 1 + f;
        EmailItem *item = NULL;
        for (int i = 0; i < s->u.email.nitems; i++)
            if ((int)s->u.email.items[i].field == f) item = &s->u.email.items[i];
        if (!item) {
            emit_abc(cg, fn, OP_LOADNIL, reg, 0, 0);
        } else if ((f == EMAIL_CC || f == EMAIL_BCC) && type_of(cg, item->value)->kind != TY_LIST) {
            int one = alloc_reg(cg, fn);
            expr_to(cg, fn, item->value, one);
            emit_abc(cg, fn, OP_LIST, reg, one, 1);
        } else {
            expr_to(cg, fn, item->value, reg);
        }
    }
    set_line(cg, s->span);
    emit_abc(cg, fn, OP_ACT, base, ACT_EMAIL, 1 + EMAIL_NFIELDS);
    fn->free_reg = mark;
}

static void stmt(Cg *cg, Func *fn, Stmt *s)
{
    set_line(cg, s->span);
    int mark = fn->free_reg;
    switch (s->kind) {
    case S_LET:
        expr_to(cg, fn, s->u.let.value, s->u.let.slot);
        break;
    case S_ASSIGN:
        expr_to(cg, fn, s->u.assign.value, s->u.assign.slot);
        break;
    case S_IF: {
        int cond = expr_reg(cg, fn, s->u.if_.cond);
        uint32_t to_else = emit_jump(cg, fn, OP_JMPF, cond);
        fn->free_reg = mark;
        block(cg, fn, &s->u.if_.then);
        if (s->u.if_.has_else) {
            uint32_t to_end = emit_jump(cg, fn, OP_JMP, 0);
            patch_jump(cg, fn, to_else, fn->n);
            block(cg, fn, &s->u.if_.otherwise);
            patch_jump(cg, fn, to_end, fn->n);
        } else {
            patch_jump(cg, fn, to_else, fn->n);
        }
        break;
    }
    case S_FOR: {
        int base = s->u.for_.slot;   /* the list, the counter, the variable */
        expr_to(cg, fn, s->u.for_.list, base);
        uint32_t prep = emit_jump(cg, fn, OP_FORPREP, base);
        uint32_t body = fn->n;
        block(cg, fn, &s->u.for_.body);
        set_line(cg, s->span);
        patch_jump(cg, fn, prep, fn->n);
        uint32_t loop = emit_jump(cg, fn, OP_FORLOOP, base);
        patch_jump(cg, fn, loop, body);
        break;
    }
    case S_RETURN:
        if (s->u.ret.value) emit_abc(cg, fn, OP_RET, expr_reg(cg, fn, s->u.ret.value), 1, 0);
        else emit_abc(cg, fn, OP_RET, 0, 0, 0);
        break;
    case S_STOP:
        emit_abc(cg, fn, OP_STOP, 0, 0, 0);
        break;
    case S_LOG:
        emit_abc(cg, fn, OP_LOG, expr_reg(cg, fn, s->u.log.message), 0, 0);
        break;
    case S_CALL:
        call_to(cg, fn, s->u.call.call, alloc_reg(cg, fn));
        break;
    case S_WAIT:
        emit_abc(cg, fn, OP_WAIT, expr_reg(cg, fn, s->u.wait.duration), 0, 0);
        break;
    case S_EMAIL:
        email_stmt(cg, fn, s);
        break;
    case S_WEBHOOK: {
        int base = alloc_regs(cg, fn, 2);
        expr_to(cg, fn, s->u.webhook.url, base);
        if (s->u.webhook.params) expr_to(cg, fn, s->u.webhook.params, base + 1);
        else emit_abc(cg, fn, OP_LOADNIL, base + 1, 0, 0);
        set_line(cg, s->span);
        emit_abc(cg, fn, OP_ACT, base, ACT_WEBHOOK, 2);
        break;
    }
    case S_SIMOP: {
        int base = alloc_regs(cg, fn, s->u.simop.arg ? 1 : 0);
        if (s->u.simop.arg) expr_to(cg, fn, s->u.simop.arg, base);
        emit_abc(cg, fn, OP_ACT, base, s->u.simop.action, s->u.simop.arg ? 1 : 0);
        break;
    }
    }
    fn->free_reg = mark;
}

static void block(Cg *cg, Func *fn, const Block *b)
{
    for (int i = 0; i < b->n; i++) stmt(cg, fn, b->items[i]);
}

static bool ends_in_terminator(const Func *fn)
{
    if (fn->n == 0) return false;
    Opcode op = INS_OP(fn->code[fn->n - 1]);
    return op == OP_RET || op == OP_STOP || op == OP_JMP;
}

/* ============================================================ functions */

static void func_init(Func *fn, int nlocals)
{
    memset(fn, 0, sizeof *fn);
    fn->free_reg = fn->max_reg = nlocals;
}

static void func_finish(Cg *cg, Func *fn, ArtFunction *out, const char *name, int nparams, Span end)
{
    if (!ends_in_terminator(fn)) {
        set_line(cg, end);
        emit_abc(cg, fn, OP_RET, 0, 0, 0);
    }
    if (fn->max_reg == 0) fn->max_reg = 1;
    out->name = name;
    out->nparams = (uint8_t)nparams;
    out->nregs = (uint8_t)(fn->max_reg > 255 ? 255 : fn->max_reg);
    out->ncode = fn->n;
    out->code = fn->code;
    out->lines = fn->lines;
}

/* A function returning one expression (when, rearm, on date). */
static void expr_function(Cg *cg, Expr *e, ArtFunction *out, const char *name)
{
    Func fn;
    func_init(&fn, 0);
    set_line(cg, e->span);
    int reg = expr_reg(cg, &fn, e);
    emit_abc(cg, &fn, OP_RET, reg, 1, 0);
    func_finish(cg, &fn, out, name, 0, e->span);
}

static void body_function(Cg *cg, const Block *body, int nslots, int nparams, ArtFunction *out, const char *name)
{
    Func fn;
    func_init(&fn, nslots);
    block(cg, &fn, body);
    Span end = body->span;
    end.off = end.len ? end.off + end.len - 1 : end.off;
    end.len = 1;
    func_finish(cg, &fn, out, name, nparams, end);
}

/* ============================================================ metadata */

static const char *arena_text(Cg *cg, const char *text)
{
    char *copy = arena_strndup(cg->arena, text, strlen(text));
    if (!copy) out_of_memory();
    return copy;
}

static bool fold_integral(Cg *cg, Expr *e, int64_t *out)
{
    Value v;
    if (!e || !fold(cg, e, &v) || !val_is_integral((ValTag)v.tag)) return false;
    *out = v.as.i;
    return true;
}

static const char *fold_text(Cg *cg, Expr *e)
{
    Value v;
    if (!e || !fold(cg, e, &v) || v.tag != VAL_STR) return "";
    return v.as.s->data;
}

static char *signature_of(const Decl *sub)
{
    char buf[1024];
    size_t used = (size_t)snprintf(buf, sizeof buf, "(");
    for (int i = 0; i < sub->u.sub.nparams && used < sizeof buf; i++) {
        char t[160];
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "",
                                 ty_name(sub->u.sub.params[i].resolved, t, sizeof t));
    }
    char r[160];
    if (used < sizeof buf)
        snprintf(buf + used, sizeof buf - used, ") -> %s",
                 sub->u.sub.resolved_ret ? ty_name(sub->u.sub.resolved_ret, r, sizeof r) : "nothing");
    return strdup(buf);
}

static void source_info(Cg *cg, Decl *d)
{
    SourceFile *file = &cg->prog->sources->files[d->span.file];
    unsigned int digest_len = 0;
    EVP_Digest(file->text, file->len, cg->art->source_sha256, &digest_len, EVP_sha256(), NULL);
    const char *slash = strrchr(file->path, '/');
    cg->art->source_name = arena_text(cg, slash ? slash + 1 : file->path);
    /* the declaration's text from the start of its first line */
    uint32_t start = d->span.off;
    while (start > 0 && file->text[start - 1] != '\n') start--;
    uint32_t end = d->span.off + d->span.len;
    char *text = arena_strndup(cg->arena, file->text + start, end - start);
    if (!text) out_of_memory();
    cg->art->source_text = text;
    uint32_t line, col;
    src_position(cg->prog->sources, d->span.file, start, &line, &col);
    cg->art->source_first_line = line;
}

static void flow_metadata(Cg *cg, Decl *d)
{
    Artifact *art = cg->art;
    Clause **by = d->u.flow.by_kind;
    art->kind = ART_FLOW;
    art->title = by[C_TITLE] ? arena_text(cg, fold_text(cg, by[C_TITLE]->u.title)) : "";
    art->event = d->u.flow.event ? d->u.flow.event->name : "";
    art->at_minutes = by[C_ON] && by[C_ON]->u.on.date ? by[C_ON]->u.on.at_minutes : -1;
    art->cron = by[C_ON] && by[C_ON]->u.on.cron ? arena_text(cg, fold_text(cg, by[C_ON]->u.on.cron)) : "";
    art->scope = ART_SCOPE_ALL;
    if (by[C_SCOPE]) {
        static const ArtScopeKind kinds[] = { [SCOPE_ALL] = ART_SCOPE_ALL, [SCOPE_ICCIDS] = ART_SCOPE_ICCIDS,
                                              [SCOPE_ICCIDS_FILE] = ART_SCOPE_ICCIDS, [SCOPE_TAGS] = ART_SCOPE_TAGS,
                                              [SCOPE_PACKAGE] = ART_SCOPE_PACKAGE, [SCOPE_POOL] = ART_SCOPE_POOL };
        art->scope = kinds[by[C_SCOPE]->u.scope.kind];
        art->scope_items = by[C_SCOPE]->u.scope.items;
        art->nscope_items = (uint32_t)by[C_SCOPE]->u.scope.nitems;
    }
    art->repeat = ART_REPEAT_EDGE;
    if (by[C_REPEAT]) {
        if (by[C_REPEAT]->u.repeat.every_event) art->repeat = ART_REPEAT_EVERY;
        else if (fold_integral(cg, by[C_REPEAT]->u.repeat.after, &art->repeat_after)) art->repeat = ART_REPEAT_AFTER;
    }
    if (by[C_ACTIVE]) {
        art->has_active_from = fold_integral(cg, by[C_ACTIVE]->u.active.from, &art->active_from);
        art->has_active_until = fold_integral(cg, by[C_ACTIVE]->u.active.until, &art->active_until);
        fold_integral(cg, by[C_ACTIVE]->u.active.for_, &art->active_for);
        if (art->has_active_from && art->active_for) {
            art->active_until = art->active_from + art->active_for;
            art->has_active_until = true;
        }
    }
}

static void input_table(Cg *cg)
{
    Artifact *art = cg->art;
    art->inputs = arena_alloc(cg->arena, (art->ninputs ? art->ninputs : 1) * sizeof *art->inputs);
    if (!art->inputs) out_of_memory();
    for (uint32_t i = 0; i < art->ninputs; i++) {
        Decl *in = cg->inputs[i];
        char type[160];
        art->inputs[i].name = in->name.text;
        art->inputs[i].type = arena_text(cg, ty_name(in->u.input.resolved, type, sizeof type));
        if (in->u.input.dflt) {
            Value v;
            if (fold(cg, in->u.input.dflt, &v)) {
                art->inputs[i].has_default = true;
                art->inputs[i].dflt = v;
            } else {
                diag_add(cg->diags, DIAG_ERROR, in->u.input.dflt->span,
                         "the default of input '%s' cannot be computed at compile time", in->name.text);
            }
        }
    }
}

static void import_table(Cg *cg)
{
    Artifact *art = cg->art;
    art->imports = arena_alloc(cg->arena, (art->nimports ? art->nimports : 1) * sizeof *art->imports);
    if (!art->imports) out_of_memory();
    for (uint32_t i = 0; i < art->nimports; i++) {
        char *sig = signature_of(cg->imports[i]);
        if (!sig) out_of_memory();
        art->imports[i].name = cg->imports[i]->name.text;
        art->imports[i].signature = arena_text(cg, sig);
        free(sig);
    }
}

/* ============================================================ artifacts */

static const SubInfo *sub_info(const Cg *cg, const Decl *sub)
{
    for (int i = 0; i < cg->nsubs; i++)
        if (cg->subs[i].sub == sub) return &cg->subs[i];
    return NULL;
}

/* Adds to the flow's input table every input its subs read, transitively:
 * each sub once (subs may call each other in a cycle). */
static void declare_sub_inputs(Cg *cg)
{
    const SubInfo **pending = calloc((size_t)cg->nsubs + 1, sizeof *pending);
    bool *seen = calloc((size_t)cg->nsubs + 1, sizeof *seen);
    if (!pending || !seen) out_of_memory();
    int npending = 0;
    for (uint32_t i = 0; i < cg->art->nimports; i++) {
        const SubInfo *info = sub_info(cg, cg->imports[i]);
        if (info && !seen[info - cg->subs]) seen[info - cg->subs] = true, pending[npending++] = info;
    }
    while (npending > 0) {
        const SubInfo *info = pending[--npending];
        for (uint32_t i = 0; i < info->ninputs; i++) input_index(cg, info->inputs[i]);
        for (uint32_t i = 0; i < info->nimports; i++) {
            const SubInfo *callee = sub_info(cg, info->imports[i]);
            if (callee && !seen[callee - cg->subs]) seen[callee - cg->subs] = true, pending[npending++] = callee;
        }
    }
    free(pending);
    free(seen);
}

static int compile_decl(Cg *cg, Decl *d, CgArtifact *out)
{
    Artifact art;
    memset(&art, 0, sizeof art);
    arena_init(&art.arena, 0);
    cg->art = &art;
    cg->arena = &art.arena;
    cg->decl = d;
    cg->nconsts = 0;
    cg->inputs = NULL;
    cg->imports = NULL;
    free(cg->const_index);
    cg->const_index = NULL;
    cg->const_index_cap = 0;
    unsigned errors_before = cg->diags->errors;

    snprintf(art.compiler_version, sizeof art.compiler_version, "%s", CG_COMPILER_VERSION);
    art.name = d->name.text;
    art.title = "";
    art.event = "";
    art.cron = "";
    art.at_minutes = -1;
    art.fn_do = art.fn_when = art.fn_rearm = art.fn_date = art.fn_sub = -1;
    source_info(cg, d);

    ArtFunction functions[4];
    memset(functions, 0, sizeof functions);
    uint32_t nfn = 0;
    if (d->kind == D_FLOW) {
        Clause **by = d->u.flow.by_kind;
        flow_metadata(cg, d);
        cg->nfunctions = 1 + (by[C_WHEN] != NULL) + (by[C_REARM] != NULL) + (by[C_ON] && by[C_ON]->u.on.date);
        art.fn_do = (int32_t)nfn;
        body_function(cg, &by[C_DO]->u.body, d->nslots, 0, &functions[nfn++], "do");
        if (by[C_WHEN]) {
            art.fn_when = (int32_t)nfn;
            expr_function(cg, by[C_WHEN]->u.when, &functions[nfn++], "when");
        }
        if (by[C_REARM]) {
            art.fn_rearm = (int32_t)nfn;
            expr_function(cg, by[C_REARM]->u.rearm, &functions[nfn++], "rearm");
        }
        if (by[C_ON] && by[C_ON]->u.on.date) {
            art.fn_date = (int32_t)nfn;
            expr_function(cg, by[C_ON]->u.on.date, &functions[nfn++], "date");
        }
    } else {
        art.kind = ART_SUB;
        cg->nfunctions = 1;
        char *sig = signature_of(d);
        if (!sig) out_of_memory();
        art.signature = arena_text(cg, sig);
        free(sig);
        art.fn_sub = 0;
        body_function(cg, &d->u.sub.body, d->nslots, d->u.sub.nparams, &functions[nfn++], d->name.text);
    }
    art.functions = functions;
    art.nfunctions = nfn;
    if (d->kind == D_FLOW) declare_sub_inputs(cg);
    input_table(cg);
    import_table(cg);
    art.constants = cg->consts;
    art.nconstants = cg->nconsts > ART_MAX_CONSTANTS ? ART_MAX_CONSTANTS : cg->nconsts;

    int rc = 0;
    if (cg->diags->errors == errors_before) {
        char err[256];
        out->name = strdup(d->name.text);
        out->is_sub = d->kind == D_SUB;
        if (!out->name || art_encode(&art, &out->bytes, &out->len, err, sizeof err) != 0) {
            diag_add(cg->diags, DIAG_ERROR, d->name.span, "cannot encode '%s': %s", d->name.text, err);
            free(out->name);
            out->name = NULL;
            rc = -1;
        }
    } else {
        rc = -1;
    }
    for (uint32_t i = 0; i < nfn; i++) {
        free(functions[i].code);
        free(functions[i].lines);
    }
    if (d->kind == D_SUB) {
        SubInfo *info = &cg->subs[cg->nsubs++];
        *info = (SubInfo){ d, cg->inputs, cg->imports, art.ninputs, art.nimports };
        cg->inputs = cg->imports = NULL;
    }
    free(cg->inputs);
    free(cg->imports);
    arena_free(&art.arena);
    return rc;
}

static int by_order(const void *a, const void *b)
{
    return ((const CgArtifact *)a)->order - ((const CgArtifact *)b)->order;
}

int cg_program(Program *prog, DiagSink *diags, CgArtifact **out, int *count)
{
    Cg cg = { .prog = prog, .diags = diags, .errors_at_start = diags->errors };
    CgArtifact *artifacts = calloc((size_t)(prog->ndecls ? prog->ndecls : 1), sizeof *artifacts);
    if (!artifacts) out_of_memory();
    cg.subs = calloc((size_t)(prog->ndecls ? prog->ndecls : 1), sizeof *cg.subs);
    if (!cg.subs) out_of_memory();
    /* subs first, so that flows know what their subs read; artifacts keep declaration order */
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < prog->ndecls; i++) {
            Decl *d = prog->decls[i];
            if (d->kind != (pass == 0 ? D_SUB : D_FLOW)) continue;
            if (compile_decl(&cg, d, &artifacts[n]) == 0) {
                artifacts[n].order = i;
                n++;
            }
        }
    qsort(artifacts, (size_t)n, sizeof *artifacts, by_order);
    for (int i = 0; i < cg.nsubs; i++) {
        free(cg.subs[i].inputs);
        free(cg.subs[i].imports);
    }
    free(cg.subs);
    free(cg.consts);
    free(cg.const_index);
    *out = artifacts;
    *count = n;
    return (int)(diags->errors - cg.errors_at_start);
}

void cg_free(CgArtifact *artifacts, int count)
{
    for (int i = 0; i < count; i++) {
        free(artifacts[i].name);
        free(artifacts[i].bytes);
    }
    free(artifacts);
}

/* ============================================================ test expressions
 *
 * For `flowc test` (lang/cmd_test.c), apart from the artifacts above: the
 * values of test steps, folded, and `expect EXPR` compiled into a small flow
 * artifact whose `when` function is the expression and whose `do` is empty.
 * The runtime runs that function with the test world's `sim` and `now`.
 */

bool cg_fold_value(Program *prog, Expr *e, Arena *arena, Value *out)
{
    DiagSink diags;
    diag_init(&diags, prog->sources);
    Cg cg = { .prog = prog, .diags = &diags, .arena = arena };
    bool ok = e && fold(&cg, e, out);
    diag_free(&diags);
    return ok;
}

int cg_test_expr(Program *prog, Expr *e, DiagSink *diags, CgArtifact *out)
{
    Artifact art;
    memset(&art, 0, sizeof art);
    memset(out, 0, sizeof *out);
    arena_init(&art.arena, 0);
    Cg cg = { .prog = prog, .diags = diags, .errors_at_start = diags->errors, .art = &art, .arena = &art.arena };
    snprintf(art.compiler_version, sizeof art.compiler_version, "%s", CG_COMPILER_VERSION);
    SourceFile *file = &prog->sources->files[e->span.file];
    unsigned int digest_len = 0;
    EVP_Digest(file->text, file->len, art.source_sha256, &digest_len, EVP_sha256(), NULL);
    const char *slash = strrchr(file->path, '/');
    art.source_name = slash ? slash + 1 : file->path;
    art.source_text = "";
    uint32_t line, col;
    src_position(prog->sources, e->span.file, e->span.off, &line, &col);
    art.source_first_line = line;
    art.kind = ART_FLOW;
    art.name = "expect";
    art.title = "";
    art.event = "sms.mo";   /* any event about one SIM: the expression reads `sim` */
    art.cron = "";
    art.at_minutes = -1;
    art.scope = ART_SCOPE_ALL;
    art.fn_rearm = art.fn_date = art.fn_sub = -1;
    art.fn_do = 0;
    art.fn_when = 1;
    cg.nfunctions = 2;
    ArtFunction functions[2];
    memset(functions, 0, sizeof functions);
    Func empty;
    func_init(&empty, 0);
    set_line(&cg, e->span);
    func_finish(&cg, &empty, &functions[0], "do", 0, e->span);
    expr_function(&cg, e, &functions[1], "when");
    art.functions = functions;
    art.nfunctions = 2;
    input_table(&cg);
    import_table(&cg);
    art.constants = cg.consts;
    art.nconstants = cg.nconsts > ART_MAX_CONSTANTS ? ART_MAX_CONSTANTS : cg.nconsts;
    int rc = -1;
    if (diags->errors == cg.errors_at_start) {
        char err[256];
        out->name = strdup("expect");
        if (out->name && art_encode(&art, &out->bytes, &out->len, err, sizeof err) == 0) rc = 0;
        else diag_add(diags, DIAG_ERROR, e->span, "cannot encode the expectation: %s", err);
    }
    for (int i = 0; i < 2; i++) {
        free(functions[i].code);
        free(functions[i].lines);
    }
    free(cg.inputs);
    free(cg.imports);
    free(cg.consts);
    free(cg.const_index);
    arena_free(&art.arena);
    return rc;
}
