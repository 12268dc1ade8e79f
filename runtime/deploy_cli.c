/*
 * deploy_cli.c - the deployment commands: users and roles, the lifecycle of
 * versions (deploy.c does the versions table), history, diff, enable and
 * disable, delete and restore, the audit log, export and import bundles.
 * spec/deployments.md is the reference, with every refusal's message.
 */
#include "deploy_cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/format.h"
#include "../vm/vm.h"
#include "bundle.h"
#include "deploy.h"
#include "store.h"
#include "cli.h"

#define LCLI_MAX_FILE (64u * 1024u * 1024u)
#define LCLI_MAX_DIFF_LINES 4000

typedef enum { ROLE_USER, ROLE_OPERATOR, ROLE_ADMIN } Role;
static const char *const role_names[] = { "user", "operator", "admin" };
static const char *const role_articles[] = { "a user", "an operator", "an admin" };

typedef struct Cli {
    const char *db, *org, *as;
    char **args;
    int nargs;
    Store *store;
    int64_t org_id;
    char err[1024];
} Cli;

/* ============================================================ arguments */

static const char *take(Cli *c, const char *name)
{
    return cli_take(c->args, &c->nargs, name);
}

static bool take_flag(Cli *c, const char *name)
{
    return cli_take_flag(c->args, &c->nargs, name);
}


static int usage_of(const char *text)
{
    fprintf(stderr, "usage: flowvm %s\n", text);
    return 2;
}

static bool leftover_options(Cli *c)
{
    return cli_leftover(c->args, c->nargs, 1);
}

static char *read_all(const char *path, size_t *len, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = malloc(max + 1);
    size_t n = data ? fread(data, 1, max + 1, f) : 0;
    fclose(f);
    if (!data || n > max) {
        free(data);
        errno = EFBIG;
        return NULL;
    }
    data[n] = '\0';
    *len = n;
    return data;
}

static cJSON *read_inputs(const char *path)
{
    size_t len;
    char *text = read_all(path, &len, LCLI_MAX_FILE);
    if (!text) {
        fprintf(stderr, "flowvm: cannot read the inputs file: %s\n", strerror(errno));
        return NULL;
    }
    cJSON *inputs = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(inputs)) {
        cJSON_Delete(inputs);
        fprintf(stderr, "flowvm: %s: the inputs are a JSON object of input name -> value\n", path);
        return NULL;
    }
    return inputs;
}

static void print_time(FILE *out, int64_t t)
{
    FmtBuf b;
    fmt_init(&b);
    fmt_time(&b, t);
    fputs(b.data, out);
    fmt_free(&b);
}

/* ============================================================ store, users, roles */

static int open_store(Cli *c)
{
    if (!(c->store = store_open(c->db, c->err, sizeof c->err))) return cli_fail("%s", c->err);
    c->org_id = store_org(c->store, c->org, true, c->err, sizeof c->err);
    if (c->org_id < 0) return cli_fail("%s", c->err);
    return 0;
}

