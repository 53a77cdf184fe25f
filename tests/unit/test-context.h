/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "actuator.h"
#include "context.h"

/* The daemon's context as the tests of memgovd's modules need it: an event
 * loop, the kill rounds, the fake trees CGROOT and PROCROOT (tmptree) as
 * the cgroup and procfs roots, 8 GiB of RAM, PressureWindow=2s and
 * ShortageGrowthWindow=1min, limits written to cgroupfs, kills through
 * OPS (a dry run when it is actuator_ops_dry_run), watches reported to
 * ON_WATCH. A test changes what it needs afterwards. */
void test_context_init(context *ctx, const char *cgroot, const char *procroot, const actuator_ops *ops,
                       void (*on_watch)(User *u, watch_event ev));
/* Undoes test_context_init(): its fds, the kill rounds, the event loop. */
void test_context_done(context *ctx);
