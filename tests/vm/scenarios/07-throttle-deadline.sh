#!/bin/bash
# vm-run: --timeout 900
# The throttle deadline: a process parked above MemoryHigh= and just under
# MemoryMax=, throttled without progress (no swap), is acted on within
# ThrottleDeadline=, with pressure triggers off so only the deadline can act.
# Without memgov it would sit there for minutes (see tests/vm notes).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
DEADLINE=8
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=150M" "MemoryMax=250M" "Policy=rss" "PressureSome=0" "PressureFull=0" \
  "ThrottleDeadline=${DEADLINE}s" "KillGrace=2s"
mg_restart
login_linger alice
mg_wait_user 1001
assert_eq false "$(mg_status_field '.users[] | select(.uid == 1001) | .psi_trigger')" "no PSI trigger armed (PressureSome=0)"

# alice's slice may outlive an earlier scenario of the same boot: count
# from here.
oom_before=$(oom_kills alice)
mg_mark
t0=$(usec_now)
run_in_slice alice hog --mb 240 --step-mb 5 --interval-ms 20 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
# When does the slice go over MemoryHigh (throttling starts)?
wait_for "[[ \$(slice_file alice memory.current) -gt $((150 * M)) ]]" 60 || die "the hog never passed MemoryHigh"
t_over=$(usec_now)
log "over MemoryHigh $(secs_usec "$t0" "$t_over")s after the hog started"
for _ in 1 2 3; do
  sleep 1
  log "  throttled: usage $(($(slice_file alice memory.current) / M))M, hog rss $(rss_mb "$HOG")M, state $(proc_state "$HOG"), $(grep -E '^high ' /sys/fs/cgroup/user.slice/user-1001.slice/memory.events)"
done
mg_wait_event $((DEADLINE + 30)) kill MEMGOV_UID=1001 || die "no kill within ThrottleDeadline + 30 s"
t_kill=$(mg_first_ts kill MEMGOV_UID=1001)
took=$(secs_usec "$t_over" "$t_kill")
log "over MemoryHigh -> kill record: ${took}s (ThrottleDeadline=${DEADLINE}s); hog start -> kill: $(secs_usec "$t0" "$t_kill")s"
write_figures throttle-deadline.md "ThrottleDeadline= (07-throttle-deadline)" \
  "over MemoryHigh → kill record, ThrottleDeadline=${DEADLINE}s" "${took}s" \
  "hog start → kill record" "$(secs_usec "$t0" "$t_kill")s"
mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq deadline "$(mg_field kill MEMGOV_REASON MEMGOV_UID=1001)" "MEMGOV_REASON"
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "victim pid"
assert_true "acted within ThrottleDeadline + 3 s (${took}s)" awk -v t="$took" -v d="$DEADLINE" 'BEGIN { exit !(t <= d + 3) }'
assert_true "not before the deadline (${took}s >= ${DEADLINE}s - 1 s)" awk -v t="$took" -v d="$DEADLINE" 'BEGIN { exit !(t >= d - 1) }'
wait_dead "$HOG" 15 || true
assert_dead "$HOG" "the throttled hog"
assert_eq "$oom_before" "$(oom_kills alice)" "kernel OOM kills (memgov acted before the wall; $oom_before before)"

stop_units
mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
