/*
 * host.c - the operator connector over the store, and committing actions.
 */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ============================================================ the store's connector */

static Value retag(const Value *tags, const char *tag, bool add, Arena *arena)
{
    uint32_t n = tags->tag == VAL_LIST ? tags->as.l->len : 0;
    VList *list = arena_alloc(arena, sizeof *list + (size_t)(n + 1) * sizeof(Value));
    if (!list) return *tags;
    uint32_t k = 0;
    bool present = false;
    for (uint32_t i = 0; i < n; i++) {
        const Value *item = &tags->as.l->items[i];
        bool same = item->tag == VAL_STR && strcmp(item->as.s->data, tag) == 0;
        present |= same;
        if (!(same && !add)) list->items[k++] = *item;
    }
    if (add && !present) {
        const VStr *s = json_str(arena, tag, strlen(tag));
        if (s) list->items[k++] = val_str(s);
    }
    list->len = k;
    return val_list(list);
}

static int store_apply(void *ctx, ActionKind op, const cJSON *action, Value *sim, Arena *arena, char *err,
                       size_t errlen)
{
    (void)ctx;
    const char *tag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(action, "tag"));
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(action, "amount");
    switch (op) {
    case ACT_SUSPEND:
    case ACT_RESUME: {
        const char *status = op == ACT_SUSPEND ? "suspended" : "active";
        const VStr *s = json_str(arena, status, strlen(status));
        if (!s) goto oom;
        sim[SIM_STATUS] = val_str(s);
        return 0;
    }
    case ACT_TAG:
    case ACT_UNTAG:
        if (!tag) break;
        sim[SIM_TAGS] = retag(&sim[SIM_TAGS], tag, op == ACT_TAG, arena);
        return 0;
    case ACT_TOPUP:
        if (!cJSON_IsNumber(amount)) break;
        sim[SIM_DATA_LEFT].as.i += (int64_t)amount->valuedouble;
        return 0;
    case ACT_RENEW:
        sim[SIM_MONTH_USAGE].as.i = 0;
        sim[SIM_DATA_LEFT].as.i = sim[SIM_QUOTA].as.i;
        return 0;
    default:
        break;
    }
    snprintf(err, errlen, "not a SIM operation the store can apply");
    return -1;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

const HostConnector host_store_connector = { NULL, store_apply };

/* ============================================================ committing */

static int sql_fail(Store *store, char *err, size_t errlen)
{
    snprintf(err, errlen, "store: %s", store_errmsg(store));
    return -1;
}

static int add_result(Store *store, int64_t action, const char *recipient, const char *status, const char *detail,
                      int64_t time, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO action_results (action, recipient, status, detail, time)"
                                         " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, action);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, time);
    return store_step_done(store, st, err, errlen);
}

static int deliver(Store *store, int64_t action, const char *kind, const char *body, const cJSON *json, int64_t time,
                   char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO outbox (action, kind, body, next_attempt) VALUES (?1, ?2, ?3, ?4)");
    if (!st) return sql_fail(store, err, errlen);
    sqlite3_bind_int64(st, 1, action);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, time);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    if (strcmp(kind, "webhook") == 0)
        return add_result(store, action, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "url")),
                          "pending", "", time, err, errlen);
    static const char *const lists[] = { "to", "cc", "bcc" };
    for (int l = 0; l < 3; l++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(json, lists[l]))
            if (cJSON_IsString(item) && add_result(store, action, item->valuestring, "pending", "", time, err, errlen) != 0)
                return -1;
    }
    return 0;
}

int host_commit(Store *store, SimTable *sims, const HostConnector *conn, int64_t run, int64_t time, RecHost *rec,
                int from, SimRec *sim, char *err, size_t errlen)
{
    int n = cJSON_GetArraySize(rec->actions);
    Arena arena;
    arena_init(&arena, 0);
    Value fields[SIM_NFIELDS];
    bool changed = false;
    if (sim) memcpy(fields, sim->f, sizeof fields);
    int status = 0;
    for (int i = from; i < n && status == 0; i++) {
        cJSON *action = cJSON_GetArrayItem(rec->actions, i);
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(action, "action"));
        int op = kind ? cat_action_find(kind, strlen(kind)) : -1;
        char *body = cJSON_PrintUnformatted(action);
        sqlite3_stmt *st = store_stmt(store, "INSERT INTO actions (run, kind, line, body, time) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!body || !st) {
            free(body);
            status = body ? sql_fail(store, err, errlen) : -1;
            break;
        }
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_text(st, 2, kind ? kind : "?", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(action, "line")));
        sqlite3_bind_text(st, 4, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, time);
        if (store_step_done(store, st, err, errlen) != 0) {
            free(body);
            status = -1;
            break;
        }
        int64_t action_id = sqlite3_last_insert_rowid(store->db);
        if (op == ACT_EMAIL || op == ACT_WEBHOOK) {
            status = deliver(store, action_id, kind, body, action, time, err, errlen);
        } else if (op >= 0 && sim) {
            char why[256] = "";
            bool ok = conn->apply(conn->ctx, (ActionKind)op, action, fields, &arena, why, sizeof why) == 0;
            changed |= ok;
            status = add_result(store, action_id, sim->f[SIM_ICCID].as.s->data, ok ? "done" : "failed", why, time,
                                err, errlen);
        }
        free(body);
    }
    if (status == 0 && changed && sims_set(sims, sim, fields) != 0) {
        snprintf(err, errlen, "out of memory");
        status = -1;
    }
    arena_free(&arena);
    return status == 0 ? n : -1;
}
