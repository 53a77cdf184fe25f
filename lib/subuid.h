/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The subordinate uids of a user (/etc/subuid, shadow's subuid(5)): the uids
 * their rootless containers run as. A process of such a uid in the user's
 * slice is the user's own, not another user's. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct subuid_range {
        uid_t start;
        uint32_t count;
} subuid_range;

/* Cap on the ranges kept for one user: a file with more is read no further. */
#define SUBUID_RANGES_MAX 64
/* Cap on the file: the daemon reads it at every login and reload. */
#define SUBUID_FILE_MAX (1U << 20)

/* The ranges of USER (by name) or UID (by number) in PATH, relative to
 * ROOT_FD (e.g. "etc/subuid" under an injectable root). A missing file is
 * no range (0). Malformed lines are skipped. */
int subuid_read(int root_fd, const char *path, const char *user, uid_t uid, subuid_range **ret, size_t *ret_n);

bool subuid_contains(const subuid_range *r, size_t n, uid_t uid);
