/* deadleader: a process whose main thread has exited while another thread
 * holds the memory (memgov VM tests).
 *
 *   deadleader MB
 *
 * A second thread allocates and touches MB MiB in 10 MiB steps (one every
 * 100 ms) and sleeps; the main thread exits with pthread_exit(), so
 * /proc/PID/stat shows the leader as a zombie with no RSS while the
 * process holds MB MiB. Exit 2 on bad usage.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long mb;

static void *hold(void *arg)
{
	(void) arg;
	for (long done = 0; done < mb; done += 10) {
		char *p = malloc(10 << 20);
		if (!p)
			break;
		memset(p, 1, 10 << 20);
		usleep(100 * 1000);
	}
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	char *end;

	if (argc != 2 || (mb = strtol(argv[1], &end, 10)) <= 0 || *end) {
		fprintf(stderr, "usage: deadleader MB\n");
		return 2;
	}
	if (pthread_create(&t, NULL, hold, NULL) != 0)
		return 3;
	pthread_exit(NULL);
}
