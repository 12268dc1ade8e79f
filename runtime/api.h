/*
 * api.h - what the HTTP API's endpoint files (api_data.c, api_flows.c)
 * share with the server (http.c): the request as a handler sees it, the
 * replies, the checks every handler makes on its inputs.
 *
 * A handler runs after the server has matched its route, authenticated
 * the caller, checked the role, the query parameters' names and the body's
 * size; it runs alone on the store (the server serialises them), queues
 * exactly one reply and returns what that reply returned.
 */
#ifndef FLOW_RUNTIME_API_H
#define FLOW_RUNTIME_API_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "ingest.h"
#include "store.h"
#include "tokens.h"

#define API_MAX_NAME 64          /* a flow, project or organisation name in a path or body */
#define API_MAX_LIST 1000        /* ?limit= of a list */

typedef struct Server Server;

typedef struct ApiReq {
    struct MHD_Connection *conn;
    Server *server;
    Store *store;
    TokIdentity who;             /* the caller (unset on routes without auth) */
    char actor[32];              /* tok_actor(who.id) */
    const char *arg;             /* the path's variable segment: a flow name, an ICCID, a run id */
    const char *body;            /* NUL-terminated; len bytes (may hold NULs) */
    size_t len;
    unsigned status;             /* of the reply queued, for the metrics */
} ApiReq;

typedef enum MHD_Result (*ApiHandler)(ApiReq *rq);

/* ------------------------------------------------------------ replies (each queues one) */

/* `json` (consumed) as application/json. */
enum MHD_Result api_json(ApiReq *rq, unsigned status, cJSON *json);
/* `text` (malloc'd, consumed) as `type`. */
enum MHD_Result api_text(ApiReq *rq, unsigned status, const char *type, char *text, size_t len);
/* {"error": {"code": code, "message": ...}} */
enum MHD_Result api_error(ApiReq *rq, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 500, the detail to the server's log only. */
enum MHD_Result api_store_error(ApiReq *rq, const char *detail);

/* ------------------------------------------------------------ inputs */

/* A query parameter (names were checked against the route's), or NULL. */
const char *api_query(ApiReq *rq, const char *name);
/* An integer query parameter in [min, max] (`fallback` when absent); false
 * with a 400 queued into *sent when it is not one. */
bool api_query_int(ApiReq *rq, const char *name, long long min, long long max, long long fallback, long long *out,
                   enum MHD_Result *sent);
/* The Content-Type is `type` (parameters after ';' ignored). */
bool api_content_type_is(ApiReq *rq, const char *type);
/* The body as a JSON object whose members are among `fields` (NULL-ended);
 * NULL with a 415 (not application/json), 400 (malformed, not an object, an
 * unknown member) queued into *sent. */
cJSON *api_body_object(ApiReq *rq, const char *const *fields, enum MHD_Result *sent);
/* A flow, project or organisation name: [A-Za-z0-9_.-], 1..API_MAX_NAME
 * bytes, not "." or "..". */
bool api_name_ok(const char *name);

/* ------------------------------------------------------------ rows to JSON */

/* A text column, "" for NULL. */
const char *api_column_text(sqlite3_stmt *st, int i);
/* A time column as an RFC 3339 string member; nothing for NULL. */
void api_add_time(cJSON *o, const char *name, sqlite3_stmt *st, int i);

/* ------------------------------------------------------------ the server's state */

/* Drops every kept engine: flows, inputs or SIMs changed through this
 * connection, which the engines would not see (they watch other ones). */
void api_engines_stale(ApiReq *rq);

/* ------------------------------------------------------------ handlers */

/* POST /v1/events runs in three steps: the checks that need no store, as
 * the request is read; then the events of every request read in the same
 * turn of the server's loop, in one transaction (a group commit); then the
 * reply, on a later turn.  The commit, the server's bottleneck, only
 * processes: a lone event comes to it parsed, and it keeps each line's
 * result as a number, not as JSON. */
typedef struct EventLine {
    uint64_t line;
    IngestResult result;
    char *why;                   /* malloc'd, for rejections; else NULL */
} EventLine;

typedef struct EventReply {
    IngestReport report;
    EventLine *lines;            /* the lines with a result (not blank ones) */
    size_t n, cap;
    bool incomplete;             /* out of memory while keeping them */
} EventReply;

/* The media type and the body, made NDJSON in *text (*owned: malloc'd;
 * else the body itself, to be modified); a lone application/json event
 * also parsed, in *event (the caller's to delete; NULL for a batch).
 * False with a reply queued. */
bool api_events_prepare(ApiReq *rq, char **text, size_t *len, bool *owned, cJSON **event, enum MHD_Result *sent);
/* One request's events inside the caller's transaction, their results in
 * *reply (emptied first).  0, or -1 on a store error (err; the caller rolls
 * back). */
int api_events_ingest(Engine *engine, char *text, size_t len, const cJSON *event, EventReply *reply, char *err,
                      size_t errlen);
/* The 202 reply of `reply`. */
enum MHD_Result api_events_reply(ApiReq *rq, const EventReply *reply);
/* Its JSON (NULL out of memory); `reply` is complete. */
cJSON *api_events_json(const EventReply *reply);
void api_event_reply_free(EventReply *reply);
enum MHD_Result api_get_sims(ApiReq *rq);
enum MHD_Result api_post_sims(ApiReq *rq);
enum MHD_Result api_get_sim(ApiReq *rq);
enum MHD_Result api_transfer_sim(ApiReq *rq);
enum MHD_Result api_get_runs(ApiReq *rq);
enum MHD_Result api_get_run(ApiReq *rq);
enum MHD_Result api_get_audit(ApiReq *rq);

enum MHD_Result api_get_flows(ApiReq *rq);
enum MHD_Result api_post_flows(ApiReq *rq);
enum MHD_Result api_get_flow(ApiReq *rq);
enum MHD_Result api_delete_flow(ApiReq *rq);
enum MHD_Result api_get_versions(ApiReq *rq);
enum MHD_Result api_approve_flow(ApiReq *rq);
enum MHD_Result api_enable_flow(ApiReq *rq);
enum MHD_Result api_disable_flow(ApiReq *rq);
enum MHD_Result api_restore_flow(ApiReq *rq);
enum MHD_Result api_rollback_flow(ApiReq *rq);
enum MHD_Result api_export_flow(ApiReq *rq);
enum MHD_Result api_export_project(ApiReq *rq);
enum MHD_Result api_import(ApiReq *rq);

#endif
