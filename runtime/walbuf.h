/*
 * walbuf.h - the store's write-ahead log written a transaction at a time.
 *
 * sqlite writes each frame of its log with two system calls (its 24-byte
 * header, then the page): a commit of 24 pages costs 48 writes, most of a
 * small transaction's time (flowvm serve commits a group of single-event
 * requests at a time).  This module registers, as sqlite's default, a VFS
 * that is the system's own except for log files, whose appended frames are
 * gathered in memory and written at once when the frame that commits the
 * transaction is complete; anything else (a read, sync, truncation or size
 * of the log, a write before its end) writes what is gathered first.  A
 * commit is thus in the file before sqlite's commit returns, as before:
 * other connections, which learn of it only afterwards from the shared
 * index, and crash recovery see the same log.
 */
#ifndef FLOW_RUNTIME_WALBUF_H
#define FLOW_RUNTIME_WALBUF_H

/* Registers the VFS as the default, once per process (thread-safe).
 * SQLITE_OK, or an SQLite error code (sqlite's own VFS then stays the
 * default: slower, not otherwise different). */
int walbuf_install(void);

#endif
