/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A governed user: uid >= MinUid, logged in (logind) or owning a
 * user-UID.slice, and everything memgovd keeps about them. The per-user
 * state of watch.c, slice-limits.c and act.c is defined here, so those
 * modules depend on this header and never the other way round. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cgfs.h"
#include "config.h"
#include "context.h"
#include "memstat.h"
#include "policy.h"
#include "procfs.h"
#include "psi.h"
#include "resolver.h"
#include "shortage.h"
#include "subuid.h"

#define USER_NAME_MAX 256
#define USER_CGROUP_MAX 64
/* A user logind knows whose slice is not there yet: look again this often, this many times. */
#define USER_SLICE_RETRY_USEC (250 * USEC_PER_MSEC)
#define USER_SLICE_RETRIES 40
/* After a PSI event the kernel stays silent for the rest of the window, so
 * the governor re-checks at this period until the window has passed. */
#define WATCH_PSI_RECHECK_USEC (200 * USEC_PER_MSEC)
/* Largest tasks remembered from the last full snapshot, for the OOM fallback. */
#define OOM_REPORT_HINTS_MAX 8

/* What memgovd sleeps on for one slice (watch.c). */
typedef struct watch {
        int some_fd, full_fd, events_fd;
        int current_fd;                /* memory.current, for the idle look; -1 = none */
        sd_event_source *some_source, *full_source, *events_source;
        bool active;                   /* watches registered on the slice */
        bool psi_fallback;             /* no trigger could be armed: sample avg10 instead */
        usec_t window;                 /* as armed */
        unsigned some, full;           /* permyriad, as armed */
        usec_t unmute_at;              /* memory.events muted until then, 0 = not muted */
        usec_t burst_start;            /* guard against a trigger that fires without pause */
        unsigned burst;
} watch;

/* The limits on the slice (slice-limits.c). */
/* Session leaders asked of logind for one user; more sessions are rare. */
#define USER_SESSIONS_MAX 64

typedef struct limit_state {
        bool known;                    /* high/max/swap below hold what is in force */
        uint64_t high, max, swap;      /* in force (what we last set, or found) */
        bool stepping;                 /* some limit still sits above its budget */
        sd_bus_slot *slot;             /* the pending SetUnitProperties call */
        unsigned failures;
} limit_state;

/* The user's part of a kill round (act.c). The round itself, with its
 * tasks, pidfds and timer, is a slot of the context's pool (act.h:
 * kill_round), held only while the round is under way: kills are rare, and
 * a slot is about 27 KB. */
typedef struct user_kill {
        bool active;                   /* a round is under way, in .round */
        struct kill_round *round;      /* NULL unless active */
        usec_t busy_logged;            /* the last "every slot is busy" said at info level */
} user_kill;

typedef struct oom_hint {
        pid_t pid;
        uint64_t start_time;
        uint64_t rss_bytes;
        char comm[PROCFS_COMM_MAX];
} oom_hint;

/* Kernel OOM kills being reported (act.c). */
typedef struct oom_report {
        unsigned pending;              /* kernel OOM kills not reported yet */
        usec_t deadline;               /* give up on /dev/kmsg then */
        usec_t next_try;               /* 0 = nothing scheduled */
        uint64_t last_seq;             /* kmsg records up to here are reported */
        oom_hint hints[OOM_REPORT_HINTS_MAX];
        size_t n_hints;
} oom_report;

struct User {
        context *ctx;
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
        /* Policy=growth: the slice's tasks observed as it nears its budget. */
        policy_history history;
        usec_t last_observed;
        /* What the user held over time, for a machine-wide shortage (machine.c). */
        shortage_history usage_history;
        limit_state limits;
        watch watch;
        user_kill kill;
        oom_report oom;

