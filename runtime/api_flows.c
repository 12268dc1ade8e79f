/*
 * api_flows.c - the HTTP API's endpoints on flows and their versions:
 * list, show, history, upload a draft, approve, roll back, enable, disable,
 * delete, restore, export and import (spec/http-api.md).  The lifecycle is
 * deploy.c's and bundle.c's, the same as the CLI's (spec/deployments.md);
 * the actor of each change is the caller's token, so a draft uploaded with
 * one token is approved with another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/format.h"
#include "../vm/vm.h"
#include "api.h"
#include "bundle.h"
#include "deploy.h"

/* The lines a library call printed, as a JSON array of strings. */
static cJSON *lines_json(const char *text)
{
    cJSON *a = cJSON_CreateArray();
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, n);
        if (line) cJSON_AddItemToArray(a, cJSON_CreateString(line));
        free(line);
        p = nl ? nl + 1 : NULL;
    }
    return a;
}

/* 400 unless the path's name is a valid one. */
static bool name_checked(ApiReq *rq, const char *what, enum MHD_Result *sent)
{
    if (api_name_ok(rq->arg)) return true;
    *sent = api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_name",
                      "'%.64s' is not a %s name (letters, digits, '_', '.', '-'; at most %d)", rq->arg, what,
                      API_MAX_NAME);
    return false;
}

/* ============================================================ list, show */

static const char flow_columns[] =
    "SELECT f.name, f.kind, f.project, f.enabled, f.deleted IS NOT NULL,"
    " (SELECT number FROM versions WHERE flow = f.id AND state = 'active'),"
    " (SELECT number FROM versions WHERE flow = f.id AND state = 'draft'), f.id FROM flows f";

static cJSON *flow_json(sqlite3_stmt *st)
{
    bool has_active = sqlite3_column_type(st, 5) != SQLITE_NULL, has_draft = sqlite3_column_type(st, 6) != SQLITE_NULL;
    bool deleted = sqlite3_column_int(st, 4) != 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", api_column_text(st, 0));
    cJSON_AddStringToObject(o, "kind", api_column_text(st, 1));
    cJSON_AddStringToObject(o, "project", api_column_text(st, 2));
    cJSON_AddStringToObject(o, "state", deleted ? "deleted" : has_active && has_draft ? "drafting"
                                                            : has_active              ? "active"
                                                                                      : "draft");
    cJSON_AddBoolToObject(o, "enabled", sqlite3_column_int(st, 3) != 0);
    if (has_active) cJSON_AddNumberToObject(o, "active_version", sqlite3_column_int(st, 5));
    if (has_draft) cJSON_AddNumberToObject(o, "draft_version", sqlite3_column_int(st, 6));
    return o;
}

enum MHD_Result api_get_flows(ApiReq *rq)
{
    const char *project = api_query(rq, "project"), *deleted = api_query(rq, "deleted");
    if (deleted && strcmp(deleted, "true") && strcmp(deleted, "false"))
        return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_parameter", "deleted is true or false");
    static char query[sizeof flow_columns + 160];
    if (!query[0])
        snprintf(query, sizeof query, "%s WHERE f.org = ?1 AND (?2 IS NULL OR f.project = ?2)"
                 " AND (f.deleted IS NULL OR ?3) ORDER BY f.project, f.kind, f.name", flow_columns);
    sqlite3_stmt *st = store_stmt(rq->store, query);
    if (!st) return api_store_error(rq, store_errmsg(rq->store));
    sqlite3_bind_int64(st, 1, rq->who.org);
    if (project) sqlite3_bind_text(st, 2, project, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, deleted && strcmp(deleted, "true") == 0);
    cJSON *o = cJSON_CreateObject(), *flows = cJSON_AddArrayToObject(o, "flows");
    while (sqlite3_step(st) == SQLITE_ROW) cJSON_AddItemToArray(flows, flow_json(st));
    sqlite3_reset(st);
    return api_json(rq, MHD_HTTP_OK, o);
}

