#!/bin/bash
# vm-run: --hybrid --no-daemon --timeout 300
# On a hybrid hierarchy (memory controller on cgroup v1) memgovd must refuse
# to start, say why (naming systemd.unified_cgroup_hierarchy=1), and signal
# nobody.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin

log "kernel command line: $(cat /proc/cmdline)"
assert_eq tmpfs "$(stat -f -c %T /sys/fs/cgroup)" "filesystem type of /sys/fs/cgroup (hybrid)"
assert_true "the memory controller is on cgroup v1 (/sys/fs/cgroup/memory)" \
  test -f /sys/fs/cgroup/memory/memory.limit_in_bytes
log "mounts: $(awk '$3 ~ /^cgroup/ { printf "%s(%s) ", $2, $3 }' /proc/mounts)"

memgovd_installed ||
  die "memgovd.service is not installed: the guest's install of the memgov package did not provide it"

# Innocent bystanders: a sleeper in alice's slice and one in bob's PAM session.
run_in_slice alice sleeper --mb 8 --log "$TDIR/alice-sleeper.signals"
alice_pid=$RUN_PID
pam_session bob sleeper --mb 8 --log "$TDIR/bob-sleeper.signals"
wait_for "pgrep -u bob -x sleeper" 30 || die "bob's sleeper did not start"
bob_pid=$(pgrep -u bob -x sleeper | sed -n 1p)
log "alice's sleeper $alice_pid in $(cgroup_of "$alice_pid"); bob's sleeper $bob_pid in $(cgroup_of "$bob_pid")"

t=$(now_s)
if out=$(systemctl start memgovd.service 2>&1); then
  fail "systemctl start memgovd succeeded on a hybrid hierarchy"
else
  pass "systemctl start memgovd failed ($(secs_between "$t" "$(now_s)")s): $out"
fi
# With Restart= the unit may retry; give it a moment to settle.
wait_for "! systemctl is-active --quiet memgovd.service" 20 || true
assert_false "memgovd.service is not active" systemctl is-active --quiet memgovd.service
main_status=$(systemctl show -p ExecMainStatus --value memgovd.service)
log "memgovd ExecMainStatus=$main_status, Result=$(systemctl show -p Result --value memgovd.service)"
if [[ $main_status =~ ^[0-9]+$ ]] && ((main_status != 0)); then
  pass "memgovd exited non-zero ($main_status)"
else
  fail "memgovd exit status is '$main_status', expected non-zero"
fi

journal=$(journalctl -b -u memgovd.service --no-pager -o cat)
log "journalctl -u memgovd:"
printf '%s\n' "$journal" | sed 's/^/    | /'
if grep -qi 'unified_cgroup_hierarchy' <<<"$journal"; then
  pass "memgovd's message names systemd.unified_cgroup_hierarchy=1"
else
  fail "memgovd's journal does not mention unified_cgroup_hierarchy"
fi
log "MEMGOV_EVENT=refused records: $(journal_event_count refused)"

sleep 2
assert_alive "$alice_pid" "alice's sleeper (user-1001.slice)"
assert_alive "$bob_pid" "bob's sleeper (PAM session)"
for f in "$TDIR/alice-sleeper.signals" "$TDIR/bob-sleeper.signals"; do
  if [[ -s $f ]]; then
    fail "a sleeper was signalled: $(cat "$f")"
  else
    pass "no signal reached $(basename "$f" .signals)"
  fi
done
assert_eq infinity "$(slice_prop alice MemoryMax)" "MemoryMax of user-1001.slice (untouched)"

systemctl stop "$RUN_UNIT" 2>/dev/null || true
reset_user bob
scenario_end
