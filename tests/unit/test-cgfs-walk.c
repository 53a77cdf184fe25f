/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The task walk against the trees a hostile user can build in their
 * delegated user@UID.service: deep, long-named, threaded, unreadable,
 * vanishing, huge. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgfs.h"
#include "tmptree.h"
#include "util.h"

#define SLICE "user.slice/user-1001.slice"
#define SVC SLICE "/user@1001.service"

typedef struct fixture {
        char *root;
        int fd;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);

        f->root = tmptree_new();
        tmptree_write(f->root, SLICE "/cgroup.procs", "");
        tmptree_write(f->root, SLICE "/session-3.scope/cgroup.procs", "100\n");
        tmptree_write(f->root, SVC "/cgroup.procs", "");
        tmptree_write(f->root, SVC "/app.slice/cgroup.procs", "");
        tmptree_write(f->root, SVC "/app.slice/hog.service/cgroup.procs", "300\n");
        f->fd = tmptree_open(f->root);
        *state = f;
        return 0;
}

/* rm -rf through fds: the trees here are deeper than PATH_MAX, where
 * nftw() gives up. */
static void rm_rf_at(int parent, const char *name) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0) {
                (void) unlinkat(parent, name, 0);
                return;
        }
        d = fdopendir(fd);
        assert_non_null(d);
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type == DT_DIR)
                        rm_rf_at(dirfd(d), de->d_name);
                else
                        assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
        }
        closedir(d);
        assert_int_equal(unlinkat(parent, name, AT_REMOVEDIR), 0);
}

static int teardown(void **state) {
        fixture *f = *state;

        rm_rf_at(f->fd, "user.slice");
        close(f->fd);
        tmptree_free(f->root);
        free(f);
        return 0;
}

static void write_at(int dirfd, const char *name, const char *content) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
}

/* DEPTH nested dirs named NAME under DIR, with cgroup.procs "" at every
 * level and PIDS at the bottom. */
static void make_chain(int dirfd, const char *name, unsigned depth, const char *pids) {
        int fd = dup(dirfd);

        for (unsigned i = 0; i < depth; i++) {
                int next;
                assert_true(mkdirat(fd, name, 0755) == 0 || errno == EEXIST);
                next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(next >= 0);
                close(fd);
                fd = next;
                write_at(fd, "cgroup.procs", i + 1 == depth ? pids : "");
        }
        close(fd);
}

