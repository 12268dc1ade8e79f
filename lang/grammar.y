/*
** grammar.y - the grammar of Flow, for the lemon parser generator.
**
** This file is the canonical source of the grammar: lemon turns it into
** build/gen/grammar.c and grammar.h; edit it here, never there.  Actions are
** thin: each is one call into an ast_* builder (ast.h) or the driver
** (parse.c); what a construct means is decided there and in check.c.
** spec/language.md, "Grammar (EBNF)", is this file's reference in prose.
*/

// The prefix of every token's name in grammar.h: TK_FLOW, TK_LBRACE...
%token_prefix TK_
// lemon's entry points are FlowParseAlloc, FlowParse, FlowParseFree.
%name FlowParse
// Every token carries its span and its literal value (parse.h).
%token_type {Token}
// The driver's state, reachable from every action as `p`.
%extra_context {Parser *p}
// Grow the parser's stack on the heap: nesting is bounded by the driver.
%stack_size 0
%stack_overflow { parse_stack_overflow(p); }
// Report "unexpected X; expected Y", naming what this state accepts.
%syntax_error {
    // A soft keyword that acts like a name here is only expected as a name.
    bool expected[YYNTOKEN];
    YYACTIONTYPE state = yypParser->yytos->stateno;
    YYACTIONTYPE as_name = yy_find_shift_action((YYCODETYPE)TK_ID, state);
    for (int t = 0; t < YYNTOKEN; t++) {
        YYACTIONTYPE act = t > 0 && t != YYERRORSYMBOL ? yy_find_shift_action((YYCODETYPE)t, state)
                                                       : YY_ERROR_ACTION;
        expected[t] = act != YY_ERROR_ACTION && !(lex_is_soft_keyword(t) && act == as_name);
    }
    parse_syntax_error(p, yymajor, &TOKEN, expected, YYNTOKEN);
}
// lemon could not recover: the driver skips to the next declaration.
%parse_failure { p->failed = true; }
%start_symbol program

%include {
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ast.h"
#include "parse.h"

#define PROG (p->prog)
#define JOIN ast_span_join
}

// Fix the token numbers: the lexer's keyword table and parse.c's token
// classes use them.
%token EXPR_START.
%token ID INT FLOAT BYTES PERCENT DURATION TIME CLOCK STRING.
%token LPAREN RPAREN LBRACKET RBRACKET LBRACE RBRACE COMMA COLON DOT SEMI ASSIGN ARROW.
%token INPUT CONST FLOW SUB TEST.
%token TITLE ON SCOPE WHEN REPEAT REARM ACTIVE DO.
%token ALL ICCIDS FILE TAGS PACKAGE POOL EVERY EVENT AFTER FROM UNTIL.
%token LET IF ELSE FOR RETURN STOP LOG WAIT EMAIL WEBHOOK.
%token SUSPEND RESUME TOPUP RENEW TAG UNTAG.
%token SUBJECT TEXT HTML CC BCC SMTP.
%token SIM SET ADVANCE EXPECT NOTHING TO CONTAINS AT DATE SCHEDULE.
%token TRUE FALSE.

// Soft keywords (every keyword but true false and or not in of mod) are
// names where they cannot stand as keywords: `event.text`, `contains(x, "y")`,
// `date`, `flow.name`.  This is lemon's %fallback rule, applied by the driver
// (parse.c, resolve_keyword) instead of by lemon: lemon falls back before it
// takes a state's default reduction, which would read `return` followed by a
// line `suspend sim` as `return suspend`.  The driver asks the tables whether
// the keyword is shifted as itself once pending reductions are done
// (FlowParseAcceptsDirectly, below) and only otherwise passes it on as an ID.
// (The lexer also makes any word after `.` or before `:` a name.)

// Precedence, rising.  A bare `return` yields to an expression after it.
%nonassoc RETURN.
%nonassoc ID.
%left OR.
%left AND.
%right NOT.
%nonassoc EQ NE LT LE GT GE IN.
%left PLUS MINUS.
%left STAR SLASH MOD OF.
%right UMINUS.

