/*
 * sims.c - SIM records: the cached table the engine works on, and the
 * inventory commands.
 */
#include "sims.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../stdlib/validate.h"
#include "json.h"

/* ============================================================ packing */

/* A record's strings and lists live in one malloc'd block, so that a cached
 * SIM costs one allocation and is freed at once. */
static size_t value_bytes(const Value *v)
{
    if (v->tag == VAL_STR) return (sizeof(VStr) + v->as.s->len + 1 + 15) & ~(size_t)15;
    if (v->tag != VAL_LIST) return 0;
    size_t n = (sizeof(VList) + v->as.l->len * sizeof(Value) + 15) & ~(size_t)15;
    for (uint32_t i = 0; i < v->as.l->len; i++) n += value_bytes(&v->as.l->items[i]);
    return n;
}

static Value value_copy(const Value *v, char **cursor)
{
    if (v->tag == VAL_STR) {
        VStr *s = (VStr *)*cursor;
        *cursor += value_bytes(v);
        s->len = v->as.s->len;
        memcpy(s->data, v->as.s->data, s->len + 1);
        return val_str(s);
    }
    if (v->tag != VAL_LIST) return *v;
    VList *l = (VList *)*cursor;
    *cursor += (sizeof(VList) + v->as.l->len * sizeof(Value) + 15) & ~(size_t)15;
    l->len = v->as.l->len;
    l->depth = v->as.l->depth;
    for (uint32_t i = 0; i < l->len; i++) l->items[i] = value_copy(&v->as.l->items[i], cursor);
    return val_list(l);
}

static int pack(SimRec *rec, const Value *fields)
{
    size_t total = 16;
    for (int f = 0; f < SIM_NFIELDS; f++) total += value_bytes(&fields[f]);
    char *block = malloc(total);
    if (!block) return -1;
    char *cursor = block;
    Value copy[SIM_NFIELDS];
    for (int f = 0; f < SIM_NFIELDS; f++) copy[f] = value_copy(&fields[f], &cursor);
    free(rec->block);
    rec->block = block;
    memcpy(rec->f, copy, sizeof copy);
    rec->scope_gen = 0;
    return 0;
}

static bool same_tags(const Value *a, const Value *b)
{
    return val_equal(a, b);
}

/* ============================================================ the table */

struct SimTable {
    Store *store;
    struct Slot { uint64_t hash; SimRec *rec; } *slots;   /* open addressing by ICCID; rec NULL: empty */
    size_t cap, count;
    SimRec **dirty;          /* the records changed since the last flush (SimRec.listed) */
    size_t ndirty, dirty_cap;
};

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

SimTable *sims_new(Store *store)
{
    SimTable *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->store = store;
    t->cap = 1024;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void sims_forget(SimTable *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].rec) continue;
        free(t->slots[i].rec->block);
        free(t->slots[i].rec);
        t->slots[i].rec = NULL;
    }
    t->count = 0;
    t->ndirty = 0;
}

void sims_free(SimTable *t)
{
    if (!t) return;
    sims_forget(t);
    free(t->slots);
    free(t->dirty);
    free(t);
}

static struct Slot *slot_of(SimTable *t, const char *iccid)
{
    uint64_t h = hash_text(iccid);
    size_t i = h & (t->cap - 1);
    while (t->slots[i].rec && (t->slots[i].hash != h || strcmp(t->slots[i].rec->f[SIM_ICCID].as.s->data, iccid) != 0))
        i = (i + 1) & (t->cap - 1);
    t->slots[i].hash = h;   /* the key's hash, for an insertion into an empty slot */
    return &t->slots[i];
}

static int insert(SimTable *t, SimRec *rec)
{
    if ((t->count + 1) * 2 > t->cap) {
        size_t old_cap = t->cap;
        struct Slot *old = t->slots;
        t->slots = calloc(old_cap * 2, sizeof *t->slots);
        if (!t->slots) {
            t->slots = old;
            return -1;
        }
        t->cap = old_cap * 2;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].rec) slot_of(t, old[i].rec->f[SIM_ICCID].as.s->data)->rec = old[i].rec;
        free(old);
    }
    slot_of(t, rec->f[SIM_ICCID].as.s->data)->rec = rec;
    t->count++;
    return 0;
}

char *sims_doc(const Value *fields)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return NULL;
    for (int f = 0; f < SIM_NFIELDS; f++) cJSON_AddItemToObject(doc, cat_sim_fields[f].name, json_from_value(&fields[f]));
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

