/* SPDX-License-Identifier: GPL-2.0-or-later */

/* user_resolve_config() against a fake NSS: a group too big for a fixed
 * buffer (about 1,000+ members on glibc with 16 KiB) still gets its
 * groups.d file, a user in 300 supplementary groups gets all of them, and a
 * group that cannot be looked up costs that group only. */

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

static int fake_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **ret) {
        n_nss_calls++;
        *ret = NULL;
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

static const nss_ops fake_nss = {
        .getpwuid_r = fake_getpwuid_r,
        .getgrgid_r = fake_getgrgid_r,
        .getgrouplist = fake_getgrouplist,
};

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

        assert_int_equal(user_resolve_config_nss(&u, c, &fake_nss), 0);
        assert_string_equal(u.name, "hostile");
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        assert_int_equal(u.config.memory_high, 512ULL << 20);

        user_config_done(&u.config);
        strv_free(u.nss_groups);
        free(u.subuids);
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

        assert_int_equal(user_resolve_config_nss(&u, c, &fake_nss), 0);
        assert_int_equal(u.config.memory_max, 2ULL << 30);
        assert_int_equal(u.config.memory_high, 2ULL << 30);

        user_config_done(&u.config);
        strv_free(u.nss_groups);
        free(u.subuids);
        config_set_free(c);
        tmptree_free(dir);
}

/* A reload layers the new files over the groups looked up at login, without
 * asking NSS again (a slow directory would hold the loop for every user);
 * a look-up older than USER_NSS_MAX_AGE_USEC is repeated. */
static void test_reload_uses_cached_groups(void **state) {
        char *dir = tmptree_new(), path[512];
        config_set *c = NULL, *c2 = NULL;
        User u = { .uid = UID };
        usec_t t0;

        (void) state;
        tmptree_write(dir, "memgov.conf", "");
        tmptree_mkdir(dir, "groups.d");
        tmptree_write(dir, "groups.d/big.conf", "MemoryMax=1G\n");
        snprintf(path, sizeof path, "%s/memgov.conf", dir);
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c), 0);
        assert_int_equal(user_resolve_config_nss(&u, c, &fake_nss), 0);
        assert_int_equal(u.config.memory_max, 1ULL << 30);
        t0 = u.nss_at;
        assert_true(t0 > 0);

        tmptree_write(dir, "groups.d/big.conf", "MemoryMax=2G\n");
        assert_int_equal(config_load(path, 8ULL << 30, NULL, NULL, &c2), 0);
        n_nss_calls = 0;
        assert_int_equal(user_refresh_config(&u, c2, &fake_nss, t0 + USER_NSS_MAX_AGE_USEC - 1), 0);
        assert_int_equal(n_nss_calls, 0);
        assert_int_equal(u.config.memory_max, 2ULL << 30);
        assert_int_equal(user_refresh_config(&u, c2, &fake_nss, t0 + USER_NSS_MAX_AGE_USEC), 0);
        assert_int_equal(n_nss_calls, 1);
        assert_int_equal(u.config.memory_max, 2ULL << 30);

        user_config_done(&u.config);
        strv_free(u.nss_groups);
        free(u.subuids);
        config_set_free(c);
        config_set_free(c2);
        tmptree_free(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_big_groups_apply),
                cmocka_unit_test(test_high_above_max_clamped),
                cmocka_unit_test(test_reload_uses_cached_groups),
        };
        log_set_max_priority(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
