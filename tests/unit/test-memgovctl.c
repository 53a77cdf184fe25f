/* SPDX-License-Identifier: GPL-2.0-or-later */

/* memgovctl's verbs against fake trees: the memgovctl binary ($MEMGOVCTL)
 * runs with --cgroup-root, --proc-root, --config and --file pointing into
 * temp dirs, and its output is checked line by line, or, for --json, parsed
 * back with json-c and checked field by field, with its exit status. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ctl-run.h"
#include "tmptree.h"

#define UID "4242"
#define SLICE "user.slice/user-" UID ".slice"

typedef struct fixture {
        char *cgroot, *procroot, *etc;
        char config[512], status[512];
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);

        f->cgroot = tmptree_new();
        f->procroot = tmptree_new();
        f->etc = tmptree_new();
        snprintf(f->config, sizeof f->config, "%s/memgov.conf", f->etc);
        snprintf(f->status, sizeof f->status, "%s/status.json", f->etc);

        tmptree_write(f->etc, "memgov.conf", "[Defaults]\nMemoryMax=500M\nPolicy=rss\nProtect=keeper\n");
        tmptree_write(f->etc, "users.d/" UID ".conf", "Warn=50%\n");

        tmptree_write(f->cgroot, SLICE "/memory.current", "419430400\n");
        tmptree_write(f->cgroot, SLICE "/memory.high", "471859200\n");
        tmptree_write(f->cgroot, SLICE "/memory.max", "524288000\n");
        tmptree_write(f->cgroot, SLICE "/memory.peak", "430000000\n");
        tmptree_write(f->cgroot, SLICE "/memory.events", "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\n");
        tmptree_write(f->cgroot, SLICE "/memory.pressure",
                      "some avg10=12.50 avg60=3.00 avg300=0.30 total=9\nfull avg10=1.25 avg60=0 avg300=0 total=1\n");
        tmptree_write(f->cgroot, SLICE "/cgroup.procs", "");
        tmptree_write(f->cgroot, SLICE "/job.scope/cgroup.procs", "201\n202\n203\n204\n");
        tmptree_write(f->procroot, "meminfo", "MemTotal: 8388608 kB\nSwapTotal: 0 kB\n");
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 201, .ppid = 1, .sid = 201, .uid = 4242, .comm = "small",
                                                     .state = 'S', .rss_kb = 10240, .utime = 500, .start_time = 1000 });
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 202, .ppid = 1, .sid = 201, .uid = 4242, .comm = "hog",
                                                     .state = 'R', .rss_kb = 307200, .utime = 10, .start_time = 1001 });
        /* A hostile name: quote, backslash, newline, escape. */
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 203, .ppid = 1, .sid = 201, .uid = 4242,
                                                     .comm = "a\"b\\c\n\033[2J", .state = 'S', .rss_kb = 51200,
                                                     .start_time = 1002 });
        tmptree_add_task(f->procroot, &(fake_task) { .pid = 204, .ppid = 1, .sid = 201, .uid = 4242, .comm = "keeper",
                                                     .state = 'S', .rss_kb = 20480, .start_time = 1003 });
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        tmptree_free(f->cgroot);
        tmptree_free(f->procroot);
        tmptree_free(f->etc);
        free(f);
        return 0;
}

