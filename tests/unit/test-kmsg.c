/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The /dev/kmsg side of OOM reporting: the record framing, the two kernel
 * lines of one kill (Linux 6.1 mm/oom_kill.c: dump_oom_summary() and
 * __oom_kill_process()), malformed and truncated lines, and the ring that
 * merges the two lines and answers kmsg_find(). Every parser input is copied
 * into a malloc'ed buffer of exactly its length, without a NUL, so a read
 * past `len` is an ASan error in the sanitized build. kmsg_read() is fed
 * through a SOCK_SEQPACKET socketpair, which hands back one record per
 * read() as /dev/kmsg does. */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "kmsg.h"

#define NO_UID ((uid_t) -1)

/* Kernel 6.1 text of one memcg OOM kill in user-1001.slice. */
#define SUMMARY                                                                                     \
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"             \
        "oom_memcg=/user.slice/user-1001.slice,task_memcg=/user.slice/user-1001.slice/session-3.scope," \
        "task=hog,pid=1234,uid=1001"
/* The fields before task= in a memcg OOM summary, for lines that vary the rest. */
#define HEAD                                                                                        \
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"             \
        "oom_memcg=/user.slice/user-1001.slice,task_memcg=/user.slice/user-1001.slice/session-3.scope,"
#define PFX "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
#define KILLED                                                                                      \
        "Memory cgroup out of memory: Killed process 1234 (hog) total-vm:2105988kB, anon-rss:1048000kB, " \
        "file-rss:1200kB, shmem-rss:16kB, UID:1001 pgtables:2184kB oom_score_adj:0"
#define KILLED_RSS ((1048000ULL + 1200 + 16) * 1024)

/* LEN bytes of S in a buffer of exactly that size, no terminating NUL. */
static char *exact(const char *s, size_t len) {
        char *b = malloc(len > 0 ? len : 1);

        assert_non_null(b);
        memcpy(b, s, len);
        return b;
}

static int summary_n(const char *s, size_t len, kmsg_oom_kill *k) {
        char *b = exact(s, len);
        int r = kmsg_parse_oom_summary(b, len, k);

        free(b);
        return r;
}

static int summary(const char *s, kmsg_oom_kill *k) {
        return summary_n(s, strlen(s), k);
}

static int killed_n(const char *s, size_t len, kmsg_oom_kill *k) {
        char *b = exact(s, len);
        int r = kmsg_parse_killed(b, len, k);

        free(b);
        return r;
}

static int killed(const char *s, kmsg_oom_kill *k) {
        return killed_n(s, strlen(s), k);
}

static int record(const char *s, uint64_t *seq) {
        size_t len = strlen(s);
        char *b = exact(s, len);
        const char *msg = NULL;
        size_t msg_len = 0;
        int r = kmsg_parse_record(b, len, seq, &msg, &msg_len);

        free(b);
        return r;
}

/* ---- kmsg_parse_record ---- */

static void test_record_basic(void **state) {
        static const char rec[] = "6,1234,5678901,-;" SUMMARY "\n";
        size_t len = strlen(rec);
        char *b = exact(rec, len);
        const char *msg = NULL;
        size_t msg_len = 0;
        uint64_t seq = 0;
        kmsg_oom_kill k;

        (void) state;
        assert_int_equal(kmsg_parse_record(b, len, &seq, &msg, &msg_len), 0);
        assert_int_equal(seq, 1234);
        assert_ptr_equal(msg, b + strlen("6,1234,5678901,-;"));
        assert_int_equal(msg_len, strlen(SUMMARY));
        assert_memory_equal(msg, SUMMARY, msg_len);

        /* The message pointer is usable as it is, inside the exact buffer. */
        assert_int_equal(kmsg_parse_oom_summary(msg, msg_len, &k), 1);
        assert_int_equal(k.pid, 1234);

        /* All outputs are optional. */
        assert_int_equal(kmsg_parse_record(b, len, NULL, NULL, NULL), 0);
        free(b);
}

static void test_record_dictionary_and_caller(void **state) {
        /* Dictionary lines after the message, and the caller= field
         * (CONFIG_PRINTK_CALLER) after the flags. */
        static const char rec[] = "3,77,5000,-,caller=T4242;" KILLED "\n SUBSYSTEM=memory\n DEVICE=+cgroup:x\n";
        size_t len = strlen(rec);
        char *b = exact(rec, len);
        const char *msg = NULL;
        size_t msg_len = 0;
        uint64_t seq = 0;

        (void) state;
        assert_int_equal(kmsg_parse_record(b, len, &seq, &msg, &msg_len), 0);
        assert_int_equal(seq, 77);
        assert_int_equal(msg_len, strlen(KILLED));
        assert_memory_equal(msg, KILLED, msg_len);
        free(b);

        /* Only PRI,SEQ: still a sequence number. */
        assert_int_equal(record("6,18446744073709551615;x\n", &seq), 0);
        assert_int_equal(seq, UINT64_MAX);
}

static void test_record_no_newline_and_empty(void **state) {
        static const char rec[] = "6,5,100,c;hello";
        static const char rec_nl[] = "6,5,100,c;hello\n";
        static const char empty[] = "6,6,100,-;";
        static const char empty_nl[] = "6,7,100,-;\n";
        const char *msg = NULL;
        size_t msg_len = 99;
        uint64_t seq = 0;
        char *b;

        (void) state;
        /* /dev/kmsg ends every record with '\n': without it the record was
         * cut, and its last field may be cut too ("uid=10" of "uid=1001"). */
        b = exact(rec, strlen(rec));
        assert_int_equal(kmsg_parse_record(b, strlen(rec), &seq, &msg, &msg_len), -EINVAL);
        free(b);
        b = exact(rec_nl, strlen(rec_nl));
        assert_int_equal(kmsg_parse_record(b, strlen(rec_nl), &seq, &msg, &msg_len), 0);
        assert_int_equal(seq, 5);
        assert_int_equal(msg_len, 5);
        assert_memory_equal(msg, "hello", 5);
        free(b);

        /* Empty message, cut and whole. */
        b = exact(empty, strlen(empty));
        seq = 0;
        assert_int_equal(kmsg_parse_record(b, strlen(empty), &seq, &msg, &msg_len), -EINVAL);
        free(b);

        b = exact(empty_nl, strlen(empty_nl));
        assert_int_equal(kmsg_parse_record(b, strlen(empty_nl), &seq, &msg, &msg_len), 0);
        assert_int_equal(seq, 7);
        assert_int_equal(msg_len, 0);
        assert_ptr_equal(msg, b + strlen(empty_nl) - 1);
        free(b);

        /* len bounds the record: the ';' beyond it is not seen. */
        b = exact(rec, strlen(rec));
        assert_int_equal(kmsg_parse_record(b, strlen("6,5,100,c"), &seq, &msg, &msg_len), -EINVAL);
        free(b);
}

