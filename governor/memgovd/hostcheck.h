/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Can this host be governed? memgovd asks before it opens anything else, and
 * refuses to start with a message that names what is missing and how to fix
 * it (oomd crashes or silently does nothing on hybrid hierarchies; memgov
 * must not). Only reads: statfs, a few cgroupfs and procfs files, and
 * libcgroup's view of the mounts. Needs no privileges. */

#include <stdbool.h>
#include <stddef.h>

#define HOSTCHECK_CGROUP_ROOT "/sys/fs/cgroup"
#define HOSTCHECK_USER_SLICE "user.slice"
#define HOSTCHECK_PSI_PATH "/proc/pressure/memory"
/* Room for the longest refusal (everything missing at once). */
#define HOSTCHECK_WHY_MAX 2048

typedef enum hostcheck_psi {
        HOSTCHECK_PSI_OK,
        HOSTCHECK_PSI_DISABLED,        /* EOPNOTSUPP: psi=0 or CONFIG_PSI_DEFAULT_DISABLED */
        HOSTCHECK_PSI_MISSING,         /* ENOENT: kernel built without CONFIG_PSI */
        HOSTCHECK_PSI_CGROUP_DISABLED, /* the system file works, user.slice's memory.pressure does not */
        HOSTCHECK_PSI_ERROR,           /* anything else, see psi_errno */
} hostcheck_psi;

/* What the probes found; hostcheck_explain() turns it into a verdict. Split
 * so that the verdict and its wording are tested on struct literals. */
typedef struct hostcheck_facts {
        /* statfs(/sys/fs/cgroup) */
        int root_statfs_errno;             /* 0 when statfs worked */
        bool root_is_cgroup2;
        bool root_is_tmpfs;                /* the hybrid/legacy layout */
        bool unified_at_subdir;            /* cgroup2 at /sys/fs/cgroup/unified (hybrid) */

        /* libcgroup: the mount serving the memory controller */
        int libcgroup_error;               /* positive ECG* code from cgroup_init/lookup, 0 = fine */
        const char *libcgroup_error_text;  /* cgroup_strerror() of it, static */
        char memory_mount[256];            /* "" when libcgroup found no memory mount */
        bool memory_mount_is_cgroup2;

        /* cgroup v2 files, only probed when root_is_cgroup2 */
        bool memory_in_root_controllers;
        bool memory_in_root_subtree_control;
        bool user_slice_exists;
        bool memory_in_user_slice;

        /* kernel command line switches that explain the above */
        bool cmdline_unified_off;          /* systemd.unified_cgroup_hierarchy=0 (or false/no) */
        bool cmdline_legacy_controller;    /* systemd.legacy_systemd_cgroup_controller (any value but 0) */
        bool cmdline_cgroup_disable_memory;/* cgroup_disable=...memory... */
        bool cmdline_psi_off;              /* psi=0 */

        hostcheck_psi psi;
        int psi_errno;
        bool psi_error_in_slice;           /* psi_errno is about user.slice/memory.pressure */
} hostcheck_facts;

/* Probes the live host. cgroot is /sys/fs/cgroup in production; procfs is
 * /proc. Never fails: every probe's failure is recorded as a fact. */
void hostcheck_gather(const char *cgroot, const char *procfs, hostcheck_facts *ret);

/* 0 if a host with these facts can be governed. Otherwise the negative errno
 * of the first failing check, and a multi-line message for a human in why:
 *   -EMEDIUMTYPE  /sys/fs/cgroup is not the unified (cgroup2) hierarchy
 *   -ENODEV       the memory controller is not available or not enabled down to user.slice
 *   -EOPNOTSUPP   pressure stall information is disabled or missing
 * why is always NUL-terminated (empty on success); a message that does not fit is cut. */
int hostcheck_explain(const hostcheck_facts *f, char *why, size_t size);

/* Both of the above on the live host: what memgovd calls first thing. */
int hostcheck_run(char *why, size_t size);
