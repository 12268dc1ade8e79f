/*
 * project.h - a project as flowc reads it: the .flow files of the paths
 * given (a folder: its *.flow files, sorted by name), parsed and checked
 * together as one program.
 */
#ifndef FLOW_PROJECT_H
#define FLOW_PROJECT_H

#include <stdbool.h>

#include "ast.h"
#include "diag.h"
#include "source.h"

/* Folders hold at most this many .flow files. */
#define PROJECT_MAX_FILES 10000

typedef struct Project {
    SourceSet sources;
    Program prog;
    DiagSink diags;
} Project;

/* Reads, parses and checks the paths (files and folders) as one project;
 * returns the number of errors (in project->diags, unprinted; an unreadable
 * path is one of them).  Always call project_free afterwards. */
int project_load(Project *project, char *const *paths, int npaths);
void project_free(Project *project);

/* The same in steps: open, add paths (parsed as they come), check. */
void project_open(Project *project);
void project_add(Project *project, const char *path);
int project_check(Project *project);

bool project_is_folder(const char *path);

#endif
