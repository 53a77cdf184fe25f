/* SPDX-License-Identifier: GPL-2.0-or-later */

/* hostcheck_explain() on struct literals for each kind of host, the probes on
 * fake /proc and cgroup roots, and hostcheck_run() on the live host, checked
 * only for agreement with statfs: the suite passes on a pure cgroup v2 host,
 * a hybrid one (where memgovd must refuse) and anything in between. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include <cmocka.h>
#include <libcgroup.h>
#include <linux/magic.h>

#include "hostcheck.h"
#include "tmptree.h"

/* A Debian 12 host as systemd sets it up with its defaults: governable. */
static hostcheck_facts pure_v2(void) {
        hostcheck_facts f = {
                .root_is_cgroup2 = true,
                .memory_mount_is_cgroup2 = true,
                .memory_in_root_controllers = true,
                .memory_in_root_subtree_control = true,
                .user_slice_exists = true,
                .memory_in_user_slice = true,
                .psi = HOSTCHECK_PSI_OK,
        };
        strcpy(f.memory_mount, "/sys/fs/cgroup");
        return f;
}

/* This build host: systemd's hybrid layout, memory on v1. */
static hostcheck_facts hybrid(void) {
        hostcheck_facts f = {
                .root_is_tmpfs = true,
                .unified_at_subdir = true,
                .psi = HOSTCHECK_PSI_OK,
        };
        strcpy(f.memory_mount, "/sys/fs/cgroup/memory");
        return f;
}

static void test_pure_v2_is_governable(void **state) {
        (void) state;
        hostcheck_facts f = pure_v2();
        char why[HOSTCHECK_WHY_MAX] = "garbage";

        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), 0);
        assert_string_equal(why, "");

        /* No user.slice yet (nobody logged in since boot) is not a reason to refuse. */
        f.user_slice_exists = false;
        f.memory_in_user_slice = false;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), 0);
}

static void test_hybrid_refused(void **state) {
        (void) state;
        hostcheck_facts f = hybrid();
        char why[HOSTCHECK_WHY_MAX];

        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EMEDIUMTYPE);
        assert_non_null(strstr(why, "memgovd cannot govern this host:\n"));
        assert_non_null(strstr(why, "cgroup2 is mounted only at /sys/fs/cgroup/unified (hybrid hierarchy)"));
        assert_non_null(strstr(why, "the memory controller is bound to cgroup v1 at /sys/fs/cgroup/memory (hybrid or legacy hierarchy)"));
        assert_non_null(strstr(why, "boot with systemd.unified_cgroup_hierarchy=1"));
        assert_non_null(strstr(why, "update-grub"));
        /* Nothing about PSI when PSI is fine. */
        assert_null(strstr(why, "psi=1"));
        /* Multi-line, ends with a newline, and is one message, not a log of probes. */
        assert_int_equal(why[strlen(why) - 1], '\n');
}

static void test_legacy_with_switches(void **state) {
        (void) state;
        hostcheck_facts f = hybrid();
        char why[HOSTCHECK_WHY_MAX];

        f.unified_at_subdir = false;
        f.cmdline_unified_off = true;
        f.cmdline_legacy_controller = true;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EMEDIUMTYPE);
        assert_non_null(strstr(why, "cgroup v1 hierarchies only (legacy hierarchy)"));
        assert_non_null(strstr(why, "replacing the systemd.unified_cgroup_hierarchy=0 it has now"));
        assert_non_null(strstr(why, "remove systemd.legacy_systemd_cgroup_controller"));
}

static void test_everything_reported_at_once(void **state) {
        (void) state;
        hostcheck_facts f = hybrid();
        char why[HOSTCHECK_WHY_MAX];

        /* One reboot should fix both: the hierarchy's code wins, both are named. */
        f.psi = HOSTCHECK_PSI_DISABLED;
        f.cmdline_psi_off = true;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EMEDIUMTYPE);
        assert_non_null(strstr(why, "systemd.unified_cgroup_hierarchy=1"));
        assert_non_null(strstr(why, "psi=0 is on the kernel command line"));
        assert_non_null(strstr(why, "boot with psi=1 on the kernel command line, replacing psi=0"));
}

