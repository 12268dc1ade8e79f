/* test_deliver.c - the retry schedule, outcomes, and email building (RFC 2047
 * words, refused header values) without a network. */
#include <stdlib.h>

#include "../../runtime/deliver.h"
#include "../../runtime/mail.h"
#include "testing.h"

static DlvAttempt http(long status)
{
    DlvAttempt a = { .status = status, .retry_after = -1 };
    return a;
}

int main(void)
{
    DlvConfig c;
    dlv_config_default(&c);
    CHECK(c.nschedule == 8 && c.schedule[0] == 0 && c.schedule[1] == 5 && c.schedule[7] == 36000);
    uint64_t seed = 42;
    c.jitter_percent = 0;
    CHECK(dlv_next_delay(&c, 1, -1, &seed) == 5);
    CHECK(dlv_next_delay(&c, 2, -1, &seed) == 300);
    CHECK(dlv_next_delay(&c, 7, -1, &seed) == 36000);
    CHECK(dlv_next_delay(&c, 8, -1, &seed) == -1);        /* the schedule is used up: dead */
    CHECK(dlv_next_delay(&c, 1, 120, &seed) == 120);      /* Retry-After */
    CHECK(dlv_next_delay(&c, 1, 10 * 86400, &seed) == DLV_RETRY_AFTER_MAX);
    CHECK(dlv_next_delay(&c, 8, 120, &seed) == -1);
    c.jitter_percent = 20;
    bool spread = false;
    for (int i = 0; i < 200; i++) {
        int64_t d = dlv_next_delay(&c, 2, -1, &seed);
        CHECK(d >= 300 && d <= 360);
        spread |= d != 300;
    }
    CHECK(spread);
    CHECK(dlv_parse_schedule(&c, "0,5s,5m,2h") == 0 && c.nschedule == 4 && c.schedule[2] == 300 && c.schedule[3] == 7200);
    CHECK(dlv_parse_schedule(&c, "") == -1);
    CHECK(dlv_parse_schedule(&c, "1,x") == -1);
    CHECK(dlv_parse_schedule(&c, "-1") == -1);

    DlvAttempt a = http(204);
    CHECK(dlv_webhook_outcome(&a) == DLV_DELIVERED);
    a = http(299);
    CHECK(dlv_webhook_outcome(&a) == DLV_DELIVERED);
    a = http(302);
    CHECK(dlv_webhook_outcome(&a) == DLV_RETRY);
    a = http(410);
    CHECK(dlv_webhook_outcome(&a) == DLV_GONE);
    a = http(404);
    CHECK(dlv_webhook_outcome(&a) == DLV_DEAD);
    a = http(429);
    CHECK(dlv_webhook_outcome(&a) == DLV_RETRY);
    a = http(500);
    CHECK(dlv_webhook_outcome(&a) == DLV_RETRY);
    a = http(0);
    a.curl_code = CURLE_OPERATION_TIMEDOUT;
    CHECK(dlv_webhook_outcome(&a) == DLV_RETRY);
    a.curl_code = CURLE_COULDNT_CONNECT;
    snprintf(a.error, sizeof a.error, "refused to connect: 10.0.0.1 is a private address");
    CHECK(dlv_webhook_outcome(&a) == DLV_DEAD);

    /* RFC 2047 */
    char *w = mail_encode_words("plain subject");
    CHECK_STR(w, "plain subject");
    free(w);
    w = mail_encode_words("caf\xc3\xa9");
    CHECK_STR(w, "=?UTF-8?B?Y2Fmw6k=?=");
    free(w);
    w = mail_encode_words("looks =?like?= a word");
    CHECK(w && strncmp(w, "=?UTF-8?B?", 10) == 0);
    free(w);
    /* long: words of at most 75 characters, folded, never splitting a character */
    char text[400] = "";
    for (int i = 0; i < 100; i++) strcat(text, "\xc3\xa9");
    w = mail_encode_words(text);
    CHECK(w != NULL);
    int words = 0;
    for (char *p = w; p && *p;) {
        size_t n = strcspn(p, "\r");
        CHECK(n <= 76);
        words++;
        p += n;
        if (*p) p += 3;   /* CRLF SP */
    }
    CHECK(words == 5);    /* 200 bytes in 44-byte pieces */
    free(w);

    /* refused header values */
    const char *to[] = { "a@x.example" }, *bad_to[] = { "a@x.example\r\nBcc: e@x.example" };
    MailMessage m = { .from_address = "f@x.example", .to = to, .nto = 1, .subject = "s", .text = "t",
                      .message_id = "<1@x.example>" };
    char why[256];
    CHECK(mail_check(&m, why) == NULL);
    m.subject = "s\r\nBcc: e@x.example";
    CHECK(mail_check(&m, why) != NULL);
    m.subject = "s";
    m.to = bad_to;
    CHECK(mail_check(&m, why) != NULL);
    m.to = to;
    m.from_name = "Name\nX";
    CHECK(mail_check(&m, why) != NULL);
    m.from_name = NULL;
    m.text = NULL;
    CHECK(mail_check(&m, why) != NULL);
    m.text = "t";
    m.from_address = "f@x.example\0";
    CHECK(mail_check(&m, why) == NULL);

    /* the headers, built on a real easy handle */
    CURL *easy = curl_easy_init();
    struct curl_slist *headers = NULL;
    curl_mime *mime = NULL;
    m.html = "<p>h</p>";
    m.from_name = "Fl\xc3\xb3w \"Alerts\"";
    CHECK(mail_build(easy, &m, &headers, &mime, why) == 0);
    int seen = 0;
    for (struct curl_slist *h = headers; h; h = h->next) {
        if (strncmp(h->data, "From: =?UTF-8?B?", 16) == 0) seen |= 1;
        if (strcmp(h->data, "To: a@x.example") == 0) seen |= 2;
        if (strncmp(h->data, "Date: ", 6) == 0) seen |= 4;
        if (strcmp(h->data, "Message-ID: <1@x.example>") == 0) seen |= 8;
        if (strncasecmp(h->data, "Bcc", 3) == 0) seen |= 16;
    }
    CHECK(seen == 15);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    m.from_name = "Plain \"Quoted\" \\ Name";
    CHECK(mail_build(easy, &m, &headers, &mime, why) == 0);
    CHECK(headers && headers->next && strcmp(headers->next->data, "From: \"Plain \\\"Quoted\\\" \\\\ Name\" <f@x.example>") == 0);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    curl_easy_cleanup(easy);
    return testing_done();
}
