/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"

/* libinih gives the handler no line number, and it reports only the first
 * syntax error of a file, in its return value. So every line goes through
 * read_line() first: it counts lines, reports what inih would misparse
 * (long lines it splits silently) or only note (keys without '=', broken
 * headers), and tracks the section itself so that a bad header is reported
 * on its own line. inih is left to split "Key=value" and strip comments. */

typedef enum file_kind {
        FILE_MAIN,                     /* memgov.conf, memgov.conf.d/: [Governor] and [Defaults] */
        FILE_DROPIN,                   /* groups.d/, users.d/: [Defaults] keys, header optional */
} file_kind;

typedef enum section_id {
        SECTION_NONE,
        SECTION_GOVERNOR,
        SECTION_DEFAULTS,
        SECTION_INVALID,               /* already reported: its keys are skipped silently */
} section_id;

typedef struct loader {
        uint64_t physmem;
        config_error_fn on_error;
        void *userdata;
        unsigned n_errors;
} loader;

typedef struct parse_ctx {
        loader *loader;
        const char *path;
        FILE *f;
        file_kind kind;
        section_id section;
        unsigned line;
        char *buf;
        size_t bufsize;
        governor_config *governor;     /* NULL for drop-ins */
        config_layer *layer;
        int r;                         /* -ENOMEM stops the parse */
} parse_ctx;

typedef struct config_key config_key;
typedef int (*value_parser)(parse_ctx *ctx, const config_key *k, const char *v, void *dst);

struct config_key {
        const char *name;
        value_parser parse;
        size_t offset;
        uint32_t mask;                 /* UC_*; 0 for [Governor] keys */
        usec_t min, max;               /* durations */
        const char *const *table;      /* enums */
        size_t n_table;
        const char *why;               /* what min/max or table expect, for the message */
};

_printf_(4, 5)
static void report(loader *l, const char *file, unsigned line, const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        l->n_errors++;
        if (l->on_error)
                l->on_error(l->userdata, file, line, msg);
}

static int invalid(parse_ctx *ctx, const config_key *k, const char *v, const char *why) {
        report(ctx->loader, ctx->path, ctx->line, "Invalid %s= value '%s': %s", k->name, v, why);
        return -EINVAL;
}

static int lookup(const char *const *table, size_t n, const char *s) {
        assert(s);
        for (size_t i = 0; i < n; i++)
                if (strcmp(table[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

#define STRING_TABLE(name, max, ...)                                    \
        static const char *const name##_table[max] = { __VA_ARGS__ };   \
        const char *name##_to_string(name v) {                          \
                return (unsigned) v < max ? name##_table[v] : NULL;     \
        }                                                               \
        int name##_from_string(const char *s) {                         \
                return lookup(name##_table, max, s);                    \
        }

STRING_TABLE(policy_kind, _POLICY_MAX,
             [POLICY_RSS] = "rss", [POLICY_RUNTIME] = "runtime", [POLICY_BADNESS] = "badness")
STRING_TABLE(kill_scope, _KILL_SCOPE_MAX,
             [KILL_SCOPE_PROCESS] = "process", [KILL_SCOPE_CGROUP] = "cgroup")

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
        };
}

static int parse_bool_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        int b = parse_boolean(v);

        if (b < 0)
                return invalid(ctx, k, v, "expected yes or no");
        *(bool *) dst = b;
        return 0;
}

static int parse_uid_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        uint64_t u;

        /* (uid_t) -1 means "no uid" to the kernel. */
        if (parse_u64(v, &u) < 0 || u >= (uid_t) -1)
                return invalid(ctx, k, v, "expected a UID from 0 to 4294967294");
        *(uid_t *) dst = (uid_t) u;
        return 0;
}

static int parse_path_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        char **p = dst, *copy = NULL;

        if (*v != 0 && *v != '/')
                return invalid(ctx, k, v, "expected an absolute path, or nothing to turn it off");
        if (*v != 0 && !(copy = strdup(v)))
                return -ENOMEM;
        free(*p);
        *p = copy;
        return 0;
}

static int parse_duration_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        usec_t u;

        if (parse_usec(v, &u) < 0)
                return invalid(ctx, k, v, "expected a duration such as 500ms, 2s or 1min");
        if (u < k->min || u > k->max)
                return invalid(ctx, k, v, k->why);
        *(usec_t *) dst = u;
        return 0;
}