static void test_top_table(void **state) {
        fixture *f = *state;
        const char *rows[4];

        assert_int_equal(run("top", "--config", f->config, "--cgroup-root", f->cgroot, "--proc-root", f->procroot,
                             UID, NULL), 0);
        assert_string_equal(line_with("policy"),
                            "/" SLICE ": policy rss, 4 tasks, usage 400M of MemoryMax 500M");
        /* Largest RSS first, the Protect= match last with its reason. */
        rows[0] = strstr(res.out, "\n     202 ");
        rows[1] = strstr(res.out, "\n     203 ");
        rows[2] = strstr(res.out, "\n     201 ");
        rows[3] = strstr(res.out, "\n     204 ");
        for (size_t i = 0; i < 4; i++)
                assert_non_null(rows[i]);
        assert_true(rows[0] < rows[1] && rows[1] < rows[2] && rows[2] < rows[3]);
        assert_non_null(strstr(line_with(" 204 "), "keeper"));
        assert_non_null(strstr(line_with(" 204 "), "Protect="));
        assert_non_null(strstr(line_with(" 202 "), "300M"));
        /* The hostile name reaches the terminal without its control characters. */
        assert_null(strchr(res.out, '\033'));
        /* The one escaping rule: readable, and nothing a terminal acts on. */
        assert_non_null(strstr(res.out, "a\"b\\\\c\\n\\x1b[2J"));
        assert_string_equal(res.err, "");
}

static void test_top_json(void **state) {
        fixture *f = *state;
        json_object *root, *tasks, *t, *v;

        assert_int_equal(run("top", "--json", "--policy", "badness", "--config", f->config, "--cgroup-root", f->cgroot,
                             "--proc-root", f->procroot, UID, NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "cgroup", &v));
        assert_string_equal(json_object_get_string(v), SLICE);
        assert_true(json_object_object_get_ex(root, "policy", &v));
        assert_string_equal(json_object_get_string(v), "badness");
        assert_true(json_object_object_get_ex(root, "tasks", &tasks));
        assert_int_equal(json_object_array_length(tasks), 4);

        t = json_object_array_get_idx(tasks, 0);
        assert_true(json_object_object_get_ex(t, "pid", &v));
        assert_int_equal(json_object_get_int(v), 202);
        assert_true(json_object_object_get_ex(t, "comm", &v));
        assert_string_equal(json_object_get_string(v), "hog");
        assert_true(json_object_object_get_ex(t, "uid", &v));
        assert_int_equal(json_object_get_int(v), 4242);
        assert_true(json_object_object_get_ex(t, "user", &v));
        assert_string_equal(json_object_get_string(v), UID);
        assert_true(json_object_object_get_ex(t, "rss_bytes", &v));
        assert_int_equal(json_object_get_int64(v), 307200 * 1024LL);
        assert_true(json_object_object_get_ex(t, "cpu_ms", &v));
        assert_int_equal(json_object_get_int64(v), 100);    /* 10 ticks at 100 Hz */
        /* badness, as oom_badness(): rss + swap + pgtables in pages, adj 0. */
        assert_true(json_object_object_get_ex(t, "score", &v));
        assert_int_equal(json_object_get_int64(v), 307200 / 4);
        assert_true(json_object_object_get_ex(t, "protected", &v));
        assert_false(json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(t, "oom_score_adj", &v));
        assert_int_equal(json_object_get_int(v), 0);

        /* The hostile name comes back escaped. */
        t = json_object_array_get_idx(tasks, 1);
        assert_true(json_object_object_get_ex(t, "comm", &v));
        /* Valid UTF-8 with the controls as json-c's \u00XX; the backslash
         * doubled, so every backslash escape in a value came from memgov. */
        assert_string_equal(json_object_get_string(v), "a\"b\\\\c\n\033[2J");

        t = json_object_array_get_idx(tasks, 3);
        assert_true(json_object_object_get_ex(t, "pid", &v));
        assert_int_equal(json_object_get_int(v), 204);
        /* A name is soft protection: last, but not "protected". */
        assert_true(json_object_object_get_ex(t, "protected", &v));
        assert_false(json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(t, "reason", &v));
        assert_string_equal(json_object_get_string(v), "soft: Protect=");
        json_object_put(root);
}

