/* test_netpolicy.c - address classes at their edges and the URL rules. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../runtime/netpolicy.h"
#include "testing.h"

static unsigned cls(const char *text)
{
    struct sockaddr_storage ss = { 0 };
    if (strchr(text, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) return 999;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        if (inet_pton(AF_INET, text, &in->sin_addr) != 1) return 999;
    }
    return np_classify((struct sockaddr *)&ss);
}

int main(void)
{
    CHECK(cls("127.0.0.1") == NP_loopback);
    CHECK(cls("127.255.255.254") == NP_loopback);
    CHECK(cls("126.255.255.255") == NP_PUBLIC);
    CHECK(cls("128.0.0.0") == NP_PUBLIC);
    CHECK(cls("10.0.0.1") == NP_private);
    CHECK(cls("172.16.0.0") == NP_private);
    CHECK(cls("172.31.255.255") == NP_private);
    CHECK(cls("172.32.0.0") == NP_PUBLIC);
    CHECK(cls("172.15.255.255") == NP_PUBLIC);
    CHECK(cls("192.168.1.1") == NP_private);
    CHECK(cls("169.254.169.254") == NP_metadata);
    CHECK(cls("169.254.0.1") == NP_link_local);
    CHECK(cls("100.64.0.1") == NP_cgnat);
    CHECK(cls("100.127.255.255") == NP_cgnat);
    CHECK(cls("100.128.0.0") == NP_PUBLIC);
    CHECK(cls("100.63.255.255") == NP_PUBLIC);
    CHECK(cls("224.0.0.1") == NP_multicast);
    CHECK(cls("255.255.255.255") == NP_multicast);
    CHECK(cls("0.0.0.0") == NP_reserved);
    CHECK(cls("240.0.0.1") == NP_reserved);
    CHECK(cls("8.8.8.8") == NP_PUBLIC);
    CHECK(cls("93.184.216.34") == NP_PUBLIC);
    CHECK(cls("::1") == NP_loopback);
    CHECK(cls("::") == NP_reserved);
    CHECK(cls("::ffff:127.0.0.1") == NP_mapped);
    CHECK(cls("::ffff:8.8.8.8") == NP_mapped);
    CHECK(cls("64:ff9b::a00:1") == NP_mapped);
    CHECK(cls("2002:7f00:1::") == NP_mapped);
    CHECK(cls("fd00::1") == NP_private);
    CHECK(cls("fc00::1") == NP_private);
    CHECK(cls("fe80::1") == NP_link_local);
    CHECK(cls("ff02::1") == NP_multicast);
    CHECK(cls("fd00:ec2::254") == NP_metadata);
    CHECK(cls("2606:4700::1111") == NP_PUBLIC);

    NetPolicy strict = { 0 }, loose = { .allow = NP_loopback, .allow_http = true, .allow_any_port = true };
    char why[128];
    CHECK(np_check_url(&strict, "https://example.com/hook?a=1", why) == NULL);
    CHECK(np_check_url(&strict, "https://example.com:443/hook", why) == NULL);
    CHECK(np_check_url(&strict, "https://example.com:8443/hook", why) != NULL);
    CHECK_STR(why, "only the default port is allowed");
    CHECK(np_check_url(&loose, "https://example.com:8443/hook", why) == NULL);
    CHECK(np_check_url(&strict, "http://example.com/hook", why) != NULL);
    CHECK(np_check_url(&loose, "http://example.com/hook", why) == NULL);
    CHECK(np_check_url(&loose, "ftp://example.com/hook", why) != NULL);
    CHECK(np_check_url(&strict, "https://user:pw@example.com/", why) != NULL);
    CHECK_STR(why, "the URL carries credentials");
    CHECK(np_check_url(&strict, "https://exa mple.com/", why) != NULL);
    char longurl[2100] = "https://example.com/";
    memset(longurl + 20, 'a', 2048 - 20);
    longurl[2048] = '\0';
    CHECK(np_check_url(&strict, longurl, why) == NULL);
    longurl[2048] = 'a';
    longurl[2049] = '\0';
    CHECK(np_check_url(&strict, longurl, why) != NULL);

    struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
    CHECK(np_check_addr(&strict, (struct sockaddr *)&in, why) != NULL);
    CHECK_STR(why, "refused to connect: 127.0.0.1 is a loopback address");
    CHECK(np_check_addr(&loose, (struct sockaddr *)&in, why) == NULL);
    CHECK(np_class_find("cgnat") == NP_cgnat && np_class_find("nope") == 0);
    CHECK_STR(np_class_name(NP_metadata), "metadata");
    return testing_done();
}
