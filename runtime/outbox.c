/*
 * outbox.c - the delivery worker over the store.  See outbox.h.
 *
 * Two threads (see "the two threads" below): the calling thread moves the
 * transfers; a store thread claims due rows and records finished attempts in
 * batches, a transaction for each batch, which also claims when rows are
 * needed.  Jobs own every string their transfer reads until it is recorded.
 * Memory is bounded by OBX_JOBS jobs.
 */
#include "outbox.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "json.h"
#include "sims.h"
#include "webhook_sign.h"

#define OBX_FLUSH_EVERY 64   /* finished jobs recorded in one transaction at most... */
#define OBX_FLUSH_MS 50      /* ...or after this long */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct Job {
    int64_t outbox, action, org;
    int attempts;                    /* attempts made before this one */
    bool email, started;
    char delivery_id[40];
    NetPolicy policy;
    char *url, *body;                /* webhook: URL and envelope */
    struct curl_slist *headers;
    int64_t endpoint;
    cJSON *action_json;              /* email */
    char **rcpts;                    /* envelope recipients still pending */
    int nrcpts;
    char **to, **cc;
    int nto, ncc;
    MailMessage msg;
    DlvSmtp smtp;
    char *profile_strings[5];        /* host, username, password, from name, from address */
    char message_id[128];
    char failed[256];                /* set when the job cannot even start */
    DlvAttempt attempt;              /* a copy of the engine's, recipients included */
    DlvRecipient *recipients;
    int64_t attempt_time;
    char result_detail[32];          /* "HTTP 204" */
    bool done;                       /* the attempt is over (set by the network thread) */
    bool recorded;                   /* in the store thread's batch */
} Job;

/* Statements that take a batch as a list of VALUES rows (bound parameters,
 * no JSON to parse): one statement per batch, not per row.  A batch of n
 * rows runs the statements of the powers of two that make n. */
enum { VS_CLAIM, VS_ATTEMPTS, VS_OUTBOX, VS_RESULTS, VS_KINDS };
#define VS_SIZES 9                 /* 1, 2, 4 ... 256 = OBX_BATCH rows */

typedef struct Val {
    enum { V_NULL, V_INT, V_TEXT } type;
    int64_t i;
    const char *s;                 /* lives until the statement has run */
} Val;

/* The rows of one kind waiting for their statement, ncols values each. */
typedef struct Rows {
    Val v[OBX_JOBS * 7];
    int n;
} Rows;

typedef struct Worker {
    /* the last endpoint and policy looked up, valid within one claim */
    int64_t cached_org, cached_endpoint;
    char *cached_url;
    char cached_secrets[WHK_HEADER_MAX];
    bool cached_disabled;
    NetPolicy cached_policy;
    Store *store;
    const ObxOptions *opt;
    ObxStats *stats;
    DlvEngine *engine;
    Job *jobs[OBX_JOBS];
    int njobs;
    uint64_t seed;
    char *err;
    size_t errlen;
    sqlite3_stmt *vstmt[VS_KINDS][VS_SIZES];
    unsigned char random[16 * 64];  /* bytes for delivery ids, the last nrandom unused */
    int nrandom;
    /* the two threads (see "the two threads" below) */
    pthread_mutex_t lock;
    pthread_cond_t store_wake, net_wake;
    bool quit;                     /* the store thread is done: the network thread returns */
    bool failed;                   /* the store thread stopped on an error (err) */
    Job *net_done[OBX_JOBS];       /* network thread: finished, not yet handed back */
    Job *pool;                     /* OBX_JOBS jobs, allocated once */
    Job *spare[OBX_JOBS];         /* the pool's free ones (store thread) */
    int nspare;
    int nnet_done;
    Rows *rows;                    /* [VS_KINDS] */
} Worker;

static int64_t now_of(const ObxOptions *opt)
{
    return opt->clock ? opt->clock(opt->clock_ctx) : store_wall_clock();
}

static void rfc3339(int64_t t, char out[32])
{
    /* the civil date of day t / 86400 (H. Hinnant's days_from_civil
     * inverted): no gmtime_r, whose time zone lock every call takes */
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) secs += 86400, days--;
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1), month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999) {
        time_t when = (time_t)t;
        struct tm tm;
        gmtime_r(&when, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return;
    }
    int v[6] = { (int)year, month, day, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60) };
    static const char sep[6] = { '-', '-', 'T', ':', ':', 'Z' };
    char *p = out;
    for (int i = 0; i < 6; i++) {
        if (i == 0) *p++ = (char)('0' + v[0] / 1000), *p++ = (char)('0' + v[0] / 100 % 10);
        *p++ = (char)('0' + v[i] / 10 % 10);
        *p++ = (char)('0' + v[i] % 10);
        *p++ = sep[i];
    }
    *p = '\0';
}

static char *dup_text(const unsigned char *text)
{
    return strdup(text ? (const char *)text : "");
}

