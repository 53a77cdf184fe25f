/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Telling a user, on their own terminals, that memgov is about to act or has
 * acted: the TTYs of their logind sessions plus the controlling terminals of
 * the processes in their slice (tmux panes, screen, `script`, terminal
 * emulators), each written once, never blocking, and never a terminal that
 * belongs to someone else. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* At most this many terminals get one message; a user with more is told on
 * the first ones found (sessions first, then processes in cgroup order). */
#define NOTIFY_MAX_TERMINALS 64
/* The framed message, banner included, is cut to this many bytes: the kernel's
 * tty buffer takes it in one write, so no write ever has to wait. */
#define NOTIFY_FRAME_MAX 2048
#define NOTIFY_PATH_MAX 64

/* Field 7 (tty_nr) of a /proc/PID/stat text; 0 means no controlling terminal.
 * -EINVAL for a malformed text. The comm field may hold spaces and ')' and is
 * skipped by looking for the last ')'. */
int notify_parse_stat_tty(const char *text, unsigned *ret_tty_nr);

/* tty_nr (the kernel's new_encode_dev() of the tty's device) to a device
 * number and the node memgov writes to: majors 136..143 -> /dev/pts/N,
 * major 4 minors 1..63 -> /dev/ttyN, 64..255 -> /dev/ttySN. -ENXIO for 0 and
 * for any other device (console, /dev/tty0 aliases, other drivers). */
int notify_tty_from_nr(unsigned tty_nr, dev_t *ret_dev, char *path, size_t size);

/* A logind session's TTY= ("pts/3", "/dev/tty2") to "/dev/...". -EINVAL for
 * X displays (":0"), empty strings and anything that could leave /dev. */
int notify_session_tty_path(const char *tty, char *path, size_t size);

/* Frames MESSAGE the way wall(1) does, for a terminal that may be in raw
 * mode: a fresh line, "Message from memgovd@HOST (WHEN):", a blank line, the
 * message with every line ending in "\r\n". Control characters (C0, DEL, C1)
 * and invalid UTF-8 become '?': process names are chosen by users, and an
 * escape sequence must not reach a terminal. Cut at NOTIFY_FRAME_MAX (or size,
 * if smaller) on a character boundary, always ending in "\r\n". */
int notify_frame(const char *hostname, const char *when, const char *message,
                 char *buf, size_t size, size_t *ret_len);

/* Opens PATH without becoming its controlling process and without blocking,
 * checks that it is a terminal owned by UID and, if EXPECTED_DEV is not 0,
 * that it is that device, then writes the frame in one non-blocking write.
 * Returns 1 when written (a short write counts: the terminal is full), 0 when
 * skipped on purpose (EAGAIN: full; EIO: hung up; EACCES: mesg n without
 * CAP_DAC_OVERRIDE), -EPERM when it belongs to someone else or is not a
 * terminal, or another -errno. ret_dev gets the device (for deduplication). */
int notify_write_terminal(const char *path, uid_t uid, dev_t expected_dev,
                          const char *frame, size_t len, dev_t *ret_dev);

/* Writes an already framed message to the controlling terminals of the
 * processes in CGROUP's subtree that belong to UID, each device once. The
 * process half of notify_user_terminals(), without logind. */
int notify_process_terminals(uid_t uid, int cgroot_fd, const char *cgroup, int procfs_fd,
                             const char *frame, size_t len, size_t *ret_n_written);

/* Writes MESSAGE (a few lines, formatted by the caller, '\n' line ends) to
 * every terminal of UID: its logind sessions' TTYs and the controlling
 * terminals of all processes in CGROUP's subtree (e.g.
 * "user.slice/user-1001.slice"; a leading '/' is accepted; NULL: sessions
 * only), relative to cgroot_fd and procfs_fd. Each terminal gets the message
 * once. Per-terminal failures are skipped; the number of terminals written
 * goes to *ret_n_written. Returns 0, or -EINVAL for a bad cgroup path. Costs
 * one small read per process of the slice, and never blocks. */
int notify_user_terminals(uid_t uid, int cgroot_fd, const char *cgroup, int procfs_fd,
                          const char *message, size_t *ret_n_written);
