/*
 * arena.c - chunked bump allocation.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_ALIGN_PACKED 8
#define ARENA_CHUNK_MIN (64 * 1024)

struct ArenaChunk {
    ArenaChunk *next;
    size_t size;     /* bytes of data[] */
    size_t fill;     /* bytes of data[] handed out */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(Arena *arena, size_t cap)
{
    arena->head = NULL;
    arena->used = 0;
    arena->cap = cap;
}

static ArenaChunk *chunk_new(size_t size, ArenaChunk *next)
{
    ArenaChunk *chunk = malloc(sizeof *chunk + size);
    if (!chunk) return NULL;
    chunk->next = next;
    chunk->size = size;
    chunk->fill = 0;
    return chunk;
}

/* Rounds the chunk's fill up to `align`, then hands out `size` bytes rounded
 * up to `align`.  Chunks start 16-aligned, so any power of two up to 16 works. */
static void *alloc_aligned(Arena *arena, size_t size, size_t align)
{
    if (size > SIZE_MAX / 2) return NULL;
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (rounded == 0) rounded = align;
    ArenaChunk *chunk = arena->head;
    size_t start = chunk ? (chunk->fill + align - 1) & ~(align - 1) : 0;
    if (!chunk || start > chunk->size || chunk->size - start < rounded) {
        size_t want = rounded > ARENA_CHUNK_MIN ? rounded : ARENA_CHUNK_MIN;
        if (chunk && chunk->size * 2 > want && chunk->size < 16 * 1024 * 1024) want = chunk->size * 2;
        if (arena->cap && rounded > arena->cap - arena->used) return NULL;
        ArenaChunk *fresh = chunk_new(want, chunk);
        if (!fresh) return NULL;
        arena->head = chunk = fresh;
        start = 0;
    }
    size_t charged = rounded + (start - chunk->fill);
    if (arena->cap && charged > arena->cap - arena->used) return NULL;
    void *block = chunk->data + start;
    chunk->fill = start + rounded;
    arena->used += charged;
    memset(block, 0, size);
    return block;
}

void *arena_alloc(Arena *arena, size_t size)
{
    return alloc_aligned(arena, size, ARENA_ALIGN);
}

void *arena_alloc_packed(Arena *arena, size_t size)
{
    return alloc_aligned(arena, size, ARENA_ALIGN_PACKED);
}

char *arena_strndup(Arena *arena, const char *text, size_t len)
{
    char *copy = arena_alloc(arena, len + 1);
    if (!copy) return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

void arena_reset(Arena *arena)
{
    ArenaChunk *chunk = arena->head;
    if (!chunk) return;
    /* keep the oldest chunk: it is the one sized for the common case */
    while (chunk->next) {
        ArenaChunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    chunk->fill = 0;
    arena->head = chunk;
    arena->used = 0;
}

void arena_free(Arena *arena)
{
    ArenaChunk *chunk = arena->head;
    while (chunk) {
        ArenaChunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    arena->head = NULL;
    arena->used = 0;
}
