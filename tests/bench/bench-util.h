/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What every benchmark here needs: a monotonic clock, medians, files. */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Sorts V. */
static inline double bench_median(double *v, size_t n) {
        qsort(v, n, sizeof *v, bench_cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* DIR/NAME := CONTENT, or exit 1 saying why. */
static inline void bench_write_file(const char *dir, const char *name, const char *content) {
        char path[512];
        FILE *f;

        if ((size_t) snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
                fprintf(stderr, "%s/%s: path too long\n", dir, name);
                exit(1);
        }
        f = fopen(path, "we");
        if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
                perror(path);
                exit(1);
        }
}
