/*
 * deliver.c - the libcurl multi engine of deliveries.
 *
 * Slots of transfers, each with an easy handle reused from attempt to
 * attempt (connections and TLS sessions stay in the multi handle's cache and
 * the share handle), the address guard on every socket, a capped response,
 * and for SMTP the replies to each RCPT TO read from libcurl's debug stream
 * (libcurl reports no per-recipient results otherwise).  Credentials never
 * leave the transfer: the debug stream is parsed, never kept or printed.
 */
#include "deliver.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct Transfer {
    DlvEngine *engine;
    CURL *easy;
    bool busy, smtp;
    int configured;                    /* 0, or 1 + smtp: the common options are set for that kind */
    void *owner;
    NpGuard guard;
    int64_t started_ns;
    size_t received;
    char errbuf[CURL_ERROR_SIZE];
    DlvAttempt attempt;
    /* SMTP */
    struct curl_slist *mail_headers, *rcpt;
    curl_mime *mime;
    int next_rcpt, answering;          /* answering: index of the RCPT awaiting its reply, or -1 */
    char reply[DLV_REPLY_MAX];         /* a multi-line reply being read */
} Transfer;

struct DlvEngine {
    DlvConfig config;
    DlvDone done;
    void *ctx;
    CURLM *multi;
    CURLSH *share;
    Transfer *slots;
    int nslots, in_flight;
    bool added;                        /* transfers were added since the last perform */
    char *checked_url;                 /* the last URL np_check_url accepted, under checked_policy */
    NetPolicy checked_policy;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ============================================================ configuration */

void dlv_config_default(DlvConfig *config)
{
    static const int64_t schedule[] = { 0, 5, 300, 1800, 7200, 18000, 36000, 36000 };
    memset(config, 0, sizeof *config);
    config->max_in_flight = 64;
    config->connect_timeout_ms = 10000;
    config->total_timeout_ms = 30000;
    config->body_cap = DLV_BODY_CAP;
    config->nschedule = (int)(sizeof schedule / sizeof *schedule);
    memcpy(config->schedule, schedule, sizeof schedule);
    config->jitter_percent = 20;
}

int dlv_parse_schedule(DlvConfig *config, const char *text)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || n == DLV_SCHEDULE_MAX) return -1;
        if (*end == 'm') v *= 60, end++;
        else if (*end == 'h') v *= 3600, end++;
        else if (*end == 's') end++;
        config->schedule[n++] = v;
        if (*end == ',') end++;
        else if (*end) return -1;
        p = end;
    }
    if (n == 0) return -1;
    config->nschedule = n;
    return 0;
}

int64_t dlv_next_delay(const DlvConfig *config, int attempts, int64_t retry_after, uint64_t *seed)
{
    if (attempts >= config->nschedule) return -1;
    if (retry_after >= 0) return retry_after < DLV_RETRY_AFTER_MAX ? retry_after : DLV_RETRY_AFTER_MAX;
    int64_t delay = config->schedule[attempts];
    /* xorshift64: jitter needs spread, not secrecy */
    uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15u;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    *seed = x;
    int64_t spread = delay * config->jitter_percent / 100;
    return spread > 0 ? delay + (int64_t)(x % (uint64_t)(spread + 1)) : delay;
}

/* ============================================================ outcomes */

DlvOutcome dlv_webhook_outcome(const DlvAttempt *attempt)
{
    long s = attempt->status;
    if (s >= 200 && s < 300) return DLV_DELIVERED;   /* even when the body was cut */
    if (attempt->curl_code == CURLE_COULDNT_CONNECT && strncmp(attempt->error, "refused to", 10) == 0)
        return DLV_DEAD;
    if (s == 410) return DLV_GONE;
    if (s >= 400 && s < 500 && s != 408 && s != 409 && s != 425 && s != 429) return DLV_DEAD;
    return DLV_RETRY;
}

