/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The host check memgovd runs before anything else. memgov needs three
 * things from the kernel and the init system, in this order:
 *   1. the unified hierarchy (cgroup2) at /sys/fs/cgroup;
 *   2. the memory controller on it, enabled down to user.slice;
 *   3. pressure stall information (PSI), system-wide and for user.slice.
 * Each probe only reads. libcgroup is used for what it is good at: telling
 * which mount serves the memory controller, which is what turns "wrong
 * hierarchy" into an exact explanation on hybrid and legacy hosts. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcgroup.h>
#include <linux/magic.h>

#include "hostcheck.h"
#include "util.h"

typedef struct msgbuf {
        char *buf;
        size_t size, len;
} msgbuf;

/* Appends, truncating silently: a cut message is better than none. */
_printf_(2, 3)
static void msg_append(msgbuf *m, const char *fmt, ...) {
        va_list ap;
        int n;

        if (m->size == 0 || m->len >= m->size - 1)
                return;

        va_start(ap, fmt);
        n = vsnprintf(m->buf + m->len, m->size - m->len, fmt, ap);
        va_end(ap);

        if (n < 0)
                return;
        m->len += (size_t) n;
        if (m->len >= m->size)
                m->len = m->size - 1;
}

static const char *errno_name(int e) {
        const char *s = strerrorname_np(e);
        return s ? s : "an unknown error";
}

static const char *errno_text(int e) {
        const char *s = strerrordesc_np(e);
        return s ? s : "unknown error";
}

