/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Killing, behind an ops table: the real one signals through pidfds, the
 * dry-run one only reports; tests bring their own. The steps are
 * separate so an event loop can wait for the grace period without blocking;
 * actuator_kill() strings them together for simple callers. */

#include <stdbool.h>
#include <sys/types.h>

#include "procfs.h"
#include "util.h"

typedef struct actuator actuator;

typedef struct actuator_ops {
        const char *name;
        /* Opens a handle on the task and checks it is still the one in the
         * snapshot (start time and uid): -ESRCH when it is gone or recycled. */
        int (*open_task)(actuator *a, const procfs_task *expected, int *ret_handle);
        int (*send_signal)(actuator *a, int handle, const procfs_task *t, int sig);
        /* Waits up to timeout for the task to exit: 1 exited, 0 still alive. */
        int (*wait_exit)(actuator *a, int handle, const procfs_task *t, usec_t timeout);
        /* process_mrelease: frees a killed task's memory without waiting for it. */
        int (*release)(actuator *a, int handle, const procfs_task *t);
        void (*close_task)(actuator *a, int handle);
        /* cgroup.kill of a whole cgroup. */
        int (*kill_cgroup)(actuator *a, const char *cgroup);
} actuator_ops;

struct actuator {
        const actuator_ops *ops;
        int procfs_fd;
        int cgroot_fd;
        /* dry-run: called with one line per would-be action. */
        void (*log)(void *userdata, const char *line);
        void *log_userdata;
};

extern const actuator_ops actuator_ops_pidfd;
extern const actuator_ops actuator_ops_dry_run;

typedef struct actuator_outcome {
        int signal_sent;               /* the last signal delivered, 0 if none */
        bool exited;                   /* seen exiting within the grace */
        bool escalated;                /* SIGKILL after SIGTERM's grace ran out */
        bool released;                 /* process_mrelease succeeded */
} actuator_outcome;

/* SIGTERM, wait up to grace, SIGKILL, process_mrelease. With sig == SIGKILL,
 * no grace. -ESRCH when the task is gone or recycled before the first signal. */
int actuator_kill(actuator *a, const procfs_task *t, int sig, usec_t grace, actuator_outcome *ret);

/* Raw syscalls, for callers that drive the steps from an event loop. */
int actuator_pidfd_open(pid_t pid);
int actuator_pidfd_signal(int pidfd, int sig);
int actuator_process_mrelease(int pidfd);
