/*
 * vm.c - the interpreter: linking, the dispatch loop, limits, and the
 * serialized run state of `wait`.
 *
 * Invariants the loop relies on (established by art_load's verifier and by
 * linking, never re-checked here): every opcode is known, every register
 * operand is < the frame's nregs, constants and function indices are in
 * range, jumps land on instructions, RECORD is followed by EXTRA, CALL's
 * arity matches its callee, every function ends in a terminator.  What the
 * verifier cannot know - the kind of value a register holds - is checked
 * where an instruction depends on it, failing the run with VMERR_TYPE.
 *
 * Frames do not overlap: a callee's registers start after its caller's, and
 * CALL copies the arguments, so a call clobbers nothing but R[A].
 */
#include "vm.h"

#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/builtins.h"
#include "../stdlib/format.h"
#include "opcodes.h"

#if defined(__GNUC__) || defined(__clang__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#ifndef VM_NO_COMPUTED_GOTO          /* -DVM_NO_COMPUTED_GOTO tries the portable switch */
#define VM_COMPUTED_GOTO 1
#endif
#define add_overflows(a, b, r) __builtin_add_overflow(a, b, r)
#define sub_overflows(a, b, r) __builtin_sub_overflow(a, b, r)
#define mul_overflows(a, b, r) __builtin_mul_overflow(a, b, r)
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define PRINTF_LIKE(f, a)
static bool add_overflows(int64_t a, int64_t b, int64_t *r)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return true;
    *r = a + b;
    return false;
}
static bool sub_overflows(int64_t a, int64_t b, int64_t *r)
{
    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) return true;
    *r = a - b;
    return false;
}
static bool mul_overflows(int64_t a, int64_t b, int64_t *r)
{
    if (a && b && ((a == -1 && b == INT64_MIN) || (b == -1 && a == INT64_MIN) ||
                   (a != -1 && b != -1 && (a * b) / b != a)))
        return true;
    *r = a * b;
    return false;
}
#endif

/* ============================================================== program */

typedef struct VmModule VmModule;

typedef struct VmFunc {
    const uint64_t *code;     /* what execute runs: per pc, the quickened instruction (see
                               * "Quickening") in the low 32 bits, its runlen above (see "Budget") */
    const uint32_t *original; /* the artifact's instructions */
    uint32_t ncode;
    uint8_t nparams, nregs;
    uint8_t nclear;           /* registers a call sets to nil before the function runs */
    bool reads_item;          /* may read what a batch item binds (INPUT, CTX, or through a CALL) */
    bool setup;               /* a call has more to do than start it: nparams, nclear or reads_item */
    bool leaf;                /* no CALL and no WAIT: its bottom frame is never read (see execute) */
    const uint8_t *clear;     /* their numbers */
    const Value *k;
    const VmModule *mod;
    uint32_t index;           /* in the module's artifact */
    void *owned;              /* code and clear, one allocation */
} VmFunc;

struct VmModule {
    const Artifact *art;
    VmFunc *funcs;
    const VmFunc **callees;   /* CALL's B: functions, then imports */
    const VStr ***keysets;    /* per constant: the key array of RECORDs naming it */
    uint32_t *input_map;      /* per input: its index in the main artifact's table */
};

struct VmProgram {
    VmModule *mods;           /* mods[0] is the main artifact; subs sorted by checksum */
    uint32_t nmods;
    uint32_t max_regs;
    uint8_t fingerprint[32];
};

typedef struct VmFrame {
    const VmFunc *fn;
    uint32_t pc;              /* below the top: where the caller continues */
    uint32_t base;            /* of the frame's registers in the stack */
} VmFrame;

typedef struct VmStd {
    StdCtx base;              /* first: built-ins see only this */
    VmRun *run;
} VmStd;

struct VmRun {
    const VmProgram *program;
    const VmFunc *main_funcs;     /* the main artifact's, which vm_call runs */
    uint32_t nmain;
    VmLimits limits;
    Arena arena;
    Value *stack;
    uint32_t stack_size;
    VmFrame *frames;
    int depth;
    uint64_t budget;          /* instructions left */
    bool waiting;
    int64_t wait_seconds;
    VmError error;
    FmtBuf text;              /* CONCAT's scratch */
    VmStd std;
    bool std_failed;
    char std_message[160];    /* a built-in's failure */
};

void vm_limits_default(VmLimits *limits)
{
    limits->memory = VM_DEFAULT_MEMORY;
    limits->instructions = VM_DEFAULT_INSTRUCTIONS;
    limits->call_depth = VM_DEFAULT_CALL_DEPTH;
}

const Artifact *vm_program_main(const VmProgram *program) { return program->mods[0].art; }

static void free_module(VmModule *m)
{
    if (m->funcs)
        for (uint32_t f = 0; f < m->art->nfunctions; f++) free(m->funcs[f].owned);
    if (m->keysets)
        for (uint32_t k = 0; k < m->art->nconstants; k++) free((void *)m->keysets[k]);
    free(m->funcs);
    free(m->callees);
    free(m->keysets);
    free(m->input_map);
}

void vm_program_free(VmProgram *program)
{
    if (!program) return;
    for (uint32_t i = 0; i < program->nmods; i++) free_module(&program->mods[i]);
    free(program->mods);
    free(program);
}

static const Artifact *find_sub(const Artifact *const *subs, size_t nsubs, const char *name)
{
    for (size_t i = 0; i < nsubs; i++)
        if (subs[i] && subs[i]->kind == ART_SUB && strcmp(subs[i]->name, name) == 0) return subs[i];
    return NULL;
}

static int compare_checksums(const void *a, const void *b)
{
    return memcmp(((const VmModule *)a)->art->checksum, ((const VmModule *)b)->art->checksum, 32);
}

static uint32_t module_of(const VmProgram *p, const Artifact *art)
{
    for (uint32_t i = 0; i < p->nmods; i++)
        if (p->mods[i].art == art) return i;
    return UINT32_MAX;
}

/* ============================================================ quickening */

/*
 * Superinstructions, made when a program is linked (spec/artifact.md,
 * "Quickening"): the artifact format and the compiler do not know them, and
 * art_load refuses their opcodes in a file (they are >= OP_NOPCODES).  Each
 * function gets a copy of its code in which the opcode byte of an
 * instruction that starts a common pair is replaced by the pair's opcode.
 * Nothing else changes: every word keeps its operands and its place, so pcs,
 * jumps, the line table and saved run states mean what they meant, and a
 * jump into the second instruction of a pair finds it intact.
 *
 * A superinstruction runs its pair only on its fast path (the kinds it
 * expects, budget for both); otherwise it "deopts": it runs the first
 * instruction alone, by its original opcode, and the second follows as
 * usual.  So errors, their lines and budget exhaustion are exactly the
 * original instructions', and each original instruction costs one.
 *
 * Q(NAME, FIRST, SECOND, "what it does")
 */
#define VM_QUICK_OPCODES(Q)                                                          \
    Q(LT_JMPF, LT, JMPF, "LT; JMPF on its R[A]: compare and branch")                 \
    Q(LT_JMPT, LT, JMPT, "LT; JMPT on its R[A]")                                     \
    Q(LE_JMPF, LE, JMPF, "LE; JMPF on its R[A]")                                     \
    Q(LE_JMPT, LE, JMPT, "LE; JMPT on its R[A]")                                     \
    Q(EQ_JMPF, EQ, JMPF, "EQ; JMPF on its R[A]")                                     \
    Q(EQ_JMPT, EQ, JMPT, "EQ; JMPT on its R[A]")                                     \
    Q(NE_JMPF, NE, JMPF, "NE; JMPF on its R[A]")                                     \
    Q(NE_JMPT, NE, JMPT, "NE; JMPT on its R[A]")                                     \
    Q(LT_JMPF_RET, LT, JMPF, "LT_JMPF whose jump lands on a RET of R[A]: returns")   \
    Q(LT_JMPT_RET, LT, JMPT, "LT_JMPT whose jump lands on a RET of R[A]: returns")   \
    Q(LE_JMPF_RET, LE, JMPF, "LE_JMPF whose jump lands on a RET of R[A]: returns")   \
    Q(LE_JMPT_RET, LE, JMPT, "LE_JMPT whose jump lands on a RET of R[A]: returns")   \
    Q(EQ_JMPF_RET, EQ, JMPF, "EQ_JMPF whose jump lands on a RET of R[A]: returns")   \
    Q(EQ_JMPT_RET, EQ, JMPT, "EQ_JMPT whose jump lands on a RET of R[A]: returns")   \
    Q(NE_JMPF_RET, NE, JMPF, "NE_JMPF whose jump lands on a RET of R[A]: returns")   \
    Q(NE_JMPT_RET, NE, JMPT, "NE_JMPT whose jump lands on a RET of R[A]: returns")   \
    Q(LT_RET, LT, RET, "LT; RET of its R[A]")                                        \
    Q(LE_RET, LE, RET, "LE; RET of its R[A]")                                        \
    Q(EQ_RET, EQ, RET, "EQ; RET of its R[A]")                                        \
    Q(NE_RET, NE, RET, "NE; RET of its R[A]")                                        \
    Q(IN_RET, IN, RET, "IN; RET of its R[A]")                                        \
    Q(LOADK_LOADK, LOADK, LOADK, "two loads")                                        \
    Q(LOADK_EVENT, LOADK, EVENT, "two loads")                                        \
    Q(LOADK_SIM, LOADK, SIM, "two loads")                                            \
    Q(EVENT_LOADK, EVENT, LOADK, "two loads")                                        \
    Q(EVENT_EVENT, EVENT, EVENT, "two loads")                                        \
    Q(EVENT_SIM, EVENT, SIM, "two loads")                                            \
    Q(SIM_LOADK, SIM, LOADK, "two loads")                                            \
    Q(SIM_EVENT, SIM, EVENT, "two loads")                                            \
    Q(SIM_SIM, SIM, SIM, "two loads")

/* Triples: T(NAME, FIRST, SECOND, THIRD, "what it does").  KOF_*: a whole
 * percent constant of a SIM or event field ("80% of sim.quota"), made only
 * when the LOADK's constant is a whole percent of at most 1e9 in magnitude
 * and the OF reads the two registers the loads write. */
#define VM_QUICK_TRIPLES(T)                                                          \
    T(KOF_SIM, LOADK, SIM, OF, "LOADK of a whole percent; SIM; OF of the two")       \
    T(KOF_EVENT, LOADK, EVENT, OF, "LOADK of a whole percent; EVENT; OF of the two")  \
    T(KOF_SIM_D, LOADK, SIM, OF, "KOF_SIM whose two loaded registers are dead after it") \
    T(KOF_EVENT_D, LOADK, EVENT, OF, "KOF_EVENT whose two loaded registers are dead after it")

/* A load before a KOF_*_D triple whose registers are dead, four
 * instructions in one dispatch: U(NAME, FIRST, TRIPLE, "what it does").  The
 * triple's word keeps its own opcode, for a jump that lands on it and for
 * the load's deopt. */
#define VM_QUICK_QUADS(U)                                                            \
    U(EVENT_KOF_SIM_D, EVENT, KOF_SIM_D, "EVENT; KOF_SIM_D")                         \
    U(EVENT_KOF_EVENT_D, EVENT, KOF_EVENT_D, "EVENT; KOF_EVENT_D")                   \
    U(SIM_KOF_SIM_D, SIM, KOF_SIM_D, "SIM; KOF_SIM_D")                               \
    U(SIM_KOF_EVENT_D, SIM, KOF_EVENT_D, "SIM; KOF_EVENT_D")

/* Single instructions with a faster form: S(NAME, ORIGINAL, "what it does"). */
#define VM_QUICK_SINGLES(S) \
    S(RETV, RET, "RET with B = 1: return R[A]")

typedef enum {
    QOP_BEFORE_ = OP_NOPCODES - 1,
#define Q_ENUM(name, first, second, doc) QOP_##name,
    VM_QUICK_OPCODES(Q_ENUM)
#undef Q_ENUM
#define T_ENUM(name, first, second, third, doc) QOP_##name,
    VM_QUICK_TRIPLES(T_ENUM)
#undef T_ENUM
#define S_ENUM(name, original, doc) QOP_##name,
    VM_QUICK_SINGLES(S_ENUM)
#undef S_ENUM
#define U_ENUM(name, first, triple, doc) QOP_##name,
    VM_QUICK_QUADS(U_ENUM)
#undef U_ENUM
    QOP_END
} QuickOp;

_Static_assert(QOP_END < 256, "opcodes are 8 bits, and 255 is unknown");

/* Per opcode (original or quickened): the original opcode of its first
 * instruction, which a deopt runs. */
static const uint8_t quick_first[256] = {
#define O_SELF(name, fmt, a, b, c, doc) [OP_##name] = OP_##name,
    FLOW_OPCODES(O_SELF)
#undef O_SELF
#define Q_FIRST(name, first, second, doc) [QOP_##name] = OP_##first,
    VM_QUICK_OPCODES(Q_FIRST)
#undef Q_FIRST
#define T_FIRST(name, first, second, third, doc) [QOP_##name] = OP_##first,
    VM_QUICK_TRIPLES(T_FIRST)
#undef T_FIRST
#define S_FIRST(name, original, doc) [QOP_##name] = OP_##original,
    VM_QUICK_SINGLES(S_FIRST)
#undef S_FIRST
#define U_FIRST(name, first, triple, doc) [QOP_##name] = OP_##first,
    VM_QUICK_QUADS(U_FIRST)
#undef U_FIRST
    [QOP_END ... 255] = 255,   /* unknown: stays unknown */
};

