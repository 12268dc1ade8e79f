/*
 * http.c - the HTTP API: routing, bearer authentication, the endpoints of
 * spec/http-api.md, and the server's life from listen to graceful stop.
 *
 * Not here: token storage (tokens.c), event validation (ingest.c and the
 * engine, the same code as `flowvm ingest`), run history (history.c).
 */
#include "http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../stdlib/format.h"
#include "engine.h"
#include "history.h"
#include "ingest.h"
#include "sims.h"
#include "store.h"
#include "tokens.h"

typedef struct Server {
    Store *store;
} Server;

/* A request's state across MHD's calls: its body as it arrives. */
typedef struct Request {
    char *body;
    size_t len, cap;
    bool too_big;
} Request;

typedef struct Caller {
    int64_t org;
    TokRole role;
} Caller;

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ============================================================ responses */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Sends `json` (consumed). */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return MHD_NO;
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return MHD_NO;
    }
    line[len++] = '\n';
    line[len] = '\0';
    return send_text(c, status, line, len);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code, const char *message)
{
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return send_json(c, status, o);
}

static enum MHD_Result send_method_not_allowed(struct MHD_Connection *c, const char *allow)
{
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "method_not_allowed");
    char message[64];
    snprintf(message, sizeof message, "this path takes %s", allow);
    cJSON_AddStringToObject(e, "message", message);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_store_error(struct MHD_Connection *c, const char *err)
{
    fprintf(stderr, "flowvm serve: %s\n", err);
    return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "the store failed; see the server's log");
}

/* ============================================================ authentication */

/* 0 with *caller set, or an error response queued (1) or failed (-1). */
static int authenticate(Server *s, struct MHD_Connection *c, Caller *caller)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized", "an Authorization: Bearer token is required")
            == MHD_YES ? 1 : -1;
    }
    const char *token = h + 7;
    while (*token == ' ') token++;
    int rc = tok_check(s->store, token, store_wall_clock(), &caller->org, &caller->role);
    if (rc < 0) return send_store_error(c, store_errmsg(s->store)) == MHD_YES ? 1 : -1;
    if (rc == 0)
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized", "the token is not valid") == MHD_YES ? 1 : -1;
    return 0;
}

static bool media_type_is(const char *header, const char *type)
{
    if (!header) return false;
    while (*header == ' ') header++;
    size_t n = strlen(type);
    if (strncasecmp(header, type, n) != 0) return false;
    header += n;
    while (*header == ' ') header++;
    return *header == '\0' || *header == ';';
}

/* ============================================================ GET /v1/health */

static enum MHD_Result get_health(struct MHD_Connection *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    return send_json(c, MHD_HTTP_OK, o);
}

/* ============================================================ POST /v1/events */

typedef struct LineResults {
    cJSON *array;
} LineResults;

static void add_line_result(void *ctx, uint64_t line, IngestResult result, const char *why)
{
    static const char *const names[] = { "accepted", "duplicate", "unknown_sim", "rejected" };
    LineResults *lr = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "line", (double)line);
    cJSON_AddStringToObject(o, "status", names[result]);
    if (why) cJSON_AddStringToObject(o, "error", why);
    cJSON_AddItemToArray(lr->array, o);
}

/* The engine with the same time bounds as `flowvm ingest`. */
static Engine *open_engine(Store *store, int64_t org, char *err, size_t errlen)
{
    EngOptions opt = { 0 };
    Engine *e = eng_open(store, org, &opt, err, errlen);
    if (!e) return NULL;
    int64_t clock = eng_clock(e), now = store_wall_clock();
    ingest_time_bounds(clock > now ? clock : now, &opt.time_min, &opt.time_max);
    eng_free(e);
    return eng_open(store, org, &opt, err, errlen);
}

