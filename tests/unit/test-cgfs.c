/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgfs.h"
#include "tmptree.h"
#include "util.h"

#define SLICE "user.slice/user-1001.slice"

typedef struct fixture {
        char *root;
        int fd;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);

        f->root = tmptree_new();
        tmptree_write(f->root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        tmptree_write(f->root, "cgroup.subtree_control", "cpu io memory pids\n");
        tmptree_write(f->root, SLICE "/memory.current", "314572800\n");
        tmptree_write(f->root, SLICE "/memory.high", "209715200\n");
        tmptree_write(f->root, SLICE "/memory.max", "max\n");
        tmptree_write(f->root, SLICE "/memory.swap.current", "0\n");
        tmptree_write(f->root, SLICE "/memory.swap.max", "max\n");
        tmptree_write(f->root, SLICE "/memory.peak", "400000000\n");
        tmptree_write(f->root, SLICE "/memory.events",
                      "low 0\nhigh 1234\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n");
        tmptree_write(f->root, SLICE "/memory.events.local", "low 0\nhigh 7\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        tmptree_write(f->root, SLICE "/memory.pressure",
                      "some avg10=25.00 avg60=10.00 avg300=2.00 total=1000\n"
                      "full avg10=5.00 avg60=1.00 avg300=0.50 total=200\n");
        tmptree_write(f->root, SLICE "/cgroup.events", "populated 1\nfrozen 0\n");
        tmptree_write(f->root, SLICE "/cgroup.procs", "");
        tmptree_write(f->root, SLICE "/session-3.scope/cgroup.procs", "100\n101\n");
        tmptree_write(f->root, SLICE "/user@1001.service/cgroup.procs", "");
        tmptree_write(f->root, SLICE "/user@1001.service/init.scope/cgroup.procs", "200\n");
        tmptree_write(f->root, SLICE "/user@1001.service/app.slice/cgroup.procs", "");
        tmptree_write(f->root, SLICE "/user@1001.service/app.slice/hog.service/cgroup.procs", "300\n301\n302\n");
        f->fd = tmptree_open(f->root);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        close(f->fd);
        tmptree_free(f->root);
        free(f);
        return 0;
}

static void test_path_check(void **state) {
        const char *rel;
        (void) state;

        assert_int_equal(cgfs_path_check(""), 0);
        assert_int_equal(cgfs_path_check("user.slice"), 0);
        assert_int_equal(cgfs_path_check(SLICE "/session-3.scope"), 0);
        assert_int_equal(cgfs_path_check("/user.slice"), -EINVAL);
        assert_int_equal(cgfs_path_check("user.slice/../system.slice"), -EINVAL);
        assert_int_equal(cgfs_path_check(".."), -EINVAL);
        assert_int_equal(cgfs_path_check("user.slice/./x"), -EINVAL);
        assert_int_equal(cgfs_path_check("user.slice//x"), -EINVAL);
        assert_int_equal(cgfs_path_check("user.slice/"), -EINVAL);
        assert_int_equal(cgfs_path_check(NULL), -EINVAL);
        assert_int_equal(cgfs_path_check("a..b/.hidden"), 0);

        assert_int_equal(cgfs_path_relative("/" SLICE, &rel), 0);
        assert_string_equal(rel, SLICE);
        assert_int_equal(cgfs_path_relative("/", &rel), 0);
        assert_string_equal(rel, "");
        assert_int_equal(cgfs_path_relative("//etc", &rel), -EINVAL);
        assert_int_equal(cgfs_path_relative("/a/../../etc", &rel), -EINVAL);
}

static void test_read_memory(void **state) {
        fixture *f = *state;
        cgfs_memory m;
        uint64_t v;

        assert_int_equal(cgfs_read_memory(f->fd, SLICE, &m), 0);
        assert_int_equal(m.current, 314572800);
        assert_int_equal(m.high, 209715200);
        assert_true(m.max == BYTES_INFINITY);
        assert_true(m.swap_max == BYTES_INFINITY);
        assert_int_equal(m.peak, 400000000);
        assert_int_equal(cgfs_read_u64(f->fd, SLICE, "memory.current", &v), 0);
        assert_int_equal(v, 314572800);
        assert_int_equal(cgfs_read_limit(f->fd, SLICE, "memory.high", &v), 0);
        assert_int_equal(v, 209715200);
        /* "max" is only valid where a limit is expected. */
        assert_int_equal(cgfs_read_u64(f->fd, SLICE, "memory.max", &v), -EINVAL);
        assert_int_equal(cgfs_read_memory(f->fd, "user.slice/gone.slice", &m), -ENOENT);
        assert_int_equal(cgfs_read_memory(f->fd, "../etc", &m), -EINVAL);
}

