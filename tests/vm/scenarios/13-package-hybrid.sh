#!/bin/bash
# vm-run: --hybrid --no-install --timeout 420
# A host memgovd refuses (hybrid cgroups: the memory controller on cgroup
# v1), with users already at work. Installing memgov must not fail: apt
# succeeds, the service is left failed with memgovd's own explanation
# (naming systemd.unified_cgroup_hierarchy=1) in the journal, nothing
# restarts it, an admin's `systemctl start` fails the same way, nobody is
# signalled and no budget is set. A purge leaves no failed unit behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin

[[ -n ${MEMGOV_DEB:-} && -f $MEMGOV_DEB ]] || die "no package at MEMGOV_DEB='${MEMGOV_DEB:-}' (run with --no-install)"
log "kernel command line: $(cat /proc/cmdline)"
assert_eq tmpfs "$(stat -f -c %T /sys/fs/cgroup)" "filesystem type of /sys/fs/cgroup (hybrid)"
assert_true "the memory controller is on cgroup v1 (hybrid boot)" \
  test -f /sys/fs/cgroup/memory/memory.limit_in_bytes
log "mounts: $(awk '$3 ~ /^cgroup/ { printf "%s(%s) ", $2, $3 }' /proc/mounts)"

# Users at work before the package arrives: a lingering user's process and
# a PAM login session.
run_in_slice alice sleeper --mb 8 --log "$TDIR/alice-sleeper.signals"
alice_pid=$RUN_PID
pam_session bob sleeper --mb 8 --log "$TDIR/bob-sleeper.signals"
wait_for "pgrep -u bob -x sleeper" 30 || die "bob's sleeper did not start"
bob_pid=$(pgrep -u bob -x sleeper | sed -n 1p)
log "alice's sleeper $alice_pid in $(cgroup_of "$alice_pid"); bob's sleeper $bob_pid in $(cgroup_of "$bob_pid")"

t=$(now_s)
if out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$MEMGOV_DEB" </dev/null 2>&1); then
  pass "apt-get install succeeded on a refused host ($(secs_between "$t" "$(now_s)")s)"
else
  fail "apt-get install failed with $?"
fi
printf '%s\n' "$out" | sed 's/^/    | /'
assert_eq "install ok installed" "$(dpkg-query -W -f '${Status}' memgov 2>&1)" "dpkg status of memgov"
wait_for "systemctl is-failed --quiet memgovd.service" 30 || true
assert_eq failed "$(systemctl is-active memgovd.service 2>&1)" "memgovd.service state after install"
assert_eq 3 "$(systemctl show -p ExecMainStatus --value memgovd.service)" \
  "memgovd's exit status (3: a host it refuses)"
sleep 3
assert_eq 0 "$(systemctl show -p NRestarts --value memgovd.service)" "restarts (RestartPreventExitStatus=3)"

# The admin tries again by hand: the same refusal, not a hang.
t=$(now_s)
if out=$(systemctl start memgovd.service 2>&1); then
  fail "systemctl start memgovd succeeded on a hybrid hierarchy"
else
  pass "systemctl start memgovd failed ($(secs_between "$t" "$(now_s)")s): $out"
fi
wait_for "! systemctl is-active --quiet memgovd.service" 20 || true
assert_false "memgovd.service is not active after the admin's start" systemctl is-active --quiet memgovd.service
assert_eq 3 "$(systemctl show -p ExecMainStatus --value memgovd.service)" "memgovd's exit status after the admin's start"

journal=$(journalctl -b -u memgovd.service --no-pager -o cat)
printf '%s\n' "$journal" | sed 's/^/    | /'
assert_match 'Refusing to run' "$journal" "memgovd's journal"
assert_match 'unified_cgroup_hierarchy=1' "$journal" "memgovd's journal names the fix"
log "MEMGOV_EVENT=refused records: $(journal_event_count refused)"

# Nobody was touched.
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
assert_eq infinity "$(slice_prop bob MemoryMax)" "MemoryMax of user-1002.slice (untouched)"

if out=$(DEBIAN_FRONTEND=noninteractive apt-get purge -y -q memgov </dev/null 2>&1); then
  pass "apt-get purge memgov succeeded"
else
  fail "apt-get purge failed: $out"
fi
assert_eq "" "$(systemctl list-units --all --no-legend 'memgovd*' 2>&1)" "loaded units named memgovd* after purge"
assert_eq "" "$(systemctl list-units --failed --no-legend 2>&1 | grep memgovd || true)" "failed memgovd units after purge"
assert_false "/etc/memgov is removed" test -e /etc/memgov

systemctl stop "$RUN_UNIT" 2>/dev/null || true
reset_user bob
scenario_end