static void free_list(char **list, int n)
{
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

static Job *job_new(Worker *w)
{
    if (w->nspare == 0) return NULL;
    Job *job = w->spare[--w->nspare];
    memset(job, 0, sizeof *job);
    return job;
}

/* Frees what the job holds and gives it back to the pool: jobs come from
 * one array, so that a claim and its recording do not make the allocator
 * grow and trim a heap (a TLB shootdown of the other thread each time). */
static void job_free(Worker *w, Job *job)
{
    if (!job) return;
    free(job->url);
    free(job->body);
    free(job->headers);               /* one block (prepare_webhook) */
    cJSON_Delete(job->action_json);
    free_list(job->rcpts, job->nrcpts);
    free_list(job->to, job->nto);
    free_list(job->cc, job->ncc);
    for (int i = 0; i < 5; i++) free(job->profile_strings[i]);
    free(job->recipients);
    w->spare[w->nspare++] = job;
}

/* ============================================================ settings and endpoints */

int obx_policy(Store *store, int64_t org, NetPolicy *policy)
{
    memset(policy, 0, sizeof *policy);
    sqlite3_stmt *st = store_stmt(store, "SELECT allow, allow_http, allow_any_port FROM delivery_settings WHERE org = ?1");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, org);
    if (sqlite3_step(st) == SQLITE_ROW) {
        policy->allow = (unsigned)sqlite3_column_int64(st, 0);
        policy->allow_http = sqlite3_column_int(st, 1) != 0;
        policy->allow_any_port = sqlite3_column_int(st, 2) != 0;
    }
    sqlite3_reset(st);
    return 0;
}

int64_t obx_endpoint(Store *store, int64_t org, const char *url, char *secrets, size_t size, bool *disabled,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT id, secrets, disabled FROM webhook_endpoints WHERE org = ?1 AND url = ?2");
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, url, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        snprintf(secrets, size, "%s", (const char *)sqlite3_column_text(st, 1));
        *disabled = sqlite3_column_int(st, 2) != 0;
        sqlite3_reset(st);
        return id;
    }
    sqlite3_reset(st);
    char secret[WHK_SECRET_MAX];
    if (whk_secret_new(secret) != 0) {
        snprintf(err, errlen, "no random bytes for a webhook secret");
        return -1;
    }
    st = store_stmt(store, "INSERT INTO webhook_endpoints (org, url, secrets, created) VALUES (?1, ?2, ?3, ?4)");
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, secret, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, store_wall_clock());
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    snprintf(secrets, size, "%s", secret);
    *disabled = false;
    return sqlite3_last_insert_rowid(store->db);
fail:
    snprintf(err, errlen, "store: %s", store_errmsg(store));
    return -1;
}

/* ============================================================ webhooks */

/* column i of the row as JSON text, `fallback` when NULL or not JSON-looking */
static const char *json_column(sqlite3_stmt *row, int i, const char *fallback)
{
    const char *text = (const char *)sqlite3_column_text(row, i);
    return text && (*text == '{' || *text == '[') ? text : fallback;
}

/* The SIM's record as SIMS_DOC_SQL makes it: the stored doc, and when the
 * SIM has usage, sqlite's json_set of its three fields; added to `data` as
 * "sim_card". */
static void add_sim_card(Worker *w, cJSON *data, sqlite3_stmt *row)
{
    const char *doc = json_column(row, 16, "null");
    sqlite3_stmt *st = NULL;
    if (sqlite3_column_type(row, 16) != SQLITE_NULL && sqlite3_column_type(row, 19) != SQLITE_NULL &&
        (st = store_stmt(w->store, "SELECT json_set(?1, '$.month_usage', ?2, '$.data_left', ?3, '$.days_left', ?4)"))) {
        sqlite3_bind_text(st, 1, (const char *)sqlite3_column_text(row, 16), -1, SQLITE_TRANSIENT);
        for (int i = 0; i < 3; i++) sqlite3_bind_value(st, 2 + i, sqlite3_column_value(row, 20 + i));
        doc = sqlite3_step(st) == SQLITE_ROW ? json_column(st, 0, "null") : "null";
    }
    cJSON_AddRawToObject(data, "sim_card", doc);   /* copies it */
    if (st) sqlite3_reset(st);
}

static const char *column(sqlite3_stmt *row, int i)
{
    const char *text = (const char *)sqlite3_column_text(row, i);
    return text ? text : "";
}

