/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "tmptree.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define TiB (1024 * GiB)
#define SEC USEC_PER_SEC
#define PHYSMEM (8 * GiB)

typedef struct errors {
        size_t n;
        char msg[32][512];
} errors;

static char *root;
static errors errs;
static config_set *set;

/* Messages as "FILE:LINE: message", FILE relative to the test's tree. */
static void on_error(void *userdata, const char *file, unsigned line, const char *message) {
        errors *e = userdata;
        size_t n = strlen(root);

        if (strncmp(file, root, n) == 0 && file[n] == '/')
                file += n + 1;
        assert_true(e->n < ELEMENTSOF(e->msg));
        snprintf(e->msg[e->n++], sizeof e->msg[0], "%s:%u: %s", file, line, message);
}

static int setup(_unused_ void **state) {
        root = tmptree_new();
        errs.n = 0;
        set = NULL;
        return 0;
}

static int teardown(_unused_ void **state) {
        config_set_free(set);
        set = NULL;
        tmptree_free(root);
        return 0;
}

static int load_path(const char *path) {
        config_set_free(set);
        set = NULL;
        errs.n = 0;
        return config_load(path, PHYSMEM, on_error, &errs, &set);
}

static int load(void) {
        char path[PATH_MAX];

        snprintf(path, sizeof path, "%s/memgov.conf", root);
        return load_path(path);
}

static void load_ok(void) {
        int r = load();

        for (size_t i = 0; i < errs.n; i++)
                print_message("unexpected error: %s\n", errs.msg[i]);
        assert_int_equal(r, 0);
        assert_int_equal(errs.n, 0);
        assert_non_null(set);
}

/* The load fails with exactly these messages, in this order. */
static void load_fails(const char *const *expected) {
        size_t n = 0;

        assert_int_equal(load(), -EINVAL);
        assert_null(set);
        for (; expected[n]; n++)
                if (n >= errs.n || strcmp(errs.msg[n], expected[n]) != 0)
                        fail_msg("error %zu: expected \"%s\", got \"%s\"", n, expected[n],
                                 n < errs.n ? errs.msg[n] : "(none)");
        assert_int_equal(errs.n, n);
}

#define LOAD_FAILS(...) load_fails((const char *const[]) { __VA_ARGS__, NULL })

static user_config resolve(uid_t uid, const char *user, char *const *groups) {
        user_config uc;

        config_resolve_user(set, uid, user, groups, &uc);
        return uc;
}

#define GROUPS(...) ((char *const[]) { __VA_ARGS__, NULL })

static void assert_strv(char *const *strv, const char *const *expected) {
        size_t n = 0;

        for (; expected[n]; n++) {
                assert_non_null(strv);
                assert_non_null(strv[n]);
                assert_string_equal(strv[n], expected[n]);
        }
        assert_true(!strv || !strv[n]);
}

#define ASSERT_STRV(strv, ...) assert_strv(strv, (const char *const[]) { __VA_ARGS__ })

static void assert_uc_equal(const user_config *a, const user_config *b) {
        assert_int_equal(a->memory_high, b->memory_high);
        assert_int_equal(a->memory_max, b->memory_max);
        assert_int_equal(a->memory_swap_max, b->memory_swap_max);
        assert_int_equal(a->n_warn, b->n_warn);
        assert_memory_equal(a->warn, b->warn, a->n_warn * sizeof a->warn[0]);
        assert_int_equal(a->pressure_some, b->pressure_some);
        assert_int_equal(a->pressure_full, b->pressure_full);
        assert_int_equal(a->pressure_duration, b->pressure_duration);
        assert_int_equal(a->throttle_deadline, b->throttle_deadline);
        assert_int_equal(a->policy, b->policy);
        assert_int_equal(a->kill_scope, b->kill_scope);
        assert_int_equal(a->kill_grace, b->kill_grace);
        assert_int_equal(a->cooldown, b->cooldown);
        assert_int_equal(strv_length(a->protect), strv_length(b->protect));
        for (size_t i = 0; i < strv_length(a->protect); i++)
                assert_string_equal(a->protect[i], b->protect[i]);
}

static void assert_defaults(const config_set *c) {
        user_config d;
        governor_config g;

        user_config_defaults(PHYSMEM, &d);
        governor_config_defaults(&g);
        assert_uc_equal(&c->defaults, &d);
        assert_int_equal(c->governor.dry_run, g.dry_run);
        assert_int_equal(c->governor.min_uid, g.min_uid);
        assert_int_equal(c->governor.pressure_window, g.pressure_window);
        assert_int_equal(c->governor.notify_users, g.notify_users);
        assert_null(c->governor.metrics_file);
}

/* conf/ in the source tree, found from this file's path: meson compiles
 * with paths relative to the build root, and runs the tests there. */
static char *source_conf(const char *file) {
        const char *slash = strrchr(__FILE__, '/');
        char *p;

        if (asprintf(&p, "%.*s/../../conf/%s", slash ? (int) (slash - __FILE__) : 1, slash ? __FILE__ : ".",
                     file) < 0)
                abort();
        return p;
}

static char *slurp(const char *path) {
        FILE *f = fopen(path, "re");
        char *s = NULL;
        size_t n = 0;

        if (!f)
                fail_msg("cannot open %s (run from the build root?): %m", path);
        assert_true(getdelim(&s, &n, 0, f) > 0);
        fclose(f);
        return s;
}

