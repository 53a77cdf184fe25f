/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A user's name and groups from NSS, off the event loop. NSS may ask a
 * directory server (LDAP, SSSD, AD) that answers in seconds, or not at all;
 * meanwhile the loop must go on governing every other user. One thread takes
 * uids from a bounded queue and runs the look-ups; each answer comes back
 * through an eventfd and is handed to a callback in the loop thread. The
 * thread gets a uid and returns plain data (resolver_answer): it never sees
 * a User, so nothing mutable is shared but the queue. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "util.h"

/* Look-ups queued, running or answered but not yet handed to the loop. */
#define RESOLVER_QUEUE_MAX 1024
/* At exit, how long to wait for a look-up that is still running. */
#define RESOLVER_JOIN_TIMEOUT_USEC (2 * USEC_PER_SEC)

typedef struct resolver_answer {
        uid_t uid;
        /* passwd: 0, -ENOENT (no entry), or why it could not be asked. */
        int passwd_error;
        char *name;                    /* NULL unless passwd_error == 0 */
        /* The group list: 0, or why it could not be had (groups is NULL then). */
        int groups_error;
        char **groups;                 /* names of the groups that could be looked up */
        /* Groups the directory failed on (a gid without a name is not a failure). */
        size_t n_failed_groups;
        gid_t failed_gid;              /* the first of them */
        int failed_error;
        usec_t started, finished;      /* CLOCK_MONOTONIC */
} resolver_answer;

/* The answer in full: passwd, the group list and every group's name. */
static inline bool resolver_answer_complete(const resolver_answer *a) {
        return a->passwd_error == 0 && a->groups_error == 0 && a->n_failed_groups == 0;
}
void resolver_answer_done(resolver_answer *a);

/* The look-up itself, synchronous, with the NSS functions given. It logs
 * nothing (it runs in the resolver's thread); the answer says what failed.
 * Never fails: an error is part of the answer. */
void resolver_resolve(const nss_ops *nss, uid_t uid, resolver_answer *ret);

/* Called in the loop thread for every answer. A is freed afterwards: take
 * what you keep (TAKE_PTR). */
typedef void (*resolver_answer_fn)(void *userdata, resolver_answer *a);

typedef struct resolver_shared resolver_shared;

typedef struct resolver {
        resolver_shared *shared;       /* NULL until started */
        pthread_t thread;
        sd_event_source *source;       /* the eventfd */
        resolver_answer_fn on_answer;
        void *userdata;
        usec_t join_timeout;
} resolver;

/* Starts the thread (with every signal blocked) and registers the eventfd. */
int resolver_start(resolver *r, sd_event *event, const nss_ops *nss, resolver_answer_fn on_answer, void *userdata);
/* Queues a look-up of UID: 0, or -EAGAIN when RESOLVER_QUEUE_MAX are under
 * way (ask again later), -ESHUTDOWN when not running. */
int resolver_request(resolver *r, uid_t uid);
/* Look-ups queued or running or not yet handed over. */
size_t resolver_pending(resolver *r);
/* Stops the thread and joins it. A look-up still running after
 * join_timeout is left to finish on its own: the thread then frees what it
 * shares and exits; its answer is dropped. Safe on a resolver never started. */
void resolver_stop(resolver *r);
