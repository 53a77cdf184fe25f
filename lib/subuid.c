/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subuid.h"
#include "util.h"

/* One "owner:start:count" line; 1 with *ret filled when it is OWNER's. */
static int parse_line(char *line, const char *user, const char *uid_text, subuid_range *ret) {
        char *owner = line, *start, *count;
        uint64_t s, c;

        start = strchr(owner, ':');
        if (!start)
                return 0;
        *start++ = 0;
        count = strchr(start, ':');
        if (!count)
                return 0;
        *count++ = 0;
        if (!((user && strcmp(owner, user) == 0) || strcmp(owner, uid_text) == 0))
                return 0;
        if (parse_u64(start, &s) < 0 || parse_u64(count, &c) < 0)
                return 0;
        if (c == 0 || s > UINT32_MAX - 1 || c > (uint64_t) UINT32_MAX - s)
                return 0;
        *ret = (subuid_range) { .start = (uid_t) s, .count = (uint32_t) c };
        return 1;
}

int subuid_read(int root_fd, const char *path, const char *user, uid_t uid, subuid_range **ret, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ subuid_range *ranges = NULL;
        char uid_text[16], *line, *save = NULL;
        size_t len, n = 0;
        int r;

        assert(path);
        assert(ret);
        assert(ret_n);

        *ret = NULL;
        *ret_n = 0;
        /* As big as the file, not as the cap: memgovd reads it for every
         * user who logs in, and a heap keeps what it once held. */
        r = read_full_file_at(root_fd, path, SUBUID_FILE_MAX, &buf, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        snprintf(uid_text, sizeof uid_text, "%u", (unsigned) uid);
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                subuid_range range;

                if (parse_line(line, user, uid_text, &range) <= 0)
                        continue;
                if (!ranges) {
                        ranges = calloc(SUBUID_RANGES_MAX, sizeof *ranges);
                        if (!ranges)
                                return -ENOMEM;
                }
                ranges[n++] = range;
                if (n == SUBUID_RANGES_MAX)
                        break;
        }
        /* Kept for as long as the user is governed: only what was found. */
        if (ranges && n < SUBUID_RANGES_MAX) {
                subuid_range *fit = realloc(ranges, n * sizeof *ranges);

                if (fit)
                        ranges = fit;
        }
        *ret = TAKE_PTR(ranges);
        *ret_n = n;
        return 0;
}

bool subuid_contains(const subuid_range *r, size_t n, uid_t uid) {
        for (size_t i = 0; i < n; i++)
                if (uid >= r[i].start && (uint64_t) uid - r[i].start < r[i].count)
                        return true;
        return false;
}
