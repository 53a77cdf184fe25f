/* sleeper: hold a known amount of resident memory and sleep (memgov VM tests).
 *
 *   sleeper [--mb N] [--log FILE]
 *
 * Touches N MiB (default 8) and sleeps until killed. With --log, every
 * catchable signal it receives is appended to FILE ("signal NAME at T") so a
 * test can tell "untouched" from "signalled"; SIGTERM, SIGINT and SIGHUP then
 * end it with the usual 128+N status, other signals are only recorded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;

static void on_signal(int sig)
{
	char buf[96];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(buf, sizeof buf, "signal %s at %lld.%03ld pid %d\n", sigabbrev_np(sig),
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000, getpid());
	if (log_fd >= 0 && n > 0)
		(void)!write(log_fd, buf, (size_t)n);
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
		_exit(128 + sig);
}

int main(int argc, char **argv)
{
	long mb = 8;
	const char *log = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log = argv[++i];
		else {
			fprintf(stderr, "usage: sleeper [--mb N] [--log FILE]\n");
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
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT, SIGALRM, SIGCONT };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);

	if (mb > 0) {
		size_t len = (size_t)mb << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 3;
		}
		long page = sysconf(_SC_PAGESIZE);
		for (size_t off = 0; off < len; off += page)
			p[off] = 1;
	}
	for (;;)
		pause();
}
