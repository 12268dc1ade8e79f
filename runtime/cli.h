/*
 * cli.h - the argument helpers flowvm's command files share: options are
 * taken out of the argument list as they are read, so that what is left over
 * is the positional arguments (or an unknown option to report).
 */
#ifndef FLOW_RUNTIME_CLI_H
#define FLOW_RUNTIME_CLI_H

#include <stdbool.h>

/* The value after option `name`, with both removed from args; NULL when absent. */
const char *cli_take(char **args, int *nargs, const char *name);
/* Is flag `name` present?  It is removed from args. */
bool cli_take_flag(char **args, int *nargs, const char *name);
/* Prints "flowvm: " and the message (fmt with one %s) to stderr; returns 1. */
int cli_fail(const char *fmt, const char *arg);

#endif
