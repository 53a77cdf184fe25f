/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading: the main file, memgov.conf.d/, groups.d/ and users.d/, each
 * parsed by config-parse.c into a layer that config.c resolves. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-parse.h"

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
        _cleanup_(config_layer_done) config_layer layer = {};
        int r;

        r = layer_init(&layer, dir, file);
        if (r < 0)
                return r;
        r = config_parse_file(l, layer.path, FILE_MAIN, missing_ok, &c->governor, &layer);
        if (r < 0)
                return r;
        if (layer.mask & UC_PROTECT)
                strv_free(c->defaults.protect);
        config_layer_apply(&c->defaults, &layer);
        c->defaults_mask |= layer.mask;
        for (unsigned i = 0; i < _UC_COUNT; i++)
                if (layer.mask & (1U << i)) {
                        free(c->defaults_sources[i]);
                        c->defaults_sources[i] = strdup(layer.path);
                        if (!c->defaults_sources[i])
                                return -ENOMEM;
                        c->defaults_lines[i] = layer.lines[i];
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

/* Where a limit of one combination of files comes from. */
typedef struct limit_origin {
        uint64_t value;
        const char *path;              /* NULL: built-in default */
        unsigned line;
} limit_origin;

static void origin_apply(limit_origin *o, const config_layer *l, uint32_t bit, uint64_t value) {
        if (l && (l->mask & bit)) {
                o->value = value;
                o->path = l->path;
                o->line = l->lines[__builtin_ctz(bit)];
        }
}

/* MemoryHigh= above MemoryMax= means the kernel never throttles before the
 * OOM killer, and no pressure or deadline kill can fire: an error, naming
 * the two lines, for the defaults and for each groups.d and users.d file
 * over them (what every member, or that user, gets). Combinations depend
 * on group membership, which only NSS knows: config_resolve_user() clamps
 * them and config_limits_conflict() lets the daemon and memgovctl say so.
 * A MemoryHigh= that follows MemoryMax= (no file sets it) is 90% of it and
 * cannot conflict; MemoryHigh=infinity (no throttling, a hard cap only)
 * never does. */
typedef struct reported_pairs {
        limit_origin pairs[64][2];
        size_t n;
} reported_pairs;

static void check_combination(config_loader *l, const config_set *c, reported_pairs *seen, const config_layer *g,
                              const config_layer *u) {
        limit_origin high = { c->defaults.memory_high, c->defaults_sources[0], c->defaults_lines[0] };
        limit_origin max = { c->defaults.memory_max, c->defaults_sources[1], c->defaults_lines[1] };
        uint32_t mask = c->defaults_mask | (g ? g->mask : 0) | (u ? u->mask : 0);

        if (!(mask & UC_MEMORY_HIGH))
                return;
        origin_apply(&high, g, UC_MEMORY_HIGH, g ? g->values.memory_high : 0);
        origin_apply(&max, g, UC_MEMORY_MAX, g ? g->values.memory_max : 0);
        origin_apply(&high, u, UC_MEMORY_HIGH, u ? u->values.memory_high : 0);
        origin_apply(&max, u, UC_MEMORY_MAX, u ? u->values.memory_max : 0);
        /* MemoryHigh=infinity asks for no throttling at all, only the hard
         * limit: what an admin writes for a hard cap (systemd takes it too). */
        if (high.value == BYTES_INFINITY || high.value <= max.value)
                return;
        /* Report each pair of lines once, at the line that set MemoryHigh=. */
        for (size_t i = 0; i < seen->n; i++)
                if (seen->pairs[i][0].path == high.path && seen->pairs[i][0].line == high.line &&
                    seen->pairs[i][1].path == max.path && seen->pairs[i][1].line == max.line)
                        return;
        if (seen->n < ELEMENTSOF(seen->pairs)) {
                seen->pairs[seen->n][0] = high;
                seen->pairs[seen->n][1] = max;
                seen->n++;
        }
        {
                char h[FORMAT_BYTES_MAX], m[FORMAT_BYTES_MAX], where[512];

                if (max.path)
                        snprintf(where, sizeof where, "%s:%u", max.path, max.line);
                else
                        snprintf(where, sizeof where, "the built-in default");
                config_report(l, high.path ? high.path : c->path, high.line,
                              "MemoryHigh=%s is above MemoryMax=%s (set by %s)%s%s%s%s: the kernel would never "
                              "throttle before its OOM killer",
                              format_bytes(h, sizeof h, high.value),
                              format_bytes(m, sizeof m, max.value), where,
                              g || u ? " for users in " : "", g ? g->path : "", g && u ? " and " : "",
                              u ? u->path : "");
        }
}

static void check_limits(config_loader *l, const config_set *c) {
        reported_pairs seen = {};

        check_combination(l, c, &seen, NULL, NULL);
        for (size_t i = 0; i < c->n_groups; i++)
                check_combination(l, c, &seen, &c->groups[i], NULL);
        for (size_t j = 0; j < c->n_users; j++)
                check_combination(l, c, &seen, NULL, &c->users[j]);
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
        if (l.n_errors == 0)
                check_limits(&l, c);
        if (l.n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}