static enum MHD_Result post_events(Server *s, struct MHD_Connection *c, const Caller *caller, Request *rq)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    bool ndjson = media_type_is(ct, "application/x-ndjson");
    char *text = rq->body;
    size_t len = rq->len;
    char *single = NULL;
    if (!ndjson) {
        /* one event, perhaps over several lines: made one line for the engine */
        const char *end = NULL;
        cJSON *event = rq->len ? cJSON_ParseWithLengthOpts(rq->body, rq->len, &end, 0) : NULL;
        if (end) while (end < rq->body + rq->len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) end++;
        if (!event || !cJSON_IsObject(event) || end != rq->body + rq->len) {
            cJSON_Delete(event);
            return send_error(c, MHD_HTTP_BAD_REQUEST, "malformed",
                              "the body is not one JSON object (an NDJSON batch is application/x-ndjson)");
        }
        single = cJSON_PrintUnformatted(event);
        cJSON_Delete(event);
        if (!single) return MHD_NO;
        text = single;
        len = strlen(single);
    } else if (len == 0) {
        return send_error(c, MHD_HTTP_BAD_REQUEST, "malformed", "the body is empty");
    }
    FILE *in = fmemopen(text, len, "r");
    char err[512];
    Engine *e = in ? open_engine(s->store, caller->org, err, sizeof err) : NULL;
    if (!in) snprintf(err, sizeof err, "fmemopen: %s", strerror(errno));
    LineResults lr = { cJSON_CreateArray() };
    IngestReport rep;
    int rc = e ? ingest_stream_lines(e, in, 0, add_line_result, &lr, &rep, err, sizeof err) : -1;
    eng_free(e);
    if (in) fclose(in);
    free(single);
    if (rc != 0) {
        cJSON_Delete(lr.array);
        return send_store_error(c, err);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "lines", (double)rep.lines);
    cJSON_AddNumberToObject(o, "accepted", (double)rep.accepted);
    cJSON_AddNumberToObject(o, "rejected", (double)rep.rejected);
    cJSON_AddNumberToObject(o, "duplicates", (double)rep.duplicates);
    cJSON_AddNumberToObject(o, "unknown_sims", (double)rep.unknown_sims);
    cJSON_AddNumberToObject(o, "runs", (double)rep.runs);
    cJSON_AddItemToObject(o, "results", lr.array);
    return send_json(c, MHD_HTTP_ACCEPTED, o);
}

/* ============================================================ GET /v1/runs, /v1/runs/ID */

static bool query_limit(struct MHD_Connection *c, int *limit)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    *limit = 100;
    if (!v) return true;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < 1 || n > HTTP_MAX_LIST) return false;
    *limit = (int)n;
    return true;
}

static enum MHD_Result get_runs(Server *s, struct MHD_Connection *c, const Caller *caller)
{
    HistFilter f = { MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "flow"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sim"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status"), 0 };
    if (!query_limit(c, &f.limit))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_parameter", "limit is a number from 1 to 1000");
    if (f.status && strcmp(f.status, "ok") && strcmp(f.status, "failed") && strcmp(f.status, "waiting"))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_parameter", "status is ok, failed or waiting");
    char *text = NULL, err[512];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) return MHD_NO;
    int rc = hist_list(s->store, caller->org, &f, true, out, err, sizeof err);
    fclose(out);
    /* history.c prints JSON for people; the API's is compact */
    cJSON *runs = rc == 0 ? cJSON_Parse(text) : NULL;
    free(text);
    if (!runs) return send_store_error(c, rc ? err : "the run list is not JSON");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "runs", runs);
    return send_json(c, MHD_HTTP_OK, o);
}

static const char *column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static void add_time(cJSON *o, const char *name, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return;
    FmtBuf b;
    fmt_init(&b);
    fmt_time(&b, sqlite3_column_int64(st, i));
    cJSON_AddStringToObject(o, name, b.data);
    fmt_free(&b);
}

