#!/bin/bash
# vm-run: --no-daemon --timeout 1500
# One runaway, three governors. alice has a PAM login shell (runuser -l in a
# pty held by script), a tmux server, and starts a hog from her shell that
# grows past her budget (MemoryHigh=200M, MemoryMax=300M, no swap); bob has
# a sleeper in his slice. The same workload runs under
#   memgovd       users.d/alice.conf with the budget and ThrottleDeadline=10s
#   systemd-oomd  Debian's defaults + ManagedOOMMemoryPressure=kill on user-.slice
#   earlyoom      Debian's defaults (/etc/default/earlyoom)
# and for each we record what was killed, how long after the hog started,
# whether alice's shell and tmux survived and whether bob's sleeper was
# touched. Prints a markdown table; with --record also writes it to
# $MEMGOV_RESULTS/peers.md, on Debian 13 peers-trixie.md (tests/vm/scenario
# --record copies it to tests/vm/results/).
# Pass criterion: every measured governor was really running during its
# column, and memgovd (the product) killed the hog within the cap while
# alice's shell, her tmux and bob's sleeper survived untouched.
# Environment: PEERS="memgovd systemd-oomd earlyoom", PEERS_CAP (seconds a
# governor gets: 120 with --record, which measures; 60 without, a quicker
# look that still judges memgovd, which acts within 15 s).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=peers-lib.sh
. "$(dirname "$0")/peers-lib.sh"

record=0
[[ ${1:-} == --record ]] && record=1
CAP=${PEERS_CAP:-$((record ? 120 : 60))}
HIGH=200M MAX=300M
HOG=(hog --mb 600 --step-mb 8 --interval-ms 100 --hold)
read -r -a PEER_LIST <<<"${PEERS:-memgovd systemd-oomd earlyoom}"
scenario_begin

ROWS=()
NOTES=()

peer_setup() {
  case $1 in
  memgovd)
    memgovd_installed || {
      NOTE="memgovd.service is not installed (the daemon is not built yet)"
      return 1
    }
    mkdir -p /etc/memgov/users.d
    printf 'MemoryHigh=%s\nMemoryMax=%s\nThrottleDeadline=10s\n' "$HIGH" "$MAX" >/etc/memgov/users.d/alice.conf
    log "memgovd: /etc/memgov/users.d/alice.conf: $(tr '\n' ' ' </etc/memgov/users.d/alice.conf)"
    if systemctl is-active --quiet memgovd.service; then
      systemctl reload memgovd.service
    else
      systemctl start memgovd.service
    fi || {
      NOTE="memgovd.service failed to start/reload: $(journalctl -b -u memgovd --no-pager -o cat -n 3 | tr '\n' ' ')"
      return 1
    }
    ;;
  systemd-oomd)
    peer_oomd_start "ManagedOOMMemoryPressure=kill" || {
      NOTE=$PEER_NOTE
      return 1
    }
    ;;
  earlyoom)
    peer_earlyoom_start || {
      NOTE=$PEER_NOTE
      return 1
    }
    ;;
  *) die "unknown peer $1" ;;
  esac
}

peer_teardown() {
  case $1 in
  memgovd)
    peer_memgovd_stop
    rm -f /etc/memgov/users.d/alice.conf
    ;;
  systemd-oomd) peer_oomd_stop ;;
  earlyoom) peer_earlyoom_stop ;;
  esac
}

state_word() { if is_alive "$1"; then echo alive; else echo killed; fi; }