static void test_read_memory_optional_files(void **state) {
        fixture *f = *state;
        cgfs_memory m;

        /* No swap accounting and no memory.peak (older kernels): still fine. */
        tmptree_write(f->root, "user.slice/user-1002.slice/memory.current", "4096\n");
        tmptree_write(f->root, "user.slice/user-1002.slice/memory.high", "max\n");
        tmptree_write(f->root, "user.slice/user-1002.slice/memory.max", "1073741824\n");
        assert_int_equal(cgfs_read_memory(f->fd, "user.slice/user-1002.slice", &m), 0);
        assert_int_equal(m.swap_current, 0);
        assert_true(m.swap_max == BYTES_INFINITY);
        assert_int_equal(m.peak, 0);
        assert_int_equal(m.max, 1073741824);

        /* Garbage in one present file is an error, not a zero. */
        tmptree_write(f->root, "user.slice/user-1002.slice/memory.peak", "lots\n");
        assert_int_equal(cgfs_read_memory(f->fd, "user.slice/user-1002.slice", &m), -EINVAL);
        tmptree_write(f->root, "user.slice/user-1002.slice/memory.current", "\n");
        assert_int_equal(cgfs_read_memory(f->fd, "user.slice/user-1002.slice", &m), -EINVAL);
}

static void test_events(void **state) {
        fixture *f = *state;
        cgfs_events e;

        assert_int_equal(cgfs_read_events(f->fd, SLICE, false, &e), 0);
        assert_int_equal(e.high, 1234);
        assert_int_equal(e.max, 5);
        assert_int_equal(e.oom, 2);
        assert_int_equal(e.oom_kill, 1);
        assert_int_equal(cgfs_read_events(f->fd, SLICE, true, &e), 0);
        assert_int_equal(e.high, 7);
        assert_int_equal(e.max, 0);

        /* Unknown future fields are ignored; malformed lines are not. */
        assert_int_equal(cgfs_parse_events("low 1\nsock_throttled 9\n", &e), 0);
        assert_int_equal(e.low, 1);
        assert_int_equal(e.high, 0);
        assert_int_equal(e.max, 0);
        assert_int_equal(e.oom_kill, 0);
        assert_int_equal(cgfs_parse_events("high\n", &e), -EINVAL);
        assert_int_equal(cgfs_parse_events("high x\n", &e), -EINVAL);
        assert_int_equal(cgfs_parse_events(" 5\n", &e), -EINVAL);
        assert_int_equal(cgfs_parse_events("high 99999999999999999999\n", &e), -ERANGE);
        assert_int_equal(cgfs_parse_events("high 123456789012345678901234567890123\n", &e), -EINVAL);
}

/* As Debian 12's 6.1 prints it (abridged only in the thp lines). */
#define STAT_6_1 \
        "anon 1000\nfile 2000\nkernel 300\nkernel_stack 16384\npagetables 4096\npercpu 880\nsock 0\n" \
        "vmalloc 8192\nshmem 7\nzswap 0\nzswapped 0\nfile_mapped 5\nfile_dirty 11\nfile_writeback 12\n" \
        "swapcached 13\nanon_thp 0\nfile_thp 0\nshmem_thp 0\ninactive_anon 600\nactive_anon 407\n" \
        "inactive_file 1500\nactive_file 493\nunevictable 17\nslab_reclaimable 180\nslab_unreclaimable 90\n" \
        "slab 270\nworkingset_refault_anon 3\nworkingset_refault_file 4\nworkingset_activate_anon 5\n" \
        "workingset_activate_file 6\nworkingset_restore_anon 0\nworkingset_restore_file 0\n" \
        "workingset_nodereclaim 0\npgscan 42\npgsteal 40\npgscan_kswapd 0\npgscan_direct 42\n" \
        "pgsteal_kswapd 0\npgsteal_direct 40\npgfault 99\npgmajfault 1\npgrefill 0\npgactivate 0\n" \
        "pgdeactivate 0\npglazyfree 0\npglazyfreed 0\nthp_fault_alloc 0\nthp_collapse_alloc 0\n"

