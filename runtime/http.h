/*
 * http.h - `flowvm serve`: the HTTP API (spec/http-api.md) on libmicrohttpd.
 *
 * One process, one store connection, one MHD polling thread that runs every
 * request (sqlite serialises writers anyway).  SIGTERM or SIGINT stops it
 * gracefully: the listening socket closes, requests in flight finish (up to
 * HTTP_DRAIN_SECONDS), then the store closes.
 */
#ifndef FLOW_RUNTIME_HTTP_H
#define FLOW_RUNTIME_HTTP_H

#include <stddef.h>

#define HTTP_MAX_BODY (8u * 1024u * 1024u)   /* a request body; more is 413 */
#define HTTP_CONNECTION_TIMEOUT 30           /* seconds a connection may idle */
#define HTTP_DRAIN_SECONDS 10                /* requests in flight, after SIGTERM */
#define HTTP_MAX_LIST 1000                   /* ?limit= on lists */

/* Serves `db` on `listen` ("ADDR:PORT", IPv4; port 0 picks a free one) until
 * SIGTERM/SIGINT.  Prints "listening on ADDR:PORT" to stdout once ready.
 * Returns 0, or -1 with err set. */
int http_serve(const char *db, const char *listen, char *err, size_t errlen);

#endif
