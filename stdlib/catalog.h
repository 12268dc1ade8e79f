/*
 * catalog.h - the domain, defined once: event types and their payloads, the
 * SIM record's fields, and the actions a flow can take.
 *
 * The checker types `event.X`, `sim.X` and action arguments from these tables;
 * the runtime parses and validates events and SIM records from the same
 * tables.  A field added here is known to both without a second edit.
 */
#ifndef FLOW_CATALOG_H
#define FLOW_CATALOG_H

#include <stddef.h>

#include "types.h"

/* ------------------------------------------------------------------ SIMs */

/* X(ID, "name", type, "default in flowc test worlds") */
#define CAT_SIM_FIELDS(X)                                            \
    X(ICCID, "iccid", &ty_string, "\"\"")                                \
    X(IMEI, "imei", &ty_string, "\"\"")                                  \
    X(STATUS, "status", &ty_status, "\"active\"")                        \
    X(TYPE, "type", &ty_sim_type, "\"subscription\"")                    \
    X(OPERATOR, "operator", &ty_string, "\"\"")                          \
    X(PLAN, "plan", &ty_string, "\"\"")                                  \
    X(PACKAGE, "package", &ty_string, "\"\"")                            \
    X(POOL, "pool", &ty_string, "\"\"")                                  \
    X(COMPANY, "company", &ty_string, "\"\"")                            \
    X(END_USER, "end_user", &ty_string, "\"\"")                          \
    X(TAGS, "tags", &ty_list_string, "[]")                           \
    X(QUOTA, "quota", &ty_bytes, "1000000000")                       \
    X(DATA_LEFT, "data_left", &ty_bytes, "1000000000")               \
    X(MONTH_USAGE, "month_usage", &ty_bytes, "0")                    \
    X(DAYS_LEFT, "days_left", &ty_int, "30")                         \
    X(EXPIRES, "expires", &ty_time, "\"2027-01-01T00:00:00Z\"")      \
    X(IN_SESSION, "in_session", &ty_in_session, "\"n/a\"")               \
    X(NOTE, "note", &ty_string, "\"\"")

typedef enum {
#define CAT_SIM_ENUM(id, name, type, dflt) SIM_##id,
    CAT_SIM_FIELDS(CAT_SIM_ENUM)
#undef CAT_SIM_ENUM
    SIM_NFIELDS
} SimField;

typedef struct {
    const char *name;
    const Type *type;
    /* The value a field takes in a test world when the `sim` step leaves it
     * out, as JSON text; data_left defaults to quota minus month_usage. */
    const char *test_default;
} CatSimField;

extern const CatSimField cat_sim_fields[SIM_NFIELDS];

/* Returns the field's index, or -1. */
int cat_sim_field_find(const char *name, size_t len);

/* ---------------------------------------------------------------- events */

typedef enum {
    EV_STATE,      /* measures something: fires on the rising edge of `when` */
    EV_OCCURRENCE  /* happens: fires every time `when` holds */
} EventKind;

typedef enum {
    SUBJ_SIM,    /* the event names one SIM: `sim` is bound */
    SUBJ_SCOPE,  /* the event is about the flow's whole scope: no `sim` */
    SUBJ_ORG     /* the event is about the organisation: no `sim` */
} EventSubject;

/* How an event comes about. */
typedef enum {
    EV_SRC_INGESTED,  /* delivered by the platform */
    EV_SRC_DATE,      /* `on date EXPR at HH:MM`: made by the runtime's clock */
    EV_SRC_SCHEDULE,  /* `on schedule "CRON"`: made by the runtime's clock */
    EV_SRC_DORMANT    /* sim.dormant: made by the runtime from usage it saw */
} EventSource;

/* Payload field flags. */
enum {
    CAT_F_DERIVED = 1,   /* may be left out: the runtime derives it */
    CAT_F_OPTIONAL = 2   /* may be left out: absent means its zero value */
};

typedef struct {
    const char *name;
    const Type *type;
    unsigned flags;
    /* The SIM field this payload field updates when the runtime ingests the
     * event (data.usage's `used` sets month_usage), or -1. */
    int sim_field;
    const char *doc;
} CatField;

typedef struct {
    const char *name;          /* "data.usage" */
    EventKind kind;
    EventSubject subject;
    EventSource source;
    const CatField *fields;    /* payload beyond iccid and time */
    int nfields;
    const char *doc;
} CatEvent;

extern const CatEvent cat_events[];
extern const int cat_nevents;

/* Returns the event type, or NULL. */
const CatEvent *cat_event_find(const char *name, size_t len);
/* Returns the payload field's index within ev->fields, or -1. */
int cat_event_field_find(const CatEvent *ev, const char *name, size_t len);

/* Every event carries these two besides its payload. */
#define CAT_EVENT_ICCID "iccid"
#define CAT_EVENT_TIME "time"

/* --------------------------------------------------------------- actions */

/* X(ID, "keyword", "what it does") */
#define CAT_ACTIONS(X)                                                  \
    X(EMAIL, "email", "send an email to a list of addresses")           \
    X(WEBHOOK, "webhook", "POST a signed JSON envelope to an https URL") \
    X(SUSPEND, "suspend", "suspend the SIM")                            \
    X(RESUME, "resume", "resume the SIM")                               \
    X(TOPUP, "topup", "add a data amount to the SIM")                   \
    X(RENEW, "renew", "renew the SIM's plan for a new period")          \
    X(TAG, "tag", "add a tag to the SIM")                               \
    X(UNTAG, "untag", "remove a tag from the SIM")

typedef enum {
#define CAT_ACTION_ENUM(id, name, doc) ACT_##id,
    CAT_ACTIONS(CAT_ACTION_ENUM)
#undef CAT_ACTION_ENUM
    ACT_NACTIONS
} ActionKind;

extern const char *const cat_action_names[ACT_NACTIONS];
/* Returns the action, or -1. */
int cat_action_find(const char *name, size_t len);

/* The fields of an email action's block, in the order its host call takes
 * them: recipients first, then these. */
#define CAT_EMAIL_FIELDS(X) \
    X(SUBJECT, "subject")   \
    X(TEXT, "text")         \
    X(HTML, "html")         \
    X(CC, "cc")             \
    X(BCC, "bcc")           \
    X(SMTP, "smtp")

typedef enum {
#define CAT_EMAIL_ENUM(id, name) EMAIL_##id,
    CAT_EMAIL_FIELDS(CAT_EMAIL_ENUM)
#undef CAT_EMAIL_ENUM
    EMAIL_NFIELDS
} EmailField;

extern const char *const cat_email_field_names[EMAIL_NFIELDS];

#endif