static int prepare_webhook(Worker *w, Job *job, sqlite3_stmt *row)
{
    const char *url = (const char *)sqlite3_column_text(row, 17);
    if (!url) {
        snprintf(job->failed, sizeof job->failed, "the outbox row has no URL");
        return 0;
    }
    job->url = strdup(url);
    char secrets[WHK_HEADER_MAX];
    bool disabled = false;
    if (w->cached_url && w->cached_org == job->org && strcmp(w->cached_url, url) == 0) {
        job->endpoint = w->cached_endpoint;
        memcpy(secrets, w->cached_secrets, sizeof secrets);
        disabled = w->cached_disabled;
    } else {
        job->endpoint = obx_endpoint(w->store, job->org, url, secrets, sizeof secrets, &disabled, w->err, w->errlen);
        if (job->endpoint < 0) return -1;
        free(w->cached_url);
        w->cached_url = strdup(url);
        w->cached_org = job->org;
        w->cached_endpoint = job->endpoint;
        memcpy(w->cached_secrets, secrets, sizeof secrets);
        w->cached_disabled = disabled;
    }
    if (disabled) snprintf(job->failed, sizeof job->failed, "the endpoint is disabled");

    /* the envelope: the same bytes on every attempt */
    char when[32], type[300];
    snprintf(type, sizeof type, "flow.%s.triggered", column(row, 7));
    rfc3339(sqlite3_column_int64(row, 11), when);
    cJSON *envelope = cJSON_CreateObject(), *data = cJSON_CreateObject(), *flow = cJSON_CreateObject(),
          *event = cJSON_CreateObject();
    if (!envelope || !data || !flow || !event) {
        cJSON_Delete(envelope), cJSON_Delete(data), cJSON_Delete(flow), cJSON_Delete(event);
        snprintf(w->err, w->errlen, "out of memory");
        return -1;
    }
    cJSON_AddStringToObject(envelope, "type", type);
    cJSON_AddStringToObject(envelope, "id", job->delivery_id);
    cJSON_AddStringToObject(envelope, "timestamp", when);
    cJSON_AddItemToObject(envelope, "data", data);
    cJSON_AddItemToObject(data, "flow", flow);
    cJSON_AddStringToObject(flow, "name", column(row, 7));
    json_add_int(flow, "version", sqlite3_column_int64(row, 8));
    json_add_int(data, "run", sqlite3_column_int64(row, 9));
    cJSON_AddItemToObject(data, "event", event);
    if (sqlite3_column_type(row, 12) != SQLITE_NULL) {
        cJSON_AddStringToObject(event, "id", column(row, 12));
        cJSON_AddStringToObject(event, "type", column(row, 13));
        rfc3339(sqlite3_column_int64(row, 14), when);
        cJSON_AddStringToObject(event, "time", when);
        cJSON_AddRawToObject(event, "data", json_column(row, 15, "{}"));
    }
    add_sim_card(w, data, row);
    cJSON_AddRawToObject(data, "params", json_column(row, 18, "{}"));
    job->body = cJSON_PrintUnformatted(envelope);
    cJSON_Delete(envelope);
    if (!job->body) {
        snprintf(w->err, w->errlen, "out of memory");
        return -1;
    }

    char sig[WHK_HEADER_MAX];
    int64_t ts = job->attempt_time;
    if (!job->failed[0] && whk_signature_header(secrets, job->delivery_id, ts, job->body, strlen(job->body), sig) != 0)
        snprintf(job->failed, sizeof job->failed, "the endpoint's secret is not valid");
    /* the extra header lines: a curl_slist of five nodes and their texts in
     * one allocation (libcurl only reads the list; job_free frees it) */
    char lines[WHK_HEADER_MAX + 160];
    int len = snprintf(lines, sizeof lines, "Content-Type: application/json%cExpect:%cwebhook-id: %s%cwebhook-timestamp: %lld%c"
                       "webhook-signature: %s", 0, 0, job->delivery_id, 0, (long long)ts, 0, job->failed[0] ? "" : sig);
    if (len < 0 || (size_t)len >= sizeof lines) len = (int)sizeof lines - 1;
    struct curl_slist *h = malloc(5 * sizeof *h + (size_t)len + 1);
    if (!h) {
        snprintf(w->err, w->errlen, "out of memory");
        return -1;
    }
    char *text = memcpy((char *)(h + 5), lines, (size_t)len + 1);
    text[len] = '\0';
    for (int i = 0; i < 5; i++) {
        h[i].data = text;
        h[i].next = i < 4 ? &h[i + 1] : NULL;
        text += strlen(text) + 1;
    }
    job->headers = h;
    return 0;
}

/* ============================================================ email */

static int add_string(char ***list, int *n, const char *text)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*list)[i], text) == 0) return 0;
    char **grown = realloc(*list, (size_t)(*n + 1) * sizeof **list);
    if (!grown) return -1;
    *list = grown;
    if (!(grown[*n] = strdup(text))) return -1;
    (*n)++;
    return 0;
}

/* The members of a group named `name`, or NULL when there is none. */
static cJSON *group_members(Store *store, int64_t org, const char *name)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT members FROM email_groups WHERE org = ?1 AND name = ?2");
    if (!st) return NULL;
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    cJSON *members = sqlite3_step(st) == SQLITE_ROW ? cJSON_Parse((const char *)sqlite3_column_text(st, 0)) : NULL;
    sqlite3_reset(st);
    return members;
}

static int set_result(Store *store, int64_t action, const char *recipient, const char *status, const char *detail,
                      int64_t time, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "UPDATE action_results SET status = ?3, detail = ?4, time = ?5"
                                         " WHERE action = ?1 AND recipient = ?2");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, action);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, time);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    if (sqlite3_changes(store->db) > 0) return 0;
    st = store_stmt(store, "INSERT INTO action_results (action, recipient, status, detail, time) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, action);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, time);
    return store_step_done(store, st, err, errlen);
}

/* Expands groups in one header list into `out`; group rows get their result. */
static int expand(Worker *w, Job *job, const char *key, char ***out, int *n, char ***all, int *nall)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(job->action_json, key))
    {
        if (!cJSON_IsString(item)) continue;
        cJSON *members = group_members(w->store, job->org, item->valuestring);
        if (!members) {
            if ((out && add_string(out, n, item->valuestring) != 0) || add_string(all, nall, item->valuestring) != 0)
                return -1;
            continue;
        }
        const cJSON *m;
        int count = 0;
        cJSON_ArrayForEach(m, members)
        {
            if (!cJSON_IsString(m)) continue;
            count++;
            if ((out && add_string(out, n, m->valuestring) != 0) || add_string(all, nall, m->valuestring) != 0) {
                cJSON_Delete(members);
                return -1;
            }
        }
        cJSON_Delete(members);
        char detail[64];
        snprintf(detail, sizeof detail, "a group of %d addresses", count);
        if (set_result(w->store, job->action, item->valuestring, "done", detail, job->attempt_time, w->err, w->errlen))
            return -1;
    }
    return 0;
}

static bool result_pending(Store *store, int64_t action, const char *recipient)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT status FROM action_results WHERE action = ?1 AND recipient = ?2");
    if (!st) return true;
    sqlite3_bind_int64(st, 1, action);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_TRANSIENT);
    bool pending = true;
    if (sqlite3_step(st) == SQLITE_ROW) pending = strcmp((const char *)sqlite3_column_text(st, 0), "pending") == 0;
    sqlite3_reset(st);
    return pending;
}

