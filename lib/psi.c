/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "psi.h"

/* One line: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0". Field order
 * is fixed by the kernel; anything else is malformed. */
static int psi_parse_line(const char *line, size_t len, psi_line *ret) {
        char copy[160];
        double a10, a60, a300;
        uint64_t total;
        int consumed = 0;

        if (len >= sizeof copy)
                return -EINVAL;
        memcpy(copy, line, len);
        copy[len] = 0;

        if (sscanf(copy, "avg10=%lf avg60=%lf avg300=%lf total=%" SCNu64 "%n", &a10, &a60, &a300, &total,
                   &consumed) != 4)
                return -EINVAL;
        if (copy[consumed] != 0)
                return -EINVAL;
        if (a10 < 0 || a10 > 100 || a60 < 0 || a60 > 100 || a300 < 0 || a300 > 100)
                return -ERANGE;
        *ret = (psi_line) { .avg10 = a10, .avg60 = a60, .avg300 = a300, .total_usec = total };
        return 0;
}

int psi_parse(const char *text, psi_stats *ret) {
        psi_stats s = {};
        bool has_some = false;
        const char *p = text;

        assert(text);
        assert(ret);

        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                int r;

                if (len == 0) {
                        p += eol ? 1 : 0;
                        if (!eol)
                                break;
                        continue;
                }
                if (len > 5 && strncmp(p, "some ", 5) == 0) {
                        if (has_some)
                                return -EINVAL;
                        r = psi_parse_line(p + 5, len - 5, &s.some);
                        has_some = true;
                } else if (len > 5 && strncmp(p, "full ", 5) == 0) {
                        if (s.has_full)
                                return -EINVAL;
                        r = psi_parse_line(p + 5, len - 5, &s.full);
                        s.has_full = true;
                } else
                        return -EINVAL;
                if (r < 0)
                        return r;
                p += len + (eol ? 1 : 0);
        }
        if (!has_some)
                return -EINVAL;
        *ret = s;
        return 0;
}

int psi_trigger_check(usec_t stall_usec, usec_t window_usec, bool privileged) {
        if (window_usec < PSI_WINDOW_MIN_USEC || window_usec > PSI_WINDOW_MAX_USEC)
                return -EINVAL;
        if (stall_usec == 0 || stall_usec > window_usec)
                return -EINVAL;
        if (!privileged && window_usec % PSI_UNPRIVILEGED_WINDOW_USEC != 0)
                return -EPERM;
        return 0;
}

int psi_trigger_format(psi_kind kind, usec_t stall_usec, usec_t window_usec, bool privileged,
                       char *buf, size_t size, size_t *ret_len) {
        int n, r;

        assert(buf);
        assert(kind == PSI_SOME || kind == PSI_FULL);

        r = psi_trigger_check(stall_usec, window_usec, privileged);
        if (r < 0)
                return r;
        n = snprintf(buf, size, "%s %" PRIu64 " %" PRIu64, kind == PSI_SOME ? "some" : "full",
                     stall_usec, window_usec);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        if (ret_len)
                *ret_len = (size_t) n + 1;
        return 0;
}

int psi_trigger_arm(int fd, psi_kind kind, usec_t stall_usec, usec_t window_usec, bool privileged) {
        char buf[PSI_TRIGGER_MAX];
        size_t len;
        ssize_t n;
        int r;

        assert(fd >= 0);

        r = psi_trigger_format(kind, stall_usec, window_usec, privileged, buf, sizeof buf, &len);
        if (r < 0)
                return r;
        n = write(fd, buf, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}
