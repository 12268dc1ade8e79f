/*
 * mail.h - an email message as libcurl sends it: header lines and a
 * curl_mime body (text, HTML, or both as multipart/alternative).
 *
 * Every address and header value is checked (no CR, LF or NUL; addresses by
 * valid_email); a subject or display name that is not ASCII is encoded as
 * RFC 2047 words.  Bcc recipients never appear here: they are only in the
 * envelope the caller gives libcurl.
 */
#ifndef FLOW_RUNTIME_MAIL_H
#define FLOW_RUNTIME_MAIL_H

#include <curl/curl.h>
#include <stdint.h>

#define MAIL_SUBJECT_MAX 998
#define MAIL_BODY_MAX (1 << 20)
#define MAIL_RECIPIENTS_MAX 100

typedef struct MailMessage {
    const char *from_name;                 /* may be NULL or "" */
    const char *from_address;
    const char *const *to;                 /* the To header */
    int nto;
    const char *const *cc;                 /* the Cc header */
    int ncc;
    const char *subject;                   /* may be NULL */
    const char *text, *html;               /* at least one */
    const char *message_id;                /* "<local@domain>" */
    int64_t date;                          /* unix seconds */
} MailMessage;

/* NULL when the message can be sent, else why not, into `why` (256 bytes). */
const char *mail_check(const MailMessage *msg, char why[256]);

/* `text` as it may stand in a header: itself when printable ASCII, else
 * "=?UTF-8?B?...?=" words of at most 75 characters folded by CRLF SP.
 * Returns a malloc'd string the caller frees; NULL when out of memory. */
char *mail_encode_words(const char *text);

/* The header lines (into *headers, for CURLOPT_HTTPHEADER) and the body
 * (into *mime, made on `easy`, for CURLOPT_MIMEPOST).  The caller frees both
 * with curl_slist_free_all and curl_mime_free after the transfer.
 * 0, or -1 with why set (256 bytes). */
int mail_build(CURL *easy, const MailMessage *msg, struct curl_slist **headers, curl_mime **mime, char why[256]);

#endif
