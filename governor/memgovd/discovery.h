/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Finding the users to govern without polling: logind's monitor fd tells of
 * logins and logouts, inotify on user.slice of slices being made and removed
 * (mkdir/rmdir on cgroupfs are plain VFS operations). Either only says
 * "look again"; discovery_scan() then reads who is there. */

#include <stdbool.h>
#include <systemd/sd-event.h>
#include <systemd/sd-login.h>

#include "users.h"

typedef struct discovery {
        int cgroot_fd;
        sd_login_monitor *login_monitor;
        sd_event_source *login_source;
        int slices_fd;                     /* inotify on user.slice, -1 if unavailable */
        int slices_wd, root_wd;            /* its watches: user.slice, or the root until user.slice exists */
        sd_event_source *slices_source;
        void (*on_change)(void *userdata);
        void *userdata;
} discovery;

void discovery_init(discovery *disc);
/* ON_CHANGE(USERDATA) is called when something may have changed. */
int discovery_start(discovery *disc, sd_event *event, int cgroot_fd, void (*on_change)(void *userdata),
                    void *userdata);
void discovery_stop(discovery *disc);
/* Who is there now: logind's users and the slices in user.slice. */
int discovery_scan(discovery *disc, seen_uid **ret, size_t *ret_n);
