#!/bin/bash
# vm-run: --timeout 900 --swap 1G
# Swap is a first-class case. alice (MemoryHigh=200M, MemoryMax=300M), on a
# node with 1 GiB of swap, runs two jobs from her login shell:
#  A. with MemorySwapMax=400M, a job that grows to 450M and works on: it
#     swaps within its allowance and makes progress, so it is left alone
#     and ends with status 0;
#  B. with MemorySwapMax=32M, a job that grows past what RAM and the
#     allowance hold: once the allowance is used up its memory cannot be
#     reclaimed, it stalls, and memgovd must end it before the kernel's OOM
#     killer does, sparing her shell.
# Judged by the kernel: exit statuses, the jobs' own signal logs, who is
# alive, memory.swap.current, memory.events; memgovd's records say who chose.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
swap_kb=$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)
((swap_kb > 0)) || die "no swap in the guest (run with --swap)"
# Nothing of alice's from an earlier scenario in this boot: memgovd steps a
# lowered budget down only as usage falls.
mg_cleanup_users alice
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "MemorySwapMax=400M" "PressureDuration=3s" \
  "KillGrace=2s"
mg_restart
login_linger alice
mg_wait_user 1001
pam_session alice
SHELL_PID=$PAM_SHELL_PID
log "swap ${swap_kb} kB; alice: MemoryHigh=$(slice_prop alice MemoryHigh) MemoryMax=$(slice_prop alice MemoryMax) MemorySwapMax=$(slice_prop alice MemorySwapMax)"

# --- A. swapping within the allowance, making progress -----------------------
log "--- A. a 450M job with MemorySwapMax=400M"
mg_mark
kills_before=$(oom_kills alice)
rm -f "$TDIR/a.rc" "$TDIR/a.sig"
pam_send alice "hog --mb 450 --step-mb 8 --interval-ms 100 --hold-s 20 --quiet --log $TDIR/a.sig; echo \$? > $TDIR/a.rc"
peak_swap=0
t0=$(usec_now)
while [[ ! -s $TDIR/a.rc ]]; do
  sw=$(slice_file alice memory.swap.current)
  ((sw > peak_swap)) && peak_swap=$sw
  if (($(usec_now) - t0 > 180000000)); then
    fail "job A did not end within 180 s"
    break
  fi
  sleep 0.5
done
log "job A ended with status $(cat "$TDIR/a.rc" 2>/dev/null || echo '?') after $(secs_usec "$t0" "$(usec_now)")s; peak swap $((peak_swap / M))M"
assert_eq 0 "$(cat "$TDIR/a.rc" 2>/dev/null)" "job A's exit status"
assert_true "job A really swapped (peak memory.swap.current $((peak_swap / M))M >= 100M)" test "$peak_swap" -ge $((100 * M))
if [[ -s $TDIR/a.sig ]]; then fail "job A was signalled: $(cat "$TDIR/a.sig")"; else pass "job A received no signal"; fi
assert_eq 0 "$(mg_count kill MEMGOV_UID=1001)" "memgovd kill records during job A"
assert_eq "$kills_before" "$(oom_kills alice)" "kernel OOM kills in alice's slice during job A"
wait_for "[[ \$(slice_file alice memory.swap.current) -lt $((8 * M)) ]]" 30 || true

# --- B. the allowance used up: stalls, and is acted on ------------------------
log "--- B. a growing job with MemorySwapMax=32M"
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "MemorySwapMax=32M" "PressureDuration=3s" \
  "KillGrace=2s"
mg_reload
# memgovd lowers a limit only as far as usage allows: job A's swap must drain.
wait_for "[[ \$(slice_prop alice MemorySwapMax) == $((32 * M)) ]]" 60 ||
  die "MemorySwapMax=32M not applied within 60 s (swap in use $(($(slice_file alice memory.swap.current) / M))M)"
mg_mark
rm -f "$TDIR/b.sig" "$TDIR/b.pid"
pam_send alice "hog --mb 600 --step-mb 4 --interval-ms 100 --hold --quiet --log $TDIR/b.sig & echo \$! > $TDIR/b.pid"
wait_for "test -s $TDIR/b.pid" 10 || die "job B did not start"
B_PID=$(cat "$TDIR/b.pid")
t0=$(usec_now)
swap_at_kill=''
while ! mg_events kill MEMGOV_UID=1001 | grep -q .; do
  swap_at_kill=$(slice_file alice memory.swap.current)
  if ! is_alive "$B_PID" || (($(usec_now) - t0 > 120000000)); then break; fi
  sleep 0.2
done
ts=$(mg_first_ts kill MEMGOV_UID=1001)
if [[ -n $ts && $ts != null ]]; then
  log "job B start -> kill record: $(secs_usec "$t0" "$ts")s; memory.swap.current just before: $((${swap_at_kill:-0} / M))M"
  mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
else
  fail "no kill record for alice within 120 s (job B alive: $(is_alive "$B_PID" && echo yes || echo no))"
fi
wait_dead "$B_PID" 15 || true
assert_dead "$B_PID" "job B (pid $B_PID)"
assert_match '^signal TERM ' "$(head -n 1 "$TDIR/b.sig" 2>/dev/null)" "job B's own signal log"
assert_eq "$B_PID" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "the victim is job B"
assert_true "the allowance was used up when memgovd acted (${swap_at_kill:-0} >= 28M)" \
  test "${swap_at_kill:-0}" -ge $((28 * M))
assert_eq "$kills_before" "$(oom_kills alice)" "kernel OOM kills in alice's slice (memgovd acted first)"
assert_alive "$SHELL_PID" "alice's login shell"

pam_send alice "exit"
mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
