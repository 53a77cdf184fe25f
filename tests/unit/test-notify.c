/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The pure parts of notify (tty_nr decoding, logind TTY names, wall-style
 * framing and sanitising) and the writer on real ptys: ownership checks,
 * the exact bytes a raw-mode terminal receives, never blocking on a full
 * terminal, and finding a terminal through a (fake) cgroup's processes. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-login.h>

#include "notify.h"
#include "tmptree.h"

/* A uid nobody logs in as: its logind sessions are none on any machine. */
#define UNUSED_UID 4242420U

static void test_parse_stat_tty(void **state) {
        (void) state;
        unsigned tty = 1;

        assert_int_equal(notify_parse_stat_tty("4242 (bash) S 4241 4242 4242 34817 4242 4194560 1 2 3", &tty), 0);
        assert_int_equal(tty, 34817);

        /* comm chosen by the user, with spaces and parentheses. */
        assert_int_equal(notify_parse_stat_tty("77 (a) S 1 2 3 (x) R 1 77 77 1026 77 0", &tty), 0);
        assert_int_equal(tty, 1026);

        /* A daemon without a terminal. */
        assert_int_equal(notify_parse_stat_tty("1 (systemd) S 0 1 1 0 -1 4194560", &tty), 0);
        assert_int_equal(tty, 0);

        assert_int_equal(notify_parse_stat_tty("garbage", &tty), -EINVAL);
        assert_int_equal(notify_parse_stat_tty("1 (x) S 1 2", &tty), -EINVAL);
}

static void test_tty_from_nr(void **state) {
        (void) state;
        char path[NOTIFY_PATH_MAX];
        dev_t dev;

        static const struct {
                unsigned maj, min;
                const char *path;
        } good[] = {
                { 136, 0, "/dev/pts/0" },
                { 136, 5, "/dev/pts/5" },
                { 136, 300, "/dev/pts/300" },      /* minor > 255: the upper bits move */
                { 136, 70000, "/dev/pts/70000" },
                { 137, 2, "/dev/pts/258" },        /* the old split numbering */
                { 4, 1, "/dev/tty1" },
                { 4, 63, "/dev/tty63" },
                { 4, 64, "/dev/ttyS0" },
                { 4, 65, "/dev/ttyS1" },
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                /* tty_nr is new_encode_dev(), the same encoding as glibc's
                 * 32-bit dev_t, so makedev() builds test values. */
                unsigned nr = (unsigned) makedev(good[i].maj, good[i].min);

                assert_int_equal(notify_tty_from_nr(nr, &dev, path, sizeof(path)), 0);
                assert_string_equal(path, good[i].path);
                assert_int_equal(major(dev), good[i].maj);
                assert_int_equal(minor(dev), good[i].min);
        }

        /* No terminal, /dev/tty0 (an alias of the foreground VT), /dev/console,
         * /dev/tty and an unrelated driver are never written to. */
        assert_int_equal(notify_tty_from_nr(0, &dev, path, sizeof(path)), -ENXIO);
        assert_int_equal(notify_tty_from_nr((unsigned) makedev(4, 0), &dev, path, sizeof(path)), -ENXIO);
        assert_int_equal(notify_tty_from_nr((unsigned) makedev(5, 1), &dev, path, sizeof(path)), -ENXIO);
        assert_int_equal(notify_tty_from_nr((unsigned) makedev(5, 0), &dev, path, sizeof(path)), -ENXIO);
        assert_int_equal(notify_tty_from_nr((unsigned) makedev(188, 0), &dev, path, sizeof(path)), -ENXIO);

        assert_int_equal(notify_tty_from_nr((unsigned) makedev(136, 5), &dev, path, 8), -ENAMETOOLONG);
}

static void test_session_tty_path(void **state) {
        (void) state;
        char path[NOTIFY_PATH_MAX];

        assert_int_equal(notify_session_tty_path("pts/3", path, sizeof(path)), 0);
        assert_string_equal(path, "/dev/pts/3");
        assert_int_equal(notify_session_tty_path("/dev/pts/3", path, sizeof(path)), 0);
        assert_string_equal(path, "/dev/pts/3");
        assert_int_equal(notify_session_tty_path("tty2", path, sizeof(path)), 0);
        assert_string_equal(path, "/dev/tty2");

        assert_int_equal(notify_session_tty_path(":0", path, sizeof(path)), -EINVAL);
        assert_int_equal(notify_session_tty_path("", path, sizeof(path)), -EINVAL);
        assert_int_equal(notify_session_tty_path("/etc/passwd", path, sizeof(path)), -EINVAL);
        assert_int_equal(notify_session_tty_path("pts/../../etc/shadow", path, sizeof(path)), -EINVAL);
        assert_int_equal(notify_session_tty_path("/dev//sda", path, sizeof(path)), -EINVAL);
        assert_int_equal(notify_session_tty_path("pts/3 x", path, sizeof(path)), -EINVAL);
}

