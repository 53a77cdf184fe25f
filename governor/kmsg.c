/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"
#include "util.h"

void kmsg_init(kmsg *k) {
        assert(k);
        *k = (kmsg) { .fd = -1 };
}

int kmsg_open(kmsg *k) {
        int fd;

        assert(k);

        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Only kills from now on are ours to report. */
        if (lseek(fd, 0, SEEK_END) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        k->fd = fd;
        return 0;
}

void kmsg_close(kmsg *k) {
        if (k->fd >= 0)
                close(k->fd);
        k->fd = -1;
}

int kmsg_parse_record(const char *rec, size_t len, uint64_t *ret_seq, const char **ret_msg, size_t *ret_msg_len) {
        const char *semi, *comma, *end;
        char num[24];
        size_t n;

        assert(rec);

        semi = memchr(rec, ';', len);
        if (!semi)
                return -EINVAL;
        comma = memchr(rec, ',', (size_t) (semi - rec));
        if (!comma)
                return -EINVAL;
        comma++;
        end = memchr(comma, ',', (size_t) (semi - comma));
        if (!end)
                end = semi;
        n = (size_t) (end - comma);
        if (n == 0 || n >= sizeof num)
                return -EINVAL;
        memcpy(num, comma, n);
        num[n] = 0;
        if (ret_seq && parse_u64(num, ret_seq) < 0)
                return -EINVAL;

        semi++;
        /* The message ends at the first newline; dictionary lines follow. */
        end = memchr(semi, '\n', len - (size_t) (semi - rec));
        if (!end)
                end = rec + len;
        if (ret_msg)
                *ret_msg = semi;
        if (ret_msg_len)
                *ret_msg_len = (size_t) (end - semi);
        return 0;
}

static bool starts_with_n(const char *s, size_t len, const char *prefix) {
        size_t p = strlen(prefix);
        return len >= p && memcmp(s, prefix, p) == 0;
}

static void copy_field(char *dst, size_t size, const char *src, size_t len) {
        if (len >= size)
                len = size - 1;
        memcpy(dst, src, len);
        dst[len] = 0;
}

static int parse_u64_n(const char *s, size_t len, uint64_t *ret) {
        char num[24];

        if (len == 0 || len >= sizeof num)
                return -EINVAL;
        memcpy(num, s, len);
        num[len] = 0;
        return parse_u64(num, ret);
}

int kmsg_parse_oom_summary(const char *msg, size_t len, kmsg_oom_kill *k) {
        const char *p, *end;
        bool have_pid = false;

        assert(msg);
        assert(k);

        if (!starts_with_n(msg, len, "oom-kill:"))
                return 0;

        *k = (kmsg_oom_kill) { .uid = (uid_t) -1 };
        p = msg + strlen("oom-kill:");
        end = msg + len;
        while (p < end) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                const char *eq;
                size_t flen;
                uint64_t v;

                if (!comma)
                        comma = end;
                flen = (size_t) (comma - p);
                eq = memchr(p, '=', flen);
                if (eq) {
                        size_t klen = (size_t) (eq - p), vlen = flen - klen - 1;
                        const char *val = eq + 1;

                        if (klen == 9 && memcmp(p, "oom_memcg", 9) == 0) {
                                if (vlen > 0 && val[0] == '/')
                                        val++, vlen--;
                                copy_field(k->oom_memcg, sizeof k->oom_memcg, val, vlen);
                        } else if (klen == 10 && memcmp(p, "task_memcg", 10) == 0) {
                                if (vlen > 0 && val[0] == '/')
                                        val++, vlen--;
                                copy_field(k->task_memcg, sizeof k->task_memcg, val, vlen);
                        } else if (klen == 4 && memcmp(p, "task", 4) == 0)
                                copy_field(k->comm, sizeof k->comm, val, vlen);
                        else if (klen == 3 && memcmp(p, "pid", 3) == 0 && parse_u64_n(val, vlen, &v) >= 0) {
                                k->pid = (pid_t) v;
                                have_pid = true;
                        } else if (klen == 3 && memcmp(p, "uid", 3) == 0 && parse_u64_n(val, vlen, &v) >= 0)
                                k->uid = (uid_t) v;
                        else if (klen == 10 && memcmp(p, "constraint", 10) == 0)
                                k->global = !(vlen == 16 && memcmp(val, "CONSTRAINT_MEMCG", 16) == 0);
                }
                p = comma + 1;
        }
        return have_pid ? 1 : 0;
}

/* "anon-rss:1234kB" somewhere in msg -> bytes. */
static uint64_t find_kb(const char *msg, size_t len, const char *key) {
        size_t klen = strlen(key);
        uint64_t v = 0;

        for (size_t i = 0; i + klen < len; i++) {
                if (memcmp(msg + i, key, klen) != 0)
                        continue;
                size_t j = i + klen, start = j;
                while (j < len && msg[j] >= '0' && msg[j] <= '9')
                        j++;
                if (parse_u64_n(msg + start, j - start, &v) >= 0)
                        return v * 1024;
                return 0;
        }
        return 0;
}

