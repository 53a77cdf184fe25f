/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "util.h"

void strv_free(char **strv) {
        if (!strv)
                return;
        for (char **s = strv; *s; s++)
                free(*s);
        free(strv);
}

void strv_freep(char ***strv) {
        strv_free(*strv);
}

size_t strv_length(char *const *strv) {
        size_t n = 0;

        if (strv)
                while (strv[n])
                        n++;
        return n;
}

int strv_extend(char ***strv, const char *s) {
        size_t n = strv_length(*strv);
        char **grown;
        char *copy;

        assert(strv);
        assert(s);

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        grown = realloc(*strv, (n + 2) * sizeof(char *));
        if (!grown) {
                free(copy);
                return -ENOMEM;
        }
        grown[n] = copy;
        grown[n + 1] = NULL;
        *strv = grown;
        return 0;
}

bool strv_fnmatch(char *const *patterns, const char *s) {
        assert(s);

        if (!patterns)
                return false;
        for (char *const *p = patterns; *p; p++)
                if (fnmatch(*p, s, 0) == 0)
                        return true;
        return false;
}

int read_fd(int fd, char *buf, size_t size, size_t *ret_len) {
        size_t len = 0;

        assert(fd >= 0);
        assert(buf);
        assert(size > 0);

        /* Kernel attribute files produce their whole content on the first
         * read; loop anyway for the fake trees and for long memory.stat. */
        for (;;) {
                ssize_t n = pread(fd, buf + len, size - 1 - len, (off_t) len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                /* procfs and kernfs hand out the whole file in one read and
                 * regular files read short only at the end: a short read is
                 * the end, and saves a syscall per file on a big slice. */
                if ((size_t) n < size - 1 - (len - (size_t) n))
                        break;
                if (len == size - 1) {
                        char probe;
                        n = pread(fd, &probe, 1, (off_t) len);
                        if (n > 0)
                                return -EFBIG;
                        break;
                }
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_file_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len) {
        _cleanup_close_ int fd = -1;

        assert(path);

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_fd(fd, buf, size, ret_len);
}

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 0;

        assert(fd >= 0);
        assert(max > 0);
        assert(ret);

        for (;;) {
                ssize_t n;

                if (len + 1 >= size) {
                        size_t want = size ? size * 2 : 4096;
                        char *grown;

                        if (size > max)
                                return -EFBIG;
                        if (want > max + 1)
                                want = max + 2;
                        grown = realloc(buf, want);
                        if (!grown)
                                return -ENOMEM;
                        buf = grown;
                        size = want;
                }
                /* pread from 0: procfs seq files restart cleanly there. */
                n = pread(fd, buf + len, size - 1 - len, (off_t) len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;

        assert(path);

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_full_fd(fd, max, ret, ret_len);
}

/* Accepts the value followed by at most one newline: the way kernel files end. */
static bool only_newline(const char *end) {
        return end[0] == 0 || (end[0] == '\n' && end[1] == 0);
}

int parse_u64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        assert(s);

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (!only_newline(end))
                return -EINVAL;
        if (ret)
                *ret = v;
        return 0;
}

int parse_int(const char *s, int *ret) {
        long v;
        char *end;

        assert(s);

        if (!isdigit((unsigned char) s[0]) && !(s[0] == '-' && isdigit((unsigned char) s[1])))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
                return -ERANGE;
        if (!only_newline(end))
                return -EINVAL;
        if (ret)
                *ret = (int) v;
        return 0;
}

int parse_limit(const char *s, uint64_t *ret) {
        assert(s);

        if (strcmp(s, "max") == 0 || strcmp(s, "max\n") == 0) {
                if (ret)
                        *ret = BYTES_INFINITY;
                return 0;
        }
        return parse_u64(s, ret);
}

/* A non-negative decimal with an optional fraction, followed by a suffix
 * that the caller interprets. */
/* A non-negative decimal with an optional fraction ("12", "1.5", ".5"),
 * followed by a suffix that the caller interprets. Digits only: no sign,
 * exponent, hex or locale, which strtod() would all accept. */
static int parse_decimal(const char *s, double *ret, const char **ret_suffix, bool *ret_fraction) {
        double v = 0, scale = 1;
        bool digits = false, fraction = false;
        const char *p = s;

        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (*p - '0');
                digits = true;
        }
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++) {
                        scale /= 10;
                        v += (*p - '0') * scale;
                        digits = true;
                        fraction = fraction || *p != '0';
                }
        }
        if (!digits)
                return -EINVAL;
        if (!isfinite(v) || v > 1e30)
                return -ERANGE;
        *ret = v;
        *ret_suffix = p;
        if (ret_fraction)
                *ret_fraction = fraction;
        return 0;
}

