/*
 * deploy.c - the versions table: drafts, approval, active and archived
 * versions, rollback, pinned subs, inputs.  Not permissions (lifecycle.c).
 */
#include "deploy.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/vm.h"
#include "json.h"

#define DEPLOY_MAX_SUBS 256

static int sql_fail(Store *store, char *err, size_t errlen)
{
    snprintf(err, errlen, "store: %s", store_errmsg(store));
    return -1;
}

static void sha_hex(const uint8_t *bytes, size_t len, char hex[65])
{
    uint8_t digest[32];
    unsigned int n = 0;
    EVP_Digest(bytes, len, digest, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* The inputs of one artifact as a canonical JSON object (in the order of its
 * input table), each value type-checked; NULL with err on a refusal. */
static char *resolve_inputs(const Artifact *art, const char *label, const cJSON *inputs, bool allow_missing,
                            char *err, size_t errlen)
{
    cJSON *out = cJSON_CreateObject();
    Arena arena;
    arena_init(&arena, 0);
    for (uint32_t i = 0; out && i < art->ninputs; i++) {
        const ArtInput *in = &art->inputs[i];
        const cJSON *given = inputs ? cJSON_GetObjectItemCaseSensitive(inputs, in->name) : NULL;
        if (!given) {
            if (in->has_default || allow_missing) continue;
            snprintf(err, errlen, "%s: %s '%s' needs input '%s' (%s), which has no default: give it in --inputs",
                     label, art->kind == ART_SUB ? "sub" : "flow", art->name, in->name, in->type);
            goto fail;
        }
        const Type *type = ty_parse(in->type, strlen(in->type));
        Value v;
        char why[256];
        if (!type || json_to_value(given, type, &arena, &v, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: input '%s' of '%s' must be %s: %s", label, in->name, art->name, in->type,
                     type ? why : "an unknown type");
            goto fail;
        }
        cJSON_AddItemToObject(out, in->name, cJSON_Duplicate(given, 1));
    }
    arena_free(&arena);
    char *text = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    return text;
fail:
    arena_free(&arena);
    cJSON_Delete(out);
    return NULL;
}

char *deploy_resolve_inputs(const Artifact *art, const char *label, const cJSON *inputs, bool allow_missing,
                            char *err, size_t errlen)
{
    return resolve_inputs(art, label, inputs, allow_missing, err, errlen);
}

/* The flows row of (org, kind, name), created in `project` when missing
 * and the project has room; refuses a deleted flow and one of another
 * project (when `project` is given). */
static int64_t flow_row(Store *store, int64_t org, const char *kind, const char *name, const char *project,
                        char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT id, project, deleted IS NOT NULL FROM flows"
                                         " WHERE org = ?1 AND name = ?2 AND kind = ?3");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *have = (const char *)sqlite3_column_text(st, 1);
        if (sqlite3_column_int(st, 2)) {
            snprintf(err, errlen, "%s '%s' is deleted: restore it first", kind, name);
            id = -1;
        } else if (project && strcmp(project, have) != 0) {
            snprintf(err, errlen, "%s '%s' belongs to project '%s', not '%s'", kind, name, have, project);
            id = -1;
        }
        sqlite3_reset(st);
        return id;
    }
    sqlite3_reset(st);
    if (!project) project = "default";
    int64_t count = deploy_project_flows(store, org, project);
    if (count < 0) return sql_fail(store, err, errlen);
    if (count >= DEPLOY_MAX_FLOWS) {
        snprintf(err, errlen, "project '%s' already has %d flows (the limit): %s '%s' is refused", project,
                 DEPLOY_MAX_FLOWS, kind, name);
        return -1;
    }
    st = store_stmt(store, "INSERT INTO flows (org, name, kind, project) VALUES (?1, ?2, ?3, ?4)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, project, -1, SQLITE_TRANSIENT);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    return sqlite3_last_insert_rowid(store->db);
}

/* The active version of a sub by name: its id and a loaded artifact. */
static int64_t active_sub(Store *store, int64_t org, const char *name, Artifact **art, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT v.id, v.artifact FROM versions v JOIN flows f ON f.id = v.flow"
                                         " WHERE f.org = ?1 AND f.kind = 'sub' AND f.name = ?2 AND v.state = 'active'");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int64_t id = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        if (art_load(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), art, err, errlen) != 0) id = -1;
    } else {
        snprintf(err, errlen, "sub '%s' is not deployed: deploy its artifact too", name);
    }
    sqlite3_reset(st);
    return id;
}

