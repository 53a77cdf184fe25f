#!/bin/bash
# vm-run: --timeout 900
# Oversubscribed node: budgets add up to more than RAM (75% of RAM each for
# alice, bob and carol), nobody is over budget, and the machine runs short
# as a whole. alice holds 800 MB idle, bob 600 MB idle plus a latency probe;
# carol's job grows at about 160 MB/s towards 1.8 GB. memgovd must take
# carol's job (the user who just grew), before the kernel's OOM killer, and
# leave alice's and bob's processes alone.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

SWAP_MB=$(awk '/^SwapTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
log "MemTotal $(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo) MiB, swap ${SWAP_MB} MiB"

# Without swap the kernel's OOM killer follows exhaustion within seconds,
# so the shortage must be acted on sooner than the shipped 5 s; with swap
# the shipped default stands (the node swaps for half a minute first).
if ((SWAP_MB > 0)); then SHORTAGE_DURATION=${SHORTAGE_DURATION:-5s}; else SHORTAGE_DURATION=${SHORTAGE_DURATION:-1s}; fi
# ShortageGrowthWindow=30s, half the shipped minute, so that alice and bob
# can be idle past it in half the time (the rule is the same).
mg_config_base "ShortageDuration=$SHORTAGE_DURATION" "ShortageGrowthWindow=30s"
for who in alice bob carol; do
  mg_conf "users.d/$who.conf" "MemoryHigh=75%" "MemoryMax=85%" "MemorySwapMax=infinity" "KillGrace=2s"
done
mg_restart
for who in alice bob carol; do login_linger "$who"; done
mg_wait_user 1001
mg_wait_user 1002
mg_wait_user 1003

vm_oom() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }
oom_before=$(vm_oom)
dmesg_before=$(dmesg | grep -c 'Out of memory' || true)

sleeper_in alice alice_idle 800
sleeper_in bob bob_idle 600
# shellcheck disable=SC2154 # set by sleeper_in
wait_rss "$PID_alice_idle" 790 60 || die "alice's sleeper did not reach 800 MB"
# shellcheck disable=SC2154 # set by sleeper_in
wait_rss "$PID_bob_idle" 590 60 || die "bob's sleeper did not reach 600 MB"

# Idle means idle: alice and bob have held their memory for longer than
# ShortageGrowthWindow= (30 s here) when carol's job starts. Loading 1.4 GB
# on this 2 GB guest stalls the machine itself, and memgovd's growth rule
# would otherwise count that load as growth (25-oversubscribed-peers'
# first run: alice was taken).
sleep 35

# bob's probe, as in 04-isolation: a 2 MB allocation timed every 0.2 s.
probe_start bob
base_from=$(date +%s.%N)
sleep 6
base_to=$(date +%s.%N)
log "bob's probe, baseline: $(probe_stats "$base_from" "$base_to")"
log "MemAvailable before carol: $(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 }' /proc/meminfo) MiB"

mg_mark
t0=$(usec_now)
hot_from=$(date +%s.%N)
run_in_slice carol hog --mb 1800 --step-mb 16 --interval-ms 100 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 120 kill || log "no kill record within 120 s"
kill_ts=$(mg_first_ts kill)
wait_dead "$HOG" 20 || true
hot_to=$(date +%s.%N)
sleep 3
after_to=$(date +%s.%N)

took="none"
[[ -n $kill_ts && $kill_ts != null ]] && took="$(secs_usec "$t0" "$kill_ts")s"
log "carol's hog start -> kill record: $took"
log "kill record: $(mg_events kill | sed -n 1p | jq -c '{MEMGOV_UID, MEMGOV_REASON, MEMGOV_VICTIM_COMM, MEMGOV_VICTIM_PID, MEMGOV_VICTIM_RSS_BYTES, MEMGOV_FAIR_SHARE_BYTES, MEMGOV_EXCESS_BYTES, MEMGOV_GROWTH_BYTES, MEMGOV_REASON_TEXT}')"
journalctl -b --no-pager -o cat -u memgovd --since "@$((t0 / 1000000))" | grep -i 'short' | sed -n 1,20p || true
during=$(probe_stats "$hot_from" "$hot_to")
gap=$(probe_gap "$hot_from" "$hot_to")
log "bob's probe, carol's job running until it died: $during, longest gap $gap"
oom_after=$(vm_oom)
dmesg_after=$(dmesg | grep -c 'Out of memory' || true)
{
  echo "swap: ${SWAP_MB} MiB; ShortageDuration=$SHORTAGE_DURATION"
  echo "hog start -> kill record: $took"
  echo "victim: uid $(mg_field kill MEMGOV_UID) $(mg_field kill MEMGOV_VICTIM_COMM) reason $(mg_field kill MEMGOV_REASON)"
  echo "fair share $(mg_field kill MEMGOV_FAIR_SHARE_BYTES) excess $(mg_field kill MEMGOV_EXCESS_BYTES) growth $(mg_field kill MEMGOV_GROWTH_BYTES)"
  echo "reason: $(mg_field kill MEMGOV_REASON_TEXT)"
  echo "bob's probe baseline: $(probe_stats "$base_from" "$base_to")"
  echo "bob's probe until the hog died: $during, longest gap $gap"
  echo "bob's probe after: $(probe_stats "$hot_to" "$after_to")"
  echo "kernel oom_kill (vmstat) delta: $((oom_after - oom_before)); dmesg 'Out of memory' delta: $((dmesg_after - dmesg_before))"
} | write_result "${SCENARIO}.txt"

assert_dead "$HOG" "carol's hog"
assert_eq 1003 "$(mg_field kill MEMGOV_UID)" "uid of the first kill record"
assert_eq shortage "$(mg_field kill MEMGOV_REASON)" "reason of the kill"
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID)" "victim pid"
assert_match "carol" "$(mg_field kill MEMGOV_REASON_TEXT)" "the reason names carol"
assert_eq 0 "$(mg_count kill MEMGOV_UID=1001)" "kill records for alice"
assert_eq 0 "$(mg_count kill MEMGOV_UID=1002)" "kill records for bob"
assert_untouched alice_idle
assert_untouched bob_idle
assert_alive "$PROBE" "bob's probe"
assert_eq "$oom_before" "$oom_after" "kernel OOM kills (/proc/vmstat oom_kill)"
assert_eq "$dmesg_before" "$dmesg_after" "'Out of memory' lines in dmesg"
for who in alice bob carol; do
  assert_eq 0 "$(oom_kills "$who")" "oom_kill in $who's memory.events"
done

stop_units
mg_cleanup_users alice bob carol
rm -f /etc/memgov/users.d/alice.conf /etc/memgov/users.d/bob.conf /etc/memgov/users.d/carol.conf
scenario_end
