/*
 * bundle.c - export and import bundles (bundle.h).  Artifacts travel as
 * base64 (EVP_EncodeBlock) and are verified again on import; nothing of the
 * runtime's state (runs, waits, trigger state) travels.
 */
#include "bundle.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/vm.h"
#include "deploy.h"

static int sql_fail(Store *store, char *err, size_t errlen)
{
    snprintf(err, errlen, "store: %s", store_errmsg(store));
    return -1;
}

/* ============================================================ export */

static void add_int_or_null(cJSON *obj, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) cJSON_AddNullToObject(obj, key);
    else cJSON_AddNumberToObject(obj, key, (double)sqlite3_column_int64(st, col));
}

static cJSON *export_versions(Store *store, int64_t flow, bool keep_inputs, char *err, size_t errlen)
{
    cJSON *list = cJSON_CreateArray();
    sqlite3_stmt *st = store_stmt(
        store, "SELECT v.number, v.state, coalesce(v.author, ''), coalesce(v.approver, ''), v.created, v.deployed,"
               " v.requested, v.archived, v.origin, v.window_from, v.window_until, v.sha256, v.source_sha256,"
               " v.compiler, v.artifact, (SELECT json_group_object(name, json(value)) FROM inputs WHERE version = v.id),"
               " (SELECT json_group_array(json_object('name', sf.name, 'number', sv.number)) FROM version_subs s"
               "   JOIN versions sv ON sv.id = s.sub_version JOIN flows sf ON sf.id = sv.flow WHERE s.version = v.id)"
               " FROM versions v WHERE v.flow = ?1 ORDER BY v.number");
    if (!st || !list) {
        cJSON_Delete(list);
        sql_fail(store, err, errlen);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, flow);
    int status = 0;
    while (status == 0 && sqlite3_step(st) == SQLITE_ROW) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddItemToArray(list, v);
        cJSON_AddNumberToObject(v, "number", sqlite3_column_int(st, 0));
        cJSON_AddStringToObject(v, "state", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(v, "author", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddStringToObject(v, "approver", (const char *)sqlite3_column_text(st, 3));
        static const char *const times[] = { "created", "deployed", "requested", "archived", "origin",
                                             "window_from", "window_until" };
        for (int i = 0; i < 7; i++) add_int_or_null(v, times[i], st, 4 + i);
        cJSON_AddStringToObject(v, "sha256", (const char *)sqlite3_column_text(st, 11));
        cJSON_AddStringToObject(v, "source_sha256", (const char *)sqlite3_column_text(st, 12));
        cJSON_AddStringToObject(v, "compiler", (const char *)sqlite3_column_text(st, 13));
        const uint8_t *bytes = sqlite3_column_blob(st, 14);
        int len = sqlite3_column_bytes(st, 14);
        Artifact *art = NULL;
        char *b64 = malloc((size_t)len / 3 * 4 + 8);
        if (!b64 || art_load(bytes, (size_t)len, &art, err, errlen) != 0) {
            free(b64);
            if (b64) status = -1;
            else snprintf(err, errlen, "out of memory"), status = -1;
            break;
        }
        EVP_EncodeBlock((unsigned char *)b64, bytes, len);
        cJSON_AddStringToObject(v, "source", art->source_text ? art->source_text : "");
        art_free(art);
        cJSON_AddStringToObject(v, "artifact", b64);
        free(b64);
        if (keep_inputs) cJSON_AddItemToObject(v, "inputs", cJSON_Parse((const char *)sqlite3_column_text(st, 15)));
        cJSON_AddItemToObject(v, "subs", cJSON_Parse((const char *)sqlite3_column_text(st, 16)));
    }
    sqlite3_reset(st);
    if (status != 0) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}

/* The flows to export: `name`'s row or the project's, then the subs their
 * versions pin (pins are transitive already). */
static int export_ids(Store *store, int64_t org, const char *name, const char *project, int64_t *ids, int *n,
                      char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT id FROM flows WHERE org = ?1 AND (?2 IS NULL OR name = ?2)"
                                         " AND (?3 IS NULL OR project = ?3) AND deleted IS NULL"
                                         " ORDER BY kind = 'flow' DESC, name");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    if (name) sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    if (project) sqlite3_bind_text(st, 3, project, -1, SQLITE_TRANSIENT);
    *n = 0;
    while (*n < BUNDLE_MAX_FLOWS && sqlite3_step(st) == SQLITE_ROW) {
        ids[(*n)++] = sqlite3_column_int64(st, 0);
        if (name) break;
    }
    sqlite3_reset(st);
    if (*n == 0) {
        if (name) snprintf(err, errlen, "no flow named '%s'", name);
        else snprintf(err, errlen, "project '%s' has no flows", project);
        return -1;
    }
    for (int i = 0; i < *n; i++) {
        st = store_stmt(store, "SELECT DISTINCT sv.flow FROM versions v JOIN version_subs s ON s.version = v.id"
                               " JOIN versions sv ON sv.id = s.sub_version WHERE v.flow = ?1");
        if (!st) return sql_fail(store, err, errlen);
        sqlite3_bind_int64(st, 1, ids[i]);
        while (*n < BUNDLE_MAX_FLOWS && sqlite3_step(st) == SQLITE_ROW) {
            int64_t sub = sqlite3_column_int64(st, 0);
            bool seen = false;
            for (int k = 0; k < *n; k++) seen |= ids[k] == sub;
            if (!seen) ids[(*n)++] = sub;
        }
        sqlite3_reset(st);
    }
    return 0;
}