/* Reads one record from the store; 1 when there is none. */
static int load(SimTable *t, const char *iccid, SimRec **out, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(t->store, "SELECT s.id, s.org, s.doc, u.last_usage, u.sim IS NOT NULL, u.month_usage,"
                                            " u.data_left, u.days_left FROM sims s LEFT JOIN sim_usage u ON u.sim = s.id"
                                            " WHERE s.iccid = ?1");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(t->store));
        return -1;
    }
    sqlite3_bind_text(st, 1, iccid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 1;
    }
    if (rc != SQLITE_ROW) {
        snprintf(err, errlen, "store: reading SIM %s: %s", iccid, store_errmsg(t->store));
        sqlite3_reset(st);
        return -1;
    }
    SimRec *rec = calloc(1, sizeof *rec);
    cJSON *doc = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
    Arena arena;
    arena_init(&arena, 0);
    Value fields[SIM_NFIELDS];
    int status = -1;
    if (!rec || !doc) snprintf(err, errlen, "SIM %s: its stored record is not valid JSON", iccid);
    else if (json_to_sim(doc, &arena, fields, err, errlen) == 0) {
        if (sqlite3_column_int(st, 4)) {   /* sim_usage's fields win over the doc's */
            fields[SIM_MONTH_USAGE].as.i = sqlite3_column_int64(st, 5);
            fields[SIM_DATA_LEFT].as.i = sqlite3_column_int64(st, 6);
            fields[SIM_DAYS_LEFT].as.i = sqlite3_column_int64(st, 7);
        }
        if (pack(rec, fields) == 0) status = 0;
    }
    if (status == 0) {
        rec->id = sqlite3_column_int64(st, 0);
        rec->org = sqlite3_column_int64(st, 1);
        rec->last_usage = sqlite3_column_int64(st, 3);
        if (insert(t, rec) != 0) status = -1;
    }
    sqlite3_reset(st);
    cJSON_Delete(doc);
    arena_free(&arena);
    if (status != 0) {
        if (rec) free(rec->block);
        free(rec);
        return -1;
    }
    *out = rec;
    return 0;
}

int sims_get(SimTable *t, const char *iccid, SimRec **out, char *err, size_t errlen)
{
    SimRec *rec = slot_of(t, iccid)->rec;
    if (rec) {
        *out = rec;
        return 0;
    }
    return load(t, iccid, out, err, errlen);
}

/* Only numbers, times, booleans changed (a usage event): set in place, no
 * repacking. */
static bool scalars_only(const SimRec *rec, const Value *fields)
{
    for (int f = 0; f < SIM_NFIELDS; f++) {
        const Value *a = &rec->f[f], *b = &fields[f];
        if (a->tag == b->tag && a->tag < VAL_STR) continue;
        if (a->tag == b->tag && memcmp(&a->as, &b->as, sizeof a->as) == 0) continue;   /* the record's own copy */
        return false;
    }
    return true;
}

int sims_touch(SimTable *t, SimRec *rec)
{
    rec->dirty = true;
    if (rec->listed) return 0;
    if (t->ndirty == t->dirty_cap) {
        size_t cap = t->dirty_cap ? t->dirty_cap * 2 : 1024;
        SimRec **grown = realloc(t->dirty, cap * sizeof *grown);
        if (!grown) return -1;
        t->dirty = grown;
        t->dirty_cap = cap;
    }
    t->dirty[t->ndirty++] = rec;
    rec->listed = true;
    return 0;
}

int sims_set(SimTable *t, SimRec *rec, const Value *fields)
{
    if (!same_tags(&rec->f[SIM_TAGS], &fields[SIM_TAGS])) rec->tags_dirty = true;
    for (int f = 0; f < SIM_NFIELDS && !rec->doc_dirty; f++)
        if (f != SIM_MONTH_USAGE && f != SIM_DATA_LEFT && f != SIM_DAYS_LEFT && !val_equal(&rec->f[f], &fields[f]))
            rec->doc_dirty = true;
    if (sims_touch(t, rec) != 0) return -1;
    if (scalars_only(rec, fields)) {
        memcpy(rec->f, fields, sizeof rec->f);
        return 0;
    }
    return pack(rec, fields);
}

