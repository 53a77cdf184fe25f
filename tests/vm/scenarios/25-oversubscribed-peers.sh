#!/bin/bash
# vm-run: --no-daemon --timeout 1200
# The oversubscribed node of 23-oversubscribed under each governor, in one
# boot: the kernel alone, memgovd, earlyoom (Debian's defaults) and
# systemd-oomd (Debian's defaults plus ManagedOOMMemoryPressure=kill and
# ManagedOOMSwap=kill on user-.slice). Budgets of 75%/85% of RAM for alice,
# bob and carol (memgovd sets them; for the others they are set with
# `systemctl set-property --runtime`); alice holds 800 MB idle, bob 600 MB
# idle plus a latency probe, both held for IDLE_S seconds (longer than
# memgovd's ShortageGrowthWindow) before carol's job starts; it grows towards
# 1.8 GB until it dies, or for PEERS_CAP seconds.
# Per column: who died (judged by the kernel: which of the users' processes
# are gone, the OOM killer's lines, /proc/vmstat oom_kill), who chose (each
# governor's own log lines), the time from the hog's start to the first
# death, bob's probe and whether alice's and bob's processes survived.
# Prints a markdown table; with --record also writes it to
# $MEMGOV_RESULTS/$OVERSUB_PEERS_RESULT (default oversubscribed-peers.md).
# Pass criterion: memgovd killed carol's hog and nothing else, before any
# kernel OOM kill in its column, and every governor was really running
# during its column (none in the kernel's). The other columns are recorded,
# not judged.
# Environment: PEERS="memgovd kernel earlyoom systemd-oomd",
# PEERS_CAP (seconds per column; 90 without swap, 150 with swap), IDLE_S=70.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
# shellcheck source=peers-lib.sh
. "$(dirname "$0")/peers-lib.sh"

record=0
[[ ${1:-} == --record ]] && record=1
RESULT_NAME=${OVERSUB_PEERS_RESULT:-oversubscribed-peers.md}
SWAP_MB=$(awk '/^SwapTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
TOTAL_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
# As in 23: without swap the kernel's OOM killer follows exhaustion within
# seconds, so memgovd must act on a shortage sooner than the shipped 5 s.
if ((SWAP_MB > 0)); then
  CAP=${PEERS_CAP:-150} SHORTAGE_DURATION=${SHORTAGE_DURATION:-5s}
else
  CAP=${PEERS_CAP:-90} SHORTAGE_DURATION=${SHORTAGE_DURATION:-1s}
fi
IDLE_S=${IDLE_S:-70}
HOG=(hog --mb 1800 --step-mb 16 --interval-ms 100 --hold)
BUDGET=(MemoryHigh=75% MemoryMax=85% MemorySwapMax=infinity)
read -r -a PEER_LIST <<<"${PEERS:-memgovd kernel earlyoom systemd-oomd}"
scenario_begin
log "MemTotal $TOTAL_MB MiB, swap $SWAP_MB MiB, cap ${CAP}s per column"

ROWS=()
NOTES=()
USERS=(alice bob carol)

vm_oom() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }
meminfo_mb() { awk -v k="$1:" '$1 == k { printf "%d", $2 / 1024 }' /proc/meminfo; }

