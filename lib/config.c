/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Layering: resolving one user's config from the main file, memgov.conf.d/,
 * groups.d/ and users.d/. Finding and reading those files is in
 * config-load.c, one file's parse in config-parse.c. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

void user_config_defaults(uint64_t physmem, user_config *ret) {
        assert(ret);

        *ret = (user_config) {
                .memory_high = BYTES_INFINITY,
                .memory_max = BYTES_INFINITY,
                .memory_swap_max = BYTES_INFINITY,
                .warn = { 8000, 9500 },
                .n_warn = 2,
                .pressure_some = 1000,
                .pressure_full = 0,
                .pressure_duration = 5 * USEC_PER_SEC,
                .throttle_deadline = 20 * USEC_PER_SEC,
                .policy = POLICY_GROWTH,
                .kill_scope = KILL_SCOPE_PROCESS,
                .kill_grace = 2 * USEC_PER_SEC,
                .cooldown = 5 * USEC_PER_SEC,
        };
        /* Through parse_bytes(), so that they round exactly as the same text
         * in memgov.conf does. A failure (physmem 0, unknown) leaves infinity:
         * no budget rather than a budget of 0. */
        (void) parse_bytes("45%", physmem, &ret->memory_high);
        (void) parse_bytes("50%", physmem, &ret->memory_max);
}

void governor_config_defaults(governor_config *ret) {
        assert(ret);

        *ret = (governor_config) {
                .dry_run = false,
                .min_uid = 1000,
                .pressure_window = USEC_PER_SEC,
                .notify_users = true,
                .metrics_file = NULL,
                .shortage_memory_floor = 1000,
                .shortage_swap_floor = 5000,
                .shortage_pressure = 1000,
                .shortage_duration = 5 * USEC_PER_SEC,
                .fair_share = FAIR_SHARE_EQUAL,
                .shortage_growth_window = 60 * USEC_PER_SEC,
        };
}

void config_layer_done(config_layer *l) {
        free(l->name);
        free(l->path);
        strv_free(l->values.protect);
}

/* ret borrows l's protect list. */
void config_layer_apply(user_config *ret, const config_layer *l) {
#define APPLY(flag, field) if (l->mask & (flag)) ret->field = l->values.field
        APPLY(UC_MEMORY_HIGH, memory_high);
        APPLY(UC_MEMORY_MAX, memory_max);
        APPLY(UC_MEMORY_SWAP_MAX, memory_swap_max);
        APPLY(UC_PRESSURE_SOME, pressure_some);
        APPLY(UC_PRESSURE_FULL, pressure_full);
        APPLY(UC_PRESSURE_DURATION, pressure_duration);
        APPLY(UC_THROTTLE_DEADLINE, throttle_deadline);
        APPLY(UC_POLICY, policy);
        APPLY(UC_KILL_SCOPE, kill_scope);
        APPLY(UC_KILL_GRACE, kill_grace);
        APPLY(UC_PROTECT, protect);
        APPLY(UC_COOLDOWN, cooldown);
#undef APPLY
        if (l->mask & UC_WARN) {
                memcpy(ret->warn, l->values.warn, sizeof ret->warn);
                ret->n_warn = l->values.n_warn;
        }
}


void config_set_free(config_set *c) {
        if (!c)
                return;
        for (unsigned i = 0; i < _UC_COUNT; i++)
                free(c->defaults_sources[i]);
        free(c->path);
        free(c->governor.metrics_file);
        strv_free(c->defaults.protect);
        for (size_t i = 0; i < c->n_groups; i++)
                config_layer_done(c->groups + i);
        free(c->groups);
        for (size_t i = 0; i < c->n_users; i++)
                config_layer_done(c->users + i);
        free(c->users);
        free(c);
}


static int layer_cmp(const void *a, const void *b) {
        return strcmp(((const config_layer *) a)->name, ((const config_layer *) b)->name);
}

