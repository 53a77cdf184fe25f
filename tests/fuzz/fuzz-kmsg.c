/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /dev/kmsg records and the kernel's OOM lines in them: the names inside
 * (comm, memcg paths) are what users chose. */
#include <stdio.h>
#include <string.h>

#include "fuzz-util.h"
#include "kmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        kmsg_oom_kill k = { .uid = (uid_t) -1 };
        const char *msg = NULL;
        size_t msg_len = 0;
        uint64_t seq = 0;

        if (kmsg_parse_record(text, size, &seq, &msg, &msg_len) >= 0) {
                FUZZ_CHECK(msg >= text && msg + msg_len <= text + size);
                (void) kmsg_parse_oom_summary(msg, msg_len, &k);
                (void) kmsg_parse_killed(msg, msg_len, &k);
        }
        /* The message parsers also take any text as a message. */
        (void) kmsg_parse_oom_summary(text, size, &k);
        (void) kmsg_parse_killed(text, size, &k);
        FUZZ_CHECK(memchr(k.comm, 0, sizeof k.comm));
        FUZZ_CHECK(memchr(k.oom_memcg, 0, sizeof k.oom_memcg));
        FUZZ_CHECK(memchr(k.task_memcg, 0, sizeof k.task_memcg));
        free(text);
        return 0;
}
