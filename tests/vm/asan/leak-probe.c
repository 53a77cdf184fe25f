/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Leaks 4242 bytes on purpose, built with -fsanitize=address by
 * tests/vm/run --asan: 33-asan-daemon runs it as memgovd.service to show
 * that LeakSanitizer works inside the unit's sandbox (a clean exit of the
 * real daemon proves nothing if LSan cannot run there). A thread is started
 * so that LSan has one to stop, as in memgovd. */
#include <pthread.h>
#include <stdlib.h>

static void *volatile leaked;

static void *idle(void *arg) {
        return arg;
}

int main(void) {
        pthread_t t;

        if (pthread_create(&t, NULL, idle, NULL) != 0)
                return 2;
        pthread_join(t, NULL);
        leaked = malloc(4242);
        leaked = NULL;
        return 0;
}
