/*
 * json.c - the JSON conventions of Flow's values.
 */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../stdlib/format.h"
#include "../stdlib/validate.h"
#include "../vm/opcodes.h"

#define JSON_MAX_DEPTH 32

const VStr *json_str(Arena *arena, const char *text, size_t len)
{
    VStr *s = arena_alloc(arena, sizeof *s + len + 1);
    if (!s) return NULL;
    s->len = (uint32_t)len;
    memcpy(s->data, text, len);
    s->data[len] = '\0';
    return s;
}

static const char *json_kind(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsNull(j)) return "null";
    return "something else";
}

static int fail(char *err, size_t errlen, const char *what, const Type *type, const cJSON *json)
{
    char tn[96];
    snprintf(err, errlen, "expected %s (%s), not %s", ty_name(type, tn, sizeof tn), what, json_kind(json));
    return -1;
}

/* An integral JSON number: whole, within int64. */
static bool whole(const cJSON *json, int64_t *out)
{
    if (!cJSON_IsNumber(json)) return false;
    double d = json->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18) return false;
    *out = (int64_t)d;
    return true;
}

static int to_value(const cJSON *json, const Type *type, Arena *arena, Value *out, char *err, size_t errlen,
                    int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        snprintf(err, errlen, "nested deeper than %d levels", JSON_MAX_DEPTH);
        return -1;
    }
    int64_t i;
    switch (type->kind) {
    case TY_BOOL:
        if (!cJSON_IsBool(json)) return fail(err, errlen, "true or false", type, json);
        *out = val_bool(cJSON_IsTrue(json));
        return 0;
    case TY_INT:
        if (!whole(json, &i)) return fail(err, errlen, "a whole number", type, json);
        *out = val_integral(VAL_INT, i);
        return 0;
    case TY_BYTES:
        if (!whole(json, &i) || i < 0) return fail(err, errlen, "a whole number of bytes, not negative", type, json);
        *out = val_integral(VAL_BYTES, i);
        return 0;
    case TY_DURATION:
        if (!whole(json, &i)) return fail(err, errlen, "a whole number of seconds", type, json);
        *out = val_integral(VAL_DURATION, i);
        return 0;
    case TY_FLOAT:
    case TY_PERCENT:
        if (!cJSON_IsNumber(json) || !isfinite(json->valuedouble))
            return fail(err, errlen, type->kind == TY_PERCENT ? "a number of percent" : "a number", type, json);
        *out = val_real(type->kind == TY_PERCENT ? VAL_PERCENT : VAL_FLOAT, json->valuedouble);
        return 0;
    case TY_TIME:
        if (!cJSON_IsString(json)) return fail(err, errlen, "an RFC 3339 string", type, json);
        if (!fmt_parse_time(json->valuestring, strlen(json->valuestring), &i)) {
            snprintf(err, errlen, "\"%.40s\" is not an RFC 3339 time", json->valuestring);
            return -1;
        }
        *out = val_integral(VAL_TIME, i);
        return 0;
    case TY_STRING:
    case TY_EMAIL:
    case TY_URL: {
        if (!cJSON_IsString(json)) return fail(err, errlen, "a string", type, json);
        const char *text = json->valuestring;
        size_t len = strlen(text);
        const char *why = NULL;
        if (type->kind == TY_EMAIL) why = valid_email(text, len);
        else if (type->kind == TY_URL) why = valid_https_url(text, len);
        else if (type->domain) {
            why = "it is not one of the allowed words";
            for (const char *const *w = ty_domain_words(type->domain); *w; w++)
                if (strcmp(*w, text) == 0) why = NULL;
        }
        if (why) {
            snprintf(err, errlen, "\"%.60s\" is not a valid %s: %s", text,
                     type->kind == TY_EMAIL ? "email address" : type->kind == TY_URL ? "URL" : ty_domain_name(type->domain),
                     why);
            return -1;
        }
        const VStr *s = json_str(arena, text, len);
        if (!s) goto oom;
        *out = val_str(s);
        return 0;
    }
    case TY_LIST: {
        if (!cJSON_IsArray(json)) return fail(err, errlen, "an array", type, json);
        int n = cJSON_GetArraySize(json);
        VList *list = arena_alloc(arena, sizeof *list + (size_t)n * sizeof(Value));
        if (!list) goto oom;
        list->len = (uint32_t)n;
        int k = 0;
        for (const cJSON *item = json->child; item; item = item->next, k++) {
            if (to_value(item, type->elem, arena, &list->items[k], err, errlen, depth + 1) != 0) {
                char inner[200];
                snprintf(inner, sizeof inner, "%s", err);
                snprintf(err, errlen, "item %d: %s", k, inner);
                return -1;
            }
        }
        *out = val_list(list);
        return 0;
    }
    case TY_RECORD: {
        if (!cJSON_IsObject(json)) return fail(err, errlen, "an object", type, json);
        snprintf(err, errlen, "records cannot be given as JSON");
        return -1;
    }
    default:
        snprintf(err, errlen, "values of this type cannot be given as JSON");
        return -1;
    }
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int json_to_value(const cJSON *json, const Type *type, Arena *arena, Value *out, char *err, size_t errlen)
{
    return to_value(json, type, arena, out, err, errlen, 0);
}

