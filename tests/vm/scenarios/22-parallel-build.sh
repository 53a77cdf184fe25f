#!/bin/bash
# vm-run: --timeout 900
# A parallel build blows alice's budget. She logged in through PAM, started
# her editor (30 MB, unchanged since) and a tmux server, then runs `make -j12`
# whose twelve workers each grow to 40 MB, against MemoryHigh=250M and
# MemoryMax=300M. With --record the build runs twice in one boot, once
# under each of Policy=badness and Policy=growth, so that the two can be
# compared on the same kernel (tests/vm/results/parallel-build.md); the
# suite runs the default policy's build only.
# Under the default policy: the build must go in one round (its workers,
# and make with them, as its process group is taken whole), not one worker
# per Cooldown=, and the slice must come back under MemoryHigh (how long
# after the first kill is recorded against the target of PressureDuration=
# plus two PSI windows); her editor, shell and tmux server, and bob, must
# live.
# The other policy's outcome is recorded, not judged.
# Judged by the kernel: who is alive, who received which signal (the
# sleepers' own logs), memory.current; memgovd's records only say who chose.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

# With BUILD_SWAP_MAX (22-parallel-build-swap, a guest with swap) alice may
# swap that much; her workers use it up at once, and the build must then
# go as it does without swap.
SWAP_MAX=${BUILD_SWAP_MAX:-0}
RESULT_FILE=${BUILD_RESULT_FILE:-parallel-build.md}
M=$((1024 * 1024))
WINDOW_S=1
DURATION_S=3
JOBS=12
BUILD=/home/alice/build
mg_config_base
mg_conf users.d/bob.conf "MemoryHigh=250M" "MemoryMax=300M"
mg_restart
login_linger bob
mg_wait_user 1002
# bob's drop-in names no policy: his is the default.
DEFAULT_POLICY=$(mg_status_field '.users[] | select(.uid == 1002) | .policy')
[[ $DEFAULT_POLICY =~ ^[a-z]+$ ]] || die "no default policy in memgovctl status (got '$DEFAULT_POLICY')"
sleeper_in bob bob_editor 40

# The build: twelve compile jobs; each worker grows to 40 MB over 2 s, then
# needs 8 s more with all of it and exits 0. A worker held back at
# MemoryHigh takes longer, but still needs its 40 MB to finish: twelve of
# them cannot fit under MemoryMax=300M, so without a governor the kernel's
# OOM killer ends the build.
mkdir -p "$BUILD"
{
  printf 'all:'
  for i in $(seq 1 "$JOBS"); do printf ' o%d' "$i"; done
  printf '\n'
  for i in $(seq 1 "$JOBS"); do
    printf 'o%d:\n\thog --mb 40 --step-mb 4 --interval-ms 200 --hold-s 8 --quiet\n' "$i"
  done
} >"$BUILD/Makefile"
chown -R alice: "$BUILD"
[[ -x /usr/local/bin/vim ]] || cp /usr/local/bin/sleeper /usr/local/bin/vim

