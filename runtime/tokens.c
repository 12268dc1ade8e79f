/*
 * tokens.c - bearer tokens of the HTTP API.
 *
 * A token is "flw_" and 64 hex digits of RAND_bytes: 256 bits, so a plain
 * SHA-256 of it is a safe thing to store (no salt or slow hash needed; that
 * is for passwords people choose).  The lookup is by the hash's index; the
 * stored hash is then compared with CRYPTO_memcmp, in constant time.
 */
#include "tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../stdlib/format.h"

static const char *const role_names[] = { "user", "operator", "admin" };

int tok_role(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, role_names[i]) == 0) return i;
    return -1;
}

const char *tok_role_name(TokRole role)
{
    return role_names[role];
}

/* SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up
 * on every digest, three quarters of hashing a token on each request. */
static EVP_MD *sha256_md;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int sha256(const char *text, size_t len, unsigned char out[32])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_sha256);
    unsigned int n = 0;
    return sha256_md && EVP_Digest(text, len, out, &n, sha256_md, NULL) == 1 && n == 32 ? 0 : -1;
}

int64_t tok_create(Store *store, int64_t org, TokRole role, char out[TOK_TEXT_LEN + 1], char *err, size_t errlen)
{
    unsigned char random[TOK_RANDOM_BYTES], hash[32];
    if (RAND_bytes(random, sizeof random) != 1) {
        snprintf(err, errlen, "no random bytes for a token");
        return -1;
    }
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(TOK_PREFIX);
    memcpy(out, TOK_PREFIX, n);
    for (size_t i = 0; i < sizeof random; i++) {
        out[n++] = hex[random[i] >> 4];
        out[n++] = hex[random[i] & 15];
    }
    out[n] = '\0';
    if (sha256(out, n, hash) != 0) {
        snprintf(err, errlen, "SHA-256 failed");
        return -1;
    }
    sqlite3_stmt *st = store_stmt(store, "INSERT INTO api_tokens (org, role, hash, created) VALUES (?1, ?2, ?3, ?4)");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_int64(st, 1, org);
    sqlite3_bind_text(st, 2, role_names[role], -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, hash, sizeof hash, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, store_wall_clock());
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    int64_t id = sqlite3_last_insert_rowid(store->db);
    char detail[64];
    snprintf(detail, sizeof detail, "token %lld role %s", (long long)id, role_names[role]);
    if (store_audit(store, org, "token.create", detail, err, errlen) != 0) return -1;
    return id;
}

int tok_hash(const char *token, unsigned char hash[32])
{
    size_t len = strlen(token);
    if (len != TOK_TEXT_LEN || strncmp(token, TOK_PREFIX, strlen(TOK_PREFIX)) != 0) return -1;
    return sha256(token, len, hash);
}

int tok_lookup(Store *store, const unsigned char hash[32], int64_t now, TokIdentity *who)
{
    sqlite3_stmt *st = store_stmt(store,
        "SELECT org, role, hash, id FROM api_tokens WHERE hash = ?1 AND revoked IS NULL"
        " AND (expires IS NULL OR expires > ?2)");
    if (!st) return -1;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 2) == 32 && CRYPTO_memcmp(sqlite3_column_blob(st, 2), hash, 32) == 0) {
        int r = tok_role((const char *)sqlite3_column_text(st, 1));
        if (r >= 0) {
            who->org = sqlite3_column_int64(st, 0);
            who->role = (TokRole)r;
            who->id = sqlite3_column_int64(st, 3);
            found = 1;
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_reset(st);
    return found;
}

int tok_check(Store *store, const char *token, int64_t now, TokIdentity *who)
{
    unsigned char hash[32];
    return tok_hash(token, hash) != 0 ? 0 : tok_lookup(store, hash, now, who);
}

void tok_actor(int64_t id, char out[32])
{
    snprintf(out, 32, "token %lld", (long long)id);
}

int tok_list(Store *store, int64_t org, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT id, role, created, revoked FROM api_tokens WHERE org = ?1 ORDER BY id");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_int64(st, 1, org);
    FmtBuf b;
    fmt_init(&b);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fmt_reset(&b);
        fmt_time(&b, sqlite3_column_int64(st, 2));
        fprintf(out, "%lld %s created %s%s\n", (long long)sqlite3_column_int64(st, 0),
                (const char *)sqlite3_column_text(st, 1), b.data,
                sqlite3_column_type(st, 3) == SQLITE_NULL ? "" : " revoked");
    }
    fmt_free(&b);
    sqlite3_reset(st);
    return 0;
}

int tok_revoke(Store *store, int64_t org, int64_t id, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "UPDATE api_tokens SET revoked = ?3 WHERE id = ?1 AND org = ?2 AND revoked IS NULL");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, org);
    sqlite3_bind_int64(st, 3, store_wall_clock());
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    if (sqlite3_changes(store->db) == 0) return 1;
    char detail[64];
    snprintf(detail, sizeof detail, "token %lld", (long long)id);
    return store_audit(store, org, "token.revoke", detail, err, errlen);
}
