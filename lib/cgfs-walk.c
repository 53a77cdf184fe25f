/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The task walk of a cgroup subtree. Users own the cgroups below their
 * user@UID.service and may make them as deep, long-named, numerous,
 * threaded or short-lived as they like: the walk must get through all of
 * that, or stop within its caps, and still return every task it read. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgfs.h"
#include "util.h"

/* A path longer than this can't be handed to cgfs_*() (PATH_MAX), so it
 * is not worth keeping; the sum bounds memory on a deep tree with tasks at
 * every level. */
#define WALK_PATH_KEEP_MAX (PATH_MAX - 1)
#define WALK_PATH_BYTES_MAX (4U << 20)
#define WALK_ERROR_PATH_MAX 4096

typedef struct walk_level {
        char **children;          /* sorted names, NULL-terminated */
        size_t next;              /* next child to visit */
        const char *name;         /* this level's name: points into the parent's children */
        size_t path_len;          /* strlen of the walk's path to this level's directory */
        dev_t dev;
        ino_t ino;
} walk_level;

typedef struct walk {
        cgfs_walk_options o;
        int cgroot_fd;
        const char *top;          /* the walked cgroup, relative */
        cgfs_procs *p;
        size_t alloc_cg, alloc_pid;
        size_t path_bytes_kept;
        size_t n_listed;          /* child names held or visited, across all levels */
        char *path;               /* relative path of the cgroup being read */
        size_t path_len, path_alloc;
        walk_level *levels;
        size_t n_levels, alloc_levels;
        bool stop;
} walk;

void cgfs_procs_done(cgfs_procs *procs) {
        if (!procs)
                return;
        free(procs->pids);
        free(procs->cgroup_index);
        for (size_t i = 0; i < procs->n_cgroups; i++)
                free(procs->cgroups[i]);
        free(procs->cgroups);
        free(procs->first_error_path);
        *procs = (cgfs_procs) {};
}

static int walk_openat(walk *w, int dirfd, const char *name, int flags) {
        int fd;

        flags |= O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
        if (w->o.openat_fn)
                return w->o.openat_fn(dirfd, name, flags, w->o.userdata);
        fd = openat(dirfd, name, flags);
        return fd < 0 ? -errno : fd;
}

static int path_push(walk *w, const char *name) {
        size_t len = strlen(name), need = w->path_len + 1 + len + 1;

        if (need > w->path_alloc) {
                size_t want = w->path_alloc ? w->path_alloc : 256;
                char *grown;

                while (want < need)
                        want *= 2;
                grown = realloc(w->path, want);
                if (!grown)
                        return -ENOMEM;
                w->path = grown;
                w->path_alloc = want;
        }
        if (w->path_len > 0)
                w->path[w->path_len++] = '/';
        memcpy(w->path + w->path_len, name, len + 1);
        w->path_len += len;
        return 0;
}

static void path_pop(walk *w, size_t len) {
        w->path_len = len;
        w->path[len] = 0;
}

/* Counts a subtree left out; remembers the first real error and where. */
static void walk_note(walk *w, int r, const char *name) {
        cgfs_procs *p = w->p;

        if (r == -ENOENT || r == -ENODEV) {
                p->n_vanished++;
                return;
        }
        if (r == -EOPNOTSUPP) {
                /* cgroup.procs of a threaded cgroup: the kernel lists those
                 * processes in the threaded domain above, already read. */
                p->n_threaded++;
                return;
        }
        if (p->n_skipped++ > 0)
                return;
        p->first_error = r;
        free(p->first_error_path);
        p->first_error_path = NULL;
        if (asprintf(&p->first_error_path, "%.*s%s%.*s", WALK_ERROR_PATH_MAX, w->path,
                     name && w->path_len ? "/" : "", WALK_ERROR_PATH_MAX, name ? name : "") < 0)
                p->first_error_path = NULL;
}

