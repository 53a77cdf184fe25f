/* hog: allocate and touch memory at a controlled rate (memgov VM tests).
 *
 *   hog [--mb N] [--step-mb S] [--interval-ms I] [--hold | --hold-s T] [--quiet]
 *       [--log FILE] [--ignore-term]
 *
 * Allocates S MiB every I ms (touching every page, so it is resident) until
 * N MiB are held, then exits 0, or with --hold sleeps until killed, or with
 * --hold-s works T more seconds with all of it and exits 0, like a compile
 * job that cannot finish without the memory it grew to. Prints a
 * progress line per step (line buffered, so it streams). Exit 2 on bad usage,
 * 3 if an allocation fails.
 *
 * With --log, every catchable signal it receives is appended to FILE
 * ("signal NAME at T pid P", T in CLOCK_REALTIME seconds); SIGTERM, SIGINT
 * and SIGHUP then end it with 128+N. --ignore-term makes it log SIGTERM and
 * carry on, like a program that ignores it: only SIGKILL ends it then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int log_fd = -1;
static int ignore_term;

static void on_signal(int sig)
{
	char buf[96];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(buf, sizeof buf, "signal %s at %lld.%03ld pid %d\n", sigabbrev_np(sig),
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000, getpid());
	if (log_fd >= 0 && n > 0)
		(void)!write(log_fd, buf, (size_t)n);
	if (sig == SIGTERM && ignore_term)
		return;
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
		_exit(128 + sig);
}

static long arg_long(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	long n = strtol(v ? v : "", &end, 10);
	if (!v || *end || errno || n < 0) {
		fprintf(stderr, "hog: %s needs a non-negative integer\n", opt);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	long mb = 512, step = 16, interval = 100;
	int hold = 0, quiet = 0;
	long hold_s = 0;
	const char *log = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mb"))
			mb = arg_long(argv[i], argv[i + 1]), i++;
		else if (!strcmp(argv[i], "--step-mb"))
			step = arg_long(argv[i], argv[i + 1]), i++;
		else if (!strcmp(argv[i], "--interval-ms"))
			interval = arg_long(argv[i], argv[i + 1]), i++;
		else if (!strcmp(argv[i], "--hold"))
			hold = 1;
		else if (!strcmp(argv[i], "--hold-s"))
			hold_s = arg_long(argv[i], argv[i + 1]), i++;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log = argv[++i];
		else if (!strcmp(argv[i], "--ignore-term"))
			ignore_term = 1;
		else {
			fprintf(stderr, "usage: hog [--mb N] [--step-mb S] [--interval-ms I] [--hold | --hold-s T] "
					"[--quiet] [--log FILE] [--ignore-term]\n");
			return 2;
		}
	}
	if (log) {
		log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		if (log_fd < 0) {
			perror(log);
			return 2;
		}
	}
	if (log || ignore_term) {
		struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		/* Every signal another process may send; not the ones a fault raises. */
		const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
				     SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF };
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			sigaction(sigs[i], &sa, NULL);
	}
	if (step <= 0)
		step = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	long page = sysconf(_SC_PAGESIZE);
	long held = 0;
	double t0 = now();
	if (!quiet)
		printf("hog: pid %d target %ld MiB, %ld MiB every %ld ms\n", getpid(), mb, step, interval);
	while (held < mb) {
		long n = step < mb - held ? step : mb - held;
		size_t len = (size_t)n << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "hog: mmap %ld MiB: %s\n", n, strerror(errno));
			return 3;
		}
		for (size_t off = 0; off < len; off += page)
			p[off] = (char)(off / page + 1);
		held += n;
		if (!quiet)
			printf("hog: %ld MiB after %.1fs\n", held, now() - t0);
		if (held < mb && interval > 0)
			usleep(interval * 1000);
	}
	if (!quiet)
		printf("hog: holding %ld MiB\n", held);
	if (hold_s > 0) {
		/* Signals interrupt the sleep; the work still takes T seconds. */
		double end = now() + (double)hold_s;
		while (now() < end)
			usleep(100000);
		return 0;
	}
	if (!hold)
		return 0;
	for (;;)
		pause();
}
