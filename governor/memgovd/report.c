/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
/* The call site would always be record_emit(): not worth a field. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "report.h"

static bool log_prefix;
static int log_max_priority = LOG_INFO;

void log_setup(void) {
        const char *e;
        struct stat st;
        unsigned long long dev, ino;

        /* Only prefix "<N>" when stderr really is the journal stream systemd
         * set up: a terminal or a pipe would show the prefix literally. */
        log_prefix = false;
        e = getenv("JOURNAL_STREAM");
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0)
                log_prefix = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;

        if (getenv("MEMGOV_DEBUG"))
                log_max_priority = LOG_DEBUG;
}

void log_set_max_priority(int prio) {
        log_max_priority = prio;
}

/* journald reads stderr line by line and takes a leading "<N>" as the
 * priority: a newline inside the text would start a second entry whose
 * priority and text come from whatever follows it. Callers escape what users
 * control (escape_text()); this is the backstop that makes a missed spot
 * harmless: no C0 control and no DEL ever reaches the stream. Backslashes are
 * left alone, so text escaped by the caller reads the same. */
static void log_line_defang(char *line) {
        for (unsigned char *p = (unsigned char *) line; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
}

static void log_va(int prio, const char *fmt, va_list ap) {
        char line[2048];
        int saved = errno;

        if (prio > log_max_priority)
                return;

        /* One write per line, so lines of a dying daemon never interleave. */
        errno = saved;
        vsnprintf(line, sizeof line, fmt, ap);
        log_line_defang(line);
        if (log_prefix)
                fprintf(stderr, "<%d>%s\n", prio, line);
        else
                fprintf(stderr, "memgovd: %s\n", line);
        errno = saved;
}

void log_full(int prio, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_va(prio, fmt, ap);
        va_end(ap);
}

int log_full_errno(int prio, int r, const char *fmt, ...) {
        va_list ap;

        r = r < 0 ? -r : r;
        errno = r;
        va_start(ap, fmt);
        log_va(prio, fmt, ap);
        va_end(ap);
        return -r;
}

static void record_addv(record *r, const char *fmt, va_list ap) {
        size_t room;
        int n;

        if (r->n_iov >= RECORD_FIELDS_MAX || r->used >= sizeof r->buf)
                return;
        room = sizeof r->buf - r->used;
        n = vsnprintf(r->buf + r->used, room, fmt, ap);
        if (n < 0)
                return;
        if ((size_t) n >= room)
                n = (int) room - 1;   /* truncated, still a valid FIELD=value */
        r->iov[r->n_iov++] = (struct iovec) { .iov_base = r->buf + r->used, .iov_len = (size_t) n };
        r->used += (size_t) n + 1;
}

void record_add(record *r, const char *fmt, ...) {
        va_list ap;

        assert(r);
        va_start(ap, fmt);
        record_addv(r, fmt, ap);
        va_end(ap);
}

void record_init(record *r, const char *message_id, const char *event, int priority, bool dry_run) {
        assert(r);
        assert(message_id);
        assert(event);

        r->n_iov = 0;
        r->used = 0;
        r->priority = priority;
        /* Slot 0 is reserved for MESSAGE, filled in by record_emit(). */
        r->iov[r->n_iov++] = (struct iovec) {};
        record_add(r, "MESSAGE_ID=%s", message_id);
        record_add(r, "PRIORITY=%d", priority);
        record_add(r, "SYSLOG_IDENTIFIER=memgovd");
        record_add(r, "MEMGOV_EVENT=%s", event);
        record_add(r, "MEMGOV_DRY_RUN=%d", dry_run ? 1 : 0);
}

const char *format_limit_field(char *buf, size_t size, uint64_t v) {
        if (v == BYTES_INFINITY)
                snprintf(buf, size, "infinity");
        else
                snprintf(buf, size, "%" PRIu64, v);
        return buf;
}

void record_add_user(record *r, uid_t uid, const char *user, const char *cgroup) {
        record_add(r, "MEMGOV_UID=%u", (unsigned) uid);
        if (user)
                record_add(r, "MEMGOV_USER=%s", user);
        if (cgroup)
                record_add(r, "MEMGOV_SLICE=%s", cgroup);
}

void record_add_memory(record *r, uint64_t usage, uint64_t high, uint64_t max, double psi_some_avg10) {
        char a[32], b[32];

        record_add(r, "MEMGOV_USAGE_BYTES=%" PRIu64, usage);
        record_add(r, "MEMGOV_HIGH_BYTES=%s", format_limit_field(a, sizeof a, high));
        record_add(r, "MEMGOV_MAX_BYTES=%s", format_limit_field(b, sizeof b, max));
        record_add(r, "MEMGOV_PSI_SOME_AVG10=%.2f", psi_some_avg10);
}

void record_emit(record *r, const char *fmt, ...) {
        char message[1024];
        char field[sizeof message + 16];
        va_list ap;
        int k;

        assert(r);

        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);

        /* One record, one journal entry: when stderr is the journal, a copy
         * there would be a second entry (and, before the backstop above, a
         * way to forge one). On a terminal the copy is all there is. */
        if (!log_prefix)
                log_full(r->priority, "%s", message);

        k = snprintf(field, sizeof field, "MESSAGE=%s", message);
        if (k < 0)
                return;
        r->iov[0] = (struct iovec) { .iov_base = field, .iov_len = strnlen(field, sizeof field) };
        /* sd_journal_sendv() copes with newlines inside values (MEMGOV_CANDIDATES). */
        (void) sd_journal_sendv(r->iov, (int) r->n_iov);
        r->iov[0] = (struct iovec) {};
}