//////////////////////////////// Programs ////////////////////////////////

program ::= decls.
// The driver parses each ${...} of a string through this entry.
program ::= EXPR_START expr(E).     { p->result = E; }

decls ::= .
decls ::= decls decl.

//////////////////////////////// Declarations ////////////////////////////////

decl ::= INPUT(K) name(N) COLON type(T).
    { parse_add_decl(p, ast_input(PROG, JOIN(K.span, T->span), N, T, NULL)); }
decl ::= INPUT(K) name(N) COLON type(T) ASSIGN expr(E).
    { parse_add_decl(p, ast_input(PROG, JOIN(K.span, E->span), N, T, E)); }
decl ::= CONST(K) name(N) ASSIGN expr(E).
    { parse_add_decl(p, ast_const(PROG, JOIN(K.span, E->span), N, E)); }
decl ::= FLOW(K) name(N) LBRACE clauses(V) RBRACE(R).
    { parse_add_decl(p, ast_flow(PROG, JOIN(K.span, R.span), N, &V)); }
decl ::= SUB(K) name(N) LPAREN params(P) RPAREN returns(T) block(B).
    { parse_add_decl(p, ast_sub(PROG, JOIN(K.span, B.span), N, &P, T, B)); }
decl ::= TEST(K) STRING(S) LBRACE steps(V) RBRACE(R).
    { parse_add_decl(p, ast_test(PROG, JOIN(K.span, R.span), parse_test_title(p, &S), &V)); }

%type type {TypeExpr *}
type(A) ::= name(N).                     { A = ast_type(PROG, N, NULL, N.span); }
type(A) ::= name(N) LT type(T) GT(R).    { A = ast_type(PROG, N, T, JOIN(N.span, R.span)); }

%type params {AstVec}
%type params1 {AstVec}
params(A) ::= .                          { A = (AstVec){0}; }
params(A) ::= params1(A).
params(A) ::= params1(A) COMMA.
params1(A) ::= param(P).                 { A = (AstVec){0}; ast_vec_push(PROG, &A, P); }
params1(A) ::= params1(A) COMMA param(P). { ast_vec_push(PROG, &A, P); }
%type param {Param *}
param(A) ::= name(N) COLON type(T).      { A = ast_param(PROG, N, T); }

%type returns {TypeExpr *}
returns(A) ::= .                         { A = NULL; }
returns(A) ::= ARROW type(T).            { A = T; }

%type name {Ident}
name(A) ::= ID(T).                       { A = ast_ident(PROG, T.span); }

// data.usage.total, sim.status
%type evname {Ident}
evname(A) ::= name(A).
evname(A) ::= evname(L) DOT name(N).     { A = ast_dotted(PROG, L, N); }

//////////////////////////////// Flow clauses ////////////////////////////////

%type clauses {AstVec}
clauses(A) ::= .                         { A = (AstVec){0}; }
clauses(A) ::= clauses(A) clause(C).     { ast_vec_push(PROG, &A, C); }
clauses(A) ::= clauses(A) SEMI.

%type clause {Clause *}
clause(A) ::= error.                     { A = NULL; }
clause(A) ::= TITLE(K) expr(E).          { A = ast_clause_expr(PROG, C_TITLE, K.span, E); }
clause(A) ::= WHEN(K) expr(E).           { A = ast_clause_expr(PROG, C_WHEN, K.span, E); }
clause(A) ::= REARM(K) WHEN expr(E).     { A = ast_clause_expr(PROG, C_REARM, K.span, E); }
clause(A) ::= ON(K) evname(N).           { A = ast_on(PROG, K.span, N, NULL, NULL, -1, N.span); }
clause(A) ::= ON(K) DATE(D) expr(E).
    { A = ast_on(PROG, K.span, ast_ident(PROG, D.span), E, NULL, -1, E->span); }
clause(A) ::= ON(K) DATE(D) expr(E) AT CLOCK(T).
    { A = ast_on(PROG, K.span, ast_ident(PROG, D.span), E, NULL, (int)T.v.i, T.span); }