static void test_memory_controller_problems(void **state) {
        (void) state;
        hostcheck_facts f;
        char why[HOSTCHECK_WHY_MAX];

        f = pure_v2();
        f.memory_in_user_slice = false;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -ENODEV);
        assert_non_null(strstr(why, "not enabled down to user.slice"));
        assert_non_null(strstr(why, "MemoryAccounting=yes"));

        f = pure_v2();
        f.memory_in_root_subtree_control = false;
        f.memory_in_user_slice = false;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -ENODEV);
        assert_non_null(strstr(why, "/sys/fs/cgroup/cgroup.subtree_control"));

        f = pure_v2();
        f.memory_in_root_controllers = false;
        f.cmdline_cgroup_disable_memory = true;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -ENODEV);
        assert_non_null(strstr(why, "disabled by cgroup_disable=memory"));

        /* cgroup2 at the root, but a stray v1 mount grabbed the controller. */
        f = pure_v2();
        f.memory_in_root_controllers = false;
        strcpy(f.memory_mount, "/run/legacy/memory");
        f.memory_mount_is_cgroup2 = false;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -ENODEV);
        assert_non_null(strstr(why, "bound to cgroup v1 at /run/legacy/memory"));
        assert_non_null(strstr(why, "cgroup_no_v1=memory"));
}

static void test_psi_problems(void **state) {
        (void) state;
        hostcheck_facts f;
        char why[HOSTCHECK_WHY_MAX];

        f = pure_v2();
        f.psi = HOSTCHECK_PSI_DISABLED;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EOPNOTSUPP);
        assert_non_null(strstr(why, "CONFIG_PSI_DEFAULT_DISABLED"));
        assert_non_null(strstr(why, "boot with psi=1"));

        f = pure_v2();
        f.psi = HOSTCHECK_PSI_MISSING;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EOPNOTSUPP);
        assert_non_null(strstr(why, "CONFIG_PSI=y"));

        f = pure_v2();
        f.psi = HOSTCHECK_PSI_CGROUP_DISABLED;
        f.psi_errno = ENOENT;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EOPNOTSUPP);
        assert_non_null(strstr(why, "cgroup.pressure"));

        f = pure_v2();
        f.psi = HOSTCHECK_PSI_ERROR;
        f.psi_errno = EACCES;
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EACCES);
        assert_non_null(strstr(why, "/proc/pressure/memory cannot be read"));
        assert_non_null(strstr(why, "EACCES"));
}

static void test_small_buffer(void **state) {
        (void) state;
        hostcheck_facts f = hybrid();
        char why[24];

        memset(why, 'x', sizeof(why));
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EMEDIUMTYPE);
        assert_int_equal(strlen(why), sizeof(why) - 1);
        assert_memory_equal(why, "memgovd cannot govern", 21);

        /* No buffer at all still gives the verdict. */
        assert_int_equal(hostcheck_explain(&f, NULL, 0), -EMEDIUMTYPE);
}

/* The probes on injected roots: a plain directory is no cgroup2 mount, the
 * command line switches are found, and a missing PSI file is "missing". */
static void test_gather_fake_roots(void **state) {
        (void) state;
        char *cg = tmptree_new(), *proc = tmptree_new(), why[HOSTCHECK_WHY_MAX];
        hostcheck_facts f;

        tmptree_write(proc, "cmdline",
                      "BOOT_IMAGE=/vmlinuz root=/dev/vda ro psi=0 cgroup_disable=cpu,memory "
                      "systemd.unified_cgroup_hierarchy=false systemd.legacy_systemd_cgroup_controller quiet\n");
        hostcheck_gather(cg, proc, &f);

        assert_int_equal(f.root_statfs_errno, 0);
        assert_false(f.root_is_cgroup2);
        assert_false(f.unified_at_subdir);
        assert_true(f.cmdline_psi_off);
        assert_true(f.cmdline_cgroup_disable_memory);
        assert_true(f.cmdline_unified_off);
        assert_true(f.cmdline_legacy_controller);
        assert_int_equal(f.psi, HOSTCHECK_PSI_MISSING);

        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -EMEDIUMTYPE);
        assert_non_null(strstr(why, "remove memory from cgroup_disable="));
        assert_non_null(strstr(why, "CONFIG_PSI=y"));

        /* A healthy command line and a readable pressure file. */
        tmptree_write(proc, "cmdline", "root=/dev/vda psi=1 systemd.unified_cgroup_hierarchy=1 cgroup_disable=hugetlb\n");
        tmptree_write(proc, "pressure/memory",
                      "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        hostcheck_gather(cg, proc, &f);
        assert_false(f.cmdline_psi_off);
        assert_false(f.cmdline_cgroup_disable_memory);
        assert_false(f.cmdline_unified_off);
        assert_false(f.cmdline_legacy_controller);
        assert_int_equal(f.psi, HOSTCHECK_PSI_OK);

        tmptree_free(cg);
        tmptree_free(proc);
}