static int write_tags(Store *store, int64_t sim, const Value *tags, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "DELETE FROM sim_tags WHERE sim = ?1");
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, sim);
    if (store_step_done(store, st, err, errlen) != 0) return -1;
    for (uint32_t i = 0; tags->tag == VAL_LIST && i < tags->as.l->len; i++) {
        st = store_stmt(store, "INSERT OR IGNORE INTO sim_tags (tag, sim) VALUES (?1, ?2)");
        if (!st) goto fail;
        sqlite3_bind_text(st, 1, tags->as.l->items[i].as.s->data, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, sim);
        if (store_step_done(store, st, err, errlen) != 0) return -1;
    }
    return 0;
fail:
    snprintf(err, errlen, "store: %s", store_errmsg(store));
    return -1;
}

/* The SIM's sim_usage row: updated (it has one since its import), inserted
 * when it has none. */
static int write_usage(Store *store, SimRec *rec, char *err, size_t errlen)
{
    static const char *const sql[2] = {
        "UPDATE sim_usage SET month_usage = ?2, data_left = ?3, days_left = ?4, last_usage = ?5 WHERE sim = ?1",
        "INSERT INTO sim_usage (sim, month_usage, data_left, days_left, last_usage) VALUES (?1, ?2, ?3, ?4, ?5)",
    };
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = store_stmt(store, sql[i]);
        if (!st) {
            snprintf(err, errlen, "store: %s", store_errmsg(store));
            return -1;
        }
        sqlite3_bind_int64(st, 1, rec->id);
        sqlite3_bind_int64(st, 2, rec->f[SIM_MONTH_USAGE].as.i);
        sqlite3_bind_int64(st, 3, rec->f[SIM_DATA_LEFT].as.i);
        sqlite3_bind_int64(st, 4, rec->f[SIM_DAYS_LEFT].as.i);
        if (rec->last_usage) sqlite3_bind_int64(st, 5, rec->last_usage);
        if (store_step_done(store, st, err, errlen) != 0) return -1;
        if (sqlite3_changes(store->db) > 0) return 0;
    }
    return 0;
}

/* The doc and searched columns when they changed, sim_usage always. */
static int write_rec(Store *store, SimRec *rec, char *err, size_t errlen)
{
    if (rec->doc_dirty) {
        char *doc = sims_doc(rec->f);
        sqlite3_stmt *st = store_stmt(store, "UPDATE sims SET org = ?2, package = ?3, pool = ?4, status = ?5, doc = ?6,"
                                             " updated = ?7 WHERE id = ?1");
        if (!doc || !st) {
            free(doc);
            snprintf(err, errlen, "store: %s", doc ? store_errmsg(store) : "out of memory");
            return -1;
        }
        sqlite3_bind_int64(st, 1, rec->id);
        sqlite3_bind_int64(st, 2, rec->org);
        sqlite3_bind_text(st, 3, rec->f[SIM_PACKAGE].as.s->data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, rec->f[SIM_POOL].as.s->data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, rec->f[SIM_STATUS].as.s->data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, doc, -1, free);
        sqlite3_bind_int64(st, 7, store_wall_clock());
        if (store_step_done(store, st, err, errlen) != 0) return -1;
    }
    if (write_usage(store, rec, err, errlen) != 0) return -1;
    if (rec->tags_dirty && write_tags(store, rec->id, &rec->f[SIM_TAGS], err, errlen) != 0) return -1;
    rec->dirty = rec->doc_dirty = rec->tags_dirty = false;
    return 0;
}

