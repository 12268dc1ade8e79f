/*
 * ast.h - the syntax tree of a Flow project, and its builders.
 *
 * The parser (grammar.y) calls only the ast_* builders below; the checker
 * (check.c) fills the annotation fields marked "checker:"; the compiler
 * (compile.c) reads both.  Every node lives in the Program's arena and
 * carries the span of source it came from.
 */
#ifndef FLOW_AST_H
#define FLOW_AST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stdlib/arena.h"
#include "../stdlib/catalog.h"
#include "../stdlib/types.h"
#include "source.h"

typedef struct Expr Expr;
typedef struct Stmt Stmt;
typedef struct Decl Decl;

/* A list of node pointers while the parser builds it: its items sit on the
 * program's scratch stack (Program.scratch) from `base` on, until the
 * builder that takes the list copies them, exactly sized, into the arena.
 * Lists nest as the grammar does, so the stack holds the items of every list
 * being built, inner ones above outer ones.  The grammar starts a list as
 * (AstVec){0}. */
typedef struct AstVec {
    uint32_t base;
    int n;
} AstVec;

/* A name as written, with where it was written. */
typedef struct Ident {
    const char *text;    /* NUL-terminated, in the arena */
    Span span;
    uint32_t name;       /* ast_ident: the number of the text in prog->name_texts;
                            AST_NO_NAME for a text not kept there (ast_ident_text, ast_dotted) */
} Ident;

#define AST_NO_NAME UINT32_MAX

/* ----------------------------------------------------------- expressions */

typedef enum {
    E_BOOL,       /* u.b */
    E_INT,        /* u.i */
    E_FLOAT,      /* u.f */
    E_BYTES,      /* u.i: bytes */
    E_PERCENT,    /* u.f: 80% is 80.0 */
    E_DURATION,   /* u.i: seconds */
    E_TIME,       /* u.i: seconds since the epoch, UTC */
    E_STRING,     /* u.str: literal parts and ${} expressions */
    E_LIST,       /* u.list */
    E_RECORD,     /* u.rec */
    E_NAME,       /* u.name */
    E_FIELD,      /* u.field: obj.name */
    E_INDEX,      /* u.index: obj[index] */
    E_CALL,       /* u.call: name(args) */
    E_UNARY,      /* u.unary */
    E_BINARY      /* u.binary */
} ExprKind;

/* Operators of the syntax (OPR_, as in Lua; OP_ names are the VM's opcodes). */
typedef enum {
    OPR_OR, OPR_AND, OPR_NOT,
    OPR_EQ, OPR_NE, OPR_LT, OPR_LE, OPR_GT, OPR_GE, OPR_IN,
    OPR_ADD, OPR_SUB, OPR_MUL, OPR_DIV, OPR_MOD, OPR_OF,
    OPR_NEG
} OpKind;

const char *ast_op_text(OpKind op);   /* "and", ">=", "of", "-" ... */

typedef struct StrPart {
    union {
        const char *text;    /* !is_expr: decoded text (escapes applied); NOT NUL-terminated:
                                it points into the source when written as is, else into the arena */
        Expr *expr;          /* is_expr: the ${...} expression */
    };
    uint32_t len;            /* !is_expr: bytes of text (may contain any byte but NUL) */
    bool is_expr;
} StrPart;

typedef struct RecField {
    Ident name;
    Expr *value;
} RecField;

/* checker: what a name refers to */
typedef enum {
    NAME_UNRESOLVED,
    NAME_LOCAL,      /* let, for variable or sub parameter: slot */
    NAME_INPUT,      /* decl is the input */
    NAME_CONST,      /* decl is the const */
    NAME_EVENT,      /* `event` */
    NAME_SIM,        /* `sim` */
    NAME_NOW,        /* `now` */
    NAME_FLOW,       /* `flow` (name, version) */
    NAME_RUN         /* `run` (id) */
} NameKind;

/* checker: what a call calls */
typedef enum { CALL_UNRESOLVED, CALL_BUILTIN, CALL_SUB } CallKind;

/*
 * An Expr is allocated only as large as the member of u its kind uses (as
 * SQLite sizes its Expr nodes): a name or a binary operation does not pay
 * for a call's fields.  So an Expr is never copied by value and never
 * changes its kind; ast_expr_size gives a kind's size.  The header is 16
 * bytes: the few small facts every kind may need share its first 4 (the type
 * is a 16-bit number, see ast_expr_type), since a large project holds
 * hundreds of thousands of expressions and every byte of them is memory the
 * front end must touch.
 */
