/* SPDX-License-Identifier: GPL-2.0-or-later */

/* memgovd's units below the daemon, without a running loop: the status
 * document, discovery's merge, the next wake-up over all users, and one
 * evaluation (sample -> decide -> act) of a fake slice in dry-run mode. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "act.h"
#include "machine.h"
#include "pace.h"
#include "recorder.h"
#include "report.h"
#include "sampler.h"
#include "slice-limits.h"
#include "statefile.h"
#include "test-context.h"
#include "tmptree.h"
#include "users.h"
#include "watch.h"

#define SLICE "user.slice/user-4242.slice"

static json_object *field(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                fail_msg("no field %s", key);
        return v;
}

static void fill_user(User *u) {
        *u = (User) { .uid = 4242, .has_slice = true, .logged_in = true, .under_pressure = true };
        snprintf(u->name, sizeof u->name, "al\033ice");
        snprintf(u->cgroup, sizeof u->cgroup, SLICE);
        u->memory.current = 1000;
        u->memory.swap_current = 7;
        u->peak = 2000;
        u->effective.memory_high = BYTES_INFINITY;
        u->effective.memory_max = 524288000;
        u->effective.memory_swap_max = BYTES_INFINITY;
        u->config = u->effective;
        u->config.policy = POLICY_RSS;
        u->config.kill_scope = KILL_SCOPE_CGROUP;
        u->limits.stepping = true;
        u->pressure.some.avg10 = 1.25;
        u->watch = (watch) { .active = true, .some_fd = 5, .full_fd = -1, .events_fd = -1, .current_fd = -1 };
        u->warns = 3;
        u->kills = 2;
        u->kernel_oom_kills = 1;
        u->limit_failures = 8;
        u->limit_resets = 9;
        u->last_kill_realtime = 99;
        u->last_victim_pid = 202;
        /* A comm is any 15 bytes: a newline, a priority prefix, no UTF-8. */
        snprintf(u->last_victim_comm, sizeof u->last_victim_comm, "h\n<0>\xff\x9b");
}

static const status_info info = {
        .version = "9.9", .pid = 77, .config_path = "/etc/memgov/memgov.conf", .dry_run = true,
        .limits_backend = LIMITS_CGROUPFS, .psi_privileged = false, .pressure_window = 2000000,
        .updated_realtime = 5 * USEC_PER_SEC + 1, .wakeups = 6, .reloads = 1, .reload_failures = 0,
        .machine_short = true, .machine_shortages = 4,
};

static void check_document(json_object *doc) {
        json_object *users, *u;

        assert_string_equal(json_object_get_string(field(doc, "version")), "9.9");
        assert_int_equal(json_object_get_int(field(doc, "pid")), 77);
        assert_string_equal(json_object_get_string(field(doc, "config")), "/etc/memgov/memgov.conf");
        assert_true(json_object_get_boolean(field(doc, "dry_run")));
        assert_string_equal(json_object_get_string(field(doc, "limits_backend")), "cgroupfs");
        assert_false(json_object_get_boolean(field(doc, "psi_privileged")));
        assert_int_equal(json_object_get_int64(field(doc, "pressure_window_usec")), 2000000);
        assert_int_equal(json_object_get_int64(field(doc, "wakeups")), 6);
        assert_int_equal(json_object_get_int64(field(doc, "reloads")), 1);
        assert_true(json_object_get_boolean(field(doc, "machine_short")));
        assert_int_equal(json_object_get_int64(field(doc, "machine_shortages")), 4);
        users = field(doc, "users");
        assert_int_equal(json_object_array_length(users), 1);
        u = json_object_array_get_idx(users, 0);
        assert_int_equal(json_object_get_int(field(u, "uid")), 4242);
        assert_string_equal(json_object_get_string(field(u, "user")), "al\033ice");
        assert_string_equal(json_object_get_string(field(u, "slice")), SLICE);
        assert_int_equal(json_object_get_int64(field(u, "usage")), 1000);
        assert_int_equal(json_object_get_int64(field(u, "peak")), 2000);
        assert_int_equal(json_object_get_int64(field(u, "swap_usage")), 7);
        assert_null(field(u, "high"));
        assert_int_equal(json_object_get_int64(field(u, "max")), 524288000);
        assert_null(field(u, "swap_max"));
        assert_int_equal(json_object_get_int64(field(u, "budget_max")), 524288000);
        assert_true(json_object_get_boolean(field(u, "stepping")));
        assert_true(json_object_get_double(field(u, "psi_some_avg10")) == 1.25);
        assert_true(json_object_get_boolean(field(u, "under_pressure")));
        assert_true(json_object_get_boolean(field(u, "psi_trigger")));
        assert_string_equal(json_object_get_string(field(u, "policy")), "rss");
        assert_string_equal(json_object_get_string(field(u, "kill_scope")), "cgroup");
        assert_int_equal(json_object_get_int64(field(u, "warns")), 3);
        assert_int_equal(json_object_get_int64(field(u, "kills")), 2);
        assert_int_equal(json_object_get_int64(field(u, "kernel_oom_kills")), 1);
        assert_int_equal(json_object_get_int64(field(u, "limit_failures")), 8);
        assert_int_equal(json_object_get_int64(field(u, "limit_resets")), 9);
        assert_int_equal(json_object_get_int64(field(u, "last_kill_realtime_usec")), 99);
        assert_int_equal(json_object_get_int(field(u, "last_victim_pid")), 202);
        /* Valid UTF-8 in the document: the stray bytes escaped, the newline
         * left to json-c (it writes \n). */
        assert_string_equal(json_object_get_string(field(u, "last_victim_comm")), "h\n<0>\\xff\\x9b");
}