/* A 256-register set. */
typedef struct RegSet { uint64_t w[4]; } RegSet;

static inline void regs_add(RegSet *set, uint32_t r) { set->w[r >> 6] |= (uint64_t)1 << (r & 63); }
static inline bool regs_has(const RegSet *set, uint32_t r) { return set->w[r >> 6] >> (r & 63) & 1; }

/* The superinstruction for a pair of original instructions, or 0. */
static uint32_t quick_pair(uint32_t first, uint32_t second)
{
    Opcode a = INS_OP(first), b = INS_OP(second);
    /* a branch or a return must test or return the register the compare writes */
    if ((b == OP_JMPF || b == OP_JMPT) && INS_A(second) != INS_A(first)) return 0;
    if (b == OP_RET && (INS_B(second) != 1 || INS_A(second) != INS_A(first))) return 0;
#define Q_MATCH(name, first_, second_, doc) \
    if (a == OP_##first_ && b == OP_##second_) return QOP_##name;
    VM_QUICK_OPCODES(Q_MATCH)
#undef Q_MATCH
    return 0;
}

/* The superinstruction for three original instructions, or 0; k: the
 * function's constants (verified: LOADK's Bx is one of them). */
static uint32_t quick_triple(uint32_t first, uint32_t second, uint32_t third, const Value *k,
                             const RegSet *live_after)
{
    if (INS_OP(first) != OP_LOADK || INS_OP(third) != OP_OF) return 0;
    uint32_t p = INS_A(first), x = INS_A(second);
    if (p == x || INS_B(third) != p || INS_C(third) != x) return 0;
    const Value *pct = &k[INS_BX(first)];
    if (pct->tag != VAL_PERCENT || !(pct->as.f >= -1e9 && pct->as.f <= 1e9) ||
        (double)(int64_t)pct->as.f != pct->as.f)
        return 0;
    /* the loads' registers are dead when nothing reads them after the OF
     * (or the OF writes them) */
    uint32_t r = INS_A(third);
    bool dead = live_after && (p == r || !regs_has(live_after, p)) && (x == r || !regs_has(live_after, x));
    if (INS_OP(second) == OP_SIM) return dead ? QOP_KOF_SIM_D : QOP_KOF_SIM;
    if (INS_OP(second) == OP_EVENT) return dead ? QOP_KOF_EVENT_D : QOP_KOF_EVENT;
    return 0;
}

/* A compare-and-branch pair whose jump lands on a RET of the compare's
 * register returns there itself: its _RET form.  target: the original
 * instruction the jump lands on. */
static uint32_t quick_jump_ret(uint32_t quick, uint32_t first, uint32_t target)
{
    if (INS_OP(target) != OP_RET || INS_B(target) != 1 || INS_A(target) != INS_A(first)) return quick;
    switch (quick) {
    case QOP_LT_JMPF: return QOP_LT_JMPF_RET;
    case QOP_LT_JMPT: return QOP_LT_JMPT_RET;
    case QOP_LE_JMPF: return QOP_LE_JMPF_RET;
    case QOP_LE_JMPT: return QOP_LE_JMPT_RET;
    case QOP_EQ_JMPF: return QOP_EQ_JMPF_RET;
    case QOP_EQ_JMPT: return QOP_EQ_JMPT_RET;
    case QOP_NE_JMPF: return QOP_NE_JMPF_RET;
    case QOP_NE_JMPT: return QOP_NE_JMPT_RET;
    default: return quick;
    }
}

/* The faster form of a single instruction, or 0. */
static uint32_t quick_single(uint32_t ins)
{
    if (INS_OP(ins) == OP_RET && INS_B(ins) == 1) return QOP_RETV;
    return 0;
}

static void regs_add_range(RegSet *set, uint32_t first, uint32_t count)
{
    for (uint32_t r = first; r < first + count && r < 256; r++) regs_add(set, r);
}

/* The registers an instruction reads, and those it writes on every way out
 * (FORLOOP's item, written only when it jumps, is added at the jump). */
static void instruction_uses(uint32_t ins, RegSet *reads, RegSet *writes)
{
    Opcode op = INS_OP(ins);
    OpRoles roles = op_roles[op];
    uint32_t a = INS_A(ins), b = INS_B(ins), c = INS_C(ins);
    *reads = *writes = (RegSet){ { 0 } };
    switch (roles.a) {
    case OPR_REG:
        if (op == OP_JMPF || op == OP_JMPT || op == OP_LOG || op == OP_WAIT) regs_add(reads, a);
        else regs_add(writes, a);
        break;
    case OPR_REG3:
        regs_add(reads, a);
        if (op == OP_FORPREP) regs_add(writes, a + 1);
        else regs_add(reads, a + 1);
        break;
    case OPR_RANGE:
        regs_add_range(reads, a, c);
        if (op == OP_CALL || op == OP_CALLB) regs_add(writes, a);
        break;
    case OPR_NUM:
        if (op == OP_RET && b == 1) regs_add(reads, a);
        break;
    default: break;
    }
    if (roles.b == OPR_REG) regs_add(reads, b);
    else if (roles.b == OPR_RANGE) regs_add_range(reads, b, c);
    if (op_formats[op] == FMT_ABC && roles.c == OPR_REG) regs_add(reads, c);
}

/* Registers a call must set to nil: those some path may read before it
 * writes them.  The verifier's invariants hold (jumps land on instructions,
 * the last one is a terminator).  A function that can be on the stack at a
 * WAIT (it has a CALL or a WAIT) clears all of them, since vm_save writes
 * every register of every frame.  A forward "definitely written" analysis:
 * in(entry) = the parameters, in(x) = the intersection over its
 * predecessors of in(p) + what p writes; sets only shrink, so the worklist
 * ends. */
static int find_clear(const VmFunc *fn, RegSet *clear)
{
    uint32_t n = fn->ncode, cap = n;
    *clear = (RegSet){ { 0 } };
    for (uint32_t pc = 0; pc < n; pc++) {
        Opcode op = INS_OP(fn->original[pc]);
        if (op == OP_CALL || op == OP_WAIT) {
            regs_add_range(clear, fn->nparams, (uint32_t)(fn->nregs - fn->nparams));
            return 0;
        }
    }
    RegSet *in = malloc(n * sizeof *in);
    bool *seen = calloc(n, sizeof *seen);
    uint32_t *work = malloc(n * sizeof *work), nwork = 0;
    if (!in || !seen || !work) {
        free(in), free(seen), free(work);
        return -1;
    }
    in[0] = (RegSet){ { 0 } };
    regs_add_range(&in[0], 0, fn->nparams);
    seen[0] = true;
    work[nwork++] = 0;
    while (nwork) {
        uint32_t pc = work[--nwork];
        uint32_t ins = fn->original[pc];
        Opcode op = INS_OP(ins);
        RegSet reads, writes, out;
        instruction_uses(ins, &reads, &writes);
        for (int w = 0; w < 4; w++) {
            clear->w[w] |= reads.w[w] & ~in[pc].w[w];
            out.w[w] = in[pc].w[w] | writes.w[w];
        }
        uint32_t next[2], nnext = 0;
        bool jumps = op == OP_JMP || op == OP_JMPF || op == OP_JMPT || op == OP_FORPREP || op == OP_FORLOOP;
        bool falls = op != OP_JMP && op != OP_FORPREP && op != OP_RET && op != OP_STOP && op != OP_EXTRA;
        if (falls) next[nnext++] = pc + (op == OP_RECORD ? 2 : 1);
        if (jumps) next[nnext++] = (uint32_t)((int64_t)pc + 1 + INS_SBX(ins));
        for (uint32_t k = 0; k < nnext; k++) {
            uint32_t to = next[k];
            if (to >= n) continue;
            RegSet edge = out;
            if (op == OP_FORLOOP && k == nnext - 1) regs_add(&edge, INS_A(ins) + 2);
            bool changed = false;
            if (!seen[to]) {
                in[to] = edge;
                seen[to] = changed = true;
            } else {
                for (int w = 0; w < 4; w++) {
                    uint64_t meet = in[to].w[w] & edge.w[w];
                    changed |= meet != in[to].w[w];
                    in[to].w[w] = meet;
                }
            }
            if (changed) {
                /* a pc may sit in the list more than once: each push shrinks
                 * its set or is its first, so there are at most n * 257 */
                if (nwork == cap) {
                    uint32_t *grown = realloc(work, 2 * (size_t)cap * sizeof *work);
                    if (!grown) {
                        free(in), free(seen), free(work);
                        return -1;
                    }
                    work = grown;
                    cap *= 2;
                }
                work[nwork++] = to;
            }
        }
    }
    free(in), free(seen), free(work);
    return 0;
}

/* The registers live on entry to each instruction (read on some path
 * before being written), a backward analysis over the original code: the
 * fused instructions skip writes that nothing reads (see "Quickening").
 * Returns NULL for a function that can be on the stack at a WAIT (a CALL
 * or a WAIT in it), since vm_save writes every register of every frame,
 * or when out of memory: then every write is kept. */
static RegSet *find_live(const VmFunc *fn)
{
    uint32_t n = fn->ncode;
    for (uint32_t pc = 0; pc < n; pc++) {
        Opcode op = INS_OP(fn->original[pc]);
        if (op == OP_CALL || op == OP_WAIT) return NULL;
    }
    RegSet *live = calloc(n, sizeof *live);
    if (!live) return NULL;
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t pc = n; pc-- > 0;) {
            uint32_t ins = fn->original[pc];
            Opcode op = INS_OP(ins);
            if (op == OP_EXTRA) continue;
            RegSet reads, writes, out = { { 0 } }, in;
            bool jumps = op == OP_JMP || op == OP_JMPF || op == OP_JMPT || op == OP_FORPREP || op == OP_FORLOOP;
            bool falls = op != OP_JMP && op != OP_FORPREP && op != OP_RET && op != OP_STOP;
            uint32_t next = pc + (op == OP_RECORD ? 2 : 1);
            uint32_t target = jumps ? (uint32_t)((int64_t)pc + 1 + INS_SBX(ins)) : n;
            for (int w = 0; w < 4; w++) {
                if (falls && next < n) out.w[w] |= live[next].w[w];
                if (target < n) out.w[w] |= live[target].w[w];
            }
            instruction_uses(ins, &reads, &writes);
            for (int w = 0; w < 4; w++) {
                in.w[w] = reads.w[w] | (out.w[w] & ~writes.w[w]);
                changed |= in.w[w] != live[pc].w[w];
                live[pc].w[w] = in.w[w];
            }
        }
    }
    return live;
}

/* Budget.  The budget is charged by runs: a run is the straight line from
 * an instruction to the next instruction that transfers control (a jump,
 * a loop, a call, a return, stop or wait), which ends it.  Entering a run
 * at pc (a call, a jump, a return into the caller, a resume) charges all
 * runlen[pc] of its instructions at once when the budget holds them, and
 * the run's instructions then dispatch without a check.  When it does not,
 * the run goes "careful": every instruction is checked and charged on its
 * own, as if there were no runs, so the instruction that exhausts the
 * budget is the one blamed.  Work charged beyond one per instruction (IN,
 * deep EQ, CONCAT, the built-ins) and errors first give back what was
 * charged for the rest of the run (the run goes careful), so the budget is
 * exact at every check and after every call: vm_instructions and the
 * budget errors are those of charging one instruction at a time. */
static bool ends_run(Opcode op)
{
    switch (op) {
    case OP_JMP:
    case OP_JMPF:
    case OP_JMPT:
    case OP_FORPREP:
    case OP_FORLOOP:
    case OP_CALL:
    case OP_RET:
    case OP_STOP:
    case OP_WAIT: return true;
    default: return false;
    }
}

