#!/bin/bash
# vm-run: --timeout 900
# memgovctl against the kernel: `status --json`, `top --json` and `explain`
# for two users with different budgets (alice from users.d/, bob from a
# groups.d/ drop-in) are compared with what the kernel and systemd report at
# the same moment: the slice's memory.high/memory.max and `systemctl show`,
# memory.current, every pid in the slice's cgroup tree and each one's VmRSS.
# The would-be victim that top ranks first and explain names is the one the
# policy must pick for the sleepers' known sizes. Then each slice is pushed
# over its budget until memgovd kills, and status's kill count per user must
# equal the kill records in the journal and the processes that really died
# (gone from /proc, with SIGTERM in their own signal logs).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
# Slack for values read a few milliseconds apart from an idle slice.
USAGE_SLACK=$((4 * M))
CTL_JSON=$TDIR/ctl.json

mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=350M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s"
# bob is in students; nothing in users.d/ names him.
mg_conf groups.d/students.conf "MemoryHigh=300M" "MemoryMax=400M" "Policy=badness" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s"
mg_restart
mg_mark
login_linger alice
login_linger bob
mg_wait_user 1001
mg_wait_user 1002
for u in alice bob; do
  uid=$(uid_of "$u")
  wait_for "[[ \$(slice_prop $u MemoryMax) != infinity && \$(slice_prop $u MemoryHigh) != infinity ]]" 15 ||
    die "$u's budget was never applied (MemoryHigh=$(slice_prop "$u" MemoryHigh))"
  wait_for "[[ \$(mg_status_field '.users[] | select(.uid == $uid) | .max') != null ]]" 15 ||
    log "$u: status.json still has no MemoryMax"
done

# Known sizes. alice (Policy=rss): a_big is the largest, so it goes first.
# bob (Policy=badness): oom_score_adj=500 puts the smallest, b_small, first.
sleeper_in alice a_big 100
sleeper_in alice a_mid 60
sleeper_in alice a_small 30
sleeper_in bob b_big 100
sleeper_in bob b_mid 60 0
sleeper_in bob b_small 40 500
declare -A SIZE_MB=([a_big]=100 [a_mid]=60 [a_small]=30 [b_big]=100 [b_mid]=60 [b_small]=40)
for n in "${!SIZE_MB[@]}"; do
  var=PID_$n
  mb=${SIZE_MB[$n]}
  wait_rss "${!var}" $((mb - 2)) 30 || die "$n (pid ${!var}) never reached ${mb}M (rss $(rss_mb "${!var}")M)"
done
sleep 2 # let page tables and the slices' counters settle

# slice_dir USER: the slice's cgroup directory.
slice_dir() { echo "/sys/fs/cgroup/user.slice/user-$(uid_of "$1").slice"; }
# slice_pids USER: every pid in the slice and all cgroups below it, sorted.
slice_pids() { find "$(slice_dir "$1")" -name cgroup.procs -exec cat {} + | sort -n | tr '\n' ' '; }

# --- status --json: limits and usage -----------------------------------------
check_status() {
  local user=$1 high=$2 max=$3 uid cur0 cur1 live lo hi rc=0 sel
  uid=$(uid_of "$user")
  cur0=$(slice_file "$user" memory.current)
  memgovctl status --json >"$CTL_JSON" || rc=$?
  cur1=$(slice_file "$user" memory.current)
  assert_eq 0 "$rc" "memgovctl status --json exit status (memgovd running)"
  sel=".users[] | select(.uid == $uid)"
  assert_eq "user.slice/user-$uid.slice" "$(jq -r "$sel.slice" "$CTL_JSON")" "$user: status --json slice"
  assert_eq "$high" "$(jq -r "$sel.high" "$CTL_JSON")" "$user: status --json high"
  assert_eq "$high" "$(slice_prop "$user" MemoryHigh)" "$user: systemctl show MemoryHigh"
  assert_eq "$high" "$(slice_file "$user" memory.high)" "$user: memory.high of the slice"
  assert_eq "$max" "$(jq -r "$sel.max" "$CTL_JSON")" "$user: status --json max"
  assert_eq "$max" "$(slice_prop "$user" MemoryMax)" "$user: systemctl show MemoryMax"
  assert_eq "$max" "$(slice_file "$user" memory.max)" "$user: memory.max of the slice"
  assert_eq "$high/$max" "$(jq -r "$sel | \"\\(.budget_high)/\\(.budget_max)\"" "$CTL_JSON")" \
    "$user: status --json budget_high/budget_max"
  live=$(jq -r "$sel.usage_live" "$CTL_JSON")
  lo=$((cur0 < cur1 ? cur0 : cur1))
  hi=$((cur0 > cur1 ? cur0 : cur1))
  if [[ $live =~ ^[0-9]+$ ]] && ((live >= lo - USAGE_SLACK && live <= hi + USAGE_SLACK)); then
    pass "$user: status --json usage_live $((live / M))M is memory.current ($((cur0 / M))M, $((cur1 / M))M read around it)"
  else
    fail "$user: status --json usage_live '$live' is not memory.current ($cur0, $cur1) within $((USAGE_SLACK / M))M"
  fi
  if ((live < 150 * M)); then
    fail "$user: usage_live $((live / M))M is less than the sleepers hold"
  fi
  log "$user: memgovd's last sample: usage $(($(jq -r "$sel.usage" "$CTL_JSON") / M))M"
}
check_status alice $((250 * M)) $((350 * M))
check_status bob $((300 * M)) $((400 * M))

