/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The pool of kill rounds (act.h): users killing at once get separate
 * slots, a slot comes back when its round ends, and a kill that is due
 * while every slot is busy is not done then, nor forgotten: its evidence is
 * kept and the retry kills. */

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "act.h"
#include "recorder.h"
#include "report.h"
#include "sampler.h"
#include "test-context.h"
#include "tmptree.h"
#include "user.h"

/* One more user than there are slots. */
#define N_USERS (ACT_KILL_ROUNDS + 1)
#define FIRST_UID 5000
#define FIRST_PID 600

typedef struct pool_fixture {
        char *cgroot, *procroot;
        context ctx;
        User *users[N_USERS];
        recorder rec;
} pool_fixture;

static void on_watch(User *u, watch_event ev) {
        (void) u;
        (void) ev;
}

/* 120M of anon against MemoryHigh=100M, MemoryMax=200M, no swap, one task;
 * OOM counts the slice's own OOMs so far. */
static void write_slice(pool_fixture *f, const char *cgroup, unsigned oom) {
        char path[256];

#define SLICE_FILE(name, ...) do { snprintf(path, sizeof path, "%s/%s", cgroup, name); \
                tmptree_writef(f->cgroot, path, __VA_ARGS__); } while (0)
        SLICE_FILE("memory.current", "125829120\n");
        SLICE_FILE("memory.high", "104857600\n");
        SLICE_FILE("memory.max", "209715200\n");
        SLICE_FILE("memory.stat", "anon 123731968\nfile 0\nkernel 2097152\n");
        SLICE_FILE("memory.events", "low 0\nhigh 5\nmax %u\noom %u\noom_kill 0\n", oom * 3, oom);
        SLICE_FILE("memory.events.local", "low 0\nhigh 5\nmax %u\noom %u\noom_kill 0\n", oom * 3, oom);
        SLICE_FILE("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                      "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
#undef SLICE_FILE
}

static void pool_setup(pool_fixture *f) {
        *f = (pool_fixture) { .cgroot = tmptree_new(), .procroot = tmptree_new() };
        recorder_use(&f->rec);
        tmptree_write(f->procroot, "meminfo", "MemTotal: 8388608 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");

        test_context_init(&f->ctx, f->cgroot, f->procroot, &recorder_ops, on_watch);
        assert_int_equal(f->ctx.n_kill_rounds, ACT_KILL_ROUNDS);
        assert_int_equal(act_rounds_free(&f->ctx), ACT_KILL_ROUNDS);

        for (size_t i = 0; i < N_USERS; i++) {
                User *u = calloc(1, sizeof *u);
                char procs[256];

                assert_non_null(u);
                f->users[i] = u;
                u->ctx = &f->ctx;
                u->uid = FIRST_UID + (uid_t) i;
                snprintf(u->name, sizeof u->name, "user%zu", i);
                snprintf(u->cgroup, sizeof u->cgroup, "user.slice/user-%u.slice", (unsigned) u->uid);
                write_slice(f, u->cgroup, 0);
                snprintf(procs, sizeof procs, "%s/cgroup.procs", u->cgroup);
                tmptree_writef(f->cgroot, procs, "%d\n", FIRST_PID + (int) i);
                tmptree_add_task(f->procroot, &(fake_task) { .pid = FIRST_PID + (pid_t) i, .ppid = 1, .sid = 1,
                                                             .uid = u->uid, .comm = "hog", .state = 'R',
                                                             .rss_kb = 118 * 1024, .start_time = 7 });
                user_config_defaults(f->ctx.mem_total, &u->config);
                u->config.memory_high = 104857600;
                u->config.memory_max = 209715200;
                u->config.policy = POLICY_RSS;
                u->config.kill_scope = KILL_SCOPE_PROCESS;
                u->config.kill_grace = 50 * USEC_PER_MSEC;
                u->effective = u->config;
                u->has_slice = true;
                u->watch = (watch) { .active = true, .some_fd = -1, .full_fd = -1, .events_fd = -1,
                                     .current_fd = -1 };
                act_init(u);
        }
}