static int open_dir(fixture *f, const char *rel) {
        int fd = openat(f->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static bool has_pid(const cgfs_procs *p, pid_t pid, const char **ret_cgroup) {
        for (size_t i = 0; i < p->n_pids; i++)
                if (p->pids[i] == pid) {
                        if (ret_cgroup)
                                *ret_cgroup = p->cgroups[p->cgroup_index[i]];
                        return true;
                }
        return false;
}

static void test_plain(void **state) {
        fixture *f = *state;
        cgfs_procs p;
        const char *cg = NULL;

        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        assert_int_equal(p.n_pids, 2);
        assert_true(has_pid(&p, 300, &cg));
        assert_string_equal(cg, SVC "/app.slice/hog.service");
        /* Only cgroups with tasks are kept. */
        assert_int_equal(p.n_cgroups, 2);
        assert_int_equal(p.n_walked, 5);
        assert_int_equal(p.n_skipped + p.n_vanished + p.n_threaded + p.n_unnamed, 0);
        assert_false(p.truncated);
        assert_null(p.first_error_path);
        cgfs_procs_done(&p);
}

/* Deeper than the old 32-level limit, and a path over 4096 bytes: the
 * hog at the bottom is found. */
static void test_deep(void **state) {
        fixture *f = *state;
        char name[201];
        struct rlimit old, low;
        cgfs_procs p;
        const char *cg = NULL;
        int svc;

        svc = open_dir(f, SVC);
        make_chain(svc, "d", 40, "401\n");
        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = 0;
        make_chain(svc, name, 200, "402\n403\n");   /* 200 * 201 bytes: about 40 KiB of path */
        close(svc);

        /* One fd per level would run out here. */
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
        low = (struct rlimit) { 64, old.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        int r = cgfs_collect_procs(f->fd, SLICE, &p);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        assert_int_equal(r, 0);

        assert_int_equal(p.n_pids, 5);
        assert_true(has_pid(&p, 401, &cg));
        assert_non_null(cg);
        assert_int_equal(strlen(cg), strlen(SVC) + 40 * 2);
        assert_true(has_pid(&p, 402, &cg));
        /* Too long to be of use to cgfs_*(): kept without a path. */
        assert_null(cg);
        assert_true(has_pid(&p, 403, NULL));
        assert_int_equal(p.n_unnamed, 1);
        assert_int_equal(p.n_skipped, 0);
        assert_false(p.truncated);
        assert_true(has_pid(&p, 300, NULL));
        cgfs_procs_done(&p);
}

/* Hooks standing in for what a real cgroupfs does. */
typedef struct hook {
        const char *root;
        int fail_errno;           /* for cgroup.procs in dirs holding a "fail-here" file */
        unsigned opens;
        unsigned dead_dotdot;
} hook;

static bool dir_has(int dirfd, const char *file) {
        struct stat st;
        return fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int hook_openat(int dirfd, const char *name, int flags, void *userdata) {
        hook *h = userdata;
        int fd;

        h->opens++;
        /* cgroup.type "threaded": the kernel refuses cgroup.procs. */
        if (strcmp(name, "cgroup.procs") == 0 && dir_has(dirfd, "cgroup.type")) {
                char buf[64];
                if (read_file_at(dirfd, "cgroup.type", buf, sizeof buf, NULL) == 0 && strcmp(buf, "threaded\n") == 0)
                        return -EOPNOTSUPP;
        }
        if (strcmp(name, "cgroup.procs") == 0 && dir_has(dirfd, "fail-here"))
                return -h->fail_errno;
        if (strcmp(name, ".") == 0 && dir_has(dirfd, "unlistable"))
                return -EACCES;
        /* The cgroup's parent removed, with it, while the walk is inside:
         * some filesystems refuse ".." of a removed directory. */
        if (strcmp(name, "cgroup.procs") == 0 && dir_has(dirfd, "remove-parent")) {
                int gp = openat(dirfd, "../..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(gp >= 0);
                rm_rf_at(gp, "b");
                close(gp);
        }
        if (strcmp(name, "..") == 0) {
                struct stat st;
                assert_int_equal(fstat(dirfd, &st), 0);
                if (st.st_nlink == 0) {
                        h->dead_dotdot++;
                        return -ENOENT;
                }
        }
        /* A sibling removed while the walk is under way. */
        if (strcmp(name, "cgroup.procs") == 0 && dir_has(dirfd, "remove-b")) {
                int parent = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(parent >= 0);
                rm_rf_at(parent, "b");
                close(parent);
        }
        fd = openat(dirfd, name, flags);
        return fd < 0 ? -errno : fd;
}

static void test_threaded(void **state) {
        fixture *f = *state;
        hook h = { .root = f->root };
        cgfs_walk_options o = { .openat_fn = hook_openat, .userdata = &h };
        cgfs_procs p;
        const char *cg = NULL;

        /* The kernel lists the threaded subtree's processes in its domain. */
        tmptree_write(f->root, SVC "/vm.service/cgroup.procs", "500\n");
        tmptree_write(f->root, SVC "/vm.service/cgroup.type", "domain threaded\n");
        tmptree_write(f->root, SVC "/vm.service/vcpu0/cgroup.type", "threaded\n");
        tmptree_write(f->root, SVC "/vm.service/vcpu0/cgroup.procs", "");
        tmptree_write(f->root, SVC "/vm.service/vcpu0/inner/cgroup.procs", "999\n");
        tmptree_write(f->root, SVC "/vm.service/vcpu1/cgroup.type", "threaded\n");
        tmptree_write(f->root, SVC "/vm.service/vcpu1/cgroup.procs", "");

        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), 0);
        assert_true(has_pid(&p, 500, &cg));
        assert_string_equal(cg, SVC "/vm.service");
        assert_true(has_pid(&p, 100, NULL));
        assert_true(has_pid(&p, 300, NULL));
        /* Nothing below a threaded cgroup is read. */
        assert_false(has_pid(&p, 999, NULL));
        assert_int_equal(p.n_pids, 3);
        assert_int_equal(p.n_threaded, 2);
        /* Threaded is a normal state, not an error. */
        assert_int_equal(p.n_skipped, 0);
        assert_int_equal(p.first_error, 0);
        assert_true(h.opens > 0);
        cgfs_procs_done(&p);
}

static void test_unreadable(void **state) {
        fixture *f = *state;
        hook h = { .root = f->root, .fail_errno = EACCES };
        cgfs_walk_options o = { .openat_fn = hook_openat, .userdata = &h };
        cgfs_procs p;

        tmptree_write(f->root, SVC "/app.slice/a.scope/cgroup.procs", "601\n");
        tmptree_write(f->root, SVC "/app.slice/a.scope/fail-here", "");
        tmptree_write(f->root, SVC "/app.slice/a.scope/sub/cgroup.procs", "602\n");
        tmptree_write(f->root, SVC "/app.slice/z.scope/cgroup.procs", "603\n");
        tmptree_write(f->root, SVC "/app.slice/z.scope/unlistable", "");
        tmptree_write(f->root, SVC "/app.slice/z.scope/sub/cgroup.procs", "604\n");

        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), 0);
        /* a.scope: cgroup.procs unreadable, subtree left out. */
        assert_false(has_pid(&p, 601, NULL));
        assert_false(has_pid(&p, 602, NULL));
        /* z.scope: its own tasks read, its children could not be listed. */
        assert_true(has_pid(&p, 603, NULL));
        assert_false(has_pid(&p, 604, NULL));
        /* Everything else still there. */
        assert_true(has_pid(&p, 100, NULL));
        assert_true(has_pid(&p, 300, NULL));
        assert_int_equal(p.n_pids, 3);
        assert_int_equal(p.n_skipped, 2);
        assert_int_equal(p.first_error, -EACCES);
        assert_string_equal(p.first_error_path, SVC "/app.slice/a.scope");
        cgfs_procs_done(&p);

        /* The walked cgroup itself unreadable: that is the caller's error. */
        tmptree_write(f->root, SLICE "/fail-here", "");
        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), -EACCES);
}