static const config_layer *find_layer(const config_layer *layers, size_t n, const char *name) {
        config_layer key = { .name = (char *) name };

        return n > 0 ? bsearch(&key, layers, n, sizeof(config_layer), layer_cmp) : NULL;
}

static void note_sources(const config_layer *l, const char **sources) {
        if (!sources)
                return;
        for (unsigned i = 0; i < _UC_COUNT; i++)
                if (l->mask & (1U << i))
                        sources[i] = l->path;
}

static void resolve(const config_set *c, uid_t uid, const char *user, char *const *groups, user_config *ret,
                    const char **sources) {
        const config_layer *l;
        char uid_str[16];
        uint32_t mask;

        assert(c);
        assert(ret);

        *ret = c->defaults;
        mask = c->defaults_mask;
        if (sources)
                for (unsigned i = 0; i < _UC_COUNT; i++)
                        sources[i] = c->defaults_sources[i];
        /* Walking the sorted layers gives strcmp order of group names and
         * ignores duplicates in GROUPS (getgrouplist() repeats the primary group). */
        for (size_t i = 0; i < c->n_groups; i++)
                for (char *const *g = groups; g && *g; g++)
                        if (strcmp(*g, c->groups[i].name) == 0) {
                                config_layer_apply(ret, c->groups + i);
                                mask |= c->groups[i].mask;
                                note_sources(c->groups + i, sources);
                                break;
                        }
        if (user && (l = find_layer(c->users, c->n_users, user))) {
                config_layer_apply(ret, l);
                mask |= l->mask;
                note_sources(l, sources);
        }
        snprintf(uid_str, sizeof uid_str, "%u", (unsigned) uid);
        if ((l = find_layer(c->users, c->n_users, uid_str))) {
                config_layer_apply(ret, l);
                mask |= l->mask;
                note_sources(l, sources);
        }
        /* An admin who sets only MemoryMax= expects the throttling zone to
         * follow it; a MemoryHigh= left at its built-in share of RAM could sit
         * above the new MemoryMax= and never throttle. */
        if ((mask & UC_MEMORY_MAX) && !(mask & UC_MEMORY_HIGH) && ret->memory_max != BYTES_INFINITY) {
                ret->memory_high = ret->memory_max / 10 * 9 + ret->memory_max % 10 * 9 / 10;
                if (sources)
                        sources[0] = CONFIG_SOURCE_DERIVED;
        }
}

void config_resolve_user(const config_set *c, uid_t uid, const char *user, char *const *groups, user_config *ret) {
        resolve(c, uid, user, groups, ret, NULL);
}

void config_resolve_user_sources(const config_set *c, uid_t uid, const char *user, char *const *groups,
                                 user_config *ret, const char *ret_sources[_UC_COUNT]) {
        assert(ret_sources);
        resolve(c, uid, user, groups, ret, ret_sources);
}

const char *config_key_name(uint32_t uc_bit) {
        static const char *const names[_UC_COUNT] = {
                "MemoryHigh", "MemoryMax", "MemorySwapMax", "Warn", "PressureSome", "PressureFull",
                "PressureDuration", "ThrottleDeadline", "Policy", "KillScope", "KillGrace", "Protect",
                "Cooldown",
        };
        for (unsigned i = 0; i < _UC_COUNT; i++)
                if (uc_bit == 1U << i)
                        return names[i];
        return NULL;
}

int user_config_copy(const user_config *src, user_config *dst) {
        _cleanup_strv_free_ char **protect = NULL;

        assert(src);
        assert(dst);

        for (char *const *p = src->protect; p && *p; p++)
                if (strv_extend(&protect, *p) < 0)
                        return -ENOMEM;
        *dst = *src;
        dst->protect = TAKE_PTR(protect);
        return 0;
}

void user_config_done(user_config *uc) {
        if (!uc)
                return;
        strv_free(uc->protect);
        uc->protect = NULL;
}

bool config_limits_conflict(const user_config *uc) {
        assert(uc);
        return uc->memory_max != BYTES_INFINITY && uc->memory_high != BYTES_INFINITY &&
               uc->memory_high > uc->memory_max;
}
