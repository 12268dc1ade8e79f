/*
 * http.c - `flowvm serve`: routing, bearer authentication, request bodies,
 * replies, the engines kept between requests, the scheduler and delivery
 * threads, and the server's life from listen to graceful stop.
 *
 * Threads: the HTTP loop runs libmicrohttpd's daemon and every request: a
 * turn of it reads what is ready, the events it read are then committed
 * together in one transaction (a group commit), and the next turns answer
 * them.  The main thread runs the scheduler and the checkpoints (on a
 * connection of its own); the delivery worker's two threads move transfers
 * (never waiting on a lock) and record them.  The loop, the scheduler and
 * the worker's recording share one store connection and the engines under
 * `lock` (sqlite serialises writers anyway).
 *
 * One thread does the HTTP work and the commits: handing requests from a
 * polling thread to a committing one (suspending and resuming their
 * connections) left both half idle on two cores shared with the clients,
 * each waiting to be scheduled after the other's wake-up.
 *
 * Not here: the endpoints (api_data.c, api_flows.c), token storage
 * (tokens.c), what is counted (metrics.c).
 */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../stdlib/format.h"
#include "api.h"
#include "metrics.h"
#include "outbox.h"
#include "webhook_sign.h"

#define HTTP_CHECKPOINT_SOFT 8000    /* log frames (pages) past which the main thread checkpoints */
#define HTTP_CHECKPOINT_HARD 32000   /* ... and past which the HTTP loop does it itself */
#define HTTP_MAX_ENGINES 64     /* organisations whose engine is kept; more: all are dropped */
#define HTTP_MAX_PATH 512
#define AUTH_CACHE 64           /* tokens whose lookup is kept */
#define AUTH_CACHE_MS 1000      /* for this long: a revoked token stops working within a second */
/* A connection's memory for a request's line and headers and its reply's
 * headers (bodies stream through the handler); more headers get 431.
 * libmicrohttpd zeroes all of it after each request: 32 KB by default. */
#define HTTP_CONNECTION_MEMORY (16 * 1024)
#define LOOP_WAIT_MS 50         /* the HTTP loop's longest wait, to notice a stop */

/* A token looked up lately: by its hash, never the token. */
typedef struct AuthEntry {
    unsigned char hash[32];
    TokIdentity who;
    double at;                  /* monotonic seconds; 0: empty */
} AuthEntry;

typedef struct KeptEngine {
    int64_t org;
    Engine *engine;
} KeptEngine;

typedef struct Request Request;

/* The reply to a request of one event that got no reason (accepted,
 * duplicate, unknown SIM) and made few runs: the same bytes every time,
 * made once and kept, with the counts it was made for. */
#define KEPT_RUNS 8
typedef struct KeptReply {
    uint64_t counts[6];
    struct MHD_Response *response;
} KeptReply;

struct Server {
    Store *store;
    pthread_mutex_t lock;       /* store, engines */
    pthread_mutex_t metrics_lock;   /* metrics (taken after `lock` when both are) */
    KeptEngine engines[HTTP_MAX_ENGINES];
    int nengines;
    Metrics *metrics;
    /* the HTTP loop's */
    struct MHD_Daemon *daemon;
    int epoll_fd;               /* the daemon's, which the loop waits on */
    Store *auth_store;          /* its own connection, for tokens: never waits on `lock` */
    AuthEntry auth_cache[AUTH_CACHE];
    unsigned auth_next;
    Request *pending, *pending_tail;   /* event requests read and not committed yet */
    KeptReply kept_replies[INGEST_REJECTED][KEPT_RUNS];
    atomic_int in_flight;       /* requests begun and not done */
    atomic_bool loop_stop;

    atomic_bool checkpoint_wanted;   /* set by `store`'s commits, done by the main thread */
    Store *checkpoint_store;         /* the main thread's connection for them */
};

/* A request's state across libmicrohttpd's calls. */
struct Request {
    int route;                  /* -1 until matched */
    TokIdentity who;
    char arg[HTTP_MAX_PATH];
    char *body;
    size_t len, cap;
    bool too_big, answered;
    unsigned status;
    struct timespec start;
    /* POST /v1/events: the events, then what the commit made of them */
    char *events;
    size_t events_len;
    cJSON *event;               /* a lone event, parsed */
    bool events_owned, pending, committed, stored;
    bool abandoned;             /* its connection closed while pending: freed after the commit */
    EventReply reply;
    Request *next;              /* on the pending list */
};