static int cmp_rec_id(const void *a, const void *b)
{
    int64_t x = (*(SimRec *const *)a)->id, y = (*(SimRec *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Each changed record written once, in id order (the B-trees walked forward). */
int sims_flush(SimTable *t, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < t->ndirty; i++) {
        SimRec *rec = t->dirty[i];
        rec->listed = false;
        if (rec->dirty || rec->doc_dirty || rec->tags_dirty) t->dirty[n++] = rec;
    }
    t->ndirty = 0;
    if (n > 1) qsort(t->dirty, n, sizeof *t->dirty, cmp_rec_id);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = write_rec(t->store, t->dirty[i], err, errlen);
    return rc != 0 ? -1 : 0;
}

void sims_trim(SimTable *t)
{
    if (t->count > SIMS_CACHE_MAX) sims_forget(t);   /* memory stays flat */
}

int sims_put(SimTable *t, int64_t org, const Value *fields, bool move, char *err, size_t errlen)
{
    const char *iccid = fields[SIM_ICCID].as.s->data;
    SimRec *rec = NULL;
    int rc = sims_get(t, iccid, &rec, err, errlen);
    if (rc < 0) return -1;
    if (rc == 1) {
        sqlite3_stmt *st = store_stmt(t->store, "INSERT INTO sims (iccid, org, doc, updated) VALUES (?1, ?2, '{}', ?3)");
        if (!st) {
            snprintf(err, errlen, "store: %s", store_errmsg(t->store));
            return -1;
        }
        sqlite3_bind_text(st, 1, iccid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, org);
        sqlite3_bind_int64(st, 3, store_wall_clock());
        if (store_step_done(t->store, st, err, errlen) != 0) return -1;
        rec = calloc(1, sizeof *rec);
        if (!rec || pack(rec, fields) != 0 || insert(t, rec) != 0) {
            if (rec) free(rec->block);
            free(rec);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        rec->id = sqlite3_last_insert_rowid(t->store->db);
        rec->org = org;
        rec->tags_dirty = rec->doc_dirty = true;
    } else {
        if (rec->org != org && !move) {
            snprintf(err, errlen, "SIM %s belongs to another organisation (use 'flowvm sims transfer')", iccid);
            return -1;
        }
        if (rec->org != org) rec->doc_dirty = true;
        rec->org = org;
        if (sims_set(t, rec, fields) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return write_rec(t->store, rec, err, errlen);
}

/* ============================================================ import */

/* Splits one CSV line into cells (RFC 4180 quoting within the line). */
static int csv_cells(char *line, char **cells, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return -1;
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') return -1;
                if (*p == '"' && p[1] == '"') { *out++ = '"'; p += 2; continue; }
                if (*p == '"') { p++; break; }
                *out++ = *p++;
            }
            if (*p != ',' && *p != '\0') return -1;
        } else {
            while (*p && *p != ',') *out++ = *p++;
        }
        char end = *p;
        *out = '\0';
        cells[n++] = start;
        if (end == '\0') break;
        p++;
    }
    return n;
}

/* A CSV cell as the JSON its field's type takes: numbers for integral and
 * real types, tags separated by ';', the rest strings. */
static cJSON *csv_json(const char *cell, const Type *type)
{
    if (type->kind == TY_LIST) {
        cJSON *array = cJSON_CreateArray();
        const char *p = cell;
        while (array && *p) {
            const char *semi = strchr(p, ';');
            size_t len = semi ? (size_t)(semi - p) : strlen(p);
            char *tag = strndup(p, len);
            if (tag && *tag) cJSON_AddItemToArray(array, cJSON_CreateString(tag));
            free(tag);
            p += len + (semi ? 1 : 0);
        }
        return array;
    }
    if (type->kind == TY_INT || type->kind == TY_BYTES || type->kind == TY_DURATION || type->kind == TY_FLOAT ||
        type->kind == TY_PERCENT) {
        char *end;
        errno = 0;
        double d = strtod(cell, &end);
        if (end == cell || *end || errno) return cJSON_CreateString(cell);   /* refused by its type */
        return cJSON_CreateNumber(d);
    }
    if (type->kind == TY_BOOL) {
        if (strcmp(cell, "true") == 0) return cJSON_CreateTrue();
        if (strcmp(cell, "false") == 0) return cJSON_CreateFalse();
    }
    return cJSON_CreateString(cell);
}

typedef struct Importer {
    Store *store;
    SimTable *table;
    int64_t org;
    FILE *report;
    SimsImportReport *rep;
    int header[SIM_NFIELDS * 2];
    int ncols;
    bool csv, have_header;
} Importer;

static void reject(Importer *im, long line, const char *why)
{
    im->rep->rejected++;
    if (im->report) fprintf(im->report, "line %ld: %s\n", line, why);
}

/* One row as a JSON object; NULL with why set. */
static cJSON *row_json(Importer *im, char *line, char *why, size_t whylen)
{
    if (!im->csv) {
        const char *end = NULL;
        cJSON *obj = cJSON_ParseWithOpts(line, &end, 1);
        if (!obj) snprintf(why, whylen, "not valid JSON (near byte %ld)", end ? (long)(end - line) : 0L);
        else if (!cJSON_IsObject(obj)) {
            snprintf(why, whylen, "a SIM is a JSON object");
            cJSON_Delete(obj);
            obj = NULL;
        }
        return obj;
    }
    char *cells[SIM_NFIELDS * 2];
    int n = csv_cells(line, cells, SIM_NFIELDS * 2);
    if (n != im->ncols) {
        snprintf(why, whylen, "%d cells, but the header has %d (or a quote is not closed)", n < 0 ? 0 : n, im->ncols);
        return NULL;
    }
    cJSON *obj = cJSON_CreateObject();
    for (int i = 0; obj && i < n; i++) {
        if (cells[i][0] == '\0' && im->header[i] != SIM_ICCID) continue;   /* empty: left out */
        const CatSimField *f = &cat_sim_fields[im->header[i]];
        cJSON_AddItemToObject(obj, f->name, csv_json(cells[i], f->type));
    }
    return obj;
}

static int header_line(Importer *im, char *line, char *err, size_t errlen)
{
    char *cells[SIM_NFIELDS * 2];
    int n = csv_cells(line, cells, SIM_NFIELDS * 2);
    if (n <= 0) {
        snprintf(err, errlen, "line 1: the CSV header cannot be read");
        return -1;
    }
    bool has_iccid = false;
    for (int i = 0; i < n; i++) {
        char *name = cells[i];
        while (*name == ' ') name++;
        int f = cat_sim_field_find(name, strlen(name));
        if (f < 0) {
            snprintf(err, errlen, "line 1: unknown SIM field \"%.60s\" in the header", name);
            return -1;
        }
        for (int k = 0; k < i; k++)
            if (im->header[k] == f) {
                snprintf(err, errlen, "line 1: \"%s\" appears twice in the header", name);
                return -1;
            }
        im->header[i] = f;
        has_iccid |= f == SIM_ICCID;
    }
    if (!has_iccid) {
        snprintf(err, errlen, "line 1: the header has no \"iccid\" column");
        return -1;
    }
    im->ncols = n;
    im->have_header = true;
    return 0;
}

/* Merges the row over the SIM's stored record, validates, writes. */
static void import_row(Importer *im, long lineno, char *line)
{
    char why[320];
    cJSON *row = row_json(im, line, why, sizeof why);
    if (!row) {
        reject(im, lineno, why);
        return;
    }
    im->rep->rows++;
    const char *iccid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "iccid"));
    cJSON *merged = row;
    SimRec *rec = NULL;
    char err[320];
    if (iccid && sims_get(im->table, iccid, &rec, err, sizeof err) == 0 && rec->org == im->org) {
        char *doc = sims_doc(rec->f);
        merged = doc ? cJSON_Parse(doc) : NULL;
        free(doc);
        if (!merged) merged = row;
        else
            for (cJSON *item = row->child; item; item = item->next)
                cJSON_ReplaceItemInObjectCaseSensitive(merged, item->string, cJSON_Duplicate(item, 1));
        /* a new quota or usage without data_left recomputes it */
        if ((cJSON_HasObjectItem(row, "quota") || cJSON_HasObjectItem(row, "month_usage")) &&
            !cJSON_HasObjectItem(row, "data_left"))
            cJSON_DeleteItemFromObjectCaseSensitive(merged, "data_left");
    }
    Arena arena;
    arena_init(&arena, 0);
    Value fields[SIM_NFIELDS];
    if (json_to_sim(merged, &arena, fields, why, sizeof why) != 0) reject(im, lineno, why);
    else if (sims_put(im->table, im->org, fields, false, why, sizeof why) != 0) reject(im, lineno, why);
    else im->rep->imported++;
    arena_free(&arena);
    if (merged != row) cJSON_Delete(merged);
    cJSON_Delete(row);
}