/* The quickened code and the clear list of a function. */
static int prepare_function(VmFunc *fn)
{
    RegSet clear;
    if (find_clear(fn, &clear) < 0) return -1;
    uint8_t *block = malloc(fn->ncode * sizeof(uint64_t) + fn->ncode * sizeof(uint32_t) + 256);
    if (!block) return -1;
    uint64_t *code = (uint64_t *)block;
    uint32_t *runlen = (uint32_t *)(code + fn->ncode);
    uint8_t *regs = (uint8_t *)(runlen + fn->ncode);
    for (uint32_t pc = fn->ncode; pc-- > 0;) {
        Opcode op = INS_OP(fn->original[pc]);
        uint32_t next = pc + (op == OP_RECORD ? 2 : 1);
        if (op == OP_EXTRA) runlen[pc] = 0;   /* never a run's start: jumps do not land here */
        else if (ends_run(op) || next >= fn->ncode) runlen[pc] = 1;
        else runlen[pc] = 1 + runlen[next];
    }
    /* from the end, so that a pair is not made of an instruction whose
     * successor starts a triple (the triple saves more) */
    RegSet *live = find_live(fn);
    bool next_triple = false;
    for (uint32_t pc = fn->ncode; pc-- > 0;) {
        uint32_t ins = fn->original[pc];
        uint32_t quick = 0;
        if (pc + 2 < fn->ncode) {
            const RegSet *after = live && pc + 3 < fn->ncode ? &live[pc + 3] : NULL;
            quick = quick_triple(ins, fn->original[pc + 1], fn->original[pc + 2], fn->k, after);
        }
        bool triple = quick != 0;
        if (!quick && !next_triple && pc + 1 < fn->ncode) {
            quick = quick_pair(ins, fn->original[pc + 1]);
            uint32_t jump = fn->original[pc + 1];
            if (quick && (INS_OP(jump) == OP_JMPF || INS_OP(jump) == OP_JMPT))
                quick = quick_jump_ret(quick, ins, fn->original[pc + 2 + INS_SBX(jump)]);
        }
        if (!quick) quick = quick_single(ins);
        if (!quick && next_triple && (INS_OP(ins) == OP_EVENT || INS_OP(ins) == OP_SIM)) {
            uint32_t t = (uint32_t)code[pc + 1] & 0xffu;
            bool event = INS_OP(ins) == OP_EVENT;
            if (t == QOP_KOF_SIM_D) quick = event ? QOP_EVENT_KOF_SIM_D : QOP_SIM_KOF_SIM_D;
            else if (t == QOP_KOF_EVENT_D) quick = event ? QOP_EVENT_KOF_EVENT_D : QOP_SIM_KOF_EVENT_D;
        }
        code[pc] = (uint64_t)runlen[pc] << 32 | (quick ? (ins & ~0xffu) | quick : ins);
        next_triple = triple;
    }
    free(live);
    uint32_t nclear = 0;
    for (uint32_t r = fn->nparams; r < fn->nregs; r++)
        if (regs_has(&clear, r)) regs[nclear++] = (uint8_t)r;
    fn->leaf = true;
    for (uint32_t pc = 0; pc < fn->ncode; pc++) {
        Opcode op = INS_OP(fn->original[pc]);
        if (op == OP_INPUT || op == OP_CTX || op == OP_CALL) fn->reads_item = true;
        if (op == OP_CALL || op == OP_WAIT) fn->leaf = false;
    }
    fn->code = code;
    fn->clear = regs;
    fn->nclear = (uint8_t)nclear;
    fn->setup = fn->nparams || nclear || fn->reads_item;
    fn->owned = block;
    return 0;
}

/* Functions, callees, record key sets and input maps of one module. */
static int prepare_module(VmProgram *p, VmModule *m, const Artifact *const *subs, size_t nsubs,
                          char *err, size_t errlen)
{
    const Artifact *art = m->art, *main_art = p->mods[0].art;
    m->funcs = calloc(art->nfunctions + 1, sizeof *m->funcs);
    m->callees = calloc(art->nfunctions + art->nimports + 1, sizeof *m->callees);
    m->keysets = calloc(art->nconstants + 1, sizeof *m->keysets);
    m->input_map = calloc(art->ninputs + 1, sizeof *m->input_map);
    if (!m->funcs || !m->callees || !m->keysets || !m->input_map) return snprintf(err, errlen, "out of memory"), -1;
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        const ArtFunction *af = &art->functions[f];
        m->funcs[f] = (VmFunc){ .original = af->code, .ncode = af->ncode,
                                .nparams = af->nparams, .nregs = af->nregs, .k = art->constants,
                                .mod = m, .index = f };
        if (prepare_function(&m->funcs[f]) < 0) return snprintf(err, errlen, "out of memory"), -1;
        m->callees[f] = &m->funcs[f];
        if (af->nregs > p->max_regs) p->max_regs = af->nregs;
    }
    for (uint32_t i = 0; i < art->ninputs; i++) {
        uint32_t k = 0;
        while (k < main_art->ninputs && strcmp(main_art->inputs[k].name, art->inputs[i].name) != 0) k++;
        if (k == main_art->ninputs || strcmp(main_art->inputs[k].type, art->inputs[i].type) != 0)
            return snprintf(err, errlen, "%s reads input %s, which %s does not declare as %s", art->name,
                            art->inputs[i].name, main_art->name, art->inputs[i].type), -1;
        m->input_map[i] = k;
    }
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        const ArtFunction *af = &art->functions[f];
        for (uint32_t pc = 0; pc + 1 < af->ncode; pc++) {
            if (INS_OP(af->code[pc]) != OP_RECORD) continue;
            uint32_t k = INS_BX(af->code[pc + 1]), n = INS_C(af->code[pc]);
            if (m->keysets[k]) continue;
            const VStr **keys = calloc(n + 1, sizeof *keys);
            if (!keys) return snprintf(err, errlen, "out of memory"), -1;
            for (uint32_t i = 0; i < n; i++) keys[i] = art->constants[k].as.l->items[i].as.s;
            m->keysets[k] = keys;
        }
    }
    return 0;
}

/* Imports resolve to the subs' functions once every module has its table. */
static int resolve_imports(VmProgram *p, VmModule *m, const Artifact *const *subs, size_t nsubs,
                           char *err, size_t errlen)
{
    const Artifact *art = m->art;
    for (uint32_t i = 0; i < art->nimports; i++) {
        const Artifact *sub = find_sub(subs, nsubs, art->imports[i].name);
        const VmModule *target = &p->mods[module_of(p, sub)];
        m->callees[art->nfunctions + i] = &target->funcs[sub->fn_sub];
    }
    for (uint32_t f = 0; f < art->nfunctions; f++) {
        const ArtFunction *af = &art->functions[f];
        for (uint32_t pc = 0; pc < af->ncode; pc++) {
            uint32_t ins = af->code[pc];
            if (INS_OP(ins) != OP_CALL || INS_B(ins) < art->nfunctions) continue;
            const VmFunc *callee = m->callees[INS_B(ins)];
            if (INS_C(ins) != callee->nparams)
                return snprintf(err, errlen, "%s calls %s with %u arguments; it takes %u", art->name,
                                callee->mod->art->name, INS_C(ins), callee->nparams), -1;
        }
    }
    return 0;
}

VmProgram *vm_program_new(const Artifact *main, const Artifact *const *subs, size_t nsubs,
                          char *err, size_t errlen)
{
    VmProgram *p = calloc(1, sizeof *p);
    const Artifact **found = calloc(nsubs + 1, sizeof *found);
    if (!p || !found) {
        free(p), free(found);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* the modules: main, then every sub reachable through imports */
    size_t nfound = 0;
    for (size_t scan = 0; scan <= nfound; scan++) {
        const Artifact *art = scan == 0 ? main : found[scan - 1];
        for (uint32_t i = 0; i < art->nimports; i++) {
            const ArtImport *imp = &art->imports[i];
            const Artifact *sub = find_sub(subs, nsubs, imp->name);
            if (!sub) {
                snprintf(err, errlen, "%s imports %s, which is not given", art->name, imp->name);
                goto fail;
            }
            if (strcmp(sub->signature, imp->signature) != 0) {
                snprintf(err, errlen, "%s imports %s %s, but the sub is %s", art->name, imp->name, imp->signature,
                         sub->signature);
                goto fail;
            }
            bool known = sub == main;
            for (size_t k = 0; k < nfound && !known; k++) known = found[k] == sub;
            if (!known) found[nfound++] = sub;
        }
    }
    p->nmods = (uint32_t)nfound + 1;
    p->mods = calloc(p->nmods, sizeof *p->mods);
    if (!p->mods) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    p->mods[0].art = main;
    for (size_t i = 0; i < nfound; i++) p->mods[i + 1].art = found[i];
    qsort(p->mods + 1, nfound, sizeof *p->mods, compare_checksums);
    for (uint32_t i = 0; i < p->nmods; i++)
        if (prepare_module(p, &p->mods[i], subs, nsubs, err, errlen) < 0) goto fail;
    for (uint32_t i = 0; i < p->nmods; i++)
        if (resolve_imports(p, &p->mods[i], subs, nsubs, err, errlen) < 0) goto fail;

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 32;
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < p->nmods; i++) EVP_DigestUpdate(md, p->mods[i].art->checksum, 32);
    EVP_DigestFinal_ex(md, p->fingerprint, &n);
    EVP_MD_CTX_free(md);
    free(found);
    return p;
fail:
    free(found);
    vm_program_free(p);
    return NULL;
}

/* ================================================================== runs */

static void *std_alloc(StdCtx *ctx, size_t size)
{
    return arena_alloc(&((VmStd *)ctx)->run->arena, size);
}

static int std_fail(StdCtx *ctx, const char *message)
{
    VmRun *run = ((VmStd *)ctx)->run;
    if (!run->std_failed) snprintf(run->std_message, sizeof run->std_message, "%s", message);
    run->std_failed = true;
    return -1;
}

static void std_charge(StdCtx *ctx, uint64_t instructions)
{
    VmRun *run = ((VmStd *)ctx)->run;
    run->budget = instructions > run->budget ? 0 : run->budget - instructions;
}

VmRun *vm_run_new(const VmProgram *program, const VmLimits *limits)
{
    VmRun *run = calloc(1, sizeof *run);
    if (!run) return NULL;
    run->program = program;
    run->main_funcs = program->mods[0].funcs;
    run->nmain = program->mods[0].art->nfunctions;
    vm_limits_default(&run->limits);
    if (limits) {
        if (limits->memory) run->limits.memory = limits->memory;
        if (limits->instructions) run->limits.instructions = limits->instructions;
        if (limits->call_depth > 0) run->limits.call_depth = limits->call_depth;
    }
    if (run->limits.call_depth > VM_MAX_CALL_DEPTH) run->limits.call_depth = VM_MAX_CALL_DEPTH;
    arena_init(&run->arena, run->limits.memory);
    run->stack_size = (uint32_t)run->limits.call_depth * (program->max_regs ? program->max_regs : 1);
    run->stack = calloc(run->stack_size, sizeof *run->stack);
    run->frames = calloc((size_t)run->limits.call_depth, sizeof *run->frames);
    fmt_init(&run->text);
    run->std = (VmStd){ { std_alloc, std_fail, std_charge }, run };
    if (!run->stack || !run->frames) {
        vm_run_free(run);
        return NULL;
    }
    return run;
}

void vm_run_free(VmRun *run)
{
    if (!run) return;
    arena_free(&run->arena);
    fmt_free(&run->text);
    free(run->stack);
    free(run->frames);
    free(run);
}

const VmError *vm_error(const VmRun *run) { return &run->error; }
int64_t vm_wait_seconds(const VmRun *run) { return run->wait_seconds; }
uint64_t vm_instructions(const VmRun *run) { return run->limits.instructions - run->budget; }

static void set_error(VmRun *run, const VmFunc *fn, uint32_t pc, VmErrorCode code, const char *fmt, ...)
    PRINTF_LIKE(5, 6);

/* Fills run->error with where the run was: artifact, function, line. */
static void set_error(VmRun *run, const VmFunc *fn, uint32_t pc, VmErrorCode code, const char *fmt, ...)
{
    VmError *e = &run->error;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    const Artifact *art = fn ? fn->mod->art : run->program->mods[0].art;
    e->artifact = art->name;
    e->function = fn ? art->functions[fn->index].name : NULL;
    e->line = fn ? art_line(art, fn->index, pc) : 0;
}

static void memory_error(VmRun *run, const VmFunc *fn, uint32_t pc)
{
    size_t mb = run->limits.memory / (1024 * 1024);
    if (mb * 1024 * 1024 == run->limits.memory)
        set_error(run, fn, pc, VMERR_MEMORY, "memory limit exceeded (%zu MB)", mb);
    else
        set_error(run, fn, pc, VMERR_MEMORY, "memory limit exceeded (%zu bytes)", run->limits.memory);
}

/* ========================================================== arithmetic */

/* Result tags of the unit arithmetic; VAL_NIL (0) marks a kind error.
 * Indexed by tag & 15: tags are < VAL_NTAGS <= 16. */
#define T16 [16][16]
static const uint8_t addi_tag T16 = {
    [VAL_INT][VAL_INT] = VAL_INT, [VAL_BYTES][VAL_BYTES] = VAL_BYTES,
    [VAL_DURATION][VAL_DURATION] = VAL_DURATION, [VAL_TIME][VAL_DURATION] = VAL_TIME,
    [VAL_DURATION][VAL_TIME] = VAL_TIME,
};
static const uint8_t subi_tag T16 = {
    [VAL_INT][VAL_INT] = VAL_INT, [VAL_BYTES][VAL_BYTES] = VAL_BYTES,
    [VAL_DURATION][VAL_DURATION] = VAL_DURATION, [VAL_TIME][VAL_DURATION] = VAL_TIME,
    [VAL_TIME][VAL_TIME] = VAL_DURATION,
};
static const uint8_t muli_tag T16 = {
    [VAL_INT][VAL_INT] = VAL_INT, [VAL_BYTES][VAL_INT] = VAL_BYTES, [VAL_INT][VAL_BYTES] = VAL_BYTES,
    [VAL_DURATION][VAL_INT] = VAL_DURATION, [VAL_INT][VAL_DURATION] = VAL_DURATION,
};
static const uint8_t divi_tag T16 = {
    [VAL_INT][VAL_INT] = VAL_INT, [VAL_BYTES][VAL_INT] = VAL_BYTES, [VAL_DURATION][VAL_INT] = VAL_DURATION,
};
static const uint8_t modi_tag T16 = {
    [VAL_INT][VAL_INT] = VAL_INT, [VAL_BYTES][VAL_BYTES] = VAL_BYTES,
    [VAL_DURATION][VAL_DURATION] = VAL_DURATION,
};
#define NUMS                                                              \
    [VAL_INT][VAL_INT] = VAL_FLOAT, [VAL_INT][VAL_FLOAT] = VAL_FLOAT, \
    [VAL_FLOAT][VAL_INT] = VAL_FLOAT, [VAL_FLOAT][VAL_FLOAT] = VAL_FLOAT