static void test_record_malformed(void **state) {
        uint64_t seq = 4242;

        (void) state;
        assert_int_equal(record("", &seq), -EINVAL);
        assert_int_equal(record("6,1,2,-", &seq), -EINVAL);                     /* no ';' */
        assert_int_equal(record("6;a,b,c\n", &seq), -EINVAL);                     /* no ',' before ';' */
        assert_int_equal(record(";\n", &seq), -EINVAL);
        assert_int_equal(record("6,,2,-;x\n", &seq), -EINVAL);                    /* empty SEQ */
        assert_int_equal(record("6,;x\n", &seq), -EINVAL);
        assert_int_equal(record("6,abc,2,-;x\n", &seq), -EINVAL);
        assert_int_equal(record("6,-1,2,-;x\n", &seq), -EINVAL);
        assert_int_equal(record("6, 12,2,-;x\n", &seq), -EINVAL);
        assert_int_equal(record("6,12a,2,-;x\n", &seq), -EINVAL);
        assert_int_equal(record("6,18446744073709551616,2,-;x\n", &seq), -EINVAL); /* 2^64 */
        assert_int_equal(record("6,123456789012345678901234567890,2,-;x\n", &seq), -EINVAL);
        assert_int_equal(seq, 4242);

        /* Every prefix of a good record: an error until the '\n' is in. */
        {
                static const char rec[] = "6,1234,5678901,-;oom-kill:x\n";
                size_t semi = strlen("6,1234,5678901,-");

                for (size_t n = 0; n <= strlen(rec); n++) {
                        char *b = exact(rec, n);
                        const char *msg = NULL;
                        size_t msg_len = 0;
                        int r = kmsg_parse_record(b, n, &seq, &msg, &msg_len);

                        if (n < strlen(rec))
                                assert_int_equal(r, -EINVAL);
                        else {
                                assert_int_equal(r, 0);
                                assert_int_equal(seq, 1234);
                                assert_ptr_equal(msg, b + semi + 1);
                                assert_int_equal(msg_len, strlen("oom-kill:x"));
                        }
                        free(b);
                }
        }
}

/* ---- kmsg_parse_oom_summary ---- */

static void test_summary_memcg(void **state) {
        kmsg_oom_kill k;

        (void) state;
        memset(&k, 0x5a, sizeof k);
        assert_int_equal(summary(SUMMARY, &k), 1);
        assert_int_equal(k.pid, 1234);
        assert_int_equal(k.uid, 1001);
        assert_string_equal(k.comm, "hog");
        assert_string_equal(k.oom_memcg, "user.slice/user-1001.slice");
        assert_string_equal(k.task_memcg, "user.slice/user-1001.slice/session-3.scope");
        assert_false(k.global);
        assert_int_equal(k.rss_bytes, 0);
        assert_int_equal(k.seq, 0);

        /* Multi-node masks print as lists with commas: "0-1,3". */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=0-1,3,cpuset=/,mems_allowed=0-1,3,"
                                 "oom_memcg=/user.slice/user-1001.slice,task_memcg=/user.slice/user-1001.slice/"
                                 "user@1001.service/app.slice/firefox.scope,task=firefox,pid=99,uid=1001",
                                 &k),
                         1);
        assert_int_equal(k.pid, 99);
        assert_int_equal(k.uid, 1001);
        assert_string_equal(k.comm, "firefox");
        assert_string_equal(k.oom_memcg, "user.slice/user-1001.slice");
        assert_string_equal(k.task_memcg, "user.slice/user-1001.slice/user@1001.service/app.slice/firefox.scope");
        assert_false(k.global);
}

static void test_summary_global(void **state) {
        kmsg_oom_kill k;

        (void) state;
        /* mem_cgroup_print_oom_context() prints ",global_oom" with no memcg. */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
                                 "global_oom,task_memcg=/user.slice/user-1002.slice/session-4.scope,task=stress,"
                                 "pid=4321,uid=1002",
                                 &k),
                         1);
        assert_true(k.global);
        assert_int_equal(k.pid, 4321);
        assert_int_equal(k.uid, 1002);
        assert_string_equal(k.comm, "stress");
        assert_string_equal(k.oom_memcg, "");
        assert_string_equal(k.task_memcg, "user.slice/user-1002.slice/session-4.scope");

        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=/,mems_allowed=0,"
                                 "global_oom,task_memcg=/,task=a,pid=1,uid=0",
                                 &k),
                         1);
        assert_true(k.global);
        assert_int_equal(k.uid, 0);
        assert_string_equal(k.task_memcg, "");
}

static void test_summary_not_oom(void **state) {
        kmsg_oom_kill k;

        (void) state;
        assert_int_equal(summary("", &k), 0);
        assert_int_equal(summary("oom-kill", &k), 0);
        assert_int_equal(summary("oom-kill:", &k), 0);
        assert_int_equal(summary("oom_reaper: reaped process 1234 (hog), now anon-rss:0kB", &k), 0);
        assert_int_equal(summary("hog invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0", &k),
                         0);
        assert_int_equal(summary(KILLED, &k), 0);
        assert_int_equal(summary(" oom-kill:constraint=CONSTRAINT_MEMCG,task=hog,pid=1234,uid=1001", &k), 0);
        assert_int_equal(summary("OOM-KILL:constraint=CONSTRAINT_MEMCG,task=hog,pid=1234,uid=1001", &k), 0);
}