clause(A) ::= ON(K) SCHEDULE(D) expr(E).
    { A = ast_on(PROG, K.span, ast_ident(PROG, D.span), NULL, E, -1, E->span); }
clause(A) ::= SCOPE(K) ALL(W).           { A = ast_scope(PROG, K.span, SCOPE_ALL, W.span, NULL); }
clause(A) ::= SCOPE(K) ICCIDS(W) expr(E). { A = ast_scope(PROG, K.span, SCOPE_ICCIDS, W.span, E); }
clause(A) ::= SCOPE(K) ICCIDS(W) FILE(F) expr(E).
    { A = ast_scope(PROG, K.span, SCOPE_ICCIDS_FILE, JOIN(W.span, F.span), E); }
clause(A) ::= SCOPE(K) TAGS(W) expr(E).  { A = ast_scope(PROG, K.span, SCOPE_TAGS, W.span, E); }
clause(A) ::= SCOPE(K) PACKAGE(W) expr(E). { A = ast_scope(PROG, K.span, SCOPE_PACKAGE, W.span, E); }
clause(A) ::= SCOPE(K) POOL(W) expr(E).  { A = ast_scope(PROG, K.span, SCOPE_POOL, W.span, E); }
clause(A) ::= REPEAT(K) EVERY EVENT(E).  { A = ast_repeat(PROG, K.span, NULL, E.span); }
clause(A) ::= REPEAT(K) AFTER expr(E).   { A = ast_repeat(PROG, K.span, E, E->span); }
clause(A) ::= ACTIVE(K) FROM expr(F).    { A = ast_active(PROG, K.span, F, NULL, NULL); }
clause(A) ::= ACTIVE(K) FROM expr(F) UNTIL expr(U). { A = ast_active(PROG, K.span, F, U, NULL); }
clause(A) ::= ACTIVE(K) FROM expr(F) FOR expr(D).   { A = ast_active(PROG, K.span, F, NULL, D); }
clause(A) ::= ACTIVE(K) UNTIL expr(U).   { A = ast_active(PROG, K.span, NULL, U, NULL); }
clause(A) ::= ACTIVE(K) FOR expr(D).     { A = ast_active(PROG, K.span, NULL, NULL, D); }
clause(A) ::= DO(K) block(B).            { A = ast_do(PROG, K.span, B); }

//////////////////////////////// Statements ////////////////////////////////

%type block {Block}
block(A) ::= LBRACE(L) stmts(V) RBRACE(R). { A = ast_block(PROG, &V, JOIN(L.span, R.span)); }

%type stmts {AstVec}
stmts(A) ::= .                           { A = (AstVec){0}; }
stmts(A) ::= stmts(A) stmt(S).           { ast_vec_push(PROG, &A, S); }
stmts(A) ::= stmts(A) SEMI.

%type stmt {Stmt *}
stmt(A) ::= error.                       { A = NULL; }
stmt(A) ::= LET(K) name(N) ASSIGN expr(E). { A = ast_let(PROG, S_LET, N, E, K.span); }
stmt(A) ::= name(N) ASSIGN expr(E).      { A = ast_let(PROG, S_ASSIGN, N, E, N.span); }
stmt(A) ::= ifstmt(A).
stmt(A) ::= FOR(K) name(N) IN expr(L) block(B). { A = ast_for(PROG, K.span, N, L, B); }
stmt(A) ::= RETURN(K).                   { A = ast_stmt_expr(PROG, S_RETURN, K.span, NULL); }
stmt(A) ::= RETURN(K) expr(E).           { A = ast_stmt_expr(PROG, S_RETURN, K.span, E); }
stmt(A) ::= STOP(K).                     { A = ast_stmt(PROG, S_STOP, K.span); }
stmt(A) ::= LOG(K) expr(E).              { A = ast_stmt_expr(PROG, S_LOG, K.span, E); }
stmt(A) ::= WAIT(K) expr(E).             { A = ast_stmt_expr(PROG, S_WAIT, K.span, E); }
stmt(A) ::= call(C).                     { A = ast_stmt_expr(PROG, S_CALL, C->span, C); }
stmt(A) ::= EMAIL(K) expr(R) LBRACE eitems(V) RBRACE(E).
    { A = ast_email(PROG, R, &V, JOIN(K.span, E.span)); }
