/*
 * artifact.h - a compiled flow or sub: its in-memory form, its bytes, and
 * the verifying loader.
 *
 * The compiler fills an Artifact and calls art_encode; the runtime calls
 * art_load, which decodes AND verifies (spec/artifact.md lists every check)
 * before anything may run.  Same Artifact, same bytes.
 */
#ifndef FLOW_ARTIFACT_H
#define FLOW_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../stdlib/arena.h"
#include "../stdlib/catalog.h"
#include "../stdlib/value.h"

#define ART_MAGIC "FLOWART\0"        /* 8 bytes */
#define ART_FORMAT_VERSION 1

/* Bounds the loader enforces on untrusted artifacts. */
#define ART_MAX_BYTES (16u * 1024u * 1024u)
#define ART_MAX_FUNCTIONS 256
#define ART_MAX_CODE 65536           /* instructions per function */
#define ART_MAX_CONSTANTS 65535
#define ART_MAX_REGISTERS 250
#define ART_MAX_INPUTS 256
#define ART_MAX_IMPORTS 64
#define ART_MAX_SCOPE_ITEMS 1000000
#define ART_MAX_STRING (1u << 20)
#define ART_MAX_NESTING 32           /* lists/records inside constants */
#define ART_MAX_VALUES (1u << 20)    /* values in constants and defaults, items included */

typedef enum { ART_FLOW, ART_SUB } ArtKind;

/* The number of arguments ACT passes for each ActionKind (spec/artifact.md):
 * email 7 (recipients, subject, text, html, cc, bcc, smtp; nil when absent),
 * webhook 2 (url, params record or nil), topup 1 (bytes), tag/untag 1
 * (string), suspend/resume/renew 0. */
extern const uint8_t art_action_nargs[ACT_NACTIONS];

/* The scope clause, as data. */
typedef enum { ART_SCOPE_ALL, ART_SCOPE_ICCIDS, ART_SCOPE_TAGS, ART_SCOPE_PACKAGE, ART_SCOPE_POOL } ArtScopeKind;
typedef enum { ART_REPEAT_EDGE, ART_REPEAT_EVERY, ART_REPEAT_AFTER } ArtRepeat;

typedef struct ArtFunction {
    const char *name;          /* "do", "when", "rearm", "date", or the sub's name */
    uint8_t nparams;
    uint8_t nregs;             /* frame size, params first */
    uint32_t ncode;
    uint32_t *code;
    uint32_t *lines;           /* source line of each instruction */
} ArtFunction;

typedef struct ArtInput {
    const char *name;
    const char *type;          /* written form: "list<email>" */
    bool has_default;
    Value dflt;                /* when has_default */
} ArtInput;

/* A sub this artifact calls; CALL's B - nfunctions indexes these. */
typedef struct ArtImport {
    const char *name;
    const char *signature;     /* "(string, int) -> bool"; linking compares it */
} ArtImport;

typedef struct Artifact {
    ArtKind kind;
    char compiler_version[32];
    uint8_t source_sha256[32];     /* of the whole source file */
    const char *source_name;       /* file name, no directories */
    const char *source_text;       /* the declaration's text */
    uint32_t source_first_line;    /* line of source_text's first line in the file */

    const char *name;
    const char *title;             /* "" when none */

    /* flows only */
    const char *event;             /* catalog name */
    int32_t at_minutes;            /* on date: minutes after midnight; -1 */
    const char *cron;              /* on schedule: the expression; "" otherwise */
    ArtScopeKind scope;
    const char **scope_items;      /* iccids or tags; package/pool: one name */
    uint32_t nscope_items;
    ArtRepeat repeat;
    int64_t repeat_after;          /* seconds, ART_REPEAT_AFTER */
    bool has_active_from, has_active_until;
    int64_t active_from, active_until;   /* unix seconds */
    int64_t active_for;            /* seconds; 0 when none (until = from or deploy + for) */
    int32_t fn_do, fn_when, fn_rearm, fn_date;   /* function indices; -1 when absent */

    /* subs only */
    const char *signature;         /* "(string) -> nothing" */
    int32_t fn_sub;

    ArtInput *inputs;
    uint32_t ninputs;
    ArtImport *imports;
    uint32_t nimports;
    Value *constants;
    uint32_t nconstants;
    ArtFunction *functions;
    uint32_t nfunctions;

    Arena arena;                   /* owns everything above when loaded */
    uint8_t checksum[32];          /* SHA-256 of the encoded bytes before it */
} Artifact;

/* Encodes `art` into malloc'd bytes (*out, *len), deterministic.
 * Returns 0, or -1 when a bound above is exceeded (err says which). */
int art_encode(const Artifact *art, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Decodes and verifies untrusted bytes.  Returns 0 with *out a new artifact
 * (free with art_free), or -1 with err holding "offset N: what is wrong". */
int art_load(const uint8_t *bytes, size_t len, Artifact **out, char *err, size_t errlen);

void art_free(Artifact *art);

/* Source line (in the file) of instruction pc of function fn; 0 if unknown. */
uint32_t art_line(const Artifact *art, uint32_t fn, uint32_t pc);

/* Prints the artifact readably: metadata, constants, and each function's code
 * with the source line each instruction came from. */
void art_disassemble(const Artifact *art, FILE *out);

#endif
