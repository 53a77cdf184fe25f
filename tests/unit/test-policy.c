/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy on struct literals: no files, no clock. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)
#define SLICE "user.slice/user-1001.slice"
#define SCOPE SLICE "/session-3.scope"
#define APP SLICE "/user@1001.service/app.slice/job.service"
#define SEC USEC_PER_SEC

static user_config uc_base(void) {
        return (user_config) {
                .memory_high = 400 * MiB,
                .memory_max = 500 * MiB,
                .memory_swap_max = BYTES_INFINITY,
                .warn = { 8000, 9500 },
                .n_warn = 2,
                .pressure_some = 1000,
                .pressure_duration = 5 * SEC,
                .throttle_deadline = 20 * SEC,
                .policy = POLICY_BADNESS,
                .kill_scope = KILL_SCOPE_PROCESS,
                .kill_grace = 2 * SEC,
                .cooldown = 5 * SEC,
        };
}

static policy_task task(pid_t pid, const char *comm, uint64_t rss_mib, const char *cgroup) {
        policy_task t = {
                .task = {
                        .pid = pid, .ppid = 100, .tgid = pid, .sid = 100, .uid = 1001, .state = 'S',
                        .rss_bytes = rss_mib * MiB, .start_time = (uint64_t) pid,
                },
                .cgroup = cgroup,
        };
        snprintf(t.task.comm, sizeof t.task.comm, "%s", comm);
        return t;
}

static slice_snapshot snap(policy_task *tasks, size_t n, uint64_t current) {
        return (slice_snapshot) {
                .cgroup = SLICE,
                .uid = 1001,
                .memory = { .current = current, .high = 400 * MiB, .max = 500 * MiB, .swap_max = BYTES_INFINITY },
                .mem_total = 8 * GiB,
                .swap_total = 0,
                .self_pid = 1,
                .tasks = tasks,
                .n_tasks = n,
        };
}

static pid_t first_victim(const slice_snapshot *s, const user_config *uc, policy_kind kind) {
        policy_candidate ranked[32];

        assert_true(s->n_tasks <= 32);
        policy_rank(s, uc, kind, ranked);
        if (ranked[0].protect != PROTECT_NONE)
                return -1;
        return s->tasks[ranked[0].index].task.pid;
}

static void test_rss_policy(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "make", 50, SCOPE),
                task(201, "cc1plus", 300, SCOPE),
                task(202, "ld", 120, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 470 * MiB);
        (void) state;

        t[0].task.cpu_usec = 900 * SEC;
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 201);
}

static void test_runtime_policy(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "spin", 10, SCOPE),
                task(201, "big", 300, SCOPE),
                task(202, "mid", 100, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 410 * MiB);
        policy_candidate r[3];
        (void) state;

        t[0].task.cpu_usec = 120 * SEC;
        t[1].task.cpu_usec = 3 * SEC;
        t[2].task.cpu_usec = 60 * SEC;
        policy_rank(&s, &uc, POLICY_RUNTIME, r);
        assert_int_equal(s.tasks[r[0].index].task.pid, 200);
        assert_int_equal(s.tasks[r[1].index].task.pid, 202);
        assert_int_equal(s.tasks[r[2].index].task.pid, 201);
        assert_true(r[0].score == (int64_t) (120 * SEC));
}

static void test_badness_formula(void **state) {
        procfs_task t = { .rss_bytes = 1000 * 4096, .swap_bytes = 200 * 4096, .pgtables_bytes = 8192 * 10 };
        (void) state;

        /* points = rss + swap + pgtables/PAGE_SIZE, adj * (totalpages / 1000) */
        assert_true(policy_badness(&t, 128000) == 1000 + 200 + 20);
        t.oom_score_adj = 500;
        assert_true(policy_badness(&t, 128000) == 1220 + 500 * 128);
        t.oom_score_adj = -300;
        assert_true(policy_badness(&t, 128000) == 1220 - 300 * 128);
        /* The kernel divides totalpages first: 128999 / 1000 == 128. */
        assert_true(policy_badness(&t, 128999) == 1220 - 300 * 128);
}

static void test_totalpages(void **state) {
        slice_snapshot s = snap(NULL, 0, 0);
        (void) state;

        assert_true(policy_totalpages(&s) == 500 * MiB / 4096);
        /* Swap the slice may use counts, as in mem_cgroup_get_max(). */
        s.swap_total = 1 * GiB;
        s.memory.swap_max = 100 * MiB;
        assert_true(policy_totalpages(&s) == 600 * MiB / 4096);
        s.memory.swap_max = BYTES_INFINITY;
        assert_true(policy_totalpages(&s) == (500 * MiB + 1 * GiB) / 4096);
        /* Unlimited: all of RAM and swap, so the order is /proc/PID/oom_score's. */
        s.memory.max = BYTES_INFINITY;
        assert_true(policy_totalpages(&s) == (8 * GiB + 1 * GiB) / 4096);
}

static void test_badness_adj_changes_order(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "big", 300, SCOPE),
                task(201, "small", 100, SCOPE),
        };
        slice_snapshot s = snap(t, 2, 410 * MiB);
        (void) state;

        assert_int_equal(first_victim(&s, &uc, POLICY_BADNESS), 200);
        /* 500 MiB limit = 128000 pages; adj 500 adds 64000 pages, more than the 51200 gap. */
        t[1].task.oom_score_adj = 500;
        assert_int_equal(first_victim(&s, &uc, POLICY_BADNESS), 201);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 200);
}

static void test_never_chosen(void **state) {
        user_config uc = uc_base();
        char *protect[] = { "postgre*", NULL };
        policy_task t[] = {
                task(200, "adjmin", 200, SCOPE),
                task(201, "kworker", 200, SCOPE),
                task(202, "zombie", 200, SCOPE),
                task(203, "postgres", 200, SCOPE),
                task(204, "memgovd", 200, SCOPE),
                task(205, "victim", 10, SCOPE),
        };
        slice_snapshot s = snap(t, 6, 1010 * MiB);
        (void) state;

        uc.protect = protect;
        t[0].task.oom_score_adj = -1000;
        t[1].task.kernel_thread = true;
        t[2].task.state = 'Z';
        t[2].task.exiting = true;
        s.self_pid = 204;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_OOM_SCORE_ADJ);
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_KERNEL_THREAD);
        assert_int_equal(policy_classify(&s, &uc, 2), PROTECT_EXITING);
        /* Protect= is a name: soft protection, ranked after the others. */
        assert_int_equal(policy_classify(&s, &uc, 3), PROTECT_NONE);
        assert_int_equal(policy_classify_soft(&s, &uc, 3), SOFT_PROTECT_NAME);
        assert_int_equal(policy_classify(&s, &uc, 4), PROTECT_SELF);
        assert_int_equal(policy_classify(&s, &uc, 5), PROTECT_NONE);
        assert_int_equal(policy_classify_soft(&s, &uc, 5), SOFT_NONE);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 205);
        assert_int_equal(first_victim(&s, &uc, POLICY_BADNESS), 205);
        assert_string_equal(policy_soft_to_string(SOFT_PROTECT_NAME), "soft: Protect=");
}

static void test_outside_user_slice(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "daemon", 300, "system.slice/foo.service"),
                task(201, "other", 300, "user.slice/user-1002.slice/session-9.scope"),
                task(202, "root-level", 300, "user.slice"),
                task(203, "mine", 10, SCOPE),
        };
        slice_snapshot s = snap(t, 4, 910 * MiB);
        (void) state;

        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_OUTSIDE);
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_OUTSIDE);
        assert_int_equal(policy_classify(&s, &uc, 2), PROTECT_OUTSIDE);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 203);

        /* A snapshot of a cgroup outside user.slice yields no victim at all. */
        s.cgroup = "system.slice";
        t[0].cgroup = "system.slice/foo.service";
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_OUTSIDE);
}

/* A machine-wide shortage chose this user: their own policy picks the
 * victim under their budget, never the login chain, within Cooldown=. */
