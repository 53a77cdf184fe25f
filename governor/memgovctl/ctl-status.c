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
#include "escape.h"
#include "memgov-config.h"
#include "util.h"

#define STATUS_FILE MEMGOV_RUNTIME_DIR "/status.json"
#define STATUS_MAX (4U << 20)
/* Fields of the status file; a missing or mistyped field reads as absent. */
static const char *get_str(json_object *o, const char *key, const char *fallback) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : fallback;
}

static bool get_bool(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

/* null (no limit) and absent read as BYTES_INFINITY. */
static uint64_t get_u64(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return BYTES_INFINITY;
        errno = 0;
        uint64_t u = json_object_get_uint64(v);
        return errno != 0 || json_object_get_int64(v) < 0 ? BYTES_INFINITY : u;
}

static bool has_number(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) &&
               (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
}

static double get_double(json_object *o, const char *key) {
        json_object *v;
        return has_number(o, key) && json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0.0;
}

/* A double that prints as the kernel's two decimals, not as %.17g. */
static json_object *new_percent(double v) {
        char text[32];
        snprintf(text, sizeof text, "%.2f", v);
        return json_object_new_double_s(v, text);
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
        printf("Usage: memgovctl status [--json] [--file PATH] [--cgroup-root DIR]\n\n"
               "Show the users memgovd governs: usage (live), budgets, pressure, warnings,\n"
               "kills and the last victim.\n\n"
               "  --json             Print the daemon's status with live usage as JSON\n"
               "  --file PATH        Read PATH instead of %s\n"
               "  --cgroup-root DIR  Read live usage under DIR instead of /sys/fs/cgroup\n", STATUS_FILE);
}

/* Live usage and pressure, where this host lets us read them. */
static void add_live(json_object *users, int cgroot) {
        size_t n = json_object_is_type(users, json_type_array) ? json_object_array_length(users) : 0;

        for (size_t i = 0; cgroot >= 0 && i < n; i++) {
                json_object *u = json_object_array_get_idx(users, i);
                const char *slice = get_str(u, "slice", NULL);
                uint64_t cur;
                psi_stats ps;

                if (!slice || !json_object_is_type(u, json_type_object))
                        continue;
                if (cgfs_read_u64(cgroot, slice, "memory.current", &cur) >= 0)
                        json_object_object_add(u, "usage_live", json_object_new_uint64(cur));
                if (cgfs_read_pressure(cgroot, slice, &ps) >= 0)
                        json_object_object_add(u, "psi_some_avg10_live", new_percent(ps.some.avg10));
        }
}

static void print_table(json_object *root, int pid, bool running) {
        json_object *users = NULL;
        size_t n;

        printf("memgovd %s, pid %d%s; config %s\n", get_str(root, "version", "?"), pid,
               running ? "" : " (NOT RUNNING: stale status file)", get_str(root, "config", "?"));
        printf("mode: %s; limits via %s; PSI window %.1fs%s\n",
               get_bool(root, "dry_run") ? "DRY RUN (logs what it would kill, kills nothing)" : "live",
               get_str(root, "limits_backend", "?"), (double) get_u64(root, "pressure_window_usec") / 1e6,
               get_bool(root, "psi_privileged") ? "" : " (unprivileged)");
        printf("\n%-12s %6s %9s %9s %9s %9s %9s %9s %8s %5s %5s %4s  %s\n", "USER", "UID", "USAGE", "CACHE",
               "UNRECL", "HIGH", "MAX", "PEAK", "PSI10", "WARNS", "KILLS", "OOM", "LAST VICTIM");

        json_object_object_get_ex(root, "users", &users);
        n = json_object_is_type(users, json_type_array) ? json_object_array_length(users) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *u = json_object_array_get_idx(users, i);
                char usage[FORMAT_BYTES_MAX], high[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX], peak[FORMAT_BYTES_MAX];
                char psi[16], victim[160], ago[48], name[13], cache[FORMAT_BYTES_MAX], unrecl[FORMAT_BYTES_MAX];
                uint64_t live = get_u64(u, "usage_live"), victim_pid = get_u64(u, "last_victim_pid");
                double psi10 = has_number(u, "psi_some_avg10_live") ? get_double(u, "psi_some_avg10_live")
                                                                     : get_double(u, "psi_some_avg10");

                escape_text(get_str(u, "user", "?"), name, sizeof name);
                format_bytes(usage, sizeof usage, live != BYTES_INFINITY ? live : get_u64(u, "usage"));
                /* As memgovd last split it: only it knows the swap and thrashing verdicts. */
                if (has_number(u, "cache_bytes"))
                        format_bytes(cache, sizeof cache, get_u64(u, "cache_bytes"));
                else
                        snprintf(cache, sizeof cache, "-");
                if (has_number(u, "unreclaimable_bytes"))
                        format_bytes(unrecl, sizeof unrecl, get_u64(u, "unreclaimable_bytes"));
                else
                        snprintf(unrecl, sizeof unrecl, "-");
                fmt_limit(high, sizeof high, get_u64(u, "high"));
                fmt_limit(max, sizeof max, get_u64(u, "max"));
                format_bytes(peak, sizeof peak, get_u64(u, "peak"));
                snprintf(psi, sizeof psi, "%.1f%%%s", psi10, get_bool(u, "under_pressure") ? "!" : "");
                fmt_ago(ago, sizeof ago, get_u64(u, "last_kill_realtime_usec"));
                if (victim_pid > 0 && victim_pid != BYTES_INFINITY) {
                        char comm[64];

                        snprintf(victim, sizeof victim, "%" PRIu64 " (%s) %s", victim_pid,
                                 escape_text(get_str(u, "last_victim_comm", "?"), comm, sizeof comm), ago);
                } else
                        snprintf(victim, sizeof victim, "-");

                printf("%-12.12s %6" PRIu64 " %9s %9s %9s %9s %9s%s %9s %8s %5" PRIu64 " %5" PRIu64 " %4" PRIu64
                       "  %s\n",
                       name, get_u64(u, "uid"), usage, cache, unrecl, high, max, get_bool(u, "stepping") ? "*" : " ", peak, psi,
                       get_u64(u, "warns"), get_u64(u, "kills"), get_u64(u, "kernel_oom_kills"), victim);
        }
        if (n == 0)
                printf("(no users governed)\n");
        printf("\nUSAGE is live from /sys/fs/cgroup; CACHE (reclaimable file cache) and UNRECL (what reclaim\n"
               "cannot take back: what warnings and kills go by) are memgovd's last sample; '*' after MAX: a limit is being stepped down towards the\n"
               "budget as usage falls; '!' after PSI10: under pressure now. OOM counts the kernel's own kills.\n");
}

