/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* memgovctl verbs. Each gets argv starting at the verb and returns an exit status. */

#include <stdio.h>
#include <sys/types.h>

#include "config.h"

int ctl_top(int argc, char **argv);
int ctl_explain(int argc, char **argv);
int ctl_status(int argc, char **argv);

/* JSON string escaping for the --json outputs. */
void ctl_json_string(FILE *f, const char *s);

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