static void test_builtin_defaults(_unused_ void **state) {
        user_config d;
        governor_config g;

        user_config_defaults(PHYSMEM, &d);
        assert_int_equal(d.memory_max, 4 * GiB);
        assert_int_equal(d.memory_high, PHYSMEM * 45 / 100);
        assert_int_equal(d.memory_swap_max, BYTES_INFINITY);
        assert_int_equal(d.n_warn, 2);
        assert_int_equal(d.warn[0], 8000);
        assert_int_equal(d.warn[1], 9500);
        assert_int_equal(d.pressure_some, 1000);
        assert_int_equal(d.pressure_full, 0);
        assert_int_equal(d.pressure_duration, 5 * SEC);
        assert_int_equal(d.throttle_deadline, 20 * SEC);
        assert_int_equal(d.policy, POLICY_GROWTH);
        assert_int_equal(d.kill_scope, KILL_SCOPE_PROCESS);
        assert_int_equal(d.kill_grace, 2 * SEC);
        assert_int_equal(d.cooldown, 5 * SEC);
        assert_null(d.protect);
        user_config_defaults(0, &d);
        assert_int_equal(d.memory_max, BYTES_INFINITY);
        assert_int_equal(d.memory_high, BYTES_INFINITY);

        governor_config_defaults(&g);
        assert_false(g.dry_run);
        assert_int_equal(g.min_uid, 1000);
        assert_int_equal(g.pressure_window, SEC);
        assert_true(g.notify_users);
        assert_null(g.metrics_file);
}

static void test_missing_main_file(_unused_ void **state) {
        load_ok();
        assert_defaults(set);
        assert_int_equal(set->n_groups + set->n_users, 0);
        /* The drop-ins still count. */
        tmptree_write(root, "users.d/1000.conf", "MemoryMax=1G\n");
        load_ok();
        assert_defaults(set);
        assert_int_equal(resolve(1000, NULL, NULL).memory_max, GiB);
        assert_int_equal(load_path("/nonexistent/memgov/memgov.conf"), 0);
        assert_defaults(set);
}

/* The shipped memgov.conf documents every key with its default: parsed as
 * shipped, and with each "#Key=value" uncommented, it gives the built-in
 * defaults. Its own users.d/ and groups.d/ hold only *.example files. */
static void test_shipped_conf(_unused_ void **state) {
        static const char *const keys[] = {
                "DryRun", "MinUid", "PressureWindow", "NotifyUsers", "MetricsFile", "MemoryHigh",
                "MemoryMax", "MemorySwapMax", "Warn", "PressureSome", "PressureFull", "PressureDuration",
                "ThrottleDeadline", "Policy", "KillScope", "KillGrace", "Protect", "Cooldown",
                "ShortageMemoryFloor", "ShortageSwapFloor", "ShortagePressure", "ShortageDuration", "FairShare",
        };
        _cleanup_free_ char *path = source_conf("memgov.conf"), *text = slurp(path);
        char *line, *save, needle[64], copy[PATH_MAX];
        FILE *out;

        assert_int_equal(load_path(path), 0);
        assert_defaults(set);

        snprintf(copy, sizeof copy, "%s/memgov.conf", root);
        out = fopen(copy, "we");
        assert_non_null(out);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                fprintf(out, "%s\n", line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' ? line + 1 : line);
        fclose(out);
        free(text);
        text = slurp(copy);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                snprintf(needle, sizeof needle, "\n%s=", keys[i]);
                if (!strstr(text, needle))
                        fail_msg("conf/memgov.conf does not document %s=", keys[i]);
        }
        load_ok();
        assert_defaults(set);
}

static void test_shipped_examples(_unused_ void **state) {
        _cleanup_free_ char *main_conf = source_conf("memgov.conf"), *alice = source_conf("users.d/alice.conf.example"),
                *students = source_conf("groups.d/students.conf.example");
        _cleanup_free_ char *a = slurp(alice), *s = slurp(students), *m = slurp(main_conf);
        user_config uc;

        tmptree_write(root, "memgov.conf", m);
        tmptree_write(root, "users.d/alice.conf", a);
        tmptree_write(root, "groups.d/students.conf", s);
        load_ok();

        uc = resolve(1002, "bob", GROUPS("users", "students"));
        assert_int_equal(uc.memory_high, 3 * GiB);
        assert_int_equal(uc.memory_max, 4 * GiB);
        assert_int_equal(uc.memory_swap_max, 0);
        assert_int_equal(uc.n_warn, 3);
        assert_int_equal(uc.warn[0], 5000);
        assert_int_equal(uc.warn[1], 7500);
        assert_int_equal(uc.warn[2], 9000);
        assert_int_equal(uc.policy, POLICY_RSS);
        assert_int_equal(uc.pressure_duration, 2 * SEC);
        assert_int_equal(uc.cooldown, 10 * SEC);
        ASSERT_STRV(uc.protect, "vim", "nvim", "emacs*", NULL);

        uc = resolve(1001, "alice", GROUPS("students"));
        assert_int_equal(uc.memory_high, 14 * GiB);
        assert_int_equal(uc.memory_max, 16 * GiB);
        assert_int_equal(uc.memory_swap_max, 0);
        assert_int_equal(uc.pressure_duration, 10 * SEC);
        assert_int_equal(uc.throttle_deadline, 60 * SEC);
        assert_int_equal(uc.kill_scope, KILL_SCOPE_CGROUP);
        assert_int_equal(uc.cooldown, 10 * SEC);
        ASSERT_STRV(uc.protect, "buildkitd", "sccache*", NULL);
}

