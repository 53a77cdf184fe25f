/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "procfs.h"
#include "tmptree.h"
#include "util.h"

static void test_parse_stat(void **state) {
        procfs_task t = {};
        (void) state;

        /* A comm with spaces and parentheses, as a hostile user may choose. */
        assert_int_equal(procfs_parse_stat("4242 (a) b (c) R 1 4240 4242 34816 4242 4194304 100 0 0 0 "
                                           "250 150 0 0 20 0 1 0 98765 1000000 2560 18446744073709551615\n",
                                           100, &t),
                         0);
        assert_string_equal(t.comm, "a) b (c");
        assert_int_equal(t.pid, 4242);
        assert_int_equal(t.ppid, 1);
        assert_int_equal(t.pgrp, 4240);
        assert_int_equal(t.sid, 4242);
        assert_int_equal(t.state, 'R');
        assert_true(t.cpu_usec == 4 * USEC_PER_SEC);
        assert_int_equal(t.start_time, 98765);
        assert_int_equal(t.rss_bytes, 2560 * (uint64_t) sysconf(_SC_PAGESIZE));
        assert_false(t.kernel_thread);
        assert_false(t.exiting);

        assert_int_equal(procfs_parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0 "
                                           "18446744073709551615\n", 100, &t), 0);
        assert_true(t.kernel_thread);

        assert_int_equal(procfs_parse_stat("77 (gone) Z 1 77 77 0 -1 4194316 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0 0\n",
                                           100, &t), 0);
        assert_true(t.exiting);
}