static void test_frame_exact(void **state) {
        (void) state;
        char buf[NOTIFY_FRAME_MAX];
        size_t len;

        assert_int_equal(notify_frame("login1", "Sun 2026-11-22 13:50:01 UTC",
                                      "memgov: your processes use 95% of your 8.0G limit.\n"
                                      "Largest: firefox (pid 4242), 3.1G.\n", buf, sizeof(buf), &len), 0);
        assert_string_equal(buf,
                            "\r\n"
                            "Message from memgovd@login1 (Sun 2026-11-22 13:50:01 UTC):\r\n"
                            "\r\n"
                            "memgov: your processes use 95% of your 8.0G limit.\r\n"
                            "Largest: firefox (pid 4242), 3.1G.\r\n");
        assert_int_equal(len, strlen(buf));

        /* A message without a final newline still ends the line; CRLF input is not doubled. */
        assert_int_equal(notify_frame("h", "t", "one\r\ntwo", buf, sizeof(buf), &len), 0);
        assert_string_equal(buf, "\r\nMessage from memgovd@h (t):\r\n\r\none\r\ntwo\r\n");
}

static void test_frame_sanitises(void **state) {
        (void) state;
        char buf[NOTIFY_FRAME_MAX];
        size_t len;

        /* ESC (a title-setting OSC), BEL, a lone CR, DEL, a UTF-8 encoded C1 CSI (one ? per byte),
         * a stray continuation byte and an overlong '/' become '?'; tabs and
         * real UTF-8 stay. */
        assert_int_equal(notify_frame("h", "t",
                                      "\x1b]0;pwned\a|\rx|\x7f|\xc2\x9b" "31m|\x80|\xc0\xaf|\tcaf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa5\n",
                                      buf, sizeof(buf), &len), 0);
        assert_string_equal(buf + strlen("\r\nMessage from memgovd@h (t):\r\n\r\n"),
                            "?]0;pwned?|?x|?|??31m|?|??|\tcaf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa5\r\n");
        for (size_t i = 0; i < len; i++)
                assert_true(buf[i] != 0x1b && buf[i] != 0x07);
}

static void test_frame_truncates(void **state) {
        (void) state;
        char *msg = malloc(10000), buf[NOTIFY_FRAME_MAX + 100], small[64];
        size_t len;

        assert_non_null(msg);
        /* 3-byte characters, so a cut in the middle of one would show. */
        for (size_t i = 0; i + 3 < 10000; i += 3)
                memcpy(msg + i, "\xe2\x82\xac", 3);
        msg[9999 - 9999 % 3] = 0;

        assert_int_equal(notify_frame("h", "t", msg, buf, sizeof(buf), &len), 0);
        assert_true(len <= NOTIFY_FRAME_MAX - 1);
        assert_int_equal(strlen(buf), len);
        assert_memory_equal(buf + len - 2, "\r\n", 2);
        /* Everything between the banner and the final CRLF is whole characters. */
        size_t body = strlen("\r\nMessage from memgovd@h (t):\r\n\r\n");
        assert_int_equal((len - 2 - body) % 3, 0);

        assert_int_equal(notify_frame("h", "t", msg, small, sizeof(small), &len), 0);
        assert_true(len < sizeof(small));
        assert_memory_equal(small + len - 2, "\r\n", 2);

        assert_int_equal(notify_frame("h", "t", "x", small, 2, &len), -ENOBUFS);
        free(msg);
}

typedef struct pty {
        int master, slave;
        char path[64];
} pty;

/* A pty in raw mode (as under tmux or a full-screen program): no output
 * processing, so the bytes on the master are exactly what was written. */
static void pty_open(pty *p) {
        struct termios t;

        p->master = posix_openpt(O_RDWR|O_NOCTTY|O_CLOEXEC);
        assert_true(p->master >= 0);
        assert_int_equal(grantpt(p->master), 0);
        assert_int_equal(unlockpt(p->master), 0);
        assert_int_equal(ptsname_r(p->master, p->path, sizeof(p->path)), 0);
        p->slave = open(p->path, O_RDWR|O_NOCTTY|O_CLOEXEC);
        assert_true(p->slave >= 0);
        assert_int_equal(tcgetattr(p->slave, &t), 0);
        cfmakeraw(&t);
        assert_int_equal(tcsetattr(p->slave, TCSANOW, &t), 0);
}

