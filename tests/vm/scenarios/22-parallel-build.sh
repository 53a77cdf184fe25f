#!/bin/bash
# vm-run: --timeout 900
# A parallel build blows alice's budget. She logged in through PAM, started
# her editor (30 MB, unchanged since) and a tmux server, then runs `make -j12`
# whose twelve workers each grow to 40 MB, against MemoryHigh=250M and
# MemoryMax=300M. The workers that grew must go, in one round, and the slice
# must be back under MemoryHigh within PressureDuration= plus two PSI windows
# of the first kill. Her editor, shell and tmux server, and bob, must live.
# Judged by the kernel: who is alive, who received which signal (the
# sleepers' own logs), memory.current; memgovd's records only say who chose.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
WINDOW_S=1
DURATION_S=3
JOBS=12
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=300M" "PressureDuration=${DURATION_S}s" "KillGrace=2s"
mg_conf users.d/bob.conf "MemoryHigh=250M" "MemoryMax=300M"
mg_restart
login_linger alice
login_linger bob
mg_wait_user 1001
mg_wait_user 1002
sleeper_in bob bob_editor 40
log "alice: Policy=$(mg_status_field '.users[] | select(.uid == 1001) | .policy // "?"')"

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

# The build: twelve compile jobs; each worker grows to 40 MB over 2 s, works
# for 10 s and exits 0 (timeout's 124 is the normal end).
BUILD=/home/alice/build
mkdir -p "$BUILD"
{
  printf 'all:'
  for i in $(seq 1 "$JOBS"); do printf ' o%d' "$i"; done
  printf '\n'
  for i in $(seq 1 "$JOBS"); do
    printf 'o%d:\n\ttimeout 10 hog --mb 40 --step-mb 4 --interval-ms 200 --hold --quiet || test $$? -eq 124\n' "$i"
  done
} >"$BUILD/Makefile"
chown -R alice: "$BUILD"
rm -f "$TDIR/make.rc"
mg_mark
t0=$(usec_now)
pam_send alice "cd $BUILD && make -j$JOBS >/dev/null 2>&1; echo \$? > $TDIR/make.rc"

# Follow usage until make ends; note when it first went over MemoryHigh and
# when it was back under it after the first kill.
high=$((250 * M))
t_first_kill='' t_back=''
while [[ ! -s $TDIR/make.rc ]]; do
  cur=$(slice_file alice memory.current)
  if [[ -z $t_first_kill ]]; then
    t_first_kill=$(mg_events kill MEMGOV_UID=1001 | jq -r '.__REALTIME_TIMESTAMP' | sort -n | sed -n 1p)
  fi
  if [[ -n $t_first_kill && -z $t_back ]] && ((cur < high)); then
    t_back=$(usec_now)
  fi
  if (($(usec_now) - t0 > 180000000)); then
    fail "make did not end within 180 s"
    break
  fi
  sleep 0.2
done
log "make ended with status $(cat "$TDIR/make.rc" 2>/dev/null || echo '?') after $(secs_usec "$t0" "$(usec_now)")s"

n_kills=$(mg_count kill MEMGOV_UID=1001)
log "memgovd kill records for alice: $n_kills"
mg_events kill MEMGOV_UID=1001 | jq -r '"  \(.MEMGOV_VICTIM_COMM) pid \(.MEMGOV_VICTIM_PID) rss \((.MEMGOV_VICTIM_RSS_BYTES | tonumber) / 1048576 | floor)M reason \(.MEMGOV_REASON) pids \(.MEMGOV_PIDS)"'
assert_true "memgovd acted on the build" test "$n_kills" -gt 0
victims=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_PIDS' | tr ' ' '\n' | sort -u)
for v in $victims; do
  assert_false "victim pid $v is not the editor, the shell or tmux" \
    grep -qx -e "$EDITOR_PID" -e "$SHELL_PID" -e "$TMUX_PID" <<<"$v"
done
comms=$(mg_events kill MEMGOV_UID=1001 | jq -r '.MEMGOV_VICTIM_COMM' | sort -u | tr '\n' ' ')
assert_eq "hog " "$comms" "every victim is a build worker"
if [[ -n $t_first_kill && -n $t_back ]]; then
  back=$(secs_usec "$t_first_kill" "$t_back")
  bound=$((DURATION_S + 2 * WINDOW_S))
  log "first kill -> back under MemoryHigh: ${back}s (bound ${bound}s)"
  assert_true "back under MemoryHigh within PressureDuration + 2 windows (${back}s <= ${bound}s)" \
    awk -v t="$back" -v b="$bound" 'BEGIN { exit !(t <= b) }'
else
  fail "no kill, or the slice never came back under MemoryHigh (first kill '${t_first_kill}', back '${t_back}')"
fi
# Kills after the first one came in the same round, not one per Cooldown.
span=$(mg_events kill MEMGOV_UID=1001 | jq -r '.__REALTIME_TIMESTAMP' | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.1f", (b - a) / 1e6 }')
log "time from the first to the last kill record: ${span}s"

assert_alive "$EDITOR_PID" "alice's editor (pid $EDITOR_PID)"
if [[ -s $TDIR/vim.sig ]]; then fail "the editor was signalled: $(cat "$TDIR/vim.sig")"; else pass "the editor received no signal"; fi
assert_alive "$SHELL_PID" "alice's login shell"
assert_alive "$TMUX_PID" "alice's tmux server"
assert_untouched bob_editor
assert_eq 0 "$(oom_kills alice)" "kernel OOM kills in alice's slice"
write_result parallel-build.txt <<RES
make -j$JOBS, workers to 40 MB, MemoryHigh=250M MemoryMax=300M, PressureDuration=${DURATION_S}s, policy $(mg_status_field '.users[] | select(.uid == 1001) | .policy // "?"')
kills: $n_kills over ${span}s; first kill -> under MemoryHigh: ${back:-never}s
victims: $(mg_events kill MEMGOV_UID=1001 | jq -r '"\(.MEMGOV_VICTIM_COMM)/\(.MEMGOV_VICTIM_PID)/\((.MEMGOV_VICTIM_RSS_BYTES | tonumber) / 1048576 | floor)M"' | tr '\n' ' ')
editor alive: $(is_alive "$EDITOR_PID" && echo yes || echo no); make status $(cat "$TDIR/make.rc" 2>/dev/null || echo '?')
RES

pam_send alice "tmux kill-server; exit"
stop_units
mg_cleanup_users alice bob
rm -f /etc/memgov/users.d/alice.conf /etc/memgov/users.d/bob.conf
scenario_end