static const uint8_t addf_tag T16 = { NUMS, [VAL_PERCENT][VAL_PERCENT] = VAL_PERCENT };
static const uint8_t mulf_tag T16 = {
    NUMS, [VAL_PERCENT][VAL_INT] = VAL_PERCENT, [VAL_PERCENT][VAL_FLOAT] = VAL_PERCENT,
    [VAL_INT][VAL_PERCENT] = VAL_PERCENT, [VAL_FLOAT][VAL_PERCENT] = VAL_PERCENT,
};
static const uint8_t divf_tag T16 = {
    NUMS, [VAL_BYTES][VAL_BYTES] = VAL_FLOAT, [VAL_DURATION][VAL_DURATION] = VAL_FLOAT,
    [VAL_PERCENT][VAL_INT] = VAL_PERCENT, [VAL_PERCENT][VAL_FLOAT] = VAL_PERCENT,
    [VAL_PERCENT][VAL_PERCENT] = VAL_FLOAT,
};
/* MULR DIVR: an integral unit times or over a number */
static const uint8_t scale_tag T16 = {
    [VAL_INT][VAL_INT] = VAL_INT, [VAL_INT][VAL_FLOAT] = VAL_INT,
    [VAL_BYTES][VAL_INT] = VAL_BYTES, [VAL_BYTES][VAL_FLOAT] = VAL_BYTES,
    [VAL_DURATION][VAL_INT] = VAL_DURATION, [VAL_DURATION][VAL_FLOAT] = VAL_DURATION,
};
static const bool is_integral_tag[16] = {
    [VAL_INT] = true, [VAL_BYTES] = true, [VAL_DURATION] = true, [VAL_TIME] = true,
};

static const char *const tag_names[16] = {
    "nil", "bool", "int", "bytes", "duration", "time", "float", "percent", "string", "list", "record",
    "?", "?", "?", "?", "?",
};

static inline double as_double(const Value *v)
{
    return is_integral_tag[v->tag & 15] ? (double)v->as.i : v->as.f;
}

/* A double rounded half away from zero into an int64; false when out of range. */
static bool round_to_int(double x, int64_t *out)
{
    double r = round(x);
    if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0)) return false;
    *out = (int64_t)r;
    return true;
}

/* Whole percents (the common case) in int64 when the product fits; false
 * when the exact slow path must decide. */
static inline bool percent_of_whole(double p, int64_t x, int64_t *out)
{
    if (!(p >= -1e9 && p <= 1e9)) return false;
    int64_t whole = (int64_t)p, product, rounded;
    if ((double)whole != p || mul_overflows(x, whole, &product)) return false;
    /* half away from zero: push the magnitude by half of 100, then truncate */
    if (add_overflows(product, product < 0 ? -50 : 50, &rounded)) return false;
    *out = rounded / 100;
    return true;
}

/* p percent of the integral x, rounded half away from zero, exactly: p is
 * m * 2^e with an integral m, so x*p/100 = x*m*2^e/100 in 128-bit integers. */
static bool percent_of_integral(double p, int64_t x, int64_t *out)
{
    if (percent_of_whole(p, x, out)) return true;
    if (!isfinite(p)) return false;
    if (p == 0 || x == 0) {
        *out = 0;
        return true;
    }
#if defined(__SIZEOF_INT128__)
    int e;
    double fr = frexp(fabs(p), &e);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    e -= 53;
    int zeros = __builtin_ctzll(m);   /* m != 0: p is finite and not 0 */
    m >>= zeros;
    e += zeros;
    bool negative = (p < 0) != (x < 0);
    unsigned __int128 num = (unsigned __int128)(x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x) * m;
    unsigned __int128 den = 100;
    if (e > 0) {
        if (e > 60 || (num >> (120 - e)) != 0) return false;   /* far beyond int64 */
        num <<= e;
    } else if (e < 0) {
        if (-e > 120) {
            *out = 0;
            return true;
        }
        den <<= -e;
    }
    unsigned __int128 q = num / den, rem = num % den;
    if (rem >= den - rem) q++;   /* half away from zero, on the magnitude */
    if (q > (unsigned __int128)INT64_MAX + (negative ? 1 : 0)) return false;
    *out = negative ? (int64_t)(0 - (uint64_t)q) : (int64_t)q;
    return true;
#else
    long double r = (long double)x * p / 100.0L;
    return round_to_int((double)r, out);
#endif
}

/* Orders two values for LT/LE; false when they do not compare. */
static bool compare(const Value *b, const Value *c, int *order)
{
    if (b->tag == c->tag) {
        switch ((ValTag)b->tag) {
        case VAL_INT:
        case VAL_BYTES:
        case VAL_DURATION:
        case VAL_TIME: *order = (b->as.i > c->as.i) - (b->as.i < c->as.i); return true;
        case VAL_FLOAT:
        case VAL_PERCENT: *order = (b->as.f > c->as.f) - (b->as.f < c->as.f); return true;
        case VAL_STR: {
            uint32_t n = b->as.s->len < c->as.s->len ? b->as.s->len : c->as.s->len;
            int k = memcmp(b->as.s->data, c->as.s->data, n);
            *order = k ? (k > 0) - (k < 0) : (b->as.s->len > c->as.s->len) - (b->as.s->len < c->as.s->len);
            return true;
        }
        default: return false;
        }
    }
    if ((b->tag == VAL_INT || b->tag == VAL_FLOAT) && (c->tag == VAL_INT || c->tag == VAL_FLOAT)) {
        double x = as_double(b), y = as_double(c);
        *order = (x > y) - (x < y);
        return true;
    }
    return false;
}

static inline bool equal_fast(const Value *b, const Value *c)
{
    if (b->tag == c->tag) {
        if (is_integral_tag[b->tag & 15]) return b->as.i == c->as.i;
        if (b->tag == VAL_STR)
            return b->as.s == c->as.s ||
                   (b->as.s->len == c->as.s->len && memcmp(b->as.s->data, c->as.s->data, b->as.s->len) == 0);
        if (b->tag == VAL_BOOL) return b->as.b == c->as.b;
    }
    return val_equal(b, c);
}

/* *v = val_bool(b) (its payload's other bytes zero), stored directly:
 * val_bool's temporary made GCC zero a stack slot it never read. */
static inline void set_bool(Value *v, bool b)
{
    v->tag = VAL_BOOL;
    v->as.i = 0;
    v->as.b = b;
}

/* The fast paths of the superinstructions' compares: false when the
 * original instruction must decide (other kinds, a cost to charge, an error). */
static inline bool quick_order(const Value *b, const Value *c, bool or_equal, bool *r)
{
    /* the integral tags are VAL_INT..VAL_TIME: one compare, no table */
    if (b->tag != c->tag || b->tag - VAL_INT > VAL_TIME - VAL_INT) return false;
    *r = or_equal ? b->as.i <= c->as.i : b->as.i < c->as.i;
    return true;
}

static inline bool quick_equal(const Value *b, const Value *c, bool negate, bool *r)
{
    bool eq;
    if (b->tag != c->tag) return false;
    if (is_integral_tag[b->tag & 15]) eq = b->as.i == c->as.i;
    else if (b->tag == VAL_STR && b->as.s->len < STD_BYTES_PER_CHARGE)
        eq = b->as.s == c->as.s ||
             (b->as.s->len == c->as.s->len && memcmp(b->as.s->data, c->as.s->data, b->as.s->len) == 0);
    else if (b->tag == VAL_BOOL) eq = b->as.b == c->as.b;
    else return false;
    *r = eq != negate;
    return true;
}

/* Work of a deep comparison, for the budget: items of lists and records. */
static uint64_t equality_cost(const Value *v)
{
    if (v->tag == VAL_LIST) return v->as.l->len;
    if (v->tag == VAL_RECORD) return v->as.r->len;
    if (v->tag == VAL_STR) return v->as.s->len / STD_BYTES_PER_CHARGE;
    return 0;
}

static bool substring(const VStr *hay, const VStr *needle)
{
    if (needle->len > hay->len) return false;
    if (needle->len == 0) return true;
    for (uint32_t i = 0; i + needle->len <= hay->len; i++)
        if (hay->data[i] == needle->data[0] && memcmp(hay->data + i, needle->data, needle->len) == 0) return true;
    return false;
}

/* Do ACT's arguments follow the conventions of spec/artifact.md? */
static bool list_of_strings(const Value *v)
{
    if (v->tag != VAL_LIST) return false;
    for (uint32_t i = 0; i < v->as.l->len; i++)
        if (v->as.l->items[i].tag != VAL_STR) return false;
    return true;
}

static bool action_args_ok(ActionKind kind, const Value *a)
{
    switch (kind) {
    case ACT_EMAIL:
        return list_of_strings(&a[0]) && (a[1].tag == VAL_STR || a[1].tag == VAL_NIL) &&
               (a[2].tag == VAL_STR || a[2].tag == VAL_NIL) && (a[3].tag == VAL_STR || a[3].tag == VAL_NIL) &&
               (a[4].tag == VAL_NIL || list_of_strings(&a[4])) && (a[5].tag == VAL_NIL || list_of_strings(&a[5])) &&
               (a[6].tag == VAL_STR || a[6].tag == VAL_NIL);
    case ACT_WEBHOOK: return a[0].tag == VAL_STR && (a[1].tag == VAL_RECORD || a[1].tag == VAL_NIL);
    case ACT_TOPUP: return a[0].tag == VAL_BYTES;
    case ACT_TAG:
    case ACT_UNTAG: return a[0].tag == VAL_STR;
    default: return true;
    }
}

/* ================================================================= loop */

static int detach(VmRun *run);

/* With `start`, a call of it with args (vm_call's checks done); without, a
 * resume.  Runs from the top frame's pc until the bottom frame returns, the run
 * stops, waits or fails. */
static VmStatus fail_early(VmRun *run, VmErrorCode code, const char *message);

#define EXECUTE_RESUME INT32_MIN   /* execute's fn_index for vm_resume */

/* vm_call_batch's state: execute goes on to the next item where a call of
 * its own would return. */
typedef struct Batch {
    const VmBatchItem *items;
    uint64_t todo;            /* items not yet done, the current one (the lowest) included */
    uint64_t true_bits;
    const VmEnv *given;       /* the batch's env, as vm_call_batch got it */
    bool copied;              /* env holds a copy of *given */
    VmEnv env;                /* that copy, with the current item's inputs and ctx */
} Batch;

static inline int lowest_bit(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while (!(x & 1)) x >>= 1, n++;
    return n;
#endif
}

/* Binds the env of the batch's current item (its lowest bit), which only a
 * function that reads_item needs, into a copy of the batch's env made the
 * first time; returns that env.  The others run on the batch's env itself:
 * they read nothing of it that differs between items. */
static inline const VmEnv *batch_bind(Batch *b)
{
    const VmBatchItem *it = &b->items[lowest_bit(b->todo)];
    if (!b->copied) {
        b->env = *b->given;
        b->copied = true;
    }
    b->env.inputs = it->inputs;
    b->env.ninputs = it->ninputs;
    b->env.ctx[CTX_FLOW_NAME] = it->flow_name;
    b->env.ctx[CTX_FLOW_VERSION] = it->flow_version;
    return &b->env;
}

