/*
 * source.h - the source files of one compilation and positions in them.
 *
 * A Span names a range of bytes of one file; line and column are derived from
 * it only when a diagnostic is printed.  Columns count characters (UTF-8 code
 * points), starting at 1.
 */
#ifndef FLOW_SOURCE_H
#define FLOW_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct Span {
    uint32_t file;    /* index into the SourceSet */
    uint32_t off;     /* byte offset of the first byte */
    uint32_t len;     /* bytes; 0 for a point (end of file) */
} Span;

typedef struct SourceFile {
    char *path;          /* as given on the command line or found in a folder */
    char *text;          /* the bytes, then SRC_PAD NULs (a NUL inside is a lexical error) */
    size_t len;
    uint32_t *line_starts;   /* byte offset of each line's first byte; built lazily */
    uint32_t nlines;
} SourceFile;

typedef struct SourceSet {
    SourceFile *files;
    uint32_t nfiles, cap;
} SourceSet;

/* Limits on what a compilation reads; each has a diagnostic of its own. */
#define SRC_MAX_FILE_BYTES (64u * 1024u * 1024u)
#define SRC_MAX_FILES 100000u
/* A file's text is followed by this many NUL bytes, not one: the front end
 * reads a name 8 bytes at a time (ast.c) without testing for the end. */
#define SRC_PAD 8

void src_init(SourceSet *set);
void src_free(SourceSet *set);

/* Adds a file read from disk.  Returns its index, or -1 with errno set
 * (EFBIG when over SRC_MAX_FILE_BYTES). */
int src_add_file(SourceSet *set, const char *path);

/* Adds text held in memory (copied); for tests, fuzzing and `flowc run`. */
int src_add_text(SourceSet *set, const char *path, const char *text, size_t len);

/* Line (1-based) and column (1-based, in code points) of a byte offset. */
void src_position(SourceSet *set, uint32_t file, uint32_t off, uint32_t *line, uint32_t *col);

/* The text of line `line` (1-based) without its line end; *len receives its
 * length in bytes. */
const char *src_line(SourceSet *set, uint32_t file, uint32_t line, size_t *len);

/* The length of the UTF-8 sequence at s (n bytes available), or 1 when the
 * byte there does not start a valid one: an invalid byte is one column.
 * Columns and carets count with it. */
size_t src_utf8_step(const unsigned char *s, size_t n);

#endif