struct Expr {
    ExprKind kind : 7;
    bool is_const : 1;           /* checker: its value is known at compile time */
    union {                      /* one byte, by kind */
        uint8_t op;              /* E_UNARY, E_BINARY: the OpKind */
        uint8_t name_kind;       /* E_NAME: the NameKind (checker) */
        uint8_t call_kind;       /* E_CALL: the CallKind (checker) */
        bool triple;             /* E_STRING: written """...""" */
    };
    uint16_t type_id;            /* checker: the static type, ast_expr_type; 0 before */
    Span span;
    union {
        bool b;
        int64_t i;
        double f;
        struct { StrPart *parts; int nparts; } str;
        struct { Expr **items; int n; } list;
        struct { RecField *fields; int n; } rec;
        /* Names are numbers (4 bytes, not a pointer's 8): the two most
         * frequent kinds of expression stay at 24 and 32 bytes. */
        struct {
            uint32_t text;       /* ast_name_text; the name's span is the expression's */
            union {
                int slot;        /* checker: NAME_LOCAL */
                uint32_t decl;   /* checker: NAME_INPUT, NAME_CONST: index in prog->decls, ast_name_decl */
            };
        } name;
        struct {
            Expr *obj;
            uint32_t name;       /* ast_field_text; its span ends the expression's (ast_field_name_span) */
            int index;           /* checker: catalog field (event, sim) or record field index */
        } field;
        struct { Expr *obj, *index; } index;
        struct {
            const char *name;    /* interned; its span starts the expression's (ast_call_name_span) */
            Expr **args;
            int nargs;
            union {
                int builtin;     /* checker: CALL_BUILTIN, index into the stdlib table */
                Decl *sub;       /* checker: CALL_SUB */
            };
        } call;
        struct { Expr *operand; } unary;
        struct { Expr *left, *right; } binary;
    } u;
};

/* ------------------------------------------------------------ statements */

typedef struct Block {
    Stmt **items;
    int n;
    Span span;           /* from `{` to `}` */
} Block;

typedef enum {
    S_LET,      /* let name = value */
    S_ASSIGN,   /* name = value */
    S_IF,       /* if cond { then } [else { else_block } | else if ...] */
    S_FOR,      /* for var in list { body } */
    S_RETURN,   /* return [value] */
    S_STOP,     /* stop */
    S_LOG,      /* log "..." */
    S_CALL,     /* name(args) as a statement */
    S_WAIT,     /* wait duration */
    S_EMAIL,    /* email recipients { items } */
    S_WEBHOOK,  /* webhook url [params] */
    S_SIMOP     /* suspend|resume|renew sim, topup sim AMOUNT, tag|untag sim "T" */
} StmtKind;

/* One `subject ...`, `text ...` line of an email block. */
typedef struct EmailItem {
    EmailField field;
    Span keyword;        /* the span of the word `subject`, `text`, ... */
    Expr *value;
} EmailItem;

/* Like an Expr, a Stmt is allocated only as large as the member of u its
 * kind uses (ast_stmt_size): never copied by value, never changes its kind. */
struct Stmt {
    StmtKind kind;
    Span span;
    union {
        struct { Ident name; Expr *value; int slot; /* checker */ } let;
        struct { Ident name; Expr *value; int slot; /* checker */ } assign;
        struct {
            Expr *cond;
            Block then;
            bool has_else;
            Block otherwise;     /* `else if` is an else block holding one S_IF */
        } if_;
        struct { Ident var; Expr *list; Block body; int slot; /* checker */ } for_;
        struct { Expr *value; /* NULL: bare return */ } ret;
        struct { Expr *message; } log;
        struct { Expr *call; /* an E_CALL */ } call;
        struct { Expr *duration; } wait;
        struct { Expr *recipients; EmailItem *items; int nitems; } email;
        struct { Expr *url; Expr *params; /* NULL when absent */ } webhook;
        struct {
            ActionKind action;   /* SUSPEND RESUME TOPUP RENEW TAG UNTAG */
            Span target;         /* the word `sim` */
            Expr *arg;           /* TOPUP: amount; TAG/UNTAG: tag; else NULL */
        } simop;
    } u;
};

/* ---------------------------------------------------------- flow clauses */

typedef enum {
    C_TITLE,    /* title "TEXT" */
    C_ON,       /* on EVENT | on date EXPR [at HH:MM] | on schedule "CRON" */
    C_SCOPE,    /* scope all | iccids [..] | iccids file ".." | tags [..] | package ".." | pool ".." */
    C_WHEN,     /* when EXPR */
    C_REPEAT,   /* repeat every event | repeat after DURATION */
    C_REARM,    /* rearm when EXPR */
    C_ACTIVE,   /* active [from TIME] [until TIME | for DURATION] */
    C_DO        /* do { body } */
} ClauseKind;