static void test_vanishing(void **state) {
        fixture *f = *state;
        hook h = { .root = f->root, .fail_errno = ENODEV };
        cgfs_walk_options o = { .openat_fn = hook_openat, .userdata = &h };
        cgfs_procs p;

        /* "a" removes its sibling "b" while it is being read; "c" was
         * removed after it was opened (ENODEV on a dead kernfs node). */
        tmptree_write(f->root, SVC "/x.slice/cgroup.procs", "");
        tmptree_write(f->root, SVC "/x.slice/a/cgroup.procs", "701\n");
        tmptree_write(f->root, SVC "/x.slice/a/remove-b", "");
        tmptree_write(f->root, SVC "/x.slice/b/cgroup.procs", "702\n");
        tmptree_write(f->root, SVC "/x.slice/b/deeper/cgroup.procs", "703\n");
        tmptree_write(f->root, SVC "/x.slice/c/cgroup.procs", "704\n");
        tmptree_write(f->root, SVC "/x.slice/c/fail-here", "");
        tmptree_write(f->root, SVC "/x.slice/d/cgroup.procs", "705\n");

        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), 0);
        assert_true(has_pid(&p, 701, NULL));
        assert_false(has_pid(&p, 702, NULL));
        assert_false(has_pid(&p, 704, NULL));
        assert_true(has_pid(&p, 705, NULL));
        assert_true(has_pid(&p, 300, NULL));
        assert_int_equal(p.n_vanished, 2);
        /* Churn is not an error. */
        assert_int_equal(p.n_skipped, 0);
        assert_null(p.first_error_path);
        cgfs_procs_done(&p);

        /* The walked cgroup itself gone: -ENOENT as before. */
        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE "/gone.scope", &o, &p), -ENOENT);
}

/* The directory the walk is in is removed under it: the walk climbs back
 * by name from the top and carries on with the rest. */
static void test_vanishing_current(void **state) {
        fixture *f = *state;
        hook h = { .root = f->root };
        cgfs_walk_options o = { .openat_fn = hook_openat, .userdata = &h };
        cgfs_procs p;

        tmptree_write(f->root, SVC "/y.slice/cgroup.procs", "");
        tmptree_write(f->root, SVC "/y.slice/b/cgroup.procs", "801\n");
        tmptree_write(f->root, SVC "/y.slice/b/k1/cgroup.procs", "802\n");
        tmptree_write(f->root, SVC "/y.slice/b/k1/remove-parent", "");
        tmptree_write(f->root, SVC "/y.slice/b/k2/cgroup.procs", "803\n");
        tmptree_write(f->root, SVC "/y.slice/z/cgroup.procs", "804\n");

        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), 0);
        assert_true(has_pid(&p, 801, NULL));
        assert_false(has_pid(&p, 802, NULL));
        assert_false(has_pid(&p, 803, NULL));
        assert_true(has_pid(&p, 804, NULL));
        assert_true(has_pid(&p, 300, NULL));
        assert_true(has_pid(&p, 100, NULL));
        assert_int_equal(p.n_pids, 4);
        /* k1 (its cgroup.procs) and k2 vanished; ".." of the dead "b" was refused. */
        assert_int_equal(p.n_vanished, 2);
        assert_int_equal(h.dead_dotdot, 1);
        assert_int_equal(p.n_skipped, 0);
        cgfs_procs_done(&p);
}

