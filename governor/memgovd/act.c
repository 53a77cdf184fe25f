/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "act.h"
#include "escape.h"
#include "messages.h"
#include "notify.h"
#include "report.h"

/* Names users chose (comm, the cgroups in their user@UID.service) go to
 * the journal, the log and their terminals escaped; they are stored raw
 * (last_victim_comm, the kill round) and escaped at each sink. A buffer on the
 * stack for each use: the kill path allocates nothing. Long cgroup paths
 * are cut, never mid-escape. */
#define ACT_CGROUP_TEXT_MAX 1024
#define ESC_COMM(s) escape_text((s), (char[ESCAPE_COMM_MAX]) {}, ESCAPE_COMM_MAX)
#define ESC_CGROUP(s) escape_text((s), (char[ACT_CGROUP_TEXT_MAX]) {}, ACT_CGROUP_TEXT_MAX)

#define CANDIDATES_SHOWN 5
#define CANDIDATES_TEXT_MAX 1024

static const char *signal_name(int sig, char *buf, size_t size) {
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, size, "SIG%s", abbrev ? abbrev : "?");
        return buf;
}

/* Percent of MemoryMax, or of the machine when the user has no MemoryMax. */
static unsigned usage_percent(const User *u, uint64_t usage) {
        uint64_t max = u->effective.memory_max;
        if (max == BYTES_INFINITY || max == 0)
                max = u->ctx->mem_total;
        return max ? (unsigned) (usage * 100 / max) : 0;
}

/* Ranks the snapshot into the user's buffer; 0 ranked when it cannot grow
 * (the decision already names the victim: the table is only for the log). */
static size_t rank(User *u, const snapshot *s) {
        size_t n = s->slice.n_tasks;

        if (n == 0)
                return 0;
        if (n > u->n_ranked_alloc) {
                policy_candidate *p = realloc(u->ranked, n * sizeof *p);
                if (!p) {
                        log_warning("Out of memory ranking %zu tasks of %s; logging without the candidate table", n,
                                    u->cgroup);
                        return 0;
                }
                u->ranked = p;
                u->n_ranked_alloc = n;
        }
        policy_rank(&s->slice, &u->effective, u->config.policy, u->ranked);
        return n;
}

static void candidates_text(User *u, const snapshot *s, size_t n_ranked, size_t shown, char *buf, size_t size) {
        buf[0] = 0;
        strbuf_append(buf, size, "%-3s %-8s %-16s %10s %16s %s\n", "#", "PID", "COMM", "RSS", "SCORE", "PROTECTED");
        for (size_t i = 0; i < n_ranked && i < shown; i++) {
                const policy_candidate *c = &u->ranked[i];
                const procfs_task *t = &s->slice.tasks[c->index].task;
                char rss[FORMAT_BYTES_MAX];

                strbuf_append(buf, size, "%-3zu %-8d %-16s %10s %16" PRId64 " %s\n", i + 1, (int) t->pid, ESC_COMM(t->comm),
                              format_bytes(rss, sizeof rss, t->rss_bytes), c->score,
                              c->protect != PROTECT_NONE ? policy_protect_to_string(c->protect)
                              : c->soft != SOFT_NONE     ? policy_soft_to_string(c->soft)
                                                         : "-");
        }
        /* No trailing newline in a journal field. */
        size_t len = strlen(buf);
        if (len > 0 && buf[len - 1] == '\n')
                buf[len - 1] = 0;
}

void act_tell_user(User *u, const char *text) {
        context *ctx = u->ctx;
        size_t n = 0;
        int r;

        /* A dry run only logs: users hear nothing of it. */
        if (!ctx->notify_users || ctx->dry_run)
                return;
        r = notify_user_terminals(u->uid, ctx->cgroot_fd, u->cgroup, ctx->procfs_fd, text, &n);
        if (r < 0)
                log_debug_errno(r, "Cannot write to the terminals of %s: %m", u->name);
        else
                log_debug("Told %s on %zu terminal(s)", u->name, n);
}

static const procfs_task *find_task(const snapshot *s, pid_t pid) {
        for (size_t i = 0; i < s->slice.n_tasks; i++)
                if (s->slice.tasks[i].task.pid == pid)
                        return &s->slice.tasks[i].task;
        return NULL;
}

