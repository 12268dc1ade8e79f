/*
 * fuzz_frontend.c - libFuzzer target for the front end: the input bytes are
 * one source file; it is parsed and checked, and everything is freed.  Any
 * crash, sanitizer report, leak or hang is a bug.
 */
#include <stddef.h>
#include <stdint.h>

#include "lang/ast.h"
#include "lang/check.h"
#include "lang/diag.h"
#include "lang/parse.h"
#include "lang/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SourceSet sources;
    DiagSink diags;
    Program prog;
    src_init(&sources);
    diag_init(&diags, &sources);
    ast_program_init(&prog, &sources);
    int file = src_add_text(&sources, "fuzz.flow", (const char *)data, size);
    if (file >= 0) {
        parse_file(&prog, &diags, (uint32_t)file);
        chk_program(&prog, &diags);
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            diag_print(&diags, sink);
            ast_dump(&prog, sink);
            fclose(sink);
        }
    }
    ast_program_free(&prog);
    diag_free(&diags);
    src_free(&sources);
    return 0;
}
