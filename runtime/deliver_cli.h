/*
 * deliver_cli.h - flowvm's delivery commands: deliver, smtp, webhooks,
 * groups.  Each takes the store's path, the organisation's name and the
 * command's arguments (args[0] is the command's own name); returns the
 * process's exit status and prints its own messages.
 */
#ifndef FLOW_RUNTIME_DELIVER_CLI_H
#define FLOW_RUNTIME_DELIVER_CLI_H

int dcli_deliver(const char *db, const char *org, int nargs, char **args);
int dcli_smtp(const char *db, const char *org, int nargs, char **args);
int dcli_webhooks(const char *db, const char *org, int nargs, char **args);
int dcli_groups(const char *db, const char *org, int nargs, char **args);

#endif