/* What users.c frees of a user, for the users built by hand here. */
static void user_teardown(User *u) {
        act_done(u);
        user_config_done(&u->config);
        free(u->ranked);
        growth_history_done(&u->history);
        free(u);
}

static void test_status_document(void **state) {
        User u;
        User *users[] = { &u };
        json_object *doc;

        (void) state;
        fill_user(&u);
        doc = statefile_document(&info, users, 1);
        assert_non_null(doc);
        check_document(doc);
        json_object_put(doc);
}

static void test_status_file(void **state) {
        char *dir = tmptree_new(), path[512], metrics[512], buf[8192];
        User u;
        User *users[] = { &u };
        json_object *doc;
        struct stat st;
        FILE *f;
        size_t n;

        (void) state;
        fill_user(&u);
        snprintf(path, sizeof path, "%s/status.json", dir);
        snprintf(metrics, sizeof metrics, "%s/memgov.prom", dir);
        umask(077);
        assert_int_equal(statefile_write(path, &info, users, 1), 0);
        assert_int_equal(stat(path, &st), 0);
        /* It names other users' killed processes: not for everyone. */
        assert_int_equal(st.st_mode & 0777, 0640);
        doc = json_object_from_file(path);
        assert_non_null(doc);
        check_document(doc);
        json_object_put(doc);

        assert_int_equal(statefile_write_metrics(NULL, &info, users, 1), 0);
        assert_int_equal(statefile_write_metrics(metrics, &info, users, 1), 0);
        f = fopen(metrics, "r");
        assert_non_null(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        assert_non_null(strstr(buf, "memgov_user_kills_total{uid=\"4242\""));
        /* What the daemon knows, each in its family. */
        assert_non_null(strstr(buf, "\nmemgov_user_budget_max_bytes{uid=\"4242\",user=\"al\\\\x1bice\"} 524288000\n"));
        assert_non_null(strstr(buf, "\nmemgov_user_limit_failures_total{uid=\"4242\",user=\"al\\\\x1bice\"} 8\n"));
        assert_non_null(strstr(buf, "\nmemgov_user_limit_resets_total{uid=\"4242\",user=\"al\\\\x1bice\"} 9\n"));
        assert_non_null(strstr(buf, "\nmemgov_user_limits_stepping{uid=\"4242\",user=\"al\\\\x1bice\"} 1\n"));
        assert_non_null(strstr(buf, "\nmemgov_machine_memory_short 1\n"));
        assert_non_null(strstr(buf, "\nmemgov_machine_shortages_total 4\n"));
        assert_non_null(strstr(buf, "\nmemgov_last_update_timestamp_seconds 5\n"));
        assert_int_equal(statefile_write("/nonexistent/memgov/status.json", &info, users, 1), -ENOENT);
        tmptree_free(dir);
}

/* status.json is written one user at a time: the same text, byte for
 * byte, as json-c makes of the whole document, and JSON a reader parses. */
static void test_status_file_streamed(void **state) {
        char *dir = tmptree_new(), path[512], *text;
        User a, b, c;
        User *users[] = { &a, &b, &c };
        json_object *doc, *back;
        const char *expected;
        FILE *f;
        long n;

        (void) state;
        fill_user(&a);
        fill_user(&b);
        fill_user(&c);
        b.uid = 4243;
        snprintf(b.name, sizeof b.name, "bob\"},{\"x\":[");
        c.uid = 4244;
        c.last_victim_comm[0] = 0;
        snprintf(path, sizeof path, "%s/status.json", dir);
        for (size_t n_users = 0; n_users <= 3; n_users++) {
                assert_int_equal(statefile_write(path, &info, users, n_users), 0);
                f = fopen(path, "re");
                assert_non_null(f);
                assert_int_equal(fseek(f, 0, SEEK_END), 0);
                n = ftell(f);
                assert_true(n > 0);
                rewind(f);
                text = calloc(1, (size_t) n + 1);
                assert_non_null(text);
                assert_int_equal(fread(text, 1, (size_t) n, f), (size_t) n);
                fclose(f);

                doc = statefile_document(&info, users, n_users);
                assert_non_null(doc);
                expected = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                assert_int_equal(strlen(text), strlen(expected) + 1);
                assert_memory_equal(text, expected, strlen(expected));
                assert_int_equal(text[n - 1], '\n');
                back = json_tokener_parse(text);
                assert_non_null(back);
                assert_int_equal(json_object_array_length(field(back, "users")), n_users);
                if (n_users >= 2)
                        assert_string_equal(json_object_get_string(field(json_object_array_get_idx(field(back, "users"), 1),
                                                                         "user")), "bob\"},{\"x\":[");
                json_object_put(back);
                json_object_put(doc);
                free(text);
        }
        tmptree_free(dir);
}

static void test_discovered(void **state) {
        const uid_t logind[] = { 1001, 1002, 1001 };
        char *children[] = { "user-1001.slice", "user-1003.slice", "user-1003.slice.bak", "init.scope",
                             "user-x.slice", "user-1004.slicex", NULL };
        seen_uid *seen = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(users_discovered(logind, 3, children, &seen, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(seen[0].uid, 1001);
        assert_true(seen[0].logged_in && seen[0].has_slice);
        assert_int_equal(seen[1].uid, 1002);
        assert_true(seen[1].logged_in && !seen[1].has_slice);
        assert_int_equal(seen[2].uid, 1003);
        assert_true(!seen[2].logged_in && seen[2].has_slice);
        free(seen);

        assert_int_equal(users_discovered(NULL, 0, NULL, &seen, &n), 0);
        assert_int_equal(n, 0);
        free(seen);
}

static void test_next_wakeup(void **state) {
        User a = {}, b = {};
        User *users[] = { &a, &b };
        usec_t deadline;

        (void) state;
        a.has_slice = b.has_slice = true;
        a.watch.active = b.watch.active = true;
        /* Samples may come a quarter of their interval late, at most 1 s. */
        a.last_eval = 1000 * USEC_PER_SEC;
        a.next_sample = 1060 * USEC_PER_SEC;
        b.last_eval = 1000 * USEC_PER_SEC;
        b.next_sample = 1002 * USEC_PER_SEC;
        assert_int_equal(user_next_wakeup(users, 2, &deadline), 1002 * USEC_PER_SEC);
        assert_int_equal(deadline, 1002 * USEC_PER_SEC + 2 * USEC_PER_SEC / 4 + 1);

        /* A slice retry is due even without a slice; a kernel OOM lookup too. */
        b.has_slice = false;
        b.slice_retry_at = 1001 * USEC_PER_SEC;
        assert_int_equal(user_next_wakeup(users, 2, &deadline), 1001 * USEC_PER_SEC);
        assert_int_equal(deadline, 1001 * USEC_PER_SEC + 50 * USEC_PER_MSEC);
        b.slice_retry_at = 0;
        assert_int_equal(user_next_wakeup(users, 2, &deadline), 1060 * USEC_PER_SEC);
        assert_int_equal(deadline, 1061 * USEC_PER_SEC);
        assert_int_equal(user_next_wakeup(users, 0, &deadline), USEC_INFINITY);
}

static void on_watch(User *u, watch_event ev) {
        (void) u;
        (void) ev;
}

/* SLICE's memory files at CURRENT bytes, memory.high HIGH ("max" or
 * bytes) and memory.max MAX, without pressure, holding pid 301; and the
 * machine's 8 GiB without swap. */
static void write_slice(const char *cgroot, const char *procroot, const char *current, const char *high,
                        const char *max) {
        tmptree_writef(cgroot, SLICE "/memory.current", "%s\n", current);
        tmptree_writef(cgroot, SLICE "/memory.high", "%s\n", high);
        tmptree_writef(cgroot, SLICE "/memory.max", "%s\n", max);
        tmptree_write(cgroot, SLICE "/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        tmptree_write(cgroot, SLICE "/memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        tmptree_write(cgroot, SLICE "/cgroup.procs", "301\n");
        tmptree_write(procroot, "meminfo", "MemTotal: 8388608 kB\nSwapTotal: 0 kB\n");
}

/* The slice's one task, pid 301 (write_slice() lists it), holding RSS_KB. */
static void add_slice_task(const char *procroot, const char *comm, char state, uint64_t rss_kb) {
        tmptree_add_task(procroot, &(fake_task) { .pid = 301, .ppid = 1, .sid = 300, .uid = 4242, .comm = comm,
                                                  .state = state, .rss_kb = rss_kb, .start_time = 5 });
}

/* alice (4242) on SLICE with the default config and MemoryMax=MEMORY_MAX,
 * watched without trigger fds. */
static void user_on_slice(User *u, context *ctx, uint64_t memory_max) {
        u->ctx = ctx;
        u->uid = 4242;
        snprintf(u->name, sizeof u->name, "alice");
        snprintf(u->cgroup, sizeof u->cgroup, SLICE);
        user_config_defaults(ctx->mem_total, &u->config);
        u->config.memory_max = memory_max;
        u->effective = u->config;
        u->has_slice = true;
        u->watch = (watch) { .active = true, .some_fd = -1, .full_fd = -1, .events_fd = -1, .current_fd = -1 };
        act_init(u);
}

/* alice on SLICE (user_on_slice()) in trees of her own, the slice's files
 * as write_slice() puts them, memory.current opened as the watch holds it. */
typedef struct slice_fixture {
        char *cgroot, *procroot;
        context ctx;
        User *u;
} slice_fixture;

static User *slice_fixture_init(slice_fixture *f, const char *current, const char *high, const char *max,
                                const actuator_ops *ops, uint64_t memory_max) {
        *f = (slice_fixture) { .cgroot = tmptree_new(), .procroot = tmptree_new(), .u = calloc(1, sizeof(User)) };
        assert_non_null(f->u);
        write_slice(f->cgroot, f->procroot, current, high, max);
        test_context_init(&f->ctx, f->cgroot, f->procroot, ops, on_watch);
        user_on_slice(f->u, &f->ctx, memory_max);
        f->u->watch.current_fd = cgfs_open(f->ctx.cgroot_fd, SLICE, "memory.current", O_RDONLY);
        assert_true(f->u->watch.current_fd >= 0);
        return f->u;
}

static void slice_fixture_done(slice_fixture *f) {
        watch_stop(f->u);
        user_teardown(f->u);
        test_context_done(&f->ctx);
        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
}

/* One evaluation of a slice at 85% of MemoryMax: a warning, in dry run. */
static void test_evaluate_warns(void **state) {
        slice_fixture f;
        User *u;

        (void) state;
        u = slice_fixture_init(&f, "445644800", "max", "524288000", &actuator_ops_dry_run, 524288000);
        add_slice_task(f.procroot, "hog", 'R', 409600);

        assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        assert_int_equal(u->warns, 1);
        assert_int_equal(u->kills, 0);
        assert_int_equal(u->memory.current, 445644800);
        assert_true(u->sampled);
        assert_true(f.ctx.status_dirty);
        assert_true(f.ctx.timer_dirty);
        assert_true(u->next_sample > u->last_eval);
        /* The dry run set no limit on the slice, and the policy saw what is in force. */
        {
                char buf[64];
                assert_int_equal(read_file_at(f.ctx.cgroot_fd, SLICE "/memory.high", buf, sizeof buf, NULL), 0);
                assert_string_equal(buf, "max\n");
                assert_int_equal(u->effective.memory_high, BYTES_INFINITY);
        }

        /* The slice is gone: the watches go, and discovery looks again. */
        f.ctx.rescan = false;
        tmptree_free(f.cgroot);
        f.cgroot = NULL;
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_false(u->has_slice);
        assert_false(u->watch.active);
        assert_true(f.ctx.rescan);

        user_teardown(u);
        test_context_done(&f.ctx);
        tmptree_free(f.procroot);
}


/* A slice of 425M against MemoryMax=500M with one task, PID 301, named
 * COMM, in a dry run: the state the escaping tests evaluate. */
typedef struct hostile_slice {
        char *cgroot, *procroot;
        context ctx;
        User *u;
} hostile_slice;

static void hostile_slice_setup(hostile_slice *f, const char *comm) {
        User *u;

        *f = (hostile_slice) { .cgroot = tmptree_new(), .procroot = tmptree_new(), .u = calloc(1, sizeof(User)) };
        u = f->u;
        assert_non_null(u);
        write_slice(f->cgroot, f->procroot, "445644800", "max", "524288000");
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 301, .ppid = 1, .sid = 300, .uid = 4242, .comm = comm,
                                                     .state = 'R', .rss_kb = 409600, .start_time = 5 });

        test_context_init(&f->ctx, f->cgroot, f->procroot, &actuator_ops_dry_run, on_watch);
        user_on_slice(u, &f->ctx, 524288000);
}

static void hostile_slice_done(hostile_slice *f) {
        user_teardown(f->u);
        test_context_done(&f->ctx);
        tmptree_free(f->procroot);
        tmptree_free(f->cgroot);
}

/* One evaluation at LOG_DEBUG with stderr (not the journal: records reach
 * it too) captured into TEXT. */
static void evaluate_capturing_stderr(User *u, char *text, size_t size) {
        char out[] = "/tmp/test-memgovd-XXXXXX";
        int fd, saved;
        FILE *f;
        size_t n;

        fd = mkstemp(out);
        assert_true(fd >= 0);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        unsetenv("JOURNAL_STREAM");
        log_setup();
        log_set_max_priority(LOG_DEBUG);
        assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        log_set_max_priority(LOG_EMERG);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);

        f = fopen(out, "re");
        assert_non_null(f);
        n = fread(text, 1, size - 1, f);
        text[n] = 0;
        fclose(f);
        unlink(out);
}

/* A hog named to forge journal lines and terminal sequences: everything
 * memgovd writes about it (the warning record, the candidate table, the
 * log lines) carries the name escaped. Records reach stderr here because
 * stderr is not the journal; the stderr backstop alone would turn the
 * newline into '?', so "\\n" proves the escaping at the sink. */
static void test_forged_comm_escaped(void **state) {
        hostile_slice f;
        char text[16384];

        (void) state;
        hostile_slice_setup(&f, "x\n<0>\033[2J\302\233");
        evaluate_capturing_stderr(f.u, text, sizeof text);
        assert_int_equal(f.u->warns, 1);
        /* In the message's "largest:" list, escaped. */
        assert_non_null(strstr(text, "largest: x\\n<0>\\x1b[2J\\u009b (pid 301)"));
        for (const char *p = text; *p; p++)
                assert_true(*p == '\n' || ((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f));
        assert_null(strstr(text, "\n<0>"));
        hostile_slice_done(&f);
}

/* A subtree of the slice that cannot be read is logged (escaped) and the
 * rest of the slice is still acted on. */
static void test_unreadable_subtree_logged(void **state) {
        hostile_slice f;
        char text[16384];

        (void) state;
        hostile_slice_setup(&f, "hog");
        /* A cgroup the user named, whose task list cannot be read. */
        tmptree_mkdir(f.cgroot, SLICE "/evil\n<0>/cgroup.procs");
        evaluate_capturing_stderr(f.u, text, sizeof text);
        assert_int_equal(f.u->warns, 1);
        /* Said, with the user's cgroup name escaped, and the warning still given. */
        assert_non_null(strstr(text, "part of the slice could not be read; 1 subtree(s) left out, the first /"
                                     SLICE "/evil\\n<0>: "));
        assert_non_null(strstr(text, "acting on the 1 task(s) that could"));
        assert_non_null(strstr(text, "largest: hog (pid 301)"));
        hostile_slice_done(&f);
}

/* A slice over budget with four 30M workers and no swap, its own OOM
 * counter still where it was: the state the kill tests start from. */
typedef struct over_budget {
        char *cgroot, *procroot;
        context ctx;
        User *u;
        recorder rec;
} over_budget;

static void over_budget_setup(over_budget *f) {
        User *u;

        *f = (over_budget) { .cgroot = tmptree_new(), .procroot = tmptree_new(), .u = calloc(1, sizeof(User)) };
        u = f->u;
        assert_non_null(u);
        recorder_use(&f->rec);
        tmptree_write(f->cgroot, SLICE "/memory.current", "125829120\n");
        tmptree_write(f->cgroot, SLICE "/memory.high", "104857600\n");
        tmptree_write(f->cgroot, SLICE "/memory.max", "209715200\n");
        tmptree_write(f->cgroot, SLICE "/memory.stat", "anon 123731968\nfile 0\nkernel 2097152\n");
        tmptree_write(f->cgroot, SLICE "/memory.events", "low 0\nhigh 5\nmax 0\noom 0\noom_kill 0\n");
        tmptree_write(f->cgroot, SLICE "/memory.events.local", "low 0\nhigh 5\nmax 0\noom 0\noom_kill 0\n");
        tmptree_write(f->cgroot, SLICE "/memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                                           "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        tmptree_write(f->cgroot, SLICE "/cgroup.procs", "401\n402\n403\n404\n");
        tmptree_write(f->procroot, "meminfo", "MemTotal: 8388608 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
        for (pid_t pid = 401; pid <= 404; pid++)
                tmptree_add_task(f->procroot, &(fake_task) { .pid = pid, .ppid = 400, .sid = 400, .uid = 4242,
                                                             .comm = "cc1", .state = 'R', .rss_kb = 30720,
                                                             .start_time = (uint64_t) pid });

        test_context_init(&f->ctx, f->cgroot, f->procroot, &recorder_ops, on_watch);

        u->ctx = &f->ctx;
        u->uid = 4242;
        snprintf(u->name, sizeof u->name, "alice");
        snprintf(u->cgroup, sizeof u->cgroup, SLICE);
        user_config_defaults(f->ctx.mem_total, &u->config);
        u->config.memory_high = 104857600;
        u->config.memory_max = 209715200;
        u->config.policy = POLICY_RSS;
        u->config.kill_scope = KILL_SCOPE_PROCESS;
        u->effective = u->config;
        u->has_slice = true;
        u->watch = (watch) { .active = true, .some_fd = -1, .full_fd = -1, .events_fd = -1, .current_fd = -1 };
        act_init(u);
}

static void over_budget_done(over_budget *f) {
        act_done(f->u);
        assert_false(f->u->kill.active);
        user_teardown(f->u);
        test_context_done(&f->ctx);
        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
}

/* A swarm: the slice's own OOM counter rises. One round ends as many as
 * it takes (two: one frees too little to get 1/8 under the budget), with
 * SIGKILL and no grace, and the second evaluation in the same state starts
 * no second round while the first is under way. */
static void test_evaluate_swarm(void **state) {
        over_budget f;
        size_t n_signals = 0;
        pid_t signalled[2] = {};
        User *u;

        (void) state;
        over_budget_setup(&f);
        u = f.u;

        /* The counters so far are history. */
        assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        assert_int_equal(u->kills, 0);
        assert_int_equal(f.rec.n_records, 0);
        assert_int_equal(u->usage.unreclaimable, 125829120);
        assert_int_equal(u->usage.cache, 0);

        tmptree_write(f.cgroot, SLICE "/memory.events.local", "low 0\nhigh 5\nmax 3\noom 1\noom_kill 0\n");
        tmptree_write(f.cgroot, SLICE "/memory.events", "low 0\nhigh 5\nmax 3\noom 1\noom_kill 0\n");
        assert_int_equal(sampler_evaluate(u, SAMPLE_EVENTS), 0);
        for (size_t i = 0; i < f.rec.n_records; i++)
                if (strcmp(f.rec.records[i].op, "signal") == 0) {
                        assert_int_equal(f.rec.records[i].sig, SIGKILL);
                        assert_true(n_signals < 2);
                        signalled[n_signals++] = f.rec.records[i].pid;
                }
        assert_int_equal(n_signals, 2);
        assert_int_not_equal(signalled[0], signalled[1]);
        assert_int_equal(u->kills, 2);
        assert_true(u->kill.active);
        assert_non_null(u->kill.round);
        assert_int_equal(u->kill.round->n_leaders, 2);

        /* One round at a time. */
        f.rec.n_records = 0;
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_int_equal(f.rec.n_records, 0);
        assert_int_equal(u->kills, 2);

        over_budget_done(&f);
}

/* KillScope=cgroup: a decision naming a cgroup outside the user's slice, or
 * one that climbs out of it, is refused whatever the policy said. */
static void test_act_refuses_cgroup_outside_slice(void **state) {
        static const char *const outside[] = {
                "user.slice/user-4243.slice/app.scope",
                SLICE "x/app.scope",
                SLICE "/../user-4243.slice",
                SLICE "/app.scope/..",
                SLICE,
        };
        over_budget f;
        snapshot s = {};

        (void) state;
        over_budget_setup(&f);
        assert_int_equal(snapshot_take(f.ctx.cgroot_fd, f.ctx.procfs_fd, SLICE, 4242, SNAPSHOT_TASKS, &s), 0);
        assert_true(s.slice.n_tasks > 0);
        for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
                policy_decision dec = { .action = DECISION_KILL_CGROUP, .reason = KILL_REASON_OOM, .signal = SIGKILL,
                                        .n_victims = 1 };

                dec.victims[0] = (policy_victim) { .index = 0, .cgroup = outside[i] };
                f.rec.n_records = 0;
                assert_int_equal(act_kill(f.u, &s, &dec), 0);
                for (size_t j = 0; j < f.rec.n_records; j++)
                        assert_string_not_equal(f.rec.records[j].op, "kill-cgroup");
                assert_int_equal(f.u->kills, 0);
        }
        /* The check is not simply closed: a cgroup inside the slice is killed. */
        {
                policy_decision dec = { .action = DECISION_KILL_CGROUP, .reason = KILL_REASON_OOM, .signal = SIGKILL,
                                        .n_victims = 1 };

                dec.victims[0] = (policy_victim) { .index = 0, .cgroup = SLICE "/app.scope" };
                f.rec.n_records = 0;
                assert_int_equal(act_kill(f.u, &s, &dec), 0);
                assert_int_equal(f.rec.n_records, 1);
                assert_string_equal(f.rec.records[0].op, "kill-cgroup");
                assert_string_equal(f.rec.records[0].cgroup, SLICE "/app.scope");
        }
        snapshot_done(&s);
        over_budget_done(&f);
}

/* A victim that ignores SIGTERM: memgovd's own KillGrace timer, run by the
 * event loop, sends SIGKILL once the grace has passed, not before, and not
 * only at the 10 s give-up. */
static void test_act_grace_escalates(void **state) {
        over_budget f;
        snapshot s = {};
        policy_decision dec = { .action = DECISION_KILL, .reason = KILL_REASON_PRESSURE, .signal = SIGTERM,
                                .n_victims = 1, .n_pids = 1 };
        usec_t start, deadline;
        ssize_t term_at = -1, kill_at = -1;

        (void) state;
        over_budget_setup(&f);
        f.u->config.kill_grace = 300 * USEC_PER_MSEC;
        f.rec.task_exits = false;
        assert_int_equal(snapshot_take(f.ctx.cgroot_fd, f.ctx.procfs_fd, SLICE, 4242, SNAPSHOT_TASKS, &s), 0);
        assert_int_equal(s.slice.tasks[0].task.pid, 401);
        dec.pids[0] = 401;
        dec.victims[0] = (policy_victim) { .index = 0, .first_pid = 0, .n_pids = 1 };

        start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(act_kill(f.u, &s, &dec), 0);
        assert_true(f.u->kill.active);
        deadline = start + 3 * USEC_PER_SEC;
        while (now_usec(CLOCK_MONOTONIC) < deadline && kill_at < 0) {
                assert_true(sd_event_run(f.ctx.event, 50 * USEC_PER_MSEC) >= 0);
                for (size_t i = 0; i < f.rec.n_records; i++)
                        if (strcmp(f.rec.records[i].op, "signal") == 0 && f.rec.records[i].pid == 401) {
                                if (f.rec.records[i].sig == SIGTERM && term_at < 0)
                                        term_at = (ssize_t) i;
                                if (f.rec.records[i].sig == SIGKILL && kill_at < 0)
                                        kill_at = (ssize_t) (now_usec(CLOCK_MONOTONIC) - start) / 1000;
                        }
        }
        assert_true(term_at >= 0);
        assert_true(kill_at >= 0);                      /* escalated within 3 s, not at the 10 s give-up */
        assert_true(kill_at >= 300);                    /* and not before KillGrace= */
        snapshot_done(&s);
        over_budget_done(&f);
}

static void machine_user(User *u, context *ctx, uid_t uid, const char *name, const char *cgroup) {
        u->ctx = ctx;
        u->uid = uid;
        snprintf(u->name, sizeof u->name, "%s", name);
        snprintf(u->cgroup, sizeof u->cgroup, "%s", cgroup);
        user_config_defaults(ctx->mem_total, &u->config);
        u->config.memory_high = 1536ULL << 20;
        u->config.memory_max = 1700ULL << 20;
        u->config.policy = POLICY_RSS;
        u->effective = u->config;
        u->has_slice = true;
        u->watch = (watch) { .active = true, .some_fd = -1, .full_fd = -1, .events_fd = -1, .current_fd = -1 };
        act_init(u);
}

static void machine_slice(const char *root, const char *cgroup, uint64_t anon, pid_t pid) {
        char path[256], buf[128];

#define SLICE_FILE(f, ...) do { snprintf(path, sizeof path, "%s/%s", cgroup, f); \
                snprintf(buf, sizeof buf, __VA_ARGS__); tmptree_write(root, path, buf); } while (0)
        SLICE_FILE("memory.current", "%llu\n", (unsigned long long) anon);
        SLICE_FILE("memory.high", "1610612736\n");
        SLICE_FILE("memory.max", "1782579200\n");
        SLICE_FILE("memory.stat", "anon %llu\nfile 0\n", (unsigned long long) anon);
        SLICE_FILE("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        SLICE_FILE("memory.events.local", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        SLICE_FILE("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        SLICE_FILE("cgroup.procs", "%d\n", (int) pid);
#undef SLICE_FILE
}

/* The oversubscribed node: alice holds 800M idle, carol's job grew from
 * nothing to 500M in the last 20 s; 1500M of 1600M in use, none of it
 * reclaimable, no swap. */
typedef struct machine_fixture {
        char *cgroot, *procroot;
        context ctx;
        governor_config gc;
        machine_watch m;
        User *users[2];
        recorder rec;
        usec_t now;
} machine_fixture;

static void machine_fixture_init(machine_fixture *f) {
        *f = (machine_fixture) { .cgroot = tmptree_new(), .procroot = tmptree_new() };
        recorder_use(&f->rec);
        machine_slice(f->cgroot, "user.slice/user-1001.slice", 800ULL << 20, 501);
        machine_slice(f->cgroot, "user.slice/user-1003.slice", 500ULL << 20, 701);
        tmptree_write(f->procroot, "meminfo", "MemTotal: 1638400 kB\nMemAvailable: 40960 kB\nSwapTotal: 0 kB\n"
                                              "SwapFree: 0 kB\n");
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 501, .ppid = 1, .sid = 500, .uid = 1001,
                                                     .comm = "sleeper", .state = 'S', .rss_kb = 819200, .start_time = 5 });
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 701, .ppid = 1, .sid = 700, .uid = 1003,
                                                     .comm = "hog", .state = 'R', .rss_kb = 512000, .start_time = 9 });

        test_context_init(&f->ctx, f->cgroot, f->procroot, &recorder_ops, on_watch);
        f->ctx.mem_total = 1600ULL << 20;
        f->ctx.pressure_window = USEC_PER_SEC;
        governor_config_defaults(&f->gc);
        f->gc.shortage_duration = 0;

        for (size_t i = 0; i < 2; i++)
                f->users[i] = calloc(1, sizeof *f->users[i]);
        machine_user(f->users[0], &f->ctx, 1001, "alice", "user.slice/user-1001.slice");
        machine_user(f->users[1], &f->ctx, 1003, "carol", "user.slice/user-1003.slice");
        f->now = now_usec(CLOCK_MONOTONIC);
        /* What the sampler saw 20 s ago: alice as now, carol's job not started. */
        shortage_history_record(&f->users[0]->usage_history, 800ULL << 20, f->gc.shortage_growth_window,
                                f->now - 20 * USEC_PER_SEC);
        shortage_history_record(&f->users[1]->usage_history, 0, f->gc.shortage_growth_window,
                                f->now - 20 * USEC_PER_SEC);
        machine_init(&f->m);
}