static int load_profile(Worker *w, Job *job, const char *name)
{
    sqlite3_stmt *st = name ? store_stmt(w->store, "SELECT host, port, tls, username, password, from_name, from_address"
                                                   " FROM smtp_profiles WHERE org = ?1 AND name = ?2")
                            : store_stmt(w->store, "SELECT host, port, tls, username, password, from_name, from_address"
                                                   " FROM smtp_profiles WHERE org = ?1 AND is_default = 1");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job->org);
    if (name) sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        if (name) snprintf(job->failed, sizeof job->failed, "no SMTP profile named '%.100s'", name);
        else snprintf(job->failed, sizeof job->failed, "the organisation has no default SMTP profile");
        return 0;
    }
    const int cols[5] = { 0, 3, 4, 5, 6 };
    for (int i = 0; i < 5; i++) job->profile_strings[i] = dup_text(sqlite3_column_text(st, cols[i]));
    job->smtp.host = job->profile_strings[0];
    job->smtp.port = sqlite3_column_int(st, 1);
    const char *tls = (const char *)sqlite3_column_text(st, 2);
    job->smtp.tls = strcmp(tls, "implicit") == 0 ? DLV_TLS_IMPLICIT : strcmp(tls, "starttls") == 0 ? DLV_TLS_STARTTLS
                                                                                                     : DLV_TLS_NONE;
    job->smtp.username = job->profile_strings[1];
    job->smtp.password = job->profile_strings[2];
    sqlite3_reset(st);
    return 0;
}

static int prepare_email(Worker *w, Job *job, sqlite3_stmt *row)
{
    job->email = true;
    job->action_json = cJSON_Parse((const char *)sqlite3_column_text(row, 3));
    if (!job->action_json) {
        snprintf(job->failed, sizeof job->failed, "the outbox row is not JSON");
        return 0;
    }
    const char *profile = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job->action_json, "smtp"));
    if (load_profile(w, job, profile) != 0) goto fail;
    char **all = NULL;
    int nall = 0;
    if (expand(w, job, "to", &job->to, &job->nto, &all, &nall) != 0 ||
        expand(w, job, "cc", &job->cc, &job->ncc, &all, &nall) != 0 || expand(w, job, "bcc", NULL, NULL, &all, &nall) != 0) {
        free_list(all, nall);
        goto fail;
    }
    for (int i = 0; i < nall; i++) {
        if (result_pending(w->store, job->action, all[i])) {
            if (add_string(&job->rcpts, &job->nrcpts, all[i]) != 0) {
                free_list(all, nall);
                goto fail;
            }
        }
    }
    free_list(all, nall);
    if (job->nrcpts == 0 && !job->failed[0]) snprintf(job->failed, sizeof job->failed, "no recipient is left to send to");
    if (job->failed[0]) return 0;
    const char *from = job->profile_strings[4];
    const char *at = strrchr(from, '@');
    snprintf(job->message_id, sizeof job->message_id, "<%s@%s>", job->delivery_id, at ? at + 1 : "flow.invalid");
    MailMessage *m = &job->msg;
    m->from_name = job->profile_strings[3];
    m->from_address = from;
    m->to = (const char *const *)job->to;
    m->nto = job->nto;
    m->cc = (const char *const *)job->cc;
    m->ncc = job->ncc;
    m->subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job->action_json, "subject"));
    m->text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job->action_json, "text"));
    m->html = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job->action_json, "html"));
    m->message_id = job->message_id;
    m->date = job->attempt_time;
    return 0;
fail:
    if (!w->err[0]) snprintf(w->err, w->errlen, "store: %s", store_errmsg(w->store));
    return -1;
}

/* ============================================================ batched statements */

static const struct {
    const char *head, *tail;
    int ncols;
} vs_shape[VS_KINDS] = {
    [VS_CLAIM] = { "UPDATE OR FAIL outbox SET next_attempt = v.column2, delivery_id = v.column3 FROM (VALUES ",
                   ") AS v WHERE outbox.id = v.column1", 3 },
    [VS_ATTEMPTS] = { "INSERT OR FAIL INTO delivery_attempts (outbox, number, time, duration_ms, status, error, response) VALUES ",
                      "", 7 },
    [VS_OUTBOX] = { "UPDATE OR FAIL outbox SET state = v.column2, attempts = v.column3, next_attempt = v.column4,"
                    " last_error = v.column5, finished = v.column6 FROM (VALUES ",
                    ") AS v WHERE outbox.id = v.column1", 6 },
    [VS_RESULTS] = { "UPDATE OR FAIL action_results SET status = v.column3, detail = v.column4, time = v.column5 FROM (VALUES ",
                     ") AS v WHERE action_results.action = v.column1 AND action_results.recipient = v.column2", 5 },
};

/* The statement of kind `kind` for 2^k rows, prepared once per run. */
static sqlite3_stmt *values_stmt(Worker *w, int kind, int k)
{
    if (w->vstmt[kind][k]) return w->vstmt[kind][k];
    int rows = 1 << k, ncols = vs_shape[kind].ncols;
    size_t cap = strlen(vs_shape[kind].head) + strlen(vs_shape[kind].tail) + (size_t)rows * (size_t)ncols * 8 + 16;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t len = (size_t)snprintf(sql, cap, "%s", vs_shape[kind].head);
    /* plain ?s, numbered in order: ?NNN would make the prepare quadratic */
    for (int r = 0; r < rows; r++) {
        if (r) sql[len++] = ',';
        sql[len++] = '(';
        for (int c = 0; c < ncols; c++) {
            if (c) sql[len++] = ',';
            sql[len++] = '?';
        }
        sql[len++] = ')';
    }
    snprintf(sql + len, cap - len, "%s", vs_shape[kind].tail);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(w->store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) st = NULL;
    free(sql);
    return w->vstmt[kind][k] = st;
}

