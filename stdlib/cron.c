/*
 * cron.c - parsing and stepping cron schedules.
 */
#include "cron.h"

#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    int lo, hi;
    const char *const *names;   /* names for lo.., NULL when none */
} FieldSpec;

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                           "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const day_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };

static const FieldSpec specs[5] = {
    { 0, 59, NULL }, { 0, 23, NULL }, { 1, 31, NULL }, { 1, 12, month_names }, { 0, 7, day_names },
};

static const char *const field_names[5] = { "minute", "hour", "day of month", "month", "day of week" };

/* Parses a number or a name at *p; advances *p. */
static bool parse_value(const char **p, const char *end, const FieldSpec *spec, int *out)
{
    const char *s = *p;
    if (s < end && *s >= '0' && *s <= '9') {
        int v = 0;
        while (s < end && *s >= '0' && *s <= '9' && v < 1000) v = v * 10 + (*s++ - '0');
        *p = s;
        *out = v;
        return true;
    }
    if (spec->names && end - s >= 3) {
        for (int i = 0; spec->names[i]; i++)
            if (strncasecmp(s, spec->names[i], 3) == 0) {
                *p = s + 3;
                *out = spec->lo + i;
                return true;
            }
    }
    return false;
}

static const char *parse_field(const char *s, const char *end, int index, uint64_t *bits,
                               bool *star, const char **fault)
{
    const FieldSpec *spec = &specs[index];
    static char reason[96];
    *bits = 0;
    *star = false;
    const char *p = s;
    for (;;) {
        int lo, hi, step = 1;
        *fault = p;
        if (p < end && *p == '*') {
            lo = spec->lo;
            hi = spec->hi;
            p++;
            if (p == end || *p != '/') *star = true;
        } else {
            if (!parse_value(&p, end, spec, &lo)) {
                strcpy(reason, "expected a number");
                strcat(reason, spec->names ? " or a name" : "");
                strcat(reason, " in the ");
                strcat(reason, field_names[index]);
                strcat(reason, " field");
                return reason;
            }
            hi = lo;
            if (p < end && *p == '-') {
                p++;
                if (!parse_value(&p, end, spec, &hi)) return "expected the end of the range";
            }
        }
        if (p < end && *p == '/') {
            p++;
            if (!parse_value(&p, end, &specs[0], &step) || step == 0) return "expected a step above 0 after '/'";
        }
        if (lo < spec->lo || hi > spec->hi || lo > hi) {
            static const char *const ranges[5] = {
                "minutes run from 0 to 59", "hours run from 0 to 23", "days of month run from 1 to 31",
                "months run from 1 to 12", "days of week run from 0 to 7 (0 and 7 are Sunday)" };
            return lo > hi ? "the range runs backwards" : ranges[index];
        }
        for (int v = lo; v <= hi; v += step) *bits |= (uint64_t)1 << v;
        if (p == end) return NULL;
        if (*p != ',') {
            *fault = p;
            return "unexpected character in the schedule";
        }
        p++;
    }
}

const char *cron_parse(const char *text, size_t len, Cron *cron, size_t *err_at)
{
    const char *p = text, *end = text + len;
    uint64_t bits[5];
    bool star[5];
    memset(cron, 0, sizeof *cron);
    for (int i = 0; i < 5; i++) {
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p == end) {
            *err_at = len;
            return "a schedule has five fields: minute hour day-of-month month day-of-week";
        }
        const char *start = p;
        while (p < end && *p != ' ' && *p != '\t') p++;
        const char *fault = start;
        const char *why = parse_field(start, p, i, &bits[i], &star[i], &fault);
        if (why) {
            *err_at = (size_t)(fault - text);
            return why;
        }
    }
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p != end) {
        *err_at = (size_t)(p - text);
        return "a schedule has five fields: minute hour day-of-month month day-of-week";
    }
    cron->minutes = bits[0];
    cron->hours = (uint32_t)bits[1];
    cron->days = (uint32_t)bits[2];
    cron->months = (uint16_t)bits[3];
    cron->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);   /* 7 is Sunday too */
    cron->days_star = star[2];
    cron->weekdays_star = star[4];
    return NULL;
}

static bool day_matches(const Cron *cron, const struct tm *tm)
{
    bool dom = (cron->days >> tm->tm_mday) & 1;
    bool dow = (cron->weekdays >> tm->tm_wday) & 1;
    if (cron->days_star || cron->weekdays_star) return dom && dow;
    return dom || dow;
}

int64_t cron_next(const Cron *cron, int64_t after)
{
    int64_t t = after - (after % 60 + 60) % 60 + 60;      /* next whole minute */
    int64_t limit = after + 5 * 366 * 86400LL;
    while (t <= limit) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (!((cron->months >> (tm.tm_mon + 1)) & 1)) {
            /* skip to the first day of the next month */
            tm.tm_mday = 1; tm.tm_hour = 0; tm.tm_min = 0; tm.tm_sec = 0; tm.tm_mon += 1;
            t = (int64_t)timegm(&tm);
            continue;
        }
        if (!day_matches(cron, &tm)) {
            t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60);
            continue;
        }
        if (!((cron->hours >> tm.tm_hour) & 1)) {
            t += 3600 - tm.tm_min * 60;
            continue;
        }
        if (!((cron->minutes >> tm.tm_min) & 1)) {
            t += 60;
            continue;
        }
        return t;
    }
    return -1;
}
