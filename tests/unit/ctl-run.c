/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl-run.h"

ctl_result res;

static void read_all(int fd, char *buf, size_t size) {
        size_t n = 0;
        ssize_t k;

        while (n + 1 < size && (k = read(fd, buf + n, size - 1 - n)) > 0)
                n += (size_t) k;
        buf[n] = 0;
}

int run(const char *arg, ...) {
        const char *argv[32] = { getenv("MEMGOVCTL") };
        FILE *out = tmpfile(), *err = tmpfile();
        size_t n = 1;
        va_list ap;
        pid_t pid;
        int st;

        assert_non_null(argv[0]);
        assert_non_null(out);
        assert_non_null(err);
        va_start(ap, arg);
        for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fileno(out), 1);
                dup2(fileno(err), 2);
                execv(argv[0], (char **) argv);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        rewind(out);
        rewind(err);
        read_all(fileno(out), res.out, sizeof res.out);
        read_all(fileno(err), res.err, sizeof res.err);
        fclose(out);
        fclose(err);
        res.status = WEXITSTATUS(st);
        return res.status;
}

const char *line_with(const char *needle) {
        static char line[4096];
        const char *p = strstr(res.out, needle), *start, *end;

        if (!p) {
                print_error("no line with '%s' in:\n%s", needle, res.out);
                fail();
        }
        for (start = p; start > res.out && start[-1] != '\n'; start--)
                ;
        end = strchr(p, '\n');
        if (!end)
                end = p + strlen(p);
        snprintf(line, sizeof line, "%.*s", (int) (end - start), start);
        return line;
}
