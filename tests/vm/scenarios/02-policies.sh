#!/bin/bash
# vm-run: --timeout 900
# Policies: in alice's slice, processes with known RSS, CPU time and
# oom_score_adj; a pusher drives the slice over MemoryHigh until memgovd acts.
# For each of rss, runtime and badness the expected victim dies first; when
# it alone cannot bring the slice 1/8 under its budget the same decision
# takes the next ones in policy order, in one round, and every task the
# round did not name lives and is never signalled; the largest process,
# with oom_score_adj=-1000, survives, and so does the small one named in
# Protect= (a name is soft protection: it holds only while the process
# stays under a quarter of the slice).
# Policy=growth: the sleepers hold still and the pusher, smaller than the
# largest of them, is what grew: it goes first.
# ThrottleDeadline=infinity: only sustained pressure can act (reason=pressure).
# POLICY_ROUNDS (02-policies-default) picks the rounds.
# With POLICIES_SWAP_MAX (02-policies-swap, a guest with swap) alice may
# swap that much: the allowance runs out at once, and every policy must
# then act as it does without swap.
# Cooldown=5s and a watch of 12 s after the kill: a second round was
# possible and must not happen, because the slice recovered.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

mg_config_base
mg_restart
login_linger alice
mg_wait_user 1001

# policy_round POLICY EXPECTED-NAME: set up, push, check who died.
policy_round() {
  local policy=$1 expect=$2 t0 ts victim name var
  log "--- Policy=$policy: expecting $expect to die first"
  mg_conf users.d/alice.conf "MemoryHigh=450M" "MemoryMax=550M" "Policy=$policy" "Protect=protectme" \
    "PressureDuration=2s" "KillGrace=2s" "Cooldown=5s" "ThrottleDeadline=infinity" \
    "MemorySwapMax=${POLICIES_SWAP_MAX:-0}"
  mg_reload
  wait_for "[[ \$(slice_prop alice MemoryHigh) == $((450 * 1024 * 1024)) ]]" 15 || die "alice's budget not applied"

  # The largest is protected by oom_score_adj=-1000; protectme only by its
  # name, which holds while it stays under a quarter of the slice.
  sleeper_in alice protectme 50
  sleeper_in alice guard 180 -1000
  local ready_mb=400 push_mb=80
  case $policy in
  rss)
    sleeper_in alice big 100
    sleeper_in alice mid 60
    sleeper_in alice small 30
    ;;
  runtime)
    sleeper_in alice big 100
    # The CPU eater: small, but it has run the longest.
    run_in_slice alice cpuburn --mb 60
    PID_burner=$RUN_PID
    track_unit "$RUN_UNIT"
    sleeper_in alice small 30
    ;;
  badness)
    # oom_score_adj reverses the RSS order: small goes first.
    sleeper_in alice big 100 -500
    sleeper_in alice mid 60 0
    sleeper_in alice small 30 500
    ;;
  growth)
    # Smaller sleepers, a larger pusher: by size big would go first; by
    # growth the pusher, the only task that grows while memgovd samples.
    sleeper_in alice big 60
    sleeper_in alice mid 40
    sleeper_in alice small 20
    ready_mb=340 push_mb=150
    ;;
  esac
  wait_for "[[ \$(slice_file alice memory.current) -ge $((ready_mb * 1024 * 1024)) ]]" 60 ||
    die "the sleepers did not reach ${ready_mb}M (usage $(($(slice_file alice memory.current) >> 20))M)"
  [[ $policy == runtime ]] && sleep 10 # let the burner collect CPU time
  log "slice usage $(($(slice_file alice memory.current) >> 20))M before the pusher"

  mg_mark
  t0=$(usec_now)
  rm -f "$TDIR/pusher.sig"
  run_in_slice alice hog --mb "$push_mb" --step-mb 8 --interval-ms 100 --hold --log "$TDIR/pusher.sig"
  # shellcheck disable=SC2034 # read through ${!var} below
  PID_pusher=$RUN_PID
  track_unit "$RUN_UNIT"
  if ! mg_wait_event 120 kill MEMGOV_UID=1001; then
    fail "no kill within 120 s (usage $(($(slice_file alice memory.current) >> 20))M)"
    stop_units
    return
  fi
  ts=$(mg_first_ts kill MEMGOV_UID=1001)
  # Stop the pressure at once, so only the first decision counts; unless
  # the pusher is the expected victim, whose death memgovd must bring. A
  # round of two may have taken it already (its unit is gone then).
  [[ $expect == pusher ]] || systemctl stop "$RUN_UNIT" 2>/dev/null || true
  log "pusher start -> kill record: $(secs_usec "$t0" "$ts")s"
  mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE, .MEMGOV_CANDIDATES' | sed 's/^/    /'

  # One decision may take several victims in one round (when the first
  # cannot bring the slice 1/8 under its budget): the policy's first choice
  # is the round's first victim.
  var="PID_$expect"
  victim=$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001 MEMGOV_ROUND_INDEX=1)
  assert_eq "${!var}" "$victim" "first victim pid ($expect) under Policy=$policy"
  assert_eq "$policy" "$(mg_field kill MEMGOV_POLICY MEMGOV_UID=1001)" "MEMGOV_POLICY"
  assert_eq pressure "$(mg_field kill MEMGOV_REASON MEMGOV_UID=1001)" "MEMGOV_REASON (no ThrottleDeadline)"
  assert_eq SIGTERM "$(mg_field kill MEMGOV_SIGNAL MEMGOV_UID=1001)" "MEMGOV_SIGNAL"
  round=$(mg_field kill MEMGOV_ROUND_VICTIMS MEMGOV_UID=1001 MEMGOV_ROUND_INDEX=1)
  victims=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_VICTIM_PID' | sort -u | tr '\n' ' ')
  log "round of ${round:-?} victim(s): pids $victims"
  wait_dead "${!var}" 15 || true
  assert_dead "${!var}" "$expect (pid ${!var}), the chosen victim"
  if [[ $expect != burner ]]; then
    # The sleeper's own log: SIGTERM first (it exits on it, no SIGKILL needed).
    assert_match '^signal TERM ' "$(head -n 1 "$TDIR/$expect.sig" 2>/dev/null)" "$expect's own signal log"
  fi
  # Past Cooldown= and PressureDuration= again: memgovd could kill once more.
  sleep 12
  # Protected tasks are never in a round; every task the round did not name
  # is untouched, whatever the policy.
  for name in protectme guard big mid small; do
    var="PID_$name"
    [[ -n ${!var:-} && $name != "$expect" ]] || continue
    case $name in
    protectme | guard) assert_untouched "$name" ;;
    *) [[ " $victims" == *" ${!var} "* ]] || assert_untouched "$name" ;;
    esac
  done
  if [[ $policy == runtime && $expect != burner ]]; then assert_alive "$PID_burner" "burner"; fi
  # One round, and no second one once the pusher stopped.
  assert_eq "${round:-missing}" "$(mg_count kill MEMGOV_UID=1001)" "kill records (12 s after, Cooldown=5s) = the first round's victims"
  assert_eq 0 "$(oom_kills alice)" "kernel OOM kills in alice's slice"

  stop_units
  unset PID_protectme PID_guard PID_big PID_mid PID_small PID_burner PID_pusher
  wait_usage_below alice 50 30 || log "alice's usage is still $(($(slice_file alice memory.current) >> 20))M"
}

# POLICY_ROUNDS (02-policies-default) runs some of the rounds, in its order.
declare -A expected_victim=([rss]=big [runtime]=burner [badness]=small [growth]=pusher)
for policy in ${POLICY_ROUNDS:-rss runtime badness growth}; do
  [[ -n ${expected_victim[$policy]:-} ]] || die "POLICY_ROUNDS: no round for '$policy'"
  policy_round "$policy" "${expected_victim[$policy]}"
done

mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
