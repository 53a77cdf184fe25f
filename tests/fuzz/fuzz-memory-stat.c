/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memory.stat, and the usage split computed from it: whatever the file
 * says, cache, swappable, reclaimable slab and unreclaimable add up to the
 * slice's usage, never to more. */
#include <stdio.h>

#include "cgfs.h"
#include "fuzz-util.h"
#include "memstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        cgfs_memory_stat st;
        memstat_usage u;
        /* memory.current from the input's first bytes, so it varies too. */
        uint64_t current = 0;

        for (size_t i = 0; i < size && i < 8; i++)
                current = current << 8 | data[i];
        if (cgfs_parse_memory_stat(text, &st) >= 0) {
                cgfs_memory m = { .current = current, .high = BYTES_INFINITY, .max = BYTES_INFINITY };

                for (int swap = 0; swap <= 1; swap++)
                        for (int thrash = 0; thrash <= 1; thrash++) {
                                memstat_usage_compute(&m, &st, swap, thrash, &u);
                                FUZZ_CHECK(u.total == current);
                                FUZZ_CHECK(u.unreclaimable <= u.total);
                                FUZZ_CHECK(u.cache <= u.total && u.swappable <= u.total &&
                                           u.kernel_reclaimable <= u.total);
                                FUZZ_CHECK(u.cache + u.swappable + u.kernel_reclaimable + u.unreclaimable ==
                                           u.total);
                                FUZZ_CHECK(swap || u.swappable == 0);
                        }
        }
        free(text);
        return 0;
}
