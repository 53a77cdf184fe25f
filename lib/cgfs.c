/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgfs.h"
#include "util.h"

/* memory.stat is about 1.5 KiB on 6.x; leave room for future fields. */
#define CGFS_STAT_MAX 8192
#define CGFS_SMALL_MAX 512

int cgfs_path_check(const char *cgroup) {
        const char *p;

        if (!cgroup)
                return -EINVAL;
        if (cgroup[0] == 0)
                return 0;
        if (cgroup[0] == '/')
                return -EINVAL;
        if (strlen(cgroup) >= PATH_MAX)
                return -ENAMETOOLONG;

        p = cgroup;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen(p);

                if (len == 0)
                        return -EINVAL;
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                if (!slash)
                        return 0;
                p = slash + 1;
        }
}

int cgfs_path_relative(const char *cgroup, const char **ret) {
        int r;

        assert(ret);
        if (!cgroup)
                return -EINVAL;
        if (cgroup[0] == '/')
                cgroup++;
        r = cgfs_path_check(cgroup);
        if (r < 0)
                return r;
        *ret = cgroup;
        return 0;
}

/* "CGROUP/FILE", or "FILE" for the root. */
static int cgfs_join(const char *cgroup, const char *file, char *buf, size_t size) {
        int n, r;

        r = cgfs_path_check(cgroup);
        if (r < 0)
                return r;
        if (file && (file[0] == 0 || strchr(file, '/')))
                return -EINVAL;
        if (cgroup[0] == 0)
                n = snprintf(buf, size, "%s", file ? file : ".");
        else if (file)
                n = snprintf(buf, size, "%s/%s", cgroup, file);
        else
                n = snprintf(buf, size, "%s", cgroup);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}

