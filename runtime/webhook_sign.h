/*
 * webhook_sign.h - Standard Webhooks signatures (https://www.standardwebhooks.com).
 *
 * A secret is "whsec_" followed by the base64 of the key bytes.  The
 * signature of a message is "v1," + base64(HMAC-SHA256(key,
 * "{id}.{timestamp}.{body}")); during a rotation an endpoint has several
 * secrets and the header carries one signature per secret, separated by
 * spaces.  Pure functions over OpenSSL; no I/O but the random key maker.
 */
#ifndef FLOW_RUNTIME_WEBHOOK_SIGN_H
#define FLOW_RUNTIME_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define WHK_PREFIX "whsec_"
#define WHK_KEY_MIN 16           /* bytes of key a secret must carry at least */
#define WHK_KEY_MAX 64
#define WHK_KEY_NEW 32           /* bytes of a key made by whk_secret_new */
#define WHK_SECRET_MAX 96        /* "whsec_" + base64 of WHK_KEY_MAX bytes + NUL */
#define WHK_SIG_MAX 48           /* "v1," + base64 of 32 bytes + NUL */
#define WHK_SECRETS_MAX 4        /* secrets of one endpoint at once */
#define WHK_HEADER_MAX (WHK_SECRETS_MAX * WHK_SIG_MAX)

/* Decodes a secret into `key` (WHK_KEY_MAX bytes); returns the key's length,
 * or -1 when the text is not "whsec_" + valid base64 of WHK_KEY_MIN..MAX bytes. */
int whk_secret_decode(const char *secret, unsigned char *key);

/* A new secret from the system's random source into `out` (WHK_SECRET_MAX);
 * 0 or -1. */
int whk_secret_new(char *out);

/* The signature of one message with one secret, into `out` (WHK_SIG_MAX);
 * 0, or -1 when the secret is invalid. */
int whk_sign(const char *secret, const char *id, int64_t timestamp, const char *body, size_t bodylen, char *out);

/* The webhook-signature header's value for a space-separated list of
 * secrets (the current first), into `out` (WHK_HEADER_MAX); 0 or -1. */
int whk_signature_header(const char *secrets, const char *id, int64_t timestamp, const char *body, size_t bodylen,
                         char *out);

/* Frees the keyed HMAC contexts kept between calls (for leak checkers). */
void whk_cache_free(void);

#endif
