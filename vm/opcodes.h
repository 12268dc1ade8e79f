/*
 * opcodes.h - the instruction set of the Flow VM, defined once.
 *
 * Instructions are 32-bit words: the opcode in the low 8 bits, then A (8),
 * then either B (8) and C (8), or Bx (16, unsigned), or sBx (Bx - 32767).
 * R[x] is register x of the current frame, K[x] constant x of the artifact.
 *
 * One X-macro line per opcode: OP(NAME, format, "what it does").  The enum,
 * the names, the dispatch table, the verifier's operand rules and the
 * disassembler are all generated from this list, so they cannot drift.
 * The order affects the dispatch table's cache behaviour: measure with
 * `make bench` before reordering.
 */
#ifndef FLOW_OPCODES_H
#define FLOW_OPCODES_H

#include <stdint.h>

/* Operand formats; the verifier checks each operand by its role. */
typedef enum {
    FMT_ABC,   /* A B C */
    FMT_ABX,   /* A register, Bx an index */
    FMT_ASBX,  /* A register (or unused), sBx a jump offset */
} OpFormat;

/* Operand roles, one per operand (A, B, then C or Bx/sBx): the verifier's
 * rules and the disassembler's rendering come from these.
 *   UNUSED  must be 0
 *   REG     a register < nregs
 *   REG3    registers x, x+1, x+2 (a for loop's list, counter and item)
 *   RANGE   registers x .. x+C-1 (x <= nregs when C is 0); CALL and CALLB
 *           also write R[A], so there A < nregs
 *   COUNT   the count of a RANGE
 *   CONST   a constant index < nconstants
 *   JUMP    pc + 1 + sBx lands on an instruction of the function
 *   NUM     a number the opcode's own rule checks (field, function, ...) */
typedef enum { OPR_UNUSED, OPR_REG, OPR_REG3, OPR_RANGE, OPR_COUNT, OPR_CONST, OPR_JUMP, OPR_NUM } OpRole;

/* OP(NAME, format, role of A, role of B, role of C/Bx, "what it does").
 * Jumps are relative to the next instruction: the target is pc + 1 + sBx. */
