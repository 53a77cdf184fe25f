/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Reports of the kernel's own OOM kills in a user's slice. The slice's
 * oom_kill counter says how many; /dev/kmsg says whom, a little later, so
 * the look-up is retried from the sampling timer for a while and then
 * falls back to the tasks remembered from the last full snapshot. The
 * state lives in the user (oom_report in user.h). */

#include <stdint.h>

#include "snapshot.h"
#include "user.h"

/* How long to look for the kernel's OOM lines before falling back. */
#define OOM_REPORT_LOOKUP_USEC (1500 * USEC_PER_MSEC)
#define OOM_REPORT_RETRY_USEC (100 * USEC_PER_MSEC)

/* oom_kill rose by n: report who the kernel killed. */
void oom_report_kills(User *u, uint64_t n);
/* Called from the sampling timer when u->oom.next_try is due. */
void oom_report_retry(User *u);
/* Remembers the largest tasks of a full snapshot (the fallback). */
void oom_report_remember(User *u, const snapshot *s);
