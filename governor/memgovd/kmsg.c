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
        /* The message ends at the first newline; dictionary lines follow.
         * /dev/kmsg ends every record with one: a record without it was cut,
         * and so may be its last field ("uid=10" of "uid=1001"). */
        end = memchr(semi, '\n', len - (size_t) (semi - rec));
        if (!end)
                return -EINVAL;
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

/* /dev/kmsg writes every byte below ' ', from 127 up, and the backslash
 * itself as "\xNN" (printk.c). Names are stored raw, as memgovd stores the
 * ones it reads from /proc, and escaped once at each sink: escaping the
 * kernel's text again would turn each "\x0a" into "\\x0a". */
static void copy_field_unescaped(char *dst, size_t size, const char *src, size_t len) {
        size_t o = 0;

        for (size_t i = 0; i < len && o + 1 < size; o++) {
                int hi, lo;

                if (src[i] == '\\' && i + 4 <= len && src[i + 1] == 'x' &&
                    (hi = unhexchar(src[i + 2])) >= 0 && (lo = unhexchar(src[i + 3])) >= 0 &&
                    (hi | lo) != 0) {
                        dst[o] = (char) (hi << 4 | lo);
                        i += 4;
                } else
                        dst[o] = src[i++];
        }
        dst[o] = 0;
}

static int parse_u64_n(const char *s, size_t len, uint64_t *ret) {
        char num[24];

        if (len == 0 || len >= sizeof num)
                return -EINVAL;
        memcpy(num, s, len);
        num[len] = 0;
        return parse_u64(num, ret);
}

/* The last occurrence of N in the first HL bytes of H. A user names their
 * tasks and their delegated cgroups, and both may hold ',' or '=': the
 * kernel's own fields are found from the right-hand end, where the user's
 * text cannot reach. */
static const char *memmem_last(const char *h, size_t hl, const char *n) {
        size_t nl = strlen(n);
        const char *last = NULL;

        for (size_t i = 0; i + nl <= hl; i++)
                if (memcmp(h + i, n, nl) == 0)
                        last = h + i;
        return last;
}

/* A pid or uid: decimal, and no wider than the kernel's type. */
static int parse_id(const char *s, size_t len, uint64_t max, uint64_t *v) {
        if (parse_u64_n(s, len, v) < 0 || *v > max)
                return -EINVAL;
        return 0;
}

/* printk keeps at most 975 bytes of one record's text (Linux 6.1 with
 * CONFIG_PRINTK_CALLER; 991 without it, 1023 from 6.6), counted before
 * /dev/kmsg's escapes, which only lengthen it. */
#define KMSG_TEXT_CUT_MIN 975
/* The summary's last pr_cont(), ",task=%s,pid=%d,uid=%d", at its longest: a
 * 15-byte comm escaped as "\xNN", a 10-digit pid, an 11-character uid. */
#define KMSG_SUMMARY_TAIL_MAX (6 + 4 * 15 + 5 + 10 + 5 + 11)