static void test_governor_keys(_unused_ void **state) {
        tmptree_write(root, "memgov.conf",
                      "[Governor]\nDryRun=yes\nMinUid=500\nPressureWindow=2s\nNotifyUsers=off\n"
                      "MetricsFile=/run/memgov/metrics.prom\n");
        load_ok();
        assert_true(set->governor.dry_run);
        assert_int_equal(set->governor.min_uid, 500);
        assert_int_equal(set->governor.pressure_window, 2 * SEC);
        assert_false(set->governor.notify_users);
        assert_string_equal(set->governor.metrics_file, "/run/memgov/metrics.prom");
        /* Shortage defaults. */
        assert_int_equal(set->governor.shortage_memory_floor, 1000);
        assert_int_equal(set->governor.shortage_swap_floor, 5000);
        assert_int_equal(set->governor.shortage_pressure, 1000);
        assert_int_equal(set->governor.shortage_duration, 5 * SEC);
        assert_int_equal(set->governor.fair_share, FAIR_SHARE_EQUAL);
        assert_int_equal(set->governor.shortage_growth_window, 60 * SEC);

        tmptree_write(root, "memgov.conf",
                      "[Governor]\nShortageMemoryFloor=2%\nShortageSwapFloor=100%\nShortagePressure=25%\n"
                      "ShortageDuration=1.5s\nFairShare=budget\nShortageGrowthWindow=0\n");
        load_ok();
        assert_int_equal(set->governor.shortage_memory_floor, 200);
        assert_int_equal(set->governor.shortage_swap_floor, 10000);
        assert_int_equal(set->governor.shortage_pressure, 2500);
        assert_int_equal(set->governor.shortage_duration, 1500 * 1000);
        assert_int_equal(set->governor.fair_share, FAIR_SHARE_BUDGET);
        assert_int_equal(set->governor.shortage_growth_window, 0);
        assert_string_equal(fair_share_kind_to_string(FAIR_SHARE_BUDGET), "budget");
        /* Off. */
        tmptree_write(root, "memgov.conf", "[Governor]\nShortageMemoryFloor=0\n");
        load_ok();
        assert_int_equal(set->governor.shortage_memory_floor, 0);

        /* Bounds are inclusive; an empty MetricsFile= turns a set one off again. */
        tmptree_write(root, "memgov.conf",
                      "[Governor]\nMinUid=0\nPressureWindow=500ms\nMetricsFile=/x\nMetricsFile=\n");
        tmptree_write(root, "memgov.conf.d/a.conf", "[Governor]\nPressureWindow=10s\nMinUid=4294967294\n");
        load_ok();
        assert_int_equal(set->governor.pressure_window, 10 * SEC);
        assert_int_equal(set->governor.min_uid, 4294967294U);
        assert_null(set->governor.metrics_file);
}

static void test_defaults_keys(_unused_ void **state) {
        const user_config *d;

        tmptree_write(root, "memgov.conf",
                      "[Defaults]\nMemoryHigh=3G\nMemoryMax=4G\nMemorySwapMax=512M\nWarn=70%\n"
                      "PressureSome=20%\nPressureFull=5%\nPressureDuration=3s\nThrottleDeadline=infinity\n"
                      "Policy=runtime\nKillScope=cgroup\nKillGrace=500ms\nProtect=sshd tmux*\nCooldown=1min\n");
        load_ok();
        d = &set->defaults;
        assert_int_equal(d->memory_high, 3 * GiB);
        assert_int_equal(d->memory_max, 4 * GiB);
        assert_int_equal(d->memory_swap_max, 512 * MiB);
        assert_int_equal(d->n_warn, 1);
        assert_int_equal(d->warn[0], 7000);
        assert_int_equal(d->pressure_some, 2000);
        assert_int_equal(d->pressure_full, 500);
        assert_int_equal(d->pressure_duration, 3 * SEC);
        assert_int_equal(d->throttle_deadline, USEC_INFINITY);
        assert_int_equal(d->policy, POLICY_RUNTIME);
        assert_int_equal(d->kill_scope, KILL_SCOPE_CGROUP);
        assert_int_equal(d->kill_grace, 500 * USEC_PER_MSEC);
        assert_int_equal(d->cooldown, 60 * SEC);
        ASSERT_STRV(d->protect, "sshd", "tmux*", NULL);
}

/* One users.d/UID.conf per syntax, each resolved on its own. */
static void test_value_syntaxes(_unused_ void **state) {
        static const struct {
                const char *line;
                uint64_t bytes;
                usec_t usec;
                unsigned share;
        } t[] = {
                { "MemoryMax=512\nKillGrace=0\nPressureSome=0", 512, 0, 0 },
                { "MemoryMax=100K\nKillGrace=100us\nPressureSome=", 100 * KiB, 100, 0 },
                { "MemoryMax=1.5G\nKillGrace=1.5s\nPressureSome=12.5%", 3 * GiB / 2, 3 * SEC / 2, 1250 },
                { "MemoryMax=2T\nKillGrace=2min\nPressureSome=0.5", 2 * TiB, 120 * SEC, 5000 },
                { "MemoryMax=25%\nKillGrace=250ms\nPressureSome=100%", 2 * GiB, 250 * USEC_PER_MSEC, 10000 },
                { "MemoryMax=infinity\nKillGrace=3\nPressureSome=1%", BYTES_INFINITY, 3 * SEC, 100 },
                { "MemoryMax=0\nKillGrace=1h\nPressureSome=0%", 0, 3600 * SEC, 0 },
        };
        char name[32];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                snprintf(name, sizeof name, "users.d/%zu.conf", i);
                tmptree_writef(root, name, "%s\n", t[i].line);
        }
        tmptree_write(root, "memgov.conf", "[Governor]\nDryRun=TRUE\nNotifyUsers=0\n");
        load_ok();
        assert_true(set->governor.dry_run);
        assert_false(set->governor.notify_users);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                user_config uc = resolve((uid_t) i, NULL, NULL);

                assert_int_equal(uc.memory_max, t[i].bytes);
                assert_int_equal(uc.kill_grace, t[i].usec);
                assert_int_equal(uc.pressure_some, t[i].share);
        }
}

/* Each line alone under its section is exactly one "Invalid" error on line 2. */
static void check_bad_values(const char *section, const char *const (*t)[2], size_t n) {
        char expected[512];

        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(t[i][0], '=');

                tmptree_writef(root, "memgov.conf", "[%s]\n%s\n", section, t[i][0]);
                snprintf(expected, sizeof expected, "memgov.conf:2: Invalid %.*s= value '%s': %s",
                         (int) (eq - t[i][0]), t[i][0], eq + 1, t[i][1]);
                LOAD_FAILS(expected);
        }
}

#define BYTES_WHY "expected bytes with K/M/G/T suffix, N%, or infinity"
#define USEC_WHY "expected a duration such as 500ms, 2s or 1min"
#define SHARE_WHY "expected a percentage from 0% to 100%, or 0 to turn it off"

