/*
 * vm.h - the sandboxed interpreter and its embedding API.
 *
 * A VmProgram is a verified flow or sub artifact linked with the sub
 * artifacts it imports.  A VmRun executes one function of it at a time with
 * its own arena (memory cap), instruction budget and call-depth limit.  The
 * VM does no I/O: event and SIM fields, inputs and context arrive as values
 * in a VmEnv, and everything leaving the run (actions, log lines) goes
 * through the VmHost callbacks the embedder supplies.
 */
#ifndef FLOW_VM_H
#define FLOW_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stdlib/catalog.h"
#include "../stdlib/value.h"
#include "artifact.h"
#include "opcodes.h"

#define VM_DEFAULT_MEMORY (16u * 1024u * 1024u)
#define VM_DEFAULT_INSTRUCTIONS 1000000u
#define VM_DEFAULT_CALL_DEPTH 64
#define VM_MAX_CALL_DEPTH 1024       /* limits.call_depth is clamped to this */

/* The run-state format of vm_save (spec/artifact.md, "Run state"). */
#define VM_STATE_MAGIC "FLOWRUN\0"   /* 8 bytes */
#define VM_STATE_VERSION 1

typedef struct VmLimits {
    size_t memory;             /* bytes of the run's arena */
    uint64_t instructions;     /* instructions per vm_call or vm_resume */
    int call_depth;
} VmLimits;

void vm_limits_default(VmLimits *limits);
/* A limit of 0 in what vm_run_new is given means its default. */

typedef enum {
    VM_DONE,      /* the function returned, or the run reached `stop` */
    VM_WAITING,   /* the run reached `wait`: save it, resume it later */
    VM_FAILED     /* a runtime error: see vm_error */
} VmStatus;

typedef enum {
    VMERR_NONE,
    VMERR_BUDGET,        /* instruction budget exceeded */
    VMERR_MEMORY,        /* memory cap exceeded */
    VMERR_DEPTH,         /* call depth exceeded */
    VMERR_DIV_ZERO,
    VMERR_OVERFLOW,      /* integer or unit arithmetic out of range */
    VMERR_INDEX,         /* list index out of range */
    VMERR_TYPE,          /* a value of the wrong kind (a corrupt or mislinked program) */
    VMERR_BUILTIN,       /* a built-in refused its arguments */
    VMERR_HOST,          /* a host callback refused */
    VMERR_STATE          /* a saved state that does not fit the program */
} VmErrorCode;

typedef struct VmError {
    VmErrorCode code;
    char message[256];         /* "division by zero" */
    const char *artifact;      /* name of the flow or sub the error is in */
    const char *function;
    uint32_t line;             /* source line, 0 when unknown */
} VmError;

typedef struct VmProgram VmProgram;
typedef struct VmRun VmRun;

/* The values a run reads.  The arrays and what they point at are the
 * embedder's and must stay valid while a call or resume is under way. */
typedef struct VmEnv {
    const Value *event;        /* EVF_ICCID, EVF_TIME, then the payload in catalog order */
    uint32_t nevent;
    const Value *sim;          /* SIM_NFIELDS values, or NULL for events without a SIM */
    const Value *inputs;       /* in the order of the flow artifact's input table */
    uint32_t ninputs;
    Value ctx[CTX_NSLOTS];     /* now, flow.name, flow.version, run.id */
} VmEnv;

typedef struct VmHost {
    void *ctx;
    /* An action; args as ACT's conventions (spec/artifact.md).  The values
     * live in the run's arena: copy what must outlive the call.  Return 0, or
     * -1 to fail the run with VMERR_HOST and `message`. */
    int (*action)(void *ctx, ActionKind action, const Value *args, int nargs,
                  uint32_t line, char *message, size_t message_size);
    void (*log)(void *ctx, const char *text, size_t len, uint32_t line);
} VmHost;

/* Links a flow or sub artifact with the sub artifacts named by its imports
 * (and theirs, transitively: pass them all).  The program borrows the
 * artifacts.  Returns NULL with err set when an import is missing or its
 * signature differs. */
VmProgram *vm_program_new(const Artifact *main, const Artifact *const *subs, size_t nsubs,
                          char *err, size_t errlen);
void vm_program_free(VmProgram *program);
const Artifact *vm_program_main(const VmProgram *program);

VmRun *vm_run_new(const VmProgram *program, const VmLimits *limits);
void vm_run_free(VmRun *run);

/* Runs function `fn` of the main artifact from its start with `args`
 * (nargs of them) and fresh limits, forgetting any earlier state.  On
 * VM_DONE *result holds the return value (nil for a `do` body). */
VmStatus vm_call(VmRun *run, int32_t fn, const Value *args, int nargs, const VmEnv *env,
                 const VmHost *host, Value *result);

/* One function of a batch (vm_call_batch): function `fn` of `run`'s main
 * artifact, called without arguments, with the batch's env but these
 * inputs and this flow.name and flow.version (env->ctx). */
typedef struct VmBatchItem {
    VmRun *run;
    int32_t fn;
    uint32_t ninputs;
    const Value *inputs;
    Value flow_name, flow_version;
} VmBatchItem;

/* Calls items[i] for every bit i of `which` (so at most 64 items), lowest
 * first, in one entry into the VM: the event, SIM, time and host are bound
 * once.  Each call is exactly vm_call(run, fn, NULL, 0, env', host, &r) with
 * env' as above: fresh limits of its own run (budget, memory, depth), its
 * errors in its run.  Meant for conditions: a function that reaches `wait`
 * fails (VMERR_STATE).  Returns the bits of the calls that returned true (a
 * bool); the calls stop at the first that fails: *failed gets its bit (0
 * when none failed; vm_error of its run says why, until that run is used
 * again), and the bits above it are not called. */
uint64_t vm_call_batch(const VmBatchItem *items, uint64_t which, const VmEnv *env, const VmHost *host,
                       uint64_t *failed);

/* After VM_WAITING: the seconds the run waits for. */
int64_t vm_wait_seconds(const VmRun *run);

/* Continues a waiting run (the embedder has refreshed env: sim, now). */
VmStatus vm_resume(VmRun *run, const VmEnv *env, const VmHost *host, Value *result);

const VmError *vm_error(const VmRun *run);

/* Serializes a waiting run: frames, pcs, registers and every value they
 * reach.  Returns 0 with malloc'd bytes, or -1. */
int vm_save(const VmRun *run, uint8_t **bytes, size_t *len);

/* Restores a state saved by vm_save into a fresh run of the same program
 * (checked by the artifacts' checksums); untrusted bytes are validated.
 * Returns 0, or -1 with err set. */
int vm_restore(VmRun *run, const uint8_t *bytes, size_t len, char *err, size_t errlen);

/* Instructions executed by the last call or resume. */
uint64_t vm_instructions(const VmRun *run);

#endif
