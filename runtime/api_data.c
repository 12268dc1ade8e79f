/*
 * api_data.c - the HTTP API's endpoints on events, SIMs, runs and the
 * audit log (spec/http-api.md).  Events go through ingest.c and the engine,
 * the same code as `flowvm ingest`; SIM imports through sims.c, the same as
 * `flowvm sims import`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/validate.h"
#include "api.h"
#include "json.h"
#include "metrics.h"
#include "sims.h"

/* A JSON text column as JSON (a string when it is not JSON). */
static cJSON *column_json(sqlite3_stmt *st, int i)
{
    cJSON *j = cJSON_Parse(api_column_text(st, i));
    return j ? j : cJSON_CreateString(api_column_text(st, i));
}

/* "line N: why" lines (as sims.c and ingest.c report them) as an array of
 * {"line": N, "error": why}. */
static cJSON *line_errors(const char *text)
{
    cJSON *a = cJSON_CreateArray();
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        long line = 0;
        int used = 0;
        if (sscanf(p, "line %ld: %n", &line, &used) == 1 && used > 0 && (size_t)used <= n) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "line", (double)line);
            char *why = strndup(p + used, n - (size_t)used);
            cJSON_AddStringToObject(e, "error", why ? why : "");
            free(why);
            cJSON_AddItemToArray(a, e);
        }
        p = nl ? nl + 1 : NULL;
    }
    return a;
}

/* ============================================================ POST /v1/events */

static void add_line_result(void *ctx, uint64_t line, IngestResult result, const char *why)
{
    EventReply *reply = ctx;
    if (reply->n == reply->cap) {
        size_t cap = reply->cap ? reply->cap * 2 : 1;
        EventLine *lines = realloc(reply->lines, cap * sizeof *lines);
        if (!lines) {
            reply->incomplete = true;
            return;
        }
        reply->lines = lines;
        reply->cap = cap;
    }
    char *copy = why ? strdup(why) : NULL;
    if (why && !copy) reply->incomplete = true;
    reply->lines[reply->n++] = (EventLine){ line, result, copy };
}

bool api_events_prepare(ApiReq *rq, char **text, size_t *len, bool *owned, cJSON **event, enum MHD_Result *sent)
{
    bool ndjson = api_content_type_is(rq, "application/x-ndjson");
    *owned = false;
    *event = NULL;
    if (!ndjson && !api_content_type_is(rq, "application/json")) {
        *sent = api_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                          "the body is application/json (one event) or application/x-ndjson (a batch)");
        return false;
    }
    if (rq->len == 0) {
        *sent = api_error(rq, MHD_HTTP_BAD_REQUEST, "malformed", "the body is empty");
        return false;
    }
    if (ndjson) {
        *text = (char *)rq->body;
        *len = rq->len;
        return true;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(rq->body, rq->len, &end, 0);
    if (end)
        while (end < rq->body + rq->len && strchr(" \t\r\n", *end)) end++;
    if (!cJSON_IsObject(json) || end != rq->body + rq->len) {
        cJSON_Delete(json);
        *sent = api_error(rq, MHD_HTTP_BAD_REQUEST, "malformed",
                          "the body is not one JSON object (a batch is application/x-ndjson)");
        return false;
    }
    if (!memchr(rq->body, '\n', rq->len) && !memchr(rq->body, '\r', rq->len)) {
        *text = (char *)rq->body;   /* one line already: stored as it came */
        *len = rq->len;
    } else {   /* over several lines: stored as one */
        if (!(*text = cJSON_PrintUnformatted(json))) {
            cJSON_Delete(json);
            *sent = MHD_NO;
            return false;
        }
        *len = strlen(*text);
        *owned = true;
    }
    *event = json;
    return true;
}

int api_events_ingest(Engine *e, char *text, size_t len, const cJSON *event, EventReply *reply, char *err,
                      size_t errlen)
{
    api_event_reply_free(reply);
    return event ? ingest_event(e, event, text, add_line_result, reply, &reply->report, err, errlen)
                 : ingest_text(e, text, len, add_line_result, reply, &reply->report, err, errlen);
}

enum MHD_Result api_events_reply(ApiReq *rq, const EventReply *reply)
{
    if (reply->incomplete)
        return api_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                         "the events were stored, but the server ran out of memory writing their results");
    cJSON *o = api_events_json(reply);
    return o ? api_json(rq, MHD_HTTP_ACCEPTED, o) : MHD_NO;
}

