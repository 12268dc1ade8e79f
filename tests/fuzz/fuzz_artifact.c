/*
 * fuzz_artifact.c - libFuzzer target for the artifact loader and the VM.
 *
 * Each input is loaded as is, and again with its length field and checksum
 * made right (so that mutations reach the verifier rather than the checksum).
 * What loads must: encode back to the very same bytes (the format is
 * canonical), disassemble, link, and run every function under small limits
 * without crashing.  Build: clang -fsanitize=fuzzer,address,undefined.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vm/artifact.h"
#include "../../vm/vm.h"

static FILE *devnull;

static void run_all(const Artifact *art)
{
    char err[256];
    VmProgram *program = vm_program_new(art, NULL, 0, err, sizeof err);
    if (!program) return;
    VmLimits limits = { 1u << 20, 20000, 16 };
    VmRun *run = vm_run_new(program, &limits);
    Value nils[256] = { 0 };   /* arguments (up to 250), event and SIM fields */
    Value inputs[ART_MAX_INPUTS] = { 0 };
    VmEnv env = { nils, 2 + 4, nils, inputs, art->ninputs, { { 0 } } };
    for (uint32_t f = 0; run && f < art->nfunctions; f++) {
        Value result;
        VmStatus st = vm_call(run, (int32_t)f, nils, art->functions[f].nparams, &env, NULL, &result);
        if (st == VM_WAITING) {
            uint8_t *bytes;
            size_t len;
            if (vm_save(run, &bytes, &len) == 0) {
                if (vm_restore(run, bytes, len, err, sizeof err) == 0) vm_resume(run, &env, NULL, &result);
                free(bytes);
            }
        }
    }
    vm_run_free(run);
    vm_program_free(program);
}

static void exercise(const uint8_t *data, size_t size)
{
    Artifact *art = NULL;
    char err[256];
    if (art_load(data, size, &art, err, sizeof err) != 0) return;
    uint8_t *again;
    size_t len;
    if (art_encode(art, &again, &len, err, sizeof err) != 0 || len != size || memcmp(again, data, size) != 0) abort();
    free(again);
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (devnull) art_disassemble(art, devnull);
    run_all(art);
    art_free(art);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exercise(data, size);
    if (size < 48 || size > ART_MAX_BYTES) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    fixed[12] = (uint8_t)size, fixed[13] = (uint8_t)(size >> 8);
    fixed[14] = (uint8_t)(size >> 16), fixed[15] = (uint8_t)(size >> 24);
    unsigned int n = 32;
    EVP_Digest(fixed, size - 32, fixed + size - 32, &n, EVP_sha256(), NULL);
    exercise(fixed, size);
    free(fixed);
    return 0;
}