/* The flow (or else the sub) named rq->arg as JSON with its id; NULL with
 * a 400/404 queued into *sent. */
static cJSON *find_flow(ApiReq *rq, int64_t *id, enum MHD_Result *sent)
{
    if (!name_checked(rq, "flow", sent)) return NULL;
    static char query[sizeof flow_columns + 100];
    if (!query[0])
        snprintf(query, sizeof query, "%s WHERE f.org = ?1 AND f.name = ?2 ORDER BY f.kind = 'flow' DESC LIMIT 1",
                 flow_columns);
    sqlite3_stmt *st = store_stmt(rq->store, query);
    if (!st) {
        *sent = api_store_error(rq, store_errmsg(rq->store));
        return NULL;
    }
    sqlite3_bind_int64(st, 1, rq->who.org);
    sqlite3_bind_text(st, 2, rq->arg, -1, SQLITE_TRANSIENT);
    cJSON *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        o = flow_json(st);
        *id = sqlite3_column_int64(st, 7);
    }
    sqlite3_reset(st);
    if (!o) *sent = api_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "no flow named '%s'", rq->arg);
    return o;
}

/* The version columns of GET .../versions and of a flow's active version. */
static const char version_columns[] =
    "SELECT v.number, v.state, v.created, v.author, v.deployed, v.approver, v.sha256, v.compiler, v.source_sha256,"
    " v.origin, v.archived, v.window_from, v.window_until,"
    " (SELECT json_group_object(name, json(value)) FROM inputs WHERE version = v.id),"
    " (SELECT json_group_array(json_object('name', sf.name, 'version', sv.number)) FROM version_subs s"
    "   JOIN versions sv ON sv.id = s.sub_version JOIN flows sf ON sf.id = sv.flow WHERE s.version = v.id)"
    " FROM versions v";

static cJSON *version_json(sqlite3_stmt *st)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "number", sqlite3_column_int(st, 0));
    cJSON_AddStringToObject(v, "state", api_column_text(st, 1));
    api_add_time(v, "created", st, 2);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) cJSON_AddStringToObject(v, "author", api_column_text(st, 3));
    api_add_time(v, "activated", st, 4);
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) cJSON_AddStringToObject(v, "approver", api_column_text(st, 5));
    cJSON_AddStringToObject(v, "sha256", api_column_text(st, 6));
    cJSON_AddStringToObject(v, "compiler", api_column_text(st, 7));
    cJSON_AddStringToObject(v, "source_sha256", api_column_text(st, 8));
    if (sqlite3_column_type(st, 9) != SQLITE_NULL) cJSON_AddNumberToObject(v, "rollback_of", sqlite3_column_int(st, 9));
    api_add_time(v, "archived", st, 10);
    api_add_time(v, "window_from", st, 11);
    api_add_time(v, "window_until", st, 12);
    cJSON *inputs = cJSON_Parse(api_column_text(st, 13)), *subs = cJSON_Parse(api_column_text(st, 14));
    cJSON_AddItemToObject(v, "inputs", inputs ? inputs : cJSON_CreateObject());
    cJSON_AddItemToObject(v, "subs", subs ? subs : cJSON_CreateArray());
    return v;
}

/* The versions of flow `id` (all, or the active one only) into `into`. */
static int add_versions(Store *store, int64_t id, bool active_only, cJSON *into, const char *name)
{
    static char query[sizeof version_columns + 120];
    if (!query[0])
        snprintf(query, sizeof query, "%s WHERE v.flow = ?1 AND (?2 = 0 OR v.state = 'active') ORDER BY v.number",
                 version_columns);
    sqlite3_stmt *st = store_stmt(store, query);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, active_only);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (name) cJSON_AddItemToObject(into, name, version_json(st));
        else cJSON_AddItemToArray(into, version_json(st));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