static void test_decide_shortage(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(100, "bash", 5, SCOPE),          /* session leader */
                task(200, "sleeper", 80, APP),
                task(201, "hog", 120, APP),
                task(202, "hog2", 40, APP),
        };
        slice_snapshot s = snap(t, 4, 250 * MiB);
        slice_state st;
        policy_decision d;
        policy_shortage why = { .need = 100 * MiB, .fair_share = 300 * MiB, .why = "machine short: carol grew" };
        const pid_t leaders[] = { 100 };
        (void) state;

        /* logind named pid 100 the session's leader: the login chain. The
         * others run in an app unit, children of the user's manager. */
        s.session_leaders = leaders;
        s.n_session_leaders = 1;
        for (size_t i = 1; i < 4; i++)
                t[i].task.ppid = 1;

        uc.policy = POLICY_RSS;
        st = (slice_state) { .initialized = true };
        policy_decide_shortage(&s, &uc, &why, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_SHORTAGE);
        assert_string_equal(kill_reason_to_string(d.reason), "shortage");
        assert_int_equal(d.signal, SIGTERM);
        assert_int_equal(d.n_victims, 1);
        assert_int_equal(d.pids[0], 201);
        assert_int_equal(d.need, 100 * MiB);
        assert_int_equal(d.shortage.fair_share, 300 * MiB);
        assert_null(d.shortage.why);
        assert_non_null(strstr(d.reason_text, "machine short: carol grew; the machine ran short of memory"));
        assert_non_null(strstr(d.reason_text, "'hog' (pid 201"));
        /* More than the largest frees: the next in policy order too. */
        why.need = 150 * MiB;
        policy_decide_shortage(&s, &uc, &why, &st, 100 * SEC, &d);
        assert_int_equal(d.n_victims, 2);
        assert_int_equal(d.pids[1], 200);
        /* Only the login chain left: nobody. */
        s.n_tasks = 1;
        why.need = 100 * MiB;
        policy_decide_shortage(&s, &uc, &why, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        assert_true(d.no_victim);
        s.n_tasks = 4;
        /* Cooldown= holds it back. */
        st.last_kill = 98 * SEC;
        why.need = 100 * MiB;
        policy_decide_shortage(&s, &uc, &why, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        assert_true(d.in_cooldown);
}

static void test_login_chain(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(100, "bash", 5, SCOPE),          /* session leader */
                task(101, "sshd", 8, SCOPE),
                task(102, "tmux: server", 6, SCOPE),
                task(103, "systemd", 10, SLICE "/user@1001.service/init.scope"),
                task(104, "runuser", 3, SCOPE),
                task(105, "bash", 4, SCOPE),          /* login shell: child of runuser */
                task(106, "python3", 300, SCOPE),     /* the hog */
                task(107, "screen", 3, SCOPE),
        };
        slice_snapshot s = snap(t, 8, 400 * MiB);
        pid_t leaders[] = { 100 };
        (void) state;

        t[0].task.sid = 100;
        t[1].task.uid = 0;          /* root's sshd in the user's scope */
        t[4].task.uid = 0;
        t[5].task.ppid = 104;
        t[6].task.ppid = 105;
        /* Another uid is a fact: hard. */
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_OTHER_UID);
        assert_int_equal(policy_classify(&s, &uc, 4), PROTECT_OTHER_UID);
        /* Names and setsid() are the user's choice: soft, while small. */
        for (size_t i = 0; i < 8; i++)
                if (i != 1 && i != 4 && i != 6) {
                        assert_int_equal(policy_classify(&s, &uc, i), PROTECT_NONE);
                        assert_int_equal(policy_classify_soft(&s, &uc, i), SOFT_LOGIN_NAME);
                }
        assert_int_equal(policy_classify(&s, &uc, 6), PROTECT_NONE);
        assert_int_equal(policy_classify_soft(&s, &uc, 6), SOFT_NONE);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 106);
        assert_int_equal(first_victim(&s, &uc, POLICY_RUNTIME), 106);
        /* logind's session leader is a fact: hard. */
        s.session_leaders = leaders;
        s.n_session_leaders = 1;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_LOGIN_CHAIN);
}

static void test_service_leader_is_a_job(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(300, "python3", 150, APP),     /* a user service: setsid() by systemd */
                task(301, "bash", 5, SCOPE),        /* the login shell, a real session leader */
                task(302, "make", 100, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 260 * MiB);
        pid_t leaders[] = { 301 };
        (void) state;

        t[0].task.sid = 300;
        t[1].task.sid = 301;
        t[2].task.sid = 301;
        s.memory.current = 400 * MiB;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_NONE);
        assert_int_equal(policy_classify_soft(&s, &uc, 0), SOFT_NONE);
        assert_int_equal(policy_classify_soft(&s, &uc, 1), SOFT_LOGIN_NAME);
        s.session_leaders = leaders;
        s.n_session_leaders = 1;
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_LOGIN_CHAIN);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 300);
}

static void test_login_chain_hog(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(100, "tmux: server", 350, SCOPE),   /* e.g. a huge scrollback */
                task(106, "vim", 20, SCOPE),
        };
        slice_snapshot s = snap(t, 2, 380 * MiB);
        (void) state;

        /* A large share of the slice: the name counts for nothing. */
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_NONE);
        assert_int_equal(policy_classify_soft(&s, &uc, 0), SOFT_NONE);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 100);
        /* With usage unknown the tasks' own sum decides. */
        s.memory.current = 0;
        assert_int_equal(policy_classify_soft(&s, &uc, 0), SOFT_NONE);
        t[0].task.rss_bytes = 5 * MiB;
        assert_int_equal(policy_classify_soft(&s, &uc, 0), SOFT_LOGIN_NAME);
}

/* The attack of issue 9: a hog split into setsid'd processes named
 * "tmux: server", next to the user's small, stable editor. One of the
 * pieces goes first, never the editor: in three pieces each holds more
 * than a quarter; in five, the name-protected tasks together do. */
static void test_hog_named_tmux_split(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "vim", 40, SCOPE),
                task(201, "tmux: server", 150, SCOPE),
                task(202, "tmux: server", 150, SCOPE),
                task(203, "tmux: server", 150, SCOPE),
                task(204, "tmux: server", 0, SCOPE),
                task(205, "tmux: server", 0, SCOPE),
        };
        slice_snapshot s = snap(t, 4, 495 * MiB);
        (void) state;

        for (size_t i = 1; i < 6; i++)
                t[i].task.sid = t[i].task.pid;
        assert_int_equal(policy_classify_soft(&s, &uc, 1), SOFT_NONE);
        assert_int_not_equal(first_victim(&s, &uc, POLICY_RSS), 200);
        assert_int_not_equal(first_victim(&s, &uc, POLICY_BADNESS), 200);

        for (size_t i = 1; i < 6; i++)
                t[i].task.rss_bytes = 90 * MiB;
        s.n_tasks = 6;
        assert_true(90 * MiB <= s.memory.current / 4);
        assert_int_equal(policy_classify_soft(&s, &uc, 1), SOFT_NONE);
        assert_int_not_equal(first_victim(&s, &uc, POLICY_RSS), 200);
        assert_int_not_equal(first_victim(&s, &uc, POLICY_RUNTIME), 200);

        /* A real tmux server, small next to the hog, keeps its place. */
        t[1].task.rss_bytes = 6 * MiB;
        for (size_t i = 2; i < 6; i++) {
                t[i].task.comm[0] = 'x';
                t[i].task.sid = 100;
        }
        assert_int_equal(policy_classify_soft(&s, &uc, 1), SOFT_LOGIN_NAME);
}

/* A tmux server that grew while the slice went towards its budget loses its
 * soft protection, however small its share. */
static void test_soft_void_after_growth(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "vim", 40, SCOPE),
                task(201, "tmux: server", 5, SCOPE),
                task(202, "make", 300, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 480 * MiB);
        policy_history h = {};
        (void) state;

        s.history = &h;
        assert_int_equal(policy_observe_tasks(&h, &s, 1 * SEC), 0);
        assert_int_equal(policy_observe_tasks(&h, &s, 3 * SEC), 0);
        assert_int_equal(policy_classify_soft(&s, &uc, 1), SOFT_LOGIN_NAME);
        t[1].task.rss_bytes = 100 * MiB;
        assert_int_equal(policy_observe_tasks(&h, &s, 5 * SEC), 0);
        assert_true(100 * MiB <= s.memory.current / 4);
        assert_int_equal(policy_classify_soft(&s, &uc, 1), SOFT_NONE);
        growth_history_done(&h);
}

/* Another uid is protected, but not the user's own subordinate uids
 * (rootless containers). */
static void test_other_uid_and_subuids(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "sudo", 5, SCOPE),
                task(201, "podman-hog", 300, SCOPE),
        };
        slice_snapshot s = snap(t, 2, 310 * MiB);
        subuid_range sub[] = { { .start = 165536, .count = 65536 } };
        (void) state;

        t[0].task.uid = 0;
        t[1].task.uid = 165536 + 1000;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_OTHER_UID);
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_OTHER_UID);
        s.subuids = sub;
        s.n_subuids = 1;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_OTHER_UID);
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_NONE);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 201);
        t[1].task.uid = 165536 + 65536;         /* one past the range */
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_OTHER_UID);
}

/* The login shell (a child of logind's session leader) is protected unless
 * the user made it the hog (exec in its place). */
static void test_login_shell_hog(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(101, "bash", 20, SCOPE),
                task(102, "vim", 30, SCOPE),
        };
        slice_snapshot s = snap(t, 2, 400 * MiB);
        pid_t leaders[] = { 100 };
        (void) state;

        t[0].task.ppid = 100;
        t[1].task.ppid = 101;
        s.session_leaders = leaders;
        s.n_session_leaders = 1;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_LOGIN_CHAIN);
        assert_int_equal(policy_classify(&s, &uc, 1), PROTECT_NONE);
        t[0].task.rss_bytes = 300 * MiB;
        assert_int_equal(policy_classify(&s, &uc, 0), PROTECT_NONE);
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 101);
}

