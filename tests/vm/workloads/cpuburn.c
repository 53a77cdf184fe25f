/* cpuburn: spin on one CPU with a known resident size (memgov VM tests).
 *
 *   cpuburn [--mb N] [--seconds S]
 *
 * Touches N MiB (default 4), then spins; with --seconds it exits 0 after S
 * seconds, otherwise it runs until killed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mb = 4, seconds = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: cpuburn [--mb N] [--seconds S]\n");
			return 2;
		}
	}
	if (mb > 0) {
		size_t len = (size_t)mb << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 3;
		}
		memset(p, 1, len);
	}
	time_t end = seconds > 0 ? time(NULL) + seconds : 0;
	volatile unsigned long x = 0;
	for (;;) {
		for (int i = 0; i < 10000000; i++)
			x += (unsigned long)i * 2654435761u;
		if (end && time(NULL) >= end)
			return 0;
	}
}
