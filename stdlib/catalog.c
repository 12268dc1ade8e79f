/*
 * catalog.c - the tables of catalog.h.  The event catalog follows the
 * platform's event types; spec/events.md documents the same table.
 */
#include "catalog.h"

#include <string.h>

const CatSimField cat_sim_fields[SIM_NFIELDS] = {
#define CAT_SIM_ROW(id, name, type, dflt) { name, type, dflt },
    CAT_SIM_FIELDS(CAT_SIM_ROW)
#undef CAT_SIM_ROW
};

int cat_sim_field_find(const char *name, size_t len)
{
    for (int i = 0; i < SIM_NFIELDS; i++)
        if (strlen(cat_sim_fields[i].name) == len && memcmp(cat_sim_fields[i].name, name, len) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------ payload tables */

#define NONE (-1)
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const CatField data_usage[] = {
    { "used", &ty_bytes, 0, SIM_MONTH_USAGE, "data used in the current billing cycle" },
    { "quota", &ty_bytes, CAT_F_DERIVED, NONE, "the cycle's quota; from the SIM when left out" },
    { "percent", &ty_percent, CAT_F_DERIVED, NONE, "used of quota; computed when left out" },
};
static const CatField data_usage_total[] = {
    { "used", &ty_bytes, 0, NONE, "data used by all SIMs of the flow's scope this cycle" },
};
static const CatField pool_usage[] = {
    { "pool", &ty_string, 0, NONE, "the pool's name" },
    { "used", &ty_bytes, 0, NONE, "data used by the pool this cycle" },
    { "quota", &ty_bytes, 0, NONE, "the pool's quota" },
    { "percent", &ty_percent, CAT_F_DERIVED, NONE, "used of quota; computed when left out" },
};
static const CatField sms_usage[] = {
    { "count", &ty_int, 0, NONE, "SMS sent this cycle" },
};
static const CatField balance_remaining[] = {
    { "remaining", &ty_bytes, 0, SIM_DATA_LEFT, "prepaid data left" },
    { "days_left", &ty_int, 0, SIM_DAYS_LEFT, "days left in the prepaid period" },
};
static const CatField sim_status[] = {
    { "from", &ty_status, 0, NONE, "the status before" },
    { "to", &ty_status, 0, SIM_STATUS, "the status now" },
};
static const CatField sim_imei[] = {
    { "old", &ty_string, 0, NONE, "the IMEI before" },
    { "new", &ty_string, 0, SIM_IMEI, "the IMEI now" },
};
static const CatField sms_mo[] = {
    { "from", &ty_string, 0, NONE, "the sender (MSISDN or short code)" },
    { "text", &ty_string, 0, NONE, "the message text" },
};
static const CatField sim_dormant[] = {
    { "idle", &ty_duration, 0, NONE, "time since the SIM's last usage" },
};
static const CatField invoice[] = {
    { "invoice_id", &ty_string, 0, NONE, "the invoice's number" },
    { "amount", &ty_float, 0, NONE, "the invoice's total, in currency units" },
    { "currency", &ty_string, 0, NONE, "ISO 4217 code" },
    { "due", &ty_time, CAT_F_OPTIONAL, NONE, "when payment is due" },
};
static const CatField invoice_delivered[] = {
    { "invoice_id", &ty_string, 0, NONE, "the invoice's number" },
    { "channel", &ty_string, 0, NONE, "how it was delivered (email, portal, post)" },
};
static const CatField account_status[] = {
    { "from", &ty_string, 0, NONE, "the account's status before" },
    { "to", &ty_string, 0, NONE, "the account's status now" },
};
static const CatField account_cancelled[] = {
    { "reason", &ty_string, CAT_F_OPTIONAL, NONE, "why, when known" },
};
static const CatField package_cancelled[] = {
    { "package", &ty_string, 0, NONE, "the package cancelled" },
};
static const CatField bill_run_started[] = {
    { "bill_run_id", &ty_string, 0, NONE, "the bill run's identifier" },
    { "period", &ty_string, 0, NONE, "the billed period, e.g. 2026-11" },
};
static const CatField bill_run_completed[] = {
    { "bill_run_id", &ty_string, 0, NONE, "the bill run's identifier" },
    { "period", &ty_string, 0, NONE, "the billed period, e.g. 2026-11" },
    { "invoices", &ty_int, 0, NONE, "invoices produced" },
};
static const CatField money[] = {
    { "amount", &ty_float, 0, NONE, "in currency units" },
    { "currency", &ty_string, 0, NONE, "ISO 4217 code" },
    { "reason", &ty_string, CAT_F_OPTIONAL, NONE, "why, when known" },
};

#define EVENT(name, kind, subj, src, fields, doc) \
    { name, kind, subj, src, fields, COUNT(fields), doc }
#define EVENT0(name, kind, subj, src, doc) { name, kind, subj, src, NULL, 0, doc }

const CatEvent cat_events[] = {
    EVENT("data.usage", EV_STATE, SUBJ_SIM, EV_SRC_INGESTED, data_usage,
          "a SIM's data usage in its billing cycle"),
    EVENT("data.usage.total", EV_STATE, SUBJ_SCOPE, EV_SRC_INGESTED, data_usage_total,
          "the data usage of all SIMs in the flow's scope"),
    EVENT("pool.usage", EV_STATE, SUBJ_SIM, EV_SRC_INGESTED, pool_usage,
          "the usage of the pool a SIM belongs to"),
    EVENT("sms.usage", EV_STATE, SUBJ_SIM, EV_SRC_INGESTED, sms_usage,
          "a SIM's SMS count in its billing cycle"),
    EVENT("balance.remaining", EV_STATE, SUBJ_SIM, EV_SRC_INGESTED, balance_remaining,
          "a prepaid SIM's remaining balance"),
    EVENT("sim.status", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_INGESTED, sim_status,
          "a SIM's status changed"),
    EVENT("sim.imei", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_INGESTED, sim_imei,
          "a SIM appeared in another device"),
    EVENT("sms.mo", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_INGESTED, sms_mo,
          "a SIM sent an SMS to the platform"),
    EVENT("sim.dormant", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_DORMANT, sim_dormant,
          "a SIM has had no usage for a while"),
    EVENT0("date", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_DATE,
           "a date computed per SIM has come (`on date EXPR at HH:MM`)"),
    EVENT0("schedule", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_SCHEDULE,
           "a cron schedule has come; runs once per SIM in scope"),
    EVENT("invoice.posted", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, invoice,
          "an invoice was posted"),
    EVENT("invoice.overdue", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, invoice,
          "an invoice is past its due date"),
    EVENT("invoice.delivered", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, invoice_delivered,
          "an invoice reached the customer"),
    EVENT("account.status", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, account_status,
          "the account's status changed"),
    EVENT("account.cancelled", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, account_cancelled,
          "the account was cancelled"),
    EVENT("package.cancelled", EV_OCCURRENCE, SUBJ_SIM, EV_SRC_INGESTED, package_cancelled,
          "a SIM's package was cancelled"),
    EVENT("bill_run.started", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, bill_run_started,
          "a bill run started"),
    EVENT("bill_run.completed", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, bill_run_completed,
          "a bill run completed"),
    EVENT("refund", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, money, "a refund was issued"),
    EVENT("credit", EV_OCCURRENCE, SUBJ_ORG, EV_SRC_INGESTED, money, "a credit was granted"),
};
const int cat_nevents = COUNT(cat_events);

const CatEvent *cat_event_find(const char *name, size_t len)
{
    for (int i = 0; i < cat_nevents; i++)
        if (strlen(cat_events[i].name) == len && memcmp(cat_events[i].name, name, len) == 0)
            return &cat_events[i];
    return NULL;
}

int cat_event_field_find(const CatEvent *ev, const char *name, size_t len)
{
    for (int i = 0; i < ev->nfields; i++)
        if (strlen(ev->fields[i].name) == len && memcmp(ev->fields[i].name, name, len) == 0)
            return i;
    return -1;
}

/* --------------------------------------------------------------- actions */

const char *const cat_action_names[ACT_NACTIONS] = {
#define CAT_ACTION_NAME(id, name, doc) name,
    CAT_ACTIONS(CAT_ACTION_NAME)
#undef CAT_ACTION_NAME
};

int cat_action_find(const char *name, size_t len)
{
    for (int i = 0; i < ACT_NACTIONS; i++)
        if (strlen(cat_action_names[i]) == len && memcmp(cat_action_names[i], name, len) == 0)
            return i;
    return -1;
}

const char *const cat_email_field_names[EMAIL_NFIELDS] = {
#define CAT_EMAIL_NAME(id, name) name,
    CAT_EMAIL_FIELDS(CAT_EMAIL_NAME)
#undef CAT_EMAIL_NAME
};