static void test_gather_missing_root(void **state) {
        (void) state;
        hostcheck_facts f;
        char why[HOSTCHECK_WHY_MAX];

        hostcheck_gather("/nonexistent/memgov-test/cgroup", "/proc", &f);
        assert_int_equal(f.root_statfs_errno, ENOENT);
        assert_int_equal(hostcheck_explain(&f, why, sizeof(why)), -ENOENT);
        assert_non_null(strstr(why, "cannot be examined"));
}

/* libcgroup is asked in a child: this process never runs cgroup_init()
 * (its tables, about 800 KB, stay untouched here), and the answer is the
 * one this process gets when it does. First in the list: no test before it
 * may have initialised libcgroup here. */
static void test_libcgroup_asked_in_child(void **state) {
        hostcheck_facts f;
        char *mnt = NULL;
        int r;

        (void) state;
        hostcheck_gather(HOSTCHECK_CGROUP_ROOT, "/proc", &f);
        assert_int_equal(cgroup_get_subsys_mount_point("memory", &mnt), ECGROUPNOTINITIALIZED);
        assert_null(mnt);

        r = cgroup_init();
        if (r == 0)
                r = cgroup_get_subsys_mount_point("memory", &mnt);
        assert_int_equal(f.libcgroup_error, r);
        if (r == 0) {
                assert_non_null(mnt);
                assert_string_equal(f.memory_mount, mnt);
                assert_null(f.libcgroup_error_text);
        } else {
                assert_string_equal(f.libcgroup_error_text, cgroup_strerror(r));
                assert_string_equal(f.memory_mount, "");
        }
        printf("# libcgroup: error %d, memory mount '%s'\n", f.libcgroup_error, f.memory_mount);
        free(mnt);
}

/* The live host: whatever it is, the verdict must agree with statfs. */
static void test_live_host_consistent(void **state) {
        (void) state;
        char why[HOSTCHECK_WHY_MAX];
        struct statfs sfs;
        int r;

        r = hostcheck_run(why, sizeof(why));
        assert_int_equal(statfs(HOSTCHECK_CGROUP_ROOT, &sfs), 0);

        if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
                assert_int_equal(r, -EMEDIUMTYPE);
                assert_non_null(strstr(why, "is not the unified cgroup v2 hierarchy"));
                assert_non_null(strstr(why, "systemd.unified_cgroup_hierarchy=1"));
        } else if (r == 0)
                assert_string_equal(why, "");
        else {
                assert_true(r == -ENODEV || r == -EOPNOTSUPP);
                assert_non_null(strstr(why, "memgovd cannot govern this host:\n"));
        }
        /* Shown in the TAP log, so a run on a hybrid CI host documents the refusal. */
        printf("# live host: r=%d\n", r);
        for (char *line = strtok(why, "\n"); line; line = strtok(NULL, "\n"))
                printf("#   %s\n", line);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_libcgroup_asked_in_child),
                cmocka_unit_test(test_pure_v2_is_governable),
                cmocka_unit_test(test_hybrid_refused),
                cmocka_unit_test(test_legacy_with_switches),
                cmocka_unit_test(test_everything_reported_at_once),
                cmocka_unit_test(test_memory_controller_problems),
                cmocka_unit_test(test_psi_problems),
                cmocka_unit_test(test_small_buffer),
                cmocka_unit_test(test_gather_fake_roots),
                cmocka_unit_test(test_gather_missing_root),
                cmocka_unit_test(test_live_host_consistent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