# --- top --json: the slice's pids, their RSS, the first choice ---------------
# check_top USER POLICY EXPECTED-NAME: sets TOP_FIRST.
check_top() {
  local user=$1 policy=$2 expect=$3 before after top_pids rc=0 pid rss vm diff bad=0 n var
  for _ in 1 2 3; do
    before=$(slice_pids "$user")
    rc=0
    memgovctl top --json "$user" >"$CTL_JSON" || rc=$?
    after=$(slice_pids "$user")
    [[ $before == "$after" ]] && break
    log "$user: the slice's pids changed while top ran; again"
  done
  assert_eq 0 "$rc" "memgovctl top --json $user exit status"
  assert_eq "$policy" "$(jq -r .policy "$CTL_JSON")" "$user: top's policy"
  # Relative to the cgroup root, like status's "slice" (the table prints a '/').
  assert_eq "user.slice/user-$(uid_of "$user").slice" "$(jq -r .cgroup "$CTL_JSON")" "$user: top's cgroup"
  top_pids=$(jq -r '.tasks[].pid' "$CTL_JSON" | sort -n | tr '\n' ' ')
  assert_eq "$after" "$top_pids" "$user: top's pids = cgroup.procs of every cgroup in the slice"
  n=$(jq -r '.tasks | length' "$CTL_JSON")
  assert_true "$user: top lists the 3 sleepers and the user manager ($n tasks)" test "$n" -ge 4
  # Each task's RSS next to the kernel's VmRSS, read just after.
  while read -r pid rss; do
    vm=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n $vm ]] || continue # exited since: nothing to compare
    diff=$((rss > vm ? rss - vm : vm - rss))
    if ((diff > M + vm / 50)); then
      fail "$user: pid $pid: top's rss_bytes $rss, VmRSS $vm"
      bad=1
    fi
  done < <(jq -r '.tasks[] | "\(.pid) \(.rss_bytes)"' "$CTL_JSON")
  ((bad)) || pass "$user: every task's rss_bytes is its VmRSS within 1M + 2%"
  var=PID_$expect
  TOP_FIRST=$(jq -r '.tasks[0].pid' "$CTL_JSON")
  assert_eq "${!var}" "$TOP_FIRST" "$user: top's first under Policy=$policy ($expect)"
  assert_eq false "$(jq -r '.tasks[0].protected' "$CTL_JSON")" "$user: top's first is not protected"
  rss=$(jq -r '.tasks[0].rss_bytes' "$CTL_JSON")
  log "$user: top's first: pid $TOP_FIRST ($(jq -r '.tasks[0].comm' "$CTL_JSON")), rss $((rss / M))M"
}
check_top alice rss a_big
TOP_FIRST_alice=$TOP_FIRST
check_top bob badness b_small
TOP_FIRST_bob=$TOP_FIRST

# --- explain: where each value comes from, the would-be victim ---------------
# check_explain USER FILE HIGH MAX POLICY TOP-FIRST
check_explain() {
  local user=$1 file=$2 high=$3 max=$4 policy=$5 first=$6 out rc=0 key
  out=$(memgovctl explain "$user") || rc=$?
  assert_eq 0 "$rc" "memgovctl explain $user exit status"
  for key in "MemoryHigh=$high" "MemoryMax=$max" "Policy=$policy"; do
    assert_eq "$file" "$(awk -v k="$key" '$1 == k { print $2 }' <<<"$out")" "$user: explain's source of $key"
  done
  assert_eq "/etc/memgov/memgov.conf.d/50-test.conf" \
    "$(awk '$1 ~ /^MemorySwapMax=/ { print $2 }' <<<"$out")" "$user: explain's source of MemorySwapMax (the defaults)"
  assert_eq "$first" "$(sed -n 's/^ *victim: *pid \([0-9]*\) .*/\1/p' <<<"$out")" "$user: explain's victim = top's first"
  assert_match "memory.high $high, memory.max $max\$" "$(grep 'limits in force' <<<"$out")" \
    "$user: explain's limits in force"
}
check_explain alice /etc/memgov/users.d/alice.conf 250M 350M rss "$TOP_FIRST_alice"
check_explain bob /etc/memgov/groups.d/students.conf 300M 400M badness "$TOP_FIRST_bob"

