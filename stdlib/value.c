/*
 * value.c - deep equality of run-time values.
 */
#include "value.h"

#include <string.h>

static bool is_number_tag(uint32_t tag) { return tag == VAL_INT || tag == VAL_FLOAT; }

static double as_double(const Value *v)
{
    return v->tag == VAL_FLOAT ? v->as.f : (double)v->as.i;
}

bool val_equal(const Value *a, const Value *b)
{
    if (a->tag != b->tag) {
        /* int and float are one unit: 3 == 3.0 */
        if (is_number_tag(a->tag) && is_number_tag(b->tag)) return as_double(a) == as_double(b);
        return false;
    }
    switch ((ValTag)a->tag) {
    case VAL_NIL: return true;
    case VAL_BOOL: return a->as.b == b->as.b;
    case VAL_INT:
    case VAL_BYTES:
    case VAL_DURATION:
    case VAL_TIME: return a->as.i == b->as.i;
    case VAL_FLOAT:
    case VAL_PERCENT: return a->as.f == b->as.f;
    case VAL_STR:
        return a->as.s == b->as.s ||
               (a->as.s->len == b->as.s->len && memcmp(a->as.s->data, b->as.s->data, a->as.s->len) == 0);
    case VAL_LIST:
        if (a->as.l == b->as.l) return true;
        if (a->as.l->len != b->as.l->len) return false;
        for (uint32_t i = 0; i < a->as.l->len; i++)
            if (!val_equal(&a->as.l->items[i], &b->as.l->items[i])) return false;
        return true;
    case VAL_RECORD:
        if (a->as.r == b->as.r) return true;
        if (a->as.r->len != b->as.r->len) return false;
        for (uint32_t i = 0; i < a->as.r->len; i++) {
            Value ka = val_str(a->as.r->keys[i]), kb = val_str(b->as.r->keys[i]);
            if (!val_equal(&ka, &kb) || !val_equal(&a->as.r->values[i], &b->as.r->values[i]))
                return false;
        }
        return true;
    case VAL_NTAGS: break;
    }
    return false;
}
