/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapshot.h"
#include "tmptree.h"

#define SLICE "user.slice/user-1001.slice"

typedef struct fixture {
        char *cgroot, *procroot;
        int cgfd, procfd;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);

        f->cgroot = tmptree_new();
        f->procroot = tmptree_new();
        tmptree_write(f->cgroot, SLICE "/memory.current", "419430400\n");
        tmptree_write(f->cgroot, SLICE "/memory.high", "419430400\n");
        tmptree_write(f->cgroot, SLICE "/memory.max", "524288000\n");
        tmptree_write(f->cgroot, SLICE "/memory.events", "low 0\nhigh 12\nmax 0\noom 0\noom_kill 0\n");
        tmptree_write(f->cgroot, SLICE "/memory.pressure", "some avg10=30.00 avg60=3.00 avg300=0.30 total=9\n"
                                                             "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        tmptree_write(f->cgroot, SLICE "/cgroup.procs", "");
        tmptree_write(f->cgroot, SLICE "/session-3.scope/cgroup.procs", "100\n101\n102\n");
        tmptree_write(f->cgroot, SLICE "/memory.stat", "anon 314572800\nfile 94371840\nshmem 1048576\n"
                                                         "active_file 40000000\ninactive_file 53323264\n"
                                                         "pgsteal 77\nzswpwb 0\n");
        tmptree_write(f->procroot, "meminfo", "MemTotal: 8388608 kB\nMemAvailable: 4194304 kB\n"
                                              "SwapTotal: 1048576 kB\nSwapFree: 524288 kB\n");
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 100, .ppid = 1, .sid = 100, .uid = 1001,
                                                     .comm = "bash", .rss_kb = 4096, .start_time = 10 });
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 101, .ppid = 100, .sid = 100, .uid = 1001,
                                                     .comm = "hog", .rss_kb = 400000, .start_time = 20 });
        /* 102 is listed in cgroup.procs but exits before it is read. */
        f->cgfd = tmptree_open(f->cgroot);
        f->procfd = tmptree_open(f->procroot);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        close(f->cgfd);
        close(f->procfd);
        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
        free(f);
        return 0;
}

static void test_take_tasks(void **state) {
        fixture *f = *state;
        snapshot s;

        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_TASKS, &s), 0);
        assert_string_equal(s.slice.cgroup, SLICE);
        assert_int_equal(s.slice.memory.current, 419430400);
        assert_int_equal(s.slice.events.high, 12);
        /* No memory.events.local (before 5.2): the hierarchical counts stand in. */
        assert_int_equal(s.slice.events_local.high, 12);
        assert_true(s.slice.pressure.some.avg10 > 29.9);
        assert_true(s.slice.mem_total == 8388608ULL * 1024);
        assert_true(s.slice.mem_available == 4194304ULL * 1024);
        assert_true(s.slice.swap_total == 1048576ULL * 1024);
        assert_true(s.slice.swap_free == 524288ULL * 1024);
        assert_true(s.has_memory);
        assert_true(s.slice.has_stat);
        assert_int_equal(s.slice.stat.anon, 314572800);
        assert_int_equal(s.slice.stat.inactive_file, 53323264);
        assert_int_equal(s.slice.stat.pgsteal, 77);
        assert_int_equal(s.slice.memory.high, 419430400);
        assert_int_equal(s.slice.memory.max, 524288000);
        assert_int_equal(s.slice.tasks[0].task.pid, 100);
        assert_int_equal(s.slice.tasks[1].task.pid, 101);
        assert_int_equal(s.slice.tasks[1].task.rss_bytes, 400000ULL * 1024);
        assert_int_equal(s.slice.tasks[1].task.ppid, 100);
        assert_int_equal(s.slice.n_tasks, 2);
        assert_int_equal(s.n_unreadable, 0);
        assert_string_equal(s.slice.tasks[1].task.comm, "hog");
        assert_string_equal(s.slice.tasks[1].cgroup, SLICE "/session-3.scope");
        assert_int_equal(s.slice.self_pid, getpid());
        snapshot_done(&s);
        assert_null(s.tasks);
}

static void test_take_memory_only(void **state) {
        fixture *f = *state;
        snapshot s;

        tmptree_write(f->cgroot, SLICE "/memory.events.local", "low 0\nhigh 3\nmax 1\noom 0\noom_kill 0\n");

        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_MEMORY, &s), 0);
        assert_int_equal(s.slice.n_tasks, 0);
        assert_int_equal(s.slice.memory.max, 524288000);
        assert_int_equal(s.slice.events_local.high, 3);
        assert_int_equal(s.slice.events_local.max, 1);
        assert_int_equal(s.slice.events.high, 12);
        /* The cheap read has memory.stat too. */
        assert_true(s.slice.has_stat);
        assert_int_equal(s.slice.stat.file, 94371840);
        assert_int_equal(s.slice.stat.shmem, 1048576);
        assert_int_equal(s.slice.stat.active_file, 40000000);
        assert_null(s.slice.tasks);
        snapshot_done(&s);

        /* No memory.stat: the snapshot says so, and the policy counts all of memory.current. */
        unlinkat(f->cgfd, SLICE "/memory.stat", 0);
        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_MEMORY, &s), 0);
        assert_false(s.slice.has_stat);
        assert_int_equal(s.slice.stat.anon, 0);
        snapshot_done(&s);
}

