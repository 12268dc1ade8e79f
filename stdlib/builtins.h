/*
 * builtins.h - the built-in functions of the language: one table that gives
 * the checker their signatures and the VM their implementations.
 *
 * A name may have several rows (overloads); the checker picks the first row
 * whose parameters accept the arguments and records its index, which the
 * compiler emits in a CALLB instruction.  Built-ins are pure: no I/O, no
 * clock, no state; they allocate only through the StdCtx the VM hands them.
 */
#ifndef FLOW_BUILTINS_H
#define FLOW_BUILTINS_H

#include <stddef.h>

#include "types.h"
#include "value.h"

/* What a built-in may ask of its caller (the VM implements these). */
typedef struct StdCtx {
    /* Memory for a result, in the run's arena; NULL when the run's memory
     * cap is reached (the built-in then returns -1 without calling fail). */
    void *(*alloc)(struct StdCtx *ctx, size_t size);
    /* Ends the run with a runtime error; returns -1 for `return ctx->fail(...)`. */
    int (*fail)(struct StdCtx *ctx, const char *message);
    /* Instructions the work costs, charged against the run's budget. */
    void (*charge)(struct StdCtx *ctx, uint64_t instructions);
} StdCtx;

/* Returns 0 with *out set, or -1 after ctx->fail (or a failed ctx->alloc). */
typedef int (*StdFn)(StdCtx *ctx, const Value *args, int nargs, Value *out);

#define STD_MAX_PARAMS 3

/* Work proportional to input size is charged one instruction per this many
 * bytes (strings) and one per list item. */
#define STD_BYTES_PER_CHARGE 64

typedef struct StdBuiltin {
    const char *name;
    int nparams;                          /* required parameters */
    int nopt;                             /* trailing optional parameters */
    const Type *params[STD_MAX_PARAMS];   /* &ty_empty_list: any list */
    const Type *ret;                      /* NULL: the type of the first argument */
    StdFn fn;
    const char *doc;                      /* one line, for spec/ and diagnostics */
} StdBuiltin;

extern const StdBuiltin std_builtins[];
extern const int std_nbuiltins;

/* The first row of `name`, or -1; the rows of one name are consecutive. */
int std_find(const char *name, size_t len);

/* Helpers for built-ins and the VM: a string value in ctx's memory, or NULL
 * (memory cap reached, or len beyond a VStr's 32-bit length). */
const VStr *std_make_str(StdCtx *ctx, const char *text, size_t len);

/* Does a run-time value fit a parameter type (by its tag: an int fits a
 * float, email and url are strings, any list fits a list)?  The VM checks
 * every argument with it before calling a row's function. */
bool std_accepts(const Type *param, const Value *value);

#endif