static int parse_bytes_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        if (parse_bytes(v, ctx->loader->physmem, dst) >= 0)
                return 0;
        if (ctx->loader->physmem == 0 && *v && v[strlen(v) - 1] == '%')
                return invalid(ctx, k, v, "the size of physical memory is unknown");
        return invalid(ctx, k, v, "expected bytes with K/M/G/T suffix, N%, or infinity");
}

static int parse_share_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        unsigned p = 0;

        /* Empty and 0 both mean off. */
        if (*v != 0 && parse_permyriad(v, &p) < 0)
                return invalid(ctx, k, v, "expected a percentage from 0% to 100%, or 0 to turn it off");
        *(unsigned *) dst = p;
        return 0;
}

static int parse_enum_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        int e = lookup(k->table, k->n_table, v);

        /* The enums are ints (no -fshort-enums), and int may alias their unsigned type. */
        _Static_assert(sizeof(policy_kind) == sizeof(int) && sizeof(kill_scope) == sizeof(int), "enum size");
        if (e < 0)
                return invalid(ctx, k, v, k->why);
        *(int *) dst = e;
        return 0;
}

/* Gets the whole user_config: it fills warn and n_warn. */
static int parse_warn_value(parse_ctx *ctx, const config_key *k, const char *v, void *dst) {
        user_config *uc = dst;
        unsigned levels[CONFIG_MAX_WARN];
        size_t n = 0;
        char why[128];

        for (const char *p = v + strspn(v, ", \t"); *p; p += strspn(p, ", \t")) {
                size_t len = strcspn(p, ", \t"), i;
                char token[32];
                unsigned w = 0;

                snprintf(token, sizeof token, "%.*s", (int) len, p);
                if (len >= sizeof token || parse_permyriad(token, &w) < 0 || w < 100) {
                        snprintf(why, sizeof why, "level '%.*s' is not a percentage from 1%% to 100%%",
                                 (int) len, p);
                        return invalid(ctx, k, v, why);
                }
                p += len;
                /* Insert sorted, dropping duplicates. */
                for (i = 0; i < n && levels[i] < w; i++)
                        ;
                if (i < n && levels[i] == w)
                        continue;
                if (n == CONFIG_MAX_WARN) {
                        snprintf(why, sizeof why, "at most %d distinct levels", CONFIG_MAX_WARN);
                        return invalid(ctx, k, v, why);
                }
                memmove(levels + i + 1, levels + i, (n - i) * sizeof levels[0]);
                levels[i] = w;
                n++;
        }
        memcpy(uc->warn, levels, n * sizeof levels[0]);
        uc->n_warn = n;
        return 0;
}

/* Within one file the lists add up and an empty value clears them; across
 * files the layer that sets Protect= replaces the list (see apply_layer()). */
static int parse_protect_value(_unused_ parse_ctx *ctx, _unused_ const config_key *k, const char *v, void *dst) {
        char ***l = dst, token[256];

        if (*v == 0) {
                strv_free(*l);
                *l = NULL;
        }
        for (const char *p = v + strspn(v, " \t"); *p; p += strspn(p, " \t")) {
                size_t len = strcspn(p, " \t");

                /* A token is shorter than a line, which is shorter than token[]. */
                snprintf(token, sizeof token, "%.*s", (int) len, p);
                if (strv_extend(l, token) < 0)
                        return -ENOMEM;
                p += len;
        }
        return 0;
}

#define GOVERNOR_KEY(n, fn, field, ...) \
        { .name = n, .parse = fn, .offset = offsetof(governor_config, field), __VA_ARGS__ }
#define DEFAULTS_KEY(n, fn, field, m, ...) \
        { .name = n, .parse = fn, .offset = offsetof(user_config, field), .mask = m, __VA_ARGS__ }
#define FINITE .min = 0, .max = USEC_INFINITY - 1, .why = "must be finite"
#define ENUM(t, w) .table = t##_table, .n_table = ELEMENTSOF(t##_table), .why = w

static const config_key governor_keys[] = {
        GOVERNOR_KEY("DryRun", parse_bool_value, dry_run),
        GOVERNOR_KEY("MinUid", parse_uid_value, min_uid),
        /* The kernel's bounds for a PSI trigger window. */
        GOVERNOR_KEY("PressureWindow", parse_duration_value, pressure_window,
                     .min = 500 * USEC_PER_MSEC, .max = 10 * USEC_PER_SEC,
                     .why = "must be between 500ms and 10s"),
        GOVERNOR_KEY("NotifyUsers", parse_bool_value, notify_users),
        GOVERNOR_KEY("MetricsFile", parse_path_value, metrics_file),
};