static void machine_fixture_done(machine_fixture *f) {
        machine_stop(&f->m);
        for (size_t i = 0; i < 2; i++)
                user_teardown(f->users[i]);
        test_context_done(&f->ctx);
        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
}

/* The signals sent, all of them SIGTERM to carol's hog. */
static size_t hog_terms(const recorder *rec) {
        size_t n = 0;

        for (size_t i = 0; i < rec->n_records; i++)
                if (strcmp(rec->records[i].op, "signal") == 0) {
                        assert_int_equal(rec->records[i].pid, 701);
                        assert_int_equal(rec->records[i].sig, SIGTERM);
                        n++;
                }
        return n;
}

/* The machine watch kills carol's job with reason shortage, and nothing
 * of alice's. */
static void test_machine_shortage(void **state) {
        machine_fixture f;
        User *alice, *carol;

        (void) state;
        machine_fixture_init(&f);
        alice = f.users[0];
        carol = f.users[1];
        /* Without an armed trigger nothing is looked at. */
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(f.rec.n_records, 0);
        /* A trigger event just now (the fd stands in for the armed one). */
        f.m.psi_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        f.m.window = USEC_PER_SEC;
        f.m.event_at = f.now;
        f.m.recheck_until = f.now + 2 * USEC_PER_SEC;
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(hog_terms(&f.rec), 1);
        assert_int_equal(carol->kills, 1);
        assert_int_equal(alice->kills, 0);
        assert_non_null(carol->kill.round);
        assert_int_equal(carol->kill.round->reason, KILL_REASON_SHORTAGE);
        assert_true(f.m.last_kill > 0);
        assert_true(f.m.next_check > 0);          /* re-checks within the window */

        /* A round under way: no second kill. */
        f.rec.n_records = 0;
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(f.rec.n_records, 0);

        /* Plenty available: not short, nothing done. */
        act_done(carol);
        f.rec.n_records = 0;
        tmptree_write(f.procroot, "meminfo", "MemTotal: 1638400 kB\nMemAvailable: 819200 kB\nSwapTotal: 0 kB\n");
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(f.rec.n_records, 0);
        assert_int_equal(f.m.state.short_since, 0);
        machine_fixture_done(&f);
}