static int64_t count_users(Cli *c)
{
    sqlite3_stmt *st = store_stmt(c->store, "SELECT count(*) FROM users WHERE org = ?1");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, c->org_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

/* Is --as allowed to do `what`, which needs `need`?  Prints the refusal. */
static bool allowed(Cli *c, Role need, const char *what)
{
    if (!c->as) {
        cli_fail("%s needs --as USER", what);
        return false;
    }
    sqlite3_stmt *st = store_stmt(c->store, "SELECT role FROM users WHERE org = ?1 AND name = ?2");
    if (!st) return cli_fail("store: %s", store_errmsg(c->store)) == 0;
    sqlite3_bind_int64(st, 1, c->org_id);
    sqlite3_bind_text(st, 2, c->as, -1, SQLITE_TRANSIENT);
    int role = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        for (int r = 0; r < 3; r++)
            if (strcmp((const char *)sqlite3_column_text(st, 0), role_names[r]) == 0) role = r;
    sqlite3_reset(st);
    if (role < 0) {
        fprintf(stderr, "flowvm: no user '%s' in organisation '%s'\n", c->as, c->org);
        return false;
    }
    if (role < (int)need) {
        fprintf(stderr, "flowvm: permission denied: %s is %s; %s needs the %s role\n", c->as, role_articles[role],
                what, role_names[need]);
        return false;
    }
    return true;
}

static int cmd_users(Cli *c)
{
    const char *role = take(c, "--role");
    if (c->nargs >= 2 && strcmp(c->args[1], "list") == 0) {
        if (c->nargs != 2 || leftover_options(c)) return usage_of("users list --as USER");
        if (!allowed(c, ROLE_OPERATOR, "listing users")) return 1;
        sqlite3_stmt *st = store_stmt(c->store, "SELECT name, role FROM users WHERE org = ?1 ORDER BY name");
        sqlite3_bind_int64(st, 1, c->org_id);
        while (sqlite3_step(st) == SQLITE_ROW)
            printf("%s %s\n", (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
        sqlite3_reset(st);
        return 0;
    }
    if (c->nargs != 3 || strcmp(c->args[1], "add") != 0 || !role || leftover_options(c))
        return usage_of("users add NAME --role user|operator|admin [--as ADMIN]");
    if (strcmp(role, "user") && strcmp(role, "operator") && strcmp(role, "admin"))
        return cli_fail("--role takes user, operator or admin, not '%s'", role);
    int64_t n = count_users(c);
    if (n < 0) return cli_fail("store: %s", store_errmsg(c->store));
    if (n == 0 && strcmp(role, "admin") != 0) return cli_fail("the organisation's first user must be an admin%s", "");
    if (n > 0 && !allowed(c, ROLE_ADMIN, "adding users")) return 1;
    const char *name = c->args[2];
    sqlite3_stmt *st = store_stmt(c->store, "INSERT INTO users (org, name, email, role, created)"
                                            " VALUES (?1, ?2, ?2, ?3, ?4)");
    if (!st || store_begin(c->store, c->err, sizeof c->err) != 0) return cli_fail("%s", c->err);
    sqlite3_bind_int64(st, 1, c->org_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, store_wall_clock());
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        store_rollback(c->store);
        return cli_fail("user '%s' exists already", name);
    }
    sqlite3_reset(st);
    char detail[300];
    snprintf(detail, sizeof detail, "user '%s' as %s", name, role);
    if (deploy_audit(c->store, c->org_id, c->as ? c->as : name, "user add", detail, c->err, sizeof c->err) != 0 ||
        store_commit(c->store, c->err, sizeof c->err) != 0) {
        store_rollback(c->store);
        return cli_fail("%s", c->err);
    }
    printf("added user '%s' (%s)\n", name, role);
    return 0;
}

/* ============================================================ flows */

typedef struct FlowRow {
    int64_t id;
    char kind[8], project[128];
    bool enabled, deleted;
} FlowRow;

/* The flow (or else the sub) named `name`; prints the refusal. */
static bool find_flow(Cli *c, const char *name, FlowRow *row)
{
    sqlite3_stmt *st = store_stmt(c->store, "SELECT id, kind, project, enabled, deleted IS NOT NULL FROM flows"
                                            " WHERE org = ?1 AND name = ?2 ORDER BY kind = 'flow' DESC LIMIT 1");
    if (!st) return cli_fail("store: %s", store_errmsg(c->store)) == 0;
    sqlite3_bind_int64(st, 1, c->org_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        row->id = sqlite3_column_int64(st, 0);
        snprintf(row->kind, sizeof row->kind, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(row->project, sizeof row->project, "%s", (const char *)sqlite3_column_text(st, 2));
        row->enabled = sqlite3_column_int(st, 3) != 0;
        row->deleted = sqlite3_column_int(st, 4) != 0;
    }
    sqlite3_reset(st);
    if (!found) fprintf(stderr, "flowvm: no flow named '%s'\n", name);
    return found;
}

static int cmd_flows(Cli *c)
{
    const char *project = take(c, "--project");
    bool deleted = take_flag(c, "--deleted");
    if (c->nargs != 1 || leftover_options(c)) return usage_of("flows [--project P] [--deleted] --as USER");
    if (!allowed(c, ROLE_USER, "listing flows")) return 1;
    sqlite3_stmt *st = store_stmt(
        c->store, "SELECT f.name, f.kind, f.project, f.enabled, f.deleted IS NOT NULL,"
                  " (SELECT number FROM versions WHERE flow = f.id AND state = 'active'),"
                  " (SELECT number FROM versions WHERE flow = f.id AND state = 'draft')"
                  " FROM flows f WHERE f.org = ?1 AND (?2 IS NULL OR f.project = ?2)"
                  " AND (f.deleted IS NULL OR ?3) ORDER BY f.project, f.kind, f.name");
    if (!st) return cli_fail("store: %s", store_errmsg(c->store));
    sqlite3_bind_int64(st, 1, c->org_id);
    if (project) sqlite3_bind_text(st, 2, project, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, deleted);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bool has_active = sqlite3_column_type(st, 5) != SQLITE_NULL, has_draft = sqlite3_column_type(st, 6) != SQLITE_NULL;
        const char *state = sqlite3_column_int(st, 4) ? "deleted"
                            : has_active && has_draft ? "drafting"
                            : has_active              ? "active"
                                                      : "draft";
        printf("%s %s %s %s%s", (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 0), state, sqlite3_column_int(st, 3) ? "" : " disabled");
        if (has_active) printf(" active=%d", sqlite3_column_int(st, 5));
        if (has_draft) printf(" draft=%d", sqlite3_column_int(st, 6));
        putchar('\n');
    }
    sqlite3_reset(st);
    return 0;
}

static int cmd_versions(Cli *c)
{
    if (c->nargs != 2 || leftover_options(c)) return usage_of("versions FLOW --as USER");
    if (!allowed(c, ROLE_OPERATOR, "reading a flow's history")) return 1;
    FlowRow f;
    if (!find_flow(c, c->args[1], &f)) return 1;
    printf("%s '%s' project %s%s%s\n", f.kind, c->args[1], f.project, f.enabled ? "" : " disabled",
           f.deleted ? " deleted" : "");
    sqlite3_stmt *st = store_stmt(
        c->store, "SELECT v.id, v.number, v.state, v.created, coalesce(v.author, ''), v.deployed, coalesce(v.approver, ''),"
                  " v.sha256, v.compiler, v.source_sha256, v.origin, v.archived, v.window_from, v.window_until,"
                  " (SELECT json_group_object(name, json(value)) FROM inputs WHERE version = v.id),"
                  " (SELECT group_concat(sf.name || ' version ' || sv.number, ', ') FROM version_subs s"
                  "   JOIN versions sv ON sv.id = s.sub_version JOIN flows sf ON sf.id = sv.flow WHERE s.version = v.id)"
                  " FROM versions v WHERE v.flow = ?1 ORDER BY v.number");
    if (!st) return cli_fail("store: %s", store_errmsg(c->store));
    sqlite3_bind_int64(st, 1, f.id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *author = (const char *)sqlite3_column_text(st, 4);
        printf("version %d %s: created ", sqlite3_column_int(st, 1), (const char *)sqlite3_column_text(st, 2));
        print_time(stdout, sqlite3_column_int64(st, 3));
        printf(" by %s", author[0] ? author : "(auto-approved)");
        if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
            printf(", active ");
            print_time(stdout, sqlite3_column_int64(st, 5));
            const char *approver = (const char *)sqlite3_column_text(st, 6);
            if (approver[0]) printf(" approved by %s", approver);
        }
        if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
            printf(", archived ");
            print_time(stdout, sqlite3_column_int64(st, 11));
        }
        if (sqlite3_column_type(st, 10) != SQLITE_NULL) printf(", rollback to version %d", sqlite3_column_int(st, 10));
        printf("\n  artifact sha256 %s, source sha256 %s, compiler %s\n", (const char *)sqlite3_column_text(st, 7),
               (const char *)sqlite3_column_text(st, 9), (const char *)sqlite3_column_text(st, 8));
        printf("  inputs %s", (const char *)sqlite3_column_text(st, 14));
        if (sqlite3_column_type(st, 15) != SQLITE_NULL) printf(", subs %s", (const char *)sqlite3_column_text(st, 15));
        if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
            printf(", window from ");
            print_time(stdout, sqlite3_column_int64(st, 12));
        }
        if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
            printf(", window until ");
            print_time(stdout, sqlite3_column_int64(st, 13));
        }
        putchar('\n');
    }
    sqlite3_reset(st);
    return 0;
}

