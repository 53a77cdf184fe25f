/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading and layering: the main file, memgov.conf.d/, groups.d/ and
 * users.d/, and resolving one user's config from them. One file's parse is
 * in config-parse.c. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-parse.h"

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
                .policy = POLICY_BADNESS,
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
                .shortage_memory_floor = 500,
                .shortage_swap_floor = 5000,
                .shortage_pressure = 1000,
                .shortage_duration = 5 * USEC_PER_SEC,
                .fair_share = FAIR_SHARE_EQUAL,
        };
}

static void layer_done(config_layer *l) {
        free(l->name);
        free(l->path);
        strv_free(l->values.protect);
}

/* ret borrows l's protect list. */
static void apply_layer(user_config *ret, const config_layer *l) {
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

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int layer_cmp(const void *a, const void *b) {
        return strcmp(((const config_layer *) a)->name, ((const config_layer *) b)->name);
}

/* The *.conf names in DIR, strcmp-sorted. A missing DIR has none. */
static int list_dropins(config_loader *l, const char *dir, char ***ret) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;

        *ret = NULL;
        d = opendir(dir);
        if (!d) {
                if (errno == ENOMEM)
                        return -ENOMEM;
                if (errno != ENOENT)
                        config_report(l, dir, 0, "Failed to open directory: %s", strerror(errno));
                return 0;
        }
        for (errno = 0; (de = readdir(d)); errno = 0) {
                size_t n = strlen(de->d_name);

                if (de->d_name[0] == '.' || n <= 5 || strcmp(de->d_name + n - 5, ".conf") != 0)
                        continue;
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno != 0)
                config_report(l, dir, 0, "Failed to read directory: %s", strerror(errno));
        if (names)
                qsort(names, strv_length(names), sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(names);
        return 0;
}

static char *path_join(const char *dir, const char *file) {
        char *p;

        return asprintf(&p, "%s/%s", dir, file) < 0 ? NULL : p;
}

/* The layer of DIR/FILE (of FILE alone when DIR is NULL), named by the stem. */
static int layer_init(config_layer *layer, const char *dir, const char *file) {
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        size_t n = strlen(base);

        *layer = (config_layer) {};
        if (n > 5 && strcmp(base + n - 5, ".conf") == 0)
                n -= 5;
        layer->name = strndup(base, n);
        layer->path = dir ? path_join(dir, file) : strdup(file);
        return layer->name && layer->path ? 0 : -ENOMEM;
}

/* The main file or one of memgov.conf.d/, folded into c->defaults. */
static int load_defaults_file(config_loader *l, config_set *c, const char *dir, const char *file, bool missing_ok) {
        _cleanup_(layer_done) config_layer layer = {};
        int r;

        r = layer_init(&layer, dir, file);
        if (r < 0)
                return r;
        r = config_parse_file(l, layer.path, FILE_MAIN, missing_ok, &c->governor, &layer);
        if (r < 0)
                return r;
        if (layer.mask & UC_PROTECT)
                strv_free(c->defaults.protect);
        apply_layer(&c->defaults, &layer);
        c->defaults_mask |= layer.mask;
        for (unsigned i = 0; i < _UC_COUNT; i++)
                if (layer.mask & (1U << i)) {
                        free(c->defaults_sources[i]);
                        c->defaults_sources[i] = strdup(layer.path);
                        if (!c->defaults_sources[i])
                                return -ENOMEM;
                }
        if (layer.mask & UC_PROTECT)
                layer.values.protect = NULL;    /* c->defaults owns it now */
        return 0;
}

static int load_conf_d(config_loader *l, config_set *c, const char *dir) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = list_dropins(l, dir, &names);
        for (char **n = names; r >= 0 && n && *n; n++)
                r = load_defaults_file(l, c, dir, *n, false);
        return r;
}

static int load_layers(config_loader *l, const char *dir, config_layer **layers, size_t *n_layers) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n;
        int r;

        r = list_dropins(l, dir, &names);
        n = strv_length(names);
        if (r < 0 || n == 0)
                return r;
        *layers = calloc(n, sizeof(config_layer));
        if (!*layers)
                return -ENOMEM;
        /* Counted as built, so that config_set_free() frees exactly that. */
        for (*n_layers = 0; *n_layers < n; ) {
                config_layer *layer = *layers + *n_layers;

                r = layer_init(layer, dir, names[(*n_layers)++]);
                if (r < 0)
                        return r;
                r = config_parse_file(l, layer->path, FILE_DROPIN, false, NULL, layer);
                if (r < 0)
                        return r;
        }
        /* By stem, not file name: "a-b.conf" < "a.conf", but "a" < "a-b". */
        qsort(*layers, n, sizeof(config_layer), layer_cmp);
        return 0;
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
                layer_done(c->groups + i);
        free(c->groups);
        for (size_t i = 0; i < c->n_users; i++)
                layer_done(c->users + i);
        free(c->users);
        free(c);
}

static void config_set_freep(config_set **c) {
        config_set_free(*c);
}

int config_load(const char *path, uint64_t physmem, config_error_fn on_error, void *userdata,
                config_set **ret) {
        _cleanup_(config_set_freep) config_set *c = NULL;
        _cleanup_free_ char *dir = NULL;
        config_loader l = { .physmem = physmem, .on_error = on_error, .userdata = userdata };
        const char *slash;
        int r;

        assert(path);
        assert(ret);

        /* The directories sit beside the main file, so --config moves them all. */
        slash = strrchr(path, '/');
        dir = !slash ? strdup(".") : strndup(path, slash == path ? 1 : (size_t) (slash - path));
        c = calloc(1, sizeof *c);
        if (!dir || !c || !(c->path = strdup(path)))
                return -ENOMEM;
        if (strcmp(dir, "/") == 0)
                dir[0] = 0;     /* "" + "/users.d" */
        governor_config_defaults(&c->governor);
        user_config_defaults(physmem, &c->defaults);

        r = load_defaults_file(&l, c, NULL, path, true);
        if (r >= 0) {
                _cleanup_free_ char *conf_d = NULL, *groups_d = NULL, *users_d = NULL;

                conf_d = path_join(dir, "memgov.conf.d");
                groups_d = path_join(dir, "groups.d");
                users_d = path_join(dir, "users.d");
                if (!conf_d || !groups_d || !users_d)
                        return -ENOMEM;
                r = load_conf_d(&l, c, conf_d);
                if (r >= 0)
                        r = load_layers(&l, groups_d, &c->groups, &c->n_groups);
                if (r >= 0)
                        r = load_layers(&l, users_d, &c->users, &c->n_users);
        }
        if (r < 0)
                return r;
        if (l.n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
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
                                apply_layer(ret, c->groups + i);
                                mask |= c->groups[i].mask;
                                note_sources(c->groups + i, sources);
                                break;
                        }
        if (user && (l = find_layer(c->users, c->n_users, user))) {
                apply_layer(ret, l);
                mask |= l->mask;
                note_sources(l, sources);
        }
        snprintf(uid_str, sizeof uid_str, "%u", (unsigned) uid);
        if ((l = find_layer(c->users, c->n_users, uid_str))) {
                apply_layer(ret, l);
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