enum MHD_Result api_get_flow(ApiReq *rq)
{
    enum MHD_Result sent;
    int64_t id;
    cJSON *o = find_flow(rq, &id, &sent);
    if (!o) return sent;
    if (add_versions(rq->store, id, true, o, "active") != 0) {
        cJSON_Delete(o);
        return api_store_error(rq, store_errmsg(rq->store));
    }
    return api_json(rq, MHD_HTTP_OK, o);
}

enum MHD_Result api_get_versions(ApiReq *rq)
{
    enum MHD_Result sent;
    int64_t id;
    cJSON *o = find_flow(rq, &id, &sent);
    if (!o) return sent;
    if (add_versions(rq->store, id, false, cJSON_AddArrayToObject(o, "versions"), NULL) != 0) {
        cJSON_Delete(o);
        return api_store_error(rq, store_errmsg(rq->store));
    }
    return api_json(rq, MHD_HTTP_OK, o);
}

/* ============================================================ changes of state */

/* The flow after a change, 200 (or `status`), with the library's lines. */
static enum MHD_Result reply_flow(ApiReq *rq, unsigned status, const char *messages)
{
    enum MHD_Result sent;
    int64_t id;
    cJSON *o = find_flow(rq, &id, &sent);
    if (!o) return sent;
    if (messages) cJSON_AddItemToObject(o, "messages", lines_json(messages));
    return api_json(rq, status, o);
}

static enum MHD_Result set_state(ApiReq *rq, DeployState state)
{
    enum MHD_Result sent;
    if (!name_checked(rq, "flow", &sent)) return sent;
    char kind[8], err[512];
    int rc = deploy_set_state(rq->store, rq->who.org, rq->arg, state, rq->actor, store_wall_clock(), kind, err,
                              sizeof err);
    if (rc == -2) return api_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "%s", err);
    if (rc != 0) return api_error(rq, strncmp(err, "store", 5) ? MHD_HTTP_CONFLICT : 500, "conflict", "%s", err);
    api_engines_stale(rq);
    return reply_flow(rq, MHD_HTTP_OK, NULL);
}

enum MHD_Result api_enable_flow(ApiReq *rq) { return set_state(rq, DEPLOY_ENABLE); }
enum MHD_Result api_disable_flow(ApiReq *rq) { return set_state(rq, DEPLOY_DISABLE); }
enum MHD_Result api_delete_flow(ApiReq *rq) { return set_state(rq, DEPLOY_DELETE); }
enum MHD_Result api_restore_flow(ApiReq *rq) { return set_state(rq, DEPLOY_RESTORE); }

/* What a lifecycle call prints to its FILE, kept for the reply's "messages". */
typedef struct Captured {
    char *text;
    size_t len;
    FILE *out;
} Captured;

static bool capture_open(Captured *c)
{
    c->text = NULL;
    c->len = 0;
    c->out = open_memstream(&c->text, &c->len);
    return c->out != NULL;
}

static void capture_close(Captured *c)
{
    if (c->out) fclose(c->out);
    c->out = NULL;
}

enum MHD_Result api_approve_flow(ApiReq *rq)
{
    enum MHD_Result sent;
    int64_t id;
    cJSON *flow = find_flow(rq, &id, &sent);
    if (!flow) return sent;
    cJSON_Delete(flow);
    Captured c;
    if (!capture_open(&c)) return MHD_NO;
    const char *names[] = { rq->arg };
    char err[512];
    int rc = deploy_approve(rq->store, rq->who.org, names, 1, rq->actor, store_wall_clock(), c.out, err, sizeof err);
    capture_close(&c);
    enum MHD_Result r;
    if (rc != 0) {
        r = api_error(rq, MHD_HTTP_CONFLICT, "refused", "approval refused: %s", err);
    } else {
        api_engines_stale(rq);
        r = reply_flow(rq, MHD_HTTP_OK, c.text);
    }
    free(c.text);
    return r;
}