# --- kills: status's count = journal records = processes that died ----------
declare -A NAME_OF=()
for n in "${!SIZE_MB[@]}"; do
  var=PID_$n
  NAME_OF[${!var}]=$n
done
# shellcheck disable=SC2317 # called from wait_for's string
dead_count() {
  local pid n=0
  for pid in $PUSH_PIDS; do is_alive "$pid" || n=$((n + 1)); done
  echo "$n"
}
kills_of() { memgovctl status --json | jq -r ".users[] | select(.uid == $(uid_of "$1")) | .kills"; }

# push USER HOG-NAME HIGH-MB: a hog that logs its signals and would take the
# slice 30M over MemoryHigh, until memgovd kills. Just over: the first
# victims bring the slice back under, so the kills end with one decision.
push() {
  local user=$1 name=$2 high=$3 uid before mb
  uid=$(uid_of "$user")
  rm -f "$TDIR/$name.sig"
  before=$(slice_pids "$user")
  mb=$((high - $(slice_file "$user" memory.current) / M + 30))
  log "$user: usage $(($(slice_file "$user" memory.current) / M))M of MemoryHigh=${high}M: a hog of ${mb}M"
  run_in_slice "$user" hog --mb "$mb" --step-mb 8 --interval-ms 100 --hold --log "$TDIR/$name.sig"
  track_unit "$RUN_UNIT"
  NAME_OF[$RUN_PID]=$name
  PUSH_PIDS="$before $RUN_PID"
  mg_wait_event 120 kill "MEMGOV_UID=$uid" ||
    die "no kill of $user's within 120 s (usage $(($(slice_file "$user" memory.current) / M))M)"
  # Past KillGrace=, Cooldown= and PressureDuration=: the decision is complete
  # and any further round would have started.
  sleep 12
}

# check_kills USER KILLS-BEFORE TOP-FIRST: after push.
check_kills() {
  local user=$1 kills0=$2 first=$3 uid records status died=() pid name line victims
  uid=$(uid_of "$user")
  # Let a round under way finish (KillGrace=, the status file); the
  # assertions below still compare what is there then.
  wait_for "[[ \$(dead_count) -eq \$(mg_count kill MEMGOV_UID=$uid) && \$((\$(kills_of $user) - $kills0)) -eq \$(mg_count kill MEMGOV_UID=$uid) ]]" 20 || true
  for pid in $PUSH_PIDS; do
    is_alive "$pid" && continue
    died+=("$pid")
  done
  records=$(mg_count kill "MEMGOV_UID=$uid")
  status=$(($(kills_of "$user") - kills0))
  log "$user: status kills +$status, kill records $records, died: ${died[*]:-none}"
  assert_true "$user: memgovd killed at least once" test "$records" -ge 1
  assert_eq "$records" "$status" "$user: status --json kills (increase) = MEMGOV_EVENT=kill records"
  assert_eq "$records" "${#died[@]}" "$user: kill records = processes of the slice that died"
  victims=$(mg_events kill "MEMGOV_UID=$uid" | jq -r .MEMGOV_VICTIM_PID | sort -n | tr '\n' ' ')
  assert_eq "$victims" "$(printf '%s\n' "${died[@]}" | sort -n | tr '\n' ' ')" "$user: the records' victim pids = the pids that died"
  assert_eq "$first" "$(mg_field kill MEMGOV_VICTIM_PID "MEMGOV_UID=$uid" MEMGOV_ROUND_INDEX=1)" \
    "$user: the first victim is top's and explain's first"
  for pid in "${died[@]}"; do
    name=${NAME_OF[$pid]:-}
    if [[ -z $name ]]; then
      fail "$user: pid $pid died, and it was none of the scenario's workloads"
      continue
    fi
    line=$(head -n 1 "$TDIR/$name.sig" 2>/dev/null || true)
    assert_match '^signal TERM ' "$line" "$user: $name (pid $pid), dead, its own signal log"
  done
  assert_eq 0 "$(oom_kills "$user")" "$user: kernel OOM kills in the slice"
}

alice_k0=$(kills_of alice)
bob_k0=$(kills_of bob)
log "status kills before the pushes: alice $alice_k0, bob $bob_k0"
push alice a_hog 250
check_kills alice "$alice_k0" "$TOP_FIRST_alice"
assert_eq 0 "$(mg_count kill MEMGOV_UID=1002)" "bob: no kill record while only alice was pushed"
assert_eq "$bob_k0" "$(kills_of bob)" "bob: status kills unchanged while only alice was pushed"
push bob b_hog 300
check_kills bob "$bob_k0" "$TOP_FIRST_bob"
assert_eq 0 "$(mg_events kill | jq -r .MEMGOV_UID | grep -vc -e '^1001$' -e '^1002$' || true)" \
  "kill records for anyone but alice and bob"

stop_units
mg_cleanup_users alice bob
rm -f /etc/memgov/users.d/alice.conf /etc/memgov/groups.d/students.conf
scenario_end