static void pty_close(pty *p) {
        close(p->slave);
        close(p->master);
}

/* Reads what arrived on the master within 200 ms. */
static size_t pty_drain(pty *p, char *buf, size_t size) {
        size_t len = 0;
        struct pollfd pfd = { .fd = p->master, .events = POLLIN };

        while (len < size - 1 && poll(&pfd, 1, 200) > 0) {
                ssize_t n = read(p->master, buf + len, size - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        return len;
}

static void test_write_terminal(void **state) {
        (void) state;
        char frame[NOTIFY_FRAME_MAX], got[NOTIFY_FRAME_MAX * 2];
        size_t len;
        struct stat st;
        dev_t dev = 0;
        pty p;

        pty_open(&p);
        assert_int_equal(stat(p.path, &st), 0);
        assert_int_equal(notify_frame("h", "t", "hello\nworld\n", frame, sizeof(frame), &len), 0);

        /* Its owner gets it, byte for byte. */
        assert_int_equal(notify_write_terminal(p.path, st.st_uid, 0, frame, len, &dev), 1);
        assert_int_equal(dev, st.st_rdev);
        assert_int_equal(pty_drain(&p, got, sizeof(got)), len);
        assert_string_equal(got, frame);

        /* Nobody else's terminal, and not a different device than announced. */
        assert_int_equal(notify_write_terminal(p.path, st.st_uid + 1, 0, frame, len, NULL), -EPERM);
        assert_int_equal(notify_write_terminal(p.path, st.st_uid, makedev(136, 99999), frame, len, NULL), -EPERM);
        assert_int_equal(pty_drain(&p, got, sizeof(got)), 0);

        /* A character device that is not a terminal, even if its owner matches. */
        assert_int_equal(stat("/dev/null", &st), 0);
        assert_int_equal(notify_write_terminal("/dev/null", st.st_uid, 0, frame, len, NULL), -EPERM);
        assert_int_equal(notify_write_terminal("/nonexistent/pts/1", 0, 0, frame, len, NULL), -ENOENT);

        pty_close(&p);
}

static void test_write_terminal_never_blocks(void **state) {
        (void) state;
        char frame[NOTIFY_FRAME_MAX], junk[4096];
        struct timespec a, b;
        struct stat st;
        size_t len;
        int flags, r;
        pty p;

        pty_open(&p);
        assert_int_equal(stat(p.path, &st), 0);
        assert_int_equal(notify_frame("h", "t", "hello\n", frame, sizeof(frame), &len), 0);

        /* Nobody reads the master: fill the tty until the kernel says EAGAIN. */
        memset(junk, 'x', sizeof(junk));
        flags = fcntl(p.slave, F_GETFL);
        assert_int_equal(fcntl(p.slave, F_SETFL, flags | O_NONBLOCK), 0);
        for (int i = 0; i < 100000; i++)
                if (write(p.slave, junk, sizeof(junk)) < 0) {
                        assert_int_equal(errno, EAGAIN);
                        break;
                }

        clock_gettime(CLOCK_MONOTONIC, &a);
        r = notify_write_terminal(p.path, st.st_uid, 0, frame, len, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        /* Skipped (0) or, if a little room was left, a short write (1); never a hang. */
        assert_true(r == 0 || r == 1);
        assert_true((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 500000000L);

        pty_close(&p);
}

/* A child that makes the pty its controlling terminal, as a shell in a tmux
 * pane does, plus a grandchild that inherits it (a job of that shell); both
 * wait to be killed. Returns the child, which leads their process group. */
static pid_t spawn_on_pty(const char *path, pid_t *ret_grandchild) {
        int ready[2];
        pid_t pid, pids[2];

        assert_int_equal(pipe(ready), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pid_t g;
                int fd;

                close(ready[0]);
                if (setsid() < 0)
                        _exit(1);
                fd = open(path, O_RDWR);    /* no O_NOCTTY: acquire it */
                if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
                        _exit(2);
                g = fork();
                if (g < 0)
                        _exit(3);
                if (g == 0)
                        for (;;)
                                pause();
                pids[0] = getpid();
                pids[1] = g;
                if (write(ready[1], pids, sizeof(pids)) != (ssize_t) sizeof(pids))
                        _exit(4);
                for (;;)
                        pause();
        }
        close(ready[1]);
        assert_int_equal(read(ready[0], pids, sizeof(pids)), sizeof(pids));
        close(ready[0]);
        *ret_grandchild = pids[1];
        return pid;
}

static void kill_spawned(pid_t pid) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void test_process_terminals(void **state) {
        (void) state;
        char *cg = tmptree_new(), frame[NOTIFY_FRAME_MAX], got[NOTIFY_FRAME_MAX * 4];
        int cgfd, procfd;
        size_t len, n = 99;
        struct stat st;
        pid_t a, b;
        pty p;

        pty_open(&p);
        assert_int_equal(stat(p.path, &st), 0);
        a = spawn_on_pty(p.path, &b);

        /* Two processes of the slice, in two leaf cgroups, on one terminal. */
        tmptree_writef(cg, "user.slice/user-1001.slice/cgroup.procs", "%d\n", (int) a);
        tmptree_writef(cg, "user.slice/user-1001.slice/session-4.scope/cgroup.procs", "%d\n%d\n", (int) b, (int) a);
        cgfd = tmptree_open(cg);
        procfd = open("/proc", O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        assert_true(procfd >= 0);

        assert_int_equal(notify_frame("h", "t", "memory is short\n", frame, sizeof(frame), &len), 0);
        assert_int_equal(notify_process_terminals(st.st_uid, cgfd, "/user.slice/user-1001.slice", procfd,
                                                  frame, len, &n), 0);
        /* Written once, however many processes share it. */
        assert_int_equal(n, 1);
        assert_int_equal(pty_drain(&p, got, sizeof(got)), len);
        assert_string_equal(got, frame);

        /* Another user's processes on it: nothing written. */
        assert_int_equal(notify_process_terminals(st.st_uid + 1, cgfd, "user.slice/user-1001.slice", procfd,
                                                  frame, len, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(pty_drain(&p, got, sizeof(got)), 0);

        /* A slice that is gone is not an error; a path escaping the root is. */
        assert_int_equal(notify_process_terminals(st.st_uid, cgfd, "user.slice/user-4242.slice", procfd,
                                                  frame, len, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(notify_process_terminals(st.st_uid, cgfd, "user.slice/../system.slice", procfd,
                                                  frame, len, &n), -EINVAL);

        kill_spawned(a);
        close(cgfd);
        close(procfd);
        pty_close(&p);
        tmptree_free(cg);
}

/* The whole thing, logind included, for a uid with no sessions: needs root to
 * give the pty to that uid; as another user the uid's own (real) sessions
 * would be written to, so then the pty stays with the caller and only the
 * session-free path is exercised through a uid that matches nothing. */
static void test_user_terminals(void **state) {
        (void) state;
        char *cg = tmptree_new(), got[NOTIFY_FRAME_MAX * 2];
        uid_t uid = geteuid() == 0 ? UNUSED_UID : UNUSED_UID + 1;
        char **sessions = NULL;
        int cgfd, procfd;
        size_t n = 99;
        pid_t a, b;
        pty p;

        /* The premise: logind (if any) has no session for it. */
        assert_true(sd_uid_get_sessions(uid, 0, &sessions) <= 0);
        if (sessions)
                for (char **s = sessions; *s; s++)
                        free(*s);
        free(sessions);

        pty_open(&p);
        if (geteuid() == 0)
                assert_int_equal(chown(p.path, uid, (gid_t) -1), 0);
        a = spawn_on_pty(p.path, &b);

        tmptree_writef(cg, "user.slice/user-x.slice/cgroup.procs", "%d\n%d\n", (int) a, (int) b);
        cgfd = tmptree_open(cg);
        procfd = open("/proc", O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        assert_true(procfd >= 0);

        assert_int_equal(notify_user_terminals(uid, cgfd, "user.slice/user-x.slice", procfd,
                                               "memgov: your job was killed.\n", &n), 0);
        if (geteuid() == 0) {
                assert_int_equal(n, 1);
                assert_true(pty_drain(&p, got, sizeof(got)) > 0);
                assert_non_null(strstr(got, "\r\nMessage from memgovd@"));
                assert_non_null(strstr(got, "):\r\n\r\nmemgov: your job was killed.\r\n"));
        } else {
                assert_int_equal(n, 0);
                assert_int_equal(pty_drain(&p, got, sizeof(got)), 0);
        }

        assert_int_equal(notify_user_terminals(uid, cgfd, "../etc", procfd, "x\n", &n), -EINVAL);

        kill_spawned(a);
        close(cgfd);
        close(procfd);
        pty_close(&p);
        tmptree_free(cg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_stat_tty),
                cmocka_unit_test(test_tty_from_nr),
                cmocka_unit_test(test_session_tty_path),
                cmocka_unit_test(test_frame_exact),
                cmocka_unit_test(test_frame_sanitises),
                cmocka_unit_test(test_frame_truncates),
                cmocka_unit_test(test_write_terminal),
                cmocka_unit_test(test_write_terminal_never_blocks),
                cmocka_unit_test(test_process_terminals),
                cmocka_unit_test(test_user_terminals),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
