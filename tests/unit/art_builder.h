/*
 * art_builder.h - artifacts made by hand for the VM and artifact tests:
 * fill functions instruction by instruction, encode, load (verify), link.
 * Every instruction gets line 100 + its index unless set otherwise.
 */
#ifndef FLOW_ART_BUILDER_H
#define FLOW_ART_BUILDER_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../stdlib/arena.h"
#include "../../vm/artifact.h"
#include "../../vm/opcodes.h"
#include "../../vm/vm.h"

#define B_MAX_FNS 8
#define B_MAX_CODE 4096
#define B_MAX_CONSTS 64

typedef struct Builder {
    Artifact art;
    ArtFunction fns[B_MAX_FNS];
    uint32_t code[B_MAX_FNS][B_MAX_CODE];
    uint32_t lines[B_MAX_FNS][B_MAX_CODE];
    Value consts[B_MAX_CONSTS];
    ArtInput inputs[8];
    ArtImport imports[8];
    const char *scope_items[4];
    Arena arena;
    int cur;
} Builder;

static inline Builder *b_new(ArtKind kind, const char *name, const char *event)
{
    Builder *b = calloc(1, sizeof *b);
    arena_init(&b->arena, 0);
    Artifact *a = &b->art;
    a->kind = kind;
    strcpy(a->compiler_version, "test-1");
    a->source_name = "test.flow";
    a->source_text = "flow t {\n  on data.usage\n  when event.used > 1MB\n}\n";
    a->source_first_line = 100;
    a->name = name;
    a->title = "";
    a->event = kind == ART_FLOW ? event : "";
    a->at_minutes = -1;
    a->cron = "";
    a->scope = ART_SCOPE_ALL;
    a->scope_items = b->scope_items;
    a->fn_do = a->fn_when = a->fn_rearm = a->fn_date = a->fn_sub = -1;
    a->signature = "";
    a->inputs = b->inputs;
    a->imports = b->imports;
    a->constants = b->consts;
    a->functions = b->fns;
    b->cur = -1;
    return b;
}

static inline void b_free(Builder *b)
{
    arena_free(&b->arena);
    free(b);
}

/* Starts a function; later b_emit calls append to it.  Returns its index. */
static inline int b_fn(Builder *b, const char *name, int nparams, int nregs)
{
    int f = (int)b->art.nfunctions++;
    ArtFunction *fn = &b->fns[f];
    fn->name = name;
    fn->nparams = (uint8_t)nparams;
    fn->nregs = (uint8_t)nregs;
    fn->code = b->code[f];
    fn->lines = b->lines[f];
    b->cur = f;
    if (b->art.kind == ART_FLOW && b->art.fn_do < 0) b->art.fn_do = f;
    if (b->art.kind == ART_SUB && b->art.fn_sub < 0) b->art.fn_sub = f;
    return f;
}

static inline uint32_t b_emit(Builder *b, uint32_t ins)
{
    ArtFunction *fn = &b->fns[b->cur];
    b->lines[b->cur][fn->ncode] = 100 + fn->ncode;
    b->code[b->cur][fn->ncode] = ins;
    return fn->ncode++;
}

#define ABC(op, a, bb, c) b_emit(b, INS_ABC(OP_##op, a, bb, c))
#define ABX(op, a, bx) b_emit(b, INS_ABX(OP_##op, a, bx))
#define ASBX(op, a, sbx) b_emit(b, INS_ASBX(OP_##op, a, sbx))

static inline int b_const(Builder *b, Value v)
{
    b->consts[b->art.nconstants] = v;
    return (int)b->art.nconstants++;
}

static inline Value b_str(Builder *b, const char *text)
{
    size_t n = strlen(text);
    VStr *s = arena_alloc(&b->arena, sizeof(VStr) + n + 1);
    s->len = (uint32_t)n;
    memcpy(s->data, text, n + 1);
    return val_str(s);
}

static inline Value b_list(Builder *b, int n, ...)
{
    VList *l = arena_alloc(&b->arena, sizeof(VList) + (size_t)n * sizeof(Value));
    l->len = (uint32_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) l->items[i] = va_arg(ap, Value);
    va_end(ap);
    return val_list(l);
}

static inline Value b_strs(Builder *b, int n, const char *const *texts)
{
    VList *l = arena_alloc(&b->arena, sizeof(VList) + (size_t)n * sizeof(Value));
    l->len = (uint32_t)n;
    for (int i = 0; i < n; i++) l->items[i] = b_str(b, texts[i]);
    return val_list(l);
}

/* Encodes and loads; NULL with err set when either refuses. */
static inline Artifact *b_load(Builder *b, char *err, size_t errlen)
{
    uint8_t *bytes;
    size_t len;
    Artifact *art = NULL;
    if (art_encode(&b->art, &bytes, &len, err, errlen) != 0) return NULL;
    art_load(bytes, len, &art, err, errlen);
    free(bytes);
    return art;
}

/* A loaded, linked, runnable program of one artifact. */
typedef struct Prog {
    Artifact *art;
    VmProgram *program;
    VmRun *run;
} Prog;

static inline bool prog_open(Prog *p, Builder *b, const VmLimits *limits, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->art = b_load(b, err, errlen);
    if (!p->art) return false;
    p->program = vm_program_new(p->art, NULL, 0, err, errlen);
    if (!p->program) return false;
    p->run = vm_run_new(p->program, limits);
    return p->run != NULL;
}

static inline void prog_close(Prog *p)
{
    vm_run_free(p->run);
    vm_program_free(p->program);
    art_free(p->art);
}

#endif