/* "820M used, 700M of it cache, 120M unreclaimable". */
void act_usage_text(const memstat_usage *u, char *buf, size_t size) {
        char total[FORMAT_BYTES_MAX], cache[FORMAT_BYTES_MAX], unrecl[FORMAT_BYTES_MAX];

        if (!u->known) {
                snprintf(buf, size, "%s used", format_bytes(total, sizeof total, u->total));
                return;
        }
        snprintf(buf, size, "%s used, %s of it cache, %s unreclaimable", format_bytes(total, sizeof total, u->total),
                 format_bytes(cache, sizeof cache, u->cache), format_bytes(unrecl, sizeof unrecl, u->unreclaimable));
}

void act_record_add_usage(record *r, const memstat_usage *u) {
        record_add(r, "MEMGOV_CACHE_BYTES=%" PRIu64, u->known ? u->cache : 0);
        record_add(r, "MEMGOV_UNRECLAIMABLE_BYTES=%" PRIu64, u->known ? u->unreclaimable : u->total);
}

void act_warn(User *u, const snapshot *s, const policy_decision *dec) {
        context *ctx = u->ctx;
        const user_config *uc = &u->effective;
        char table[CANDIDATES_TEXT_MAX], top[512] = "", next[512] = "", text[2048], split[256];
        char used[FORMAT_BYTES_MAX], budget[FORMAT_BYTES_MAX], high[FORMAT_BYTES_MAX];
        unsigned level = dec->warn_level < uc->n_warn ? uc->warn[dec->warn_level] : 0;
        /* Warning levels are crossed by unreclaimable usage: that is what is shown against them. */
        uint64_t usage = dec->usage.known ? dec->usage.unreclaimable : s->slice.memory.current;
        size_t n_ranked = rank(u, s);
        record r;

        candidates_text(u, s, n_ranked, CANDIDATES_SHOWN, table, sizeof table);
        act_usage_text(&dec->usage, split, sizeof split);
        for (size_t i = 0; i < n_ranked && i < 3; i++) {
                const procfs_task *t = &s->slice.tasks[u->ranked[i].index].task;
                char rss[FORMAT_BYTES_MAX];
                strbuf_append(top, sizeof top, "%s%s (pid %d) %s", i ? ", " : "", ESC_COMM(t->comm), (int) t->pid,
                              format_bytes(rss, sizeof rss, t->rss_bytes));
        }

        format_bytes(budget, sizeof budget, uc->memory_max);
        format_bytes(high, sizeof high, uc->memory_high);
        if (uc->memory_high != BYTES_INFINITY && uc->memory_high < uc->memory_max)
                strbuf_append(next, sizeof next, "Above %s your programs are slowed down; ", high);
        if (n_ranked > 0 && u->ranked[0].protect == PROTECT_NONE)
                strbuf_append(next, sizeof next,
                              "if memory stays short, memgov ends %s (pid %d) first (policy %s); ",
                              ESC_COMM(s->slice.tasks[u->ranked[0].index].task.comm),
                              (int) s->slice.tasks[u->ranked[0].index].task.pid, policy_kind_to_string(u->config.policy));
        strbuf_append(next, sizeof next, "at %s the kernel kills a process at once.", budget);

        record_init(&r, MEMGOV_MESSAGE_WARN, "warn", LOG_WARNING, ctx->dry_run);
        record_add_user(&r, u->uid, u->name, u->cgroup);
        record_add_memory(&r, s->slice.memory.current, uc->memory_high, uc->memory_max, s->slice.pressure.some.avg10);
        act_record_add_usage(&r, &dec->usage);
        record_add(&r, "MEMGOV_WARN_LEVEL=%u%%", level / 100);
        record_add(&r, "MEMGOV_POLICY=%s", policy_kind_to_string(u->config.policy));
        record_add(&r, "MEMGOV_CANDIDATES=%s", table);
        record_emit(&r, "%s (%u) holds %s%s of MemoryMax=%s (%u%%), past the %u%% warning level (%s); largest: %s",
                    u->name, (unsigned) u->uid, format_bytes(used, sizeof used, usage),
                    dec->usage.known ? " that cannot be reclaimed" : "", budget, usage_percent(u, usage), level / 100,
                    split, top[0] ? top : "none");

        snprintf(text, sizeof text,
                 "memgov: %s, your processes use %s of your %s memory budget (%u%%)%s.\n"
                 "memgov: in all: %s.\n"
                 "memgov: largest: %s.\n"
                 "memgov: %s\n",
                 u->name, used, budget, usage_percent(u, usage),
                 dec->usage.known ? ", counting memory the kernel cannot reclaim" : "", split,
                 top[0] ? top : "none", next);
        act_tell_user(u, text);

        u->warns++;
        ctx->status_dirty = true;
}

