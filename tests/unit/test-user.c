/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The resolver's look-up (resolver_resolve) and user_take_answer() against
 * a fake NSS: a group too big for a fixed buffer (about 1,000+ members on
 * glibc with 16 KiB) still gets its groups.d file, a user in 300
 * supplementary groups gets all of them, a group that cannot be looked up
 * costs that group only, and a failed look-up keeps the last good one. */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "tmptree.h"
#include "user.h"
#include "util.h"

#define UID 4242
#define N_SUPPLEMENTARY 300
#define GID_BIG 2000            /* 1,500 members */
#define GID_BROKEN 3000         /* the directory server fails on it */
#define GID_NAMELESS 3001

static unsigned n_nss_calls;
static int passwd_fails;        /* errno getpwuid_r returns; ENOENT: "not found"; 0: answers */
static bool grouplist_fails;

static int fake_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **ret) {
        n_nss_calls++;
        *ret = NULL;
        if (passwd_fails)
                return passwd_fails == ENOENT ? 0 : passwd_fails;
        if (uid != UID)
                return 0;
        if (size < 64)
                return ERANGE;
        strcpy(buf, "hostile");
        *pw = (struct passwd) { .pw_name = buf, .pw_uid = UID, .pw_gid = 100, .pw_dir = "/", .pw_shell = "/bin/sh" };
        *ret = pw;
        return 0;
}

static int fake_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t size, struct group **ret) {
        /* A member list of 1,500 names of 8 bytes and their pointers. */
        size_t need = gid == GID_BIG ? 1500 * (9 + sizeof(char *)) : 64;

        *ret = NULL;
        if (gid == GID_BROKEN)
                return EIO;
        if (gid == GID_NAMELESS)
                return 0;
        if (size < need)
                return ERANGE;
        if (gid == GID_BIG)
                strcpy(buf, "big");
        else if (gid == 100)
                strcpy(buf, "users");
        else
                snprintf(buf, size, "g%u", (unsigned) gid);
        *gr = (struct group) { .gr_name = buf, .gr_gid = gid };
        *ret = gr;
        return 0;
}

static int fake_getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups) {
        gid_t all[N_SUPPLEMENTARY + 4];
        int n = 0, room = *ngroups;

        assert_string_equal(user, "hostile");
        if (grouplist_fails) {
                /* As glibc does when a module fails: -1, and no bigger size. */
                *ngroups = 0;
                return -1;
        }
        all[n++] = group;
        for (int i = 0; i < N_SUPPLEMENTARY; i++)
                all[n++] = (gid_t) (10000 + i);
        all[n++] = GID_BIG;
        all[n++] = GID_BROKEN;
        all[n++] = GID_NAMELESS;
        *ngroups = n;
        if (room < n)
                return -1;
        memcpy(groups, all, sizeof(gid_t) * (size_t) n);
        return n;
}

static nss_ops fake_nss = {
        .getpwuid_r = fake_getpwuid_r,
        .getgrgid_r = fake_getgrgid_r,
        .getgrouplist = fake_getgrouplist,
};

/* One look-up, as the resolver's thread runs it, taken as the loop does. */
static int resolve_with(User *u, const config_set *c, usec_t now) {
        resolver_answer a;
        int r;

        resolver_resolve(&fake_nss, u->uid, &a);
        u->nss_pending = true;
        r = user_take_answer(u, c, &a, now);
        resolver_answer_done(&a);
        return r;
}

static void user_done(User *u) {
        user_config_done(&u->config);
        strv_free(u->nss_groups);
        free(u->subuids);
}

static void test_big_groups_apply(void **state) {
        char *dir = tmptree_new(), path[512];
        config_set *c = NULL;
        User u = { .uid = UID };

        (void) state;
        tmptree_write(dir, "memgov.conf", "[Defaults]\nMemoryMax=4G\n");
        tmptree_mkdir(dir, "groups.d");
        tmptree_write(dir, "groups.d/big.conf", "MemoryMax=1G\n");
        /* The last of 300 supplementary groups. */
        tmptree_write(dir, "groups.d/g10299.conf", "MemoryHigh=512M\n");
        snprintf(path, sizeof path, "%s/memgov.conf", dir);
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c), 0);

        assert_int_equal(resolve_with(&u, c, 1000), 1);
        assert_string_equal(u.name, "hostile");
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        assert_int_equal(u.config.memory_high, 512ULL << 20);
        /* Group 3000 failed (EIO): a partial answer, taken for want of a
         * better one, not a good look-up; asked again later. */
        assert_int_equal(u.nss_at, 0);
        assert_int_equal(u.nss_retry_at, 1000 + USER_NSS_RETRY_USEC);
        assert_false(u.nss_pending);

        user_done(&u);
        config_set_free(c);
        tmptree_free(dir);
}

/* Two groups.d files, each fine alone (the load accepts them), give this
 * user MemoryHigh= above MemoryMax=: clamped, so throttling and the
 * pressure and deadline kills still work. */
static void test_high_above_max_clamped(void **state) {
        char *dir = tmptree_new(), path[512];
        config_set *c = NULL;
        User u = { .uid = UID };

        (void) state;
        tmptree_write(dir, "memgov.conf", "");
        tmptree_mkdir(dir, "groups.d");
        tmptree_write(dir, "groups.d/g10000.conf", "MemoryHigh=3G\n");
        tmptree_write(dir, "groups.d/g10001.conf", "MemoryMax=2G\n");
        snprintf(path, sizeof path, "%s/memgov.conf", dir);
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c), 0);

        assert_int_equal(resolve_with(&u, c, 1000), 1);
        assert_int_equal(u.config.memory_max, 2ULL << 30);
        assert_int_equal(u.config.memory_high, 2ULL << 30);

        user_done(&u);
        config_set_free(c);
        tmptree_free(dir);
}

