/*
 * deploy_cli.h - flowvm's deployment commands (spec/deployments.md): deploy,
 * approve, versions, diff, rollback, enable, disable, delete, restore, flows,
 * users, audit, export, import.  Takes the store's path, the organisation's
 * name and the command's arguments (args[0] is the command's name); returns
 * the process's exit status and prints its own messages.
 */
#ifndef FLOW_RUNTIME_DEPLOY_CLI_H
#define FLOW_RUNTIME_DEPLOY_CLI_H

#include <stdbool.h>

/* Is `cmd` one of this module's commands? */
bool lcli_handles(const char *cmd);
int lcli_run(const char *db, const char *org, int nargs, char **args);

#endif
