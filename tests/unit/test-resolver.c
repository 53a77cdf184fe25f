/* SPDX-License-Identifier: GPL-2.0-or-later */

/* NSS off the event loop (resolver.c with users.c): a directory server that
 * takes 2 s for one user holds neither the loop nor another user's
 * evaluation; that user is governed without groups meanwhile and re-layered
 * when the answer comes; a failed look-up keeps the last good one; the
 * queue is bounded; and a look-up stuck at exit is not waited for. */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "act.h"
#include "report.h"
#include "resolver.h"
#include "sampler.h"
#include "tmptree.h"
#include "users.h"

#define FAST_UID 4242
#define SLOW_UID 4243
#define GID_SLOW 5000
#define FAST_SLICE "user.slice/user-4242.slice"
#define SLOW_SLICE "user.slice/user-4243.slice"

/* The fake directory runs in the resolver's thread: what it shares with the
 * test is atomic. */
static atomic_uint seq;                /* orders events across the threads */
static atomic_uint slow_started, slow_finished;
static atomic_int slow_passwd_error;   /* errno for SLOW_UID's passwd entry */
static atomic_uint slow_sleep_ms = 2000;

static int fake_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **ret) {
        const char *name = uid == FAST_UID ? "alice" : uid == SLOW_UID ? "slow" : NULL;

        *ret = NULL;
        if (uid == SLOW_UID && atomic_load(&slow_passwd_error))
                return atomic_load(&slow_passwd_error);
        if (!name)
                return 0;
        if (size < 64)
                return ERANGE;
        strcpy(buf, name);
        *pw = (struct passwd) { .pw_name = buf, .pw_uid = uid, .pw_gid = 100, .pw_dir = "/", .pw_shell = "/bin/sh" };
        *ret = pw;
        return 0;
}

static int fake_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t size, struct group **ret) {
        *ret = NULL;
        if (gid != 100 && gid != GID_SLOW)
                return 0;
        if (size < 64)
                return ERANGE;
        strcpy(buf, gid == 100 ? "users" : "slowgrp");
        *gr = (struct group) { .gr_name = buf, .gr_gid = gid };
        *ret = gr;
        return 0;
}

static int fake_getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups) {
        bool slow = strcmp(user, "slow") == 0;
        int room = *ngroups;

        if (slow) {
                atomic_store(&slow_finished, 0);
                atomic_store(&slow_started, atomic_fetch_add(&seq, 1) + 1);
                usleep(atomic_load(&slow_sleep_ms) * 1000);
        }
        *ngroups = slow ? 2 : 1;
        if (room < *ngroups)
                return -1;
        groups[0] = group;
        if (slow)
                groups[1] = GID_SLOW;
        if (slow)
                atomic_store(&slow_finished, atomic_fetch_add(&seq, 1) + 1);
        return *ngroups;
}

static const nss_ops slow_nss = {
        .getpwuid_r = fake_getpwuid_r,
        .getgrgid_r = fake_getgrgid_r,
        .getgrouplist = fake_getgrouplist,
};

/* stderr into a file, for the log lines. */
typedef struct capture {
        char path[64];
        int saved;
} capture;

static void capture_start(capture *c) {
        int fd;

        snprintf(c->path, sizeof c->path, "/tmp/test-resolver-XXXXXX");
        fd = mkstemp(c->path);
        assert_true(fd >= 0);
        fflush(stderr);
        c->saved = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        unsetenv("JOURNAL_STREAM");
        log_setup();
        log_set_max_priority(LOG_INFO);
}

static char *capture_end(capture *c) {
        static char text[16384];
        FILE *f;
        size_t n;

        log_set_max_priority(LOG_EMERG);
        fflush(stderr);
        dup2(c->saved, STDERR_FILENO);
        close(c->saved);
        f = fopen(c->path, "re");
        assert_non_null(f);
        n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
        unlink(c->path);
        return text;
}