static Val *add_row(Worker *w, int kind)
{
    Rows *rows = &w->rows[kind];
    return &rows->v[rows->n++ * vs_shape[kind].ncols];
}

static Val vint(int64_t i)
{
    return (Val){ .type = V_INT, .i = i };
}

static Val vtext(const char *s)
{
    return (Val){ .type = V_TEXT, .s = s };
}

/* Runs the rows of a kind waiting in w->rows, and empties them. */
static int run_rows(Worker *w, int kind)
{
    Rows *rows = &w->rows[kind];
    int ncols = vs_shape[kind].ncols, done = 0;
    while (done < rows->n) {
        int k = VS_SIZES - 1;
        while ((1 << k) > rows->n - done) k--;
        sqlite3_stmt *st = values_stmt(w, kind, k);
        if (!st) {
            snprintf(w->err, w->errlen, "store: %s", store_errmsg(w->store));
            rows->n = 0;
            return -1;
        }
        const Val *v = &rows->v[done * ncols];
        for (int i = 0; i < (1 << k) * ncols; i++) {
            if (v[i].type == V_INT) sqlite3_bind_int64(st, i + 1, v[i].i);
            else if (v[i].type == V_TEXT) sqlite3_bind_text(st, i + 1, v[i].s, -1, SQLITE_STATIC);
            else sqlite3_bind_null(st, i + 1);
        }
        int rc = store_step_done(w->store, st, w->err, w->errlen);
        sqlite3_clear_bindings(st);   /* the texts are the jobs', freed after the batch */
        if (rc != 0) {
            rows->n = 0;
            return -1;
        }
        done += 1 << k;
    }
    rows->n = 0;
    return 0;
}

/* ============================================================ claiming */

static const char claim_sql[] =
    "SELECT o.id, o.action, o.kind, o.body, o.attempts, o.delivery_id, f.org, f.name, v.number, r.id, r.iccid,"
    " a.time, e.key, e.type, e.time, e.payload, s.doc, json_extract(o.body, '$.url'), json_extract(o.body, '$.params'),"
    " u.sim, u.month_usage, u.data_left, u.days_left"
    " FROM outbox o JOIN actions a ON a.id = o.action JOIN runs r ON r.id = a.run"
    " JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow"
    " LEFT JOIN events e ON e.id = r.event LEFT JOIN sims s ON s.iccid = r.iccid AND r.iccid != ''"
    " LEFT JOIN sim_usage u ON u.sim = s.id"
    " WHERE o.state = 'pending' AND o.next_attempt <= ?1 ORDER BY o.next_attempt, o.id LIMIT ?2";

/* A new delivery id, "msg_" and 32 hex digits, from a pool of random bytes
 * drawn a claim's worth at a time. */
static void new_delivery_id(Worker *w, char out[40])
{
    static const char hex[] = "0123456789abcdef";
    if (w->nrandom < 16) {
        if (RAND_bytes(w->random, sizeof w->random) != 1) memset(w->random, 0, sizeof w->random);
        w->nrandom = sizeof w->random;
    }
    const unsigned char *bytes = w->random + sizeof w->random - w->nrandom;
    w->nrandom -= 16;
    memcpy(out, "msg_", 4);
    for (int i = 0; i < 16; i++) {
        out[4 + 2 * i] = hex[bytes[i] >> 4];
        out[5 + 2 * i] = hex[bytes[i] & 15];
    }
    out[36] = '\0';
}

/* Claims up to `room` due rows into out[] (jobs not yet seen by the
 * network thread), inside the open transaction.  Returns how many, or -1
 * (none kept; the caller rolls back). */
static int claim_rows(Worker *w, Job **out, int room, int64_t now)
{
    int claimed = 0, rc;
    free(w->cached_url);
    w->cached_url = NULL;
    w->cached_org = -1;
    sqlite3_stmt *st = store_stmt(w->store, claim_sql);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, room);
    int64_t lease = now + (w->opt->config.total_timeout_ms / 1000) + OBX_LEASE_MARGIN;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        Job *job = job_new(w);
        if (!job) goto fail;
        out[claimed++] = job;
        job->outbox = sqlite3_column_int64(st, 0);
        job->action = sqlite3_column_int64(st, 1);
        job->attempts = sqlite3_column_int(st, 4);
        job->org = sqlite3_column_int64(st, 6);
        job->attempt_time = now;
        if (sqlite3_column_type(st, 5) == SQLITE_NULL) new_delivery_id(w, job->delivery_id);
        else snprintf(job->delivery_id, sizeof job->delivery_id, "%s", (const char *)sqlite3_column_text(st, 5));
        if (claimed == 1 || job->org != w->cached_org) obx_policy(w->store, job->org, &w->cached_policy);
        job->policy = w->cached_policy;
        int prc = strcmp((const char *)sqlite3_column_text(st, 2), "email") == 0 ? prepare_email(w, job, st)
                                                                                 : prepare_webhook(w, job, st);
        if (prc != 0) goto fail;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) goto fail;
    for (int i = 0; i < claimed; i++) {
        Val *v = add_row(w, VS_CLAIM);
        v[0] = vint(out[i]->outbox);
        v[1] = vint(lease);
        v[2] = vtext(out[i]->delivery_id);
    }
    if (run_rows(w, VS_CLAIM) != 0) goto fail;
    return claimed;
fail:
    if (st) sqlite3_reset(st);
    if (!w->err[0]) snprintf(w->err, w->errlen, "store: %s", store_errmsg(w->store));
    for (int i = 0; i < claimed; i++) job_free(w, out[i]);
    return -1;
}

/* ============================================================ recording */

/* The engine's callback, on the network thread: the job is handed back
 * to the store thread after dlv_run returns (net_done). */