static void test_ties(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(300, "a", 100, SCOPE),
                task(301, "b", 100, SCOPE),
                task(302, "c", 100, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 310 * MiB);
        policy_candidate r[3];
        (void) state;

        /* Same CPU time: the larger RSS goes first; same RSS: the younger. */
        t[0].task.rss_bytes = 101 * MiB;
        t[1].task.start_time = 5000;
        t[2].task.start_time = 9000;
        policy_rank(&s, &uc, POLICY_RUNTIME, r);
        assert_int_equal(s.tasks[r[0].index].task.pid, 300);
        assert_int_equal(s.tasks[r[1].index].task.pid, 302);
        assert_int_equal(s.tasks[r[2].index].task.pid, 301);
}

static void test_protected_ranked_last(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(300, "huge", 400, SCOPE),
                task(301, "tiny", 1, SCOPE),
        };
        slice_snapshot s = snap(t, 2, 401 * MiB);
        policy_candidate r[2];
        (void) state;

        t[0].task.oom_score_adj = -1000;
        policy_rank(&s, &uc, POLICY_RSS, r);
        assert_int_equal(s.tasks[r[0].index].task.pid, 301);
        assert_int_equal(r[1].protect, PROTECT_OOM_SCORE_ADJ);
}

typedef struct mm_groups {
        pid_t a, b;
} mm_groups;

static int fake_same_mm(void *userdata, pid_t a, pid_t b) {
        const mm_groups *g = userdata;
        return (a == g->a && b == g->b) || (a == g->b && b == g->a);
}

static slice_state fresh_state(const slice_snapshot *s) {
        slice_state st = {
                .initialized = true,
                .last_max_events = s->events_local.max,
                .last_high_events = s->events_local.high,
                .last_oom_kill = s->events.oom_kill,
                .last_oom = s->events_local.oom,
        };
        return st;
}

/* A fresh state, then PSI events every second for 5 s (past the default
 * PressureDuration=) from FROM: the decision at the end is in RET. */
static void decide_under_pressure(slice_snapshot *s, const user_config *uc, slice_state *st, usec_t from,
                                  policy_decision *ret) {
        *st = fresh_state(s);
        for (usec_t now = from; now <= from + 5 * SEC; now += SEC) {
                s->psi_event_at = now;
                policy_decide(s, uc, SEC, st, now, ret);
        }
}

static void test_decide_max_alone_is_no_evidence(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 450, APP), task(202, "vim", 20, SCOPE) };
        slice_snapshot s = snap(t, 2, 495 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* The kernel counts max before it reclaims: with swap or dirty
         * cache, usage reaches MemoryMax without any OOM. No stalls, no kill. */
        uc.throttle_deadline = USEC_INFINITY;
        st = fresh_state(&s);
        for (usec_t now = 100 * SEC; now <= 160 * SEC; now += SEC) {
                s.events_local.max += 50;
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_not_equal(d.action, DECISION_KILL);
                assert_int_equal(d.reason, KILL_REASON_NONE);
        }
}

static void test_decide_oom_kills_at_once(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "hog", 450, APP),
                task(201, "vforked", 450, APP),    /* shares the hog's mm */
                task(202, "vim", 20, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 495 * MiB);
        mm_groups g = { 200, 201 };
        slice_state st;
        policy_decision d;
        (void) state;

        s.same_mm = fake_same_mm;
        s.same_mm_userdata = &g;
        st = fresh_state(&s);
        /* An OOM in progress: the slice's oom rose, the kernel killed nothing yet. */
        s.events_local.oom = 1;
        s.events_local.max = 9;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_OOM);
        assert_int_equal(d.signal, SIGKILL);
        assert_int_equal(d.n_pids, 2);
        assert_int_equal(d.pids[0], 201);          /* equal score: the younger first */
        assert_int_equal(d.pids[1], 200);
        assert_int_equal(d.n_victims, 1);
        assert_int_equal(d.victims[0].first_pid, 0);
        assert_int_equal(d.victims[0].n_pids, 2);
        assert_non_null(strstr(d.reason_text, "out of memory"));
        /* The caller records the kill once it happened. */
        assert_int_equal(st.last_kill, 0);
        assert_int_equal(st.last_oom, 1);
        assert_string_equal(kill_reason_to_string(d.reason), "oom");
        /* Once seen, the same count is no news. */
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_int_equal(d.reason, KILL_REASON_NONE);
}


/* The reason is logged and sent to the user as it is: a forged comm goes in
 * escaped, so it cannot start a journal line or a terminal sequence. */
static void test_decide_reason_escapes_comm(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "x\n<0>\x1b[2J\x9b", 450, APP),
                task(202, "vim", 20, SCOPE),
        };
        slice_snapshot s = snap(t, 2, 495 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        st = fresh_state(&s);
        s.events_local.oom = 1;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.pids[0], 200);
        assert_non_null(strstr(d.reason_text, "'x\\n<0>\\x1b[2J\\x9b'"));
        for (const char *p = d.reason_text; *p; p++)
                assert_true((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f);
}

static void test_decide_descendant_limit_is_not_ours(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "job", 90, APP), task(201, "vim", 20, SCOPE) };
        slice_snapshot s = snap(t, 2, 110 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* A service of alice's with MemoryMax=100M of its own hits it: the
         * hierarchical max rises, the slice's own does not. */
        st = fresh_state(&s);
        s.events.max = 7;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        /* The kernel's OOM kill in there is still reported. */
        s.events.oom_kill = 1;
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_int_equal(d.kernel_oom_kills, 1);
        assert_int_equal(d.action, DECISION_NONE);
}

static void test_decide_first_call_is_baseline(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 450, APP) };
        slice_snapshot s = snap(t, 1, 100 * MiB);
        slice_state st = {};
        policy_decision d;
        (void) state;

        /* Counters from before memgov watched are no reason to kill. */
        s.events_local.max = 40;
        s.events.oom_kill = 2;
        policy_decide(&s, &uc, SEC, &st, 10 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        assert_int_equal(d.kernel_oom_kills, 0);
        s.events.oom_kill = 3;
        policy_decide(&s, &uc, SEC, &st, 11 * SEC, &d);
        assert_int_equal(d.kernel_oom_kills, 1);
        policy_decide(&s, &uc, SEC, &st, 12 * SEC, &d);
        assert_int_equal(d.kernel_oom_kills, 0);
}

static void test_decide_sustained_pressure(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 390, APP), task(201, "vim", 10, SCOPE) };
        slice_snapshot s = snap(t, 2, 399 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        st = fresh_state(&s);
        s.psi_trigger = true;
        s.psi_event_at = 100 * SEC;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        assert_int_equal(st.pressure_since, 100 * SEC);
        s.psi_event_at = 103 * SEC;
        policy_decide(&s, &uc, SEC, &st, 103 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        s.psi_event_at = 105 * SEC;
        policy_decide(&s, &uc, SEC, &st, 105 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_PRESSURE);
        assert_int_equal(d.signal, SIGTERM);
        assert_int_equal(d.pids[0], 200);
        assert_int_equal(d.n_pids, 1);
}

static void test_decide_pressure_gap_resets(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 390, APP) };
        slice_snapshot s = snap(t, 1, 399 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        st = fresh_state(&s);
        s.psi_trigger = true;
        s.psi_event_at = 100 * SEC;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        /* No event for more than two windows: the pressure episode ended. */
        policy_decide(&s, &uc, SEC, &st, 103 * SEC, &d);
        assert_int_equal(st.pressure_since, 0);
        s.psi_event_at = 104 * SEC;
        policy_decide(&s, &uc, SEC, &st, 106 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        assert_int_equal(st.pressure_since, 106 * SEC);
}

static void test_decide_pressure_under_budget_is_not_ours(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "job", 100, APP) };
        slice_snapshot s = snap(t, 1, 100 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* Stalls while far below budget come from elsewhere (machine-wide
         * shortage): not this user's fault. */
        st = fresh_state(&s);
        s.psi_trigger = true;
        for (usec_t now = 100 * SEC; now <= 130 * SEC; now += SEC) {
                s.psi_event_at = now;
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_equal(d.action, DECISION_NONE);
        }
}

static void test_decide_pressure_from_averages(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 390, APP) };
        slice_snapshot s = snap(t, 1, 399 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* No trigger could be armed: avg10 against PressureSome= stands in. */
        st = fresh_state(&s);
        s.pressure.some.avg10 = 9.0;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(st.pressure_since, 0);
        s.pressure.some.avg10 = 15.0;
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_int_equal(st.pressure_since, 101 * SEC);
        policy_decide(&s, &uc, SEC, &st, 106 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);

        /* PressureFull= alone works the same way. */
        uc.pressure_some = 0;
        uc.pressure_full = 500;
        st = fresh_state(&s);
        s.pressure.has_full = true;
        s.pressure.full.avg10 = 6.0;
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        assert_int_equal(st.pressure_since, 200 * SEC);
}

