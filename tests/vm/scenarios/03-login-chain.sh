#!/bin/bash
# vm-run: --timeout 900
# The login chain: alice's PAM session leader, her login shell and her tmux
# server survive while the hog she started from that shell dies, and she is
# told on her terminal. With KillScope=cgroup the hog's own leaf cgroup goes
# as a whole; a hog inside the session scope (which holds the login chain)
# is still killed alone.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s"
mg_restart

pam_session alice
mg_wait_user 1001
SHELL_PID=$PAM_SHELL_PID
LEADER=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[4] }' "/proc/$SHELL_PID/stat")
log "session $(session_of "$SHELL_PID"): leader pid $LEADER ($(cat "/proc/$LEADER/comm")), login shell $SHELL_PID"
pam_send alice "tmux new-session -d -s work 'sleep 100000'"
wait_for "pgrep -u 1001 -x 'tmux: server'" 20 || die "no tmux server for alice"
TMUX_SERVER=$(pgrep -u 1001 -x 'tmux: server')
# The pane's process starts after the server: wait for it, or the checks
# below would compare against nothing.
wait_for "pgrep -u 1001 -x sleep" 20 || die "no process in alice's tmux pane"
PANE=$(pgrep -u 1001 -x sleep | sed -n 1p)
log "tmux server $TMUX_SERVER in $(cgroup_of "$TMUX_SERVER"), pane process $PANE"

check_chain() {
  assert_alive "$LEADER" "session leader $LEADER ($(cat "/proc/$LEADER/comm" 2>/dev/null))"
  assert_alive "$SHELL_PID" "login shell $SHELL_PID"
  assert_alive "$TMUX_SERVER" "tmux server $TMUX_SERVER"
  assert_alive "$PANE" "the process in the tmux pane"
  assert_alive "$PAM_PID" "script(1) holding the terminal"
}

# --- a hog started from the login shell ---------------------------------------
mg_mark
t0=$(usec_now)
pam_send alice "hog --mb 400 --step-mb 10 --interval-ms 50 --hold"
wait_for "pgrep -u 1001 -x hog" 20 || die "the hog did not start"
HOG=$(pgrep -u 1001 -x hog)
log "hog $HOG in $(cgroup_of "$HOG")"
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no kill within 90 s"
log "hog start -> kill record: $(secs_usec "$t0" "$(mg_first_ts kill MEMGOV_UID=1001)")s"
mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE, .MEMGOV_CANDIDATES' | sed 's/^/    /'
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "victim pid"
assert_eq process "$(mg_field kill MEMGOV_KILL_SCOPE MEMGOV_UID=1001)" "MEMGOV_KILL_SCOPE"
wait_dead "$HOG" 15 || true
assert_dead "$HOG" "the hog"
check_chain
# The record's table (its first five) marks what the login rules protect:
# logind's leader and the login shell as "login chain" (ranked last, so
# often past the first five), tmux and the user manager as "soft: login
# name"; a chain member listed there unmarked is a failure.
table=$(mg_field kill MEMGOV_CANDIDATES MEMGOV_UID=1001)
assert_match 'login (chain|name)' "$table" "candidate table marks the login chain's protection"
for p in "$LEADER" "$SHELL_PID" "$TMUX_SERVER"; do
  line=$(awk -v p="$p" '$2 == p' <<<"$table")
  [[ -z $line ]] || assert_match 'login (chain|name)' "$line" "the table's line for chain member $p"
done
wait_for "grep -q 'memgov ended hog (pid' $PAM_TTY_LOG" 10 || true
assert_true "alice's terminal shows memgov's kill notice" grep -q 'memgov ended hog (pid' "$PAM_TTY_LOG"
tr -d '\r' <"$PAM_TTY_LOG" | grep -A2 'Message from memgovd' | sed -n 1,6p | sed 's/^/    tty: /'
wait_usage_below alice 60 30 || true

# --- KillScope=cgroup: the hog's own cgroup goes as a whole -------------------
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s" "KillScope=cgroup"
mg_reload
sleep 6 # past Cooldown=
mg_mark
rm -f "$TDIR/sibling.sig"
run_in_slice alice sh -c "sleeper --mb 8 --log $TDIR/sibling.sig & exec hog --mb 400 --step-mb 10 --interval-ms 50 --hold"
track_unit "$RUN_UNIT"
JOB_CG=user.slice/user-1001.slice/$RUN_UNIT
HOG=$RUN_PID
wait_for "[[ \$(wc -l < /sys/fs/cgroup/$JOB_CG/cgroup.procs) -ge 2 ]]" 10 || true
SIB=$(grep -v "^$HOG\$" "/sys/fs/cgroup/$JOB_CG/cgroup.procs" | sed -n 1p)
log "job cgroup $JOB_CG: hog $HOG, sibling $SIB"
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no kill within 90 s"
mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq cgroup "$(mg_field kill MEMGOV_KILL_SCOPE MEMGOV_UID=1001)" "MEMGOV_KILL_SCOPE"
assert_eq "$JOB_CG" "$(mg_field kill MEMGOV_KILL_CGROUP MEMGOV_UID=1001)" "MEMGOV_KILL_CGROUP"
wait_dead "$HOG" 15 || true
assert_dead "$HOG" "the hog"
assert_dead "$SIB" "its sibling in the same cgroup"
wait_for "! grep -q . /sys/fs/cgroup/$JOB_CG/cgroup.procs" 10 || true
assert_eq 0 "$(grep -c . "/sys/fs/cgroup/$JOB_CG/cgroup.procs" 2>/dev/null || echo 0)" "tasks left in $JOB_CG"
check_chain
stop_units
wait_usage_below alice 60 30 || true

# --- KillScope=cgroup, hog inside the session scope: only the hog goes --------
sleep 6
mg_mark
pam_send alice "hog --mb 400 --step-mb 10 --interval-ms 50 --hold"
wait_for "pgrep -u 1001 -x hog" 20 || die "the hog did not start"
HOG=$(pgrep -u 1001 -x hog)
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no kill within 90 s"
mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "victim pid"
assert_eq process "$(mg_field kill MEMGOV_KILL_SCOPE MEMGOV_UID=1001)" "MEMGOV_KILL_SCOPE (the scope holds the login chain)"
wait_dead "$HOG" 15 || true
assert_dead "$HOG" "the hog"
check_chain
assert_eq 0 "$(oom_kills alice)" "kernel OOM kills in alice's slice"

mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
