/*
 * types.c - shared type instances, equality, assignability and names.
 */
#include "types.h"

#include <stdio.h>
#include <string.h>

#define SIMPLE(k) { .kind = (k) }
const Type ty_error = SIMPLE(TY_ERROR);
const Type ty_void = SIMPLE(TY_VOID);
const Type ty_bool = SIMPLE(TY_BOOL);
const Type ty_int = SIMPLE(TY_INT);
const Type ty_float = SIMPLE(TY_FLOAT);
const Type ty_string = SIMPLE(TY_STRING);
const Type ty_bytes = SIMPLE(TY_BYTES);
const Type ty_percent = SIMPLE(TY_PERCENT);
const Type ty_duration = SIMPLE(TY_DURATION);
const Type ty_time = SIMPLE(TY_TIME);
const Type ty_email = SIMPLE(TY_EMAIL);
const Type ty_url = SIMPLE(TY_URL);
const Type ty_empty = SIMPLE(TY_EMPTY);
const Type ty_any_record = SIMPLE(TY_RECORD);
const Type ty_status = { .kind = TY_STRING, .domain = DOM_STATUS };
const Type ty_sim_type = { .kind = TY_STRING, .domain = DOM_SIM_TYPE };
const Type ty_in_session = { .kind = TY_STRING, .domain = DOM_IN_SESSION };
const Type ty_list_string = { .kind = TY_LIST, .elem = &ty_string };
const Type ty_list_email = { .kind = TY_LIST, .elem = &ty_email };
const Type ty_empty_list = { .kind = TY_LIST, .elem = &ty_empty };

/* list<T> for every simple T that an input may declare */
static const Type ty_list_bool = { .kind = TY_LIST, .elem = &ty_bool };
static const Type ty_list_int = { .kind = TY_LIST, .elem = &ty_int };
static const Type ty_list_float = { .kind = TY_LIST, .elem = &ty_float };
static const Type ty_list_bytes = { .kind = TY_LIST, .elem = &ty_bytes };
static const Type ty_list_percent = { .kind = TY_LIST, .elem = &ty_percent };
static const Type ty_list_duration = { .kind = TY_LIST, .elem = &ty_duration };
static const Type ty_list_time = { .kind = TY_LIST, .elem = &ty_time };
static const Type ty_list_url = { .kind = TY_LIST, .elem = &ty_url };

static const struct {
    const char *name;
    const Type *type, *list;
} simple_types[] = {
    { "bool", &ty_bool, &ty_list_bool },
    { "int", &ty_int, &ty_list_int },
    { "float", &ty_float, &ty_list_float },
    { "string", &ty_string, &ty_list_string },
    { "bytes", &ty_bytes, &ty_list_bytes },
    { "percent", &ty_percent, &ty_list_percent },
    { "duration", &ty_duration, &ty_list_duration },
    { "time", &ty_time, &ty_list_time },
    { "email", &ty_email, &ty_list_email },
    { "url", &ty_url, &ty_list_url },
};

static const char *const status_words[] = {
    "not_available", "pending", "blank", "activation_ready", "active",
    "suspended", "invalid", NULL
};
static const char *const sim_type_words[] = { "prepaid", "subscription", "paygo", NULL };
static const char *const in_session_words[] = { "yes", "no", "n/a", NULL };

const char *const *ty_domain_words(StrDomain domain)
{
    switch (domain) {
    case DOM_STATUS: return status_words;
    case DOM_SIM_TYPE: return sim_type_words;
    case DOM_IN_SESSION: return in_session_words;
    case DOM_NONE: break;
    }
    return NULL;
}

const char *ty_domain_name(StrDomain domain)
{
    switch (domain) {
    case DOM_STATUS: return "status";
    case DOM_SIM_TYPE: return "SIM type";
    case DOM_IN_SESSION: return "in_session";
    case DOM_NONE: break;
    }
    return "string";
}

bool ty_equal(const Type *a, const Type *b)
{
    if (a == b) return true;
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case TY_STRING: return a->domain == b->domain;
    case TY_LIST: return ty_equal(a->elem, b->elem);
    case TY_RECORD:
        if (a->nfields != b->nfields) return false;
        for (int i = 0; i < a->nfields; i++)
            if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
                !ty_equal(a->fields[i].type, b->fields[i].type))
                return false;
        return true;
    default: return true;
    }
}

bool ty_assignable(const Type *from, const Type *to)
{
    if (from->kind == TY_ERROR || to->kind == TY_ERROR) return true;
    if (ty_equal(from, to)) return true;
    switch (to->kind) {
    case TY_FLOAT: return from->kind == TY_INT;
    case TY_STRING:
        return to->domain == DOM_NONE &&
               (from->kind == TY_STRING || from->kind == TY_EMAIL || from->kind == TY_URL);
    case TY_LIST:
        return from->kind == TY_LIST &&
               (from->elem->kind == TY_EMPTY || ty_assignable(from->elem, to->elem));
    case TY_RECORD:
        return from->kind == TY_RECORD && to->nfields == 0;
    default: return false;
    }
}

bool ty_is_integral(const Type *t)
{
    return t->kind == TY_INT || t->kind == TY_BYTES || t->kind == TY_DURATION ||
           t->kind == TY_TIME;
}

bool ty_is_stringlike(const Type *t)
{
    return t->kind == TY_STRING || t->kind == TY_EMAIL || t->kind == TY_URL;
}

static const char *simple_name(const Type *t)
{
    switch (t->kind) {
    case TY_ERROR: return "<error>";
    case TY_VOID: return "nothing";
    case TY_EMPTY: return "any";
    case TY_STRING: return t->domain ? ty_domain_name(t->domain) : "string";
    default: break;
    }
    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++)
        if (simple_types[i].type->kind == t->kind) return simple_types[i].name;
    return "?";
}

const char *ty_name(const Type *t, char *buf, size_t size)
{
    if (size == 0) return buf;
    buf[0] = '\0';
    if (t->kind == TY_LIST) {
        char inner[128];
        snprintf(buf, size, "list<%s>", ty_name(t->elem, inner, sizeof inner));
    } else if (t->kind == TY_RECORD) {
        if (t->nfields == 0) {
            snprintf(buf, size, "record");
            return buf;
        }
        size_t used = (size_t)snprintf(buf, size, "{ ");
        for (int i = 0; i < t->nfields && used < size; i++) {
            char inner[128];
            used += (size_t)snprintf(buf + used, size - used, "%s%s: %s",
                                     i ? ", " : "", t->fields[i].name,
                                     ty_name(t->fields[i].type, inner, sizeof inner));
        }
        if (used < size) snprintf(buf + used, size - used, " }");
    } else {
        snprintf(buf, size, "%s", simple_name(t));
    }
    return buf;
}

static const Type *find_simple(const char *text, size_t len, bool list)
{
    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++)
        if (strlen(simple_types[i].name) == len && memcmp(simple_types[i].name, text, len) == 0)
            return list ? simple_types[i].list : simple_types[i].type;
    return NULL;
}

const Type *ty_parse(const char *text, size_t len)
{
    if (len == 6 && memcmp(text, "record", 6) == 0) return &ty_any_record;
    if (len > 6 && memcmp(text, "list<", 5) == 0 && text[len - 1] == '>')
        return find_simple(text + 5, len - 6, true);
    return find_simple(text, len, false);
}