int parse_bytes(const char *s, uint64_t physmem, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "",  1ULL },
                { "B", 1ULL },
                { "K", 1ULL << 10 },
                { "M", 1ULL << 20 },
                { "G", 1ULL << 30 },
                { "T", 1ULL << 40 },
        };
        const char *suffix;
        double v, bytes;
        bool fraction;
        int r;

        assert(s);

        if (strcmp(s, "infinity") == 0) {
                if (ret)
                        *ret = BYTES_INFINITY;
                return 0;
        }
        r = parse_decimal(s, &v, &suffix, &fraction);
        if (r < 0)
                return r;
        if (strcmp(suffix, "%") == 0) {
                if (v > 100)
                        return -ERANGE;
                if (physmem == 0)
                        return -EINVAL;
                bytes = (double) physmem * v / 100.0;
        } else {
                size_t i;
                for (i = 0; i < ELEMENTSOF(table); i++)
                        if (strcmp(suffix, table[i].suffix) == 0)
                                break;
                if (i == ELEMENTSOF(table))
                        return -EINVAL;
                /* A fraction of a byte is meaningless: "1.5" alone is rejected. */
                if (table[i].factor == 1 && fraction)
                        return -EINVAL;
                bytes = v * (double) table[i].factor;
        }
        if (bytes >= 18446744073709551615.0)
                return -ERANGE;
        if (ret)
                *ret = (uint64_t) bytes;
        return 0;
}

int parse_usec(const char *s, usec_t *ret) {
        static const struct {
                const char *suffix;
                usec_t factor;
        } table[] = {
                { "",    USEC_PER_SEC },
                { "s",   USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "ms",  USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "us",  1 },
                { "usec", 1 },
                { "m",   60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "h",   3600 * USEC_PER_SEC },
                { "hr",  3600 * USEC_PER_SEC },
        };
        const char *suffix;
        double v, usec;
        int r;

        assert(s);

        if (strcmp(s, "infinity") == 0) {
                if (ret)
                        *ret = USEC_INFINITY;
                return 0;
        }
        r = parse_decimal(s, &v, &suffix, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (strcmp(suffix, table[i].suffix) != 0)
                        continue;
                usec = v * (double) table[i].factor;
                if (usec >= 18446744073709551615.0)
                        return -ERANGE;
                if (ret)
                        *ret = (usec_t) (usec + 0.5);
                return 0;
        }
        return -EINVAL;
}

int parse_permyriad(const char *s, unsigned *ret) {
        const char *suffix;
        double v;
        int r;

        assert(s);

        r = parse_decimal(s, &v, &suffix, NULL);
        if (r < 0)
                return r;
        if (strcmp(suffix, "%") == 0)
                v *= 100.0;
        else if (suffix[0] == 0)
                v *= 10000.0;   /* a bare fraction: "0.8" */
        else
                return -EINVAL;
        if (v > 10000.0)
                return -ERANGE;
        if (ret)
                *ret = (unsigned) (v + 0.5);
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        assert(s);

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

char *format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char suffixes[] = "KMGT";

        assert(buf);

        if (bytes == BYTES_INFINITY) {
                snprintf(buf, size, "infinity");
                return buf;
        }
        if (bytes < 1024) {
                snprintf(buf, size, "%" PRIu64 "B", bytes);
                return buf;
        }
        double v = (double) bytes;
        size_t i = 0;
        v /= 1024.0;
        while (v >= 1024.0 && i + 1 < sizeof(suffixes) - 1) {
                v /= 1024.0;
                i++;
        }
        snprintf(buf, size, v < 10 ? "%.1f%c" : "%.0f%c", v, suffixes[i]);
        return buf;
}

