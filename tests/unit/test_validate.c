/*
 * test_validate.c - ICCIDs, email addresses, https URLs, header values and
 * cron schedules, at their edges.
 */
#include <string.h>

#include "../../stdlib/cron.h"
#include "../../stdlib/validate.h"
#include "testing.h"

static const char *iccid(const char *text)
{
    static char why[64];
    return valid_iccid(text, strlen(text), why);
}

static void test_iccid(void)
{
    CHECK(iccid("89441000300000000012") == NULL);
    CHECK(iccid("89441000300000000020") == NULL);
    CHECK(iccid("8944100030000000001") != NULL);      /* 19 digits, wrong check digit */
    CHECK_STR(iccid("89441000300000000013"), "its check digit should be 2 (Luhn)");
    CHECK_STR(iccid("894410003000000000"), "an ICCID has 19 or 20 digits, not 18");
    CHECK_STR(iccid("894410003000000000120"), "an ICCID has 19 or 20 digits, not 21");
    CHECK_STR(iccid("8944100030000000001X"), "an ICCID has only digits");
    CHECK(valid_luhn_digit("7992739871", 10) == '3');
}

static void test_email(void)
{
    const char *good[] = { "noc@acme.example", "a.b+c@x-y.example.org", "x@a.io" };
    const char *bad[] = { "", "noc", "@acme.example", "noc@", "noc@acme", "a b@acme.example", "a@@b.example",
                          "a@-b.example", "a@b-.example", "a@b..example", ".a@b.example", "a..b@c.example",
                          "a\r\n@b.example", "<a@b.example>" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(valid_email(good[i], strlen(good[i])) == NULL);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(valid_email(bad[i], strlen(bad[i])) != NULL);
    char longest[300];
    memset(longest, 'a', sizeof longest);
    CHECK(valid_email(longest, 255) != NULL);
}

static void test_url(void)
{
    const char *good[] = { "https://hooks.acme.example/usage", "https://x.example:8443/a?b=c", "https://[::1]:9000/",
                           "https://127.0.0.1/x", "HTTPS://acme.example" };
    const char *bad[] = { "http://acme.example/", "https://", "https://user:pw@acme.example/", "https://a.example/#x",
                          "https://a b.example/", "https://a.example:0/", "https://a.example:70000/",
                          "https://a.example:x/", "ftp://a.example", "https://-a.example/" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(valid_https_url(good[i], strlen(good[i])) == NULL);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(valid_https_url(bad[i], strlen(bad[i])) != NULL);
    char url[VALID_URL_MAX + 2];
    memcpy(url, "https://a.example/", 18);
    memset(url + 18, 'x', sizeof url - 18);
    CHECK(valid_https_url(url, VALID_URL_MAX) == NULL);
    CHECK(valid_https_url(url, VALID_URL_MAX + 1) != NULL);
}

static void test_header(void)
{
    CHECK(valid_header_value("one line", 8) == NULL);
    CHECK(valid_header_value("a\nb", 3) != NULL);
    CHECK(valid_header_value("a\rb", 3) != NULL);
    CHECK(valid_header_value("a\0b", 3) != NULL);
}

static int64_t next(const char *spec, int64_t after)
{
    Cron cron;
    size_t at;
    if (cron_parse(spec, strlen(spec), &cron, &at)) return -2;
    return cron_next(&cron, after);
}

static void test_cron(void)
{
    /* 2026-11-23T09:00:00Z is a Monday */
    const int64_t monday_0900 = 1795424400;
    CHECK(next("0 9 * * MON", monday_0900) == monday_0900 + 7 * 86400);
    CHECK(next("0 9 * * MON", monday_0900 - 60) == monday_0900);
    CHECK(next("*/15 * * * *", monday_0900) == monday_0900 + 15 * 60);
    CHECK(next("30 8 1 JAN *", monday_0900) == 1798792200);   /* 2027-01-01T08:30:00Z */
    CHECK(next("0 0 30 2 *", monday_0900) == -1);             /* February 30th never comes */
    Cron cron;
    size_t at = 0;
    CHECK_STR(cron_parse("0 25 * * *", 10, &cron, &at), "hours run from 0 to 23");
    CHECK(at == 2);
    CHECK(cron_parse("0 9 * *", 7, &cron, &at) != NULL);
    CHECK(cron_parse("0 9 * * MON extra", 17, &cron, &at) != NULL);
    CHECK(cron_parse("0 9 * * 7", 9, &cron, &at) == NULL && cron.weekdays == 1);   /* 7 is Sunday */
    CHECK(cron_parse("5-1 * * * *", 11, &cron, &at) != NULL);
    CHECK(cron_parse("*/0 * * * *", 11, &cron, &at) != NULL);
}

int main(void)
{
    test_iccid();
    test_email();
    test_url();
    test_header();
    test_cron();
    return testing_done();
}
