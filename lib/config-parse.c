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

#include "config-parse.h"

/* libinih gives the handler no line number, and it reports only the first
 * syntax error of a file, in its return value. So every line goes through
 * read_line() first: it counts lines, reports what inih would misparse
 * (long lines it splits silently) or only note (keys without '=', broken
 * headers), and tracks the section itself so that a bad header is reported
 * on its own line. inih is left to split "Key=value" and strip comments. */

typedef enum section_id {
        SECTION_NONE,
        SECTION_GOVERNOR,
        SECTION_DEFAULTS,
        SECTION_INVALID,               /* already reported: its keys are skipped silently */
} section_id;

typedef struct parse_ctx {
        config_loader *loader;
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

void config_report(config_loader *l, const char *file, unsigned line, const char *fmt, ...) {
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
        config_report(ctx->loader, ctx->path, ctx->line, "Invalid %s= value '%s': %s", k->name, v, why);
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
             [POLICY_RSS] = "rss", [POLICY_RUNTIME] = "runtime", [POLICY_BADNESS] = "badness",
             [POLICY_GROWTH] = "growth")
STRING_TABLE(fair_share_kind, _FAIR_SHARE_MAX,
             [FAIR_SHARE_EQUAL] = "equal", [FAIR_SHARE_BUDGET] = "budget")
STRING_TABLE(kill_scope, _KILL_SCOPE_MAX,
             [KILL_SCOPE_PROCESS] = "process", [KILL_SCOPE_CGROUP] = "cgroup")

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
        _Static_assert(sizeof(policy_kind) == sizeof(int) && sizeof(kill_scope) == sizeof(int) &&
                       sizeof(fair_share_kind) == sizeof(int), "enum size");
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
        GOVERNOR_KEY("ShortageMemoryFloor", parse_share_value, shortage_memory_floor),
        GOVERNOR_KEY("ShortageSwapFloor", parse_share_value, shortage_swap_floor),
        GOVERNOR_KEY("ShortagePressure", parse_share_value, shortage_pressure),
        GOVERNOR_KEY("ShortageDuration", parse_duration_value, shortage_duration, FINITE),
        GOVERNOR_KEY("FairShare", parse_enum_value, fair_share, ENUM(fair_share_kind, "expected equal or budget")),
        GOVERNOR_KEY("ShortageGrowthWindow", parse_duration_value, shortage_growth_window, FINITE),
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
                     ENUM(policy_kind, "expected rss, runtime, badness or growth")),
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
        config_report(ctx->loader, ctx->path, ctx->line, "Unknown key '%s' in section [%s]%s", name,
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
                config_report(ctx->loader, ctx->path, ctx->line,
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
                return (void) config_report(ctx->loader, ctx->path, ctx->line,
                                     "Missing ']' in section header '%s'", p);
        *end = 0;
        rest += strspn(rest, " \t");
        if (*rest && *rest != '#' && *rest != ';')
                return (void) config_report(ctx->loader, ctx->path, ctx->line,
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
                config_report(ctx->loader, ctx->path, ctx->line, "%s section [%s]: %s",
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
                        config_report(ctx->loader, ctx->path, 0, "Failed to read file: %s", strerror(errno ?: EIO));
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
                config_report(ctx->loader, ctx->path, ctx->line, "Line contains a NUL byte");
                return str;
        }
        /* inih would split it and parse the tail as a line of its own. */
        if (n > num - 1) {
                config_report(ctx->loader, ctx->path, ctx->line, "Line is %zd characters long, the limit is %d",
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
                config_report(ctx->loader, ctx->path, ctx->line, "Missing '=' in line '%s': expected Key=value", p);
                return str;
        }
        memcpy(str, p, strlen(p) + 1);
        return str;
}

int config_parse_file(config_loader *l, const char *path, file_kind kind, bool missing_ok,
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
                config_report(l, path, 0, "Failed to open file: %s", strerror(r));
                return 0;
        }
        if (fstat(fd, &st) < 0)
                st.st_mode = 0;
        if (!S_ISREG(st.st_mode)) {
                config_report(l, path, 0, "Failed to read file: %s",
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
                config_report(l, path, (unsigned) r, "Syntax error");
        return 0;
}
