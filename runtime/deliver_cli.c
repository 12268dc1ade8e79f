/*
 * deliver_cli.c - the delivery commands of flowvm.
 *
 *   deliver [--once] [--now TIME] [--schedule 0,5,5m,..] [--connect-timeout MS]
 *           [--timeout MS] [--max-in-flight N] [--body-cap BYTES] [--ca-file FILE] [--quiet]
 *   deliver list [--state pending|sent|failed]
 *   smtp add NAME --host HOST --from ADDRESS [--port N] [--tls none|starttls|implicit]
 *            [--user NAME --password-env VAR | --password-file FILE] [--from-name TEXT] [--default]
 *   smtp list | default NAME | remove NAME
 *   webhooks add URL [--secret whsec_..] | list | secret URL | rotate URL | retire URL
 *            | enable URL | remove URL | allow CLASS|http|any-port [--off] | settings
 *   groups set NAME ADDRESS... | list | remove NAME
 *
 * Passwords never appear in arguments (they would show in ps), output or logs.
 */
#include "deliver_cli.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/format.h"
#include "../stdlib/validate.h"
#include "outbox.h"
#include "webhook_sign.h"
#include "cli.h"

#define ARGS_MAX 256

typedef struct Args {
    char *v[ARGS_MAX];
    int n;
} Args;

static void args_init(Args *a, int nargs, char **args)
{
    a->n = 0;
    for (int i = 0; i < nargs && a->n < ARGS_MAX; i++) a->v[a->n++] = args[i];
}

static const char *take(Args *a, const char *name)
{
    return cli_take(a->v, &a->n, name);
}

static bool take_flag(Args *a, const char *name)
{
    return cli_take_flag(a->v, &a->n, name);
}


static bool leftover(const Args *a, int from)
{
    return cli_leftover(a->v, a->n, from);
}

static Store *open_org(const char *db, const char *org, int64_t *org_id)
{
    char err[512];
    Store *store = store_open(db, err, sizeof err);
    if (!store) {
        cli_fail("%s", err);
        return NULL;
    }
    *org_id = store_org(store, org, true, err, sizeof err);
    if (*org_id < 0) {
        cli_fail("%s", err);
        store_close(store);
        return NULL;
    }
    return store;
}

static int exec1(Store *store, sqlite3_stmt *st)
{
    char err[512];
    if (!st) return cli_fail("store: %s", store_errmsg(store));
    if (store_step_done(store, st, err, sizeof err) != 0) return cli_fail("%s", err);
    return 0;
}

/* ============================================================ deliver */

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t fixed_clock(void *ctx)
{
    return *(const int64_t *)ctx;
}

static bool parse_time(const char *text, int64_t *out)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*text && !*end) {
        *out = v;
        return true;
    }
    return fmt_parse_time(text, strlen(text), out);
}

static int deliver_list(Store *store, int64_t org, Args *a)
{
    const char *state = take(a, "--state");
    if (leftover(a, 2)) return 2;
    sqlite3_stmt *st = store_stmt(store,
        "SELECT o.id, o.kind, o.state, o.attempts, o.next_attempt, o.last_error, o.delivery_id,"
        " coalesce(json_extract(o.body, '$.url'), json_extract(o.body, '$.to[0]'))"
        " FROM outbox o JOIN actions a ON a.id = o.action JOIN runs r ON r.id = a.run"
        " JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow"
        " WHERE f.org = ?1 AND (?2 IS NULL OR o.state = ?2) ORDER BY o.id");
    if (!st) return cli_fail("store: %s", store_errmsg(store));
    sqlite3_bind_int64(st, 1, org);
    if (state) sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 2);
        const char *shown = strcmp(s, "sent") == 0 ? "delivered" : strcmp(s, "failed") == 0 ? "dead" : "pending";
        printf("%lld\t%s\t%s\t%s\tattempts %d\t%s\t%s\n", (long long)sqlite3_column_int64(st, 0),
               (const char *)sqlite3_column_text(st, 1), shown,
               sqlite3_column_text(st, 7) ? (const char *)sqlite3_column_text(st, 7) : "",
               sqlite3_column_int(st, 3), sqlite3_column_text(st, 6) ? (const char *)sqlite3_column_text(st, 6) : "-",
               (const char *)sqlite3_column_text(st, 5));
    }
    sqlite3_reset(st);
    return 0;
}

