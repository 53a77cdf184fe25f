/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Readers for cgroup v2 files. Every path is relative to a cgroupfs root dir
 * fd (/sys/fs/cgroup in production, a temp dir in tests). Cgroup paths are
 * given the way systemd prints them minus the leading slash:
 * "user.slice/user-1001.slice"; "" is the root. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "psi.h"

/* -EINVAL for absolute paths, "..", "." or empty components. */
int cgfs_path_check(const char *cgroup);
/* Accepts "/user.slice/x" or "user.slice/x" and returns the relative form
 * (a pointer into the argument) after cgfs_path_check(). */
int cgfs_path_relative(const char *cgroup, const char **ret);

typedef struct cgfs_memory {
        uint64_t current;
        uint64_t high;          /* BYTES_INFINITY for "max" */
        uint64_t max;
        uint64_t swap_current;  /* 0 when the file is absent (no swap accounting) */
        uint64_t swap_max;
        uint64_t peak;          /* 0 when absent (kernels < 5.19) */
} cgfs_memory;

typedef struct cgfs_events {
        uint64_t low, high, max, oom, oom_kill, oom_group_kill;
} cgfs_events;

typedef struct cgfs_memory_stat {
        /* Bytes. */
        uint64_t anon, file, kernel, kernel_stack, pagetables, sec_pagetables, percpu, sock, vmalloc, shmem;
        uint64_t file_mapped, file_dirty, file_writeback, swapcached;
        uint64_t inactive_anon, active_anon, inactive_file, active_file, unevictable;
        uint64_t slab_reclaimable, slab_unreclaimable;
        /* Event counters, in pages or events. */
        uint64_t pgscan, pgsteal, pgfault, pgmajfault;
        uint64_t workingset_refault_anon, workingset_refault_file;
        uint64_t workingset_activate_anon, workingset_activate_file;
        /* CGFS_STAT_HAS_*: fields some kernels lack, so absent differs from 0. */
        unsigned present;
} cgfs_memory_stat;

enum {
        CGFS_STAT_HAS_KERNEL     = 1U << 0,   /* "kernel": 5.18+ */
        CGFS_STAT_HAS_LRU        = 1U << 1,   /* active_file and inactive_file */
        CGFS_STAT_HAS_ACTIVATE   = 1U << 2,   /* workingset_activate_file: 5.9+ */
        CGFS_STAT_HAS_PGSTEAL    = 1U << 3,
};

/* Tasks of a whole subtree, each with the leaf cgroup it was found in. */
typedef struct cgfs_procs {
        pid_t *pids;
        uint32_t *cgroup_index;   /* parallel to pids, index into cgroups */
        size_t n_pids;
        /* Relative paths of the cgroups that hold tasks. NULL for a cgroup
         * whose path is too long to keep (n_unnamed): its tasks are still
         * listed, and the policy treats them as tasks of the walked cgroup. */
        char **cgroups;
        size_t n_cgroups;

        /* What the walk could not read. A user owns the subtree below
         * user@UID.service, so none of this stops the walk. */
        size_t n_walked;          /* cgroups examined, the walked one included */
        size_t n_skipped;         /* subtrees left out for an error: first_error says why */
        size_t n_vanished;        /* removed while being walked: normal churn */
        size_t n_threaded;        /* threaded subtrees: their processes are listed in their domain */
        size_t n_unnamed;         /* cgroups kept with a NULL path */
        int first_error;          /* negative errno of the first skipped subtree, 0 if none */
        char *first_error_path;   /* its relative path, as the user named it: escape before printing */
        bool truncated;           /* a cap stopped the walk: there may be more tasks */
} cgfs_procs;

/* Caps on one walk, so that a user with 100,000 empty cgroups or a fork
 * bomb cannot make a walk take seconds or memgovd take gigabytes. */
#define CGFS_WALK_MAX_CGROUPS 4096
#define CGFS_WALK_MAX_PIDS 65536

typedef struct cgfs_walk_options {
        size_t max_cgroups;       /* cgroups examined; 0: CGFS_WALK_MAX_CGROUPS */
        size_t max_pids;          /* 0: CGFS_WALK_MAX_PIDS */
        /* Every open of the walk goes through this (NULL: openat(2)), which
         * returns an fd or a negative errno: tests inject the failures a
         * real cgroupfs gives (EOPNOTSUPP, ENODEV, EACCES). */
        int (*openat_fn)(int dirfd, const char *name, int flags, void *userdata);
        void *userdata;
} cgfs_walk_options;

int cgfs_open(int cgroot_fd, const char *cgroup, const char *file, int flags);
int cgfs_read_u64(int cgroot_fd, const char *cgroup, const char *file, uint64_t *ret);
/* memory.max-style: "max" -> BYTES_INFINITY. */
int cgfs_read_limit(int cgroot_fd, const char *cgroup, const char *file, uint64_t *ret);
int cgfs_read_memory(int cgroot_fd, const char *cgroup, cgfs_memory *ret);

int cgfs_parse_events(const char *text, cgfs_events *ret);
int cgfs_read_events(int cgroot_fd, const char *cgroup, bool local, cgfs_events *ret);
int cgfs_parse_memory_stat(const char *text, cgfs_memory_stat *ret);
int cgfs_read_memory_stat(int cgroot_fd, const char *cgroup, cgfs_memory_stat *ret);
int cgfs_read_pressure(int cgroot_fd, const char *cgroup, psi_stats *ret);

/* cgroup.events: "populated 0|1" and "frozen 0|1". */
int cgfs_parse_cgroup_events(const char *text, bool *ret_populated, bool *ret_frozen);
int cgfs_read_cgroup_events(int cgroot_fd, const char *cgroup, bool *ret_populated, bool *ret_frozen);
/* cgroup.controllers / cgroup.subtree_control: is NAME listed? */
int cgfs_has_controller(int cgroot_fd, const char *cgroup, const char *file, const char *controller);

/* Child cgroup names (not paths) of one cgroup, sorted. */
int cgfs_list_children(int cgroot_fd, const char *cgroup, char ***ret_names);

/* True when PATH names a cgroup strictly below ANCESTOR (both relative to
 * the cgroup root). A component that is empty, "." or ".." makes it false
 * anywhere in PATH: such a path could climb out of ANCESTOR. */
bool cgfs_path_is_below(const char *path, const char *ancestor);
/* Every pid in cgroup.procs of the cgroup and all its descendants, walked
 * with openat() from each directory's fd, so neither depth nor path length
 * is a limit. Errors on the walked cgroup itself are returned (-ENOENT when
 * it does not exist, -EINVAL for a malformed cgroup.procs); below it,
 * unreadable, threaded and vanished subtrees are skipped and counted in
 * RET, and every task that could be read is returned. Subtrees whose
 * cgroup.events says "populated 0" are not entered. Names starting with a
 * dot are walked too: only "." and ".." are not cgroups. */
int cgfs_collect_procs(int cgroot_fd, const char *cgroup, cgfs_procs *ret);
/* The same with caps other than the defaults (OPTIONS may be NULL). */
int cgfs_collect_procs_with(int cgroot_fd, const char *cgroup, const cgfs_walk_options *options,
                            cgfs_procs *ret);
void cgfs_procs_done(cgfs_procs *procs);

/* Writes VALUE into a cgroup file: cgroup.kill, and limits only on hosts
 * without systemd (systemd owns the attributes of the cgroups it made). */
int cgfs_write(int cgroot_fd, const char *cgroup, const char *file, const char *value);