DlvOutcome dlv_recipient_outcome(const DlvAttempt *attempt, int index)
{
    const DlvRecipient *r = &attempt->recipients[index];
    if (attempt->curl_code == CURLE_OK && r->code >= 200 && r->code < 300) return DLV_DELIVERED;
    if (r->code >= 500) return DLV_DEAD;
    if (attempt->curl_code == CURLE_COULDNT_CONNECT && strncmp(attempt->error, "refused to", 10) == 0)
        return DLV_DEAD;
    return DLV_RETRY;
}

/* ============================================================ the engine */

DlvEngine *dlv_new(const DlvConfig *config, DlvDone done, void *ctx)
{
    DlvEngine *engine = calloc(1, sizeof *engine);
    if (!engine) return NULL;
    engine->config = *config;
    if (engine->config.max_in_flight < 1) engine->config.max_in_flight = 1;
    if (engine->config.max_in_flight > DLV_IN_FLIGHT_MAX) engine->config.max_in_flight = DLV_IN_FLIGHT_MAX;
    if (engine->config.body_cap == 0) engine->config.body_cap = DLV_BODY_CAP;
    engine->done = done;
    engine->ctx = ctx;
    engine->nslots = engine->config.max_in_flight;
    engine->slots = calloc((size_t)engine->nslots, sizeof *engine->slots);
    engine->multi = curl_multi_init();
    engine->share = curl_share_init();
    if (!engine->slots || !engine->multi || !engine->share) {
        dlv_free(engine);
        return NULL;
    }
    curl_share_setopt(engine->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(engine->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_multi_setopt(engine->multi, CURLMOPT_MAXCONNECTS, (long)engine->nslots * 2);
    return engine;
}

static void release(Transfer *t)
{
    curl_slist_free_all(t->mail_headers);
    curl_slist_free_all(t->rcpt);
    curl_mime_free(t->mime);
    free(t->attempt.recipients);
    t->mail_headers = t->rcpt = NULL;
    t->mime = NULL;
    t->attempt.recipients = NULL;
    t->busy = false;
}

void dlv_free(DlvEngine *engine)
{
    if (!engine) return;
    for (int i = 0; engine->slots && i < engine->nslots; i++) {
        Transfer *t = &engine->slots[i];
        if (t->busy) curl_multi_remove_handle(engine->multi, t->easy);
        release(t);
        curl_easy_cleanup(t->easy);
    }
    free(engine->slots);
    if (engine->multi) curl_multi_cleanup(engine->multi);
    if (engine->share) curl_share_cleanup(engine->share);
    free(engine->checked_url);
    free(engine);
}

int dlv_in_flight(const DlvEngine *engine)
{
    return engine->in_flight;
}

bool dlv_has_room(const DlvEngine *engine)
{
    return engine->in_flight < engine->nslots;
}

int dlv_room(const DlvEngine *engine)
{
    return engine->nslots - engine->in_flight;
}

void dlv_wakeup(DlvEngine *engine)
{
    curl_multi_wakeup(engine->multi);
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    Transfer *t = userp;
    size_t len = size * n;
    size_t kept = strlen(t->attempt.snippet);
    if (kept < DLV_SNIPPET_MAX) {
        size_t take = len < DLV_SNIPPET_MAX - kept ? len : DLV_SNIPPET_MAX - kept;
        memcpy(t->attempt.snippet + kept, data, take);
        t->attempt.snippet[kept + take] = '\0';
    }
    t->received += len;
    if (t->received > t->engine->config.body_cap) {
        t->attempt.body_capped = true;
        return 0;   /* stops the transfer: CURLE_WRITE_ERROR */
    }
    return len;
}

static Transfer *take_slot(DlvEngine *engine)
{
    for (int i = 0; i < engine->nslots; i++) {
        Transfer *t = &engine->slots[i];
        if (t->busy) continue;
        if (!t->easy) t->easy = curl_easy_init();
        if (!t->easy) return NULL;
        memset(&t->attempt, 0, sizeof t->attempt);
        t->attempt.retry_after = -1;
        t->received = 0;
        t->errbuf[0] = '\0';
        t->guard.refused[0] = '\0';
        t->engine = engine;
        return t;
    }
    return NULL;
}

/* Sets the options every transfer of a kind shares, unless the slot's last
 * transfer was of the same kind (a reset and a full set cost more than the
 * POST); the per-transfer ones are set by the caller every time. */
static void common_options(Transfer *t, const NetPolicy *policy, bool smtp)
{
    const DlvConfig *c = &t->engine->config;
    CURL *e = t->easy;
    t->guard.policy = policy;
    if (t->configured == 1 + smtp) return;
    curl_easy_reset(e);
    t->configured = 1 + smtp;
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_SHARE, t->engine->share);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, np_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t->guard);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->total_timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file) {
        /* the file is the trust anchors, without libcurl's default CA
         * directory: then libcurl also keeps the parsed store in the multi
         * handle (CURLOPT_CA_CACHE_TIMEOUT) instead of loading the file for
         * every connection */
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
}