/* ============================================================ diff */

/* The declaration's source of version `number`; malloc'd, NULL when none. */
static char *version_source(Cli *c, int64_t flow, const char *name, const char *number_text)
{
    char *end;
    long number = strtol(number_text, &end, 10);
    if (*end || number <= 0) {
        fprintf(stderr, "flowvm: '%s' is not a version number\n", number_text);
        return NULL;
    }
    sqlite3_stmt *st = store_stmt(c->store, "SELECT artifact FROM versions WHERE flow = ?1 AND number = ?2");
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_int64(st, 2, number);
    char *text = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        Artifact *art = NULL;
        if (art_load(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &art, c->err, sizeof c->err) == 0) {
            text = strdup(art->source_text ? art->source_text : "");
            art_free(art);
        } else {
            fprintf(stderr, "flowvm: version %ld does not verify: %s\n", number, c->err);
        }
    } else {
        fprintf(stderr, "flowvm: flow '%s' has no version %ld\n", name, number);
    }
    sqlite3_reset(st);
    return text;
}

static int split_lines(char *text, char **lines, int max)
{
    int n = 0;
    for (char *p = text; *p && n < max;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static int cmd_diff(Cli *c)
{
    if (c->nargs != 4 || leftover_options(c)) return usage_of("diff FLOW V1 V2 --as USER");
    if (!allowed(c, ROLE_OPERATOR, "reading a flow's history")) return 1;
    FlowRow f;
    if (!find_flow(c, c->args[1], &f)) return 1;
    char *a = version_source(c, f.id, c->args[1], c->args[2]);
    char *b = a ? version_source(c, f.id, c->args[1], c->args[3]) : NULL;
    static char *la[LCLI_MAX_DIFF_LINES], *lb[LCLI_MAX_DIFF_LINES];
    int status = 1;
    if (!a || !b) goto done;
    int na = split_lines(a, la, LCLI_MAX_DIFF_LINES), nb = split_lines(b, lb, LCLI_MAX_DIFF_LINES);
    /* longest common subsequence, from the ends */
    int *lcs = calloc((size_t)(na + 1) * (size_t)(nb + 1), sizeof *lcs);
    if (!lcs) goto done;
#define L(i, j) lcs[(size_t)(i) * (size_t)(nb + 1) + (size_t)(j)]
    for (int i = na - 1; i >= 0; i--)
        for (int j = nb - 1; j >= 0; j--)
            L(i, j) = strcmp(la[i], lb[j]) == 0 ? L(i + 1, j + 1) + 1
                      : L(i + 1, j) >= L(i, j + 1) ? L(i + 1, j) : L(i, j + 1);
    printf("--- %s '%s' version %s\n+++ %s '%s' version %s\n", f.kind, c->args[1], c->args[2], f.kind, c->args[1],
           c->args[3]);
    int i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && strcmp(la[i], lb[j]) == 0) printf("  %s\n", la[i++]), j++;
        else if (j < nb && (i == na || L(i, j + 1) >= L(i + 1, j))) printf("+ %s\n", lb[j++]);
        else printf("- %s\n", la[i++]);
    }
#undef L
    free(lcs);
    status = 0;
done:
    free(a);
    free(b);
    return status;
}