typedef enum { SCOPE_ALL, SCOPE_ICCIDS, SCOPE_ICCIDS_FILE, SCOPE_TAGS, SCOPE_PACKAGE, SCOPE_POOL } ScopeKind;

typedef struct Clause {
    ClauseKind kind;
    Span span;           /* the whole clause */
    union {
        Expr *title;
        struct {
            Ident event;         /* "data.usage", "date", "schedule"; span covers the dotted name */
            Expr *date;          /* on date: the time expression */
            int at_minutes;      /* on date: minutes after midnight UTC; -1 when no `at` */
            Span at_span;
            Expr *cron;          /* on schedule: the cron string */
        } on;
        struct {
            ScopeKind kind;
            Span kind_span;
            Expr *value;         /* the list, or the name string, or the file string */
            const char **items;  /* checker: the ICCIDs or tags, or the one package/pool name */
            int nitems;          /* checker */
        } scope;
        Expr *when;
        struct { bool every_event; Expr *after; } repeat;
        Expr *rearm;
        struct { Expr *from, *until, *for_; /* each NULL when absent */ } active;
        Block body;
    } u;
} Clause;

/* ---------------------------------------------------------- test steps */

typedef enum {
    T_SIM,            /* sim { fields } */
    T_SET,            /* set INPUT = VALUE */
    T_EVENT,          /* event TYPE [{ fields }] [for "ICCID"] [at TIME] */
    T_ADVANCE,        /* advance DURATION */
    T_EXPECT_ACTION,  /* expect email to ADDR [subject contains ".."] | expect webhook URL |
                         expect suspend|resume|topup|renew|tag|untag [ICCID] */
    T_EXPECT_TRUE,    /* expect EXPR (a bool over sim, e.g. sim.status == "suspended") */
    T_EXPECT_NOTHING  /* expect nothing */
} StepKind;

typedef struct Step {
    StepKind kind;
    Span span;
    union {
        Expr *sim;                                   /* an E_RECORD */
        struct { Ident input; Expr *value; } set;
        struct { Ident type; Expr *fields; Expr *iccid; Expr *at; } event;  /* fields: E_RECORD or NULL */
        Expr *advance;
        struct {
            ActionKind action;
            Expr *target;            /* email: the address; webhook: the URL; SIM ops: ICCID or NULL */
            Expr *subject_contains;  /* email only; NULL when absent */
        } expect;
        Expr *expect_true;
    } u;
} Step;

/* ------------------------------------------------------- declarations */

typedef enum { D_INPUT, D_CONST, D_FLOW, D_SUB, D_TEST } DeclKind;

/* A type as written: `int`, `list<email>`. */
typedef struct TypeExpr {
    Ident name;
    struct TypeExpr *arg;    /* list<arg>; NULL otherwise */
    Span span;
} TypeExpr;

typedef struct Param {
    Ident name;
    TypeExpr *type;
    const Type *resolved;    /* checker */
} Param;

struct Decl {
    DeclKind kind;
    int index;               /* in prog->decls */
    Span span;               /* the whole declaration */
    Ident name;              /* input, const, flow, sub name; test: its title string */
    union {
        struct {
            TypeExpr *type;
            Expr *dflt;              /* NULL: required at deploy */
            const Type *resolved;    /* checker */
            bool used;               /* checker */
        } input;
        struct { Expr *value; } konst;
        struct {
            Clause *clauses;
            int nclauses;
            Clause *by_kind[C_DO + 1];   /* checker: each clause, or NULL when absent */
            const CatEvent *event;       /* checker: the `on` event type */
        } flow;
        struct {
            Param *params;
            int nparams;
            TypeExpr *ret;           /* NULL: returns nothing */
            Block body;
            const Type *resolved_ret;   /* checker */
            bool needs_sim;             /* checker: reads `sim` or acts on it, itself or through calls */
            bool has_effects;           /* checker: takes actions, logs or waits, itself or through calls */
        } sub;
        struct {
            Step *steps;
            int nsteps;
        } test;
    } u;
    int nslots;              /* checker: locals of the do body or of the sub (params first) */
    int mark;                /* checker: scratch state (const evaluation, recursion search) */
};

/* -------------------------------------------------------------- program */

/* One slot of the table of names: each distinct identifier is kept once. */
typedef struct AstName {
    const char *text;        /* NUL-terminated, in the arena; NULL: free slot */
    uint64_t first;          /* its first 8 bytes (fewer: zeros after them), compared first */
    uint32_t len, hash;
    uint32_t id;             /* its number: prog->name_texts[id] == text */
} AstName;

