/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* memgovd's two log channels. Plain lines on stderr are the main channel:
 * journald captures them under systemd and they still work without it
 * (sd_journal_send reports success even when nobody listens). Each event
 * gets one structured record with MESSAGE_ID and MEMGOV_* fields instead,
 * which admins and the tests filter on; it is copied to stderr only when
 * stderr is not the journal, so each record is exactly one journal entry.
 * A plain line never carries a control character: a newline would let the
 * text after it become a journal entry of its own, with a priority of its
 * choosing. Every user-controlled argument is still passed through
 * escape_text() by the caller, which keeps it readable. Records are built in a
 * fixed buffer on the stack: logging a kill must not depend on malloc. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <syslog.h>

#include "util.h"

/* Detects whether stderr is the journal ($JOURNAL_STREAM), so lines get a
 * "<N>" priority prefix there and stay plain on a terminal. */
void log_setup(void);
/* Lowest priority that is printed (LOG_DEBUG with $MEMGOV_DEBUG). */
void log_set_max_priority(int prio);

void log_full(int prio, const char *fmt, ...) _printf_(2, 3);
/* Logs with errno set from -r (for %m) and returns -|r|, so callers can
 * "return log_error_errno(r, ...)". */
int log_full_errno(int prio, int r, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)
#define log_debug_errno(r, ...)   log_full_errno(LOG_DEBUG, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, r, __VA_ARGS__)
#define log_error_errno(r, ...)   log_full_errno(LOG_ERR, r, __VA_ARGS__)

#define RECORD_FIELDS_MAX 40
#define RECORD_BUF_SIZE 6144

typedef struct record {
        struct iovec iov[RECORD_FIELDS_MAX];
        size_t n_iov;
        char buf[RECORD_BUF_SIZE];
        size_t used;
        int priority;
} record;

/* event: one of limit, warn, kill, kernel-oom-kill, config-error, refused. */
void record_init(record *r, const char *message_id, const char *event, int priority, bool dry_run);
/* Adds one FIELD=value; silently dropped when the record is full. */
void record_add(record *r, const char *fmt, ...) _printf_(2, 3);
/* MEMGOV_UID, MEMGOV_USER, MEMGOV_SLICE. */
void record_add_user(record *r, uid_t uid, const char *user, const char *cgroup);
/* MEMGOV_USAGE_BYTES, MEMGOV_HIGH_BYTES, MEMGOV_MAX_BYTES, MEMGOV_PSI_SOME_AVG10.
 * Limits are printed as "infinity" when unlimited. */
void record_add_memory(record *r, uint64_t usage, uint64_t high, uint64_t max, double psi_some_avg10);
/* Formats MESSAGE and sends the record to the journal (and to stderr when
 * stderr is not the journal). */
void record_emit(record *r, const char *fmt, ...) _printf_(2, 3);

/* "infinity" or the decimal bytes, for record fields. */
const char *format_limit_field(char *buf, size_t size, uint64_t v);
