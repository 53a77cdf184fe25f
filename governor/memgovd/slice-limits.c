/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

#define BUS_METHOD_CALL_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define BUS_RETRY_MIN_USEC (1 * USEC_PER_SEC)
#define BUS_RETRY_MAX_USEC (60 * USEC_PER_SEC)

/* Connecting to a local socket does not block for long; the Hello exchange
 * and every call after it run from the event loop. No synchronous call is
 * made (a NameHasOwner with sd-bus's 25 s default would stall every other
 * user's emergency on a bus hiccup): a missing systemd shows as an error
 * reply to SetUnitProperties. */
static int bus_connect(context *ctx) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        /* The system bus, not systemd's private socket: PID 1 sends every
         * unit change to every private client unasked, which would wake
         * memgovd all the time. */
        r = sd_bus_open_system_with_description(&bus, "memgovd");
        if (r < 0)
                return r;
        r = sd_bus_set_method_call_timeout(bus, BUS_METHOD_CALL_TIMEOUT_USEC);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, ctx->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        ctx->bus = TAKE_PTR(bus);
        return 0;
}

/* Connects unless a recent attempt failed: attempts back off from 1 s to a
 * minute while the bus stays unreachable, and a later one succeeds. */
static int bus_ensure(context *ctx) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (ctx->bus)
                return 0;
        if (now < ctx->bus_retry_at)
                return -ENOTCONN;
        r = bus_connect(ctx);
        if (r >= 0) {
                if (ctx->bus_retry_delay > 0)
                        log_notice("The system bus is reachable again: budgets are set through systemd");
                ctx->bus_retry_delay = 0;
                ctx->bus_retry_at = 0;
                return 0;
        }
        if (ctx->bus_retry_delay == 0)
                log_warning_errno(r, "Cannot connect to the system bus (%m): budgets are written into the slices "
                                  "directly until it is back; retrying with backoff");
        ctx->bus_retry_delay = ctx->bus_retry_delay == 0 ? BUS_RETRY_MIN_USEC : ctx->bus_retry_delay * 2;
        if (ctx->bus_retry_delay > BUS_RETRY_MAX_USEC)
                ctx->bus_retry_delay = BUS_RETRY_MAX_USEC;
        ctx->bus_retry_at = now + ctx->bus_retry_delay;
        return -ENOTCONN;
}

int limits_open(context *ctx) {
        assert(ctx);

        if (sd_booted() <= 0) {
                ctx->limits_backend = LIMITS_CGROUPFS;
                log_notice("systemd is not the init system: budgets are written into the slices' memory.high, "
                           "memory.max and memory.swap.max directly");
                return 0;
        }
        /* systemd is the init system: it owns the slices' limits for good,
         * whether or not the bus answers right now. */
        ctx->limits_backend = LIMITS_SYSTEMD;
        (void) bus_ensure(ctx);
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
        u->limit_failures++;
        u->ctx->status_dirty = true;
        if (u->limits.failures++ < 3 || u->limits.failures % 100 == 0)
                log_error("Setting the limits of %s failed: %s: %s", u->unit, e->name, e->message ? e->message : "");
        return 0;
}

static int set_unit_properties(User *u, uint64_t high, uint64_t max, uint64_t swap) {
        context *ctx = u->ctx;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        for (unsigned attempt = 0;; attempt++) {
                r = bus_ensure(ctx);
                if (r < 0)
                        return r;
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
                if (r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE || r == -ESHUTDOWN)
                        return -ENOTCONN;
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
                         format_bytes(e, sizeof e, u->config.memory_high), format_bytes(f, sizeof f, u->config.memory_max),
                         format_bytes(g, sizeof g, u->config.memory_swap_max), format_bytes(h, sizeof h, usage));

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
                    format_bytes(a, sizeof a, high), format_bytes(b, sizeof b, max), format_bytes(c, sizeof c, swap), u->unit,
                    ctx->limits_backend == LIMITS_CGROUPFS ? " (written to the cgroup: no systemd manager)" : "",
                    step_text);
}

/* The kernel keeps memory.high and memory.max in whole pages. */
static bool limit_differs(uint64_t set, uint64_t seen) {
        uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);

        if (set == BYTES_INFINITY || seen == BYTES_INFINITY)
                return set != seen;
        return set / page != seen / page;
}

/* Whether M shows the high and max limits of L. */
static bool limits_shown(const limit_state *l, const cgfs_memory *m) {
        return !limit_differs(l->high, m->high) && !limit_differs(l->max, m->max);
}

/* Whether the slice's limits are no longer what memgovd set: someone ran
 * `systemctl set-property` or wrote the files. Not while a call of ours is
 * on its way (the files still show the old values), nor in a dry run,
 * which sets nothing. */
static bool limits_drifted(const User *u, const cgfs_memory *m) {
        const limit_state *l = &u->limits;

        if (!m || u->ctx->dry_run || l->slot || !u->has_slice)
                return false;
        return !limits_shown(l, m);
}

bool limits_seen(const User *u, const cgfs_memory *m) {
        const limit_state *l = &u->limits;

        assert(u);
        assert(m);

        if (u->ctx->dry_run)
                return true;
        if (!l->known || l->slot)
                return false;
        return limits_shown(l, m);
}

int limits_update(User *u, const cgfs_memory *m, bool force) {
        context *ctx = u->ctx;
        limit_state *l = &u->limits;
        uint64_t high, max, swap, usage = m ? m->current : 0, swap_usage = m ? m->swap_current : 0;
        bool first = false, changed, stepping;
        int r;

        if (l->known && limits_drifted(u, m)) {
                char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX], d[FORMAT_BYTES_MAX];

                log_warning("The limits of %s changed behind memgovd's back (MemoryHigh=%s MemoryMax=%s, memgovd "
                            "set %s and %s): setting them again",
                            u->unit, format_bytes(a, sizeof a, m->high), format_bytes(b, sizeof b, m->max),
                            format_bytes(c, sizeof c, l->high), format_bytes(d, sizeof d, l->max));
                u->limit_resets++;
                force = true;
        }

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
        else if (ctx->limits_backend == LIMITS_SYSTEMD) {
                r = set_unit_properties(u, high, max, swap);
                /* No bus for now: a budget in the slice's files beats none.
                 * systemd may restore its own values later; the next sample
                 * notices and sets them again, over the bus once it is back. */
                if (r == -ENOTCONN)
                        r = write_limits(u, high, max, swap);
        } else
                r = write_limits(u, high, max, swap);
        if (r < 0) {
                l->known = false;
                u->limit_failures++;
                ctx->status_dirty = true;
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