char *bundle_export(Store *store, int64_t org, const char *name, const char *project, bool keep_inputs, char *err,
                    size_t errlen)
{
    static int64_t ids[BUNDLE_MAX_FLOWS];
    int n = 0;
    if (export_ids(store, org, name, project, ids, &n, err, errlen) != 0) return NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", BUNDLE_FORMAT);
    cJSON_AddNumberToObject(root, "format_version", BUNDLE_VERSION);
    cJSON_AddStringToObject(root, "inputs", keep_inputs ? "kept" : "stripped");
    cJSON *flows = cJSON_AddArrayToObject(root, "flows");
    /* subs first, so that an import pins what it has made already */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            sqlite3_stmt *st = store_stmt(store, "SELECT name, kind, project, enabled FROM flows WHERE id = ?1");
            if (!st) {
                sql_fail(store, err, errlen);
                goto fail;
            }
            sqlite3_bind_int64(st, 1, ids[i]);
            if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_reset(st);
                continue;
            }
            bool sub = strcmp((const char *)sqlite3_column_text(st, 1), "sub") == 0;
            if (sub != (pass == 0)) {
                sqlite3_reset(st);
                continue;
            }
            cJSON *f = cJSON_CreateObject();
            cJSON_AddItemToArray(flows, f);
            cJSON_AddStringToObject(f, "name", (const char *)sqlite3_column_text(st, 0));
            cJSON_AddStringToObject(f, "kind", sub ? "sub" : "flow");
            cJSON_AddStringToObject(f, "project", (const char *)sqlite3_column_text(st, 2));
            cJSON_AddBoolToObject(f, "enabled", sqlite3_column_int(st, 3) != 0);
            sqlite3_reset(st);
            cJSON *versions = export_versions(store, ids[i], keep_inputs, err, errlen);
            if (!versions) goto fail;
            cJSON_AddItemToObject(f, "versions", versions);
        }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) snprintf(err, errlen, "out of memory");
    return text;
fail:
    cJSON_Delete(root);
    return NULL;
}

/* ============================================================ import */