int ctl_status(int argc, char **argv) {
        enum { ARG_CGROUP_ROOT = 0x100 };
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "file", required_argument, NULL, 'f' },
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int cgroot = -1;
        const char *path = STATUS_FILE, *cgroup_root = "/sys/fs/cgroup";
        enum json_tokener_error error = json_tokener_success;
        json_object *users = NULL;
        bool as_json = false, running;
        size_t len;
        int c, r, pid;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j': as_json = true; break;
                case 'f': path = optarg; break;
                case ARG_CGROUP_ROOT: cgroup_root = optarg; break;
                case 'h': help(); return 0;
                default: return 2;   /* getopt named the option */
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
                return 1;
        }
        if (r == -EACCES) {
                /* Not world-readable: it names other users' killed processes. */
                fprintf(stderr, "memgovctl status: %s is readable by root only: run memgovctl status as root.\n",
                        path);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "memgovctl status: cannot read %s: %s\n", path, strerror(-r));
                return 1;
        }
        root = json_tokener_parse_verbose(buf, &error);
        if (!root || !json_object_is_type(root, json_type_object)) {
                fprintf(stderr, "memgovctl status: %s is not a memgovd status file: %s\n", path,
                        root ? "not a JSON object" : json_tokener_error_desc(error));
                return 1;
        }

        pid = (int) get_u64(root, "pid");
        running = pid > 0 && (kill(pid, 0) >= 0 || errno == EPERM);
        cgroot = open(cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (json_object_object_get_ex(root, "users", &users))
                add_live(users, cgroot);

        if (as_json) {
                r = ctl_print_json(root);
                if (r < 0) {
                        fprintf(stderr, "memgovctl status: cannot print the JSON document: %s\n", strerror(-r));
                        return 1;
                }
        } else
                print_table(root, pid, running);
        /* A stale file is still shown: it tells what memgovd last did. */
        return running ? 0 : 1;
}
