/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "report.h"
#include "resolver.h"

/* Everything the thread and the loop share, under the lock. It lives apart
 * from struct resolver so that a thread stuck in NSS at exit can outlive the
 * daemon's structures and free it itself. Requests and answers are rings of
 * fixed size: a slot is counted from the request until the loop has taken
 * the answer, so the thread always has room for an answer and never needs
 * to allocate for one. */
struct resolver_shared {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        const nss_ops *nss;
        int event_fd;
        bool stop;
        bool exited;                   /* the thread is done with this */
        bool orphaned;                 /* the loop is gone: the thread frees this */
        size_t outstanding;            /* queued + running + answered */
        uid_t queue[RESOLVER_QUEUE_MAX];
        size_t queue_head, n_queued;
        resolver_answer answers[RESOLVER_QUEUE_MAX];
        size_t answers_head, n_answers;
};

void resolver_answer_done(resolver_answer *a) {
        if (!a)
                return;
        free(a->name);
        a->name = NULL;
        strv_free(a->groups);
        a->groups = NULL;
}

static void resolve_groups(const nss_ops *nss, const struct passwd *pw, resolver_answer *a) {
        _cleanup_strv_free_ char **groups = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        size_t n;
        int r;

        r = nss_getgrouplist(nss, pw->pw_name, pw->pw_gid, &gids, &n);
        if (r < 0) {
                a->groups_error = r;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *buf = NULL;
                struct group gr;

                r = nss_getgrgid(nss, gids[i], &gr, &buf);
                if (r == -ENOENT)       /* a gid without a name has no groups.d file */
                        continue;
                if (r == -ENOMEM) {
                        a->groups_error = r;
                        return;
                }
                if (r < 0) {
                        if (a->n_failed_groups++ == 0) {
                                a->failed_gid = gids[i];
                                a->failed_error = r;
                        }
                        continue;
                }
                r = strv_extend(&groups, gr.gr_name);
                if (r < 0) {
                        a->groups_error = r;
                        return;
                }
        }
        a->groups = TAKE_PTR(groups);
}

void resolver_resolve(const nss_ops *nss, uid_t uid, resolver_answer *ret) {
        _cleanup_free_ char *pwbuf = NULL;
        struct passwd pw;
        int r;

        assert(ret);

        *ret = (resolver_answer) { .uid = uid, .started = now_usec(CLOCK_MONOTONIC) };
        r = nss_getpwuid(nss, uid, &pw, &pwbuf);
        if (r >= 0) {
                ret->name = strdup(pw.pw_name);
                if (!ret->name)
                        r = -ENOMEM;
        }
        ret->passwd_error = r < 0 ? r : 0;
        if (r >= 0)
                resolve_groups(nss, &pw, ret);
        ret->finished = now_usec(CLOCK_MONOTONIC);
}

