/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memory.pressure: "some avg10=… avg60=… avg300=… total=…" and "full …". */
#include <math.h>
#include <stdio.h>

#include "fuzz-util.h"
#include "psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        psi_stats s;

        if (psi_parse(text, &s) == 0) {
                FUZZ_CHECK(isfinite(s.some.avg10) && isfinite(s.some.avg60) && isfinite(s.some.avg300));
                if (s.has_full)
                        FUZZ_CHECK(isfinite(s.full.avg10));
        }
        free(text);
        return 0;
}
