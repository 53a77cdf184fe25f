/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/PID/oom_score_adj, and the strict integer parsers under it. */
#include <stdio.h>

#include "fuzz-util.h"
#include "procfs.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        uint64_t u;
        int v = 12345;

        if (procfs_parse_oom_score_adj(text, &v) == 0)
                FUZZ_CHECK(v >= -1000 && v <= 1000);
        else
                FUZZ_CHECK(v == 12345);
        (void) parse_u64(text, &u);
        (void) parse_limit(text, &u);
        free(text);
        return 0;
}