static void on_done(void *ctx, void *owner, const DlvAttempt *attempt)
{
    Worker *w = ctx;
    Job *job = owner;
    job->attempt = *attempt;
    job->attempt.recipients = NULL;
    if (attempt->nrecipients > 0) {
        job->recipients = malloc((size_t)attempt->nrecipients * sizeof *job->recipients);
        if (job->recipients) memcpy(job->recipients, attempt->recipients, (size_t)attempt->nrecipients * sizeof *job->recipients);
        else job->attempt.nrecipients = 0;
        job->attempt.recipients = job->recipients;
    }
    w->net_done[w->nnet_done++] = job;
}

/* A row of delivery_attempts, an outbox row's new state and a webhook's
 * result: written per batch, one statement each (a statement per row would
 * also build the CHECK constraints' IN lists once per row). */
static void row_attempt(Worker *w, Job *job, int number)
{
    Val *v = add_row(w, VS_ATTEMPTS);
    v[0] = vint(job->outbox);
    v[1] = vint(number);
    v[2] = vint(job->attempt_time);
    v[3] = vint(job->attempt.duration_ms);
    v[4] = vint(job->attempt.status);
    v[5] = vtext(job->attempt.error);
    v[6] = vtext(job->attempt.snippet);
}

static void row_outbox(Worker *w, Job *job, const char *state, int attempts, int64_t next, const char *error)
{
    Val *v = add_row(w, VS_OUTBOX);
    v[0] = vint(job->outbox);
    v[1] = vtext(state);
    v[2] = vint(attempts);
    v[3] = vint(next);
    v[4] = vtext(error);
    v[5] = strcmp(state, "pending") == 0 ? (Val){ .type = V_NULL } : vint(job->attempt_time);
}

static void row_result(Worker *w, Job *job, const char *status, const char *detail)
{
    Val *v = add_row(w, VS_RESULTS);
    v[0] = vint(job->action);
    v[1] = vtext(job->url);
    v[2] = vtext(status);
    v[3] = vtext(detail);
    v[4] = vint(job->attempt_time);
}

static int write_batch(Worker *w)
{
    for (int kind = VS_ATTEMPTS; kind <= VS_RESULTS; kind++)
        if (run_rows(w, kind) != 0) return -1;
    return 0;
}

static int disable_endpoint(Worker *w, Job *job, const char *why)
{
    sqlite3_stmt *st = store_stmt(w->store, "UPDATE webhook_endpoints SET disabled = 1, disabled_reason = ?2 WHERE id = ?1");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job->endpoint);
    sqlite3_bind_text(st, 2, why, -1, SQLITE_TRANSIENT);
    return store_step_done(w->store, st, w->err, w->errlen);
}

static void log_attempt(Worker *w, Job *job, int number, const char *verdict)
{
    if (!w->opt->log) return;
    const DlvAttempt *a = &job->attempt;
    fprintf(w->opt->log, "outbox %lld %s %s attempt %d: %s (status %ld, %lld ms)%s%s\n", (long long)job->outbox,
            job->email ? "email" : "webhook", job->email ? (job->smtp.host ? job->smtp.host : "-") : job->url, number,
            verdict, a->status, (long long)a->duration_ms, a->error[0] ? ": " : "", a->error);
}

/* Records one finished (or unstartable) job inside the open transaction;
 * the outbox row and a webhook's result go to the batch's rows. */
static int record(Worker *w, Job *job)
{
    int number = job->attempts + 1;
    DlvOutcome outcome;
    if (job->failed[0]) {
        snprintf(job->attempt.error, sizeof job->attempt.error, "%s", job->failed);
        outcome = DLV_DEAD;
    } else if (!job->email) {
        outcome = dlv_webhook_outcome(&job->attempt);
    } else {
        /* per recipient: accepted ones done, refused ones failed, the rest pending */
        bool any_retry = false, any_done = false;
        for (int i = 0; i < job->attempt.nrecipients; i++) {
            DlvRecipient *r = &job->attempt.recipients[i];
            DlvOutcome o = dlv_recipient_outcome(&job->attempt, i);
            any_retry |= o == DLV_RETRY;
            any_done |= o == DLV_DELIVERED;
            const char *detail = r->reply[0] ? r->reply : job->attempt.error;
            const char *status = o == DLV_DELIVERED ? "done" : o == DLV_RETRY ? "pending" : "failed";
            if (set_result(w->store, job->action, r->address, status, detail,
                           job->attempt_time, w->err, w->errlen) != 0)
                return -1;
        }
        /* sent when some recipient took it; dead when every one refused it */
        outcome = any_retry ? DLV_RETRY : any_done ? DLV_DELIVERED : DLV_DEAD;
    }
    int64_t delay = -1;
    if (outcome == DLV_RETRY) delay = dlv_next_delay(&w->opt->config, number, job->attempt.retry_after, &w->seed);
    if (outcome == DLV_RETRY && delay < 0) outcome = DLV_DEAD;
    const char *verdict = outcome == DLV_DELIVERED ? "delivered" : outcome == DLV_RETRY ? "retry" : outcome == DLV_GONE ? "gone" : "dead";
    log_attempt(w, job, number, verdict);
    row_attempt(w, job, number);
    w->stats->attempts++;
    const char *state = outcome == DLV_DELIVERED ? "sent" : outcome == DLV_RETRY ? "pending" : "failed";
    if (outcome == DLV_DELIVERED) w->stats->delivered++;
    else if (outcome == DLV_RETRY) w->stats->retried++;
    else w->stats->dead++;
    if (outcome == DLV_GONE && disable_endpoint(w, job, "the endpoint answered 410 Gone") != 0) return -1;
    row_outbox(w, job, state, number, outcome == DLV_RETRY ? job->attempt_time + delay : job->attempt_time,
               job->attempt.error);
    if (job->email) {
        /* the recipients left pending when the whole email is dead */
        if (outcome == DLV_DEAD)
            for (int i = 0; i < job->nrcpts; i++)
                if (result_pending(w->store, job->action, job->rcpts[i]) &&
                    set_result(w->store, job->action, job->rcpts[i], "failed", job->attempt.error, job->attempt_time,
                               w->err, w->errlen) != 0)
                    return -1;
        return 0;
    }
    const char *rstatus = outcome == DLV_DELIVERED ? "done" : outcome == DLV_RETRY ? "pending" : "failed";
    const char *detail = job->attempt.error;
    if (outcome == DLV_DELIVERED) {
        snprintf(job->result_detail, sizeof job->result_detail, "HTTP %ld", job->attempt.status);
        detail = job->result_detail;
    }
    row_result(w, job, rstatus, detail);
    return 0;
}

