/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Carrying out the policy's decisions: warnings and kills (the kernel's
 * own OOM kills are reported by oom-report.c). A kill is asynchronous: SIGTERM, then the victim's
 * pidfd is watched in sd-event while the KillGrace timer runs, then SIGKILL
 * and process_mrelease. The state of a kill lives in the user (kill_op,
 * oom_report in user.h); what the loop must follow up is flagged in the
 * user's context. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "actuator.h"
#include "policy.h"
#include "report.h"
#include "snapshot.h"
#include "user.h"

/* How long to wait for a SIGKILLed task to exit before giving up watching. */
#define ACT_KILL_WAIT_USEC (10 * USEC_PER_SEC)

void act_init(User *u);
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
 * was done. */
int act_kill(User *u, const snapshot *s, const policy_decision *dec);
/* Writes TEXT to the user's terminals, unless notices are off or this is a dry run. */
void act_tell_user(User *u, const char *text);
