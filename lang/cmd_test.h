/*
 * cmd_test.h - `flowc test PATH...`: the test blocks of a project, run on
 * flowvm's engine in an in-memory store.
 */
#ifndef FLOW_CMD_TEST_H
#define FLOW_CMD_TEST_H

int cmd_test(int argc, char **argv);

#endif
