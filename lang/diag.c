/*
 * diag.c - diagnostics: collected while compiling, sorted and printed by the
 * caller at the end (see diag.h for the printed form).
 *
 * Printing echoes the source line under the message.  The echo is bounded:
 * a line longer than DIAG_ECHO_MAX bytes is shown as a window around the
 * span with "..." at the cut ends, so a 10 MB line prints a short excerpt.
 */
#include "diag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The most bytes of a source line echoed under a diagnostic. */
#define DIAG_ECHO_MAX 120
/* Bytes kept before the span when a long line is cut. */
#define DIAG_ECHO_LEAD 40
/* Width of the line-number gutter. */
#define DIAG_GUTTER 5

/* ------------------------------------------------------------ utilities */

static void *xrealloc(void *ptr, size_t size)
{
    void *fresh = realloc(ptr, size ? size : 1);
    if (!fresh) {
        fputs("flowc: out of memory\n", stderr);
        exit(70);
    }
    return fresh;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) n = 0;
    char *text = xrealloc(NULL, (size_t)n + 1);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    return text;
}


/* ------------------------------------------------------------ collecting */

void diag_init(DiagSink *sink, SourceSet *sources)
{
    memset(sink, 0, sizeof *sink);
    sink->sources = sources;
}

void diag_free(DiagSink *sink)
{
    for (unsigned i = 0; i < sink->n; i++) {
        free(sink->items[i].message);
        free(sink->items[i].help);
    }
    free(sink->items);
    SourceSet *sources = sink->sources;
    diag_init(sink, sources);
}

/* Returned when the sink is full: help attached to it goes nowhere. */
static Diag diag_discarded;

Diag *diag_addv(DiagSink *sink, DiagSeverity severity, Span span, const char *fmt, va_list ap)
{
    if (severity == DIAG_ERROR) sink->errors++;
    else if (severity == DIAG_WARNING) sink->warnings++;
    if (sink->n >= DIAG_MAX) {
        sink->overflowed = true;
        diag_discarded.help = NULL;
        return &diag_discarded;
    }
    if (sink->n == sink->cap) {
        sink->cap = sink->cap ? sink->cap * 2 : 16;
        sink->items = xrealloc(sink->items, sink->cap * sizeof *sink->items);
    }
    Diag *diag = &sink->items[sink->n];
    diag->severity = severity;
    diag->span = span;
    diag->message = vformat(fmt, ap);
    diag->help = NULL;
    diag->anchor = severity == DIAG_NOTE && sink->n > 0 ? sink->items[sink->n - 1].anchor : span;
    diag->seq = sink->n++;
    return diag;
}

Diag *diag_add(DiagSink *sink, DiagSeverity severity, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Diag *diag = diag_addv(sink, severity, span, fmt, ap);
    va_end(ap);
    return diag;
}