static enum MHD_Result get_run(Server *s, struct MHD_Connection *c, const Caller *caller, const char *id_text)
{
    char *end;
    long long id = strtoll(id_text, &end, 10);
    if (*end || end == id_text || id <= 0) return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such run");
    sqlite3_stmt *st = store_stmt(s->store,
        "SELECT r.id, fl.name, v.number, r.iccid, r.status, r.started, r.finished, ev.type, ev.key,"
        " r.error, r.error_line, r.log, r.wall_us, r.instructions"
        " FROM runs r JOIN versions v ON v.id = r.version JOIN flows fl ON fl.id = v.flow JOIN events ev ON ev.id = r.event"
        " WHERE r.id = ?1 AND fl.org = ?2");
    if (!st) return send_store_error(c, store_errmsg(s->store));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, caller->org);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such run in this organisation");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
    cJSON_AddStringToObject(o, "flow", column_text(st, 1));
    cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 2));
    cJSON_AddStringToObject(o, "iccid", column_text(st, 3));
    cJSON_AddStringToObject(o, "status", column_text(st, 4));
    add_time(o, "started", st, 5);
    add_time(o, "finished", st, 6);
    cJSON *ev = cJSON_AddObjectToObject(o, "event");
    cJSON_AddStringToObject(ev, "type", column_text(st, 7));
    cJSON_AddStringToObject(ev, "id", column_text(st, 8));
    if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "message", column_text(st, 9));
        cJSON_AddNumberToObject(e, "line", sqlite3_column_int(st, 10));
    }
    cJSON *log = cJSON_Parse(column_text(st, 11));
    cJSON_AddItemToObject(o, "log", log ? log : cJSON_CreateArray());
    cJSON_AddNumberToObject(o, "wall_us", (double)sqlite3_column_int64(st, 12));
    cJSON_AddNumberToObject(o, "instructions", (double)sqlite3_column_int64(st, 13));
    sqlite3_reset(st);
    st = store_stmt(s->store, "SELECT kind, line, body, time FROM actions WHERE run = ?1 ORDER BY id");
    if (!st) {
        cJSON_Delete(o);
        return send_store_error(c, store_errmsg(s->store));
    }
    sqlite3_bind_int64(st, 1, id);
    cJSON *actions = cJSON_AddArrayToObject(o, "actions");
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "kind", column_text(st, 0));
        cJSON_AddNumberToObject(a, "line", sqlite3_column_int(st, 1));
        cJSON *body = cJSON_Parse(column_text(st, 2));
        cJSON_AddItemToObject(a, "body", body ? body : cJSON_CreateString(column_text(st, 2)));
        add_time(a, "time", st, 3);
        cJSON_AddItemToArray(actions, a);
    }
    sqlite3_reset(st);
    return send_json(c, MHD_HTTP_OK, o);
}

/* ============================================================ GET /v1/sims */

static enum MHD_Result get_sims(Server *s, struct MHD_Connection *c, const Caller *caller)
{
    int limit;
    if (!query_limit(c, &limit))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_parameter", "limit is a number from 1 to 1000");
    sqlite3_stmt *st = store_stmt(s->store, "SELECT " SIMS_DOC_SQL("s", "u")
        " FROM sims s LEFT JOIN sim_usage u ON u.sim = s.id WHERE s.org = ?1 ORDER BY s.iccid LIMIT ?2");
    if (!st) return send_store_error(c, store_errmsg(s->store));
    sqlite3_bind_int64(st, 1, caller->org);
    sqlite3_bind_int(st, 2, limit);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) {
        sqlite3_reset(st);
        return MHD_NO;
    }
    fputs("{\"sims\":[", out);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) fprintf(out, "%s%s", n++ ? "," : "", column_text(st, 0));
    sqlite3_reset(st);
    fputs("]}\n", out);
    fclose(out);
    if (rc != SQLITE_DONE) {
        free(text);
        return send_store_error(c, store_errmsg(s->store));
    }
    return send_text(c, MHD_HTTP_OK, text, len);
}

/* ============================================================ routing */

typedef enum { R_HEALTH, R_EVENTS, R_RUNS, R_RUN, R_SIMS, R_NONE } Route;

typedef struct RouteInfo {
    const char *method;     /* the one method the path takes */
    bool auth;
    TokRole min_role;
} RouteInfo;

static const RouteInfo routes[] = {
    [R_HEALTH] = { "GET", false, TOK_USER },
    [R_EVENTS] = { "POST", true, TOK_USER },
    [R_RUNS] = { "GET", true, TOK_OPERATOR },
    [R_RUN] = { "GET", true, TOK_OPERATOR },
    [R_SIMS] = { "GET", true, TOK_USER },
};

static Route route_of(const char *url, const char **rest)
{
    *rest = NULL;
    if (strcmp(url, "/v1/health") == 0) return R_HEALTH;
    if (strcmp(url, "/v1/events") == 0) return R_EVENTS;
    if (strcmp(url, "/v1/runs") == 0) return R_RUNS;
    if (strcmp(url, "/v1/sims") == 0) return R_SIMS;
    if (strncmp(url, "/v1/runs/", 9) == 0 && url[9] && !strchr(url + 9, '/')) {
        *rest = url + 9;
        return R_RUN;
    }
    return R_NONE;
}