char *format_usec(char *buf, size_t size, usec_t usec) {
        assert(buf);

        if (usec == USEC_INFINITY)
                snprintf(buf, size, "infinity");
        else if (usec >= 3600 * USEC_PER_SEC)
                snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", usec / (3600 * USEC_PER_SEC),
                         usec / (60 * USEC_PER_SEC) % 60);
        else if (usec >= 60 * USEC_PER_SEC)
                snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", usec / (60 * USEC_PER_SEC),
                         usec / USEC_PER_SEC % 60);
        else if (usec >= USEC_PER_SEC)
                snprintf(buf, size, "%.1fs", (double) usec / USEC_PER_SEC);
        else
                snprintf(buf, size, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        return buf;
}

void strbuf_append(char *buf, size_t size, const char *fmt, ...) {
        size_t len = strnlen(buf, size);
        va_list ap;

        assert(buf);
        if (len + 1 >= size)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + len, size - len, fmt, ap);
        va_end(ap);
}

const nss_ops nss_libc = {
        .getpwuid_r = getpwuid_r,
        .getgrgid_r = getgrgid_r,
        .getgrouplist = getgrouplist,
};

/* Calls LOOKUP with a buffer that doubles on ERANGE. The *_r functions
 * return the error number (0 and a NULL result: not found). */
#define NSS_GROW(ops_fn, key, entry, ret_buf)                                           \
        ({                                                                              \
                size_t _size = 1024;                                                    \
                int _r;                                                                 \
                for (;;) {                                                              \
                        char *_buf = malloc(_size);                                     \
                        __typeof__(entry) *_res = NULL;                                 \
                        if (!_buf) {                                                    \
                                _r = -ENOMEM;                                           \
                                break;                                                  \
                        }                                                               \
                        _r = (ops_fn)((key), &(entry), _buf, _size, &_res);             \
                        if (_r == 0 && _res) {                                          \
                                *(ret_buf) = _buf;                                      \
                                break;                                                  \
                        }                                                               \
                        free(_buf);                                                     \
                        if (_r == ERANGE && _size < NSS_BUFFER_MAX) {                   \
                                _size *= 2;                                             \
                                continue;                                               \
                        }                                                               \
                        _r = _r == 0 ? -ENOENT : _r == ERANGE ? -ENOBUFS : -_r;         \
                        break;                                                          \
                }                                                                       \
                _r;                                                                     \
        })

int nss_getpwuid(const nss_ops *ops, uid_t uid, struct passwd *ret_pw, char **ret_buf) {
        assert(ret_pw);
        assert(ret_buf);
        if (!ops)
                ops = &nss_libc;
        return NSS_GROW(ops->getpwuid_r, uid, *ret_pw, ret_buf);
}

int nss_getgrgid(const nss_ops *ops, gid_t gid, struct group *ret_gr, char **ret_buf) {
        assert(ret_gr);
        assert(ret_buf);
        if (!ops)
                ops = &nss_libc;
        return NSS_GROW(ops->getgrgid_r, gid, *ret_gr, ret_buf);
}

int nss_getgrouplist(const nss_ops *ops, const char *user, gid_t primary, gid_t **ret_gids, size_t *ret_n) {
        int n = 64;

        assert(user);
        assert(ret_gids);
        assert(ret_n);
        if (!ops)
                ops = &nss_libc;

        /* getgrouplist() says how many it needs in n when it returns -1;
         * the list can grow between calls, so loop, within NGROUPS_MAX-ish
         * bounds. */
        for (int attempt = 0; attempt < 16; attempt++) {
                gid_t *gids = malloc(sizeof(gid_t) * (size_t) n);
                int want = n;

                if (!gids)
                        return -ENOMEM;
                if (ops->getgrouplist(user, primary, gids, &want) >= 0) {
                        if (want < 0 || want > n) {
                                free(gids);
                                return -EIO;
                        }
                        *ret_gids = gids;
                        *ret_n = (size_t) want;
                        return 0;
                }
                free(gids);
                if (want <= n)
                        want = n * 2;
                if (want > 1 << 20)
                        return -ENOBUFS;
                n = want;
        }
        return -ENOBUFS;
}
