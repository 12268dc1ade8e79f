/*
 * value.h - run-time values, the vocabulary shared by the VM, the built-ins
 * and the runtime.
 *
 * A Value is 16 bytes: a tag and a payload.  Integral kinds (int bytes
 * duration time) hold an int64, float and percent a double; strings, lists
 * and records point at immutable blocks owned by whoever made them (a run's
 * arena, an artifact's constant pool, or the embedder).  Values carry their
 * unit so that text, JSON and serialized state need no static types.
 */
#ifndef FLOW_VALUE_H
#define FLOW_VALUE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    VAL_NIL,       /* an absent optional: an email without html, a webhook without params */
    VAL_BOOL,
    VAL_INT,
    VAL_BYTES,
    VAL_DURATION,
    VAL_TIME,
    VAL_FLOAT,
    VAL_PERCENT,
    VAL_STR,       /* string, email and url alike */
    VAL_LIST,
    VAL_RECORD,
    VAL_NTAGS
} ValTag;

typedef struct VStr VStr;
typedef struct VList VList;
typedef struct VRecord VRecord;

typedef struct Value {
    uint32_t tag;          /* ValTag */
    union {
        bool b;
        int64_t i;         /* INT BYTES DURATION TIME */
        double f;          /* FLOAT PERCENT */
        const VStr *s;
        const VList *l;
        const VRecord *r;
    } as;
} Value;

struct VStr {
    uint32_t len;          /* bytes, not counting the NUL */
    char data[];           /* UTF-8, NUL-terminated */
};

/* depth: how deeply lists and records nest in this one, 1 when its items
 * hold none.  The VM and the loaders bound it (VAL_MAX_DEPTH) so that the
 * recursive walks of equality, formatting and serialization stay shallow;
 * values made by an embedder may leave it 0 (taken as 1). */
#define VAL_MAX_DEPTH 64

struct VList {
    uint32_t len;
    uint32_t depth;
    Value items[];
};

struct VRecord {
    uint32_t len;
    uint32_t depth;
    const VStr *const *keys;   /* len keys, shared by every record of one shape */
    Value values[];
};

static inline bool val_is_integral(ValTag tag)
{
    return tag == VAL_INT || tag == VAL_BYTES || tag == VAL_DURATION || tag == VAL_TIME;
}

static inline Value val_nil(void) { Value v = { .tag = VAL_NIL }; return v; }
static inline Value val_bool(bool b) { Value v = { .tag = VAL_BOOL, .as.b = b }; return v; }
static inline Value val_integral(ValTag tag, int64_t i) { Value v = { .tag = tag, .as.i = i }; return v; }
static inline Value val_real(ValTag tag, double f) { Value v = { .tag = tag, .as.f = f }; return v; }
static inline Value val_str(const VStr *s) { Value v = { .tag = VAL_STR, .as.s = s }; return v; }
static inline Value val_list(const VList *l) { Value v = { .tag = VAL_LIST, .as.l = l }; return v; }
static inline Value val_record(const VRecord *r) { Value v = { .tag = VAL_RECORD, .as.r = r }; return v; }

/* The nesting depth of a value: 0 for scalars and strings. */
static inline uint32_t val_depth(const Value *v)
{
    uint32_t d = v->tag == VAL_LIST ? v->as.l->depth : v->tag == VAL_RECORD ? v->as.r->depth : 0;
    return (v->tag == VAL_LIST || v->tag == VAL_RECORD) && d == 0 ? 1 : d;
}

/* Deep equality: same kind and same contents; int-family and float-family
 * numbers compare by value across tags of the same unit only. */
bool val_equal(const Value *a, const Value *b);

#endif