int kmsg_parse_killed(const char *msg, size_t len, kmsg_oom_kill *k) {
        static const char *const prefixes[] = {
                "Memory cgroup out of memory: Killed process ",
                "Out of memory: Killed process ",
                "Out of memory (oom_kill_allocating_task): Killed process ",
        };
        const char *p = NULL, *end = msg + len, *open_paren, *close_paren;
        uint64_t v;
        size_t i;

        assert(msg);
        assert(k);

        for (i = 0; i < ELEMENTSOF(prefixes); i++)
                if (starts_with_n(msg, len, prefixes[i])) {
                        p = msg + strlen(prefixes[i]);
                        break;
                }
        if (!p)
                return 0;

        *k = (kmsg_oom_kill) { .uid = (uid_t) -1, .global = i != 0 };

        open_paren = memchr(p, '(', (size_t) (end - p));
        if (!open_paren || open_paren == p || parse_u64_n(p, (size_t) (open_paren - p - 1), &v) < 0)
                return 0;
        k->pid = (pid_t) v;

        /* The comm may itself contain ") ", so look for the field after it. */
        close_paren = NULL;
        for (const char *q = open_paren + 1; q + 11 <= end; q++)
                if (memcmp(q, ") total-vm:", 11) == 0) {
                        close_paren = q;
                        break;
                }
        if (!close_paren)
                close_paren = memchr(open_paren, ')', (size_t) (end - open_paren));
        if (close_paren)
                copy_field(k->comm, sizeof k->comm, open_paren + 1, (size_t) (close_paren - open_paren - 1));

        k->rss_bytes = find_kb(msg, len, "anon-rss:") + find_kb(msg, len, "file-rss:") +
                       find_kb(msg, len, "shmem-rss:");

        for (const char *q = msg; q + 4 < end; q++)
                if (memcmp(q, "UID:", 4) == 0) {
                        const char *s = q + 4, *e = s;
                        while (e < end && *e >= '0' && *e <= '9')
                                e++;
                        if (parse_u64_n(s, (size_t) (e - s), &v) >= 0)
                                k->uid = (uid_t) v;
                        break;
                }
        return 1;
}

static kmsg_oom_kill *ring_at(kmsg *k, size_t age_index) {
        /* age_index 0 = oldest */
        size_t start = (k->next + KMSG_RING_SIZE - k->n_ring) % KMSG_RING_SIZE;
        return &k->ring[(start + age_index) % KMSG_RING_SIZE];
}

static void remember(kmsg *k, const kmsg_oom_kill *e, bool killed_line) {
        /* The two lines of one kill are merged by pid. */
        for (size_t i = k->n_ring; i > 0; i--) {
                kmsg_oom_kill *o = ring_at(k, i - 1);
                if (o->pid != e->pid || strcmp(o->comm, e->comm) != 0)
                        continue;
                if (killed_line) {
                        o->rss_bytes = e->rss_bytes;
                        if (o->uid == (uid_t) -1)
                                o->uid = e->uid;
                        return;
                }
                if (o->oom_memcg[0] == 0) {
                        memcpy(o->oom_memcg, e->oom_memcg, sizeof o->oom_memcg);
                        memcpy(o->task_memcg, e->task_memcg, sizeof o->task_memcg);
                        return;
                }
        }
        k->ring[k->next] = *e;
        k->next = (k->next + 1) % KMSG_RING_SIZE;
        if (k->n_ring < KMSG_RING_SIZE)
                k->n_ring++;
}

int kmsg_read(kmsg *k) {
        char buf[8192];

        assert(k);

        if (k->fd < 0)
                return -EBADF;

        for (unsigned i = 0; i < 4096; i++) {
                const char *msg;
                size_t msg_len;
                uint64_t seq;
                kmsg_oom_kill e;
                ssize_t n;

                n = read(k->fd, buf, sizeof buf - 1);
                if (n < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == EPIPE || errno == EINTR)
                                continue;   /* records were overwritten; the read position moved on */
                        return -errno;
                }
                if (n == 0)
                        return 0;
                buf[n] = 0;
                if (kmsg_parse_record(buf, (size_t) n, &seq, &msg, &msg_len) < 0)
                        continue;
                if (kmsg_parse_oom_summary(msg, msg_len, &e) > 0) {
                        e.seq = seq;
                        remember(k, &e, false);
                } else if (kmsg_parse_killed(msg, msg_len, &e) > 0) {
                        e.seq = seq;
                        remember(k, &e, true);
                }
        }
        return 0;
}

static bool memcg_in(const char *memcg, const char *cgroup) {
        size_t n = strlen(cgroup);
        return strncmp(memcg, cgroup, n) == 0 && (memcg[n] == 0 || memcg[n] == '/');
}

const kmsg_oom_kill *kmsg_find(const kmsg *k, uid_t uid, const char *cgroup, uint64_t after_seq) {
        assert(k);
        assert(cgroup);

        for (size_t i = 0; i < k->n_ring; i++) {
                const kmsg_oom_kill *e = ring_at((kmsg *) k, i);

                if (e->seq <= after_seq)
                        continue;
                if (e->task_memcg[0] || e->oom_memcg[0]) {
                        if (memcg_in(e->task_memcg, cgroup) || memcg_in(e->oom_memcg, cgroup))
                                return e;
                        continue;
                }
                /* Summary line rate limited away: the uid is all we have. */
                if (e->uid == uid)
                        return e;
        }
        return NULL;
}