typedef struct Imported {
    const char *name;
    int number;
    int64_t id;
} Imported;

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool int_of(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

uint8_t *bundle_unbase64(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n % 4 != 0) return NULL;
    uint8_t *out = malloc(n / 4 * 3 + 1);
    if (!out) return NULL;
    int got = n ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) : 0;
    if (got < 0) {
        free(out);
        return NULL;
    }
    size_t pad = (n >= 1 && text[n - 1] == '=') + (n >= 2 && text[n - 2] == '=');
    *len = (size_t)got - pad;
    return out;
}

static void sha_hex(const uint8_t *bytes, size_t len, char hex[65])
{
    uint8_t digest[32];
    unsigned int n = 0;
    EVP_Digest(bytes, len, digest, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

static int64_t new_flow(Store *store, int64_t org, const cJSON *f, const char *label, char *err, size_t errlen)
{
    const char *name = str_of(f, "name"), *kind = str_of(f, "kind"), *project = str_of(f, "project");
    sqlite3_stmt *st = store_stmt(store, "SELECT 1 FROM flows WHERE org = ?1 AND name = ?2 AND kind = ?3");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (exists) {
        snprintf(err, errlen, "%s: %s '%s' exists already in this organisation: nothing imported", label, kind, name);
        return -1;
    }
    int64_t count = deploy_project_flows(store, org, project);
    if (count < 0) return sql_fail(store, err, errlen);
    if (count >= DEPLOY_MAX_FLOWS) {
        snprintf(err, errlen, "project '%s' already has %d flows (the limit): %s '%s' is refused", project,
                 DEPLOY_MAX_FLOWS, kind, name);
        return -1;
    }
    st = store_stmt(store, "INSERT INTO flows (org, name, kind, project, enabled) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, project, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "enabled")) ? 0 : 1);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    return sqlite3_last_insert_rowid(store->db);
}

/* Checks one version of the bundle and inserts it. */
static int import_version(Store *store, int64_t flow, const cJSON *f, const cJSON *v, const char *label,
                          const cJSON *inputs, bool stripped, Imported *subs, int nsubs, int64_t *id, char *err,
                          size_t errlen)
{
    const char *name = str_of(f, "name"), *kind = str_of(f, "kind"), *state = str_of(v, "state");
    const char *b64 = str_of(v, "artifact"), *sha = str_of(v, "sha256");
    int64_t number = 0;
    if (!int_of(v, "number", &number) || !state || !b64 || !sha ||
        (strcmp(state, "draft") && strcmp(state, "active") && strcmp(state, "archived"))) {
        snprintf(err, errlen, "%s: %s '%s': a version lacks its number, state, artifact or sha256", label, kind, name);
        return -1;
    }
    size_t len = 0;
    uint8_t *bytes = bundle_unbase64(b64, &len);
    Artifact *art = NULL;
    char why[256], hex[65];
    char *given = NULL;
    int status = -1;
    if (!bytes) {
        snprintf(err, errlen, "%s: %s '%s' version %lld: the artifact is not base64", label, kind, name,
                 (long long)number);
        goto done;
    }
    if (art_load(bytes, len, &art, why, sizeof why) != 0) {
        art = NULL;
        snprintf(err, errlen, "%s: %s '%s' version %lld: not a valid artifact: %s", label, kind, name,
                 (long long)number, why);
        goto done;
    }
    sha_hex(bytes, len, hex);
    if (strcmp(hex, sha) != 0) {
        snprintf(err, errlen, "%s: %s '%s' version %lld: the artifact does not match its sha256", label, kind, name,
                 (long long)number);
        goto done;
    }
    if (strcmp(art->name, name) != 0 || (art->kind == ART_SUB) != (strcmp(kind, "sub") == 0)) {
        snprintf(err, errlen, "%s: %s '%s' version %lld: the artifact is of '%s'", label, kind, name,
                 (long long)number, art->name);
        goto done;
    }
    char vlabel[300];
    snprintf(vlabel, sizeof vlabel, "%s: %s '%s' version %lld", label, kind, name, (long long)number);
    const cJSON *from = stripped ? inputs : cJSON_GetObjectItemCaseSensitive(v, "inputs");
    if (!(given = deploy_resolve_inputs(art, vlabel, from, strcmp(state, "archived") == 0, err, errlen))) goto done;
    sqlite3_stmt *st = store_stmt(
        store, "INSERT INTO versions (flow, number, state, artifact, sha256, event, created, deployed, author, approver,"
               " requested, archived, origin, window_from, window_until, compiler, source_sha256)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, ''), nullif(?10, ''), ?11, ?12, ?13, ?14, ?15,"
               " ?16, ?17)");
    if (!st) {
        sql_fail(store, err, errlen);
        goto done;
    }
    sqlite3_bind_int64(st, 1, flow);
    sqlite3_bind_int64(st, 2, number);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 4, bytes, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, art->kind == ART_FLOW ? art->event : "", -1, SQLITE_TRANSIENT);
    static const char *const times[] = { "created", "deployed", "requested", "archived", "origin", "window_from",
                                         "window_until" };
    static const int cols[] = { 7, 8, 11, 12, 13, 14, 15 };
    for (int i = 0; i < 7; i++) {
        int64_t t;
        if (int_of(v, times[i], &t)) sqlite3_bind_int64(st, cols[i], t);
    }
    if (sqlite3_bind_parameter_count(st) && !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "created")))
        sqlite3_bind_int64(st, 7, store_wall_clock());
    sqlite3_bind_text(st, 9, str_of(v, "author") ? str_of(v, "author") : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, str_of(v, "approver") ? str_of(v, "approver") : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 16, art->compiler_version, -1, SQLITE_TRANSIENT);
    char source_sha[65];
    for (int i = 0; i < 32; i++) snprintf(source_sha + 2 * i, 3, "%02x", art->source_sha256[i]);
    sqlite3_bind_text(st, 17, source_sha, -1, SQLITE_TRANSIENT);
    if (store_step_done(store, st, err, errlen) != 0) goto done;
    *id = sqlite3_last_insert_rowid(store->db);
    cJSON *values = cJSON_Parse(given);
    const cJSON *item;
    cJSON_ArrayForEach(item, values) {
        char *value = cJSON_PrintUnformatted(item);
        st = store_stmt(store, "INSERT INTO inputs (version, name, value) VALUES (?1, ?2, ?3)");
        if (!st || !value) {
            free(value);
            cJSON_Delete(values);
            sql_fail(store, err, errlen);
            goto done;
        }
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_text(st, 2, item->string, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, value, -1, free);
        if (store_step_done(store, st, err, errlen) != 0) {
            cJSON_Delete(values);
            goto done;
        }
    }
    cJSON_Delete(values);
    const cJSON *pin;
    cJSON_ArrayForEach(pin, cJSON_GetObjectItemCaseSensitive(v, "subs")) {
        const char *sub = str_of(pin, "name");
        int64_t sub_number = 0, sub_id = -1;
        if (!sub || !int_of(pin, "number", &sub_number)) continue;
        for (int i = 0; i < nsubs; i++)
            if (strcmp(subs[i].name, sub) == 0 && subs[i].number == sub_number) sub_id = subs[i].id;
        if (sub_id < 0) {
            snprintf(err, errlen, "%s: %s '%s' version %lld pins sub '%s' version %lld, which the bundle lacks", label,
                     kind, name, (long long)number, sub, (long long)sub_number);
            goto done;
        }
        st = store_stmt(store, "INSERT OR IGNORE INTO version_subs (version, sub_version) VALUES (?1, ?2)");
        if (!st) {
            sql_fail(store, err, errlen);
            goto done;
        }
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_int64(st, 2, sub_id);
        if (store_step_done(store, st, err, errlen) != 0) goto done;
    }
    status = 0;
done:
    if (art) art_free(art);
    free(bytes);
    free(given);
    return status;
}

