/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* memgov's configuration: the main INI file, its memgov.conf.d/ drop-ins,
 * then per-group and per-user drop-ins, all parsed with libinih. Parsing
 * reports every error as FILE:LINE and never stops at the first one, so
 * --check-config and a reload show the whole picture. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define CONFIG_DEFAULT_PATH "/etc/memgov/memgov.conf"
#define CONFIG_MAX_WARN 8

typedef enum policy_kind {
        POLICY_RSS,
        POLICY_RUNTIME,
        POLICY_BADNESS,
        POLICY_GROWTH,                 /* what grew within the observation window, then badness */
        _POLICY_MAX,
} policy_kind;

typedef enum kill_scope {
        KILL_SCOPE_PROCESS,
        KILL_SCOPE_CGROUP,
        _KILL_SCOPE_MAX,
} kill_scope;

/* How a machine-wide shortage shares memory among users (shortage.h). */
typedef enum fair_share_kind {
        FAIR_SHARE_EQUAL,              /* equal parts (weighted) */
        FAIR_SHARE_BUDGET,             /* parts in proportion to each user's budget */
        _FAIR_SHARE_MAX,
} fair_share_kind;

const char *fair_share_kind_to_string(fair_share_kind k);
int fair_share_kind_from_string(const char *s);
const char *policy_kind_to_string(policy_kind p);
int policy_kind_from_string(const char *s);   /* -EINVAL or the enum */
const char *kill_scope_to_string(kill_scope s);
int kill_scope_from_string(const char *s);

/* The budget and behaviour for one user, after all layers are applied. */
typedef struct user_config {
        uint64_t memory_high;          /* bytes, BYTES_INFINITY = no limit */
        uint64_t memory_max;
        uint64_t memory_swap_max;
        unsigned warn[CONFIG_MAX_WARN];    /* permyriad of memory_max, ascending */
        size_t n_warn;
        unsigned pressure_some;        /* permyriad of the window, 0 = off */
        unsigned pressure_full;        /* 0 = off */
        usec_t pressure_duration;
        usec_t throttle_deadline;      /* USEC_INFINITY = off */
        policy_kind policy;
        kill_scope kill_scope;
        usec_t kill_grace;
        usec_t cooldown;
        char **protect;                /* NULL-terminated fnmatch patterns, may be NULL */
} user_config;

/* Which fields of a user_config a layer sets. */
enum {
        UC_MEMORY_HIGH       = 1U << 0,
        UC_MEMORY_MAX        = 1U << 1,
        UC_MEMORY_SWAP_MAX   = 1U << 2,
        UC_WARN              = 1U << 3,
        UC_PRESSURE_SOME     = 1U << 4,
        UC_PRESSURE_FULL     = 1U << 5,
        UC_PRESSURE_DURATION = 1U << 6,
        UC_THROTTLE_DEADLINE = 1U << 7,
        UC_POLICY            = 1U << 8,
        UC_KILL_SCOPE        = 1U << 9,
        UC_KILL_GRACE        = 1U << 10,
        UC_PROTECT           = 1U << 11,
        UC_COOLDOWN          = 1U << 12,
        _UC_COUNT            = 13,
};

typedef struct config_layer {
        char *name;                    /* group name, user name or uid (file stem) */
        char *path;
        uint32_t mask;                 /* UC_* set by this file */
        user_config values;
} config_layer;

typedef struct governor_config {
        bool dry_run;
        uid_t min_uid;
        usec_t pressure_window;
        bool notify_users;
        char *metrics_file;            /* NULL = off */
        /* Machine-wide shortage (shortage.h). */
        unsigned shortage_memory_floor;    /* permyriad of MemTotal; 0 = never short */
        unsigned shortage_swap_floor;      /* permyriad of SwapTotal */
        unsigned shortage_pressure;        /* permyriad, some avg10 of /proc/pressure/memory */
        usec_t shortage_duration;
        fair_share_kind fair_share;
        usec_t shortage_growth_window;     /* who grew most in it goes first; 0 = by share alone */
} governor_config;

typedef struct config_set {
        char *path;                    /* the main file */
        governor_config governor;
        user_config defaults;          /* main file + memgov.conf.d, over built-in defaults */
        uint32_t defaults_mask;        /* UC_* that the main file or memgov.conf.d set */
        char *defaults_sources[_UC_COUNT];  /* per UC_* bit: the file that set it, NULL = built-in */
        config_layer *groups;          /* groups.d/ drop-ins, sorted by name */
        size_t n_groups;
        config_layer *users;           /* users.d/ drop-ins, sorted by name */
        size_t n_users;
} config_set;

/* Called once per error, with line 0 when the error concerns the whole file. */
typedef void (*config_error_fn)(void *userdata, const char *file, unsigned line, const char *message);

/* Built-in defaults (what conf/memgov.conf documents). physmem resolves the
 * default MemoryHigh=45% and MemoryMax=50%; 0 (unknown) gives infinity. */
void user_config_defaults(uint64_t physmem, user_config *ret);
void governor_config_defaults(governor_config *ret);

/* Loads PATH (a missing main file is fine: built-in defaults apply) and the
 * drop-in directories beside it. physmem resolves "N%". Returns 0, or -EINVAL
 * after reporting every error through on_error (the set is then not
 * returned), or another -errno. */
int config_load(const char *path, uint64_t physmem, config_error_fn on_error, void *userdata,
                config_set **ret);
void config_set_free(config_set *c);

/* Applies the layers for one user: defaults, then groups.d/G.conf for each
 * of GROUPS in strcmp order, then users.d/USER.conf, then users.d/UID.conf.
 * Where some layer sets MemoryMax= and none sets MemoryHigh=, MemoryHigh is
 * 90% of MemoryMax.
 * ret borrows protect from c: it lives as long as c. */
void config_resolve_user(const config_set *c, uid_t uid, const char *user,
                         char *const *groups, user_config *ret);

/* Where each value of one user's config comes from: for each UC_* bit i
 * (1U << i), the path of the file that set it last, CONFIG_SOURCE_DERIVED
 * for a MemoryHigh that follows MemoryMax, or NULL for a built-in default.
 * The strings are borrowed from c. For `memgovctl explain`. */
#define CONFIG_SOURCE_DERIVED "(90% of MemoryMax=)"
void config_resolve_user_sources(const config_set *c, uid_t uid, const char *user, char *const *groups,
                                 user_config *ret, const char *ret_sources[_UC_COUNT]);

/* The config key of a UC_* bit, e.g. "MemoryHigh". */
const char *config_key_name(uint32_t uc_bit);

/* Copies of strings that outlive the set (used by the daemon's state). */
int user_config_copy(const user_config *src, user_config *dst);
void user_config_done(user_config *uc);

/* For config-load.c: one layer's values over RET (RET borrows the layer's
 * Protect= list), and freeing a layer. */
void config_layer_apply(user_config *ret, const config_layer *l);
void config_layer_done(config_layer *l);
