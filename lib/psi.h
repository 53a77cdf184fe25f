/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Pressure stall information: parsing memory.pressure and formatting the
 * trigger strings the kernel accepts (Documentation/accounting/psi.rst). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct psi_line {
        double avg10, avg60, avg300;   /* percent, 0..100 */
        uint64_t total_usec;
} psi_line;

typedef struct psi_stats {
        psi_line some;
        psi_line full;
        bool has_full;                 /* the system-wide cpu file has no "full" on old kernels */
} psi_stats;

typedef enum psi_kind {
        PSI_SOME,
        PSI_FULL,
} psi_kind;

#define PSI_WINDOW_MIN_USEC (500 * USEC_PER_MSEC)
#define PSI_WINDOW_MAX_USEC (10 * USEC_PER_SEC)
/* Without CAP_SYS_RESOURCE the kernel only accepts windows that are multiples of this. */
#define PSI_UNPRIVILEGED_WINDOW_USEC (2 * USEC_PER_SEC)
#define PSI_TRIGGER_MAX 64

int psi_parse(const char *text, psi_stats *ret);

/* Checks the kernel's rules for a trigger; -EINVAL (window range, stall
 * range) or -EPERM (sub-2 s multiple without CAP_SYS_RESOURCE). */
int psi_trigger_check(usec_t stall_usec, usec_t window_usec, bool privileged);
/* Formats "some|full STALL WINDOW" into buf. *ret_len counts the trailing
 * NUL, because the kernel wants it written too. */
int psi_trigger_format(psi_kind kind, usec_t stall_usec, usec_t window_usec, bool privileged,
                       char *buf, size_t size, size_t *ret_len);
/* Writes the trigger into an open memory.pressure fd. A failed write leaves
 * the fd permanently readable, so the caller must close it, never poll it. */
int psi_trigger_arm(int fd, psi_kind kind, usec_t stall_usec, usec_t window_usec, bool privileged);
