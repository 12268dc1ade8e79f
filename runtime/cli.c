/*
 * cli.c - argument helpers of the flowvm command line.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "../stdlib/format.h"

const char *cli_take(char **args, int *nargs, const char *name)
{
    for (int i = 0; i + 1 < *nargs; i++)
        if (strcmp(args[i], name) == 0) {
            const char *value = args[i + 1];
            memmove(&args[i], &args[i + 2], (size_t)(*nargs - i - 2) * sizeof *args);
            *nargs -= 2;
            return value;
        }
    return NULL;
}

bool cli_take_flag(char **args, int *nargs, const char *name)
{
    for (int i = 0; i < *nargs; i++)
        if (strcmp(args[i], name) == 0) {
            memmove(&args[i], &args[i + 1], (size_t)(*nargs - i - 1) * sizeof *args);
            (*nargs)--;
            return true;
        }
    return false;
}

int cli_fail(const char *fmt, const char *arg)
{
    fputs("flowvm: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

bool cli_leftover(char *const *args, int nargs, int from)
{
    for (int i = from; i < nargs; i++)
        if (args[i][0] == '-' && args[i][1]) {
            fprintf(stderr, "flowvm: unknown option '%s'\n", args[i]);
            return true;
        }
    return false;
}

bool cli_parse_time(const char *text, int64_t *out)
{
    if (!fmt_parse_time(text, strlen(text), out)) {
        fprintf(stderr, "flowvm: '%s' is not an RFC 3339 time\n", text);
        return false;
    }
    return true;
}
