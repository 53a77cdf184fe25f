/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The daemon: one sd-event loop, the config in force, the users it governs,
 * and every lifetime. It owns the event sources; each of them ends in the
 * one evaluation path (sampler.c). Modules below it never call up: they set
 * due times on the user and flags in the context, and a post source follows
 * those up once per loop iteration (re-arm the single sampling timer, write
 * the status), so idle users cost one wake-up per batch, not one each. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "context.h"
#include "discovery.h"
#include "machine.h"
#include "resolver.h"
#include "users.h"

typedef struct Daemon {
        context ctx;
        sd_event_source *timer;            /* sampling, re-checks, retries: one for all users */
        sd_event_source *reload_timer;     /* coalesces SIGHUPs */
        sd_event_source *post;             /* after each iteration: re-arm timer, flush status */
        sd_event_source *rescan;           /* defer: reconcile users with logind and user.slice */
        discovery discovery;
        machine_watch machine;             /* /proc/pressure/memory: machine-wide shortage */
        resolver resolver;                 /* NSS look-ups in their own thread */

        char *config_path;
        config_set *config;
        bool dry_run_cli;

        user_set users;

        uint64_t wakeups, reloads, reload_failures;
        usec_t status_written;             /* CLOCK_MONOTONIC of the last status write, 0 = never */
        usec_t last_reload;
        bool reload_pending;
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

/* config_error_fn: logs FILE:LINE on stderr and as a config-error record.
 * userdata is the Daemon, or NULL before there is one. */
void daemon_on_config_error(void *userdata, const char *file, unsigned line, const char *message);