static const config_key defaults_keys[] = {
        DEFAULTS_KEY("MemoryHigh", parse_bytes_value, memory_high, UC_MEMORY_HIGH),
        DEFAULTS_KEY("MemoryMax", parse_bytes_value, memory_max, UC_MEMORY_MAX),
        DEFAULTS_KEY("MemorySwapMax", parse_bytes_value, memory_swap_max, UC_MEMORY_SWAP_MAX),
        { .name = "Warn", .parse = parse_warn_value, .offset = 0, .mask = UC_WARN },
        DEFAULTS_KEY("PressureSome", parse_share_value, pressure_some, UC_PRESSURE_SOME),
        DEFAULTS_KEY("PressureFull", parse_share_value, pressure_full, UC_PRESSURE_FULL),
        DEFAULTS_KEY("PressureDuration", parse_duration_value, pressure_duration, UC_PRESSURE_DURATION,
                     FINITE),
        /* 0 reads like "off" but would mean "act at once". */
        DEFAULTS_KEY("ThrottleDeadline", parse_duration_value, throttle_deadline, UC_THROTTLE_DEADLINE,
                     .min = 1, .max = USEC_INFINITY, .why = "must be more than 0; use infinity to turn it off"),
        DEFAULTS_KEY("Policy", parse_enum_value, policy, UC_POLICY,
                     ENUM(policy_kind, "expected rss, runtime or badness")),
        DEFAULTS_KEY("KillScope", parse_enum_value, kill_scope, UC_KILL_SCOPE,
                     ENUM(kill_scope, "expected process or cgroup")),
        DEFAULTS_KEY("KillGrace", parse_duration_value, kill_grace, UC_KILL_GRACE, FINITE),
        DEFAULTS_KEY("Protect", parse_protect_value, protect, UC_PROTECT),
        DEFAULTS_KEY("Cooldown", parse_duration_value, cooldown, UC_COOLDOWN, FINITE),
};

static const config_key *find_key(section_id s, const char *name, bool icase) {
        const config_key *keys = s == SECTION_GOVERNOR ? governor_keys : defaults_keys;
        size_t n = s == SECTION_GOVERNOR ? ELEMENTSOF(governor_keys) : ELEMENTSOF(defaults_keys);

        for (size_t i = 0; i < n; i++)
                if ((icase ? strcasecmp : strcmp)(keys[i].name, name) == 0)
                        return keys + i;
        return NULL;
}

static void report_unknown_key(parse_ctx *ctx, section_id s, const char *name) {
        section_id other = s == SECTION_GOVERNOR ? SECTION_DEFAULTS : SECTION_GOVERNOR;
        const config_key *k;
        char hint[96] = "";

        if ((k = find_key(s, name, true)))
                snprintf(hint, sizeof hint, " (did you mean '%s'?)", k->name);
        else if (find_key(other, name, false))
                snprintf(hint, sizeof hint, " (it belongs in [%s]%s)",
                         other == SECTION_GOVERNOR ? "Governor" : "Defaults",
                         ctx->kind == FILE_DROPIN ? " of memgov.conf or memgov.conf.d/" : "");
        report(ctx->loader, ctx->path, ctx->line, "Unknown key '%s' in section [%s]%s", name,
               s == SECTION_GOVERNOR ? "Governor" : "Defaults", hint);
}

static int handle_key(void *user, const char *section, const char *name, const char *value) {
        parse_ctx *ctx = user;
        section_id s = ctx->section;
        const config_key *k;
        void *base;
        int r;

        (void) section;         /* read_line() tracks sections */
        if (ctx->r < 0)
                return 0;
        if (s == SECTION_INVALID)
                return 1;
        if (s == SECTION_NONE && ctx->kind == FILE_MAIN) {
                report(ctx->loader, ctx->path, ctx->line,
                       "Key '%s' is outside of any section: put it under [Governor] or [Defaults]", name);
                return 1;
        }
        if (s == SECTION_NONE)
                s = SECTION_DEFAULTS;

        k = find_key(s, name, false);
        if (!k) {
                report_unknown_key(ctx, s, name);
                return 1;
        }
        base = s == SECTION_GOVERNOR ? (void *) ctx->governor : (void *) &ctx->layer->values;
        r = k->parse(ctx, k, value, (char *) base + k->offset);
        if (r == -ENOMEM) {
                ctx->r = r;
                return 0;
        }
        if (r >= 0)
                ctx->layer->mask |= k->mask;
        return 1;
}

