/* SPDX-License-Identifier: GPL-2.0-or-later */

/* memgovctl kills against real journal files: the records are written in
 * the journal export format and turned into a .journal file by
 * systemd-journal-remote ($JOURNAL_REMOTE), then read back through
 * --file and --directory. Times are UTC (TZ is set for the children). */

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ctl-run.h"
#include "tmptree.h"

#define KILL_ID "7af93c5dcd9341d5aaf88e53dc7505f8"
#define OOM_ID "24880ba3bc9b45a19cc7b7f6fa4bd95d"
#define WARN_ID "1a8ca5f5ae324f05b9a9bf3fb8a13b3f"
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
/* 2025-06-01 12:00:00 UTC */
#define T0 1748779200ULL

/* One entry: seconds after T0, then FIELD, value pairs, NULL-terminated. */
typedef struct entry {
        unsigned offset;
        const char *fields[48];
} entry;

#define COMMON(uid) "_UID", uid, "SYSLOG_IDENTIFIER", "memgovd", "PRIORITY", "4"

static const entry history[] = {
        { 0, { COMMON("0"), "MESSAGE_ID", KILL_ID, "MEMGOV_EVENT", "kill", "MEMGOV_DRY_RUN", "0",
               "MEMGOV_UID", "1001", "MEMGOV_USER", "kt-alice", "MEMGOV_SLICE", "user.slice/user-1001.slice",
               "MEMGOV_VICTIM_PID", "4242", "MEMGOV_VICTIM_COMM", "hog", "MEMGOV_VICTIM_RSS_BYTES", "1100000000",
               "MEMGOV_VICTIM_FREES_BYTES", "1073741824", "MEMGOV_POLICY", "rss", "MEMGOV_REASON", "max",
               "MEMGOV_SIGNAL", "SIGTERM", "MEMGOV_ROUND_VICTIMS", "1", "MEMGOV_ROUND_INDEX", "1",
               "MESSAGE", "Killed pid 4242 (hog) of kt-alice", NULL } },
        { 600, { COMMON("0"), "MESSAGE_ID", KILL_ID, "MEMGOV_EVENT", "kill", "MEMGOV_DRY_RUN", "0",
                 "MEMGOV_UID", "1002", "MEMGOV_USER", "kt-bob", "MEMGOV_VICTIM_PID", "5151",
                 "MEMGOV_VICTIM_COMM", "python3", "MEMGOV_VICTIM_FREES_BYTES", "536870912",
                 "MEMGOV_POLICY", "badness", "MEMGOV_REASON", "pressure", "MEMGOV_SIGNAL", "SIGKILL",
                 "MEMGOV_ROUND_VICTIMS", "2", "MEMGOV_ROUND_INDEX", "2", "MESSAGE", "Killed pid 5151", NULL } },
        { 1200, { COMMON("0"), "MESSAGE_ID", OOM_ID, "MEMGOV_EVENT", "kernel-oom-kill", "MEMGOV_DRY_RUN", "0",
                  "MEMGOV_UID", "1001", "MEMGOV_USER", "kt-alice", "MEMGOV_VICTIM_PID", "4300",
                  "MEMGOV_VICTIM_COMM", "cc1plus", "MEMGOV_VICTIM_RSS_BYTES", "209715200", "MEMGOV_SOURCE", "kmsg",
                  "MESSAGE", "The kernel OOM-killed pid 4300", NULL } },
        /* The hostile name as memgovd writes it (escaped once)... */
        { 1800, { COMMON("0"), "MESSAGE_ID", KILL_ID, "MEMGOV_EVENT", "kill", "MEMGOV_DRY_RUN", "0",
                  "MEMGOV_UID", "1001", "MEMGOV_USER", "kt-alice", "MEMGOV_VICTIM_PID", "4400",
                  "MEMGOV_VICTIM_COMM", "\\x3c0>a\\nb\\x1b[2J", "MEMGOV_VICTIM_FREES_BYTES", "2048",
                  "MEMGOV_POLICY", "rss", "MEMGOV_REASON", "deadline", "MESSAGE", "Killed pid 4400", NULL } },
        /* ... and raw, as a record not from this memgovd could carry it. */
        { 1860, { COMMON("0"), "MESSAGE_ID", KILL_ID, "MEMGOV_EVENT", "kill", "MEMGOV_DRY_RUN", "1",
                  "MEMGOV_UID", "1001", "MEMGOV_USER", "kt-alice", "MEMGOV_VICTIM_PID", "4401",
                  "MEMGOV_VICTIM_COMM", "<0>a\nb\033[2J", "MEMGOV_VICTIM_FREES_BYTES", "4096",
                  "MEMGOV_POLICY", "rss", "MEMGOV_REASON", "max", "MESSAGE", "Would kill pid 4401", NULL } },
        /* Not kills: a warning, and a forged kill a user sent (journald sets _UID). */
        { 2400, { COMMON("0"), "MESSAGE_ID", WARN_ID, "MEMGOV_EVENT", "warn", "MEMGOV_UID", "1001",
                  "MEMGOV_USER", "kt-alice", "MESSAGE", "warned", NULL } },
        { 2460, { COMMON("1001"), "MESSAGE_ID", KILL_ID, "MEMGOV_EVENT", "kill", "MEMGOV_UID", "1002",
                  "MEMGOV_USER", "kt-bob", "MEMGOV_VICTIM_PID", "1", "MEMGOV_VICTIM_COMM", "forged",
                  "MEMGOV_POLICY", "rss", "MEMGOV_REASON", "max", "MESSAGE", "Killed pid 1", NULL } },
};