static void test_summary_missing_or_bad_pid(void **state) {
        kmsg_oom_kill k;

        (void) state;
        /* The pid is what makes a summary usable. */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/user.slice/user-1001.slice,"
                                 "task_memcg=/user.slice/user-1001.slice,task=hog,uid=1001",
                                 &k),
                         0);
        assert_int_equal(summary(HEAD "task=hog,pid=,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=abc,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=-5,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=12x,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid 1234,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,PID=1234,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pidx=1234,uid=1001", &k), 0);
        /* Too many digits for any integer. */
        assert_int_equal(summary(HEAD "task=hog,pid=99999999999999999999999,uid=1001", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=18446744073709551616,uid=1001", &k), 0);

        /* A pid with no uid field after it is a cut line: "pid=7" may have
         * been "pid=7890". */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,pid=7", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=1234", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=1234,", &k), 0);
        assert_int_equal(summary(HEAD "task=hog,pid=1234,uid", &k), 0);

        /* Only the pid and the uid field: the rest stays unknown. */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,pid=7,uid=", &k), 1);
        assert_int_equal(k.pid, 7);
        assert_int_equal(k.uid, NO_UID);
        assert_string_equal(k.comm, "");
        assert_string_equal(k.oom_memcg, "");
        assert_string_equal(k.task_memcg, "");

        /* A bad uid is unknown, not 0 (root). dump_oom_summary() prints the
         * uid with %d, so uids >= 2^31 arrive negative. */
        assert_int_equal(summary(HEAD "task=hog,pid=1234,uid=-2147483648", &k), 1);
        assert_int_equal(k.uid, NO_UID);
        assert_int_equal(summary(HEAD "task=hog,pid=1234,uid=", &k), 1);
        assert_int_equal(k.uid, NO_UID);
        assert_int_equal(summary(HEAD "task=hog,pid=1234,uid=abc", &k), 1);
        assert_int_equal(k.uid, NO_UID);
}

static void test_summary_huge_numbers(void **state) {
        kmsg_oom_kill k;
        int r;

        (void) state;
        /* 2^32 + 1234 fits in uint64_t but in no pid_t: taking its low 32
         * bits would name pid 1234, an unrelated process. */
        r = summary(HEAD "task=hog,pid=4294968530,uid=1001", &k);
        assert_int_equal(r, 0);

        /* uid 2^32 must not become uid 0. */
        r = summary(HEAD "task=hog,pid=1234,uid=4294967296", &k);
        assert_int_equal(r, 1);
        assert_int_equal(k.pid, 1234);
        assert_int_equal(k.uid, NO_UID);
}

static void test_summary_comm_and_memcg_text(void **state) {
        kmsg_oom_kill k;
        char line[2048];

        (void) state;
        /* Spaces, parentheses, '=' in comm. */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,task=Web Content,pid=1,uid=1001", &k), 1);
        assert_string_equal(k.comm, "Web Content");
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,task=(sd-pam),pid=2,uid=1001", &k), 1);
        assert_string_equal(k.comm, "(sd-pam)");
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,task=a=b) (c,pid=3,uid=1001", &k), 1);
        assert_string_equal(k.comm, "a=b) (c");

        /* Raw bytes that are no UTF-8 are kept; /dev/kmsg's own "\\xNN"
         * escapes are undone, so the name is stored raw like the ones read
         * from /proc and escaped once at each sink. */
        assert_int_equal(summary(HEAD "task=\xff\xfe\xc3(,pid=4,uid=1001", &k), 1);
        assert_string_equal(k.comm, "\xff\xfe\xc3(");
        assert_int_equal(summary(HEAD "task=\\xff\\xfe,pid=5,uid=1001", &k), 1);
        assert_string_equal(k.comm, "\xff\xfe");
        assert_int_equal(summary(HEAD "task=x\\x0a<0>\\x1b[2J\\x5c,pid=5,uid=1001", &k), 1);
        assert_string_equal(k.comm, "x\n<0>\x1b[2J\\");
        /* Not an escape: kept as it is. */
        assert_int_equal(summary(HEAD "task=a\\xzz\\x0,pid=5,uid=1001", &k), 1);
        assert_string_equal(k.comm, "a\\xzz\\x0");

        /* Longer than TASK_COMM_LEN: cut to 15 bytes and terminated. */
        assert_int_equal(summary(HEAD "task=abcdefghijklmnop\\x0a,pid=6,uid=1001", &k), 1);
        assert_int_equal(strlen(k.comm), KMSG_COMM_MAX - 1);
        assert_memory_equal(k.comm, "abcdefghijklmno", KMSG_COMM_MAX - 1);
        assert_int_equal(summary(PFX "oom_memcg=/user.slice/a\\x0ab,task_memcg=/user.slice/a\\x0ab/c,"
                                 "task=hog,pid=7,uid=1001", &k), 1);
        assert_string_equal(k.oom_memcg, "user.slice/a\nb");
        assert_string_equal(k.task_memcg, "user.slice/a\nb/c");

        /* Paths longer than the buffers are cut, not overflowed. Two such
         * paths make a line printk may have cut (test_summary_cut_by_printk):
         * one path per line. */
        {
                char path[600];

                memset(path, 'a', sizeof path - 1);
                path[0] = '/';
                path[sizeof path - 1] = 0;
                snprintf(line, sizeof line, PFX "oom_memcg=%s,task_memcg=/x,task=hog,pid=8,uid=1001", path);
                assert_int_equal(summary(line, &k), 1);
                assert_int_equal(strlen(k.oom_memcg), KMSG_MEMCG_MAX - 1);
                assert_int_equal(k.oom_memcg[0], 'a');
                assert_string_equal(k.task_memcg, "x");
                assert_int_equal(k.pid, 8);
                snprintf(line, sizeof line, PFX "oom_memcg=/x,task_memcg=%s,task=hog,pid=9,uid=1001", path);
                assert_int_equal(summary(line, &k), 1);
                assert_int_equal(strlen(k.task_memcg), KMSG_MEMCG_MAX - 1);
                assert_int_equal(k.task_memcg[0], 'a');
                assert_int_equal(k.pid, 9);
        }

        /* A memcg of just "/" is the root: empty. */
        assert_int_equal(summary(PFX "oom_memcg=/,task_memcg=/,task=hog,pid=9,uid=1001", &k), 1);
        assert_string_equal(k.oom_memcg, "");
        assert_string_equal(k.task_memcg, "");
}

/* Comm and cgroup names are chosen by unprivileged users: a comm may contain
 * ',' (prctl(PR_SET_NAME)), and so may a cgroup the user creates in the
 * subtree systemd delegates to user@UID.service. The kernel prints both raw. */
static void test_summary_comm_with_comma(void **state) {
        kmsg_oom_kill k;

        (void) state;
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                                 "oom_memcg=/user.slice/user-1001.slice,task_memcg=/user.slice/user-1001.slice/"
                                 "session-3.scope,task=a,b,pid=1234,uid=1001",
                                 &k),
                         1);
        assert_int_equal(k.pid, 1234);
        assert_string_equal(k.comm, "a,b");
}

