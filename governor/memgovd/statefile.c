/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memgov-config.h"
#include "metrics.h"
#include "report.h"
#include "statefile.h"
#include "user.h"

static void json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; p && *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

/* Limits as numbers, "infinity" as null: what a JSON reader expects. */
static void json_limit(FILE *f, uint64_t v) {
        if (v == BYTES_INFINITY)
                fputs("null", f);
        else
                fprintf(f, "%" PRIu64, v);
}

static void write_user(FILE *f, const User *u) {
        fprintf(f, "{\"uid\":%u,\"user\":", (unsigned) u->uid);
        json_string(f, u->name);
        fputs(",\"slice\":", f);
        json_string(f, u->cgroup);
        fprintf(f, ",\"logged_in\":%s,\"has_slice\":%s", u->logged_in ? "true" : "false",
                u->has_slice ? "true" : "false");
        fprintf(f, ",\"usage\":%" PRIu64 ",\"peak\":%" PRIu64 ",\"swap_usage\":%" PRIu64, u->memory.current, u->peak,
                u->memory.swap_current);
        fputs(",\"high\":", f);
        json_limit(f, u->effective.memory_high);
        fputs(",\"max\":", f);
        json_limit(f, u->effective.memory_max);
        fputs(",\"swap_max\":", f);
        json_limit(f, u->effective.memory_swap_max);
        fputs(",\"budget_high\":", f);
        json_limit(f, u->config.memory_high);
        fputs(",\"budget_max\":", f);
        json_limit(f, u->config.memory_max);
        fprintf(f, ",\"stepping\":%s", u->limits.stepping ? "true" : "false");
        fprintf(f, ",\"psi_some_avg10\":%.2f,\"psi_full_avg10\":%.2f", u->pressure.some.avg10, u->pressure.full.avg10);
        fprintf(f, ",\"under_pressure\":%s,\"psi_trigger\":%s", u->under_pressure ? "true" : "false",
                u->watch.active && !u->watch.psi_fallback && u->watch.some_fd >= 0 ? "true" : "false");
        fputs(",\"policy\":", f);
        json_string(f, policy_kind_to_string(u->config.policy));
        fputs(",\"kill_scope\":", f);
        json_string(f, kill_scope_to_string(u->config.kill_scope));
        fprintf(f, ",\"warns\":%" PRIu64 ",\"kills\":%" PRIu64 ",\"kernel_oom_kills\":%" PRIu64, u->warns, u->kills,
                u->kernel_oom_kills);
        fprintf(f, ",\"last_kill_realtime_usec\":%" PRIu64 ",\"last_victim_pid\":%d,\"last_victim_comm\":",
                (uint64_t) u->last_kill_realtime, (int) u->last_victim_pid);
        json_string(f, u->last_victim_comm);
        fputs("}", f);
}

int statefile_write(Daemon *d, const char *path) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        assert(d);
        assert(path);

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Users may run `memgovctl status`; it shows usage, not secrets. */
        (void) fchmod(fd, 0644);
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                (void) unlink(tmp);
                return r;
        }

        fprintf(f, "{\"version\":\"%s\",\"pid\":%d,\"config\":", MEMGOV_VERSION, (int) d->pid);
        json_string(f, d->config_path);
        fprintf(f, ",\"dry_run\":%s,\"limits_backend\":\"%s\",\"psi_privileged\":%s,\"pressure_window_usec\":%" PRIu64,
                d->dry_run ? "true" : "false", d->limits_backend == LIMITS_SYSTEMD ? "systemd" : "cgroupfs",
                d->privileged ? "true" : "false", (uint64_t) d->pressure_window);
        fprintf(f, ",\"updated_realtime_usec\":%" PRIu64, (uint64_t) now_usec(CLOCK_REALTIME));
        fprintf(f, ",\"wakeups\":%" PRIu64 ",\"reloads\":%" PRIu64 ",\"reload_failures\":%" PRIu64, d->wakeups,
                d->reloads, d->reload_failures);
        fputs(",\"users\":[\n", f);
        for (size_t i = 0; i < d->n_users; i++) {
                write_user(f, d->users[i]);
                fputs(i + 1 < d->n_users ? ",\n" : "\n", f);
        }
        fputs("]}\n", f);

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
        for (size_t i = 0; i < d->n_users; i++)
                d->users[i]->status_usage = d->users[i]->memory.current;
        return 0;
}

int statefile_write_metrics(Daemon *d) {
        _cleanup_free_ metrics_user *users = NULL;
        metrics_global g;
        const char *path = d->config->governor.metrics_file;

        if (!path)
                return 0;

        if (d->n_users > 0) {
                users = calloc(d->n_users, sizeof *users);
                if (!users)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < d->n_users; i++) {
                const User *u = d->users[i];

                users[i] = (metrics_user) {
                        .uid = u->uid,
                        .user = u->name,
                        .usage = u->memory.current,
                        .high = u->effective.memory_high,
                        .max = u->effective.memory_max,
                        .swap_usage = u->memory.swap_current,
                        .psi_some_avg10 = u->pressure.some.avg10,
                        .psi_full_avg10 = u->pressure.full.avg10,
                        .warns = u->warns,
                        .kills = u->kills,
                        .kernel_oom_kills = u->kernel_oom_kills,
                        .under_pressure = u->under_pressure,
                };
        }
        g = (metrics_global) {
                .wakeups = d->wakeups,
                .reloads = d->reloads,
                .reload_failures = d->reload_failures,
                .dry_run = d->dry_run,
        };
        return metrics_write_textfile(path, &g, users, d->n_users);
}
