/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovctl explain: why a user has the budget they have, where each value
 * comes from, where the slice stands against it, and whom memgov would
 * kill if it had to act now. Read-only, like every memgovctl verb. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "snapshot.h"

#define EXPLAIN_TOP 5

typedef struct explain_args {
        ctl_sources sources;
        const char *target;
} explain_args;

static void explain_help(FILE *f) {
        fputs("Usage: memgovctl explain [--config PATH] [--cgroup-root DIR] [--proc-root DIR] TARGET\n"
              "TARGET: a user name, a UID, or a cgroup path starting with '/'.\n", f);
}

static int parse_args(int argc, char **argv, explain_args *ret) {
        static const struct option options[] = {
                CTL_SOURCE_OPTIONS,
                { "help",        no_argument,       NULL, 'h' },
                {}
        };
        int c;

        *ret = (explain_args) {};
        ctl_sources_init(&ret->sources);
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        explain_help(stdout);
                        return 0;
                default:
                        if (ctl_sources_option(&ret->sources, c, optarg))
                                break;
                        explain_help(stderr);
                        return -EINVAL;
                }
        return ctl_one_target(argc, argv, explain_help, &ret->target);
}

/* Permyriad as "80%" or "12.5%". */
static void append_share(char *buf, size_t size, const char *sep, unsigned permyriad) {
        if (permyriad % 100 == 0)
                strbuf_append(buf, size, "%s%u%%", sep, permyriad / 100);
        else
                strbuf_append(buf, size, "%s%u.%02u%%", sep, permyriad / 100, permyriad % 100);
}

static void format_value(const user_config *uc, unsigned bit, char *buf, size_t size) {
        buf[0] = 0;
        switch (1U << bit) {
        case UC_MEMORY_HIGH:
                format_bytes(buf, size, uc->memory_high);
                break;
        case UC_MEMORY_MAX:
                format_bytes(buf, size, uc->memory_max);
                break;
        case UC_MEMORY_SWAP_MAX:
                format_bytes(buf, size, uc->memory_swap_max);
                break;
        case UC_WARN:
                for (size_t i = 0; i < uc->n_warn; i++)
                        append_share(buf, size, i ? "," : "", uc->warn[i]);
                break;
        case UC_PRESSURE_SOME:
                append_share(buf, size, "", uc->pressure_some);
                break;
        case UC_PRESSURE_FULL:
                append_share(buf, size, "", uc->pressure_full);
                break;
        case UC_PRESSURE_DURATION:
                format_usec(buf, size, uc->pressure_duration);
                break;
        case UC_THROTTLE_DEADLINE:
                format_usec(buf, size, uc->throttle_deadline);
                break;
        case UC_POLICY:
                snprintf(buf, size, "%s", policy_kind_to_string(uc->policy));
                break;
        case UC_KILL_SCOPE:
                snprintf(buf, size, "%s", kill_scope_to_string(uc->kill_scope));
                break;
        case UC_KILL_GRACE:
                format_usec(buf, size, uc->kill_grace);
                break;
        case UC_PROTECT:
                for (char **p = uc->protect; p && *p; p++)
                        strbuf_append(buf, size, "%s%s", p == uc->protect ? "" : " ", *p);
                break;
        case UC_COOLDOWN:
                format_usec(buf, size, uc->cooldown);
                break;
        }
}

static void print_config(const user_config *uc, const char *const *sources) {
        puts("Configuration (later files win):");
        for (unsigned i = 0; i < _UC_COUNT; i++) {
                char value[256], key[sizeof value + 32];

                format_value(uc, i, value, sizeof value);
                snprintf(key, sizeof key, "%s=%s", config_key_name(1U << i), value);
                printf("  %-28s %s\n", key, sources[i] ? sources[i] : "(built-in default)");
        }
}

static double share(uint64_t part, uint64_t whole) {
        return whole == 0 || whole == BYTES_INFINITY ? 0 : 100.0 * (double) part / (double) whole;
}

