/*
 * tokens.h - the HTTP API's bearer tokens: made at random, shown once, kept
 * only as their SHA-256, each bound to one organisation and one role.
 *
 * Not here: who may do what with a role (http.c), users (deploy.c).
 */
#ifndef FLOW_RUNTIME_TOKENS_H
#define FLOW_RUNTIME_TOKENS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define TOK_PREFIX "flw_"
#define TOK_RANDOM_BYTES 32
#define TOK_TEXT_LEN (sizeof TOK_PREFIX - 1 + 2 * TOK_RANDOM_BYTES)   /* without the NUL */

typedef enum { TOK_USER, TOK_OPERATOR, TOK_ADMIN } TokRole;

/* The role named `name` ("user" "operator" "admin"); -1 for another name. */
int tok_role(const char *name);
const char *tok_role_name(TokRole role);

/* Makes a token of `org` with `role`, stores its hash and writes the token
 * (TOK_TEXT_LEN characters and a NUL) into `out`.  Returns the token's id,
 * or -1 with err set. */
int64_t tok_create(Store *store, int64_t org, TokRole role, char out[TOK_TEXT_LEN + 1], char *err, size_t errlen);

/* Who a live token is: its organisation, role and id; the id names it as
 * the actor of what it does ("token 7": drafts and approvals by two tokens
 * are by two actors, so maker-checker holds over the API). */
typedef struct TokIdentity {
    int64_t id, org;
    TokRole role;
} TokIdentity;

/* Looks `token` up: 1 with *who when it is a live token (not revoked, not
 * expired at `now`), 0 when it is not, -1 on a store error. */
int tok_check(Store *store, const char *token, int64_t now, TokIdentity *who);

/* The two halves of tok_check, for a caller that keeps what it looked up
 * (by hash, never the token): the SHA-256 of a well-formed token (-1 when
 * it is not one), and the lookup of a hash. */
int tok_hash(const char *token, unsigned char hash[32]);
int tok_lookup(Store *store, const unsigned char hash[32], int64_t now, TokIdentity *who);

/* The actor name of token `id` in audit rows and versions: "token ID". */
void tok_actor(int64_t id, char out[32]);

/* `flowvm tokens list`: id, role, created, revoked of the organisation's tokens. */
int tok_list(Store *store, int64_t org, FILE *out, char *err, size_t errlen);

/* Revokes token `id` of `org` at once (the next request with it is 401).
 * 0; 1 when there is no such live token; -1 with err. */
int tok_revoke(Store *store, int64_t org, int64_t id, char *err, size_t errlen);

#endif
