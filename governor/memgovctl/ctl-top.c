/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovctl top: the policy's ranking of a live cgroup. It runs on a
 * machine in trouble, so it reads only the cgroup's own pids and only the
 * files the policy needs. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "escape.h"
#include "snapshot.h"

typedef struct top_args {
        int policy;                    /* -1: the user's Policy= */
        bool json;
        ctl_sources sources;
        const char *target;
} top_args;

typedef struct name_cache {
        uid_t uid[64];
        char name[64][33];
        size_t n;
} name_cache;

static const char *user_name(name_cache *c, uid_t uid) {
        struct passwd *pw;

        for (size_t i = 0; i < c->n; i++)
                if (c->uid[i] == uid)
                        return c->name[i];
        if (c->n == ELEMENTSOF(c->uid))
                return "?";
        pw = getpwuid(uid);
        c->uid[c->n] = uid;
        /* Escaped once here, for the table and the JSON alike. */
        if (pw)
                escape_text(pw->pw_name, c->name[c->n], sizeof c->name[c->n]);
        else
                snprintf(c->name[c->n], sizeof c->name[c->n], "%u", (unsigned) uid);
        return c->name[c->n++];
}

/* Reading /proc is nearly all of top's time on a big slice, and a person
 * waits for it: one reader for each CPU this may run on (snapshot.c caps
 * them). */
static unsigned top_readers(void) {
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof set, &set) < 0)
                return 1;
        return (unsigned) CPU_COUNT(&set);
}

static void top_help(FILE *f) {
        fputs("Usage: memgovctl top [--policy rss|runtime|badness|growth] [--json] [--config PATH]\n"
              "                     [--cgroup-root DIR] [--proc-root DIR] TARGET\n"
              "TARGET: a user name, a UID (its /user.slice/user-UID.slice), or a cgroup path\n"
              "starting with '/' relative to the cgroup root.\n", f);
}

