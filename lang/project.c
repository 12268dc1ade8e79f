/*
 * project.c - gathering the files of a project and running the front end.
 * Nothing here prints: unreadable files and folders become diagnostics.
 */
#include "project.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "parse.h"

static void out_of_memory(void)
{
    fputs("flowc: out of memory\n", stderr);
    exit(70);
}

bool project_is_folder(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* An error about a path that has no source of its own: it gets an empty
 * placeholder source so that the diagnostic prints as `path: error: ...`. */
static void path_error(Project *p, const char *path, const char *what, int err)
{
    int placeholder = src_add_text(&p->sources, path, "", 0);
    if (placeholder < 0) return;
    diag_add(&p->diags, DIAG_ERROR, (Span){ (uint32_t)placeholder, 0, 0 }, "cannot read %s'%s': %s", what, path,
             err == EFBIG ? "file too large" : strerror(err));
}

static void add_file(Project *p, const char *path)
{
    int file = src_add_file(&p->sources, path);
    if (file < 0) path_error(p, path, "", errno);
    else parse_file(&p->prog, &p->diags, (uint32_t)file);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the folder's *.flow files (not recursive) in name order. */
static void add_folder(Project *p, const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        path_error(p, path, "folder ", errno);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    size_t plen = strlen(path);
    bool slash = plen > 0 && path[plen - 1] == '/';
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len <= 5 || strcmp(entry->d_name + len - 5, ".flow") != 0 || entry->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof *names);
            if (!names) out_of_memory();
        }
        names[n] = malloc(plen + len + 2);
        if (!names[n]) out_of_memory();
        sprintf(names[n], "%s%s%s", path, slash ? "" : "/", entry->d_name);
        if (project_is_folder(names[n])) free(names[n]);
        else n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, compare_names);
    if (n > PROJECT_MAX_FILES) {
        int placeholder = src_add_text(&p->sources, path, "", 0);
        if (placeholder >= 0)
            diag_add(&p->diags, DIAG_ERROR, (Span){ (uint32_t)placeholder, 0, 0 },
                     "folder '%s' holds %zu .flow files; a project reads at most %d", path, n, PROJECT_MAX_FILES);
    } else {
        for (size_t i = 0; i < n; i++) add_file(p, names[i]);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void project_open(Project *p)
{
    src_init(&p->sources);
    ast_program_init(&p->prog, &p->sources);
    diag_init(&p->diags, &p->sources);
}

void project_add(Project *p, const char *path)
{
    if (project_is_folder(path)) add_folder(p, path);
    else add_file(p, path);
}

int project_check(Project *p)
{
    chk_program(&p->prog, &p->diags);
    return (int)p->diags.errors;
}

int project_load(Project *p, char *const *paths, int npaths)
{
    project_open(p);
    for (int i = 0; i < npaths; i++) project_add(p, paths[i]);
    return project_check(p);
}

void project_free(Project *p)
{
    diag_free(&p->diags);
    ast_program_free(&p->prog);
    src_free(&p->sources);
}
