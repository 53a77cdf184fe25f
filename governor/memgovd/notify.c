/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Terminal notifications, the way wall(1) and write(1) reach a user, with
 * the checks a root daemon needs so that a user can never turn it against
 * someone else: every node is checked to be a terminal (isatty) owned by the
 * user before and after opening, opened O_NOCTTY so memgovd never gains a
 * controlling terminal, and written with O_NONBLOCK so a stuck terminal
 * (XOFF, a suspended ssh) costs nothing. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "cgfs.h"
#include "notify.h"
#include "util.h"

/* include/uapi/linux/major.h */
#define TTY_MAJOR 4
#define UNIX98_PTY_SLAVE_MAJOR 136
#define UNIX98_PTY_MAJOR_COUNT 8

int notify_parse_stat_tty(const char *text, unsigned *ret_tty_nr) {
        const char *p;
        char state;
        int ppid, pgrp, session, tty_nr;

        assert(text);
        assert(ret_tty_nr);

        /* "PID (COMM) STATE PPID PGRP SESSION TTY_NR ...": comm is whatever
         * the process chose, so only the last ')' can be trusted. */
        p = strrchr(text, ')');
        if (!p)
                return -EINVAL;
        if (sscanf(p + 1, " %c %d %d %d %d", &state, &ppid, &pgrp, &session, &tty_nr) != 5)
                return -EINVAL;

        *ret_tty_nr = (unsigned) tty_nr;
        return 0;
}

int notify_tty_from_nr(unsigned tty_nr, dev_t *ret_dev, char *path, size_t size) {
        /* The kernel's new_encode_dev(): minor's low 8 bits, then the 12-bit
         * major, then the minor's upper bits. */
        unsigned maj = (tty_nr >> 8) & 0xfffU;
        unsigned min = (tty_nr & 0xffU) | ((tty_nr >> 12) & 0xfff00U);
        int n;

        assert(ret_dev);
        assert(path);

        if (tty_nr == 0)
                return -ENXIO;

        if (maj >= UNIX98_PTY_SLAVE_MAJOR && maj < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT)
                /* Today every pts is major 136 with a 20-bit minor; 137..143 are
                 * the old split numbering, where each major holds 256 ptys. */
                n = snprintf(path, size, "/dev/pts/%u", (maj - UNIX98_PTY_SLAVE_MAJOR) * 256U + min);
        else if (maj == TTY_MAJOR && min >= 1 && min < 64)
                n = snprintf(path, size, "/dev/tty%u", min);
        else if (maj == TTY_MAJOR && min >= 64 && min < 256)
                /* Serial consoles: BMC serial-over-LAN logins on login nodes. */
                n = snprintf(path, size, "/dev/ttyS%u", min - 64);
        else
                return -ENXIO;

        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        *ret_dev = makedev(maj, min);
        return 0;
}

int notify_session_tty_path(const char *tty, char *path, size_t size) {
        const char *name;
        int n;

        assert(tty);
        assert(path);

        /* PAM_TTY comes as "pts/3", "/dev/pts/3" or "tty2"; X sessions put
         * their display (":0") there. */
        name = strncmp(tty, "/dev/", 5) == 0 ? tty + 5 : tty;
        if (name[0] == 0 || name[0] == '/' || strstr(name, ".."))
                return -EINVAL;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '/'))
                        return -EINVAL;

        n = snprintf(path, size, "/dev/%s", name);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* Length of the valid UTF-8 sequence at s that is not a C1 control, or 0. */
static size_t utf8_printable_len(const unsigned char *s) {
        unsigned c = s[0];
        size_t len;
        unsigned cp;

        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                cp = c & 0x07;
        } else
                return 0;

        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }

        /* Overlong forms, surrogates, beyond Unicode, and the C1 controls
         * (U+0080..U+009F: 8-bit CSI and friends in some terminals). */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0)
                return 0;
        return len;
}

typedef struct frame_buf {
        char *buf;
        size_t size;      /* usable bytes, room for the final "\r\n" and NUL kept aside */
        size_t len;
        bool full;
} frame_buf;

static void frame_put(frame_buf *f, const char *s, size_t n) {
        if (f->full)
                return;
        if (f->len + n > f->size) {
                /* Never split a character or a "\r\n". */
                f->full = true;
                return;
        }
        memcpy(f->buf + f->len, s, n);
        f->len += n;
}