static void test_decide_throttle_deadline(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 450, APP) };
        slice_snapshot s = snap(t, 1, 450 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        uc.pressure_some = 0;   /* only the deadline can act here */
        st = fresh_state(&s);
        s.events_local.high = 10;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(st.throttled_since, 100 * SEC);
        assert_int_equal(d.action, DECISION_WARN);   /* 450 of 500 MiB: past 80% */
        /* Stuck above MemoryHigh without new events still counts. */
        policy_decide(&s, &uc, SEC, &st, 119 * SEC, &d);
        assert_int_not_equal(d.action, DECISION_KILL);
        policy_decide(&s, &uc, SEC, &st, 120 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_DEADLINE);
        assert_non_null(strstr(d.reason_text, "ThrottleDeadline"));

        /* Dipping under MemoryHigh resets the clock. */
        st = fresh_state(&s);
        s.events_local.high = 20;
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        s.memory.current = 390 * MiB;
        policy_decide(&s, &uc, SEC, &st, 210 * SEC, &d);
        assert_int_equal(st.throttled_since, 0);

        /* ThrottleDeadline=infinity never acts, though the clock runs: a
         * 1 s deadline on the same state would. */
        s.memory.current = 450 * MiB;
        st = fresh_state(&s);
        s.events_local.high = 30;
        uc.throttle_deadline = USEC_INFINITY;
        policy_decide(&s, &uc, SEC, &st, 300 * SEC, &d);
        assert_int_equal(st.throttled_since, 300 * SEC);
        policy_decide(&s, &uc, SEC, &st, 900 * SEC, &d);
        assert_int_equal(st.throttled_since, 300 * SEC);
        assert_int_not_equal(d.action, DECISION_KILL);
        {
                slice_state copy = st;
                uc.throttle_deadline = SEC;
                policy_decide(&s, &uc, SEC, &copy, 901 * SEC, &d);
                assert_int_equal(d.action, DECISION_KILL);
                assert_int_equal(d.reason, KILL_REASON_DEADLINE);
        }
}

static void test_decide_cooldown(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 450, APP), task(201, "hog2", 40, APP) };
        slice_snapshot s = snap(t, 2, 495 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        st = fresh_state(&s);
        s.events_local.oom = 1;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        st.last_kill = 100 * SEC;
        s.events_local.oom = 2;
        policy_decide(&s, &uc, SEC, &st, 102 * SEC, &d);
        assert_int_not_equal(d.action, DECISION_KILL);
        assert_true(d.in_cooldown);
        assert_non_null(strstr(d.reason_text, "Cooldown="));
        s.events_local.oom = 3;
        policy_decide(&s, &uc, SEC, &st, 105 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_false(d.in_cooldown);
}

static void test_decide_stands_down_for_the_kernel(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 450, APP), task(201, "bystander", 30, APP) };
        slice_snapshot s = snap(t, 2, 495 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* max and oom_kill rose together: the kernel answered the limit
         * already; taking another task would hit a bystander. */
        st = fresh_state(&s);
        s.events_local.oom = 1;
        s.events.oom_kill = 1;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_not_equal(d.action, DECISION_KILL);
        assert_true(d.stand_down);
        assert_int_equal(d.kernel_oom_kills, 1);
        assert_non_null(strstr(d.reason_text, "kernel's OOM killer"));

        /* The kernel's victim is still dying and holds most of the slice. */
        t[0].task.exiting = true;
        s.events_local.oom = 2;
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_true(d.stand_down);
        assert_int_equal(d.dying_pid, 200);
        assert_int_not_equal(d.action, DECISION_KILL);

        /* Once its memory is gone (a zombie holds none), the next max event acts. */
        t[0].task.rss_bytes = 0;
        s.events_local.oom = 3;
        policy_decide(&s, &uc, SEC, &st, 102 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.pids[0], 201);
        assert_false(d.stand_down);

        /* A small exiting task does not hold the decision back. */
        t[0].task.rss_bytes = 1 * MiB;
        s.events_local.oom = 4;
        policy_decide(&s, &uc, SEC, &st, 103 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);

        /* A task stuck in exit holds it back for a while only: 2 x KillGrace
         * (2 s here), at least 5 s. */
        t[0].task.rss_bytes = 400 * MiB;
        st = fresh_state(&s);
        s.events_local.oom = 5;
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        assert_true(d.stand_down);
        s.events_local.oom = 6;
        policy_decide(&s, &uc, SEC, &st, 204 * SEC, &d);
        assert_true(d.stand_down);
        s.events_local.oom = 7;
        policy_decide(&s, &uc, SEC, &st, 205 * SEC, &d);
        assert_false(d.stand_down);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.pids[0], 201);
        /* A new dying task gets its own wait. */
        t[0].task.start_time = 999;
        s.events_local.oom = 8;
        policy_decide(&s, &uc, SEC, &st, 206 * SEC, &d);
        assert_true(d.stand_down);
}

static void test_decide_no_victim(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 450, APP) };
        slice_snapshot s = snap(t, 1, 495 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        t[0].task.oom_score_adj = -1000;
        st = fresh_state(&s);
        s.events_local.oom = 1;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_not_equal(d.action, DECISION_KILL);
        assert_true(d.no_victim);
        assert_int_equal(d.reason, KILL_REASON_OOM);
        assert_non_null(strstr(d.reason_text, "every task is protected"));
        assert_int_equal(st.last_kill, 0);

        s.n_tasks = 0;
        s.events_local.oom = 2;
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_true(d.no_victim);
}

static void test_decide_cgroup_scope(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "hog", 300, APP),
                task(201, "helper", 100, APP),
                task(100, "bash", 5, SCOPE),
                task(202, "scopehog", 390, SCOPE),
        };
        slice_snapshot s = snap(t, 3, 450 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        uc.kill_scope = KILL_SCOPE_CGROUP;
        st = fresh_state(&s);
        s.events_local.oom = 1;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL_CGROUP);
        assert_string_equal(d.cgroup, APP);
        assert_int_equal(d.pids[0], 200);

        /* The hog shares its scope with the login shell: a cgroup kill would
         * take the shell, so the process alone goes. */
        s.n_tasks = 4;
        s.memory.current = 495 * MiB;
        st = fresh_state(&s);
        s.events_local.oom = 2;
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.pids[0], 202);
        assert_non_null(strstr(d.reason_text, "process scope"));
}

static void test_decide_warn_levels(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "job", 100, APP) };
        slice_snapshot s = snap(t, 1, 100 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        uc.memory_high = BYTES_INFINITY;
        s.memory.high = BYTES_INFINITY;
        st = fresh_state(&s);
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);

        s.memory.current = 401 * MiB;     /* 80.2% */
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 0);
        assert_non_null(strstr(d.reason_text, "80%"));
        policy_decide(&s, &uc, SEC, &st, 102 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);

        s.memory.current = 480 * MiB;     /* 96% */
        policy_decide(&s, &uc, SEC, &st, 103 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 1);
        policy_decide(&s, &uc, SEC, &st, 104 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);

        /* Down under 78% re-arms 80%, but the rate limit holds a minute. */
        s.memory.current = 300 * MiB;
        policy_decide(&s, &uc, SEC, &st, 105 * SEC, &d);
        assert_int_equal(st.warned, 0);
        s.memory.current = 410 * MiB;
        policy_decide(&s, &uc, SEC, &st, 110 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        policy_decide(&s, &uc, SEC, &st, 162 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 0);
}

static void test_decide_warn_jump(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "job", 100, APP) };
        slice_snapshot s = snap(t, 1, 10 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        s.memory.high = BYTES_INFINITY;
        st = fresh_state(&s);
        s.memory.current = 490 * MiB;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 1);
        assert_int_equal(st.warned, 3);
        /* Hovering in between does not warn about 80% afterwards. */
        s.memory.current = 450 * MiB;
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);

        /* No Warn= levels, or no MemoryMax: never a warning. */
        uc.n_warn = 0;
        st = fresh_state(&s);
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        uc.n_warn = 2;
        s.memory.max = BYTES_INFINITY;
        policy_decide(&s, &uc, SEC, &st, 201 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
}

#define STAT_ALL (CGFS_STAT_HAS_KERNEL | CGFS_STAT_HAS_LRU | CGFS_STAT_HAS_ACTIVATE | CGFS_STAT_HAS_PGSTEAL)
#define PAGES(b) ((b) / 4096)

/* memory.stat of a slice at 400 MiB: ANON of anon, the rest page cache. */
static cgfs_memory_stat stat_of(uint64_t anon, uint64_t cache) {
        return (cgfs_memory_stat) {
                .anon = anon, .active_anon = anon, .file = cache, .inactive_file = cache,
                .present = STAT_ALL,
        };
}