static void pool_done(pool_fixture *f) {
        for (size_t i = 0; i < N_USERS; i++) {
                act_done(f->users[i]);
                assert_false(f->users[i]->kill.active);
                assert_null(f->users[i]->kill.round);
                user_config_done(&f->users[i]->config);
                free(f->users[i]->ranked);
                growth_history_done(&f->users[i]->history);
                free(f->users[i]);
        }
        /* Every slot was given back by act_done(). */
        assert_int_equal(act_rounds_free(&f->ctx), ACT_KILL_ROUNDS);
        act_rounds_done(&f->ctx);
        assert_null(f->ctx.kill_rounds);
        close(f->ctx.cgroot_fd);
        close(f->ctx.procfs_fd);
        sd_event_unref(f->ctx.event);
        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
}

/* A SIGTERM round for the user's one task, as the policy would decide it. */
static int kill_task(pool_fixture *f, User *u) {
        pid_t pid = FIRST_PID + (pid_t) (u->uid - FIRST_UID);
        policy_decision dec = { .action = DECISION_KILL, .reason = KILL_REASON_PRESSURE, .signal = SIGTERM,
                                .n_victims = 1, .n_pids = 1 };
        snapshot s = {};
        int r;

        assert_int_equal(snapshot_take(f->ctx.cgroot_fd, f->ctx.procfs_fd, u->cgroup, u->uid, SNAPSHOT_TASKS, &s), 0);
        assert_int_equal(s.slice.n_tasks, 1);
        assert_int_equal(s.slice.tasks[0].task.pid, pid);
        dec.pids[0] = pid;
        dec.victims[0] = (policy_victim) { .index = 0, .first_pid = 0, .n_pids = 1 };
        r = act_kill(u, &s, &dec);
        snapshot_done(&s);
        return r;
}

static size_t signals_to(const recorder *rec, pid_t pid, int sig) {
        size_t n = 0;

        for (size_t i = 0; i < rec->n_records; i++)
                if (strcmp(rec->records[i].op, "signal") == 0 && rec->records[i].pid == pid && rec->records[i].sig == sig)
                        n++;
        return n;
}

static bool in_pool(const context *ctx, const kill_round *k) {
        return k >= ctx->kill_rounds && k < ctx->kill_rounds + ctx->n_kill_rounds;
}

/* Runs the loop until USER's round is over (its tasks exited and KillGrace's
 * timer saw it), at most 3 s. */
static void run_until_round_ends(pool_fixture *f, User *u) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 3 * USEC_PER_SEC;

        while (u->kill.active && now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(f->ctx.event, 50 * USEC_PER_MSEC) >= 0);
        assert_false(u->kill.active);
}

/* Two users kill at once: each round in a slot of its own. When the rounds
 * end, their slots are free again and the next user's kill gets one. */
static void test_rounds_separate_and_returned(void **state) {
        pool_fixture f;
        User *a, *b, *c;

        (void) state;
        pool_setup(&f);
        a = f.users[0];
        b = f.users[1];
        c = f.users[2];
        f.rec.task_exits = false;

        assert_int_equal(kill_task(&f, a), 0);
        assert_int_equal(kill_task(&f, b), 0);
        assert_true(a->kill.active);
        assert_true(b->kill.active);
        assert_true(in_pool(&f.ctx, a->kill.round));
        assert_true(in_pool(&f.ctx, b->kill.round));
        assert_ptr_not_equal(a->kill.round, b->kill.round);
        assert_ptr_equal(a->kill.round->user, a);
        assert_ptr_equal(b->kill.round->user, b);
        assert_int_equal(a->kill.round->tasks[0].pid, FIRST_PID);
        assert_int_equal(b->kill.round->tasks[0].pid, FIRST_PID + 1);
        assert_int_equal(act_rounds_free(&f.ctx), ACT_KILL_ROUNDS - 2);
        assert_int_equal(signals_to(&f.rec, FIRST_PID, SIGTERM), 1);
        assert_int_equal(signals_to(&f.rec, FIRST_PID + 1, SIGTERM), 1);
        /* The user's own round is still under way: no second one. */
        assert_int_equal(kill_task(&f, a), -EBUSY);
        assert_int_equal(act_rounds_free(&f.ctx), ACT_KILL_ROUNDS - 2);

        /* The tasks exit; KillGrace's timer finds them gone and ends both rounds. */
        f.rec.task_exits = true;
        run_until_round_ends(&f, a);
        run_until_round_ends(&f, b);
        assert_null(a->kill.round);
        assert_null(b->kill.round);
        assert_int_equal(act_rounds_free(&f.ctx), ACT_KILL_ROUNDS);
        for (size_t i = 0; i < f.ctx.n_kill_rounds; i++) {
                assert_null(f.ctx.kill_rounds[i].user);
                assert_int_equal(f.ctx.kill_rounds[i].n, 0);
        }

        /* A slot that came back serves the next kill. */
        f.rec.task_exits = false;
        assert_int_equal(kill_task(&f, c), 0);
        assert_true(c->kill.active);
        assert_true(in_pool(&f.ctx, c->kill.round));
        assert_int_equal(act_rounds_free(&f.ctx), ACT_KILL_ROUNDS - 1);
        pool_done(&f);
}

