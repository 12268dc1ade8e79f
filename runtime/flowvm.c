/*
 * flowvm.c - the runtime's command line.
 *
 *   flowvm [--db FILE] [--org NAME] COMMAND ...
 *
 * Commands: sims import|list|show|transfer, ingest, tick, runs, serve,
 * tokens create|list|revoke; the
 * deployment commands (deploy_cli.c) and the delivery ones (deliver_cli.c).
 * Every command takes --db (default ./flow.db) and --org (default
 * "default") anywhere on its line.  spec/runtime.md documents them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../stdlib/format.h"
#include "deliver_cli.h"
#include "deploy_cli.h"
#include "engine.h"
#include "history.h"
#include "http.h"
#include "ingest.h"
#include "sims.h"
#include "store.h"
#include "tokens.h"
#include "cli.h"

#define MAX_ARGS 1024

typedef struct Cli {
    const char *db, *org;
    char *args[MAX_ARGS];
    int nargs;
    Store *store;
    int64_t org_id;
} Cli;

static const char usage_text[] =
    "usage: flowvm [--db FILE] [--org NAME] COMMAND ...\n"
    "  sims import FILE [--skip-invalid]   import SIMs from CSV (with a header) or NDJSON\n"
    "  sims list                           list the organisation's SIMs\n"
    "  sims show ICCID                     one SIM's record\n"
    "  sims transfer ICCID --to ORG        move a SIM to another organisation\n"
    "  deploy ARTIFACT... (--as ADMIN [--approve-as ADMIN2] | --auto-approve) [--inputs FILE.json]\n"
    "         [--at TIME] [--project P] [--from TIME] [--until TIME]\n"
    "                                      draft versions of their flows, waiting for approval\n"
    "  approve FLOW... | rollback FLOW --to N | enable|disable|delete|restore FLOW   (--as ADMIN)\n"
    "  flows [--project P] | versions FLOW | diff FLOW V1 V2 | audit   (--as USER)\n"
    "  users add NAME --role user|operator|admin [--as ADMIN] | users list\n"
    "  export FLOW|--project P -o FILE [--keep-inputs|--strip-inputs] | import FILE [--inputs F]\n"
    "                                      spec/deployments.md\n"
    "  ingest FILE|- [--batch N] [--now TIME]\n"
    "                                      process events (NDJSON)\n"
    "  tick [--until TIME]                 advance the clock: waits, schedules, dates, dormant SIMs\n"
    "  runs [--flow NAME] [--sim ICCID] [--status ok|failed|waiting] [--limit N] [--json]\n"
    "  runs show ID                        one run in detail\n"
    "  serve --listen ADDR:PORT [--timeout S] [--tick-ms MS] [--ca-file F] [--no-worker]\n"
    "                                      the HTTP API, the scheduler and the delivery worker\n"
    "                                      (spec/http-api.md) until SIGTERM\n"
    "  tokens create --role user|operator|admin\n"
    "                                      an API token of the organisation, printed once\n"
    "  tokens list | tokens revoke ID      the organisation's tokens; revoke one at once\n"
    "  deliver [list] [--once] [--now TIME] [--schedule LIST] [--timeout S] [--ca-file F]\n"
    "                                      send the outbox: webhooks and email (spec/deliveries.md)\n"
    "  webhooks add URL [--secret whsec_...] | secret|rotate|retire|enable|remove URL | list\n"
    "           | allow CLASS|http|any-port [--off] | settings\n"
    "  smtp add|list|default|remove ...    SMTP profiles (passwords never printed)\n"
    "  groups set NAME ADDRESS... | list | remove NAME   email groups\n"
    "--db FILE (default ./flow.db), --org NAME (default \"default\")\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

/* The value of option `name` among the arguments, removed from them. */
static const char *take(Cli *c, const char *name)
{
    return cli_take(c->args, &c->nargs, name);
}

static bool take_flag(Cli *c, const char *name)
{
    return cli_take_flag(c->args, &c->nargs, name);
}

static bool leftover_options(Cli *c, int from)
{
    return cli_leftover(c->args, c->nargs, from);
}

