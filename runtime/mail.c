/*
 * mail.c - email messages for libcurl's SMTP: checked header values, RFC 2047
 * words, RFC 5322 dates, and the MIME structure through curl_mime.
 * Not the SMTP dialogue: deliver.c runs that.
 */
#include "mail.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../stdlib/validate.h"

/* ============================================================ checks */

static const char *check_list(const char *what, const char *const *list, int n, char why[256])
{
    for (int i = 0; i < n; i++) {
        const char *bad = valid_header_value(list[i], strlen(list[i]));
        if (!bad) bad = valid_email(list[i], strlen(list[i]));
        if (bad) {
            snprintf(why, 256, "the %s address \"%.80s\": %s", what, list[i], bad);
            return why;
        }
    }
    return NULL;
}

const char *mail_check(const MailMessage *msg, char why[256])
{
    const char *bad = NULL;
    if (!msg->from_address || (bad = valid_email(msg->from_address, strlen(msg->from_address))) ||
        (bad = valid_header_value(msg->from_address, strlen(msg->from_address)))) {
        snprintf(why, 256, "the sender's address: %s", msg->from_address ? bad : "missing");
        return why;
    }
    if (msg->from_name && (bad = valid_header_value(msg->from_name, strlen(msg->from_name)))) {
        snprintf(why, 256, "the sender's name: %s", bad);
        return why;
    }
    if (check_list("To", msg->to, msg->nto, why) || check_list("Cc", msg->cc, msg->ncc, why)) return why;
    if (msg->nto + msg->ncc > MAIL_RECIPIENTS_MAX) {
        snprintf(why, 256, "more than %d recipients in the headers", MAIL_RECIPIENTS_MAX);
        return why;
    }
    if (msg->subject) {
        if ((bad = valid_header_value(msg->subject, strlen(msg->subject)))) {
            snprintf(why, 256, "the subject: %s", bad);
            return why;
        }
        if (strlen(msg->subject) > MAIL_SUBJECT_MAX) {
            snprintf(why, 256, "the subject is longer than %d bytes", MAIL_SUBJECT_MAX);
            return why;
        }
    }
    if (!msg->message_id || valid_header_value(msg->message_id, strlen(msg->message_id))) {
        snprintf(why, 256, "the Message-ID is missing or not a header value");
        return why;
    }
    if (!msg->text && !msg->html) {
        snprintf(why, 256, "the email has neither text nor HTML");
        return why;
    }
    if ((msg->text && strlen(msg->text) > MAIL_BODY_MAX) || (msg->html && strlen(msg->html) > MAIL_BODY_MAX)) {
        snprintf(why, 256, "the body is larger than %d bytes", MAIL_BODY_MAX);
        return why;
    }
    return NULL;
}

/* ============================================================ RFC 2047 */

static bool plain_ascii(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p > 0x7e) return false;
    /* a literal "=?" could be read as an encoded word */
    return strstr(text, "=?") == NULL;
}

char *mail_encode_words(const char *text)
{
    if (plain_ascii(text)) return strdup(text);
    /* 45 bytes of UTF-8 make 60 of base64: "=?UTF-8?B?" + 60 + "?=" = 72 */
    enum { CHUNK = 45 };
    size_t len = strlen(text), cap = (len / 30 + 2) * 80, used = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t i = 0;
    while (i < len) {
        size_t n = len - i < CHUNK ? len - i : CHUNK;
        /* never split a UTF-8 sequence between two words */
        while (n < len - i && n > 0 && ((unsigned char)text[i + n] & 0xc0) == 0x80) n--;
        if (n == 0) n = len - i < CHUNK ? len - i : CHUNK;
        if (used) used += (size_t)sprintf(out + used, "\r\n ");
        used += (size_t)sprintf(out + used, "=?UTF-8?B?");
        used += (size_t)EVP_EncodeBlock((unsigned char *)out + used, (const unsigned char *)text + i, (int)n);
        used += (size_t)sprintf(out + used, "?=");
        i += n;
    }
    out[used] = '\0';
    return out;
}

/* ============================================================ headers */

/* display names with specials are quoted; non-ASCII ones encoded */
static char *mailbox(const char *name, const char *address)
{
    if (!name || !*name) return strdup(address);
    char *shown;
    if (!plain_ascii(name)) {
        shown = mail_encode_words(name);
    } else {
        size_t len = strlen(name);
        shown = malloc(2 * len + 3);
        if (shown) {
            size_t k = 0;
            shown[k++] = '"';
            for (size_t i = 0; i < len; i++) {
                if (name[i] == '"' || name[i] == '\\') shown[k++] = '\\';
                shown[k++] = name[i];
            }
            shown[k++] = '"';
            shown[k] = '\0';
        }
    }
    if (!shown) return NULL;
    size_t size = strlen(shown) + strlen(address) + 4;
    char *out = malloc(size);
    if (out) snprintf(out, size, "%s <%s>", shown, address);
    free(shown);
    return out;
}

