/*
 * commands.h - flowc's commands that turn checked projects into artifacts
 * and runs: build, dis, run.  Each takes the arguments after its name and
 * returns the process's exit status (0 done, 1 errors, 2 usage).
 */
#ifndef FLOW_COMMANDS_H
#define FLOW_COMMANDS_H

int cmd_build(int argc, char **argv);
int cmd_dis(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