static void write_slice(const char *cgroot, const char *slice, const char *pid) {
        char path[256], procs[32];

        snprintf(path, sizeof path, "%s/memory.current", slice);
        tmptree_write(cgroot, path, "104857600\n");
        snprintf(path, sizeof path, "%s/memory.high", slice);
        tmptree_write(cgroot, path, "max\n");
        snprintf(path, sizeof path, "%s/memory.max", slice);
        tmptree_write(cgroot, path, "max\n");
        snprintf(path, sizeof path, "%s/memory.swap.max", slice);
        tmptree_write(cgroot, path, "max\n");
        snprintf(path, sizeof path, "%s/memory.stat", slice);
        tmptree_write(cgroot, path, "anon 104857600\nfile 0\nkernel 0\n");
        snprintf(path, sizeof path, "%s/memory.events", slice);
        tmptree_write(cgroot, path, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        snprintf(path, sizeof path, "%s/memory.pressure", slice);
        tmptree_write(cgroot, path, "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        snprintf(path, sizeof path, "%s/cgroup.procs", slice);
        snprintf(procs, sizeof procs, "%s\n", pid);
        tmptree_write(cgroot, path, procs);
}

static void on_watch(User *u, watch_event ev) {
        (void) u;
        (void) ev;
}

typedef struct fixture {
        char *cgroot, *procroot, *confdir;
        config_set *config;
        context ctx;
        resolver resolver;
        user_set users;
        sd_event_source *eval_timer;
        unsigned evals_during_slow;    /* fast user's evaluations between the slow look-up's start and end */
        unsigned evals;
} fixture;

static void on_answer(void *userdata, resolver_answer *a) {
        fixture *f = userdata;

        users_answer(&f->ctx, &f->users, f->config, a);
}

/* What the daemon's sampling timer does for the fast user, every 50 ms. */
static int on_eval_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        fixture *f = userdata;
        User *fast = users_find(&f->users, FAST_UID);
        unsigned now_seq, started, finished;
        usec_t before;

        assert_non_null(fast);
        before = fast->last_eval;
        /* Counted only when it ran: an inactive watch returns at once. */
        if (sampler_evaluate(fast, SAMPLE_TIMER) < 0 || fast->last_eval <= before)
                goto next;
        f->evals++;
        now_seq = atomic_fetch_add(&seq, 1) + 1;
        started = atomic_load(&slow_started);
        finished = atomic_load(&slow_finished);
        if (started && started < now_seq && (!finished || finished > now_seq))
                f->evals_during_slow++;
next:
        (void) sd_event_source_set_time(s, usec + 50 * USEC_PER_MSEC);
        return 0;
}

static void fixture_setup(fixture *f) {
        char path[512];

        *f = (fixture) { .cgroot = tmptree_new(), .procroot = tmptree_new(), .confdir = tmptree_new() };
        atomic_store(&seq, 0);
        atomic_store(&slow_started, 0);
        atomic_store(&slow_finished, 0);
        atomic_store(&slow_passwd_error, 0);
        atomic_store(&slow_sleep_ms, 2000);

        write_slice(f->cgroot, FAST_SLICE, "301");
        write_slice(f->cgroot, SLOW_SLICE, "302");
        tmptree_write(f->procroot, "meminfo", "MemTotal: 8388608 kB\nSwapTotal: 0 kB\n");
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 301, .ppid = 1, .sid = 300, .uid = FAST_UID,
                                                     .comm = "sleep", .state = 'S', .rss_kb = 1024, .start_time = 5 });
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 302, .ppid = 1, .sid = 300, .uid = SLOW_UID,
                                                     .comm = "sleep", .state = 'S', .rss_kb = 1024, .start_time = 6 });

        tmptree_write(f->confdir, "memgov.conf", "[Defaults]\nMemoryMax=4G\n");
        tmptree_mkdir(f->confdir, "groups.d");
        tmptree_write(f->confdir, "groups.d/slowgrp.conf", "MemoryMax=1G\n");
        snprintf(path, sizeof path, "%s/memgov.conf", f->confdir);
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &f->config), 0);

        assert_int_equal(sd_event_new(&f->ctx.event), 0);
        f->ctx.cgroot_fd = tmptree_open(f->cgroot);
        f->ctx.procfs_fd = tmptree_open(f->procroot);
        f->ctx.mem_total = 8ULL << 30;
        f->ctx.self = getpid();
        f->ctx.pressure_window = 2 * USEC_PER_SEC;
        /* Limits are written (cgroupfs), kills only logged. */
        f->ctx.actuator = (actuator) { .ops = &actuator_ops_dry_run, .cgroot_fd = f->ctx.cgroot_fd,
                                       .procfs_fd = f->ctx.procfs_fd };
        f->ctx.limits_backend = LIMITS_CGROUPFS;
        f->ctx.on_watch = on_watch;
        kmsg_init(&f->ctx.kmsg);
        assert_int_equal(resolver_start(&f->resolver, f->ctx.event, &slow_nss, on_answer, f), 0);
        f->ctx.resolver = &f->resolver;
}

static void fixture_done(fixture *f) {
        /* As the daemon does: the thread first, then the users. */
        resolver_stop(&f->resolver);
        users_clear(&f->users);
        f->eval_timer = sd_event_source_disable_unref(f->eval_timer);
        close(f->ctx.cgroot_fd);
        close(f->ctx.procfs_fd);
        sd_event_unref(f->ctx.event);
        config_set_free(f->config);
        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
        tmptree_free(f->confdir);
}