/* Without swap the kernel shows no stall before the floor is passed: the
 * look that comes with any wake-up finds the shortage, no trigger event
 * needed, and near the floor memgovd keeps looking on its own. */
static void test_machine_shortage_without_swap(void **state) {
        machine_fixture f;

        (void) state;
        machine_fixture_init(&f);
        f.m.psi_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        f.m.window = USEC_PER_SEC;

        /* MemAvailable 300M of 1600M: above the 160M floor, within twice
         * it. Not short, but looked at again within a second. */
        tmptree_write(f.procroot, "meminfo", "MemTotal: 1638400 kB\nMemAvailable: 307200 kB\nSwapTotal: 0 kB\n"
                                             "SwapFree: 0 kB\n");
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(f.rec.n_records, 0);
        assert_true(f.m.next_check > f.now);
        assert_true(f.m.next_check <= now_usec(CLOCK_MONOTONIC) + SHORTAGE_LOOK_MAX_USEC);
        /* Far from it: no look of its own. */
        tmptree_write(f.procroot, "meminfo", "MemTotal: 1638400 kB\nMemAvailable: 819200 kB\nSwapTotal: 0 kB\n"
                                             "SwapFree: 0 kB\n");
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(f.m.next_check, 0);
        /* With swap free and no stall, 40M available is no shortage: the
         * kernel can still swap out. */
        tmptree_write(f.procroot, "meminfo", "MemTotal: 1638400 kB\nMemAvailable: 40960 kB\nSwapTotal: 1048576 kB\n"
                                             "SwapFree: 524288 kB\n");
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_int_equal(f.rec.n_records, 0);
        assert_false(f.m.was_short);
        /* Under the floor with no swap, and not one trigger event: carol's job goes. */
        tmptree_write(f.procroot, "meminfo", "MemTotal: 1638400 kB\nMemAvailable: 40960 kB\nSwapTotal: 0 kB\n"
                                             "SwapFree: 0 kB\n");
        machine_check(&f.m, &f.ctx, &f.gc, f.users, 2);
        assert_true(f.m.was_short);
        assert_int_equal(hog_terms(&f.rec), 1);
        assert_int_equal(f.users[1]->kills, 1);
        assert_int_equal(f.users[0]->kills, 0);
        assert_true(f.m.next_check > 0);
        machine_fixture_done(&f);
}