static void kill_close_handles(kill_round *k) {
        actuator *a = &k->user->ctx->actuator;

        for (size_t i = 0; i < k->n_leaders; i++)
                k->exit_sources[i] = sd_event_source_disable_unref(k->exit_sources[i]);
        k->n_leaders = 0;
        for (size_t i = 0; i < k->n; i++)
                if (k->handles[i] >= 0) {
                        k->ops->close_task(a, k->handles[i]);
                        k->handles[i] = -1;
                }
        k->n = 0;
}

/* The slot goes back to the pool. */
static void kill_release(kill_round *k) {
        User *u = k->user;

        kill_close_handles(k);
        if (k->timer)
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
        k->user = NULL;
        u->kill.round = NULL;
        u->kill.active = false;
}

static void kill_finish(User *u, const char *how, bool evaluate) {
        kill_round *k = u->kill.round;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char took[FORMAT_USEC_MAX];

        if (!k)
                return;
        if (u->kill.active && k->n > 0)
                log_info("Kill of pid %d (%s)%s in %s: %s after %s", (int) k->tasks[0].pid, ESC_COMM(k->tasks[0].comm),
                         k->n_leaders > 1 ? " and the other victims of its round" : "", u->cgroup, how,
                         format_usec(took, sizeof took, now - k->started));
        kill_release(k);
        if (evaluate) {
                /* Look again soon: the policy's Cooldown= keeps this from storming. */
                u->next_sample = now + 100 * USEC_PER_MSEC;
                u->ctx->timer_dirty = true;
        }
}

static void kill_escalate(kill_round *k) {
        actuator *a = &k->user->ctx->actuator;

        for (size_t i = 0; i < k->n; i++) {
                if (k->handles[i] < 0 || k->exited[i])
                        continue;
                if (k->ops->wait_exit(a, k->handles[i], &k->tasks[i], 0) > 0) {
                        k->exited[i] = true;
                        continue;
                }
                if (k->signal != SIGKILL || !k->escalated)
                        (void) k->ops->send_signal(a, k->handles[i], &k->tasks[i], SIGKILL);
                /* Frees the memory now, even if the task is stuck in the kernel. */
                (void) k->ops->release(a, k->handles[i], &k->tasks[i]);
        }
}

