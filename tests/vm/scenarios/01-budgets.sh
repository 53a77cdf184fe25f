#!/bin/bash
# vm-run: --timeout 900
# Budgets: lingering and PAM-login users get MemoryHigh/MemoryMax/MemorySwapMax
# from the defaults, groups.d/ and users.d/ in the documented precedence; a
# user who logs in later gets theirs; a reload applies an edit; a budget below
# current usage is stepped down instead of triggering the OOM killer.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
mg_config_base
# Defaults 400M/500M/0 (memgov.conf.d); students 300M/350M; alice by name;
# carol by uid, on top of her group.
mg_conf groups.d/students.conf "MemoryHigh=300M" "MemoryMax=350M"
mg_conf users.d/alice.conf "[Defaults]" "MemoryHigh=600M" "MemoryMax=700M" "MemorySwapMax=64M"
# carol's own MemoryMax= is above the defaults' MemoryHigh=400M: one lower
# would be a configuration error (memgov.conf(5): MemoryHigh= above
# MemoryMax= for a user in no group), and memgovd would not start.
mg_conf users.d/1003.conf "MemoryMax=450M"
# Each budget below is set at the user's login, which is what the records
# are checked for: nobody may be known to logind from an earlier scenario.
for u in alice bob carol; do
  reset_user "$u"
  wait_logind_forgets "$u"
done
mg_restart
mg_mark

# expect_limits USER HIGH MAX SWAP (bytes): wait for systemd to show them.
expect_limits() {
  local user=$1 high=$2 max=$3 swap=$4 got
  wait_for "[[ \$(slice_prop $user MemoryHigh) == $high && \$(slice_prop $user MemoryMax) == $max ]]" 15 || true
  got="$(slice_prop "$user" MemoryHigh)/$(slice_prop "$user" MemoryMax)/$(slice_prop "$user" MemorySwapMax)"
  assert_eq "$high/$max/$swap" "$got" "$user: MemoryHigh/MemoryMax/MemorySwapMax of $(user_slice "$user")"
}

# --- a lingering user (user@.service, no session) ----------------------------
t=$(now_s)
login_linger alice
expect_limits alice $((600 * M)) $((700 * M)) $((64 * M))
log "alice: limits in place $(secs_between "$t" "$(now_s)")s after enable-linger"
assert_eq $((700 * M)) "$(slice_file alice memory.max)" "memory.max in alice's cgroup (set by systemd)"

# --- a PAM login (runuser -l), group students ------------------------------
pam_session bob
expect_limits bob $((300 * M)) $((350 * M)) 0
assert_match '^/user\.slice/user-1002\.slice/session-' "$(cgroup_of "$PAM_SHELL_PID")" "bob's login shell cgroup"

# --- logs in later: group budget, MemoryMax overridden by users.d/1003.conf --
sleep 2
login_linger carol
expect_limits carol $((300 * M)) $((450 * M)) 0

n=$(mg_count limit)
log "limit records so far: $n"
assert_true "one limit record per user at least (alice, bob, carol)" \
  test "$(mg_count limit MEMGOV_UID=1001)" -ge 1 -a "$(mg_count limit MEMGOV_UID=1002)" -ge 1 -a "$(mg_count limit MEMGOV_UID=1003)" -ge 1
assert_eq "$((450 * M))" "$(mg_field limit MEMGOV_MAX_BYTES MEMGOV_UID=1003)" "MEMGOV_MAX_BYTES of carol's limit record"

# --- reload after an edit ----------------------------------------------------
mg_conf users.d/alice.conf "MemoryHigh=500M" "MemoryMax=550M" "MemorySwapMax=32M"
mg_conf groups.d/students.conf "MemoryHigh=250M" "MemoryMax=300M"
mg_reload
expect_limits alice $((500 * M)) $((550 * M)) $((32 * M))
expect_limits bob $((250 * M)) $((300 * M)) 0
expect_limits carol $((250 * M)) $((450 * M)) 0