measure() {
  local peer=$1
  log "----- $peer: preparing"
  reset_user alice
  reset_user bob
  rm -f "$TDIR"/alice.* "$TDIR"/bob.*
  NOTE=
  if ! peer_setup "$peer"; then
    log "$peer: NOT MEASURED: $NOTE"
    ROWS+=("| $peer | not measured | — | — | — | — | — | — | — | — |")
    NOTES+=("$peer: $NOTE")
    [[ $peer == memgovd ]] && fail "memgovd column: $NOTE"
    peer_teardown "$peer"
    return 0
  fi
  peer_stop_others "$peer"
  local since
  since=$(date +%s)

  run_in_slice bob sleeper --mb 16 --log "$TDIR/bob.signals"
  local bob_pid=$RUN_PID bob_unit=$RUN_UNIT
  pam_session alice
  local shell_pid=$PAM_SHELL_PID
  [[ $peer == memgovd ]] || set_slice_limits alice "$HIGH" "$MAX"
  local want_high want_max
  want_high=$(numfmt --from=iec "$HIGH") want_max=$(numfmt --from=iec "$MAX")
  if wait_for "[[ \$(slice_prop alice MemoryMax) == $want_max && \$(slice_prop alice MemoryHigh) == $want_high ]]" 20; then
    pass "$peer: budget on user-1001.slice: MemoryHigh=$(slice_prop alice MemoryHigh) MemoryMax=$(slice_prop alice MemoryMax)"
  else
    fail "$peer: budget not applied to user-1001.slice (MemoryHigh=$(slice_prop alice MemoryHigh) MemoryMax=$(slice_prop alice MemoryMax))"
  fi
  pam_send alice "tmux new-session -d -s work 'sleep 100000'; tmux display -p '#{pid}' > $TDIR/alice.tmux.pid"
  wait_for "test -s $TDIR/alice.tmux.pid" 30 || die "alice's tmux server did not start"
  local tmux_pid
  tmux_pid=$(cat "$TDIR/alice.tmux.pid")
  local slice=/sys/fs/cgroup/user.slice/user-1001.slice
  local alice_before oom_before
  alice_before=$(pgrep -U 1001 | tr '\n' ' ')
  oom_before=$(awk '$1 == "oom_kill" { print $2 }' "$slice/memory.events")
  log "$peer: alice's login shell $shell_pid ($(cgroup_of "$shell_pid")), tmux server $tmux_pid, bob's sleeper $bob_pid ($(cgroup_of "$bob_pid"))"

  local t0 hog_pid
  t0=$(now_s)
  pam_send alice "{ sh -c 'echo \$\$ > $TDIR/alice.hog.pid; exec ${HOG[*]}' > $TDIR/alice.hog.out 2>&1; echo \$? > $TDIR/alice.hog.status; } &"
  wait_for "test -s $TDIR/alice.hog.pid" 20 || die "the hog did not start in alice's shell"
  hog_pid=$(cat "$TDIR/alice.hog.pid")
  log "$peer: hog $hog_pid started in $(cgroup_of "$hog_pid"): ${HOG[*]}"

  local killed_after="" rss=0 peak=0 last_report=0 t oomd_dumped="" full=0 full_max=0 avail avail_min=999999
  while :; do
    t=$(now_s)
    if ! is_alive "$hog_pid"; then
      killed_after=$(secs_between "$t0" "$t")
      break
    fi
    local el=${t%.*}
    el=$((el - ${t0%.*}))
    ((el >= CAP)) && break
    rss=$(rss_mb "$hog_pid")
    ((rss > peak)) && peak=$rss
    full=$(awk '$1 == "full" { sub("avg10=", "", $2); printf "%d", $2 }' "$slice/memory.pressure")
    ((full > full_max)) && full_max=$full
    avail=$(awk '$1 == "MemAvailable:" { printf "%d", $2 / 1024 }' /proc/meminfo)
    ((avail < avail_min)) && avail_min=$avail
    if ((el - last_report >= 10)); then
      last_report=$el
      log "$peer: +${el}s hog rss ${rss} MiB, slice memory.current $(($(cat "$slice/memory.current") >> 20)) MiB, pressure: $(awk '{ printf "%s %s ", $1, $2 }' "$slice/memory.pressure")"
      if [[ $peer == systemd-oomd && $el -ge 30 && -z ${oomd_dumped:-} ]]; then
        oomd_dumped=1
        log "systemd-oomd: ManagedOOMMemoryPressure of user-1001.slice: $(systemctl show -p ManagedOOMMemoryPressure,ManagedOOMMemoryPressureLimit --value user-1001.slice | tr '\n' ' ')"
        oomctl dump 2>&1 | sed -n 1,60p | sed 's/^/    | /'
      fi
    fi
    sleep 0.2
  done
  peer_check_running "$peer"
  local pgscan=""
  if [[ $peer == systemd-oomd ]]; then
    pgscan=$(oomctl dump 2>/dev/null | awk '/Path: \/user.slice\/user-1001.slice$/ { f = 1; next } /Path:/ { f = 0 } f && /Pgscan:/ { printf "%s ", $0 }' | tr -s ' \t' ' ' | sed 's/^ //; s/ $//')
    log "systemd-oomd: user-1001.slice at the end: ${pgscan:-not monitored}"
  fi
  # Let the governor finish what it started (SIGTERM -> SIGKILL, cgroup kills).
  sleep 5
  local oom_after
  oom_after=$(awk '$1 == "oom_kill" { print $2 }' "$slice/memory.events" 2>/dev/null || echo "$oom_before")
  local kills kernel_kills
  kills=$(peer_kills "$peer" "$since")
  kernel_kills=$(journalctl -b -k --no-pager --since "@$since" -o cat | grep -E 'Killed process|oom-kill' || true)
  [[ -n $kills ]] && log "$peer said:" && printf '%s\n' "$kills" | sed 's/^/    | /'
  [[ -n $kernel_kills ]] && log "kernel said:" && printf '%s\n' "$kernel_kills" | sed 's/^/    | /'

  local hog_state shell_state tmux_state bob_state hog_status="" by="—" when
  hog_state=$(state_word "$hog_pid")
  shell_state=$(state_word "$shell_pid")
  tmux_state=$(state_word "$tmux_pid")
  if ! is_alive "$bob_pid"; then
    bob_state="killed"
  elif [[ -s $TDIR/bob.signals ]]; then
    bob_state="signalled ($(tr '\n' ' ' <"$TDIR/bob.signals"))"
  else
    bob_state="untouched"
  fi
  [[ -s $TDIR/alice.hog.status ]] && hog_status=$(cat "$TDIR/alice.hog.status")
  if [[ -n $killed_after ]]; then
    when="${killed_after}s"
    if [[ -n $kills ]]; then
      by=$peer
      if [[ $peer == memgovd ]]; then
        by+=" ($(grep -o 'reason=[^ ]*' <<<"$kills" | sed -n 1p), $(grep -o 'policy=[^ ]*' <<<"$kills" | sed -n 1p))"
      fi
    elif ((${oom_after:-0} > ${oom_before:-0})) || [[ -n $kernel_kills ]]; then
      by="kernel OOM killer (memory.max)"
    else
      by="unknown"
    fi
  else
    when="not killed within ${CAP}s"
  fi
  case $hog_status in
  137) hog_state+=" (SIGKILL)" ;;
  143) hog_state+=" (SIGTERM)" ;;
  "") [[ $hog_state == killed ]] && hog_state+=" (with its session)" ;;
  *) hog_state+=" (exit $hog_status)" ;;
  esac
  local alice_total=0 alice_killed=0 p
  for p in $alice_before; do
    alice_total=$((alice_total + 1))
    is_alive "$p" || alice_killed=$((alice_killed + 1))
  done
  log "$peer: hog $when; by $by; hog $hog_state; shell $shell_state; tmux $tmux_state; bob $bob_state; $alice_killed of alice's $alice_total other processes killed; hog peak rss ${peak} MiB"
  ROWS+=("| $peer | $when | $by | hog $hog_state | $shell_state | $tmux_state | $bob_state | $alice_killed of $alice_total | ${peak} MiB | ${full_max}% |")
  local note total_mb
  total_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)
  note="$peer: lowest MemAvailable during the run ${avail_min} MiB of ${total_mb} MiB"
  if [[ $peer == systemd-oomd ]]; then
    note+="; alice's slice as systemd-oomd saw it at the end: ${pgscan:-not monitored}"
    [[ -z $killed_after ]] && note+=" (pressure stayed above its 60% limit, but systemd-oomd $(systemctl --version | awk 'NR == 1 { print $2 }') kills only after recent reclaim, i.e. pgscan growth; without swap there was nothing to reclaim)"
  fi
  if [[ $peer == earlyoom ]]; then
    note+="; earlyoom: ${EARLYOOM_THRESHOLDS:-thresholds not logged}"
  fi
  NOTES+=("$note")

  if [[ $peer == memgovd ]]; then
    # Judged by the kernel: the hog is dead, nothing else of alice's died,
    # the kernel's OOM killer did not act; memgovd's records must all name
    # the hog's pid (a record is what it says it did, not proof).
    local victims
    victims=$(journalctl -b --no-pager --since "@$since" -o json MEMGOV_EVENT=kill 2>/dev/null |
      jq -r '.MEMGOV_VICTIM_PID // "?"' | sort -u | paste -sd ' ')
    if [[ -n $killed_after ]]; then
      pass "the hog $hog_pid died ${killed_after}s after it started"
    else
      fail "the hog $hog_pid was still alive after ${CAP}s"
    fi
    assert_eq "$hog_pid" "$victims" "memgovd: pids in its kill records"
    assert_eq "${oom_before:-0}" "${oom_after:-0}" "memgovd: kernel OOM kills in alice's slice (memory.events oom_kill)"
    assert_eq 0 "$alice_killed" "memgovd: alice's other processes killed (the hog alone; $alice_total checked)"
    assert_true "memgovd: alice had processes to check" test "$alice_total" -ge 3
    assert_eq alive "$shell_state" "memgovd: alice's login shell"
    assert_eq alive "$tmux_state" "memgovd: alice's tmux server"
    assert_eq untouched "$bob_state" "memgovd: bob's sleeper"
  fi

  systemctl stop "$bob_unit" 2>/dev/null || true
  peer_teardown "$peer"
  reset_user alice
  reset_user bob
}