static int start(Transfer *t, void *owner, char why[256])
{
    t->owner = owner;
    t->started_ns = mono_ns();
    if (curl_multi_add_handle(t->engine->multi, t->easy) != CURLM_OK) {
        snprintf(why, 256, "the transfer could not start");
        release(t);
        return -1;
    }
    t->busy = true;
    t->engine->in_flight++;
    t->engine->added = true;
    return 0;
}

int dlv_post(DlvEngine *engine, const NetPolicy *policy, const char *url, const char *body, size_t bodylen,
             const struct curl_slist *headers, void *owner, char why[256])
{
    /* the URL's form under the policy: checked once for a run of the same */
    const NetPolicy *cp = &engine->checked_policy;
    if (!engine->checked_url || strcmp(url, engine->checked_url) != 0 || cp->allow != policy->allow ||
        cp->allow_http != policy->allow_http || cp->allow_any_port != policy->allow_any_port) {
        if (np_check_url(policy, url, why)) return -1;
        free(engine->checked_url);
        engine->checked_url = strdup(url);
        engine->checked_policy = *policy;
    }
    Transfer *t = take_slot(engine);
    if (!t) {
        snprintf(why, 256, "no room for another transfer");
        return -1;
    }
    t->smtp = false;
    bool fresh = t->configured != 1;
    common_options(t, policy, false);
    CURL *e = t->easy;
    if (fresh) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "flowvm-deliver/1");
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, policy->allow_http ? "https,http" : "https");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    return start(t, owner, why);
}

/* ============================================================ SMTP */

