/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* libFuzzer hands over bytes; the parsers take C strings. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

#define FUZZ_CHECK(cond)                                                                 \
        do {                                                                             \
                if (!(cond)) {                                                           \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                         \
                }                                                                        \
        } while (0)