int dcli_deliver(const char *db, const char *org, int nargs, char **args)
{
    Args a;
    args_init(&a, nargs, args);
    int64_t org_id;
    if (a.n >= 2 && strcmp(a.v[1], "list") == 0) {
        Store *store = open_org(db, org, &org_id);
        if (!store) return 1;
        int rc = deliver_list(store, org_id, &a);
        store_close(store);
        return rc;
    }
    ObxOptions opt = { .log = stderr };
    dlv_config_default(&opt.config);
    opt.once = take_flag(&a, "--once");
    if (take_flag(&a, "--quiet")) opt.log = NULL;
    const char *v;
    int64_t now = 0;
    if ((v = take(&a, "--now"))) {
        if (!parse_time(v, &now)) return cli_fail("'%s' is not a time", v);
        opt.clock = fixed_clock;
        opt.clock_ctx = &now;
    }
    if ((v = take(&a, "--schedule")) && dlv_parse_schedule(&opt.config, v) != 0)
        return cli_fail("'%s' is not a schedule (seconds, or with m or h, separated by commas)", v);
    if ((v = take(&a, "--connect-timeout"))) opt.config.connect_timeout_ms = atol(v);
    if ((v = take(&a, "--timeout"))) opt.config.total_timeout_ms = atol(v);
    if ((v = take(&a, "--max-in-flight"))) opt.config.max_in_flight = atoi(v);
    if ((v = take(&a, "--body-cap"))) opt.config.body_cap = (size_t)atol(v);
    if ((v = take(&a, "--jitter"))) opt.config.jitter_percent = atoi(v);
    opt.config.ca_file = take(&a, "--ca-file");
    if (a.n != 1 || leftover(&a, 1)) return cli_fail("%s", "usage: deliver [list] [--once] [--now TIME] [--schedule LIST] ...");
    if (opt.config.max_in_flight < 1 || opt.config.connect_timeout_ms < 1 || opt.config.total_timeout_ms < 1)
        return cli_fail("%s", "timeouts and --max-in-flight must be positive");
    Store *store = open_org(db, org, &org_id);
    if (!store) return 1;
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    opt.stop = &stop_requested;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* sqlite's ephemeral tables and statement journals free ~100 KB per
     * batch: without a higher threshold the store thread's heap is trimmed
     * and regrown each time (madvise, page faults, a TLB shootdown of the
     * network thread) */
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    ObxStats stats;
    char err[512];
    int rc = obx_run(store, &opt, &stats, err, sizeof err);
    printf("deliver: %lld attempts, %lld delivered, %lld to retry, %lld dead\n", (long long)stats.attempts,
           (long long)stats.delivered, (long long)stats.retried, (long long)stats.dead);
    store_close(store);
    curl_global_cleanup();
    whk_cache_free();
    return rc == 0 ? 0 : cli_fail("%s", err);
}

/* ============================================================ smtp */

static char *read_password(Args *a)
{
    const char *env = take(a, "--password-env"), *file = take(a, "--password-file");
    if (env) {
        const char *p = getenv(env);
        return p ? strdup(p) : NULL;
    }
    if (!file) return strdup("");
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) return NULL;
    char buf[512];
    char *p = fgets(buf, sizeof buf, f) ? strdup(buf) : strdup("");
    if (f != stdin) fclose(f);
    if (p) p[strcspn(p, "\r\n")] = '\0';
    return p;
}

