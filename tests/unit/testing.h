/*
 * testing.h - the few macros the unit tests share.  Each test binary calls
 * CHECK for every assertion and ends main with `return testing_done();`,
 * which prints "N passed, N failed" and sets the exit status.
 */
#ifndef FLOW_TESTING_H
#define FLOW_TESTING_H

#include <stdio.h>
#include <string.h>

static int testing_passed, testing_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) testing_passed++;                                              \
        else {                                                                   \
            testing_failed++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_STR(got, want)                                                     \
    do {                                                                         \
        const char *got_ = (got), *want_ = (want);                               \
        if (got_ && want_ && strcmp(got_, want_) == 0) testing_passed++;         \
        else {                                                                   \
            testing_failed++;                                                    \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
                    got_ ? got_ : "(null)", want_ ? want_ : "(null)");          \
        }                                                                        \
    } while (0)

static inline int testing_done(void)
{
    printf("%d passed, %d failed\n", testing_passed, testing_failed);
    return testing_failed ? 1 : 0;
}

#endif