static void test_decide_copy_is_never_killed(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "dd", 2, SCOPE), task(100, "bash", 4, SCOPE) };
        slice_snapshot s = snap(t, 2, 401 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* dd fills the slice with page cache: at MemoryHigh, throttled,
         * stalling in reclaim and writeback, and making progress. */
        s.has_stat = true;
        s.stat = stat_of(6 * MiB, 390 * MiB);
        s.psi_trigger = true;
        st = fresh_state(&s);
        for (usec_t now = 100 * SEC; now <= 160 * SEC; now += SEC) {
                s.psi_event_at = now;
                s.events_local.high += 1000;
                s.events_local.max += 3;
                s.stat.pgsteal += PAGES(30 * MiB);
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_equal(d.action, DECISION_NONE);     /* no kill and no warning: it is cache */
                assert_int_equal(st.pressure_since, 0);
                assert_int_equal(st.throttled_since, 0);
        }
        assert_int_equal(st.progress, MEMSTAT_PROGRESS_YES);
        assert_int_equal(d.usage.total, 401 * MiB);
        assert_int_equal(d.usage.cache, 390 * MiB);
        assert_int_equal(d.usage.unreclaimable, 11 * MiB);

        /* Writeback stuck (a dead NFS server): no progress, but killing frees
         * nothing reclaim could not; the deadline does not fire on cache. */
        for (usec_t now = 161 * SEC; now <= 240 * SEC; now += SEC) {
                s.psi_event_at = now;
                s.events_local.high += 1000;
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_not_equal(d.action, DECISION_KILL);
        }
        assert_int_equal(st.progress, MEMSTAT_PROGRESS_NONE);
        assert_true(st.throttled_since > 0);
}

static void test_decide_pressure_needs_unreclaimable(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 380, APP), task(201, "vim", 10, SCOPE) };
        slice_snapshot s = snap(t, 2, 400 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* A hog without swap: 380 MiB anon, 15 MiB of cache it needs. */
        s.has_stat = true;
        s.stat = stat_of(380 * MiB, 15 * MiB);
        s.psi_trigger = true;
        decide_under_pressure(&s, &uc, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_PRESSURE);
        assert_int_equal(d.signal, SIGTERM);
        assert_int_equal(d.pids[0], 200);
        assert_non_null(strstr(d.reason_text, "400M used, 15M of it cache"));

        /* Half anon, half cache that is not thrashing: the stalls are reclaim
         * doing its job, not a reason to kill. */
        s.stat = stat_of(200 * MiB, 195 * MiB);
        st = fresh_state(&s);
        for (usec_t now = 200 * SEC; now <= 230 * SEC; now += SEC) {
                s.psi_event_at = now;
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_not_equal(d.action, DECISION_KILL);
        }
        /* The same cache thrashing (refaults activated at 1/16 of it a
         * second): the kernel cannot keep it, it counts, and it kills. */
        for (usec_t now = 231 * SEC; now <= 240 * SEC && d.action != DECISION_KILL; now += SEC) {
                s.psi_event_at = now;
                s.stat.workingset_activate_file += PAGES(20 * MiB);
                s.stat.workingset_refault_file += PAGES(20 * MiB);
                s.stat.pgsteal += PAGES(20 * MiB);
                policy_decide(&s, &uc, SEC, &st, now, &d);
        }
        assert_true(st.file_thrashing);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_PRESSURE);
}

static void test_decide_deadline_is_time_without_progress(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "hog", 390, APP) };
        slice_snapshot s = snap(t, 1, 410 * MiB);
        slice_state st;
        policy_decision d;
        usec_t now;
        (void) state;

        uc.pressure_some = 0;   /* only the deadline can act */
        s.has_stat = true;
        s.stat = stat_of(395 * MiB, 10 * MiB);
        st = fresh_state(&s);
        /* The first sample is the reference: no verdict yet, no clock. */
        s.events_local.high = 10;
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(st.progress, MEMSTAT_PROGRESS_UNKNOWN);
        assert_int_equal(st.throttled_since, 0);
        /* Reclaim makes progress (swapping out, say): the clock stays off. */
        for (now = 101 * SEC; now <= 140 * SEC; now += SEC) {
                s.events_local.high += 10;
                s.stat.pgsteal += PAGES(8 * MiB);
                s.stat.workingset_refault_anon += PAGES(3 * MiB);
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_equal(st.throttled_since, 0);
                assert_int_not_equal(d.action, DECISION_KILL);
        }
        /* What it reclaims comes straight back: no progress from here on. */
        s.events_local.high += 10;
        s.stat.pgsteal += PAGES(8 * MiB);
        s.stat.workingset_refault_anon += PAGES(5 * MiB);
        policy_decide(&s, &uc, SEC, &st, 141 * SEC, &d);
        assert_int_equal(st.progress, MEMSTAT_PROGRESS_NONE);
        assert_int_equal(st.throttled_since, 141 * SEC);
        policy_decide(&s, &uc, SEC, &st, 160 * SEC, &d);
        assert_int_not_equal(d.action, DECISION_KILL);
        policy_decide(&s, &uc, SEC, &st, 161 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_DEADLINE);
        assert_non_null(strstr(d.reason_text, "without progress"));

        /* Progress in between restarts the count. */
        st = fresh_state(&s);
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        s.events_local.high += 10;
        policy_decide(&s, &uc, SEC, &st, 201 * SEC, &d);
        assert_int_equal(st.throttled_since, 201 * SEC);
        s.stat.pgsteal += PAGES(8 * MiB);
        policy_decide(&s, &uc, SEC, &st, 215 * SEC, &d);
        assert_int_equal(st.throttled_since, 0);
}

static void test_decide_swap_within_allowance(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "sim", 390, APP), task(201, "vim", 10, SCOPE) };
        slice_snapshot s = snap(t, 2, 400 * MiB);
        slice_state st;
        policy_decision d;
        usec_t now;
        (void) state;

        /* 1 GiB of swap, MemorySwapMax=300M: the job swaps out as it grows
         * and gets on with its work. Stalls, at MemoryHigh, left alone. */
        s.swap_total = 1 * GiB;
        s.swap_free = 800 * MiB;
        s.memory.swap_max = 300 * MiB;
        s.memory.swap_current = 100 * MiB;
        s.has_stat = true;
        s.stat = stat_of(390 * MiB, 8 * MiB);
        s.psi_trigger = true;
        st = fresh_state(&s);
        for (now = 100 * SEC; now <= 160 * SEC; now += SEC) {
                s.psi_event_at = now;
                s.events_local.high += 100;
                s.stat.pgsteal += PAGES(2 * MiB);
                s.memory.swap_current += 2 * MiB;
                policy_decide(&s, &uc, SEC, &st, now, &d);
                assert_int_not_equal(d.action, DECISION_KILL);
        }
        assert_true(d.usage.swappable > 300 * MiB);
        assert_int_equal(st.throttled_since, 0);

        /* The allowance is used up and what it swaps out it swaps straight
         * back in: thrashing, acted on within PressureDuration. */
        s.memory.swap_current = 299 * MiB;
        for (now = 161 * SEC; now <= 175 * SEC && d.action != DECISION_KILL; now += SEC) {
                s.psi_event_at = now;
                s.events_local.high += 100;
                s.stat.pgsteal += PAGES(2 * MiB);
                s.stat.workingset_refault_anon += PAGES(2 * MiB);
                policy_decide(&s, &uc, SEC, &st, now, &d);
        }
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.reason, KILL_REASON_PRESSURE);
        assert_int_equal(d.pids[0], 200);
        assert_true(now - SEC <= 161 * SEC + uc.pressure_duration);
        assert_int_equal(d.usage.swappable, 0);
}

static void test_decide_warn_on_unreclaimable(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "tar", 5, APP) };
        slice_snapshot s = snap(t, 1, 480 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        /* 96% of MemoryMax, nearly all of it cache: nothing to warn about. */
        s.memory.high = BYTES_INFINITY;
        s.has_stat = true;
        s.stat = stat_of(10 * MiB, 465 * MiB);
        st = fresh_state(&s);
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        /* Anon past 80%: warned, with total and cache side by side. */
        s.stat = stat_of(410 * MiB, 65 * MiB);
        policy_decide(&s, &uc, SEC, &st, 101 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 0);
        assert_non_null(strstr(d.reason_text, "unreclaimable usage 415M reached 80% of MemoryMax=500M"));
        assert_non_null(strstr(d.reason_text, "480M used, 65M of it cache"));
}