static void test_bad_bytes_and_shares(_unused_ void **state) {
        static const char *const t[][2] = {
                { "MemoryMax=12Q", BYTES_WHY },
                { "MemoryMax=-1G", BYTES_WHY },
                { "MemoryMax=1.5", BYTES_WHY },
                { "MemoryMax=", BYTES_WHY },
                { "MemoryMax=1G 2G", BYTES_WHY },
                { "MemoryHigh=99999999999T", BYTES_WHY },
                { "MemorySwapMax=150%", BYTES_WHY },
                { "PressureSome=150%", SHARE_WHY },
                { "PressureSome=10", SHARE_WHY },
                { "PressureFull=-5%", SHARE_WHY },
                { "PressureFull=x", SHARE_WHY },
        };

        check_bad_values("Defaults", t, ELEMENTSOF(t));
}

static void test_bad_durations(_unused_ void **state) {
        static const char *const d[][2] = {
                { "KillGrace=5x", USEC_WHY },
                { "KillGrace=-1s", USEC_WHY },
                { "KillGrace=", USEC_WHY },
                { "KillGrace=infinity", "must be finite" },
                { "Cooldown=infinity", "must be finite" },
                { "PressureDuration=99999999999h", USEC_WHY },
                { "ThrottleDeadline=0", "must be more than 0; use infinity to turn it off" },
        };
        static const char *const g[][2] = {
                { "PressureWindow=20s", "must be between 500ms and 10s" },
                { "PressureWindow=499ms", "must be between 500ms and 10s" },
                { "PressureWindow=1x", USEC_WHY },
        };

        check_bad_values("Defaults", d, ELEMENTSOF(d));
        check_bad_values("Governor", g, ELEMENTSOF(g));
}

static void test_bad_other_values(_unused_ void **state) {
        static const char *const d[][2] = {
                { "Warn=0%", "level '0%' is not a percentage from 1% to 100%" },
                { "Warn=80%,101%", "level '101%' is not a percentage from 1% to 100%" },
                { "Warn=80%;95%", "level '80%;95%' is not a percentage from 1% to 100%" },
                { "Warn=1% 2% 3% 4% 5% 6% 7% 8% 9%", "at most 8 distinct levels" },
                { "Policy=oom", "expected rss, runtime, badness or growth" },
                { "Policy=RSS", "expected rss, runtime, badness or growth" },
                { "KillScope=user", "expected process or cgroup" },
        };
        static const char *const g[][2] = {
                { "DryRun=maybe", "expected yes or no" },
                { "NotifyUsers=2", "expected yes or no" },
                { "MinUid=-1", "expected a UID from 0 to 4294967294" },
                { "MinUid=4294967295", "expected a UID from 0 to 4294967294" },
                { "MinUid=99999999999999999999", "expected a UID from 0 to 4294967294" },
                { "MinUid=alice", "expected a UID from 0 to 4294967294" },
                { "MetricsFile=metrics.prom", "expected an absolute path, or nothing to turn it off" },
                { "ShortageMemoryFloor=5G", "expected a percentage from 0% to 100%, or 0 to turn it off" },
                { "ShortageSwapFloor=101%", "expected a percentage from 0% to 100%, or 0 to turn it off" },
                { "ShortageDuration=infinity", "must be finite" },
                { "ShortageDuration=soon", "expected a duration such as 500ms, 2s or 1min" },
                { "FairShare=fair", "expected equal or budget" },
                { "FairShare=Equal", "expected equal or budget" },
        };

        check_bad_values("Defaults", d, ELEMENTSOF(d));
        check_bad_values("Governor", g, ELEMENTSOF(g));
}

static void test_warn_levels(_unused_ void **state) {
        tmptree_write(root, "memgov.conf", "[Defaults]\nWarn=95% 80%,80% ,, 0.5\t1\n");
        tmptree_write(root, "users.d/1.conf", "Warn=\n");
        tmptree_write(root, "users.d/2.conf", "Warn=8% 7% 6% 5% 4% 3% 2% 1% 1%\n");
        load_ok();
        /* "0.5" and "1" are bare fractions: 50% and 100%. */
        assert_int_equal(set->defaults.n_warn, 4);
        assert_int_equal(set->defaults.warn[0], 5000);
        assert_int_equal(set->defaults.warn[1], 8000);
        assert_int_equal(set->defaults.warn[2], 9500);
        assert_int_equal(set->defaults.warn[3], 10000);
        assert_int_equal(resolve(1, NULL, NULL).n_warn, 0);
        assert_int_equal(resolve(2, NULL, NULL).n_warn, 8);
        assert_int_equal(resolve(2, NULL, NULL).warn[0], 100);
        assert_int_equal(resolve(2, NULL, NULL).warn[7], 800);
}

static void test_unknown_key_and_section(_unused_ void **state) {
        tmptree_write(root, "memgov.conf",
                      "# comment\n[Defaults]\nMemoryHgh=1G\nmemorymax=1G\nDryRun=yes\n[Limits]\n"
                      "MemoryMax=1G\nBogus=1\n[Governor]\nProtect=x\n");
        LOAD_FAILS("memgov.conf:3: Unknown key 'MemoryHgh' in section [Defaults]",
                   "memgov.conf:4: Unknown key 'memorymax' in section [Defaults] (did you mean 'MemoryMax'?)",
                   "memgov.conf:5: Unknown key 'DryRun' in section [Defaults] (it belongs in [Governor])",
                   "memgov.conf:6: Unknown section [Limits]: expected [Governor] or [Defaults]",
                   "memgov.conf:10: Unknown key 'Protect' in section [Governor] (it belongs in [Defaults])");
}

static void test_key_without_equals(_unused_ void **state) {
        tmptree_write(root, "memgov.conf",
                      "[Defaults]\nMemoryMax 2G\nPolicy: rss\nKillGrace=3s\nProtect ; x=y\nCooldown\n");
        LOAD_FAILS("memgov.conf:2: Missing '=' in line 'MemoryMax 2G': expected Key=value",
                   "memgov.conf:3: Missing '=' in line 'Policy: rss': expected Key=value",
                   "memgov.conf:5: Missing '=' in line 'Protect ; x=y': expected Key=value",
                   "memgov.conf:6: Missing '=' in line 'Cooldown': expected Key=value");
}

