/*
 * project.h - a project as flowc reads it: the .flow files of the paths
 * given (a folder: its *.flow files, sorted by name), parsed and checked
 * together as one program.
 */
#ifndef FLOW_PROJECT_H
#define FLOW_PROJECT_H

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

/* Reads, parses and checks; returns the number of errors (reported in
 * project->diags, unprinted).  Always call project_free afterwards. */
int project_load(Project *project, char *const *paths, int npaths);
void project_free(Project *project);

#endif
