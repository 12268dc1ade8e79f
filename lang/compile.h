/*
 * compile.h - the code generator: a checked Program to one artifact per flow
 * and per sub, with constant folding.
 */
#ifndef FLOW_COMPILE_H
#define FLOW_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "ast.h"
#include "diag.h"
#include "../stdlib/value.h"

#define CG_COMPILER_VERSION "flowc 0.1.0"

typedef struct CgArtifact {
    char *name;           /* the flow's or sub's name; malloc'd */
    bool is_sub;
    uint8_t *bytes;       /* the encoded artifact; malloc'd */
    size_t len;
    int order;            /* the declaration's index in the program */
} CgArtifact;

/* Compiles every flow and sub of a checked program without errors.
 * Returns the number of errors added to diags (limits such as too many
 * registers, constant overflow); *out receives a malloc'd array of *count
 * artifacts in declaration order, to free with cg_free. */
int cg_program(Program *prog, DiagSink *diags, CgArtifact **out, int *count);

void cg_free(CgArtifact *artifacts, int count);

/* ------------------------------------------------- for `flowc test` only */

/* The value of a checked expression known at compile time (a test step's
 * literal or const), its strings and lists in `arena`; false when it is not
 * constant. */
bool cg_fold_value(Program *prog, Expr *e, Arena *arena, Value *out);

/* Compiles the checked `bool` expression of an `expect EXPR` step into a flow
 * artifact named "expect" whose `when` function (fn_when) computes it from
 * `sim`, `now` and inputs, and whose `do` is empty.  Subs it calls must be
 * linked in, and must read no input the expression does not.  Returns 0 with
 * *out filled (free out->name and out->bytes), or -1 with an error in diags. */
int cg_test_expr(Program *prog, Expr *e, DiagSink *diags, CgArtifact *out);

#endif
