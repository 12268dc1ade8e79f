/*
 * record.c - recording host functions.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/validate.h"
#include "json.h"

static int refuse(char *message, size_t size, const char *what, const char *text, const char *why)
{
    snprintf(message, size, "%s \"%.80s\" is not valid: %s", what, text, why);
    return -1;
}

/* A list of addresses, each validated; NULL recipients (nil) give []. */
static int add_addresses(cJSON *action, const char *key, const Value *list, char *message, size_t size)
{
    cJSON *array = cJSON_AddArrayToObject(action, key);
    if (!array) return -1;
    if (list->tag != VAL_LIST) return 0;
    for (uint32_t i = 0; i < list->as.l->len; i++) {
        const Value *item = &list->as.l->items[i];
        if (item->tag != VAL_STR) return refuse(message, size, "the address", "?", "it is not text");
        const char *why = valid_email(item->as.s->data, item->as.s->len);
        if (why) return refuse(message, size, "the address", item->as.s->data, why);
        cJSON_AddItemToArray(array, cJSON_CreateString(item->as.s->data));
    }
    return 0;
}

static void add_text(cJSON *action, const char *key, const Value *v)
{
    if (v->tag == VAL_STR) cJSON_AddStringToObject(action, key, v->as.s->data);
}

static int record_email(cJSON *action, const Value *args, int nargs, char *message, size_t size)
{
    if (nargs != 1 + EMAIL_NFIELDS) return refuse(message, size, "the email", "", "wrong number of arguments");
    if (add_addresses(action, "to", &args[0], message, size) != 0) return -1;
    if (args[0].tag != VAL_LIST || args[0].as.l->len == 0) {
        snprintf(message, size, "the email has no recipient");
        return -1;
    }
    const Value *subject = &args[1 + EMAIL_SUBJECT];
    if (subject->tag == VAL_STR) {
        const char *why = valid_header_value(subject->as.s->data, subject->as.s->len);
        if (why) return refuse(message, size, "the subject", subject->as.s->data, why);
    }
    add_text(action, "subject", subject);
    add_text(action, "text", &args[1 + EMAIL_TEXT]);
    add_text(action, "html", &args[1 + EMAIL_HTML]);
    if (add_addresses(action, "cc", &args[1 + EMAIL_CC], message, size) != 0) return -1;
    if (add_addresses(action, "bcc", &args[1 + EMAIL_BCC], message, size) != 0) return -1;
    add_text(action, "smtp", &args[1 + EMAIL_SMTP]);
    return 0;
}

static int record_action(void *ctx, ActionKind kind, const Value *args, int nargs, uint32_t line, char *message,
                         size_t size)
{
    RecHost *rec = ctx;
    cJSON *action = cJSON_CreateObject();
    if (!action) return -1;
    cJSON_AddStringToObject(action, "action", cat_action_names[kind]);
    int rc = 0;
    switch (kind) {
    case ACT_EMAIL:
        rc = record_email(action, args, nargs, message, size);
        break;
    case ACT_WEBHOOK: {
        if (nargs != 2 || args[0].tag != VAL_STR) {
            rc = refuse(message, size, "the webhook", "", "wrong arguments");
            break;
        }
        const char *why = valid_https_url(args[0].as.s->data, args[0].as.s->len);
        if (why) {
            rc = refuse(message, size, "the webhook URL", args[0].as.s->data, why);
            break;
        }
        cJSON_AddStringToObject(action, "url", args[0].as.s->data);
        cJSON *params = args[1].tag == VAL_NIL ? cJSON_CreateObject() : json_from_value(&args[1]);
        if (params) cJSON_AddItemToObject(action, "params", params);
        break;
    }
    default:
        if (rec->iccid) cJSON_AddStringToObject(action, "iccid", rec->iccid);
        if (kind == ACT_TOPUP && nargs == 1) cJSON_AddItemToObject(action, "amount", json_from_value(&args[0]));
        if ((kind == ACT_TAG || kind == ACT_UNTAG) && nargs == 1) add_text(action, "tag", &args[0]);
        break;
    }
    if (rc != 0) {
        cJSON_Delete(action);
        return -1;
    }
    cJSON_AddNumberToObject(action, "line", line);
    cJSON_AddItemToArray(rec->actions, action);
    return 0;
}

static void record_log(void *ctx, const char *text, size_t len, uint32_t line)
{
    RecHost *rec = ctx;
    cJSON *entry = cJSON_CreateObject();
    if (!entry) return;
    cJSON_AddNumberToObject(entry, "line", line);
    char *copy = strndup(text, len);
    cJSON_AddStringToObject(entry, "text", copy ? copy : "");
    free(copy);
    cJSON_AddItemToArray(rec->log, entry);
}

void rec_init(RecHost *rec)
{
    rec->actions = cJSON_CreateArray();
    rec->log = cJSON_CreateArray();
    rec->iccid = NULL;
    rec->host.ctx = rec;
    rec->host.action = record_action;
    rec->host.log = record_log;
}

void rec_free(RecHost *rec)
{
    cJSON_Delete(rec->actions);
    cJSON_Delete(rec->log);
    rec->actions = rec->log = NULL;
}

/* The SIM's tags with `tag` added or removed. */
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

int rec_apply_sim_ops(RecHost *rec, int from, Value *sim, Arena *arena)
{
    int n = cJSON_GetArraySize(rec->actions);
    for (int i = from; i < n; i++) {
        const cJSON *action = cJSON_GetArrayItem(rec->actions, i);
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(action, "action"));
        const char *tag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(action, "tag"));
        const cJSON *amount = cJSON_GetObjectItemCaseSensitive(action, "amount");
        if (!kind) continue;
        if (strcmp(kind, "suspend") == 0 || strcmp(kind, "resume") == 0) {
            const char *status = kind[0] == 's' ? "suspended" : "active";
            const VStr *s = json_str(arena, status, strlen(status));
            if (s) sim[SIM_STATUS] = val_str(s);
        } else if ((strcmp(kind, "tag") == 0 || strcmp(kind, "untag") == 0) && tag) {
            sim[SIM_TAGS] = retag(&sim[SIM_TAGS], tag, kind[0] == 't', arena);
        } else if (strcmp(kind, "topup") == 0 && cJSON_IsNumber(amount)) {
            sim[SIM_DATA_LEFT].as.i += (int64_t)amount->valuedouble;
        } else if (strcmp(kind, "renew") == 0) {
            sim[SIM_MONTH_USAGE].as.i = 0;
            sim[SIM_DATA_LEFT].as.i = sim[SIM_QUOTA].as.i;
        }
    }
    return n;
}