stmt(A) ::= WEBHOOK(K) expr(U).          { A = ast_webhook(PROG, K.span, U, NULL); }
stmt(A) ::= WEBHOOK(K) expr(U) record(R). { A = ast_webhook(PROG, K.span, U, R); }
stmt(A) ::= SUSPEND(K) SIM(T).           { A = ast_simop(PROG, ACT_SUSPEND, K.span, T.span, NULL); }
stmt(A) ::= RESUME(K) SIM(T).            { A = ast_simop(PROG, ACT_RESUME, K.span, T.span, NULL); }
stmt(A) ::= RENEW(K) SIM(T).             { A = ast_simop(PROG, ACT_RENEW, K.span, T.span, NULL); }
stmt(A) ::= TOPUP(K) SIM(T) expr(E).     { A = ast_simop(PROG, ACT_TOPUP, K.span, T.span, E); }
stmt(A) ::= TAG(K) SIM(T) expr(E).       { A = ast_simop(PROG, ACT_TAG, K.span, T.span, E); }
stmt(A) ::= UNTAG(K) SIM(T) expr(E).     { A = ast_simop(PROG, ACT_UNTAG, K.span, T.span, E); }

// `else if` is an else block holding the one nested if.
%type ifstmt {Stmt *}
ifstmt(A) ::= IF(K) expr(C) block(T).    { A = ast_if(PROG, K.span, C, T, NULL); }
ifstmt(A) ::= IF(K) expr(C) block(T) ELSE block(E). { A = ast_if(PROG, K.span, C, T, &E); }
ifstmt(A) ::= IF(K) expr(C) block(T) ELSE ifstmt(E). { A = ast_if_else_if(PROG, K.span, C, T, E); }

%type eitems {AstVec}
eitems(A) ::= .                          { A = (AstVec){0}; }
eitems(A) ::= eitems(A) eitem(I).        { ast_vec_push(PROG, &A, I); }
eitems(A) ::= eitems(A) SEMI.

%type eitem {EmailItem *}
eitem(A) ::= SUBJECT(K) expr(E).         { A = ast_email_item(PROG, EMAIL_SUBJECT, K.span, E); }
eitem(A) ::= TEXT(K) expr(E).            { A = ast_email_item(PROG, EMAIL_TEXT, K.span, E); }
eitem(A) ::= HTML(K) expr(E).            { A = ast_email_item(PROG, EMAIL_HTML, K.span, E); }
eitem(A) ::= CC(K) expr(E).              { A = ast_email_item(PROG, EMAIL_CC, K.span, E); }
eitem(A) ::= BCC(K) expr(E).             { A = ast_email_item(PROG, EMAIL_BCC, K.span, E); }
eitem(A) ::= SMTP(K) expr(E).            { A = ast_email_item(PROG, EMAIL_SMTP, K.span, E); }

//////////////////////////////// Test steps ////////////////////////////////

%type steps {AstVec}
steps(A) ::= .                           { A = (AstVec){0}; }
steps(A) ::= steps(A) step(S).           { ast_vec_push(PROG, &A, S); }
steps(A) ::= steps(A) SEMI.

%type step {Step *}
step(A) ::= error.                       { A = NULL; }
step(A) ::= SIM(K) record(R).            { A = ast_step_expr(PROG, T_SIM, K.span, R); }
step(A) ::= SET(K) name(N) ASSIGN expr(E). { A = ast_step_set(PROG, K.span, N, E); }
step(A) ::= EVENT(K) evname(N) evfields(F) evfor(I) evat(T).
    { A = ast_step_event(PROG, K.span, N, F, I, T); }