enum MHD_Result api_rollback_flow(ApiReq *rq)
{
    static const char *const fields[] = { "to", NULL };
    enum MHD_Result sent;
    int64_t id;
    cJSON *flow = find_flow(rq, &id, &sent);
    if (!flow) return sent;
    cJSON_Delete(flow);
    cJSON *body = api_body_object(rq, fields, &sent);
    if (!body) return sent;
    cJSON *to = cJSON_GetObjectItemCaseSensitive(body, "to");
    int number = cJSON_IsNumber(to) && to->valuedouble >= 1 && to->valuedouble <= 1e9 &&
                 to->valuedouble == (double)(int)to->valuedouble ? (int)to->valuedouble : 0;
    cJSON_Delete(body);
    if (!number) return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_field", "\"to\" is a version number");
    Captured c;
    if (!capture_open(&c)) return MHD_NO;
    char err[512];
    int rc = deploy_rollback(rq->store, rq->who.org, rq->arg, number, rq->actor, store_wall_clock(), c.out, err,
                             sizeof err);
    capture_close(&c);
    enum MHD_Result r = rc != 0 ? api_error(rq, MHD_HTTP_CONFLICT, "refused", "rollback refused: %s", err)
                                : reply_flow(rq, MHD_HTTP_CREATED, c.text);
    free(c.text);
    return r;
}

/* ============================================================ upload a draft */

static bool time_field(cJSON *body, const char *name, bool *has, int64_t *out)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    *has = v != NULL;
    if (!v) return true;
    const char *s = cJSON_GetStringValue(v);
    return s && fmt_parse_time(s, strlen(s), out);
}

enum MHD_Result api_post_flows(ApiReq *rq)
{
    static const char *const fields[] = { "artifact", "inputs", "project", "from", "until", NULL };
    enum MHD_Result sent;
    cJSON *body = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    DeployOptions opt = { .author = rq->actor };
    if (api_content_type_is(rq, "application/octet-stream")) {
        bytes = malloc(rq->len ? rq->len : 1);
        if (!bytes) return MHD_NO;
        memcpy(bytes, rq->body, rq->len);
        len = rq->len;
    } else {
        if (!api_content_type_is(rq, "application/json"))
            return api_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                             "the body is the artifact (application/octet-stream) or a JSON object with it in base64");
        if (!(body = api_body_object(rq, fields, &sent))) return sent;
        const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "artifact"));
        cJSON *project = cJSON_GetObjectItemCaseSensitive(body, "project");
        cJSON *inputs = cJSON_GetObjectItemCaseSensitive(body, "inputs");
        const char *bad = !b64                                            ? "\"artifact\" (base64) is required"
                          : !(bytes = bundle_unbase64(b64, &len))         ? "\"artifact\" is not base64"
                          : project && !(cJSON_IsString(project) && api_name_ok(project->valuestring))
                              ? "\"project\" is a project name"
                          : inputs && !cJSON_IsObject(inputs)             ? "\"inputs\" is an object of name -> value"
                          : !time_field(body, "from", &opt.has_from, &opt.from) ? "\"from\" is an RFC 3339 time"
                          : !time_field(body, "until", &opt.has_until, &opt.until) ? "\"until\" is an RFC 3339 time"
                                                                                   : NULL;
        if (bad) {
            free(bytes);
            cJSON_Delete(body);
            return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_field", "%s", bad);
        }
        opt.project = project ? project->valuestring : NULL;
    }
    /* the artifact's own name, to answer with its flow (deploy_versions verifies it again) */
    Artifact *art = NULL;
    char err[1024];
    enum MHD_Result r;
    if (art_load(bytes, len, &art, err, sizeof err) != 0) {
        r = api_error(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "not a valid artifact: %s", err);
        goto done;
    }
    char name[API_MAX_NAME + 1];
    snprintf(name, sizeof name, "%s", art->name);
    art_free(art);
    Captured c;
    if (!capture_open(&c)) {
        r = MHD_NO;
        goto done;
    }
    DeployItem item = { "the artifact", bytes, len };
    int rc = deploy_versions(rq->store, rq->who.org, &item, 1, cJSON_GetObjectItemCaseSensitive(body, "inputs"), false,
                             store_wall_clock(), &opt, c.out, err, sizeof err);
    capture_close(&c);
    if (rc != 0) {
        r = api_error(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, "refused", "deploy refused: %s", err);
    } else {
        api_engines_stale(rq);
        ApiReq named = *rq;
        named.arg = name;
        r = reply_flow(&named, strstr(c.text ? c.text : "", "unchanged") ? MHD_HTTP_OK : MHD_HTTP_CREATED, c.text);
        rq->status = named.status;
    }
    free(c.text);