/* Runs the loop until U's look-up was answered (or 30 s passed: a bound
 * for a loaded machine, not a measurement). */
static void run_until_answered(fixture *f, User *u) {
        usec_t until = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;

        while (u->nss_pending && now_usec(CLOCK_MONOTONIC) < until)
                assert_true(sd_event_run(f->ctx.event, 50 * USEC_PER_MSEC) >= 0);
        assert_false(u->nss_pending);
}

static uint64_t slice_file(fixture *f, const char *path) {
        char buf[64];

        assert_int_equal(read_file_at(f->ctx.cgroot_fd, path, buf, sizeof buf, NULL), 0);
        return strtoull(buf, NULL, 10);
}

static void test_slow_lookup_off_loop(void **state) {
        const seen_uid seen[] = { { SLOW_UID, true, true }, { FAST_UID, true, true } };
        fixture f;
        capture cap;
        User *slow, *fast;
        char *text;

        (void) state;
        fixture_setup(&f);

        /* The slow user first: the fast user's own look-up queues behind it. */
        capture_start(&cap);
        users_reconcile(&f.ctx, &f.users, f.config, seen, 2);
        text = capture_end(&cap);
        assert_int_equal(f.users.n, 2);
        slow = users_find(&f.users, SLOW_UID);
        fast = users_find(&f.users, FAST_UID);
        assert_true(slow->nss_pending && fast->nss_pending);
        /* A plain file cannot be polled, so the watches failed: stand in
         * for them, as the other tests do, and take the first sample. */
        for (size_t i = 0; i < f.users.n; i++) {
                User *u = f.users.items[i];

                assert_false(u->watch.active);
                u->watch = (watch) { .active = true, .some_fd = -1, .full_fd = -1, .events_fd = -1, .current_fd = -1 };
                assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        }
        /* Governed at once, without groups: the defaults. */
        assert_non_null(strstr(text, "Governing uid 4243: logged in; its name and groups are being looked up"));
        assert_string_equal(slow->name, "4243");
        assert_int_equal(slow->config.memory_max, 4ULL << 30);
        assert_int_equal(slice_file(&f, SLOW_SLICE "/memory.max"), 4ULL << 30);

        assert_int_equal(sd_event_add_time_relative(f.ctx.event, &f.eval_timer, CLOCK_MONOTONIC, 0, 1, on_eval_timer, &f), 0);
        assert_int_equal(sd_event_source_set_enabled(f.eval_timer, SD_EVENT_ON), 0);
        capture_start(&cap);
        run_until_answered(&f, slow);
        text = capture_end(&cap);
        /* Its job is done; the re-layered users' watches are restarted,
         * which fails on plain files. */
        f.eval_timer = sd_event_source_disable_unref(f.eval_timer);

        /* The fast user was evaluated while the slow look-up ran: the loop
         * never waited for it. */
        assert_true(atomic_load(&slow_started) > 0);
        assert_true(atomic_load(&slow_finished) > atomic_load(&slow_started));
        assert_true(f.evals_during_slow > 0);

        /* Re-layered with the group, and the limit re-applied. */
        assert_string_equal(slow->name, "slow");
        assert_true(slow->nss_named);
        assert_true(slow->nss_at > 0);
        assert_int_equal(strv_length(slow->nss_groups), 2);
        assert_string_equal(slow->nss_groups[1], "slowgrp");
        assert_int_equal(slow->config.memory_max, 1ULL << 30);
        assert_int_equal(slice_file(&f, SLOW_SLICE "/memory.max"), 1ULL << 30);
        assert_non_null(strstr(text, "uid 4243 is slow: governing with 2 groups"));

        run_until_answered(&f, fast);
        assert_string_equal(fast->name, "alice");
        assert_int_equal(fast->config.memory_max, 4ULL << 30);

        /* The directory fails on the retry: the last good look-up stays. */
        atomic_store(&slow_passwd_error, EIO);
        slow->nss_retry_at = 1;
        capture_start(&cap);
        users_follow_lookup(&f.ctx, slow, now_usec(CLOCK_MONOTONIC));
        assert_true(slow->nss_pending);
        run_until_answered(&f, slow);
        text = capture_end(&cap);
        assert_non_null(strstr(text, "Cannot look up uid 4243 (Input/output error); governing with the look-up of"));
        assert_string_equal(slow->name, "slow");
        assert_int_equal(strv_length(slow->nss_groups), 2);
        assert_int_equal(slow->config.memory_max, 1ULL << 30);
        assert_int_equal(slice_file(&f, SLOW_SLICE "/memory.max"), 1ULL << 30);
        assert_true(slow->nss_retry_at > now_usec(CLOCK_MONOTONIC));

        fixture_done(&f);
}