static void test_top_exit_codes(void **state) {
        fixture *f = *state;

        assert_int_equal(run("top", NULL), 2);
        assert_int_equal(run("top", "--bogus", UID, NULL), 2);
        assert_int_equal(run("top", "--policy", "biggest", UID, NULL), 2);
        assert_non_null(strstr(res.err, "unknown policy 'biggest'"));
        assert_int_equal(run("top", UID, "extra", NULL), 2);
        assert_int_equal(run("top", "--help", NULL), 0);
        assert_non_null(strstr(res.out, "Usage: memgovctl top"));
        /* No such cgroup, no such user, no such root: a problem, not a usage error. */
        assert_int_equal(run("top", "--config", f->config, "--cgroup-root", f->cgroot, "--proc-root", f->procroot,
                             "4243", NULL), 1);
        assert_non_null(strstr(res.err, "no such cgroup"));
        assert_int_equal(run("top", "no-such-user-memgov", NULL), 1);
        assert_non_null(strstr(res.err, "no such user 'no-such-user-memgov'"));
        assert_int_equal(run("top", "--cgroup-root", "/nonexistent/memgov", "--proc-root", f->procroot, UID, NULL), 1);
        assert_non_null(strstr(res.err, "cannot open cgroup root /nonexistent/memgov"));
}

static void test_explain(void **state) {
        fixture *f = *state;
        char path[600];

        assert_int_equal(run("explain", "--config", f->config, "--cgroup-root", f->cgroot, "--proc-root", f->procroot,
                             UID, NULL), 0);
        assert_string_equal(line_with("(uid"), "? (uid 4242)");
        /* Every value with the file it comes from. */
        assert_non_null(strstr(line_with("  MemoryMax="), "MemoryMax=500M"));
        assert_non_null(strstr(line_with("  MemoryMax="), f->config));
        snprintf(path, sizeof path, "%s/users.d/" UID ".conf", f->etc);
        assert_non_null(strstr(line_with("Warn="), "Warn=50%"));
        assert_non_null(strstr(line_with("Warn="), path));
        assert_non_null(strstr(line_with("KillGrace="), "(built-in default)"));
        /* Where the slice stands. */
        assert_string_equal(line_with("usage "), "  usage 400M (80% of MemoryMax), peak 410M");
        assert_string_equal(line_with("memory.events:"), "  memory.events: high 12, max 3, oom 1, oom_kill 1");
        assert_string_equal(line_with("warning at"), "  warning at 50%: 250M, crossed");
        /* Whom it would kill, and who is spared. */
        assert_non_null(strstr(line_with("victim:"), "pid 202 (hog)"));
        assert_non_null(strstr(line_with("pid 204"), "Protect="));
        assert_non_null(strstr(line_with("pid 203"), "(a\"b\\\\c\\n\\x1b[2J)"));
        assert_null(strchr(res.out, '\033'));
        assert_int_equal(run("explain", NULL), 2);
        assert_int_equal(run("explain", "--config", f->config, "--cgroup-root", f->cgroot, "--proc-root", f->procroot,
                             "4243", NULL), 0);
        assert_non_null(strstr(res.out, "no such cgroup (the user is not logged in)"));
}

