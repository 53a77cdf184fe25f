/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "cgfs.h"
#include "slice-limits.h"
#include "messages.h"
#include "report.h"

#define MIB (1ULL << 20)
#define SET_PROPERTIES_TIMEOUT_USEC (10 * USEC_PER_SEC)

uint64_t limits_step(uint64_t target, uint64_t current, uint64_t usage) {
        uint64_t margin, floor;

        /* Raising a limit, or keeping it, is always safe; so is a budget the
         * user is within. */
        if (target == BYTES_INFINITY || target >= current || usage <= target)
                return target;

        margin = usage / 100 * LIMITS_STEP_MARGIN_PERCENT;
        if (margin < LIMITS_STEP_MARGIN_MIN)
                margin = LIMITS_STEP_MARGIN_MIN;
        floor = usage > UINT64_MAX - margin - MIB ? UINT64_MAX : usage + margin;
        /* Whole MiB, so the log and `systemctl show` read well. */
        if (floor != UINT64_MAX)
                floor = (floor + MIB - 1) / MIB * MIB;

        if (floor <= target)
                return target;
        /* Never back up while stepping down: usage that grows again meets
         * the step that is in force. */
        return floor < current ? floor : current;
}

/* Small steps are not worth a D-Bus call and a log record each. */
static uint64_t step_with_hysteresis(uint64_t target, uint64_t current, uint64_t usage) {
        uint64_t next = limits_step(target, current, usage);

        if (next == target || next >= current || current == BYTES_INFINITY)
                return next;
        if (current - next < 8 * MIB && current - next < current / 50)
                return current;
        return next;
}

static const char *fmt_limit(char *buf, size_t size, uint64_t v) {
        if (v == BYTES_INFINITY)
                return snprintf(buf, size, "infinity"), buf;
        return format_bytes(buf, size, v);
}

static int bus_connect(context *ctx) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has_owner = 0, r;

        /* The system bus, not systemd's private socket: PID 1 sends every
         * unit change to every private client unasked, which would wake
         * memgovd all the time. */
        r = sd_bus_open_system_with_description(&bus, "memgovd");
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", "org.freedesktop.systemd1");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &has_owner);
        if (r < 0)
                return r;
        if (!has_owner)
                return -EHOSTDOWN;
        r = sd_bus_attach_event(bus, ctx->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        ctx->bus = TAKE_PTR(bus);
        return 0;
}

int limits_open(context *ctx) {
        int r;

        assert(ctx);

        if (sd_booted() <= 0) {
                ctx->limits_backend = LIMITS_CGROUPFS;
                log_notice("systemd is not the init system: budgets are written into the slices' memory.high, "
                           "memory.max and memory.swap.max directly");
                return 0;
        }
        r = bus_connect(ctx);
        if (r < 0) {
                ctx->limits_backend = LIMITS_CGROUPFS;
                log_warning_errno(r, "No systemd manager reachable on the system bus (%m): budgets are written into "
                                  "the slices' memory.high, memory.max and memory.swap.max directly");
                return 0;
        }
        ctx->limits_backend = LIMITS_SYSTEMD;
        log_info("Budgets are set through systemd (SetUnitProperties, runtime)");
        return 0;
}

void limits_close(context *ctx) {
        if (ctx->bus)
                ctx->bus = sd_bus_flush_close_unref(ctx->bus);
}

void limits_done(User *u) {
        u->limits.slot = sd_bus_slot_unref(u->limits.slot);
}

static int on_set_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        User *u = userdata;
        const sd_bus_error *e;

        (void) ret_error;
        u->limits.slot = sd_bus_slot_unref(u->limits.slot);
        e = sd_bus_message_get_error(m);
        if (!e) {
                u->limits.failures = 0;
                return 0;
        }
        /* Forget what we think is in force: the next sample reads it back
         * from the slice and tries again. */
        u->limits.known = false;
        if (u->limits.failures++ < 3 || u->limits.failures % 100 == 0)
                log_error("Setting the limits of %s failed: %s: %s", u->unit, e->name, e->message ? e->message : "");
        return 0;
}