static void frame_put_text(frame_buf *f, const char *text) {
        const unsigned char *s = (const unsigned char *) text;

        while (*s && !f->full) {
                size_t n;

                if (*s == '\n') {
                        frame_put(f, "\r\n", 2);
                        s++;
                } else if (*s == '\r' && s[1] == '\n')
                        s++;    /* already CRLF: emitted with the '\n' */
                else if (*s == '\t' || (*s >= 0x20 && *s < 0x7f)) {
                        frame_put(f, (const char *) s, 1);
                        s++;
                } else if (*s >= 0x80 && (n = utf8_printable_len(s)) > 0) {
                        frame_put(f, (const char *) s, n);
                        s += n;
                } else {
                        frame_put(f, "?", 1);
                        s++;
                }
        }
}

int notify_frame(const char *hostname, const char *when, const char *message,
                 char *buf, size_t size, size_t *ret_len) {
        frame_buf f;

        assert(hostname);
        assert(when);
        assert(message);
        assert(buf);

        if (size > NOTIFY_FRAME_MAX)
                size = NOTIFY_FRAME_MAX;
        if (size < 3)
                return -ENOBUFS;

        /* Keep room for the closing "\r\n" and the NUL. */
        f = (frame_buf) { .buf = buf, .size = size - 3 };

        /* Start on a fresh line: the cursor may sit after a prompt. */
        frame_put(&f, "\r\n", 2);
        frame_put_text(&f, "Message from memgovd@");
        frame_put_text(&f, hostname);
        frame_put_text(&f, " (");
        frame_put_text(&f, when);
        frame_put_text(&f, "):\n\n");
        frame_put_text(&f, message);

        if (f.len < 2 || memcmp(buf + f.len - 2, "\r\n", 2) != 0) {
                memcpy(buf + f.len, "\r\n", 2);
                f.len += 2;
        }
        buf[f.len] = 0;
        if (ret_len)
                *ret_len = f.len;
        return 0;
}

static bool stat_is_users_tty(const struct stat *st, uid_t uid) {
        return S_ISCHR(st->st_mode) && st->st_uid == uid;
}

int notify_write_terminal(const char *path, uid_t uid, dev_t expected_dev,
                          const char *frame, size_t len, dev_t *ret_dev) {
        _cleanup_close_ int fd = -1;
        struct stat st, st2;
        ssize_t n;

        assert(path);
        assert(frame);

        /* Check before opening too: opening some character devices has side
         * effects, and only a user-owned char device may even be opened. */
        if (lstat(path, &st) < 0)
                return -errno;
        if (!stat_is_users_tty(&st, uid))
                return -EPERM;
        if (expected_dev != 0 && st.st_rdev != expected_dev)
                return -EPERM;

        fd = open(path, O_WRONLY|O_NOCTTY|O_NONBLOCK|O_CLOEXEC|O_NOFOLLOW);
        if (fd < 0)
                return errno == EACCES || errno == EIO || errno == ENXIO ? 0 : -errno;

        /* The node may have been replaced between lstat and open (a pts freed
         * and reused by another user): trust only what was opened. */
        if (fstat(fd, &st2) < 0)
                return -errno;
        if (!stat_is_users_tty(&st2, uid) || st2.st_rdev != st.st_rdev || !isatty(fd))
                return -EPERM;

        if (ret_dev)
                *ret_dev = st2.st_rdev;

        n = write(fd, frame, len);
        if (n < 0)
                /* EAGAIN: the terminal is not being read (XOFF, suspended ssh):
                 * skip it rather than wait. EIO: hung up. */
                return errno == EAGAIN || errno == EIO ? 0 : -errno;
        return 1;
}

typedef struct tty_set {
        dev_t devs[NOTIFY_MAX_TERMINALS];
        size_t n;
} tty_set;

static bool tty_set_contains(const tty_set *s, dev_t d) {
        for (size_t i = 0; i < s->n; i++)
                if (s->devs[i] == d)
                        return true;
        return false;
}

static void tty_set_add(tty_set *s, dev_t d) {
        if (s->n < ELEMENTSOF(s->devs) && !tty_set_contains(s, d))
                s->devs[s->n++] = d;
}

/* One terminal: skips what was already handled, remembers what was tried. */
static void notify_one(tty_set *done, size_t *n_written, const char *path, uid_t uid, dev_t dev,
                       const char *frame, size_t len) {
        dev_t got = 0;
        int r;

        if (done->n >= NOTIFY_MAX_TERMINALS)
                return;
        if (dev != 0 && tty_set_contains(done, dev))
                return;

        r = notify_write_terminal(path, uid, dev, frame, len, &got);
        if (got != 0)
                tty_set_add(done, got);
        else if (dev != 0)
                tty_set_add(done, dev);
        if (r > 0)
                (*n_written)++;
}