static void test_memory_stat(void **state) {
        fixture *f = *state;
        cgfs_memory_stat s;

        tmptree_write(f->root, SLICE "/memory.stat", STAT_6_1);
        assert_int_equal(cgfs_read_memory_stat(f->fd, SLICE, &s), 0);
        assert_int_equal(s.anon, 1000);
        assert_int_equal(s.file, 2000);
        assert_int_equal(s.kernel, 300);
        assert_int_equal(s.kernel_stack, 16384);
        assert_int_equal(s.pagetables, 4096);
        assert_int_equal(s.percpu, 880);
        assert_int_equal(s.vmalloc, 8192);
        assert_int_equal(s.shmem, 7);
        assert_int_equal(s.file_dirty, 11);
        assert_int_equal(s.file_writeback, 12);
        assert_int_equal(s.swapcached, 13);
        assert_int_equal(s.inactive_anon, 600);
        assert_int_equal(s.active_anon, 407);
        assert_int_equal(s.inactive_file, 1500);
        assert_int_equal(s.active_file, 493);
        assert_int_equal(s.unevictable, 17);
        assert_int_equal(s.slab_reclaimable, 180);
        assert_int_equal(s.slab_unreclaimable, 90);
        assert_int_equal(s.pgscan, 42);
        assert_int_equal(s.pgsteal, 40);
        assert_int_equal(s.workingset_refault_anon, 3);
        assert_int_equal(s.workingset_refault_file, 4);
        assert_int_equal(s.workingset_activate_anon, 5);
        assert_int_equal(s.workingset_activate_file, 6);
        assert_int_equal(s.sec_pagetables, 0);
        assert_int_equal(s.present, CGFS_STAT_HAS_KERNEL | CGFS_STAT_HAS_LRU | CGFS_STAT_HAS_ACTIVATE |
                                    CGFS_STAT_HAS_PGSTEAL);

        /* 6.12 adds fields, some between known ones: they are skipped, the known ones kept. */
        assert_int_equal(cgfs_parse_memory_stat("anon 1\nsec_pagetables 8192\nhugetlb 0\nzswpwb 3\n"
                                                "pgpromote_success 9\nfile 2\nworkingset_activate_file 7\n", &s), 0);
        assert_int_equal(s.anon, 1);
        assert_int_equal(s.sec_pagetables, 8192);
        assert_int_equal(s.file, 2);
        assert_int_equal(s.workingset_activate_file, 7);
        assert_int_equal(s.present, CGFS_STAT_HAS_ACTIVATE);

        /* Before 5.18 there is no "kernel": absent, not 0 of it. */
        assert_int_equal(cgfs_parse_memory_stat("anon 5\nkernel_stack 4096\n", &s), 0);
        assert_int_equal(s.kernel, 0);
        assert_int_equal(s.kernel_stack, 4096);
        assert_int_equal(s.present, 0);

        assert_int_equal(cgfs_parse_memory_stat("anon -1\n", &s), -EINVAL);
        assert_int_equal(cgfs_parse_memory_stat("anon\n", &s), -EINVAL);
        assert_int_equal(cgfs_read_memory_stat(f->fd, "user.slice/gone.slice", &s), -ENOENT);
}

static void test_pressure_and_cgroup_events(void **state) {
        fixture *f = *state;
        psi_stats p;
        bool populated, frozen;

        assert_int_equal(cgfs_read_pressure(f->fd, SLICE, &p), 0);
        assert_true(p.some.avg10 > 24.9 && p.some.avg10 < 25.1);
        assert_true(p.some.avg60 > 9.9 && p.some.avg60 < 10.1);
        assert_int_equal(p.some.total_usec, 1000);
        assert_true(p.has_full);
        assert_true(p.full.avg10 > 4.9 && p.full.avg10 < 5.1);
        assert_int_equal(p.full.total_usec, 200);

        assert_int_equal(cgfs_read_cgroup_events(f->fd, SLICE, &populated, &frozen), 0);
        assert_true(populated);
        assert_false(frozen);
        assert_int_equal(cgfs_parse_cgroup_events("populated 0\nfrozen 1\n", &populated, &frozen), 0);
        assert_false(populated);
        assert_true(frozen);
        assert_int_equal(cgfs_parse_cgroup_events("frozen 1\n", &populated, &frozen), -EINVAL);
        assert_int_equal(cgfs_parse_cgroup_events("populated 2\n", &populated, &frozen), -EINVAL);
}

static void test_controllers(void **state) {
        fixture *f = *state;

        assert_int_equal(cgfs_has_controller(f->fd, "", "cgroup.controllers", "memory"), 1);
        assert_int_equal(cgfs_has_controller(f->fd, "", "cgroup.subtree_control", "memory"), 1);
        assert_int_equal(cgfs_has_controller(f->fd, "", "cgroup.subtree_control", "cpuset"), 0);
        assert_int_equal(cgfs_has_controller(f->fd, "", "cgroup.controllers", "mem"), 0);
        assert_int_equal(cgfs_has_controller(f->fd, SLICE, "cgroup.controllers", "memory"), -ENOENT);
}

static void test_children(void **state) {
        fixture *f = *state;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_strv_free_ char **none = NULL;

        assert_int_equal(cgfs_list_children(f->fd, SLICE, &names), 0);
        assert_int_equal(strv_length(names), 2);
        assert_string_equal(names[0], "session-3.scope");
        assert_string_equal(names[1], "user@1001.service");
        assert_int_equal(cgfs_list_children(f->fd, SLICE "/session-3.scope", &none), 0);
        assert_int_equal(strv_length(none), 0);
        assert_int_equal(cgfs_list_children(f->fd, "nope", &names), -ENOENT);
}

