/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/PID/status, with its Name: (user-chosen) and Groups: lines. */
#include <stdio.h>

#include "fuzz-util.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        procfs_task t = {};

        if (procfs_parse_status(text, &t) == 0)
                FUZZ_CHECK(t.tgid > 0);
        free(text);
        return 0;
}
