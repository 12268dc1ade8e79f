/*
 * source.c - the source files of one compilation: reading them, and turning
 * byte offsets into lines and columns for diagnostics.
 *
 * Not the lexer: this file never looks at what the bytes mean, except to
 * count code points for columns.
 */
#include "source.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

size_t src_utf8_step(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; }
    else return 1;
    if (len > n) return 1;
    uint32_t cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 1;
    return len;
}

/* ------------------------------------------------------------ the set */

void src_init(SourceSet *set)
{
    set->files = NULL;
    set->nfiles = set->cap = 0;
}

void src_free(SourceSet *set)
{
    for (uint32_t i = 0; i < set->nfiles; i++) {
        free(set->files[i].path);
        free(set->files[i].text);
        free(set->files[i].line_starts);
    }
    free(set->files);
    src_init(set);
}

/* Takes ownership of text (len bytes plus SRC_PAD NULs). */
static int add_owned(SourceSet *set, const char *path, char *text, size_t len)
{
    if (set->nfiles >= SRC_MAX_FILES) {
        free(text);
        errno = EMFILE;
        return -1;
    }
    if (set->nfiles == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->files = xrealloc(set->files, set->cap * sizeof *set->files);
    }
    SourceFile *file = &set->files[set->nfiles];
    size_t plen = strlen(path);
    file->path = xrealloc(NULL, plen + 1);
    memcpy(file->path, path, plen + 1);
    file->text = text;
    file->len = len;
    file->line_starts = NULL;
    file->nlines = 0;
    return (int)set->nfiles++;
}

int src_add_text(SourceSet *set, const char *path, const char *text, size_t len)
{
    if (len > SRC_MAX_FILE_BYTES) {
        errno = EFBIG;
        return -1;
    }
    char *copy = xrealloc(NULL, len + SRC_PAD);
    if (len) memcpy(copy, text, len);
    memset(copy + len, 0, SRC_PAD);
    return add_owned(set, path, copy, len);
}

int src_add_file(SourceSet *set, const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in) return -1;
    struct stat st;
    bool stated = fstat(fileno(in), &st) == 0;
    if (stated && S_ISDIR(st.st_mode)) {
        fclose(in);
        errno = EISDIR;
        return -1;
    }
    /* A regular file is read into a buffer of its size, one byte more so that
     * the read that finds the end needs no larger one; anything else (a pipe,
     * a file that grows meanwhile) doubles the buffer as it fills. */
    size_t cap = 4096, len = 0;
    if (stated && S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size < SRC_MAX_FILE_BYTES)
        cap = (size_t)st.st_size + 1;
    char *text = xrealloc(NULL, cap + SRC_PAD);
    for (;;) {
        if (len == cap) {
            if (cap > SRC_MAX_FILE_BYTES) {
                free(text);
                fclose(in);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            text = xrealloc(text, cap + SRC_PAD);
        }
        size_t got = fread(text + len, 1, cap - len, in);
        len += got;
        if (got == 0) break;
    }
    int failed = ferror(in);
    int saved = errno;
    fclose(in);
    if (failed) {
        free(text);
        errno = saved ? saved : EIO;
        return -1;
    }
    if (len > SRC_MAX_FILE_BYTES) {
        free(text);
        errno = EFBIG;
        return -1;
    }
    memset(text + len, 0, SRC_PAD);
    return add_owned(set, path, text, len);
}

/* ------------------------------------------------------------ positions */

static void build_lines(SourceFile *file)
{
    uint32_t n = 1;
    for (size_t i = 0; i < file->len; i++)
        if (file->text[i] == '\n') n++;
    file->line_starts = xrealloc(NULL, n * sizeof *file->line_starts);
    file->line_starts[0] = 0;
    uint32_t k = 1;
    for (size_t i = 0; i < file->len; i++)
        if (file->text[i] == '\n') file->line_starts[k++] = (uint32_t)(i + 1);
    file->nlines = n;
}

void src_position(SourceSet *set, uint32_t fileno_, uint32_t off, uint32_t *line, uint32_t *col)
{
    SourceFile *file = &set->files[fileno_];
    if (!file->line_starts) build_lines(file);
    if (off > file->len) off = (uint32_t)file->len;
    uint32_t lo = 0, hi = file->nlines;   /* line_starts[lo] <= off < line_starts[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (file->line_starts[mid] <= off) lo = mid;
        else hi = mid;
    }
    *line = lo + 1;
    const unsigned char *s = (const unsigned char *)file->text;
    uint32_t c = 1;
    for (size_t i = file->line_starts[lo]; i < off;) {
        i += src_utf8_step(s + i, file->len - i);
        c++;
    }
    *col = c;
}

const char *src_line(SourceSet *set, uint32_t fileno_, uint32_t line, size_t *len)
{
    SourceFile *file = &set->files[fileno_];
    if (!file->line_starts) build_lines(file);
    if (line < 1 || line > file->nlines) {
        *len = 0;
        return "";
    }
    size_t start = file->line_starts[line - 1];
    size_t end = line < file->nlines ? file->line_starts[line] - 1 : file->len;
    if (end > start && file->text[end - 1] == '\r') end--;
    *len = end - start;
    return file->text + start;
}
