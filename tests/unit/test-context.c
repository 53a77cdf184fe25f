/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <unistd.h>

#include <cmocka.h>

#include "act.h"
#include "test-context.h"
#include "tmptree.h"

void test_context_init(context *ctx, const char *cgroot, const char *procroot, const actuator_ops *ops,
                       void (*on_watch)(User *u, watch_event ev)) {
        assert_int_equal(sd_event_new(&ctx->event), 0);
        assert_int_equal(act_rounds_init(ctx), 0);
        ctx->cgroot_fd = tmptree_open(cgroot);
        ctx->procfs_fd = tmptree_open(procroot);
        ctx->mem_total = 8ULL << 30;
        ctx->self = getpid();
        ctx->dry_run = ops == &actuator_ops_dry_run;
        ctx->pressure_window = 2 * USEC_PER_SEC;
        ctx->shortage_growth_window = 60 * USEC_PER_SEC;
        ctx->actuator = (actuator) { .ops = ops, .cgroot_fd = ctx->cgroot_fd, .procfs_fd = ctx->procfs_fd };
        ctx->limits_backend = LIMITS_CGROUPFS;
        ctx->on_watch = on_watch;
        kmsg_init(&ctx->kmsg);
}

void test_context_done(context *ctx) {
        close(ctx->cgroot_fd);
        close(ctx->procfs_fd);
        act_rounds_done(ctx);
        sd_event_unref(ctx->event);
}