static void test_long_lines(_unused_ void **state) {
        char line[256];

        /* 199 characters is the most inih reads in one piece. */
        snprintf(line, sizeof line, "Protect=%0191d", 7);
        assert_int_equal(strlen(line), 199);
        tmptree_writef(root, "memgov.conf", "[Defaults]\n%s\n", line);
        load_ok();
        assert_int_equal(strlen(set->defaults.protect[0]), 191);

        /* Split after 199 characters, the tail would be a valid line of its own. */
        snprintf(line, sizeof line, "Protect=%0191d%-51s", 7, "MemoryMax=1G");
        assert_int_equal(strlen(line), 250);
        tmptree_writef(root, "memgov.conf", "[Defaults]\nProtect=%0192d\n\n%s\nMemoryMax=12Q\n", 7, line);
        LOAD_FAILS("memgov.conf:2: Line is 200 characters long, the limit is 199",
                   "memgov.conf:4: Line is 250 characters long, the limit is 199",
                   "memgov.conf:5: Invalid MemoryMax= value '12Q': " BYTES_WHY);
}

static void test_sections(_unused_ void **state) {
        tmptree_write(root, "memgov.conf", "MemoryMax=1G\n[Defaults]\nMemoryMax=2G\n");
        tmptree_write(root, "groups.d/g.conf", "[Defaults\nMemoryMax=1G\n[Defaults] x\n[Limits]\nA=1\n");
        tmptree_write(root, "users.d/u.conf", "[Governor]\nDryRun=yes\n[Defaults]\nMemoryMax=1G\nDryRun=no\n");
        LOAD_FAILS("memgov.conf:1: Key 'MemoryMax' is outside of any section: put it under [Governor] or [Defaults]",
                   "groups.d/g.conf:1: Missing ']' in section header '[Defaults'",
                   "groups.d/g.conf:3: Unexpected text 'x' after section header [Defaults]",
                   "groups.d/g.conf:4: Unknown section [Limits]: expected [Defaults] or no header",
                   "users.d/u.conf:1: Misplaced section [Governor]: only memgov.conf and memgov.conf.d/ may have it",
                   "users.d/u.conf:5: Unknown key 'DryRun' in section [Defaults] "
                   "(it belongs in [Governor] of memgov.conf or memgov.conf.d/)");

        /* [Defaults] is optional in drop-ins, and may come back after keys. */
        tmptree_write(root, "memgov.conf", "[Defaults] ; the budgets\nMemoryMax=2G\n");
        tmptree_write(root, "groups.d/g.conf", "KillGrace=1s\n[Defaults]\nMemoryMax=1G\n");
        tmptree_write(root, "users.d/u.conf", "[Defaults]\nCooldown=1s\n");
        load_ok();
        assert_int_equal(resolve(5, "u", GROUPS("g")).memory_max, GiB);
        assert_int_equal(resolve(5, "u", GROUPS("g")).kill_grace, SEC);
        assert_int_equal(resolve(5, "u", GROUPS("g")).cooldown, SEC);
}

static void test_comments_and_whitespace(_unused_ void **state) {
        tmptree_write(root, "memgov.conf",
                      "\xEF\xBB\xBF[Defaults]\r\n  MemoryMax = 2G ; two gigs\r\n\tKillGrace=3s\r\n"
                      "; a comment\r\n# another\r\n   # indented\r\nProtect=a;b c\r\n\r\nCooldown= 1s \r\n");
        load_ok();
        assert_int_equal(set->defaults.memory_max, 2 * GiB);
        assert_int_equal(set->defaults.kill_grace, 3 * SEC);
        assert_int_equal(set->defaults.cooldown, SEC);
        ASSERT_STRV(set->defaults.protect, "a;b", "c", NULL);

        /* '#' starts a comment only at the start of a line. */
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=2G # gigs\n");
        LOAD_FAILS("memgov.conf:2: Invalid MemoryMax= value '2G # gigs': " BYTES_WHY);
}

/* Tests run as root, so chmod 000 proves nothing: use a directory where a
 * file belongs, dangling symlinks, and a file where a directory belongs. */
static void test_unreadable(_unused_ void **state) {
        char path[PATH_MAX];

        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=1G\n");
        tmptree_write(root, "memgov.conf.d", "not a directory\n");
        tmptree_mkdir(root, "users.d/bob.conf");
        tmptree_mkdir(root, "groups.d");
        snprintf(path, sizeof path, "%s/groups.d/ghost.conf", root);
        assert_int_equal(symlink("/nonexistent/ghost.conf", path), 0);
        LOAD_FAILS("memgov.conf.d:0: Failed to open directory: Not a directory",
                   "groups.d/ghost.conf:0: Failed to open file: No such file or directory",
                   "users.d/bob.conf:0: Failed to read file: it is a directory");

        tmptree_free(root);
        root = tmptree_new();
        tmptree_mkdir(root, "memgov.conf");
        LOAD_FAILS("memgov.conf:0: Failed to read file: it is a directory");

        /* A missing main file is fine, a dangling symlink is not. */
        tmptree_free(root);
        root = tmptree_new();
        snprintf(path, sizeof path, "%s/memgov.conf", root);
        assert_int_equal(symlink("/nonexistent/memgov.conf", path), 0);
        LOAD_FAILS("memgov.conf:0: Failed to open file: No such file or directory");
}