# --- lowering a budget below current usage steps down ------------------------
run_in_slice alice hog --mb 300 --step-mb 50 --interval-ms 50 --hold
HOG=$RUN_PID
wait_rss "$HOG" 300 60 || die "hog did not reach 300 MiB (rss $(rss_mb "$HOG") MiB)"
usage=$(slice_file alice memory.current)
log "alice uses $((usage / M)) MiB; lowering her budget to MemoryHigh=150M MemoryMax=200M"
oom_before=$(oom_kills alice)
mg_mark
mg_conf users.d/alice.conf "MemoryHigh=150M" "MemoryMax=200M" "MemorySwapMax=0"
mg_reload
wait_for "[[ \$(slice_prop alice MemoryMax) != $((550 * M)) ]]" 15 || true
max=$(slice_prop alice MemoryMax)
high=$(slice_prop alice MemoryHigh)
log "after the reload: MemoryHigh=$((high / M))M MemoryMax=$((max / M))M, usage $(($(slice_file alice memory.current) / M))M"
assert_true "MemoryMax ($((max / M))M) sits above usage ($((usage / M))M), not at the 200M budget" test "$max" -gt "$usage"
assert_true "MemoryMax is at most usage + 5%/16M margin (+1M rounding)" test "$max" -le $((usage + usage / 20 + 18 * M))
assert_true "MemoryHigh ($((high / M))M) is not below usage either" test "$high" -gt "$usage"
sleep 3
assert_alive "$HOG" "the hog after the budget cut"
assert_eq "$oom_before" "$(oom_kills alice)" "oom_kill count of alice's slice"
assert_eq 1 "$(mg_field limit MEMGOV_STEPPING MEMGOV_UID=1001)" "MEMGOV_STEPPING of the limit record"
assert_eq "$((200 * M))" "$(mg_field limit MEMGOV_BUDGET_MAX_BYTES MEMGOV_UID=1001)" "MEMGOV_BUDGET_MAX_BYTES"

# Usage falls: the limits follow it down to the budget.
t=$(now_s)
systemctl stop "$RUN_UNIT"
wait_for "[[ \$(slice_prop alice MemoryMax) == $((200 * M)) && \$(slice_prop alice MemoryHigh) == $((150 * M)) ]]" 30 || true
log "budget reached $(secs_between "$t" "$(now_s)")s after the hog stopped"
expect_limits alice $((150 * M)) $((200 * M)) 0
steps=$(mg_count limit MEMGOV_UID=1001)
log "limit records for alice during the step-down: $steps"
mg_events limit MEMGOV_UID=1001 | jq -r '.MESSAGE' | sed 's/^/    /'
assert_true "at least two limit records (the step, then the budget)" test "$steps" -ge 2
assert_eq "$oom_before" "$(oom_kills alice)" "oom_kill count of alice's slice after the step-down"
assert_eq 0 "$(mg_count kill)" "kill records during the step-down"

memgovctl status || true

# --- idle cost: three idle users, memgovd's wake-ups over 60 s ----------------
# Every return from epoll_wait is a context switch of the single-threaded
# daemon, so voluntary + involuntary switches bound its wake-ups from above.
sleep 15 # let the step-down's faster sampling end
PID=$(mg_pid)
switches() { awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s }' "/proc/$PID/status"; }
runs() { awk '{ print $3 }' "/proc/$PID/schedstat"; }
cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
s0=$(switches) r0=$(runs) c0=$(cpu)
sleep 60
s1=$(switches) r1=$(runs) c1=$(cpu)
log "memgovd idle for 60 s with 3 users: $((s1 - s0)) context switches, $((r1 - r0)) runs on a CPU, $((c1 - c0)) ticks of CPU time"
log "memgovd RSS $(awk '/^VmRSS/ { print $2 " " $3 }' "/proc/$PID/status"), locked $(awk '/^VmLck/ { print $2 " " $3 }' "/proc/$PID/status")"
write_figures idle.md "memgovd idle, 3 users, 60 s (01-budgets)" \
  "wake-ups a minute (context switches)" "$((s1 - s0))" \
  "runs on a CPU" "$((r1 - r0))" \
  "CPU time (ticks)" "$((c1 - c0))" \
  "RSS" "$(awk '/^VmRSS:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$PID/status")"
assert_true "at most 12 wake-ups a minute when idle (measured $((s1 - s0)))" test $((s1 - s0)) -le 12
assert_eq 3 "$(mg_status_field '.users | length')" "users governed during the measurement"

mg_cleanup_users alice bob carol
scenario_end
