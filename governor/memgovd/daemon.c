/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "act.h"
#include "oom-report.h"
#include "daemon.h"
#include "memgov-config.h"
#include "messages.h"
#include "procfs.h"
#include "psi.h"
#include "report.h"
#include "sampler.h"
#include "slice-limits.h"
#include "statefile.h"
#include "watch.h"

/* SIGHUPs closer together than this are folded into one reload. */
#define RELOAD_MIN_INTERVAL_USEC (250 * USEC_PER_MSEC)
#define CAP_SYS_RESOURCE_BIT 24
/* An idle memgovd changes nothing, but a metrics file that never changes
 * looks like a dead daemon to node_exporter's readers (its mtime). With
 * MetricsFile= set it is rewritten at least this often, on a wake-up that
 * comes anyway when there is one within the slack. */
#define METRICS_REFRESH_USEC (60 * USEC_PER_SEC)
#define METRICS_REFRESH_SLACK_USEC (30 * USEC_PER_SEC)

static bool have_effective_cap(unsigned cap) {
        char buf[4096], *p;
        unsigned long long eff;

        if (read_file_at(AT_FDCWD, "/proc/self/status", buf, sizeof buf, NULL) < 0)
                return false;
        p = strstr(buf, "\nCapEff:");
        if (!p || sscanf(p + strlen("\nCapEff:"), "%llx", &eff) != 1)
                return false;
        return (eff >> cap) & 1;
}

static void on_actuator_log(void *userdata, const char *line) {
        (void) userdata;
        log_notice("dry run: %s", line);
}

/* Applies DryRun=, PressureWindow= and friends from d->config. */
static void apply_governor_config(Daemon *d) {
        usec_t window = d->config->governor.pressure_window;
        bool dry_run = d->dry_run_cli || d->config->governor.dry_run;

        if (window < PSI_WINDOW_MIN_USEC)
                window = PSI_WINDOW_MIN_USEC;
        if (window > PSI_WINDOW_MAX_USEC)
                window = PSI_WINDOW_MAX_USEC;
        /* Without CAP_SYS_RESOURCE the kernel only takes whole 2 s multiples. */
        if (!d->ctx.privileged && window % PSI_UNPRIVILEGED_WINDOW_USEC != 0) {
                usec_t rounded = (window / PSI_UNPRIVILEGED_WINDOW_USEC + 1) * PSI_UNPRIVILEGED_WINDOW_USEC;
                char a[FORMAT_USEC_MAX], b[FORMAT_USEC_MAX];

                if (rounded > PSI_WINDOW_MAX_USEC)
                        rounded = PSI_WINDOW_MAX_USEC;
                log_warning("PressureWindow=%s needs CAP_SYS_RESOURCE; using %s", format_usec(a, sizeof a, window),
                            format_usec(b, sizeof b, rounded));
                window = rounded;
        }
        d->ctx.pressure_window = window;
        d->ctx.shortage_growth_window = d->config->governor.shortage_growth_window;

        if (dry_run != d->ctx.dry_run || !d->ctx.actuator.ops)
                log_info("%s", dry_run ? "Dry run: memgovd logs what it would kill and signals nothing"
                                       : "Live: memgovd kills when the policy says so");
        d->ctx.dry_run = dry_run;
        d->ctx.notify_users = d->config->governor.notify_users;
        d->ctx.actuator.ops = dry_run ? &actuator_ops_dry_run : &actuator_ops_pidfd;
        d->ctx.status_dirty = true;
}