static int set_unit_properties(User *u, uint64_t high, uint64_t max, uint64_t swap) {
        context *ctx = u->ctx;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        for (unsigned attempt = 0;; attempt++) {
                if (!ctx->bus) {
                        r = bus_connect(ctx);
                        if (r < 0)
                                return log_error_errno(r, "Cannot reach systemd on the system bus: %m");
                }
                m = sd_bus_message_unref(m);
                r = sd_bus_message_new_method_call(ctx->bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                                   "org.freedesktop.systemd1.Manager", "SetUnitProperties");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sb", u->unit, 1);
                if (r >= 0)
                        r = sd_bus_message_append(m, "a(sv)", 3, "MemoryHigh", "t", high, "MemoryMax", "t", max,
                                                  "MemorySwapMax", "t", swap);
                if (r >= 0) {
                        /* A newer request supersedes a pending one. */
                        u->limits.slot = sd_bus_slot_unref(u->limits.slot);
                        r = sd_bus_call_async(ctx->bus, &u->limits.slot, m, on_set_reply, u,
                                              SET_PROPERTIES_TIMEOUT_USEC);
                }
                if (r >= 0)
                        return 0;
                /* dbus-daemon restarted: reconnect once. */
                if (attempt == 0 && (r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE || r == -ESHUTDOWN)) {
                        limits_close(ctx);
                        continue;
                }
                return log_error_errno(r, "Cannot call SetUnitProperties for %s: %m", u->unit);
        }
}

static int write_limit(User *u, const char *file, uint64_t v) {
        char buf[32];
        int r;

        if (v == BYTES_INFINITY)
                snprintf(buf, sizeof buf, "max");
        else
                snprintf(buf, sizeof buf, "%" PRIu64, v);
        r = cgfs_write(u->ctx->cgroot_fd, u->cgroup, file, buf);
        /* No swap accounting: memory.swap.max does not exist. */
        if (r == -ENOENT && strcmp(file, "memory.swap.max") == 0 && u->has_slice)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Cannot write %s/%s: %m", u->cgroup, file);
        return 0;
}

static int write_limits(User *u, uint64_t high, uint64_t max, uint64_t swap) {
        int r;

        if (!u->has_slice)
                return -ENOENT;
        r = write_limit(u, "memory.high", high);
        if (r >= 0)
                r = write_limit(u, "memory.max", max);
        if (r >= 0)
                r = write_limit(u, "memory.swap.max", swap);
        return r;
}

static void update_effective(User *u, const cgfs_memory *m) {
        /* A dry run changes no limit: the policy sees what is really in force. */
        if (u->ctx->dry_run && m) {
                u->effective.memory_high = m->high;
                u->effective.memory_max = m->max;
                u->effective.memory_swap_max = m->swap_max;
                return;
        }
        u->effective.memory_high = u->limits.known ? u->limits.high : u->config.memory_high;
        u->effective.memory_max = u->limits.known ? u->limits.max : u->config.memory_max;
        u->effective.memory_swap_max = u->limits.known ? u->limits.swap : u->config.memory_swap_max;
}

