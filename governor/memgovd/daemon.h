/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The daemon: one sd-event loop, the config in force, the users it governs.
 * Modules never call each other's timers directly: they set due times on the
 * user and mark the daemon's timer dirty, and a post source re-arms the single
 * sampling timer once per loop iteration, so idle users cost one wake-up per
 * batch, not one each. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-login.h>

#include "actuator.h"
#include "config.h"
#include "kmsg.h"
#include "util.h"

typedef struct User User;

typedef enum limits_backend {
        LIMITS_SYSTEMD,        /* SetUnitProperties on the system bus */
        LIMITS_CGROUPFS,       /* no systemd manager: write the slice's files */
} limits_backend;

typedef struct Daemon {
        sd_event *event;
        sd_event_source *timer;            /* sampling, re-checks, retries: one for all users */
        sd_event_source *reload_timer;     /* coalesces SIGHUPs */
        sd_event_source *post;             /* after each iteration: re-arm timer, flush status */
        sd_event_source *rescan;           /* defer: reconcile users with logind and user.slice */
        sd_login_monitor *login_monitor;
        sd_event_source *login_source;
        int slices_fd;                     /* inotify on user.slice, -1 if unavailable */
        int slices_wd, root_wd;            /* its watches: user.slice, or the root until user.slice exists */
        sd_event_source *slices_source;

        sd_bus *bus;
        limits_backend limits_backend;

        char *config_path;
        config_set *config;
        bool dry_run_cli;
        bool dry_run;                      /* --dry-run or DryRun=yes */
        bool privileged;                   /* CAP_SYS_RESOURCE: sub-2 s PSI windows */
        usec_t pressure_window;            /* as armed (rounded up when unprivileged) */

        int cgroot_fd;
        int procfs_fd;
        uint64_t mem_total, swap_total;
        pid_t pid;
        actuator actuator;
        kmsg kmsg;

        User **users;
        size_t n_users;

        uint64_t wakeups, reloads, reload_failures;
        usec_t last_reload;
        bool reload_pending;
        bool timer_dirty;
        bool status_dirty;
        bool exiting;
        char status_text[256];
} Daemon;

int daemon_new(const char *config_path, bool dry_run_cli, config_set *config, Daemon **ret);
Daemon *daemon_free(Daemon *d);
static inline void daemon_freep(Daemon **d) {
        if (*d)
                daemon_free(*d);
}
int daemon_start(Daemon *d);
int daemon_run(Daemon *d);

/* Something the status file or STATUS= shows changed. */
void daemon_mark_dirty(Daemon *d);
/* Some user's due time changed: re-arm the timer after this iteration. */
void daemon_schedule(Daemon *d);
/* config_error_fn: logs FILE:LINE on stderr and as a config-error record.
 * userdata is the Daemon, or NULL before there is one. */
void daemon_on_config_error(void *userdata, const char *file, unsigned line, const char *message);
/* Applies DryRun=, PressureWindow= and friends from d->config. */
void daemon_apply_governor_config(Daemon *d);

static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}