static void print_memory(const snapshot *s, const user_config *uc) {
        const cgfs_memory *m = &s->slice.memory;
        const cgfs_events *e = &s->slice.events;
        char cur[FORMAT_BYTES_MAX], high[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX], peak[FORMAT_BYTES_MAX];
        char lvl[FORMAT_BYTES_MAX], next[FORMAT_USEC_MAX];

        puts("\nNow:");
        if (!s->has_memory) {
                puts("  no memory controller on this cgroup: budgets cannot be enforced here");
                return;
        }
        printf("  usage %s (%.0f%% of MemoryMax), peak %s\n", format_bytes(cur, sizeof cur, m->current),
               share(m->current, m->max), format_bytes(peak, sizeof peak, m->peak));
        if (s->slice.has_stat) {
                char cache[FORMAT_BYTES_MAX], unrecl[FORMAT_BYTES_MAX], swappable[FORMAT_BYTES_MAX];
                slice_state none = {};
                memstat_usage u;

                /* Without memgovd's history there is no thrashing verdict: cache counts as reclaimable. */
                policy_usage(&s->slice, &none, &u);
                printf("  of it: %s cache, %s swappable, %s unreclaimable (what warnings and kills go by)\n",
                       format_bytes(cache, sizeof cache, u.cache), format_bytes(swappable, sizeof swappable, u.swappable),
                       format_bytes(unrecl, sizeof unrecl, u.unreclaimable));
        } else
                puts("  of it: all unreclaimable as far as memgov can tell (no memory.stat)");
        printf("  limits in force: memory.high %s, memory.max %s", format_bytes(high, sizeof high, m->high),
               format_bytes(max, sizeof max, m->max));
        if (m->max != uc->memory_max || m->high != uc->memory_high)
                fputs("  (differ from the configuration: memgovd not running, not yet applied, or stepping "
                      "down above current usage)", stdout);
        printf("\n  memory.events: high %" PRIu64 ", max %" PRIu64 ", oom %" PRIu64 ", oom_kill %" PRIu64 "\n",
               e->high, e->max, e->oom, e->oom_kill);
        printf("  pressure avg10: some %.2f%%, full %.2f%% (PressureSome=%u.%02u%%)\n", s->slice.pressure.some.avg10,
               s->slice.pressure.full.avg10, uc->pressure_some / 100, uc->pressure_some % 100);
        for (size_t i = 0; i < uc->n_warn && m->max != BYTES_INFINITY; i++) {
                uint64_t level = policy_warn_level_bytes(uc, m->max, i);
                printf("  warning at %u%%: %s, %s\n", uc->warn[i] / 100, format_bytes(lvl, sizeof lvl, level),
                       m->current >= level ? "crossed" : "not reached");
        }
        printf("  over budget: %s; throttled at MemoryHigh: %s\n", policy_over_budget(m, uc) ? "yes" : "no",
               m->high != BYTES_INFINITY && m->current > m->high ? "yes" : "no");
        printf("  memgovd samples this slice again in %s\n",
               format_usec(next, sizeof next, policy_next_sample(m, uc)));
}

