/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"

static int relative_parse(const char *s, usec_t now, usec_t *ret) {
        static const struct {
                const char *unit;
                usec_t factor;
        } units[] = {
                { "s", USEC_PER_SEC },    { "sec", USEC_PER_SEC },    { "m", 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC }, { "hr", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC }, { "day", 86400 * USEC_PER_SEC }, { "days", 86400 * USEC_PER_SEC },
                { "w", 604800 * USEC_PER_SEC }, { "week", 604800 * USEC_PER_SEC },
                { "weeks", 604800 * USEC_PER_SEC },
        };
        bool minus = s[0] == '-';
        uint64_t n = 0;
        const char *p = s + 1;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (n > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                usec_t d;

                if (strcmp(p, units[i].unit) != 0)
                        continue;
                if (n > USEC_INFINITY / units[i].factor)
                        return -ERANGE;
                d = n * units[i].factor;
                if (minus ? d > now : d > USEC_INFINITY - 1 - now)
                        return -ERANGE;
                *ret = minus ? now - d : now + d;
                return 0;
        }
        return -EINVAL;
}

/* Local midnight DAYS_BACK days before the day of NOW. */
static int midnight(usec_t now, int days_back, usec_t *ret) {
        time_t t = (time_t) (now / USEC_PER_SEC), m;
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -EINVAL;
        tm.tm_mday -= days_back;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        m = mktime(&tm);
        if (m == (time_t) -1 || m < 0)
                return -ERANGE;
        *ret = (usec_t) m * USEC_PER_SEC;
        return 0;
}

static int absolute_parse(const char *s, usec_t *ret) {
        int year, mon, day, hour = 0, min = 0, sec = 0, n = 0, k;
        struct tm tm = {};
        time_t t;

        if (sscanf(s, "%4d-%2d-%2d%n", &year, &mon, &day, &n) != 3 || n != 10)
                return -EINVAL;
        if (s[n] == ' ' || s[n] == 'T') {
                const char *p = s + n + 1;

                /* Digits only: sscanf would take " 7" or "+7" too. */
                if (strlen(p) != 5 && strlen(p) != 8)
                        return -EINVAL;
                for (size_t i = 0; p[i]; i++)
                        if ((i % 3 == 2) != (p[i] == ':') || (i % 3 != 2 && (p[i] < '0' || p[i] > '9')))
                                return -EINVAL;
                k = sscanf(p, "%2d:%2d:%2d", &hour, &min, &sec);
                if (k < 2)
                        return -EINVAL;
        } else if (s[n] != 0)
                return -EINVAL;
        for (int i = 0; i < 10; i++)
                if ((i == 4 || i == 7) != (s[i] == '-') || (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')))
                        return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59)
                return -EINVAL;

        tm = (struct tm) { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day, .tm_hour = hour,
                           .tm_min = min, .tm_sec = sec, .tm_isdst = -1 };
        t = mktime(&tm);
        /* mktime() normalizes: February 30th comes back as March 2nd. */
        if (t == (time_t) -1 || tm.tm_mday != day || tm.tm_mon != mon - 1)
                return -EINVAL;
        if (t < 0)
                return -ERANGE;
        *ret = (usec_t) t * USEC_PER_SEC;
        return 0;
}

int timestamp_parse(const char *s, usec_t now, usec_t *ret) {
        assert(s);
        assert(ret);

        if (strcmp(s, "now") == 0) {
                *ret = now;
                return 0;
        }
        if (strcmp(s, "today") == 0)
                return midnight(now, 0, ret);
        if (strcmp(s, "yesterday") == 0)
                return midnight(now, 1, ret);
        if (s[0] == '-' || s[0] == '+')
                return relative_parse(s, now, ret);
        if (s[0] == '@') {
                uint64_t secs;

                /* parse_u64() takes a trailing newline; a command line has none. */
                if (s[1] < '0' || s[1] > '9' || strchr(s, '\n') || parse_u64(s + 1, &secs) < 0)
                        return -EINVAL;
                if (secs > USEC_INFINITY / USEC_PER_SEC - 1)
                        return -ERANGE;
                *ret = secs * USEC_PER_SEC;
                return 0;
        }
        return absolute_parse(s, ret);
}

char *timestamp_format(char *buf, size_t size, usec_t t) {
        time_t secs = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        assert(buf);
        if (!localtime_r(&secs, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "@%llu", (unsigned long long) (t / USEC_PER_SEC));
        return buf;
}
