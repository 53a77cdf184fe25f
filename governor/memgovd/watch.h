/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What memgovd sleeps on for one slice: PSI triggers on memory.pressure
 * (one fd per trigger, the kernel allows one each) and memory.events, all
 * EPOLLPRI in sd-event. What they see goes to the context's on_watch. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "user.h"

/* memory.events can fire hundreds of times a second under a tight
 * MemoryHigh; after each one the fd is muted for this long. */
#define WATCH_EVENTS_MUTE_USEC (200 * USEC_PER_MSEC)

void watch_init(watch *w);
/* Arms the triggers and registers the fds; a trigger that cannot be armed
 * is closed and the slice falls back to sampling avg10. */
int watch_start(User *u);
void watch_stop(User *u);
/* True when the user's config asks for different triggers than armed. */
bool watch_changed(const User *u);
void watch_unmute(User *u);