/* What a new version is made of. */
typedef struct NewVersion {
    const uint8_t *bytes;
    size_t len;
    const char *inputs;       /* canonical JSON object */
    const char *author;       /* NULL: active at once */
    int origin;               /* rollback: the version copied; 0 */
    bool has_from, has_until;
    int64_t from, until;
} NewVersion;

/* Inserts a new version (active, or a draft superseding an earlier draft)
 * unless the active one has the same artifact and inputs; *version gets the
 * new (or the unchanged active) version's id, *number its number. */
static int put_version(Store *store, int64_t flow, const Artifact *art, const NewVersion *nv, int64_t at,
                       int64_t *version, int *number, bool *unchanged, char *err, size_t errlen)
{
    char sha[65], source_sha[65];
    sha_hex(nv->bytes, nv->len, sha);
    for (int i = 0; i < 32; i++) snprintf(source_sha + 2 * i, 3, "%02x", art->source_sha256[i]);
    sqlite3_stmt *st = store_stmt(store, "SELECT v.id, v.number, v.sha256, (SELECT json_group_object(name, json(value))"
                                         " FROM inputs WHERE version = v.id) FROM versions v"
                                         " WHERE v.flow = ?1 AND v.state = 'active'");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    *unchanged = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *have = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
        cJSON *want = cJSON_Parse(nv->inputs);
        *unchanged = strcmp((const char *)sqlite3_column_text(st, 2), sha) == 0 && have && want &&
                     cJSON_Compare(have, want, 1) && !nv->has_from && !nv->has_until;
        *version = sqlite3_column_int64(st, 0);
        *number = sqlite3_column_int(st, 1);
        cJSON_Delete(have);
        cJSON_Delete(want);
    }
    sqlite3_reset(st);
    if (*unchanged) return 0;
    /* a new draft supersedes the one waiting; a new active version archives the active one */
    st = store_stmt(store, "UPDATE versions SET state = 'archived', archived = ?2 WHERE flow = ?1 AND state = ?3");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, nv->author ? "draft" : "active", -1, SQLITE_STATIC);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    st = store_stmt(store, "INSERT INTO versions (flow, number, state, artifact, sha256, event, created, deployed,"
                           " author, requested, compiler, source_sha256, origin, window_from, window_until)"
                           " VALUES (?1, (SELECT coalesce(max(number), 0) + 1 FROM versions WHERE flow = ?1),"
                           " ?6, ?2, ?3, ?4, ?5, ?7, ?8, ?5, ?9, ?10, ?11, ?12, ?13)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_blob(st, 2, nv->bytes, (int)nv->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, art->kind == ART_FLOW ? art->event : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at);
    sqlite3_bind_text(st, 6, nv->author ? "draft" : "active", -1, SQLITE_STATIC);
    if (!nv->author) sqlite3_bind_int64(st, 7, at);
    sqlite3_bind_text(st, 8, nv->author ? nv->author : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, art->compiler_version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, source_sha, -1, SQLITE_TRANSIENT);
    if (nv->origin) sqlite3_bind_int(st, 11, nv->origin);
    if (nv->has_from) sqlite3_bind_int64(st, 12, nv->from);
    if (nv->has_until) sqlite3_bind_int64(st, 13, nv->until);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    *version = sqlite3_last_insert_rowid(store->db);
    st = store_stmt(store, "SELECT number FROM versions WHERE id = ?1");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, *version);
    *number = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    cJSON *given = cJSON_Parse(nv->inputs);
    const cJSON *item_json;
    cJSON_ArrayForEach(item_json, given) {
        char *value = cJSON_PrintUnformatted(item_json);
        st = store_stmt(store, "INSERT INTO inputs (version, name, value) VALUES (?1, ?2, ?3)");
        if (!st || !value) {
            free(value);
            cJSON_Delete(given);
            return sql_fail(store, err, errlen);
        }
        sqlite3_bind_int64(st, 1, *version);
        sqlite3_bind_text(st, 2, item_json->string, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, value, -1, free);
        if (store_step_done(store, st, err, errlen) != 0) {
            cJSON_Delete(given);
            return -1;
        }
    }
    cJSON_Delete(given);
    return 0;
}