static void update_status(Daemon *d) {
        char text[sizeof d->status_text];
        size_t pressured = 0;
        status_info info = {
                .version = MEMGOV_VERSION,
                .pid = d->ctx.self,
                .config_path = d->config_path,
                .dry_run = d->ctx.dry_run,
                .limits_backend = d->ctx.limits_backend,
                .psi_privileged = d->ctx.privileged,
                .pressure_window = d->ctx.pressure_window,
                .updated_realtime = now_usec(CLOCK_REALTIME),
                .wakeups = d->wakeups,
                .reloads = d->reloads,
                .reload_failures = d->reload_failures,
                .machine_short = d->machine.was_short,
                .machine_shortages = d->machine.shortages,
        };
        int r;

        for (size_t i = 0; i < d->users.n; i++)
                if (d->users.items[i]->under_pressure)
                        pressured++;
        snprintf(text, sizeof text, "governing %zu user%s, %zu under pressure%s", d->users.n,
                 d->users.n == 1 ? "" : "s", pressured, d->ctx.dry_run ? " (dry run)" : "");
        if (strcmp(text, d->status_text) != 0) {
                snprintf(d->status_text, sizeof d->status_text, "%s", text);
                (void) sd_notifyf(false, "STATUS=%s", text);
        }

        r = statefile_write(MEMGOV_RUNTIME_DIR "/" STATEFILE_NAME, &info, d->users.items, d->users.n);
        if (r == -ENOENT && mkdir(MEMGOV_RUNTIME_DIR, 0755) >= 0)
                r = statefile_write(MEMGOV_RUNTIME_DIR "/" STATEFILE_NAME, &info, d->users.items, d->users.n);
        if (r < 0)
                log_debug_errno(r, "Cannot write " MEMGOV_RUNTIME_DIR "/" STATEFILE_NAME ": %m");
        else
                for (size_t i = 0; i < d->users.n; i++)
                        d->users.items[i]->status_usage = d->users.items[i]->memory.current;
        r = statefile_write_metrics(d->config->governor.metrics_file, &info, d->users.items, d->users.n);
        if (r < 0)
                log_warning_errno(r, "Cannot write MetricsFile=%s: %m", d->config->governor.metrics_file);
        d->status_written = now_usec(CLOCK_MONOTONIC);
        /* The next refresh moves with it. */
        if (d->config->governor.metrics_file)
                d->ctx.timer_dirty = true;
}

/* The sampling timer: every user due within its slack goes in this one
 * wake-up. The user array only shrinks in the deferred rescan, never in here. */
static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        (void) s;
        (void) usec;
        for (size_t i = 0; i < d->users.n; i++) {
                User *u = d->users.items[i];
                usec_t slack;

                if (u->watch.unmute_at && u->watch.unmute_at <= now)
                        watch_unmute(u);
                if (u->slice_retry_at && u->slice_retry_at <= now) {
                        u->slice_retry_at = 0;
                        d->ctx.rescan = true;
                }
                if (u->oom.next_try && u->oom.next_try <= now)
                        oom_report_retry(u);
                users_follow_lookup(&d->ctx, u, now);
                if (user_next_due(u, true, &slack) <= now + slack && !sampler_idle_look(u))
                        (void) sampler_evaluate(u, SAMPLE_TIMER);
        }
        /* Every wake-up looks at the machine too: without swap, a shortage
         * shows no stall to wake memgovd before it is already deep. */
        machine_check(&d->machine, &d->ctx, &d->config->governor, d->users.items, d->users.n);
        d->ctx.timer_dirty = true;
        return 0;
}