int sims_import(Store *store, int64_t org, const char *path, bool skip_invalid, FILE *report,
                SimsImportReport *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    int status = sims_import_stream(store, org, in, path, skip_invalid, report, rep, err, errlen);
    if (in != stdin) fclose(in);
    return status;
}

int sims_import_stream(Store *store, int64_t org, FILE *in, const char *label, bool skip_invalid, FILE *report,
                       SimsImportReport *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    Importer im = { .store = store, .org = org, .report = report, .rep = rep };
    im.table = sims_new(store);
    char *line = malloc(SIMS_MAX_LINE + 2);
    int status = -1;
    if (!im.table || !line || store_begin(store, err, errlen) != 0) goto done;
    long lineno = 0;
    bool first = true, too_long = false;
    while (fgets(line, SIMS_MAX_LINE + 2, in)) {
        size_t len = strlen(line);
        bool complete = len > 0 && line[len - 1] == '\n';
        if (too_long) {           /* the rest of an over-long line */
            if (complete) too_long = false;
            continue;
        }
        lineno++;
        if (!complete && len > SIMS_MAX_LINE) {
            reject(&im, lineno, "the line is longer than 65536 bytes");
            too_long = true;
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') continue;
        if (first) {
            first = false;
            im.csv = *p != '{';
            if (im.csv) {
                if (header_line(&im, p, err, errlen) != 0) goto rollback;
                continue;
            }
        }
        import_row(&im, lineno, p);
    }
    if (ferror(in)) {
        snprintf(err, errlen, "reading '%s': %s", label, strerror(errno));
        goto rollback;
    }
    if (rep->rejected && !skip_invalid) {
        status = 1;
        rep->imported = 0;
        goto rollback;
    }
    char detail[128];
    snprintf(detail, sizeof detail, "%d SIMs imported, %d rows rejected", rep->imported, rep->rejected);
    /* usage fields alone change no row with a trigger (store.h) */
    if (store_raise_engine_gen(store, org, err, errlen) < 0 || store_audit(store, org, "sims.import", detail, err, errlen) != 0 ||
        store_commit(store, err, errlen) != 0)
        goto rollback;
    status = rep->rejected ? 1 : 0;
    goto done;
rollback:
    store_rollback(store);
done:
    sims_free(im.table);
    free(line);
    return status;
}

/* ============================================================ list, show, transfer */

int sims_list(Store *store, int64_t org, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store,
        "SELECT iccid, status, package, pool, (SELECT group_concat(tag, ';') FROM sim_tags WHERE sim = sims.id)"
        " FROM sims WHERE org = ?1 ORDER BY iccid");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_int64(st, 1, org);
    fprintf(out, "%-22s %-17s %-14s %-12s %s\n", "ICCID", "STATUS", "PACKAGE", "POOL", "TAGS");
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *tags = (const char *)sqlite3_column_text(st, 4);
        fprintf(out, "%-22s %-17s %-14s %-12s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                sqlite3_column_text(st, 2), sqlite3_column_text(st, 3), tags ? tags : "");
        n++;
    }
    sqlite3_reset(st);
    fprintf(out, "%d SIM%s\n", n, n == 1 ? "" : "s");
    return 0;
}

