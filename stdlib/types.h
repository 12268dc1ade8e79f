/*
 * types.h - the static types of the Flow language.
 *
 * One vocabulary of types shared by the checker (lang/), the artifact metadata
 * (vm/) and the runtime (which validates inputs, SIM records and event payloads
 * against the same types).  This file is not the type checker: it only names
 * types, prints them and parses their written form ("list<email>").
 */
#ifndef FLOW_TYPES_H
#define FLOW_TYPES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    TY_ERROR,    /* the type of an expression that already had an error */
    TY_VOID,     /* a sub without a return type; a statement */
    TY_BOOL,
    TY_INT,
    TY_FLOAT,
    TY_STRING,
    TY_BYTES,    /* a data size, integral bytes */
    TY_PERCENT,  /* a number of percent: 80% is 80.0 */
    TY_DURATION, /* integral seconds */
    TY_TIME,     /* integral seconds since the Unix epoch, UTC */
    TY_EMAIL,    /* a string checked to be an email address */
    TY_URL,      /* a string checked to be an https URL */
    TY_LIST,     /* list<elem> */
    TY_RECORD,   /* { name: type, ... }; a record without fields is any record */
    TY_EMPTY     /* the element type of the empty list literal []: fits any list */
} TypeKind;

/* Strings that may only hold one of a fixed set of words. */
typedef enum {
    DOM_NONE,
    DOM_STATUS,     /* sim.status, sim.status event's from/to */
    DOM_SIM_TYPE,   /* sim.type */
    DOM_IN_SESSION  /* sim.in_session */
} StrDomain;

typedef struct Type Type;
typedef struct TypeField {
    const char *name;
    const Type *type;
} TypeField;

struct Type {
    TypeKind kind;
    StrDomain domain;          /* TY_STRING only */
    const Type *elem;          /* TY_LIST only */
    const TypeField *fields;   /* TY_RECORD only; NULL with nfields 0: any record */
    int nfields;
};

/* The shared instances of the simple types; compare types with ty_equal. */
extern const Type ty_error, ty_void, ty_bool, ty_int, ty_float, ty_string,
    ty_bytes, ty_percent, ty_duration, ty_time, ty_email, ty_url, ty_empty,
    ty_status, ty_sim_type, ty_in_session, ty_list_string, ty_list_email,
    ty_any_record, ty_empty_list;

bool ty_equal(const Type *a, const Type *b);

/* Can a value of type `from` be used where `to` is expected?  Equal types,
 * int where float is expected, a domain string where a string is expected,
 * email/url where a string is expected, [] where any list is expected, and
 * lists of those, element-wise. */
bool ty_assignable(const Type *from, const Type *to);

/* Types whose values are int64 at run time (int bytes duration time) or
 * doubles (float percent). */
bool ty_is_integral(const Type *t);
bool ty_is_stringlike(const Type *t);   /* string email url */

/* Writes the written form ("list<email>", "{ a: int, b: string }") into buf,
 * always NUL-terminated; returns buf. */
const char *ty_name(const Type *t, char *buf, size_t size);

/* The words a domain allows, NULL-terminated; NULL for DOM_NONE. */
const char *const *ty_domain_words(StrDomain domain);
const char *ty_domain_name(StrDomain domain);

/* Parses the written form of a type usable in an `input` declaration or an
 * artifact's metadata: the simple type names and list<T> of them.  Returns a
 * pointer to a shared instance, or NULL when the text is not such a type. */
const Type *ty_parse(const char *text, size_t len);

#endif