/* Set by SIGTERM/SIGINT, read by every thread: accessed atomically (a
 * lock-free int, safe in a signal handler). */
static volatile sig_atomic_t stop_requested;

static bool stopping(void)
{
    return __atomic_load_n(&stop_requested, __ATOMIC_RELAXED) != 0;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);
}

static double monotonic(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ============================================================ replies */

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r, const char *type,
                             const char *allow)
{
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result api_text(ApiReq *rq, unsigned status, const char *type, char *text, size_t len)
{
    rq->status = status;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) free(text);
    return queue(rq->conn, status, r, type, NULL);
}

/* The JSON text of `json` (consumed) and a newline; NULL out of memory. */
static char *json_line(cJSON *json, size_t *len)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return NULL;
    *len = strlen(text);
    char *line = realloc(text, *len + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    line[(*len)++] = '\n';
    line[*len] = '\0';
    return line;
}

enum MHD_Result api_json(ApiReq *rq, unsigned status, cJSON *json)
{
    size_t len;
    char *text = json_line(json, &len);
    return text ? api_text(rq, status, "application/json", text, len) : MHD_NO;
}

static cJSON *error_json(const char *code, const char *message)
{
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return o;
}

enum MHD_Result api_error(ApiReq *rq, unsigned status, const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return api_json(rq, status, error_json(code, message));
}

enum MHD_Result api_store_error(ApiReq *rq, const char *detail)
{
    fprintf(stderr, "flowvm serve: %s\n", detail);
    return api_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "the store failed; see the server's log");
}

/* ============================================================ inputs */

const char *api_query(ApiReq *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool api_query_int(ApiReq *rq, const char *name, long long min, long long max, long long fallback, long long *out,
                   enum MHD_Result *sent)
{
    const char *v = api_query(rq, name);
    *out = fallback;
    if (!v) return true;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*end || end == v || errno || n < min || n > max) {
        *sent = api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_parameter", "%s is a whole number from %lld to %lld, not '%.64s'",
                          name, min, max, v);
        return false;
    }
    *out = n;
    return true;
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

bool api_content_type_is(ApiReq *rq, const char *type)
{
    return media_type_is(MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE), type);
}

