#!/bin/bash
# vm-run: --timeout 1200
# File work under a small budget: alice, logged in through PAM with
# MemoryHigh=150M and MemoryMax=200M, writes a file four times her budget
# with dd, copies it with cp, reads both back, tars it and rsyncs it. Page
# cache fills her slice to MemoryHigh and is reclaimed there, and writeback
# stalls her now and then: that is normal file work, not a hog. Nothing may
# be killed and every step must finish with status 0.
# Judged by the kernel and the commands' own exit statuses; memgovd's journal
# is only checked as the record of what it did (no kill record).
# 21-file-work-swap runs the same with swap.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
FILE_MB=800
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=150M" "MemoryMax=200M"
mg_restart
login_linger alice
mg_wait_user 1001
swap_kb=$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)
log "swap: ${swap_kb} kB; alice: MemoryHigh=$(slice_prop alice MemoryHigh) MemoryMax=$(slice_prop alice MemoryMax)"
command -v rsync >/dev/null || die "rsync is not in the guest image (tests/vm/build-image PACKAGES)"

pam_session alice
SHELL_PID=$PAM_SHELL_PID
assert_alive "$SHELL_PID" "alice's login shell"
events_before=$(slice_file alice memory.events | tr '\n' ' ')
kills_before=$(oom_kills alice)
mg_mark

# Each step writes "NAME STATUS SECONDS" to the step log; a step killed by a
# signal shows status 128+N there.
STEPS=$TDIR/file-work.steps
rm -f "$STEPS"
: >"$STEPS"
chmod 666 "$STEPS"
# About 6 GB of file I/O in all: under software emulation that takes a few
# minutes, which is why the copies are checked by size, not read again.
size_is() { echo "test \$(stat -c %s $1) -eq $((FILE_MB * M))"; }
step_cmds=(
  "dd if=/dev/zero of=big bs=1M count=$FILE_MB status=none"
  "cp big big2"
  "$(size_is big2)"
  "cat big2 >/dev/null"
  "rm -f big2"
  "tar cf big.tar big"
  "test \$(stat -c %s big.tar) -gt $((FILE_MB * M))"
  "rm -f big.tar"
  "rsync big big3"
  "$(size_is big3)"
  "rm -f big big3"
)
i=0
for c in "${step_cmds[@]}"; do
  i=$((i + 1))
  pam_send alice "cd ~ && s=\$EPOCHREALTIME; $c; r=\$?; echo \"$i \$r \$s \$EPOCHREALTIME $c\" >> $STEPS"
done
pam_send alice "echo ALLDONE >> $STEPS"

peak_current=0 peak_file=0 peak_anon=0
sample() {
  local cur file anon
  cur=$(slice_file alice memory.current)
  file=$(slice_file alice memory.stat | awk '$1 == "file" { print $2 }')
  anon=$(slice_file alice memory.stat | awk '$1 == "anon" { print $2 }')
  ((cur > peak_current)) && peak_current=$cur
  ((file > peak_file)) && peak_file=$file
  ((anon > peak_anon)) && peak_anon=$anon
  return 0
}
t0=$(now_s)
while ! grep -qx ALLDONE "$STEPS"; do
  sample
  if ! is_alive "$SHELL_PID"; then
    break
  fi
  if awk -v a="$t0" -v b="$(now_s)" 'BEGIN { exit !(b - a > 1000) }'; then
    fail "the file work did not finish within 1000 s ($(wc -l <"$STEPS") of ${#step_cmds[@]} steps)"
    break
  fi
  sleep 0.5
done
took=$(secs_between "$t0" "$(now_s)")
log "file work took ${took}s; peak usage $((peak_current / M))M (file $((peak_file / M))M, anon $((peak_anon / M))M)"
while read -r n r s e c; do
  [[ $n == ALLDONE ]] && continue
  log "  step $n: status $r in $(secs_between "$s" "$e")s: $c"
done <"$STEPS"

assert_alive "$SHELL_PID" "alice's login shell after the file work"
i=0
for c in "${step_cmds[@]}"; do
  i=$((i + 1))
  r=$(awk -v n="$i" '$1 == n { print $2 }' "$STEPS")
  assert_eq 0 "${r:-missing}" "exit status of '$c'"
done
events_after=$(slice_file alice memory.events | tr '\n' ' ')
log "memory.events before: $events_before"
log "memory.events after:  $events_after"
high_after=$(slice_file alice memory.events | awk '$1 == "high" { print $2 }')
high_before=$(awk '{ for (i = 1; i < NF; i++) if ($i == "high") print $(i + 1) }' <<<"$events_before")
assert_true "the budget was really reached: memory.events high rose ($high_before -> $high_after)" \
  test "$high_after" -gt "$high_before"
assert_true "page cache filled the slice to MemoryHigh (peak $((peak_current / M))M >= 140M)" \
  test "$peak_current" -ge $((140 * M))
assert_eq "$kills_before" "$(oom_kills alice)" "kernel OOM kills in alice's slice"
assert_eq 0 "$(mg_count kill MEMGOV_UID=1001)" "memgovd kill records for alice"
log "memgovd warnings for alice during the file work: $(mg_count warn MEMGOV_UID=1001)"
write_result "file-work-$([[ $swap_kb -gt 0 ]] && echo swap || echo noswap).txt" <<RES
file work: dd/cp/cat/cmp/tar/rsync of ${FILE_MB} MB under MemoryHigh=150M MemoryMax=200M, swap ${swap_kb} kB
total ${took}s; peak usage $((peak_current / M))M (file $((peak_file / M))M, anon $((peak_anon / M))M)
memory.events: $events_after
memgovd kills: $(mg_count kill MEMGOV_UID=1001); warnings: $(mg_count warn MEMGOV_UID=1001); kernel OOM kills: $(($(oom_kills alice) - kills_before))
RES

pam_send alice "exit"
mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