static int arm_timer(Daemon *d) {
        usec_t deadline, earliest = user_next_wakeup(d->users.items, d->users.n, &deadline);
        int r;

        /* The machine's own looks run only while it stalls or nears its
         * floor without swap, and on time. */
        if (d->machine.next_check > 0 && d->machine.next_check < earliest)
                earliest = deadline = d->machine.next_check;
        else if (d->machine.next_check > 0 && d->machine.next_check < deadline)
                deadline = d->machine.next_check;
        /* The metrics refresh gets a wake-up of its own only when no other
         * comes before its deadline. */
        if (d->config->governor.metrics_file) {
                usec_t refresh = d->status_written + METRICS_REFRESH_USEC,
                       refresh_deadline = refresh + METRICS_REFRESH_SLACK_USEC;

                if (refresh_deadline < earliest) {
                        earliest = refresh;
                        deadline = refresh_deadline;
                } else if (refresh_deadline < deadline)
                        deadline = refresh_deadline;
        }
        if (earliest == USEC_INFINITY)
                return sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
        r = sd_event_source_set_time(d->timer, earliest);
        if (r < 0)
                return r;
        /* sd-event reads an accuracy of 0 as its 250 ms default. */
        r = sd_event_source_set_time_accuracy(d->timer, deadline > earliest ? deadline - earliest : 1);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static int on_rescan(sd_event_source *s, void *userdata) {
        _cleanup_free_ seen_uid *seen = NULL;
        Daemon *d = userdata;
        size_t n_seen = 0;

        (void) s;
        if (discovery_scan(&d->discovery, &seen, &n_seen) < 0)
                return 0;
        users_reconcile(&d->ctx, &d->users, d->config, seen, n_seen);
        return 0;
}

static void on_answer(void *userdata, resolver_answer *a) {
        Daemon *d = userdata;

        users_answer(&d->ctx, &d->users, d->config, a);
}

static void on_machine_event(void *userdata) {
        Daemon *d = userdata;

        machine_check(&d->machine, &d->ctx, &d->config->governor, d->users.items, d->users.n);
}

static void on_discovery(void *userdata) {
        Daemon *d = userdata;

        (void) sd_event_source_set_enabled(d->rescan, SD_EVENT_ONESHOT);
}

/* After every loop iteration: one place writes the status and re-arms the
 * timer, however many users changed in the iteration. */
static int on_post(sd_event_source *s, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        d->wakeups++;
        if (d->ctx.rescan) {
                d->ctx.rescan = false;
                (void) sd_event_source_set_enabled(d->rescan, SD_EVENT_ONESHOT);
        }
        if (d->config->governor.metrics_file &&
            now_usec(CLOCK_MONOTONIC) >= d->status_written + METRICS_REFRESH_USEC)
                d->ctx.status_dirty = true;
        if (d->ctx.status_dirty && !d->exiting) {
                d->ctx.status_dirty = false;
                update_status(d);
        }
        if (d->ctx.timer_dirty) {
                d->ctx.timer_dirty = false;
                (void) arm_timer(d);
        }
        return 0;
}

void daemon_on_config_error(void *userdata, const char *file, unsigned line, const char *message) {
        const Daemon *d = userdata;
        record r;

        record_init(&r, MEMGOV_MESSAGE_CONFIG_ERROR, "config-error", LOG_ERR, d ? d->ctx.dry_run : false);
        record_add(&r, "MEMGOV_CONFIG_FILE=%s", file);
        record_add(&r, "MEMGOV_CONFIG_LINE=%u", line);
        if (line > 0)
                record_emit(&r, "%s:%u: %s", file, line, message);
        else
                record_emit(&r, "%s: %s", file, message);
}

static void daemon_reload(Daemon *d) {
        config_set *fresh = NULL;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=Reloading %s",
                          (uint64_t) now_usec(CLOCK_MONOTONIC), d->config_path);
        d->reloads++;
        d->last_reload = now_usec(CLOCK_MONOTONIC);

        r = config_load(d->config_path, d->ctx.mem_total, daemon_on_config_error, d, &fresh);
        if (r < 0) {
                d->reload_failures++;
                log_error_errno(r, "Reloading %s failed (%m): still running on the previous configuration",
                                d->config_path);
        } else {
                config_set_free(d->config);
                d->config = fresh;
                apply_governor_config(d);
                (void) machine_start(&d->machine, &d->ctx, &d->config->governor);
                users_reload(&d->ctx, &d->users, d->config);
                log_info("Reloaded %s", d->config_path);
        }
        d->status_text[0] = 0;   /* re-send STATUS= after READY=1 */
        (void) sd_notify(false, "READY=1");
        d->ctx.status_dirty = true;
}

static int on_reload_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        (void) usec;
        d->reload_pending = false;
        daemon_reload(d);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC), at;

        (void) s;
        (void) si;
        /* A storm of SIGHUPs becomes one reload per interval, and the last
         * one always runs, so the newest files are what ends up in force. */
        if (d->reload_pending)
                return 0;
        d->reload_pending = true;
        at = d->last_reload + RELOAD_MIN_INTERVAL_USEC > now ? d->last_reload + RELOAD_MIN_INTERVAL_USEC : now;
        (void) sd_event_source_set_time(d->reload_timer, at);
        (void) sd_event_source_set_enabled(d->reload_timer, SD_EVENT_ONESHOT);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        (void) s;
        log_info("Received SIG%s, exiting", sigabbrev_np((int) si->ssi_signo) ?: "?");
        d->exiting = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting");
        return sd_event_exit(d->ctx.event, 0);
}

int daemon_new(const char *config_path, bool dry_run_cli, config_set *config, Daemon **ret) {
        _cleanup_(daemon_freep) Daemon *d = NULL;
        procfs_meminfo mi;
        int r;

        assert(config_path);
        assert(config);
        assert(ret);

        d = calloc(1, sizeof *d);
        if (!d) {
                config_set_free(config);
                return -ENOMEM;
        }
        d->config = config;
        d->ctx.cgroot_fd = d->ctx.procfs_fd = -1;
        discovery_init(&d->discovery);
        machine_init(&d->machine);
        d->machine.on_event = on_machine_event;
        d->machine.userdata = d;
        kmsg_init(&d->ctx.kmsg);
        d->ctx.on_watch = sampler_on_watch;
        d->dry_run_cli = dry_run_cli;
        d->ctx.self = getpid();
        d->config_path = strdup(config_path);
        if (!d->config_path)
                return -ENOMEM;

        d->ctx.cgroot_fd = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->ctx.cgroot_fd < 0)
                return log_error_errno(errno, "Cannot open /sys/fs/cgroup: %m");
        d->ctx.procfs_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->ctx.procfs_fd < 0)
                return log_error_errno(errno, "Cannot open /proc: %m");
        r = procfs_read_meminfo(d->ctx.procfs_fd, &mi);
        if (r < 0)
                return log_error_errno(r, "Cannot read /proc/meminfo: %m");
        d->ctx.mem_total = mi.mem_total;
        d->ctx.swap_total = mi.swap_total;

        d->ctx.privileged = have_effective_cap(CAP_SYS_RESOURCE_BIT);
        d->ctx.actuator = (actuator) {
                .procfs_fd = d->ctx.procfs_fd,
                .cgroot_fd = d->ctx.cgroot_fd,
                .log = on_actuator_log,
                .log_userdata = d,
        };
        apply_governor_config(d);

        r = sd_event_default(&d->ctx.event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        r = act_rounds_init(&d->ctx);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the kill rounds: %m");

        *ret = TAKE_PTR(d);
        return 0;
}