/* One transaction of the store thread: records the given finished jobs,
 * then claims up to `room` due rows into fresh[] (*got of them).  0, or -1
 * with w->err set (nothing written, no job claimed). */
static int step_locked(Worker *w, Job **done, int ndone, Job **fresh, int room, int64_t now, int *got)
{
    *got = 0;
    if (store_begin(w->store, w->err, w->errlen) != 0) return -1;
    int rc = 0;
    for (int i = 0; i < ndone && rc == 0; i++) rc = record(w, done[i]);
    if (rc == 0 && ndone > 0) rc = write_batch(w);
    for (int kind = 0; kind < VS_KINDS; kind++) w->rows[kind].n = 0;
    if (rc == 0 && room > 0) {
        int n = claim_rows(w, fresh, room, now);
        if (n < 0) rc = -1;
        else *got = n;
    }
    if (rc != 0) {
        if (!w->err[0]) snprintf(w->err, w->errlen, "store: %s", store_errmsg(w->store));
        store_rollback(w->store);
        return -1;
    }
    if (store_commit(w->store, w->err, w->errlen) != 0) {
        for (int i = 0; i < *got; i++) job_free(w, fresh[i]);
        *got = 0;
        return -1;
    }
    return 0;
}

static int step(Worker *w, Job **done, int ndone, Job **fresh, int room, int64_t now, int *got)
{
    pthread_mutex_t *lock = w->opt->store_lock;
    if (lock) pthread_mutex_lock(lock);
    int rc = step_locked(w, done, ndone, fresh, room, now, got);
    if (lock) pthread_mutex_unlock(lock);
    return rc;
}

/* ============================================================ the two threads
 *
 * The calling thread moves the transfers (the engine is its own); a store
 * thread claims rows, builds and signs the envelopes, and records finished
 * attempts, so that sqlite and the network use both cores.  w->jobs (under
 * w->lock) holds every job from its claim to its recording: `started` is set
 * by the network thread when it takes a job, `done` when it hands it back;
 * the store thread alone adds, records and frees jobs.  A job's other fields
 * belong to one thread at a time: the store thread until it is published,
 * the network thread from `started` to `done`, the store thread again after. */

static void timed_wait(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(cond, lock, &ts);
}

/* Stops the network thread (store thread, under the lock). */
static void quit_network(Worker *w)
{
    w->quit = true;
    pthread_cond_signal(&w->net_wake);
    dlv_wakeup(w->engine);
}