step(A) ::= ADVANCE(K) expr(E).          { A = ast_step_expr(PROG, T_ADVANCE, K.span, E); }
step(A) ::= EXPECT(K) NOTHING(N).        { A = ast_step(PROG, T_EXPECT_NOTHING, JOIN(K.span, N.span)); }
step(A) ::= EXPECT(K) expr(E).           { A = ast_step_expr(PROG, T_EXPECT_TRUE, K.span, E); }
step(A) ::= EXPECT(K) EMAIL TO expr(E).
    { A = ast_step_expect(PROG, K.span, ACT_EMAIL, E, NULL, E->span); }
step(A) ::= EXPECT(K) EMAIL TO expr(E) SUBJECT CONTAINS expr(C).
    { A = ast_step_expect(PROG, K.span, ACT_EMAIL, E, C, C->span); }
step(A) ::= EXPECT(K) WEBHOOK expr(E).   { A = ast_step_expect(PROG, K.span, ACT_WEBHOOK, E, NULL, E->span); }
step(A) ::= EXPECT(K) simact(W).         { A = ast_step_expect(PROG, K.span, (ActionKind)W.v.i, NULL, NULL, W.span); }
step(A) ::= EXPECT(K) simact(W) expr(E). { A = ast_step_expect(PROG, K.span, (ActionKind)W.v.i, E, NULL, E->span); }

%type simact {Token}
simact(A) ::= SUSPEND(T).                { A = T; A.v.i = ACT_SUSPEND; }
simact(A) ::= RESUME(T).                 { A = T; A.v.i = ACT_RESUME; }
simact(A) ::= TOPUP(T).                  { A = T; A.v.i = ACT_TOPUP; }
simact(A) ::= RENEW(T).                  { A = T; A.v.i = ACT_RENEW; }
simact(A) ::= TAG(T).                    { A = T; A.v.i = ACT_TAG; }
simact(A) ::= UNTAG(T).                  { A = T; A.v.i = ACT_UNTAG; }

%type evfields {Expr *}
evfields(A) ::= .                        { A = NULL; }
evfields(A) ::= record(A).
%type evfor {Expr *}
evfor(A) ::= .                           { A = NULL; }
evfor(A) ::= FOR expr(E).              { A = E; }
%type evat {Expr *}
evat(A) ::= .                            { A = NULL; }
evat(A) ::= AT expr(E).                { A = E; }

//////////////////////////////// Expressions ////////////////////////////////

%type expr {Expr *}
expr(A) ::= expr(L) OR expr(R).          { A = ast_binary(PROG, OPR_OR, L, R); }
expr(A) ::= expr(L) AND expr(R).         { A = ast_binary(PROG, OPR_AND, L, R); }
expr(A) ::= NOT(K) expr(E).              { A = ast_unary(PROG, OPR_NOT, E, K.span); }
expr(A) ::= expr(L) EQ expr(R).          { A = ast_binary(PROG, OPR_EQ, L, R); }
expr(A) ::= expr(L) NE expr(R).          { A = ast_binary(PROG, OPR_NE, L, R); }
expr(A) ::= expr(L) LT expr(R).          { A = ast_binary(PROG, OPR_LT, L, R); }
expr(A) ::= expr(L) LE expr(R).          { A = ast_binary(PROG, OPR_LE, L, R); }
expr(A) ::= expr(L) GT expr(R).          { A = ast_binary(PROG, OPR_GT, L, R); }
expr(A) ::= expr(L) GE expr(R).          { A = ast_binary(PROG, OPR_GE, L, R); }
expr(A) ::= expr(L) IN expr(R).          { A = ast_binary(PROG, OPR_IN, L, R); }
expr(A) ::= expr(L) PLUS expr(R).        { A = ast_binary(PROG, OPR_ADD, L, R); }
expr(A) ::= expr(L) MINUS expr(R).       { A = ast_binary(PROG, OPR_SUB, L, R); }
expr(A) ::= expr(L) STAR expr(R).        { A = ast_binary(PROG, OPR_MUL, L, R); }
expr(A) ::= expr(L) SLASH expr(R).       { A = ast_binary(PROG, OPR_DIV, L, R); }
expr(A) ::= expr(L) MOD expr(R).         { A = ast_binary(PROG, OPR_MOD, L, R); }
expr(A) ::= expr(L) OF expr(R).          { A = ast_binary(PROG, OPR_OF, L, R); }
expr(A) ::= MINUS(K) expr(E). [UMINUS]   { A = ast_unary(PROG, OPR_NEG, E, K.span); }
expr(A) ::= postfix(A).

