/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "util.h"

/* Length of the well-formed UTF-8 sequence at S (Unicode 15, table 3-7), or
 * 0 if the first byte does not start one. The table rules out overlong
 * forms, surrogates (ED A0..BF) and anything above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t len, uint32_t *ret_cp) {
        unsigned char c = s[0];
        unsigned char lo = 0x80, hi = 0xBF;
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        if (c >= 0xC2 && c <= 0xDF) {
                n = 2;
                cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
                n = 3;
                cp = c & 0x0F;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                n = 4;
                cp = c & 0x07;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else
                return 0;

        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                unsigned char b = s[i];
                if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
                        return 0;
                cp = (cp << 6) | (b & 0x3F);
        }
        *ret_cp = cp;
        return n;
}

/* Valid code points that still act on a terminal or on the text around them. */
static bool codepoint_is_control(uint32_t cp) {
        return (cp >= 0x80 && cp <= 0x9F) ||          /* C1: 0x9b is CSI, 0x9d OSC */
               cp == 0x2028 || cp == 0x2029 ||        /* line and paragraph separators */
               cp == 0x200E || cp == 0x200F ||        /* LRM, RLM */
               (cp >= 0x202A && cp <= 0x202E) ||      /* bidi embeddings and overrides */
               (cp >= 0x2066 && cp <= 0x2069);        /* bidi isolates */
}

/* The text-rule form of the unit at S: writes at most 8 bytes into UNIT,
 * returns its length and the number of input bytes it stands for. */
static size_t escape_unit(const unsigned char *s, size_t len, size_t out_pos, escape_flavor flavor, char unit[static 8],
                          size_t *ret_consumed) {
        uint32_t cp;
        size_t n = utf8_sequence(s, len, &cp);

        *ret_consumed = n ? n : 1;
        if (n == 0)
                return (size_t) snprintf(unit, 8, "\\x%02x", s[0]);
        if (n == 1) {
                unsigned char c = s[0];

                if (c == '\\') {
                        memcpy(unit, "\\\\", 2);
                        return 2;
                }
                if (c < 0x20 && c != 0 && flavor == ESCAPE_JSON) {
                        unit[0] = (char) c;
                        return 1;
                }
                if (c == '\n' || c == '\t' || c == '\r') {
                        unit[0] = '\\';
                        unit[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
                        return 2;
                }
                if (c < 0x20 || c == 0x7F || (c == '<' && out_pos == 0 && flavor == ESCAPE_TEXT))
                        return (size_t) snprintf(unit, 8, "\\x%02x", c);
                unit[0] = (char) c;
                return 1;
        }
        if (codepoint_is_control(cp))
                return (size_t) snprintf(unit, 8, "\\u%04x", (unsigned) cp);
        memcpy(unit, s, n);
        return n;
}

size_t escape_buf(const char *s, size_t len, escape_flavor flavor, char *buf, size_t size, bool *ret_truncated) {
        const unsigned char *p = (const unsigned char *) s;
        size_t out = 0, i = 0;

        assert(s || len == 0);
        assert(buf);
        assert(size >= 1);
        assert(flavor >= 0 && flavor < _ESCAPE_FLAVOR_MAX);

        while (i < len) {
                char unit[8], prom[16];
                const char *emit = unit;
                size_t consumed, ulen;

                ulen = escape_unit(p + i, len - i, out, flavor, unit, &consumed);
                if (flavor == ESCAPE_PROM_LABEL) {
                        size_t k = 0;
                        for (size_t j = 0; j < ulen; j++) {
                                if (unit[j] == '\\' || unit[j] == '"')
                                        prom[k++] = '\\';
                                prom[k++] = unit[j];
                        }
                        emit = prom;
                        ulen = k;
                }
                if (out + ulen >= size)
                        break;
                memcpy(buf + out, emit, ulen);
                out += ulen;
                i += consumed;
        }
        buf[out] = 0;
        if (ret_truncated)
                *ret_truncated = i < len;
        return out;
}

const char *escape_text(const char *s, char *buf, size_t size) {
        escape_buf(s, s ? strlen(s) : 0, ESCAPE_TEXT, buf, size, NULL);
        return buf;
}

const char *escape_json(const char *s, char *buf, size_t size) {
        escape_buf(s, s ? strlen(s) : 0, ESCAPE_JSON, buf, size, NULL);
        return buf;
}

const char *escape_prom_label(const char *s, char *buf, size_t size) {
        escape_buf(s, s ? strlen(s) : 0, ESCAPE_PROM_LABEL, buf, size, NULL);
        return buf;
}

char *escape_dup(const char *s, escape_flavor flavor) {
        size_t len, size;
        char *buf;

        assert(s);

        len = strlen(s);
        if (len > (SIZE_MAX - 1) / 5)
                return NULL;
        size = ESCAPE_BUFSIZE(len);
        buf = malloc(size);
        if (!buf)
                return NULL;
        escape_buf(s, len, flavor, buf, size, NULL);
        return buf;
}

bool escape_is_clean(const char *s, size_t len, escape_flavor flavor) {
        const unsigned char *p = (const unsigned char *) s;

        assert(s || len == 0);

        for (size_t i = 0; i < len;) {
                char unit[8];
                size_t consumed, ulen;

                ulen = escape_unit(p + i, len - i, i, flavor, unit, &consumed);
                if (ulen != consumed || memcmp(unit, p + i, ulen) != 0)
                        return false;
                if (flavor == ESCAPE_PROM_LABEL && p[i] == '"')
                        return false;
                i += consumed;
        }
        return true;
}

/* The value of the N hex digits at S, or -1. */
static long hex_run(const char *s, size_t n) {
        long v = 0;

        for (size_t i = 0; i < n; i++) {
                int d = unhexchar(s[i]);
                if (d < 0)
                        return -1;
                v = v * 16 + d;
        }
        return v;
}

char *escape_undo(char *s) {
        char *in = s, *out = s;

        assert(s);

        /* Every escape is at least as long as what it stands for, so the
         * output never overtakes the input. */
        while (*in) {
                long v;

                if (in[0] != '\\') {
                        *out++ = *in++;
                        continue;
                }
                switch (in[1]) {
                case '\\': *out++ = '\\'; in += 2; continue;
                case 'n': *out++ = '\n'; in += 2; continue;
                case 't': *out++ = '\t'; in += 2; continue;
                case 'r': *out++ = '\r'; in += 2; continue;
                case 'x':
                        if (strnlen(in + 2, 2) == 2 && (v = hex_run(in + 2, 2)) > 0) {
                                *out++ = (char) v;
                                in += 4;
                                continue;
                        }
                        break;
                case 'u':
                        /* Only the code points escape_unit() writes this way. */
                        if (strnlen(in + 2, 4) == 4 && (v = hex_run(in + 2, 4)) >= 0x80 && v <= 0xFFFF &&
                            !(v >= 0xD800 && v <= 0xDFFF)) {
                                if (v < 0x800) {
                                        *out++ = (char) (0xC0 | (v >> 6));
                                        *out++ = (char) (0x80 | (v & 0x3F));
                                } else {
                                        *out++ = (char) (0xE0 | (v >> 12));
                                        *out++ = (char) (0x80 | ((v >> 6) & 0x3F));
                                        *out++ = (char) (0x80 | (v & 0x3F));
                                }
                                in += 6;
                                continue;
                        }
                        break;
                default:
                        break;
                }
                *out++ = *in++;
        }
        *out = 0;
        return s;
}