# chooser_lines PEER LINES: one "who: victim" line per kill a log line reports.
chooser_lines() {
  case $1 in
  memgovd) sed 's/^memgovd killed /memgovd: /; s/ policy=[^ ]*//; s/ dry_run=\(0\|false\)//' <<<"$2" ;;
  earlyoom) printf '%s\n' "$2" | sed 's/.*sending \(SIG[A-Z]*\) to process \([0-9]*\) uid \([0-9]*\) "\([^"]*\)".*/earlyoom: \4[\2] uid=\3 \1/' ;;
  systemd-oomd) printf '%s\n' "$2" | sed 's/^Killed \([^ ]*\) due to \(.\{0,60\}\).*/oomd: \1 (\2…)/' ;;
  kernel)
    # oom-kill:constraint=..,[global_oom|oom_memcg=CG],task_memcg=..,task=COMM,pid=N,uid=N
    awk '/oom-kill:/ {
      task = pid = uid = memcg = ""
      n = split($0, a, ",")
      for (i = 1; i <= n; i++) {
        if (a[i] ~ /^task=/) task = substr(a[i], 6)
        else if (a[i] ~ /^pid=/) pid = substr(a[i], 5)
        else if (a[i] ~ /^uid=/) uid = substr(a[i], 5)
        else if (a[i] ~ /^oom_memcg=/) memcg = substr(a[i], 11)
      }
      printf "kernel: %s[%s] uid=%s (%s)\n", task, pid, uid, memcg == "" ? "global OOM" : "memory.max of " memcg
    }' <<<"$2"
    ;;
  esac
}

# memgovd_start: the configuration of 23-oversubscribed.
memgovd_start() {
  memgovd_installed || {
    PEER_NOTE="memgovd.service is not installed"
    return 1
  }
  mg_config_base "ShortageDuration=$SHORTAGE_DURATION"
  local who
  for who in "${USERS[@]}"; do
    mg_conf "users.d/$who.conf" "${BUDGET[@]}" "KillGrace=2s"
  done
  mg_restart
}
memgovd_stop() {
  peer_memgovd_stop
  rm -f "$MG_CONF"/users.d/{alice,bob,carol}.conf "$MG_CONF"/memgov.conf.d/50-test.conf
}

peer_start() {
  PEER_NOTE=
  case $1 in
  kernel) ;;
  memgovd) memgovd_start ;;
  earlyoom) peer_earlyoom_start ;;
  systemd-oomd) peer_oomd_start "ManagedOOMMemoryPressure=kill" "ManagedOOMSwap=kill" ;;
  *) die "unknown peer $1" ;;
  esac
}
peer_stop() {
  case $1 in
  memgovd) memgovd_stop ;;
  earlyoom) peer_earlyoom_stop ;;
  systemd-oomd) peer_oomd_stop ;;
  esac
}
reset_users() {
  local who
  for who in "${USERS[@]}"; do reset_user "$who"; done
}

