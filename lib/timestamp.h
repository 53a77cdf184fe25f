/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The points in time an admin types on a command line, as journalctl's
 * --since takes them, in the local time zone:
 *   "YYYY-MM-DD"                 midnight at the start of that day
 *   "YYYY-MM-DD HH:MM[:SS]"      (also with a 'T' between date and time)
 *   "now", "today", "yesterday"  (the last two: midnight)
 *   "-2h", "-30min", "+1d"       relative to now; units s, sec, m, min,
 *                                h, hr, d, day, days, w, week, weeks
 *   "@1764500000"                seconds since the epoch (`date +@%s`). */

#include "util.h"

/* S relative to NOW (µs since the epoch) -> *ret in µs since the epoch.
 * -EINVAL for text that is none of the above (or a date that does not
 * exist, such as 2026-02-30), -ERANGE for one before the epoch. */
int timestamp_parse(const char *s, usec_t now, usec_t *ret);

/* "YYYY-MM-DD HH:MM:SS" in the local time zone. */
#define TIMESTAMP_TEXT_MAX 32
char *timestamp_format(char *buf, size_t size, usec_t t);