int daemon_start(Daemon *d) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m");
        r = sd_event_add_signal(d->ctx.event, NULL, SIGTERM, on_exit_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->ctx.event, NULL, SIGINT, on_exit_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->ctx.event, NULL, SIGHUP, on_sighup, d);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");

        r = sd_event_add_time(d->ctx.event, &d->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_timer, d);
        if (r >= 0)
                r = sd_event_add_time(d->ctx.event, &d->reload_timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_reload_timer, d);
        if (r >= 0)
                r = sd_event_add_post(d->ctx.event, &d->post, on_post, d);
        if (r >= 0)
                r = sd_event_add_defer(d->ctx.event, &d->rescan, on_rescan, d);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");
        (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(d->reload_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(d->rescan, SD_EVENT_OFF);
        (void) sd_event_source_set_description(d->timer, "sampler");

        /* Pings at half of WatchdogSec=, and on any wake-up after a quarter. */
        r = sd_event_set_watchdog(d->ctx.event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the watchdog: %m");

        if (!d->ctx.privileged)
                log_notice("No CAP_SYS_RESOURCE: PSI windows are limited to multiples of 2 s");

        r = kmsg_open(&d->ctx.kmsg);
        if (r < 0)
                log_warning_errno(r, "Cannot read /dev/kmsg (%m): kernel OOM kills are reported with the victim "
                                  "guessed from the slice's task list (the unit needs CAP_SYSLOG and access to "
                                  "/dev/kmsg)");

        r = limits_open(&d->ctx);
        if (r < 0)
                return r;

        /* After the signals are blocked: the thread must take none. */
        r = resolver_start(&d->resolver, d->ctx.event, &nss_libc, on_answer, d);
        if (r < 0)
                return log_error_errno(r, "Cannot start the NSS look-up thread: %m");
        d->ctx.resolver = &d->resolver;

        (void) machine_start(&d->machine, &d->ctx, &d->config->governor);

        r = discovery_start(&d->discovery, d->ctx.event, d->ctx.cgroot_fd, on_discovery, d);
        if (r < 0)
                return r;
        (void) on_rescan(NULL, d);

        update_status(d);
        d->ctx.status_dirty = false;
        d->ctx.rescan = false;
        (void) arm_timer(d);
        d->ctx.timer_dirty = false;
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", d->status_text);
        log_info("memgovd %s governing %zu user(s) with %s%s", MEMGOV_VERSION, d->users.n, d->config_path,
                 d->ctx.dry_run ? " (dry run)" : "");
        return 0;
}

int daemon_run(Daemon *d) {
        int r = sd_event_loop(d->ctx.event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

Daemon *daemon_free(Daemon *d) {
        if (!d)
                return NULL;
        /* First: the thread's answers go to the users. */
        resolver_stop(&d->resolver);
        d->ctx.resolver = NULL;
        users_clear(&d->users);
        act_rounds_done(&d->ctx);
        machine_stop(&d->machine);
        discovery_stop(&d->discovery);
        limits_close(&d->ctx);
        kmsg_close(&d->ctx.kmsg);
        d->timer = sd_event_source_disable_unref(d->timer);
        d->reload_timer = sd_event_source_disable_unref(d->reload_timer);
        d->post = sd_event_source_disable_unref(d->post);
        d->rescan = sd_event_source_disable_unref(d->rescan);
        if (d->ctx.event) {
                /* status.json describes a running daemon only. */
                (void) unlink(MEMGOV_RUNTIME_DIR "/" STATEFILE_NAME);
                d->ctx.event = sd_event_unref(d->ctx.event);
        }
        if (d->ctx.cgroot_fd >= 0)
                close(d->ctx.cgroot_fd);
        if (d->ctx.procfs_fd >= 0)
                close(d->ctx.procfs_fd);
        config_set_free(d->config);
        free(d->config_path);
        free(d);
        return NULL;
}
