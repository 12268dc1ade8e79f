/*
 * scope.c - scope and activation checks.
 */
#include "scope.h"

#include <string.h>

#include "../stdlib/catalog.h"

static bool same(const Value *v, const char *text)
{
    return v->tag == VAL_STR && strcmp(v->as.s->data, text) == 0;
}

bool scope_contains(const Artifact *flow, const Value *sim)
{
    if (flow->scope == ART_SCOPE_ALL) return true;
    if (!sim) return false;
    switch (flow->scope) {
    case ART_SCOPE_ICCIDS:
        for (uint32_t i = 0; i < flow->nscope_items; i++)
            if (same(&sim[SIM_ICCID], flow->scope_items[i])) return true;
        return false;
    case ART_SCOPE_TAGS: {
        const Value *tags = &sim[SIM_TAGS];
        if (tags->tag != VAL_LIST) return false;
        for (uint32_t t = 0; t < tags->as.l->len; t++)
            for (uint32_t i = 0; i < flow->nscope_items; i++)
                if (same(&tags->as.l->items[t], flow->scope_items[i])) return true;
        return false;
    }
    case ART_SCOPE_PACKAGE:
        return flow->nscope_items == 1 && same(&sim[SIM_PACKAGE], flow->scope_items[0]);
    case ART_SCOPE_POOL:
        return flow->nscope_items == 1 && same(&sim[SIM_POOL], flow->scope_items[0]);
    default:
        return false;
    }
}

bool scope_active(const Artifact *flow, int64_t time, int64_t deployed)
{
    int64_t from = flow->has_active_from ? flow->active_from : deployed;
    if (time < from) return false;
    if (flow->has_active_until) return time < flow->active_until;
    if (flow->active_for > 0) return time < from + flow->active_for;
    return true;
}