void diag_help(Diag *diag, const char *fmt, ...)
{
    if (diag == &diag_discarded) return;
    va_list ap;
    va_start(ap, fmt);
    free(diag->help);
    diag->help = vformat(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ printing */

static int compare_diags(const void *a, const void *b)
{
    const Diag *x = a, *y = b;
    if (x->anchor.file != y->anchor.file) return x->anchor.file < y->anchor.file ? -1 : 1;
    if (x->anchor.off != y->anchor.off) return x->anchor.off < y->anchor.off ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *severity_name(DiagSeverity severity)
{
    switch (severity) {
    case DIAG_ERROR: return "error";
    case DIAG_WARNING: return "warning";
    default: return "note";
    }
}

/* Writes one character cell of the echoed line: a valid UTF-8 sequence as
 * is, a tab as a tab, any other control byte or invalid byte as a stand-in. */
static void put_cell(const unsigned char *s, size_t step, FILE *out)
{
    if (step > 1) fwrite(s, 1, step, out);
    else if (s[0] == '\t') fputc('\t', out);
    else if (s[0] < 0x20 || s[0] == 0x7F) fputc(' ', out);
    else if (s[0] >= 0x80) fputc('?', out);
    else fputc(s[0], out);
}

/* Echoes the line holding the span and the caret line under it. */
static void print_excerpt(const DiagSink *sink, const Diag *diag, uint32_t line, FILE *out)
{
    SourceFile *file = &sink->sources->files[diag->span.file];
    size_t len;
    const char *text = src_line(sink->sources, diag->span.file, line, &len);
    const unsigned char *s = (const unsigned char *)text;
    size_t line_off = (size_t)(text - file->text);
    size_t span_start = diag->span.off >= line_off ? diag->span.off - line_off : 0;
    if (span_start > len) span_start = len;
    size_t span_end = span_start + diag->span.len;
    if (span_end > len) span_end = len;

    /* the window of the line to show, on code point boundaries */
    size_t from = 0, to = len;
    if (len > DIAG_ECHO_MAX) {
        from = span_start > DIAG_ECHO_LEAD ? span_start - DIAG_ECHO_LEAD : 0;
        while (from > 0 && (s[from] & 0xC0) == 0x80) from--;
        to = from + DIAG_ECHO_MAX < len ? from + DIAG_ECHO_MAX : len;
        while (to < len && to > from && (s[to] & 0xC0) == 0x80) to--;
    }
    fprintf(out, "%*u | %s", DIAG_GUTTER, line, from > 0 ? "..." : "");
    for (size_t i = from; i < to;) {
        size_t step = src_utf8_step(s + i, len - i);
        if (i + step > to) break;
        put_cell(s + i, step, out);
        i += step;
    }
    fprintf(out, "%s\n", to < len ? "..." : "");

    fprintf(out, "%*s | %s", DIAG_GUTTER, "", from > 0 ? "   " : "");
    size_t i = from;
    while (i < span_start && i < to) {
        fputc(s[i] == '\t' ? '\t' : ' ', out);
        i += src_utf8_step(s + i, len - i);
    }
    fputc('^', out);
    if (i < len) i += src_utf8_step(s + i, len - i);
    while (i < span_end && i < to) {
        fputc('~', out);
        i += src_utf8_step(s + i, len - i);
    }
    fputc('\n', out);
}

static void print_one(const DiagSink *sink, const Diag *diag, FILE *out)
{
    SourceFile *file = &sink->sources->files[diag->span.file];
    if (file->len == 0) {
        /* a file that could not be read, or a diagnostic about a whole empty file */
        fprintf(out, "%s: %s: %s\n", file->path, severity_name(diag->severity), diag->message);
    } else {
        uint32_t line, col;
        src_position(sink->sources, diag->span.file, diag->span.off, &line, &col);
        fprintf(out, "%s:%u:%u: %s: %s\n", file->path, line, col, severity_name(diag->severity),
                diag->message);
        print_excerpt(sink, diag, line, out);
    }
    if (diag->help) fprintf(out, "%*s = help: %s\n", DIAG_GUTTER, "", diag->help);
}

void diag_print(DiagSink *sink, FILE *out)
{
    if (sink->n > 1) qsort(sink->items, sink->n, sizeof *sink->items, compare_diags);
    for (unsigned i = 0; i < sink->n; i++) print_one(sink, &sink->items[i], out);
    if (sink->overflowed)
        fprintf(out, "error: too many errors (more than %d); stopping here\n", DIAG_MAX);
    if (sink->errors || sink->warnings)
        fprintf(out, "%u error%s, %u warning%s\n", sink->errors, sink->errors == 1 ? "" : "s",
                sink->warnings, sink->warnings == 1 ? "" : "s");
}

/* ------------------------------------------------------------ suggestions */

static size_t edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    enum { MAXLEN = 64 };
    if (alen > MAXLEN || blen > MAXLEN) return SIZE_MAX;
    size_t row[MAXLEN + 1];
    for (size_t j = 0; j <= blen; j++) row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}

const char *diag_suggest(const char *name, size_t len, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_dist = SIZE_MAX;
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i]) continue;
        size_t clen = strlen(candidates[i]);
        if (clen == len && memcmp(candidates[i], name, len) == 0) continue;
        size_t dist = edit_distance(name, len, candidates[i], clen);
        if (dist <= limit && dist < best_dist) {
            best = candidates[i];
            best_dist = dist;
        }
    }
    return best;
}