/* Pins the subs a flow version links against (transitively) and checks that
 * it links. */
static int pin_subs(Store *store, int64_t org, int64_t version, const Artifact *flow, char *err, size_t errlen)
{
    const char *names[DEPLOY_MAX_SUBS];
    Artifact *subs[DEPLOY_MAX_SUBS] = { 0 };
    int64_t ids[DEPLOY_MAX_SUBS];
    int n = 0, status = 0;
    for (uint32_t i = 0; i < flow->nimports && n < DEPLOY_MAX_SUBS; i++) names[n++] = flow->imports[i].name;
    int loaded = 0;
    for (; loaded < n && status == 0; loaded++) {
        ids[loaded] = active_sub(store, org, names[loaded], &subs[loaded], err, errlen);
        if (ids[loaded] < 0) {
            status = -1;
            break;
        }
        for (uint32_t k = 0; k < subs[loaded]->nimports && n < DEPLOY_MAX_SUBS; k++) {
            bool seen = false;
            for (int j = 0; j < n; j++) seen |= strcmp(names[j], subs[loaded]->imports[k].name) == 0;
            if (!seen) names[n++] = subs[loaded]->imports[k].name;
        }
    }
    if (status == 0) {
        char why[256];
        VmProgram *program = vm_program_new(flow, (const Artifact *const *)subs, (size_t)loaded, why, sizeof why);
        if (!program) {
            snprintf(err, errlen, "flow '%s' does not link with the deployed subs: %s", flow->name, why);
            status = -1;
        }
        vm_program_free(program);
    }
    for (int i = 0; i < loaded && status == 0; i++) {
        sqlite3_stmt *st = store_stmt(store, "INSERT OR IGNORE INTO version_subs (version, sub_version) VALUES (?1, ?2)");
        if (!st) status = sql_fail(store, err, errlen);
        else {
            sqlite3_bind_int64(st, 1, version);
            sqlite3_bind_int64(st, 2, ids[i]);
            status = store_step_done(store, st, err, errlen);
        }
    }
    for (int i = 0; i < loaded && i < n; i++)
        if (ids[i] >= 0) art_free(subs[i]);
    return status;
}

int deploy_audit(Store *store, int64_t org, const char *actor, const char *action, const char *detail, char *err,
                 size_t errlen)
{
    if (!actor) return store_audit(store, org, action, detail, err, errlen);
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO audit (time, org, actor, action, detail)"
                                         " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, store_wall_clock());
    sqlite3_bind_int64(st, 2, org);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_TRANSIENT);
    return store_step_done(store, st, err, errlen);
}

/* The clock starts at the first deployment. */
static int start_clock(Store *store, int64_t org, int64_t at, char *err, size_t errlen)
{
    int64_t clock;
    char key[64];
    snprintf(key, sizeof key, "clock:%lld", (long long)org);
    if (!store_meta_get(store, key, &clock) && store_meta_set(store, key, at, err, errlen) != 0) return -1;
    return 0;
}