/* ============================================================ deploy, approve, rollback */

static int cmd_deploy(Cli *c)
{
    const char *inputs_path = take(c, "--inputs"), *at_text = take(c, "--at"), *project = take(c, "--project");
    const char *from = take(c, "--from"), *until = take(c, "--until"), *approver = take(c, "--approve-as");
    bool auto_approve = take_flag(c, "--auto-approve");
    if (c->nargs < 2 || leftover_options(c))
        return usage_of("deploy ARTIFACT... (--as ADMIN [--approve-as ADMIN2] | --auto-approve) [--inputs FILE.json]"
                        " [--at TIME] [--project P] [--from TIME] [--until TIME]");
    DeployOptions opt = { .author = c->as, .approver = approver, .project = project };
    int64_t at = store_wall_clock();
    if ((at_text && !cli_parse_time(at_text, &at)) || (from && !cli_parse_time(from, &opt.from)) ||
        (until && !cli_parse_time(until, &opt.until)))
        return 2;
    opt.has_from = from != NULL;
    opt.has_until = until != NULL;
    if (auto_approve) {
        if (c->as || approver) return cli_fail("--auto-approve takes neither --as nor --approve-as%s", "");
        int64_t n = count_users(c);
        if (n != 0) return cli_fail("--auto-approve is only for an organisation without users: deploy --as USER%s", "");
    } else {
        if (!allowed(c, ROLE_ADMIN, "deploying")) return 1;
        if (approver) {
            const char *author = c->as;
            c->as = approver;
            bool ok = allowed(c, ROLE_ADMIN, "approving");
            c->as = author;
            if (!ok) return 1;
        }
    }
    cJSON *inputs = inputs_path ? read_inputs(inputs_path) : NULL;
    if (inputs_path && !inputs) return 1;
    int n = c->nargs - 1, status = 1;
    DeployItem *items = calloc((size_t)n, sizeof *items);
    char **bytes = calloc((size_t)n, sizeof *bytes);
    for (int i = 0; items && bytes && i < n; i++) {
        size_t len = 0;
        bytes[i] = read_all(c->args[i + 1], &len, ART_MAX_BYTES);
        if (!bytes[i]) {
            fprintf(stderr, "flowvm: cannot read '%s': %s\n", c->args[i + 1], strerror(errno));
            goto done;
        }
        items[i] = (DeployItem){ c->args[i + 1], (const uint8_t *)bytes[i], len };
    }
    if (!items || !bytes) goto done;
    if (deploy_versions(c->store, c->org_id, items, n, inputs, false, at, &opt, stdout, c->err, sizeof c->err) != 0) {
        fprintf(stderr, "flowvm: deploy refused: %s\n", c->err);
        goto done;
    }
    status = 0;
done:
    for (int i = 0; bytes && i < n; i++) free(bytes[i]);
    free(bytes);
    free(items);
    cJSON_Delete(inputs);
    return status;
}