/* Checks made on the headers alone, before any body is read: MHD_YES/NO when
 * a response was queued (or failed), -2 when the request may go on. */
static int check_headers(Server *s, struct MHD_Connection *c, Route r, const char *method, Caller *caller)
{
    if (r == R_NONE) return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
    const RouteInfo *ri = &routes[r];
    bool head = strcmp(method, "HEAD") == 0 && strcmp(ri->method, "GET") == 0;
    if (strcmp(method, ri->method) != 0 && !head) return send_method_not_allowed(c, ri->method);
    if (ri->auth) {
        int a = authenticate(s, c, caller);
        if (a) return a > 0 ? MHD_YES : MHD_NO;
        if (caller->role < ri->min_role)
            return send_error(c, MHD_HTTP_FORBIDDEN, "forbidden", "the token's role may not do this");
    }
    if (r == R_EVENTS) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!media_type_is(ct, "application/json") && !media_type_is(ct, "application/x-ndjson"))
            return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              "the body is application/json (one event) or application/x-ndjson (a batch)");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY)
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the body is over 8 MiB");
    }
    return -2;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    Server *s = cls;
    Request *rq = *state;
    const char *rest;
    Route r = route_of(url, &rest);
    Caller caller = { 0 };
    if (!rq) {
        int rc = check_headers(s, c, r, method, &caller);
        if (rc != -2) return (enum MHD_Result)rc;
        if (!(rq = calloc(1, sizeof *rq))) return MHD_NO;
        *state = rq;
        if (r == R_EVENTS) return MHD_YES;   /* the body comes in the next calls */
    }
    if (*upload_size) {
        if (!rq->too_big && rq->len + *upload_size > HTTP_MAX_BODY) {
            rq->too_big = true;
            free(rq->body);
            rq->body = NULL;
        }
        if (!rq->too_big) {
            if (rq->len + *upload_size + 1 > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 64 * 1024;
                while (cap < rq->len + *upload_size + 1) cap *= 2;
                char *body = realloc(rq->body, cap);
                if (!body) return MHD_NO;
                rq->body = body;
                rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big) return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the body is over 8 MiB");
    if (routes[r].auth) {
        /* authenticated again at the end: the token may have been revoked while the body came */
        int a = authenticate(s, c, &caller);
        if (a) return a > 0 ? MHD_YES : MHD_NO;
    }
    switch (r) {
    case R_HEALTH: return get_health(c);
    case R_EVENTS: return post_events(s, c, &caller, rq);
    case R_RUNS: return get_runs(s, c, &caller);
    case R_RUN: return get_run(s, c, &caller, rest);
    case R_SIMS: return get_sims(s, c, &caller);
    case R_NONE: break;
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    Request *rq = *state;
    if (rq) {
        free(rq->body);
        free(rq);
        *state = NULL;
    }
}

/* ============================================================ the server's life */

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
    const char *colon = strrchr(listen, ':');
    char host[64];
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || !colon[1] || *end || port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof host) {
        snprintf(err, errlen, "--listen takes ADDR:PORT (IPv4), not '%s'", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1) {
        snprintf(err, errlen, "--listen: '%s' is not an IPv4 address", host);
        return -1;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested) {}
}

static unsigned connections(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

int http_serve(const char *db, const char *listen, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa, err, errlen) != 0) return -1;
    Server server = { store_open(db, err, errlen) };
    if (!server.store) return -1;
    struct sigaction act = { 0 };
    act.sa_handler = on_stop_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC, 0, NULL, NULL, handle, &server,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
        store_close(server.store);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
    printf("listening on %s:%u\n", addr, info ? (unsigned)info->port : (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    while (!stop_requested) sleep_ms(100);
    /* graceful stop: no new connections, the ones open finish */
    MHD_socket listener = MHD_quiesce_daemon(d);
    if (listener != MHD_INVALID_SOCKET) close(listener);
    for (int i = 0; i < HTTP_DRAIN_SECONDS * 20 && connections(d) > 0; i++) sleep_ms(50);
    unsigned left = connections(d);
    MHD_stop_daemon(d);
    store_close(server.store);
    printf("stopped%s\n", left ? " (connections still open were closed)" : "");
    fflush(stdout);
    return 0;
}