static void log_limits(User *u, const cgfs_memory *m, uint64_t high, uint64_t max, uint64_t swap, bool stepping) {
        context *ctx = u->ctx;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX], e[FORMAT_BYTES_MAX],
                f[FORMAT_BYTES_MAX], g[FORMAT_BYTES_MAX], h[FORMAT_BYTES_MAX], tmp[32];
        char step_text[256] = "";
        uint64_t usage = m ? m->current : 0;
        record r;

        if (stepping)
                snprintf(step_text, sizeof step_text,
                         "; stepping down towards the budget (MemoryHigh=%s MemoryMax=%s MemorySwapMax=%s) "
                         "as usage (%s) falls",
                         fmt_limit(e, sizeof e, u->config.memory_high), fmt_limit(f, sizeof f, u->config.memory_max),
                         fmt_limit(g, sizeof g, u->config.memory_swap_max), format_bytes(h, sizeof h, usage));

        record_init(&r, MEMGOV_MESSAGE_LIMIT, "limit", LOG_INFO, ctx->dry_run);
        record_add_user(&r, u->uid, u->name, u->cgroup);
        record_add_memory(&r, usage, high, max, u->pressure.some.avg10);
        record_add(&r, "MEMGOV_SWAP_MAX_BYTES=%s", format_limit_field(tmp, sizeof tmp, swap));
        record_add(&r, "MEMGOV_BUDGET_HIGH_BYTES=%s", format_limit_field(tmp, sizeof tmp, u->config.memory_high));
        record_add(&r, "MEMGOV_BUDGET_MAX_BYTES=%s", format_limit_field(tmp, sizeof tmp, u->config.memory_max));
        record_add(&r, "MEMGOV_BUDGET_SWAP_MAX_BYTES=%s",
                   format_limit_field(tmp, sizeof tmp, u->config.memory_swap_max));
        record_add(&r, "MEMGOV_STEPPING=%d", stepping ? 1 : 0);
        record_add(&r, "MEMGOV_LIMITS_BACKEND=%s", ctx->limits_backend == LIMITS_SYSTEMD ? "systemd" : "cgroupfs");
        record_emit(&r, "%s%s (%u): MemoryHigh=%s MemoryMax=%s MemorySwapMax=%s on %s%s%s",
                    ctx->dry_run ? "Dry run, would set: " : "", u->name, (unsigned) u->uid,
                    fmt_limit(a, sizeof a, high), fmt_limit(b, sizeof b, max), fmt_limit(c, sizeof c, swap), u->unit,
                    ctx->limits_backend == LIMITS_CGROUPFS ? " (written to the cgroup: no systemd manager)" : "",
                    step_text);
}

int limits_update(User *u, const cgfs_memory *m, bool force) {
        context *ctx = u->ctx;
        limit_state *l = &u->limits;
        uint64_t high, max, swap, usage = m ? m->current : 0, swap_usage = m ? m->swap_current : 0;
        bool first = false, changed, stepping;
        int r;

        if (!l->known) {
                /* Start from what is in force on the slice. */
                l->high = m ? m->high : BYTES_INFINITY;
                l->max = m ? m->max : BYTES_INFINITY;
                l->swap = m ? m->swap_max : BYTES_INFINITY;
                l->known = true;
                first = force = true;
        }

        high = step_with_hysteresis(u->config.memory_high, l->high, usage);
        max = step_with_hysteresis(u->config.memory_max, l->max, usage);
        swap = step_with_hysteresis(u->config.memory_swap_max, l->swap, swap_usage);
        stepping = high != u->config.memory_high || max != u->config.memory_max ||
                   swap != u->config.memory_swap_max;
        changed = high != l->high || max != l->max || swap != l->swap;

        if (!changed && !force) {
                l->stepping = stepping;
                update_effective(u, m);
                return 0;
        }

        if (ctx->dry_run)
                r = 0;   /* DryRun= changes no limit; the record says what it would set */
        else if (ctx->limits_backend == LIMITS_SYSTEMD)
                r = set_unit_properties(u, high, max, swap);
        else
                r = write_limits(u, high, max, swap);
        if (r < 0) {
                l->known = false;
                update_effective(u, m);
                return r;
        }

        if (changed || first || stepping != l->stepping)
                log_limits(u, m, high, max, swap, stepping);
        else
                log_debug("Re-applied the limits of %s", u->unit);

        l->high = high;
        l->max = max;
        l->swap = swap;
        l->stepping = stepping;
        update_effective(u, m);
        ctx->status_dirty = true;
        return 0;
}
