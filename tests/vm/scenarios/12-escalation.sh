#!/bin/bash
# vm-run: --timeout 900
# The kill mechanics on a real kernel, judged by the victims themselves (their
# own signal logs, their exit statuses, /proc) and the slice's memory.events;
# memgovd's journal only as the record.
#  1. A hog that ignores SIGTERM, under sustained pressure with no
#     ThrottleDeadline: memgovd acts for reason=pressure, the hog logs one
#     SIGTERM, and KillGrace later it dies of SIGKILL (exit status 137); the
#     grace is measured between the hog's SIGTERM and its death.
#  2. Two kills needed: after the first victim goes, a growing job pushes the
#     slice over MemoryHigh again; memgovd must kill a second time (after
#     Cooldown=), in badness order, and spare the job itself.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
GRACE=4
COOLDOWN=3
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=${GRACE}s" "Cooldown=${COOLDOWN}s" "ThrottleDeadline=infinity"
mg_restart
login_linger alice
mg_wait_user 1001
results=()

# --- 1. SIGTERM ignored: the whole escalation ---------------------------------
log "--- 1. a hog that ignores SIGTERM (KillGrace=${GRACE}s, no ThrottleDeadline)"
rm -f "$TDIR"/stubborn.*
mg_mark
oom0=$(oom_kills alice)
t0=$(usec_now)
run_in_slice alice sh -c "hog --mb 280 --step-mb 8 --interval-ms 50 --hold --ignore-term --log $TDIR/stubborn.sig & echo \$! > $TDIR/stubborn.pid; wait \$!; echo \$? > $TDIR/stubborn.status"
track_unit "$RUN_UNIT"
wait_for "test -s $TDIR/stubborn.pid" 10 || die "the hog did not start"
HOG=$(cat "$TDIR/stubborn.pid")
log "hog $HOG in $(cgroup_of "$HOG")"
wait_for "test -s $TDIR/stubborn.sig" 120 || die "the hog got no signal within 120 s (usage $(($(slice_file alice memory.current) / M))M)"
# Its death, polled at 0.05 s: the kernel's view, not memgovd's.
t_dead=
for _ in $(seq 1 400); do
  if ! is_alive "$HOG"; then
    t_dead=$(date +%s.%N)
    break
  fi
  sleep 0.05
done
[[ -n $t_dead ]] || fail "the hog $HOG still alive 20 s after its SIGTERM"
wait_for "test -s $TDIR/stubborn.status" 10 || true
log "the hog's signal log: $(tr '\n' ';' <"$TDIR/stubborn.sig")"
assert_eq 1 "$(grep -c . "$TDIR/stubborn.sig")" "signals the hog logged (SIGKILL cannot be logged)"
assert_match '^signal TERM at [0-9.]+ pid '"$HOG"'$' "$(head -n 1 "$TDIR/stubborn.sig")" "the hog's first signal"
assert_dead "$HOG" "the hog after the grace"
assert_eq 137 "$(cat "$TDIR/stubborn.status" 2>/dev/null)" "the hog's exit status (128 + SIGKILL)"
t_term=$(awk '{ print $4 }' "$TDIR/stubborn.sig" | head -n 1)
grace=$(awk -v a="$t_term" -v b="$t_dead" 'BEGIN { printf "%.2f", b - a }')
log "SIGTERM -> death: ${grace}s (KillGrace=${GRACE}s); hog start -> SIGTERM: $(awk -v a="$t0" -v b="$t_term" 'BEGIN { printf "%.1f", b - a / 1e6 }')s"
assert_true "SIGKILL not before KillGrace (${grace}s >= ${GRACE}s - 0.1 s)" awk -v g="$grace" -v k="$GRACE" 'BEGIN { exit !(g >= k - 0.1) }'
assert_true "SIGKILL soon after KillGrace (${grace}s <= ${GRACE}s + 2 s)" awk -v g="$grace" -v k="$GRACE" 'BEGIN { exit !(g <= k + 2) }'
assert_eq "$oom0" "$(oom_kills alice)" "kernel OOM kills in alice's slice (memory.events)"
mg_wait_event 10 kill MEMGOV_UID=1001 || true
mg_events kill MEMGOV_UID=1001 | jq -r '.MESSAGE' | sed 's/^/    record: /'
assert_eq pressure "$(mg_field kill MEMGOV_REASON MEMGOV_UID=1001)" "record: MEMGOV_REASON (no ThrottleDeadline)"
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "record: MEMGOV_VICTIM_PID"
assert_eq SIGTERM "$(mg_field kill MEMGOV_SIGNAL MEMGOV_UID=1001)" "record: MEMGOV_SIGNAL"
results+=("| SIGTERM ignored, KillGrace=${GRACE}s | SIGTERM → death ${grace}s | exit 137 | reason=pressure |")
stop_units
wait_usage_below alice 30 30 || log "alice's usage is still $(($(slice_file alice memory.current) / M))M"

