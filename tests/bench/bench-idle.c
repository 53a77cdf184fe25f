/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Benchmark, not a test: the work of one idle check of one slice, in
 * syscalls and µs, for each way memgovd can read a slice:
 *   full        snapshot_take(SNAPSHOT_MEMORY): every memory file, stat,
 *               events, pressure, /proc/meminfo (the read before a decision,
 *               and every idle sample before the sampling grid)
 *   path        memory.current by path (openat, pread, close)
 *   fd          memory.current through an fd kept open (one pread): what
 *               memgovd's idle look (sampler_idle_look) reads
 *   fd+events   the fd read plus memory.events by path
 * over SLICES fake slices on tmpfs (the files hold what a 6.1 kernel
 * writes). tmpfs is not kernfs, so the µs are the syscall and parse
 * overhead, not the kernel's cost of generating memory.stat; the syscall
 * counts are exact (ptrace counts every syscall a child makes between two
 * markers). Prints medians of RUNS runs; no pass/fail. With
 * MEMGOV_BENCH_RESULTS=FILE it also writes the table, with the date and the
 * command, for the README (tests/results-to-readme).
 *
 * Usage: bench-idle [SLICES] [RUNS] */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#include "cgfs.h"
#include "snapshot.h"
#include "util.h"

typedef enum check_kind {
        CHECK_FULL,
        CHECK_PATH,
        CHECK_FD,
        CHECK_FD_EVENTS,
        _CHECK_MAX,
} check_kind;

static const char *const kind_names[_CHECK_MAX] = {
        [CHECK_FULL] = "full read (snapshot_take)",
        [CHECK_PATH] = "memory.current by path",
        [CHECK_FD] = "kept fd (the idle look)",
        [CHECK_FD_EVENTS] = "kept fd + memory.events",
};

static int n_slices;
static int cgroot_fd = -1, procfs_fd = -1;
static int *current_fds;
static char (*names)[64];

static void make_slice(const char *root, const char *cgroup) {
        char dir[512];
        char stat[2048];
        size_t len = 0;
        static const char *const stat_keys[] = {
                "anon", "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "percpu",
                "sock", "vmalloc", "shmem", "zswap", "zswapped", "file_mapped", "file_dirty",
                "file_writeback", "swapcached", "anon_thp", "file_thp", "shmem_thp",
                "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
                "slab_reclaimable", "slab_unreclaimable", "slab", "workingset_refault_anon",
                "workingset_refault_file", "workingset_activate_anon", "workingset_activate_file",
                "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim",
                "pgscan", "pgsteal", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
                "pgsteal_direct", "pgfault", "pgmajfault", "pgrefill", "pgactivate",
                "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc",
                "thp_collapse_alloc",
        };

        snprintf(dir, sizeof dir, "%s/%s", root, cgroup);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                perror(dir);
                exit(1);
        }
        for (size_t i = 0; i < sizeof stat_keys / sizeof *stat_keys; i++)
                len += (size_t) snprintf(stat + len, sizeof stat - len, "%s %u\n", stat_keys[i],
                                         (unsigned) (i * 40960));
        bench_write_file(dir, "memory.current", "1634304\n");
        bench_write_file(dir, "memory.high", "966367641\n");
        bench_write_file(dir, "memory.max", "1073741824\n");
        bench_write_file(dir, "memory.swap.current", "0\n");
        bench_write_file(dir, "memory.swap.max", "max\n");
        bench_write_file(dir, "memory.peak", "2334720\n");
        bench_write_file(dir, "memory.stat", stat);
        bench_write_file(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        bench_write_file(dir, "memory.events.local", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        bench_write_file(dir, "memory.pressure",
                   "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\n"
                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n");
}

static void check_one(check_kind k, int i) {
        snapshot s = {};
        cgfs_events ev;
        uint64_t v;
        char buf[64];
        int r = 0;

        switch (k) {
        case CHECK_FULL:
                r = snapshot_take(cgroot_fd, procfs_fd, names[i], 1000, SNAPSHOT_MEMORY, &s);
                snapshot_done(&s);
                break;
        case CHECK_PATH:
                r = cgfs_read_u64(cgroot_fd, names[i], "memory.current", &v);
                break;
        case CHECK_FD_EVENTS:
                r = cgfs_read_events(cgroot_fd, names[i], false, &ev);
                if (r < 0)
                        break;
                /* fall through */
        case CHECK_FD:
                r = read_fd(current_fds[i], buf, sizeof buf, NULL);
                if (r >= 0)
                        r = parse_u64(buf, &v);
                break;
        default:
                abort();
        }
        if (r < 0) {
                fprintf(stderr, "bench-idle: %s of %s: %s\n", kind_names[k], names[i], strerror(-r));
                exit(1);
        }
}

static void check_all(check_kind k) {
        for (int i = 0; i < n_slices; i++)
                check_one(k, i);
}

/* Syscalls one check of each slice makes: a traced child runs check_all()
 * between two getppid() markers and the parent counts the entries between. */
static double syscalls_per_check(check_kind k) {
        long count = 0;
        bool counting = false;
        int status;
        pid_t pid = fork();

        if (pid < 0) {
                perror("fork");
                exit(1);
        }
        if (pid == 0) {
                if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
                        _exit(2);
                raise(SIGSTOP);
                syscall(SYS_getppid);
                check_all(k);
                syscall(SYS_getppid);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status))
                exit(1);
        (void) ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *) (long) (PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
        for (;;) {
                struct __ptrace_syscall_info info;

                if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) < 0)
                        break;
                if (waitpid(pid, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status))
                        break;
                if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
                        continue;
                if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *) sizeof info, &info) <= 0)
                        continue;
                if (info.op != PTRACE_SYSCALL_INFO_ENTRY)
                        continue;
                if (info.entry.nr == SYS_getppid) {
                        if (counting)
                                break;
                        counting = true;
                        continue;
                }
                if (counting)
                        count++;
        }
        kill(pid, SIGKILL);
        (void) waitpid(pid, &status, 0);
        return (double) count / n_slices;
}

