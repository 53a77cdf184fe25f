#!/bin/bash
# vm-run: --timeout 300
# The test bed itself: pure cgroup v2 with the memory controller, PSI, the
# test users, lingering creates user-UID.slice, and memgovctl. It shares a
# boot with memgovd's own scenarios, so memgovd is stopped first: the bed
# is checked with nothing setting budgets (the next scenario restarts it).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin

systemctl stop memgovd.service 2>/dev/null || true
assert_false "memgovd is stopped for the bed's own checks" systemctl is-active --quiet memgovd.service

fs=$(stat -f -c %T /sys/fs/cgroup)
assert_eq cgroup2fs "$fs" "filesystem type of /sys/fs/cgroup"
assert_false "no cgroup v1 hierarchy is mounted" grep -q ' cgroup ' /proc/mounts
controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
log "root cgroup.controllers: $controllers"
assert_match '(^| )memory( |$)' "$controllers" "root cgroup.controllers"
assert_match 'systemd\.unified_cgroup_hierarchy=1' "$(cat /proc/cmdline)" "kernel command line"

if psi=$(cat /proc/pressure/memory 2>&1); then
  pass "/proc/pressure/memory is readable"
  log "/proc/pressure/memory: $(echo "$psi" | tr '\n' ' ')"
else
  fail "/proc/pressure/memory is not readable: $psi"
fi
assert_eq 0 "$(swapon --show --noheadings | wc -l)" "active swap devices"

assert_eq 1001 "$(id -u alice 2>&1)" "uid of alice"
assert_eq 1002 "$(id -u bob 2>&1)" "uid of bob"
assert_eq 1003 "$(id -u carol 2>&1)" "uid of carol"
assert_eq "bob,carol" "$(getent group students | cut -d: -f4)" "members of group students"

t=$(now_s)
login_linger alice
log "enable-linger alice -> user@1001.service active in $(secs_between "$t" "$(now_s)")s"
assert_eq active "$(systemctl is-active user-1001.slice)" "user-1001.slice state"
assert_true "cgroup user.slice/user-1001.slice exists" test -d /sys/fs/cgroup/user.slice/user-1001.slice
assert_true "user-1001.slice has memory.high, memory.max, memory.pressure" \
  test -f /sys/fs/cgroup/user.slice/user-1001.slice/memory.high -a \
  -f /sys/fs/cgroup/user.slice/user-1001.slice/memory.max -a \
  -f /sys/fs/cgroup/user.slice/user-1001.slice/memory.pressure
assert_match memory "$(cat /sys/fs/cgroup/user.slice/user-1001.slice/cgroup.controllers)" \
  "user-1001.slice controllers"

# A limit set through systemd reaches the cgroup, as memgovd will do it.
set_slice_limits alice 200M 300M
assert_eq 209715200 "$(slice_prop alice MemoryHigh)" "MemoryHigh of user-1001.slice after set-property"
assert_eq 314572800 "$(cat /sys/fs/cgroup/user.slice/user-1001.slice/memory.max)" "memory.max of user-1001.slice"
reset_user alice

# A PAM session lands in the user's slice.
pam_session bob
sess_cg=$(cgroup_of "$PAM_SHELL_PID")
log "bob's login shell $PAM_SHELL_PID is in $sess_cg"
assert_match '^/user\.slice/user-1002\.slice/session-[^/]+\.scope$' "$sess_cg" "cgroup of bob's PAM login shell"
reset_user bob

# The workloads shipped by tests/vm/run.
for w in hog sleeper cpuburn; do
  assert_true "workload $w is installed" test -x "/usr/local/bin/$w"
done
out=$(hog --mb 32 --step-mb 16 --interval-ms 0 2>&1)
assert_match 'holding 32 MiB' "$out" "hog --mb 32 output"

if out=$(memgovctl --help 2>&1); then
  pass "memgovctl --help runs"
else
  fail "memgovctl --help failed: $out"
fi

# Installed, but nothing runs them: earlyoom disabled, systemd-oomd masked
# (Debian's user@.service drop-in would otherwise pull it in).
assert_eq disabled "$(systemctl is-enabled earlyoom.service 2>&1)" "earlyoom.service enablement"
assert_eq masked "$(systemctl is-enabled systemd-oomd.service 2>&1)" "systemd-oomd.service enablement"
assert_eq masked "$(systemctl is-enabled systemd-oomd.socket 2>&1)" "systemd-oomd.socket enablement"
for peer in systemd-oomd earlyoom; do
  assert_false "$peer is not running" systemctl is-active --quiet "$peer.service"
done
scenario_end
