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
#include "escape.h"
#include "memgov-config.h"
#include "snapshot.h"

#define EXPLAIN_TOP 5

typedef struct explain_args {
        ctl_sources sources;
        const char *target;
        bool json;
} explain_args;

static void explain_help(FILE *f) {
        fputs("Usage: memgovctl explain [--json] [--config PATH] [--cgroup-root DIR] [--proc-root DIR] TARGET\n"
              "TARGET: a user name, a UID, or a cgroup path starting with '/'.\n"
              "\n"
              "  --json             Print the same as a JSON object\n"
              "  --config PATH      Read PATH and its drop-ins instead of " MEMGOV_CONFIG_PATH "\n"
              "  --cgroup-root DIR  Read cgroups under DIR instead of /sys/fs/cgroup\n"
              "  --proc-root DIR    Read processes under DIR instead of /proc\n", f);
}

static int parse_args(int argc, char **argv, explain_args *ret) {
        enum { ARG_JSON = 0x100 };
        static const struct option options[] = {
                CTL_SOURCE_OPTIONS,
                { "json",        no_argument,       NULL, ARG_JSON },
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
                case ARG_JSON:
                        ret->json = true;
                        break;
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
        size_t shown = 0, protected = 0, soft = 0;

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
                char rss[FORMAT_BYTES_MAX], comm[ESCAPE_COMM_MAX];
                _cleanup_free_ char *cgroup = NULL;

                if (ranked[i].protect != PROTECT_NONE) {
                        protected++;
                        continue;
                }
                if (ranked[i].soft != SOFT_NONE)
                        soft++;
                if (shown++ == EXPLAIN_TOP)
                        continue;
                /* The user names the cgroups inside their user@UID.service. */
                cgroup = escape_dup(t->cgroup ? t->cgroup : s->slice.cgroup, ESCAPE_TEXT);
                if (uc->policy == POLICY_GROWTH) {
                        char grown[FORMAT_BYTES_MAX];
                        int64_t g = ranked[i].score;

                        printf("  %s pid %d (%s), rss %s, grew %s%s (badness %" PRId64 "), in /%s\n",
                               shown == 1 ? "victim:   " : "then:     ", (int) t->task.pid,
                               escape_text(t->task.comm, comm, sizeof comm),
                               format_bytes(rss, sizeof rss, t->task.rss_bytes), g < 0 ? "-" : "",
                               format_bytes(grown, sizeof grown, g < 0 ? (uint64_t) -g : (uint64_t) g),
                               ranked[i].tiebreak, cgroup ?: "?");
                        continue;
                }
                printf("  %s pid %d (%s), rss %s, score %" PRId64 ", in /%s%s%s%s\n",
                       shown == 1 ? "victim:   " : "then:     ",
                       (int) t->task.pid, escape_text(t->task.comm, comm, sizeof comm),
                       format_bytes(rss, sizeof rss, t->task.rss_bytes),
                       ranked[i].score, cgroup ?: "?", ranked[i].soft != SOFT_NONE ? " [" : "",
                       policy_soft_to_string(ranked[i].soft), ranked[i].soft != SOFT_NONE ? "]" : "");
        }
        if (soft > 0 || protected > 0)
                fputs("  Never chosen: oom_score_adj=-1000, kernel threads, memgovd, another user's processes (the\n"
                      "  user's own /etc/subuid ranges count as theirs) and logind's session leader with its child,\n"
                      "  the login shell (memgovd asks logind; this view cannot, and shows the shell as soft).\n"
                      "  A name (Protect=, sshd, login, su, tmux, screen, systemd --user, a setsid session leader)\n"
                      "  is soft protection: the task is ranked after the others, and only while it holds at most a\n"
                      "  quarter of the slice, the name-protected tasks together hold at most a quarter, and it did\n"
                      "  not grow as the slice neared its budget. Otherwise it is ranked like any other task.\n",
                      stdout);
        if (protected == 0)
                return;
        puts("  never chosen:");
        for (size_t i = 0; i < s->slice.n_tasks; i++)
                if (ranked[i].protect != PROTECT_NONE) {
                        const procfs_task *t = &s->slice.tasks[ranked[i].index].task;
                        char comm[ESCAPE_COMM_MAX];

                        printf("    pid %d (%s): %s\n", (int) t->pid, escape_text(t->comm, comm, sizeof comm),
                               policy_protect_to_string(ranked[i].protect));
                }
}

static json_object *json_bytes_or_null(uint64_t v) {
        return v == BYTES_INFINITY ? NULL : json_object_new_uint64(v);
}