cJSON *api_events_json(const EventReply *reply)
{
    static const char *const names[] = { "accepted", "duplicate", "unknown_sim", "rejected" };
    const IngestReport *r = &reply->report;
    cJSON *o = cJSON_CreateObject();
    json_add_int(o, "lines", (int64_t)r->lines);
    json_add_int(o, "accepted", (int64_t)r->accepted);
    json_add_int(o, "rejected", (int64_t)r->rejected);
    json_add_int(o, "duplicates", (int64_t)r->duplicates);
    json_add_int(o, "unknown_sims", (int64_t)r->unknown_sims);
    json_add_int(o, "runs", (int64_t)r->runs);
    cJSON *results = cJSON_AddArrayToObject(o, "results");
    for (size_t i = 0; i < reply->n; i++) {
        const EventLine *l = &reply->lines[i];
        cJSON *line = cJSON_CreateObject();
        json_add_int(line, "line", (int64_t)l->line);
        cJSON_AddStringToObject(line, "status", names[l->result]);
        if (l->why) cJSON_AddStringToObject(line, "error", l->why);
        cJSON_AddItemToArray(results, line);
    }
    return o;
}

void api_event_reply_free(EventReply *reply)
{
    for (size_t i = 0; i < reply->n; i++) free(reply->lines[i].why);
    free(reply->lines);
    *reply = (EventReply){ 0 };
}

/* ============================================================ SIMs */

enum MHD_Result api_get_sims(ApiReq *rq)
{
    enum MHD_Result sent;
    long long limit;
    if (!api_query_int(rq, "limit", 1, API_MAX_LIST, 100, &limit, &sent)) return sent;
    const char *after = api_query(rq, "after");
    sqlite3_stmt *st = store_stmt(rq->store, "SELECT s.iccid, " SIMS_DOC_SQL("s", "u")
        " FROM sims s LEFT JOIN sim_usage u ON u.sim = s.id WHERE s.org = ?1"
        " AND (?2 IS NULL OR s.package = ?2) AND (?3 IS NULL OR s.pool = ?3) AND (?4 IS NULL OR s.status = ?4)"
        " AND (?5 IS NULL OR s.id IN (SELECT sim FROM sim_tags WHERE tag = ?5)) AND (?6 IS NULL OR s.iccid > ?6)"
        " ORDER BY s.iccid LIMIT ?7");
    if (!st) return api_store_error(rq, store_errmsg(rq->store));
    sqlite3_bind_int64(st, 1, rq->who.org);
    const char *filters[] = { "package", "pool", "status", "tag" };
    for (int i = 0; i < 4; i++) {
        const char *v = api_query(rq, filters[i]);
        if (v) sqlite3_bind_text(st, 2 + i, v, -1, SQLITE_TRANSIENT);
    }
    if (after) sqlite3_bind_text(st, 6, after, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, limit);
    cJSON *o = cJSON_CreateObject(), *sims = cJSON_AddArrayToObject(o, "sims");
    char last[32] = "";
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        snprintf(last, sizeof last, "%s", api_column_text(st, 0));
        cJSON_AddItemToArray(sims, column_json(st, 1));
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(o);
        return api_store_error(rq, store_errmsg(rq->store));
    }
    if (n == limit) cJSON_AddStringToObject(o, "next_after", last);
    return api_json(rq, MHD_HTTP_OK, o);
}

enum MHD_Result api_get_sim(ApiReq *rq)
{
    char why[64];
    const char *bad = valid_iccid(rq->arg, strlen(rq->arg), why);
    if (bad) return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_iccid", "'%.64s' is not an ICCID: %s", rq->arg, bad);
    sqlite3_stmt *st = store_stmt(rq->store, "SELECT " SIMS_DOC_SQL("s", "u")
        " FROM sims s LEFT JOIN sim_usage u ON u.sim = s.id WHERE s.iccid = ?1 AND s.org = ?2");
    if (!st) return api_store_error(rq, store_errmsg(rq->store));
    sqlite3_bind_text(st, 1, rq->arg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, rq->who.org);
    cJSON *doc = sqlite3_step(st) == SQLITE_ROW ? column_json(st, 0) : NULL;
    sqlite3_reset(st);
    if (!doc) return api_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "no SIM %s in this organisation", rq->arg);
    return api_json(rq, MHD_HTTP_OK, doc);
}