/* A reload layers the new files over the groups of the last look-up
 * without asking NSS (user_layer_config); the look-up counts as stale after
 * USER_NSS_MAX_AGE_USEC, and only then does the reload ask again. */
static void test_reload_uses_cached_groups(void **state) {
        char *dir = tmptree_new(), path[512];
        config_set *c = NULL, *c2 = NULL;
        User u = { .uid = UID };
        usec_t t0 = 5000 * USEC_PER_SEC;

        (void) state;
        tmptree_write(dir, "memgov.conf", "");
        tmptree_mkdir(dir, "groups.d");
        tmptree_write(dir, "groups.d/big.conf", "MemoryMax=1G\n");
        snprintf(path, sizeof path, "%s/memgov.conf", dir);
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c), 0);
        assert_true(user_lookup_stale(&u, t0));
        assert_int_equal(resolve_with(&u, c, t0), 1);
        assert_int_equal(u.config.memory_max, 1ULL << 30);

        tmptree_write(dir, "groups.d/big.conf", "MemoryMax=2G\n");
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c2), 0);
        n_nss_calls = 0;
        assert_int_equal(user_layer_config(&u, c2), 0);
        assert_int_equal(n_nss_calls, 0);
        assert_int_equal(u.config.memory_max, 2ULL << 30);

        user_done(&u);
        config_set_free(c);
        config_set_free(c2);
        tmptree_free(dir);
}

/* Good look-ups (no broken group) for the rest of the tests. */
static int fake_getgrgid_r_good(gid_t gid, struct group *gr, char *buf, size_t size, struct group **ret) {
        return fake_getgrgid_r(gid == GID_BROKEN ? GID_NAMELESS : gid, gr, buf, size, ret);
}

/* A directory server in trouble: passwd failing, or the group list failing,
 * keeps the name and groups of the last good look-up (and the budget they
 * give), and asks again later; a complete answer replaces them. Without a
 * good look-up, a missing passwd entry governs by uid. */
static void test_failed_lookup_keeps_last_good(void **state) {
        char *dir = tmptree_new(), path[512];
        config_set *c = NULL;
        User u = { .uid = UID };
        nss_getgrgid_fn saved = fake_nss.getgrgid_r;
        usec_t t0 = 5000 * USEC_PER_SEC;

        (void) state;
        tmptree_write(dir, "memgov.conf", "[Defaults]\nMemoryMax=4G\n");
        tmptree_mkdir(dir, "groups.d");
        tmptree_mkdir(dir, "users.d");
        tmptree_write(dir, "groups.d/big.conf", "MemoryMax=1G\n");
        tmptree_write(dir, "users.d/4242.conf", "MemoryHigh=256M\n");
        snprintf(path, sizeof path, "%s/memgov.conf", dir);
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c), 0);

        /* Before any answer: users.d by uid and the defaults. */
        assert_int_equal(user_first_config(&u, c), 0);
        assert_string_equal(u.name, "4242");
        assert_int_equal(u.config.memory_max, 4ULL << 30);
        assert_int_equal(u.config.memory_high, 256ULL << 20);

        fake_nss.getgrgid_r = fake_getgrgid_r_good;
        assert_int_equal(resolve_with(&u, c, t0), 1);
        assert_int_equal(u.nss_at, t0);
        assert_int_equal(u.nss_retry_at, 0);
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        assert_int_equal(strv_length(u.nss_groups), N_SUPPLEMENTARY + 2);

        passwd_fails = EIO;
        assert_int_equal(resolve_with(&u, c, t0 + 1), 0);
        assert_string_equal(u.name, "hostile");
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        assert_int_equal(u.nss_at, t0);
        assert_int_equal(u.nss_retry_at, t0 + 1 + USER_NSS_RETRY_USEC);

        /* "Not found" for a user logged in: kept as well. */
        passwd_fails = ENOENT;
        assert_int_equal(resolve_with(&u, c, t0 + 2), 0);
        assert_string_equal(u.name, "hostile");
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        passwd_fails = 0;

        /* One group failing (EIO): kept. */
        fake_nss.getgrgid_r = saved;
        assert_int_equal(resolve_with(&u, c, t0 + 2), 0);
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        assert_int_equal(strv_length(u.nss_groups), N_SUPPLEMENTARY + 2);
        assert_int_equal(u.nss_at, t0);

        grouplist_fails = true;
        assert_int_equal(resolve_with(&u, c, t0 + 3), 0);
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        assert_int_equal(strv_length(u.nss_groups), N_SUPPLEMENTARY + 2);
        grouplist_fails = false;
        user_done(&u);

        /* No passwd entry and nothing good before: by uid, no retry. */
        u = (User) { .uid = UID + 1 };
        assert_int_equal(resolve_with(&u, c, t0), 1);
        assert_string_equal(u.name, "4243");
        assert_false(u.nss_named);
        assert_int_equal(u.nss_retry_at, 0);
        assert_int_equal(u.config.memory_max, 4ULL << 30);
        user_done(&u);

        config_set_free(c);
        tmptree_free(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_big_groups_apply),
                cmocka_unit_test(test_high_above_max_clamped),
                cmocka_unit_test(test_reload_uses_cached_groups),
                cmocka_unit_test(test_failed_lookup_keeps_last_good),
        };
        log_set_max_priority(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
