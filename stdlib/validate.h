/*
 * validate.h - the checks of untrusted text the whole project shares: ICCIDs,
 * email addresses, webhook URLs, header values.  The checker applies them to
 * literals at compile time; the runtime to SIM imports, events and values
 * computed at run time.  Each returns NULL when the text is valid, else a
 * short reason ("the check digit should be 3") that callers put in context.
 */
#ifndef FLOW_VALIDATE_H
#define FLOW_VALIDATE_H

#include <stddef.h>

#define VALID_ICCID_MIN 19
#define VALID_ICCID_MAX 20
#define VALID_EMAIL_MAX 254
#define VALID_URL_MAX 2048

/* 19 or 20 digits whose last is the Luhn check digit of the others.
 * `why` must hold 64 bytes; it is used for reasons that carry numbers. */
const char *valid_iccid(const char *text, size_t len, char why[64]);

/* The Luhn check digit ('0'..'9') for a string of digits. */
char valid_luhn_digit(const char *digits, size_t len);

/* local@domain: printable ASCII without spaces, quotes, angle brackets or
 * control characters; the domain has at least one dot and valid labels. */
const char *valid_email(const char *text, size_t len);

/* https://host[:port][/path][?query]: no credentials, no fragment, no spaces
 * or control characters, a host name or address, at most VALID_URL_MAX. */
const char *valid_https_url(const char *text, size_t len);

/* A value fit for a mail header: no CR, LF or NUL. */
const char *valid_header_value(const char *text, size_t len);

#endif