static int cmd_approve(Cli *c)
{
    const char *at_text = take(c, "--at");
    if (c->nargs < 2 || leftover_options(c)) return usage_of("approve FLOW... --as ADMIN [--at TIME]");
    int64_t at = store_wall_clock();
    if (at_text && !cli_parse_time(at_text, &at)) return 2;
    if (!allowed(c, ROLE_ADMIN, "approving")) return 1;
    if (deploy_approve(c->store, c->org_id, (const char *const *)&c->args[1], c->nargs - 1, c->as, at, stdout, c->err,
                       sizeof c->err) != 0)
        return cli_fail("approval refused: %s", c->err);
    return 0;
}

static int cmd_rollback(Cli *c)
{
    const char *to = take(c, "--to");
    if (c->nargs != 2 || !to || leftover_options(c)) return usage_of("rollback FLOW --to VERSION --as ADMIN");
    if (!allowed(c, ROLE_ADMIN, "rolling back")) return 1;
    char *end;
    long number = strtol(to, &end, 10);
    if (*end || number <= 0) return cli_fail("'%s' is not a version number", to);
    if (deploy_rollback(c->store, c->org_id, c->args[1], (int)number, c->as, store_wall_clock(), stdout, c->err,
                        sizeof c->err) != 0)
        return cli_fail("rollback refused: %s", c->err);
    return 0;
}

/* ============================================================ enable, disable, delete, restore */

static int set_flow(Cli *c, const char *verb)
{
    if (c->nargs != 2 || leftover_options(c)) {
        char text[64];
        snprintf(text, sizeof text, "%s FLOW --as ADMIN", verb);
        return usage_of(text);
    }
    static const char *const whats[] = { "enabling a flow", "disabling a flow", "deleting a flow", "restoring a flow" };
    static const char *const dones[] = { "enabled", "disabled", "deleted", "restored" };
    DeployState state = (DeployState)deploy_state_of(verb);
    if (!allowed(c, ROLE_ADMIN, whats[state])) return 1;
    char kind[8];
    if (deploy_set_state(c->store, c->org_id, c->args[1], state, c->as, store_wall_clock(), kind, c->err,
                         sizeof c->err) != 0)
        return cli_fail("%s", c->err);
    printf("%s %s '%s'\n", dones[state], kind, c->args[1]);
    return 0;
}

/* ============================================================ audit */

