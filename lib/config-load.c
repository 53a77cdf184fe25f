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
