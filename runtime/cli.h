/*
 * cli.h - the argument helpers flowvm's command files share: options are
 * taken out of the argument list as they are read, so that what is left over
 * is the positional arguments (or an unknown option to report).
 */
#ifndef FLOW_RUNTIME_CLI_H
#define FLOW_RUNTIME_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* The value after option `name`, with both removed from args; NULL when absent. */
const char *cli_take(char **args, int *nargs, const char *name);
/* Is flag `name` present?  It is removed from args. */
bool cli_take_flag(char **args, int *nargs, const char *name);
/* Is one of args[from..nargs) an option (a '-' and more)?  It is reported
 * as unknown on stderr. */
bool cli_leftover(char *const *args, int nargs, int from);
/* An RFC 3339 time; false with the refusal printed on stderr. */
bool cli_parse_time(const char *text, int64_t *out);
/* Prints "flowvm: " and the message (fmt with one %s) to stderr; returns 1. */
int cli_fail(const char *fmt, const char *arg);

#endif