/* Reads libcurl's protocol trace: the commands sent and the replies read. */
static int on_trace(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
    Transfer *t = userp;
    if (type == CURLINFO_HEADER_OUT) {
        t->answering = -1;
        if (size >= 8 && strncasecmp(data, "RCPT TO:", 8) == 0 && t->next_rcpt < t->attempt.nrecipients)
            t->answering = t->next_rcpt++;
        return 0;
    }
    if (type != CURLINFO_HEADER_IN) return 0;
    size_t i = 0;
    while (i < size) {
        size_t n = 0;
        while (i + n < size && data[i + n] != '\n') n++;
        const char *line = data + i;
        size_t len = n;
        while (len && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
        i += n + 1;
        if (len < 3 || !isdigit((unsigned char)line[0])) continue;
        if (len > 3 && line[3] == '-') continue;   /* a continuation line: the last one is kept */
        size_t keep = len < DLV_REPLY_MAX - 1 ? len : DLV_REPLY_MAX - 1;
        for (size_t k = 0; k < keep; k++)
            t->reply[k] = (unsigned char)line[k] < 0x20 ? ' ' : line[k];
        t->reply[keep] = '\0';
        snprintf(t->attempt.snippet, sizeof t->attempt.snippet, "%s", t->reply);
        if (t->answering >= 0) {
            DlvRecipient *r = &t->attempt.recipients[t->answering];
            r->code = atoi(t->reply);
            snprintf(r->reply, sizeof r->reply, "%s", t->reply);
            t->answering = -1;
        }
    }
    return 0;
}

int dlv_mail(DlvEngine *engine, const NetPolicy *policy, const DlvSmtp *smtp, const MailMessage *msg,
             const char *const *recipients, int nrecipients, void *owner, char why[256])
{
    if (nrecipients < 1 || nrecipients > MAIL_RECIPIENTS_MAX) {
        snprintf(why, 256, "an email needs 1 to %d envelope recipients", MAIL_RECIPIENTS_MAX);
        return -1;
    }
    for (int i = 0; i < nrecipients; i++)
        if (strpbrk(recipients[i], "\r\n<>") || !*recipients[i]) {
            snprintf(why, 256, "the recipient \"%.80s\" is not an address", recipients[i]);
            return -1;
        }
    if (!smtp->host || !*smtp->host || strpbrk(smtp->host, "/@?#\r\n ") || smtp->port < 1 || smtp->port > 65535) {
        snprintf(why, 256, "the SMTP profile's host or port is not valid");
        return -1;
    }
    Transfer *t = take_slot(engine);
    if (!t) {
        snprintf(why, 256, "no room for another transfer");
        return -1;
    }
    t->smtp = true;
    if (mail_build(t->easy, msg, &t->mail_headers, &t->mime, why) != 0) return -1;
    t->attempt.recipients = calloc((size_t)nrecipients, sizeof *t->attempt.recipients);
    if (!t->attempt.recipients) {
        release(t);
        snprintf(why, 256, "out of memory");
        return -1;
    }
    t->attempt.nrecipients = nrecipients;
    t->next_rcpt = 0;
    t->answering = -1;
    for (int i = 0; i < nrecipients; i++) {
        t->attempt.recipients[i].address = recipients[i];
        char line[320];
        snprintf(line, sizeof line, "<%s>", recipients[i]);
        struct curl_slist *grown = curl_slist_append(t->rcpt, line);
        if (!grown) {
            release(t);
            snprintf(why, 256, "out of memory");
            return -1;
        }
        t->rcpt = grown;
    }
    t->configured = 0;             /* SMTP transfers set everything afresh */
    common_options(t, policy, true);
    CURL *e = t->easy;
    char url[300], from[300];
    bool v6 = strchr(smtp->host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%d", smtp->tls == DLV_TLS_IMPLICIT ? "smtps" : "smtp", v6 ? "[" : "",
             smtp->host, v6 ? "]" : "", smtp->port);
    snprintf(from, sizeof from, "<%s>", msg->from_address);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (smtp->tls == DLV_TLS_STARTTLS) curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (smtp->username && *smtp->username) {
        curl_easy_setopt(e, CURLOPT_USERNAME, smtp->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, smtp->password ? smtp->password : "");
    }
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->mail_headers);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, t->mime);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_trace);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
    return start(t, owner, why);
}

/* ============================================================ running */

static void finish(DlvEngine *engine, Transfer *t, CURLcode code)
{
    DlvAttempt *a = &t->attempt;
    a->duration_ms = (mono_ns() - t->started_ns) / 1000000;
    a->curl_code = (int)code;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &a->status);
    if (!t->smtp) {
        curl_off_t retry_after = 0;
        if ((a->status == 429 || a->status == 503) &&
            curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
            a->retry_after = (int64_t)retry_after;
    }
    if (t->guard.refused[0]) {
        snprintf(a->error, sizeof a->error, "%s", t->guard.refused);
    } else if (a->body_capped) {
        snprintf(a->error, sizeof a->error, "the response was cut at %zu bytes", engine->config.body_cap);
    } else if (code != CURLE_OK) {
        snprintf(a->error, sizeof a->error, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
    } else if (!t->smtp && (a->status < 200 || a->status >= 300)) {
        snprintf(a->error, sizeof a->error, "HTTP status %ld", a->status);
    }
    curl_multi_remove_handle(engine->multi, t->easy);
    engine->in_flight--;
    engine->done(engine->ctx, t->owner, a);
    release(t);
}

int dlv_run(DlvEngine *engine, int timeout_ms)
{
    int running = 0;
    /* one pass over the transfers per wake-up: new transfers are started at
     * once, the others wait for the network first */
    if (!engine->added && engine->in_flight > 0 && timeout_ms > 0)
        curl_multi_poll(engine->multi, NULL, 0, timeout_ms, NULL);
    engine->added = false;
    curl_multi_perform(engine->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(engine->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t) finish(engine, t, msg->data.result);
    }
    return engine->in_flight;
}
