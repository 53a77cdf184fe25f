/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memory.events(.local) and cgroup.events: "key value" lines. */
#include <stdio.h>

#include "cgfs.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        cgfs_events e;
        bool populated = false, frozen = false;

        (void) cgfs_parse_events(text, &e);
        if (cgfs_parse_cgroup_events(text, &populated, &frozen) == 0)
                FUZZ_CHECK(populated <= 1 && frozen <= 1);
        free(text);
        return 0;
}