/* How many tasks of the round are still there (exited ones are noted). */
static size_t kill_survivors(kill_round *k) {
        actuator *a = &k->user->ctx->actuator;
        size_t n = 0;

        for (size_t i = 0; i < k->n; i++) {
                if (k->exited[i] || k->handles[i] < 0)
                        continue;
                if (k->ops->wait_exit(a, k->handles[i], &k->tasks[i], 0) > 0)
                        k->exited[i] = true;
                else
                        n++;
        }
        return n;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        kill_round *k = userdata;
        User *u = k->user;
        char grace[FORMAT_USEC_MAX];
        size_t left;

        (void) usec;
        if (!u || !u->kill.active)
                return 0;
        left = kill_survivors(k);
        if (left == 0) {
                kill_finish(u, k->escalated ? "exited after SIGKILL" : "exited", true);
                return 0;
        }
        if (!k->escalated) {
                log_notice("%zu task(s) of %s's kill round (first pid %d, %s) did not exit within KillGrace=%s; "
                           "sending SIGKILL", left, u->name, (int) k->tasks[0].pid, ESC_COMM(k->tasks[0].comm),
                           format_usec(grace, sizeof grace, u->config.kill_grace));
                kill_escalate(k);
                k->escalated = true;
                (void) sd_event_source_set_time(s, now_usec(CLOCK_MONOTONIC) + ACT_KILL_WAIT_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        log_warning("%zu task(s) of %s's kill round (first pid %d, %s) are still there %s after SIGKILL; "
                    "no longer waiting", left, u->name, (int) k->tasks[0].pid, ESC_COMM(k->tasks[0].comm),
                    format_usec(grace, sizeof grace, ACT_KILL_WAIT_USEC));
        kill_finish(u, "gave up waiting", true);
        return 0;
}

static int on_victim_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        kill_round *k = userdata;
        User *u = k->user;

        (void) fd;
        (void) revents;
        if (!u)
                return 0;
        for (size_t i = 0; i < k->n_leaders; i++)
                if (k->exit_sources[i] == s) {
                        k->exited[k->leaders[i]] = true;
                        k->exit_sources[i] = sd_event_source_disable_unref(k->exit_sources[i]);
                }
        /* Tasks sharing a victim's mm keep its memory: they must go too;
         * the timer escalates whatever is left. */
        if (kill_survivors(k) == 0)
                kill_finish(u, k->escalated ? "exited after SIGKILL" : "exited", true);
        return 0;
}

/* The reason in the user's terms, with the setting that applied. */
static void why_text(const User *u, const policy_decision *dec, char *buf, size_t size) {
        char a[FORMAT_BYTES_MAX], b[FORMAT_USEC_MAX];

        switch (dec->reason) {
        case KILL_REASON_MAX:
                snprintf(buf, size, "they reached the hard limit MemoryMax=%s",
                         format_bytes(a, sizeof a, u->effective.memory_max));
                break;
        case KILL_REASON_OOM:
                snprintf(buf, size,
                         "they ran out of memory at the hard limit MemoryMax=%s with nothing left to reclaim, "
                         "so there was no time for a grace period",
                         format_bytes(a, sizeof a, u->effective.memory_max));
                break;
        case KILL_REASON_DEADLINE:
                snprintf(buf, size,
                         "they were stalled at MemoryHigh=%s without making progress for longer than "
                         "ThrottleDeadline=%s",
                         format_bytes(a, sizeof a, u->effective.memory_high),
                         format_usec(b, sizeof b, u->config.throttle_deadline));
                break;
        case KILL_REASON_SHORTAGE: {
                char c[FORMAT_BYTES_MAX], d[FORMAT_BYTES_MAX];

                if (dec->shortage.growth > 0)
                        snprintf(buf, size,
                                 "the machine ran short of memory and your processes had just grown the most of "
                                 "any user's: by %s, to %s unreclaimable (fair share %s)",
                                 format_bytes(a, sizeof a, dec->shortage.growth),
                                 format_bytes(c, sizeof c, memstat_usage_held(&dec->usage)),
                                 format_bytes(d, sizeof d, dec->shortage.fair_share));
                else
                        snprintf(buf, size,
                                 "the machine ran short of memory and you held the most above your fair share: "
                                 "%s unreclaimable, %s above a fair share of %s",
                                 format_bytes(a, sizeof a, memstat_usage_held(&dec->usage)),
                                 format_bytes(c, sizeof c, dec->shortage.excess),
                                 format_bytes(d, sizeof d, dec->shortage.fair_share));
                break;
        }
        default:
                snprintf(buf, size, "they stalled waiting for memory for PressureDuration=%s above MemoryHigh=%s",
                         format_usec(b, sizeof b, u->config.pressure_duration),
                         format_bytes(a, sizeof a, u->effective.memory_high));
                break;
        }
}

/* The victims of one round, as the act layer carries them out. */
typedef struct round_victim {
        const policy_victim *v;
        const procfs_task *task;
        const char *cgroup_killed;     /* cgroup.kill was written */
        bool done;                     /* signalled (or, in a dry run, would have been) */
} round_victim;

static void log_kill_victim(User *u, const snapshot *s, const policy_decision *dec, const round_victim *rv,
                            size_t nth, size_t n_round, const char *table) {
        context *ctx = u->ctx;
        const user_config *uc = &u->effective;
        const procfs_task *victim = rv->task;
        char pids[512] = "", sig[16], rss[FORMAT_BYTES_MAX], frees[FORMAT_BYTES_MAX], round[64] = "";
        const char *verb = ctx->dry_run ? "Would kill" : "Killed";
        record r;

        for (size_t i = 0; i < rv->v->n_pids; i++)
                strbuf_append(pids, sizeof pids, "%s%d", i ? " " : "", (int) dec->pids[rv->v->first_pid + i]);
        signal_name(rv->cgroup_killed ? SIGKILL : dec->signal, sig, sizeof sig);
        if (n_round > 1)
                snprintf(round, sizeof round, " [victim %zu of %zu in one round]", nth + 1, n_round);

        record_init(&r, MEMGOV_MESSAGE_KILL, "kill", ctx->dry_run ? LOG_NOTICE : LOG_WARNING, ctx->dry_run);
        record_add_user(&r, u->uid, u->name, u->cgroup);
        record_add_memory(&r, s->slice.memory.current, uc->memory_high, uc->memory_max, s->slice.pressure.some.avg10);
        act_record_add_usage(&r, &dec->usage);
        record_add(&r, "MEMGOV_POLICY=%s", policy_kind_to_string(u->config.policy));
        record_add(&r, "MEMGOV_REASON=%s", kill_reason_to_string(dec->reason));
        record_add(&r, "MEMGOV_REASON_TEXT=%s", dec->reason_text);
        if (dec->reason == KILL_REASON_SHORTAGE) {
                record_add(&r, "MEMGOV_FAIR_SHARE_BYTES=%" PRIu64, dec->shortage.fair_share);
                record_add(&r, "MEMGOV_EXCESS_BYTES=%" PRIu64, dec->shortage.excess);
                record_add(&r, "MEMGOV_GROWTH_BYTES=%" PRIu64, dec->shortage.growth);
        }
        record_add(&r, "MEMGOV_VICTIM_PID=%d", (int) victim->pid);
        record_add(&r, "MEMGOV_VICTIM_COMM=%s", ESC_COMM(victim->comm));
        record_add(&r, "MEMGOV_VICTIM_RSS_BYTES=%" PRIu64, victim->rss_bytes);
        record_add(&r, "MEMGOV_VICTIM_OOM_SCORE_ADJ=%d", victim->oom_score_adj);
        record_add(&r, "MEMGOV_VICTIM_FREES_BYTES=%" PRIu64, rv->v->frees);
        record_add(&r, "MEMGOV_SCORE=%" PRId64, rv->v->score);
        record_add(&r, "MEMGOV_ROUND_VICTIMS=%zu", n_round);
        record_add(&r, "MEMGOV_ROUND_INDEX=%zu", nth + 1);
        record_add(&r, "MEMGOV_ROUND_FREES_BYTES=%" PRIu64, dec->frees);
        record_add(&r, "MEMGOV_ROUND_NEED_BYTES=%" PRIu64, dec->need);
        if (dec->job > 0) {
                record_add(&r, "MEMGOV_ROUND_JOB_PGID=%d", (int) dec->job);
                record_add(&r, "MEMGOV_ROUND_JOB_VICTIMS=%zu", dec->job_victims);
        }
        record_add(&r, "MEMGOV_SIGNAL=%s", sig);
        record_add(&r, "MEMGOV_PIDS=%s", pids);
        record_add(&r, "MEMGOV_KILL_SCOPE=%s", rv->cgroup_killed ? "cgroup" : "process");
        if (rv->cgroup_killed)
                record_add(&r, "MEMGOV_KILL_CGROUP=%s", ESC_CGROUP(rv->cgroup_killed));
        record_add(&r, "MEMGOV_CANDIDATES=%s", table);
        record_emit(&r, "%s %s%s%d (%s, RSS %s) of %s (%u) with %s%s: %s: %s (policy %s, score %" PRId64 ", frees %s)%s%s",
                    verb, rv->cgroup_killed ? ESC_CGROUP(rv->cgroup_killed) : "", rv->cgroup_killed ? " holding pid " : "pid ",
                    (int) victim->pid, ESC_COMM(victim->comm), format_bytes(rss, sizeof rss, victim->rss_bytes), u->name,
                    (unsigned) u->uid, sig, rv->v->n_pids > 1 ? " (and the tasks sharing its memory)" : "",
                    kill_reason_to_string(dec->reason), dec->reason_text, policy_kind_to_string(u->config.policy),
                    rv->v->score, format_bytes(frees, sizeof frees, rv->v->frees), round,
                    ctx->dry_run ? " [dry run: nothing signalled]" : "");
}

/* One journal record per victim, one message to the user for the round. */
static void log_kill_round(User *u, const snapshot *s, const policy_decision *dec, const round_victim *rvs,
                           size_t n) {
        context *ctx = u->ctx;
        char table[CANDIDATES_TEXT_MAX], text[2048], why[512], names[1024] = "", usage[256];
        size_t n_ranked = rank(u, s), n_done = 0, shown = 0;
        const round_victim *last = NULL;

        candidates_text(u, s, n_ranked, CANDIDATES_SHOWN, table, sizeof table);
        for (size_t i = 0; i < n; i++)
                if (rvs[i].done)
                        n_done++;
        for (size_t i = 0, nth = 0; i < n; i++)
                if (rvs[i].done)
                        log_kill_victim(u, s, dec, &rvs[i], nth++, n_done, table);

        if (ctx->dry_run || n_done == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                char rss[FORMAT_BYTES_MAX];

                if (!rvs[i].done)
                        continue;
                last = &rvs[i];
                if (shown == 4) {
                        strbuf_append(names, sizeof names, " and %zu more", n_done - shown);
                        break;
                }
                strbuf_append(names, sizeof names, "%s%s (pid %d, %s)%s%s", shown ? ", " : "", ESC_COMM(rvs[i].task->comm),
                              (int) rvs[i].task->pid, format_bytes(rss, sizeof rss, rvs[i].task->rss_bytes),
                              rvs[i].cgroup_killed ? " with the rest of its cgroup " : "",
                              rvs[i].cgroup_killed ? ESC_CGROUP(rvs[i].cgroup_killed) : "");
                shown++;
        }
        u->kills += n_done;
        u->last_kill_realtime = now_usec(CLOCK_REALTIME);
        u->last_victim_pid = last->task->pid;
        snprintf(u->last_victim_comm, sizeof u->last_victim_comm, "%s", last->task->comm);
        ctx->status_dirty = true;

        why_text(u, dec, why, sizeof why);
        act_usage_text(&dec->usage, usage, sizeof usage);
        snprintf(text, sizeof text,
                 "memgov: %s, %s (%s): %s.\n"
                 "memgov: memgov ended %s so the rest of your session can go on.\n",
                 u->name, dec->reason == KILL_REASON_SHORTAGE ? "the machine ran short of memory" :
                 "your processes ran short of memory", usage, why, names);
        act_tell_user(u, text);
}

/* The last look before signalling, by the decision's own definition. */
static bool kill_no_longer_due(User *u, const snapshot *s, const policy_decision *dec) {
        context *ctx = u->ctx;
        snapshot fresh = {};
        bool recovered;
        int r;

        r = snapshot_take(ctx->cgroot_fd, ctx->procfs_fd, u->cgroup, u->uid, SNAPSHOT_MEMORY, &fresh);
        if (r < 0)
                return false;
        if (fresh.slice.mem_total == 0)
                fresh.slice.mem_total = s->slice.mem_total;
        if (fresh.slice.swap_total == 0)
                fresh.slice.swap_total = s->slice.swap_total;
        /* A shortage kill is due under the budget: only the kernel's OOM
         * killer acting in the slice makes it moot. */
        if (dec->reason == KILL_REASON_SHORTAGE)
                recovered = fresh.slice.events.oom_kill > u->state.last_oom_kill;
        else
                recovered = policy_snapshot_recovered(&fresh.slice, &u->effective, &u->state);
        if (recovered) {
                char usage[256];
                memstat_usage now_usage;

                policy_usage(&fresh.slice, &u->state, &now_usage);
                act_usage_text(&now_usage, usage, sizeof usage);
                /* If the kernel killed while we read, the next sample reports it. */
                log_info("%s: %s before the kill (%s); not killing pid %d (%s)%s", u->cgroup,
                         fresh.slice.events.oom_kill > u->state.last_oom_kill ? "the kernel's OOM killer acted"
                                                                              : "recovered",
                         usage, (int) s->slice.tasks[dec->victim].task.pid, ESC_COMM(s->slice.tasks[dec->victim].task.comm),
                         dec->n_victims > 1 ? " nor the rest of its round" : "");
        }
        snapshot_done(&fresh);
        return recovered;
}

static kill_round *free_round(context *ctx) {
        for (size_t i = 0; i < ctx->n_kill_rounds; i++)
                if (!ctx->kill_rounds[i].user)
                        return &ctx->kill_rounds[i];
        return NULL;
}

size_t act_rounds_free(const context *ctx) {
        size_t n = 0;

        for (size_t i = 0; i < ctx->n_kill_rounds; i++)
                if (!ctx->kill_rounds[i].user)
                        n++;
        return n;
}

/* Every slot is busy: nothing is done now, and the caller decides again
 * soon. Never dropped: the retry is on the user's own timer. */
static int rounds_busy(User *u, const snapshot *s, const policy_decision *dec) {
        context *ctx = u->ctx;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char retry[FORMAT_USEC_MAX];
        bool loud = u->kill.busy_logged == 0 || now - u->kill.busy_logged >= ACT_ROUND_BUSY_LOG_USEC;

        if (loud)
                u->kill.busy_logged = now;
        log_full(loud ? LOG_INFO : LOG_DEBUG,
                 "%s (%u) is due a kill (%s, first victim pid %d, %s), but all %zu kill rounds are under way "
                 "for other users; deciding again in %s", u->name, (unsigned) u->uid, kill_reason_to_string(dec->reason),
                 (int) s->slice.tasks[dec->victim].task.pid, ESC_COMM(s->slice.tasks[dec->victim].task.comm),
                 ctx->n_kill_rounds, format_usec(retry, sizeof retry, ACT_ROUND_RETRY_USEC));
        u->retry_at = now + ACT_ROUND_RETRY_USEC;
        ctx->timer_dirty = true;
        return -EBUSY;
}

int act_kill(User *u, const snapshot *s, const policy_decision *dec) {
        context *ctx = u->ctx;
        actuator *a = &ctx->actuator;
        kill_round *k;
        round_victim rvs[POLICY_MAX_VICTIMS] = {};
        size_t n_rv = 0, n_done = 0;
        usec_t now;
        int r;

        assert(dec->action == DECISION_KILL || dec->action == DECISION_KILL_CGROUP);

        if (u->kill.active)
                return -EBUSY;
        if (dec->n_victims == 0 || dec->victim >= s->slice.n_tasks)
                return log_error_errno(EINVAL, "Decision for %s names no task", u->cgroup);
        k = free_round(ctx);
        if (!k)
                return rounds_busy(u, s, dec);
        if (u->kill.busy_logged != 0) {
                /* The wait is over: said, so the log does not end at "deciding again". */
                log_info("%s (%u): a kill round is free again; deciding the kill", u->name, (unsigned) u->uid);
                u->kill.busy_logged = 0;
        }

        /* The snapshot took a while to read: look once more, cheaply. */
        if (kill_no_longer_due(u, s, dec)) {
                u->next_sample = now_usec(CLOCK_MONOTONIC);
                ctx->timer_dirty = true;
                return 0;
        }
        now = now_usec(CLOCK_MONOTONIC);

        /* Taken from here on; every way out below either leaves it under
         * way or gives it back (kill_release). */
        k->user = u;
        u->kill.round = k;
        k->n = 0;
        k->n_leaders = 0;
        k->escalated = false;
        k->ops = a->ops;
        for (size_t vi = 0; vi < dec->n_victims && vi < POLICY_MAX_VICTIMS; vi++) {
                const policy_victim *v = &dec->victims[vi];
                round_victim *rv = &rvs[n_rv++];
                size_t leader = k->n;

                if (v->index >= s->slice.n_tasks) {
                        log_error("Decision for %s names no task for victim %zu", u->cgroup, vi + 1);
                        n_rv--;
                        continue;
                }
                *rv = (round_victim) { .v = v, .task = &s->slice.tasks[v->index].task };

                if (v->cgroup) {
                        /* Only ever below the user's own slice, never the slice itself. */
                        if (!cgfs_path_is_below(v->cgroup, u->cgroup)) {
                                log_error_errno(EPERM, "Refusing to kill cgroup %s: not inside %s", ESC_CGROUP(v->cgroup),
                                                u->cgroup);
                                continue;
                        }
                        r = a->ops->kill_cgroup(a, v->cgroup);
                        if (r < 0) {
                                log_error_errno(r, "Cannot kill cgroup %s: %m", ESC_CGROUP(v->cgroup));
                                continue;
                        }
                        rv->cgroup_killed = v->cgroup;
                        rv->done = true;
                        n_done++;
                        continue;
                }

                for (size_t i = 0; i < v->n_pids && k->n < POLICY_MAX_VICTIM_PIDS; i++) {
                        pid_t pid = dec->pids[v->first_pid + i];
                        const procfs_task *t = i == 0 ? rv->task : find_task(s, pid);
                        int handle = -1;

                        if (!t)
                                continue;
                        r = k->ops->open_task(a, t, &handle);
                        if (r < 0) {
                                if (i == 0) {
                                        /* Its memory is gone with it; the next look counts what is left. */
                                        log_info("pid %d (%s) of %s is gone before the kill (%s)", (int) t->pid,
                                                 ESC_COMM(t->comm), u->name, strerror(-r));
                                        break;
                                }
                                continue;
                        }
                        k->tasks[k->n] = *t;
                        k->handles[k->n] = handle;
                        k->exited[k->n] = false;
                        k->n++;
                }
                if (k->n == leader)
                        continue;
                if (k->tasks[leader].pid != rv->task->pid) {
                        /* The victim itself was gone: drop the tasks that shared its memory too. */
                        for (size_t i = leader; i < k->n; i++)
                                k->ops->close_task(a, k->handles[i]), k->handles[i] = -1;
                        k->n = leader;
                        continue;
                }
                k->leaders[k->n_leaders++] = leader;
                rv->done = true;
                n_done++;
        }

        /* SIGTERM (or SIGKILL) to every task of the round at once: one
         * KillGrace for all, not one per victim. */
        for (size_t i = 0; i < k->n; i++) {
                r = k->ops->send_signal(a, k->handles[i], &k->tasks[i], dec->signal);
                if (r < 0 && r != -ESRCH)
                        log_error_errno(r, "Cannot signal pid %d (%s): %m", (int) k->tasks[i].pid, ESC_COMM(k->tasks[i].comm));
        }
        if (n_done == 0) {
                kill_release(k);
                u->next_sample = now + 100 * USEC_PER_MSEC;
                ctx->timer_dirty = true;
                return 0;
        }
        log_kill_round(u, s, dec, rvs, n_rv);
        u->state.last_kill = now;

        if (ctx->dry_run || k->n == 0) {
                /* Only cgroup kills (SIGKILL by the kernel), or nothing really signalled. */
                kill_release(k);
                u->next_sample = now + 100 * USEC_PER_MSEC;
                ctx->timer_dirty = true;
                return 0;
        }

        u->kill.active = true;
        k->started = now;
        k->signal = dec->signal;
        k->reason = dec->reason;
        if (dec->signal == SIGKILL) {
                k->escalated = true;
                kill_escalate(k);   /* releases the memory at once */
        }
        for (size_t i = 0; i < k->n_leaders; i++) {
                r = sd_event_add_io(ctx->event, &k->exit_sources[i], k->handles[k->leaders[i]], EPOLLIN,
                                    on_victim_exit, k);
                if (r < 0)
                        log_warning_errno(r, "Cannot watch pid %d for its exit (%m); relying on the timer",
                                          (int) k->tasks[k->leaders[i]].pid);
        }
        (void) sd_event_source_set_time(k->timer, now + (k->escalated ? ACT_KILL_WAIT_USEC : u->config.kill_grace));
        (void) sd_event_source_set_enabled(k->timer, SD_EVENT_ONESHOT);
        return 0;
}

int act_rounds_init(context *ctx) {
        kill_round *rounds;
        int r;

        assert(ctx);
        assert(ctx->event);
        assert(!ctx->kill_rounds);

        rounds = calloc(ACT_KILL_ROUNDS, sizeof *rounds);
        if (!rounds)
                return -ENOMEM;
        /* Written through, so every page is faulted in (and locked, under
         * mlockall) now rather than at the first kill; calloc() may hand out
         * untouched pages, and a plain memset() after it may be optimised
         * away. */
        explicit_bzero(rounds, ACT_KILL_ROUNDS * sizeof *rounds);
        ctx->kill_rounds = rounds;
        ctx->n_kill_rounds = ACT_KILL_ROUNDS;
        for (size_t i = 0; i < ACT_KILL_ROUNDS; i++) {
                kill_round *k = &rounds[i];

                for (size_t j = 0; j < POLICY_MAX_VICTIM_PIDS; j++)
                        k->handles[j] = -1;
                /* Made now, so starting a kill needs no new timer. */
                r = sd_event_add_time(ctx->event, &k->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_kill_timer, k);
                if (r < 0) {
                        act_rounds_done(ctx);
                        return r;
                }
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
                (void) sd_event_source_set_description(k->timer, "kill-round");
        }
        return 0;
}

void act_rounds_done(context *ctx) {
        assert(ctx);

        for (size_t i = 0; i < ctx->n_kill_rounds; i++) {
                kill_round *k = &ctx->kill_rounds[i];

                /* Every user gave theirs back in act_done(). */
                assert(!k->user);
                k->timer = sd_event_source_disable_unref(k->timer);
        }
        free(ctx->kill_rounds);
        ctx->kill_rounds = NULL;
        ctx->n_kill_rounds = 0;
}

void act_init(User *u) {
        u->kill = (user_kill) {};
        u->oom = (oom_report) {};
}

void act_done(User *u) {
        kill_finish(u, "abandoned", false);
}