static int smtp_add(Store *store, int64_t org, Args *a)
{
    const char *host = take(a, "--host"), *from = take(a, "--from"), *port = take(a, "--port");
    const char *tls = take(a, "--tls"), *user = take(a, "--user"), *from_name = take(a, "--from-name");
    bool make_default = take_flag(a, "--default");
    char *password = read_password(a);
    int rc = 0;
    if (!password) rc = cli_fail("%s", "the password could not be read");
    else if (a->n != 3 || leftover(a, 2) || !host || !from)
        rc = cli_fail("%s", "usage: smtp add NAME --host HOST --from ADDRESS [--port N] [--tls none|starttls|implicit] "
                        "[--user NAME --password-env VAR|--password-file FILE] [--from-name TEXT] [--default]");
    else if (valid_email(from, strlen(from)) || valid_header_value(from, strlen(from)))
        rc = cli_fail("'%s' is not an email address", from);
    else if (from_name && valid_header_value(from_name, strlen(from_name)))
        rc = cli_fail("%s", "the sender's name may not hold CR, LF or NUL");
    else if (strpbrk(host, "/@?#\r\n ") || !*host)
        rc = cli_fail("'%s' is not a host name", host);
    else if (tls && strcmp(tls, "none") && strcmp(tls, "starttls") && strcmp(tls, "implicit"))
        rc = cli_fail("--tls takes none, starttls or implicit, not '%s'", tls);
    else if (port && (atoi(port) < 1 || atoi(port) > 65535))
        rc = cli_fail("'%s' is not a port", port);
    if (rc) {
        free(password);
        return rc;
    }
    char err[512];
    if (store_begin(store, err, sizeof err) != 0) {
        free(password);
        return cli_fail("%s", err);
    }
    sqlite3_stmt *st = store_stmt(store,
        "INSERT INTO smtp_profiles (org, name, host, port, tls, username, password, from_name, from_address, is_default)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, (SELECT count(*) = 0 FROM smtp_profiles WHERE org = ?1))"
        " ON CONFLICT (org, name) DO UPDATE SET host = ?3, port = ?4, tls = ?5, username = ?6, password = ?7,"
        " from_name = ?8, from_address = ?9");
    if (st) {
        sqlite3_bind_int64(st, 1, org);
        sqlite3_bind_text(st, 2, a->v[2], -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, host, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 4, port ? atoi(port) : 25);
        sqlite3_bind_text(st, 5, tls ? tls : "starttls", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, user ? user : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 7, password, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, from_name ? from_name : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 9, from, -1, SQLITE_TRANSIENT);
    }
    free(password);
    rc = exec1(store, st);
    if (rc == 0 && make_default) {
        st = store_stmt(store, "UPDATE smtp_profiles SET is_default = (name = ?2) WHERE org = ?1");
        if (st) {
            sqlite3_bind_int64(st, 1, org);
            sqlite3_bind_text(st, 2, a->v[2], -1, SQLITE_TRANSIENT);
        }
        rc = exec1(store, st);
    }
    if (rc == 0) rc = store_audit(store, org, "smtp.add", a->v[2], err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
    if (rc == 0 && store_commit(store, err, sizeof err) != 0) rc = cli_fail("%s", err);
    if (rc) store_rollback(store);
    else printf("SMTP profile '%s' saved\n", a->v[2]);
    return rc;
}

int dcli_smtp(const char *db, const char *org, int nargs, char **args)
{
    Args a;
    args_init(&a, nargs, args);
    const char *sub = a.n >= 2 ? a.v[1] : "";
    int64_t org_id;
    if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "default") && strcmp(sub, "remove"))
        return cli_fail("%s", "usage: smtp add|list|default|remove ...");
    Store *store = open_org(db, org, &org_id);
    if (!store) return 1;
    int rc = 0;
    if (strcmp(sub, "add") == 0) {
        rc = smtp_add(store, org_id, &a);
    } else if (strcmp(sub, "list") == 0) {
        sqlite3_stmt *st = store_stmt(store, "SELECT name, host, port, tls, username, from_name, from_address, is_default,"
                                             " password != '' FROM smtp_profiles WHERE org = ?1 ORDER BY name");
        if (!st) rc = cli_fail("store: %s", store_errmsg(store));
        else {
            sqlite3_bind_int64(st, 1, org_id);
            while (sqlite3_step(st) == SQLITE_ROW)
                printf("%s%s\t%s:%d\ttls %s\tuser %s\tpassword %s\tfrom %s <%s>\n", (const char *)sqlite3_column_text(st, 0),
                       sqlite3_column_int(st, 7) ? " (default)" : "", (const char *)sqlite3_column_text(st, 1),
                       sqlite3_column_int(st, 2), (const char *)sqlite3_column_text(st, 3),
                       *sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "-",
                       sqlite3_column_int(st, 8) ? "set" : "none", (const char *)sqlite3_column_text(st, 5),
                       (const char *)sqlite3_column_text(st, 6));
            sqlite3_reset(st);
        }
    } else if (a.n != 3) {
        rc = cli_fail("usage: smtp %s NAME", sub);
    } else {
        bool def = strcmp(sub, "default") == 0;
        sqlite3_stmt *st = store_stmt(store, def ? "UPDATE smtp_profiles SET is_default = (name = ?2) WHERE org = ?1"
                                                 : "DELETE FROM smtp_profiles WHERE org = ?1 AND name = ?2");
        if (st) {
            sqlite3_bind_int64(st, 1, org_id);
            sqlite3_bind_text(st, 2, a.v[2], -1, SQLITE_TRANSIENT);
        }
        sqlite3_stmt *check = store_stmt(store, "SELECT 1 FROM smtp_profiles WHERE org = ?1 AND name = ?2");
        bool exists = false;
        if (check) {
            sqlite3_bind_int64(check, 1, org_id);
            sqlite3_bind_text(check, 2, a.v[2], -1, SQLITE_TRANSIENT);
            exists = sqlite3_step(check) == SQLITE_ROW;
            sqlite3_reset(check);
        }
        if (!exists) rc = cli_fail("no SMTP profile named '%s'", a.v[2]);
        else if ((rc = exec1(store, st)) == 0) printf("SMTP profile '%s' %s\n", a.v[2], def ? "is the default" : "removed");
    }
    store_close(store);
    return rc;
}

