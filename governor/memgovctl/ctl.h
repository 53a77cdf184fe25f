/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* memgovctl verbs. Each gets argv starting at the verb and returns an exit status. */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "config.h"

int ctl_top(int argc, char **argv);
int ctl_explain(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_kills(int argc, char **argv);
int ctl_check_config(int argc, char **argv);

/* Where a reading verb looks: --config, --cgroup-root and --proc-root. */
typedef struct ctl_sources {
        const char *config;
        const char *cgroup_root;
        const char *proc_root;
} ctl_sources;

enum { CTL_ARG_CONFIG = 0x200, CTL_ARG_CGROUP_ROOT, CTL_ARG_PROC_ROOT };
#define CTL_SOURCE_OPTIONS                                                      \
        { "config",      required_argument, NULL, CTL_ARG_CONFIG },             \
        { "cgroup-root", required_argument, NULL, CTL_ARG_CGROUP_ROOT },        \
        { "proc-root",   required_argument, NULL, CTL_ARG_PROC_ROOT }

void ctl_sources_init(ctl_sources *s);
/* Takes getopt's C and ARG if they are one of CTL_SOURCE_OPTIONS. */
bool ctl_sources_option(ctl_sources *s, int c, const char *arg);
/* After getopt: exactly one operand (USER, UID or cgroup) must remain.
 * Returns 1 with it in ret_target, or prints HELP on stderr and returns
 * -EINVAL. */
int ctl_one_target(int argc, char **argv, void (*help)(FILE *f), const char **ret_target);
/* Opens the cgroupfs and procfs roots; reports failures for VERB. */
int ctl_sources_open(const char *verb, const ctl_sources *s, int *ret_cgroot_fd, int *ret_procfs_fd);

/* Prints a --json document on stdout, indented, "/" unescaped. */
int ctl_print_json(struct json_object *o);

static inline void json_object_putp(struct json_object **o) {
        json_object_put(*o);
}

/* TARGET (a user name, a UID, or a cgroup path starting with '/') -> the
 * relative cgroup path, the uid whose slice it is ((uid_t) -1 if none) and
 * that user's name (NULL if unknown). Reports errors for VERB on stderr. */
int ctl_resolve_target(const char *verb, const char *target, char *cgroup, size_t size, uid_t *ret_uid,
                       char **ret_user);
/* The user's groups by name, as memgovd looks them up for groups.d/. */
char **ctl_user_groups(const char *user);
/* USER's resolved config, as memgovd resolves it. If PATH can't be loaded,
 * warns and falls back to the built-in defaults (*ret_set NULL; then the
 * caller frees ret with user_config_done()). ret_sources may be NULL. */
void ctl_load_user_config(const char *path, uint64_t physmem, uid_t uid, const char *user, config_set **ret_set,
                          user_config *ret, const char **ret_sources);
