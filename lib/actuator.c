/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "actuator.h"
#include "cgfs.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448
#endif

int actuator_pidfd_open(pid_t pid) {
        int fd = (int) syscall(__NR_pidfd_open, pid, 0);
        return fd < 0 ? -errno : fd;
}

int actuator_pidfd_signal(int pidfd, int sig) {
        return syscall(__NR_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int actuator_process_mrelease(int pidfd) {
        return syscall(__NR_process_mrelease, pidfd, 0) < 0 ? -errno : 0;
}

static int pidfd_open_task(actuator *a, const procfs_task *expected, int *ret_handle) {
        _cleanup_close_ int pidfd = -1;
        procfs_task now = {};
        int r;

        assert(expected);
        assert(ret_handle);

        pidfd = actuator_pidfd_open(expected->pid);
        if (pidfd < 0)
                return pidfd == -ESRCH ? -ESRCH : pidfd;
        /* The pidfd pins this pid's task. If it is still the task of the
         * snapshot (same start time, same owner), every signal sent through
         * the pidfd reaches that task and never a recycled pid. */
        r = procfs_read_task(a->procfs_fd, expected->pid, &now);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        if (now.start_time != expected->start_time || now.uid != expected->uid)
                return -ESRCH;
        if (procfs_state_is_dead(now.state))
                return -ESRCH;
        *ret_handle = take_fd(&pidfd);
        return 0;
}

static int pidfd_send(actuator *a, int handle, const procfs_task *t, int sig) {
        (void) a;
        (void) t;
        return actuator_pidfd_signal(handle, sig);
}

static int pidfd_wait_exit(actuator *a, int handle, const procfs_task *t, usec_t timeout) {
        struct pollfd p = { .fd = handle, .events = POLLIN };
        struct timespec start, cur;
        (void) a;
        (void) t;

        /* A pidfd becomes readable when the task exits (zombie or reaped). */
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                usec_t elapsed;
                int ms, r;

                clock_gettime(CLOCK_MONOTONIC, &cur);
                elapsed = (usec_t) (cur.tv_sec - start.tv_sec) * USEC_PER_SEC +
                          (usec_t) ((cur.tv_nsec - start.tv_nsec) / 1000);
                if (elapsed >= timeout)
                        ms = 0;
                else
                        ms = (int) ((timeout - elapsed + 999) / 1000);
                r = poll(&p, 1, ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 1;
                if (ms == 0)
                        return 0;
        }
}

static int pidfd_release(actuator *a, int handle, const procfs_task *t) {
        (void) a;
        (void) t;
        return actuator_process_mrelease(handle);
}

static void pidfd_close(actuator *a, int handle) {
        (void) a;
        if (handle >= 0)
                close(handle);
}

/* Is PID's cgroup CGROUP or below it? Checked through the pidfd's pid after
 * the pidfd is open, so a pid recycled since cgroup.procs was read is caught. */
static bool pid_in_cgroup(actuator *a, pid_t pid, const char *cgroup) {
        char cg[4096];
        size_t n = strlen(cgroup);

        if (procfs_read_cgroup(a->procfs_fd, pid, cg, sizeof cg) < 0)
                return false;
        return strncmp(cg, cgroup, n) == 0 && (cg[n] == 0 || cg[n] == '/');
}

/* SIGKILL to every task of the subtree, pass after pass until it is empty:
 * for cgroups whose cgroup.kill we may not write. Forks between passes are
 * caught by the next pass; a fork bomb outrunning five passes is reported. */
static int kill_cgroup_by_pids(actuator *a, const char *cgroup) {
        for (int pass = 0; pass < 5; pass++) {
                cgfs_procs procs = {};
                int r = cgfs_collect_procs(a->cgroot_fd, cgroup, &procs);
                if (r < 0)
                        return r;
                if (procs.n_pids == 0) {
                        cgfs_procs_done(&procs);
                        return 0;
                }
                for (size_t i = 0; i < procs.n_pids; i++) {
                        _cleanup_close_ int pidfd = actuator_pidfd_open(procs.pids[i]);
                        if (pidfd < 0 || !pid_in_cgroup(a, procs.pids[i], cgroup))
                                continue;
                        (void) actuator_pidfd_signal(pidfd, SIGKILL);
                }
                cgfs_procs_done(&procs);
                usleep(10 * 1000);
        }
        return -EBUSY;
}

static int cgroupfs_kill(actuator *a, const char *cgroup) {
        int r;

        /* Race-free against forks, unlike signalling cgroup.procs one by one. */
        r = cgfs_write(a->cgroot_fd, cgroup, "cgroup.kill", "1");
        /* Cgroups delegated to a user (user@UID.service) are the user's files;
         * without CAP_DAC_OVERRIDE root may not write them. */
        if (r == -EACCES || r == -EPERM)
                return kill_cgroup_by_pids(a, cgroup);
        return r;
}

const actuator_ops actuator_ops_pidfd = {
        .name = "pidfd",
        .open_task = pidfd_open_task,
        .send_signal = pidfd_send,
        .wait_exit = pidfd_wait_exit,
        .release = pidfd_release,
        .close_task = pidfd_close,
        .kill_cgroup = cgroupfs_kill,
};

static void dry_log(actuator *a, const char *fmt, ...) _printf_(2, 3);
static void dry_log(actuator *a, const char *fmt, ...) {
        char line[256];
        va_list ap;

        if (!a->log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        a->log(a->log_userdata, line);
}

static int dry_open(actuator *a, const procfs_task *expected, int *ret_handle) {
        (void) a;
        (void) expected;
        *ret_handle = -1;
        return 0;
}

static int dry_send(actuator *a, int handle, const procfs_task *t, int sig) {
        (void) handle;
        dry_log(a, "would kill %d (%s) with %s", (int) t->pid, t->comm, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        return 0;
}

static int dry_wait(actuator *a, int handle, const procfs_task *t, usec_t timeout) {
        (void) a;
        (void) handle;
        (void) t;
        (void) timeout;
        /* Nothing was signalled; pretend it went, so no escalation is logged. */
        return 1;
}

static int dry_release(actuator *a, int handle, const procfs_task *t) {
        (void) a;
        (void) handle;
        (void) t;
        return 0;
}

static void dry_close(actuator *a, int handle) {
        (void) a;
        (void) handle;
}

static int dry_kill_cgroup(actuator *a, const char *cgroup) {
        dry_log(a, "would kill cgroup /%s", cgroup);
        return 0;
}

const actuator_ops actuator_ops_dry_run = {
        .name = "dry-run",
        .open_task = dry_open,
        .send_signal = dry_send,
        .wait_exit = dry_wait,
        .release = dry_release,
        .close_task = dry_close,
        .kill_cgroup = dry_kill_cgroup,
};

int actuator_kill(actuator *a, const procfs_task *t, int sig, usec_t grace, actuator_outcome *ret) {
        actuator_outcome o = {};
        int handle = -1, r;

        assert(a);
        assert(a->ops);
        assert(t);
        assert(sig == SIGTERM || sig == SIGKILL);

        r = a->ops->open_task(a, t, &handle);
        if (r < 0)
                return r;

        r = a->ops->send_signal(a, handle, t, sig);
        if (r < 0) {
                a->ops->close_task(a, handle);
                return r;
        }
        o.signal_sent = sig;

        if (sig == SIGTERM) {
                r = a->ops->wait_exit(a, handle, t, grace);
                if (r > 0)
                        o.exited = true;
                else {
                        /* The grace is over (or waiting failed): no more asking. */
                        r = a->ops->send_signal(a, handle, t, SIGKILL);
                        if (r < 0 && r != -ESRCH) {
                                a->ops->close_task(a, handle);
                                return r;
                        }
                        o.signal_sent = SIGKILL;
                        o.escalated = true;
                }
        }
        /* Free the memory now instead of when the exit path gets to it. It
         * fails with EINVAL once the mm is gone already, which is fine. */
        if (o.signal_sent == SIGKILL)
                o.released = a->ops->release(a, handle, t) == 0;
        a->ops->close_task(a, handle);
        if (ret)
                *ret = o;
        return 0;
}
