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
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ast.h"
#include "check.h"
#include "commands.h"
#include "diag.h"
#include "parse.h"
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

/* A project: the .flow files compiled together. */
typedef struct FileList {
    char **paths;
    size_t n, cap;
} FileList;

static void files_add(FileList *proj, const char *path)
{
    if (proj->n == proj->cap) {
        proj->cap = proj->cap ? proj->cap * 2 : 16;
        proj->paths = realloc(proj->paths, proj->cap * sizeof *proj->paths);
        if (!proj->paths) {
            fputs("flowc: out of memory\n", stderr);
            exit(70);
        }
    }
    proj->paths[proj->n] = strdup(path);
    if (!proj->paths[proj->n]) {
        fputs("flowc: out of memory\n", stderr);
        exit(70);
    }
    proj->n++;
}

static void files_free(FileList *proj)
{
    for (size_t i = 0; i < proj->n; i++) free(proj->paths[i]);
    free(proj->paths);
    proj->paths = NULL;
    proj->n = proj->cap = 0;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The *.flow files of a folder, sorted by name (not recursive).  Returns
 * false with errno set when the folder cannot be read. */
static bool files_from_folder(FileList *proj, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    size_t dlen = strlen(dir);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (len <= 5 || strcmp(ent->d_name + len - 5, ".flow") != 0 || ent->d_name[0] == '.') continue;
        char *path = malloc(dlen + len + 2);
        if (!path) {
            fputs("flowc: out of memory\n", stderr);
            exit(70);
        }
        sprintf(path, "%s%s%s", dir, slash ? "" : "/", ent->d_name);
        if (!is_directory(path)) files_add(proj, path);
        free(path);
    }
    closedir(d);
    qsort(proj->paths, proj->n, sizeof *proj->paths, compare_paths);
    return true;
}

/* Reads and parses every file of the project into prog; a file that cannot
 * be read is an error of its own. */
static void parse_files(const FileList *proj, SourceSet *sources, DiagSink *diags, Program *prog)
{
    for (size_t i = 0; i < proj->n; i++) {
        int file = src_add_file(sources, proj->paths[i]);
        if (file < 0) {
            int err = errno;
            int placeholder = src_add_text(sources, proj->paths[i], "", 0);
            if (placeholder < 0) continue;
            diag_add(diags, DIAG_ERROR, (Span){ (uint32_t)placeholder, 0, 0 }, "cannot read '%s': %s",
                     proj->paths[i], err == EFBIG ? "file too large" : strerror(err));
            continue;
        }
        parse_file(prog, diags, (uint32_t)file);
    }
}

/* Checks one project; prints its diagnostics to stderr. */
static int check_files(const FileList *proj, bool werror)
{
    SourceSet sources;
    DiagSink diags;
    Program prog;
    src_init(&sources);
    diag_init(&diags, &sources);
    ast_program_init(&prog, &sources);
    parse_files(proj, &sources, &diags, &prog);
    chk_program(&prog, &diags);
    diag_print(&diags, stderr);
    int status = diags.errors || (werror && diags.warnings) ? EXIT_ERRORS : EXIT_CLEAN;
    ast_program_free(&prog);
    diag_free(&diags);
    src_free(&sources);
    return status;
}

/* ------------------------------------------------------------ commands */

static int cmd_check(int argc, char **argv)
{
    bool werror = false;
    FileList files = { NULL, 0, 0 };
    int status = EXIT_CLEAN, npaths = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--werror") == 0) werror = true;
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            files_free(&files);
            return usage_error("unknown option '%s' for 'check'", argv[i]);
        }
        else npaths++;
    }
    if (npaths == 0) return usage_error("%s", "check: no files or folders given");
    for (int i = 0; i < argc; i++) {
        const char *path = argv[i];
        if (strcmp(path, "--werror") == 0) continue;
        if (is_directory(path)) {
            FileList proj = { NULL, 0, 0 };
            if (!files_from_folder(&proj, path)) {
                fprintf(stderr, "%s: error: cannot read folder '%s': %s\n", path, path, strerror(errno));
                status = EXIT_ERRORS;
            } else if (check_files(&proj, werror) != EXIT_CLEAN) {
                status = EXIT_ERRORS;
            }
            files_free(&proj);
        } else {
            files_add(&files, path);
        }
    }
    if (files.n && check_files(&files, werror) != EXIT_CLEAN) status = EXIT_ERRORS;
    files_free(&files);
    return status;
}

static int cmd_parse(int argc, char **argv)
{
    if (argc != 1) return usage_error("%s", "parse: give exactly one file");
    if (argv[0][0] == '-' && argv[0][1] != '\0') return usage_error("unknown option '%s' for 'parse'", argv[0]);
    FileList proj = { NULL, 0, 0 };
    files_add(&proj, argv[0]);
    SourceSet sources;
    DiagSink diags;
    Program prog;
    src_init(&sources);
    diag_init(&diags, &sources);
    ast_program_init(&prog, &sources);
    parse_files(&proj, &sources, &diags, &prog);
    ast_dump(&prog, stdout);
    fflush(stdout);
    diag_print(&diags, stderr);
    int status = diags.errors ? EXIT_ERRORS : EXIT_CLEAN;
    ast_program_free(&prog);
    diag_free(&diags);
    src_free(&sources);
    files_free(&proj);
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