static void print_victims(const snapshot *s, const user_config *uc) {
        _cleanup_free_ policy_candidate *ranked = NULL;
        size_t shown = 0, protected = 0;

        printf("\nIf memgovd had to act now (Policy=%s, KillScope=%s):\n", policy_kind_to_string(uc->policy),
               kill_scope_to_string(uc->kill_scope));
        if (uc->policy == POLICY_GROWTH)
                puts("  (growth is measured by memgovd from its samples as the slice nears its budget; here,\n"
                     "  without them, every task counts as grown from 0: the score is what it holds now)");
        if (s->slice.n_tasks == 0) {
                puts("  the slice has no tasks");
                return;
        }
        ranked = calloc(s->slice.n_tasks, sizeof *ranked);
        if (!ranked) {
                puts("  out of memory");
                return;
        }
        policy_rank(&s->slice, uc, uc->policy, ranked);
        if (ranked[0].protect != PROTECT_NONE)
                puts("  nothing: every task is protected");
        for (size_t i = 0; i < s->slice.n_tasks; i++) {
                const policy_task *t = &s->slice.tasks[ranked[i].index];
                char rss[FORMAT_BYTES_MAX], comm[4 * PROCFS_COMM_MAX];

                if (ranked[i].protect != PROTECT_NONE) {
                        protected++;
                        continue;
                }
                if (shown++ == EXPLAIN_TOP)
                        continue;
                if (uc->policy == POLICY_GROWTH) {
                        char grown[FORMAT_BYTES_MAX];
                        int64_t g = ranked[i].score;

                        printf("  %s pid %d (%s), rss %s, grew %s%s (badness %" PRId64 "), in /%s\n",
                               shown == 1 ? "victim:   " : "then:     ", (int) t->task.pid,
                               ctl_printable(t->task.comm, comm, sizeof comm),
                               format_bytes(rss, sizeof rss, t->task.rss_bytes), g < 0 ? "-" : "",
                               format_bytes(grown, sizeof grown, g < 0 ? (uint64_t) -g : (uint64_t) g),
                               ranked[i].tiebreak, t->cgroup ? t->cgroup : s->slice.cgroup);
                        continue;
                }
                printf("  %s pid %d (%s), rss %s, score %" PRId64 ", in /%s\n", shown == 1 ? "victim:   " : "then:     ",
                       (int) t->task.pid, ctl_printable(t->task.comm, comm, sizeof comm),
                       format_bytes(rss, sizeof rss, t->task.rss_bytes),
                       ranked[i].score, t->cgroup ? t->cgroup : s->slice.cgroup);
        }
        if (protected == 0)
                return;
        puts("  never chosen:");
        for (size_t i = 0; i < s->slice.n_tasks; i++)
                if (ranked[i].protect != PROTECT_NONE) {
                        const procfs_task *t = &s->slice.tasks[ranked[i].index].task;
                        char comm[4 * PROCFS_COMM_MAX];

                        printf("    pid %d (%s): %s\n", (int) t->pid, ctl_printable(t->comm, comm, sizeof comm),
                               policy_protect_to_string(ranked[i].protect));
                }
}

int ctl_explain(int argc, char **argv) {
        _cleanup_close_ int cgroot_fd = -1, procfs_fd = -1;
        _cleanup_free_ char *user = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        _cleanup_(snapshot_done) snapshot s = {};
        const char *sources[_UC_COUNT] = {};
        config_set *config = NULL;
        procfs_meminfo mi = {};
        user_config uc = {};
        explain_args args;
        char cgroup[4096];
        uid_t uid;
        int r;

        r = parse_args(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        r = ctl_resolve_target("explain", args.target, cgroup, sizeof cgroup, &uid, &user);
        if (r < 0)
                return 1;
        if (ctl_sources_open("explain", &args.sources, &cgroot_fd, &procfs_fd) < 0)
                return 1;
        (void) procfs_read_meminfo(procfs_fd, &mi);
        ctl_load_user_config(args.sources.config, mi.mem_total, uid, user, &config, &uc, sources);

        groups = ctl_user_groups(user);
        printf("%s (uid %d)", user ? user : "?", uid == (uid_t) -1 ? -1 : (int) uid);
        for (char **g = groups; g && *g; g++)
                printf("%s%s", g == groups ? ", groups: " : " ", *g);
        printf("\nslice /%s, config %s\n\n", cgroup, args.sources.config);
        print_config(&uc, sources);

        r = snapshot_take(cgroot_fd, procfs_fd, cgroup, uid, SNAPSHOT_TASKS_ANY, &s);
        if (r < 0)
                printf("\nNow: cannot read /%s: %s\n", cgroup,
                       r == -ENOENT ? "no such cgroup (the user is not logged in)" : strerror(-r));
        else {
                print_memory(&s, &uc);
                print_victims(&s, &uc);
        }
        if (!config)
                user_config_done(&uc);
        config_set_free(config);
        return 0;
}
