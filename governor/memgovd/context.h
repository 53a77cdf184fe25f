/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the parts of memgovd below daemon.c share: the host, the loop, the
 * settings in force, and what changed. The daemon owns one context and hands
 * it down; nothing below the daemon looks anything up elsewhere or calls up.
 * A module that changes something the loop must follow up (the status file,
 * the sampling timer, the list of users) sets a flag here, and the daemon
 * acts on the flags once per loop iteration, however many were set. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "actuator.h"
#include "kmsg.h"
#include "util.h"

typedef struct User User;
typedef struct kill_round kill_round;

typedef enum limits_backend {
        LIMITS_SYSTEMD,        /* SetUnitProperties on the system bus */
        LIMITS_CGROUPFS,       /* no systemd manager: write the slice's files */
} limits_backend;

/* What a slice's watch saw. */
typedef enum watch_event {
        WATCH_PSI,             /* a PSI trigger fired (u->pressure, u->psi_event_at updated) */
        WATCH_EVENTS,          /* memory.events changed */
        WATCH_GONE,            /* the slice went away under the watch */
} watch_event;

typedef struct context {
        sd_event *event;
        int cgroot_fd, procfs_fd;
        uint64_t mem_total, swap_total;
        pid_t self;
        bool privileged;                   /* CAP_SYS_RESOURCE: sub-2 s PSI windows */

        /* Settings in force (the command line and [Governor]). */
        bool dry_run;                      /* --dry-run or DryRun=yes */
        bool notify_users;
        usec_t pressure_window;            /* as armed (rounded up when unprivileged) */
        usec_t shortage_growth_window;     /* ShortageGrowthWindow=: how far back User.usage_history reaches */

        actuator actuator;
        /* The kill rounds (act.h), allocated once at start: a kill allocates nothing. */
        kill_round *kill_rounds;
        size_t n_kill_rounds;
        kmsg kmsg;
        struct resolver *resolver;         /* NSS look-ups, off the loop */
        sd_bus *bus;                       /* the system bus, for SetUnitProperties */
        limits_backend limits_backend;
        usec_t bus_retry_at;               /* CLOCK_MONOTONIC: no connection attempt before */
        usec_t bus_retry_delay;            /* grows while the bus stays unreachable */

        /* Where a watch's events go: the evaluation path. */
        void (*on_watch)(User *u, watch_event ev);

        /* What changed, for the daemon to follow up after this iteration. */
        bool status_dirty;                 /* status.json, STATUS= and the metrics file */
        bool timer_dirty;                  /* some user's due time changed */
        bool rescan;                       /* reconcile the users with logind and user.slice */
} context;

static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}
