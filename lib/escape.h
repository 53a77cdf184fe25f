/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* One escaping rule for every string a user controls (comm, cgroup names,
 * names read back from kmsg) before it reaches a sink: the journal, a
 * terminal, a memgovctl table, json-c, a Prometheus label.
 *
 * The rule: valid UTF-8 passes through; everything that can change how the
 * text is interpreted becomes printable ASCII:
 *   - each byte that is not part of a well-formed UTF-8 sequence (stray
 *     continuation bytes, raw C1 bytes such as 0x9b, overlong forms,
 *     surrogates, code points above U+10FFFF, truncated sequences) -> \xNN;
 *   - C0 controls and DEL -> \n \t \r or \xNN (not in ESCAPE_JSON, see there);
 *   - C1 controls U+0080..U+009F, the line and paragraph separators
 *     U+2028/U+2029 and the bidirectional controls (U+200E/F, U+202A..E,
 *     U+2066..9) -> \uXXXX;
 *   - backslash -> \\, so an escape in the output always came from us.
 * Nothing in the output can end a line, start a terminal escape sequence
 * (CSI, OSC, OSC 52), reorder the text around it, or be read as a journal
 * "<N>" priority prefix.
 *
 * Output always fits the given buffer and is NUL-terminated; truncation
 * never splits a UTF-8 sequence or an escape. */

#include <stdbool.h>
#include <stddef.h>

typedef enum escape_flavor {
        /* Journal MESSAGE= and fields, terminals, memgovctl tables. A '<' at
         * the very start becomes \x3c, so the text is safe even where a sink
         * puts it at the start of a line. */
        ESCAPE_TEXT,
        /* For json-c: same rule, but C0 controls other than NUL are left in
         * place, because json-c writes them as \u00XX itself. json-c does not validate
         * UTF-8, which this does. */
        ESCAPE_JSON,
        /* A Prometheus text-format label value, without the quotes: the
         * ESCAPE_TEXT result with \ and " escaped as the format requires. */
        ESCAPE_PROM_LABEL,
        _ESCAPE_FLAVOR_MAX,
} escape_flavor;

/* Worst-case output size, NUL included, for LEN input bytes: a bad byte
 * takes 5 (\\xNN in a label). */
#define ESCAPE_BUFSIZE(len) ((len) * 5 + 1)
/* Enough for a whole comm (15 bytes) in any flavor. */
#define ESCAPE_COMM_MAX ESCAPE_BUFSIZE(16)

/* Escapes LEN bytes of S into BUF (SIZE >= 1). Returns the output length;
 * *ret_truncated (if given) tells whether some input did not fit. */
size_t escape_buf(const char *s, size_t len, escape_flavor flavor, char *buf, size_t size, bool *ret_truncated);

/* NUL-terminated S into BUF; returns BUF, so it can be an argument of a
 * printf-like call: log_info("killed %s", escape_text(comm, b, sizeof b)). */
const char *escape_text(const char *s, char *buf, size_t size);
const char *escape_json(const char *s, char *buf, size_t size);
const char *escape_prom_label(const char *s, char *buf, size_t size);

/* Whole S, any length (cgroup paths), in a new string; NULL on ENOMEM. */
char *escape_dup(const char *s, escape_flavor flavor);

/* Reverses ESCAPE_TEXT in place, for text read back from a sink that got it
 * escaped (memgovd's journal records): \\, \n, \t, \r, \xNN and \uXXXX
 * become the bytes they stand for; any other backslash, and a \x00, stay as
 * they are. escape_undo(escape_text(s)) == s for every s. The result is as
 * hostile as the original and is escaped again for the next sink. Returns S. */
char *escape_undo(char *s);

/* True when S would come out of escape_buf() unchanged. */
bool escape_is_clean(const char *s, size_t len, escape_flavor flavor);