static void test_collect_procs(void **state) {
        fixture *f = *state;
        cgfs_procs p;
        size_t hog = 0;

        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        assert_int_equal(p.n_pids, 6);
        for (size_t i = 0; i < p.n_pids; i++)
                if (p.pids[i] == 301) {
                        assert_string_equal(p.cgroups[p.cgroup_index[i]],
                                            SLICE "/user@1001.service/app.slice/hog.service");
                        hog++;
                } else if (p.pids[i] == 100)
                        assert_string_equal(p.cgroups[p.cgroup_index[i]], SLICE "/session-3.scope");
        assert_int_equal(hog, 1);
        cgfs_procs_done(&p);
        assert_null(p.pids);

        /* A leaf alone: just its own pids. */
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE "/session-3.scope", &p), 0);
        assert_int_equal(p.n_pids, 2);
        assert_int_equal(p.pids[0], 100);
        assert_int_equal(p.pids[1], 101);
        assert_int_equal(p.n_cgroups, 1);
        assert_string_equal(p.cgroups[p.cgroup_index[1]], SLICE "/session-3.scope");
        cgfs_procs_done(&p);

        /* A malformed pid line poisons nothing silently. */
        tmptree_write(f->root, SLICE "/session-3.scope/cgroup.procs", "100\nabc\n");
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), -EINVAL);
        tmptree_write(f->root, SLICE "/session-3.scope/cgroup.procs", "0\n");
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), -EINVAL);
        assert_int_equal(cgfs_collect_procs(f->fd, "user.slice/none.slice", &p), -ENOENT);
        assert_int_equal(cgfs_collect_procs(f->fd, "/abs", &p), -EINVAL);
}

static void test_collect_many_procs(void **state) {
        fixture *f = *state;
        char *big = malloc(5000 * 8);
        cgfs_procs p;
        size_t off = 0;

        for (int i = 1; i <= 5000; i++)
                off += (size_t) sprintf(big + off, "%d\n", 10000 + i);
        tmptree_write(f->root, "user.slice/user-1003.slice/cgroup.procs", big);
        free(big);
        assert_int_equal(cgfs_collect_procs(f->fd, "user.slice/user-1003.slice", &p), 0);
        assert_int_equal(p.n_pids, 5000);
        assert_int_equal(p.pids[4999], 15000);
        cgfs_procs_done(&p);
}

static void test_write_and_open(void **state) {
        fixture *f = *state;
        char buf[16];
        int fd;

        tmptree_write(f->root, SLICE "/cgroup.kill", "");
        assert_int_equal(cgfs_write(f->fd, SLICE, "cgroup.kill", "1"), 0);
        assert_int_equal(read_file_at(f->fd, SLICE "/cgroup.kill", buf, sizeof buf, NULL), 0);
        assert_string_equal(buf, "1");
        assert_int_equal(cgfs_write(f->fd, "user.slice/gone", "cgroup.kill", "1"), -ENOENT);
        assert_int_equal(cgfs_write(f->fd, SLICE, "../x", "1"), -EINVAL);

        fd = cgfs_open(f->fd, SLICE, "memory.events", O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(read_fd(fd, buf, sizeof buf, NULL), -EFBIG);
        close(fd);
        assert_int_equal(cgfs_open(f->fd, SLICE, "", O_RDONLY), -EINVAL);
}

/* The containment rule memgovd checks before writing cgroup.kill. */
static void test_path_is_below(void **state) {
        static const char *const slice = "user.slice/user-1001.slice";
        (void) state;

        assert_true(cgfs_path_is_below("user.slice/user-1001.slice/app.scope", slice));
        assert_true(cgfs_path_is_below("user.slice/user-1001.slice/user@1001.service/a/b/c", slice));
        assert_true(cgfs_path_is_below("user.slice/user-1001.slice/..hidden", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice/", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slicex/app.scope", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1002.slice/app.scope", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice/..", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice/app.scope/..", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice/../user-1002.slice", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice/./app.scope", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice//app.scope", slice));
        assert_false(cgfs_path_is_below("user.slice/user-1001.slice/app.scope/", slice));
        assert_false(cgfs_path_is_below(NULL, slice));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_is_below),
                cmocka_unit_test(test_path_check),
                cmocka_unit_test_setup_teardown(test_read_memory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_memory_optional_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_memory_stat, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pressure_and_cgroup_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_controllers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_children, setup, teardown),
                cmocka_unit_test_setup_teardown(test_collect_procs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_collect_many_procs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_and_open, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
