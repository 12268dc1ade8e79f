/*
 * deliver.h - the delivery engine: many webhook POSTs and SMTP transactions
 * in flight on one thread through libcurl's multi interface, each attempt
 * measured and classified, and the retry schedule with backoff and jitter.
 *
 * It knows nothing of the store: the worker (outbox.c) hands it requests and
 * records what comes back.  Durations are measured on the monotonic clock;
 * everything that schedules (attempt times, next attempts) takes the time
 * from the caller, so tests can run the schedule on a simulated clock.
 */
#ifndef FLOW_RUNTIME_DELIVER_H
#define FLOW_RUNTIME_DELIVER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail.h"
#include "netpolicy.h"

#define DLV_SCHEDULE_MAX 32
#define DLV_IN_FLIGHT_MAX 1024
#define DLV_SNIPPET_MAX 512           /* bytes of a response kept with an attempt */
#define DLV_BODY_CAP (64 * 1024)      /* bytes of a response read at most */
#define DLV_RETRY_AFTER_MAX 86400     /* seconds of Retry-After honoured at most */
#define DLV_REPLY_MAX 200             /* bytes of an SMTP reply kept per recipient */

typedef struct DlvConfig {
    int max_in_flight;                /* default 64 */
    long connect_timeout_ms;          /* default 10 000 */
    long total_timeout_ms;            /* default 30 000 */
    size_t body_cap;                  /* default DLV_BODY_CAP */
    const char *ca_file;              /* NULL: the system's CAs */
    int64_t schedule[DLV_SCHEDULE_MAX];   /* seconds before each attempt; [0] is the first (0: at once) */
    int nschedule;
    int jitter_percent;               /* a retry waits delay + up to this % more */
} DlvConfig;

/* The defaults: 64 in flight, 10 s / 30 s, the schedule 0, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 10 h, 20 % jitter. */
void dlv_config_default(DlvConfig *config);

/* Parses "0,5,300" (seconds; m and h suffixes allowed) into the schedule;
 * 0 or -1. */
int dlv_parse_schedule(DlvConfig *config, const char *text);

/* One SMTP recipient's fate in an attempt. */
typedef struct DlvRecipient {
    const char *address;              /* the caller's string */
    int code;                         /* the reply to RCPT TO, 0 when none came */
    char reply[DLV_REPLY_MAX];
} DlvRecipient;

/* What one attempt did. */
typedef struct DlvAttempt {
    int64_t duration_ms;
    long status;                      /* HTTP status or the last SMTP reply code; 0 when none */
    int curl_code;                    /* CURLE_OK when the transfer completed */
    char error[256];                  /* "" or why the attempt failed */
    char snippet[DLV_SNIPPET_MAX + 1];/* the response's start (HTTP), the last reply (SMTP) */
    int64_t retry_after;              /* seconds, -1 when the response had none */
    bool body_capped;
    DlvRecipient *recipients;         /* SMTP: one per envelope recipient */
    int nrecipients;
} DlvAttempt;

typedef enum DlvOutcome {
    DLV_DELIVERED,                    /* 2xx; SMTP: message accepted */
    DLV_RETRY,                        /* worth another attempt */
    DLV_DEAD,                         /* no point retrying (a refused address, a bad request) */
    DLV_GONE,                         /* 410: the endpoint is to be disabled */
} DlvOutcome;

typedef struct DlvEngine DlvEngine;

/* Called once per finished transfer, from dlv_run. `owner` is the caller's. */
typedef void (*DlvDone)(void *ctx, void *owner, const DlvAttempt *attempt);

DlvEngine *dlv_new(const DlvConfig *config, DlvDone done, void *ctx);
void dlv_free(DlvEngine *engine);

int dlv_in_flight(const DlvEngine *engine);
bool dlv_has_room(const DlvEngine *engine);
/* Transfers that can start now. */
int dlv_room(const DlvEngine *engine);

/* Ends the wait of a dlv_run at once (or of the next one); the only call
 * another thread may make. */
void dlv_wakeup(DlvEngine *engine);

/* Starts a webhook POST.  url, body and headers (extra header lines) must
 * live until `done` is called for `owner`.  Returns 0, or -1 with why set
 * (the URL refused by the policy: no transfer was started). */
int dlv_post(DlvEngine *engine, const NetPolicy *policy, const char *url, const char *body, size_t bodylen,
             const struct curl_slist *headers, void *owner, char why[256]);

/* An SMTP server, as a profile describes it. */
typedef enum DlvTls { DLV_TLS_NONE, DLV_TLS_STARTTLS, DLV_TLS_IMPLICIT } DlvTls;
typedef struct DlvSmtp {
    const char *host;
    int port;
    DlvTls tls;
    const char *username, *password;  /* "" or NULL: no AUTH */
} DlvSmtp;

/* Starts an SMTP transaction sending `msg` to the envelope recipients.
 * Everything given must live until `done`.  0, or -1 with why set. */
int dlv_mail(DlvEngine *engine, const NetPolicy *policy, const DlvSmtp *smtp, const MailMessage *msg,
             const char *const *recipients, int nrecipients, void *owner, char why[256]);

/* Moves transfers on, waiting at most timeout_ms for the network; calls
 * `done` for those that finished.  Returns how many are still in flight. */
int dlv_run(DlvEngine *engine, int timeout_ms);

/* The webhook outcome of an attempt: 2xx delivered; 410 gone; 400-499 but
 * 408, 409, 425 and 429 dead; the rest (5xx, 3xx, timeouts, refused
 * addresses, TLS errors) retried. */
DlvOutcome dlv_webhook_outcome(const DlvAttempt *attempt);

/* An SMTP recipient's outcome: delivered when the message was accepted
 * with this recipient, dead on a 5xx reply to RCPT, else retried. */
DlvOutcome dlv_recipient_outcome(const DlvAttempt *attempt, int index);

/* Seconds until the next attempt after `attempts` attempts (>= 1), or -1
 * when the schedule is used up.  A Retry-After (>= 0) takes the schedule's
 * place, capped at DLV_RETRY_AFTER_MAX.  `seed` is the jitter's state. */
int64_t dlv_next_delay(const DlvConfig *config, int attempts, int64_t retry_after, uint64_t *seed);

#endif
