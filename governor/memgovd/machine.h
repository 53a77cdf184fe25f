/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The machine as a whole: a PSI trigger on /proc/pressure/memory, and
 * MemAvailable and free swap against the floors of [Governor], read on
 * every wake-up of the daemon. Idle, it adds no wake-up of its own: a
 * timer runs only for two windows after the trigger fires (a look every
 * MACHINE_RECHECK_USEC), and while no swap is free and MemAvailable is
 * within twice its floor (shortage_next_look()), because then the kernel
 * shows no stall before the floor is passed. Each look while short
 * samples every governed user's slice (memory files only), lets
 * shortage_decide() choose a user (lib, pure), and kills in that user's
 * slice by their own policy through act_kill(). Only users' slices:
 * system services stay with the kernel and systemd-oomd. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "context.h"
#include "shortage.h"
#include "user.h"

#define MACHINE_RECHECK_USEC WATCH_PSI_RECHECK_USEC
/* Why nothing was done while short is logged when a shortage is
 * sustained, then at most this often: a node can stay short for hours. */
#define MACHINE_LOG_USEC (60 * USEC_PER_SEC)

typedef struct machine_watch {
        int psi_fd;
        sd_event_source *psi_source;
        usec_t window;                 /* as armed */
        unsigned stall;                /* permyriad of the window, as armed */
        usec_t event_at;               /* last trigger event, 0 = never */
        usec_t recheck_until;          /* look again on MACHINE_RECHECK_USEC until then */
        usec_t next_check;             /* 0 = nothing due */
        usec_t burst_start;
        unsigned burst;
        shortage_state state;
        bool was_short;
        uint64_t shortages;            /* times was_short turned true */
        usec_t last_log;
        usec_t last_kill;              /* 0 = never */
        /* The trigger fired: the daemon runs machine_check() with its users. */
        void (*on_event)(void *userdata);
        void *userdata;
} machine_watch;

void machine_init(machine_watch *m);
/* Arms the trigger with the window in force; off when
 * ShortageMemoryFloor=0. Re-arms when the window or the threshold changed. */
int machine_start(machine_watch *m, context *ctx, const governor_config *gc);
void machine_stop(machine_watch *m);
/* One look at the machine, and a kill if a shortage is sustained. Cheap
 * when the machine is not short (one read of /proc/meminfo): the daemon
 * calls it on every timer wake-up. */
void machine_check(machine_watch *m, context *ctx, const governor_config *gc, User *const *users, size_t n_users);
