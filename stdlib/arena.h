/*
 * arena.h - memory by lifetime: allocate many small blocks, free them at once.
 *
 * The front end keeps its AST in one arena per compilation; the VM gives each
 * run an arena with a cap, so that a run that builds too much fails with a
 * precise error instead of exhausting the machine.
 */
#ifndef FLOW_ARENA_H
#define FLOW_ARENA_H

#include <stddef.h>

typedef struct ArenaChunk ArenaChunk;

typedef struct Arena {
    ArenaChunk *head;     /* the chunk allocations come from; older ones follow */
    size_t used;          /* bytes handed out since init or the last reset */
    size_t cap;           /* the most `used` may reach; 0: no cap */
} Arena;

void arena_init(Arena *arena, size_t cap);

/* Returns `size` bytes aligned to 16, zeroed, owned by the arena; NULL when the
 * cap would be exceeded or the system is out of memory. */
void *arena_alloc(Arena *arena, size_t size);

/* The same, aligned to 8 only: for nodes made of pointers, 64-bit integers
 * and doubles, which then pack without padding to 16. */
void *arena_alloc_packed(Arena *arena, size_t size);

/* Returns a NUL-terminated copy of text[0..len), owned by the arena, or NULL. */
char *arena_strndup(Arena *arena, const char *text, size_t len);

/* Forgets every allocation but keeps the first chunk for reuse. */
void arena_reset(Arena *arena);

/* Frees every chunk; the arena may be initialised again. */
void arena_free(Arena *arena);

#endif