int cgfs_open(int cgroot_fd, const char *cgroup, const char *file, int flags) {
        char path[PATH_MAX];
        int fd, r;

        r = cgfs_join(cgroup, file, path, sizeof path);
        if (r < 0)
                return r;
        fd = openat(cgroot_fd, path, flags | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

static int cgfs_read(int cgroot_fd, const char *cgroup, const char *file, char *buf, size_t size) {
        char path[PATH_MAX];
        int r;

        r = cgfs_join(cgroup, file, path, sizeof path);
        if (r < 0)
                return r;
        return read_file_at(cgroot_fd, path, buf, size, NULL);
}

int cgfs_read_u64(int cgroot_fd, const char *cgroup, const char *file, uint64_t *ret) {
        char buf[64];
        int r;

        r = cgfs_read(cgroot_fd, cgroup, file, buf, sizeof buf);
        if (r < 0)
                return r;
        return parse_u64(buf, ret);
}

int cgfs_read_limit(int cgroot_fd, const char *cgroup, const char *file, uint64_t *ret) {
        char buf[64];
        int r;

        r = cgfs_read(cgroot_fd, cgroup, file, buf, sizeof buf);
        if (r < 0)
                return r;
        return parse_limit(buf, ret);
}

int cgfs_read_memory(int cgroot_fd, const char *cgroup, cgfs_memory *ret) {
        cgfs_memory m = { .swap_max = BYTES_INFINITY };
        int r;

        assert(ret);

        r = cgfs_read_u64(cgroot_fd, cgroup, "memory.current", &m.current);
        if (r < 0)
                return r;
        r = cgfs_read_limit(cgroot_fd, cgroup, "memory.high", &m.high);
        if (r < 0)
                return r;
        r = cgfs_read_limit(cgroot_fd, cgroup, "memory.max", &m.max);
        if (r < 0)
                return r;
        /* Swap files are absent with swapaccount=0, memory.peak before 5.19:
         * absence is a valid state, garbage is not. */
        r = cgfs_read_u64(cgroot_fd, cgroup, "memory.swap.current", &m.swap_current);
        if (r < 0 && r != -ENOENT)
                return r;
        r = cgfs_read_limit(cgroot_fd, cgroup, "memory.swap.max", &m.swap_max);
        if (r < 0 && r != -ENOENT)
                return r;
        r = cgfs_read_u64(cgroot_fd, cgroup, "memory.peak", &m.peak);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret = m;
        return 0;
}

/* Walks "key value\n" lines, calling on_pair for each. Values are u64. */
static int parse_keyed(const char *text, int (*on_pair)(void *ud, const char *key, size_t keylen, uint64_t v),
                       void *ud) {
        const char *p = text;

        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                const char *space = memchr(p, ' ', len);
                char num[32];
                uint64_t v;
                size_t numlen;
                int r;

                if (!space || space == p)
                        return -EINVAL;
                numlen = len - (size_t) (space + 1 - p);
                if (numlen == 0 || numlen >= sizeof num)
                        return -EINVAL;
                memcpy(num, space + 1, numlen);
                num[numlen] = 0;
                r = parse_u64(num, &v);
                if (r < 0)
                        return r;
                r = on_pair(ud, p, (size_t) (space - p), v);
                if (r < 0)
                        return r;
                if (!eol)
                        break;
                p = eol + 1;
        }
        return 0;
}

static bool key_is(const char *key, size_t keylen, const char *name) {
        return strlen(name) == keylen && memcmp(key, name, keylen) == 0;
}

static int events_pair(void *ud, const char *key, size_t keylen, uint64_t v) {
        cgfs_events *e = ud;

        if (key_is(key, keylen, "low"))
                e->low = v;
        else if (key_is(key, keylen, "high"))
                e->high = v;
        else if (key_is(key, keylen, "max"))
                e->max = v;
        else if (key_is(key, keylen, "oom"))
                e->oom = v;
        else if (key_is(key, keylen, "oom_kill"))
                e->oom_kill = v;
        else if (key_is(key, keylen, "oom_group_kill"))
                e->oom_group_kill = v;
        /* Newer kernels add fields; ignore them rather than fail. */
        return 0;
}

int cgfs_parse_events(const char *text, cgfs_events *ret) {
        cgfs_events e = {};
        int r;

        assert(text);
        assert(ret);

        r = parse_keyed(text, events_pair, &e);
        if (r < 0)
                return r;
        *ret = e;
        return 0;
}

int cgfs_read_events(int cgroot_fd, const char *cgroup, bool local, cgfs_events *ret) {
        char buf[CGFS_SMALL_MAX];
        int r;

        r = cgfs_read(cgroot_fd, cgroup, local ? "memory.events.local" : "memory.events", buf, sizeof buf);
        if (r < 0)
                return r;
        return cgfs_parse_events(buf, ret);
}

static int stat_pair(void *ud, const char *key, size_t keylen, uint64_t v) {
        static const struct {
                const char *name;
                size_t offset;
                unsigned present;
        } fields[] = {
#define F(n, p) { #n, offsetof(cgfs_memory_stat, n), p }
                F(anon, 0), F(file, 0), F(kernel, CGFS_STAT_HAS_KERNEL), F(kernel_stack, 0), F(pagetables, 0),
                F(sec_pagetables, 0), F(percpu, 0), F(sock, 0), F(vmalloc, 0), F(shmem, 0),
                F(file_mapped, 0), F(file_dirty, 0), F(file_writeback, 0), F(swapcached, 0),
                F(inactive_anon, 0), F(active_anon, 0), F(inactive_file, CGFS_STAT_HAS_LRU),
                F(active_file, CGFS_STAT_HAS_LRU), F(unevictable, 0),
                F(slab_reclaimable, 0), F(slab_unreclaimable, 0),
                F(pgscan, 0), F(pgsteal, CGFS_STAT_HAS_PGSTEAL), F(pgfault, 0), F(pgmajfault, 0),
                F(workingset_refault_anon, 0), F(workingset_refault_file, 0),
                F(workingset_activate_anon, 0), F(workingset_activate_file, CGFS_STAT_HAS_ACTIVATE),
#undef F
        };
        cgfs_memory_stat *s = ud;

        /* Every kernel adds fields (6.12 has twice 6.1's): unknown ones are ignored. */
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (key_is(key, keylen, fields[i].name)) {
                        *(uint64_t *) ((char *) s + fields[i].offset) = v;
                        s->present |= fields[i].present;
                        break;
                }
        return 0;
}

int cgfs_parse_memory_stat(const char *text, cgfs_memory_stat *ret) {
        cgfs_memory_stat s = {};
        int r;

        assert(text);
        assert(ret);

        r = parse_keyed(text, stat_pair, &s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

int cgfs_read_memory_stat(int cgroot_fd, const char *cgroup, cgfs_memory_stat *ret) {
        char buf[CGFS_STAT_MAX];
        int r;

        r = cgfs_read(cgroot_fd, cgroup, "memory.stat", buf, sizeof buf);
        if (r < 0)
                return r;
        return cgfs_parse_memory_stat(buf, ret);
}

int cgfs_read_pressure(int cgroot_fd, const char *cgroup, psi_stats *ret) {
        char buf[CGFS_SMALL_MAX];
        int r;

        r = cgfs_read(cgroot_fd, cgroup, "memory.pressure", buf, sizeof buf);
        if (r < 0)
                return r;
        return psi_parse(buf, ret);
}

typedef struct cgroup_events_acc {
        bool populated, frozen, seen_populated;
} cgroup_events_acc;

static int cgroup_events_pair(void *ud, const char *key, size_t keylen, uint64_t v) {
        cgroup_events_acc *a = ud;

        if (v > 1)
                return -EINVAL;
        if (key_is(key, keylen, "populated")) {
                a->populated = v;
                a->seen_populated = true;
        } else if (key_is(key, keylen, "frozen"))
                a->frozen = v;
        return 0;
}

int cgfs_parse_cgroup_events(const char *text, bool *ret_populated, bool *ret_frozen) {
        cgroup_events_acc a = {};
        int r;

        assert(text);

        r = parse_keyed(text, cgroup_events_pair, &a);
        if (r < 0)
                return r;
        if (!a.seen_populated)
                return -EINVAL;
        if (ret_populated)
                *ret_populated = a.populated;
        if (ret_frozen)
                *ret_frozen = a.frozen;
        return 0;
}

int cgfs_read_cgroup_events(int cgroot_fd, const char *cgroup, bool *ret_populated, bool *ret_frozen) {
        char buf[CGFS_SMALL_MAX];
        int r;

        r = cgfs_read(cgroot_fd, cgroup, "cgroup.events", buf, sizeof buf);
        if (r < 0)
                return r;
        return cgfs_parse_cgroup_events(buf, ret_populated, ret_frozen);
}

int cgfs_has_controller(int cgroot_fd, const char *cgroup, const char *file, const char *controller) {
        char buf[CGFS_SMALL_MAX];
        char *saveptr = NULL;
        int r;

        assert(controller);

        r = cgfs_read(cgroot_fd, cgroup, file, buf, sizeof buf);
        if (r < 0)
                return r;
        for (char *tok = strtok_r(buf, " \n", &saveptr); tok; tok = strtok_r(NULL, " \n", &saveptr))
                if (strcmp(tok, controller) == 0)
                        return 1;
        return 0;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int cgfs_list_children(int cgroot_fd, const char *cgroup, char ***ret_names) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t n = 0;
        struct dirent *de;
        int fd, r;

        assert(ret_names);

        fd = cgfs_open(cgroot_fd, cgroup, NULL, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (de->d_type == DT_UNKNOWN) {
                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        if (!S_ISDIR(st.st_mode))
                                continue;
                } else if (de->d_type != DT_DIR)
                        continue;
                r = strv_extend(&names, de->d_name);
                if (r < 0)
                        return r;
                n++;
        }
        if (errno != 0)
                return -errno;
        if (n > 1)
                qsort(names, n, sizeof(char *), strcmp_ptr);
        if (!names) {
                names = calloc(1, sizeof(char *));
                if (!names)
                        return -ENOMEM;
        }
        *ret_names = TAKE_PTR(names);
        return 0;
}

int cgfs_write(int cgroot_fd, const char *cgroup, const char *file, const char *value) {
        _cleanup_close_ int fd = -1;
        size_t len;
        ssize_t n;

        assert(file);
        assert(value);

        fd = cgfs_open(cgroot_fd, cgroup, file, O_WRONLY);
        if (fd < 0)
                return fd;
        len = strlen(value);
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

bool cgfs_path_is_below(const char *path, const char *ancestor) {
        size_t n;

        assert(ancestor);
        if (!path)
                return false;
        n = strlen(ancestor);
        if (strncmp(path, ancestor, n) != 0 || path[n] != '/')
                return false;
        for (const char *c = path; *c;) {
                size_t len = strcspn(c, "/");

                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += len;
                if (*c == '/')
                        c++;
                if (*c == 0 && c[-1] == '/')
                        return false;   /* a trailing slash: an empty last component */
        }
        return true;
}
