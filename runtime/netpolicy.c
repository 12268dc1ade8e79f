/*
 * netpolicy.c - classification of resolved addresses and the URL rules of
 * deliveries.  Not a resolver: libcurl resolves, this judges the result.
 */
#include "netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../stdlib/validate.h"

/* ============================================================ classes */

static const struct { unsigned cls; const char *name, *what; } classes[] = {
#define NP_ROW(name, bit, what) { NP_##name, #name, what },
    NP_CLASSES(NP_ROW)
#undef NP_ROW
};
#define NCLASSES (sizeof classes / sizeof *classes)

const char *np_class_name(unsigned cls)
{
    for (size_t i = 0; i < NCLASSES; i++)
        if (classes[i].cls == cls) return classes[i].name;
    return NULL;
}

const char *np_class_what(unsigned cls)
{
    for (size_t i = 0; i < NCLASSES; i++)
        if (classes[i].cls == cls) return classes[i].what;
    return NULL;
}

unsigned np_class_find(const char *name)
{
    for (size_t i = 0; i < NCLASSES; i++)
        if (strcmp(classes[i].name, name) == 0) return classes[i].cls;
    return 0;
}

static bool in4(uint32_t a, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : ~(uint32_t)0 << (32 - bits);
    return (a & mask) == (net & mask);
}

#define V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static unsigned classify4(uint32_t a)
{
    if (a == V4(169, 254, 169, 254) || a == V4(100, 100, 100, 200)) return NP_metadata;
    if (in4(a, V4(127, 0, 0, 0), 8)) return NP_loopback;
    if (in4(a, V4(10, 0, 0, 0), 8) || in4(a, V4(172, 16, 0, 0), 12) || in4(a, V4(192, 168, 0, 0), 16))
        return NP_private;
    if (in4(a, V4(169, 254, 0, 0), 16)) return NP_link_local;
    if (in4(a, V4(100, 64, 0, 0), 10)) return NP_cgnat;
    if (in4(a, V4(224, 0, 0, 0), 4) || a == V4(255, 255, 255, 255)) return NP_multicast;
    if (in4(a, V4(0, 0, 0, 0), 8) || in4(a, V4(240, 0, 0, 0), 4) || in4(a, V4(192, 0, 0, 0), 24) ||
        in4(a, V4(198, 18, 0, 0), 15) || in4(a, V4(192, 0, 2, 0), 24) || in4(a, V4(198, 51, 100, 0), 24) ||
        in4(a, V4(203, 0, 113, 0), 24))
        return NP_reserved;
    return NP_PUBLIC;
}

static unsigned classify6(const unsigned char *b)
{
    static const unsigned char zero[16], loop[16] = { [15] = 1 };
    static const unsigned char metadata[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };
    if (memcmp(b, loop, 16) == 0) return NP_loopback;
    if (memcmp(b, zero, 16) == 0) return NP_reserved;
    if (memcmp(b, metadata, 16) == 0) return NP_metadata;
    static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
    static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || memcmp(b, zero, 12) == 0) return NP_mapped;
    if (b[0] == 0x20 && b[1] == 0x02) return NP_mapped;                 /* 6to4 2002::/16 */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return NP_mapped;   /* Teredo */
    if ((b[0] & 0xfe) == 0xfc) return NP_private;                       /* fc00::/7 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return NP_link_local;    /* fe80::/10 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return NP_private;       /* fec0::/10 site-local */
    if (b[0] == 0xff) return NP_multicast;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return NP_reserved;   /* documentation */
    return NP_PUBLIC;
}

unsigned np_classify(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return classify4(ntohl(in->sin_addr.s_addr));
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        return classify6(in6->sin6_addr.s6_addr);
    }
    return NP_reserved;
}

const char *np_check_addr(const NetPolicy *policy, const struct sockaddr *addr, char why[128])
{
    unsigned cls = np_classify(addr);
    if (cls == NP_PUBLIC || (policy->allow & cls)) return NULL;
    char text[INET6_ADDRSTRLEN] = "?";
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, text, sizeof text);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, text, sizeof text);
    snprintf(why, 128, "refused to connect: %s is %s", text, np_class_what(cls));
    return why;
}

/* ============================================================ URLs */

const char *np_check_url(const NetPolicy *policy, const char *url, char why[128])
{
    size_t len = strlen(url);
    if (len > VALID_URL_MAX) {
        snprintf(why, 128, "the URL is longer than %d characters", VALID_URL_MAX);
        return why;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
            snprintf(why, 128, "the URL has a space or control character");
            return why;
        }
    CURLU *u = curl_url();
    char *scheme = NULL, *port = NULL, *user = NULL, *host = NULL;
    const char *bad = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) bad = "the URL cannot be parsed";
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) bad = "the URL has no scheme";
    else if (strcmp(scheme, "https") != 0 && !(policy->allow_http && strcmp(scheme, "http") == 0))
        bad = policy->allow_http ? "only https and http URLs are allowed" : "only https URLs are allowed";
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) bad = "the URL carries credentials";
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) bad = "the URL has no host";
    else if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && !policy->allow_any_port &&
             strcmp(port, strcmp(scheme, "https") == 0 ? "443" : "80") != 0)
        bad = "only the default port is allowed";
    if (bad) snprintf(why, 128, "%s", bad);
    curl_free(scheme);
    curl_free(port);
    curl_free(user);
    curl_free(host);
    curl_url_cleanup(u);
    return bad ? why : NULL;
}

/* ============================================================ the socket guard */

curl_socket_t np_opensocket(void *data, curlsocktype purpose, struct curl_sockaddr *address)
{
    NpGuard *guard = data;
    if (purpose != CURLSOCKTYPE_IPCXN) {
        snprintf(guard->refused, sizeof guard->refused, "refused to open a socket of an unknown purpose");
        return CURL_SOCKET_BAD;
    }
    if (np_check_addr(guard->policy, &address->addr, guard->refused)) return CURL_SOCKET_BAD;
    return socket(address->family, address->socktype, address->protocol);
}