/* Adds the current path as a cgroup: called at its first task only, so
 * empty cgroups cost nothing. */
static int walk_add_cgroup(walk *w, uint32_t *ret_index) {
        cgfs_procs *p = w->p;
        char *copy = NULL;

        if (p->n_cgroups == w->alloc_cg) {
                size_t want = w->alloc_cg ? w->alloc_cg * 2 : 16;
                char **grown = realloc(p->cgroups, want * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                p->cgroups = grown;
                w->alloc_cg = want;
        }
        if (w->path_len <= WALK_PATH_KEEP_MAX && w->path_bytes_kept + w->path_len <= WALK_PATH_BYTES_MAX) {
                copy = strdup(w->path);
                if (!copy)
                        return -ENOMEM;
                w->path_bytes_kept += w->path_len;
        } else
                p->n_unnamed++;
        p->cgroups[p->n_cgroups] = copy;
        *ret_index = (uint32_t) p->n_cgroups++;
        return 0;
}

static int walk_add_pid(walk *w, pid_t pid, uint32_t cg) {
        cgfs_procs *p = w->p;

        if (p->n_pids == w->alloc_pid) {
                size_t want = w->alloc_pid ? w->alloc_pid * 2 : 256;
                pid_t *pids = realloc(p->pids, want * sizeof(pid_t));
                if (!pids)
                        return -ENOMEM;
                p->pids = pids;
                uint32_t *idx = realloc(p->cgroup_index, want * sizeof(uint32_t));
                if (!idx)
                        return -ENOMEM;
                p->cgroup_index = idx;
                w->alloc_pid = want;
        }
        p->pids[p->n_pids] = pid;
        p->cgroup_index[p->n_pids] = cg;
        p->n_pids++;
        return 0;
}

static int walk_add_line(walk *w, const char *line, size_t len, uint32_t *cg, bool *have_cg) {
        char num[16];
        uint64_t v;
        int r;

        if (len == 0 || len >= sizeof num)
                return -EINVAL;
        memcpy(num, line, len);
        num[len] = 0;
        r = parse_u64(num, &v);
        if (r < 0 || v == 0 || v > INT32_MAX)
                return -EINVAL;
        if (w->p->n_pids >= w->o.max_pids) {
                w->p->truncated = true;
                w->stop = true;
                return 0;
        }
        if (!*have_cg) {
                r = walk_add_cgroup(w, cg);
                if (r < 0)
                        return r;
                *have_cg = true;
        }
        return walk_add_pid(w, (pid_t) v, *cg);
}

/* cgroup.procs of the directory DIRFD. A big slice lists thousands of
 * pids: read in chunks, carrying a partial line over. */
static int walk_read_procs(walk *w, int dirfd) {
        _cleanup_close_ int fd = -1;
        char buf[8192];
        size_t have = 0;
        bool have_cg = false;
        uint32_t cg = 0;

        fd = walk_openat(w, dirfd, "cgroup.procs", O_RDONLY);
        if (fd < 0)
                return fd;
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof buf - have);
                size_t start = 0, end;
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                end = have + (size_t) n;
                for (size_t i = 0; i < end && !w->stop; i++) {
                        if (buf[i] != '\n')
                                continue;
                        r = walk_add_line(w, buf + start, i - start, &cg, &have_cg);
                        if (r < 0)
                                return r;
                        start = i + 1;
                }
                if (w->stop)
                        return 0;
                have = end - start;
                if (have == sizeof buf)
                        return -EINVAL;
                memmove(buf, buf + start, have);
        }
        return have > 0 ? walk_add_line(w, buf, have, &cg, &have_cg) : 0;
}

/* 0 when cgroup.events says the subtree holds no task, else 1: a missing or
 * odd file (the root cgroup, a fake tree) means "look inside". */
