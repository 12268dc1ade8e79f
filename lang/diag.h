/*
 * diag.h - diagnostics: collected while compiling, printed at the end.
 *
 * Every diagnostic carries a span.  Printed, it reads
 *
 *   fleet.flow:12:14: error: data.usage has no field 'percnt'
 *      12 |   when event.percnt >= alert_at
 *         |              ^~~~~~
 *      = help: did you mean 'percent'?
 *
 * Library code never prints: it adds to a DiagSink and the caller prints.
 */
#ifndef FLOW_DIAG_H
#define FLOW_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "source.h"

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagSeverity;

typedef struct Diag {
    DiagSeverity severity;
    Span span;
    char *message;
    char *help;          /* NULL, or "did you mean 'percent'?" and the like */
    unsigned seq;        /* order of emission, to keep sorting stable */
    Span anchor;         /* where it sorts: its span, or for a note the diagnostic it explains */
} Diag;

/* The most diagnostics a compilation keeps; past it one error says so. */
#define DIAG_MAX 100

typedef struct DiagSink {
    SourceSet *sources;
    Diag *items;
    unsigned n, cap;
    unsigned errors, warnings;
    bool overflowed;
} DiagSink;

void diag_init(DiagSink *sink, SourceSet *sources);
void diag_free(DiagSink *sink);

/* Adds a diagnostic; returns it so that a help line can be attached. */
Diag *diag_add(DiagSink *sink, DiagSeverity severity, Span span, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
Diag *diag_addv(DiagSink *sink, DiagSeverity severity, Span span, const char *fmt, va_list ap);
void diag_help(Diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints every diagnostic, sorted by file and position (stable), then a
 * summary line "N errors, M warnings" when there was any. */
void diag_print(DiagSink *sink, FILE *out);

/* The name among `candidates` (n of them) closest to `name` by edit distance,
 * if close enough to be a likely typo; NULL otherwise. */
const char *diag_suggest(const char *name, size_t len, const char *const *candidates, size_t n);

#endif