/* ============================================================ webhooks */

static int set_setting(Store *store, int64_t org, const char *what, bool off)
{
    unsigned cls = np_class_find(what);
    sqlite3_stmt *st;
    if (strcmp(what, "http") == 0)
        st = store_stmt(store, "INSERT INTO delivery_settings (org, allow_http) VALUES (?1, ?2)"
                               " ON CONFLICT (org) DO UPDATE SET allow_http = ?2");
    else if (strcmp(what, "any-port") == 0)
        st = store_stmt(store, "INSERT INTO delivery_settings (org, allow_any_port) VALUES (?1, ?2)"
                               " ON CONFLICT (org) DO UPDATE SET allow_any_port = ?2");
    else if (cls)
        st = store_stmt(store, off ? "INSERT INTO delivery_settings (org, allow) VALUES (?1, 0)"
                                     " ON CONFLICT (org) DO UPDATE SET allow = allow & ~?3"
                                   : "INSERT INTO delivery_settings (org, allow) VALUES (?1, ?3)"
                                     " ON CONFLICT (org) DO UPDATE SET allow = allow | ?3");
    else
        return cli_fail("'%s' is not a setting: http, any-port, loopback, private, link_local, cgnat, multicast, "
                    "metadata, mapped or reserved", what);
    if (st) {
        sqlite3_bind_int64(st, 1, org);
        if (!cls) sqlite3_bind_int(st, 2, !off);
        else sqlite3_bind_int64(st, 3, cls);
    }
    int rc = exec1(store, st);
    if (rc == 0) printf("%s %s\n", what, off ? "refused" : "allowed");
    return rc;
}

static int endpoint_update(Store *store, int64_t org, const char *url, const char *sql, const char *text)
{
    sqlite3_stmt *st = store_stmt(store, sql);
    if (!st) return cli_fail("store: %s", store_errmsg(store));
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, url, -1, SQLITE_TRANSIENT);
    if (text) sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
    if (exec1(store, st) != 0) return 1;
    if (sqlite3_changes(store->db) == 0) return cli_fail("no endpoint '%s'", url);
    return 0;
}

