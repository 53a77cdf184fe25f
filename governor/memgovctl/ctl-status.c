/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovctl status: what memgovd governs, from the status file it writes
 * when something changes, plus live usage and pressure read from cgroupfs. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgfs.h"
#include "ctl.h"
#include "memgov-config.h"
#include "util.h"

#define STATUS_FILE MEMGOV_RUNTIME_DIR "/status.json"
#define STATUS_MAX (4U << 20)
#define JSON_DEPTH_MAX 16

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json {
        json_type type;
        bool boolean;
        char *text;                    /* string value, or a number's digits as written */
        struct json *items;            /* array elements or object values */
        char **keys;                   /* object keys, parallel to items */
        size_t n;
} json;

typedef struct json_parser {
        const char *p, *end;
        unsigned depth;
} json_parser;

static void json_done(json *v) {
        for (size_t i = 0; i < v->n; i++) {
                json_done(&v->items[i]);
                if (v->keys)
                        free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        free(v->text);
        *v = (json) {};
}

static void skip_ws(json_parser *j) {
        while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
                j->p++;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
        if (cp < 0x80)
                out[(*n)++] = (char) cp;
        else if (cp < 0x800) {
                out[(*n)++] = (char) (0xc0 | (cp >> 6));
                out[(*n)++] = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                out[(*n)++] = (char) (0xe0 | (cp >> 12));
                out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[(*n)++] = (char) (0x80 | (cp & 0x3f));
        } else {
                out[(*n)++] = (char) (0xf0 | (cp >> 18));
                out[(*n)++] = (char) (0x80 | ((cp >> 12) & 0x3f));
                out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[(*n)++] = (char) (0x80 | (cp & 0x3f));
        }
}

static int parse_hex4(json_parser *j, unsigned *ret) {
        unsigned v = 0;

        if (j->end - j->p < 4)
                return -EINVAL;
        for (int i = 0; i < 4; i++) {
                char c = *j->p++;
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int parse_string(json_parser *j, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        if (j->p >= j->end || *j->p != '"')
                return -EINVAL;
        j->p++;
        /* Escapes never grow: the raw length bounds the decoded one. */
        out = malloc((size_t) (j->end - j->p) + 1);
        if (!out)
                return -ENOMEM;
        while (j->p < j->end && *j->p != '"') {
                char c = *j->p++;
                unsigned cp, lo;

                if (c != '\\') {
                        out[n++] = c;
                        continue;
                }
                if (j->p >= j->end)
                        return -EINVAL;
                c = *j->p++;
                switch (c) {
                case '"': case '\\': case '/': out[n++] = c; break;
                case 'b': out[n++] = '\b'; break;
                case 'f': out[n++] = '\f'; break;
                case 'n': out[n++] = '\n'; break;
                case 'r': out[n++] = '\r'; break;
                case 't': out[n++] = '\t'; break;
                case 'u':
                        if (parse_hex4(j, &cp) < 0)
                                return -EINVAL;
                        if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                                j->p += 2;
                                if (parse_hex4(j, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                                        return -EINVAL;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        }
                        put_utf8(out, &n, cp);
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (j->p >= j->end)
                return -EINVAL;
        j->p++;
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

static int parse_value(json_parser *j, json *v);

static int append_item(json *v, char *key, json *item) {
        json *items = realloc(v->items, (v->n + 1) * sizeof *items);
        if (!items)
                return -ENOMEM;
        v->items = items;
        if (v->type == JSON_OBJECT) {
                char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
                if (!keys)
                        return -ENOMEM;
                v->keys = keys;
                v->keys[v->n] = key;
        }
        v->items[v->n++] = *item;
        return 0;
}

static int parse_container(json_parser *j, json *v, bool object) {
        char close = object ? '}' : ']';
        int r;

        if (++j->depth > JSON_DEPTH_MAX)
                return -E2BIG;
        v->type = object ? JSON_OBJECT : JSON_ARRAY;
        j->p++;
        skip_ws(j);
        if (j->p < j->end && *j->p == close) {
                j->p++;
                j->depth--;
                return 0;
        }
        for (;;) {
                char *key = NULL;
                json item = {};

                skip_ws(j);
                if (object) {
                        r = parse_string(j, &key);
                        if (r < 0)
                                return r;
                        skip_ws(j);
                        if (j->p >= j->end || *j->p != ':') {
                                free(key);
                                return -EINVAL;
                        }
                        j->p++;
                }
                r = parse_value(j, &item);
                if (r >= 0)
                        r = append_item(v, key, &item);
                if (r < 0) {
                        free(key);
                        json_done(&item);
                        return r;
                }
                skip_ws(j);
                if (j->p < j->end && *j->p == ',') {
                        j->p++;
                        continue;
                }
                if (j->p < j->end && *j->p == close) {
                        j->p++;
                        j->depth--;
                        return 0;
                }
                return -EINVAL;
        }
}

static int parse_value(json_parser *j, json *v) {
        *v = (json) {};
        skip_ws(j);
        if (j->p >= j->end)
                return -EINVAL;
        switch (*j->p) {
        case '{':
                return parse_container(j, v, true);
        case '[':
                return parse_container(j, v, false);
        case '"':
                v->type = JSON_STRING;
                return parse_string(j, &v->text);
        }
        if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
                j->p += 4;
                v->type = JSON_NULL;
                return 0;
        }
        if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
                j->p += 4;
                v->type = JSON_BOOL;
                v->boolean = true;
                return 0;
        }
        if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
                j->p += 5;
                v->type = JSON_BOOL;
                return 0;
        }
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
                const char *start = j->p;
                while (j->p < j->end && strchr("+-0123456789.eE", *j->p))
                        j->p++;
                v->type = JSON_NUMBER;
                v->text = strndup(start, (size_t) (j->p - start));
                return v->text ? 0 : -ENOMEM;
        }
        return -EINVAL;
}

static const json *json_get(const json *o, const char *key) {
        if (!o || o->type != JSON_OBJECT)
                return NULL;
        for (size_t i = 0; i < o->n; i++)
                if (strcmp(o->keys[i], key) == 0)
                        return &o->items[i];
        return NULL;
}

static const char *get_str(const json *o, const char *key, const char *fallback) {
        const json *v = json_get(o, key);
        return v && v->type == JSON_STRING ? v->text : fallback;
}

static bool get_bool(const json *o, const char *key) {
        const json *v = json_get(o, key);
        return v && v->type == JSON_BOOL && v->boolean;
}

/* null (no limit) and absent read as BYTES_INFINITY. */
static uint64_t get_u64(const json *o, const char *key) {
        const json *v = json_get(o, key);
        uint64_t u;

        if (!v || v->type != JSON_NUMBER || parse_u64(v->text, &u) < 0)
                return BYTES_INFINITY;
        return u;
}

static double get_double(const json *o, const char *key) {
        const json *v = json_get(o, key);
        return v && v->type == JSON_NUMBER ? strtod(v->text, NULL) : 0.0;
}

static void json_write(FILE *f, const json *v) {
        switch (v->type) {
        case JSON_NULL: fputs("null", f); break;
        case JSON_BOOL: fputs(v->boolean ? "true" : "false", f); break;
        case JSON_NUMBER: fputs(v->text, f); break;
        case JSON_STRING: ctl_json_string(f, v->text); break;
        case JSON_ARRAY:
        case JSON_OBJECT:
                fputc(v->type == JSON_ARRAY ? '[' : '{', f);
                for (size_t i = 0; i < v->n; i++) {
                        if (i)
                                fputc(',', f);
                        if (v->type == JSON_OBJECT) {
                                ctl_json_string(f, v->keys[i]);
                                fputc(':', f);
                        }
                        json_write(f, &v->items[i]);
                }
                fputc(v->type == JSON_ARRAY ? ']' : '}', f);
                break;
        }
}

static const char *fmt_limit(char *buf, size_t size, uint64_t v) {
        if (v == BYTES_INFINITY)
                return snprintf(buf, size, "-"), buf;
        return format_bytes(buf, size, v);
}

static void fmt_ago(char *buf, size_t size, uint64_t realtime_usec) {
        uint64_t now = (uint64_t) time(NULL) * USEC_PER_SEC;
        char t[FORMAT_USEC_MAX];

        if (realtime_usec == 0 || realtime_usec == BYTES_INFINITY) {
                snprintf(buf, size, "-");
                return;
        }
        /* Whole seconds are enough for "how long ago". */
        format_usec(t, sizeof t, now > realtime_usec ? (now - realtime_usec) / USEC_PER_SEC * USEC_PER_SEC : 0);
        snprintf(buf, size, "%s ago", t);
}

static void help(void) {
        printf("Usage: memgovctl status [--json] [--file PATH]\n\n"
               "Show the users memgovd governs: usage (live), budgets, pressure, warnings,\n"
               "kills and the last victim.\n\n"
               "  --json       Print the daemon's status with live usage as JSON\n"
               "  --file PATH  Read PATH instead of %s\n", STATUS_FILE);
}

int ctl_status(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "file", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int cgroot = -1;
        const char *path = STATUS_FILE;
        json root = {}, *users;
        json_parser jp;
        bool as_json = false, running;
        size_t len;
        int c, r, pid;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j': as_json = true; break;
                case 'f': path = optarg; break;
                case 'h': help(); return 0;
                default: return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "memgovctl status: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        buf = malloc(STATUS_MAX);
        if (!buf)
                return 1;
        r = read_file_at(AT_FDCWD, path, buf, STATUS_MAX, &len);
        if (r == -ENOENT) {
                fprintf(stderr, "memgovd is not running (no %s).\n", path);
                return 3;
        }
        if (r < 0) {
                fprintf(stderr, "memgovctl status: cannot read %s: %s\n", path, strerror(-r));
                return 1;
        }
        jp = (json_parser) { .p = buf, .end = buf + len };
        r = parse_value(&jp, &root);
        if (r < 0 || root.type != JSON_OBJECT) {
                fprintf(stderr, "memgovctl status: %s is not a memgovd status file\n", path);
                json_done(&root);
                return 1;
        }

        pid = (int) get_u64(&root, "pid");
        running = pid > 0 && (kill(pid, 0) >= 0 || errno == EPERM);
        cgroot = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        users = (json *) json_get(&root, "users");

        /* Live usage and pressure, where this host lets us read them. */
        for (size_t i = 0; users && users->type == JSON_ARRAY && i < users->n; i++) {
                json *u = &users->items[i];
                const char *slice = get_str(u, "slice", NULL);
                uint64_t cur;
                psi_stats ps;
                json item = { .type = JSON_NUMBER };
                char num[64];

                if (cgroot < 0 || !slice || u->type != JSON_OBJECT)
                        continue;
                if (cgfs_read_u64(cgroot, slice, "memory.current", &cur) >= 0) {
                        snprintf(num, sizeof num, "%" PRIu64, cur);
                        item.text = strdup(num);
                        if (!item.text || append_item(u, strdup("usage_live"), &item) < 0)
                                json_done(&item);
                }
                if (cgfs_read_pressure(cgroot, slice, &ps) >= 0) {
                        item = (json) { .type = JSON_NUMBER };
                        snprintf(num, sizeof num, "%.2f", ps.some.avg10);
                        item.text = strdup(num);
                        if (!item.text || append_item(u, strdup("psi_some_avg10_live"), &item) < 0)
                                json_done(&item);
                }
        }

        if (as_json) {
                json_write(stdout, &root);
                fputc('\n', stdout);
                json_done(&root);
                return running ? 0 : 3;
        }

        printf("memgovd %s, pid %d%s; config %s\n", get_str(&root, "version", "?"), pid,
               running ? "" : " (NOT RUNNING: stale status file)", get_str(&root, "config", "?"));
        printf("mode: %s; limits via %s; PSI window %.1fs%s\n",
               get_bool(&root, "dry_run") ? "DRY RUN (logs what it would kill, kills nothing)" : "live",
               get_str(&root, "limits_backend", "?"), (double) get_u64(&root, "pressure_window_usec") / 1e6,
               get_bool(&root, "psi_privileged") ? "" : " (unprivileged)");
        printf("\n%-12s %6s %9s %9s %9s %9s %8s %5s %5s %4s  %s\n", "USER", "UID", "USAGE", "HIGH", "MAX", "PEAK",
               "PSI10", "WARNS", "KILLS", "OOM", "LAST VICTIM");

        for (size_t i = 0; users && users->type == JSON_ARRAY && i < users->n; i++) {
                const json *u = &users->items[i];
                char usage[FORMAT_BYTES_MAX], high[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX], peak[FORMAT_BYTES_MAX];
                char psi[16], victim[96], ago[48];
                uint64_t live = get_u64(u, "usage_live"), victim_pid = get_u64(u, "last_victim_pid");
                double psi10 = json_get(u, "psi_some_avg10_live") ? get_double(u, "psi_some_avg10_live")
                                                                   : get_double(u, "psi_some_avg10");

                format_bytes(usage, sizeof usage, live != BYTES_INFINITY ? live : get_u64(u, "usage"));
                fmt_limit(high, sizeof high, get_u64(u, "high"));
                fmt_limit(max, sizeof max, get_u64(u, "max"));
                format_bytes(peak, sizeof peak, get_u64(u, "peak"));
                snprintf(psi, sizeof psi, "%.1f%%%s", psi10, get_bool(u, "under_pressure") ? "!" : "");
                fmt_ago(ago, sizeof ago, get_u64(u, "last_kill_realtime_usec"));
                if (victim_pid > 0 && victim_pid != BYTES_INFINITY)
                        snprintf(victim, sizeof victim, "%" PRIu64 " (%s) %s", victim_pid,
                                 get_str(u, "last_victim_comm", "?"), ago);
                else
                        snprintf(victim, sizeof victim, "-");

                printf("%-12.12s %6" PRIu64 " %9s %9s %9s%s %9s %8s %5" PRIu64 " %5" PRIu64 " %4" PRIu64 "  %s\n",
                       get_str(u, "user", "?"), get_u64(u, "uid"), usage, high, max,
                       get_bool(u, "stepping") ? "*" : " ", peak, psi, get_u64(u, "warns"),
                       get_u64(u, "kills"), get_u64(u, "kernel_oom_kills"), victim);
        }
        if (!users || users->n == 0)
                printf("(no users governed)\n");
        printf("\nUSAGE is live from /sys/fs/cgroup; '*' after MAX: a limit is being stepped down towards the\n"
               "budget as usage falls; '!' after PSI10: under pressure now. OOM counts the kernel's own kills.\n");
        json_done(&root);
        return running ? 0 : 3;
}