cJSON *json_add_int(cJSON *object, const char *name, int64_t n)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRId64, n);
    return cJSON_AddRawToObject(object, name, digits);
}

cJSON *json_from_value(const Value *v)
{
    switch ((ValTag)v->tag) {
    case VAL_NIL: return cJSON_CreateNull();
    case VAL_BOOL: return cJSON_CreateBool(v->as.b);
    case VAL_INT:
    case VAL_BYTES:
    case VAL_DURATION: return cJSON_CreateNumber((double)v->as.i);
    case VAL_FLOAT:
    case VAL_PERCENT: return cJSON_CreateNumber(v->as.f);
    case VAL_TIME: {
        FmtBuf fb;
        fmt_init(&fb);
        fmt_time(&fb, v->as.i);
        cJSON *s = cJSON_CreateString(fb.data ? fb.data : "");
        fmt_free(&fb);
        return s;
    }
    case VAL_STR: return cJSON_CreateString(v->as.s->data);
    case VAL_LIST: {
        cJSON *array = cJSON_CreateArray();
        for (uint32_t i = 0; array && i < v->as.l->len; i++) {
            cJSON *item = json_from_value(&v->as.l->items[i]);
            if (!item) {
                cJSON_Delete(array);
                return NULL;
            }
            cJSON_AddItemToArray(array, item);
        }
        return array;
    }
    case VAL_RECORD: {
        cJSON *object = cJSON_CreateObject();
        for (uint32_t i = 0; object && i < v->as.r->len; i++) {
            cJSON *item = json_from_value(&v->as.r->values[i]);
            if (!item) {
                cJSON_Delete(object);
                return NULL;
            }
            cJSON_AddItemToObject(object, v->as.r->keys[i]->data, item);
        }
        return object;
    }
    default: return cJSON_CreateNull();
    }
}

int json_to_sim(const cJSON *object, Arena *arena, Value *sim, char *err, size_t errlen)
{
    if (!cJSON_IsObject(object)) {
        snprintf(err, errlen, "a SIM is a JSON object, not %s", json_kind(object));
        return -1;
    }
    bool given[SIM_NFIELDS] = { false };
    for (const cJSON *item = object->child; item; item = item->next) {
        int field = cat_sim_field_find(item->string, strlen(item->string));
        if (field < 0) {
            snprintf(err, errlen, "unknown SIM field \"%.60s\"", item->string);
            return -1;
        }
        char inner[200];
        if (json_to_value(item, cat_sim_fields[field].type, arena, &sim[field], inner, sizeof inner) != 0) {
            snprintf(err, errlen, "SIM field \"%s\": %s", item->string, inner);
            return -1;
        }
        given[field] = true;
    }
    if (!given[SIM_ICCID]) {
        snprintf(err, errlen, "the SIM has no \"iccid\"");
        return -1;
    }
    char why[64];
    const char *bad = valid_iccid(sim[SIM_ICCID].as.s->data, sim[SIM_ICCID].as.s->len, why);
    if (bad) {
        snprintf(err, errlen, "SIM field \"iccid\": %s", bad);
        return -1;
    }
    for (int f = 0; f < SIM_NFIELDS; f++) {
        if (given[f] || f == SIM_DATA_LEFT) continue;
        cJSON *dflt = cJSON_Parse(cat_sim_fields[f].test_default);
        int rc = dflt ? json_to_value(dflt, cat_sim_fields[f].type, arena, &sim[f], err, errlen) : -1;
        cJSON_Delete(dflt);
        if (rc != 0) return -1;
    }
    if (!given[SIM_DATA_LEFT]) {
        int64_t left = sim[SIM_QUOTA].as.i - sim[SIM_MONTH_USAGE].as.i;
        sim[SIM_DATA_LEFT] = val_integral(VAL_BYTES, left > 0 ? left : 0);
    }
    return 0;
}