static int webhooks_cmd(Store *store, int64_t org, Args *a)
{
    const char *sub = a->n >= 2 ? a->v[1] : "";
    char err[512], secrets[WHK_HEADER_MAX];
    bool disabled;
    if (strcmp(sub, "allow") == 0) {
        bool off = take_flag(a, "--off");
        if (a->n != 3) return cli_fail("%s", "usage: webhooks allow CLASS|http|any-port [--off]");
        return set_setting(store, org, a->v[2], off);
    }
    if (strcmp(sub, "settings") == 0) {
        NetPolicy p;
        obx_policy(store, org, &p);
        printf("http %s\nany-port %s\n", p.allow_http ? "allowed" : "refused", p.allow_any_port ? "allowed" : "refused");
        for (unsigned bit = 1; np_class_name(bit); bit <<= 1)
            printf("%s %s\n", np_class_name(bit), p.allow & bit ? "allowed" : "refused");
        return 0;
    }
    if (strcmp(sub, "list") == 0) {
        sqlite3_stmt *st = store_stmt(store, "SELECT url, disabled, disabled_reason, length(secrets) - length(replace(secrets, ' ', '')) + 1"
                                             " FROM webhook_endpoints WHERE org = ?1 ORDER BY url");
        if (!st) return cli_fail("store: %s", store_errmsg(store));
        sqlite3_bind_int64(st, 1, org);
        while (sqlite3_step(st) == SQLITE_ROW)
            printf("%s\t%s\t%d secret(s)%s%s\n", (const char *)sqlite3_column_text(st, 0),
                   sqlite3_column_int(st, 1) ? "disabled" : "enabled", sqlite3_column_int(st, 3),
                   sqlite3_column_int(st, 1) ? "\t" : "", sqlite3_column_int(st, 1) ? (const char *)sqlite3_column_text(st, 2) : "");
        sqlite3_reset(st);
        return 0;
    }
    const char *secret = strcmp(sub, "add") == 0 ? take(a, "--secret") : NULL;
    if (a->n != 3 || leftover(a, 2))
        return cli_fail("%s", "usage: webhooks add URL [--secret whsec_...] | secret|rotate|retire|enable|remove URL | list"
                          " | allow CLASS|http|any-port [--off] | settings");
    const char *url = a->v[2];
    unsigned char key[WHK_KEY_MAX];
    if (strcmp(sub, "add") == 0) {
        NetPolicy p;
        char why[128];
        obx_policy(store, org, &p);
        if (np_check_url(&p, url, why)) return cli_fail("%s", why);
        if (secret && whk_secret_decode(secret, key) < 0)
            return cli_fail("%s", "a secret is whsec_ followed by the base64 of 16 to 64 bytes");
        if (obx_endpoint(store, org, url, secrets, sizeof secrets, &disabled, err, sizeof err) < 0) return cli_fail("%s", err);
        if (secret && endpoint_update(store, org, url, "UPDATE webhook_endpoints SET secrets = ?3 WHERE org = ?1 AND url = ?2",
                                      secret) != 0)
            return 1;
        printf("endpoint %s\nsecret %s\n", url, secret ? secret : secrets);
        return 0;
    }
    if (strcmp(sub, "secret") == 0 || strcmp(sub, "rotate") == 0 || strcmp(sub, "retire") == 0) {
        sqlite3_stmt *st = store_stmt(store, "SELECT secrets FROM webhook_endpoints WHERE org = ?1 AND url = ?2");
        if (!st) return cli_fail("store: %s", store_errmsg(store));
        sqlite3_bind_int64(st, 1, org);
        sqlite3_bind_text(st, 2, url, -1, SQLITE_TRANSIENT);
        bool found = sqlite3_step(st) == SQLITE_ROW;
        if (found) snprintf(secrets, sizeof secrets, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        if (!found) return cli_fail("no endpoint '%s'", url);
        if (strcmp(sub, "secret") == 0) {
            printf("%s\n", secrets);
            return 0;
        }
        char next[WHK_HEADER_MAX + WHK_SECRET_MAX];
        if (strcmp(sub, "rotate") == 0) {
            char fresh[WHK_SECRET_MAX];
            if (whk_secret_new(fresh) != 0) return cli_fail("%s", "no random bytes");
            /* the new secret first; older ones kept (at most WHK_SECRETS_MAX) until retired */
            snprintf(next, sizeof next, "%s %s", fresh, secrets);
            int count = 0;
            for (char *p = next; *p; p++)
                if (*p == ' ' && ++count == WHK_SECRETS_MAX) *p = '\0';
            printf("%s\n", fresh);
        } else {
            snprintf(next, sizeof next, "%.*s", (int)strcspn(secrets, " "), secrets);
        }
        return endpoint_update(store, org, url, "UPDATE webhook_endpoints SET secrets = ?3 WHERE org = ?1 AND url = ?2", next);
    }
    if (strcmp(sub, "enable") == 0)
        return endpoint_update(store, org, url,
                               "UPDATE webhook_endpoints SET disabled = 0, disabled_reason = '' WHERE org = ?1 AND url = ?2", NULL);
    if (strcmp(sub, "remove") == 0)
        return endpoint_update(store, org, url, "DELETE FROM webhook_endpoints WHERE org = ?1 AND url = ?2", NULL);
    return cli_fail("unknown webhooks command '%s'", sub);
}

int dcli_webhooks(const char *db, const char *org, int nargs, char **args)
{
    Args a;
    args_init(&a, nargs, args);
    int64_t org_id;
    Store *store = open_org(db, org, &org_id);
    if (!store) return 1;
    int rc = webhooks_cmd(store, org_id, &a);
    store_close(store);
    return rc;
}

/* ============================================================ groups */

int dcli_groups(const char *db, const char *org, int nargs, char **args)
{
    Args a;
    args_init(&a, nargs, args);
    const char *sub = a.n >= 2 ? a.v[1] : "";
    int64_t org_id;
    if (strcmp(sub, "set") == 0 && a.n >= 4) {
        for (int i = 2; i < a.n; i++)
            if (valid_email(a.v[i], strlen(a.v[i])) || valid_header_value(a.v[i], strlen(a.v[i])))
                return cli_fail("'%s' is not an email address (a group is named like one, e.g. noc@groups.example)", a.v[i]);
        if (a.n - 3 > MAIL_RECIPIENTS_MAX) return cli_fail("%s", "a group holds at most 100 addresses");
    } else if (!(strcmp(sub, "list") == 0 && a.n == 2) && !(strcmp(sub, "remove") == 0 && a.n == 3)) {
        return cli_fail("%s", "usage: groups set NAME ADDRESS... | list | remove NAME");
    }
    Store *store = open_org(db, org, &org_id);
    if (!store) return 1;
    int rc = 0;
    if (strcmp(sub, "set") == 0) {
        cJSON *members = cJSON_CreateArray();
        for (int i = 3; i < a.n; i++) cJSON_AddItemToArray(members, cJSON_CreateString(a.v[i]));
        char *text = cJSON_PrintUnformatted(members);
        cJSON_Delete(members);
        sqlite3_stmt *st = store_stmt(store, "INSERT INTO email_groups (org, name, members) VALUES (?1, ?2, ?3)"
                                             " ON CONFLICT (org, name) DO UPDATE SET members = ?3");
        if (st) {
            sqlite3_bind_int64(st, 1, org_id);
            sqlite3_bind_text(st, 2, a.v[2], -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, text ? text : "[]", -1, SQLITE_TRANSIENT);
        }
        free(text);
        if ((rc = exec1(store, st)) == 0) printf("group %s: %d addresses\n", a.v[2], a.n - 3);
    } else if (strcmp(sub, "list") == 0) {
        sqlite3_stmt *st = store_stmt(store, "SELECT name, members FROM email_groups WHERE org = ?1 ORDER BY name");
        if (!st) rc = cli_fail("store: %s", store_errmsg(store));
        else {
            sqlite3_bind_int64(st, 1, org_id);
            while (sqlite3_step(st) == SQLITE_ROW)
                printf("%s\t%s\n", (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
            sqlite3_reset(st);
        }
    } else {
        sqlite3_stmt *st = store_stmt(store, "DELETE FROM email_groups WHERE org = ?1 AND name = ?2");
        if (st) {
            sqlite3_bind_int64(st, 1, org_id);
            sqlite3_bind_text(st, 2, a.v[2], -1, SQLITE_TRANSIENT);
        }
        if ((rc = exec1(store, st)) == 0) {
            if (sqlite3_changes(store->db) == 0) rc = cli_fail("no group '%s'", a.v[2]);
            else printf("group %s removed\n", a.v[2]);
        }
    }
    store_close(store);
    return rc;
}