done:
    free(bytes);
    cJSON_Delete(body);
    return r;
}

/* ============================================================ export, import */

static enum MHD_Result export(ApiReq *rq, const char *flow, const char *project)
{
    enum MHD_Result sent;
    if (!name_checked(rq, flow ? "flow" : "project", &sent)) return sent;
    const char *inputs = api_query(rq, "inputs");
    if (inputs && strcmp(inputs, "keep") && strcmp(inputs, "strip"))
        return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_parameter", "inputs is keep or strip");
    char err[512];
    char *text = bundle_export(rq->store, rq->who.org, flow, project, !inputs || strcmp(inputs, "keep") == 0, err,
                               sizeof err);
    if (!text) return api_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "export refused: %s", err);
    char detail[200];
    snprintf(detail, sizeof detail, "%s %s over the API", flow ? "flow" : "project", flow ? flow : project);
    if (deploy_audit(rq->store, rq->who.org, rq->actor, "export", detail, err, sizeof err) != 0) {
        free(text);
        return api_store_error(rq, err);
    }
    return api_text(rq, MHD_HTTP_OK, "application/json", text, strlen(text));
}

enum MHD_Result api_export_flow(ApiReq *rq) { return export(rq, rq->arg, NULL); }
enum MHD_Result api_export_project(ApiReq *rq) { return export(rq, NULL, rq->arg); }

enum MHD_Result api_import(ApiReq *rq)
{
    static const char *const wrapper_fields[] = { "bundle", "inputs", NULL };
    enum MHD_Result sent;
    if (!api_content_type_is(rq, "application/json"))
        return api_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "the body is application/json");
    /* a bundle as exported, or {"bundle": ..., "inputs": ...} for a bundle whose inputs were stripped */
    cJSON *doc = cJSON_ParseWithLength(rq->body, rq->len), *inputs = NULL;
    char *text = NULL;
    if (cJSON_IsObject(doc) && cJSON_GetObjectItemCaseSensitive(doc, "bundle")) {
        cJSON_Delete(doc);
        doc = api_body_object(rq, wrapper_fields, &sent);
        if (!doc) return sent;
        inputs = cJSON_GetObjectItemCaseSensitive(doc, "inputs");
        if (inputs && !cJSON_IsObject(inputs)) {
            cJSON_Delete(doc);
            return api_error(rq, MHD_HTTP_BAD_REQUEST, "bad_field", "\"inputs\" is an object of name -> value");
        }
        text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(doc, "bundle"));
    }
    Captured c;
    if (!capture_open(&c)) {
        cJSON_Delete(doc);
        free(text);
        return MHD_NO;
    }
    char err[1024];
    int rc = bundle_import(rq->store, rq->who.org, "the bundle", text ? text : rq->body, text ? strlen(text) : rq->len,
                           inputs, rq->actor, c.out, err, sizeof err);
    capture_close(&c);
    cJSON_Delete(doc);
    free(text);
    enum MHD_Result r;
    if (rc != 0) {
        r = api_error(rq, strstr(err, "exists already") ? MHD_HTTP_CONFLICT : MHD_HTTP_UNPROCESSABLE_CONTENT, "refused",
                      "import refused: %s", err);
    } else {
        api_engines_stale(rq);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "messages", lines_json(c.text));
        r = api_json(rq, MHD_HTTP_CREATED, o);
    }
    free(c.text);
    return r;
}
