/*
 * format.h - how values read as text: in `${}` interpolation, in logs, in
 * action fields.  One definition, used by the VM, the checker's constant
 * folding and the runtime.
 *
 *   bytes     800MB -> "800 MB", 1.5GB -> "1.5 GB", 512B -> "512 B"
 *             (1000-based units B KB MB GB TB PB, at most two decimals,
 *             trailing zeros dropped)
 *   percent   80% -> "80%", 12.5% -> "12.5%" (at most two decimals)
 *   duration  90s -> "1m 30s", 24h -> "1d", 26h -> "1d 2h", 2w -> "14d"
 *             (d h m s, zero parts left out, 0s -> "0s")
 *   time      RFC 3339 in UTC: "2026-12-05T10:00:00Z"
 *   float     shortest text that reads back the same ("0.1", "3.5", "1e+20")
 *   int bool  as in JSON
 *   list      items formatted and joined by ", "
 *   record    { key: value, ... }
 *
 * Every function writes into a FmtBuf and never fails: a full buffer grows,
 * and past FMT_MAX the text is cut (the caller sees fb->truncated).
 */
#ifndef FLOW_FORMAT_H
#define FLOW_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "value.h"

#define FMT_MAX (16u * 1024u * 1024u)

typedef struct FmtBuf {
    char *data;        /* malloc'd, NUL-terminated */
    size_t len, cap;
    bool truncated;
} FmtBuf;

void fmt_init(FmtBuf *fb);
void fmt_free(FmtBuf *fb);
void fmt_reset(FmtBuf *fb);
void fmt_append(FmtBuf *fb, const char *text, size_t len);

void fmt_bytes(FmtBuf *fb, int64_t bytes);
void fmt_bytes_binary(FmtBuf *fb, int64_t bytes);   /* KiB MiB GiB TiB, for format_bytes(x, true) */
void fmt_percent(FmtBuf *fb, double percent);
void fmt_duration(FmtBuf *fb, int64_t seconds);
void fmt_time(FmtBuf *fb, int64_t unix_seconds);
void fmt_float(FmtBuf *fb, double value);
void fmt_value(FmtBuf *fb, const Value *value);

/* Parses an RFC 3339 time ("2026-12-01T09:00:00Z", "...+02:00", fractions
 * ignored) or a date ("2026-12-01", midnight UTC).  Returns false when the
 * text is not one or the date does not exist. */
bool fmt_parse_time(const char *text, size_t len, int64_t *unix_seconds);

#endif