static void notify_sessions(uid_t uid, tty_set *done, size_t *n_written, const char *frame, size_t len) {
        _cleanup_strv_free_ char **sessions = NULL;
        int r;

        /* Inactive sessions too: a backgrounded ssh login is still read. */
        r = sd_uid_get_sessions(uid, 0, &sessions);
        if (r <= 0 || !sessions)
                return;

        for (char **s = sessions; *s; s++) {
                _cleanup_free_ char *tty = NULL;
                char path[NOTIFY_PATH_MAX];
                struct stat st;

                /* Graphical sessions have no TTY= (or a display name): their
                 * VT shows nothing while the display server owns it, and their
                 * terminal emulators' ptys are found through the processes. */
                if (sd_session_get_tty(*s, &tty) < 0 || !tty)
                        continue;
                if (notify_session_tty_path(tty, path, sizeof(path)) < 0)
                        continue;
                if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
                        continue;
                notify_one(done, n_written, path, uid, st.st_rdev, frame, len);
        }
}

static int notify_processes(uid_t uid, int cgroot_fd, const char *cgroup, int procfs_fd,
                            tty_set *done, size_t *n_written, const char *frame, size_t len) {
        cgfs_procs procs = {};
        tty_set seen = {};
        const char *relative;
        int r;

        r = cgfs_path_relative(cgroup, &relative);
        if (r < 0)
                return r;
        /* The slice may be gone already (the user logged out): nothing to do. */
        if (cgfs_collect_procs(cgroot_fd, relative, &procs) < 0)
                return 0;

        for (size_t i = 0; i < procs.n_pids && done->n < NOTIFY_MAX_TERMINALS; i++) {
                char stat_path[32], text[1024], path[NOTIFY_PATH_MAX];
                unsigned tty_nr;
                dev_t dev;

                snprintf(stat_path, sizeof(stat_path), "%d/stat", (int) procs.pids[i]);
                /* A process that exited meanwhile is simply skipped. */
                if (read_file_at(procfs_fd, stat_path, text, sizeof(text), NULL) < 0)
                        continue;
                if (notify_parse_stat_tty(text, &tty_nr) < 0)
                        continue;
                if (notify_tty_from_nr(tty_nr, &dev, path, sizeof(path)) < 0)
                        continue;
                /* Hundreds of processes share one pty: look at each device once. */
                if (tty_set_contains(&seen, dev))
                        continue;
                tty_set_add(&seen, dev);
                notify_one(done, n_written, path, uid, dev, frame, len);
        }

        cgfs_procs_done(&procs);
        return 0;
}

int notify_process_terminals(uid_t uid, int cgroot_fd, const char *cgroup, int procfs_fd,
                             const char *frame, size_t len, size_t *ret_n_written) {
        tty_set done = {};
        size_t n_written = 0;
        int r;

        assert(cgroup);
        assert(frame);

        r = notify_processes(uid, cgroot_fd, cgroup, procfs_fd, &done, &n_written, frame, len);
        if (r < 0)
                return r;
        if (ret_n_written)
                *ret_n_written = n_written;
        return 0;
}

int notify_user_terminals(uid_t uid, int cgroot_fd, const char *cgroup, int procfs_fd,
                          const char *message, size_t *ret_n_written) {
        char frame[NOTIFY_FRAME_MAX], host[256] = "localhost", when[64] = "";
        const char *relative;
        tty_set done = {};
        size_t len, n_written = 0;
        struct tm tm;
        time_t now;
        int r;

        assert(message);

        /* Refuse a bad path before anything is written anywhere. */
        if (cgroup && cgfs_path_relative(cgroup, &relative) < 0)
                return -EINVAL;

        (void) gethostname(host, sizeof(host) - 1);
        now = time(NULL);
        if (localtime_r(&now, &tm))
                strftime(when, sizeof(when), "%a %Y-%m-%d %H:%M:%S %Z", &tm);

        r = notify_frame(host, when, message, frame, sizeof(frame), &len);
        if (r < 0)
                return r;

        notify_sessions(uid, &done, &n_written, frame, len);
        if (cgroup)
                (void) notify_processes(uid, cgroot_fd, cgroup, procfs_fd, &done, &n_written, frame, len);

        if (ret_n_written)
                *ret_n_written = n_written;
        return 0;
}