static void test_summary_memcg_with_comma(void **state) {
        kmsg_oom_kill k;

        (void) state;
        /* A cgroup path that spells ",oom_memcg=<another user's slice>". */
        assert_int_equal(summary("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                                 "oom_memcg=/user.slice/user-1001.slice,task_memcg=/user.slice/user-1001.slice/"
                                 "user@1001.service/x,oom_memcg=/user.slice/user-1002.slice,task=hog,pid=1234,uid=1001",
                                 &k),
                         1);
        assert_int_equal(k.pid, 1234);
        assert_int_equal(k.uid, 1001);
        assert_string_equal(k.oom_memcg, "user.slice/user-1001.slice");
        assert_string_equal(k.task_memcg,
                            "user.slice/user-1001.slice/user@1001.service/x,oom_memcg=/user.slice/user-1002.slice");
}

/* summary or killed, through the record parser as kmsg_read() does. */
static int record_then(const char *rec, size_t n, bool is_summary, kmsg_oom_kill *k) {
        char *b = exact(rec, n);
        const char *msg;
        size_t msg_len;
        uint64_t seq;
        int r = kmsg_parse_record(b, n, &seq, &msg, &msg_len);

        if (r >= 0)
                r = is_summary ? kmsg_parse_oom_summary(msg, msg_len, k) : kmsg_parse_killed(msg, msg_len, k);
        free(b);
        return r;
}

/* Every prefix of the line, in an exact buffer: no read past len, and a cut
 * line yields no pid or uid rather than a wrong one. The pid counts only
 * once the kernel's ",uid=" follows it. The uid is the line's last field:
 * "uid=10" of a line cut inside "uid=1001" reads like a whole one, so that
 * cut is caught by the record, whose '\n' is then missing (the kernel never
 * cuts there itself: a pr_cont() that does not fit whole starts a new
 * record, see test_summary_cut_by_printk). */
static void test_summary_truncated(void **state) {
        static const char line[] = SUMMARY;
        static const char rec[] = "6,1234,5678901,-;" SUMMARY "\n";
        size_t len = strlen(line);
        size_t uid_digits = (size_t) (strstr(line, ",uid=") - line) + strlen(",uid=");

        (void) state;
        for (size_t n = 0; n <= len; n++) {
                kmsg_oom_kill k;
                int r = summary_n(line, n, &k);

                if (n < uid_digits) {
                        assert_int_equal(r, 0);
                        continue;
                }
                assert_int_equal(r, 1);
                assert_int_equal(k.pid, 1234);
                if (n == uid_digits)
                        assert_int_equal(k.uid, NO_UID);
                if (n == len)
                        assert_int_equal(k.uid, 1001);
                assert_string_equal(k.comm, "hog");
                assert_string_equal(k.oom_memcg, "user.slice/user-1001.slice");
                assert_string_equal(k.task_memcg, "user.slice/user-1001.slice/session-3.scope");
                assert_false(k.global);
        }
        for (size_t n = 0; n <= strlen(rec); n++) {
                kmsg_oom_kill k = { .pid = 0, .uid = NO_UID };
                int r = record_then(rec, n, true, &k);

                if (n < strlen(rec)) {
                        assert_true(r <= 0);
                        continue;
                }
                assert_int_equal(r, 1);
                assert_int_equal(k.pid, 1234);
                assert_int_equal(k.uid, 1001);
        }
}

/* printk stores at most 975 bytes of one record's text (Linux 6.1 with
 * CONFIG_PRINTK_CALLER; 991 without, 1023 from 6.6). The summary is one
 * printk and several pr_cont()s; the last, ",task=%s,pid=%d,uid=%d", goes
 * into a record of its own when it does not fit whole. A user names the
 * cgroups in their delegated subtree, and a long path that ends in
 * ",task=x,pid=1,uid=0" then ends a record that looks complete. */
static void test_summary_cut_by_printk(void **state) {
        /* The longest tail: ",task=" + a 15-byte comm escaped as "\xNN" +
         * ",pid=" + 10 digits + ",uid=" + 11 ("-2147483648"). */
        const size_t tail_max = 6 + 4 * 15 + 5 + 10 + 5 + 11, cut_min = 975;
        static const char head[] = PFX "oom_memcg=/user.slice/user-1001.slice,"
                                       "task_memcg=/user.slice/user-1001.slice/user@1001.service/";
        static const char forged[] = ",task=x,pid=1,uid=0";
        static const char tail[] = ",task=hog,pid=1234,uid=1001";
        char line[2400], path[1100];
        kmsg_oom_kill k;

        (void) state;
        /* Long enough that the kernel's tail may have gone to the next record:
         * neither pid nor uid, whatever the line ends in. */
        for (size_t total = cut_min - tail_max; total <= 1023; total++) {
                size_t fill = total - strlen(head) - strlen(forged);

                memset(path, 'a', fill);
                path[fill] = 0;
                snprintf(line, sizeof line, "%s%s%s", head, path, forged);
                assert_int_equal(strlen(line), total);
                memset(&k, 0x5a, sizeof k);
                assert_int_equal(summary(line, &k), 0);
                snprintf(line, sizeof line, "%s%s%s", head, path + strlen(tail) - strlen(forged), tail);
                assert_int_equal(strlen(line), total);
                assert_int_equal(summary(line, &k), 0);
        }

        /* One byte shorter, the kernel's tail would have fitted: the last
         * pid and uid are the kernel's. */
        {
                size_t total = cut_min - tail_max - 1, fill = total - strlen(head) - strlen(tail);

                memset(path, 'b', fill);
                path[fill] = 0;
                snprintf(line, sizeof line, "%s%s%s", head, path, tail);
                assert_int_equal(strlen(line), total);
                assert_int_equal(summary(line, &k), 1);
                assert_int_equal(k.pid, 1234);
                assert_int_equal(k.uid, 1001);
                assert_string_equal(k.comm, "hog");
        }
}

