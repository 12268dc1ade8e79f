/*
 * record.c - recording host functions.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/validate.h"
#include "host.h"
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

int rec_apply_sim_ops(RecHost *rec, int from, Value *sim, Arena *arena)
{
    int n = cJSON_GetArraySize(rec->actions);
    for (int i = from; i < n; i++) {
        const cJSON *action = cJSON_GetArrayItem(rec->actions, i);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(action, "action"));
        int kind = name ? cat_action_find(name, strlen(name)) : -1;
        if (kind < 0 || kind == ACT_EMAIL || kind == ACT_WEBHOOK) continue;
        /* the same effect the store's connector has on a SIM record */
        char err[128];
        host_store_connector.apply(host_store_connector.ctx, (ActionKind)kind, action, sim, arena, err, sizeof err);
    }
    return n;
}
