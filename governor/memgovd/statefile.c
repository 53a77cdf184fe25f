/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "metrics.h"
#include "statefile.h"

static void json_object_putp(json_object **o) {
        json_object_put(*o);
}

/* Limits as numbers, "infinity" as null: what a JSON reader expects. */
static json_object *new_limit(uint64_t v) {
        return v == BYTES_INFINITY ? NULL : json_object_new_uint64(v);
}

/* Two decimals, as the kernel reports them, not %.17g. */
static json_object *new_percent(double v) {
        char text[32];
        snprintf(text, sizeof text, "%.2f", v);
        return json_object_new_double_s(v, text);
}

/* User names (NSS), cgroup paths and comms are not guaranteed UTF-8, and
 * json-c does not check: escape_json() keeps the document valid UTF-8 and
 * leaves the controls for json-c to write as \u00XX. Readers still escape
 * what they print. */
static json_object *new_user_string(const char *s) {
        _cleanup_free_ char *e = escape_dup(s ?: "", ESCAPE_JSON);

        return e ? json_object_new_string(e) : NULL;
}

static json_object *user_object(const User *u) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "uid", json_object_new_uint64(u->uid));
        json_object_object_add(o, "user", new_user_string(u->name));
        json_object_object_add(o, "slice", new_user_string(u->cgroup));
        json_object_object_add(o, "logged_in", json_object_new_boolean(u->logged_in));
        json_object_object_add(o, "has_slice", json_object_new_boolean(u->has_slice));
        json_object_object_add(o, "usage", json_object_new_uint64(u->memory.current));
        /* What of usage is cache reclaim can drop, and what it cannot take back (memstat.h). */
        json_object_object_add(o, "cache_bytes", json_object_new_uint64(u->usage.known ? u->usage.cache : 0));
        json_object_object_add(o, "unreclaimable_bytes",
                               json_object_new_uint64(u->usage.known ? u->usage.unreclaimable : u->memory.current));
        json_object_object_add(o, "peak", json_object_new_uint64(u->peak));
        json_object_object_add(o, "swap_usage", json_object_new_uint64(u->memory.swap_current));
        json_object_object_add(o, "high", new_limit(u->effective.memory_high));
        json_object_object_add(o, "max", new_limit(u->effective.memory_max));
        json_object_object_add(o, "swap_max", new_limit(u->effective.memory_swap_max));
        json_object_object_add(o, "budget_high", new_limit(u->config.memory_high));
        json_object_object_add(o, "budget_max", new_limit(u->config.memory_max));
        json_object_object_add(o, "stepping", json_object_new_boolean(u->limits.stepping));
        json_object_object_add(o, "psi_some_avg10", new_percent(u->pressure.some.avg10));
        json_object_object_add(o, "psi_full_avg10", new_percent(u->pressure.full.avg10));
        json_object_object_add(o, "under_pressure", json_object_new_boolean(u->under_pressure));
        json_object_object_add(o, "psi_trigger", json_object_new_boolean(u->watch.active && !u->watch.psi_fallback &&
                                                                         u->watch.some_fd >= 0));
        json_object_object_add(o, "policy", json_object_new_string(policy_kind_to_string(u->config.policy)));
        json_object_object_add(o, "kill_scope", json_object_new_string(kill_scope_to_string(u->config.kill_scope)));
        json_object_object_add(o, "warns", json_object_new_uint64(u->warns));
        json_object_object_add(o, "kills", json_object_new_uint64(u->kills));
        json_object_object_add(o, "kernel_oom_kills", json_object_new_uint64(u->kernel_oom_kills));
        json_object_object_add(o, "limit_failures", json_object_new_uint64(u->limit_failures));
        json_object_object_add(o, "limit_resets", json_object_new_uint64(u->limit_resets));
        json_object_object_add(o, "last_kill_realtime_usec", json_object_new_uint64(u->last_kill_realtime));
        json_object_object_add(o, "last_victim_pid", json_object_new_int(u->last_victim_pid));
        json_object_object_add(o, "last_victim_comm", new_user_string(u->last_victim_comm));
        return o;
}