/* Reads a small file; -errno on failure. */
static int read_small(int dirfd, const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        assert(size > 0);

        fd = openat(dirfd, path, O_RDONLY|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

/* Is WORD one of the whitespace-separated words of TEXT? */
static bool has_word(const char *text, const char *word) {
        size_t len = strlen(word);

        for (const char *p = text; *p; ) {
                size_t n;

                p += strspn(p, " \t\n");
                n = strcspn(p, " \t\n");
                if (n == len && strncmp(p, word, len) == 0)
                        return true;
                p += n;
        }
        return false;
}

static bool file_has_word(int dirfd, const char *path, const char *word) {
        char buf[4096];

        if (read_small(dirfd, path, buf, sizeof(buf)) < 0)
                return false;
        return has_word(buf, word);
}

static void gather_statfs(const char *cgroot, hostcheck_facts *f) {
        _cleanup_free_ char *unified = NULL;
        struct statfs sfs;

        if (statfs(cgroot, &sfs) < 0) {
                f->root_statfs_errno = errno;
                return;
        }
        f->root_is_cgroup2 = sfs.f_type == CGROUP2_SUPER_MAGIC;
        f->root_is_tmpfs = sfs.f_type == TMPFS_MAGIC;

        /* systemd's hybrid layout: v1 hierarchies below a tmpfs, v2 at "unified". */
        if (f->root_is_tmpfs && asprintf(&unified, "%s/unified", cgroot) >= 0 &&
            statfs(unified, &sfs) >= 0)
                f->unified_at_subdir = sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static void gather_libcgroup_here(hostcheck_facts *f) {
        _cleanup_free_ char *mnt = NULL;
        struct statfs sfs;
        int r;

        /* cgroup_init() reads /proc/mounts and /proc/cgroups; it mounts and
         * writes nothing. Its codes are positive ECG* values, never errnos. */
        r = cgroup_init();
        if (r != 0) {
                f->libcgroup_error = r;
                f->libcgroup_error_text = cgroup_strerror(r);
                return;
        }

        r = cgroup_get_subsys_mount_point("memory", &mnt);
        if (r != 0) {
                f->libcgroup_error = r;
                f->libcgroup_error_text = cgroup_strerror(r);
                return;
        }
        if (!mnt)
                return;

        snprintf(f->memory_mount, sizeof(f->memory_mount), "%s", mnt);
        f->memory_mount_is_cgroup2 = statfs(mnt, &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* What the child hands back. */
typedef struct libcgroup_answer {
        int error;
        char memory_mount[sizeof(((hostcheck_facts *) NULL)->memory_mount)];
        bool memory_mount_is_cgroup2;
} libcgroup_answer;

/* The same, asked in a child: cgroup_init() clears and fills libcgroup's
 * own tables, about 800 KB of it, which would stay resident (and locked)
 * for memgovd's whole life after this one look. Done in this process if
 * there can be no child. */
static void gather_libcgroup(hostcheck_facts *f) {
        libcgroup_answer a = {};
        int fds[2], status;
        ssize_t n;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0) {
                gather_libcgroup_here(f);
                return;
        }
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                gather_libcgroup_here(f);
                return;
        }
        if (pid == 0) {
                hostcheck_facts mine = {};

                close(fds[0]);
                gather_libcgroup_here(&mine);
                a.error = mine.libcgroup_error;
                memcpy(a.memory_mount, mine.memory_mount, sizeof a.memory_mount);
                a.memory_mount_is_cgroup2 = mine.memory_mount_is_cgroup2;
                _exit(write(fds[1], &a, sizeof a) == (ssize_t) sizeof a ? 0 : 1);
        }
        close(fds[1]);
        do
                n = read(fds[0], &a, sizeof a);
        while (n < 0 && errno == EINTR);
        close(fds[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t) sizeof a) {
                gather_libcgroup_here(f);
                return;
        }
        f->libcgroup_error = a.error;
        f->libcgroup_error_text = a.error != 0 ? cgroup_strerror(a.error) : NULL;
        a.memory_mount[sizeof a.memory_mount - 1] = 0;
        memcpy(f->memory_mount, a.memory_mount, sizeof f->memory_mount);
        f->memory_mount_is_cgroup2 = a.memory_mount_is_cgroup2;
}

static void gather_cgroup2(const char *cgroot, hostcheck_facts *f) {
        _cleanup_close_ int rootfd = -1;
        struct stat st;

        rootfd = open(cgroot, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (rootfd < 0)
                return;

        f->memory_in_root_controllers = file_has_word(rootfd, "cgroup.controllers", "memory");
        f->memory_in_root_subtree_control = file_has_word(rootfd, "cgroup.subtree_control", "memory");
        f->user_slice_exists = fstatat(rootfd, HOSTCHECK_USER_SLICE, &st, 0) >= 0 && S_ISDIR(st.st_mode);
        if (f->user_slice_exists)
                f->memory_in_user_slice = file_has_word(rootfd, HOSTCHECK_USER_SLICE "/cgroup.controllers", "memory");
}

/* "prefix=value" -> value, or NULL. */
static char *after_prefix(char *word, const char *prefix) {
        size_t n = strlen(prefix);

        return strncmp(word, prefix, n) == 0 ? word + n : NULL;
}

static bool is_false(const char *v) {
        return has_word("0 no false off n f", v);
}

/* Only switches that explain a failing check are recorded, to name them in the fix. */
static void gather_cmdline(int procfd, hostcheck_facts *f) {
        char buf[4096];

        if (read_small(procfd, "cmdline", buf, sizeof(buf)) < 0)
                return;

        for (char *save = NULL, *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                char *v;

                if ((v = after_prefix(w, "systemd.unified_cgroup_hierarchy=")))
                        f->cmdline_unified_off = is_false(v);
                else if (strcmp(w, "systemd.legacy_systemd_cgroup_controller") == 0)
                        f->cmdline_legacy_controller = true;
                else if ((v = after_prefix(w, "systemd.legacy_systemd_cgroup_controller=")))
                        f->cmdline_legacy_controller = !is_false(v);
                else if ((v = after_prefix(w, "cgroup_disable="))) {
                        /* A comma-separated list of controllers. */
                        for (char *s2 = NULL, *c = strtok_r(v, ",", &s2); c; c = strtok_r(NULL, ",", &s2))
                                if (strcmp(c, "memory") == 0)
                                        f->cmdline_cgroup_disable_memory = true;
                } else if ((v = after_prefix(w, "psi=")))
                        f->cmdline_psi_off = is_false(v);
        }
}

static void gather_psi(int procfd, const char *cgroot, hostcheck_facts *f) {
        _cleanup_free_ char *slice_pressure = NULL;
        char buf[512];
        int r;

        r = read_small(procfd, "pressure/memory", buf, sizeof(buf));
        if (r == -ENOENT) {
                f->psi = HOSTCHECK_PSI_MISSING;
                return;
        }
        if (r == -EOPNOTSUPP) {
                /* With psi=0 the files exist, but open or read fails like this. */
                f->psi = HOSTCHECK_PSI_DISABLED;
                return;
        }
        if (r < 0) {
                f->psi = HOSTCHECK_PSI_ERROR;
                f->psi_errno = -r;
                return;
        }

        /* Per-cgroup PSI can be off for a subtree (cgroup.pressure = 0, 6.1+):
         * then the slices' memory.pressure files are hidden or refuse reads. */
        if (f->root_is_cgroup2 && f->user_slice_exists &&
            asprintf(&slice_pressure, "%s/" HOSTCHECK_USER_SLICE "/memory.pressure", cgroot) >= 0) {
                r = read_small(AT_FDCWD, slice_pressure, buf, sizeof(buf));
                if (r == -ENOENT || r == -EOPNOTSUPP) {
                        f->psi = HOSTCHECK_PSI_CGROUP_DISABLED;
                        f->psi_errno = -r;
                        return;
                }
                if (r < 0) {
                        f->psi = HOSTCHECK_PSI_ERROR;
                        f->psi_errno = -r;
                        f->psi_error_in_slice = true;
                        return;
                }
        }

        f->psi = HOSTCHECK_PSI_OK;
}

void hostcheck_gather(const char *cgroot, const char *procfs, hostcheck_facts *ret) {
        _cleanup_close_ int procfd = -1;

        assert(cgroot);
        assert(procfs);
        assert(ret);

        *ret = (hostcheck_facts) {};

        gather_statfs(cgroot, ret);
        gather_libcgroup(ret);
        if (ret->root_is_cgroup2)
                gather_cgroup2(cgroot, ret);

        procfd = open(procfs, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (procfd < 0) {
                ret->psi = HOSTCHECK_PSI_ERROR;
                ret->psi_errno = errno;
                return;
        }
        gather_cmdline(procfd, ret);
        gather_psi(procfd, cgroot, ret);
}

/* The fix for the hierarchy: one kernel command line switch, plus whatever on
 * the current command line contradicts it. */
static void explain_unified_fix(const hostcheck_facts *f, msgbuf *fix) {
        msg_append(fix, "  * boot with systemd.unified_cgroup_hierarchy=1 on the kernel command line");
        if (f->cmdline_unified_off)
                msg_append(fix, ", replacing the systemd.unified_cgroup_hierarchy=0 it has now");
        msg_append(fix, ".\n");
        if (f->cmdline_legacy_controller)
                msg_append(fix, "  * remove systemd.legacy_systemd_cgroup_controller from the kernel command line.\n");
        if (f->cmdline_cgroup_disable_memory)
                msg_append(fix, "  * remove memory from cgroup_disable= on the kernel command line.\n");
}

/* Returns 0 or the errno-style code of the first problem; appends the
 * problems and their fixes. */
static int explain_hierarchy(const hostcheck_facts *f, msgbuf *what, msgbuf *fix, bool *ret_cmdline) {
        if (f->root_statfs_errno != 0) {
                msg_append(what, "  * " HOSTCHECK_CGROUP_ROOT " cannot be examined: %s (%s).\n",
                           errno_text(f->root_statfs_errno), errno_name(f->root_statfs_errno));
                msg_append(fix, "  * mount the cgroup2 file system at " HOSTCHECK_CGROUP_ROOT
                           " (systemd does so at boot with systemd.unified_cgroup_hierarchy=1).\n");
                return -f->root_statfs_errno;
        }

        if (!f->root_is_cgroup2) {
                if (f->root_is_tmpfs && f->unified_at_subdir)
                        msg_append(what, "  * " HOSTCHECK_CGROUP_ROOT " is not the unified cgroup v2 hierarchy: it is a tmpfs, "
                                   "and cgroup2 is mounted only at " HOSTCHECK_CGROUP_ROOT "/unified (hybrid hierarchy).\n");
                else if (f->root_is_tmpfs)
                        msg_append(what, "  * " HOSTCHECK_CGROUP_ROOT " is not the unified cgroup v2 hierarchy: it is a tmpfs "
                                   "holding cgroup v1 hierarchies only (legacy hierarchy).\n");
                else
                        msg_append(what, "  * " HOSTCHECK_CGROUP_ROOT " is not a cgroup2 mount.\n");

                if (f->memory_mount[0] && !f->memory_mount_is_cgroup2)
                        msg_append(what, "  * the memory controller is bound to cgroup v1 at %s (hybrid or legacy hierarchy).\n",
                                   f->memory_mount);
                else if (f->libcgroup_error != 0)
                        msg_append(what, "  * libcgroup finds no mount serving the memory controller: %s.\n",
                                   f->libcgroup_error_text ? f->libcgroup_error_text : "unknown error");

                explain_unified_fix(f, fix);
                *ret_cmdline = true;
                return -EMEDIUMTYPE;
        }

        if (!f->memory_in_root_controllers) {
                if (f->memory_mount[0] && !f->memory_mount_is_cgroup2) {
                        /* A controller can serve one hierarchy only: something mounted
                         * a v1 memory hierarchy and the unified one lost it. */
                        msg_append(what, "  * the memory controller is bound to cgroup v1 at %s, so the unified hierarchy at "
                                   HOSTCHECK_CGROUP_ROOT " cannot use it.\n", f->memory_mount);
                        msg_append(fix, "  * stop whatever mounts %s (a legacy container runtime?), "
                                   "or boot with cgroup_no_v1=memory so the controller cannot be bound to v1.\n",
                                   f->memory_mount);
                        *ret_cmdline = true;
                } else if (f->cmdline_cgroup_disable_memory) {
                        msg_append(what, "  * the memory controller is disabled by cgroup_disable=memory on the kernel command line.\n");
                        msg_append(fix, "  * remove memory from cgroup_disable= on the kernel command line.\n");
                        *ret_cmdline = true;
                } else {
                        msg_append(what, "  * the memory controller is missing from " HOSTCHECK_CGROUP_ROOT "/cgroup.controllers.\n");
                        msg_append(fix, "  * use a kernel built with CONFIG_MEMCG=y (every distribution kernel is), "
                                   "without cgroup_disable=memory.\n");
                }
                return -ENODEV;
        }

        if (!f->memory_in_root_subtree_control) {
                msg_append(what, "  * the memory controller is not enabled below the root: memory is missing from "
                           HOSTCHECK_CGROUP_ROOT "/cgroup.subtree_control, so user slices have no memory.* files.\n");
                msg_append(fix, "  * let systemd enable it: DefaultMemoryAccounting=yes in /etc/systemd/system.conf "
                           "(the default; check for an override), then systemctl daemon-reexec.\n");
                return -ENODEV;
        }

        /* No user.slice yet is fine: logind creates it at the first login, and
         * with memory in the root's subtree_control it will have the controller. */
        if (f->user_slice_exists && !f->memory_in_user_slice) {
                msg_append(what, "  * the memory controller is not enabled down to " HOSTCHECK_USER_SLICE ": memory is missing from "
                           HOSTCHECK_CGROUP_ROOT "/" HOSTCHECK_USER_SLICE "/cgroup.controllers.\n");
                msg_append(fix, "  * enable memory accounting for user slices: systemctl set-property " HOSTCHECK_USER_SLICE
                           " MemoryAccounting=yes (or DefaultMemoryAccounting=yes in /etc/systemd/system.conf).\n");
                return -ENODEV;
        }

        return 0;
}

static int explain_psi(const hostcheck_facts *f, msgbuf *what, msgbuf *fix, bool *ret_cmdline) {
        switch (f->psi) {
        case HOSTCHECK_PSI_OK:
                return 0;
        case HOSTCHECK_PSI_DISABLED:
                msg_append(what, "  * pressure stall information (PSI) is disabled: reading " HOSTCHECK_PSI_PATH
                           " fails with EOPNOTSUPP (%s).\n",
                           f->cmdline_psi_off ? "psi=0 is on the kernel command line"
                                              : "the kernel is built with CONFIG_PSI_DEFAULT_DISABLED=y");
                msg_append(fix, "  * boot with psi=1 on the kernel command line%s.\n",
                           f->cmdline_psi_off ? ", replacing psi=0" : "");
                *ret_cmdline = true;
                return -EOPNOTSUPP;
        case HOSTCHECK_PSI_MISSING:
                msg_append(what, "  * pressure stall information (PSI) is missing: " HOSTCHECK_PSI_PATH
                           " does not exist (kernel built without CONFIG_PSI).\n");
                msg_append(fix, "  * use a kernel built with CONFIG_PSI=y (4.20 or later; Debian's kernels are).\n");
                return -EOPNOTSUPP;
        case HOSTCHECK_PSI_CGROUP_DISABLED:
                msg_append(what, "  * pressure stall information is off for " HOSTCHECK_USER_SLICE ": its memory.pressure %s.\n",
                           f->psi_errno == ENOENT ? "is hidden" : "cannot be read (EOPNOTSUPP)");
                msg_append(fix, "  * re-enable per-cgroup PSI: write 1 to cgroup.pressure of " HOSTCHECK_USER_SLICE
                           " and of any ancestor where it is 0.\n");
                return -EOPNOTSUPP;
        case HOSTCHECK_PSI_ERROR:
        default:
                msg_append(what, "  * %s cannot be read: %s (%s).\n",
                           f->psi_error_in_slice ? HOSTCHECK_CGROUP_ROOT "/" HOSTCHECK_USER_SLICE "/memory.pressure"
                                                 : HOSTCHECK_PSI_PATH,
                           errno_text(f->psi_errno), errno_name(f->psi_errno));
                return f->psi_errno > 0 ? -f->psi_errno : -EIO;
        }
}

int hostcheck_explain(const hostcheck_facts *f, char *why, size_t size) {
        char what_buf[HOSTCHECK_WHY_MAX], fix_buf[HOSTCHECK_WHY_MAX];
        msgbuf what = { what_buf, sizeof(what_buf), 0 }, fix = { fix_buf, sizeof(fix_buf), 0 };
        msgbuf out = { why, size, 0 };
        bool cmdline = false;
        int r, r_psi;

        assert(f);
        assert(why || size == 0);

        what_buf[0] = fix_buf[0] = 0;
        if (size > 0)
                why[0] = 0;

        /* Both groups are reported at once, so one reboot fixes everything. */
        r = explain_hierarchy(f, &what, &fix, &cmdline);
        r_psi = explain_psi(f, &what, &fix, &cmdline);
        if (r == 0)
                r = r_psi;
        if (r == 0)
                return 0;

        msg_append(&out, "memgovd cannot govern this host:\n%s", what_buf);
        msg_append(&out, "memgov needs the memory controller on the unified cgroup v2 hierarchy and PSI: "
                   "per-user MemoryHigh=/MemoryMax=, memory.events and pressure triggers exist only there.\n");
        if (fix_buf[0])
                msg_append(&out, "To fix it:\n%s", fix_buf);
        if (cmdline)
                msg_append(&out, "Kernel command line: add the switches to GRUB_CMDLINE_LINUX in /etc/default/grub, "
                           "run update-grub and reboot. In a container, the host has to change.\n");
        return r;
}

int hostcheck_run(char *why, size_t size) {
        hostcheck_facts f;

        hostcheck_gather(HOSTCHECK_CGROUP_ROOT, "/proc", &f);
        return hostcheck_explain(&f, why, size);
}