/* NULL stays JSON null; anything else is escaped as the other verbs do. */
static json_object *json_text(const char *raw) {
        _cleanup_free_ char *s = raw ? escape_dup(raw, ESCAPE_JSON) : NULL;
        return s ? json_object_new_string(s) : NULL;
}

static json_object *config_to_json(const user_config *uc, const char *const *sources) {
        json_object *o = json_object_new_object();

        for (unsigned i = 0; o && i < _UC_COUNT; i++) {
                json_object *v = json_object_new_object();
                char value[256];

                format_value(uc, i, value, sizeof value);
                json_object_object_add(v, "value", json_object_new_string(value));
                json_object_object_add(v, "source", sources[i] ? json_object_new_string(sources[i]) : NULL);
                json_object_object_add(o, config_key_name(1U << i), v);
        }
        return o;
}

static json_object *memory_to_json(const snapshot *s, const user_config *uc) {
        const cgfs_memory *m = &s->slice.memory;
        const cgfs_events *e = &s->slice.events;
        json_object *o = json_object_new_object(), *ev = json_object_new_object();

        json_object_object_add(o, "usage_bytes", json_object_new_uint64(m->current));
        json_object_object_add(o, "peak_bytes", json_object_new_uint64(m->peak));
        json_object_object_add(o, "high_bytes", json_bytes_or_null(m->high));
        json_object_object_add(o, "max_bytes", json_bytes_or_null(m->max));
        if (s->slice.has_stat) {
                slice_state none = {};
                memstat_usage u;

                policy_usage(&s->slice, &none, &u);
                json_object_object_add(o, "cache_bytes", json_object_new_uint64(u.cache));
                json_object_object_add(o, "swappable_bytes", json_object_new_uint64(u.swappable));
                json_object_object_add(o, "unreclaimable_bytes", json_object_new_uint64(u.unreclaimable));
        }
        json_object_object_add(ev, "high", json_object_new_uint64(e->high));
        json_object_object_add(ev, "max", json_object_new_uint64(e->max));
        json_object_object_add(ev, "oom", json_object_new_uint64(e->oom));
        json_object_object_add(ev, "oom_kill", json_object_new_uint64(e->oom_kill));
        json_object_object_add(o, "events", ev);
        json_object_object_add(o, "psi_some_avg10", json_object_new_double(s->slice.pressure.some.avg10));
        json_object_object_add(o, "psi_full_avg10", json_object_new_double(s->slice.pressure.full.avg10));
        json_object_object_add(o, "limits_differ_from_config",
                               json_object_new_boolean(m->max != uc->memory_max || m->high != uc->memory_high));
        json_object_object_add(o, "over_budget", json_object_new_boolean(policy_over_budget(m, uc)));
        json_object_object_add(o, "throttled",
                               json_object_new_boolean(m->high != BYTES_INFINITY && m->current > m->high));
        json_object_object_add(o, "next_sample_usec", json_object_new_uint64(policy_next_sample(m, uc)));
        return o;
}

/* The would-be victims in order (the first EXPLAIN_TOP) and the protected tasks. */
static void victims_to_json(json_object *root, const snapshot *s, const user_config *uc) {
        _cleanup_free_ policy_candidate *ranked = NULL;
        json_object *victims = json_object_new_array(), *protected = json_object_new_array();
        size_t shown = 0;

        json_object_object_add(root, "victims", victims);
        json_object_object_add(root, "protected", protected);
        if (s->slice.n_tasks == 0 || !(ranked = calloc(s->slice.n_tasks, sizeof *ranked)))
                return;
        policy_rank(&s->slice, uc, uc->policy, ranked);
        for (size_t i = 0; i < s->slice.n_tasks; i++) {
                const policy_task *t = &s->slice.tasks[ranked[i].index];
                json_object *o;

                if (ranked[i].protect == PROTECT_NONE && shown++ >= EXPLAIN_TOP)
                        continue;
                o = json_object_new_object();
                json_object_object_add(o, "pid", json_object_new_int(t->task.pid));
                json_object_object_add(o, "comm", json_text(t->task.comm));
                json_object_object_add(o, "rss_bytes", json_object_new_uint64(t->task.rss_bytes));
                if (ranked[i].protect != PROTECT_NONE) {
                        json_object_object_add(o, "reason",
                                               json_object_new_string(policy_protect_to_string(ranked[i].protect)));
                        json_object_array_add(protected, o);
                        continue;
                }
                json_object_object_add(o, "score", json_object_new_int64(ranked[i].score));
                json_object_object_add(o, "cgroup", json_text(t->cgroup ? t->cgroup : s->slice.cgroup));
                json_object_object_add(o, "soft", ranked[i].soft != SOFT_NONE
                                                          ? json_object_new_string(policy_soft_to_string(ranked[i].soft))
                                                          : NULL);
                json_object_array_add(victims, o);
        }
}

