#!/bin/bash
# vm-run: --hybrid --no-install --timeout 300
# Installing memgov on a host memgovd refuses (hybrid cgroups: the memory
# controller on cgroup v1) must not fail: apt succeeds, the service is left
# failed with memgovd's own explanation in the journal, nothing restarts it,
# and a purge leaves no failed unit behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin

[[ -n ${MEMGOV_DEB:-} && -f $MEMGOV_DEB ]] || die "no package at MEMGOV_DEB='${MEMGOV_DEB:-}' (run with --no-install)"
assert_true "the memory controller is on cgroup v1 (hybrid boot)" \
  test -f /sys/fs/cgroup/memory/memory.limit_in_bytes

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
journal=$(journalctl -b -u memgovd.service --no-pager -o cat)
printf '%s\n' "$journal" | sed 's/^/    | /'
assert_match 'Refusing to run' "$journal" "memgovd's journal"
assert_match 'unified_cgroup_hierarchy=1' "$journal" "memgovd's journal names the fix"

if out=$(DEBIAN_FRONTEND=noninteractive apt-get purge -y -q memgov </dev/null 2>&1); then
  pass "apt-get purge memgov succeeded"
else
  fail "apt-get purge failed: $out"
fi
assert_eq "" "$(systemctl list-units --all --no-legend 'memgovd*' 2>&1)" "loaded units named memgovd* after purge"
assert_eq "" "$(systemctl list-units --failed --no-legend 2>&1 | grep memgovd || true)" "failed memgovd units after purge"
assert_false "/etc/memgov is removed" test -e /etc/memgov
scenario_end
