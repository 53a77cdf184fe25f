/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who the kernel's OOM killer took in a user's slice: from /dev/kmsg when
 * its lines arrive in time, else the largest remembered task that is gone. */
#include <inttypes.h>
#include <stdio.h>

#include "act.h"
#include "escape.h"
#include "messages.h"
#include "oom-report.h"
#include "report.h"

#define ESC_COMM(s) escape_text((s), (char[ESCAPE_COMM_MAX]) {}, ESCAPE_COMM_MAX)

void oom_report_remember(User *u, const snapshot *s) {
        oom_report *o = &u->oom;

        o->n_hints = 0;
        for (size_t i = 0; i < s->slice.n_tasks; i++) {
                const procfs_task *t = &s->slice.tasks[i].task;
                size_t j;

                if (t->kernel_thread)
                        continue;
                /* Insertion into a short list sorted by RSS, largest first. */
                for (j = o->n_hints; j > 0 && o->hints[j - 1].rss_bytes < t->rss_bytes; j--)
                        if (j < OOM_REPORT_HINTS_MAX)
                                o->hints[j] = o->hints[j - 1];
                if (j >= OOM_REPORT_HINTS_MAX)
                        continue;
                o->hints[j] = (oom_hint) { .pid = t->pid, .start_time = t->start_time, .rss_bytes = t->rss_bytes };
                snprintf(o->hints[j].comm, sizeof o->hints[j].comm, "%s", t->comm);
                if (o->n_hints < OOM_REPORT_HINTS_MAX)
                        o->n_hints++;
        }
}

static void report_oom(User *u, pid_t pid, const char *comm, uint64_t rss, const char *source) {
        context *ctx = u->ctx;
        char rss_text[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX], text[512];
        record r;

        record_init(&r, MEMGOV_MESSAGE_KERNEL_OOM_KILL, "kernel-oom-kill", LOG_WARNING, ctx->dry_run);
        record_add_user(&r, u->uid, u->name, u->cgroup);
        record_add_memory(&r, u->memory.current, u->effective.memory_high, u->effective.memory_max,
                          u->pressure.some.avg10);
        record_add(&r, "MEMGOV_VICTIM_PID=%d", (int) pid);
        record_add(&r, "MEMGOV_VICTIM_COMM=%s", ESC_COMM(comm));
        if (rss > 0)
                record_add(&r, "MEMGOV_VICTIM_RSS_BYTES=%" PRIu64, rss);
        record_add(&r, "MEMGOV_SOURCE=%s", source);
        format_bytes(max, sizeof max, u->effective.memory_max);
        if (rss > 0)
                format_bytes(rss_text, sizeof rss_text, rss);
        else
                snprintf(rss_text, sizeof rss_text, "?");
        record_emit(&r, "The kernel OOM-killed pid %d (%s, RSS %s) of %s (%u) at MemoryMax=%s (from %s)", (int) pid,
                    ESC_COMM(comm), rss_text, u->name, (unsigned) u->uid, max, source);

        u->last_victim_pid = pid;
        u->last_kill_realtime = now_usec(CLOCK_REALTIME);
        snprintf(u->last_victim_comm, sizeof u->last_victim_comm, "%s", comm);
        ctx->status_dirty = true;

        snprintf(text, sizeof text,
                 "memgov: %s, your processes hit your memory limit (%s); the kernel killed %s (pid %d).\n", u->name,
                 max, ESC_COMM(comm), (int) pid);
        act_tell_user(u, text);
}

/* No kernel log line: the largest remembered task that is gone now. */
static void report_oom_fallback(User *u) {
        context *ctx = u->ctx;
        oom_report *o = &u->oom;

        for (size_t i = 0; i < o->n_hints && o->pending > 0; i++) {
                procfs_task t;

                if (o->hints[i].pid == 0)
                        continue;
                if (procfs_read_stat(ctx->procfs_fd, o->hints[i].pid, &t) >= 0 && t.start_time == o->hints[i].start_time &&
                    !procfs_state_is_dead(t.state))
                        continue;
                report_oom(u, o->hints[i].pid, o->hints[i].comm, o->hints[i].rss_bytes, "pid-set");
                o->hints[i].pid = 0;
                o->pending--;
        }
        for (; o->pending > 0; o->pending--)
                report_oom(u, 0, "unknown", 0, "memory.events");
}

void oom_report_retry(User *u) {
        context *ctx = u->ctx;
        oom_report *o = &u->oom;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        o->next_try = 0;
        if (ctx->kmsg.fd >= 0) {
                const kmsg_oom_kill *e;

                (void) kmsg_read(&ctx->kmsg);
                while (o->pending > 0 && (e = kmsg_find(&ctx->kmsg, u->uid, u->cgroup, o->last_seq))) {
                        report_oom(u, e->pid, e->comm, e->rss_bytes, "kmsg");
                        o->last_seq = e->seq;
                        o->pending--;
                }
                if (o->pending == 0)
                        return;
                if (now < o->deadline) {
                        o->next_try = now + OOM_REPORT_RETRY_USEC;
                        ctx->timer_dirty = true;
                        return;
                }
        }
        report_oom_fallback(u);
}

void oom_report_kills(User *u, uint64_t n) {
        oom_report *o = &u->oom;

        u->kernel_oom_kills += n;
        o->pending += (unsigned) n;
        o->deadline = now_usec(CLOCK_MONOTONIC) + OOM_REPORT_LOOKUP_USEC;
        u->ctx->status_dirty = true;
        oom_report_retry(u);
}
