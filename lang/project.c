/*
 * project.c - gathering the files of a project and running the front end.
 */
#include "project.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "parse.h"

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_flow_file(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && strcmp(name + len - 5, ".flow") == 0 && name[0] != '.';
}

/* Adds the folder's .flow files in name order; returns -1 when unreadable. */
static int add_folder(Project *p, const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!is_flow_file(entry->d_name)) continue;
        if (n == PROJECT_MAX_FILES) {
            fprintf(stderr, "flowc: '%s' holds more than %d .flow files; reading the first %d\n", path,
                    PROJECT_MAX_FILES, PROJECT_MAX_FILES);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        size_t len = strlen(path) + strlen(entry->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) break;
        snprintf(names[n], len, "%s/%s", path, entry->d_name);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i < n; i++) {
        int file = src_add_file(&p->sources, names[i]);
        if (file < 0) fprintf(stderr, "flowc: cannot read '%s': %s\n", names[i], strerror(errno));
        else parse_file(&p->prog, &p->diags, (uint32_t)file);
        free(names[i]);
    }
    free(names);
    return 0;
}

int project_load(Project *p, char *const *paths, int npaths)
{
    src_init(&p->sources);
    ast_program_init(&p->prog, &p->sources);
    diag_init(&p->diags, &p->sources);
    int missing = 0;
    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (add_folder(p, paths[i]) != 0) {
                fprintf(stderr, "flowc: cannot read folder '%s': %s\n", paths[i], strerror(errno));
                missing++;
            }
            continue;
        }
        int file = src_add_file(&p->sources, paths[i]);
        if (file < 0) {
            fprintf(stderr, "flowc: cannot read '%s': %s\n", paths[i], strerror(errno));
            missing++;
            continue;
        }
        parse_file(&p->prog, &p->diags, (uint32_t)file);
    }
    chk_program(&p->prog, &p->diags);
    return (int)p->diags.errors + missing;
}

void project_free(Project *p)
{
    diag_free(&p->diags);
    ast_program_free(&p->prog);
    src_free(&p->sources);
}