static void test_decide_warn_rearm_needs_hysteresis(void **state) {
        user_config uc = uc_base();
        policy_task t[] = { task(200, "job", 100, APP) };
        slice_snapshot s = snap(t, 1, 490 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        s.memory.high = BYTES_INFINITY;
        st = fresh_state(&s);
        policy_decide(&s, &uc, SEC, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 1);
        /* Dipping under 95% but not under 93% re-arms nothing, however
         * long: usage hovering at a level is warned once. */
        s.memory.current = 470 * MiB;             /* 94% */
        policy_decide(&s, &uc, SEC, &st, 200 * SEC, &d);
        assert_int_equal(st.warned, 3);
        s.memory.current = 490 * MiB;
        policy_decide(&s, &uc, SEC, &st, 300 * SEC, &d);
        assert_int_equal(d.action, DECISION_NONE);
        /* Under 93% re-arms 95% only; back over it, a minute later, warns again. */
        s.memory.current = 460 * MiB;             /* 92% */
        policy_decide(&s, &uc, SEC, &st, 301 * SEC, &d);
        assert_int_equal(st.warned, 1);
        s.memory.current = 490 * MiB;
        policy_decide(&s, &uc, SEC, &st, 400 * SEC, &d);
        assert_int_equal(d.action, DECISION_WARN);
        assert_int_equal(d.warn_level, 1);
}

static void test_growth_ranks_what_grew(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(150, "vim", 30, SCOPE),       /* the editor, unchanged since before the build */
                task(151, "make", 5, SCOPE),
                task(300, "cc1", 20, SCOPE),       /* workers: seen small at the baseline... */
                task(301, "cc1", 20, SCOPE),
                task(302, "cc1", 1, SCOPE),
        };
        slice_snapshot s = snap(t, 5, 380 * MiB);
        policy_history h = {};
        policy_candidate r[8];
        (void) state;

        t[0].task.start_time = 1;
        assert_int_equal(policy_observe_tasks(&h, &s, 100 * SEC), 0);
        s.n_tasks = 3;                       /* only vim, make and one worker are seen at 105 s */
        assert_int_equal(policy_observe_tasks(&h, &s, 105 * SEC), 0);
        s.n_tasks = 5;
        /* Now: the workers at 28-40 MiB, one new worker (303) from nothing. */
        policy_task now[] = {
                t[0], t[1], t[2], t[3], t[4], task(303, "cc1", 28, SCOPE),
        };
        now[2].task.rss_bytes = 40 * MiB;
        now[3].task.rss_bytes = 38 * MiB;
        now[4].task.rss_bytes = 29 * MiB;
        s.tasks = now;
        s.n_tasks = 6;
        s.history = &h;
        assert_int_equal(policy_observe_tasks(&h, &s, 130 * SEC), 0);

        /* The editor is the largest task; by growth it goes last. */
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 300);
        now[0].task.rss_bytes = 45 * MiB;
        assert_int_equal(first_victim(&s, &uc, POLICY_RSS), 150);
        assert_int_equal(first_victim(&s, &uc, POLICY_BADNESS), 150);
        policy_rank(&s, &uc, POLICY_GROWTH, r);
        assert_int_equal(s.tasks[r[0].index].task.pid, 302);      /* 1 -> 29 MiB */
        assert_true(r[0].score == (int64_t) (28 * MiB));
        /* 303 grew 28 MiB from nothing, as did 302: ties go by badness, 302 is bigger. */
        assert_int_equal(s.tasks[r[1].index].task.pid, 303);
        assert_true(r[1].score == (int64_t) (28 * MiB));
        assert_true(r[1].tiebreak < r[0].tiebreak);
        assert_int_equal(s.tasks[r[2].index].task.pid, 300);      /* 20 -> 40 */
        assert_int_equal(s.tasks[r[3].index].task.pid, 301);      /* 20 -> 38 */
        assert_int_equal(s.tasks[r[4].index].task.pid, 150);      /* 30 -> 45 */
        assert_true(r[4].score == (int64_t) (15 * MiB));
        assert_int_equal(s.tasks[r[5].index].task.pid, 151);      /* 0 */
        assert_true(r[5].score == 0);
        now[0].task.rss_bytes = 30 * MiB;
        policy_rank(&s, &uc, POLICY_GROWTH, r);
        /* Equal growth (none): badness decides, the larger vim first. */
        assert_int_equal(s.tasks[r[4].index].task.pid, 150);
        assert_int_equal(s.tasks[r[5].index].task.pid, 151);
        assert_true(r[4].tiebreak > r[5].tiebreak);

        /* A recycled pid is a new task: it grew from nothing. */
        now[2].task.start_time = 999;
        assert_true(policy_growth(&s, 2, 130 * SEC) == (int64_t) (40 * MiB));
        /* Past the window the baseline moves to the next observation. */
        assert_true(policy_growth(&s, 3, 100 * SEC + GROWTH_WINDOW_USEC + 1) == (int64_t) (38 * MiB));
        assert_true(policy_growth(&s, 0, 100 * SEC + GROWTH_WINDOW_USEC + 1) == 0);
        assert_int_equal(growth_baseline_at(&h, 100 * SEC + GROWTH_WINDOW_USEC + 1), 105 * SEC);
        /* Without history everything grew from nothing: growth is the footprint. */
        s.history = NULL;
        assert_true(policy_growth(&s, 0, 130 * SEC) == (int64_t) (30 * MiB));
        growth_history_done(&h);
        assert_int_equal(h.n, 0);
}

static void test_growth_history_bounds(void **state) {
        growth_history h = {};
        growth_entry *e;
        uint64_t v;
        (void) state;

        for (usec_t i = 0; i < GROWTH_MAX_OBSERVATIONS + 4; i++) {
                e = calloc(2, sizeof *e);
                e[0] = (growth_entry) { .pid = 20, .start_time = 5, .footprint = i };
                e[1] = (growth_entry) { .pid = 10, .start_time = 5, .footprint = 100 + i };
                assert_int_equal(growth_record(&h, e, 2, (10 + i) * SEC), 0);
        }
        /* Full: the earliest stays as the baseline, the ones after it go. */
        assert_int_equal(h.n, GROWTH_MAX_OBSERVATIONS);
        assert_int_equal(h.obs[0].at, 10 * SEC);
        assert_int_equal(h.obs[1].at, 15 * SEC);
        assert_true(growth_baseline(&h, 20, 5, 40 * SEC, &v));
        assert_int_equal(v, 0);
        assert_true(growth_baseline(&h, 10, 5, 40 * SEC, &v));   /* entries are sorted for lookup */
        assert_int_equal(v, 100);
        assert_false(growth_baseline(&h, 30, 5, 40 * SEC, &v));
        assert_false(growth_baseline(&h, 20, 6, 40 * SEC, &v));
        /* Time running backwards is refused. */
        e = calloc(1, sizeof *e);
        assert_int_equal(growth_record(&h, e, 1, 5 * SEC), -EINVAL);
        /* Past the window everything expires on the next record. */
        assert_int_equal(growth_record(&h, NULL, 0, 10 * SEC + 2 * GROWTH_WINDOW_USEC), 0);
        assert_int_equal(h.n, 1);
        growth_history_done(&h);
}

/* make -j8 in a slice: the login shell (a session leader, 4 MiB), a 30 MiB
 * editor and eight cc1 workers of WORKER_MIB, pids 300-307, in T[0..9]. */
/* T observed at 100 s as it is, then its tasks [FIRST, FIRST + N) grown
 * to MIB each and observed again at 110 s: 390 of 400 MiB unreclaimable,
 * 40 MiB over the 350 MiB target, under PSI. */
static slice_snapshot grown_snapshot(policy_task *t, size_t n_tasks, policy_history *h, size_t first, size_t n,
                                     uint64_t mib) {
        slice_snapshot s = snap(t, n_tasks, 400 * MiB);

        assert_int_equal(policy_observe_tasks(h, &s, 100 * SEC), 0);
        for (size_t i = first; i < first + n; i++)
                t[i].task.rss_bytes = mib * MiB;
        s.history = h;
        s.has_stat = true;
        s.stat = stat_of(390 * MiB, 10 * MiB);
        s.psi_trigger = true;
        assert_int_equal(policy_observe_tasks(h, &s, 110 * SEC), 0);
        return s;
}

static void make_j8(policy_task *t, uint64_t worker_mib) {
        t[0] = task(100, "bash", 4, SCOPE);
        t[0].task.sid = 100;
        t[1] = task(150, "vim", 30, SCOPE);
        for (int i = 0; i < 8; i++)
                t[2 + i] = task(300 + i, "cc1", worker_mib, SCOPE);
}