/* ---- kmsg_parse_killed ---- */

static void test_killed_memcg(void **state) {
        kmsg_oom_kill k;

        (void) state;
        memset(&k, 0x5a, sizeof k);
        assert_int_equal(killed(KILLED, &k), 1);
        assert_int_equal(k.pid, 1234);
        assert_string_equal(k.comm, "hog");
        assert_int_equal(k.uid, 1001);
        assert_int_equal(k.rss_bytes, KILLED_RSS);
        assert_false(k.global);
        assert_string_equal(k.oom_memcg, "");
        assert_string_equal(k.task_memcg, "");
        assert_int_equal(k.seq, 0);
}

static void test_killed_global(void **state) {
        kmsg_oom_kill k;

        (void) state;
        assert_int_equal(killed("Out of memory: Killed process 99 (stress) total-vm:100kB, anon-rss:10kB, file-rss:20kB, "
                                "shmem-rss:30kB, UID:1002 pgtables:4kB oom_score_adj:1000",
                                &k),
                         1);
        assert_true(k.global);
        assert_int_equal(k.pid, 99);
        assert_string_equal(k.comm, "stress");
        assert_int_equal(k.uid, 1002);
        assert_int_equal(k.rss_bytes, 60 * 1024);

        /* vm.oom_kill_allocating_task=1 */
        assert_int_equal(killed("Out of memory (oom_kill_allocating_task): Killed process 7 (a) total-vm:1kB, "
                                "anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB oom_score_adj:0",
                                &k),
                         1);
        assert_true(k.global);
        assert_int_equal(k.pid, 7);
        assert_int_equal(k.uid, 0);
        assert_int_equal(k.rss_bytes, 1024);

        /* Not a kill line. */
        assert_int_equal(killed("", &k), 0);
        assert_int_equal(killed(SUMMARY, &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process", &k), 0);
        assert_int_equal(killed("memory cgroup out of memory: Killed process 1 (a)", &k), 0);
        assert_int_equal(killed("oom_reaper: reaped process 1234 (hog), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
                                &k),
                         0);
        assert_int_equal(killed("Out of memory and no killable processes...", &k), 0);
}

static void test_killed_comm_text(void **state) {
        kmsg_oom_kill k;

        (void) state;
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 42 (Web Content) total-vm:1kB, "
                                "anon-rss:2kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:0kB oom_score_adj:0",
                                &k),
                         1);
        assert_int_equal(k.pid, 42);
        assert_string_equal(k.comm, "Web Content");
        assert_int_equal(k.uid, 1001);
        assert_int_equal(k.rss_bytes, 2048);

        /* Parentheses inside the comm: "(sd-pam)", "a) (b". */
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 43 ((sd-pam)) total-vm:1kB, "
                                "anon-rss:0kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:0kB oom_score_adj:0",
                                &k),
                         1);
        assert_string_equal(k.comm, "(sd-pam)");
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 44 (a) (b) total-vm:1kB, "
                                "anon-rss:0kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:0kB oom_score_adj:0",
                                &k),
                         1);
        assert_string_equal(k.comm, "a) (b");
        assert_int_equal(k.pid, 44);

        /* Non-UTF-8, raw and escaped. */
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 45 (\xff\xfe\x80) total-vm:1kB, "
                                "anon-rss:0kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:0kB oom_score_adj:0",
                                &k),
                         1);
        assert_string_equal(k.comm, "\xff\xfe\x80");
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 46 (x\\x0a<0>\\x1b) total-vm:1kB, "
                                "anon-rss:0kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:0kB oom_score_adj:0",
                                &k),
                         1);
        assert_string_equal(k.comm, "x\n<0>\x1b");
        assert_int_equal(k.uid, 1001);
}

static void test_killed_malformed(void **state) {
        kmsg_oom_kill k;

        (void) state;
        /* No pid. */
        assert_int_equal(killed("Memory cgroup out of memory: Killed process (hog) total-vm:1kB", &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process  (hog) total-vm:1kB", &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process abc (hog) total-vm:1kB", &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process -1 (hog) total-vm:1kB", &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 1234 hog total-vm:1kB", &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 99999999999999999999999 (hog)", &k), 0);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 18446744073709551616 (hog)", &k), 0);

        /* No numbers after the pid and comm: known, rss and uid unknown. */
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 1234 (hog)", &k), 1);
        assert_int_equal(k.pid, 1234);
        assert_string_equal(k.comm, "hog");
        assert_int_equal(k.uid, NO_UID);
        assert_int_equal(k.rss_bytes, 0);

        /* Some fields missing or garbled: only the good ones count. */
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 1234 (hog) total-vm:1kB, anon-rss:xkB, "
                                "file-rss:3kB, UID:abc pgtables:0kB",
                                &k),
                         1);
        assert_int_equal(k.rss_bytes, 3 * 1024);
        assert_int_equal(k.uid, NO_UID);
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 1234 (hog) total-vm:1kB, "
                                "anon-rss:99999999999999999999999kB, UID:",
                                &k),
                         1);
        assert_int_equal(k.rss_bytes, 0);
        assert_int_equal(k.uid, NO_UID);
}