static int cmd_audit(Cli *c)
{
    const char *limit = take(c, "--limit");
    if (c->nargs != 1 || leftover_options(c)) return usage_of("audit [--limit N] --as USER");
    if (!allowed(c, ROLE_OPERATOR, "reading the audit log")) return 1;
    sqlite3_stmt *st = store_stmt(c->store, "SELECT time, actor, action, detail FROM audit WHERE org = ?1"
                                            " ORDER BY id DESC LIMIT ?2");
    sqlite3_bind_int64(st, 1, c->org_id);
    sqlite3_bind_int64(st, 2, limit ? atoll(limit) : 100);
    while (sqlite3_step(st) == SQLITE_ROW) {
        print_time(stdout, sqlite3_column_int64(st, 0));
        printf(" %s %s: %s\n", (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
               (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    return 0;
}

/* ============================================================ export, import */

static int cmd_export(Cli *c)
{
    const char *project = take(c, "--project"), *path = take(c, "-o");
    bool keep = take_flag(c, "--keep-inputs"), strip = take_flag(c, "--strip-inputs");
    if ((c->nargs != 2 && !(c->nargs == 1 && project)) || (c->nargs == 2 && project) || !path || leftover_options(c))
        return usage_of("export FLOW|--project P -o FILE [--keep-inputs|--strip-inputs] --as USER");
    if (keep && strip) return cli_fail("give --keep-inputs or --strip-inputs, not both%s", "");
    if (!allowed(c, ROLE_OPERATOR, "exporting")) return 1;
    char *text = bundle_export(c->store, c->org_id, c->nargs == 2 ? c->args[1] : NULL, project, !strip, c->err,
                               sizeof c->err);
    if (!text) return cli_fail("export refused: %s", c->err);
    FILE *f = fopen(path, "wb");
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = false;
    free(text);
    if (!ok) return cli_fail("cannot write the bundle: %s", strerror(errno));
    char detail[300];
    snprintf(detail, sizeof detail, "%s%s to %s", c->nargs == 2 ? "flow " : "project ", c->nargs == 2 ? c->args[1] : project,
             path);
    if (deploy_audit(c->store, c->org_id, c->as, "export", detail, c->err, sizeof c->err) != 0)
        return cli_fail("%s", c->err);
    printf("exported %s%s (inputs %s) to %s\n", c->nargs == 2 ? "flow " : "project ",
           c->nargs == 2 ? c->args[1] : project, strip ? "stripped" : "kept", path);
    return 0;
}

static int cmd_import(Cli *c)
{
    const char *inputs_path = take(c, "--inputs");
    if (c->nargs != 2 || leftover_options(c)) return usage_of("import FILE [--inputs FILE.json] --as ADMIN");
    if (!allowed(c, ROLE_ADMIN, "importing")) return 1;
    cJSON *inputs = inputs_path ? read_inputs(inputs_path) : NULL;
    if (inputs_path && !inputs) return 1;
    size_t len = 0;
    char *text = read_all(c->args[1], &len, LCLI_MAX_FILE);
    int rc = 1;
    if (!text) fprintf(stderr, "flowvm: cannot read '%s': %s\n", c->args[1], strerror(errno));
    else if (bundle_import(c->store, c->org_id, c->args[1], text, len, inputs, c->as, stdout, c->err, sizeof c->err) != 0)
        fprintf(stderr, "flowvm: import refused: %s\n", c->err);
    else rc = 0;
    free(text);
    cJSON_Delete(inputs);
    return rc;
}

/* ============================================================ dispatch */

static const struct {
    const char *name;
    int (*run)(Cli *c);
} commands[] = {
    { "deploy", cmd_deploy },   { "approve", cmd_approve }, { "versions", cmd_versions }, { "diff", cmd_diff },
    { "rollback", cmd_rollback }, { "flows", cmd_flows },   { "users", cmd_users },       { "audit", cmd_audit },
    { "export", cmd_export },   { "import", cmd_import },
};

bool lcli_handles(const char *cmd)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(cmd, commands[i].name) == 0) return true;
    return deploy_state_of(cmd) >= 0;
}

int lcli_run(const char *db, const char *org, int nargs, char **args)
{
    Cli c = { .db = db, .org = org, .args = args, .nargs = nargs };
    c.as = take(&c, "--as");
    if (open_store(&c) != 0) {
        store_close(c.store);
        return 1;
    }
    int rc = 2;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(args[0], commands[i].name) == 0) rc = commands[i].run(&c);
    if (deploy_state_of(args[0]) >= 0) rc = set_flow(&c, args[0]);
    store_close(c.store);
    return rc;
}
