/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/PID/stat: the comm between the parentheses is the user's. */
#include <stdio.h>

#include "fuzz-util.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        procfs_task t = {};

        if (procfs_parse_stat(text, 100, &t) == 0) {
                FUZZ_CHECK(strnlen(t.comm, sizeof t.comm) < sizeof t.comm);
                FUZZ_CHECK(t.pid > 0);
                FUZZ_CHECK(t.exiting == ((t.flags & PF_EXITING_FLAG) || procfs_state_is_dead(t.state)));
        }
        free(text);
        return 0;
}