static void shared_free(resolver_shared *s) {
        for (size_t i = 0; i < s->n_answers; i++)
                resolver_answer_done(&s->answers[(s->answers_head + i) % RESOLVER_QUEUE_MAX]);
        if (s->event_fd >= 0)
                close(s->event_fd);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static void *resolver_thread(void *p) {
        resolver_shared *s = p;
        bool orphaned;

        pthread_mutex_lock(&s->lock);
        for (;;) {
                resolver_answer a;
                uid_t uid;

                while (!s->stop && s->n_queued == 0)
                        pthread_cond_wait(&s->wake, &s->lock);
                if (s->stop)
                        break;
                uid = s->queue[s->queue_head];
                s->queue_head = (s->queue_head + 1) % RESOLVER_QUEUE_MAX;
                s->n_queued--;
                pthread_mutex_unlock(&s->lock);

                resolver_resolve(s->nss, uid, &a);

                pthread_mutex_lock(&s->lock);
                s->answers[(s->answers_head + s->n_answers) % RESOLVER_QUEUE_MAX] = a;
                s->n_answers++;
                /* An eventfd write only fails when the counter would
                 * overflow, and the loop resets it on every read. */
                (void) eventfd_write(s->event_fd, 1);
        }
        s->exited = true;
        orphaned = s->orphaned;
        pthread_mutex_unlock(&s->lock);
        if (orphaned)
                shared_free(s);
        return NULL;
}

static int on_event_fd(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        resolver *r = userdata;
        resolver_shared *s = r->shared;
        eventfd_t count;

        (void) source;
        (void) revents;
        (void) eventfd_read(fd, &count);
        for (;;) {
                resolver_answer a;

                pthread_mutex_lock(&s->lock);
                if (s->n_answers == 0) {
                        pthread_mutex_unlock(&s->lock);
                        break;
                }
                a = s->answers[s->answers_head];
                s->answers_head = (s->answers_head + 1) % RESOLVER_QUEUE_MAX;
                s->n_answers--;
                s->outstanding--;
                pthread_mutex_unlock(&s->lock);

                /* Unlocked: the callback may ask for the next look-up. */
                r->on_answer(r->userdata, &a);
                resolver_answer_done(&a);
        }
        return 0;
}

int resolver_start(resolver *r, sd_event *event, const nss_ops *nss, resolver_answer_fn on_answer, void *userdata) {
        resolver_shared *s;
        sigset_t all, saved;
        int k;

        assert(r);
        assert(event);
        assert(nss);
        assert(on_answer);
        assert(!r->shared);

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->wake, NULL);
        s->nss = nss;
        s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->event_fd < 0) {
                k = -errno;
                shared_free(s);
                return k;
        }

        r->on_answer = on_answer;
        r->userdata = userdata;
        if (r->join_timeout == 0)
                r->join_timeout = RESOLVER_JOIN_TIMEOUT_USEC;
        k = sd_event_add_io(event, &r->source, s->event_fd, EPOLLIN, on_event_fd, r);
        if (k < 0) {
                shared_free(s);
                return k;
        }
        (void) sd_event_source_set_description(r->source, "resolver");

        /* Signals are the loop's (signalfd): the thread takes none. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        k = pthread_create(&r->thread, NULL, resolver_thread, s);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (k != 0) {
                r->source = sd_event_source_disable_unref(r->source);
                shared_free(s);
                return -k;
        }
        r->shared = s;
        return 0;
}

int resolver_request(resolver *r, uid_t uid) {
        resolver_shared *s;
        int ret = 0;

        assert(r);
        s = r->shared;
        if (!s)
                return -ESHUTDOWN;

        pthread_mutex_lock(&s->lock);
        if (s->stop)
                ret = -ESHUTDOWN;
        else if (s->outstanding >= RESOLVER_QUEUE_MAX)
                ret = -EAGAIN;
        else {
                s->queue[(s->queue_head + s->n_queued) % RESOLVER_QUEUE_MAX] = uid;
                s->n_queued++;
                s->outstanding++;
                pthread_cond_signal(&s->wake);
        }
        pthread_mutex_unlock(&s->lock);
        return ret;
}

size_t resolver_pending(resolver *r) {
        size_t n;

        assert(r);
        if (!r->shared)
                return 0;
        pthread_mutex_lock(&r->shared->lock);
        n = r->shared->outstanding;
        pthread_mutex_unlock(&r->shared->lock);
        return n;
}

void resolver_stop(resolver *r) {
        resolver_shared *s;
        struct timespec deadline;
        usec_t until;
        int k;

        assert(r);
        s = r->shared;
        if (!s)
                return;
        r->shared = NULL;
        r->source = sd_event_source_disable_unref(r->source);

        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);

        until = now_usec(CLOCK_REALTIME) + r->join_timeout;
        deadline = (struct timespec) { .tv_sec = (time_t) (until / USEC_PER_SEC),
                                       .tv_nsec = (long) (until % USEC_PER_SEC * 1000) };
        k = pthread_timedjoin_np(r->thread, NULL, &deadline);
        if (k == 0) {
                shared_free(s);
                return;
        }

        /* Stuck in NSS: whoever is last frees what they share. */
        pthread_mutex_lock(&s->lock);
        if (s->exited) {
                pthread_mutex_unlock(&s->lock);
                (void) pthread_join(r->thread, NULL);
                shared_free(s);
                return;
        }
        s->orphaned = true;
        pthread_mutex_unlock(&s->lock);
        (void) pthread_detach(r->thread);
        log_warning("An NSS look-up is still running at exit; not waiting for it");
}