cJSON *api_body_object(ApiReq *rq, const char *const *fields, enum MHD_Result *sent)
{
    if (!api_content_type_is(rq, "application/json")) {
        *sent = api_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "the body is application/json");
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = rq->len ? cJSON_ParseWithLengthOpts(rq->body, rq->len, &end, 0) : NULL;
    if (o && end) {
        while (end < rq->body + rq->len && strchr(" \t\r\n", *end)) end++;
        if (end != rq->body + rq->len) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        *sent = api_error(rq, MHD_HTTP_BAD_REQUEST, "malformed", "the body is not one JSON object");
        return NULL;
    }
    for (cJSON *m = o->child; m; m = m->next) {
        bool known = false;
        for (const char *const *f = fields; *f && !known; f++) known = strcmp(m->string, *f) == 0;
        if (!known) {
            *sent = api_error(rq, MHD_HTTP_BAD_REQUEST, "unknown_field", "unknown field '%.64s'", m->string);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

bool api_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > API_MAX_NAME || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_.-", *p)))
            return false;
    return true;
}

const char *api_column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

void api_add_time(cJSON *o, const char *name, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return;
    FmtBuf b;
    fmt_init(&b);
    fmt_time(&b, sqlite3_column_int64(st, i));
    cJSON_AddStringToObject(o, name, b.data);
    fmt_free(&b);
}

/* ============================================================ engines, metrics */

static void drop_engines(Server *s)
{
    for (int i = 0; i < s->nengines; i++) eng_free(s->engines[i].engine);
    s->nengines = 0;
}

static Engine *kept_engine(Server *s, int64_t org, char *err, size_t errlen)
{
    Engine *e = NULL;
    for (int i = 0; i < s->nengines && !e; i++)
        if (s->engines[i].org == org) e = s->engines[i].engine;
    if (!e) {
        if (s->nengines == HTTP_MAX_ENGINES) drop_engines(s);
        EngOptions opt = { 0 };
        if (!(e = eng_open(s->store, org, &opt, err, errlen))) return NULL;
        s->engines[s->nengines++] = (KeptEngine){ org, e };
    }
    return e;
}

/* The times an event may carry, around the organisation's clock or now:
 * read inside the transaction, where it costs no read transaction of its own. */
static void bound_event_times(Engine *e)
{
    int64_t clock = eng_clock(e), now = store_wall_clock(), min, max;
    ingest_time_bounds(clock > now ? clock : now, &min, &max);
    eng_set_time_bounds(e, min, max);
}

void api_engines_stale(ApiReq *rq)
{
    drop_engines(rq->server);
}

static void count_runs(Server *s, int64_t org, const EngStats *before, const EngStats *after)
{
    /* each run started or resumed ends ok, failed or parked (waiting) */
    uint64_t ran = after->runs - before->runs + after->resumed - before->resumed;
    uint64_t failed = after->failed - before->failed, waiting = after->waiting - before->waiting;
    pthread_mutex_lock(&s->metrics_lock);
    metrics_runs(s->metrics, org, ran - failed - waiting, failed, waiting);
    pthread_mutex_unlock(&s->metrics_lock);
}

/* ============================================================ routes */

static enum MHD_Result get_health(ApiReq *rq)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    return api_json(rq, MHD_HTTP_OK, o);
}

static enum MHD_Result get_metrics(ApiReq *rq)
{
    size_t len;
    pthread_mutex_lock(&rq->server->metrics_lock);
    char *text = metrics_render(rq->server->metrics, rq->store, rq->who.org, &len);
    pthread_mutex_unlock(&rq->server->metrics_lock);
    if (!text) return api_store_error(rq, store_errmsg(rq->store));
    return api_text(rq, MHD_HTTP_OK, "text/plain; version=0.0.4", text, len);
}

#define NO_AUTH (-1)

typedef struct Route {
    const char *method;
    const char *path;           /* "*" stands for one segment: the handler's arg */
    int min_role;               /* a TokRole, or NO_AUTH */
    ApiHandler handler;
    const char *query;          /* the query parameters it takes, each followed by a space */
} Route;

static const Route routes[] = {
    { "GET", "/v1/health", NO_AUTH, get_health, "" },
    { "GET", "/metrics", TOK_OPERATOR, get_metrics, "" },
    { "POST", "/v1/events", TOK_OPERATOR, NULL, "" },   /* the group commit's (handle) */
    { "GET", "/v1/sims", TOK_USER, api_get_sims, "package pool status tag limit after " },
    { "POST", "/v1/sims", TOK_ADMIN, api_post_sims, "skip_invalid " },
    { "GET", "/v1/sims/*", TOK_USER, api_get_sim, "" },
    { "POST", "/v1/sims/*/transfer", TOK_ADMIN, api_transfer_sim, "" },
    { "GET", "/v1/flows", TOK_USER, api_get_flows, "project deleted " },
    { "POST", "/v1/flows", TOK_ADMIN, api_post_flows, "" },
    { "GET", "/v1/flows/*", TOK_USER, api_get_flow, "" },
    { "DELETE", "/v1/flows/*", TOK_ADMIN, api_delete_flow, "" },
    { "GET", "/v1/flows/*/versions", TOK_OPERATOR, api_get_versions, "" },
    { "POST", "/v1/flows/*/approve", TOK_ADMIN, api_approve_flow, "" },
    { "POST", "/v1/flows/*/enable", TOK_ADMIN, api_enable_flow, "" },
    { "POST", "/v1/flows/*/disable", TOK_ADMIN, api_disable_flow, "" },
    { "POST", "/v1/flows/*/restore", TOK_ADMIN, api_restore_flow, "" },
    { "POST", "/v1/flows/*/rollback", TOK_ADMIN, api_rollback_flow, "" },
    { "GET", "/v1/flows/*/export", TOK_OPERATOR, api_export_flow, "inputs " },
    { "GET", "/v1/projects/*/export", TOK_OPERATOR, api_export_project, "inputs " },
    { "POST", "/v1/import", TOK_ADMIN, api_import, "" },
    { "GET", "/v1/runs", TOK_OPERATOR, api_get_runs, "flow sim status limit before " },
    { "GET", "/v1/runs/*", TOK_OPERATOR, api_get_run, "" },
    { "GET", "/v1/audit", TOK_OPERATOR, api_get_audit, "limit " },
};
#define NROUTES ((int)(sizeof routes / sizeof *routes))

/* "METHOD /path" of each route, the metrics' labels */
static char route_labels_text[NROUTES][64];
static const char *route_labels[NROUTES + 1];

/* Does `path` match `pattern`?  The segment under "*" is copied to arg. */
static bool path_matches(const char *pattern, const char *path, char *arg, size_t argsize)
{
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= argsize) return false;
            memcpy(arg, path, n);
            arg[n] = '\0';
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

typedef struct QueryCheck {
    const char *allowed;
    char unknown[80];
} QueryCheck;

static enum MHD_Result check_query_name(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    QueryCheck *q = cls;
    size_t n = strlen(key);
    for (const char *p = q->allowed; (p = strstr(p, key)); p += n)
        if ((p == q->allowed || p[-1] == ' ') && p[n] == ' ') return MHD_YES;
    snprintf(q->unknown, sizeof q->unknown, "%s", key);
    return MHD_NO;
}

/* ============================================================ requests */

/* The 202 of a commit: a kept reply when one fits. */
static enum MHD_Result events_reply(Server *s, ApiReq *a, const EventReply *reply)
{
    const IngestReport *r = &reply->report;
    if (reply->incomplete || reply->n != 1 || reply->lines[0].line != 1 || reply->lines[0].why ||
        reply->lines[0].result >= INGEST_REJECTED || r->runs >= KEPT_RUNS)
        return api_events_reply(a, reply);
    const uint64_t counts[6] = { r->lines, r->accepted, r->rejected, r->duplicates, r->unknown_sims, r->runs };
    KeptReply *kept = &s->kept_replies[reply->lines[0].result][r->runs];
    if (!kept->response || memcmp(kept->counts, counts, sizeof counts) != 0) {
        size_t len;
        char *text = json_line(api_events_json(reply), &len);
        struct MHD_Response *made = text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
        if (!made) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(made, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (kept->response) MHD_destroy_response(kept->response);
        kept->response = made;
        memcpy(kept->counts, counts, sizeof counts);
    }
    a->status = MHD_HTTP_ACCEPTED;
    return MHD_queue_response(a->conn, MHD_HTTP_ACCEPTED, kept->response);
}

/* tok_check with the lookups of the last second kept: 1, 0 or -1. */
static int authenticate(Server *s, const char *token, TokIdentity *who)
{
    unsigned char hash[32];
    if (tok_hash(token, hash) != 0) return 0;
    double now = monotonic();
    for (int i = 0; i < AUTH_CACHE; i++) {
        AuthEntry *a = &s->auth_cache[i];
        if (a->at > 0 && now - a->at < AUTH_CACHE_MS / 1000.0 && CRYPTO_memcmp(a->hash, hash, sizeof hash) == 0) {
            *who = a->who;
            return 1;
        }
    }
    int found = tok_lookup(s->auth_store, hash, store_wall_clock(), who);
    if (found == 1) {
        AuthEntry *a = &s->auth_cache[s->auth_next++ % AUTH_CACHE];
        memcpy(a->hash, hash, sizeof hash);
        a->who = *who;
        a->at = now;
    }
    return found;
}

/* A refusal queued before the body: noted for the metrics; returns rc. */
static enum MHD_Result refused(Request *rq, const ApiReq *a, enum MHD_Result rc)
{
    rq->status = a->status;
    rq->answered = true;
    return rc;
}

/* What happens when the headers are in: the route, the token, the role,
 * the query's names, the announced size.  MHD_YES with nothing queued when
 * the request goes on; else what queueing the refusal returned. */
static enum MHD_Result admit(Server *s, struct MHD_Connection *c, Request *rq, const char *url, const char *method)
{
    ApiReq a = { .conn = c, .server = s, .store = s->store };
    enum MHD_Result rc = MHD_YES;
    bool head = strcmp(method, "HEAD") == 0;
    char allow[64] = "";
    char arg[HTTP_MAX_PATH];
    for (int i = 0; i < NROUTES; i++) {
        if (!path_matches(routes[i].path, url, arg, sizeof arg)) continue;
        if (strcmp(routes[i].method, method) == 0 || (head && strcmp(routes[i].method, "GET") == 0)) {
            rq->route = i;
            memcpy(rq->arg, arg, sizeof arg);
            break;
        }
        if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", allow[0] ? ", " : "", routes[i].method);
    }
    if (rq->route < 0) {
        if (allow[0]) {
            a.status = MHD_HTTP_METHOD_NOT_ALLOWED;
            char message[96];
            snprintf(message, sizeof message, "this path takes %s", allow);
            size_t len;
            char *text = json_line(error_json("method_not_allowed", message), &len);
            struct MHD_Response *r = text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
            if (!r) free(text);
            rc = queue(c, a.status, r, "application/json", allow);
        } else {
            rc = api_error(&a, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
        }
        return refused(rq, &a, rc);
    }
    const Route *route = &routes[rq->route];
    if (route->min_role != NO_AUTH) {
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        int found = 0;
        if (h && strncasecmp(h, "Bearer ", 7) == 0) {
            const char *token = h + 7;
            while (*token == ' ') token++;
            found = authenticate(s, token, &rq->who);
        }
        if (found < 0) rc = api_store_error(&a, store_errmsg(s->auth_store));
        else if (!found)
            rc = api_error(&a, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                           h ? "the token is not valid (unknown, revoked or expired)"
                             : "an Authorization: Bearer token is required");
        else if ((int)rq->who.role < route->min_role)
            rc = api_error(&a, MHD_HTTP_FORBIDDEN, "forbidden", "the token's role (%s) may not do this: it needs %s",
                           tok_role_name(rq->who.role), tok_role_name((TokRole)route->min_role));
        if (a.status) {
            return refused(rq, &a, rc);
        }
    }
    QueryCheck q = { route->query, "" };
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_query_name, &q);
    if (q.unknown[0]) {
        rc = api_error(&a, MHD_HTTP_BAD_REQUEST, "unknown_parameter", "unknown query parameter '%s'", q.unknown);
        return refused(rq, &a, rc);
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {
        rc = api_error(&a, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the body is over %u bytes", HTTP_MAX_BODY);
        return refused(rq, &a, rc);
    }
    return rc;
}

static bool append_body(Request *rq, const char *data, size_t n)
{
    if (rq->too_big) return true;
    if (rq->len + n > HTTP_MAX_BODY) {
        rq->too_big = true;
        free(rq->body);
        rq->body = NULL;
        rq->len = rq->cap = 0;
        return true;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 1024;   /* one event is a few hundred bytes */
        while (cap < rq->len + n + 1) cap *= 2;
        char *body = realloc(rq->body, cap);
        if (!body) return false;
        rq->body = body;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
    return true;
}

/* The request waits for the commit after this turn: no reply is queued,
 * so libmicrohttpd asks again on the next turns, until the commit made
 * one. */
static void add_pending(Server *s, Request *rq)
{
    rq->pending = true;
    rq->next = NULL;
    if (s->pending_tail) s->pending_tail->next = rq;
    else s->pending = rq;
    s->pending_tail = rq;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    Server *s = cls;
    Request *rq = *state;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq))) return MHD_NO;
        rq->route = -1;
        clock_gettime(CLOCK_MONOTONIC, &rq->start);
        *state = rq;
        atomic_fetch_add(&s->in_flight, 1);
        if (stopping()) {   /* a new request on a kept-alive connection after SIGTERM */
            ApiReq a = { .conn = c, .server = s };
            return refused(rq, &a, api_error(&a, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "the server is stopping"));
        }
        return admit(s, c, rq, url, method);   /* a refusal queued, or on with the body (or its absence) */
    }
    if (rq->answered) {   /* refused early: the body that still comes is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        bool ok = append_body(rq, upload, *upload_size);
        *upload_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    ApiReq a = { .conn = c, .server = s, .store = s->store, .who = rq->who, .arg = rq->arg,
                 .body = rq->body ? rq->body : "", .len = rq->len };
    enum MHD_Result rc;
    if (rq->too_big) {
        rc = api_error(&a, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the body is over %u bytes", HTTP_MAX_BODY);
    } else if (routes[rq->route].handler == NULL) {   /* POST /v1/events */
        if (rq->committed) {
            rc = rq->stored ? events_reply(s, &a, &rq->reply)
                            : api_error(&a, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                        "the store failed; see the server's log (nothing of the request was stored)");
        } else if (rq->pending) {
            return MHD_YES;   /* asked again before the commit */
        } else if (api_events_prepare(&a, &rq->events, &rq->events_len, &rq->events_owned, &rq->event, &rc)) {
            add_pending(s, rq);
            return MHD_YES;
        }
    } else {
        tok_actor(rq->who.id, a.actor);
        pthread_mutex_lock(&s->lock);
        rc = routes[rq->route].handler(&a);
        pthread_mutex_unlock(&s->lock);
    }
    rq->status = a.status;
    rq->answered = true;
    return rc;
}

static void request_free(Server *s, Request *rq)
{
    if (rq->events_owned) free(rq->events);
    cJSON_Delete(rq->event);
    api_event_reply_free(&rq->reply);
    free(rq->body);
    free(rq);
    atomic_fetch_sub(&s->in_flight, 1);
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    Server *s = cls;
    Request *rq = *state;
    if (!rq) return;
    *state = NULL;
    if (rq->answered) {
        pthread_mutex_lock(&s->metrics_lock);
        metrics_request(s->metrics, rq->route, rq->status, seconds_since(&rq->start));
        pthread_mutex_unlock(&s->metrics_lock);
    }
    if (rq->pending && !rq->committed) rq->abandoned = true;   /* still on the pending list */
    else request_free(s, rq);
}

/* ============================================================ the group commit: the events of a turn together */

/* The requests of `list` for organisation `org` in one transaction; each
 * gets its reply, or none (a 500) when the transaction fails. */
static void commit_org(Server *s, Request *list, int64_t org)
{
    char err[512];
    Engine *e = kept_engine(s, org, err, sizeof err);
    EngStats before = e ? *eng_stats(e) : (EngStats){ 0 };
    bool ok = e && eng_begin(e, err, sizeof err) == 0;
    if (ok) {
        bound_event_times(e);
        for (Request *rq = list; rq && ok; rq = rq->next) {
            if (rq->who.org != org || rq->committed) continue;
            ok = api_events_ingest(e, rq->events, rq->events_len, rq->event, &rq->reply, err, sizeof err) == 0;
            if (ok) {
                pthread_mutex_lock(&s->metrics_lock);
                metrics_events(s->metrics, org, &rq->reply.report);
                pthread_mutex_unlock(&s->metrics_lock);
            }
        }
        if (ok) ok = eng_commit(e, err, sizeof err) == 0;
        else eng_rollback(e);
    }
    if (!ok) fprintf(stderr, "flowvm serve: events of organisation %lld: %s\n", (long long)org, err);
    else count_runs(s, org, &before, eng_stats(e));
    for (Request *rq = list; rq; rq = rq->next) {
        if (rq->who.org != org || rq->committed) continue;
        rq->committed = true;
        rq->stored = ok;
    }
    if (!ok) drop_engines(s);
}

/* The events read in the loop's last turn, in one transaction per
 * organisation; their replies are queued on the next turn. */
static void commit_pending(Server *s)
{
    Request *list = s->pending;
    s->pending = s->pending_tail = NULL;
    pthread_mutex_lock(&s->lock);
    for (Request *rq = list; rq; rq = rq->next)
        if (!rq->committed) commit_org(s, list, rq->who.org);
    pthread_mutex_unlock(&s->lock);
    for (Request *rq = list, *next; rq; rq = next) {
        next = rq->next;
        if (rq->abandoned) request_free(s, rq);
    }
}

/* Waits for the daemon to have work: network events, or a connection
 * timing out.  The wait is the loop's own: libmicrohttpd's waits again,
 * with its whole timeout, after taking in its maximum of events at once. */
static void wait_for_work(Server *s)
{
    MHD_UNSIGNED_LONG_LONG due;
    int ms = LOOP_WAIT_MS;
    if (MHD_get_timeout(s->daemon, &due) == MHD_YES && due < (MHD_UNSIGNED_LONG_LONG)ms) ms = (int)due;
    struct pollfd ready = { .fd = s->epoll_fd, .events = POLLIN };
    if (ms > 0) poll(&ready, 1, ms);
}

/* The HTTP loop: turns of the daemon; after a turn that read events, their
 * commit and two more turns, that queue their replies and send them.
 * After SIGTERM it accepts no new connection, and goes on until the main
 * thread has seen the requests in flight done. */
static void *loop_thread(void *arg)
{
    Server *s = arg;
    prctl(PR_SET_NAME, "flowvm-http");   /* as top -H and perf name threads */
    bool quiesced = false;
    while (!atomic_load(&s->loop_stop)) {
        if (stopping() && !quiesced) {
            MHD_socket listener = MHD_quiesce_daemon(s->daemon);
            if (listener != MHD_INVALID_SOCKET) close(listener);
            quiesced = true;
        }
        wait_for_work(s);
        MHD_run(s->daemon);
        if (s->pending) {
            commit_pending(s);
            MHD_run(s->daemon);
            MHD_run(s->daemon);
        }
    }
    return NULL;
}

static int hex_digit(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* %HH escapes decoded in paths and query values, except %00: a name with
 * a NUL in it stays "%00" (a bad name), rather than becoming a shorter one. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *out = s;
    for (const char *in = s; *in; in++) {
        int hi, lo;
        if (in[0] == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0 && (hi | lo)) {
            *out++ = (char)(hi * 16 + lo);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

/* ============================================================ the worker threads */

typedef struct Worker {
    const HttpOptions *options;
    Server *server;
    int rc;
    char err[512];
} Worker;

/* The worker shares the HTTP loop's connection, under `lock`: its commits
 * on a connection of its own would make every other connection drop its
 * page cache (sqlite does, when the database changed elsewhere) and read
 * the pages again from the file. */
static void *delivery_thread(void *arg)
{
    Worker *w = arg;
    prctl(PR_SET_NAME, "flowvm-deliver");
    ObxOptions opt = { .stop = &stop_requested, .store_lock = &w->server->lock };
    dlv_config_default(&opt.config);
    opt.config.ca_file = w->options->ca_file;
    ObxStats stats;
    w->rc = obx_run(w->server->store, &opt, &stats, w->err, sizeof w->err);
    return NULL;
}

/* Advances every organisation's clock to now: `flowvm tick` for each. */
static void tick_all(Server *s)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = store_stmt(s->store, "SELECT id FROM organisations ORDER BY id");
    int64_t orgs[256];
    int n = 0;
    while (st && n < 256 && sqlite3_step(st) == SQLITE_ROW) orgs[n++] = sqlite3_column_int64(st, 0);
    if (st) sqlite3_reset(st);
    char err[512];
    for (int i = 0; i < n; i++) {
        Engine *e = kept_engine(s, orgs[i], err, sizeof err);
        EngStats before = e ? *eng_stats(e) : (EngStats){ 0 };
        if (!e || eng_tick(e, store_wall_clock(), err, sizeof err) != 0)
            fprintf(stderr, "flowvm serve: the scheduler of organisation %lld: %s\n", (long long)orgs[i], err);
        if (e) count_runs(s, orgs[i], &before, eng_stats(e));
    }
    pthread_mutex_unlock(&s->lock);
}

/* ============================================================ the server's life */

static int parse_listen(const char *listen, struct sockaddr_storage *sa, socklen_t *salen, char *err, size_t errlen)
{
    const char *colon = strrchr(listen, ':');
    char host[64];
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || !colon[1] || *end || port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof host) {
        snprintf(err, errlen, "--listen takes ADDR:PORT (127.0.0.1:8080, [::1]:8080), not '%s'", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    memset(sa, 0, sizeof *sa);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
        host[hl - 1] = '\0';
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *salen = sizeof *a6;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) return 0;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *salen = sizeof *a4;
        if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &a4->sin_addr) == 1) return 0;
    }
    snprintf(err, errlen, "--listen: '%s' is not an IPv4 address or a bracketed IPv6 one", host);
    return -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stopping()) {}
}