static int import_flows(Store *store, int64_t org, const cJSON *flows, const char *label, const cJSON *inputs,
                        bool stripped, const char *actor, FILE *out, char *err, size_t errlen)
{
    static Imported subs[BUNDLE_MAX_FLOWS];
    int nsubs = 0;
    int64_t first_deployed = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, flows) {
        const char *name = str_of(f, "name"), *kind = str_of(f, "kind");
        const cJSON *versions = cJSON_GetObjectItemCaseSensitive(f, "versions");
        if (!name || !kind || !str_of(f, "project") || (strcmp(kind, "flow") && strcmp(kind, "sub")) ||
            !cJSON_IsArray(versions)) {
            snprintf(err, errlen, "%s: a flow lacks its name, kind, project or versions", label);
            return -1;
        }
        int64_t flow = new_flow(store, org, f, label, err, errlen);
        if (flow < 0) return -1;
        int nactive = 0, n = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, versions) {
            int64_t id = 0, deployed = 0;
            if (import_version(store, flow, f, v, label, inputs, stripped, subs, nsubs, &id, err, errlen) != 0)
                return -1;
            n++;
            const char *state = str_of(v, "state");
            nactive += strcmp(state, "active") == 0;
            if (int_of(v, "deployed", &deployed) && deployed && (!first_deployed || deployed < first_deployed))
                first_deployed = deployed;
            int64_t number = 0;
            int_of(v, "number", &number);
            if (strcmp(kind, "sub") == 0 && nsubs < BUNDLE_MAX_FLOWS)
                subs[nsubs++] = (Imported){ name, (int)number, id };
        }
        if (nactive > 1) {
            snprintf(err, errlen, "%s: %s '%s' has more than one active version", label, kind, name);
            return -1;
        }
        char detail[300];
        snprintf(detail, sizeof detail, "%s '%s' with %d versions from %s", kind, name, n, label);
        if (deploy_audit(store, org, actor, "import", detail, err, errlen) != 0) return -1;
        if (out) fprintf(out, "imported %s '%s': %d versions\n", kind, name, n);
    }
    /* the organisation's clock starts at its first deployment, as deploy does */
    char key[64];
    int64_t clock;
    snprintf(key, sizeof key, "clock:%lld", (long long)org);
    if (first_deployed && !store_meta_get(store, key, &clock) &&
        store_meta_set(store, key, first_deployed, err, errlen) != 0)
        return -1;
    return 0;
}