#define FLOW_OPCODES(OP)                                                                 \
    /* ---- loads ---- */                                                                \
    OP(MOVE, FMT_ABC, REG, REG, UNUSED, "R[A] = R[B]")                                   \
    OP(LOADK, FMT_ABX, REG, UNUSED, CONST, "R[A] = K[Bx]")                               \
    OP(LOADB, FMT_ABC, REG, NUM, UNUSED, "R[A] = bool B (0 or 1)")                       \
    OP(LOADNIL, FMT_ABC, REG, UNUSED, UNUSED, "R[A] = nil")                              \
    OP(EVENT, FMT_ABC, REG, NUM, UNUSED, "R[A] = event field B: 0 iccid, 1 time, 2+i payload field i") \
    OP(SIM, FMT_ABC, REG, NUM, UNUSED, "R[A] = SIM field B (SimField)")                  \
    OP(INPUT, FMT_ABX, REG, UNUSED, NUM, "R[A] = input Bx of the artifact's input table") \
    OP(CTX, FMT_ABC, REG, NUM, UNUSED, "R[A] = context B: 0 now, 1 flow.name, 2 flow.version, 3 run.id") \
    /* ---- arithmetic ---- */                                                           \
    OP(ADDI, FMT_ABC, REG, REG, REG, "R[A] = R[B] + R[C], int64, error on overflow; unit by table") \
    OP(SUBI, FMT_ABC, REG, REG, REG, "R[A] = R[B] - R[C], int64, error on overflow; time-time is duration") \
    OP(MULI, FMT_ABC, REG, REG, REG, "R[A] = R[B] * R[C], int64, error on overflow")     \
    OP(DIVI, FMT_ABC, REG, REG, REG, "R[A] = R[B] / R[C], int64 truncated, error on zero or overflow") \
    OP(MODI, FMT_ABC, REG, REG, REG, "R[A] = R[B] mod R[C], int64, sign of the divisor, error on zero") \
    OP(ADDF, FMT_ABC, REG, REG, REG, "R[A] = R[B] + R[C] as doubles; unit by table")     \
    OP(SUBF, FMT_ABC, REG, REG, REG, "R[A] = R[B] - R[C] as doubles")                    \
    OP(MULF, FMT_ABC, REG, REG, REG, "R[A] = R[B] * R[C] as doubles")                    \
    OP(DIVF, FMT_ABC, REG, REG, REG, "R[A] = R[B] / R[C] as doubles (bytes/bytes is float); error on zero") \
    OP(MODF, FMT_ABC, REG, REG, REG, "R[A] = R[B] mod R[C] as doubles, error on zero")   \
    OP(MULR, FMT_ABC, REG, REG, REG, "R[A] = round(R[B] * R[C]): integral R[B] times a float R[C], unit of R[B]") \
    OP(DIVR, FMT_ABC, REG, REG, REG, "R[A] = round(R[B] / R[C]): integral R[B] over a float R[C], unit of R[B]") \
    OP(OF, FMT_ABC, REG, REG, REG, "R[A] = R[B] percent of R[C]; integral R[C] rounds to nearest, unit of R[C]") \
    OP(NEGI, FMT_ABC, REG, REG, UNUSED, "R[A] = -R[B], int64, error on overflow")        \
    OP(NEGF, FMT_ABC, REG, REG, UNUSED, "R[A] = -R[B], double")                          \
    /* ---- comparison and logic ---- */                                                 \
    OP(EQ, FMT_ABC, REG, REG, REG, "R[A] = R[B] == R[C] (deep)")                         \
    OP(NE, FMT_ABC, REG, REG, REG, "R[A] = R[B] != R[C] (deep)")                         \
    OP(LT, FMT_ABC, REG, REG, REG, "R[A] = R[B] < R[C]: numbers, times, strings (bytewise)") \
    OP(LE, FMT_ABC, REG, REG, REG, "R[A] = R[B] <= R[C]")                                \
    OP(NOT, FMT_ABC, REG, REG, UNUSED, "R[A] = not R[B]")                                \
    OP(IN, FMT_ABC, REG, REG, REG, "R[A] = R[B] in R[C]: an item of a list, or a substring of a string") \
    /* ---- control ---- */                                                              \
    OP(JMP, FMT_ASBX, UNUSED, UNUSED, JUMP, "pc += sBx")                                 \
    OP(JMPF, FMT_ASBX, REG, UNUSED, JUMP, "if not R[A] then pc += sBx")                  \
    OP(JMPT, FMT_ASBX, REG, UNUSED, JUMP, "if R[A] then pc += sBx")                      \
    OP(FORPREP, FMT_ASBX, REG3, UNUSED, JUMP, "R[A+1] = 0; pc += sBx (to the loop's FORLOOP); R[A] is a list") \
    OP(FORLOOP, FMT_ASBX, REG3, UNUSED, JUMP, "if R[A+1] < len R[A] then R[A+2] = R[A][R[A+1]], R[A+1] += 1, pc += sBx") \
    OP(CALL, FMT_ABC, RANGE, NUM, COUNT, "R[A] = function B (or import B - nfunctions) of R[A..A+C-1]") \
    OP(CALLB, FMT_ABC, RANGE, NUM, COUNT, "R[A] = built-in B of R[A..A+C-1]; B is a row of std_builtins") \
    OP(RET, FMT_ABC, NUM, NUM, UNUSED, "return R[A] if B is 1 (A a register), else nothing (A is 0)") \
    OP(STOP, FMT_ABC, UNUSED, UNUSED, UNUSED, "end the run, from any depth")             \
    /* ---- values ---- */                                                               \
    OP(LIST, FMT_ABC, REG, RANGE, COUNT, "R[A] = a list of R[B..B+C-1]")                 \
    OP(RECORD, FMT_ABC, REG, RANGE, COUNT, "R[A] = a record of R[B..B+C-1]; its keys: the list of strings K[next word's Bx]") \
    OP(EXTRA, FMT_ABX, UNUSED, UNUSED, CONST, "the operand Bx of the instruction before; never executed") \
    OP(GETFIELD, FMT_ABC, REG, REG, NUM, "R[A] = field C of the record R[B]")            \
    OP(INDEX, FMT_ABC, REG, REG, REG, "R[A] = R[B][R[C]]: 0-based, error when out of range") \
    OP(CONCAT, FMT_ABC, REG, RANGE, COUNT, "R[A] = R[B] .. R[B+C-1] as text, each formatted by its unit") \
    /* ---- the way out ---- */                                                          \
    OP(ACT, FMT_ABC, RANGE, NUM, COUNT, "action B (ActionKind) with the arguments R[A..A+C-1]") \
    OP(LOG, FMT_ABC, REG, UNUSED, UNUSED, "log the string R[A]")                         \
    OP(WAIT, FMT_ABC, REG, UNUSED, UNUSED, "park the run for R[A] seconds; the embedder resumes it")

typedef enum {
#define OP_ENUM(name, fmt, a, b, c, doc) OP_##name,
    FLOW_OPCODES(OP_ENUM)
#undef OP_ENUM
    OP_NOPCODES
} Opcode;

/* Instruction fields. */
#define INS_OP(i) ((Opcode)((i) & 0xffu))
#define INS_A(i) (((i) >> 8) & 0xffu)
#define INS_B(i) (((i) >> 16) & 0xffu)
#define INS_C(i) (((i) >> 24) & 0xffu)
#define INS_BX(i) (((i) >> 16) & 0xffffu)
#define INS_SBX(i) ((int32_t)INS_BX(i) - 32767)
#define SBX_MAX 32768
#define SBX_MIN (-32767)

#define INS_ABC(op, a, b, c) \
    ((uint32_t)(op) | ((uint32_t)(a) << 8) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 24))
#define INS_ABX(op, a, bx) ((uint32_t)(op) | ((uint32_t)(a) << 8) | ((uint32_t)(bx) << 16))
#define INS_ASBX(op, a, sbx) INS_ABX(op, a, (uint32_t)((sbx) + 32767))

/* Context slots of OP_CTX. */
enum { CTX_NOW, CTX_FLOW_NAME, CTX_FLOW_VERSION, CTX_RUN_ID, CTX_NSLOTS };

/* Event field numbering of OP_EVENT. */
enum { EVF_ICCID, EVF_TIME, EVF_PAYLOAD };

extern const char *const op_names[OP_NOPCODES];
extern const OpFormat op_formats[OP_NOPCODES];
extern const char *const op_docs[OP_NOPCODES];
/* The roles of each opcode's operands A, B and C (or Bx/sBx). */
typedef struct OpRoles { uint8_t a, b, c; } OpRoles;
extern const OpRoles op_roles[OP_NOPCODES];

#endif
