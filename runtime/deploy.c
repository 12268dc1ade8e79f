/*
 * deploy.c - the versions table: new active versions, pinned subs, inputs.
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

/* The flows row of (org, kind, name), created when missing. */
static int64_t flow_row(Store *store, int64_t org, const char *kind, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO flows (org, name, kind) VALUES (?1, ?2, ?3)"
                                         " ON CONFLICT (org, kind, name) DO NOTHING");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    st = store_stmt(store, "SELECT id FROM flows WHERE org = ?1 AND name = ?2 AND kind = ?3");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (id < 0) sql_fail(store, err, errlen);
    return id;
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

/* Inserts a new active version unless the active one has the same artifact
 * and inputs; *version gets the active version's id, *number its number. */
static int put_version(Store *store, int64_t flow, const Artifact *art, const DeployItem *item, const char *inputs,
                       int64_t at, int64_t *version, int *number, bool *unchanged, char *err, size_t errlen)
{
    char sha[65];
    sha_hex(item->bytes, item->len, sha);
    sqlite3_stmt *st = store_stmt(store, "SELECT v.id, v.number, v.sha256, (SELECT json_group_object(name, json(value))"
                                         " FROM inputs WHERE version = v.id) FROM versions v"
                                         " WHERE v.flow = ?1 AND v.state = 'active'");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    *unchanged = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *have = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
        cJSON *want = cJSON_Parse(inputs);
        *unchanged = strcmp((const char *)sqlite3_column_text(st, 2), sha) == 0 && have && want &&
                     cJSON_Compare(have, want, 1);
        *version = sqlite3_column_int64(st, 0);
        *number = sqlite3_column_int(st, 1);
        cJSON_Delete(have);
        cJSON_Delete(want);
    }
    sqlite3_reset(st);
    if (*unchanged) return 0;
    st = store_stmt(store, "UPDATE versions SET state = 'archived' WHERE flow = ?1 AND state = 'active'");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    st = store_stmt(store, "INSERT INTO versions (flow, number, state, artifact, sha256, event, created, deployed)"
                           " VALUES (?1, (SELECT coalesce(max(number), 0) + 1 FROM versions WHERE flow = ?1),"
                           " 'active', ?2, ?3, ?4, ?5, ?5)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_blob(st, 2, item->bytes, (int)item->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, art->kind == ART_FLOW ? art->event : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    *version = sqlite3_last_insert_rowid(store->db);
    st = store_stmt(store, "SELECT number FROM versions WHERE id = ?1");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, *version);
    *number = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    cJSON *given = cJSON_Parse(inputs);
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

int deploy_artifacts(Store *store, int64_t org, const DeployItem *items, int nitems, const cJSON *inputs,
                     bool allow_missing, int64_t at, FILE *out, char *err, size_t errlen)
{
    Artifact **arts = calloc((size_t)(nitems ? nitems : 1), sizeof *arts);
    char **given = calloc((size_t)(nitems ? nitems : 1), sizeof *given);
    int status = -1;
    if (!arts || !given) {
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
            int64_t flow = flow_row(store, org, pass == 0 ? "sub" : "flow", arts[i]->name, err, errlen);
            int64_t version = 0;
            int number = 0;
            bool unchanged = false;
            if (flow < 0 ||
                put_version(store, flow, arts[i], &items[i], given[i], at, &version, &number, &unchanged, err, errlen) != 0)
                goto rollback;
            if (pass == 1 && !unchanged && pin_subs(store, org, version, arts[i], err, errlen) != 0) goto rollback;
            if (out)
                fprintf(out, "%s %s '%s' version %d%s\n", unchanged ? "kept" : "deployed",
                        pass == 0 ? "sub" : "flow", arts[i]->name, number, unchanged ? " (unchanged)" : "");
            char detail[256];
            snprintf(detail, sizeof detail, "%s version %d", arts[i]->name, number);
            if (!unchanged && store_audit(store, org, "deploy", detail, err, errlen) != 0) goto rollback;
        }
    int64_t clock;
    char key[64];
    snprintf(key, sizeof key, "clock:%lld", (long long)org);
    if (!store_meta_get(store, key, &clock) && store_meta_set(store, key, at, err, errlen) != 0) goto rollback;
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
    return status;
}
