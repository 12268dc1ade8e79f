/*
 * history.c - reading runs back.
 */
#include "history.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/format.h"

static const char *time_text(int64_t t, char *buf, size_t size)
{
    FmtBuf fb;
    fmt_init(&fb);
    fmt_time(&fb, t);
    snprintf(buf, size, "%s", fb.data ? fb.data : "");
    fmt_free(&fb);
    return buf;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

int hist_list(Store *store, int64_t org, const HistFilter *f, bool json, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store,
        "SELECT r.id, fl.name, v.number, r.iccid, r.status, r.started, ev.type, coalesce(r.error, ''),"
        " (SELECT count(*) FROM actions a WHERE a.run = r.id)"
        " FROM runs r JOIN versions v ON v.id = r.version JOIN flows fl ON fl.id = v.flow JOIN events ev ON ev.id = r.event"
        " WHERE fl.org = ?1 AND (?2 IS NULL OR fl.name = ?2) AND (?3 IS NULL OR r.iccid = ?3)"
        " AND (?4 IS NULL OR r.status = ?4) ORDER BY r.id DESC LIMIT ?5");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_int64(st, 1, org);
    if (f->flow) sqlite3_bind_text(st, 2, f->flow, -1, SQLITE_TRANSIENT);
    if (f->iccid) sqlite3_bind_text(st, 3, f->iccid, -1, SQLITE_TRANSIENT);
    if (f->status) sqlite3_bind_text(st, 4, f->status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, f->limit > 0 ? f->limit : 100);
    cJSON *array = json ? cJSON_CreateArray() : NULL;
    if (!json) fprintf(out, "%-7s %-22s %-4s %-21s %-8s %-21s %-18s %s\n", "RUN", "FLOW", "VER", "SIM", "STATUS", "TIME",
                       "EVENT", "ACTIONS");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char when[40];
        time_text(sqlite3_column_int64(st, 5), when, sizeof when);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
            cJSON_AddStringToObject(o, "flow", col(st, 1));
            cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 2));
            cJSON_AddStringToObject(o, "iccid", col(st, 3));
            cJSON_AddStringToObject(o, "status", col(st, 4));
            cJSON_AddStringToObject(o, "time", when);
            cJSON_AddStringToObject(o, "event", col(st, 6));
            if (col(st, 7)[0]) cJSON_AddStringToObject(o, "error", col(st, 7));
            cJSON_AddNumberToObject(o, "actions", sqlite3_column_int(st, 8));
            cJSON_AddItemToArray(array, o);
        } else {
            fprintf(out, "%-7lld %-22s %-4d %-21s %-8s %-21s %-18s %d%s%s\n", (long long)sqlite3_column_int64(st, 0),
                    col(st, 1), sqlite3_column_int(st, 2), col(st, 3), col(st, 4), when, col(st, 6),
                    sqlite3_column_int(st, 8), col(st, 7)[0] ? "  " : "", col(st, 7));
        }
    }
    sqlite3_reset(st);
    if (json) {
        char *text = cJSON_Print(array);
        fprintf(out, "%s\n", text ? text : "[]");
        free(text);
        cJSON_Delete(array);
    }
    return 0;
}

static void print_log(FILE *out, const char *log)
{
    cJSON *entries = cJSON_Parse(log);
    const cJSON *entry;
    int n = 0;
    cJSON_ArrayForEach(entry, entries) {
        fprintf(out, "  line %d: %s\n", (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(entry, "line")),
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "text")) ?
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "text")) : "");
        n++;
    }
    if (!n) fprintf(out, "  (none)\n");
    cJSON_Delete(entries);
}

int hist_show(Store *store, int64_t org, int64_t run, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store,
        "SELECT fl.name, v.number, r.iccid, r.status, r.started, r.finished, coalesce(r.error, ''),"
        " coalesce(r.error_line, 0), r.log, r.wall_us, r.instructions, ev.key, ev.type, ev.time, ev.payload,"
        " (SELECT due FROM waits WHERE run = r.id)"
        " FROM runs r JOIN versions v ON v.id = r.version JOIN flows fl ON fl.id = v.flow JOIN events ev ON ev.id = r.event"
        " WHERE r.id = ?1 AND fl.org = ?2");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, org);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        snprintf(err, errlen, "no run %lld in this organisation", (long long)run);
        return -1;
    }
    char t1[40], t2[40], t3[40];
    fprintf(out, "run %lld: flow %s version %d, SIM %s\n", (long long)run, col(st, 0), sqlite3_column_int(st, 1),
            col(st, 2)[0] ? col(st, 2) : "(none)");
    fprintf(out, "status:  %s%s%s\n", col(st, 3), sqlite3_column_type(st, 15) == SQLITE_NULL ? "" : ", resumes at ",
            sqlite3_column_type(st, 15) == SQLITE_NULL ? "" : time_text(sqlite3_column_int64(st, 15), t3, sizeof t3));
    fprintf(out, "event:   %s %s at %s: %s\n", col(st, 12), col(st, 11), time_text(sqlite3_column_int64(st, 13), t1, sizeof t1),
            col(st, 14));
    fprintf(out, "timing:  started %s", time_text(sqlite3_column_int64(st, 4), t1, sizeof t1));
    if (sqlite3_column_type(st, 5) != SQLITE_NULL)
        fprintf(out, ", finished %s", time_text(sqlite3_column_int64(st, 5), t2, sizeof t2));
    fprintf(out, "; %lld us in the VM, %lld instructions\n", (long long)sqlite3_column_int64(st, 9),
            (long long)sqlite3_column_int64(st, 10));
    if (col(st, 6)[0]) fprintf(out, "error:   %s\n", col(st, 6));
    char *log = strdup(col(st, 8));
    sqlite3_reset(st);
    fprintf(out, "actions:\n");
    st = store_stmt(store, "SELECT a.id, a.kind, a.line, a.body FROM actions a WHERE a.run = ?1 ORDER BY a.id");
    int n = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, run);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t action = sqlite3_column_int64(st, 0);
            fprintf(out, "  %s (line %d): %s\n", col(st, 1), sqlite3_column_int(st, 2), col(st, 3));
            sqlite3_stmt *rs = store_stmt(store, "SELECT recipient, status, detail FROM action_results WHERE action = ?1 ORDER BY id");
            if (rs) {
                sqlite3_bind_int64(rs, 1, action);
                while (sqlite3_step(rs) == SQLITE_ROW)
                    fprintf(out, "    -> %s: %s%s%s\n", col(rs, 0), col(rs, 1), col(rs, 2)[0] ? ": " : "", col(rs, 2));
                sqlite3_reset(rs);
            }
            n++;
        }
        sqlite3_reset(st);
    }
    if (!n) fprintf(out, "  (none)\n");
    fprintf(out, "log:\n");
    print_log(out, log ? log : "[]");
    free(log);
    return 0;
}
