/*
 * flowc.c - the Flow compiler's command line: a table of commands, each a
 * function that returns the process's exit status.
 *
 *   0  clean (warnings allowed unless --werror)
 *   1  errors in the sources
 *   2  usage errors: unknown command or option, missing arguments
 *
 * Only this file prints and exits; the library below reports into a DiagSink.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "check.h"
#include "cmd_test.h"
#include "commands.h"
#include "diag.h"
#include "parse.h"
#include "project.h"
#include "source.h"

#define FLOWC_VERSION "0.1.0"

enum { EXIT_CLEAN = 0, EXIT_ERRORS = 1, EXIT_USAGE = 2 };

/* ------------------------------------------------------------ usage */

static int usage_error(const char *fmt, const char *arg)
{
    fputs("flowc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nrun 'flowc --help' for usage\n", stderr);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------ projects */

/* Checks one project (a folder, or the files given together); prints its
 * diagnostics to stderr. */
static int check_project(char *const *paths, int npaths, bool werror)
{
    Project project;
    project_load(&project, paths, npaths);
    diag_print(&project.diags, stderr);
    int status = project.diags.errors || (werror && project.diags.warnings) ? EXIT_ERRORS : EXIT_CLEAN;
    project_free(&project);
    return status;
}

/* ------------------------------------------------------------ commands */

static int cmd_check(int argc, char **argv)
{
    bool werror = false;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, nfolders = 0, status = EXIT_CLEAN;
    if (!files) return EXIT_ERRORS;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--werror") == 0) werror = true;
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            free(files);
            return usage_error("unknown option '%s' for 'check'", argv[i]);
        } else if (project_is_folder(argv[i])) nfolders++;
        else files[nfiles++] = argv[i];
    }
    if (nfiles + nfolders == 0) {
        free(files);
        return usage_error("%s", "check: no files or folders given");
    }
    /* each folder is a project of its own; the files given together are one */
    for (int i = 0; i < argc; i++)
        if (project_is_folder(argv[i]) && check_project(&argv[i], 1, werror) != EXIT_CLEAN) status = EXIT_ERRORS;
    if (nfiles && check_project(files, nfiles, werror) != EXIT_CLEAN) status = EXIT_ERRORS;
    free(files);
    return status;
}

static int cmd_parse(int argc, char **argv)
{
    if (argc != 1) return usage_error("%s", "parse: give exactly one file");
    if (argv[0][0] == '-' && argv[0][1] != '\0') return usage_error("unknown option '%s' for 'parse'", argv[0]);
    Project project;
    project_open(&project);
    project_add(&project, argv[0]);
    ast_dump(&project.prog, stdout);
    fflush(stdout);
    diag_print(&project.diags, stderr);
    int status = project.diags.errors ? EXIT_ERRORS : EXIT_CLEAN;
    project_free(&project);
    return status;
}

static int cmd_help(int argc, char **argv);

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("flowc %s\n", FLOWC_VERSION);
    return EXIT_CLEAN;
}

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv: the arguments after the command's name */
    const char *args;
    const char *help;
} Command;

static const Command commands[] = {
    { "check", cmd_check, "[--werror] PATH...",
      "check sources: a folder is one project (its *.flow\n"
      "                              files); all file arguments together form one more" },
    { "parse", cmd_parse, "FILE", "print the syntax tree of one file" },
    { "build", cmd_build, "PATH... -o DIR", "compile a project into artifacts" },
    { "dis", cmd_dis, "FILE", "print an artifact readably" },
    { "run", cmd_run, "...", "run a flow on an event (see 'flowc run')" },
    { "test", cmd_test, "PATH...", "run the test blocks of a project" },
    { "--version", cmd_version, "", "print the version" },
    { "--help", cmd_help, "", "print this help" },
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: flowc COMMAND [ARGS]\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        printf("  %-28s%s\n", head, commands[i].help);
    }
    printf("\nexit status: 0 clean, 1 errors, 2 usage errors\n");
    return EXIT_CLEAN;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cmd_help(0, NULL);
        return EXIT_USAGE;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) return cmd_help(0, NULL);
    return usage_error("unknown command '%s'", argv[1]);
}