static void test_decide_swarm_in_one_round(void **state) {
        user_config uc = uc_base();
        policy_task t[12];
        slice_snapshot s;
        slice_state st;
        policy_decision d;
        mm_groups g = { 304, 320 };
        (void) state;

        /* make -j8: eight workers of 40 MiB, a 30 MiB editor, the login
         * shell; 390 of 400 MiB unreclaimable. The target is 350 MiB. */
        make_j8(t, 40);
        t[10] = task(320, "cc1-thread", 40, SCOPE);   /* shares 304's mm */
        t[11] = task(151, "tmux: server", 6, SCOPE);
        s = snap(t, 12, 400 * MiB);
        s.same_mm = fake_same_mm;
        s.same_mm_userdata = &g;
        s.has_stat = true;
        s.stat = stat_of(390 * MiB, 10 * MiB);
        s.psi_trigger = true;
        uc.policy = POLICY_RSS;
        decide_under_pressure(&s, &uc, &st, 100 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        /* 40 MiB over the target: one worker of 40 MiB is enough. */
        assert_int_equal(d.need, 40 * MiB);
        assert_int_equal(d.n_victims, 1);
        assert_int_equal(d.frees, 40 * MiB);

        /* 430 MiB of it unreclaimable (MemoryHigh 440M): 430 - 385 = 45 MiB, two workers. */
        s.memory.high = 440 * MiB;
        s.memory.current = 440 * MiB;
        s.stat = stat_of(430 * MiB, 10 * MiB);
        decide_under_pressure(&s, &uc, &st, 200 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.need, 45 * MiB);
        assert_int_equal(d.n_victims, 2);
        assert_int_equal(d.frees, 80 * MiB);

        /* The whole job over budget at once: it takes every worker, the
         * thread sharing 304's memory with 304, never the editor, bash or tmux. */
        s.memory.high = 50 * MiB;     /* more than every unprotected task holds */
        s.memory.max = 500 * MiB;
        decide_under_pressure(&s, &uc, &st, 300 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.n_victims, 9);     /* 8 workers and the editor: all unprotected tasks */
        assert_true(d.frees < d.need);
        assert_int_equal(d.n_pids, 10);
        for (size_t i = 0; i < d.n_victims; i++) {
                const policy_victim *v = &d.victims[i];
                pid_t pid = s.tasks[v->index].task.pid;

                assert_true(pid != 100 && pid != 151);
                assert_int_equal(d.pids[v->first_pid], pid);
                if (pid == 304 || pid == 320) {
                        assert_int_equal(v->n_pids, 2);
                        assert_int_equal(d.pids[v->first_pid + 1], pid == 304 ? 320 : 304);
                } else
                        assert_int_equal(v->n_pids, 1);
                if (i > 0)
                        assert_int_equal(v->first_pid, d.victims[i - 1].first_pid + d.victims[i - 1].n_pids);
        }
        assert_int_equal(s.tasks[d.victims[8].index].task.pid, 150);   /* the editor, smallest, last */
        assert_int_equal(d.victim, d.victims[0].index);
        assert_non_null(strstr(d.reason_text, "and 8 more"));
}

/* Policy=growth: the swarm goes on growing while its first members die, so
 * one round also covers what the workers left behind have grown by. */
static void test_decide_growth_swarm_covers_its_growth(void **state) {
        user_config uc = uc_base();
        policy_task t[11];
        policy_history h = {};
        slice_snapshot s;
        slice_state st;
        policy_decision d;
        (void) state;

        /* make -j8: eight workers seen at 10 MiB, now 40 MiB each; the
         * editor (30 MiB) and the login shell unchanged; 390 of 400 MiB
         * unreclaimable, the target 350 MiB: 40 MiB over it. */
        make_j8(t, 10);
        t[10] = task(151, "tmux: server", 6, SCOPE);
        s = grown_snapshot(t, 11, &h, 2, 8, 40);

        /* Under rss, one worker covers the 40 MiB: the other seven, still
         * growing, put the slice back over its budget at once. */
        uc.policy = POLICY_RSS;
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.need, 40 * MiB);
        assert_int_equal(d.n_victims, 1);

        /* Under growth, k workers free 40k MiB and leave (8 - k) x 30 MiB
         * of growth: 40k - 40 >= 30 (8 - k) first holds at k = 4. */
        uc.policy = POLICY_GROWTH;
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.need, 40 * MiB);
        assert_int_equal(d.n_victims, 4);
        assert_int_equal(d.frees, 160 * MiB);
        for (size_t i = 0; i < d.n_victims; i++)
                assert_string_equal(s.tasks[d.victims[i].index].task.comm, "cc1");

        /* One grower alone (the others held still): one victim. */
        for (int i = 1; i < 8; i++)
                t[2 + i].task.rss_bytes = 10 * MiB;
        s.stat = stat_of(390 * MiB, 10 * MiB);
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.n_victims, 1);
        assert_int_equal(s.tasks[d.victim].task.pid, 300);
        growth_history_done(&h);
}

/* A swarm throttled at MemoryHigh shows little growth between readings,
 * so growth sizes the round too small; two victims in one shell job take
 * the rest of the job, as Ctrl-C would, and nothing outside it. */
static void test_decide_swarm_takes_its_job(void **state) {
        user_config uc = uc_base();
        policy_task t[16];
        policy_history h = {};
        slice_snapshot s;
        slice_state st;
        policy_decision d;
        (void) state;

        /* The login shell leads session 100; the editor and tmux are jobs
         * of their own; make (250) leads the build's job, twelve workers
         * seen at 24 MiB, now 28 MiB each. 390 of 400 MiB unreclaimable,
         * 40 MiB over the 350 MiB target. */
        t[0] = task(100, "bash", 4, SCOPE);
        t[0].task.pgrp = 100;
        t[1] = task(150, "vim", 30, SCOPE);
        t[1].task.pgrp = 150;
        t[2] = task(151, "tmux: server", 6, SCOPE);
        t[2].task.pgrp = 151;
        t[2].task.sid = 151;
        t[3] = task(250, "make", 2, SCOPE);
        t[3].task.pgrp = 250;
        for (int i = 0; i < 12; i++) {
                t[4 + i] = task(300 + i, "cc1", 24, SCOPE);
                t[4 + i].task.pgrp = 250;
        }
        s = grown_snapshot(t, 16, &h, 4, 12, 28);
        uc.policy = POLICY_GROWTH;

        /* Growth alone: k workers free 28k MiB and leave 4 (12 - k) MiB of
         * growth: 28k - 40 >= 4 (12 - k) first holds at k = 3. Those three
         * share make's job, so make and all twelve workers go. */
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.need, 40 * MiB);
        assert_int_equal(d.job, 250);
        assert_int_equal(d.n_victims, 13);
        assert_int_equal(d.job_victims, 10);
        assert_int_equal(d.frees, (12 * 28 + 2) * MiB);
        for (size_t i = 0; i < d.n_victims; i++) {
                const procfs_task *v = &s.tasks[d.victims[i].index].task;

                assert_int_equal(v->pgrp, 250);
                assert_int_equal(d.pids[d.victims[i].first_pid], v->pid);
        }
        assert_string_equal(s.tasks[d.victims[0].index].task.comm, "cc1");
        assert_non_null(strstr(d.reason_text, "and 12 more, the rest of its job (process group 250) among them"));

        /* A job holding a task the user cannot kill (-1000) or one ranked
         * last by its name is not taken whole either. */
        for (int i = 3; i < 16; i++)
                t[i].task.pgrp = 250;
        t[3].task.oom_score_adj = -1000;
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.job, 0);
        assert_int_equal(d.n_victims, 3);
        t[3].task.oom_score_adj = 0;
        t[2].task.pgrp = 250;
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.job, 0);
        assert_int_equal(d.n_victims, 3);
        t[2].task.pgrp = 151;

        /* One grower alone is the only victim, job or not. */
        for (int i = 1; i < 12; i++)
                t[4 + i].task.rss_bytes = 24 * MiB;
        t[4].task.rss_bytes = 80 * MiB;
        s.stat = stat_of(390 * MiB, 10 * MiB);
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.n_victims, 1);
        assert_int_equal(d.job, 0);
        assert_int_equal(s.tasks[d.victim].task.pid, 300);
        growth_history_done(&h);
}

/* A notebook kernel runs in a session of its own (Jupyter starts kernels
 * with setsid), so its pool workers share the session's group: that is no
 * job, and the kernel, which did not grow, outlives its workers. */
static void test_decide_session_group_is_no_job(void **state) {
        user_config uc = uc_base();
        policy_task t[8];
        policy_history h = {};
        slice_snapshot s;
        slice_state st;
        policy_decision d;
        (void) state;

        t[0] = task(100, "bash", 4, SCOPE);
        t[0].task.pgrp = 100;
        t[1] = task(400, "python3", 150, APP);
        t[1].task.sid = t[1].task.pgrp = 400;
        for (int i = 0; i < 6; i++) {
                t[2 + i] = task(401 + i, "python3", 30, APP);
                t[2 + i].task.sid = t[2 + i].task.pgrp = 400;
        }
        s = grown_snapshot(t, 8, &h, 2, 6, 38);
        uc.policy = POLICY_GROWTH;

        /* k workers free 38k MiB and leave 8 (6 - k) of growth: k = 2. */
        decide_under_pressure(&s, &uc, &st, 110 * SEC, &d);
        assert_int_equal(d.action, DECISION_KILL);
        assert_int_equal(d.job, 0);
        assert_int_equal(d.job_victims, 0);
        assert_int_equal(d.n_victims, 2);
        for (size_t i = 0; i < d.n_victims; i++)
                assert_true(s.tasks[d.victims[i].index].task.pid > 400);
        assert_null(strstr(d.reason_text, "its job"));
        growth_history_done(&h);
}