/* Names a user may give a cgroup: all are walked and kept verbatim. */
static void test_hostile_names(void **state) {
        fixture *f = *state;
        static const char *const names[] = {
                "a\nb", "<0>x", "...", "..x", ".hidden", "\x1b]52;c;eA==\x07", "sp ace", "\xff\xfe",
        };
        char long_name[NAME_MAX + 1], rel[PATH_MAX];
        cgfs_procs p;
        int svc;

        svc = open_dir(f, SVC);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char pids[16];
                snprintf(pids, sizeof pids, "%zu\n", 900 + i);
                make_chain(svc, names[i], 1, pids);
        }
        memset(long_name, 'L', NAME_MAX);
        long_name[NAME_MAX] = 0;
        make_chain(svc, long_name, 1, "999\n");
        close(svc);

        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const char *cg = NULL;
                assert_true(has_pid(&p, (pid_t) (900 + i), &cg));
                snprintf(rel, sizeof rel, SVC "/%s", names[i]);
                assert_string_equal(cg, rel);
        }
        assert_true(has_pid(&p, 999, NULL));
        assert_int_equal(p.n_pids, 2 + ELEMENTSOF(names) + 1);
        assert_int_equal(p.n_skipped, 0);
        cgfs_procs_done(&p);
}

/* 4,200 empty cgroups: the walk stops at its cap and says so. */
static void test_caps(void **state) {
        fixture *f = *state;
        cgfs_walk_options o = { .max_cgroups = 1000 };
        cgfs_procs p;
        char name[32];
        int dir;

        tmptree_write(f->root, SVC "/many.slice/cgroup.procs", "");
        dir = open_dir(f, SVC "/many.slice");
        /* Bare directories: to the walk, cgroups that vanished as it came. */
        for (int i = 0; i < 4200; i++) {
                snprintf(name, sizeof name, "c%05d", i);
                assert_int_equal(mkdirat(dir, name, 0755), 0);
        }
        close(dir);

        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), 0);
        assert_true(p.truncated);
        assert_int_equal(p.n_walked, 1000);
        /* app.slice sorts before many.slice: the hog was read first. */
        assert_true(has_pid(&p, 300, NULL));
        cgfs_procs_done(&p);

        /* Defaults: 4,200 + 6 > 4096. */
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        assert_true(p.truncated);
        assert_int_equal(p.n_walked, CGFS_WALK_MAX_CGROUPS);
        cgfs_procs_done(&p);

        /* Subtrees the kernel calls unpopulated are not entered. */
        tmptree_write(f->root, SVC "/many.slice/cgroup.events", "populated 0\nfrozen 0\n");
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        assert_false(p.truncated);
        assert_int_equal(p.n_walked, 6);
        assert_int_equal(p.n_pids, 2);
        cgfs_procs_done(&p);

        /* The task cap. */
        tmptree_write(f->root, SVC "/app.slice/hog.service/cgroup.procs", "300\n301\n302\n303\n304\n305\n");
        o = (cgfs_walk_options) { .max_pids = 4 };
        assert_int_equal(cgfs_collect_procs_with(f->fd, SLICE, &o, &p), 0);
        assert_true(p.truncated);
        assert_int_equal(p.n_pids, 4);
        cgfs_procs_done(&p);
}

/* cgroup.procs longer than one read buffer, lines split across reads. */
static void test_big_procs(void **state) {
        fixture *f = *state;
        char *big = malloc(30000 * 9);
        size_t off = 0;
        cgfs_procs p;

        for (int i = 1; i <= 30000; i++)
                off += (size_t) sprintf(big + off, "%d\n", 1000000 + i);
        tmptree_write(f->root, SVC "/app.slice/hog.service/cgroup.procs", big);
        free(big);
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        assert_int_equal(p.n_pids, 30001);
        for (size_t i = 0, want = 1000001; i < p.n_pids; i++)
                if (p.pids[i] != 100)
                        assert_int_equal(p.pids[i], want++);
        cgfs_procs_done(&p);

        /* Last line without a newline still counts; garbage never does. */
        tmptree_write(f->root, SVC "/app.slice/hog.service/cgroup.procs", "300\n301");
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), 0);
        assert_int_equal(p.n_pids, 3);
        cgfs_procs_done(&p);
        tmptree_write(f->root, SVC "/app.slice/hog.service/cgroup.procs", "300\n3x1\n");
        assert_int_equal(cgfs_collect_procs(f->fd, SLICE, &p), -EINVAL);
}

int main(void) {
        /* Thousands of directories: on tmpfs that takes milliseconds, on a
         * busy disk it can take the test's whole timeout. */
        if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0)
                setenv("TMPDIR", "/dev/shm", 0);

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_threaded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vanishing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vanishing_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_big_procs, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
