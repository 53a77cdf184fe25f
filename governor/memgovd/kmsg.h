/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Who did the kernel's OOM killer take? memory.events only counts oom_kill;
 * the victim's pid and name are in the kernel log. /dev/kmsg is read only
 * when a slice's oom_kill counter rises, never polled, so it costs nothing
 * when idle. Two lines describe one kill:
 *   oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/user.slice/user-1001.slice,
 *            task_memcg=/user.slice/user-1001.slice/session-3.scope,task=hog,pid=1234,uid=1001
 *   Memory cgroup out of memory: Killed process 1234 (hog) total-vm:...kB, anon-rss:...kB,
 *            file-rss:...kB, shmem-rss:...kB, UID:1001 pgtables:...kB oom_score_adj:0
 * The first one is rate limited by the kernel (dump_header), the second is
 * not, and it is printed after memory.events was already bumped. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KMSG_RING_SIZE 32
#define KMSG_MEMCG_MAX 256
#define KMSG_COMM_MAX 16

typedef struct kmsg_oom_kill {
        uint64_t seq;                  /* kmsg sequence number of the first line of this kill */
        pid_t pid;
        uid_t uid;                     /* (uid_t) -1 when unknown */
        char comm[KMSG_COMM_MAX];
        char oom_memcg[KMSG_MEMCG_MAX];    /* without the leading '/' */
        char task_memcg[KMSG_MEMCG_MAX];
        uint64_t rss_bytes;            /* anon + file + shmem, 0 when unknown */
        bool global;                   /* "Out of memory:" rather than "Memory cgroup out of memory:" */
} kmsg_oom_kill;

typedef struct kmsg {
        int fd;                        /* -1 when /dev/kmsg could not be opened */
        kmsg_oom_kill ring[KMSG_RING_SIZE];
        size_t n_ring, next;
} kmsg;

/* Parses "PRI,SEQ,TS,FLAGS;MESSAGE\n KEY=VAL..." as /dev/kmsg returns it. */
int kmsg_parse_record(const char *rec, size_t len, uint64_t *ret_seq, const char **ret_msg, size_t *ret_msg_len);
/* Parses one message; 1 when it was an OOM line (fields merged into *k), 0 otherwise. */
int kmsg_parse_oom_summary(const char *msg, size_t len, kmsg_oom_kill *k);
int kmsg_parse_killed(const char *msg, size_t len, kmsg_oom_kill *k);

void kmsg_init(kmsg *k);
/* Opens /dev/kmsg and skips everything logged before now. */
int kmsg_open(kmsg *k);
void kmsg_close(kmsg *k);
/* Reads every pending record and remembers the OOM kills among them. */
int kmsg_read(kmsg *k);
/* The oldest remembered kill in CGROUP (or of UID, when the summary line
 * was rate limited away) with seq > after_seq; NULL if none. */
const kmsg_oom_kill *kmsg_find(const kmsg *k, uid_t uid, const char *cgroup, uint64_t after_seq);
