#!/bin/bash
# vm-run: --timeout 900
# The hard limit: a burst allocation faster than the governor makes the
# kernel OOM-kill at MemoryMax=. memgovd reports it as a kernel-oom-kill
# record with the victim's pid and name (from /dev/kmsg), tells alice on her
# terminal, and does not kill anything more on top of the kernel's kill.
# The rule at the hard limit: a memory.events `max` event alone is no
# evidence of an OOM (the kernel raises it before it tries reclaim), so
# memgovd never kills on it. At MemoryMax with nothing left to reclaim
# either the kernel's OOM killer acts (memgovd reports it), or memgovd sees
# the slice's own `oom` counter rise before any kernel kill and ends the
# task at once (reason oom, SIGKILL without grace), or its pressure or
# deadline kill acts first. To make the burst deterministically the
# kernel's, memgovd is paused (SIGSTOP) for the first burst. A second burst
# with memgovd running shows the natural race: judged by the kernel's
# counters, exactly one of them acted on the hog, and the bystander lives.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

mg_config_base
# No MemoryHigh: nothing throttles before the wall, so the kernel acts first.
mg_conf users.d/alice.conf "MemoryHigh=infinity" "MemoryMax=200M" "Policy=rss"
mg_restart
pam_session alice
mg_wait_user 1001
assert_eq $((200 * 1024 * 1024)) "$(slice_prop alice MemoryMax)" "alice's MemoryMax"
assert_eq infinity "$(slice_prop alice MemoryHigh)" "alice's MemoryHigh"

sleeper_in alice bystander 20
oom_before=$(oom_kills alice)
mg_mark
MGPID=$(mg_pid)
kill -STOP "$MGPID"
run_in_slice alice hog --mb 400 --step-mb 100 --interval-ms 0 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
wait_dead "$HOG" 30 || true
assert_dead "$HOG" "the burst hog (killed by the kernel)"
assert_eq $((oom_before + 1)) "$(oom_kills alice)" "oom_kill in alice's memory.events"
dmesg | grep -E 'oom-kill:|Killed process' | tail -n 2 | sed 's/^/    dmesg: /'
t0=$(usec_now)
kill -CONT "$MGPID"

mg_wait_event 15 kernel-oom-kill MEMGOV_UID=1001 || die "no kernel-oom-kill record within 15 s"
took=$(secs_usec "$t0" "$(mg_first_ts kernel-oom-kill MEMGOV_UID=1001)")
log "memgovd resumed -> kernel-oom-kill record: ${took}s"
write_figures kernel-oom-report.md "A kernel OOM kill, reported (06-hard-limit)" \
  "memgovd resumed (SIGCONT) after the kernel's kill → kernel-oom-kill record from /dev/kmsg" "${took}s"
mg_events kernel-oom-kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq "$HOG" "$(mg_field kernel-oom-kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "MEMGOV_VICTIM_PID"
assert_eq hog "$(mg_field kernel-oom-kill MEMGOV_VICTIM_COMM MEMGOV_UID=1001)" "MEMGOV_VICTIM_COMM"
assert_eq kmsg "$(mg_field kernel-oom-kill MEMGOV_SOURCE MEMGOV_UID=1001)" "MEMGOV_SOURCE"
rss=$(mg_field kernel-oom-kill MEMGOV_VICTIM_RSS_BYTES MEMGOV_UID=1001)
assert_true "MEMGOV_VICTIM_RSS_BYTES (${rss:-none}) is the hog's ~200M" test "${rss:-0}" -gt $((150 * 1024 * 1024))
assert_eq 1 "$(mg_count kernel-oom-kill MEMGOV_UID=1001)" "kernel-oom-kill records"
sleep 3
assert_eq 0 "$(mg_count kill MEMGOV_UID=1001)" "memgovd's own kills on top of the kernel's"
assert_untouched bystander
wait_for "grep -q 'the kernel killed hog' $PAM_TTY_LOG" 10 || true
assert_true "alice's terminal tells her the kernel killed hog" grep -q "the kernel killed hog (pid $HOG)" "$PAM_TTY_LOG"
wait_for "[[ \$(mg_status_field '.users[] | select(.uid == 1001) | .kernel_oom_kills') == 1 ]]" 10 || true
assert_eq 1 "$(mg_status_field '.users[] | select(.uid == 1001) | .kernel_oom_kills')" "kernel_oom_kills in status.json"
assert_eq "$HOG" "$(mg_status_field '.users[] | select(.uid == 1001) | .last_victim_pid')" "last_victim_pid in status.json"

# --- the natural race: memgovd running ----------------------------------------
stop_units
sleeper_in alice bystander 20
sleep 6
mg_mark
oom_before=$(oom_kills alice)
run_in_slice alice hog --mb 400 --step-mb 100 --interval-ms 0 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
wait_dead "$HOG" 30 || true
assert_dead "$HOG" "the second burst hog"
sleep 3
kernel=$(($(oom_kills alice) - oom_before))
ours=$(mg_count kill MEMGOV_UID=1001)
reported=$(mg_count kernel-oom-kill MEMGOV_UID=1001)
if ((ours == 1)); then
  log "memgovd won the race: $(mg_field kill MESSAGE MEMGOV_UID=1001)"
  reason=$(mg_field kill MEMGOV_REASON MEMGOV_UID=1001)
  assert_true "MEMGOV_REASON of memgovd's kill ($reason) is evidence, never max events alone" \
    grep -qx -e oom -e pressure -e deadline <<<"$reason"
  if [[ $reason == oom ]]; then
    assert_eq SIGKILL "$(mg_field kill MEMGOV_SIGNAL MEMGOV_UID=1001)" "MEMGOV_SIGNAL (no grace for an OOM in progress)"
  fi
  assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "victim pid"
else
  log "the kernel won the race"
  assert_eq "$HOG" "$(mg_field kernel-oom-kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "MEMGOV_VICTIM_PID of the report"
fi
# memgovd's SIGKILL and the kernel's OOM kill can land on the hog in the
# same instant: then both name the same process, and nothing else died.
if ((ours == 1 && kernel == 1)); then
  log "memgovd and the kernel both acted at once, on the same task"
  assert_eq "$HOG" "$(mg_field kernel-oom-kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "the kernel's victim is memgovd's"
else
  assert_eq 1 "$((ours + kernel))" "kills in total (memgovd's $ours + the kernel's $kernel)"
fi
assert_eq "$kernel" "$reported" "every kernel OOM kill is reported"
assert_untouched bystander

stop_units
mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