static void close_stores(Server *s)
{
    store_close(s->store);
    store_close(s->auth_store);
    store_close(s->checkpoint_store);
}

static void server_free(Server *s)
{
    if (s->daemon) MHD_stop_daemon(s->daemon);
    for (int i = 0; i < INGEST_REJECTED; i++)
        for (int j = 0; j < KEPT_RUNS; j++)
            if (s->kept_replies[i][j].response) MHD_destroy_response(s->kept_replies[i][j].response);
    drop_engines(s);
    close_stores(s);
    metrics_free(s->metrics);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->metrics_lock);
}

int http_serve(const HttpOptions *o, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (parse_listen(o->listen, &sa, &salen, err, errlen) != 0) return -1;
    for (int i = 0; i < NROUTES; i++) {
        snprintf(route_labels_text[i], sizeof route_labels_text[i], "%s %s", routes[i].method, routes[i].path);
        route_labels[i] = route_labels_text[i];
    }
    Server server = { .store = store_open(o->db, err, errlen), .metrics = metrics_new(route_labels) };
    pthread_mutex_init(&server.lock, NULL);
    pthread_mutex_init(&server.metrics_lock, NULL);
    atomic_init(&server.in_flight, 0);
    atomic_init(&server.loop_stop, false);
    atomic_init(&server.checkpoint_wanted, false);
    if (server.store) server.auth_store = store_open(o->db, err, errlen);
    if (server.auth_store) server.checkpoint_store = store_open(o->db, err, errlen);
    if (!server.checkpoint_store || !server.metrics) {
        if (server.checkpoint_store) snprintf(err, errlen, "out of memory");
        server_free(&server);
        return -1;
    }
    /* the loop writes; copying the log into the database (and its fsync)
     * is the main thread's, beside it */
    store_defer_checkpoints(server.store, &server.checkpoint_wanted, HTTP_CHECKPOINT_SOFT, HTTP_CHECKPOINT_HARD);
    struct sigaction act = { 0 };
    act.sa_handler = on_stop_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned flags = MHD_USE_EPOLL;   /* run by the loop, not by a thread of libmicrohttpd's */
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, &server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, &server,
        MHD_OPTION_CONNECTION_TIMEOUT, o->timeout ? o->timeout : (unsigned)HTTP_DEFAULT_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s: %s", o->listen, strerror(errno));
        server_free(&server);
        return -1;
    }
    server.daemon = d;
    const union MHD_DaemonInfo *epoll_info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!epoll_info) {
        snprintf(err, errlen, "libmicrohttpd has no epoll loop here");
        server_free(&server);
        return -1;
    }
    server.epoll_fd = epoll_info->epoll_fd;
    pthread_t loop;
    if (pthread_create(&loop, NULL, loop_thread, &server) != 0) {
        snprintf(err, errlen, "cannot start the HTTP loop: %s", strerror(errno));
        server_free(&server);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? (unsigned)info->port : 0;
    char addr[INET6_ADDRSTRLEN];
    if (sa.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, addr, sizeof addr);
    else inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, addr, sizeof addr);
    printf(sa.ss_family == AF_INET6 ? "listening on [%s]:%u\n" : "listening on %s:%u\n", addr, port);
    fflush(stdout);

    Worker deliveries = { .options = o, .server = &server };
    pthread_t delivery;
    bool workers = !o->no_worker;
    if (workers) {
        mallopt(M_TRIM_THRESHOLD, 16 << 20);   /* as flowvm deliver: no heap shrink and regrow per batch */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (pthread_create(&delivery, NULL, delivery_thread, &deliveries) != 0) {
            fprintf(stderr, "flowvm serve: cannot start the delivery worker: %s\n", strerror(errno));
            workers = false;
        }
    }
    unsigned tick_ms = o->tick_ms ? o->tick_ms : 1000, waited = 0;
    while (!stopping()) {
        sleep_ms(50);
        if (atomic_exchange(&server.checkpoint_wanted, false) &&
            store_checkpoint(server.checkpoint_store, err, errlen) != 0)
            fprintf(stderr, "flowvm serve: %s\n", err);
        if (workers && (waited += 50) >= tick_ms) {
            waited = 0;
            tick_all(&server);
        }
    }
    /* graceful stop: no new connections (the loop closes its listener on
     * its next turn), the ones open finish */
    for (int i = 0; i < HTTP_DRAIN_SECONDS * 20 && atomic_load(&server.in_flight) > 0; i++) sleep_ms(50);
    int left = atomic_load(&server.in_flight);
    atomic_store(&server.loop_stop, true);
    pthread_join(loop, NULL);
    int rc = 0;
    if (workers) {
        pthread_join(delivery, NULL);
        if (deliveries.rc != 0) {
            snprintf(err, errlen, "the delivery worker: %s", deliveries.err);
            rc = -1;
        }
        curl_global_cleanup();
        whk_cache_free();
    }
    server_free(&server);
    printf("stopped%s\n", left ? " (requests still open were cut off)" : "");
    fflush(stdout);
    return rc;
}