static void test_every_error_reported(_unused_ void **state) {
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=12Q\n\nPolicy=oom\n");
        tmptree_write(root, "memgov.conf.d/a.conf", "[Governor]\nDryRun=maybe\n");
        tmptree_write(root, "memgov.conf.d/b.conf", "[Defaults]\nFoo=1\n");
        tmptree_write(root, "groups.d/g.conf", "KillScope=user\nWarn=0%\n");
        tmptree_write(root, "users.d/u.conf", "\n\nKillGrace=5x\n");
        LOAD_FAILS("memgov.conf:2: Invalid MemoryMax= value '12Q': " BYTES_WHY,
                   "memgov.conf:4: Invalid Policy= value 'oom': expected rss, runtime, badness or growth",
                   "memgov.conf.d/a.conf:2: Invalid DryRun= value 'maybe': expected yes or no",
                   "memgov.conf.d/b.conf:2: Unknown key 'Foo' in section [Defaults]",
                   "groups.d/g.conf:1: Invalid KillScope= value 'user': expected process or cgroup",
                   "groups.d/g.conf:2: Invalid Warn= value '0%': level '0%' is not a percentage from 1% to 100%",
                   "users.d/u.conf:3: Invalid KillGrace= value '5x': " USEC_WHY);
}

static void test_dropin_order(_unused_ void **state) {
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=1G\nKillGrace=1s\n[Governor]\nMinUid=10\n");
        tmptree_write(root, "memgov.conf.d/9-b.conf", "[Defaults]\nMemoryMax=3G\n[Governor]\nDryRun=yes\n");
        tmptree_write(root, "memgov.conf.d/10-a.conf", "[Defaults]\nMemoryMax=2G\nCooldown=7s\n"
                      "[Governor]\nMinUid=2000\nDryRun=no\n");
        load_ok();
        /* strcmp: "10-a.conf" < "9-b.conf", so 9-b is read last. */
        assert_int_equal(set->defaults.memory_max, 3 * GiB);
        assert_int_equal(set->defaults.kill_grace, SEC);
        assert_int_equal(set->defaults.cooldown, 7 * SEC);
        assert_int_equal(set->governor.min_uid, 2000);
        assert_true(set->governor.dry_run);
}

static void test_dropin_names(_unused_ void **state) {
        tmptree_write(root, "memgov.conf.d/x.conf.example", "garbage\n");
        tmptree_write(root, "memgov.conf.d/x.conf~", "garbage\n");
        tmptree_write(root, "memgov.conf.d/.hidden.conf", "garbage\n");
        tmptree_write(root, "memgov.conf.d/README", "garbage\n");
        tmptree_write(root, "memgov.conf.d/.conf", "garbage\n");
        tmptree_mkdir(root, "memgov.conf.d/sub");
        tmptree_write(root, "memgov.conf.d/a.conf", "[Defaults]\nMemoryMax=1G\n");
        tmptree_write(root, "users.d/alice.conf.example", "garbage\n");
        tmptree_write(root, "users.d/.alice.conf", "garbage\n");
        tmptree_write(root, "users.d/alice.conf", "MemoryMax=2G\n");
        load_ok();
        assert_int_equal(set->defaults.memory_max, GiB);
        assert_int_equal(set->n_users, 1);
        assert_string_equal(set->users[0].name, "alice");
        assert_int_equal(resolve(1000, "alice", NULL).memory_max, 2 * GiB);
}

static void test_groups_sorted(_unused_ void **state) {
        user_config uc;

        tmptree_write(root, "groups.d/zeta.conf", "MemoryMax=1G\nCooldown=9s\n");
        tmptree_write(root, "groups.d/alpha.conf", "MemoryMax=2G\nKillGrace=7s\nCooldown=1s\n");
        tmptree_write(root, "groups.d/other.conf", "MemoryMax=5G\nPolicy=rss\n");
        tmptree_write(root, "groups.d/a.conf", "MemorySwapMax=1G\n");
        tmptree_write(root, "groups.d/a-b.conf", "MemorySwapMax=2G\n");
        load_ok();
        assert_int_equal(set->n_groups, 5);
        assert_string_equal(set->groups[0].name, "a");
        assert_string_equal(set->groups[1].name, "a-b");
        assert_string_equal(set->groups[4].name, "zeta");

        /* Order of the list does not matter, duplicates do not either. */
        uc = resolve(1000, "u", GROUPS("zeta", "alpha", "alpha", "a-b", "a"));
        assert_int_equal(uc.memory_max, GiB);
        assert_int_equal(uc.kill_grace, 7 * SEC);
        assert_int_equal(uc.cooldown, 9 * SEC);
        assert_int_equal(uc.policy, POLICY_GROWTH);
        assert_int_equal(uc.memory_swap_max, 2 * GiB);
        uc = resolve(1000, "u", NULL);
        assert_uc_equal(&uc, &set->defaults);
}

static void test_user_name_then_uid(_unused_ void **state) {
        user_config uc;

        tmptree_write(root, "groups.d/staff.conf", "MemoryMax=1G\nPolicy=rss\nKillGrace=4s\n");
        tmptree_write(root, "users.d/alice.conf", "MemoryMax=2G\nCooldown=8s\nKillGrace=6s\n");
        tmptree_write(root, "users.d/1001.conf", "MemoryMax=3G\n");
        load_ok();
        uc = resolve(1001, "alice", GROUPS("staff"));
        assert_int_equal(uc.memory_max, 3 * GiB);
        assert_int_equal(uc.cooldown, 8 * SEC);
        assert_int_equal(uc.kill_grace, 6 * SEC);
        assert_int_equal(uc.policy, POLICY_RSS);
        assert_int_equal(resolve(1002, "alice", NULL).memory_max, 2 * GiB);
        uc = resolve(1001, NULL, NULL);
        assert_int_equal(uc.memory_max, 3 * GiB);
        assert_int_equal(uc.cooldown, 5 * SEC);
        assert_int_equal(resolve(1003, "bob", GROUPS("staff")).memory_max, GiB);
}

