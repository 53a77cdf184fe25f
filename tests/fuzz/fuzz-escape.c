/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The escaping rule: whatever the bytes and the buffer size, the output is
 * safe (escape-check.h, an independent decoder), NUL-terminated, within the
 * buffer, a prefix of the untruncated result, and complete when the buffer
 * has the documented worst-case size. escape_undo() gives back the input up
 * to its first NUL. */
#include <stdio.h>

#include "../unit/escape-check.h"
#include "escape.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t full_size, small;
        char *full, *part;

        if (size < 1 || size > 4096)
                return 0;
        /* The first byte picks a buffer size for the truncated run. */
        small = 1 + data[0];
        data++;
        size--;

        full_size = ESCAPE_BUFSIZE(size);
        full = malloc(full_size);
        part = malloc(small);
        if (!full || !part)
                abort();
        for (escape_flavor f = 0; f < _ESCAPE_FLAVOR_MAX; f++) {
                bool truncated = true, ptrunc;
                size_t n = escape_buf((const char *) data, size, f, full, full_size, &truncated);
                size_t m;
                const char *why;

                FUZZ_CHECK(!truncated);
                FUZZ_CHECK(n < full_size && full[n] == 0);
                why = escape_check_output(full, n, f);
                if (why) {
                        fprintf(stderr, "flavor %d: %s\n", f, why);
                        abort();
                }
                FUZZ_CHECK(escape_is_clean((const char *) data, size, f) ==
                           (n == size && memcmp(full, data, size) == 0));

                m = escape_buf((const char *) data, size, f, part, small, &ptrunc);
                FUZZ_CHECK(m < small && part[m] == 0);
                FUZZ_CHECK(m <= n && memcmp(part, full, m) == 0);
                FUZZ_CHECK(ptrunc == (m < n));
                FUZZ_CHECK(escape_check_output(part, m, f) == NULL);

                if (f == ESCAPE_TEXT) {
                        size_t len = strnlen((const char *) data, size);

                        escape_buf((const char *) data, len, f, full, full_size, NULL);
                        escape_undo(full);
                        FUZZ_CHECK(strlen(full) == len && memcmp(full, data, len) == 0);
                }
        }
        free(full);
        free(part);
        return 0;
}
