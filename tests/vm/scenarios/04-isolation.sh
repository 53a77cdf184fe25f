#!/bin/bash
# vm-run: --timeout 900
# Isolation: while alice's slice is in trouble and her hog is killed, bob's
# processes are never signalled, and a latency probe in bob's slice (a loop
# timing small allocations) shows what alice's trouble cost him.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=350M" "Policy=rss" "PressureDuration=2s" "KillGrace=2s"
mg_conf users.d/bob.conf "MemoryHigh=250M" "MemoryMax=350M" "Policy=rss" "PressureDuration=2s" "KillGrace=2s"
mg_restart
login_linger alice
login_linger bob
mg_wait_user 1001
mg_wait_user 1002

# bob: two sleepers that log any signal, and the probe. bash allocates and
# frees a 2 MB string, timed with $EPOCHREALTIME (no fork inside the timing).
sleeper_in bob bob_a 60
sleeper_in bob bob_b 30
probe_start bob
oom_bob=$(oom_kills bob)
events_bob_before=$(slice_file bob memory.events | tr '\n' ' ')
sleep 8

base_from=$(date +%s.%N)
sleep 10
base_to=$(date +%s.%N)
log "bob's probe, baseline: $(probe_stats "$base_from" "$base_to")"

# alice: a hog that memgovd must kill.
mg_mark
t0=$(usec_now)
hot_from=$(date +%s.%N)
run_in_slice alice hog --mb 500 --step-mb 10 --interval-ms 50 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no kill of alice's hog within 90 s"
log "alice's hog start -> kill record: $(secs_usec "$t0" "$(mg_first_ts kill MEMGOV_UID=1001)")s"
wait_dead "$HOG" 15 || true
hot_to=$(date +%s.%N)
assert_dead "$HOG" "alice's hog"
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "victim pid"
sleep 5
after_to=$(date +%s.%N)
during=$(probe_stats "$hot_from" "$hot_to")
log "bob's probe, while alice was under pressure until her hog died: $during"
log "bob's probe, after: $(probe_stats "$hot_to" "$after_to")"
{
  echo "baseline: $(probe_stats "$base_from" "$base_to")"
  echo "alice under pressure: $during"
  echo "after the kill: $(probe_stats "$hot_to" "$after_to")"
} | write_result 04-isolation-probe.txt

# Nothing of bob's was touched.
assert_untouched bob_a
assert_untouched bob_b
assert_alive "$PROBE" "bob's probe"
assert_eq 0 "$(mg_count kill MEMGOV_UID=1002)" "kill records for bob"
assert_eq 0 "$(mg_events kill | jq -r 'select(.MEMGOV_UID != "1001") | .MEMGOV_UID' | grep -c . || true)" "kill records for anyone but alice"
assert_eq "$oom_bob" "$(oom_kills bob)" "kernel OOM kills in bob's slice"
log "bob's memory.events before: $events_bob_before"
log "bob's memory.events after:  $(slice_file bob memory.events | tr '\n' ' ')"
max_ms=$(probe_stats "$hot_from" "$hot_to" | sed -n 's/.*max=\([0-9.]*\)ms.*/\1/p')
assert_true "bob's slowest allocation while alice was in trouble (${max_ms}ms) stayed under 2 s" \
  awk -v m="${max_ms:-99999}" 'BEGIN { exit !(m < 2000) }'

stop_units
mg_cleanup_users alice bob
rm -f /etc/memgov/users.d/alice.conf /etc/memgov/users.d/bob.conf
scenario_end
