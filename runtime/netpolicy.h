/*
 * netpolicy.h - where deliveries may connect: the URL rules (https on the
 * default port) and the classes of addresses refused when a socket opens.
 *
 * The address is checked after resolution, in libcurl's
 * CURLOPT_OPENSOCKETFUNCTION, so no spelling of a host (127.1, 2130706433,
 * 0x7f.1, [::ffff:127.0.0.1], a name resolving to 10.0.0.1) gets past it.
 * Each class is refused unless the organisation's settings allow it.
 */
#ifndef FLOW_RUNTIME_NETPOLICY_H
#define FLOW_RUNTIME_NETPOLICY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* X(name, bit, what): the address classes refused by default. */
#define NP_CLASSES(X)                                                   \
    X(loopback, 0, "a loopback address")                                \
    X(private, 1, "a private address")                                  \
    X(link_local, 2, "a link-local address")                            \
    X(cgnat, 3, "a shared (CGNAT) address")                             \
    X(multicast, 4, "a multicast or broadcast address")                 \
    X(metadata, 5, "a cloud metadata address")                          \
    X(mapped, 6, "an IPv4-mapped or -translated IPv6 address")          \
    X(reserved, 7, "an unspecified or reserved address")

enum {
#define NP_ENUM(name, bit, what) NP_##name = 1u << bit,
    NP_CLASSES(NP_ENUM)
#undef NP_ENUM
};
#define NP_PUBLIC 0u

typedef struct NetPolicy {
    unsigned allow;          /* NP_* classes allowed */
    bool allow_http;         /* http:// as well as https:// */
    bool allow_any_port;     /* ports other than the scheme's default */
} NetPolicy;

/* The class of an address (one NP_* bit, or NP_PUBLIC). */
unsigned np_classify(const struct sockaddr *addr);

/* The name of a class ("loopback") and its description; NULL for unknown. */
const char *np_class_name(unsigned cls);
const char *np_class_what(unsigned cls);
/* The class of a name, or 0 when there is none such. */
unsigned np_class_find(const char *name);

/* NULL when the policy lets a connection to `addr` open, else why not
 * ("127.0.0.1 is a loopback address"), into `why` (128 bytes). */
const char *np_check_addr(const NetPolicy *policy, const struct sockaddr *addr, char why[128]);

/* NULL when the URL's form is acceptable (scheme, port, no credentials,
 * length), else the reason into `why` (128 bytes). */
const char *np_check_url(const NetPolicy *policy, const char *url, char why[128]);

/* A transfer's guard: pass it as CURLOPT_OPENSOCKETDATA with np_opensocket
 * as CURLOPT_OPENSOCKETFUNCTION.  After a refusal `refused` holds why. */
typedef struct NpGuard {
    const NetPolicy *policy;
    char refused[128];
} NpGuard;

curl_socket_t np_opensocket(void *guard, curlsocktype purpose, struct curl_sockaddr *address);

#endif
