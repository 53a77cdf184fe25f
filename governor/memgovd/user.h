/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A governed user: uid >= MinUid, logged in (logind) or owning a
 * user-UID.slice. Users come and go with logins; discovery sleeps on logind's
 * monitor fd and on inotify of user.slice, and never polls. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "act.h"
#include "config.h"
#include "daemon.h"
#include "slice-limits.h"
#include "policy.h"
#include "watch.h"

#define USER_NAME_MAX 256
#define USER_CGROUP_MAX 64
/* A user logind knows whose slice is not there yet: look again this often, this many times. */
#define USER_SLICE_RETRY_USEC (250 * USEC_PER_MSEC)
#define USER_SLICE_RETRIES 40

struct User {
        Daemon *daemon;
        uid_t uid;
        char name[USER_NAME_MAX];
        char cgroup[USER_CGROUP_MAX];      /* user.slice/user-UID.slice */
        char unit[USER_CGROUP_MAX];        /* user-UID.slice */

        bool logged_in;                    /* logind lists the user */
        bool has_slice;                    /* the slice's directory exists */
        unsigned slice_retries;
        usec_t slice_retry_at;

        user_config config;                /* own copy: survives a reload */
        user_config effective;             /* config with the limits in force (borrows protect) */
        slice_state state;
        limit_state limits;
        watch watch;
        kill_op kill;
        oom_report oom;

        /* The last sample. */
        cgfs_memory memory;
        cgfs_events events;
        psi_stats pressure;
        bool sampled;
        usec_t next_sample;
        usec_t last_eval;
        usec_t psi_event_at;
        usec_t recheck_until;              /* re-check on a short period until then */
        usec_t retry_at;                   /* a failed snapshot is retried then */
        bool under_pressure;
        usec_t last_no_victim_log;
        usec_t last_no_victim_full;        /* the last full read that found every task protected */

        /* Buffer for policy_rank(), grown with the largest snapshot seen. */
        policy_candidate *ranked;
        size_t n_ranked_alloc;

        /* Statistics for status.json and the metrics file. */
        uint64_t warns, kills, kernel_oom_kills, peak;
        usec_t last_kill_realtime;
        pid_t last_victim_pid;
        char last_victim_comm[PROCFS_COMM_MAX];
        uint64_t status_usage;             /* usage when status.json was last written */
};

/* Starts discovery: login monitor, inotify on user.slice, first scan. */
int users_start(Daemon *d);
void users_stop(Daemon *d);
/* Reconciles the users with logind and user.slice (deferred). */
void users_request_rescan(Daemon *d);
/* After a good reload: resolve every user's config again and re-apply. */
void users_reload(Daemon *d);

User *user_find(Daemon *d, uid_t uid);
/* The slice went away under a watch: drop the watches and look again. */
void user_slice_gone(User *u);

/* The earliest time something of this user is due (with EVAL_ONLY: an
 * evaluation of the slice), and how late it may be. */
usec_t user_next_due(const User *u, bool eval_only, usec_t *ret_slack);

static inline bool user_dry_run(const User *u) {
        return u->daemon->dry_run;
}