RESULT_ROWS=()
# build_round POLICY: log alice in, start her editor and tmux, run the build,
# check (under the default policy) or record (otherwise) what happened.
build_round() {
  local policy=$1 judge=false
  [[ $policy == "$DEFAULT_POLICY" ]] && judge=true
  log "--- Policy=$policy (default: $DEFAULT_POLICY; $($judge && echo judged || echo recorded))"
  mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=300M" "PressureDuration=${DURATION_S}s" \
    "KillGrace=2s" "Policy=$policy" "MemorySwapMax=$SWAP_MAX"
  mg_reload
  login_linger alice
  mg_wait_user 1001
  wait_for "[[ \$(mg_status_field '.users[] | select(.uid == 1001) | .policy') == $policy ]]" 15 ||
    die "alice's Policy=$policy not applied"

  pam_session alice
  SHELL_PID=$PAM_SHELL_PID
  # The editor: a sleeper named vim holding 30 MB, started from her shell long
  # before the build, logging every signal it gets.
  [[ -x /usr/local/bin/vim ]] || cp /usr/local/bin/sleeper /usr/local/bin/vim
  rm -f "$TDIR/vim.sig" "$TDIR/vim.pid"
  pam_send alice "vim --mb 30 --log $TDIR/vim.sig & echo \$! > $TDIR/vim.pid"
  wait_for "test -s $TDIR/vim.pid" 10 || die "the editor did not start"
  EDITOR_PID=$(cat "$TDIR/vim.pid")
  pam_send alice "tmux new-session -d -s work 'sleep infinity'"
  wait_for "pgrep -u alice -x 'tmux: server'" 10 || die "no tmux server"
  TMUX_PID=$(pgrep -u alice -x 'tmux: server' | sed -n 1p)
  sleep 5

  rm -f "$TDIR/make.rc"
  mg_mark
  t0=$(usec_now)
  pam_send alice "cd $BUILD && make -j$JOBS >/dev/null 2>&1; echo \$? > $TDIR/make.rc"
  # Her shell has job control (a login shell on a pty): make leads a
  # process group of its own, which its workers share.
  wait_for "pgrep -u alice -x make" 10 || die "make did not start"
  MAKE_PGID=$(awk '{ print $5 }' "/proc/$(pgrep -u alice -x make | sed -n 1p)/stat")
  log "make's process group: $MAKE_PGID (login shell $SHELL_PID)"

  # Follow usage every 0.2 s until make ends (and 3 s more), reading only
  # memory.current: a journal query in this loop costs over a second of the
  # guest's CPU under emulation, which slowed the very kills being timed
  # and left the dip under MemoryHigh unseen for as long. When the first
  # kill came, and when usage was first under MemoryHigh after it, is
  # worked out afterwards.
  high=$((250 * M))
  t_make='' samples=()
  while :; do
    now=$(usec_now)
    samples+=("$now $(slice_file alice memory.current)")
    [[ -z $t_make && -s $TDIR/make.rc ]] && t_make=$now
    [[ -n $t_make ]] && ((now - t_make > 3000000)) && break
    if ((now - t0 > 180000000)); then
      fail "make did not end within 180 s"
      break
    fi
    sleep 0.2
  done
  t_first_kill=$(mg_events kill MEMGOV_UID=1001 | jq -r '.__REALTIME_TIMESTAMP' | sort -n | sed -n 1p)
  t_back=''
  if [[ -n $t_first_kill ]]; then
    t_back=$(printf '%s\n' "${samples[@]}" |
      awk -v k="$t_first_kill" -v h="$high" '$1 >= k && $2 != "" && $2 + 0 < h { print $1; exit }')
  fi
  make_rc=$(cat "$TDIR/make.rc" 2>/dev/null || echo '?')
  log "make ended with status $make_rc after $(secs_usec "$t0" "${t_make:-$(usec_now)}")s"

  n_kills=$(mg_count kill MEMGOV_UID=1001)
  log "memgovd kill records for alice: $n_kills"
  mg_events kill MEMGOV_UID=1001 | jq -r '"  \(.MEMGOV_VICTIM_COMM) pid \(.MEMGOV_VICTIM_PID) rss \((.MEMGOV_VICTIM_RSS_BYTES | tonumber) / 1048576 | floor)M reason \(.MEMGOV_REASON) pids \(.MEMGOV_PIDS)"'
  back=never
  [[ -n $t_first_kill && -n $t_back ]] && back=$(secs_usec "$t_first_kill" "$t_back")s
  bound=$((DURATION_S + 2 * WINDOW_S))
  log "first kill -> back under MemoryHigh: ${back} (bound ${bound}s)"
  # Kills after the first one came in the same round, not one per Cooldown.
  span=$(mg_events kill MEMGOV_UID=1001 | jq -r '.__REALTIME_TIMESTAMP' | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.1f", (b - a) / 1e6 }')
  log "time from the first to the last kill record: ${span}s"
  victims=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_PIDS' | tr ' ' '\n' | sort -u)
  comms=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_VICTIM_COMM' | sort -u | tr '\n' ' ')
  # A round writes one record per victim; its first has MEMGOV_ROUND_INDEX=1.
  rounds=$(mg_events kill MEMGOV_UID=1001 | jq -r 'select(.MEMGOV_ROUND_INDEX == "1") | .MEMGOV_ROUND_INDEX' | wc -l)
  job=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_ROUND_JOB_PGID // empty' | sort -u | tr '\n' ' ')
  log "rounds: $rounds; the build's job taken whole: ${job:-no}"
  editor=alive shell=alive tmux=alive
  is_alive "$EDITOR_PID" || editor=killed
  [[ -s $TDIR/vim.sig ]] && editor="$editor, got $(awk '{ printf "%s%s", n++ ? "+" : "", $2 }' "$TDIR/vim.sig")"
  is_alive "$SHELL_PID" || shell=killed
  is_alive "$TMUX_PID" || tmux=killed
  RESULT_ROWS+=("| $policy | $n_kills | $rounds | ${job:-no} | ${span}s | ${back} | $editor | $shell | $tmux | $make_rc | $(mg_events kill MEMGOV_UID=1001 | jq -r '"\(.MEMGOV_VICTIM_COMM)/\(.MEMGOV_VICTIM_PID)/\((.MEMGOV_VICTIM_RSS_BYTES | tonumber) / 1048576 | floor)M"' | tr '\n' ' ') |")

  if ! $judge; then
    log "Policy=$policy (not the default) recorded: editor $editor, shell $shell, tmux $tmux, kills $n_kills"
  else
    assert_true "memgovd acted on the build" test "$n_kills" -gt 0
    for v in $victims; do
      assert_false "victim pid $v is not the editor, the shell or tmux" \
        grep -qx -e "$EDITOR_PID" -e "$SHELL_PID" -e "$TMUX_PID" <<<"$v"
    done
    # The build is one job of her interactive shell (make and its workers
    # share a process group): two workers in one round take all of it.
    assert_true "every victim is part of the build (make or a worker): $comms" \
      grep -qxE '(hog |hog make )' <<<"$comms"
    assert_eq 1 "$rounds" "rounds of kills for the build"
    assert_eq "$MAKE_PGID " "$job" "the round took make's job (process group) whole"
    # The issue's target, back under MemoryHigh within PressureDuration= plus
    # two PSI windows of the first kill, is recorded (the table, the log),
    # not judged: under emulation it measured 5.1-5.6 s against 5 s on
    # 2026-12-01, a gap that stays open in issue 8, and an absolute time is
    # no pass/fail line on a shared machine. What is judged: the slice
    # came back under MemoryHigh, and the kills were not one per Cooldown=.
    log "target: back under MemoryHigh within ${bound}s of the first kill; measured ${back}"
    assert_true "the slice came back under MemoryHigh after the first kill (${back})" test "$back" != never
    assert_true "not one kill per Cooldown=5s: ${n_kills} kills within ${span}s" \
      awk -v n="$n_kills" -v s="$span" 'BEGIN { exit !(n <= 1 || s + 0 < (n - 1) * 5) }'
    assert_alive "$EDITOR_PID" "alice's editor (pid $EDITOR_PID)"
    if [[ -s $TDIR/vim.sig ]]; then fail "the editor was signalled: $(cat "$TDIR/vim.sig")"; else pass "the editor received no signal"; fi
    assert_alive "$SHELL_PID" "alice's login shell"
    assert_alive "$TMUX_PID" "alice's tmux server"
  fi
  # Whatever alice's policy, bob and the kernel's OOM killer stay out of it.
  assert_untouched bob_editor
  assert_eq 0 "$(oom_kills alice)" "kernel OOM kills in alice's slice"

  pam_send alice "tmux kill-server; exit"
  mg_cleanup_users alice
  rm -rf "$TDIR/vim.sig" "$TDIR/vim.pid"
}

# notebook_pool: a notebook kernel (100 MB, days of state) runs in a
# session of its own, as Jupyter starts kernels with setsid, and later
# fans out a pool of six workers that grow to 40 MB each. The workers share
# the kernel's session group, which is no job: the round must take workers
# only, however many rounds that takes, and the kernel must live.
notebook_pool() {
  log "--- notebook kernel and its pool (Policy=$DEFAULT_POLICY)"
  mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=300M" "PressureDuration=${DURATION_S}s" "KillGrace=2s" \
    "MemorySwapMax=$SWAP_MAX"
  mg_reload
  login_linger alice
  mg_wait_user 1001
  pam_session alice
  SHELL_PID=$PAM_SHELL_PID
  [[ -x /usr/local/bin/ipython ]] || cp /usr/local/bin/sleeper /usr/local/bin/ipython
  rm -f "$TDIR/ipython.sig" "$TDIR/ipython.pid"
  mg_mark
  pam_send alice "setsid sh -c 'ipython --mb 100 --log $TDIR/ipython.sig & echo \$! > $TDIR/ipython.pid; sleep 8; for i in 1 2 3 4 5 6; do hog --mb 40 --step-mb 4 --interval-ms 200 --hold-s 8 --quiet & done; wait' </dev/null >/dev/null 2>&1 &"
  wait_for "test -s $TDIR/ipython.pid" 10 || die "the notebook kernel did not start"
  KERNEL_PID=$(cat "$TDIR/ipython.pid")
  wait_for "pgrep -u alice -x hog >/dev/null" 30 || die "the pool did not start"
  wait_for "! pgrep -u alice -x hog >/dev/null" 120 || fail "the pool was still running after 120 s"
  sleep 3
  local n comms job
  n=$(mg_count kill MEMGOV_UID=1001)
  comms=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_VICTIM_COMM' | sort -u | tr '\n' ' ')
  job=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_ROUND_JOB_PGID // empty' | sort -u | tr '\n' ' ')
  log "notebook pool: $n kills, victims: $comms job: ${job:-none}"
  local kernel=alive
  is_alive "$KERNEL_PID" || kernel=killed
  NOTEBOOK_LINE="Notebook kernel (100 MB, in a setsid session of its own) and a pool of six workers growing to 40 MB each, same budget, Policy=$DEFAULT_POLICY: $n kills ($comms), rounds $(mg_events kill MEMGOV_UID=1001 | jq -r 'select(.MEMGOV_ROUND_INDEX == "1") | .MEMGOV_ROUND_INDEX' | wc -l), job taken: ${job:-none}, kernel $kernel."
  assert_true "memgovd acted on the pool" test "$n" -gt 0
  assert_eq "hog " "$comms" "every victim is a pool worker"
  assert_eq "" "$job" "no round took the kernel's session group as a job"
  assert_alive "$KERNEL_PID" "the notebook kernel (pid $KERNEL_PID)"
  if [[ -s $TDIR/ipython.sig ]]; then fail "the notebook kernel was signalled: $(cat "$TDIR/ipython.sig")"; else pass "the notebook kernel received no signal"; fi
  assert_alive "$SHELL_PID" "alice's login shell"
  assert_eq 0 "$(oom_kills alice)" "kernel OOM kills in alice's slice"
  pam_send alice "exit"
  mg_cleanup_users alice
}

record=0
[[ ${1:-} == --record ]] && record=1
if ((record)); then
  build_round badness
  build_round growth
else
  build_round "$DEFAULT_POLICY"
fi
notebook_pool

write_result "$RESULT_FILE" <<RES
# make -j$JOBS against MemoryHigh=250M MemoryMax=300M MemorySwapMax=$SWAP_MAX ($(awk '/^SwapTotal:/ { print int($2 / 1024) }' /proc/meminfo) MiB of swap), $( ((record)) && echo "both policies" || echo "the default policy"), one boot

Workers grow to 40 MB each; alice's editor (30 MB, unchanged), login shell
and tmux server run beside the build. PressureDuration=${DURATION_S}s; the
default policy is $DEFAULT_POLICY. Written by tests/vm/scenarios/22-parallel-build.sh
($(date -u +%Y-%m-%d), kernel $(uname -r), $(systemctl --version | sed -n 1p)).

| policy | kills | rounds | job taken (pgid) | first to last kill | first kill -> under MemoryHigh | editor | shell | tmux | make status | victims (comm/pid/RSS) |
|---|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${RESULT_ROWS[@]}")

$NOTEBOOK_LINE
RES
cat "$RESULTS/$RESULT_FILE"

stop_units
mg_cleanup_users bob
rm -f /etc/memgov/users.d/alice.conf /etc/memgov/users.d/bob.conf
scenario_end