typedef struct Program {
    Arena arena;
    const Type **types;      /* the types of expressions by Expr.type_id; [0] is NULL */
    uint32_t ntypes, types_cap;
    struct AstTypeSlot *type_ids;   /* open addressing: a type's id, by its address */
    uint32_t type_ids_cap;
    bool types_full;         /* more than 65,535 types: the rest became ty_error */
    SourceSet *sources;
    Decl **decls;            /* in source order, file by file */
    int ndecls, cap;
    AstName *names;          /* open addressing, a power of two of slots, at most half full */
    uint32_t nnames, names_cap;
    const char **name_texts; /* each distinct name by its number (Ident.name) */
    void **scratch;          /* the items of the AstVecs being built */
    uint32_t nscratch, scratch_cap;
    /* A record's fields and an email's items are made one by one, then
     * copied into one array: the copied ones wait here, chained through
     * their value, to be made again. */
    RecField *free_fields;
    EmailItem *free_items;
} Program;

void ast_program_init(Program *prog, SourceSet *sources);
void ast_program_free(Program *prog);
/* The text of an E_NAME, of an E_FIELD's field name; the Decl an E_NAME of
 * kind NAME_INPUT or NAME_CONST refers to. */
static inline const char *ast_name_text(const Program *prog, const Expr *e)
{
    return prog->name_texts[e->u.name.text];
}
static inline const char *ast_field_text(const Program *prog, const Expr *e)
{
    return prog->name_texts[e->u.field.name];
}
static inline Decl *ast_name_decl(const Program *prog, const Expr *e)
{
    return prog->decls[e->u.name.decl];
}

/* The static type of a checked expression; NULL before the checker saw it. */
static inline const Type *ast_expr_type(const Program *prog, const Expr *e)
{
    return prog->types[e->type_id];
}
/* Sets it (the checker).  A type is numbered on first use; the types must
 * outlive the Program (static ones, or in its arena). */
uint16_t ast_type_id(Program *prog, const Type *type);
struct AstTypeSlot {
    const Type *type;        /* NULL: free slot */
    uint32_t id;
};
static inline uint32_t ast_type_slot(const Type *type, uint32_t cap)
{
    return (uint32_t)(((uintptr_t)type >> 3) * 0x9E3779B1u) & (cap - 1);
}
static inline void ast_set_expr_type(Program *prog, Expr *e, const Type *type)
{
    /* the checker sets a type per expression: the usual case, found at its
     * first slot, stays inline */
    const struct AstTypeSlot *slot = &prog->type_ids[ast_type_slot(type, prog->type_ids_cap)];
    e->type_id = slot->type == type && type ? (uint16_t)slot->id : ast_type_id(prog, type);
}

/* Appends a declaration (the parser calls it once per declaration). */
void ast_program_add(Program *prog, Decl *decl);

/* ------------------------------------------------------------ builders */
/*
 * The parser's actions call these and nothing else.  Each returns a node in
 * the program's arena.  Builders never fail: when the arena cannot grow the
 * process reports "out of memory" and exits (the one exit() below main, as
 * there is no way to recover a parse without memory).
 */
Span ast_span_join(Span a, Span b);
/* The text is the one copy of that name in the program (equal names share
 * it), NUL-terminated. */
Ident ast_ident(Program *prog, Span span);
/* The interned copy of a name (of at most 64 bytes), or NULL when the program
 * has no such name; adds nothing. */
const char *ast_name_find(const Program *prog, const char *text);

Expr *ast_expr(Program *prog, ExprKind kind, Span span);   /* sized for kind, zeroed */
size_t ast_expr_size(ExprKind kind);
size_t ast_stmt_size(StmtKind kind);
Expr *ast_binary(Program *prog, OpKind op, Expr *left, Expr *right);
Expr *ast_unary(Program *prog, OpKind op, Expr *operand, Span op_span);
Expr *ast_name(Program *prog, Ident id);
Expr *ast_field(Program *prog, Expr *obj, Ident name);
/* The span of an E_FIELD's name: the last bytes of the expression's span. */
Span ast_field_name_span(const Program *prog, const Expr *field);
/* The span of an E_CALL's name: the first bytes of the expression's span. */
Span ast_call_name_span(const Expr *call);
Expr *ast_index(Program *prog, Expr *obj, Expr *index, Span end);
Expr *ast_call(Program *prog, Ident name, AstVec *args, Span end);
Expr *ast_list(Program *prog, AstVec *items, Span span);
Expr *ast_record(Program *prog, AstVec *fields /* of RecField* */, Span span);
RecField *ast_rec_field(Program *prog, Ident name, Expr *value);