/* Approves the draft of one flow or sub, inside the caller's transaction. */
static int approve_one(Store *store, int64_t org, const char *name, bool subs, const char *approver, int64_t at,
                       FILE *out, bool *done, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT f.id, v.id, v.number, coalesce(v.author, ''), v.artifact, f.kind"
                                         " FROM flows f LEFT JOIN versions v ON v.flow = f.id AND v.state = 'draft'"
                                         " WHERE f.org = ?1 AND f.name = ?2 AND f.kind = ?3 AND f.deleted IS NULL");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, subs ? "sub" : "flow", -1, SQLITE_STATIC);
    *done = false;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    *done = true;
    int64_t flow = sqlite3_column_int64(st, 0), version = sqlite3_column_int64(st, 1);
    int number = sqlite3_column_int(st, 2);
    char author[128];
    snprintf(author, sizeof author, "%s", (const char *)sqlite3_column_text(st, 3));
    Artifact *art = NULL;
    int status = 0;
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
        snprintf(err, errlen, "%s '%s' has no draft waiting for approval", subs ? "sub" : "flow", name);
        status = -1;
    } else if (strcmp(author, approver) == 0) {
        snprintf(err, errlen, "%s cannot approve their own draft: %s '%s' version %d", approver,
                 subs ? "sub" : "flow", name, number);
        status = -1;
    } else if (art_load(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), &art, err, errlen) != 0) {
        art = NULL;
        status = -1;
    }
    sqlite3_reset(st);
    if (status != 0) goto done;
    st = store_stmt(store, "UPDATE versions SET state = 'archived', archived = ?2 WHERE flow = ?1 AND state = 'active'");
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_int64(st, 2, at);
    if (store_step_done(store, st, err, errlen) != 0) goto fail_quiet;
    st = store_stmt(store, "UPDATE versions SET state = 'active', deployed = ?2, approver = ?3 WHERE id = ?1");
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, approver, -1, SQLITE_TRANSIENT);
    if (store_step_done(store, st, err, errlen) != 0) goto fail_quiet;
    if (!subs && pin_subs(store, org, version, art, err, errlen) != 0) goto fail_quiet;
    if (start_clock(store, org, at, err, errlen) != 0) goto fail_quiet;
    char detail[300];
    snprintf(detail, sizeof detail, "%s '%s' version %d (drafted by %s)", subs ? "sub" : "flow", name, number, author);
    if (deploy_audit(store, org, approver, "approve", detail, err, errlen) != 0) goto fail_quiet;
    if (out) fprintf(out, "approved %s '%s' version %d: active\n", subs ? "sub" : "flow", name, number);
    goto done;
fail:
    sql_fail(store, err, errlen);
fail_quiet:
    status = -1;
done:
    if (art) art_free(art);
    return status;
}

/* Approves the named drafts (subs first) inside the caller's transaction. */
static int approve_in_tx(Store *store, int64_t org, const char *const *names, int nnames, const char *approver,
                         int64_t at, FILE *out, char *err, size_t errlen)
{
    bool *found = calloc((size_t)(nnames ? nnames : 1), sizeof *found);
    if (!found) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int status = 0;
    for (int pass = 0; pass < 2 && status == 0; pass++)
        for (int i = 0; i < nnames && status == 0; i++) {
            bool done = false;
            if (found[i]) continue;
            status = approve_one(store, org, names[i], pass == 0, approver, at, out, &done, err, errlen);
            found[i] = done;
        }
    for (int i = 0; i < nnames && status == 0; i++)
        if (!found[i]) {
            snprintf(err, errlen, "no flow named '%s'", names[i]);
            status = -1;
        }
    free(found);
    return status;
}

int deploy_approve(Store *store, int64_t org, const char *const *names, int nnames, const char *approver, int64_t at,
                   FILE *out, char *err, size_t errlen)
{
    if (store_begin(store, err, errlen) != 0) return -1;
    if (approve_in_tx(store, org, names, nnames, approver, at, out, err, errlen) == 0 &&
        store_commit(store, err, errlen) == 0)
        return 0;
    store_rollback(store);
    return -1;
}