/* Every slot busy: the last user's OOM kill is not done, the evidence (its
 * OOM counter) is not consumed, and a retry is due soon; the retry after a
 * slot came back kills, with the reason it had. */
static void test_rounds_all_busy_retried(void **state) {
        pool_fixture f;
        User *last;
        pid_t last_pid = FIRST_PID + ACT_KILL_ROUNDS;
        usec_t before, slack;

        (void) state;
        pool_setup(&f);
        last = f.users[ACT_KILL_ROUNDS];
        f.rec.task_exits = false;

        /* The counters so far are history. */
        assert_int_equal(sampler_evaluate(last, SAMPLE_START), 0);
        assert_int_equal(last->kills, 0);

        for (size_t i = 0; i < ACT_KILL_ROUNDS; i++) {
                assert_int_equal(kill_task(&f, f.users[i]), 0);
                assert_true(f.users[i]->kill.active);
        }
        assert_int_equal(act_rounds_free(&f.ctx), 0);

        /* The last user's slice runs out of memory at MemoryMax: a SIGKILL is due. */
        write_slice(&f, last->cgroup, 1);
        f.rec.n_records = 0;
        before = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(sampler_evaluate(last, SAMPLE_EVENTS), 0);
        assert_int_equal(signals_to(&f.rec, last_pid, SIGKILL), 0);
        assert_int_equal(f.rec.n_records, 0);
        assert_false(last->kill.active);
        assert_null(last->kill.round);
        assert_int_equal(last->kills, 0);
        assert_int_equal(last->state.last_kill, 0);
        /* Not consumed: the next decision sees the same OOM. */
        assert_int_equal(last->state.last_oom, 0);
        /* The retry: soon, on the user's own timer, and as a full evaluation. */
        assert_true(last->retry_at >= before + ACT_ROUND_RETRY_USEC);
        assert_true(last->retry_at <= now_usec(CLOCK_MONOTONIC) + ACT_ROUND_RETRY_USEC);
        assert_true(user_next_due(last, true, &slack) <= last->retry_at);
        assert_true(f.ctx.timer_dirty);
        assert_false(sampler_idle_look(last));

        /* Still every slot busy at the retry: still nothing, still due again. */
        assert_int_equal(sampler_evaluate(last, SAMPLE_TIMER), 0);
        assert_int_equal(f.rec.n_records, 0);
        assert_int_equal(last->state.last_oom, 0);
        assert_true(last->retry_at > 0);

        /* One round ends (its task exits at KillGrace); its slot comes back. */
        f.rec.task_exits = true;
        run_until_round_ends(&f, f.users[0]);
        assert_true(act_rounds_free(&f.ctx) >= 1);
        f.rec.task_exits = false;
        f.rec.n_records = 0;

        /* The retry kills: SIGKILL at once, for the slice's own OOM. */
        assert_int_equal(sampler_evaluate(last, SAMPLE_TIMER), 0);
        assert_int_equal(signals_to(&f.rec, last_pid, SIGKILL), 1);
        assert_true(last->kill.active);
        assert_true(in_pool(&f.ctx, last->kill.round));
        assert_int_equal(last->kill.round->reason, KILL_REASON_OOM);
        assert_int_equal(last->kills, 1);
        assert_int_equal(last->state.last_oom, 1);
        assert_int_equal(last->retry_at, 0);
        pool_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rounds_separate_and_returned),
                cmocka_unit_test(test_rounds_all_busy_retried),
        };
        log_set_max_priority(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