# --- 2. two kills needed -------------------------------------------------------
log "--- 2. two kills needed (Policy=badness; Cooldown=${COOLDOWN}s)"
mg_conf users.d/alice.conf "MemoryHigh=150M" "MemoryMax=300M" "Policy=badness" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=${COOLDOWN}s" "ThrottleDeadline=infinity"
mg_reload
wait_for "[[ \$(slice_prop alice MemoryHigh) == $((150 * M)) ]]" 15 || die "alice's MemoryHigh=150M not applied"
sleep $((COOLDOWN + 1))
# first (70M, adj 1000) and second (60M, adj 500) rank above the job at any
# size it reaches; the job grows to 140M: over MemoryHigh with either of the
# others, under it alone.
PID_first='' PID_second=''
sleeper_in alice first 70 1000
sleeper_in alice second 60 500
wait_for "[[ \$(rss_mb $PID_first) -ge 70 && \$(rss_mb $PID_second) -ge 60 ]]" 30 || die "the sleepers did not fill"
rm -f "$TDIR"/job.*
mg_mark
oom0=$(oom_kills alice)
run_in_slice alice hog --mb 140 --step-mb 4 --interval-ms 50 --hold --log "$TDIR/job.sig"
JOB=$RUN_PID
track_unit "$RUN_UNIT"
wait_for "! is_alive $PID_first && ! is_alive $PID_second" 180 ||
  fail "not both killed within 180 s (first $(proc_state "$PID_first"), second $(proc_state "$PID_second"), usage $(($(slice_file alice memory.current) / M))M)"
assert_dead "$PID_first" "first (killed first)"
assert_dead "$PID_second" "second (killed after it)"
wait_rss "$JOB" 140 60 || log "the job holds $(rss_mb "$JOB")M"
sleep $((COOLDOWN + 4))
assert_alive "$JOB" "the job, under MemoryHigh alone"
assert_false "the job received no signal" test -s "$TDIR/job.sig"
t1=$(awk '$2 == "TERM" { print $4; exit }' "$TDIR/first.sig" 2>/dev/null)
t2=$(awk '$2 == "TERM" { print $4; exit }' "$TDIR/second.sig" 2>/dev/null)
assert_match '^[0-9.]+$' "$t1" "first's own log has its SIGTERM"
assert_match '^[0-9.]+$' "$t2" "second's own log has its SIGTERM"
gap=$(awk -v a="${t1:-0}" -v b="${t2:-0}" 'BEGIN { printf "%.1f", b - a }')
log "first SIGTERM -> second SIGTERM: ${gap}s (Cooldown=${COOLDOWN}s)"
assert_true "the second kill after the first, not before Cooldown (${gap}s >= ${COOLDOWN}s - 0.2 s)" \
  awk -v g="$gap" -v c="$COOLDOWN" 'BEGIN { exit !(g >= c - 0.2) }'
assert_eq "$oom0" "$(oom_kills alice)" "kernel OOM kills in alice's slice"
mg_events kill MEMGOV_UID=1001 | jq -r '.MESSAGE' | sed 's/^/    record: /'
assert_eq "$PID_first $PID_second" "$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_VICTIM_PID' | paste -sd ' ')" "record: the victims, in order"
assert_eq "pressure pressure" "$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_REASON' | paste -sd ' ')" "record: both for reason=pressure"
results+=("| two kills needed, Cooldown=${COOLDOWN}s | first → second SIGTERM ${gap}s | job spared | reason=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_REASON' | paste -sd ,) |")

stop_units
mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
write_result escalation.md <<RESULT
## Kill mechanics (12-escalation)

Measured by \`tests/vm/scenario --record 12-escalation\` on $(date -u +%Y-%m-%d) in the test VM:
kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), no swap, TCG.

| case | measured | victim's end | memgovd's record |
|---|---|---|---|
$(printf '%s\n' "${results[@]}")
RESULT
scenario_end