/* The same facts as the table, typed: parsed back field by field. */
static void test_explain_json(void **state) {
        fixture *f = *state;
        json_object *root, *v, *o, *arr;
        char path[600];

        assert_int_equal(run("explain", "--json", "--config", f->config, "--cgroup-root", f->cgroot, "--proc-root",
                             f->procroot, UID, NULL), 0);
        assert_string_equal(res.err, "");
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "uid", &v));
        assert_int_equal(json_object_get_int(v), 4242);
        assert_true(json_object_object_get_ex(root, "user", &v));
        assert_null(v);      /* no such user on this machine */
        assert_true(json_object_object_get_ex(root, "cgroup", &v));
        assert_string_equal(json_object_get_string(v), "/" SLICE);
        assert_true(json_object_object_get_ex(root, "policy", &v));
        assert_string_equal(json_object_get_string(v), "rss");

        assert_true(json_object_object_get_ex(root, "settings", &o));
        assert_true(json_object_object_get_ex(o, "Warn", &o));
        assert_true(json_object_object_get_ex(o, "value", &v));
        assert_string_equal(json_object_get_string(v), "50%");
        assert_true(json_object_object_get_ex(o, "source", &v));
        snprintf(path, sizeof path, "%s/users.d/" UID ".conf", f->etc);
        assert_string_equal(json_object_get_string(v), path);
        assert_true(json_object_object_get_ex(root, "settings", &o));
        assert_true(json_object_object_get_ex(o, "KillGrace", &o));
        assert_true(json_object_object_get_ex(o, "source", &v));
        assert_null(v);      /* built-in default */

        assert_true(json_object_object_get_ex(root, "memory", &o));
        assert_true(json_object_object_get_ex(o, "usage_bytes", &v));
        assert_int_equal(json_object_get_int64(v), 419430400);
        assert_true(json_object_object_get_ex(o, "max_bytes", &v));
        assert_int_equal(json_object_get_int64(v), 524288000);
        assert_true(json_object_object_get_ex(o, "events", &o));
        assert_true(json_object_object_get_ex(o, "oom_kill", &v));
        assert_int_equal(json_object_get_int(v), 1);

        /* Victims in order, the hostile name escaped once, the Protect= match
         * last and marked as soft protection. */
        assert_true(json_object_object_get_ex(root, "victims", &arr));
        assert_int_equal(json_object_array_length(arr), 4);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(arr, 0), "pid", &v));
        assert_int_equal(json_object_get_int(v), 202);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(arr, 1), "comm", &v));
        assert_string_equal(json_object_get_string(v), "a\"b\\\\c\n\033[2J");
        assert_true(json_object_object_get_ex(json_object_array_get_idx(arr, 2), "soft", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(arr, 3), "pid", &v));
        assert_int_equal(json_object_get_int(v), 204);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(arr, 3), "soft", &v));
        assert_non_null(strstr(json_object_get_string(v), "Protect="));
        assert_true(json_object_object_get_ex(root, "protected", &arr));
        assert_int_equal(json_object_array_length(arr), 0);
        json_object_put(root);

        /* Not logged in: the budget, and no memory. */
        assert_int_equal(run("explain", "--json", "--config", f->config, "--cgroup-root", f->cgroot, "--proc-root",
                             f->procroot, "4243", NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "memory", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(root, "error", &v));
        assert_string_equal(json_object_get_string(v), "no such cgroup (the user is not logged in)");
        json_object_put(root);
}

static void test_check_config_good(void **state) {
        fixture *f = *state;
        json_object *root, *v;
        char expected[700];

        assert_int_equal(run("check-config", "--config", f->config, NULL), 0);
        snprintf(expected, sizeof expected, "%s: OK (0 group drop-ins, 1 user drop-in)\n", f->config);
        assert_string_equal(res.out, expected);
        assert_string_equal(res.err, "");

        assert_int_equal(run("check-config", "--json", "--config", f->config, NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "ok", &v));
        assert_true(json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(root, "errors", &v));
        assert_int_equal(json_object_array_length(v), 0);
        assert_true(json_object_object_get_ex(root, "user_dropins", &v));
        assert_int_equal(json_object_get_int(v), 1);
        json_object_put(root);
}

