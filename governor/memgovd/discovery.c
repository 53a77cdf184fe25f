/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgfs.h"
#include "discovery.h"
#include "report.h"

void discovery_init(discovery *disc) {
        *disc = (discovery) { .cgroot_fd = -1, .slices_fd = -1, .slices_wd = -1, .root_wd = -1 };
}

static int on_login(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        discovery *disc = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        (void) sd_login_monitor_flush(disc->login_monitor);
        disc->on_change(disc->userdata);
        return 0;
}

static int on_slices(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        discovery *disc = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        (void) s;
        (void) revents;
        /* Drain: what changed is read from user.slice itself by the scan.
         * Only note when user.slice itself went away, to watch the root again. */
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        if (e->wd == disc->slices_wd && (e->mask & IN_IGNORED))
                                disc->slices_wd = -1;
                        p += sizeof *e + e->len;
                }
        }
        disc->on_change(disc->userdata);
        return 0;
}

/* Before the first login user.slice may not exist: then the root is watched
 * until it appears. */
static void slices_watch_ensure(discovery *disc) {
        char path[64];

        if (disc->slices_fd < 0 || disc->slices_wd >= 0)
                return;
        snprintf(path, sizeof path, "/proc/self/fd/%d/" USER_SLICE_PARENT, disc->cgroot_fd);
        disc->slices_wd = inotify_add_watch(disc->slices_fd, path, IN_CREATE | IN_DELETE | IN_MOVED_TO |
                                                                           IN_MOVED_FROM | IN_ONLYDIR | IN_DELETE_SELF);
        if (disc->slices_wd >= 0) {
                if (disc->root_wd >= 0) {
                        (void) inotify_rm_watch(disc->slices_fd, disc->root_wd);
                        disc->root_wd = -1;
                }
                return;
        }
        if (disc->root_wd < 0) {
                snprintf(path, sizeof path, "/proc/self/fd/%d", disc->cgroot_fd);
                disc->root_wd = inotify_add_watch(disc->slices_fd, path, IN_CREATE | IN_ONLYDIR);
                if (disc->root_wd < 0)
                        log_warning("Cannot watch the cgroup root with inotify: %m; new slices are found on logind events and retries only");
        }
}

int discovery_start(discovery *disc, sd_event *event, int cgroot_fd, void (*on_change)(void *userdata),
                    void *userdata) {
        int r;

        assert(on_change);

        disc->cgroot_fd = cgroot_fd;
        disc->on_change = on_change;
        disc->userdata = userdata;

        r = sd_login_monitor_new("uid", &disc->login_monitor);
        if (r < 0)
                log_warning_errno(r, "logind is not available (%m); following " USER_SLICE_PARENT " only");
        else {
                r = sd_event_add_io(event, &disc->login_source, sd_login_monitor_get_fd(disc->login_monitor),
                                    (uint32_t) sd_login_monitor_get_events(disc->login_monitor), on_login, disc);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch logind: %m");
        }

        disc->slices_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (disc->slices_fd < 0)
                log_warning("inotify unavailable (%m); slices are found on logind events and retries only");
        else {
                r = sd_event_add_io(event, &disc->slices_source, disc->slices_fd, EPOLLIN, on_slices, disc);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch " USER_SLICE_PARENT ": %m");
        }
        return 0;
}

void discovery_stop(discovery *disc) {
        disc->login_source = sd_event_source_disable_unref(disc->login_source);
        disc->slices_source = sd_event_source_disable_unref(disc->slices_source);
        if (disc->login_monitor)
                disc->login_monitor = sd_login_monitor_unref(disc->login_monitor);
        if (disc->slices_fd >= 0)
                close(disc->slices_fd);
        disc->slices_fd = -1;
        disc->slices_wd = disc->root_wd = -1;
}

int discovery_scan(discovery *disc, seen_uid **ret, size_t *ret_n) {
        _cleanup_free_ uid_t *uids = NULL;
        _cleanup_strv_free_ char **children = NULL;
        int n_uids = 0, r;

        slices_watch_ensure(disc);

        if (disc->login_monitor) {
                n_uids = sd_get_uids(&uids);
                if (n_uids < 0) {
                        log_warning_errno(n_uids, "Cannot list logind's users: %m");
                        n_uids = 0;
                }
        }
        r = cgfs_list_children(disc->cgroot_fd, USER_SLICE_PARENT, &children);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot list " USER_SLICE_PARENT ": %m");
        return users_discovered(uids, (size_t) n_uids, children, ret, ret_n);
}