for p in "${PEER_LIST[@]}"; do
  measure "$p"
done

table=$(
  echo "| governor | hog start → kill | killed by | the hog | alice's login shell | alice's tmux | bob's sleeper | alice's other processes killed | hog peak RSS | peak \`full avg10\` of alice's slice |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
)
# Debian 12's table is peers.md, another suite's peers-CODENAME.md.
os_field() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" /etc/os-release; }
codename=$(os_field VERSION_CODENAME)
debian="Debian $(os_field VERSION_ID)"
if [[ $codename == bookworm ]]; then
  result_name=peers.md suite_opt=''
else
  result_name=peers-$codename.md suite_opt="--suite $codename "
fi
report=$(
  echo "## One runaway, three governors ($debian)"
  echo
  echo "Measured by \`tests/vm/scenario ${suite_opt}--record 11-peers\` on $(date -u +%Y-%m-%d) in the test VM:"
  echo "$debian, kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo) RAM, no swap, TCG."
  echo "alice (uid 1001): budget MemoryHigh=$HIGH MemoryMax=$MAX on user-1001.slice; a PAM login shell"
  echo "(\`runuser -l\` in a pty), a tmux server, and \`${HOG[*]}\` started from the shell."
  echo "bob (uid 1002): a sleeper (16 MiB) in user-1002.slice. Cap: ${CAP}s per governor."
  echo
  echo "$table"
  echo
  echo "- memgovd: \`/etc/memgov/users.d/alice.conf\` = MemoryHigh=$HIGH, MemoryMax=$MAX, ThrottleDeadline=10s."
  echo "- systemd-oomd: Debian's defaults plus \`ManagedOOMMemoryPressure=kill\` on \`user-.slice\`; the budget set with \`systemctl set-property --runtime\`."
  echo "- earlyoom: Debian's defaults (\`$(grep '^EARLYOOM_ARGS' /etc/default/earlyoom)\`); the same budget set with \`systemctl set-property --runtime\`."
  for n in "${NOTES[@]}"; do echo "- $n"; done
  echo "- Each governor ran once. systemd-oomd's outcome depends on whether it saw reclaim (pgscan growth) while the pressure lasted, which varies from run to run without swap: rerun to see the spread."
)
echo
echo "$report"
echo
if ((record)); then
  write_result "$result_name" <<<"$report"
  log "recorded the table in $RESULTS/$result_name"
fi
scenario_end
