/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Benchmark, not a test: the cost of one slice's task walk and full
 * snapshot when the slice holds N real processes (default 20,000), spread
 * over 20 scopes of a fake cgroup tree, read through the real /proc. While
 * memgovd takes that snapshot its loop does nothing else, so the snapshot
 * time is how long another user's decision can wait behind it. Also times
 * the walk over a user's 20,000 empty cgroups, which the walk's cap bounds.
 * Prints medians of RUNS runs; no pass/fail.
 *
 * Usage: bench-walk [N_PROCS] [RUNS] */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#include "cgfs.h"
#include "snapshot.h"

#define SCOPES 20

static void rm_tree(const char *path) {
        char cmd[600];

        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", path);
        if (system(cmd) != 0)
                fprintf(stderr, "bench-walk: could not remove %s\n", path);
}

/* How many more processes this host can take without starving others. */
static int pid_room(void) {
        char buf[32];
        FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
        int pid_max = 32768, used = 0;
        FILE *p;

        if (f) {
                if (fgets(buf, sizeof buf, f))
                        pid_max = atoi(buf);
                fclose(f);
        }
        p = popen("ls /proc/*/task 2>/dev/null | grep -c '^[0-9]'", "r");
        if (p) {
                if (fgets(buf, sizeof buf, p))
                        used = atoi(buf);
                pclose(p);
        }
        /* Leave a quarter of the pid space, and at least 4,000, to the rest. */
        int keep = pid_max / 4 > 4000 ? pid_max / 4 : 4000;
        return pid_max - used - keep;
}

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 20000;
        int runs = argc > 2 ? atoi(argv[2]) : 7;
        char root[] = "/tmp/memgov-bench-walk-XXXXXX", slice[300], dir[400];
        const char *cgroup = "user.slice/user-4242.slice";
        pid_t *pids;
        double *t_walk, *t_snap, *t_empty;
        FILE *procs[SCOPES];
        int room, cgroot_fd, procfs_fd;
        size_t n_read = 0, n_walked = 0;
        bool truncated = false;

        if (n <= 0 || runs <= 0) {
                fprintf(stderr, "usage: bench-walk [N_PROCS>0] [RUNS>0]\n");
                return 2;
        }
        room = pid_room();
        if (n > room) {
                printf("bench-walk: only %d pids to spare on this host (pid_max minus a quarter); "
                       "measuring %d processes instead of %d\n", room, room > 0 ? room : 0, n);
                n = room;
                if (n <= 0)
                        return 1;
        }
        pids = calloc((size_t) n, sizeof *pids);
        t_walk = calloc((size_t) runs, sizeof(double));
        t_snap = calloc((size_t) runs, sizeof(double));
        t_empty = calloc((size_t) runs, sizeof(double));
        if (!pids || !t_walk || !t_snap || !t_empty || !mkdtemp(root))
                return 1;

        snprintf(slice, sizeof slice, "%s/%s", root, cgroup);
        snprintf(dir, sizeof dir, "%s/user.slice", root);
        mkdir(dir, 0755);
        mkdir(slice, 0755);
        bench_write_file(slice, "cgroup.procs", "");
        bench_write_file(slice, "memory.current", "1073741824\n");
        bench_write_file(slice, "memory.high", "max\n");
        bench_write_file(slice, "memory.max", "2147483648\n");
        bench_write_file(slice, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        bench_write_file(slice, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                             "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        snprintf(dir, sizeof dir, "%s/user@4242.service", slice);
        mkdir(dir, 0755);
        bench_write_file(dir, "cgroup.procs", "");
        for (int s = 0; s < SCOPES; s++) {
                char scope[512];
                snprintf(scope, sizeof scope, "%s/app-%02d.scope", dir, s);
                mkdir(scope, 0755);
                strcat(scope, "/cgroup.procs");
                procs[s] = fopen(scope, "we");
                if (!procs[s]) {
                        perror(scope);
                        return 1;
                }
        }

        double spawn_start = bench_now_ms();
        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        fprintf(stderr, "bench-walk: fork: %m after %d processes\n", i);
                        n = i;
                        break;
                }
                if (pid == 0) {
                        /* Die with the benchmark, whatever happens to it. */
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() == 1)
                                _exit(0);
                        for (;;)
                                pause();
                }
                pids[i] = pid;
                fprintf(procs[i % SCOPES], "%d\n", (int) pid);
        }
        for (int s = 0; s < SCOPES; s++)
                fclose(procs[s]);
        printf("processes: %d in %d scopes (spawned in %.1f s), runs: %d\n", n, SCOPES,
               (bench_now_ms() - spawn_start) / 1e3, runs);

        cgroot_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        procfs_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroot_fd < 0 || procfs_fd < 0)
                return 1;

        for (int r = -1; r < runs; r++) {   /* run -1 warms the caches */
                cgfs_procs p;
                snapshot s;
                double t0 = bench_now_ms();

                if (cgfs_collect_procs(cgroot_fd, cgroup, &p) < 0) {
                        fprintf(stderr, "bench-walk: walk failed\n");
                        return 1;
                }
                double t1 = bench_now_ms();
                cgfs_procs_done(&p);
                double t2 = bench_now_ms();
                if (snapshot_take(cgroot_fd, procfs_fd, cgroup, 4242, SNAPSHOT_TASKS, &s) < 0) {
                        fprintf(stderr, "bench-walk: snapshot failed\n");
                        return 1;
                }
                double t3 = bench_now_ms();
                n_read = s.slice.n_tasks;
                snapshot_done(&s);
                if (r >= 0) {
                        t_walk[r] = t1 - t0;
                        t_snap[r] = t3 - t2;
                }
        }

        for (int i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
        for (int i = 0; i < n; i++)
                waitpid(pids[i], NULL, 0);

        double m_walk = bench_median(t_walk, (size_t) runs), m_snap = bench_median(t_snap, (size_t) runs);
        printf("task walk (cgroup.procs of %d cgroups): median %.2f ms, %.2f us per task\n", SCOPES + 2, m_walk,
               m_walk * 1e3 / n);
        printf("snapshot (walk + /proc stat, status, oom_score_adj of each task; %zu read): median %.1f ms, "
               "%.1f us per task\n", n_read, m_snap, m_snap * 1e3 / n);
        printf("another user's decision queued behind this snapshot waits up to: %.1f ms\n", m_snap);

        /* A user's 20,000 empty cgroups (tmpfs here: a real cgroupfs costs more per directory). */
        snprintf(dir, sizeof dir, "%s/user@4242.service/empty.slice", slice);
        mkdir(dir, 0755);
        bench_write_file(dir, "cgroup.procs", "");
        for (int i = 0; i < 20000; i++) {
                char c[512];
                snprintf(c, sizeof c, "%s/e%05d", dir, i);
                mkdir(c, 0755);
                bench_write_file(c, "cgroup.procs", "");
        }
        for (int r = -1; r < runs; r++) {
                cgfs_procs p;
                double t0 = bench_now_ms();
                if (cgfs_collect_procs(cgroot_fd, cgroup, &p) < 0)
                        return 1;
                if (r >= 0)
                        t_empty[r] = bench_now_ms() - t0;
                n_walked = p.n_walked;
                truncated = p.truncated;
                cgfs_procs_done(&p);
        }
        printf("walk with 20,000 empty cgroups beside them: median %.1f ms, %zu cgroups examined%s\n",
               bench_median(t_empty, (size_t) runs), n_walked,
               truncated ? " (stopped by the cap, CGFS_WALK_MAX_CGROUPS)" : "");

        close(cgroot_fd);
        close(procfs_fd);
        rm_tree(root);
        return 0;
}