static void test_parse_stat_malformed(void **state) {
        procfs_task t = {};
        (void) state;

        assert_int_equal(procfs_parse_stat("", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("12 (x S 1 2 3", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("12 (x) S 1 2 3\n", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("x (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("1 (averyveryverylongname) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n",
                                           100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("1 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 0, &t), -EINVAL);
}

static void test_parse_status(void **state) {
        procfs_task t = {};
        (void) state;

        assert_int_equal(procfs_parse_status("Name:\tbash\nTgid:\t10\nPid:\t10\nUid:\t1001\t1001\t1001\t1001\n"
                                              "VmRSS:\t    4000 kB\nVmPTE:\t      48 kB\nVmSwap:\t     128 kB\n", &t), 0);
        assert_int_equal(t.uid, 1001);
        assert_int_equal(t.tgid, 10);
        assert_int_equal(t.pgtables_bytes, 48 * 1024);
        assert_int_equal(t.swap_bytes, 128 * 1024);

        /* Kernel threads have no Vm lines: zero, not an error. */
        assert_int_equal(procfs_parse_status("Name:\tkworker/0:1\nTgid:\t9\nUid:\t0\t0\t0\t0\n", &t), 0);
        assert_int_equal(t.swap_bytes, 0);

        assert_int_equal(procfs_parse_status("Name:\tx\nTgid:\t9\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t9\nUid:\tabc\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t9\nUid:\t1\nVmSwap:\t12 MB\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t0\nUid:\t1\n", &t), -EINVAL);
}

/* comm is any 15 bytes but NUL: newlines, parentheses and digits that look
 * like the fields after it. */
static void test_parse_stat_hostile_comm(void **state) {
        procfs_task t = {};
        (void) state;

        assert_int_equal(procfs_parse_stat("7 (a\n) R 1 2) S 3 7 7 0 -1 4194304 0 0 0 0 5 6 0 0 20 0 1 0 42 0 9\n",
                                           100, &t), 0);
        assert_memory_equal(t.comm, "a\n) R 1 2", 10);
        assert_int_equal(t.state, 'S');
        assert_int_equal(t.ppid, 3);
        assert_int_equal(t.start_time, 42);
        assert_true(t.cpu_usec == 110000);

        /* The pid must be a positive int followed by " (". */
        assert_int_equal(procfs_parse_stat("0 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("-3 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("2147483648 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 100, &t),
                         -EINVAL);
        assert_int_equal(procfs_parse_stat("12x (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 100, &t), -EINVAL);
        assert_int_equal(procfs_parse_stat("2147483647 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n", 100, &t),
                         0);
        assert_int_equal(t.pid, 2147483647);
}

static void test_parse_status_edges(void **state) {
        procfs_task t = {};
        (void) state;

        /* The kernel escapes a newline in Name: a comm spelling "Uid:" stays on its line. */
        assert_int_equal(procfs_parse_status("Name:\tx\\nUid:\\t0\nUmask:\t0022\nTgid:\t5\nTracerPid:\t0\n"
                                              "Uid:\t1001\t4000000000\t1001\t1001\nVmPTE:\t 4 kB", &t), 0);
        assert_int_equal(t.uid, 4000000000U);
        assert_int_equal(t.tgid, 5);
        /* The last line needs no newline. */
        assert_int_equal(t.pgtables_bytes, 4096);

        assert_int_equal(procfs_parse_status("Tgid:\t9\nUid:\t1\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t9\nUid:\t1\n\t2\t2\t2\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t9\nUid:\t1\t-2\t2\t2\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t9\nUid:\t1\t4294967296\t2\t2\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t2147483648\nUid:\t1\t1\t1\t1\n", &t), -EINVAL);
        assert_int_equal(procfs_parse_status("Tgid:\t-1\nUid:\t1\t1\t1\t1\n", &t), -EINVAL);
}

static void test_meminfo(void **state) {
        procfs_meminfo m;
        char *root = tmptree_new();
        int fd;
        (void) state;

        assert_int_equal(procfs_parse_meminfo("MemTotal:       24576000 kB\nMemFree:  1 kB\nMemAvailable:   20000000 kB\n"
                                              "SwapTotal:       1048576 kB\nSwapFree:         524288 kB\n", &m), 0);
        assert_true(m.mem_total == 24576000ULL * 1024);
        assert_true(m.swap_total == 1048576ULL * 1024);
        assert_true(m.swap_free == 524288ULL * 1024);
        assert_int_equal(procfs_parse_meminfo("MemFree: 1 kB\n", &m), -EINVAL);
        assert_int_equal(procfs_parse_meminfo("MemTotal 1 kB\n", &m), -EINVAL);
        assert_int_equal(procfs_parse_meminfo("MemTotal: lots kB\n", &m), -EINVAL);

        tmptree_write(root, "meminfo", "MemTotal: 2048 kB\nSwapTotal: 0 kB\n");
        fd = tmptree_open(root);
        assert_int_equal(procfs_read_meminfo(fd, &m), 0);
        assert_int_equal(m.mem_total, 2048 * 1024);
        close(fd);
        tmptree_free(root);
}

static void test_read_task_fake(void **state) {
        char *root = tmptree_new();
        procfs_task t;
        int fd;
        (void) state;

        tmptree_add_task(root, &(fake_task) {
                .pid = 300, .ppid = 200, .pgrp = 200, .sid = 100, .uid = 1001, .comm = "hog", .state = 'R',
                .rss_kb = 409600, .swap_kb = 1024, .pte_kb = 800, .utime = 500, .stime = 100,
                .start_time = 12345, .oom_score_adj = 200,
        });
        fd = tmptree_open(root);
        assert_int_equal(procfs_read_task(fd, 300, &t), 0);
        assert_string_equal(t.comm, "hog");
        assert_int_equal(t.uid, 1001);
        assert_int_equal(t.ppid, 200);
        assert_int_equal(t.pgrp, 200);
        assert_int_equal(t.sid, 100);
        assert_int_equal(t.rss_bytes, 409600ULL * 1024);
        assert_int_equal(t.swap_bytes, 1024 * 1024);
        assert_int_equal(t.pgtables_bytes, 800 * 1024);
        assert_int_equal(t.oom_score_adj, 200);
        assert_int_equal(t.start_time, 12345);

        /* Vanished task: -ESRCH, which callers skip. */
        assert_int_equal(procfs_read_task(fd, 301, &t), -ESRCH);
        assert_int_equal(procfs_read_stat(fd, 301, &t), -ESRCH);
        assert_int_equal(procfs_read_task(fd, 0, &t), -EINVAL);

        /* A task dying between stat and oom_score_adj is also just gone. */
        tmptree_add_task(root, &(fake_task) { .pid = 302, .ppid = 1, .sid = 302, .uid = 1001, .comm = "x" });
        tmptree_write(root, "302/oom_score_adj", "");
        assert_int_equal(procfs_read_task(fd, 302, &t), -EINVAL);
        tmptree_write(root, "302/oom_score_adj", "1001\n");
        assert_int_equal(procfs_read_task(fd, 302, &t), -ERANGE);

        /* Any of the three files missing: the task went away between opens. */
        tmptree_add_task(root, &(fake_task) { .pid = 305, .ppid = 1, .sid = 305, .uid = 1001, .comm = "y" });
        assert_int_equal(procfs_read_task(fd, 305, &t), 0);
        assert_int_equal(unlinkat(fd, "305/oom_score_adj", 0), 0);
        assert_int_equal(procfs_read_task(fd, 305, &t), -ESRCH);
        assert_int_equal(unlinkat(fd, "305/status", 0), 0);
        assert_int_equal(procfs_read_task(fd, 305, &t), -ESRCH);
        assert_int_equal(procfs_read_stat(fd, 305, &t), 0);
        assert_string_equal(t.comm, "y");

        /* The stat of another pid under this pid's name is refused. */
        tmptree_write(root, "303/stat", "304 (x) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 1 0 1\n");
        assert_int_equal(procfs_read_stat(fd, 303, &t), -EINVAL);
        close(fd);
        tmptree_free(root);
}

/* Hundreds of supplementary groups push VmSwap and VmPTE past 4 KiB. */
static void test_read_task_big_status(void **state) {
        char *root = tmptree_new(), *status;
        size_t off = 0;
        procfs_task t;
        int fd;
        (void) state;

        tmptree_add_task(root, &(fake_task) {
                .pid = 400, .ppid = 1, .sid = 400, .uid = 1001, .comm = "sssd-user", .rss_kb = 1024,
        });
        status = malloc(64 * 1024);
        assert_non_null(status);
        off += (size_t) sprintf(status + off, "Name:\tsssd-user\nState:\tS (sleeping)\nTgid:\t400\nPid:\t400\n"
                                              "Uid:\t1001\t1001\t1001\t1001\nGroups:\t");
        for (int i = 0; i < 1500; i++)
                off += (size_t) sprintf(status + off, "%d ", 1000000 + i);
        sprintf(status + off, "\nVmRSS:\t    1024 kB\nVmPTE:\t      96 kB\nVmSwap:\t    2048 kB\nThreads:\t1\n");
        assert_true(strlen(status) > 2 * 4096);
        tmptree_write(root, "400/status", status);
        free(status);

        fd = tmptree_open(root);
        assert_int_equal(procfs_read_task(fd, 400, &t), 0);
        assert_int_equal(t.swap_bytes, 2048 * 1024);
        assert_int_equal(t.pgtables_bytes, 96 * 1024);
        assert_int_equal(t.uid, 1001);
        close(fd);
        tmptree_free(root);
}

/* The main thread exited, another thread holds the memory: counted with
 * the live thread's figures, not as an exiting process of rss 0. */
static void test_read_task_dead_leader_fake(void **state) {
        char *root = tmptree_new();
        procfs_task t;
        int fd;
        (void) state;

        tmptree_add_task(root, &(fake_task) {
                .pid = 500, .ppid = 1, .sid = 500, .uid = 1001, .comm = "hog", .state = 'Z',
                .flags = PF_EXITING_FLAG, .rss_kb = 0, .start_time = 777, .utime = 900,
        });
        /* A zombie leader's status has no Vm lines. */
        tmptree_write(root, "500/status", "Name:\thog\nState:\tZ (zombie)\nTgid:\t500\nPid:\t500\n"
                                          "Uid:\t1001\t1001\t1001\t1001\nThreads:\t3\n");
        /* task/500: the leader itself; 501: exiting too; 502: alive. */
        tmptree_write(root, "500/task/500/stat", "500 (hog) Z 1 500 500 0 -1 4194564 0 0 0 0 900 0 0 0 20 0 3 0 777 "
                                                 "0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
        tmptree_add_task(root, &(fake_task) {
                .pid = 501, .ppid = 1, .sid = 500, .uid = 1001, .comm = "hog", .state = 'R',
                .flags = PF_EXITING_FLAG, .rss_kb = 409600,
        });
        tmptree_add_task(root, &(fake_task) {
                .pid = 502, .ppid = 1, .sid = 500, .uid = 1001, .comm = "worker", .state = 'R',
                .rss_kb = 409600, .swap_kb = 4096, .pte_kb = 800,
        });
        for (int tid = 501; tid <= 502; tid++) {
                char from[32], to[32];
                snprintf(from, sizeof from, "%d", tid);
                snprintf(to, sizeof to, "500/task/%d", tid);
                char src[4096], dst[4096];
                snprintf(src, sizeof src, "%s/%s", root, from);
                snprintf(dst, sizeof dst, "%s/%s", root, to);
                tmptree_mkdir(root, "500/task");
                assert_int_equal(rename(src, dst), 0);
                /* A thread's status names its process as Tgid. */
                snprintf(to, sizeof to, "500/task/%d/status", tid);
                tmptree_writef(root, to, "Name:\tx\nState:\tR (running)\nTgid:\t500\nPid:\t%d\n"
                                         "Uid:\t1001\t1001\t1001\t1001\nVmRSS:\t  409600 kB\n"
                                         "VmPTE:\t     800 kB\nVmSwap:\t    4096 kB\n", tid);
        }

        fd = tmptree_open(root);
        assert_int_equal(procfs_read_task(fd, 500, &t), 0);
        assert_false(t.exiting);
        assert_int_equal(t.state, 'R');
        assert_int_equal(t.rss_bytes, 409600ULL * 1024);
        assert_int_equal(t.swap_bytes, 4096 * 1024);
        assert_int_equal(t.pgtables_bytes, 800 * 1024);
        /* Identity stays the process's. */
        assert_int_equal(t.pid, 500);
        assert_string_equal(t.comm, "hog");
        assert_int_equal(t.start_time, 777);

        /* Only dying threads left: the process is exiting. */
        tmptree_write(root, "500/task/502/stat", "");
        assert_int_equal(procfs_read_task(fd, 500, &t), 0);
        assert_true(t.exiting);
        assert_int_equal(t.rss_bytes, 0);
        close(fd);
        tmptree_free(root);
}

static void *hold_memory(void *arg) {
        size_t size = 64U << 20;
        char *p = malloc(size);
        int *ready = arg;

        assert_non_null(p);
        memset(p, 1, size);
        __atomic_store_n(ready, 1, __ATOMIC_SEQ_CST);
        for (;;)
                pause();
        return NULL;
}

/* The same on the host kernel: a child whose main thread calls
 * pthread_exit() while a thread holds 64 MiB. */
static void test_read_task_dead_leader_real(void **state) {
        int fd = open("/proc", O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        procfs_task t = {};
        int pipefd[2], status;
        pid_t child;
        (void) state;

        assert_true(fd >= 0);
        assert_int_equal(pipe(pipefd), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                static int ready;
                pthread_t th;
                close(pipefd[0]);
                if (pthread_create(&th, NULL, hold_memory, &ready) != 0)
                        _exit(1);
                while (!__atomic_load_n(&ready, __ATOMIC_SEQ_CST))
                        usleep(1000);
                (void) !write(pipefd[1], "x", 1);
                pthread_exit(NULL);
        }
        close(pipefd[1]);
        char c;
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        close(pipefd[0]);

        /* Wait for the leader to become a zombie. */
        for (int i = 0; i < 500; i++) {
                assert_int_equal(procfs_read_stat(fd, child, &t), 0);
                if (t.state == 'Z')
                        break;
                usleep(10 * 1000);
        }
        assert_int_equal(t.state, 'Z');
        assert_int_equal(t.rss_bytes, 0);

        assert_int_equal(procfs_read_task(fd, child, &t), 0);
        assert_false(t.exiting);
        assert_true(t.rss_bytes >= 60U << 20);
        assert_int_equal(t.pid, child);

        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        close(fd);
}

static void test_read_task_real(void **state) {
        procfs_task t;
        int fd = open("/proc", O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        pid_t child;
        int status;
        (void) state;

        assert_true(fd >= 0);
        assert_int_equal(procfs_read_task(fd, getpid(), &t), 0);
        assert_int_equal(t.pid, getpid());
        assert_int_equal(t.tgid, getpid());
        assert_int_equal(t.uid, getuid());
        assert_true(t.rss_bytes > 0);
        assert_false(t.kernel_thread);

        /* A reaped child is gone, whatever the reason. */
        child = fork();
        if (child == 0)
                _exit(0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_int_equal(procfs_read_task(fd, child, &t), -ESRCH);

        char cg[512];
        int r = procfs_read_cgroup(fd, getpid(), cg, sizeof cg);
        assert_true(r == 0 || r == -ENODATA);
        close(fd);
}

/* What procfs_read_task() relies on to read one task without opening
 * /proc/PID: a file opened while the task lived fails with ESRCH once the
 * task is reaped, so it never shows a task that took the pid since. */
static void test_read_after_reap_real(void **state) {
        static const char *const names[] = { "stat", "status", "oom_score_adj" };
        int fds[3];
        char path[64], buf[4096];
        pid_t child;
        int status;
        (void) state;

        child = fork();
        assert_true(child >= 0);
        if (child == 0)
                for (;;)
                        pause();
        for (size_t i = 0; i < 3; i++) {
                snprintf(path, sizeof path, "/proc/%d/%s", (int) child, names[i]);
                fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fds[i] >= 0);
                assert_true(pread(fds[i], buf, sizeof buf, 0) > 0);
        }
        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        for (size_t i = 0; i < 3; i++) {
                errno = 0;
                assert_int_equal(pread(fds[i], buf, sizeof buf, 0), -1);
                assert_int_equal(errno, ESRCH);
                close(fds[i]);
        }
}

static void test_read_cgroup_fake(void **state) {
        char *root = tmptree_new();
        char cg[64], tiny[4];
        int fd;
        (void) state;

        tmptree_write(root, "10/cgroup", "12:memory:/foo\n0::/user.slice/user-1001.slice/session-3.scope\n");
        tmptree_write(root, "11/cgroup", "12:memory:/foo\n");
        fd = tmptree_open(root);
        assert_int_equal(procfs_read_cgroup(fd, 10, cg, sizeof cg), 0);
        assert_string_equal(cg, "user.slice/user-1001.slice/session-3.scope");
        assert_int_equal(procfs_read_cgroup(fd, 10, tiny, sizeof tiny), -ENAMETOOLONG);
        assert_int_equal(procfs_read_cgroup(fd, 11, cg, sizeof cg), -ENODATA);
        assert_int_equal(procfs_read_cgroup(fd, 12, cg, sizeof cg), -ESRCH);
        close(fd);
        tmptree_free(root);
}

static void test_state_is_dead(void **state) {
        (void) state;
        assert_true(procfs_state_is_dead('Z'));
        assert_true(procfs_state_is_dead('X'));
        assert_false(procfs_state_is_dead('R'));
        assert_false(procfs_state_is_dead('D'));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_stat),
                cmocka_unit_test(test_parse_stat_malformed),
                cmocka_unit_test(test_parse_status),
                cmocka_unit_test(test_parse_stat_hostile_comm),
                cmocka_unit_test(test_parse_status_edges),
                cmocka_unit_test(test_meminfo),
                cmocka_unit_test(test_read_task_fake),
                cmocka_unit_test(test_read_task_real),
                cmocka_unit_test(test_read_task_big_status),
                cmocka_unit_test(test_read_task_dead_leader_fake),
                cmocka_unit_test(test_read_task_dead_leader_real),
                cmocka_unit_test(test_read_after_reap_real),
                cmocka_unit_test(test_read_cgroup_fake),
                cmocka_unit_test(test_state_is_dead),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