measure() {
  local peer=$1 who uid
  log "----- $peer: preparing"
  reset_users
  if ! peer_start "$peer"; then
    log "$peer: NOT MEASURED: $PEER_NOTE"
    ROWS+=("| $peer | not measured | — | — | — | — | — | — | — |")
    NOTES+=("$peer: $PEER_NOTE")
    [[ $peer == memgovd ]] && fail "memgovd column: $PEER_NOTE"
    peer_stop "$peer"
    return 0
  fi
  peer_stop_others "$peer"
  for who in "${USERS[@]}"; do login_linger "$who"; done
  for who in "${USERS[@]}"; do
    uid=$(uid_of "$who")
    if [[ $peer == memgovd ]]; then
      mg_wait_user "$uid"
    else
      systemctl set-property --runtime "user-$uid.slice" "${BUDGET[@]}"
    fi
  done
  for who in "${USERS[@]}"; do
    log "$peer: $(user_slice "$who"): $(systemctl show -p MemoryHigh,MemoryMax,MemorySwapMax "$(user_slice "$who")" | tr '\n' ' ')"
  done

  local since oom_before dmesg_before
  since=$(date +%s)
  oom_before=$(vm_oom)
  dmesg_before=$(dmesg | grep -c 'Killed process' || true)
  sleeper_in alice alice_idle 800
  sleeper_in bob bob_idle 600
  # shellcheck disable=SC2154 # set by sleeper_in
  local alice_pid=$PID_alice_idle bob_pid=$PID_bob_idle
  wait_rss "$alice_pid" 790 60 || die "$peer: alice's sleeper did not reach 800 MB"
  wait_rss "$bob_pid" 590 60 || die "$peer: bob's sleeper did not reach 600 MB"
  local held_since
  held_since=$(now_s)
  probe_start bob
  local base_from base_to
  base_from=$(date +%s.%N)
  # Idle means held for a while: memgovd takes first the user who grew the
  # most within ShortageGrowthWindow (1 min), and to it 800 MB loaded 30 s
  # before carol's job is growth (a first run without this wait lost alice's
  # sleeper that way). The same wait for every column.
  sleep "$(awk -v a="$held_since" -v s="$IDLE_S" '{ d = a + s - $1; printf "%.1f", (d > 6 ? d : 6) }' /proc/uptime)"
  base_to=$(date +%s.%N)
  local baseline
  baseline=$(probe_stats "$base_from" "$base_to")
  log "$peer: bob's probe, baseline: $baseline; MemAvailable $(meminfo_mb MemAvailable) MiB, SwapFree $(meminfo_mb SwapFree) MiB"
  # Every process of the three users now, but the probe's short-lived sleeps.
  local -a before=()
  mapfile -t before < <(ps -e -o pid=,ppid=,uid=,comm= | awk -v p="$PROBE" '$3 >= 1001 && $3 <= 1003 && $2 != p { print $1, $3, $4 }')

  mg_mark
  local t0 hot_from hog_pid
  t0=$(now_s)
  hot_from=$(date +%s.%N)
  run_in_slice carol "${HOG[@]}"
  hog_pid=$RUN_PID
  track_unit "$RUN_UNIT"
  log "$peer: carol's hog $hog_pid started: ${HOG[*]}"

  local -A died_at=()
  local -A name_of=([$alice_pid]=alice_idle [$bob_pid]=bob_idle [$PROBE]="bob's probe" [$hog_pid]="carol's hog")
  local t el p first="" first_t="" oom_at_hog_death="" rss peak=0 avail avail_min=999999 swapf swap_min=999999 last_report=0
  while :; do
    t=$(now_s)
    el=$(secs_between "$t0" "$t")
    for p in "$alice_pid" "$bob_pid" "$PROBE" "$hog_pid"; do
      [[ -n ${died_at[$p]:-} ]] && continue
      is_alive "$p" && continue
      died_at[$p]=$el
      [[ -z $first ]] && first=${name_of[$p]} first_t=$el
      log "$peer: +${el}s ${name_of[$p]} ($p) is gone"
    done
    if [[ -n ${died_at[$hog_pid]:-} ]]; then
      oom_at_hog_death=$(vm_oom)
      break
    fi
    ((${el%.*} >= CAP)) && break
    rss=$(rss_mb "$hog_pid")
    ((rss > peak)) && peak=$rss
    avail=$(meminfo_mb MemAvailable)
    ((avail < avail_min)) && avail_min=$avail
    swapf=$(meminfo_mb SwapFree)
    ((swapf < swap_min)) && swap_min=$swapf
    if ((${el%.*} - last_report >= 10)); then
      last_report=${el%.*}
      log "$peer: +${el}s hog rss ${rss} MiB, MemAvailable ${avail} MiB, SwapFree ${swapf} MiB, oom_kill +$(($(vm_oom) - oom_before)), $(awk '$1 == "some" { print "some", $2 }' /proc/pressure/memory)"
    fi
    sleep 0.2
  done
  local hot_to
  hot_to=$(date +%s.%N)
  peer_check_running "$peer"
  # Let the governor finish what it started (SIGTERM -> SIGKILL, cgroup kills).
  sleep 5
  # bob's stalls count until 5 s after the hog died: what he waits for
  # while his pages come back from swap is part of the same stall.
  local settled_to
  settled_to=$(date +%s.%N)

  local oom_after dmesg_after kills kernel_kills chose
  oom_after=$(vm_oom)
  dmesg_after=$(dmesg | grep -c 'Killed process' || true)
  kills=""
  [[ $peer != kernel ]] && kills=$(peer_kills "$peer" "$since")
  kernel_kills=$(peer_kills kernel "$since")
  [[ -n $kills ]] && log "$peer said:" && printf '%s\n' "$kills" | sed 's/^/    | /'
  [[ -n $kernel_kills ]] && log "kernel said:" && printf '%s\n' "$kernel_kills" | sed 's/^/    | /'
  chose=$(
    [[ -n $kills ]] && chooser_lines "$peer" "$kills"
    [[ -n $kernel_kills ]] && chooser_lines kernel "$kernel_kills"
    true
  )
  chose=$(paste -sd ';' <<<"$chose" | sed 's/;/; /g')

  # Who died, judged by the kernel: the users' processes that are gone.
  local line pid puid comm dead=()
  local -A lost=() total=()
  for line in "${before[@]}"; do
    read -r pid puid comm <<<"$line"
    total[$puid]=$((${total[$puid]:-0} + 1))
    is_alive "$pid" && continue
    lost[$puid]=$((${lost[$puid]:-0} + 1))
    dead+=("$puid ${comm}[$pid]")
  done
  is_alive "$hog_pid" || dead+=("1003 hog[$hog_pid]")
  local died
  died=$(printf '%s\n' "${dead[@]}" | sed 's/^\([0-9]*\) /uid=\1 /' | paste -sd ';' | sed 's/;/; /g')
  local during gap stalled first_cell
  during=$(probe_stats "$hot_from" "$hot_to")
  gap=$(probe_gap "$hot_from" "$hot_to")
  stalled=$(probe_stalled "$hot_from" "$settled_to")
  if [[ -n $first ]]; then first_cell="${first_t}s ($first)"; else first_cell="none within ${CAP}s"; fi
  local a_cell="$((${total[1001]:-0} - ${lost[1001]:-0})) of ${total[1001]:-0} alive"
  local b_cell="$((${total[1002]:-0} - ${lost[1002]:-0})) of ${total[1002]:-0} alive"
  signalled alice_idle && a_cell+=", sleeper signalled"
  signalled bob_idle && b_cell+=", sleeper signalled"
  local probe_cell
  probe_cell=$(sed 's/^n=\([0-9]*\) p50=\([^ ]*\) p99=\([^ ]*\) max=\([^ ]*\)/\2 \/ \3 \/ \4 (n=\1)/' <<<"$during")
  log "$peer: first death $first_cell; died: ${died:-nobody}; chose: ${chose:-nobody}; kernel oom_kill +$((oom_after - oom_before)), dmesg 'Killed process' +$((dmesg_after - dmesg_before)); bob's probe $during, longest gap $gap, stalled $stalled"
  ROWS+=("| $peer | $first_cell | ${died:-nobody} | ${chose:-nobody} | $((oom_after - oom_before)) / $((dmesg_after - dmesg_before)) | $a_cell | $b_cell | $probe_cell | $gap | $stalled |")
  local stalls
  stalls=$(probe_stalls "$hot_from" "$hot_to")
  local note="$peer: bob's probe baseline ${baseline}; probe gaps over 0.5 s after the hog started: ${stalls:-none}; hog peak RSS ${peak} MiB; lowest MemAvailable ${avail_min} MiB"
  ((SWAP_MB > 0)) && note+=", lowest SwapFree ${swap_min} MiB of ${SWAP_MB} MiB"
  [[ $peer == earlyoom ]] && note+="; earlyoom: ${EARLYOOM_THRESHOLDS:-thresholds not logged}"
  NOTES+=("$note")

  if [[ $peer == memgovd ]]; then
    local victims
    victims=$(mg_events kill | jq -r '"\(.MEMGOV_UID // "?"):\(.MEMGOV_VICTIM_PID // "?")"' | sort -u | paste -sd ' ')
    assert_dead "$hog_pid" "memgovd: carol's hog"
    assert_eq "carol's hog" "$first" "memgovd: the first to die"
    assert_eq "1003:$hog_pid" "$victims" "memgovd: uid:pid of its kill records"
    assert_eq "$oom_before" "${oom_at_hog_death:-$oom_after}" "memgovd: kernel OOM kills (/proc/vmstat oom_kill) before the hog died"
    assert_eq 0 "${lost[1001]:-0}" "memgovd: alice's processes killed (of ${total[1001]:-0})"
    assert_eq 0 "${lost[1002]:-0}" "memgovd: bob's processes killed (of ${total[1002]:-0})"
    assert_true "memgovd: alice and bob had processes to check" test "${total[1001]:-0}" -ge 2 -a "${total[1002]:-0}" -ge 3
    assert_untouched alice_idle
    assert_untouched bob_idle
    assert_alive "$PROBE" "memgovd: bob's probe"
  fi

  stop_units
  peer_stop "$peer"
  reset_users
}