/* inih's own scanner: the first of CHARS, or an inline comment (';' after
 * whitespace), or the end. Matching it keeps our checks and inih's split in step. */
static char *find_chars_or_comment(char *s, const char *chars) {
        bool was_space = false;

        while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char) *s);
                s++;
        }
        return s;
}

static void parse_section(parse_ctx *ctx, char *p) {
        char *end = find_chars_or_comment(p + 1, "]"), *rest = end + 1;
        const char *error = NULL;

        ctx->section = SECTION_INVALID;
        if (*end != ']')
                return (void) report(ctx->loader, ctx->path, ctx->line,
                                     "Missing ']' in section header '%s'", p);
        *end = 0;
        rest += strspn(rest, " \t");
        if (*rest && *rest != '#' && *rest != ';')
                return (void) report(ctx->loader, ctx->path, ctx->line,
                                     "Unexpected text '%s' after section header [%s]", rest, p + 1);

        if (strcmp(p + 1, "Defaults") == 0)
                ctx->section = SECTION_DEFAULTS;
        else if (strcmp(p + 1, "Governor") == 0 && ctx->kind == FILE_MAIN)
                ctx->section = SECTION_GOVERNOR;
        else if (strcmp(p + 1, "Governor") == 0)
                error = "only memgov.conf and memgov.conf.d/ may have it";
        else
                error = ctx->kind == FILE_MAIN ? "expected [Governor] or [Defaults]" :
                                                 "expected [Defaults] or no header";
        if (error)
                report(ctx->loader, ctx->path, ctx->line, "%s section [%s]: %s",
                       strcmp(p + 1, "Governor") == 0 ? "Misplaced" : "Unknown", p + 1, error);
}

