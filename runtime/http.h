/*
 * http.h - `flowvm serve`: the long-running service.  One process runs the
 * HTTP API of spec/http-api.md (libmicrohttpd), the event processor behind
 * POST /v1/events, the scheduler (waits, schedules, dates, dormant SIMs:
 * what `flowvm tick` does, every second) and the delivery worker (what
 * `flowvm deliver` does).
 *
 * SIGTERM or SIGINT stops it gracefully: no new connection is accepted,
 * the requests in flight finish (up to HTTP_DRAIN_SECONDS), deliveries in
 * flight are recorded, then the store closes.  An event is answered 202
 * only after its transaction committed.
 */
#ifndef FLOW_RUNTIME_HTTP_H
#define FLOW_RUNTIME_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_BODY (8u * 1024u * 1024u)   /* a request body; more is 413 */
#define HTTP_DEFAULT_TIMEOUT 30              /* seconds a connection may stay idle or stall */
#define HTTP_DRAIN_SECONDS 10                /* requests in flight, after SIGTERM */
#define HTTP_MAX_CONNECTIONS 1024

typedef struct HttpOptions {
    const char *db;
    const char *listen;          /* "ADDR:PORT", IPv4 or [IPv6]; port 0 picks a free one */
    unsigned timeout;            /* seconds; 0: HTTP_DEFAULT_TIMEOUT */
    unsigned tick_ms;            /* the scheduler's period; 0: 1000 */
    const char *ca_file;         /* for deliveries; NULL: the system's */
    bool no_worker;              /* no scheduler and no delivery worker (the API alone) */
} HttpOptions;

/* Serves until SIGTERM/SIGINT.  Prints "listening on ADDR:PORT" to stdout
 * once ready and "stopped" at the end.  Returns 0, or -1 with err set. */
int http_serve(const HttpOptions *options, char *err, size_t errlen);

#endif