/* The first "model name" of /proc/cpuinfo, for the results file. */
static const char *cpu_model(char *buf, size_t size) {
        FILE *f = fopen("/proc/cpuinfo", "re");
        char line[256];

        snprintf(buf, size, "unknown CPU");
        while (f && fgets(line, sizeof line, f)) {
                char *colon = strchr(line, ':');

                if (strncmp(line, "model name", 10) != 0 || !colon)
                        continue;
                colon += strspn(colon + 1, " \t") + 1;
                colon[strcspn(colon, "\n")] = 0;
                snprintf(buf, size, "%s", colon);
                break;
        }
        if (f)
                fclose(f);
        return buf;
}

int main(int argc, char **argv) {
        char root[] = "/dev/shm/bench-idle-XXXXXX";
        int runs;

        n_slices = argc > 1 ? atoi(argv[1]) : 300;
        runs = argc > 2 ? atoi(argv[2]) : 21;
        if (n_slices <= 0 || runs <= 0) {
                fprintf(stderr, "usage: bench-idle [SLICES] [RUNS]\n");
                return 2;
        }
        if (!mkdtemp(root)) {
                perror(root);
                return 1;
        }
        make_slice(root, "user.slice");
        names = calloc((size_t) n_slices, sizeof *names);
        current_fds = calloc((size_t) n_slices, sizeof *current_fds);
        if (!names || !current_fds)
                return 1;
        cgroot_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        procfs_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroot_fd < 0 || procfs_fd < 0)
                return 1;
        for (int i = 0; i < n_slices; i++) {
                snprintf(names[i], sizeof names[i], "user.slice/user-%d.slice", 20000 + i);
                make_slice(root, names[i]);
                current_fds[i] = cgfs_open(cgroot_fd, names[i], "memory.current", O_RDONLY);
                if (current_fds[i] < 0) {
                        fprintf(stderr, "bench-idle: open: %s\n", strerror(-current_fds[i]));
                        return 1;
                }
        }

        const char *results = getenv("MEMGOV_BENCH_RESULTS");
        FILE *out = NULL;

        if (results) {
                time_t now = time(NULL);
                char date[32], model[128];

                out = fopen(results, "we");
                if (!out) {
                        perror(results);
                        return 1;
                }
                strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
                fprintf(out, "## One idle check of one slice\n\n");
                fprintf(out, "Measured by `MEMGOV_BENCH_RESULTS=%s %s %d %d` on %s (%ld CPUs, %s), %d fake "
                             "slices on tmpfs, median of %d runs.\n\n", results, argv[0], n_slices, runs, date,
                        sysconf(_SC_NPROCESSORS_ONLN), cpu_model(model, sizeof model), n_slices, runs);
                fprintf(out, "| read | syscalls | µs |\n|---|---|---|\n");
        }
        printf("One idle check of one slice, %d fake slices on tmpfs, median of %d runs:\n", n_slices, runs);
        printf("%-30s %10s %10s\n", "read", "syscalls", "µs");
        for (check_kind k = 0; k < _CHECK_MAX; k++) {
                double *t = calloc((size_t) runs, sizeof *t);

                if (!t)
                        return 1;
                check_all(k);   /* warm the dentry cache */
                for (int r = 0; r < runs; r++) {
                        double t0 = bench_now_ms() * 1e3;
                        check_all(k);
                        t[r] = (bench_now_ms() * 1e3 - t0) / n_slices;
                }
                double calls = syscalls_per_check(k), us = bench_median(t, (size_t) runs);

                printf("%-30s %10.1f %10.2f\n", kind_names[k], calls, us);
                if (out)
                        fprintf(out, "| %s | %.1f | %.2f |\n", kind_names[k], calls, us);
                free(t);
        }
        if (out && fclose(out) != 0) {
                perror(results);
                return 1;
        }

        for (int i = 0; i < n_slices; i++)
                close(current_fds[i]);
        {
                char cmd[600];
                snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", root);
                if (system(cmd) != 0)
                        fprintf(stderr, "bench-idle: could not remove %s\n", root);
        }
        return 0;
}