for p in "${PEER_LIST[@]}"; do
  measure "$p"
done

swap_words="no swap"
((SWAP_MB > 0)) && swap_words="${SWAP_MB} MiB of swap"
table=$(
  echo "| governor | hog start → first death | who died (kernel's view) | who chose (their logs) | kernel OOM kills (vmstat / dmesg) | alice's processes | bob's processes | bob's probe p50 / p99 / max | longest probe gap | bob stalled in all |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
)
report=$(
  echo "## Oversubscribed node, $swap_words: memgovd vs the kernel, earlyoom and systemd-oomd"
  echo
  echo "Measured by \`flock /tmp/memgov-vm.lock tests/vm/scenario --record $SCENARIO\` on $(date -u +%Y-%m-%d) in the test VM:"
  echo "Debian 12, kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), $TOTAL_MB MiB RAM, $swap_words, TCG, one boot, one run per governor."
  echo "Budgets ${BUDGET[*]} for alice (1001), bob (1002) and carol (1003);"
  echo "alice holds 800 MB idle (\`alice_idle\`), bob 600 MB idle (\`bob_idle\`) plus a probe timing a 2 MB allocation every 0.2 s;"
  echo "after they have held it for ${IDLE_S}s, carol runs \`${HOG[*]}\`. Each column ends when the hog dies or after ${CAP}s; users are reset between columns."
  echo
  echo "$table"
  echo
  echo "- The probe figures cover the hog's start to its death (or the cap; a column whose loop the machine stalled runs past it)."
  echo "  \"bob stalled in all\" adds up the probe's gaps over 0.5 s (it sleeps 0.2 s between samples) from the hog's start to 5 s after its death, and counts them."
  echo "  The baseline (below) is the ${IDLE_S}s before the hog. \"alice's/bob's processes\" counts every process of the uid before the hog started (sleeper, user manager, probe), judged alive by /proc afterwards."
  echo "- memgovd: \`[Governor] ShortageDuration=$SHORTAGE_DURATION\`, \`PressureWindow=1s\`; users.d: ${BUDGET[*]} KillGrace=2s (as 23-oversubscribed)."
  echo "- kernel, earlyoom, systemd-oomd: the same budgets set with \`systemctl set-property --runtime\`."
  echo "- earlyoom: Debian's defaults (\`$(grep '^EARLYOOM_ARGS' /etc/default/earlyoom)\`)."
  echo "- systemd-oomd: Debian's defaults plus \`ManagedOOMMemoryPressure=kill\` and \`ManagedOOMSwap=kill\` on \`user-.slice\`."
  for n in "${NOTES[@]}"; do echo "- $n"; done
)
echo
echo "$report"
echo
if ((record)); then
  write_result "$RESULT_NAME" <<<"$report"
  log "recorded the table in $RESULTS/$RESULT_NAME"
fi
scenario_end