%type postfix {Expr *}
postfix(A) ::= primary(A).
postfix(A) ::= postfix(O) DOT name(N).   { A = ast_field(PROG, O, N); }
postfix(A) ::= postfix(O) LBRACKET expr(I) RBRACKET(R). { A = ast_index(PROG, O, I, R.span); }

%type primary {Expr *}
primary(A) ::= INT(T).                   { A = ast_int(PROG, E_INT, T.v.i, T.span); }
primary(A) ::= BYTES(T).                 { A = ast_int(PROG, E_BYTES, T.v.i, T.span); }
primary(A) ::= DURATION(T).              { A = ast_int(PROG, E_DURATION, T.v.i, T.span); }
primary(A) ::= TIME(T).                  { A = ast_int(PROG, E_TIME, T.v.i, T.span); }
primary(A) ::= FLOAT(T).                 { A = ast_float(PROG, E_FLOAT, T.v.f, T.span); }
primary(A) ::= PERCENT(T).               { A = ast_float(PROG, E_PERCENT, T.v.f, T.span); }
primary(A) ::= TRUE(T).                  { A = ast_bool(PROG, true, T.span); }
primary(A) ::= FALSE(T).                 { A = ast_bool(PROG, false, T.span); }
primary(A) ::= STRING(T).                { A = T.v.str; }
primary(A) ::= name(N).                  { A = ast_name(PROG, N); }
primary(A) ::= call(A).
primary(A) ::= LPAREN expr(E) RPAREN.   { A = E; }
primary(A) ::= LBRACKET(L) items(V) RBRACKET(R). { A = ast_list(PROG, &V, JOIN(L.span, R.span)); }
primary(A) ::= record(A).

%type call {Expr *}
call(A) ::= name(N) LPAREN items(V) RPAREN(R). { A = ast_call(PROG, N, &V, R.span); }

%type items {AstVec}
%type items1 {AstVec}
items(A) ::= .                           { A = (AstVec){0}; }
items(A) ::= items1(A).
items(A) ::= items1(A) COMMA.
items1(A) ::= expr(E).                   { A = (AstVec){0}; ast_vec_push(PROG, &A, E); }
items1(A) ::= items1(A) COMMA expr(E).   { ast_vec_push(PROG, &A, E); }

%type record {Expr *}
record(A) ::= LBRACE(L) fields(V) RBRACE(R). { A = ast_record(PROG, &V, JOIN(L.span, R.span)); }

%type fields {AstVec}
%type fields1 {AstVec}
fields(A) ::= .                          { A = (AstVec){0}; }
fields(A) ::= fields1(A).
fields(A) ::= fields1(A) COMMA.
fields1(A) ::= field(F).                 { A = (AstVec){0}; ast_vec_push(PROG, &A, F); }
fields1(A) ::= fields1(A) COMMA field(F). { ast_vec_push(PROG, &A, F); }
%type field {RecField *}
field(A) ::= name(N) COLON expr(E).      { A = ast_rec_field(PROG, N, E); }

//////////////////////////////// Driver support ////////////////////////////////