/* A look-up still running USER_NSS_SLOW_USEC after it was asked for is
 * logged once, with what the user is governed with meanwhile. */
static void test_slow_lookup_logged_once(void **state) {
        User u = { .uid = SLOW_UID, .nss_pending = true, .nss_asked_at = 100 * USEC_PER_SEC };
        usec_t due, t = u.nss_asked_at;
        capture cap;
        char *text;

        (void) state;
        snprintf(u.name, sizeof u.name, "4243");
        /* The timer wakes for it, and for nothing else of this user. */
        due = user_next_due(&u, false, NULL);
        assert_int_equal(due, t + USER_NSS_SLOW_USEC);
        capture_start(&cap);
        user_check_slow_lookup(&u, t + USER_NSS_SLOW_USEC - 1);
        user_check_slow_lookup(&u, t + USER_NSS_SLOW_USEC);
        user_check_slow_lookup(&u, t + USER_NSS_SLOW_USEC + USEC_PER_SEC);
        text = capture_end(&cap);
        assert_non_null(strstr(text, "NSS look-up for uid 4243 has taken 10.0s; governing without groups.d "
                                     "(users.d/4243.conf and the defaults)\n"));
        assert_null(strstr(strstr(text, "has taken") + 1, "has taken"));
        assert_int_equal(user_next_due(&u, false, NULL), USEC_INFINITY);
}

static atomic_uint n_answers;

static void count_answer(void *userdata, resolver_answer *a) {
        (void) userdata;
        (void) a;
        atomic_fetch_add(&n_answers, 1);
}

/* RESOLVER_QUEUE_MAX look-ups at most are under way; the next is refused
 * (the caller asks again later), and every one queued is answered. */
static void test_queue_bounded(void **state) {
        resolver r = {};
        sd_event *e = NULL;

        (void) state;
        atomic_store(&slow_sleep_ms, 300);
        atomic_store(&slow_passwd_error, 0);
        atomic_store(&n_answers, 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(resolver_request(&r, SLOW_UID), -ESHUTDOWN);
        assert_int_equal(resolver_start(&r, e, &slow_nss, count_answer, NULL), 0);
        assert_int_equal(resolver_request(&r, SLOW_UID), 0);
        for (uid_t uid = 1; uid < RESOLVER_QUEUE_MAX; uid++)
                assert_int_equal(resolver_request(&r, 10000 + uid), 0);
        assert_int_equal(resolver_pending(&r), RESOLVER_QUEUE_MAX);
        assert_int_equal(resolver_request(&r, 9999), -EAGAIN);
        for (usec_t until = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;
             atomic_load(&n_answers) < RESOLVER_QUEUE_MAX && now_usec(CLOCK_MONOTONIC) < until;)
                assert_true(sd_event_run(e, 50 * USEC_PER_MSEC) >= 0);
        assert_int_equal(atomic_load(&n_answers), RESOLVER_QUEUE_MAX);
        assert_int_equal(resolver_pending(&r), 0);
        assert_int_equal(resolver_request(&r, 9999), 0);
        resolver_stop(&r);
        assert_null(r.shared);
        sd_event_unref(e);
}

/* At exit a look-up stuck in NSS is not waited for beyond join_timeout:
 * the thread finishes on its own later and frees what it shared. */
static void test_stop_does_not_wait_for_stuck_lookup(void **state) {
        resolver r = { .join_timeout = 100 * USEC_PER_MSEC };
        sd_event *e = NULL;

        (void) state;
        atomic_store(&slow_sleep_ms, 600);
        atomic_store(&slow_started, 0);
        atomic_store(&slow_finished, 0);
        atomic_store(&slow_passwd_error, 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(resolver_start(&r, e, &slow_nss, count_answer, NULL), 0);
        assert_int_equal(resolver_request(&r, SLOW_UID), 0);
        while (!atomic_load(&slow_started))
                usleep(1000);
        resolver_stop(&r);
        /* Returned while the look-up still ran. */
        assert_int_equal(atomic_load(&slow_finished), 0);
        sd_event_unref(e);
        /* Let the orphaned thread end, so leak checkers see it tidy up. */
        while (!atomic_load(&slow_finished))
                usleep(1000);
        usleep(100 * 1000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_slow_lookup_off_loop),
                cmocka_unit_test(test_slow_lookup_logged_once),
                cmocka_unit_test(test_queue_bounded),
                cmocka_unit_test(test_stop_does_not_wait_for_stuck_lookup),
        };
        log_set_max_priority(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
