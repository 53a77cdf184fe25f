/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The set of governed users: who comes and goes, and bringing each user's
 * watches, limits, kill state and NSS look-ups up and down with them. Discovery itself
 * (logind's monitor fd, the inotify on user.slice) is an event source of
 * daemon.c; it hands what it found to users_reconcile(). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "context.h"
#include "resolver.h"
#include "user.h"

#define USER_SLICE_PARENT "user.slice"

typedef struct user_set {
        User **items;
        size_t n;
} user_set;

/* A uid as discovery saw it. */
typedef struct seen_uid {
        uid_t uid;
        bool logged_in, has_slice;
} seen_uid;

/* Merges logind's uids and the names of user.slice's children
 * ("user-UID.slice"; anything else is ignored) into one list, one entry per
 * uid, in order of first sight. Pure. */
int users_discovered(const uid_t *logind, size_t n_logind, char *const *children, seen_uid **ret,
                     size_t *ret_n);

User *users_find(const user_set *set, uid_t uid);
/* Drops users that are gone or below MinUid, adds the new ones and brings
 * every user's watches in line with whether the slice exists. */
void users_reconcile(context *ctx, user_set *set, const config_set *config, const seen_uid *seen, size_t n_seen);
/* After a good reload: every user's config layered again over their last
 * good NSS look-up, and re-applied; look-ups older than
 * USER_NSS_MAX_AGE_USEC are asked for again. */
void users_reload(context *ctx, user_set *set, const config_set *config);
/* An answer of the resolver, in the loop thread: the user's config is
 * layered again with it (or with the last good look-up, if it failed) and
 * re-applied. An answer for a user no longer governed is dropped. */
void users_answer(context *ctx, user_set *set, const config_set *config, resolver_answer *a);
/* The user's look-up on the timer: says once that it is slow, asks again
 * after a failure. */
void users_follow_lookup(context *ctx, User *u, usec_t now);
void users_clear(user_set *set);
