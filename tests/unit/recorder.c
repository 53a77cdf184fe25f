/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "recorder.h"

static recorder *current;

void recorder_use(recorder *r) {
        current = r;
}

static void rec_add(const char *op, pid_t pid, int sig, const char *cgroup) {
        recorded_op *r;

        assert_non_null(current);
        assert_true(current->n_records < RECORDER_MAX);
        r = &current->records[current->n_records++];
        snprintf(r->op, sizeof r->op, "%s", op);
        r->pid = pid;
        r->sig = sig;
        snprintf(r->cgroup, sizeof r->cgroup, "%s", cgroup ? cgroup : "");
}

static int rec_open(actuator *a, const procfs_task *expected, int *ret_handle) {
        (void) a;
        rec_add("open", expected->pid, 0, NULL);
        *ret_handle = (int) expected->pid;
        return 0;
}

static int rec_send(actuator *a, int handle, const procfs_task *t, int sig) {
        (void) a;
        assert_int_equal(handle, t->pid);
        rec_add("signal", t->pid, sig, NULL);
        return 0;
}

static int rec_wait(actuator *a, int handle, const procfs_task *t, usec_t timeout) {
        (void) a;
        (void) handle;
        rec_add("wait", t->pid, (int) (timeout / USEC_PER_MSEC), NULL);
        return current->task_exits ? 1 : 0;
}

static int rec_release(actuator *a, int handle, const procfs_task *t) {
        (void) a;
        (void) handle;
        rec_add("release", t->pid, 0, NULL);
        return 0;
}

static void rec_close(actuator *a, int handle) {
        (void) a;
        rec_add("close", handle, 0, NULL);
}

static int rec_kill_cgroup(actuator *a, const char *cgroup) {
        (void) a;
        rec_add("kill-cgroup", 0, SIGKILL, cgroup);
        return 0;
}

const actuator_ops recorder_ops = {
        .name = "recording",
        .open_task = rec_open,
        .send_signal = rec_send,
        .wait_exit = rec_wait,
        .release = rec_release,
        .close_task = rec_close,
        .kill_cgroup = rec_kill_cgroup,
};
