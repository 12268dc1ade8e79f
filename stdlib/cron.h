/*
 * cron.h - cron schedules (`on schedule "0 9 * * MON"`), in UTC.
 *
 * Five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or
 * JAN-DEC) day-of-week (0-7, 0 and 7 Sunday, or SUN-SAT).  Each field is `*`,
 * a value, a range a-b, a step (star, slash, n) or a-b/n, or a comma list of those.  As in
 * classic cron, when both day fields are restricted a day matching either
 * one matches.  The checker validates with cron_parse; the runtime computes
 * due times with cron_next.
 */
#ifndef FLOW_CRON_H
#define FLOW_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Cron {
    uint64_t minutes;     /* bit i: minute i */
    uint32_t hours;
    uint32_t days;        /* bit i: day of month i (1..31) */
    uint16_t months;      /* bit i: month i (1..12) */
    uint8_t weekdays;     /* bit i: weekday i (0 Sunday .. 6) */
    bool days_star, weekdays_star;
} Cron;

/* Returns NULL on success, else a reason; *err_at receives the byte offset of
 * the fault within text. */
const char *cron_parse(const char *text, size_t len, Cron *cron, size_t *err_at);

/* The first minute strictly after `after` (unix seconds) that matches; -1
 * when none within the next five years (e.g. February 30th). */
int64_t cron_next(const Cron *cron, int64_t after);

#endif