int kmsg_parse_oom_summary(const char *msg, size_t len, kmsg_oom_kill *k) {
        const char *end = msg + len, *pid, *uid, *task, *om, *tm, *c, *e;
        uint64_t v;

        if (!starts_with_n(msg, len, "oom-kill:"))
                return 0;
        /* A pr_cont() that does not fit whole into the record starts a new
         * one: a summary this long may end in the memcg path its owner chose
         * (",task=x,pid=1,uid=0"), with the kernel's tail in the next record. */
        if (len + KMSG_SUMMARY_TAIL_MAX >= KMSG_TEXT_CUT_MIN)
                return 0;
        *k = (kmsg_oom_kill) { .uid = (uid_t) -1 };
        /* The kernel prints pid= then uid=, last: a pid without the uid field
         * after it comes from a cut line, and its digits may be cut too. */
        uid = memmem_last(msg, len, ",uid=");
        if (!uid)
                return 0;
        pid = memmem_last(msg, (size_t) (uid - msg), ",pid=");
        if (!pid)
                return 0;
        if (parse_id(pid + 5, (size_t) (uid - pid - 5), INT32_MAX, &v) < 0)
                return 0;
        k->pid = (pid_t) v;
        if (parse_id(uid + 5, (size_t) (end - uid - 5), UINT32_MAX - 1, &v) >= 0)
                k->uid = (uid_t) v;
        task = memmem_last(msg, (size_t) (pid - msg), ",task=");
        if (task)
                copy_field_unescaped(k->comm, sizeof k->comm, task + 6, (size_t) (pid - task - 6));
        c = memchr(msg, ',', len);
        k->global = !(c && (size_t)(c - msg) == strlen("oom-kill:constraint=CONSTRAINT_MEMCG") &&
                      starts_with_n(msg, len, "oom-kill:constraint=CONSTRAINT_MEMCG"));
        e = task ? task : pid;
        om = memmem(msg, (size_t) (e - msg), ",oom_memcg=", 11);
        tm = memmem(om ? om : msg, (size_t) (e - (om ? om : msg)), ",task_memcg=", 12);
        if (om) {
                const char *v0 = om + 11, *ve = tm ? tm : e;
                if (v0 < ve && *v0 == '/') v0++;
                copy_field_unescaped(k->oom_memcg, sizeof k->oom_memcg, v0, (size_t) (ve - v0));
        }
        if (tm) {
                const char *v0 = tm + 12;
                if (v0 < e && *v0 == '/') v0++;
                copy_field_unescaped(k->task_memcg, sizeof k->task_memcg, v0, (size_t) (e - v0));
        }
        return 1;
}

/* "anon-rss:1234kB" somewhere in msg -> bytes. Only with its "kB": digits
 * at the end of a cut line may be the start of a longer number. */
static uint64_t find_kb(const char *msg, size_t len, const char *key) {
        size_t klen = strlen(key);
        uint64_t v = 0;

        for (size_t i = 0; i + klen < len; i++) {
                if (memcmp(msg + i, key, klen) != 0)
                        continue;
                size_t j = i + klen, start = j;
                while (j < len && msg[j] >= '0' && msg[j] <= '9')
                        j++;
                if (starts_with_n(msg + j, len - j, "kB") && parse_u64_n(msg + start, j - start, &v) >= 0 &&
                    v <= UINT64_MAX / 1024)
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
        const char *p = NULL, *end = msg + len, *open_paren, *close_paren, *rest;
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
        if (!open_paren || open_paren == p || open_paren[-1] != ' ' ||
            parse_id(p, (size_t) (open_paren - p - 1), INT32_MAX, &v) < 0)
                return 0;
        k->pid = (pid_t) v;

        /* The comm may itself contain ") total-vm:": the kernel's is the last. */
        close_paren = memmem_last(open_paren + 1, (size_t) (end - open_paren - 1), ") total-vm:");
        if (!close_paren)
                close_paren = memchr(open_paren, ')', (size_t) (end - open_paren));
        if (close_paren)
                copy_field_unescaped(k->comm, sizeof k->comm, open_paren + 1, (size_t) (close_paren - open_paren - 1));

        /* Only after the comm, which its owner chose, e.g. "UID:0". */
        rest = close_paren ? close_paren : open_paren;
        k->rss_bytes = find_kb(rest, (size_t) (end - rest), "anon-rss:") +
                       find_kb(rest, (size_t) (end - rest), "file-rss:") +
                       find_kb(rest, (size_t) (end - rest), "shmem-rss:");

        for (const char *q = rest; q + 4 < end; q++)
                if (memcmp(q, "UID:", 4) == 0) {
                        const char *s = q + 4, *e = s;
                        while (e < end && *e >= '0' && *e <= '9')
                                e++;
                        /* " pgtables:" follows: without the space the line
                         * was cut, maybe inside the number. */
                        if (e < end && *e == ' ' && parse_id(s, (size_t) (e - s), UINT32_MAX - 1, &v) >= 0)
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
                /* The uid is the kernel's last field, out of reach of the
                 * names a user chooses; it must agree with the memcg. */
                if (e->uid != (uid_t) -1 && e->uid != uid)
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
