/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "actuator.h"
#include "procfs.h"
#include "recorder.h"
#include "tmptree.h"

static int proc_fd(void) {
        int fd = open("/proc", O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        assert_true(fd >= 0);
        return fd;
}

/* In a child: die with the test and keep its stdout (the TAP stream meson
 * reads to EOF) free, so a failed assertion never leaves meson waiting. */
static void orphan_proof(void) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (null >= 0) {
                (void) dup2(null, STDOUT_FILENO);
                (void) dup2(null, STDERR_FILENO);
        }
}

/* A child that waits to be killed; with ignore_term it shrugs off SIGTERM. */
static pid_t spawn(bool ignore_term) {
        int ready[2];
        char c;
        pid_t pid;

        assert_int_equal(pipe(ready), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                orphan_proof();
                if (ignore_term)
                        signal(SIGTERM, SIG_IGN);
                close(ready[0]);
                if (write(ready[1], "x", 1) != 1)
                        _exit(2);
                for (;;)
                        pause();
        }
        close(ready[1]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        return pid;
}

/* A child that logs every catchable signal it gets, one byte each, on a pipe
 * it alone holds open: "was it signalled?" is then read from the victim
 * itself, not guessed from a non-blocking waitpid() racing the kernel. */
typedef struct recorder_child {
        pid_t pid;
        int log_fd;     /* read end; EOF once the child is dead */
} recorder_child;

static int recorder_log_fd = -1;

static void record_signal(int sig) {
        unsigned char c = (unsigned char) sig;
        (void) !write(recorder_log_fd, &c, 1);
}

static recorder_child spawn_recorder(void) {
        int log[2];
        unsigned char c;
        recorder_child rc;

        assert_int_equal(pipe2(log, O_CLOEXEC), 0);
        rc.pid = fork();
        assert_true(rc.pid >= 0);
        if (rc.pid == 0) {
                struct sigaction sa = { .sa_handler = record_signal };

                orphan_proof();
                close(log[0]);
                recorder_log_fd = log[1];
                for (int sig = 1; sig < NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                (void) sigaction(sig, &sa, NULL);
                c = 0;  /* ready */
                if (write(log[1], &c, 1) != 1)
                        _exit(2);
                for (;;)
                        pause();
        }
        close(log[1]);
        assert_int_equal(read(log[0], &c, 1), 1);
        assert_int_equal(c, 0);
        rc.log_fd = log[0];
        return rc;
}

/* The first signal the child logged since it was ready, asking it with a
 * SIGUSR1 of our own: if anything was sent before, it is logged before our
 * SIGUSR1; if SIGKILL was sent, the child never runs a handler again and
 * the read sees EOF (0). Deterministic: no timing involved. */
static int recorder_first_signal(const recorder_child *rc) {
        unsigned char c;
        ssize_t n;

        assert_int_equal(kill(rc->pid, SIGUSR1), 0);
        do
                n = read(rc->log_fd, &c, 1);
        while (n < 0 && errno == EINTR);
        assert_true(n >= 0);
        return n == 0 ? 0 : c;
}

static void recorder_end(recorder_child *rc) {
        int status;

        (void) kill(rc->pid, SIGKILL);
        assert_int_equal(waitpid(rc->pid, &status, 0), rc->pid);
        close(rc->log_fd);
}

static int reap(pid_t pid) {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

static void test_real_sigterm_is_enough(void **state) {
        actuator a = { .ops = &actuator_ops_pidfd, .procfs_fd = proc_fd(), .cgroot_fd = -1 };
        actuator_outcome o;
        procfs_task t;
        pid_t pid = spawn(false);
        (void) state;

        assert_int_equal(procfs_read_task(a.procfs_fd, pid, &t), 0);
        assert_int_equal(actuator_kill(&a, &t, SIGTERM, 5 * USEC_PER_SEC, &o), 0);
        assert_true(o.exited);
        assert_false(o.escalated);
        assert_int_equal(o.signal_sent, SIGTERM);
        assert_int_equal(reap(pid), SIGTERM);
        close(a.procfs_fd);
}

static void test_real_escalates_to_sigkill(void **state) {
        actuator a = { .ops = &actuator_ops_pidfd, .procfs_fd = proc_fd(), .cgroot_fd = -1 };
        actuator_outcome o;
        procfs_task t;
        pid_t pid = spawn(true);
        (void) state;

        assert_int_equal(procfs_read_task(a.procfs_fd, pid, &t), 0);
        assert_int_equal(actuator_kill(&a, &t, SIGTERM, 200 * USEC_PER_MSEC, &o), 0);
        assert_false(o.exited);
        assert_true(o.escalated);
        assert_int_equal(o.signal_sent, SIGKILL);
        assert_int_equal(reap(pid), SIGKILL);
        close(a.procfs_fd);
}

static void test_real_sigkill_no_grace(void **state) {
        actuator a = { .ops = &actuator_ops_pidfd, .procfs_fd = proc_fd(), .cgroot_fd = -1 };
        actuator_outcome o;
        procfs_task t;
        pid_t pid = spawn(true);
        (void) state;

        assert_int_equal(procfs_read_task(a.procfs_fd, pid, &t), 0);
        assert_int_equal(actuator_kill(&a, &t, SIGKILL, 10 * USEC_PER_SEC, &o), 0);
        assert_int_equal(o.signal_sent, SIGKILL);
        assert_false(o.escalated);
        assert_int_equal(reap(pid), SIGKILL);
        close(a.procfs_fd);
}

static void test_real_refuses_recycled_pid(void **state) {
        actuator a = { .ops = &actuator_ops_pidfd, .procfs_fd = proc_fd(), .cgroot_fd = -1 };
        procfs_task t, stale;
        recorder_child rc = spawn_recorder();
        (void) state;

        assert_int_equal(procfs_read_task(a.procfs_fd, rc.pid, &t), 0);
        /* Same pid, another start time: the snapshot's task is not this one. */
        stale = t;
        stale.start_time = t.start_time + 1;
        assert_int_equal(actuator_kill(&a, &stale, SIGKILL, 0, NULL), -ESRCH);
        assert_int_equal(actuator_kill(&a, &stale, SIGTERM, 0, NULL), -ESRCH);
        stale = t;
        stale.uid = t.uid + 1;
        assert_int_equal(actuator_kill(&a, &stale, SIGKILL, 0, NULL), -ESRCH);
        assert_int_equal(actuator_kill(&a, &stale, SIGTERM, 0, NULL), -ESRCH);
        /* ... and the recycled pid's task got no signal at all: the first one
         * it logged is ours (0 would mean it died of a SIGKILL). */
        assert_int_equal(recorder_first_signal(&rc), SIGUSR1);
        recorder_end(&rc);

        /* A reaped task is gone. */
        assert_int_equal(actuator_kill(&a, &t, SIGKILL, 0, NULL), -ESRCH);
        close(a.procfs_fd);
}

static void test_real_refuses_zombie(void **state) {
        actuator a = { .ops = &actuator_ops_pidfd, .procfs_fd = proc_fd(), .cgroot_fd = -1 };
        procfs_task t;
        pid_t pid = spawn(false);
        int pidfd;
        (void) state;

        assert_int_equal(procfs_read_task(a.procfs_fd, pid, &t), 0);
        kill(pid, SIGKILL);
        /* Wait until it is a zombie, without reaping. */
        pidfd = actuator_pidfd_open(pid);
        assert_true(pidfd >= 0);
        assert_int_equal(a.ops->wait_exit(&a, pidfd, &t, 5 * USEC_PER_SEC), 1);
        close(pidfd);
        assert_int_equal(actuator_kill(&a, &t, SIGKILL, 0, NULL), -ESRCH);
        assert_int_equal(reap(pid), SIGKILL);
        close(a.procfs_fd);
}

static void test_recording_sequence(void **state) {
        recorder rec = {};
        actuator a = { .ops = &recorder_ops };
        procfs_task t = { .pid = 4242, .comm = "hog" };
        actuator_outcome o;
        (void) state;

        recorder_use(&rec);
        /* The task ignores SIGTERM: the grace is waited, then SIGKILL. */
        rec.task_exits = false;
        assert_int_equal(actuator_kill(&a, &t, SIGTERM, 1500 * USEC_PER_MSEC, &o), 0);
        assert_int_equal(rec.n_records, 6);
        assert_string_equal(rec.records[0].op, "open");
        assert_string_equal(rec.records[1].op, "signal");
        assert_int_equal(rec.records[1].sig, SIGTERM);
        assert_string_equal(rec.records[2].op, "wait");
        assert_int_equal(rec.records[2].sig, 1500);     /* the whole grace */
        assert_string_equal(rec.records[3].op, "signal");
        assert_int_equal(rec.records[3].sig, SIGKILL);
        assert_string_equal(rec.records[4].op, "release");
        assert_string_equal(rec.records[5].op, "close");
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(rec.records[i].pid, 4242);
        assert_int_equal(o.signal_sent, SIGKILL);
        assert_false(o.exited);
        assert_true(o.escalated);
        assert_true(o.released);

        /* It goes within the grace: no SIGKILL, nothing to release. */
        rec.n_records = 0;
        rec.task_exits = true;
        assert_int_equal(actuator_kill(&a, &t, SIGTERM, USEC_PER_SEC, &o), 0);
        assert_int_equal(rec.n_records, 4);
        assert_string_equal(rec.records[1].op, "signal");
        assert_int_equal(rec.records[1].sig, SIGTERM);
        assert_string_equal(rec.records[2].op, "wait");
        assert_string_equal(rec.records[3].op, "close");
        assert_int_equal(o.signal_sent, SIGTERM);
        assert_true(o.exited);
        assert_false(o.escalated);
        assert_false(o.released);

        /* SIGKILL at once: no wait, released. */
        rec.n_records = 0;
        assert_int_equal(actuator_kill(&a, &t, SIGKILL, USEC_PER_SEC, &o), 0);
        assert_int_equal(rec.n_records, 4);
        assert_string_equal(rec.records[1].op, "signal");
        assert_int_equal(rec.records[1].sig, SIGKILL);
        assert_string_equal(rec.records[2].op, "release");
        assert_string_equal(rec.records[3].op, "close");
        assert_false(o.escalated);
        assert_true(o.released);
}

static void collect_line(void *userdata, const char *line) {
        char *buf = userdata;
        strncat(buf, line, 1023 - strlen(buf));
        strncat(buf, "\n", 1023 - strlen(buf));
}

static void test_dry_run_signals_nothing(void **state) {
        char log[1024] = "", expected[1024];
        actuator a = { .ops = &actuator_ops_dry_run, .log = collect_line, .log_userdata = log };
        recorder_child rc = spawn_recorder();
        procfs_task t = { .pid = rc.pid };
        actuator_outcome o;
        (void) state;

        snprintf(t.comm, sizeof t.comm, "hog");
        assert_int_equal(actuator_kill(&a, &t, SIGTERM, USEC_PER_SEC, &o), 0);
        assert_int_equal(actuator_kill(&a, &t, SIGKILL, USEC_PER_SEC, &o), 0);
        assert_int_equal(a.ops->kill_cgroup(&a, "user.slice/user-1001.slice/x.scope"), 0);
        snprintf(expected, sizeof expected,
                 "would kill %d (hog) with TERM\n"
                 "would kill %d (hog) with KILL\n"
                 "would kill cgroup /user.slice/user-1001.slice/x.scope\n",
                 (int) rc.pid, (int) rc.pid);
        assert_string_equal(log, expected);
        /* The child got no signal: the first it logged is ours. */
        assert_int_equal(recorder_first_signal(&rc), SIGUSR1);
        recorder_end(&rc);
}

static void test_cgroup_kill_writes_file(void **state) {
        char *root = tmptree_new();
        actuator a = { .ops = &actuator_ops_pidfd };
        char buf[8];
        (void) state;

        tmptree_write(root, "user.slice/user-1001.slice/x.scope/cgroup.kill", "");
        a.cgroot_fd = tmptree_open(root);
        assert_int_equal(a.ops->kill_cgroup(&a, "user.slice/user-1001.slice/x.scope"), 0);
        assert_int_equal(read_file_at(a.cgroot_fd, "user.slice/user-1001.slice/x.scope/cgroup.kill", buf,
                                      sizeof buf, NULL), 0);
        assert_string_equal(buf, "1");
        assert_int_equal(a.ops->kill_cgroup(&a, "user.slice/user-1001.slice/gone.scope"), -ENOENT);
        close(a.cgroot_fd);
        tmptree_free(root);
}

/* Runs as an unprivileged user, so that cgroup.kill (mode 0400) can't be
 * written, as in a cgroup systemd delegated to a user. Returns 0 when the
 * fallback killed both tasks of the cgroup and spared the one outside it. */
static int fallback_child(const char *cgroot, const char *procroot) {
        pid_t victims[2], bystander;
        char buf[256];
        actuator a = { .ops = &actuator_ops_pidfd };
        int status, r;

        if (getuid() == 0 && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
                return 10;
        for (int i = 0; i < 2; i++)
                if ((victims[i] = fork()) == 0)
                        for (;;)
                                pause();
        if ((bystander = fork()) == 0)
                for (;;)
                        pause();
        /* The bystander is listed too, but its cgroup is elsewhere: a pid
         * recycled since cgroup.procs was read must not be hit. */
        snprintf(buf, sizeof buf, "%d\n%d\n%d\n", (int) victims[0], (int) victims[1], (int) bystander);
        tmptree_write(cgroot, "user.slice/user-1001.slice/user@1001.service/app.slice/cgroup.procs", buf);
        for (int i = 0; i < 3; i++) {
                pid_t pid = i < 2 ? victims[i] : bystander;
                snprintf(buf, sizeof buf, "%d/cgroup", (int) pid);
                tmptree_write(procroot, buf, i < 2 ? "0::/user.slice/user-1001.slice/user@1001.service/app.slice\n"
                                                   : "0::/user.slice/user-1002.slice/session-1.scope\n");
        }
        a.cgroot_fd = tmptree_open(cgroot);
        a.procfs_fd = tmptree_open(procroot);
        r = a.ops->kill_cgroup(&a, "user.slice/user-1001.slice/user@1001.service/app.slice");
        /* The fake cgroup.procs never empties: five passes, then -EBUSY. */
        if (r != -EBUSY)
                return 11;
        for (int i = 0; i < 2; i++)
                if (waitpid(victims[i], &status, 0) != victims[i] || !WIFSIGNALED(status) ||
                    WTERMSIG(status) != SIGKILL)
                        return 12;
        if (waitpid(bystander, &status, WNOHANG) != 0)
                return 13;
        kill(bystander, SIGKILL);
        waitpid(bystander, NULL, 0);
        return 0;
}

static void test_cgroup_kill_fallback_without_permission(void **state) {
        char *cgroot = tmptree_new(), *procroot = tmptree_new();
        char path[4096];
        int status;
        pid_t child;
        (void) state;

        tmptree_write(cgroot, "user.slice/user-1001.slice/user@1001.service/app.slice/cgroup.kill", "");
        snprintf(path, sizeof path, "%s/user.slice/user-1001.slice/user@1001.service/app.slice", cgroot);
        assert_int_equal(chmod(path, 0777), 0);
        strncat(path, "/cgroup.kill", sizeof path - strlen(path) - 1);
        assert_int_equal(chmod(path, 0400), 0);
        assert_int_equal(chmod(cgroot, 0755), 0);
        assert_int_equal(chmod(procroot, 0777), 0);

        child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(fallback_child(cgroot, procroot));
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        tmptree_free(cgroot);
        tmptree_free(procroot);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_sigterm_is_enough),
                cmocka_unit_test(test_real_escalates_to_sigkill),
                cmocka_unit_test(test_real_sigkill_no_grace),
                cmocka_unit_test(test_real_refuses_recycled_pid),
                cmocka_unit_test(test_real_refuses_zombie),
                cmocka_unit_test(test_recording_sequence),
                cmocka_unit_test(test_dry_run_signals_nothing),
                cmocka_unit_test(test_cgroup_kill_writes_file),
                cmocka_unit_test(test_cgroup_kill_fallback_without_permission),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