static VmStatus execute(VmRun *run, int32_t fn_index, const Value *call_args, int call_nargs,
                        const VmEnv *env, const VmHost *host, Value *result, Batch *batch)
{
    VmFrame *frame = NULL;    /* the top frame; unused by a leaf function at depth 1 */
    const VmFunc *fn;
    const uint64_t *code, *pc;
    Value *R;
    const Value *K;
    uint64_t budget;
    if (LIKELY(fn_index != EXECUTE_RESUME)) {
    start_call:
        /* vm_call's work, here rather than in vm_call so that the hot path
         * saves and restores the machine's registers once */
        /* run->budget is written on every way out */
        run->waiting = false;
        run->error.code = VMERR_NONE;
        run->error.message[0] = '\0';
        if (UNLIKELY(run->arena.used)) arena_reset(&run->arena);
        /* *result is written on every way out: the value, or nil */
        if (UNLIKELY((uint32_t)fn_index >= run->nmain)) {
            if (result) *result = val_nil();
            run->budget = run->limits.instructions;
            return fail_early(run, VMERR_TYPE, "no such function");
        }
        fn = &run->main_funcs[fn_index];
        R = run->stack;
        /* a condition has neither parameters nor registers to clear, and
         * most read nothing of their batch item's own env */
        if (UNLIKELY(call_nargs | fn->setup)) {
            if (UNLIKELY(call_nargs != fn->nparams)) {
                if (result) *result = val_nil();
                run->budget = run->limits.instructions;
                return fail_early(run, VMERR_TYPE, "wrong number of arguments");
            }
            for (int i = 0; i < call_nargs; i++) R[i] = call_args[i];
            for (uint32_t i = 0; i < fn->nclear; i++) R[fn->clear[i]] = val_nil();
            if (batch && fn->reads_item) env = batch_bind(batch);
        }
        /* the bottom frame is read only by CALL (its base, and its pc and
         * function on the way back), WAIT and what follows a WAIT (vm_save,
         * vm_resume): a leaf function, a condition, runs without writing it */
        if (UNLIKELY(!fn->leaf)) {
            frame = &run->frames[0];
            *frame = (VmFrame){ fn, 0, 0 };
        }
        run->depth = 1;
        code = pc = fn->code;
        K = fn->k;
        budget = run->limits.instructions;
    } else {
        frame = &run->frames[run->depth - 1];
        fn = frame->fn;
        code = fn->code;
        pc = code + frame->pc;
        R = run->stack + frame->base;
        K = fn->k;
        budget = run->budget;
    }
    uint32_t ins;
    Value ret;
    bool batch_true;          /* the returned value of a batch item is true */
    const char *op_text;

#ifdef VM_COMPUTED_GOTO
#define OP_LABEL(name, fmt, a, b, c, doc) &&L_##name,
#define Q_LABEL(name, first, second, doc) &&L_Q_##name,
#define T_LABEL(name, first, second, third, doc) &&L_Q_##name,
#define S_LABEL(name, original, doc) &&L_Q_##name,
#define U_LABEL(name, first, triple, doc) &&L_Q_##name,
    static const void *const labels[256] = { FLOW_OPCODES(OP_LABEL) VM_QUICK_OPCODES(Q_LABEL)
                                             VM_QUICK_TRIPLES(T_LABEL) VM_QUICK_SINGLES(S_LABEL)
                                             VM_QUICK_QUADS(U_LABEL)
                                             [QOP_END ... 255] = &&L_bad };
    /* a careful run (see "Budget"): every instruction checked and charged,
     * by its original opcode */
    static const void *const careful_labels[256] = { [0 ... 255] = &&L_careful };
#undef OP_LABEL
#undef Q_LABEL
#undef T_LABEL
#undef S_LABEL
#undef U_LABEL
    const void *const *disp = labels;
#define IS_CAREFUL() (disp != labels)
#define SET_CAREFUL(yes) (disp = (yes) ? careful_labels : labels)
#else
    bool careful = false;
#define IS_CAREFUL() careful
#define SET_CAREFUL(yes) (careful = (yes))
#endif
/* Enters the run at pc: charges it whole, or goes careful. */
#define ENTER_RUN()                                           \
    do {                                                      \
        uint32_t runlen_ = (uint32_t)(*pc >> 32);             \
        if (LIKELY(budget >= runlen_)) {                      \
            budget -= runlen_;                                \
            SET_CAREFUL(false);                               \
        } else {                                              \
            SET_CAREFUL(true);                                \
        }                                                     \
    } while (0)
/* Gives back what was charged for the rest of the run after the current
 * instruction: the budget is then exact, and the run careful until
 * ENTER_RUN charges what is left of it again. */
#define EXACT()                                                   \
    do {                                                          \
        if (!IS_CAREFUL()) budget += (uint32_t)(code[PC_NOW] >> 32) - 1; \
        SET_CAREFUL(true);                                        \
    } while (0)

#define RA (R[INS_A(ins)])
#define RB (R[INS_B(ins)])
#define RC (R[INS_C(ins)])
#define PC_NOW ((uint32_t)(pc - code - 1))
#define FAIL(code_, ...)                                        \
    do {                                                        \
        set_error(run, fn, PC_NOW, code_, __VA_ARGS__);         \
        goto failed;                                            \
    } while (0)
#define FAIL_KINDS(what) \
    FAIL(VMERR_TYPE, "%s of %s and %s", what, tag_names[RB.tag & 15], tag_names[RC.tag & 15])
#define FAIL_KIND(what, v) FAIL(VMERR_TYPE, "%s of a %s", what, tag_names[(v).tag & 15])
#define LOAD_FRAME()                                 \
    do {                                             \
        fn = frame->fn;                              \
        code = fn->code;                             \
        pc = code + frame->pc;                       \
        R = run->stack + frame->base;                \
        K = fn->k;                                   \
    } while (0)

    ENTER_RUN();
#ifdef VM_COMPUTED_GOTO
#define CASE(name) L_##name:
#define QCASE(name) L_Q_##name:
#define REDISPATCH() goto *labels[INS_OP(ins)]
#define NEXT()                                      \
    do {                                            \
        ins = (uint32_t)*pc++;                      \
        goto *disp[INS_OP(ins)];                    \
    } while (0)
    NEXT();
L_careful:
    if (UNLIKELY(budget == 0)) goto out_of_budget;   /* the instruction just fetched is blamed */
    budget--;
    ins = (ins & ~0xffu) | quick_first[INS_OP(ins)];
    goto *labels[INS_OP(ins)];
#else
#define CASE(name) case OP_##name:
#define QCASE(name) case QOP_##name:
#define NEXT() goto dispatch
#define REDISPATCH() goto redispatch
dispatch:
    ins = (uint32_t)*pc++;
    if (careful) {
        if (UNLIKELY(budget == 0)) goto out_of_budget;
        budget--;
        ins = (ins & ~0xffu) | quick_first[INS_OP(ins)];
    }
redispatch:
    switch ((uint32_t)INS_OP(ins)) {
#endif
/* A superinstruction off its fast path runs its first instruction alone. */
#define DEOPT()                                                \
    do {                                                       \
        ins = (ins & ~0xffu) | quick_first[INS_OP(ins)];       \
        REDISPATCH();                                          \
    } while (0)

    CASE(MOVE) RA = RB; NEXT();
    CASE(LOADK) RA = K[INS_BX(ins)]; NEXT();
    CASE(LOADB) RA = val_bool(INS_B(ins) != 0); NEXT();
    CASE(LOADNIL) RA = val_nil(); NEXT();
    CASE(EVENT)
        if (UNLIKELY(INS_B(ins) >= env->nevent)) FAIL(VMERR_TYPE, "event field %u is not given", INS_B(ins));
        RA = env->event[INS_B(ins)];
        NEXT();
    CASE(SIM)
        if (UNLIKELY(!env->sim)) FAIL(VMERR_TYPE, "no SIM for this event");
        RA = env->sim[INS_B(ins)];
        NEXT();
    CASE(INPUT) {
        uint32_t slot = fn->mod->input_map[INS_BX(ins)];
        if (UNLIKELY(slot >= env->ninputs)) FAIL(VMERR_TYPE, "input %u is not given", slot);
        RA = env->inputs[slot];
        NEXT();
    }
    CASE(CTX) RA = env->ctx[INS_B(ins)]; NEXT();

    CASE(ADDI) {
        uint8_t tag = addi_tag[RB.tag & 15][RC.tag & 15];
        int64_t r;
        if (UNLIKELY(!tag)) FAIL_KINDS("+");
        if (UNLIKELY(add_overflows(RB.as.i, RC.as.i, &r))) FAIL(VMERR_OVERFLOW, "overflow in +");
        RA = val_integral(tag, r);
        NEXT();
    }
    CASE(SUBI) {
        uint8_t tag = subi_tag[RB.tag & 15][RC.tag & 15];
        int64_t r;
        if (UNLIKELY(!tag)) FAIL_KINDS("-");
        if (UNLIKELY(sub_overflows(RB.as.i, RC.as.i, &r))) FAIL(VMERR_OVERFLOW, "overflow in -");
        RA = val_integral(tag, r);
        NEXT();
    }
    CASE(MULI) {
        uint8_t tag = muli_tag[RB.tag & 15][RC.tag & 15];
        int64_t r;
        if (UNLIKELY(!tag)) FAIL_KINDS("*");
        if (UNLIKELY(mul_overflows(RB.as.i, RC.as.i, &r))) FAIL(VMERR_OVERFLOW, "overflow in *");
        RA = val_integral(tag, r);
        NEXT();
    }
    CASE(DIVI) {
        uint8_t tag = divi_tag[RB.tag & 15][RC.tag & 15];
        if (UNLIKELY(!tag)) FAIL_KINDS("/");
        if (UNLIKELY(RC.as.i == 0)) FAIL(VMERR_DIV_ZERO, "division by zero");
        if (UNLIKELY(RC.as.i == -1 && RB.as.i == INT64_MIN)) FAIL(VMERR_OVERFLOW, "overflow in /");
        RA = val_integral(tag, RB.as.i / RC.as.i);
        NEXT();
    }
    CASE(MODI) {
        uint8_t tag = modi_tag[RB.tag & 15][RC.tag & 15];
        if (UNLIKELY(!tag)) FAIL_KINDS("mod");
        int64_t b = RB.as.i, c = RC.as.i;
        if (UNLIKELY(c == 0)) FAIL(VMERR_DIV_ZERO, "division by zero in mod");
        int64_t r = c == -1 ? 0 : b % c;
        if (r != 0 && (r < 0) != (c < 0)) r += c;
        RA = val_integral(tag, r);
        NEXT();
    }
    CASE(ADDF) op_text = "+"; { uint8_t tag = addf_tag[RB.tag & 15][RC.tag & 15]; if (UNLIKELY(!tag)) goto float_kinds; ret = val_real(tag, as_double(&RB) + as_double(&RC)); goto float_result; }
    CASE(SUBF) op_text = "-"; { uint8_t tag = addf_tag[RB.tag & 15][RC.tag & 15]; if (UNLIKELY(!tag)) goto float_kinds; ret = val_real(tag, as_double(&RB) - as_double(&RC)); goto float_result; }
    CASE(MULF) op_text = "*"; { uint8_t tag = mulf_tag[RB.tag & 15][RC.tag & 15]; if (UNLIKELY(!tag)) goto float_kinds; ret = val_real(tag, as_double(&RB) * as_double(&RC)); goto float_result; }
    CASE(DIVF) {
        op_text = "/";
        uint8_t tag = divf_tag[RB.tag & 15][RC.tag & 15];
        if (UNLIKELY(!tag)) goto float_kinds;
        double c = as_double(&RC);
        if (UNLIKELY(c == 0)) FAIL(VMERR_DIV_ZERO, "division by zero");
        ret = val_real(tag, as_double(&RB) / c);
        goto float_result;
    }
    CASE(MODF) {
        op_text = "mod";
        uint8_t tag = addf_tag[RB.tag & 15][RC.tag & 15];
        if (UNLIKELY(!tag)) goto float_kinds;
        double b = as_double(&RB), c = as_double(&RC);
        if (UNLIKELY(c == 0)) FAIL(VMERR_DIV_ZERO, "division by zero in mod");
        double r = fmod(b, c);
        if (r != 0 && (r < 0) != (c < 0)) r += c;
        ret = val_real(tag, r);
        goto float_result;
    }
    float_kinds:
        FAIL_KINDS(op_text);
    float_result:
        if (UNLIKELY(!isfinite(ret.as.f))) FAIL(VMERR_OVERFLOW, "overflow in %s", op_text);
        RA = ret;
        NEXT();
    CASE(MULR)
    CASE(DIVR) {
        bool mul = INS_OP(ins) == OP_MULR;
        uint8_t tag = scale_tag[RB.tag & 15][RC.tag & 15];
        int64_t r;
        if (UNLIKELY(!tag)) FAIL_KINDS(mul ? "*" : "/");
        double c = as_double(&RC);
        if (!mul && UNLIKELY(c == 0)) FAIL(VMERR_DIV_ZERO, "division by zero");
        double x = mul ? (double)RB.as.i * c : (double)RB.as.i / c;
        if (UNLIKELY(!round_to_int(x, &r))) FAIL(VMERR_OVERFLOW, "overflow in %s", mul ? "*" : "/");
        RA = val_integral(tag, r);
        NEXT();
    }
    CASE(OF) {
        if (UNLIKELY(RB.tag != VAL_PERCENT)) FAIL_KINDS("of");
        uint32_t tag = RC.tag;
        if (tag == VAL_INT || tag == VAL_BYTES || tag == VAL_DURATION) {
            int64_t r;
            if (UNLIKELY(!percent_of_whole(RB.as.f, RC.as.i, &r)) &&
                UNLIKELY(!percent_of_integral(RB.as.f, RC.as.i, &r)))
                FAIL(VMERR_OVERFLOW, "overflow in of");
            RA = val_integral(tag, r);
        } else if (tag == VAL_FLOAT || tag == VAL_PERCENT) {
            double r = RB.as.f * RC.as.f / 100.0;
            if (UNLIKELY(!isfinite(r))) FAIL(VMERR_OVERFLOW, "overflow in of");
            RA = val_real(tag, r);
        } else {
            FAIL_KINDS("of");
        }
        NEXT();
    }
    CASE(NEGI) {
        uint32_t tag = RB.tag;
        if (UNLIKELY(tag != VAL_INT && tag != VAL_BYTES && tag != VAL_DURATION)) FAIL_KIND("negation", RB);
        if (UNLIKELY(RB.as.i == INT64_MIN)) FAIL(VMERR_OVERFLOW, "overflow in negation");
        RA = val_integral(tag, -RB.as.i);
        NEXT();
    }
    CASE(NEGF) {
        uint32_t tag = RB.tag;
        if (UNLIKELY(tag != VAL_FLOAT && tag != VAL_PERCENT)) FAIL_KIND("negation", RB);
        RA = val_real(tag, -RB.as.f);
        NEXT();
    }

    CASE(EQ)
    CASE(NE) {
        uint64_t cost = equality_cost(&RB);
        if (UNLIKELY(cost)) {
            EXACT();
            if (cost > budget) goto out_of_budget;
            budget -= cost;
            ENTER_RUN();
        }
        bool eq = equal_fast(&RB, &RC);
        RA = val_bool(INS_OP(ins) == OP_EQ ? eq : !eq);
        NEXT();
    }
    CASE(LT)
    CASE(LE) {
        bool r;
        if (LIKELY(RB.tag == RC.tag && is_integral_tag[RB.tag & 15])) {
            r = INS_OP(ins) == OP_LT ? RB.as.i < RC.as.i : RB.as.i <= RC.as.i;
        } else {
            int order;
            if (UNLIKELY(!compare(&RB, &RC, &order))) FAIL_KINDS("comparison");
            r = INS_OP(ins) == OP_LT ? order < 0 : order <= 0;
        }
        RA = val_bool(r);
        NEXT();
    }
    CASE(NOT)
        if (UNLIKELY(RB.tag != VAL_BOOL)) FAIL_KIND("not", RB);
        RA = val_bool(!RB.as.b);
        NEXT();
    CASE(IN) {
        bool found = false;
        if (RC.tag == VAL_LIST) {
            const VList *l = RC.as.l;
            EXACT();
            if (l->len > budget) goto out_of_budget;
            budget -= l->len;
            ENTER_RUN();
            for (uint32_t i = 0; i < l->len && !found; i++) found = equal_fast(&RB, &l->items[i]);
        } else if (RC.tag == VAL_STR && RB.tag == VAL_STR) {
            uint64_t cost = RC.as.s->len / STD_BYTES_PER_CHARGE;
            EXACT();
            if (cost > budget) goto out_of_budget;
            budget -= cost;
            ENTER_RUN();
            found = substring(RC.as.s, RB.as.s);
        } else {
            FAIL_KINDS("in");
        }
        RA = val_bool(found);
        NEXT();
    }

    CASE(JMP) pc += INS_SBX(ins); ENTER_RUN(); NEXT();
    CASE(JMPF)
        if (UNLIKELY(RA.tag != VAL_BOOL)) FAIL_KIND("a condition", RA);
        if (!RA.as.b) pc += INS_SBX(ins);
        ENTER_RUN();
        NEXT();
    CASE(JMPT)
        if (UNLIKELY(RA.tag != VAL_BOOL)) FAIL_KIND("a condition", RA);
        if (RA.as.b) pc += INS_SBX(ins);
        ENTER_RUN();
        NEXT();
    CASE(FORPREP)
        if (UNLIKELY(RA.tag != VAL_LIST)) FAIL_KIND("a loop over", RA);
        R[INS_A(ins) + 1] = val_integral(VAL_INT, 0);
        pc += INS_SBX(ins);
        ENTER_RUN();
        NEXT();
    CASE(FORLOOP) {
        Value *list = &RA, *counter = list + 1;
        if (UNLIKELY(list->tag != VAL_LIST || counter->tag != VAL_INT || counter->as.i < 0))
            FAIL(VMERR_TYPE, "a loop's list or counter was overwritten");
        if ((uint64_t)counter->as.i < list->as.l->len) {
            counter[1] = list->as.l->items[counter->as.i];
            counter->as.i++;
            pc += INS_SBX(ins);
        }
        ENTER_RUN();
        NEXT();
    }
    CASE(CALL) {
        const VmFunc *callee = fn->mod->callees[INS_B(ins)];
        if (UNLIKELY(run->depth >= run->limits.call_depth))
            FAIL(VMERR_DEPTH, "call depth exceeded (%d)", run->limits.call_depth);
        uint32_t base = frame->base + fn->nregs;
        if (UNLIKELY(base + callee->nregs > run->stack_size))
            FAIL(VMERR_DEPTH, "call depth exceeded (%d)", run->limits.call_depth);
        Value *args = &RA, *callee_regs = run->stack + base;
        for (uint32_t i = 0; i < callee->nparams; i++) callee_regs[i] = args[i];
        for (uint32_t i = 0; i < callee->nclear; i++) callee_regs[callee->clear[i]] = val_nil();
        frame->pc = (uint32_t)(pc - code);
        frame = &run->frames[run->depth++];
        *frame = (VmFrame){ callee, 0, base };
        LOAD_FRAME();
        ENTER_RUN();
        NEXT();
    }
    CASE(CALLB) {
        const StdBuiltin *row = &std_builtins[INS_B(ins)];
        int nargs = (int)INS_C(ins);
        Value *args = &RA, out;
        for (int i = 0; i < nargs; i++)
            if (UNLIKELY(!std_accepts(row->params[i], &args[i])))
                FAIL(VMERR_TYPE, "argument %d of %s is a %s", i + 1, row->name, tag_names[args[i].tag & 15]);
        EXACT();
        run->budget = budget;
        run->std_failed = false;
        int rc = row->fn(&run->std.base, args, nargs, &out);
        budget = run->budget;
        if (UNLIKELY(rc != 0)) {
            if (run->std_failed) {
                set_error(run, fn, PC_NOW, VMERR_BUILTIN, "%s", run->std_message);
                goto failed;
            }
            memory_error(run, fn, PC_NOW);
            goto failed;
        }
        if (UNLIKELY(budget == 0)) goto out_of_budget;
        RA = out;
        ENTER_RUN();
        NEXT();
    }
    CASE(RET)
        ret = INS_B(ins) ? RA : val_nil();
    returning:
        if (--run->depth == 0) goto done;
        frame = &run->frames[run->depth - 1];
        LOAD_FRAME();
        R[INS_A(pc[-1])] = ret;
        ENTER_RUN();
        NEXT();
    CASE(STOP)
        ret = val_nil();
        run->depth = 0;
        goto done;

    CASE(LIST) {
        uint32_t n = INS_C(ins), depth = 1;
        Value *items = &RB;
        for (uint32_t i = 0; i < n; i++)
            if (val_depth(&items[i]) >= depth) depth = val_depth(&items[i]) + 1;
        if (UNLIKELY(depth > VAL_MAX_DEPTH)) FAIL(VMERR_MEMORY, "values nest deeper than %d", VAL_MAX_DEPTH);
        VList *l = arena_alloc(&run->arena, sizeof(VList) + n * sizeof(Value));
        if (UNLIKELY(!l)) goto out_of_memory;
        l->len = n;
        l->depth = depth;
        memcpy(l->items, items, n * sizeof(Value));
        RA = val_list(l);
        NEXT();
    }
    CASE(RECORD) {
        uint32_t n = INS_C(ins), depth = 1;
        const VStr *const *keys = fn->mod->keysets[INS_BX(*pc)];
        pc++;   /* the EXTRA word */
        Value *values = &RB;
        for (uint32_t i = 0; i < n; i++)
            if (val_depth(&values[i]) >= depth) depth = val_depth(&values[i]) + 1;
        if (UNLIKELY(depth > VAL_MAX_DEPTH)) FAIL(VMERR_MEMORY, "values nest deeper than %d", VAL_MAX_DEPTH);
        VRecord *r = arena_alloc(&run->arena, sizeof(VRecord) + n * sizeof(Value));
        if (UNLIKELY(!r)) goto out_of_memory;
        r->len = n;
        r->depth = depth;
        r->keys = keys;
        memcpy(r->values, values, n * sizeof(Value));
        RA = val_record(r);
        NEXT();
    }
    CASE(EXTRA) FAIL(VMERR_TYPE, "an EXTRA word was executed");
    CASE(GETFIELD)
        if (UNLIKELY(RB.tag != VAL_RECORD || INS_C(ins) >= RB.as.r->len))
            FAIL(VMERR_TYPE, "field %u of a %s", INS_C(ins), tag_names[RB.tag & 15]);
        RA = RB.as.r->values[INS_C(ins)];
        NEXT();
    CASE(INDEX)
        if (UNLIKELY(RB.tag != VAL_LIST || RC.tag != VAL_INT)) FAIL_KINDS("indexing");
        if (UNLIKELY(RC.as.i < 0 || (uint64_t)RC.as.i >= RB.as.l->len))
            FAIL(VMERR_INDEX, "index %" PRId64 " out of range for a list of %u", RC.as.i, RB.as.l->len);
        RA = RB.as.l->items[RC.as.i];
        NEXT();
    CASE(CONCAT) {
        FmtBuf *text = &run->text;
        fmt_reset(text);
        for (uint32_t i = 0; i < INS_C(ins); i++) fmt_value(text, &R[INS_B(ins) + i]);
        uint64_t cost = INS_C(ins) + text->len / STD_BYTES_PER_CHARGE;
        EXACT();
        if (cost > budget) goto out_of_budget;
        budget -= cost;
        if (UNLIKELY(text->truncated)) goto out_of_memory;
        run->budget = budget;
        const VStr *s = std_make_str(&run->std.base, text->data ? text->data : "", text->len);
        if (UNLIKELY(!s)) goto out_of_memory;
        RA = val_str(s);
        ENTER_RUN();
        NEXT();
    }

    CASE(ACT) {
        ActionKind kind = (ActionKind)INS_B(ins);
        char message[160] = "";
        if (UNLIKELY(!action_args_ok(kind, &RA)))
            FAIL(VMERR_TYPE, "the arguments of %s do not follow its conventions", cat_action_names[kind]);
        if (UNLIKELY(!host || !host->action)) FAIL(VMERR_HOST, "%s: this run cannot take actions", cat_action_names[kind]);
        uint32_t line = art_line(fn->mod->art, fn->index, PC_NOW);
        if (host->action(host->ctx, kind, &RA, (int)INS_C(ins), line, message, sizeof message) != 0)
            FAIL(VMERR_HOST, "%s: %s", cat_action_names[kind], message[0] ? message : "refused");
        NEXT();
    }
    CASE(LOG)
        if (UNLIKELY(RA.tag != VAL_STR)) FAIL_KIND("log", RA);
        if (host && host->log) host->log(host->ctx, RA.as.s->data, RA.as.s->len, art_line(fn->mod->art, fn->index, PC_NOW));
        NEXT();
    CASE(WAIT)
        if (UNLIKELY(RA.tag != VAL_DURATION)) FAIL_KIND("wait", RA);
        if (UNLIKELY(batch)) FAIL(VMERR_STATE, "a function called in a batch cannot wait");
        run->wait_seconds = RA.as.i > 0 ? RA.as.i : 0;
        frame->pc = (uint32_t)(pc - code);
        run->budget = budget;
        /* the registers may point into the embedder's env: make the run own them */
        if (result) *result = val_nil();
        if (detach(run) != 0) {
            memory_error(run, fn, PC_NOW);
            run->depth = 0;
            return VM_FAILED;
        }
        run->waiting = true;
        return VM_WAITING;

    /* ---- superinstructions (see "Quickening"); NEXT charged the first
     * instruction, each charges the second itself */
#define CMP_JUMP(name, test, jump_when)                 \
    QCASE(name) {                                       \
        bool r;                                         \
        if (UNLIKELY(!(test))) DEOPT();                 \
        set_bool(&RA, r);                               \
        uint32_t jump = *pc++;                          \
        if (r == (jump_when)) pc += INS_SBX(jump);      \
        ENTER_RUN();                                    \
        NEXT();                                         \
    }
    CMP_JUMP(LT_JMPF, quick_order(&RB, &RC, false, &r), false)
    CMP_JUMP(LT_JMPT, quick_order(&RB, &RC, false, &r), true)
    CMP_JUMP(LE_JMPF, quick_order(&RB, &RC, true, &r), false)
    CMP_JUMP(LE_JMPT, quick_order(&RB, &RC, true, &r), true)
    CMP_JUMP(EQ_JMPF, quick_equal(&RB, &RC, false, &r), false)
    CMP_JUMP(EQ_JMPT, quick_equal(&RB, &RC, false, &r), true)
    CMP_JUMP(NE_JMPF, quick_equal(&RB, &RC, true, &r), false)
    CMP_JUMP(NE_JMPT, quick_equal(&RB, &RC, true, &r), true)
#undef CMP_JUMP
    /* The jump lands on a RET of R[A]: a run of its own, of one
     * instruction, charged here; the frame's registers are not read after
     * its return, so R[A] is written only when the jump is not taken. */
#define CMP_JUMP_RET(name, test, jump_when)             \
    QCASE(name) {                                       \
        bool r;                                         \
        if (UNLIKELY(!(test))) DEOPT();                 \
        uint32_t jump = *pc++;                          \
        if (r == (jump_when)) {                         \
            if (LIKELY(budget >= 1)) {                  \
                budget -= 1;                            \
                if (LIKELY(batch && run->depth == 1)) { \
                    run->depth = 0;                     \
                    run->budget = budget;               \
                    batch_true = r;                     \
                    goto batch_next;                    \
                }                                       \
                set_bool(&ret, r);                      \
                goto returning;                         \
            }                                           \
            pc += INS_SBX(jump);                        \
        }                                               \
        set_bool(&RA, r);                               \
        ENTER_RUN();                                    \
        NEXT();                                         \
    }
    CMP_JUMP_RET(LT_JMPF_RET, quick_order(&RB, &RC, false, &r), false)
    CMP_JUMP_RET(LT_JMPT_RET, quick_order(&RB, &RC, false, &r), true)
    CMP_JUMP_RET(LE_JMPF_RET, quick_order(&RB, &RC, true, &r), false)
    CMP_JUMP_RET(LE_JMPT_RET, quick_order(&RB, &RC, true, &r), true)
    CMP_JUMP_RET(EQ_JMPF_RET, quick_equal(&RB, &RC, false, &r), false)
    CMP_JUMP_RET(EQ_JMPT_RET, quick_equal(&RB, &RC, false, &r), true)
    CMP_JUMP_RET(NE_JMPF_RET, quick_equal(&RB, &RC, true, &r), false)
    CMP_JUMP_RET(NE_JMPT_RET, quick_equal(&RB, &RC, true, &r), true)
#undef CMP_JUMP_RET
#define CMP_RET(name, test)                             \
    QCASE(name) {                                       \
        bool r;                                         \
        if (UNLIKELY(!(test))) DEOPT();                 \
        set_bool(&RA, r);                               \
        ret = RA;                                       \
        pc++;                                           \
        goto returning;                                 \
    }
    QCASE(RETV)
        ret = RA;
        goto returning;
    CMP_RET(LT_RET, quick_order(&RB, &RC, false, &r))
    CMP_RET(LE_RET, quick_order(&RB, &RC, true, &r))
    CMP_RET(EQ_RET, quick_equal(&RB, &RC, false, &r))
    CMP_RET(NE_RET, quick_equal(&RB, &RC, true, &r))
#undef CMP_RET
    QCASE(IN_RET) {
        /* an item of a list, charged one per item as IN is (the RET is
         * charged with the run) */
        if (UNLIKELY(RC.tag != VAL_LIST || RC.as.l->len > budget)) DEOPT();
        const VList *l = RC.as.l;
        bool found = false;
        for (uint32_t i = 0; i < l->len && !found; i++) found = equal_fast(&RB, &l->items[i]);
        budget -= l->len;
        set_bool(&RA, found);
        ret = RA;
        pc++;
        goto returning;
    }
#define LOAD_OK_LOADK(i) true
#define LOAD_OK_EVENT(i) (INS_B(i) < env->nevent)
#define LOAD_OK_SIM(i) (env->sim != NULL)
#define LOAD_LOADK(i) (R[INS_A(i)] = K[INS_BX(i)])
#define LOAD_EVENT(i) (R[INS_A(i)] = env->event[INS_B(i)])
#define LOAD_SIM(i) (R[INS_A(i)] = env->sim[INS_B(i)])
#define LOAD_PAIR(first, second)                                                              \
    QCASE(first##_##second) {                                                                 \
        uint32_t ins2 = *pc;                                                                  \
        if (UNLIKELY(!LOAD_OK_##first(ins) || !LOAD_OK_##second(ins2))) DEOPT();              \
        pc++;                                                                                 \
        LOAD_##first(ins);                                                                    \
        LOAD_##second(ins2);                                                                  \
        NEXT();                                                                               \
    }
    LOAD_PAIR(LOADK, LOADK)
    LOAD_PAIR(LOADK, EVENT)
    LOAD_PAIR(LOADK, SIM)
    LOAD_PAIR(EVENT, LOADK)
    LOAD_PAIR(EVENT, EVENT)
    LOAD_PAIR(EVENT, SIM)
    LOAD_PAIR(SIM, LOADK)
    LOAD_PAIR(SIM, EVENT)
    LOAD_PAIR(SIM, SIM)
#undef LOAD_PAIR
#undef LOAD_OK_LOADK
#undef LOAD_OK_EVENT
#undef LOAD_OK_SIM
#undef LOAD_LOADK
#undef LOAD_EVENT
#undef LOAD_SIM

    /* K% of a field: the LOADK's constant is a whole percent within 1e9
     * (quick_triple checked it), so the product is exact in int64 unless it
     * overflows, which the original OF decides.  Rounded half away from zero
     * as OF rounds, on the magnitude: (|product| + 50) / 100 in uint64 (no
     * overflow: |product| <= 2^63), an unsigned division by a constant,
     * which compiles to a multiply and a shift; the sign goes back on. */
#define LOAD_FIELD_SIM(i) (env->sim ? &env->sim[INS_B(i)] : NULL)
#define LOAD_FIELD_EVENT(i) (INS_B(i) < env->nevent ? &env->event[INS_B(i)] : NULL)
#define KOF(name, second, dead)                                                                \
    QCASE(name)                                                                                \
    KOF_BODY(second, dead)
#define KOF_BODY(second, dead)                                                                 \
    {                                                                                          \
        uint32_t load = pc[0], of = pc[1];                                                     \
        const Value *x = LOAD_FIELD_##second(load);                                            \
        int64_t product;                                                                       \
        if (UNLIKELY(!x)) DEOPT();                                                             \
        uint32_t tag = x->tag;                                                                 \
        if (UNLIKELY(tag - VAL_INT > VAL_DURATION - VAL_INT ||                                 \
                     mul_overflows(x->as.i, (int64_t)K[INS_BX(ins)].as.f, &product)))          \
            DEOPT();                                                                           \
        uint64_t sign = 0, q;                                                                  \
        if (LIKELY(product >= 0)) {                                                            \
            q = ((uint64_t)product + 50) / 100;                                                \
        } else {                                                                               \
            sign = UINT64_MAX;                                                                 \
            q = ((((uint64_t)product ^ sign) - sign) + 50) / 100;                              \
        }                                                                                      \
        pc += 2;                                                                               \
        if (!(dead)) {                                                                         \
            RA = K[INS_BX(ins)];                                                               \
            R[INS_A(load)] = *x;                                                               \
        }                                                                                      \
        R[INS_A(of)] = val_integral(tag, (int64_t)((q ^ sign) - sign));                        \
        NEXT();                                                                                \
    }
    KOF(KOF_SIM, SIM, false)
    KOF(KOF_EVENT, EVENT, false)
    KOF(KOF_SIM_D, SIM, true)       /* the loads' registers are dead: only the result is written */
    KOF(KOF_EVENT_D, EVENT, true)
    /* A load, then the KOF_*_D triple that follows it: the load's failure
     * deopts to the load alone; the triple's, once the load is done, to
     * the triple's LOADK. */
#define QUAD_OK_EVENT(i) (INS_B(i) < env->nevent)
#define QUAD_OK_SIM(i) (env->sim != NULL)
#define QUAD_LOAD_EVENT(i) (R[INS_A(i)] = env->event[INS_B(i)])
#define QUAD_LOAD_SIM(i) (R[INS_A(i)] = env->sim[INS_B(i)])
#define QUAD(name, first, second)                                                              \
    QCASE(name) {                                                                              \
        if (UNLIKELY(!QUAD_OK_##first(ins))) DEOPT();                                          \
        QUAD_LOAD_##first(ins);                                                                \
        ins = (uint32_t)*pc++;                                                                 \
    }                                                                                          \
    KOF_BODY(second, true)
    QUAD(EVENT_KOF_SIM_D, EVENT, SIM)
    QUAD(EVENT_KOF_EVENT_D, EVENT, EVENT)
    QUAD(SIM_KOF_SIM_D, SIM, SIM)
    QUAD(SIM_KOF_EVENT_D, SIM, EVENT)
#undef QUAD
#undef QUAD_OK_EVENT
#undef QUAD_OK_SIM
#undef QUAD_LOAD_EVENT
#undef QUAD_LOAD_SIM
#undef KOF_BODY
#undef KOF
#undef LOAD_FIELD_SIM
#undef LOAD_FIELD_EVENT

#ifdef VM_COMPUTED_GOTO
L_bad:
#else
    default: break;
    }
#endif
    FAIL(VMERR_TYPE, "unknown opcode %u", INS_OP(ins));

out_of_budget:
    set_error(run, fn, PC_NOW, VMERR_BUDGET, "instruction budget exceeded (%" PRIu64 " instructions)",
              run->limits.instructions);
    budget = 0;
    goto failed;
out_of_memory:
    memory_error(run, fn, PC_NOW);
failed:
    if (!IS_CAREFUL()) budget += (uint32_t)(code[PC_NOW] >> 32) - 1;   /* exact, as EXACT */
    run->budget = budget;
    run->depth = 0;
    if (result) *result = val_nil();
    return VM_FAILED;
done:
    run->budget = budget;
    if (batch) {
        batch_true = ret.tag == VAL_BOOL && ret.as.b;
    batch_next: {
        /* on to the next item: start_call refuses an fn out of range
         * (EXECUTE_RESUME included), as vm_call does */
        uint64_t todo = batch->todo, bit = todo & (0 - todo);
        if (batch_true) batch->true_bits |= bit;
        batch->todo = todo ^= bit;
        if (todo) {
            const VmBatchItem *it = &batch->items[lowest_bit(todo)];
            run = it->run;
            fn_index = it->fn;
            goto start_call;
        }
        return VM_DONE;
    }
    }
    if (result) memcpy(result, &ret, sizeof ret);   /* 16 bytes at once, padding and all */
    return VM_DONE;

#undef RA
#undef RB
#undef RC
#undef PC_NOW
#undef FAIL
#undef FAIL_KINDS
#undef FAIL_KIND
#undef LOAD_FRAME
#undef CASE
#undef QCASE
#undef NEXT
#undef REDISPATCH
#undef DEOPT
}

static const VmEnv empty_env;

static VmStatus fail_early(VmRun *run, VmErrorCode code, const char *message)
{
    set_error(run, NULL, 0, code, "%s", message);
    run->depth = 0;
    return VM_FAILED;
}

VmStatus vm_call(VmRun *run, int32_t fn_index, const Value *args, int nargs, const VmEnv *env,
                 const VmHost *host, Value *result)
{
    if (UNLIKELY(fn_index == EXECUTE_RESUME)) fn_index = -1;   /* no such function either way */
    return execute(run, fn_index, args, nargs, env ? env : &empty_env, host, result, NULL);
}

VmStatus vm_resume(VmRun *run, const VmEnv *env, const VmHost *host, Value *result)
{
    if (result) *result = val_nil();
    if (!run->waiting || run->depth == 0) return fail_early(run, VMERR_STATE, "the run is not waiting");
    run->waiting = false;
    run->error.code = VMERR_NONE;
    run->error.message[0] = '\0';
    run->budget = run->limits.instructions;
    return execute(run, EXECUTE_RESUME, NULL, 0, env ? env : &empty_env, host, result, NULL);
}

uint64_t vm_call_batch(const VmBatchItem *items, uint64_t which, const VmEnv *env, const VmHost *host,
                       uint64_t *failed)
{
    *failed = 0;
    if (!which) return 0;
    Batch b = { .items = items, .todo = which, .given = env ? env : &empty_env };
    const VmBatchItem *it = &items[lowest_bit(which)];
    if (execute(it->run, it->fn == EXECUTE_RESUME ? -1 : it->fn, NULL, 0, b.given, host, NULL, &b) != VM_DONE)
        *failed = b.todo & (0 - b.todo);
    return b.true_bits;
}

/* ============================================================ run state */

/* Objects (strings, lists, records) are written once each, children before
 * parents, and referred to by number; see spec/artifact.md. */

typedef struct ObjMap {
    const void **keys;
    uint32_t *ids;
    uint32_t cap, count;
} ObjMap;

typedef struct Saver {
    uint8_t *data;
    size_t len, cap;
    bool failed;
    ObjMap map;
} Saver;

static void save_put(Saver *s, const void *bytes, size_t n)
{
    if (s->failed) return;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        while (cap < s->len + n) cap *= 2;
        uint8_t *grown = realloc(s->data, cap);
        if (!grown) {
            s->failed = true;
            return;
        }
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, n);
    s->len += n;
}

static void save_u8(Saver *s, uint8_t v) { save_put(s, &v, 1); }

static void save_u32(Saver *s, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    save_put(s, b, 4);
}

static void save_u64(Saver *s, uint64_t v)
{
    save_u32(s, (uint32_t)v);
    save_u32(s, (uint32_t)(v >> 32));
}

static size_t map_slot(const ObjMap *m, const void *key)
{
    size_t h = ((uintptr_t)key >> 4) * 0x9e3779b97f4a7c15u;
    size_t i = h & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

static bool map_find(const ObjMap *m, const void *key, uint32_t *id)
{
    if (!m->cap) return false;
    size_t i = map_slot(m, key);
    if (!m->keys[i]) return false;
    *id = m->ids[i];
    return true;
}

static bool map_add(ObjMap *m, const void *key, uint32_t id)
{
    if ((m->count + 1) * 2 > m->cap) {
        ObjMap grown = { calloc(m->cap ? m->cap * 2 : 64, sizeof(void *)), calloc(m->cap ? m->cap * 2 : 64, sizeof(uint32_t)),
                         m->cap ? m->cap * 2 : 64, 0 };
        if (!grown.keys || !grown.ids) {
            free(grown.keys), free(grown.ids);
            return false;
        }
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t slot = map_slot(&grown, m->keys[i]);
                grown.keys[slot] = m->keys[i];
                grown.ids[slot] = m->ids[i];
                grown.count++;
            }
        free(m->keys), free(m->ids);
        *m = grown;
    }
    size_t slot = map_slot(m, key);
    m->keys[slot] = key;
    m->ids[slot] = id;
    m->count++;
    return true;
}

/* Writes the objects a value reaches (not yet written), then returns. */
static void save_objects(Saver *s, const Value *v);

static uint32_t save_object_of_str(Saver *s, const VStr *str)
{
    uint32_t id;
    if (map_find(&s->map, str, &id)) return id;
    id = s->map.count;
    save_u8(s, VAL_STR);
    save_u32(s, str->len);
    save_put(s, str->data, str->len);
    if (!map_add(&s->map, str, id)) s->failed = true;
    return id;
}

static void save_value(Saver *s, const Value *v)
{
    save_u8(s, (uint8_t)v->tag);
    uint32_t id = 0;
    switch ((ValTag)v->tag) {
    case VAL_NIL: break;
    case VAL_BOOL: save_u8(s, v->as.b ? 1 : 0); break;
    case VAL_INT:
    case VAL_BYTES:
    case VAL_DURATION:
    case VAL_TIME: save_u64(s, (uint64_t)v->as.i); break;
    case VAL_FLOAT:
    case VAL_PERCENT: {
        uint64_t bits;
        memcpy(&bits, &v->as.f, 8);
        save_u64(s, bits);
        break;
    }
    case VAL_STR:
    case VAL_LIST:
    case VAL_RECORD:
        if (!map_find(&s->map, v->as.s, &id)) s->failed = true;
        save_u32(s, id);
        break;
    default: s->failed = true;
    }
}

static void save_objects(Saver *s, const Value *v)
{
    uint32_t id;
    if (s->failed) return;
    if (v->tag == VAL_STR) {
        save_object_of_str(s, v->as.s);
    } else if (v->tag == VAL_LIST) {
        const VList *l = v->as.l;
        if (map_find(&s->map, l, &id)) return;
        for (uint32_t i = 0; i < l->len; i++) save_objects(s, &l->items[i]);
        save_u8(s, VAL_LIST);
        save_u32(s, l->len);
        for (uint32_t i = 0; i < l->len; i++) save_value(s, &l->items[i]);
        if (!map_add(&s->map, l, s->map.count)) s->failed = true;
    } else if (v->tag == VAL_RECORD) {
        const VRecord *r = v->as.r;
        if (map_find(&s->map, r, &id)) return;
        uint32_t *key_ids = malloc((r->len + 1) * sizeof *key_ids);
        if (!key_ids) {
            s->failed = true;
            return;
        }
        for (uint32_t i = 0; i < r->len; i++) key_ids[i] = save_object_of_str(s, r->keys[i]);
        for (uint32_t i = 0; i < r->len; i++) save_objects(s, &r->values[i]);
        save_u8(s, VAL_RECORD);
        save_u32(s, r->len);
        for (uint32_t i = 0; i < r->len; i++) save_u32(s, key_ids[i]);
        for (uint32_t i = 0; i < r->len; i++) save_value(s, &r->values[i]);
        free(key_ids);
        if (!map_add(&s->map, r, s->map.count)) s->failed = true;
    }
}

/* Registers in use: every frame's, up to the top frame's last. */
static uint32_t slots_in_use(const VmRun *run)
{
    const VmFrame *top = &run->frames[run->depth - 1];
    return top->base + top->fn->nregs;
}

int vm_save(const VmRun *run, uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    if (!run->waiting || run->depth == 0) return -1;
    Saver s = { 0 };
    save_put(&s, VM_STATE_MAGIC, 8);
    save_u32(&s, VM_STATE_VERSION);
    save_put(&s, run->program->fingerprint, 32);
    save_u64(&s, (uint64_t)run->wait_seconds);
    /* the object count is patched in once known */
    size_t count_at = s.len;
    save_u32(&s, 0);
    uint32_t nslots = slots_in_use(run);
    for (uint32_t i = 0; i < nslots; i++) save_objects(&s, &run->stack[i]);
    save_u32(&s, (uint32_t)run->depth);
    for (int i = 0; i < run->depth; i++) {
        const VmFrame *f = &run->frames[i];
        save_u32(&s, module_of(run->program, f->fn->mod->art));
        save_u32(&s, f->fn->index);
        save_u32(&s, f->pc);
    }
    save_u32(&s, nslots);
    for (uint32_t i = 0; i < nslots; i++) save_value(&s, &run->stack[i]);
    free(s.map.keys);
    free(s.map.ids);
    if (s.failed) {
        free(s.data);
        return -1;
    }
    uint32_t n = s.map.count;
    s.data[count_at] = (uint8_t)n, s.data[count_at + 1] = (uint8_t)(n >> 8);
    s.data[count_at + 2] = (uint8_t)(n >> 16), s.data[count_at + 3] = (uint8_t)(n >> 24);
    *bytes = s.data;
    *len = s.len;
    return 0;
}

typedef struct Loader {
    const uint8_t *data;
    size_t pos, len;
    char *err;
    size_t errlen;
    bool failed;
    Value *objects;           /* rebuilt objects, by id */
    uint32_t nobjects, done;
    Arena *arena;
} Loader;

static bool state_fail(Loader *l, const char *fmt, ...) PRINTF_LIKE(2, 3);

static bool state_fail(Loader *l, const char *fmt, ...)
{
    if (l->failed) return false;
    l->failed = true;
    int n = snprintf(l->err, l->errlen, "run state, offset %zu: ", l->pos);
    if (n > 0 && (size_t)n < l->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool load_need(Loader *l, size_t n)
{
    if (l->failed) return false;
    if (n > l->len - l->pos) return state_fail(l, "truncated");
    return true;
}

static uint8_t load_u8(Loader *l) { return load_need(l, 1) ? l->data[l->pos++] : 0; }

static uint32_t load_u32(Loader *l)
{
    if (!load_need(l, 4)) return 0;
    const uint8_t *b = l->data + l->pos;
    l->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t load_u64(Loader *l)
{
    uint64_t lo = load_u32(l), hi = load_u32(l);
    return lo | hi << 32;
}

/* A value whose objects, if any, are among the first `known` rebuilt. */
static bool load_value(Loader *l, Value *out, uint32_t known)
{
    uint8_t tag = load_u8(l);
    if (l->failed) return false;
    switch ((ValTag)tag) {
    case VAL_NIL: *out = val_nil(); return true;
    case VAL_BOOL: {
        uint8_t b = load_u8(l);
        if (b > 1) return state_fail(l, "a bool is %u", b);
        *out = val_bool(b);
        return !l->failed;
    }
    case VAL_INT:
    case VAL_BYTES:
    case VAL_DURATION:
    case VAL_TIME: *out = val_integral(tag, (int64_t)load_u64(l)); return !l->failed;
    case VAL_FLOAT:
    case VAL_PERCENT: {
        uint64_t bits = load_u64(l);
        double f;
        memcpy(&f, &bits, 8);
        *out = val_real(tag, f);
        return !l->failed;
    }
    case VAL_STR:
    case VAL_LIST:
    case VAL_RECORD: {
        uint32_t id = load_u32(l);
        if (l->failed) return false;
        if (id >= known) return state_fail(l, "object %u referred to before it is defined", id);
        if (l->objects[id].tag != tag) return state_fail(l, "object %u is not a %s", id, tag_names[tag]);
        *out = l->objects[id];
        return true;
    }
    default: return state_fail(l, "unknown value tag %u", tag);
    }
}

static bool load_object(Loader *l, uint32_t id)
{
    uint8_t kind = load_u8(l);
    uint32_t n = load_u32(l);
    if (l->failed) return false;
    if (kind == VAL_STR) {
        if (!load_need(l, n)) return false;
        VStr *s = arena_alloc(l->arena, sizeof(VStr) + (size_t)n + 1);
        if (!s) return state_fail(l, "the run's memory limit is exceeded");
        s->len = n;
        memcpy(s->data, l->data + l->pos, n);
        l->pos += n;
        l->objects[id] = val_str(s);
        return true;
    }
    if (kind == VAL_LIST) {
        if (n > l->len - l->pos) return state_fail(l, "a list of %u items cannot fit", n);
        VList *list = arena_alloc(l->arena, sizeof(VList) + (size_t)n * sizeof(Value));
        if (!list) return state_fail(l, "the run's memory limit is exceeded");
        list->len = n;
        list->depth = 1;
        for (uint32_t i = 0; i < n; i++) {
            if (!load_value(l, &list->items[i], id)) return false;
            if (val_depth(&list->items[i]) >= list->depth) list->depth = val_depth(&list->items[i]) + 1;
        }
        if (list->depth > VAL_MAX_DEPTH) return state_fail(l, "values nest deeper than %d", VAL_MAX_DEPTH);
        l->objects[id] = val_list(list);
        return true;
    }
    if (kind == VAL_RECORD) {
        if (n > (l->len - l->pos) / 5) return state_fail(l, "a record of %u fields cannot fit", n);
        VRecord *r = arena_alloc(l->arena, sizeof(VRecord) + (size_t)n * sizeof(Value));
        const VStr **keys = arena_alloc(l->arena, ((size_t)n + 1) * sizeof *keys);
        if (!r || !keys) return state_fail(l, "the run's memory limit is exceeded");
        r->len = n;
        r->depth = 1;
        r->keys = keys;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t key = load_u32(l);
            if (l->failed) return false;
            if (key >= id || l->objects[key].tag != VAL_STR) return state_fail(l, "a record key is not a string object");
            keys[i] = l->objects[key].as.s;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (!load_value(l, &r->values[i], id)) return false;
            if (val_depth(&r->values[i]) >= r->depth) r->depth = val_depth(&r->values[i]) + 1;
        }
        if (r->depth > VAL_MAX_DEPTH) return state_fail(l, "values nest deeper than %d", VAL_MAX_DEPTH);
        l->objects[id] = val_record(r);
        return true;
    }
    return state_fail(l, "unknown object kind %u", kind);
}

/* Restores into `run` from bytes, all or nothing: on failure the run is
 * left not waiting. */
static int restore(VmRun *run, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
    const VmProgram *p = run->program;
    Loader l = { .data = bytes, .len = len, .err = err, .errlen = errlen, .arena = &run->arena };
    run->waiting = false;
    run->depth = 0;
    if (!load_need(&l, 8) || memcmp(bytes, VM_STATE_MAGIC, 8) != 0) return state_fail(&l, "not a Flow run state"), -1;
    l.pos = 8;
    uint32_t version = load_u32(&l);
    if (!l.failed && version != VM_STATE_VERSION) return state_fail(&l, "version %u, this VM reads %d", version, VM_STATE_VERSION), -1;
    if (!load_need(&l, 32)) return -1;
    if (memcmp(bytes + l.pos, p->fingerprint, 32) != 0) return state_fail(&l, "saved by another program"), -1;
    l.pos += 32;
    int64_t wait = (int64_t)load_u64(&l);
    uint32_t nobjects = load_u32(&l);
    if (l.failed) return -1;
    if (nobjects > (len - l.pos) / 5 || nobjects > run->limits.memory / 16)
        return state_fail(&l, "%u objects cannot fit", nobjects), -1;
    l.objects = calloc((size_t)nobjects + 1, sizeof *l.objects);
    if (!l.objects) return state_fail(&l, "out of memory"), -1;
    l.nobjects = nobjects;
    int rc = -1;
    for (uint32_t id = 0; id < nobjects; id++)
        if (!load_object(&l, id)) goto out;
    uint32_t nframes = load_u32(&l);
    if (l.failed) goto out;
    if (nframes == 0 || nframes > (uint32_t)run->limits.call_depth) {
        state_fail(&l, "%u frames (the limit is %d)", nframes, run->limits.call_depth);
        goto out;
    }
    uint32_t base = 0;
    for (uint32_t i = 0; i < nframes; i++) {
        uint32_t mod = load_u32(&l), f = load_u32(&l), pc = load_u32(&l);
        if (l.failed) goto out;
        if (mod >= p->nmods || (i == 0 && mod != 0)) {
            state_fail(&l, "frame %u: module %u out of range", i, mod);
            goto out;
        }
        const VmModule *m = &p->mods[mod];
        if (f >= m->art->nfunctions) {
            state_fail(&l, "frame %u: function %u out of range", i, f);
            goto out;
        }
        const VmFunc *fn = &m->funcs[f];
        bool top = i + 1 == nframes;
        if (pc == 0 || pc >= fn->ncode || INS_OP(fn->original[pc - 1]) != (top ? OP_WAIT : OP_CALL)) {
            state_fail(&l, "frame %u: pc %u does not follow a %s", i, pc, top ? "WAIT" : "CALL");
            goto out;
        }
        if (i > 0) {
            const VmFrame *caller = &run->frames[i - 1];
            uint32_t call = caller->fn->original[caller->pc - 1];
            if (caller->fn->mod->callees[INS_B(call)] != fn) {
                state_fail(&l, "frame %u: not the function its caller calls", i);
                goto out;
            }
        }
        if ((uint64_t)base + fn->nregs > run->stack_size) {
            state_fail(&l, "frame %u: the registers exceed the stack", i);
            goto out;
        }
        run->frames[i] = (VmFrame){ fn, pc, base };
        base += fn->nregs;
    }
    uint32_t nslots = load_u32(&l);
    if (l.failed) goto out;
    if (nslots != base) {
        state_fail(&l, "%u registers, the frames have %u", nslots, base);
        goto out;
    }
    for (uint32_t i = 0; i < nslots; i++)
        if (!load_value(&l, &run->stack[i], nobjects)) goto out;
    if (l.pos != len) {
        state_fail(&l, "%zu bytes after the end", len - l.pos);
        goto out;
    }
    run->depth = (int)nframes;
    run->wait_seconds = wait < 0 ? 0 : wait;
    run->waiting = true;
    rc = 0;
out:
    free(l.objects);
    return rc;
}

int vm_restore(VmRun *run, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
    arena_reset(&run->arena);
    run->error.code = VMERR_NONE;
    if (restore(run, bytes, len, err, errlen) != 0) {
        arena_reset(&run->arena);
        run->depth = 0;
        return -1;
    }
    return 0;
}

/* Re-homes a waiting run's values into its own arena (by a save and a
 * restore), so that nothing it holds points into the embedder's env. */
static int detach(VmRun *run)
{
    uint8_t *bytes;
    size_t len;
    char err[128];
    run->waiting = true;
    int rc = vm_save(run, &bytes, &len);
    if (rc == 0) {
        arena_reset(&run->arena);
        rc = restore(run, bytes, len, err, sizeof err);
        free(bytes);
    }
    run->waiting = false;
    return rc;
}