static void test_memory_high_follows_max(_unused_ void **state) {
        user_config uc;

        /* Only MemoryMax= set for alice: her MemoryHigh= is 90% of it. */
        tmptree_write(root, "users.d/alice.conf", "MemoryMax=1000M\n");
        tmptree_write(root, "groups.d/staff.conf", "MemoryMax=2G\nMemoryHigh=1G\n");
        tmptree_write(root, "users.d/bob.conf", "MemoryMax=4G\n");
        load_ok();
        uc = resolve(1001, "alice", NULL);
        assert_int_equal(uc.memory_max, 1000 * MiB);
        assert_int_equal(uc.memory_high, 900 * MiB);
        /* An explicit MemoryHigh= in any layer stands. */
        uc = resolve(1002, "bob", GROUPS("staff"));
        assert_int_equal(uc.memory_max, 4 * GiB);
        assert_int_equal(uc.memory_high, GiB);
        /* Nobody set either: the built-in shares of RAM. */
        uc = resolve(1003, "carol", NULL);
        assert_int_equal(uc.memory_high, set->defaults.memory_high);

        /* MemoryHigh= set in the main file is explicit too. */
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryHigh=300M\n");
        load_ok();
        assert_int_equal(resolve(1001, "alice", NULL).memory_high, 300 * MiB);
        /* MemoryMax=infinity leaves MemoryHigh= alone. */
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=infinity\n");
        tmptree_write(root, "users.d/alice.conf", "Policy=rss\n");
        load_ok();
        assert_int_equal(resolve(1001, "alice", NULL).memory_high, set->defaults.memory_high);
}


/* The error is at the line that set MemoryHigh= (on_error shows it
 * relative to root) and names the one that set MemoryMax=. */
static void assert_limit_error(size_t i, const char *high_at, const char *max_at) {
        char want[PATH_MAX * 2];

        assert_true(i < errs.n);
        snprintf(want, sizeof want, "%s: MemoryHigh=", high_at);
        if (strncmp(errs.msg[i], want, strlen(want)) != 0)
                fail_msg("expected \"%s...\", got \"%s\"", want, errs.msg[i]);
        snprintf(want, sizeof want, "(set by %s/%s)", root, max_at);
        if (!strstr(errs.msg[i], want))
                fail_msg("expected \"%s\" in \"%s\"", want, errs.msg[i]);
}