static void test_decide_swarm_cgroup_scope(void **state) {
        user_config uc = uc_base();
        policy_task t[] = {
                task(200, "w1", 30, APP), task(201, "w2", 30, APP), task(202, "w3", 30, APP),
                task(300, "w4", 25, SLICE "/user@1001.service/app.slice/other.service"),
                task(100, "bash", 4, SCOPE),
                task(101, "scopejob", 20, SCOPE),
        };
        slice_snapshot s = snap(t, 6, 400 * MiB);
        slice_state st;
        policy_decision d;
        (void) state;

        t[4].task.sid = 100;
        uc.kill_scope = KILL_SCOPE_CGROUP;
        uc.policy = POLICY_RSS;
        s.has_stat = true;
        s.stat = stat_of(395 * MiB, 3 * MiB);       /* 48 MiB over the 350 MiB target */
        s.psi_trigger = true;
        decide_under_pressure(&s, &uc, &st, 100 * SEC, &d);
        /* job.service's cgroup frees all three of its workers: one victim. */
        assert_int_equal(d.action, DECISION_KILL_CGROUP);
        assert_int_equal(d.n_victims, 1);
        assert_string_equal(d.victims[0].cgroup, APP);
        assert_int_equal(d.victims[0].frees, 90 * MiB);

        /* 117 MiB over the target of 280 MiB: then other.service, then the
         * scope's job alone (the scope holds the login shell: a process kill). */
        s.memory.high = 320 * MiB;
        s.memory.current = 400 * MiB;
        decide_under_pressure(&s, &uc, &st, 200 * SEC, &d);
        assert_int_equal(d.n_victims, 3);
        assert_string_equal(d.victims[0].cgroup, APP);
        assert_string_equal(d.victims[1].cgroup, SLICE "/user@1001.service/app.slice/other.service");
        assert_null(d.victims[2].cgroup);
        assert_int_equal(d.pids[d.victims[2].first_pid], 101);
}

static void test_recovered(void **state) {
        user_config uc = uc_base();
        cgfs_memory m = { .current = 410 * MiB, .high = 400 * MiB, .max = 500 * MiB };
        cgfs_events e = { .max = 5 };
        slice_state st = { .initialized = true, .last_max_events = 5 };
        (void) state;

        assert_false(policy_recovered(&m, &e, &e, &uc, &st));
        m.current = 300 * MiB;
        assert_true(policy_recovered(&m, &e, &e, &uc, &st));
        /* A max event is no OOM: under budget is recovered. */
        e.max = 6;
        assert_true(policy_recovered(&m, &e, &e, &uc, &st));
        /* An OOM in the slice since the decision is not. */
        e.oom = 1;
        assert_false(policy_recovered(&m, &e, &e, &uc, &st));
        e.oom = 0;
        /* The kernel killed since the decision: nothing left for us to do. */
        m.current = 410 * MiB;
        e.oom_kill = 1;
        assert_true(policy_recovered(&m, &e, &e, &uc, &st));
        e.oom_kill = 0;
        /* No MemoryHigh: the last warning level stands in for the budget. */
        m.high = BYTES_INFINITY;
        m.current = 480 * MiB;
        assert_false(policy_recovered(&m, &e, &e, &uc, &st));
        m.current = 400 * MiB;
        assert_true(policy_recovered(&m, &e, &e, &uc, &st));
        m.max = BYTES_INFINITY;
        assert_true(policy_recovered(&m, &e, &e, &uc, &st));
}

static void test_recovered_by_unreclaimable(void **state) {
        user_config uc = uc_base();
        slice_snapshot s = snap(NULL, 0, 400 * MiB);
        slice_state st = { .initialized = true };
        (void) state;

        /* The decision's own definition: usage at MemoryHigh, but cache. */
        s.has_stat = true;
        s.stat = (cgfs_memory_stat) {
                .anon = 100 * MiB, .file = 300 * MiB, .active_file = 100 * MiB, .inactive_file = 200 * MiB,
                .active_anon = 100 * MiB, .present = CGFS_STAT_HAS_LRU,
        };
        assert_true(policy_snapshot_recovered(&s, &uc, &st));
        /* The cache thrashing, as the decision saw: it counts. */
        st.file_thrashing = true;
        assert_false(policy_snapshot_recovered(&s, &uc, &st));
        st.file_thrashing = false;
        /* Mostly anon without swap: not recovered. */
        s.stat.anon = s.stat.active_anon = 390 * MiB;
        s.stat.file = s.stat.inactive_file = 10 * MiB;
        s.stat.active_file = 0;
        assert_false(policy_snapshot_recovered(&s, &uc, &st));
        /* The same anon with free swap to go to: recovered. */
        s.swap_total = 1 * GiB;
        s.swap_free = 1 * GiB;
        assert_true(policy_snapshot_recovered(&s, &uc, &st));
}

static void test_next_sample(void **state) {
        user_config uc = uc_base();
        cgfs_memory m = { .current = 10 * MiB, .high = 400 * MiB, .max = 500 * MiB };
        (void) state;

        assert_true(policy_next_sample(&m, &uc) == 15 * SEC);
        m.current = 250 * MiB;                  /* 30% of budget from 80% */
        assert_true(policy_next_sample(&m, &uc) == 10 * SEC);
        m.current = 330 * MiB;                  /* 14% away */
        assert_true(policy_next_sample(&m, &uc) == 5 * SEC);
        m.current = 370 * MiB;                  /* 6% away */
        assert_true(policy_next_sample(&m, &uc) == 2 * SEC);
        m.current = 395 * MiB;
        assert_true(policy_next_sample(&m, &uc) == SEC);
        m.current = 450 * MiB;                  /* past 80%, 5% from 95% */
        assert_true(policy_next_sample(&m, &uc) == 2 * SEC);
        m.current = 490 * MiB;                  /* past every level */
        assert_true(policy_next_sample(&m, &uc) == 10 * SEC);
        m.max = BYTES_INFINITY;
        assert_true(policy_next_sample(&m, &uc) == 30 * SEC);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rss_policy),
                cmocka_unit_test(test_runtime_policy),
                cmocka_unit_test(test_badness_formula),
                cmocka_unit_test(test_totalpages),
                cmocka_unit_test(test_badness_adj_changes_order),
                cmocka_unit_test(test_never_chosen),
                cmocka_unit_test(test_outside_user_slice),
                cmocka_unit_test(test_login_chain),
                cmocka_unit_test(test_decide_shortage),
                cmocka_unit_test(test_service_leader_is_a_job),
                cmocka_unit_test(test_login_chain_hog),
                cmocka_unit_test(test_hog_named_tmux_split),
                cmocka_unit_test(test_soft_void_after_growth),
                cmocka_unit_test(test_other_uid_and_subuids),
                cmocka_unit_test(test_login_shell_hog),
                cmocka_unit_test(test_ties),
                cmocka_unit_test(test_protected_ranked_last),
                cmocka_unit_test(test_decide_max_alone_is_no_evidence),
                cmocka_unit_test(test_decide_oom_kills_at_once),
                cmocka_unit_test(test_decide_reason_escapes_comm),
                cmocka_unit_test(test_decide_descendant_limit_is_not_ours),
                cmocka_unit_test(test_decide_first_call_is_baseline),
                cmocka_unit_test(test_decide_sustained_pressure),
                cmocka_unit_test(test_decide_pressure_gap_resets),
                cmocka_unit_test(test_decide_pressure_under_budget_is_not_ours),
                cmocka_unit_test(test_decide_pressure_from_averages),
                cmocka_unit_test(test_decide_throttle_deadline),
                cmocka_unit_test(test_decide_cooldown),
                cmocka_unit_test(test_decide_stands_down_for_the_kernel),
                cmocka_unit_test(test_decide_no_victim),
                cmocka_unit_test(test_decide_cgroup_scope),
                cmocka_unit_test(test_decide_warn_levels),
                cmocka_unit_test(test_decide_warn_jump),
                cmocka_unit_test(test_decide_copy_is_never_killed),
                cmocka_unit_test(test_decide_pressure_needs_unreclaimable),
                cmocka_unit_test(test_decide_deadline_is_time_without_progress),
                cmocka_unit_test(test_decide_swap_within_allowance),
                cmocka_unit_test(test_decide_warn_on_unreclaimable),
                cmocka_unit_test(test_decide_warn_rearm_needs_hysteresis),
                cmocka_unit_test(test_growth_ranks_what_grew),
                cmocka_unit_test(test_growth_history_bounds),
                cmocka_unit_test(test_decide_swarm_in_one_round),
                cmocka_unit_test(test_decide_growth_swarm_covers_its_growth),
                cmocka_unit_test(test_decide_swarm_takes_its_job),
                cmocka_unit_test(test_decide_session_group_is_no_job),
                cmocka_unit_test(test_decide_swarm_cgroup_scope),
                cmocka_unit_test(test_recovered),
                cmocka_unit_test(test_recovered_by_unreclaimable),
                cmocka_unit_test(test_next_sample),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