/* A bad key and a bad value in a drop-in: both named with file and line. */
static void test_check_config_bad(void **state) {
        fixture *f = *state;
        json_object *root, *errors, *e, *v;
        char expected[2048];

        tmptree_write(f->etc, "users.d/bob.conf", "MemoryMax=400M\nBogusKey=1\nPolicy=biggest\n");
        assert_int_equal(run("check-config", "--config", f->config, NULL), 1);
        assert_string_equal(res.out, "");
        snprintf(expected, sizeof expected,
                 "%s/users.d/bob.conf:2: Unknown key 'BogusKey' in section [Defaults]\n"
                 "%s/users.d/bob.conf:3: Invalid Policy= value 'biggest': expected rss, runtime, badness or growth\n"
                 "memgovctl check-config: 2 errors in the configuration\n", f->etc, f->etc);
        assert_string_equal(res.err, expected);

        assert_int_equal(run("check-config", "--json", "--config", f->config, NULL), 1);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "ok", &v));
        assert_false(json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(root, "errors", &errors));
        assert_int_equal(json_object_array_length(errors), 2);
        e = json_object_array_get_idx(errors, 1);
        assert_true(json_object_object_get_ex(e, "line", &v));
        assert_int_equal(json_object_get_int(v), 3);
        assert_true(json_object_object_get_ex(e, "file", &v));
        snprintf(expected, sizeof expected, "%s/users.d/bob.conf", f->etc);
        assert_string_equal(json_object_get_string(v), expected);
        assert_true(json_object_object_get_ex(e, "message", &v));
        assert_string_equal(json_object_get_string(v),
                            "Invalid Policy= value 'biggest': expected rss, runtime, badness or growth");
        json_object_put(root);

        /* An unreadable main file is a problem too; a missing one is not (built-in defaults). */
        assert_int_equal(run("check-config", "--config", f->etc, NULL), 1);
        assert_int_equal(run("check-config", "extra", NULL), 2);
        assert_int_equal(run("check-config", "--bogus", NULL), 2);
}

static void write_status(const fixture *f, int pid) {
        tmptree_writef(f->etc, "status.json",
                       "{\"version\":\"9.9\",\"pid\":%d,\"config\":\"/etc/memgov/memgov.conf\",\"dry_run\":true,"
                       "\"limits_backend\":\"cgroupfs\",\"psi_privileged\":false,\"pressure_window_usec\":2000000,"
                       "\"updated_realtime_usec\":1,\"wakeups\":7,\"reloads\":1,\"reload_failures\":0,\"users\":[\n"
                       "{\"uid\":4242,\"user\":\"al\\u001bice\",\"slice\":\"" SLICE "\",\"logged_in\":true,"
                       "\"has_slice\":true,\"usage\":1000,\"peak\":2000,\"swap_usage\":0,\"high\":null,"
                       "\"max\":524288000,\"swap_max\":null,\"budget_high\":null,\"budget_max\":524288000,"
                       "\"stepping\":true,\"psi_some_avg10\":1.25,\"psi_full_avg10\":0.00,\"under_pressure\":true,"
                       "\"psi_trigger\":true,\"policy\":\"rss\",\"kill_scope\":\"process\",\"warns\":3,\"kills\":2,"
                       "\"kernel_oom_kills\":1,\"last_kill_realtime_usec\":0,\"last_victim_pid\":202,"
                       "\"last_victim_comm\":\"h\\u009b6n\\u001b]52\"}\n]}\n",
                       pid);
}

static void test_status_table(void **state) {
        fixture *f = *state;
        char expected[256];
        const char *row;

        write_status(f, (int) getpid());
        assert_int_equal(run("status", "--file", f->status, "--cgroup-root", f->cgroot, NULL), 0);
        snprintf(expected, sizeof expected, "memgovd 9.9, pid %d; config /etc/memgov/memgov.conf", (int) getpid());
        assert_string_equal(line_with("memgovd 9.9"), expected);
        assert_null(strstr(res.out, "NOT RUNNING"));
        assert_string_equal(line_with("mode:"),
                            "mode: DRY RUN (logs what it would kill, kills nothing); limits via cgroupfs; "
                            "PSI window 2.0s (unprivileged)");
        row = line_with(" 4242 ");
        /* Live usage from the cgroup, not the file's 1000 bytes; the name
         * without its escape character. */
        assert_non_null(strstr(row, "al\\x1bice"));
        assert_non_null(strstr(row, "400M"));
        assert_non_null(strstr(row, "500M*"));
        assert_non_null(strstr(row, "12.5%!"));
        /* An 8-bit CSI (U+009B) is as much a terminal escape as ESC [. */
        assert_non_null(strstr(row, "202 (h\\u009b6n\\x1b]52)"));
        assert_null(strstr(res.out, "\xc2\x9b"));
        assert_null(strchr(res.out, '\033'));
}