enum MHD_Result api_post_sims(ApiReq *rq)
{
    if (!api_content_type_is(rq, "text/csv") && !api_content_type_is(rq, "application/x-ndjson"))
        return api_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                         "the body is text/csv (a header line, then a SIM per line) or application/x-ndjson");
    const char *skip = api_query(rq, "skip_invalid");
    if (skip && strcmp(skip, "true") && strcmp(skip, "false"))
        return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_parameter", "skip_invalid is true or false");
    bool skip_invalid = skip && strcmp(skip, "true") == 0;
    if (rq->len == 0) return api_error(rq, MHD_HTTP_BAD_REQUEST, "malformed", "the body is empty");
    FILE *in = fmemopen((void *)rq->body, rq->len, "r");
    char *report_text = NULL;
    size_t report_len = 0;
    FILE *report = open_memstream(&report_text, &report_len);
    if (!in || !report) {
        if (in) fclose(in);
        if (report) fclose(report);
        free(report_text);
        return MHD_NO;
    }
    char err[512];
    SimsImportReport rep;
    int rc = sims_import_stream(rq->store, rq->who.org, in, "the body", skip_invalid, report, &rep, err, sizeof err);
    fclose(in);
    fclose(report);
    api_engines_stale(rq);
    if (rc < 0) {
        free(report_text);
        /* a header line that is not one is the caller's fault; anything else the store's */
        if (strstr(err, "store") || strstr(err, "reading")) return api_store_error(rq, err);
        return api_error(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "%s", err);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rows", rep.rows);
    cJSON_AddNumberToObject(o, "imported", rep.imported);
    cJSON_AddNumberToObject(o, "rejected", rep.rejected);
    cJSON_AddItemToObject(o, "errors", line_errors(report_text));
    free(report_text);
    if (rc == 1 && !skip_invalid) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "invalid");
        cJSON_AddStringToObject(e, "message", "rows were rejected: nothing was imported (skip_invalid=true imports the rest)");
        return api_json(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, o);
    }
    return api_json(rq, MHD_HTTP_OK, o);
}

enum MHD_Result api_transfer_sim(ApiReq *rq)
{
    static const char *const fields[] = { "to", NULL };
    enum MHD_Result sent;
    char why[64];
    const char *bad = valid_iccid(rq->arg, strlen(rq->arg), why);
    if (bad) return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_iccid", "'%.64s' is not an ICCID: %s", rq->arg, bad);
    cJSON *body = api_body_object(rq, fields, &sent);
    if (!body) return sent;
    const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "to"));
    enum MHD_Result rc;
    char err[512];
    int64_t to_id;
    if (!to || !api_name_ok(to)) {
        rc = api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_field", "\"to\" is the name of the organisation to move the SIM to");
    } else if ((to_id = store_org(rq->store, to, false, err, sizeof err)) < 0) {
        rc = api_error(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "there is no organisation '%s'", to);
    } else if (to_id == rq->who.org) {
        rc = api_error(rq, MHD_HTTP_CONFLICT, "conflict", "SIM %s is in organisation '%s' already", rq->arg, to);
    } else if (sims_transfer(rq->store, rq->who.org, rq->arg, to_id, err, sizeof err) != 0) {
        rc = strstr(err, "no SIM") ? api_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "%s", err)
                                   : api_store_error(rq, err);
    } else {
        api_engines_stale(rq);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "iccid", rq->arg);
        cJSON_AddStringToObject(o, "organisation", to);
        rc = api_json(rq, MHD_HTTP_OK, o);
    }
    cJSON_Delete(body);
    return rc;
}

/* ============================================================ runs */

static const char run_columns[] =
    "SELECT r.id, f.name, v.number, r.iccid, r.status, r.started, r.finished, e.type, e.key, r.error, r.error_line,"
    " r.wall_us, r.instructions, r.log"
    " FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow JOIN events e ON e.id = r.event";