        /* The last sample. */
        cgfs_memory memory;
        memstat_usage usage;               /* memory.current split into cache and unreclaimable */
        cgfs_events events;
        psi_stats pressure;
        bool sampled;
        usec_t next_sample;
        usec_t read_at;                    /* when memory.current above was read */
        uint64_t prev_current;             /* the read before, for the growth since */
        usec_t prev_read_at;
        usec_t last_eval;
        usec_t psi_event_at;
        usec_t recheck_until;              /* re-check on a short period until then */
        usec_t retry_at;                   /* a failed snapshot, or a kill that found no free slot, is retried then */
        bool under_pressure;
        usec_t last_no_victim_log;
        usec_t last_no_victim_full;        /* the last full read that found every task protected */
        usec_t last_walk_warning;          /* the last "part of the slice could not be read" */
        /* NSS (resolver.h): the last good look-up, and the one under way. */
        char **nss_groups;                 /* group names of the last good look-up */
        usec_t nss_at;                     /* CLOCK_MONOTONIC of that look-up, 0 = never */
        bool nss_named;                    /* name is from passwd (else it is the uid) */
        bool nss_pending;                  /* a look-up is queued or running */
        usec_t nss_asked_at;               /* when it was asked for */
        bool nss_slow_logged;              /* "has taken ..." is said once per look-up */
        usec_t nss_retry_at;               /* ask again then (0 = no need) */
        subuid_range *subuids;             /* the user's /etc/subuid ranges, read with the config */
        size_t n_subuids;
        pid_t session_leaders[USER_SESSIONS_MAX];  /* logind's, at the last full read */
        size_t n_session_leaders;

        /* Buffer for policy_rank(), grown with the largest snapshot seen. */
        policy_candidate *ranked;
        size_t n_ranked_alloc;

        /* Statistics for status.json and the metrics file. */
        uint64_t warns, kills, kernel_oom_kills, peak;
        uint64_t limit_failures;           /* attempts to set the limits that failed */
        uint64_t limit_resets;             /* limits found changed behind memgovd's back */
        usec_t last_kill_realtime;
        pid_t last_victim_pid;
        char last_victim_comm[PROCFS_COMM_MAX];
        uint64_t status_usage;             /* usage when status.json was last written */
};

/* NSS look-ups run in resolver.c's thread; these apply what they found, in
 * the loop thread. */
/* A look-up older than this is repeated at the next reload; younger ones
 * serve the reload as they are. */
#define USER_NSS_MAX_AGE_USEC (10 * 60 * USEC_PER_SEC)
/* A look-up that takes longer is logged, once. */
#define USER_NSS_SLOW_USEC (10 * USEC_PER_SEC)
/* A failed look-up is asked again after this long. */
#define USER_NSS_RETRY_USEC (60 * USEC_PER_SEC)

/* The user's layered config from C, with the name and groups of the last
 * good look-up (none yet: users.d by uid, and the defaults). */
int user_layer_config(User *u, const config_set *c);
/* For a user just seen: /etc/subuid by uid, and the config without NSS. */
int user_first_config(User *u, const config_set *c);
/* Takes an answer from the resolver and re-layers the config. A failed or
 * partial answer keeps the last good look-up, if there is one, and sets a
 * retry. Returns 1 when the answer was taken, 0 when the last good look-up
 * was kept, -ENOMEM. */
int user_take_answer(User *u, const config_set *c, resolver_answer *a, usec_t now);
/* True when the last good look-up is missing or older than USER_NSS_MAX_AGE_USEC. */
bool user_lookup_stale(const User *u, usec_t now);
/* Logs a look-up still running USER_NSS_SLOW_USEC after it was asked
 * for, once, saying what the user is governed with meanwhile. */
void user_check_slow_lookup(User *u, usec_t now);

/* The earliest time something of this user is due (with EVAL_ONLY: an
 * evaluation of the slice), and how late it may be. Pure. */
usec_t user_next_due(const User *u, bool eval_only, usec_t *ret_slack);
/* Over all users: the earliest due time, and the latest time the timer may
 * fire so that nothing is later than its slack. USEC_INFINITY when nothing
 * is due. Pure. */
usec_t user_next_wakeup(User *const *users, size_t n, usec_t *ret_deadline);