static void test_status_json(void **state) {
        fixture *f = *state;
        json_object *root, *users, *u, *v;

        write_status(f, (int) getpid());
        assert_int_equal(run("status", "--json", "--file", f->status, "--cgroup-root", f->cgroot, NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "version", &v));
        assert_string_equal(json_object_get_string(v), "9.9");
        assert_true(json_object_object_get_ex(root, "pid", &v));
        assert_int_equal(json_object_get_int(v), (int) getpid());
        assert_true(json_object_object_get_ex(root, "dry_run", &v));
        assert_true(json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(root, "wakeups", &v));
        assert_int_equal(json_object_get_int(v), 7);
        assert_true(json_object_object_get_ex(root, "users", &users));
        assert_int_equal(json_object_array_length(users), 1);
        u = json_object_array_get_idx(users, 0);
        assert_true(json_object_object_get_ex(u, "user", &v));
        assert_string_equal(json_object_get_string(v), "al\033ice");
        assert_true(json_object_object_get_ex(u, "high", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(u, "max", &v));
        assert_int_equal(json_object_get_int64(v), 524288000);
        assert_true(json_object_object_get_ex(u, "usage", &v));
        assert_int_equal(json_object_get_int64(v), 1000);
        /* Live figures added from the cgroup. */
        assert_true(json_object_object_get_ex(u, "usage_live", &v));
        assert_int_equal(json_object_get_int64(v), 419430400);
        assert_true(json_object_object_get_ex(u, "psi_some_avg10_live", &v));
        assert_true(json_object_get_double(v) > 12.49 && json_object_get_double(v) < 12.51);
        /* The document as memgovd wrote it: JSON readers escape for themselves. */
        assert_true(json_object_object_get_ex(u, "last_victim_comm", &v));
        assert_string_equal(json_object_get_string(v), "h\xc2\x9b" "6n\033]52");
        json_object_put(root);
}

static void test_status_exit_codes(void **state) {
        fixture *f = *state;
        pid_t gone = fork();

        /* A pid that was reaped: the status file is stale. */
        assert_true(gone >= 0);
        if (gone == 0)
                _exit(0);
        assert_int_equal(waitpid(gone, NULL, 0), gone);
        write_status(f, (int) gone);
        assert_int_equal(run("status", "--file", f->status, "--cgroup-root", f->cgroot, NULL), 1);
        assert_non_null(strstr(res.out, "(NOT RUNNING: stale status file)"));
        assert_int_equal(run("status", "--json", "--file", f->status, "--cgroup-root", f->cgroot, NULL), 1);

        assert_int_equal(run("status", "--file", "/nonexistent/memgov/status.json", NULL), 1);
        assert_non_null(strstr(res.err, "memgovd is not running"));
        tmptree_write(f->etc, "status.json", "{\"version\": \"9.9\", \"users\": [\n");
        assert_int_equal(run("status", "--file", f->status, NULL), 1);
        assert_non_null(strstr(res.err, "is not a memgovd status file"));
        tmptree_write(f->etc, "status.json", "[1, 2]\n");
        assert_int_equal(run("status", "--file", f->status, NULL), 1);
        assert_int_equal(run("status", "extra", NULL), 2);
        assert_int_equal(run("status", "--bogus", NULL), 2);
}

static void test_verbs(void **state) {
        (void) state;
        assert_int_equal(run(NULL), 2);
        assert_int_equal(run("frobnicate", NULL), 2);
        assert_non_null(strstr(res.err, "unknown verb 'frobnicate'"));
        assert_int_equal(run("--help", NULL), 0);
        assert_non_null(strstr(res.out, "Usage: memgovctl VERB"));
        assert_int_equal(run("--version", NULL), 0);
        assert_memory_equal(res.out, "memgovctl ", 10);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_top_table, setup, teardown),
                cmocka_unit_test_setup_teardown(test_top_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_top_exit_codes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_explain_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_config_good, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_config_bad, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_table, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_exit_codes, setup, teardown),
                cmocka_unit_test(test_verbs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
