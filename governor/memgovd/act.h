/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Carrying out the policy's decisions: warnings and kills (the kernel's
 * own OOM kills are reported by oom-report.c). A kill is asynchronous: SIGTERM, then the victim's
 * pidfd is watched in sd-event while the KillGrace timer runs, then SIGKILL
 * and process_mrelease. A kill under way holds one of a few kill rounds
 * the context allocates at start (below); the user points at it while the
 * round lasts (user_kill in user.h). What the loop must follow up is
 * flagged in the user's context. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "actuator.h"
#include "policy.h"
#include "report.h"
#include "snapshot.h"
#include "user.h"

/* How long to wait for a SIGKILLed task to exit before giving up watching. */
#define ACT_KILL_WAIT_USEC (10 * USEC_PER_SEC)
/* Kill rounds under way at once, over all users. A round holds its slot
 * from its first signal until its tasks are gone: KillGrace=, then at most
 * ACT_KILL_WAIT_USEC, usually much less (a round of cgroup kills and a dry
 * run give theirs back at once). Kills are rare and a slot is about 27 KB,
 * so a few are kept instead of one in every user. */
#define ACT_KILL_ROUNDS 4
/* A kill that is due while every slot is busy is decided again this soon:
 * nothing of the decision is kept, so it is made afresh with the same
 * evidence (sampler.c). */
#define ACT_ROUND_RETRY_USEC (250 * USEC_PER_MSEC)
/* "Every slot is busy" is said at info level at most this often per user. */
#define ACT_ROUND_BUSY_LOG_USEC (10 * USEC_PER_SEC)

/* A kill round: every task signalled in it, in fixed-size fields. */
struct kill_round {
        User *user;                    /* whose round; NULL = the slot is free */
        const actuator_ops *ops;       /* as at the start: a reload may switch DryRun= meanwhile */
        bool escalated;
        int signal;
        kill_reason reason;
        usec_t started;
        /* Every task signalled in this round, victim by victim (each
         * victim first, then the tasks sharing its memory). */
        size_t n;
        procfs_task tasks[POLICY_MAX_VICTIM_PIDS];
        int handles[POLICY_MAX_VICTIM_PIDS];
        bool exited[POLICY_MAX_VICTIM_PIDS];
        /* The victims signalled: their index into tasks and their pidfd's watch. */
        size_t n_leaders;
        size_t leaders[POLICY_MAX_VICTIMS];
        sd_event_source *exit_sources[POLICY_MAX_VICTIMS];
        sd_event_source *timer;        /* KillGrace, then the wait after SIGKILL */
};

/* The ACT_KILL_ROUNDS slots of CTX, with their timers on ctx->event, faulted
 * in now so that a kill under memory pressure neither allocates nor faults. */
int act_rounds_init(context *ctx);
/* After every user's act_done(). */
void act_rounds_done(context *ctx);
/* Free slots now. */
size_t act_rounds_free(const context *ctx);

void act_init(User *u);
/* Ends the user's round, if one is under way ("abandoned"), and gives its slot back. */
void act_done(User *u);

/* Total, cache and unreclaimable usage for people: "820M used, 700M of it cache, ...". */
void act_usage_text(const memstat_usage *u, char *buf, size_t size);
/* MEMGOV_CACHE_BYTES and MEMGOV_UNRECLAIMABLE_BYTES. */
void act_record_add_usage(record *r, const memstat_usage *u);

void act_warn(User *u, const snapshot *s, const policy_decision *dec);
/* Re-checks the slice by the decision's definition, then starts one
 * round: every victim of the decision is signalled at once (or its cgroup
 * killed), one KillGrace runs for all, then SIGKILL and process_mrelease
 * for the survivors. Returns 0 also when the slice recovered and nothing
 * was done. -EBUSY when the user's own round is still under way, or when
 * every slot is busy: then nothing was done, not even the re-check, and
 * u->retry_at is set ACT_ROUND_RETRY_USEC ahead for the caller to decide
 * again (the decision's evidence must not be consumed). */
int act_kill(User *u, const snapshot *s, const policy_decision *dec);
/* Writes TEXT to the user's terminals, unless notices are off or this is a dry run. */
void act_tell_user(User *u, const char *text);
