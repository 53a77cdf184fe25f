/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Carrying out the policy's decisions: warnings, kills and reports of the
 * kernel's own OOM kills. A kill is asynchronous: SIGTERM, then the victim's
 * pidfd is watched in sd-event while the KillGrace timer runs, then SIGKILL
 * and process_mrelease. Everything a kill needs lives in fixed-size fields of
 * the user, so the kill path allocates nothing of its own. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "actuator.h"
#include "policy.h"
#include "snapshot.h"

typedef struct User User;

/* How long to wait for a SIGKILLed task to exit before giving up watching. */
#define ACT_KILL_WAIT_USEC (10 * USEC_PER_SEC)
/* How long to look for the kernel's OOM lines before falling back. */
#define ACT_OOM_LOOKUP_USEC (1500 * USEC_PER_MSEC)
#define ACT_OOM_RETRY_USEC (100 * USEC_PER_MSEC)
/* Largest tasks remembered from the last full snapshot, for the fallback. */
#define ACT_HINTS_MAX 8

typedef struct kill_op {
        const actuator_ops *ops;       /* as at the start: a reload may switch DryRun= meanwhile */
        bool active;
        bool escalated;
        int signal;
        kill_reason reason;
        usec_t started;
        size_t n;
        procfs_task tasks[POLICY_MAX_VICTIM_PIDS];
        int handles[POLICY_MAX_VICTIM_PIDS];
        bool exited[POLICY_MAX_VICTIM_PIDS];
        sd_event_source *exit_source;  /* the victim's pidfd */
        sd_event_source *timer;        /* KillGrace, then the wait after SIGKILL */
} kill_op;

typedef struct oom_hint {
        pid_t pid;
        uint64_t start_time;
        uint64_t rss_bytes;
        char comm[PROCFS_COMM_MAX];
} oom_hint;

typedef struct oom_report {
        unsigned pending;              /* kernel OOM kills not reported yet */
        usec_t deadline;               /* give up on /dev/kmsg then */
        usec_t next_try;               /* 0 = nothing scheduled */
        uint64_t last_seq;             /* kmsg records up to here are reported */
        oom_hint hints[ACT_HINTS_MAX];
        size_t n_hints;
} oom_report;

void act_init(User *u);
void act_done(User *u);

void act_warn(User *u, const snapshot *s, const policy_decision *dec);
/* Re-checks the slice, then starts the kill; returns 0 also when the slice
 * recovered and nothing was done. */
int act_kill(User *u, const snapshot *s, const policy_decision *dec);
/* oom_kill rose by n: report who the kernel killed. */
void act_kernel_oom(User *u, uint64_t n);
/* Called from the sampling timer when u->oom.next_try is due. */
void act_kernel_oom_retry(User *u);
/* Remembers the largest tasks of a full snapshot (the OOM fallback). */
void act_remember_tasks(User *u, const snapshot *s);