int deploy_rollback(Store *store, int64_t org, const char *name, int number, const char *author, int64_t at,
                    FILE *out, char *err, size_t errlen)
{
    if (store_begin(store, err, errlen) != 0) return -1;
    sqlite3_stmt *st = store_stmt(store, "SELECT f.id, f.kind, v.artifact, v.window_from, v.window_until,"
                                         " (SELECT json_group_object(name, json(value)) FROM inputs WHERE version = v.id)"
                                         " FROM flows f JOIN versions v ON v.flow = f.id"
                                         " WHERE f.org = ?1 AND f.name = ?2 AND v.number = ?3 AND f.deleted IS NULL"
                                         " ORDER BY f.kind = 'flow' DESC LIMIT 1");
    if (!st) {
        sql_fail(store, err, errlen);
        store_rollback(store);
        return -1;
    }
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, number);
    int status = -1;
    if (sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, errlen, "flow '%s' has no version %d", name, number);
        sqlite3_reset(st);
        store_rollback(store);
        return -1;
    }
    int64_t flow = sqlite3_column_int64(st, 0);
    bool sub = strcmp((const char *)sqlite3_column_text(st, 1), "sub") == 0;
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    uint8_t *bytes = malloc(len ? len : 1);
    char *inputs = strdup((const char *)sqlite3_column_text(st, 5));
    NewVersion nv = { bytes, len, inputs, author, number, sqlite3_column_type(st, 3) != SQLITE_NULL,
                      sqlite3_column_type(st, 4) != SQLITE_NULL, sqlite3_column_int64(st, 3),
                      sqlite3_column_int64(st, 4) };
    if (bytes) memcpy(bytes, sqlite3_column_blob(st, 2), len);
    sqlite3_reset(st);
    Artifact *art = NULL;
    int64_t version = 0;
    int new_number = 0;
    bool unchanged = false;
    if (!bytes || !inputs) snprintf(err, errlen, "out of memory");
    else if (art_load(bytes, len, &art, err, errlen) != 0) art = NULL;
    else if (put_version(store, flow, art, &nv, at, &version, &new_number, &unchanged, err, errlen) == 0) {
        char detail[300];
        if (unchanged) {
            snprintf(err, errlen, "%s '%s' version %d is the active version already", sub ? "sub" : "flow", name,
                     number);
        } else {
            snprintf(detail, sizeof detail, "%s '%s' version %d from version %d", sub ? "sub" : "flow", name,
                     new_number, number);
            if (deploy_audit(store, org, author, "rollback", detail, err, errlen) == 0 &&
                store_commit(store, err, errlen) == 0) {
                status = 0;
                if (out)
                    fprintf(out, "drafted %s '%s' version %d from version %d: waiting for approval\n",
                            sub ? "sub" : "flow", name, new_number, number);
            }
        }
    }
    if (status != 0) store_rollback(store);
    if (art) art_free(art);
    free(bytes);
    free(inputs);
    return status;
}

int deploy_artifacts(Store *store, int64_t org, const DeployItem *items, int nitems, const cJSON *inputs,
                     bool allow_missing, int64_t at, FILE *out, char *err, size_t errlen)
{
    return deploy_versions(store, org, items, nitems, inputs, allow_missing, at, NULL, out, err, errlen);
}

int deploy_versions(Store *store, int64_t org, const DeployItem *items, int nitems, const cJSON *inputs,
                    bool allow_missing, int64_t at, const DeployOptions *options, FILE *out, char *err,
                    size_t errlen)
{
    static const DeployOptions none = { 0 };
    if (!options) options = &none;
    const char *author = options->author;
    Artifact **arts = calloc((size_t)(nitems ? nitems : 1), sizeof *arts);
    char **given = calloc((size_t)(nitems ? nitems : 1), sizeof *given);
    const char **drafted = calloc((size_t)(nitems ? nitems : 1), sizeof *drafted);
    int ndrafted = 0;
    int status = -1;
    if (!arts || !given || !drafted) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (int i = 0; i < nitems; i++) {
        char why[256];
        if (art_load(items[i].bytes, items[i].len, &arts[i], why, sizeof why) != 0) {
            arts[i] = NULL;
            snprintf(err, errlen, "%s: not a valid artifact: %s", items[i].label, why);
            goto done;
        }
        if (!(given[i] = resolve_inputs(arts[i], items[i].label, inputs, allow_missing, err, errlen))) goto done;
    }
    if (store_begin(store, err, errlen) != 0) goto done;
    /* subs first: the flows pin the versions of their subs */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nitems; i++) {
            if ((arts[i]->kind == ART_SUB) != (pass == 0)) continue;
            const char *kind = pass == 0 ? "sub" : "flow";
            int64_t flow = flow_row(store, org, kind, arts[i]->name, options->project, err, errlen);
            int64_t version = 0;
            int number = 0;
            bool unchanged = false;
            NewVersion nv = { items[i].bytes, items[i].len, given[i], author, 0, options->has_from,
                              options->has_until, options->from, options->until };
            if (flow < 0 || put_version(store, flow, arts[i], &nv, at, &version, &number, &unchanged, err, errlen) != 0)
                goto rollback;
            if (!author && pass == 1 && !unchanged && pin_subs(store, org, version, arts[i], err, errlen) != 0)
                goto rollback;
            if (author && !unchanged) drafted[ndrafted++] = arts[i]->name;
            if (out) {
                if (unchanged)
                    fprintf(out, "kept %s '%s' version %d (unchanged)\n", kind, arts[i]->name, number);
                else if (author)
                    fprintf(out, "drafted %s '%s' version %d: waiting for approval\n", kind, arts[i]->name, number);
                else
                    fprintf(out, "deployed %s '%s' version %d\n", kind, arts[i]->name, number);
            }
            char detail[256];
            snprintf(detail, sizeof detail, "%s%s '%s' version %d", author ? "draft of " : "", kind, arts[i]->name,
                     number);
            if (!unchanged && deploy_audit(store, org, author, "deploy", detail, err, errlen) != 0) goto rollback;
        }
    if (!author && start_clock(store, org, at, err, errlen) != 0) goto rollback;
    if (author && options->approver && ndrafted > 0 &&
        approve_in_tx(store, org, drafted, ndrafted, options->approver, at, out, err, errlen) != 0)
        goto rollback;
    if (store_commit(store, err, errlen) != 0) goto rollback;
    status = 0;
    goto done;