typedef struct fixture {
        char *dir;
        char journal[512];         /* the history above */
        char quiet[512];           /* only the warning and the forged kill */
        char journal_dir[512];     /* a directory holding a copy of the history */
} fixture;

static void export_field(FILE *f, const char *name, const char *value) {
        size_t len = strlen(value);

        /* Values with a newline take the binary form: name, newline, length. */
        if (memchr(value, '\n', len)) {
                uint64_t le = htole64((uint64_t) len);

                fprintf(f, "%s\n", name);
                fwrite(&le, sizeof le, 1, f);
                fwrite(value, 1, len, f);
                fputc('\n', f);
        } else
                fprintf(f, "%s=%s\n", name, value);
}

/* Writes ENTRIES as export text and converts it into the journal file OUT. */
static void make_journal(const char *dir, const entry *entries, size_t n, const char *out) {
        const char *remote = getenv("JOURNAL_REMOTE");
        char export[600];
        FILE *f;
        pid_t pid;
        int st;

        assert_non_null(remote);
        snprintf(export, sizeof export, "%s/records.export", dir);
        f = fopen(export, "we");
        assert_non_null(f);
        for (size_t i = 0; i < n; i++) {
                char t[32], m[32];

                snprintf(t, sizeof t, "%llu", (T0 + entries[i].offset) * 1000000ULL);
                snprintf(m, sizeof m, "%llu", (entries[i].offset + 1ULL) * 1000000ULL);
                export_field(f, "__REALTIME_TIMESTAMP", t);
                export_field(f, "__MONOTONIC_TIMESTAMP", m);
                export_field(f, "_BOOT_ID", "0123456789abcdef0123456789abcdef");
                for (size_t k = 0; entries[i].fields[k]; k += 2)
                        export_field(f, entries[i].fields[k], entries[i].fields[k + 1]);
                fputc('\n', f);
        }
        assert_int_equal(fclose(f), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int in = open(export, O_RDONLY | O_CLOEXEC), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (in < 0 || null < 0 || dup2(in, 0) < 0 || dup2(null, 2) < 0)
                        _exit(126);
                execl(remote, remote, "-o", out, "-", (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                print_error("%s -o %s failed (status %d): install Debian's systemd-journal-remote\n", remote, out,
                            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
                fail();
        }
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);
        char copy[600];

        assert_non_null(f);
        f->dir = tmptree_new();
        snprintf(f->journal, sizeof f->journal, "%s/history.journal", f->dir);
        snprintf(f->quiet, sizeof f->quiet, "%s/quiet.journal", f->dir);
        snprintf(f->journal_dir, sizeof f->journal_dir, "%s/dir", f->dir);
        make_journal(f->dir, history, ELEMENTSOF(history), f->journal);
        make_journal(f->dir, history + 5, 2, f->quiet);
        tmptree_mkdir(f->dir, "dir");
        snprintf(copy, sizeof copy, "%s/system.journal", f->journal_dir);
        make_journal(f->dir, history, ELEMENTSOF(history), copy);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        tmptree_free(f->dir);
        free(f);
        return 0;
}

#define HEADER "TIME                 USER            UID     PID  NAME               FREED  POLICY   REASON\n"
#define LINE_ALICE "2025-06-01 12:00:00  kt-alice       1001    4242  hog                 1.0G  rss      max\n"
#define LINE_BOB "2025-06-01 12:10:00  kt-bob         1002    5151  python3             512M  badness  pressure\n"
#define LINE_OOM "2025-06-01 12:20:00  kt-alice       1001    4300  cc1plus             200M  -        kernel-oom\n"
#define LINE_HOSTILE "2025-06-01 12:30:00  kt-alice       1001    4400  \\x3c0>a\\nb\\x1b[2J    2.0K  rss      deadline\n"
#define LINE_DRY "2025-06-01 12:31:00  kt-alice       1001    4401  \\x3c0>a\\nb\\x1b[2J    4.0K  rss      max (dry run: nothing killed)\n"

static void test_table(void **state) {
        fixture *f = *state;

        assert_int_equal(run("kills", "--file", f->journal, NULL), 0);
        /* Every kill, in order, exactly; not the warning, not the forged record. */
        assert_string_equal(res.out, HEADER LINE_ALICE LINE_BOB LINE_OOM LINE_HOSTILE LINE_DRY);
        assert_string_equal(res.err, "");
        assert_null(strchr(res.out, '\033'));
        assert_null(strstr(res.out, "forged"));

        /* A directory of journal files reads the same. */
        assert_int_equal(run("kills", "--directory", f->journal_dir, NULL), 0);
        assert_string_equal(res.out, HEADER LINE_ALICE LINE_BOB LINE_OOM LINE_HOSTILE LINE_DRY);
}

static json_object *kill_at(json_object *array, size_t i) {
        json_object *o = json_object_array_get_idx(array, i);
        assert_non_null(o);
        assert_true(json_object_is_type(o, json_type_object));
        return o;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        assert_true(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *key) {
        json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        assert_true(json_object_is_type(v, json_type_int));
        return json_object_get_int64(v);
}

static void assert_field_null(json_object *o, const char *key) {
        json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        assert_null(v);
}

static bool get_bool(json_object *o, const char *key) {
        json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        assert_true(json_object_is_type(v, json_type_boolean));
        return json_object_get_boolean(v);
}

static void test_json(void **state) {
        fixture *f = *state;
        json_object *root, *o;

        assert_int_equal(run("kills", "--json", "--file", f->journal, NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_true(json_object_is_type(root, json_type_array));
        assert_int_equal(json_object_array_length(root), 5);

        o = kill_at(root, 0);
        assert_int_equal(get_int(o, "time_usec"), (int64_t) T0 * 1000000);
        assert_string_equal(get_string(o, "time"), "2025-06-01 12:00:00");
        assert_string_equal(get_string(o, "event"), "kill");
        assert_false(get_bool(o, "dry_run"));
        assert_int_equal(get_int(o, "uid"), 1001);
        assert_string_equal(get_string(o, "user"), "kt-alice");
        assert_int_equal(get_int(o, "pid"), 4242);
        assert_string_equal(get_string(o, "comm"), "hog");
        assert_int_equal(get_int(o, "freed_bytes"), 1073741824);
        assert_int_equal(get_int(o, "rss_bytes"), 1100000000);
        assert_string_equal(get_string(o, "policy"), "rss");
        assert_string_equal(get_string(o, "reason"), "max");
        assert_string_equal(get_string(o, "signal"), "SIGTERM");
        assert_int_equal(get_int(o, "round_index"), 1);
        assert_int_equal(get_int(o, "round_victims"), 1);
        assert_string_equal(get_string(o, "slice"), "user.slice/user-1001.slice");
        assert_field_null(o, "source");

        o = kill_at(root, 1);
        assert_string_equal(get_string(o, "user"), "kt-bob");
        assert_int_equal(get_int(o, "uid"), 1002);
        assert_int_equal(get_int(o, "freed_bytes"), 536870912);
        assert_string_equal(get_string(o, "policy"), "badness");
        assert_string_equal(get_string(o, "reason"), "pressure");
        assert_int_equal(get_int(o, "round_index"), 2);
        assert_field_null(o, "rss_bytes");

        /* The kernel's kill: what the victim held, no policy. */
        o = kill_at(root, 2);
        assert_string_equal(get_string(o, "event"), "kernel-oom-kill");
        assert_int_equal(get_int(o, "pid"), 4300);
        assert_string_equal(get_string(o, "comm"), "cc1plus");
        assert_int_equal(get_int(o, "rss_bytes"), 209715200);
        assert_field_null(o, "freed_bytes");
        assert_field_null(o, "policy");
        assert_string_equal(get_string(o, "reason"), "kernel-oom");
        assert_string_equal(get_string(o, "source"), "kmsg");

        /* Both hostile records give the same name: the bytes, with json-c's
         * \u00XX for the controls; a consumer gets them back as they were. */
        o = kill_at(root, 3);
        assert_string_equal(get_string(o, "comm"), "<0>a\nb\033[2J");
        assert_false(get_bool(o, "dry_run"));
        o = kill_at(root, 4);
        assert_string_equal(get_string(o, "comm"), "<0>a\nb\033[2J");
        assert_true(get_bool(o, "dry_run"));
        assert_null(strchr(res.out, '\033'));
        /* One line: no raw newline inside a value. */
        assert_ptr_equal(strchr(res.out, '\n'), res.out + strlen(res.out) - 1);
        json_object_put(root);
}

static void test_user(void **state) {
        fixture *f = *state;
        json_object *root;

        /* By a name this machine does not know: the name in the records. */
        assert_int_equal(run("kills", "--user", "kt-alice", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, HEADER LINE_ALICE LINE_OOM LINE_HOSTILE LINE_DRY);
        /* By UID; the forged record for 1002 stays out. */
        assert_int_equal(run("kills", "--user", "1002", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, HEADER LINE_BOB);
        assert_int_equal(run("kills", "--json", "--user", "1001", "--file", f->journal, NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_int_equal(json_object_array_length(root), 4);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(get_int(kill_at(root, i), "uid"), 1001);
        json_object_put(root);
        assert_int_equal(run("kills", "--user", "kt-carol", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, "No kills recorded.\n");
}

static void test_since_until(void **state) {
        fixture *f = *state;
        json_object *root;

        /* Both ends included. */
        assert_int_equal(run("kills", "--since", "2025-06-01 12:10", "--until", "2025-06-01 12:20:00", "--file",
                             f->journal, NULL), 0);
        assert_string_equal(res.out, HEADER LINE_BOB LINE_OOM);
        assert_int_equal(run("kills", "--since", "2025-06-01 12:00:01", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, HEADER LINE_BOB LINE_OOM LINE_HOSTILE LINE_DRY);
        assert_int_equal(run("kills", "--until", "2025-06-01", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, "No kills recorded.\n");
        assert_int_equal(run("kills", "--since", "2025-06-02", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, "No kills recorded.\n");
        /* As the VM scenarios will ask: one user's kills after a point in time. */
        assert_int_equal(run("kills", "--json", "--user", "kt-alice", "--since", "2025-06-01 12:25", "--file",
                             f->journal, NULL), 0);
        root = json_tokener_parse(res.out);
        assert_non_null(root);
        assert_int_equal(json_object_array_length(root), 2);
        assert_int_equal(get_int(kill_at(root, 0), "pid"), 4400);
        assert_int_equal(get_int(kill_at(root, 1), "pid"), 4401);
        json_object_put(root);
        /* Seconds since the epoch, as a script takes them with `date +@%s`. */
        assert_int_equal(run("kills", "--since", "@1748781000", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, HEADER LINE_HOSTILE LINE_DRY);
        /* Relative to now: these kills were long ago. */
        assert_int_equal(run("kills", "--since", "-2h", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, "No kills recorded.\n");
        assert_int_equal(run("kills", "--since", "yesterday", "--until", "now", "--file", f->journal, NULL), 0);
        assert_string_equal(res.out, "No kills recorded.\n");
}

static void test_none(void **state) {
        fixture *f = *state;

        assert_int_equal(run("kills", "--file", f->quiet, NULL), 0);
        assert_string_equal(res.out, "No kills recorded.\n");
        assert_int_equal(run("kills", "--json", "--file", f->quiet, NULL), 0);
        assert_string_equal(res.out, "[]\n");
}

static void test_usage(void **state) {
        fixture *f = *state;

        assert_int_equal(run("kills", "--since", "last tuesday", "--file", f->journal, NULL), 2);
        assert_string_equal(res.out, "");
        assert_non_null(strstr(res.err, "memgovctl kills: invalid time 'last tuesday' for --since"));
        assert_int_equal(run("kills", "--until", "2025-02-30", "--file", f->journal, NULL), 2);
        assert_non_null(strstr(res.err, "invalid time '2025-02-30' for --until"));
        /* The bad text comes back escaped. */
        assert_int_equal(run("kills", "--since", "\033[2J", NULL), 2);
        assert_non_null(strstr(res.err, "invalid time '\\x1b[2J'"));
        assert_null(strchr(res.err, '\033'));
        assert_int_equal(run("kills", "--since", NULL), 2);
        assert_int_equal(run("kills", "--bogus", NULL), 2);
        assert_int_equal(run("kills", "extra", NULL), 2);
        assert_int_equal(run("kills", "--directory", f->journal_dir, "--file", f->journal, NULL), 2);
        assert_int_equal(run("kills", "--help", NULL), 0);
        assert_non_null(strstr(res.out, "Usage: memgovctl kills"));
        /* A journal that cannot be read is a problem, not a usage error. */
        assert_int_equal(run("kills", "--file", "/nonexistent/memgov.journal", NULL), 1);
        assert_non_null(strstr(res.err, "cannot open the journal file /nonexistent/memgov.journal"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_table, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_since_until, setup, teardown),
                cmocka_unit_test_setup_teardown(test_none, setup, teardown),
                cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
        };

        setenv("TZ", "UTC0", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
