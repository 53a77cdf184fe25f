/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Benchmark, not a test: spawns N processes, lists them in a fake cgroup
 * tree, and times `memgovctl top --json` against `ps -o pid,rss,cputime,comm
 * -p LIST` over the same pids, in paired runs with alternating order. It
 * prints medians and the median of the per-pair ratios: on a shared, noisy
 * machine only ratios measured side by side mean something. It fails unless
 * top lists exactly the N tasks. With MEMGOV_BENCH_RESULTS=FILE it also
 * writes the figures, the date and the command to FILE (markdown).
 *
 * Usage: bench-top MEMGOVCTL [N_PROCS] [PAIRS] */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

static double run_ms(char *const argv[]) {
        double start = bench_now_ms();
        int status;
        pid_t pid = fork();

        if (pid < 0) {
                perror("fork");
                exit(1);
        }
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                execvp(argv[0], argv);
                _exit(127);
        }
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-top: %s failed (status %d)\n", argv[0], status);
                exit(1);
        }
        return bench_now_ms() - start;
}

/* Runs argv once and returns its stdout (NUL-terminated, malloc'd). */
static char *run_capture(char *const argv[]) {
        int out[2], status;
        size_t len = 0, size = 1 << 16;
        char *buf = malloc(size);
        pid_t pid;

        if (!buf || pipe(out) < 0) {
                perror("bench-top");
                exit(1);
        }
        pid = fork();
        if (pid < 0) {
                perror("fork");
                exit(1);
        }
        if (pid == 0) {
                dup2(out[1], 1);
                close(out[0]);
                close(out[1]);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(out[1]);
        for (;;) {
                ssize_t n;
                if (len + 1 >= size && !(buf = realloc(buf, size *= 2))) {
                        perror("bench-top");
                        exit(1);
                }
                n = read(out[0], buf + len, size - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(out[0]);
        buf[len] = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-top: %s failed (status %d)\n", argv[0], status);
                exit(1);
        }
        return buf;
}

/* The figures mean nothing unless top listed exactly the N spawned tasks:
 * every "pid" in its JSON must be one of them, and each must be there once. */
static void check_listed(const char *json, const pid_t *pids, int n) {
        int listed = 0, missing = 0;
        bool *seen = calloc((size_t) n, sizeof(bool));
        const char *p = json;

        while (seen && (p = strstr(p, "\"pid\":"))) {
                long pid = strtol(p + 6, NULL, 10);
                int i;

                p += 6;
                for (i = 0; i < n && pids[i] != (pid_t) pid; i++)
                        ;
                if (i == n || seen[i]) {
                        fprintf(stderr, "bench-top: top listed pid %ld, %s\n", pid,
                                i == n ? "which is not one of the spawned tasks" : "twice");
                        exit(1);
                }
                seen[i] = true;
                listed++;
        }
        for (int i = 0; seen && i < n; i++)
                missing += !seen[i];
        if (!seen || listed != n || missing) {
                fprintf(stderr, "bench-top: memgovctl top listed %d tasks, expected %d (%d missing)\n", listed, n,
                        missing);
                exit(1);
        }
        free(seen);
        printf("memgovctl top --json listed all %d tasks\n", n);
}

int main(int argc, char **argv) {
        const char *memgovctl = argc > 1 ? argv[1] : "memgovctl";
        int n = argc > 2 ? atoi(argv[2]) : 2000;
        int pairs = argc > 3 ? atoi(argv[3]) : 15;
        char root[] = "/tmp/memgov-bench-XXXXXX", path[256], cgroup[64];
        pid_t *pids = calloc((size_t) n, sizeof *pids);
        char *list = calloc((size_t) n, 12);
        double *t_top = calloc((size_t) pairs, sizeof(double));
        double *t_ps = calloc((size_t) pairs, sizeof(double));
        double *ratio = calloc((size_t) pairs, sizeof(double));
        FILE *procs;
        size_t off = 0;

        if (n <= 0 || pairs <= 0 || !pids || !list || !t_top || !t_ps || !ratio || !mkdtemp(root)) {
                fprintf(stderr, "usage: bench-top MEMGOVCTL [N_PROCS>0] [PAIRS>0]\n");
                return 2;
        }
        snprintf(cgroup, sizeof cgroup, "user.slice/user-%u.slice", (unsigned) getuid());
        snprintf(path, sizeof path, "%s/user.slice", root);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s", root, cgroup);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/cgroup.procs", root, cgroup);
        procs = fopen(path, "we");
        if (!procs) {
                perror(path);
                return 1;
        }

        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        perror("fork");
                        n = i;
                        break;
                }
                if (pid == 0) {
                        /* Die with the benchmark, whatever happens to it. */
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        /* A little private memory each, so RSS differs. */
                        size_t sz = (size_t) (i % 16 + 1) * 16384;
                        char *mem = malloc(sz);
                        if (mem)
                                memset(mem, 1, sz);
                        for (;;)
                                pause();
                }
                pids[i] = pid;
                fprintf(procs, "%d\n", (int) pid);
                off += (size_t) sprintf(list + off, "%s%d", i ? "," : "", (int) pid);
        }
        fclose(procs);

        char top_root[300];
        char top_target[80];
        snprintf(top_root, sizeof top_root, "%s", root);
        snprintf(top_target, sizeof top_target, "/%s", cgroup);
        char *top_argv[] = { (char *) memgovctl, "top", "--json", "--config", "/nonexistent/memgov.conf",
                             "--cgroup-root", top_root, top_target, NULL };
        char *ps_argv[] = { "ps", "-o", "pid,rss,cputime,comm", "-p", list, NULL };

        /* Warm the page cache and the dentry cache for both alike, and check
         * what top lists. */
        char *listing = run_capture(top_argv);
        check_listed(listing, pids, n);
        free(listing);
        run_ms(ps_argv);
        for (int i = 0; i < pairs; i++) {
                if (i % 2 == 0) {
                        t_top[i] = run_ms(top_argv);
                        t_ps[i] = run_ms(ps_argv);
                } else {
                        t_ps[i] = run_ms(ps_argv);
                        t_top[i] = run_ms(top_argv);
                }
                ratio[i] = t_ps[i] / t_top[i];
        }

        double m_top = bench_median(t_top, (size_t) pairs), m_ps = bench_median(t_ps, (size_t) pairs);
        double m_ratio = bench_median(ratio, (size_t) pairs);
        printf("processes: %d, pairs: %d\n", n, pairs);
        printf("memgovctl top --json: median %.1f ms\n", m_top);
        printf("ps -o pid,rss,cputime,comm -p LIST: median %.1f ms\n", m_ps);
        printf("ratio ps/top, median of pairs: %.2fx (min %.2fx, max %.2fx)\n", m_ratio, ratio[0],
               ratio[pairs - 1]);

        /* A results file for the README's figure: the date and the command. */
        const char *results = getenv("MEMGOV_BENCH_RESULTS");
        if (results) {
                FILE *f = fopen(results, "we");
                time_t now = time(NULL);
                char date[32];

                if (!f) {
                        perror(results);
                        return 1;
                }
                strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
                fprintf(f, "## memgovctl top against ps\n\n");
                fprintf(f, "Measured on %s by `MEMGOV_BENCH_RESULTS=%s %s %s %d %d`.\n\n", date, results, argv[0],
                        memgovctl, n, pairs);
                fprintf(f, "| processes | pairs | memgovctl top --json (median) | ps -o pid,rss,cputime,comm -p LIST (median) "
                           "| ratio ps/top (median of pairs) | min | max |\n|---|---|---|---|---|---|---|\n");
                fprintf(f, "| %d | %d | %.1f ms | %.1f ms | %.2fx | %.2fx | %.2fx |\n", n, pairs, m_top, m_ps, m_ratio,
                        ratio[0], ratio[pairs - 1]);
                fclose(f);
        }

        for (int i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
        for (int i = 0; i < n; i++)
                waitpid(pids[i], NULL, 0);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", root, cgroup);
        rmdir(path);
        snprintf(path, sizeof path, "%s/user.slice", root);
        rmdir(path);
        rmdir(root);
        return 0;
}
