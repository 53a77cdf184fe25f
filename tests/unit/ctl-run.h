/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Runs the memgovctl binary ($MEMGOVCTL) for its tests and keeps what it
 * printed and its exit status. */

#define CTL_OUT_MAX (1U << 20)

typedef struct ctl_result {
        int status;
        char out[CTL_OUT_MAX];
        char err[CTL_OUT_MAX];
} ctl_result;

extern ctl_result res;

/* Runs memgovctl with ARGS (NULL-terminated) into res; returns the exit status. */
int run(const char *arg, ...);
/* The line of res.out that contains NEEDLE, or fails the test. */
const char *line_with(const char *needle);
