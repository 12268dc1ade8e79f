/*
 * webhook_sign.c - Standard Webhooks signing: HMAC-SHA256 and base64 by
 * OpenSSL.  Verification is the receiver's business; the tests verify with
 * an independent implementation in Python.
 */
#include "webhook_sign.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

int whk_secret_decode(const char *secret, unsigned char *key)
{
    size_t plen = strlen(WHK_PREFIX);
    if (strncmp(secret, WHK_PREFIX, plen) != 0) return -1;
    const char *b64 = secret + plen;
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 4 * ((WHK_KEY_MAX + 2) / 3)) return -1;
    unsigned char buf[4 * ((WHK_KEY_MAX + 2) / 3)];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
    if (n < 0) return -1;
    /* EVP_DecodeBlock counts the padding's bytes as zeros */
    if (b64[len - 1] == '=') n--;
    if (b64[len - 2] == '=') n--;
    if (n < WHK_KEY_MIN || n > WHK_KEY_MAX) return -1;
    memcpy(key, buf, (size_t)n);
    return n;
}

int whk_secret_new(char *out)
{
    unsigned char key[WHK_KEY_NEW];
    if (RAND_bytes(key, sizeof key) != 1) return -1;
    size_t plen = strlen(WHK_PREFIX);
    memcpy(out, WHK_PREFIX, plen);
    EVP_EncodeBlock((unsigned char *)out + plen, key, sizeof key);
    return 0;
}

/* A keyed HMAC context per secret, the last few kept: keying costs more
 * than signing a small body.  One thread; freed at exit by the OS. */
#define KEYED_CACHE 4
static struct {
    char secret[WHK_SECRET_MAX];
    EVP_MAC_CTX *ctx;
} keyed[KEYED_CACHE];
static int keyed_next;

static EVP_MAC_CTX *keyed_ctx(const char *secret)
{
    for (int i = 0; i < KEYED_CACHE; i++)
        if (keyed[i].ctx && strcmp(keyed[i].secret, secret) == 0) return keyed[i].ctx;
    unsigned char key[WHK_KEY_MAX];
    int keylen = whk_secret_decode(secret, key);
    if (keylen < 0 || strlen(secret) >= WHK_SECRET_MAX) return NULL;
    static EVP_MAC *hmac;
    if (!hmac) hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end() };
    if (!ctx || EVP_MAC_init(ctx, key, (size_t)keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    int slot = keyed_next++ % KEYED_CACHE;
    EVP_MAC_CTX_free(keyed[slot].ctx);
    keyed[slot].ctx = ctx;
    strcpy(keyed[slot].secret, secret);
    return ctx;
}

void whk_cache_free(void)
{
    for (int i = 0; i < KEYED_CACHE; i++) {
        EVP_MAC_CTX_free(keyed[i].ctx);
        keyed[i].ctx = NULL;
    }
}

int whk_sign(const char *secret, const char *id, int64_t timestamp, const char *body, size_t bodylen, char *out)
{
    EVP_MAC_CTX *keyed_one = keyed_ctx(secret);
    if (!keyed_one) return -1;
    char prefix[256];
    int plen = snprintf(prefix, sizeof prefix, "%s.%" PRId64 ".", id, timestamp);
    if (plen < 0 || (size_t)plen >= sizeof prefix) return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t got = 0;
    /* a copy of the keyed context signs; the keyed one stays unused */
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed_one);
    int ok = ctx && EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)plen) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)body, bodylen) == 1 &&
             EVP_MAC_final(ctx, mac, &got, sizeof mac) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok || got != 32) return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)got);
    return 0;
}

int whk_signature_header(const char *secrets, const char *id, int64_t timestamp, const char *body, size_t bodylen,
                         char *out)
{
    size_t used = 0;
    int count = 0;
    out[0] = '\0';
    const char *p = secrets;
    while (*p) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n == 0) break;
        if (n >= WHK_SECRET_MAX || count == WHK_SECRETS_MAX) return -1;
        char secret[WHK_SECRET_MAX];
        memcpy(secret, p, n);
        secret[n] = '\0';
        char sig[WHK_SIG_MAX];
        if (whk_sign(secret, id, timestamp, body, bodylen, sig) != 0) return -1;
        used += (size_t)snprintf(out + used, WHK_HEADER_MAX - used, "%s%s", count ? " " : "", sig);
        count++;
        p += n;
    }
    return count ? 0 : -1;
}
