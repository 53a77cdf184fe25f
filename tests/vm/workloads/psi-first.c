/* psi-first: when a PSI trigger first fires (memgov VM benchmarks).
 *
 *   psi-first CGROUP_DIR STALL_US WINDOW_US [TIMEOUT_S]
 *
 * Arms "some STALL_US WINDOW_US" on CGROUP_DIR/memory.pressure, as memgovd
 * arms its own, waits for the first event and prints its CLOCK_REALTIME
 * ("1764523456.123"), so a benchmark can tell memgovd's reaction from the
 * kernel's. Exits 1 on an error, 2 if nothing fired within TIMEOUT_S
 * (default 300).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096], trig[64];
	struct pollfd p;
	struct timespec ts;
	int timeout_s = argc > 4 ? atoi(argv[4]) : 300, n;

	if (argc < 4) {
		fprintf(stderr, "usage: psi-first CGROUP_DIR STALL_US WINDOW_US [TIMEOUT_S]\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/memory.pressure", argv[1]);
	p.fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (p.fd < 0) {
		perror(path);
		return 1;
	}
	n = snprintf(trig, sizeof trig, "some %s %s", argv[2], argv[3]);
	if (write(p.fd, trig, (size_t)n + 1) < 0) {
		perror("arming the trigger");
		return 1;
	}
	p.events = POLLPRI;
	n = poll(&p, 1, timeout_s * 1000);
	if (n < 0) {
		perror("poll");
		return 1;
	}
	if (n == 0 || !(p.revents & POLLPRI))
		return 2;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%lld.%03ld\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
	return 0;
}