static void *store_thread(void *arg)
{
    Worker *w = arg;
    prctl(PR_SET_NAME, "flowvm-dlvstore");   /* as top -H and perf name threads */
    const ObxOptions *options = w->opt;
    int max = options->config.max_in_flight;   /* as the engine clamps it */
    max = max < 1 ? 1 : max > DLV_IN_FLIGHT_MAX ? DLV_IN_FLIGHT_MAX : max;
    bool drained = false;           /* nothing due was left at the last claim */
    int64_t last_flush_ms = mono_ms(), next_claim_ms = 0;
    Job *done[OBX_JOBS], *fresh[OBX_BATCH];
    pthread_mutex_lock(&w->lock);
    for (;;) {
        /* set by a signal handler, perhaps on another thread: read atomically */
        bool stopping = options->stop && __atomic_load_n(options->stop, __ATOMIC_RELAXED);
        int unstarted = 0, finished = 0, flying = 0;
        for (int i = 0; i < w->njobs; i++) {
            const Job *job = w->jobs[i];
            unstarted += !job->started;
            finished += job->done;
            flying += job->started && !job->done;
        }
        int64_t now_ms = mono_ms();
        if (w->njobs == 0 && (stopping || (options->once && drained))) break;
        /* claim in chunks, when fewer than a window's worth wait to start;
         * after a claim found nothing, again once every job is recorded and
         * 200 ms have passed (--once: stop then) */
        int room = OBX_JOBS - w->njobs;
        if (room > OBX_BATCH) room = OBX_BATCH;
        if (room > 3 * max - unstarted) room = 3 * max - unstarted;
        bool want_claim = !stopping && unstarted < 2 * max && (room >= (max < OBX_BATCH ? max : OBX_BATCH) / 2 || w->njobs == 0) &&
                          !(drained && (w->njobs > 0 || now_ms < next_claim_ms));
        /* record in batches: a transaction per OBX_FLUSH_EVERY finished jobs,
         * or OBX_FLUSH_MS after the last, or whenever nothing is in flight */
        bool want_flush = finished > 0 && (finished >= OBX_FLUSH_EVERY || flying == 0 || w->njobs == OBX_JOBS ||
                                           now_ms - last_flush_ms >= OBX_FLUSH_MS);
        if (want_claim || want_flush) {
            /* a claim records what is finished in its transaction too */
            int ndone = 0;
            for (int i = 0; i < w->njobs; i++)
                if (w->jobs[i]->done) {
                    w->jobs[i]->recorded = true;   /* others may be done by the time it is */
                    done[ndone++] = w->jobs[i];
                }
            pthread_mutex_unlock(&w->lock);
            int got = 0;
            int rc = step(w, done, ndone, fresh, want_claim ? room : 0, now_of(options), &got);
            pthread_mutex_lock(&w->lock);
            if (rc != 0) break;
            if (ndone > 0) {
                last_flush_ms = mono_ms();
                int kept = 0;
                for (int i = 0; i < w->njobs; i++) {
                    if (w->jobs[i]->recorded) job_free(w, w->jobs[i]);
                    else w->jobs[kept++] = w->jobs[i];
                }
                w->njobs = kept;
            }
            if (want_claim) {
                drained = got == 0;
                if (drained) next_claim_ms = mono_ms() + 200;
                for (int i = 0; i < got; i++) w->jobs[w->njobs++] = fresh[i];
                if (got > 0) {
                    pthread_cond_signal(&w->net_wake);
                    dlv_wakeup(w->engine);
                }
            }
            continue;
        }
        int64_t wait_ms = OBX_FLUSH_MS;
        if (finished > 0 && last_flush_ms + OBX_FLUSH_MS - now_ms < wait_ms) wait_ms = last_flush_ms + OBX_FLUSH_MS - now_ms;
        if (drained && w->njobs == 0 && next_claim_ms - now_ms < wait_ms) wait_ms = next_claim_ms - now_ms;
        if (wait_ms > 0) timed_wait(&w->store_wake, &w->lock, wait_ms);
    }
    if (w->err[0]) w->failed = true;
    quit_network(w);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The network thread: starts the jobs the store thread published, moves
 * the transfers, hands finished jobs back. */
static void run_network(Worker *w)
{
    Job *take[DLV_IN_FLIGHT_MAX];
    pthread_mutex_lock(&w->lock);
    while (!w->quit) {
        int n = 0, room = dlv_room(w->engine);
        for (int i = 0; i < w->njobs && n < room; i++)
            if (!w->jobs[i]->started) {
                w->jobs[i]->started = true;
                take[n++] = w->jobs[i];
            }
        if (n == 0 && dlv_in_flight(w->engine) == 0) {
            timed_wait(&w->net_wake, &w->lock, OBX_FLUSH_MS);
            continue;
        }
        pthread_mutex_unlock(&w->lock);
        for (int i = 0; i < n; i++) {
            Job *job = take[i];
            char why[256];
            int rc = -1;
            if (job->failed[0]) why[0] = '\0';
            else if (job->email)
                rc = dlv_mail(w->engine, &job->policy, &job->smtp, &job->msg, (const char *const *)job->rcpts, job->nrcpts,
                              job, why);
            else
                rc = dlv_post(w->engine, &job->policy, job->url, job->body, strlen(job->body), job->headers, job, why);
            if (rc != 0) {
                if (!job->failed[0]) snprintf(job->failed, sizeof job->failed, "%s", why);
                w->net_done[w->nnet_done++] = job;
            }
        }
        dlv_run(w->engine, OBX_FLUSH_MS);
        pthread_mutex_lock(&w->lock);
        for (int i = 0; i < w->nnet_done; i++) w->net_done[i]->done = true;
        if (w->nnet_done > 0 || n > 0) pthread_cond_signal(&w->store_wake);
        w->nnet_done = 0;
    }
    pthread_mutex_unlock(&w->lock);
}

int obx_run(Store *store, const ObxOptions *options, ObxStats *stats, char *err, size_t errlen)
{
    Worker w = { .store = store, .opt = options, .stats = stats, .err = err, .errlen = errlen };
    memset(stats, 0, sizeof *stats);
    err[0] = '\0';
    RAND_bytes((unsigned char *)&w.seed, sizeof w.seed);
    w.engine = dlv_new(&options->config, on_done, &w);
    w.rows = calloc(VS_KINDS, sizeof *w.rows);
    w.pool = calloc(OBX_JOBS, sizeof *w.pool);
    for (int i = 0; w.pool && i < OBX_JOBS; i++) w.spare[w.nspare++] = &w.pool[i];
    if (!w.engine || !w.rows || !w.pool) {
        dlv_free(w.engine);
        free(w.rows);
        free(w.pool);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.store_wake, &monotonic);
    pthread_cond_init(&w.net_wake, &monotonic);
    pthread_condattr_destroy(&monotonic);
    /* signals (SIGINT, SIGTERM) stay with the calling thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    int started = pthread_create(&thread, NULL, store_thread, &w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != 0) {
        snprintf(err, errlen, "the store thread could not start");
        w.failed = true;
    } else {
        run_network(&w);
        pthread_join(thread, NULL);
    }
    /* on an error, abandon what is in flight: the leases bring it back */
    dlv_free(w.engine);
    for (int i = 0; i < w.njobs; i++) job_free(&w, w.jobs[i]);
    free(w.cached_url);
    if (options->store_lock) pthread_mutex_lock(options->store_lock);
    for (int kind = 0; kind < VS_KINDS; kind++)
        for (int k = 0; k < VS_SIZES; k++) sqlite3_finalize(w.vstmt[kind][k]);
    if (options->store_lock) pthread_mutex_unlock(options->store_lock);
    free(w.rows);
    free(w.pool);
    pthread_cond_destroy(&w.store_wake);
    pthread_cond_destroy(&w.net_wake);
    pthread_mutex_destroy(&w.lock);
    return w.failed ? -1 : 0;
}
