/*
 * walbuf.c - a VFS over the system's: a log's appended frames are gathered
 * until the frame that commits their transaction is complete (walbuf.h).
 *
 * The log's format (sqlite.org/fileformat2.html#walformat): a 32-byte header
 * at offset 0, written when a new log begins, then frames of a 24-byte
 * header and a page; bytes 4-7 of a frame header (big-endian) are the
 * database's size in pages for the frame that commits a transaction, 0 for
 * the others.  sqlite appends a frame as two writes, header then page.  It
 * also writes before the end of the log (a frame written again in the same
 * transaction, checksums written again): such writes go to the file at
 * once, after what is gathered, so that nothing written is left behind.
 * Each connection has its own log file handle and knows only the end it
 * wrote: after another connection began the log anew and wrote less, this
 * one writes as it comes (correct, only slower) until it begins it itself.
 */
#include "walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Bytes gathered at most (a larger transaction is written as it grows): the
 * system VFS writes at most 128 KB - 1 in one call. */
#define WALBUF_MAX (96 * 1024)
#define FRAME_HEADER 24

typedef struct WalFile {
    sqlite3_file base;          /* its methods: log_methods */
    sqlite3_file *real;         /* the system VFS's file, after this struct */
    unsigned char *buf;         /* writes not made yet: [buf_at, buf_at + buf_len) */
    sqlite3_int64 buf_at;
    int buf_len;
    sqlite3_int64 end;          /* the end of what is written, gathered or not */
    bool commit_page_next;      /* a commit frame's header came: its page ends the transaction */
} WalFile;

/* where the system's file lives, aligned as sqlite aligns its own */
#define REAL_OFFSET ((sizeof(WalFile) + 7) & ~(size_t)7)
#define REAL(file) (((WalFile *)(file))->real)

static sqlite3_vfs *system_vfs;
static sqlite3_vfs walbuf_vfs;
static sqlite3_io_methods log_methods;

static int flush(WalFile *f)
{
    if (!f->buf_len) return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, f->buf_len, f->buf_at);
    f->buf_len = 0;
    return rc;
}

static bool is_commit_header(const void *data, int amount)
{
    const unsigned char *h = data;
    return amount == FRAME_HEADER && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int log_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    WalFile *f = (WalFile *)file;
    if (offset == 0) f->end = 0;   /* a new log begins with its header */
    bool appends = f->buf_len ? offset == f->buf_at + f->buf_len : offset >= f->end;
    bool ends_transaction = f->commit_page_next && amount != FRAME_HEADER;
    f->commit_page_next = is_commit_header(data, amount);
    if (offset + amount > f->end) f->end = offset + amount;
    int rc = SQLITE_OK;
    if (!appends || f->buf_len + amount > WALBUF_MAX) rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    if (!appends || amount > WALBUF_MAX) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    if (!f->buf_len) f->buf_at = offset;
    memcpy(f->buf + f->buf_len, data, (size_t)amount);
    f->buf_len += amount;
    return ends_transaction ? flush(f) : SQLITE_OK;
}

static int log_close(sqlite3_file *file)
{
    WalFile *f = (WalFile *)file;
    int rc = flush(f);
    int closed = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

/* The methods that look at the file: what is gathered is written first. */
static int log_read(sqlite3_file *file, void *out, int amount, sqlite3_int64 offset)
{
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xRead(REAL(file), out, amount, offset);
}

static int log_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    WalFile *f = (WalFile *)file;
    int rc = flush(f);
    if (size < f->end) f->end = size;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int log_sync(sqlite3_file *file, int flags)
{
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int log_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int log_file_control(sqlite3_file *file, int op, void *arg)
{
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

/* The rest as the system's file does it. */
static int log_lock(sqlite3_file *file, int lock) { return REAL(file)->pMethods->xLock(REAL(file), lock); }
static int log_unlock(sqlite3_file *file, int lock) { return REAL(file)->pMethods->xUnlock(REAL(file), lock); }
static int log_check_reserved(sqlite3_file *file, int *out)
{
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}
static int log_sector_size(sqlite3_file *file) { return REAL(file)->pMethods->xSectorSize(REAL(file)); }
static int log_device(sqlite3_file *file) { return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file)); }

static int walbuf_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
    (void)vfs;
    /* every other file is the system VFS's own, in the space sqlite gave */
    if (!(flags & SQLITE_OPEN_WAL)) return system_vfs->xOpen(system_vfs, name, file, flags, out_flags);
    WalFile *f = (WalFile *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)((char *)file + REAL_OFFSET);
    int rc = system_vfs->xOpen(system_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK || !f->real->pMethods) return rc;
    if (f->real->pMethods->xFileSize(f->real, &f->end) != SQLITE_OK) f->end = 0;
    if (!(f->buf = malloc(WALBUF_MAX))) {
        f->real->pMethods->xClose(f->real);
        return SQLITE_NOMEM;
    }
    f->base.pMethods = &log_methods;
    return SQLITE_OK;
}

static int install_rc = SQLITE_ERROR;

static void install(void)
{
    if (!(system_vfs = sqlite3_vfs_find(NULL))) return;
    walbuf_vfs = *system_vfs;   /* every other call as the system's VFS makes it */
    walbuf_vfs.zName = "flow-walbuf";
    walbuf_vfs.pNext = NULL;
    walbuf_vfs.szOsFile = (int)REAL_OFFSET + system_vfs->szOsFile;
    walbuf_vfs.xOpen = walbuf_open;
    log_methods = (sqlite3_io_methods){
        .iVersion = 1,   /* a log is neither shared memory nor memory-mapped */
        .xClose = log_close, .xRead = log_read, .xWrite = log_write, .xTruncate = log_truncate,
        .xSync = log_sync, .xFileSize = log_file_size, .xLock = log_lock, .xUnlock = log_unlock,
        .xCheckReservedLock = log_check_reserved, .xFileControl = log_file_control,
        .xSectorSize = log_sector_size, .xDeviceCharacteristics = log_device,
    };
    install_rc = sqlite3_vfs_register(&walbuf_vfs, 1);
}

int walbuf_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
    return install_rc;
}