static int append(struct curl_slist **headers, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*headers, line);
    if (!grown) return -1;
    *headers = grown;
    return 0;
}

/* "Name: a, b" folded after a comma once a line passes 76 characters */
static int append_list(struct curl_slist **headers, const char *name, const char *const *list, int n)
{
    if (n == 0) return 0;
    size_t cap = strlen(name) + 4;
    for (int i = 0; i < n; i++) cap += strlen(list[i]) + 5;
    char *line = malloc(cap);
    if (!line) return -1;
    size_t used = (size_t)sprintf(line, "%s: ", name), width = used;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(list[i]);
        if (i > 0) {
            if (width + len + 2 > 76) {
                used += (size_t)sprintf(line + used, ",\r\n ");
                width = 1;
            } else {
                used += (size_t)sprintf(line + used, ", ");
                width += 2;
            }
        }
        memcpy(line + used, list[i], len + 1);
        used += len;
        width += len;
    }
    int rc = append(headers, line);
    free(line);
    return rc;
}

static int add_part(curl_mime *mime, const char *data, const char *type)
{
    curl_mimepart *part = curl_mime_addpart(mime);
    return part && curl_mime_data(part, data, CURL_ZERO_TERMINATED) == CURLE_OK &&
                   curl_mime_type(part, type) == CURLE_OK &&
                   curl_mime_encoder(part, "quoted-printable") == CURLE_OK
               ? 0
               : -1;
}

static int build_body(CURL *easy, const MailMessage *msg, curl_mime **out)
{
    curl_mime *mime = curl_mime_init(easy);
    if (!mime) return -1;
    *out = mime;
    if (!msg->text || !msg->html)
        return add_part(mime, msg->text ? msg->text : msg->html,
                        msg->text ? "text/plain; charset=utf-8" : "text/html; charset=utf-8");
    curl_mime *alt = curl_mime_init(easy);
    if (!alt) return -1;
    curl_mimepart *part = curl_mime_addpart(mime);
    if (!part || add_part(alt, msg->text, "text/plain; charset=utf-8") != 0 ||
        add_part(alt, msg->html, "text/html; charset=utf-8") != 0 || curl_mime_subparts(part, alt) != CURLE_OK) {
        curl_mime_free(alt);
        return -1;
    }
    /* alt belongs to part (and so to mime) from here on */
    return curl_mime_type(part, "multipart/alternative") == CURLE_OK ? 0 : -1;
}

int mail_build(CURL *easy, const MailMessage *msg, struct curl_slist **headers, curl_mime **mime, char why[256])
{
    *headers = NULL;
    *mime = NULL;
    if (mail_check(msg, why)) return -1;
    char line[160];
    struct tm tm;
    time_t when = (time_t)msg->date;
    gmtime_r(&when, &tm);
    strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
    char *from = mailbox(msg->from_name, msg->from_address);
    char *subject = mail_encode_words(msg->subject ? msg->subject : "");
    char *from_line = NULL, *subject_line = NULL, *id_line = NULL;
    int rc = -1;
    if (from && subject && (from_line = malloc(strlen(from) + 8)) && (subject_line = malloc(strlen(subject) + 12)) &&
        (id_line = malloc(strlen(msg->message_id) + 16))) {
        sprintf(from_line, "From: %s", from);
        sprintf(subject_line, "Subject: %s", subject);
        sprintf(id_line, "Message-ID: %s", msg->message_id);
        rc = append(headers, line) == 0 && append(headers, from_line) == 0 &&
                     append_list(headers, "To", msg->to, msg->nto) == 0 &&
                     append_list(headers, "Cc", msg->cc, msg->ncc) == 0 && append(headers, subject_line) == 0 &&
                     append(headers, id_line) == 0 && build_body(easy, msg, mime) == 0
                 ? 0
                 : -1;
    }
    free(from);
    free(subject);
    free(from_line);
    free(subject_line);
    free(id_line);
    if (rc != 0) {
        snprintf(why, 256, "out of memory building the email");
        curl_slist_free_all(*headers);
        curl_mime_free(*mime);
        *headers = NULL;
        *mime = NULL;
    }
    return rc;
}
