/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Small helpers shared by libmemgov and the governor: cleanup attributes in
 * the systemd style, parsers for the value syntaxes the config uses, and a
 * bounded reader for kernel attribute files. Everything returns -errno. */

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC  ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

/* "max" in a cgroup limit file, "infinity" in the config. */
#define BYTES_INFINITY UINT64_MAX

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
void strv_freep(char ***strv);
void strv_free(char **strv);

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Hand an fd out of a _cleanup_close_ variable. */
static inline int take_fd(int *fd) {
        int r = *fd;
        *fd = -1;
        return r;
}
static inline void *take_ptr_impl(void **p) {
        void *r = *p;
        *p = NULL;
        return r;
}
#define TAKE_PTR(p) take_ptr_impl((void **) &(p))

/* Reads a whole small file relative to dirfd into buf (NUL-terminated).
 * -EFBIG if it does not fit in size-1 bytes: kernel attribute files are small,
 * so a file that does not fit is malformed, not truncated silently. */
int read_file_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len);
/* Same, from an already open fd, with pread at offset 0 (for polled kernfs fds). */
int read_fd(int fd, char *buf, size_t size, size_t *ret_len);

/* A whole file of any size up to MAX bytes, in a malloc'ed NUL-terminated
 * buffer that grows as needed (-EFBIG beyond MAX). For files a user can
 * make large, such as /proc/PID/status with hundreds of groups. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);

/* Strict decimal u64 with no sign, no trailing garbage except one '\n'. */
int parse_u64(const char *s, uint64_t *ret);
int parse_int(const char *s, int *ret);
/* A single line value of a cgroup limit file: "max" or a u64. */
int parse_limit(const char *s, uint64_t *ret);
/* "512", "100K", "1.5G" (base 1024), "25%" of physmem, "infinity". */
int parse_bytes(const char *s, uint64_t physmem, uint64_t *ret);
/* "2s", "500ms", "1min", "1.5s", "100us", "1h"; a bare number is seconds. "infinity" allowed. */
int parse_usec(const char *s, usec_t *ret);
/* "10%", "12.5%", "0.1" -> permyriad (1/10000), 0..10000. */
int parse_permyriad(const char *s, unsigned *ret);
/* yes/no/true/false/on/off/1/0 -> 1/0, else -EINVAL. */
int parse_boolean(const char *s);

/* The value of one hex digit, or -1. */
int unhexchar(char c);

/* Human formats for logs and tables; return buf. BYTES_INFINITY is "infinity". */
char *format_bytes(char *buf, size_t size, uint64_t bytes);
char *format_usec(char *buf, size_t size, usec_t usec);
#define FORMAT_BYTES_MAX 32
#define FORMAT_USEC_MAX 32

/* Appends into a fixed buffer without ever overflowing it; truncates. */
void strbuf_append(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);

/* fnmatch(3) over a NULL-terminated list. */
bool strv_fnmatch(char *const *patterns, const char *s);
size_t strv_length(char *const *strv);
int strv_extend(char ***strv, const char *s);

/* NSS look-ups whose buffers grow: a group of thousands of members does
 * not fit the usual 16 KiB. ERANGE doubles the buffer up to NSS_BUFFER_MAX;
 * every other error is returned, never swallowed. -ENOENT: no such entry. */
#define NSS_BUFFER_MAX (64U << 20)

typedef int (*nss_getpwuid_fn)(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **ret);
typedef int (*nss_getgrgid_fn)(gid_t gid, struct group *gr, char *buf, size_t size, struct group **ret);
typedef int (*nss_getgrouplist_fn)(const char *user, gid_t group, gid_t *groups, int *ngroups);

/* The libc functions by default; tests swap in their own. */
typedef struct nss_ops {
        nss_getpwuid_fn getpwuid_r;
        nss_getgrgid_fn getgrgid_r;
        nss_getgrouplist_fn getgrouplist;
} nss_ops;
extern const nss_ops nss_libc;

/* *ret_pw points into *ret_buf, which the caller frees. */
int nss_getpwuid(const nss_ops *ops, uid_t uid, struct passwd *ret_pw, char **ret_buf);
int nss_getgrgid(const nss_ops *ops, gid_t gid, struct group *ret_gr, char **ret_buf);
/* Every group of USER (PRIMARY included), in a malloc'ed array. */
int nss_getgrouplist(const nss_ops *ops, const char *user, gid_t primary, gid_t **ret_gids, size_t *ret_n);