static void test_killed_huge_numbers(void **state) {
        kmsg_oom_kill k;
        int r;

        (void) state;
        /* 2^32 + 1234: no pid_t holds it; it must not turn into pid 1234. */
        r = killed("Memory cgroup out of memory: Killed process 4294968530 (hog) total-vm:1kB, anon-rss:1kB, "
                   "file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:0kB oom_score_adj:0",
                   &k);
        assert_int_equal(r, 0);

        /* UID:4294967296 must not become root. */
        r = killed("Memory cgroup out of memory: Killed process 1234 (hog) total-vm:1kB, anon-rss:1kB, "
                   "file-rss:0kB, shmem-rss:0kB, UID:4294967296 pgtables:0kB oom_score_adj:0",
                   &k);
        assert_int_equal(r, 1);
        assert_int_equal(k.uid, NO_UID);

}

static void test_killed_pid_ends_at_space(void **state) {
        kmsg_oom_kill k;
        int r;

        (void) state;
        /* The kernel prints "%d (%s)": without the space the digits are not
         * cut short, "1234(hog)" is not pid 123. */
        r = killed("Memory cgroup out of memory: Killed process 1234(hog) total-vm:1kB", &k);
        assert_int_equal(r, 0);
}

/* The comm is the user's to choose (15 bytes); it comes before the fields
 * the parser looks for, and must not stand in for them. */
static void test_killed_comm_cannot_forge_fields(void **state) {
        kmsg_oom_kill k;

        (void) state;
        assert_int_equal(killed("Memory cgroup out of memory: Killed process 1234 (UID:0) total-vm:2105988kB, "
                                "anon-rss:1048000kB, file-rss:1200kB, shmem-rss:16kB, UID:1001 pgtables:2184kB "
                                "oom_score_adj:0",
                                &k),
                         1);
        assert_string_equal(k.comm, "UID:0");
        assert_int_equal(k.uid, 1001);
        assert_int_equal(k.rss_bytes, KILLED_RSS);

        assert_int_equal(killed("Memory cgroup out of memory: Killed process 1234 (anon-rss:999999) total-vm:2105988kB, "
                                "anon-rss:1048000kB, file-rss:1200kB, shmem-rss:16kB, UID:1001 pgtables:2184kB "
                                "oom_score_adj:0",
                                &k),
                         1);
        assert_string_equal(k.comm, "anon-rss:999999");
        assert_int_equal(k.uid, 1001);
        assert_int_equal(k.rss_bytes, KILLED_RSS);
}

/* Every prefix: a field counts only once what ends it is in ("1048000kB",
 * "UID:1001 "), so a cut line yields no uid and no part of a number. */
static void test_killed_truncated(void **state) {
        static const char line[] = KILLED;
        static const char rec[] = "3,77,5000,-;" KILLED "\n";
        size_t len = strlen(line);
        size_t open_at = (size_t) (strchr(line, '(') - line);
        size_t close_at = (size_t) (strchr(line, ')') - line);
        size_t anon_end = (size_t) (strstr(line, "anon-rss:1048000kB") - line) + strlen("anon-rss:1048000kB");
        size_t file_end = (size_t) (strstr(line, "file-rss:1200kB") - line) + strlen("file-rss:1200kB");
        size_t shmem_end = (size_t) (strstr(line, "shmem-rss:16kB") - line) + strlen("shmem-rss:16kB");
        size_t uid_end = (size_t) (strstr(line, "UID:1001 ") - line) + strlen("UID:1001 ");

        (void) state;
        for (size_t n = 0; n <= len; n++) {
                kmsg_oom_kill k;
                int r = killed_n(line, n, &k);
                uint64_t rss = 0;

                if (n <= open_at) {
                        assert_int_equal(r, 0);
                        continue;
                }
                assert_int_equal(r, 1);
                assert_int_equal(k.pid, 1234);
                assert_false(k.global);
                assert_string_equal(k.comm, n > close_at ? "hog" : "");
                if (n >= anon_end)
                        rss += 1048000ULL * 1024;
                if (n >= file_end)
                        rss += 1200ULL * 1024;
                if (n >= shmem_end)
                        rss += 16ULL * 1024;
                assert_int_equal(k.rss_bytes, rss);
                assert_int_equal(k.uid, n >= uid_end ? 1001 : NO_UID);
        }
        for (size_t n = 0; n <= strlen(rec); n++) {
                kmsg_oom_kill k = { .pid = 0, .uid = NO_UID };
                int r = record_then(rec, n, false, &k);

                if (n < strlen(rec)) {
                        assert_true(r <= 0);
                        continue;
                }
                assert_int_equal(r, 1);
                assert_int_equal(k.pid, 1234);
                assert_int_equal(k.uid, 1001);
                assert_int_equal(k.rss_bytes, KILLED_RSS);
        }
}

/* ---- the ring: kmsg_init, kmsg_read, kmsg_find ---- */

typedef struct feeder {
        kmsg k;
        int in;          /* our end: one send() = one record */
} feeder;

static void feeder_open(feeder *f) {
        int sv[2];

        kmsg_init(&f->k);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        f->k.fd = sv[0];
        f->in = sv[1];
}

static void feeder_close(feeder *f) {
        kmsg_close(&f->k);
        assert_int_equal(f->k.fd, -1);
        close(f->in);
}

static void feed_raw(feeder *f, const char *rec) {
        size_t len = strlen(rec);

        assert_int_equal(send(f->in, rec, len, 0), (ssize_t) len);
}

static void feed(feeder *f, int prio, uint64_t seq, const char *msg) {
        char buf[2048];
        int n = snprintf(buf, sizeof buf, "%d,%" PRIu64 ",%" PRIu64 ",-;%s\n", prio, seq, seq * 1000 + 7, msg);

        assert_true(n > 0 && (size_t) n < sizeof buf);
        feed_raw(f, buf);
}

