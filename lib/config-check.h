/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A whole-configuration check, as `memgovd --check-config` and `memgovctl
 * check-config` report it: config_load() with every error collected. */

#include <stdint.h>
#include <stdio.h>

typedef struct config_problem {
        char *file;
        unsigned line;                 /* 0: about the whole file */
        char *message;
} config_problem;

typedef struct config_check {
        config_problem *problems;
        size_t n_problems;
        int error;                     /* what config_load() returned: 0 or -errno */
        size_t n_groups, n_users;      /* drop-ins loaded, when error == 0 */
} config_check;

/* Loads PATH and its drop-ins. Returns ret->error: 0 when the configuration
 * is fine, -EINVAL when problems were found, another -errno when PATH could
 * not be read at all. */
int config_check_run(const char *path, uint64_t physmem, config_check *ret);

/* Each problem as "FILE:LINE: message" on ERR, then a summary line:
 * "PATH: OK (...)" on OUT, or "PROGRAM: N errors ..." on ERR. */
void config_check_print(const config_check *c, const char *path, const char *program, FILE *out, FILE *err);

void config_check_done(config_check *c);