static void test_memory_high_above_max(_unused_ void **state) {
        user_config uc;

        /* In one file. */
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryHigh=3G\nMemoryMax=2G\n");
        assert_int_equal(load(), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_limit_error(0, "memgov.conf:2", "memgov.conf:3");
        assert_non_null(strstr(errs.msg[0], "MemoryHigh=3.0G is above MemoryMax=2.0G"));

        /* A group's MemoryHigh= over the defaults' MemoryMax=. */
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=4G\n");
        tmptree_write(root, "groups.d/big.conf", "# comment\nMemoryHigh=5G\n");
        assert_int_equal(load(), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_limit_error(0, "groups.d/big.conf:2", "memgov.conf:2");

        /* A user's MemoryMax= under the defaults' MemoryHigh=. MemoryHigh=
         * infinity under a finite MemoryMax= (bob: the built-in 50% of RAM;
         * the group's own pair) is a hard cap without throttling, no error. */
        tmptree_write(root, "groups.d/big.conf", "MemoryHigh=infinity\nMemoryMax=1G\n");
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryHigh=2G\n");
        tmptree_write(root, "users.d/alice.conf", "Policy=rss\nMemoryMax=1G\n");
        tmptree_write(root, "users.d/bob.conf", "MemoryHigh=infinity\n");
        assert_int_equal(load(), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_limit_error(0, "memgov.conf:2", "users.d/alice.conf:2");
        assert_non_null(strstr(errs.msg[0], "users.d/alice.conf"));
        errs.n = 0;
        tmptree_write(root, "users.d/alice.conf", "Policy=rss\n");
        load_ok();
        uc = resolve(1002, "bob", NULL);
        assert_int_equal(uc.memory_high, BYTES_INFINITY);
        assert_false(config_limits_conflict(&uc));
        uc = resolve(1003, "carol", GROUPS("big"));
        assert_int_equal(uc.memory_high, BYTES_INFINITY);
        assert_int_equal(uc.memory_max, 1ULL << 30);
        assert_false(config_limits_conflict(&uc));

        /* Only MemoryMax= anywhere: MemoryHigh= follows it, no conflict. */
        {
                char bob[PATH_MAX];

                snprintf(bob, sizeof bob, "%s/users.d/bob.conf", root);
                assert_int_equal(unlink(bob), 0);
        }
        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=4G\n");
        tmptree_write(root, "users.d/alice.conf", "MemoryMax=1G\n");
        load_ok();

        /* Two drop-ins that are fine alone and not together: the load
         * cannot know who is in which group; config_limits_conflict() says. */
        tmptree_write(root, "groups.d/big.conf", "MemoryHigh=3G\n");
        tmptree_write(root, "groups.d/small.conf", "MemoryMax=2G\n");
        load_ok();
        uc = resolve(1001, "carol", GROUPS("big", "small"));
        assert_true(config_limits_conflict(&uc));
        uc = resolve(1001, "carol", GROUPS("big"));
        assert_false(config_limits_conflict(&uc));
}

static void test_sources(_unused_ void **state) {
        const char *src[_UC_COUNT];
        char main_path[PATH_MAX], conf_d[PATH_MAX], group[PATH_MAX], user[PATH_MAX];
        user_config uc;

        snprintf(main_path, sizeof main_path, "%s/memgov.conf", root);
        snprintf(conf_d, sizeof conf_d, "%s/memgov.conf.d/50-site.conf", root);
        snprintf(group, sizeof group, "%s/groups.d/staff.conf", root);
        snprintf(user, sizeof user, "%s/users.d/alice.conf", root);
        tmptree_write(root, "memgov.conf", "[Defaults]\nPolicy=rss\nCooldown=9s\n");
        tmptree_write(root, "memgov.conf.d/50-site.conf", "[Defaults]\nCooldown=7s\n");
        tmptree_write(root, "groups.d/staff.conf", "KillGrace=4s\n");
        tmptree_write(root, "users.d/alice.conf", "MemoryMax=1G\nKillGrace=3s\n");
        load_ok();
        config_resolve_user_sources(set, 1001, "alice", GROUPS("staff"), &uc, src);
        assert_int_equal(uc.kill_grace, 3 * SEC);
        assert_string_equal(src[8], main_path);                  /* Policy */
        assert_string_equal(src[12], conf_d);                    /* Cooldown */
        assert_string_equal(src[10], user);                      /* KillGrace */
        assert_string_equal(src[1], user);                       /* MemoryMax */
        assert_string_equal(src[0], CONFIG_SOURCE_DERIVED);      /* MemoryHigh */
        assert_null(src[3]);                                     /* Warn: built in */
        config_resolve_user_sources(set, 1002, "bob", GROUPS("staff"), &uc, src);
        assert_string_equal(src[10], group);
        assert_null(src[0]);
        assert_string_equal(config_key_name(UC_COOLDOWN), "Cooldown");
        assert_string_equal(config_key_name(UC_MEMORY_HIGH), "MemoryHigh");
        assert_null(config_key_name(3));
}

static void test_config_path_moves_dirs(_unused_ void **state) {
        char path[PATH_MAX];
        int cwd;

        tmptree_write(root, "memgov.conf", "[Defaults]\nMemoryMax=1G\n");
        tmptree_write(root, "users.d/1000.conf", "MemoryMax=9G\n");
        tmptree_write(root, "alt/custom.conf", "[Defaults]\nMemoryMax=2G\n");
        tmptree_write(root, "alt/memgov.conf.d/x.conf", "[Defaults]\nKillGrace=9s\n");
        tmptree_write(root, "alt/users.d/1000.conf", "MemoryMax=3G\n");
        snprintf(path, sizeof path, "%s/alt/custom.conf", root);
        assert_int_equal(load_path(path), 0);
        assert_string_equal(set->path, path);
        assert_int_equal(set->defaults.memory_max, 2 * GiB);
        assert_int_equal(set->defaults.kill_grace, 9 * SEC);
        assert_int_equal(resolve(1000, NULL, NULL).memory_max, 3 * GiB);

        /* A bare file name: the directories are in the current one. */
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof path, "%s/alt", root);
        assert_int_equal(chdir(path), 0);
        assert_int_equal(load_path("custom.conf"), 0);
        assert_int_equal(fchdir(cwd), 0);
        close(cwd);
        assert_int_equal(set->defaults.kill_grace, 9 * SEC);
        assert_int_equal(resolve(1000, NULL, NULL).memory_max, 3 * GiB);
}

static void test_protect_lists(_unused_ void **state) {
        tmptree_write(root, "memgov.conf", "[Defaults]\nProtect=a b\nProtect=c\n");
        load_ok();
        ASSERT_STRV(set->defaults.protect, "a", "b", "c", NULL);

        tmptree_write(root, "memgov.conf.d/x.conf", "[Defaults]\nProtect=d\n");
        tmptree_write(root, "groups.d/g.conf", "Protect=\n");
        tmptree_write(root, "users.d/u.conf", "Protect=x\nProtect=\nProtect=y  z\n");
        load_ok();
        ASSERT_STRV(set->defaults.protect, "d", NULL);
        assert_null(resolve(2000, "v", GROUPS("g")).protect);
        ASSERT_STRV(resolve(2000, "u", GROUPS("g")).protect, "y", "z", NULL);
        ASSERT_STRV(resolve(2000, "w", NULL).protect, "d", NULL);
}

static void test_copy_and_done(_unused_ void **state) {
        user_config uc, copy, empty;

        tmptree_write(root, "users.d/u.conf", "Protect=sshd tmux*\nMemoryMax=3G\n");
        load_ok();
        uc = resolve(1, "u", NULL);
        assert_int_equal(user_config_copy(&uc, &copy), 0);
        assert_ptr_not_equal(copy.protect, uc.protect);
        assert_uc_equal(&copy, &uc);
        config_set_free(set);
        set = NULL;
        /* The copy outlives the set (ASan would catch a shallow copy). */
        ASSERT_STRV(copy.protect, "sshd", "tmux*", NULL);
        assert_int_equal(copy.memory_max, 3 * GiB);
        user_config_done(&copy);
        assert_null(copy.protect);
        user_config_done(&copy);

        user_config_defaults(PHYSMEM, &uc);
        assert_int_equal(user_config_copy(&uc, &empty), 0);
        assert_null(empty.protect);
        assert_uc_equal(&empty, &uc);
}

static void test_enum_strings(_unused_ void **state) {
        for (int i = 0; i < _POLICY_MAX; i++)
                assert_int_equal(policy_kind_from_string(policy_kind_to_string(i)), i);
        for (int i = 0; i < _KILL_SCOPE_MAX; i++)
                assert_int_equal(kill_scope_from_string(kill_scope_to_string(i)), i);
        assert_string_equal(policy_kind_to_string(POLICY_BADNESS), "badness");
        assert_string_equal(kill_scope_to_string(KILL_SCOPE_CGROUP), "cgroup");
        assert_int_equal(policy_kind_from_string("Badness"), -EINVAL);
        assert_int_equal(kill_scope_from_string(""), -EINVAL);
        assert_null(policy_kind_to_string(_POLICY_MAX));
        assert_null(kill_scope_to_string((kill_scope) -1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                T(test_builtin_defaults),
                T(test_missing_main_file),
                T(test_shipped_conf),
                T(test_shipped_examples),
                T(test_governor_keys),
                T(test_defaults_keys),
                T(test_value_syntaxes),
                T(test_bad_bytes_and_shares),
                T(test_bad_durations),
                T(test_bad_other_values),
                T(test_warn_levels),
                T(test_unknown_key_and_section),
                T(test_key_without_equals),
                T(test_long_lines),
                T(test_sections),
                T(test_comments_and_whitespace),
                T(test_unreadable),
                T(test_every_error_reported),
                T(test_dropin_order),
                T(test_dropin_names),
                T(test_groups_sorted),
                T(test_user_name_then_uid),
                T(test_memory_high_follows_max),
                T(test_memory_high_above_max),
                T(test_sources),
                T(test_config_path_moves_dirs),
                T(test_protect_lists),
                T(test_copy_and_done),
                T(test_enum_strings),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