static int print_json(const char *user, uid_t uid, char **groups, const char *cgroup, const char *config_path,
                      const user_config *uc, const char *const *sources, const snapshot *s, int snapshot_error) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *g = json_object_new_array();

        if (!root || !g) {
                json_object_put(g);
                return -ENOMEM;
        }
        json_object_object_add(root, "user", json_text(user));
        json_object_object_add(root, "uid", uid == (uid_t) -1 ? NULL : json_object_new_int64(uid));
        for (char **p = groups; p && *p; p++)
                json_object_array_add(g, json_text(*p));
        json_object_object_add(root, "groups", g);
        json_object_object_add(root, "cgroup", json_text(cgroup));
        json_object_object_add(root, "config", json_object_new_string(config_path));
        json_object_object_add(root, "settings", config_to_json(uc, sources));
        json_object_object_add(root, "policy", json_object_new_string(policy_kind_to_string(uc->policy)));
        json_object_object_add(root, "kill_scope", json_object_new_string(kill_scope_to_string(uc->kill_scope)));
        if (snapshot_error < 0) {
                json_object_object_add(root, "error", json_object_new_string(snapshot_error == -ENOENT
                                                 ? "no such cgroup (the user is not logged in)"
                                                 : strerror(-snapshot_error)));
                json_object_object_add(root, "memory", NULL);
                json_object_object_add(root, "victims", NULL);
                json_object_object_add(root, "protected", NULL);
        } else {
                json_object_object_add(root, "error", NULL);
                json_object_object_add(root, "memory", s->has_memory ? memory_to_json(s, uc) : NULL);
                victims_to_json(root, s, uc);
        }
        return ctl_print_json(root);
}

int ctl_explain(int argc, char **argv) {
        _cleanup_close_ int cgroot_fd = -1, procfs_fd = -1;
        _cleanup_free_ char *user = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        _cleanup_(snapshot_done) snapshot s = {};
        _cleanup_free_ subuid_range *subuids = NULL;
        const char *sources[_UC_COUNT] = {};
        config_set *config = NULL;
        procfs_meminfo mi = {};
        user_config uc = {};
        explain_args args;
        char cgroup[4096];
        uid_t uid;
        int r, k = 0;

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
        r = snapshot_take(cgroot_fd, procfs_fd, cgroup, uid, SNAPSHOT_TASKS_ANY, &s);
        if (r >= 0) {
                size_t n_subuids = 0;

                /* As memgovd ranks: the user's subordinate uids are theirs. */
                if (subuid_read(AT_FDCWD, "/etc/subuid", user, uid, &subuids, &n_subuids) >= 0) {
                        s.slice.subuids = subuids;
                        s.slice.n_subuids = n_subuids;
                }
        }
        if (args.json) {
                char path[sizeof cgroup + 1];

                snprintf(path, sizeof path, "/%s", cgroup);
                k = print_json(user, uid, groups, path, args.sources.config, &uc, sources, &s, r);
                if (k < 0)
                        fprintf(stderr, "memgovctl explain: cannot print the JSON document: %s\n", strerror(-k));
        } else {
                char name[256];

                /* Names from NSS are not guaranteed printable. */
                printf("%s (uid %d)", user ? escape_text(user, name, sizeof name) : "?",
                       uid == (uid_t) -1 ? -1 : (int) uid);
                for (char **g = groups; g && *g; g++)
                        printf("%s%s", g == groups ? ", groups: " : " ", escape_text(*g, name, sizeof name));
                printf("\nslice /%s, config %s\n\n", cgroup, args.sources.config);
                print_config(&uc, sources);
                if (r < 0)
                        printf("\nNow: cannot read /%s: %s\n", cgroup,
                               r == -ENOENT ? "no such cgroup (the user is not logged in)" : strerror(-r));
                else {
                        print_memory(&s, &uc);
                        print_victims(&s, &uc);
                }
        }
        if (!config)
                user_config_done(&uc);
        config_set_free(config);
        /* A user who is not logged in has a budget all the same: not a problem. */
        return k < 0 ? 1 : 0;
}