static int walk_populated(walk *w, int dirfd) {
        _cleanup_close_ int fd = -1;
        char buf[256];
        bool populated;

        fd = walk_openat(w, dirfd, "cgroup.events", O_RDONLY);
        if (fd < 0)
                return 1;
        if (read_fd(fd, buf, sizeof buf, NULL) < 0 || cgfs_parse_cgroup_events(buf, &populated, NULL) < 0)
                return 1;
        return populated;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorted child directory names of DIRFD, at most LIMIT of them. */
static int walk_list(walk *w, int dirfd, size_t limit, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;
        int fd;

        fd = walk_openat(w, dirfd, ".", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type == DT_UNKNOWN) {
                        struct stat st;
                        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                                continue;
                } else if (de->d_type != DT_DIR)
                        continue;
                if (n >= limit) {
                        w->p->truncated = true;
                        break;
                }
                if (n + 1 >= alloc) {
                        size_t want = alloc ? alloc * 2 : 8;
                        char **grown = realloc(names, want * sizeof(char *));
                        if (!grown)
                                return -ENOMEM;
                        names = grown;
                        alloc = want;
                }
                names[n] = strdup(de->d_name);
                if (!names[n])
                        return -ENOMEM;
                names[++n] = NULL;
                w->n_listed++;
        }
        if (errno != 0)
                return -errno;
        if (!names) {
                names = calloc(1, sizeof(char *));
                if (!names)
                        return -ENOMEM;
        }
        qsort(names, n, sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(names);
        return 0;
}

/* Reads the cgroup open at FD (path already pushed) and, if it has
 * children, pushes a level for them. Returns 1 when a level was pushed
 * (FD then belongs to the walk), 0 when the cgroup is done. */
static int walk_enter(walk *w, int fd, const char *name) {
        _cleanup_strv_free_ char **children = NULL;
        size_t limit;
        struct stat st;
        int r;

        r = walk_read_procs(w, fd);
        if (r < 0 || w->stop)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        /* kernfs and tmpfs count subdirectories in a directory's link
         * count: a leaf (2) needs no listing, which halves the cost of a
         * tree of many small cgroups. Filesystems that don't count say 1. */
        if (st.st_nlink == 2)
                return 0;
        /* Each listing is bounded by what is left to visit, and all of them
         * together, held on the stack of a deep walk, by a multiple of it. */
        limit = w->o.max_cgroups - w->p->n_walked;
        if (w->n_listed >= 4 * w->o.max_cgroups)
                limit = 0;
        else if (limit > 4 * w->o.max_cgroups - w->n_listed)
                limit = 4 * w->o.max_cgroups - w->n_listed;
        r = walk_list(w, fd, limit, &children);
        if (r < 0)
                return r;
        if (!children[0])
                return 0;
        if (w->n_levels == w->alloc_levels) {
                size_t want = w->alloc_levels ? w->alloc_levels * 2 : 16;
                walk_level *grown = realloc(w->levels, want * sizeof(walk_level));
                if (!grown)
                        return -ENOMEM;
                w->levels = grown;
                w->alloc_levels = want;
        }
        w->levels[w->n_levels++] = (walk_level) {
                .children = TAKE_PTR(children),
                .name = name,
                .path_len = w->path_len,
                .dev = st.st_dev,
                .ino = st.st_ino,
        };
        return 1;
}

static bool same_dir(int fd, const walk_level *l) {
        struct stat st;

        return fstat(fd, &st) >= 0 && st.st_dev == l->dev && st.st_ino == l->ino;
}

static void level_drop(walk *w) {
        walk_level *l = &w->levels[--w->n_levels];

        strv_free(l->children);
        if (w->n_levels > 0)
                path_pop(w, w->levels[w->n_levels - 1].path_len);
}

/* Back to the directory of the level now on top, from the fd of a child.
 * ".." is that directory unless it was removed meanwhile; then the levels
 * are reopened by name from the top, and any level that is gone is left
 * out. Returns the fd, or a negative errno when the walked cgroup is gone. */
static int walk_up(walk *w, int child_fd) {
        int fd, r;

        fd = walk_openat(w, child_fd, "..", O_RDONLY | O_DIRECTORY);
        if (fd >= 0 && same_dir(fd, &w->levels[w->n_levels - 1]))
                return fd;
        if (fd >= 0)
                close(fd);

        fd = cgfs_open(w->cgroot_fd, w->top, NULL, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        for (size_t i = 1; i < w->n_levels; i++) {
                int next = walk_openat(w, fd, w->levels[i].name, O_RDONLY | O_DIRECTORY);
                if (next >= 0 && !same_dir(next, &w->levels[i])) {
                        close(next);
                        next = -ENOENT;
                }
                if (next < 0) {
                        r = next;
                        walk_note(w, r, NULL);
                        while (w->n_levels > i)
                                level_drop(w);
                        return fd;
                }
                close(fd);
                fd = next;
        }
        return fd;
}

static int walk_run(walk *w) {
        _cleanup_close_ int cur = -1;
        int r;

        cur = cgfs_open(w->cgroot_fd, w->top, NULL, O_RDONLY | O_DIRECTORY);
        if (cur < 0)
                return cur;
        r = path_push(w, w->top);
        if (r < 0)
                return r;
        w->p->n_walked = 1;
        /* Errors on the walked cgroup itself are the caller's business. */
        r = walk_enter(w, cur, w->top);
        if (r <= 0)
                return r;

        while (w->n_levels > 0 && !w->stop) {
                walk_level *l = &w->levels[w->n_levels - 1];
                const char *name = l->children[l->next];
                int fd;

                if (!name) {
                        level_drop(w);
                        if (w->n_levels == 0)
                                break;
                        fd = walk_up(w, cur);
                        if (fd < 0) {
                                walk_note(w, fd, NULL);
                                break;
                        }
                        close(cur);
                        cur = fd;
                        continue;
                }
                l->next++;
                if (w->p->n_walked >= w->o.max_cgroups) {
                        w->p->truncated = true;
                        break;
                }
                w->p->n_walked++;

                fd = walk_openat(w, cur, name, O_RDONLY | O_DIRECTORY);
                if (fd < 0) {
                        walk_note(w, fd, name);
                        continue;
                }
                if (walk_populated(w, fd) == 0) {
                        close(fd);
                        continue;
                }
                r = path_push(w, name);
                if (r < 0) {
                        close(fd);
                        return r;
                }
                r = walk_enter(w, fd, name);
                if (r == 1) {
                        close(cur);
                        cur = fd;
                        continue;
                }
                close(fd);
                if (r == -ENOMEM || r == -EINVAL)
                        return r;
                if (r < 0) {
                        /* Named after the cgroup itself: push_path holds it already. */
                        walk_note(w, r, NULL);
                }
                path_pop(w, l->path_len);
        }
        return 0;
}

int cgfs_collect_procs_with(int cgroot_fd, const char *cgroup, const cgfs_walk_options *options,
                            cgfs_procs *ret) {
        cgfs_procs p = {};
        walk w = {
                .cgroot_fd = cgroot_fd,
                .top = cgroup,
                .p = &p,
        };
        int r;

        assert(ret);

        r = cgfs_path_check(cgroup);
        if (r < 0)
                return r;
        if (options)
                w.o = *options;
        if (w.o.max_cgroups == 0)
                w.o.max_cgroups = CGFS_WALK_MAX_CGROUPS;
        if (w.o.max_pids == 0)
                w.o.max_pids = CGFS_WALK_MAX_PIDS;

        r = walk_run(&w);
        while (w.n_levels > 0)
                level_drop(&w);
        free(w.levels);
        free(w.path);
        if (r < 0) {
                cgfs_procs_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

int cgfs_collect_procs(int cgroot_fd, const char *cgroup, cgfs_procs *ret) {
        return cgfs_collect_procs_with(cgroot_fd, cgroup, NULL, ret);
}