int bundle_import(Store *store, int64_t org, const char *label, const char *text, size_t len, const cJSON *inputs,
                  const char *actor, FILE *out, char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    const char *format = root ? str_of(root, "format") : NULL;
    int64_t version = 0;
    int status = -1;
    if (!format || strcmp(format, BUNDLE_FORMAT) != 0) {
        snprintf(err, errlen, "%s is not a Flow bundle (a JSON object with \"format\": \"%s\")", label, BUNDLE_FORMAT);
        goto done;
    }
    if (!int_of(root, "format_version", &version) || version != BUNDLE_VERSION) {
        snprintf(err, errlen, "%s: bundle format version %lld is not supported (this flowvm reads version %d)", label,
                 (long long)version, BUNDLE_VERSION);
        goto done;
    }
    const char *kept = str_of(root, "inputs");
    const cJSON *flows = cJSON_GetObjectItemCaseSensitive(root, "flows");
    if (!cJSON_IsArray(flows)) {
        snprintf(err, errlen, "%s: the bundle has no \"flows\" list", label);
        goto done;
    }
    if (store_begin(store, err, errlen) != 0) goto done;
    if (import_flows(store, org, flows, label, inputs, !kept || strcmp(kept, "kept") != 0, actor, out, err, errlen) !=
            0 ||
        store_commit(store, err, errlen) != 0) {
        store_rollback(store);
        goto done;
    }
    status = 0;
done:
    cJSON_Delete(root);
    return status;
}