static Value zero_of(const Type *t, Arena *arena)
{
    switch (t->kind) {
    case TY_BOOL: return val_bool(false);
    case TY_FLOAT: return val_real(VAL_FLOAT, 0);
    case TY_PERCENT: return val_real(VAL_PERCENT, 0);
    case TY_INT: return val_integral(VAL_INT, 0);
    case TY_BYTES: return val_integral(VAL_BYTES, 0);
    case TY_DURATION: return val_integral(VAL_DURATION, 0);
    case TY_TIME: return val_integral(VAL_TIME, 0);
    default: {
        const VStr *s = json_str(arena, "", 0);
        return s ? val_str(s) : val_nil();
    }
    }
}

int json_to_event(const cJSON *payload, const CatEvent *ev, const Value *sim, int64_t time, Arena *arena,
                  Value *fields, char *err, size_t errlen)
{
    if (payload && !cJSON_IsObject(payload)) {
        snprintf(err, errlen, "an event's payload is a JSON object, not %s", json_kind(payload));
        return -1;
    }
    const VStr *iccid = sim ? sim[SIM_ICCID].as.s : json_str(arena, "", 0);
    if (!iccid) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fields[EVF_ICCID] = val_str(iccid);
    fields[EVF_TIME] = val_integral(VAL_TIME, time);
    bool given[64] = { false };
    for (const cJSON *item = payload ? payload->child : NULL; item; item = item->next) {
        if (strcmp(item->string, "id") == 0 || strcmp(item->string, "type") == 0 ||
            strcmp(item->string, CAT_EVENT_ICCID) == 0 || strcmp(item->string, CAT_EVENT_TIME) == 0)
            continue;
        int f = cat_event_field_find(ev, item->string, strlen(item->string));
        if (f < 0 || f >= 64) {
            snprintf(err, errlen, "%s has no field \"%.60s\"", ev->name, item->string);
            return -1;
        }
        char inner[200];
        if (json_to_value(item, ev->fields[f].type, arena, &fields[EVF_PAYLOAD + f], inner, sizeof inner) != 0) {
            snprintf(err, errlen, "field \"%s\": %s", item->string, inner);
            return -1;
        }
        given[f] = true;
    }
    for (int f = 0; f < ev->nfields && f < 64; f++) {
        if (given[f]) continue;
        const CatField *cf = &ev->fields[f];
        if (cf->flags & CAT_F_DERIVED) continue;
        if (!(cf->flags & CAT_F_OPTIONAL)) {
            snprintf(err, errlen, "%s needs the field \"%s\"", ev->name, cf->name);
            return -1;
        }
        fields[EVF_PAYLOAD + f] = zero_of(cf->type, arena);
    }
    /* derivations: quota from the SIM, percent from used and quota */
    int used = cat_event_field_find(ev, "used", 4), quota = cat_event_field_find(ev, "quota", 5),
        percent = cat_event_field_find(ev, "percent", 7);
    if (quota >= 0 && !given[quota]) {
        if (!sim) {
            snprintf(err, errlen, "%s needs \"quota\" when there is no SIM to take it from", ev->name);
            return -1;
        }
        fields[EVF_PAYLOAD + quota] = sim[SIM_QUOTA];
    }
    if (percent >= 0 && !given[percent]) {
        int64_t q = quota >= 0 ? fields[EVF_PAYLOAD + quota].as.i : 0;
        int64_t u = used >= 0 ? fields[EVF_PAYLOAD + used].as.i : 0;
        fields[EVF_PAYLOAD + percent] = val_real(VAL_PERCENT, q > 0 ? (double)u * 100.0 / (double)q : 0.0);
    }
    return 0;
}