static void feed_kill(feeder *f, uint64_t seq, bool with_summary, unsigned uid, const char *scope, int pid,
                      const char *comm, unsigned anon_kb) {
        char s[1024], kl[1024];

        if (with_summary) {
                snprintf(s, sizeof s,
                         "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                         "oom_memcg=/user.slice/user-%u.slice,task_memcg=/user.slice/user-%u.slice/%s,task=%s,pid=%d,"
                         "uid=%u",
                         uid, uid, scope, comm, pid, uid);
                feed(f, 6, seq++, s);
        }
        snprintf(kl, sizeof kl,
                 "Memory cgroup out of memory: Killed process %d (%s) total-vm:1000kB, anon-rss:%ukB, file-rss:0kB, "
                 "shmem-rss:0kB, UID:%u pgtables:40kB oom_score_adj:0",
                 pid, comm, anon_kb, uid);
        feed(f, 3, seq, kl);
}

static void test_ring_init(void **state) {
        kmsg k;

        (void) state;
        memset(&k, 0x5a, sizeof k);
        kmsg_init(&k);
        assert_int_equal(k.fd, -1);
        assert_int_equal(k.n_ring, 0);
        assert_int_equal(k.next, 0);
        assert_null(kmsg_find(&k, 1001, "user.slice/user-1001.slice", 0));
        assert_null(kmsg_find(&k, NO_UID, "", 0));
        assert_int_equal(kmsg_read(&k), -EBADF);
        kmsg_close(&k);
        assert_int_equal(k.fd, -1);
}

static void test_ring_merge_and_find(void **state) {
        feeder f;
        const kmsg_oom_kill *e;

        (void) state;
        feeder_open(&f);
        /* Nothing pending: read returns at once. */
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, 0);

        /* Noise around the kills: other messages and broken records. */
        feed(&f, 4, 90, "hog invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0");
        feed_raw(&f, "garbage without a semicolon\n");
        feed_raw(&f, "6,notanumber,1,-;" SUMMARY "\n");
        feed_kill(&f, 100, true, 1001, "session-3.scope", 1234, "hog", 4096);
        feed_kill(&f, 102, true, 1002, "session-4.scope", 2345, "Web Content", 8192);
        feed_kill(&f, 104, true, 1001, "user@1001.service/app.slice/x.scope", 3456, "(sd-pam)", 1);
        feed(&f, 6, 106, "oom_reaper: reaped process 1234 (hog), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB");
        assert_int_equal(kmsg_read(&f.k), 0);

        /* Two lines per kill, one entry each. */
        assert_int_equal(f.k.n_ring, 3);

        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 1234);
        assert_string_equal(e->comm, "hog");
        assert_int_equal(e->uid, 1001);
        assert_int_equal(e->rss_bytes, 4096ULL * 1024);
        assert_string_equal(e->oom_memcg, "user.slice/user-1001.slice");
        assert_string_equal(e->task_memcg, "user.slice/user-1001.slice/session-3.scope");
        assert_false(e->global);
        /* The entry keeps the seq of its first line (the summary), so a
         * caller that reported it after the summary alone (after_seq = 100)
         * is not handed the same kill again once the second line merges. */
        assert_int_equal(e->seq, 100);

        /* Oldest first, after after_seq. */
        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 100);
        assert_non_null(e);
        assert_int_equal(e->pid, 3456);
        assert_string_equal(e->comm, "(sd-pam)");
        assert_int_equal(e->rss_bytes, 1024);
        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 101);
        assert_non_null(e);
        assert_int_equal(e->pid, 3456);
        assert_null(kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 104));

        e = kmsg_find(&f.k, 1002, "user.slice/user-1002.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 2345);
        assert_string_equal(e->comm, "Web Content");
        assert_int_equal(e->rss_bytes, 8192ULL * 1024);

        /* Whole path components only: user-100 is not user-1001. */
        assert_null(kmsg_find(&f.k, 100, "user.slice/user-100.slice", 0));
        assert_null(kmsg_find(&f.k, 1001, "user.slice/user-1001.slic", 0));
        /* A memcg below the asked one is not in it. */
        assert_null(kmsg_find(&f.k, 1001, "user.slice/user-1001.slice/session-3.scope/x", 0));
        /* The task's own memcg matches too. */
        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice/session-3.scope", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 1234);
        /* A line that named memcgs is never matched by uid alone. */
        assert_null(kmsg_find(&f.k, 1001, "user.slice/user-4242.slice", 0));

        /* Peer gone: read sees EOF and stops. */
        close(f.in);
        f.in = -1;
        assert_int_equal(kmsg_read(&f.k), 0);
        kmsg_close(&f.k);
}

static void test_ring_uid_fallback(void **state) {
        feeder f;
        const kmsg_oom_kill *e;

        (void) state;
        feeder_open(&f);
        /* The summary was rate limited away: only the killed line. */
        feed_kill(&f, 50, false, 1001, NULL, 777, "hog", 10);
        feed(&f, 3, 51, "Out of memory: Killed process 778 (big) total-vm:1kB, anon-rss:20kB, file-rss:0kB, "
                        "shmem-rss:0kB, UID:1002 pgtables:0kB oom_score_adj:0");
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, 2);

        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 777);
        assert_int_equal(e->seq, 50);
        assert_int_equal(e->rss_bytes, 10 * 1024);
        assert_string_equal(e->oom_memcg, "");
        e = kmsg_find(&f.k, 1002, "user.slice/user-1002.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 778);
        assert_true(e->global);
        assert_null(kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 50));
        assert_null(kmsg_find(&f.k, 1003, "user.slice/user-1003.slice", 0));

        /* A summary whose uid came out negative (%d) takes the killed
         * line's UID (%u). */
        feed(&f, 6, 60,
             "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
             "oom_memcg=/user.slice/user-2147483648.slice,task_memcg=/user.slice/user-2147483648.slice/session-1.scope,"
             "task=hog,pid=900,uid=-2147483648");
        feed(&f, 3, 61,
             "Memory cgroup out of memory: Killed process 900 (hog) total-vm:1kB, anon-rss:5kB, file-rss:0kB, "
             "shmem-rss:0kB, UID:2147483648 pgtables:0kB oom_score_adj:0");
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, 3);
        e = kmsg_find(&f.k, 2147483648U, "user.slice/user-2147483648.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 900);
        assert_int_equal(e->uid, 2147483648U);
        assert_int_equal(e->rss_bytes, 5 * 1024);
        feeder_close(&f);
}