static void test_take_errors(void **state) {
        fixture *f = *state;
        snapshot s;

        assert_int_equal(snapshot_take(f->cgfd, f->procfd, "user.slice/user-9.slice", 9, SNAPSHOT_TASKS, &s),
                         -ENOENT);
        assert_int_equal(snapshot_take(f->cgfd, f->procfd, "/" SLICE, 1001, SNAPSHOT_TASKS, &s), -EINVAL);

        /* A malformed task hides that task only. */
        tmptree_write(f->procroot, "102/stat", "garbage\n");
        tmptree_write(f->procroot, "102/status", "x\n");
        /* A live task has all its files: a missing one means it is gone. */
        tmptree_write(f->procroot, "102/oom_score_adj", "0\n");
        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_TASKS, &s), 0);
        assert_int_equal(s.slice.n_tasks, 2);
        assert_int_equal(s.n_unreadable, 1);
        assert_int_equal(s.first_error, -EINVAL);
        snapshot_done(&s);

        /* Without PSI (psi=0) the snapshot still works, with no stalls in it. */
        unlinkat(f->cgfd, SLICE "/memory.pressure", 0);
        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_MEMORY, &s), 0);
        assert_true(s.slice.pressure.some.avg10 == 0.0);
        assert_int_equal(s.slice.memory.current, 419430400);
        snapshot_done(&s);

        /* A malformed memory.stat is an error for the slice, as memory.events is. */
        tmptree_write(f->cgroot, SLICE "/memory.stat", "anon many\n");
        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_MEMORY, &s), -EINVAL);
        unlinkat(f->cgfd, SLICE "/memory.stat", 0);

        /* A malformed memory.events is an error for the slice. */
        tmptree_write(f->cgroot, SLICE "/memory.events", "high lots\n");
        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_MEMORY, &s), -EINVAL);
}

/* Several readers give the very snapshot one reader gives: the same
 * tasks in cgroup.procs order, in their cgroups, and the same count and
 * first of the unreadable ones, whichever reader met them first. */
static void test_take_parallel(void **state) {
        fixture *f = *state;
        snapshot one, many;
        char *procs = calloc(400, 16), *other = calloc(400, 16);
        size_t off = 0, off_other = 0;

        assert_non_null(procs);
        assert_non_null(other);
        for (int pid = 1000; pid < 1700; pid++) {
                char path[64];

                /* Every 7th listed pid has exited; 1600 is malformed, 1650 out of range. */
                if (pid % 7 != 0)
                        tmptree_add_task(f->procroot, &(fake_task) {
                                .pid = pid, .ppid = 1, .sid = pid, .uid = 1001, .comm = pid % 2 ? "odd" : "even",
                                .rss_kb = (unsigned long) (pid * 37 % 1000), .start_time = (unsigned long long) pid,
                                .oom_score_adj = pid % 3 - 1,
                        });
                if (pid == 1600) {
                        snprintf(path, sizeof path, "%d/status", pid);
                        tmptree_write(f->procroot, path, "Tgid:\t1600\n");
                }
                if (pid == 1650) {
                        snprintf(path, sizeof path, "%d/oom_score_adj", pid);
                        tmptree_write(f->procroot, path, "5000\n");
                }
                if (pid % 3 == 0)
                        off_other += (size_t) sprintf(other + off_other, "%d\n", pid);
                else
                        off += (size_t) sprintf(procs + off, "%d\n", pid);
        }
        tmptree_write(f->cgroot, SLICE "/cgroup.procs", procs);
        tmptree_write(f->cgroot, SLICE "/app.scope/cgroup.procs", other);
        free(procs);
        free(other);

        assert_int_equal(snapshot_take(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_TASKS, &one), 0);
        /* 700 listed here, 3 in session-3.scope; 100 have exited (and 102). */
        assert_int_equal(one.procs.n_pids, 703);
        assert_int_equal(one.n_unreadable, 2);
        assert_int_equal(one.slice.n_tasks, 703 - 101 - 2);
        for (unsigned readers = 2; readers <= SNAPSHOT_READERS_MAX + 1; readers++) {
                assert_int_equal(snapshot_take_parallel(f->cgfd, f->procfd, SLICE, 1001, SNAPSHOT_TASKS, readers,
                                                        &many), 0);
                assert_int_equal(many.slice.n_tasks, one.slice.n_tasks);
                assert_int_equal(many.n_unreadable, one.n_unreadable);
                assert_int_equal(many.first_error, one.first_error);
                for (size_t i = 0; i < one.slice.n_tasks; i++) {
                        const policy_task *a = &one.slice.tasks[i], *b = &many.slice.tasks[i];

                        assert_int_equal(b->task.pid, a->task.pid);
                        assert_string_equal(b->task.comm, a->task.comm);
                        assert_int_equal(b->task.rss_bytes, a->task.rss_bytes);
                        assert_int_equal(b->task.oom_score_adj, a->task.oom_score_adj);
                        assert_int_equal(b->task.start_time, a->task.start_time);
                        assert_string_equal(b->cgroup, a->cgroup);
                }
                snapshot_done(&many);
        }
        snapshot_done(&one);
}

static int vm_child(void *arg) {
        (void) arg;
        for (;;)
                pause();
        return 0;
}

static void test_same_mm(void **state) {
        static char stack[64 * 1024];
        pid_t forked, shared;
        int r;
        (void) state;

        forked = fork();
        if (forked == 0)
                for (;;)
                        pause();
        shared = clone(vm_child, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
        assert_true(shared > 0);

        r = snapshot_same_mm(NULL, getpid(), shared);
        assert_int_equal(r, 1);
        assert_int_equal(snapshot_same_mm(NULL, getpid(), forked), 0);
        assert_int_equal(snapshot_same_mm(NULL, forked, shared), 0);

        kill(forked, SIGKILL);
        kill(shared, SIGKILL);
        waitpid(forked, NULL, 0);
        waitpid(shared, NULL, 0);
        assert_true(snapshot_same_mm(NULL, getpid(), shared) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_take_tasks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_take_memory_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_take_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_take_parallel, setup, teardown),
                cmocka_unit_test(test_same_mm),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