void ast_vec_push(Program *prog, AstVec *vec, void *item);

Stmt *ast_stmt(Program *prog, StmtKind kind, Span span);
Block ast_block(Program *prog, AstVec *stmts, Span span);
EmailItem *ast_email_item(Program *prog, EmailField field, Span keyword, Expr *value);
Stmt *ast_email(Program *prog, Expr *recipients, AstVec *items, Span span);

Clause *ast_clause(Program *prog, ClauseKind kind, Span span);
Step *ast_step(Program *prog, StepKind kind, Span span);
Decl *ast_decl(Program *prog, DeclKind kind, Span span, Ident name);
/* Copies the vectors' items into the declaration's arrays. */
void ast_flow_set_clauses(Program *prog, Decl *flow, AstVec *clauses /* of Clause* */);
void ast_test_set_steps(Program *prog, Decl *test, AstVec *steps /* of Step* */);
void ast_sub_set_params(Program *prog, Decl *sub, AstVec *params /* of Param* */);
Param *ast_param(Program *prog, Ident name, TypeExpr *type);
TypeExpr *ast_type(Program *prog, Ident name, TypeExpr *arg, Span span);

/* Prints the tree as an S-expression, for `flowc parse` and golden tests. */
void ast_dump(const Program *prog, FILE *out);

/* ------------------------------------------------ builders for the grammar */
/*
 * One builder per construct, so that each grammar action is one call.  Spans:
 * a node's span runs from its first token (`start`, the keyword) to the end
 * of its last part.
 */
Ident ast_ident_text(Program *prog, const char *text, size_t len, Span span);
Ident ast_dotted(Program *prog, Ident left, Ident right);    /* "data" "usage" -> "data.usage" */
Expr *ast_int(Program *prog, ExprKind kind, int64_t value, Span span);    /* INT BYTES DURATION TIME */
Expr *ast_float(Program *prog, ExprKind kind, double value, Span span);   /* FLOAT PERCENT */
Expr *ast_bool(Program *prog, bool value, Span span);
Expr *ast_string(Program *prog, StrPart *parts, int nparts, bool triple, Span span);
Stmt *ast_let(Program *prog, StmtKind kind /* S_LET, S_ASSIGN */, Ident name, Expr *value, Span start);
Stmt *ast_if(Program *prog, Span start, Expr *cond, Block then, const Block *otherwise /* or NULL */);
Stmt *ast_if_else_if(Program *prog, Span start, Expr *cond, Block then, Stmt *else_if);
Stmt *ast_for(Program *prog, Span start, Ident var, Expr *list, Block body);
/* S_RETURN (value may be NULL), S_LOG, S_CALL, S_WAIT */
Stmt *ast_stmt_expr(Program *prog, StmtKind kind, Span start, Expr *value);
Stmt *ast_webhook(Program *prog, Span start, Expr *url, Expr *params);
Stmt *ast_simop(Program *prog, ActionKind action, Span start, Span target, Expr *arg);
Clause *ast_clause_expr(Program *prog, ClauseKind kind /* C_TITLE C_WHEN C_REARM */, Span start, Expr *value);
Clause *ast_on(Program *prog, Span start, Ident event, Expr *date, Expr *cron, int at_minutes, Span end);
Clause *ast_scope(Program *prog, Span start, ScopeKind kind, Span kind_span, Expr *value);
Clause *ast_repeat(Program *prog, Span start, Expr *after /* NULL: every event */, Span end);
Clause *ast_active(Program *prog, Span start, Expr *from, Expr *until, Expr *for_);
Clause *ast_do(Program *prog, Span start, Block body);
Step *ast_step_expr(Program *prog, StepKind kind /* T_SIM T_ADVANCE T_EXPECT_TRUE */, Span start, Expr *value);
Step *ast_step_set(Program *prog, Span start, Ident input, Expr *value);
Step *ast_step_event(Program *prog, Span start, Ident type, Expr *fields, Expr *iccid, Expr *at);
Step *ast_step_expect(Program *prog, Span start, ActionKind action, Expr *target,
                      Expr *subject_contains, Span end);
Decl *ast_input(Program *prog, Span span, Ident name, TypeExpr *type, Expr *dflt);
Decl *ast_const(Program *prog, Span span, Ident name, Expr *value);
Decl *ast_flow(Program *prog, Span span, Ident name, AstVec *clauses);
Decl *ast_sub(Program *prog, Span span, Ident name, AstVec *params, TypeExpr *ret, Block body);
Decl *ast_test(Program *prog, Span span, Ident title, AstVec *steps);

#endif
