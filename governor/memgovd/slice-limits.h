/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Puts each user's budget on their slice: MemoryHigh, MemoryMax and
 * MemorySwapMax through systemd (SetUnitProperties, runtime), or, on hosts
 * without a systemd manager, by writing the slice's files. A budget below
 * what the user already uses is approached in steps, never in one write that
 * would make the kernel OOM-kill or freeze the user. */

#include <stdbool.h>
#include <stdint.h>

#include "cgfs.h"
#include "context.h"
#include "user.h"

/* Steps stay this far above usage: 5% of it, at least 16 MiB. */
#define LIMITS_STEP_MARGIN_MIN (16ULL << 20)
#define LIMITS_STEP_MARGIN_PERCENT 5

/* The limit to set now for budget TARGET when CURRENT is in force and the
 * slice uses USAGE: TARGET when that is safe, else just above USAGE, and
 * never higher than CURRENT while stepping down. */
uint64_t limits_step(uint64_t target, uint64_t current, uint64_t usage);

/* Picks the backend: systemd when it runs and its manager is on the bus. */
int limits_open(context *ctx);
void limits_close(context *ctx);

/* Computes the limits for this sample and applies them when they changed;
 * FORCE re-sends them (after a reload or for a new user). m may be NULL when
 * the slice does not exist yet. Updates u->effective. */
int limits_update(User *u, const cgfs_memory *m, bool force);

/* Whether M, read from the slice, shows the limits memgovd put in force:
 * false while a call is on its way, before the first one, and in the
 * moment between systemd's reply and its write to the slice. Warning
 * levels are read from M, so a sample taken before the budget landed
 * must not be trusted for long. True in a dry run, which sets nothing. */
bool limits_seen(const User *u, const cgfs_memory *m);
void limits_done(User *u);