/* The daemon's figures: the document without "users". */
static json_object *header_object(const status_info *info) {
        json_object *root = json_object_new_object();

        if (!root)
                return NULL;
        json_object_object_add(root, "version", json_object_new_string(info->version));
        json_object_object_add(root, "pid", json_object_new_int(info->pid));
        json_object_object_add(root, "config", json_object_new_string(info->config_path));
        json_object_object_add(root, "dry_run", json_object_new_boolean(info->dry_run));
        json_object_object_add(root, "limits_backend",
                               json_object_new_string(info->limits_backend == LIMITS_SYSTEMD ? "systemd" : "cgroupfs"));
        json_object_object_add(root, "psi_privileged", json_object_new_boolean(info->psi_privileged));
        json_object_object_add(root, "pressure_window_usec", json_object_new_uint64(info->pressure_window));
        json_object_object_add(root, "updated_realtime_usec", json_object_new_uint64(info->updated_realtime));
        json_object_object_add(root, "wakeups", json_object_new_uint64(info->wakeups));
        json_object_object_add(root, "reloads", json_object_new_uint64(info->reloads));
        json_object_object_add(root, "reload_failures", json_object_new_uint64(info->reload_failures));
        json_object_object_add(root, "machine_short", json_object_new_boolean(info->machine_short));
        json_object_object_add(root, "machine_shortages", json_object_new_uint64(info->machine_shortages));
        return root;
}

json_object *statefile_document(const status_info *info, User *const *users, size_t n_users) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *array;

        assert(info);

        root = header_object(info);
        array = json_object_new_array_ext((int) n_users);
        if (!root || !array) {
                json_object_put(array);
                return NULL;
        }
        json_object_object_add(root, "users", array);
        for (size_t i = 0; i < n_users; i++) {
                json_object *u = user_object(users[i]);

                if (!u || json_object_array_add(array, u) < 0) {
                        json_object_put(u);
                        return NULL;
                }
        }
        return TAKE_PTR(root);
}

#define STATEFILE_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The text of statefile_document(), built one user at a time: the whole
 * document as json-c objects takes about 5 KB a user (a hash table of 32
 * fields each), which the heap keeps after the write. */
static int write_document(FILE *f, const status_info *info, User *const *users, size_t n_users) {
        _cleanup_(json_object_putp) json_object *header = header_object(info);
        const char *text;
        size_t len;

        text = header ? json_object_to_json_string_ext(header, STATEFILE_JSON_FLAGS) : NULL;
        if (!text)
                return -ENOMEM;
        /* "{...}" without its closing brace: "users" goes last, as in the document. */
        len = strlen(text);
        assert(len >= 2 && text[len - 1] == '}');
        fwrite(text, 1, len - 1, f);
        fputs(",\"users\":[", f);
        for (size_t i = 0; i < n_users; i++) {
                _cleanup_(json_object_putp) json_object *u = user_object(users[i]);

                text = u ? json_object_to_json_string_ext(u, STATEFILE_JSON_FLAGS) : NULL;
                if (!text)
                        return -ENOMEM;
                if (i > 0)
                        fputc(',', f);
                fputs(text, f);
        }
        fputs("]}\n", f);
        return 0;
}

int statefile_write(const char *path, const status_info *info, User *const *users, size_t n_users) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        assert(path);
        assert(info);

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Not world-readable: it names the processes memgovd killed in other
         * users' slices, which hidepid= hides from them in /proc. */
        (void) fchmod(fd, 0640);
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                (void) unlink(tmp);
                return r;
        }
        r = write_document(f, info, users, n_users);
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        if (fflush(f) != 0 || ferror(f)) {
                r = errno > 0 ? -errno : -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int statefile_write_metrics(const char *path, const status_info *info, User *const *users, size_t n_users) {
        _cleanup_free_ metrics_user *m = NULL;
        metrics_global g;

        if (!path)
                return 0;

        if (n_users > 0) {
                m = calloc(n_users, sizeof *m);
                if (!m)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n_users; i++) {
                const User *u = users[i];

                m[i] = (metrics_user) {
                        .uid = u->uid,
                        .user = u->name,
                        .usage = u->memory.current,
                        .high = u->effective.memory_high,
                        .max = u->effective.memory_max,
                        .budget_high = u->config.memory_high,
                        .budget_max = u->config.memory_max,
                        .swap_usage = u->memory.swap_current,
                        .psi_some_avg10 = u->pressure.some.avg10,
                        .psi_full_avg10 = u->pressure.full.avg10,
                        .warns = u->warns,
                        .kills = u->kills,
                        .kernel_oom_kills = u->kernel_oom_kills,
                        .limit_failures = u->limit_failures,
                        .limit_resets = u->limit_resets,
                        .under_pressure = u->under_pressure,
                        .stepping = u->limits.stepping,
                };
        }
        g = (metrics_global) {
                .wakeups = info->wakeups,
                .reloads = info->reloads,
                .reload_failures = info->reload_failures,
                .updated_realtime_sec = info->updated_realtime / USEC_PER_SEC,
                .machine_short = info->machine_short,
                .machine_shortages = info->machine_shortages,
                .dry_run = info->dry_run,
        };
        return metrics_write_textfile(path, &g, m, n_users);
}