/* The grid's idle look: memory.current alone while the slice is far below
 * its first warning level and not growing towards it; the full evaluation
 * otherwise. */
static void test_idle_look(void **state) {
        slice_fixture f;
        User *u;
        usec_t before;

        (void) state;
        u = slice_fixture_init(&f, "104857600", "max", "1048576000", &actuator_ops_dry_run, 1048576000);
        add_slice_task(f.procroot, "sleep", 'S', 1024);

        /* Not read in full yet: no look without a full evaluation first. */
        assert_false(sampler_idle_look(u));
        assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        assert_int_equal(u->warns, 0);
        /* 10% of MemoryMax: on the idle grid. */
        assert_int_equal(u->next_sample % PACE_STEP_IDLE, 0);

        /* Unchanged: the look is enough, and lands on the same grid. */
        before = now_usec(CLOCK_MONOTONIC);
        assert_true(sampler_idle_look(u));
        assert_int_equal(u->memory.current, 104857600);
        assert_int_equal(u->next_sample % PACE_STEP_IDLE, 0);
        assert_true(u->next_sample > before && u->next_sample <= before + PACE_STEP_IDLE);

        /* A little less, still idle; the usage the look saw is kept. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "94371840\n");
        assert_true(sampler_idle_look(u));
        assert_int_equal(u->memory.current, 94371840);
        /* And goes into the usage history a machine-wide shortage measures
         * growth by (moments apart, the looks fold into one entry holding
         * the least), so a job started after it grew from 90 MiB. */
        assert_int_equal(u->usage_history.n, 1);
        assert_int_equal(u->usage_history.held[0], 94371840);
        assert_int_equal(shortage_history_growth(&u->usage_history, 199229440, f.ctx.shortage_growth_window,
                                                 now_usec(CLOCK_MONOTONIC)),
                         199229440 - 94371840);

        /* Grown by 100 MiB within moments: it could reach 80% before the
         * next tick, so the slice gets the full evaluation. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "199229440\n");
        assert_false(sampler_idle_look(u));
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        /* The evaluation put it on the fine grid. */
        assert_int_equal(u->next_sample % PACE_STEP_FINE, 0);
        assert_true(u->next_sample <= now_usec(CLOCK_MONOTONIC) + PACE_STEP_FINE);

        /* Near the first level (75% of MemoryMax), steady: full evaluations. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "786432000\n");
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_false(sampler_idle_look(u));

        /* Back far below, but a warning waits to be re-armed: full. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "104857600\n");
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_true(sampler_idle_look(u));
        u->state.warned = 1;
        assert_false(sampler_idle_look(u));
        u->state.warned = 0;
        /* Pressure over budget under way: full. */
        u->state.pressure_since = 1;
        assert_false(sampler_idle_look(u));
        u->state.pressure_since = 0;

        watch_stop(u);
        assert_int_equal(u->watch.current_fd, -1);
        slice_fixture_done(&f);
}

