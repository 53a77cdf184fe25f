/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What memgovd sleeps on for one slice: PSI triggers on memory.pressure
 * (one fd per trigger, the kernel allows one each) and memory.events, all
 * EPOLLPRI in sd-event. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct User User;

/* memory.events can fire hundreds of times a second under a tight
 * MemoryHigh; after each one the fd is muted for this long. */
#define WATCH_EVENTS_MUTE_USEC (200 * USEC_PER_MSEC)
/* After a PSI event the kernel stays silent for the rest of the window, so
 * the governor re-checks at this period until the window has passed. */
#define WATCH_PSI_RECHECK_USEC (200 * USEC_PER_MSEC)

typedef struct watch {
        int some_fd, full_fd, events_fd;
        sd_event_source *some_source, *full_source, *events_source;
        bool active;                   /* watches registered on the slice */
        bool psi_fallback;             /* no trigger could be armed: sample avg10 instead */
        usec_t window;                 /* as armed */
        unsigned some, full;           /* permyriad, as armed */
        usec_t unmute_at;              /* memory.events muted until then, 0 = not muted */
        usec_t burst_start;            /* guard against a trigger that fires without pause */
        unsigned burst;
} watch;

void watch_init(watch *w);
/* Arms the triggers and registers the fds; a trigger that cannot be armed
 * is closed and the slice falls back to sampling avg10. */
int watch_start(User *u);
void watch_stop(User *u);
/* True when the user's config asks for different triggers than armed. */
bool watch_changed(const User *u);
void watch_unmute(User *u);
