/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Actuator ops that record what they are asked to do, in order, instead of
 * touching any process. They live in tests/, not in lib/, so they never
 * count as covered library code. The ops write into the recorder made
 * current with recorder_use(), so a test can hand them to an actuator that
 * is embedded anywhere (a daemon context, a stack variable). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "actuator.h"

#define RECORDER_MAX 64

typedef struct recorded_op {
        char op[16];            /* open, signal, wait, release, close, kill-cgroup */
        pid_t pid;
        int sig;                /* the signal, or for wait the timeout in ms */
        char cgroup[128];
} recorded_op;

typedef struct recorder {
        recorded_op records[RECORDER_MAX];
        size_t n_records;
        bool task_exits;        /* what wait_exit answers */
} recorder;

extern const actuator_ops recorder_ops;

/* The recorder the ops write into from now on. */
void recorder_use(recorder *r);