static void test_ring_wraps(void **state) {
        feeder f;
        const kmsg_oom_kill *e;
        const unsigned n = KMSG_RING_SIZE + 8;

        (void) state;
        feeder_open(&f);
        for (unsigned i = 0; i < n; i++) {
                char comm[16];

                snprintf(comm, sizeof comm, "w%u", i);
                feed_kill(&f, 1000 + i, false, 1001, NULL, (int) (5000 + i), comm, i + 1);
        }
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, KMSG_RING_SIZE);

        /* The 8 oldest are gone; the oldest kept is the 9th. */
        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 5008);
        assert_string_equal(e->comm, "w8");
        assert_int_equal(e->seq, 1008);

        /* Walking after_seq visits every kept kill once, in order. */
        {
                uint64_t after = 0;
                unsigned seen = 0;

                while ((e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", after))) {
                        assert_int_equal(e->pid, (pid_t) (5008 + seen));
                        assert_int_equal(e->rss_bytes, (uint64_t) (9 + seen) * 1024);
                        after = e->seq;
                        seen++;
                }
                assert_int_equal(seen, KMSG_RING_SIZE);
                assert_int_equal(after, 1000 + n - 1);
        }

        /* More, read in separate batches: the ring keeps turning. */
        for (unsigned i = 0; i < 5; i++) {
                feed_kill(&f, 2000 + i, true, 1002, "session-9.scope", (int) (6000 + i), "late", 1);
                assert_int_equal(kmsg_read(&f.k), 0);
        }
        assert_int_equal(f.k.n_ring, KMSG_RING_SIZE);
        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 5013);
        e = kmsg_find(&f.k, 1002, "user.slice/user-1002.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 6000);
        assert_int_equal(e->seq, 2000);
        feeder_close(&f);
}

/* The two lines of a kill whose comm has a ',' still make one entry, with
 * the summary's memcgs and the killed line's rss. */
static void test_ring_merges_comm_with_comma(void **state) {
        feeder f;
        const kmsg_oom_kill *e;

        (void) state;
        feeder_open(&f);
        feed_kill(&f, 300, true, 1001, "session-3.scope", 1234, "a,b", 4096);
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, 1);
        e = kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0);
        assert_non_null(e);
        assert_int_equal(e->pid, 1234);
        assert_string_equal(e->comm, "a,b");
        assert_int_equal(e->rss_bytes, 4096ULL * 1024);
        feeder_close(&f);
}

/* A cgroup path in user 1001's delegated subtree must not make user 1002's
 * lookup find 1001's kill. */
static void test_ring_memcg_injection(void **state) {
        feeder f;

        (void) state;
        feeder_open(&f);
        feed(&f, 6, 400,
             "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
             "oom_memcg=/user.slice/user-1001.slice,task_memcg=/user.slice/user-1001.slice/user@1001.service/"
             "x,oom_memcg=/user.slice/user-1002.slice,task=hog,pid=1234,uid=1001");
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, 1);
        assert_non_null(kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0));
        assert_null(kmsg_find(&f.k, 1002, "user.slice/user-1002.slice", 0));
        feeder_close(&f);
}

/* A cgroup alice names in her delegated subtree, with a memory.max of its
 * own so that it is the oom_memcg, can carry ",task_memcg=" and bob's path.
 * The uid, the kernel's last field, still says whose kill it was. */
static void test_ring_task_memcg_forged_in_oom_memcg(void **state) {
        feeder f;

        (void) state;
        feeder_open(&f);
        feed(&f, 6, 500,
             "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
             "oom_memcg=/user.slice/user-1001.slice/user@1001.service/x,task_memcg=/user.slice/user-1002.slice/y,"
             "task_memcg=/user.slice/user-1001.slice/user@1001.service/x,task=hog,pid=1234,uid=1001");
        assert_int_equal(kmsg_read(&f.k), 0);
        assert_int_equal(f.k.n_ring, 1);
        assert_null(kmsg_find(&f.k, 1002, "user.slice/user-1002.slice", 0));
        assert_non_null(kmsg_find(&f.k, 1001, "user.slice/user-1001.slice", 0));
        feeder_close(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_basic),
                cmocka_unit_test(test_record_dictionary_and_caller),
                cmocka_unit_test(test_record_no_newline_and_empty),
                cmocka_unit_test(test_record_malformed),
                cmocka_unit_test(test_summary_memcg),
                cmocka_unit_test(test_summary_global),
                cmocka_unit_test(test_summary_not_oom),
                cmocka_unit_test(test_summary_missing_or_bad_pid),
                cmocka_unit_test(test_summary_huge_numbers),
                cmocka_unit_test(test_summary_comm_and_memcg_text),
                cmocka_unit_test(test_summary_comm_with_comma),
                cmocka_unit_test(test_summary_memcg_with_comma),
                cmocka_unit_test(test_summary_truncated),
                cmocka_unit_test(test_summary_cut_by_printk),
                cmocka_unit_test(test_killed_memcg),
                cmocka_unit_test(test_killed_global),
                cmocka_unit_test(test_killed_comm_text),
                cmocka_unit_test(test_killed_malformed),
                cmocka_unit_test(test_killed_huge_numbers),
                cmocka_unit_test(test_killed_pid_ends_at_space),
                cmocka_unit_test(test_killed_comm_cannot_forge_fields),
                cmocka_unit_test(test_killed_truncated),
                cmocka_unit_test(test_ring_init),
                cmocka_unit_test(test_ring_merge_and_find),
                cmocka_unit_test(test_ring_uid_fallback),
                cmocka_unit_test(test_ring_wraps),
                cmocka_unit_test(test_ring_merges_comm_with_comma),
                cmocka_unit_test(test_ring_memcg_injection),
                cmocka_unit_test(test_ring_task_memcg_forged_in_oom_memcg),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
