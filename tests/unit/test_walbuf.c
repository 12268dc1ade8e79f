/*
 * test_walbuf.c - the log written a transaction at a time (runtime/walbuf.c)
 * against what sqlite promises: another connection sees each commit once it
 * returns, large transactions and transactions that spill pages (frames
 * written again before the log's end) stay intact, synchronous=FULL works,
 * and a process killed at any moment leaves every commit it saw return.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/walbuf.h"
#include "testing.h"

static char path[] = "/tmp/flow-walbuf-XXXXXX";

static sqlite3 *open_db(const char *pragmas)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
        sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "open %s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
        exit(2);
    }
    return db;
}

static int exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    return rc;
}

static long long scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *text_of(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    snprintf(out, size, "(none)");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static void remove_db(void)
{
    char side[sizeof path + 8];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* rows of n transactions of `per` rows each, `size` bytes a row */
static int insert(sqlite3 *db, int first, int per, int size)
{
    char sql[200];
    snprintf(sql, sizeof sql, "WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < %d)"
             " INSERT INTO t (n, pad) SELECT %d + v, randomblob(%d) FROM s", per - 1, first, size);
    return exec(db, sql);
}

static void visibility(const char *sync)
{
    char pragmas[160], got[64];
    snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", sync);
    sqlite3 *writer = open_db(pragmas), *reader = open_db(pragmas);
    CHECK(exec(writer, "CREATE TABLE t (n INTEGER PRIMARY KEY, pad BLOB)") == SQLITE_OK);
    int rows = 0;
    for (int i = 0; i < 200; i++) {   /* small commits, as a group commit makes them */
        CHECK(exec(writer, "BEGIN IMMEDIATE") == SQLITE_OK);
        CHECK(insert(writer, rows, 3, 100) == SQLITE_OK);
        CHECK(exec(writer, "COMMIT") == SQLITE_OK);
        rows += 3;
        if (scalar(reader, "SELECT count(*) FROM t") != rows) break;
    }
    CHECK(scalar(reader, "SELECT count(*) FROM t") == rows);
    CHECK(insert(writer, rows, 2000, 500) == SQLITE_OK);   /* about 1.2 MB: past the buffer many times */
    rows += 2000;
    CHECK(scalar(reader, "SELECT count(*) FROM t") == rows);
    /* a transaction that spills pages and writes them again before the end */
    CHECK(exec(writer, "PRAGMA cache_size = 10") == SQLITE_OK);
    CHECK(exec(writer, "BEGIN IMMEDIATE") == SQLITE_OK);
    for (int k = 0; k < 20; k++) CHECK(exec(writer, "UPDATE t SET pad = randomblob(300) WHERE n % 7 = 0") == SQLITE_OK);
    CHECK(insert(writer, rows, 500, 200) == SQLITE_OK);
    CHECK(exec(writer, "COMMIT") == SQLITE_OK);
    rows += 500;
    CHECK(scalar(reader, "SELECT count(*) FROM t") == rows);
    CHECK_STR(text_of(reader, "PRAGMA integrity_check", got, sizeof got), "ok");
    CHECK(exec(reader, "PRAGMA wal_checkpoint(PASSIVE)") == SQLITE_OK);
    CHECK(insert(writer, rows, 10, 100) == SQLITE_OK);   /* the log begins anew */
    rows += 10;
    CHECK(scalar(reader, "SELECT count(*) FROM t") == rows);
    sqlite3_close(writer);
    sqlite3_close(reader);
    sqlite3 *again = open_db("PRAGMA journal_mode=WAL;");
    CHECK(scalar(again, "SELECT count(*) FROM t") == rows);
    CHECK_STR(text_of(again, "PRAGMA integrity_check", got, sizeof got), "ok");
    sqlite3_close(again);
    remove_db();
}

/* A child commits transactions and reports each one that returned; it is
 * killed at a random moment; every reported commit must be there. */
static void killed(int round)
{
    int fds[2];
    if (pipe(fds) != 0) exit(2);
    sqlite3 *setup = open_db("PRAGMA journal_mode=WAL;");
    exec(setup, "CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, pad BLOB)");
    long long before = scalar(setup, "SELECT count(*) FROM t");
    sqlite3_close(setup);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        sqlite3 *db = open_db("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        for (int i = 0;; i++) {
            if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK || insert(db, (int)before + 1000000 * round + i * 5, 5, 300) ||
                exec(db, "COMMIT") != SQLITE_OK)
                _exit(3);
            int done = i + 1;
            if (write(fds[1], &done, sizeof done) != sizeof done) _exit(4);
        }
    }
    close(fds[1]);
    struct timespec pause = { 0, 20000000 + (long)(rand() % 60) * 1000000 };
    nanosleep(&pause, NULL);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    int reported = 0, n;
    while (read(fds[0], &n, sizeof n) == sizeof n) reported = n;
    close(fds[0]);
    sqlite3 *db = open_db("PRAGMA journal_mode=WAL;");
    long long rows = scalar(db, "SELECT count(*) FROM t") - before;
    char got[64];
    CHECK(reported > 0);
    CHECK(rows >= 5LL * reported && rows % 5 == 0);   /* every reported commit, and whole ones only */
    CHECK_STR(text_of(db, "PRAGMA integrity_check", got, sizeof got), "ok");
    sqlite3_close(db);
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0) return 2;
    close(fd);
    unlink(path);
    CHECK(walbuf_install() == SQLITE_OK);
    CHECK(walbuf_install() == SQLITE_OK);   /* once */
    CHECK(strcmp(sqlite3_vfs_find(NULL)->zName, "flow-walbuf") == 0);
    visibility("NORMAL");
    visibility("FULL");
    srand((unsigned)time(NULL));
    for (int round = 0; round < 10; round++) killed(round);
    remove_db();
    return testing_done();
}