static char *read_line(char *str, int num, void *stream) {
        parse_ctx *ctx = stream;
        ssize_t n;
        char *p;

        if (ctx->r < 0)
                return NULL;
        errno = 0;
        n = getline(&ctx->buf, &ctx->bufsize, ctx->f);
        if (n < 0) {
                if (errno == ENOMEM)
                        ctx->r = -ENOMEM;
                else if (ferror(ctx->f))
                        report(ctx->loader, ctx->path, 0, "Failed to read file: %s", strerror(errno ?: EIO));
                return NULL;
        }
        ctx->line++;
        p = ctx->buf;
        if (n > 0 && p[n - 1] == '\n')
                p[--n] = 0;
        if (n > 0 && p[n - 1] == '\r')
                p[--n] = 0;

        /* Lines handled here reach inih as blank lines, which it skips. */
        str[0] = 0;
        if (strlen(p) != (size_t) n) {
                report(ctx->loader, ctx->path, ctx->line, "Line contains a NUL byte");
                return str;
        }
        /* inih would split it and parse the tail as a line of its own. */
        if (n > num - 1) {
                report(ctx->loader, ctx->path, ctx->line, "Line is %zd characters long, the limit is %d",
                       n, num - 1);
                return str;
        }
        if (ctx->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;
        /* Leading whitespace would make inih glue the line onto the previous
         * value (multiline mode). Indentation means nothing, as in systemd. */
        while (isspace((unsigned char) *p))
                p++;
        if (*p == 0 || *p == '#' || *p == ';')
                return str;
        if (*p == '[') {
                parse_section(ctx, p);
                return str;
        }
        /* inih would take "Key: value" too; one syntax is enough. */
        if (*find_chars_or_comment(p, "=:") != '=') {
                report(ctx->loader, ctx->path, ctx->line, "Missing '=' in line '%s': expected Key=value", p);
                return str;
        }
        memcpy(str, p, strlen(p) + 1);
        return str;
}

static int parse_file(loader *l, const char *path, file_kind kind, bool missing_ok,
                      governor_config *governor, config_layer *layer) {
        _cleanup_close_ int fd = -1;
        _cleanup_fclose_ FILE *f = NULL;
        unsigned errors_before = l->n_errors;
        struct stat st;
        parse_ctx ctx;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);  /* a FIFO must not hang us */
        if (fd < 0) {
                r = errno;
                /* A dangling symlink is an error, not a missing file. */
                if (r == ENOENT && missing_ok && lstat(path, &st) < 0 && errno == ENOENT)
                        return 0;
                report(l, path, 0, "Failed to open file: %s", strerror(r));
                return 0;
        }
        if (fstat(fd, &st) < 0)
                st.st_mode = 0;
        if (!S_ISREG(st.st_mode)) {
                report(l, path, 0, "Failed to read file: %s",
                       S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
                return 0;
        }
        f = fdopen(fd, "r");
        if (!f)
                return -errno;
        fd = -1;

        ctx = (parse_ctx) {
                .loader = l,
                .path = path,
                .f = f,
                .kind = kind,
                .governor = governor,
                .layer = layer,
        };
        r = ini_parse_stream(read_line, &ctx, handle_key, &ctx);
        free(ctx.buf);
        if (ctx.r < 0)
                return ctx.r;
        /* Should not happen: read_line() catches every syntax error inih knows. */
        if (r > 0 && l->n_errors == errors_before)
                report(l, path, (unsigned) r, "Syntax error");
        return 0;
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
static int list_dropins(loader *l, const char *dir, char ***ret) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;

        *ret = NULL;
        d = opendir(dir);
        if (!d) {
                if (errno == ENOMEM)
                        return -ENOMEM;
                if (errno != ENOENT)
                        report(l, dir, 0, "Failed to open directory: %s", strerror(errno));
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
                report(l, dir, 0, "Failed to read directory: %s", strerror(errno));
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
static int load_defaults_file(loader *l, config_set *c, const char *dir, const char *file, bool missing_ok) {
        _cleanup_(layer_done) config_layer layer = {};
        int r;

        r = layer_init(&layer, dir, file);
        if (r < 0)
                return r;
        r = parse_file(l, layer.path, FILE_MAIN, missing_ok, &c->governor, &layer);
        if (r < 0)
                return r;
        if (layer.mask & UC_PROTECT)
                strv_free(c->defaults.protect);
        apply_layer(&c->defaults, &layer);
        c->defaults_mask |= layer.mask;
        if (layer.mask & UC_PROTECT)
                layer.values.protect = NULL;    /* c->defaults owns it now */
        return 0;
}

static int load_conf_d(loader *l, config_set *c, const char *dir) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = list_dropins(l, dir, &names);
        for (char **n = names; r >= 0 && n && *n; n++)
                r = load_defaults_file(l, c, dir, *n, false);
        return r;
}

static int load_layers(loader *l, const char *dir, config_layer **layers, size_t *n_layers) {
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
                r = parse_file(l, layer->path, FILE_DROPIN, false, NULL, layer);
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
        loader l = { .physmem = physmem, .on_error = on_error, .userdata = userdata };
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

void config_resolve_user(const config_set *c, uid_t uid, const char *user,
                         char *const *groups, user_config *ret) {
        const config_layer *l;
        char uid_str[16];
        uint32_t mask;

        assert(c);
        assert(ret);

        *ret = c->defaults;
        mask = c->defaults_mask;
        /* Walking the sorted layers gives strcmp order of group names and
         * ignores duplicates in GROUPS (getgrouplist() repeats the primary group). */
        for (size_t i = 0; i < c->n_groups; i++)
                for (char *const *g = groups; g && *g; g++)
                        if (strcmp(*g, c->groups[i].name) == 0) {
                                apply_layer(ret, c->groups + i);
                                mask |= c->groups[i].mask;
                                break;
                        }
        if (user && (l = find_layer(c->users, c->n_users, user))) {
                apply_layer(ret, l);
                mask |= l->mask;
        }
        snprintf(uid_str, sizeof uid_str, "%u", (unsigned) uid);
        if ((l = find_layer(c->users, c->n_users, uid_str))) {
                apply_layer(ret, l);
                mask |= l->mask;
        }
        /* An admin who sets only MemoryMax= expects the throttling zone to
         * follow it; a MemoryHigh= left at its built-in share of RAM could sit
         * above the new MemoryMax= and never throttle. */
        if ((mask & UC_MEMORY_MAX) && !(mask & UC_MEMORY_HIGH) && ret->memory_max != BYTES_INFINITY)
                ret->memory_high = ret->memory_max / 10 * 9 + ret->memory_max % 10 * 9 / 10;
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