static cJSON *run_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
    cJSON_AddStringToObject(o, "flow", api_column_text(st, 1));
    cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 2));
    cJSON_AddStringToObject(o, "iccid", api_column_text(st, 3));
    cJSON_AddStringToObject(o, "status", api_column_text(st, 4));
    api_add_time(o, "started", st, 5);
    api_add_time(o, "finished", st, 6);
    cJSON *ev = cJSON_AddObjectToObject(o, "event");
    cJSON_AddStringToObject(ev, "type", api_column_text(st, 7));
    cJSON_AddStringToObject(ev, "id", api_column_text(st, 8));
    if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "message", api_column_text(st, 9));
        cJSON_AddNumberToObject(e, "line", sqlite3_column_int(st, 10));
    }
    cJSON_AddNumberToObject(o, "wall_us", (double)sqlite3_column_int64(st, 11));
    cJSON_AddNumberToObject(o, "instructions", (double)sqlite3_column_int64(st, 12));
    return o;
}

enum MHD_Result api_get_runs(ApiReq *rq)
{
    enum MHD_Result sent;
    long long limit, before;
    if (!api_query_int(rq, "limit", 1, API_MAX_LIST, 100, &limit, &sent) ||
        !api_query_int(rq, "before", 1, INT64_MAX, 0, &before, &sent))
        return sent;
    const char *flow = api_query(rq, "flow"), *sim = api_query(rq, "sim"), *status = api_query(rq, "status");
    if (status && strcmp(status, "ok") && strcmp(status, "failed") && strcmp(status, "waiting"))
        return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_parameter", "status is ok, failed or waiting, not '%.32s'", status);
    static const char sql[] = "%s WHERE f.org = ?1 AND (?2 IS NULL OR f.name = ?2) AND (?3 IS NULL OR r.iccid = ?3)"
                              " AND (?4 IS NULL OR r.status = ?4) AND (?5 = 0 OR r.id < ?5) ORDER BY r.id DESC LIMIT ?6";
    static char query[sizeof run_columns + sizeof sql];
    if (!query[0]) snprintf(query, sizeof query, sql, run_columns);
    sqlite3_stmt *st = store_stmt(rq->store, query);
    if (!st) return api_store_error(rq, store_errmsg(rq->store));
    sqlite3_bind_int64(st, 1, rq->who.org);
    if (flow) sqlite3_bind_text(st, 2, flow, -1, SQLITE_TRANSIENT);
    if (sim) sqlite3_bind_text(st, 3, sim, -1, SQLITE_TRANSIENT);
    if (status) sqlite3_bind_text(st, 4, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, before);
    sqlite3_bind_int64(st, 6, limit);
    cJSON *o = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(o, "runs");
    int64_t last = 0;
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON_AddItemToArray(runs, run_json(st));
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(o);
        return api_store_error(rq, store_errmsg(rq->store));
    }
    if (n == limit) cJSON_AddNumberToObject(o, "next_before", (double)last);
    return api_json(rq, MHD_HTTP_OK, o);
}

/* An action's results per recipient and its delivery with every attempt. */
static int add_action_outcome(Store *store, cJSON *a, int64_t action)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT recipient, status, detail, time FROM action_results"
                                         " WHERE action = ?1 ORDER BY id");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, action);
    cJSON *results = cJSON_AddArrayToObject(a, "results");
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "recipient", api_column_text(st, 0));
        cJSON_AddStringToObject(r, "status", api_column_text(st, 1));
        if (*api_column_text(st, 2)) cJSON_AddStringToObject(r, "detail", api_column_text(st, 2));
        api_add_time(r, "time", st, 3);
        cJSON_AddItemToArray(results, r);
    }
    sqlite3_reset(st);
    st = store_stmt(store, "SELECT o.id, o.state, o.attempts, o.last_error, o.next_attempt, o.finished,"
                           " coalesce(o.delivery_id, '') FROM outbox o WHERE o.action = ?1");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, action);
    int64_t outbox = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *d = cJSON_AddObjectToObject(a, "delivery");
        outbox = sqlite3_column_int64(st, 0);
        cJSON_AddStringToObject(d, "state", api_column_text(st, 1));
        cJSON_AddNumberToObject(d, "attempts", sqlite3_column_int(st, 2));
        if (*api_column_text(st, 3)) cJSON_AddStringToObject(d, "last_error", api_column_text(st, 3));
        if (strcmp(api_column_text(st, 1), "pending") == 0) api_add_time(d, "next_attempt", st, 4);
        api_add_time(d, "finished", st, 5);
        if (*api_column_text(st, 6)) cJSON_AddStringToObject(d, "delivery_id", api_column_text(st, 6));
    }
    sqlite3_reset(st);
    if (!outbox) return 0;
    st = store_stmt(store, "SELECT number, time, duration_ms, status, error FROM delivery_attempts"
                           " WHERE outbox = ?1 ORDER BY number");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, outbox);
    cJSON *list = cJSON_AddArrayToObject(cJSON_GetObjectItemCaseSensitive(a, "delivery"), "history");
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "number", sqlite3_column_int(st, 0));
        api_add_time(t, "time", st, 1);
        cJSON_AddNumberToObject(t, "duration_ms", sqlite3_column_int(st, 2));
        cJSON_AddNumberToObject(t, "status", sqlite3_column_int(st, 3));
        if (*api_column_text(st, 4)) cJSON_AddStringToObject(t, "error", api_column_text(st, 4));
        cJSON_AddItemToArray(list, t);
    }
    sqlite3_reset(st);
    return 0;
}