static int open_store(Cli *c, bool create_org)
{
    char err[512];
    if (!(c->store = store_open(c->db, err, sizeof err))) return cli_fail("%s", err);
    c->org_id = store_org(c->store, c->org, create_org, err, sizeof err);
    if (c->org_id < 0) return cli_fail("%s", err);
    return 0;
}

/* ============================================================ sims */

static int cmd_sims(Cli *c)
{
    if (c->nargs < 2) return usage();
    const char *sub = c->args[1];
    char err[512];
    if (strcmp(sub, "import") == 0) {
        bool skip = take_flag(c, "--skip-invalid");
        if (c->nargs != 3 || leftover_options(c, 3)) return usage();
        if (open_store(c, true)) return 1;
        SimsImportReport rep;
        int rc = sims_import(c->store, c->org_id, c->args[2], skip, stderr, &rep, err, sizeof err);
        if (rc < 0) return cli_fail("%s", err);
        if (rc == 1 && !skip) {
            fprintf(stderr, "flowvm: %d of %d rows rejected: nothing imported (--skip-invalid imports the valid rows)\n",
                    rep.rejected, rep.rows + (rep.rows ? 0 : rep.rejected));
            return 1;
        }
        printf("imported %d SIMs, rejected %d rows\n", rep.imported, rep.rejected);
        return rc == 1 ? 1 : 0;
    }
    if (strcmp(sub, "list") == 0) {
        if (c->nargs != 2 || open_store(c, true)) return c->store ? 1 : usage();
        return sims_list(c->store, c->org_id, stdout, err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
    }
    if (strcmp(sub, "show") == 0) {
        if (c->nargs != 3) return usage();
        if (open_store(c, true)) return 1;
        return sims_show(c->store, c->org_id, c->args[2], stdout, err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
    }
    if (strcmp(sub, "transfer") == 0) {
        const char *to = take(c, "--to");
        if (!to || c->nargs != 3) return usage();
        if (open_store(c, true)) return 1;
        int64_t to_id = store_org(c->store, to, true, err, sizeof err);
        if (to_id < 0) return cli_fail("%s", err);
        if (to_id == c->org_id) return cli_fail("SIM %s is already in that organisation", c->args[2]);
        if (sims_transfer(c->store, c->org_id, c->args[2], to_id, err, sizeof err) != 0) return cli_fail("%s", err);
        printf("SIM %s moved from %s to %s\n", c->args[2], c->org, to);
        return 0;
    }
    return usage();
}

/* ============================================================ ingest, tick */

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmd_ingest(Cli *c)
{
    const char *batch_text = take(c, "--batch"), *now_text = take(c, "--now");
    bool quiet = take_flag(c, "--quiet");
    if (c->nargs != 2 || leftover_options(c, 2)) return usage();
    int batch = batch_text ? atoi(batch_text) : 0;
    int64_t now = store_wall_clock();
    if (now_text && !cli_parse_time(now_text, &now)) return 2;
    if (open_store(c, true)) return 1;
    FILE *in = strcmp(c->args[1], "-") == 0 ? stdin : fopen(c->args[1], "rb");
    if (!in) return cli_fail("cannot read the events: %s", strerror(errno));
    char err[512];
    EngOptions opt = { 0 };
    Engine *e = eng_open(c->store, c->org_id, &opt, err, sizeof err);
    if (!e) {
        if (in != stdin) fclose(in);
        return cli_fail("%s", err);
    }
    int64_t clock = eng_clock(e);
    ingest_time_bounds(clock > now ? clock : now, &opt.time_min, &opt.time_max);
    eng_free(e);
    e = eng_open(c->store, c->org_id, &opt, err, sizeof err);
    IngestReport r;
    int rc = e ? ingest_stream(e, in, batch, stderr, &r, err, sizeof err) : -1;
    if (in != stdin) fclose(in);
    eng_free(e);
    if (rc != 0) return cli_fail("%s", err);
    if (!quiet) {
        printf("lines %llu: %llu events processed, %llu rejected, %llu duplicates ignored, %llu about unknown SIMs\n",
               (unsigned long long)r.lines, (unsigned long long)r.accepted, (unsigned long long)r.rejected,
               (unsigned long long)r.duplicates, (unsigned long long)r.unknown_sims);
        printf("runs %llu (%llu failed), actions %llu\n", (unsigned long long)r.runs, (unsigned long long)r.failed,
               (unsigned long long)r.actions);
        printf("time %.3f s: parse %.3f, evaluate %.3f, commit %.3f; %.0f events/s; peak RSS %ld KB\n", r.total_s,
               r.parse_s, r.evaluate_s, r.commit_s, r.total_s > 0 ? (double)(r.accepted + r.duplicates) / r.total_s : 0,
               peak_rss_kb());
    }
    return r.rejected ? 3 : 0;
}

static int cmd_tick(Cli *c)
{
    const char *until_text = take(c, "--until");
    if (c->nargs != 1 || leftover_options(c, 1)) return usage();
    int64_t until = store_wall_clock();
    if (until_text && !cli_parse_time(until_text, &until)) return 2;
    if (open_store(c, true)) return 1;
    char err[512];
    EngOptions opt = { 0 };
    Engine *e = eng_open(c->store, c->org_id, &opt, err, sizeof err);
    if (!e) return cli_fail("%s", err);
    int64_t from = eng_clock(e);
    int rc = eng_tick(e, until, err, sizeof err);
    const EngStats *s = eng_stats(e);
    if (rc == 0) {
        FmtBuf a, b;
        fmt_init(&a);
        fmt_init(&b);
        fmt_time(&a, from);
        fmt_time(&b, until > from ? until : from);
        printf("clock %s -> %s: %llu events made, %llu runs resumed, %llu runs (%llu failed), %llu actions\n", a.data,
               b.data, (unsigned long long)s->events, (unsigned long long)s->resumed, (unsigned long long)s->runs,
               (unsigned long long)s->failed, (unsigned long long)s->actions);
        fmt_free(&a);
        fmt_free(&b);
    }
    eng_free(e);
    return rc == 0 ? 0 : cli_fail("%s", err);
}

/* ============================================================ runs */

static int cmd_runs(Cli *c)
{
    char err[512];
    if (c->nargs >= 2 && strcmp(c->args[1], "show") == 0) {
        if (c->nargs != 3) return usage();
        char *end;
        long long id = strtoll(c->args[2], &end, 10);
        if (*end || id <= 0) return cli_fail("'%s' is not a run id", c->args[2]);
        if (open_store(c, true)) return 1;
        return hist_show(c->store, c->org_id, id, stdout, err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
    }
    HistFilter f = { take(c, "--flow"), take(c, "--sim"), take(c, "--status"), 0 };
    const char *limit = take(c, "--limit");
    bool json = take_flag(c, "--json");
    if (limit) f.limit = atoi(limit);
    if (c->nargs != 1 || leftover_options(c, 1)) return usage();
    if (f.status && strcmp(f.status, "ok") && strcmp(f.status, "failed") && strcmp(f.status, "waiting"))
        return cli_fail("--status takes ok, failed or waiting, not '%s'", f.status);
    if (open_store(c, true)) return 1;
    return hist_list(c->store, c->org_id, &f, json, stdout, err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
}

/* ============================================================ serve, tokens */

static int cmd_serve(Cli *c)
{
    HttpOptions o = { .db = c->db, .listen = take(c, "--listen"), .ca_file = take(c, "--ca-file") };
    const char *timeout = take(c, "--timeout"), *tick = take(c, "--tick-ms");
    o.no_worker = take_flag(c, "--no-worker");
    if (!o.listen || c->nargs != 1 || leftover_options(c, 1)) return usage();
    char *end;
    if (timeout && ((o.timeout = (unsigned)strtoul(timeout, &end, 10)) < 1 || *end || o.timeout > 3600))
        return cli_fail("--timeout takes seconds from 1 to 3600, not '%s'", timeout);
    if (tick && ((o.tick_ms = (unsigned)strtoul(tick, &end, 10)) < 50 || *end || o.tick_ms > 3600000))
        return cli_fail("--tick-ms takes milliseconds from 50 to 3600000, not '%s'", tick);
    char err[512];
    return http_serve(&o, err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
}

static int cmd_tokens(Cli *c)
{
    const char *role_text = take(c, "--role");
    const char *sub = c->nargs >= 2 ? c->args[1] : "";
    char err[512];
    if (strcmp(sub, "list") == 0 && c->nargs == 2 && !role_text && !leftover_options(c, 2)) {
        if (open_store(c, true)) return 1;
        return tok_list(c->store, c->org_id, stdout, err, sizeof err) == 0 ? 0 : cli_fail("%s", err);
    }
    if (strcmp(sub, "revoke") == 0 && c->nargs == 3 && !role_text && !leftover_options(c, 3)) {
        char *end;
        long long id = strtoll(c->args[2], &end, 10);
        if (*end || id <= 0) return cli_fail("'%s' is not a token id", c->args[2]);
        if (open_store(c, true)) return 1;
        int rc = tok_revoke(c->store, c->org_id, id, err, sizeof err);
        if (rc < 0) return cli_fail("%s", err);
        if (rc > 0) return cli_fail("the organisation has no live token %s", c->args[2]);
        printf("revoked token %lld\n", id);
        return 0;
    }
    if (strcmp(sub, "create") != 0 || c->nargs != 2 || !role_text || leftover_options(c, 2)) return usage();
    int role = tok_role(role_text);
    if (role < 0) return cli_fail("--role takes user, operator or admin, not '%s'", role_text);
    if (open_store(c, true)) return 1;
    char token[TOK_TEXT_LEN + 1];
    int64_t id = tok_create(c->store, c->org_id, (TokRole)role, token, err, sizeof err);
    if (id < 0) return cli_fail("%s", err);
    printf("%s\n", token);
    fprintf(stderr, "flowvm: token %lld of %s with role %s; it is not shown again\n", (long long)id, c->org, role_text);
    return 0;
}

int main(int argc, char **argv)
{
    Cli c = { .db = STORE_DEFAULT_PATH, .org = "default" };
    for (int i = 1; i < argc && c.nargs < MAX_ARGS; i++) c.args[c.nargs++] = argv[i];
    const char *db = take(&c, "--db"), *org = take(&c, "--org");
    if (db) c.db = db;
    if (org) c.org = org;
    if (c.nargs == 0 || strcmp(c.args[0], "--help") == 0 || strcmp(c.args[0], "help") == 0) {
        fputs(usage_text, c.nargs ? stdout : stderr);
        return c.nargs ? 0 : 2;
    }
    const char *cmd = c.args[0];
    int rc;
    if (strcmp(cmd, "sims") == 0) rc = cmd_sims(&c);
    else if (lcli_handles(cmd)) rc = lcli_run(c.db, c.org, c.nargs, c.args);
    else if (strcmp(cmd, "ingest") == 0) rc = cmd_ingest(&c);
    else if (strcmp(cmd, "tick") == 0) rc = cmd_tick(&c);
    else if (strcmp(cmd, "runs") == 0) rc = cmd_runs(&c);
    else if (strcmp(cmd, "serve") == 0) rc = cmd_serve(&c);
    else if (strcmp(cmd, "tokens") == 0) rc = cmd_tokens(&c);
    else if (strcmp(cmd, "deliver") == 0) rc = dcli_deliver(c.db, c.org, c.nargs, c.args);
    else if (strcmp(cmd, "smtp") == 0) rc = dcli_smtp(c.db, c.org, c.nargs, c.args);
    else if (strcmp(cmd, "webhooks") == 0) rc = dcli_webhooks(c.db, c.org, c.nargs, c.args);
    else if (strcmp(cmd, "groups") == 0) rc = dcli_groups(c.db, c.org, c.nargs, c.args);
    else {
        fprintf(stderr, "flowvm: unknown command '%s'\n", cmd);
        rc = usage();
    }
    store_close(c.store);
    return rc;
}