%code {
/* Makes a parser that has been used ready for a new input, as FlowParseAlloc
 * would return it, but keeping its stack: the parsers of ${} interpolations
 * are reused from string to string instead of allocated for each. */
void FlowParseReset(void *parser, Parser *p)
{
    yyParser *pp = parser;
    while (pp->yytos > pp->yystack) yy_pop_parser_stack(pp);
    pp->p = p;
#ifndef YYNOERRORRECOVERY
    pp->yyerrcnt = -1;
#endif
    pp->yytos = pp->yystack;
    pp->yystack[0].stateno = 0;
    pp->yystack[0].major = 0;
}

/* Would the parser shift `kind` as itself, not as a name by %fallback?
 * Simulates the reductions the token would cause on a copy of the top of
 * the stack.  The driver uses it to read a clause or statement keyword that
 * starts a line as a keyword even where a name could continue an expression.
 * It runs for most soft keywords (`sim`, `event`, `let`...), and the
 * reductions before a statement keyword are many: answers are remembered
 * (ParseMemo) with the stack states they were computed from. */
/* The action of `state` (a state or a reduce action, as the stack holds
 * them) on `kind`. */
static YYACTIONTYPE accepts_action(YYACTIONTYPE state, int kind)
{
    if (state > YY_MAX_SHIFT) return state;
    int i = yy_shift_ofst[state] + kind;
    return i >= 0 && i < (int)YY_NLOOKAHEAD && yy_lookahead[i] == kind ? yy_action[i] : yy_default[state];
}

/* The simulation, from the reduction `act` on, when no answer is remembered:
 * apart, so that the usual case, remembered, is a light call. */
static __attribute__((noinline)) bool accepts_simulate(yyParser *pp, int kind, YYACTIONTYPE act, ParseMemo *memo)
{
    enum { OVERLAY = 64 };
    const yyStackEntry *tos = pp->yytos, *base = tos, *lowest = tos;
    YYACTIONTYPE overlay[OVERLAY];
    int n = 0;
    bool accepts = true;
    for (int steps = 0; steps < 10000; steps++) {
        if (steps) act = accepts_action(n ? overlay[n - 1] : base->stateno, kind);
        if (act <= YY_MAX_SHIFTREDUCE) break;
        if (act < YY_MIN_REDUCE || act > YY_MAX_REDUCE) {
            accepts = false;
            break;
        }
        int rule = act - YY_MIN_REDUCE;
        for (int pop = -yyRuleInfoNRhs[rule]; pop > 0; pop--) {
            if (n) n--;
            else if (base-- == pp->yystack) return false;   /* depends on the stack's height: not remembered */
        }
        if (base < lowest) lowest = base;
        YYACTIONTYPE below = n ? overlay[n - 1] : base->stateno;
        if (n == OVERLAY) break;
        overlay[n++] = yy_find_reduce_action(below, (YYCODETYPE)yyRuleInfoLhs[rule]);
    }
    if (tos - lowest <= PARSE_MEMO_DEPTH) {
        memo->top = (uint16_t)(tos->stateno + 1);
        memo->kind = (uint8_t)kind;
        memo->depth = (uint8_t)(tos - lowest);
        memo->accepts = accepts;
        for (int i = 0; i < memo->depth; i++) memo->below[i] = tos[-1 - i].stateno;
    }
    return accepts;
}

bool FlowParseAcceptsDirectly(void *parser, int kind)
{
    yyParser *pp = parser;
    const yyStackEntry *tos = pp->yytos;
    YYACTIONTYPE act = accepts_action(tos->stateno, kind);
    if (act <= YY_MAX_SHIFTREDUCE) return true;
    if (act < YY_MIN_REDUCE || act > YY_MAX_REDUCE) return false;
    /* a reduction first: the answer depends on the states under the top
     * too; the one under it picks the slot, as contexts differ there */
    unsigned under = tos > pp->yystack ? tos[-1].stateno : 0;
    ParseMemo *memo = &pp->p->scratch->memo[(tos->stateno * 31u + under * 7u + (unsigned)kind) % PARSE_MEMO_SIZE];
    if (memo->top == tos->stateno + 1 && memo->kind == kind && memo->depth <= tos - pp->yystack) {
        int i = 0;
        while (i < memo->depth && memo->below[i] == tos[-1 - i].stateno) i++;
        if (i == memo->depth) return memo->accepts;
    }
    return accepts_simulate(pp, kind, act, memo);
}
}
