/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The whole configuration set: the input is split at NUL bytes into
 * memgov.conf, memgov.conf.d/50-x.conf, groups.d/wheel.conf and
 * users.d/alice.conf, which are loaded and resolved for alice. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz-util.h"

static const char *const files[] = {
        "memgov.conf", "memgov.conf.d/50-x.conf", "groups.d/wheel.conf", "users.d/alice.conf",
};

static char dir[64];

static void on_error(void *userdata, const char *file, unsigned line, const char *message) {
        unsigned *n = userdata;

        FUZZ_CHECK(file && message && message[0]);
        (void) line;
        (*n)++;
}

static void write_file(const char *rel, const uint8_t *data, size_t size) {
        char path[256];
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                abort();
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[128];
        config_set *c = NULL;
        unsigned n_errors = 0;
        size_t start = 0;
        int r;

        if (!dir[0]) {
                char sub[128];
                snprintf(dir, sizeof dir, "/tmp/memgov-fuzz-config-XXXXXX");
                if (!mkdtemp(dir))
                        abort();
                for (const char *const *d = (const char *const[]) { "memgov.conf.d", "groups.d", "users.d", NULL }; *d; d++) {
                        snprintf(sub, sizeof sub, "%s/%s", dir, *d);
                        if (mkdir(sub, 0755) < 0)
                                abort();
                }
        }
        for (size_t i = 0; i < 4; i++) {
                const uint8_t *nul = start < size ? memchr(data + start, 0, size - start) : NULL;
                size_t end = nul ? (size_t) (nul - data) : size;

                write_file(files[i], data + start, start < size ? end - start : 0);
                start = end < size ? end + 1 : size;
        }

        snprintf(path, sizeof path, "%s/memgov.conf", dir);
        r = config_load(path, 8ULL << 30, on_error, &n_errors, &c);
        if (r == 0) {
                char *groups[] = { "wheel", "users", NULL };
                user_config uc, copy;

                FUZZ_CHECK(c);
                config_resolve_user(c, 1000, "alice", groups, &uc);
                if (user_config_copy(&uc, &copy) == 0)
                        user_config_done(&copy);
                config_set_free(c);
        } else
                FUZZ_CHECK(r != -EINVAL || n_errors > 0);
        return 0;
}