static int parse_args(int argc, char **argv, top_args *ret) {
        enum { ARG_POLICY = 0x100, ARG_JSON };
        static const struct option options[] = {
                { "policy",      required_argument, NULL, ARG_POLICY },
                { "json",        no_argument,       NULL, ARG_JSON },
                CTL_SOURCE_OPTIONS,
                { "help",        no_argument,       NULL, 'h' },
                {}
        };
        int c;

        *ret = (top_args) { .policy = -1 };
        ctl_sources_init(&ret->sources);
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_POLICY:
                        ret->policy = policy_kind_from_string(optarg);
                        if (ret->policy < 0) {
                                fprintf(stderr, "memgovctl top: unknown policy '%s': expected rss, runtime, badness or growth\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_JSON:
                        ret->json = true;
                        break;
                case 'h':
                        top_help(stdout);
                        return 0;
                default:
                        if (ctl_sources_option(&ret->sources, c, optarg))
                                break;
                        top_help(stderr);
                        return -EINVAL;
                }
        return ctl_one_target(argc, argv, top_help, &ret->target);
}

/* Keys are literals and each is added once: json-c need not copy or look them up. */
static void add(json_object *o, const char *key, json_object *v) {
        json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

/* One task's JSON object, built once and refilled for every task: a tree of
 * one object per task costs about 13 allocations and frees per task, which
 * made `top --json` on thousands of tasks a quarter slower than printing. */
typedef struct task_json {
        json_object *object;
        json_object *pid, *comm, *uid, *user, *score, *rss, *swap, *pgtables, *cpu_ms, *adj, *protected, *reason;
        const snapshot *snapshot;
        const policy_candidate *ranked;
        name_cache *names;
} task_json;

static json_object *add_value(json_object *o, const char *key, json_object *v) {
        if (v)
                add(o, key, v);
        return v;
}

static int task_json_init(task_json *tj) {
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        tj->object = o;
        /* Creating each value with the type it will keep makes the refills below
         * print exactly what a fresh object would. */
        if (!(tj->pid = add_value(o, "pid", json_object_new_int(0))) ||
            !(tj->comm = add_value(o, "comm", json_object_new_string(""))) ||
            !(tj->uid = add_value(o, "uid", json_object_new_uint64(0))) ||
            !(tj->user = add_value(o, "user", json_object_new_string(""))) ||
            !(tj->score = add_value(o, "score", json_object_new_int64(0))) ||
            !(tj->rss = add_value(o, "rss_bytes", json_object_new_uint64(0))) ||
            !(tj->swap = add_value(o, "swap_bytes", json_object_new_uint64(0))) ||
            !(tj->pgtables = add_value(o, "pgtables_bytes", json_object_new_uint64(0))) ||
            !(tj->cpu_ms = add_value(o, "cpu_ms", json_object_new_uint64(0))) ||
            !(tj->adj = add_value(o, "oom_score_adj", json_object_new_int(0))) ||
            !(tj->protected = add_value(o, "protected", json_object_new_boolean(false))) ||
            !(tj->reason = add_value(o, "reason", json_object_new_string(""))))
                return -ENOMEM;
        return 0;
}

/* The "tasks" array's serializer: the array itself stays empty, and each
 * ranked task is written through the one refilled object, with json-c's
 * array punctuation for the flags ctl_print_json() uses. */
static int tasks_to_json(json_object *array, struct printbuf *pb, int level, int flags) {
        const task_json *tj = json_object_get_userdata(array);
        const snapshot *s = tj->snapshot;

        (void) level;
        assert(!(flags & (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED)));
        if (printbuf_strappend(pb, "[") < 0)
                return -1;
        for (size_t i = 0; i < s->slice.n_tasks; i++) {
                const policy_candidate *c = &tj->ranked[i];
                const procfs_task *t = &s->slice.tasks[c->index].task;
                char comm[ESCAPE_COMM_MAX];
                const char *text;
                size_t len;

                if (json_object_set_int(tj->pid, t->pid) != 1 ||
                    json_object_set_string(tj->comm, escape_json(t->comm, comm, sizeof comm)) != 1 ||
                    json_object_set_uint64(tj->uid, t->uid) != 1 ||
                    json_object_set_string(tj->user, user_name(tj->names, t->uid)) != 1 ||
                    json_object_set_int64(tj->score, c->score) != 1 ||
                    json_object_set_uint64(tj->rss, t->rss_bytes) != 1 ||
                    json_object_set_uint64(tj->swap, t->swap_bytes) != 1 ||
                    json_object_set_uint64(tj->pgtables, t->pgtables_bytes) != 1 ||
                    json_object_set_uint64(tj->cpu_ms, t->cpu_usec / 1000) != 1 ||
                    json_object_set_int(tj->adj, t->oom_score_adj) != 1 ||
                    json_object_set_boolean(tj->protected, c->protect != PROTECT_NONE) != 1 ||
                    json_object_set_string(tj->reason, c->protect != PROTECT_NONE ? policy_protect_to_string(c->protect)
                                                                                   : policy_soft_to_string(c->soft)) != 1)
                        return -1;
                text = json_object_to_json_string_length(tj->object, flags, &len);
                if (!text || len > INT_MAX)
                        return -1;
                if ((i > 0 && printbuf_strappend(pb, ",") < 0) || printbuf_memappend(pb, text, (int) len) < 0)
                        return -1;
        }
        return printbuf_strappend(pb, "]");
}

static int print_json(const snapshot *s, const policy_candidate *ranked, policy_kind kind, name_cache *names) {
        task_json tj = { .snapshot = s, .ranked = ranked, .names = names };
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *tasks = json_object_new_array();
        int r;

        if (!root || !tasks) {
                json_object_put(tasks);
                return -ENOMEM;
        }
        {
                _cleanup_free_ char *cgroup = escape_dup(s->slice.cgroup[0] ? s->slice.cgroup : "/", ESCAPE_JSON);

                json_object_object_add(root, "cgroup", cgroup ? json_object_new_string(cgroup) : NULL);
        }
        json_object_object_add(root, "policy", json_object_new_string(policy_kind_to_string(kind)));
        json_object_object_add(root, "tasks", tasks);
        r = task_json_init(&tj);
        if (r >= 0) {
                json_object_set_serializer(tasks, tasks_to_json, &tj, NULL);
                r = ctl_print_json(root);
        }
        json_object_put(tj.object);
        return r;
}

static void format_score(char *buf, size_t size, policy_kind kind, int64_t score) {
        if (kind == POLICY_RSS)
                format_bytes(buf, size, (uint64_t) score);
        else if (kind == POLICY_GROWTH) {
                /* Growth can be negative: a task that shrank since the baseline. */
                char b[FORMAT_BYTES_MAX];
                snprintf(buf, size, "%s%s", score < 0 ? "-" : "",
                         format_bytes(b, sizeof b, score < 0 ? (uint64_t) -score : (uint64_t) score));
        }
        else if (kind == POLICY_RUNTIME)
                format_usec(buf, size, (usec_t) score);
        else
                snprintf(buf, size, "%" PRId64, score);
}

static void print_table(const snapshot *s, const policy_candidate *ranked, policy_kind kind, const char *user,
                        name_cache *names) {
        char usage[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX];

        {
                _cleanup_free_ char *cgroup = escape_dup(s->slice.cgroup, ESCAPE_TEXT);
                char name[256];

                printf("/%s", cgroup ?: "?");
                if (user)
                        printf(" (%s)", escape_text(user, name, sizeof name));
        }
        printf(": policy %s, %zu tasks", policy_kind_to_string(kind), s->slice.n_tasks);
        if (s->has_memory)
                printf(", usage %s of MemoryMax %s", format_bytes(usage, sizeof usage, s->slice.memory.current),
                       format_bytes(max, sizeof max, s->slice.memory.max));
        else
                fputs(", no memory controller on this cgroup", stdout);
        if (s->n_unreadable > 0)
                printf(", %zu unreadable (%s)", s->n_unreadable, strerror(-s->first_error));
        printf("\n%8s %-10s %-16s %10s %8s %8s %9s %5s  %s\n", "PID", "USER", "COMM", "SCORE", "RSS", "SWAP",
               "CPU", "ADJ", "PROTECTED");
        for (size_t i = 0; i < s->slice.n_tasks; i++) {
                const procfs_task *t = &s->slice.tasks[ranked[i].index].task;
                char score[32], rss[FORMAT_BYTES_MAX], swap[FORMAT_BYTES_MAX], cpu[FORMAT_USEC_MAX];
                char comm[ESCAPE_COMM_MAX];

                escape_text(t->comm, comm, sizeof comm);
                format_score(score, sizeof score, kind, ranked[i].score);
                printf("%8d %-10.10s %-16s %10s %8s %8s %9s %5d  %s\n", (int) t->pid, user_name(names, t->uid), comm,
                       score, format_bytes(rss, sizeof rss, t->rss_bytes),
                       format_bytes(swap, sizeof swap, t->swap_bytes),
                       format_usec(cpu, sizeof cpu, t->cpu_usec), t->oom_score_adj,
                       ranked[i].protect == PROTECT_NONE ? policy_soft_to_string(ranked[i].soft)
                                                         : policy_protect_to_string(ranked[i].protect));
        }
}

int ctl_top(int argc, char **argv) {
        _cleanup_close_ int cgroot_fd = -1, procfs_fd = -1;
        _cleanup_free_ policy_candidate *ranked = NULL;
        _cleanup_free_ char *user = NULL;
        _cleanup_(snapshot_done) snapshot s = {};
        _cleanup_free_ subuid_range *subuids = NULL;
        config_set *config = NULL;
        user_config uc = {};
        procfs_meminfo mi = {};
        name_cache names = {};
        char cgroup[4096];
        policy_kind kind;
        top_args args;
        uid_t uid;
        int r;

        r = parse_args(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        r = ctl_resolve_target("top", args.target, cgroup, sizeof cgroup, &uid, &user);
        if (r < 0)
                return 1;

        if (ctl_sources_open("top", &args.sources, &cgroot_fd, &procfs_fd) < 0)
                return 1;

        r = snapshot_take_parallel(cgroot_fd, procfs_fd, cgroup, uid, SNAPSHOT_TASKS_ANY, top_readers(), &s);
        if (r < 0) {
                fprintf(stderr, "memgovctl top: cannot read cgroup /%s under %s: %s\n", cgroup, args.sources.cgroup_root,
                        r == -ENOENT ? "no such cgroup (is the user logged in?)" : strerror(-r));
                return 1;
        }
        {
                size_t n_subuids = 0;

                /* As memgovd ranks: the user's subordinate uids are theirs. */
                if (subuid_read(AT_FDCWD, "/etc/subuid", user, uid, &subuids, &n_subuids) >= 0) {
                        s.slice.subuids = subuids;
                        s.slice.n_subuids = n_subuids;
                }
        }
        (void) procfs_read_meminfo(procfs_fd, &mi);
        ctl_load_user_config(args.sources.config, mi.mem_total, uid, user, &config, &uc, NULL);
        kind = args.policy >= 0 ? (policy_kind) args.policy : uc.policy;

        ranked = calloc(s.slice.n_tasks ? s.slice.n_tasks : 1, sizeof *ranked);
        if (!ranked) {
                config_set_free(config);
                fprintf(stderr, "memgovctl top: out of memory\n");
                return 1;
        }
        policy_rank(&s.slice, &uc, kind, ranked);
        r = 0;
        if (args.json)
                r = print_json(&s, ranked, kind, &names);
        else
                print_table(&s, ranked, kind, user, &names);
        if (r < 0)
                fprintf(stderr, "memgovctl top: cannot print the JSON document: %s\n", strerror(-r));
        if (!config)
                user_config_done(&uc);
        config_set_free(config);
        return r < 0 ? 1 : 0;
}