/* A slice sampled before its budget landed (a fresh login: memory.max
 * still "max") shows no warning level. The idle looks read memory.current
 * alone, so they must not stand in for the full evaluation until a sample
 * shows the budget: a job that then jumps to 83% is warned on the next
 * tick, not never. */
static void test_idle_look_waits_for_the_budget(void **state) {
        slice_fixture f;
        User *u;
        recorder rec = {};
        usec_t now;

        (void) state;
        recorder_use(&rec);
        u = slice_fixture_init(&f, "3145728", "max", "max", &recorder_ops, 524288000);
        add_slice_task(f.procroot, "hog", 'S', 1024);
        u->config.memory_high = BYTES_INFINITY;

        /* The first sample puts the budget on the slice, and reads the
         * "max" that was there before it. */
        assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        assert_int_equal(u->memory.max, BYTES_INFINITY);
        assert_int_equal(u->effective.memory_max, 524288000);
        now = now_usec(CLOCK_MONOTONIC);
        /* Looked at again soon, not on the 30 s grid a slice without a
         * level gets. */
        assert_true(u->next_sample <= now + PACE_STEP_NEAR);
        assert_false(sampler_idle_look(u));

        /* The job jumps to 83% of the budget: the full evaluation reads
         * memory.max and warns. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "435159040\n");
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_int_equal(u->memory.max, 524288000);
        assert_int_equal(u->warns, 1);

        /* Once a sample shows the budget, an idle slice is looked at idly. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "3145728\n");
        u->state.warned = 0;
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_true(limits_seen(u, &u->memory));
        assert_true(sampler_idle_look(u));

        slice_fixture_done(&f);
}

/* Policy=growth measures from when the slice last passed half of its
 * budget: once back under it, the observations of that approach are
 * dropped, so a notebook kernel loaded in between counts as held, not
 * grown, when the slice next heads for the budget. */
static void test_growth_from_last_approach(void **state) {
        slice_fixture f;
        User *u;

        (void) state;
        /* 300 of 500 MiB */
        u = slice_fixture_init(&f, "314572800", "524288000", "629145600", &actuator_ops_dry_run, 629145600);
        add_slice_task(f.procroot, "make", 'S', 307200);
        u->config.memory_high = 524288000;
        u->config.policy = POLICY_GROWTH;
        u->effective = u->config;

        /* Over half of MemoryHigh: the tasks are observed. */
        assert_int_equal(sampler_evaluate(u, SAMPLE_START), 0);
        assert_int_equal(u->history.n, 1);
        assert_true(u->last_observed > 0);

        /* The build is gone: back under half, the approach is forgotten. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "52428800\n");
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_int_equal(u->history.n, 0);
        assert_int_equal(u->last_observed, 0);

        /* Over half again; then under it, seen by the idle look alone. */
        tmptree_write(f.cgroot, SLICE "/memory.current", "314572800\n");
        assert_int_equal(sampler_evaluate(u, SAMPLE_TIMER), 0);
        assert_int_equal(u->history.n, 1);
        tmptree_write(f.cgroot, SLICE "/memory.current", "52428800\n");
        assert_true(sampler_idle_look(u));
        assert_int_equal(u->history.n, 0);

        slice_fixture_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_document),
                cmocka_unit_test(test_status_file),
                cmocka_unit_test(test_status_file_streamed),
                cmocka_unit_test(test_discovered),
                cmocka_unit_test(test_next_wakeup),
                cmocka_unit_test(test_evaluate_warns),
                cmocka_unit_test(test_forged_comm_escaped),
                cmocka_unit_test(test_unreadable_subtree_logged),
                cmocka_unit_test(test_evaluate_swarm),
                cmocka_unit_test(test_idle_look),
                cmocka_unit_test(test_idle_look_waits_for_the_budget),
                cmocka_unit_test(test_growth_from_last_approach),
                cmocka_unit_test(test_act_refuses_cgroup_outside_slice),
                cmocka_unit_test(test_act_grace_escalates),
                cmocka_unit_test(test_machine_shortage),
                cmocka_unit_test(test_machine_shortage_without_swap),
        };
        log_set_max_priority(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
