/*
 * validate.c - ICCIDs, email addresses, https URLs, header values.
 */
#include "validate.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

char valid_luhn_digit(const char *digits, size_t len)
{
    /* double every second digit counting from the right of the payload */
    unsigned sum = 0;
    bool twice = true;
    for (size_t i = len; i-- > 0;) {
        unsigned d = (unsigned)(digits[i] - '0');
        if (twice) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        twice = !twice;
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

const char *valid_iccid(const char *text, size_t len, char why[64])
{
    for (size_t i = 0; i < len; i++)
        if (text[i] < '0' || text[i] > '9') return "an ICCID has only digits";
    if (len < VALID_ICCID_MIN || len > VALID_ICCID_MAX) {
        snprintf(why, 64, "an ICCID has 19 or 20 digits, not %zu", len);
        return why;
    }
    char check = valid_luhn_digit(text, len - 1);
    if (text[len - 1] != check) {
        snprintf(why, 64, "its check digit should be %c (Luhn)", check);
        return why;
    }
    return NULL;
}

static bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* A DNS name: labels of 1..63 letters, digits and hyphens, not starting or
 * ending with a hyphen, separated by single dots. */
static const char *check_domain(const char *text, size_t len, bool need_dot)
{
    if (len == 0) return "the domain is empty";
    if (len > 253) return "the domain is longer than 253 characters";
    size_t label = 0;
    bool dot = false;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '.') {
            if (label == 0) return "the domain has an empty label";
            if (text[i - 1] == '-') return "a domain label ends with '-'";
            if (i < len) dot = true;
            label = 0;
            continue;
        }
        if (!is_label_char(text[i])) return "the domain has a character that is not a letter, digit, '-' or '.'";
        if (label == 0 && text[i] == '-') return "a domain label starts with '-'";
        if (++label > 63) return "a domain label is longer than 63 characters";
    }
    if (need_dot && !dot) return "the domain has no dot";
    return NULL;
}

const char *valid_email(const char *text, size_t len)
{
    if (len == 0) return "the address is empty";
    if (len > VALID_EMAIL_MAX) return "the address is longer than 254 characters";
    const char *at = memchr(text, '@', len);
    if (!at) return "the address has no '@'";
    size_t local = (size_t)(at - text);
    if (local == 0) return "nothing before the '@'";
    if (local > 64) return "the part before '@' is longer than 64 characters";
    if (memchr(at + 1, '@', len - local - 1)) return "the address has more than one '@'";
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= ' ' || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return "the part before '@' has a space, quote, bracket or control character";
    }
    if (text[0] == '.' || text[local - 1] == '.') return "the part before '@' starts or ends with '.'";
    for (size_t i = 1; i < local; i++)
        if (text[i] == '.' && text[i - 1] == '.') return "the part before '@' has '..'";
    return check_domain(at + 1, len - local - 1, true);
}

const char *valid_https_url(const char *text, size_t len)
{
    static const char scheme[] = "https://";
    if (len > VALID_URL_MAX) return "the URL is longer than 2048 characters";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= ' ' || c >= 0x7f) return "the URL has a space or a control or non-ASCII character";
    }
    if (len < sizeof scheme - 1 || strncasecmp(text, scheme, sizeof scheme - 1) != 0)
        return "only https:// URLs are allowed";
    const char *host = text + sizeof scheme - 1;
    const char *end = text + len;
    const char *host_end = host;
    while (host_end < end && *host_end != '/' && *host_end != '?' && *host_end != '#') host_end++;
    if (memchr(host, '@', (size_t)(host_end - host))) return "the URL carries credentials ('user@')";
    if (memchr(text, '#', len)) return "the URL has a fragment ('#')";
    if (host_end == host) return "the URL has no host";
    const char *port = NULL;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(host_end - host));
        if (!close) return "the URL's IPv6 address has no ']'";
        for (const char *p = host + 1; p < close; p++)
            if (!strchr("0123456789abcdefABCDEF:.", *p)) return "the URL's IPv6 address is malformed";
        if (close + 1 < host_end) {
            if (close[1] != ':') return "unexpected text after the URL's IPv6 address";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', (size_t)(host_end - host));
        const char *name_end = colon ? colon : host_end;
        const char *why = check_domain(host, (size_t)(name_end - host), false);
        if (why) return why;
        if (colon) port = colon + 1;
    }
    if (port) {
        if (port == host_end) return "the URL's port is empty";
        long value = 0;
        for (const char *p = port; p < host_end; p++) {
            if (*p < '0' || *p > '9') return "the URL's port is not a number";
            value = value * 10 + (*p - '0');
            if (value > 65535) return "the URL's port is above 65535";
        }
        if (value == 0) return "the URL's port is 0";
    }
    return NULL;
}

const char *valid_header_value(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r' || text[i] == '\n') return "it contains a line break";
        if (text[i] == '\0') return "it contains a NUL byte";
    }
    return NULL;
}