int sims_show(Store *store, int64_t org, const char *iccid, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = store_stmt(store, "SELECT " SIMS_DOC_SQL("s", "u") " FROM sims s LEFT JOIN sim_usage u ON u.sim = s.id"
                                         " WHERE s.iccid = ?1 AND s.org = ?2");
    if (!st) {
        snprintf(err, errlen, "store: %s", store_errmsg(store));
        return -1;
    }
    sqlite3_bind_text(st, 1, iccid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, org);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        snprintf(err, errlen, "no SIM %s in this organisation", iccid);
        return -1;
    }
    cJSON *doc = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    char *text = doc ? cJSON_Print(doc) : NULL;
    fprintf(out, "%s\n", text ? text : "{}");
    free(text);
    cJSON_Delete(doc);
    return 0;
}

int sims_transfer(Store *store, int64_t from, const char *iccid, int64_t to, char *err, size_t errlen)
{
    if (store_begin(store, err, errlen) != 0) return -1;
    sqlite3_stmt *st = store_stmt(store, "UPDATE sims SET org = ?3, updated = ?4 WHERE iccid = ?1 AND org = ?2");
    if (!st) goto fail;
    sqlite3_bind_text(st, 1, iccid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int64(st, 4, store_wall_clock());
    if (store_step_done(store, st, err, errlen) != 0) goto rollback;
    if (sqlite3_changes(store->db) != 1) {
        snprintf(err, errlen, "no SIM %s in this organisation", iccid);
        goto rollback;
    }
    /* the old organisation's edge state for it goes; its parked runs end
     * when they resume (the SIM is no longer theirs) */
    st = store_stmt(store, "DELETE FROM trigger_state WHERE sim = (SELECT id FROM sims WHERE iccid = ?1)"
                           " AND flow IN (SELECT id FROM flows WHERE org = ?2)");
    if (!st) goto fail;
    sqlite3_bind_text(st, 1, iccid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    if (store_step_done(store, st, err, errlen) != 0) goto rollback;
    char detail[160];
    snprintf(detail, sizeof detail, "SIM %s transferred to organisation %lld", iccid, (long long)to);
    if (store_audit(store, from, "sims.transfer", detail, err, errlen) != 0) goto rollback;
    return store_commit(store, err, errlen) == 0 ? 0 : (store_rollback(store), -1);
fail:
    snprintf(err, errlen, "store: %s", store_errmsg(store));
rollback:
    store_rollback(store);
    return -1;
}