enum MHD_Result api_get_run(ApiReq *rq)
{
    char *end;
    errno = 0;
    long long id = strtoll(rq->arg, &end, 10);
    if (*end || errno || id <= 0)
        return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_id", "'%.32s' is not a run id", rq->arg);
    static char query[sizeof run_columns + 64];
    if (!query[0]) snprintf(query, sizeof query, "%s WHERE r.id = ?1 AND f.org = ?2", run_columns);
    sqlite3_stmt *st = store_stmt(rq->store, query);
    if (!st) return api_store_error(rq, store_errmsg(rq->store));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, rq->who.org);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return api_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "no run %lld in this organisation", id);
    }
    cJSON *o = run_json(st);
    cJSON_AddItemToObject(o, "log", column_json(st, 13));
    sqlite3_reset(st);
    st = store_stmt(rq->store, "SELECT id, kind, line, body, time FROM actions WHERE run = ?1 ORDER BY id");
    if (!st) {
        cJSON_Delete(o);
        return api_store_error(rq, store_errmsg(rq->store));
    }
    sqlite3_bind_int64(st, 1, id);
    cJSON *actions = cJSON_AddArrayToObject(o, "actions");
    int64_t ids[1024];
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < 1024) {
        cJSON *a = cJSON_CreateObject();
        ids[n++] = sqlite3_column_int64(st, 0);
        cJSON_AddStringToObject(a, "kind", api_column_text(st, 1));
        cJSON_AddNumberToObject(a, "line", sqlite3_column_int(st, 2));
        cJSON_AddItemToObject(a, "body", column_json(st, 3));
        api_add_time(a, "time", st, 4);
        cJSON_AddItemToArray(actions, a);
    }
    sqlite3_reset(st);
    int i = 0;
    for (cJSON *a = actions->child; a; a = a->next, i++)
        if (add_action_outcome(rq->store, a, ids[i]) != 0) {
            cJSON_Delete(o);
            return api_store_error(rq, store_errmsg(rq->store));
        }
    return api_json(rq, MHD_HTTP_OK, o);
}

/* ============================================================ audit */

enum MHD_Result api_get_audit(ApiReq *rq)
{
    enum MHD_Result sent;
    long long limit;
    if (!api_query_int(rq, "limit", 1, API_MAX_LIST, 100, &limit, &sent)) return sent;
    sqlite3_stmt *st = store_stmt(rq->store, "SELECT time, actor, action, detail FROM audit WHERE org = ?1"
                                             " ORDER BY id DESC LIMIT ?2");
    if (!st) return api_store_error(rq, store_errmsg(rq->store));
    sqlite3_bind_int64(st, 1, rq->who.org);
    sqlite3_bind_int64(st, 2, limit);
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "audit");
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *a = cJSON_CreateObject();
        api_add_time(a, "time", st, 0);
        cJSON_AddStringToObject(a, "actor", api_column_text(st, 1));
        cJSON_AddStringToObject(a, "action", api_column_text(st, 2));
        cJSON_AddStringToObject(a, "detail", api_column_text(st, 3));
        cJSON_AddItemToArray(list, a);
    }
    sqlite3_reset(st);
    return api_json(rq, MHD_HTTP_OK, o);
}