rollback:
    store_rollback(store);
done:
    for (int i = 0; arts && i < nitems; i++) {
        if (arts[i]) art_free(arts[i]);
        if (given) free(given[i]);
    }
    free(arts);
    free(given);
    free(drafted);
    return status;
}

/* ============================================================ enable, disable, delete, restore */

int64_t deploy_project_flows(Store *store, int64_t org, const char *project)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT count(*) FROM flows WHERE org = ?1 AND project = ?2 AND deleted IS NULL");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, project, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

static const char *const state_verbs[] = { "enable", "disable", "delete", "restore" };

int deploy_state_of(const char *verb)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(verb, state_verbs[i]) == 0) return i;
    return -1;
}

int deploy_set_state(Store *store, int64_t org, const char *name, DeployState state, const char *actor, int64_t at,
                     char kind[8], char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT id, kind, project, enabled, deleted IS NOT NULL FROM flows"
                                         " WHERE org = ?1 AND name = ?2 ORDER BY kind = 'flow' DESC LIMIT 1");
    if (!st) goto store_failed;
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        snprintf(err, errlen, "no flow named '%s'", name);
        return -2;
    }
    int64_t id = sqlite3_column_int64(st, 0);
    char project[128];
    snprintf(kind, 8, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(project, sizeof project, "%s", (const char *)sqlite3_column_text(st, 2));
    bool enabled = sqlite3_column_int(st, 3) != 0, deleted = sqlite3_column_int(st, 4) != 0;
    sqlite3_reset(st);
    const char *refusal = (state == DEPLOY_ENABLE || state == DEPLOY_DISABLE) && deleted ? "is deleted: restore it first"
                          : state == DEPLOY_ENABLE && enabled                             ? "is enabled already"
                          : state == DEPLOY_DISABLE && !enabled                           ? "is disabled already"
                          : state == DEPLOY_DELETE && deleted                             ? "is deleted already"
                          : state == DEPLOY_RESTORE && !deleted                           ? "is not deleted"
                                                                                          : NULL;
    if (refusal) {
        snprintf(err, errlen, "flow '%s' %s", name, refusal);
        return -1;
    }
    if (store_begin(store, err, errlen) != 0) return -1;
    if (state == DEPLOY_RESTORE) {   /* the project must have room */
        int64_t n = deploy_project_flows(store, org, project);
        if (n < 0) goto store_failed_tx;
        if (n >= DEPLOY_MAX_FLOWS) {
            store_rollback(store);
            snprintf(err, errlen, "project '%s' already has %d flows (the limit): flow '%s' cannot be restored", project,
                     DEPLOY_MAX_FLOWS, name);
            return -1;
        }
    }
    st = store_stmt(store, "UPDATE flows SET enabled = CASE ?2 WHEN 'enable' THEN 1 WHEN 'disable' THEN 0"
                           " ELSE enabled END, deleted = CASE ?2 WHEN 'delete' THEN ?3 WHEN 'restore' THEN NULL"
                           " ELSE deleted END WHERE id = ?1");
    if (!st) goto store_failed_tx;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state_verbs[state], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, at);
    char detail[300];
    snprintf(detail, sizeof detail, "%s '%s'", kind, name);
    if (store_step_done(store, st, err, errlen) != 0 ||
        deploy_audit(store, org, actor, state_verbs[state], detail, err, errlen) != 0 ||
        store_commit(store, err, errlen) != 0) {
        store_rollback(store);
        return -1;
    }
    return 0;
store_failed_tx:
    store_rollback(store);
store_failed:
    snprintf(err, errlen, "store: %s", store_errmsg(store));
    return -1;
}
