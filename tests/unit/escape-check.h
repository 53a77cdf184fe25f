/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The properties every escape_buf() output must have, checked independently
 * of escape.c's own decoder: shared by test-escape and the escape fuzzer. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "escape.h"

/* Returns NULL when OUT is safe for FLAVOR, else what is wrong with it. */
static inline const char *escape_check_output(const char *out, size_t len, escape_flavor flavor) {
        const unsigned char *p = (const unsigned char *) out;

        for (size_t i = 0; i < len;) {
                unsigned char c = p[i];
                uint32_t cp;
                size_t n;

                if (c == 0)
                        return "NUL inside the output";
                if (c < 0x80) {
                        if (c < 0x20 && flavor != ESCAPE_JSON)
                                return "C0 control";
                        if (c == 0x7f)
                                return "DEL";
                        if (c == '<' && i == 0 && flavor == ESCAPE_TEXT)
                                return "leading '<'";
                        if (flavor == ESCAPE_PROM_LABEL && c == '"')
                                return "unescaped quote in a label";
                        if (flavor == ESCAPE_PROM_LABEL && c == '\\') {
                                /* The text format knows \\, \" and \n; we never emit \n. */
                                if (i + 1 >= len || (p[i + 1] != '\\' && p[i + 1] != '"'))
                                        return "dangling or unknown escape in a label";
                                i += 2;
                                continue;
                        }
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF)
                        n = 2, cp = c & 0x1F;
                else if (c >= 0xE0 && c <= 0xEF)
                        n = 3, cp = c & 0x0F;
                else if (c >= 0xF0 && c <= 0xF4)
                        n = 4, cp = c & 0x07;
                else
                        return "invalid UTF-8 lead byte";
                if (i + n > len)
                        return "truncated UTF-8 sequence";
                for (size_t k = 1; k < n; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                return "invalid UTF-8 continuation";
                        cp = (cp << 6) | (p[i + k] & 0x3F);
                }
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
                        return "overlong UTF-8";
                if (cp >= 0xD800 && cp <= 0xDFFF)
                        return "surrogate";
                if (cp > 0x10FFFF)
                        return "above U+10FFFF";
                if (cp <= 0x9F)
                        return "C1 control";
                if (cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F ||
                    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
                        return "line separator or bidi control";
                i += n;
        }
        return NULL;
}
