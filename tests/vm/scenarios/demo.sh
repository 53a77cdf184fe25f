#!/bin/bash
# vm-run: --no-daemon --timeout 600
# The memgov demo, narrated (run by tests/vm/demo): budgets applied to alice
# and bob, alice's terminal receiving the 80% and 95% warnings, her runaway
# killed with a reason while her shell and bob are untouched, then the
# journal record and `memgovctl status`. Exits 1 if any promise was not kept.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

STEPS=8
step_no=0
step() {
  step_no=$((step_no + 1))
  echo
  printf '[%6ss] ===== step %d/%d: %s\n' "$(elapsed)" "$step_no" "$STEPS" "$*"
}
say() { printf '           %s\n' "$*"; }
shown() { sed 's/^/           | /'; }
checks=()
check() { # check OK|FAIL TEXT
  if [[ $1 == OK ]]; then checks+=("  [ok]   $2"); else checks+=("  [FAIL] $2"); fi
  say "$([[ $1 == OK ]] && echo "[ok]" || echo "[FAIL]") $2"
}
# The terminal as alice sees it: without carriage returns and escape codes.
clean_tty() { sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g'; }
terminal() { clean_tty <"$PAM_TTY_LOG_ALICE"; }
# Print what alice's terminal received since byte offset $tty_off.
tty_off=0
show_new_tty() {
  local size
  size=$(stat -c %s "$PAM_TTY_LOG_ALICE")
  ((size > tty_off)) || return 0
  head -c "$size" "$PAM_TTY_LOG_ALICE" | tail -c +"$((tty_off + 1))" | clean_tty |
    grep -v -e '^[[:space:]]*$' | sed "s/^/           alice's terminal> /"
  tty_off=$size
}

CAP=${DEMO_CAP:-150}
# Grows 8 MiB every 200 ms: past 80% (800M) and 95% (950M) of alice's
# MemoryMax, then throttled at MemoryHigh (960M) until memgovd acts.
# MemoryHigh sits above the 95% level, or that warning could never come:
# without swap, usage stops at MemoryHigh.
HOG=(hog --mb 1200 --step-mb 8 --interval-ms 200 --hold)

echo "memgov demo: one user's runaway job on a shared machine"
echo "(Debian 12 VM, kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo) RAM, no swap)"

# -------------------------------------------------------------------------
step "the administrator gives alice and the students group a memory budget"
memgovd_installed ||
  die "memgovd.service is not installed: the daemon is not built yet, so there is nothing to demonstrate"
mkdir -p /etc/memgov/users.d /etc/memgov/groups.d
cat >/etc/memgov/users.d/alice.conf <<'CONF'
MemoryHigh=960M
MemoryMax=1000M
Warn=80%,95%
Policy=rss
KillScope=process
KillGrace=2s
ThrottleDeadline=3s
CONF
cat >/etc/memgov/groups.d/students.conf <<'CONF'
MemoryHigh=300M
MemoryMax=400M
CONF
say "/etc/memgov/users.d/alice.conf:"
shown </etc/memgov/users.d/alice.conf
say "/etc/memgov/groups.d/students.conf (bob is a student):"
shown </etc/memgov/groups.d/students.conf

# -------------------------------------------------------------------------
step "memgovd starts"
if systemctl start memgovd.service; then
  say "$(systemctl show -p ActiveState,SubState,MainPID memgovd.service | tr '\n' ' ')"
else
  systemctl status --no-pager memgovd.service | shown || true
  die "memgovd failed to start"
fi

# -------------------------------------------------------------------------
step "alice and bob log in (PAM sessions with a terminal, as over ssh)"
pam_session bob
bob_shell=$PAM_SHELL_PID
pam_send bob "sleeper --mb 32 --log $TDIR/bob.signals &"
wait_for "pgrep -u bob -x sleeper" 20 || die "bob's sleeper did not start"
bob_sleeper=$(pgrep -u bob -x sleeper | sed -n 1p)
say "bob: login shell $bob_shell and a 32 MiB sleeper $bob_sleeper in $(cgroup_of "$bob_sleeper")"
pam_session alice
alice_shell=$PAM_SHELL_PID
PAM_TTY_LOG_ALICE=$PAM_TTY_LOG
pam_send alice "tmux new-session -d -s editor 'sleep 100000'; tmux display -p '#{pid}' > $TDIR/alice.tmux.pid"
wait_for "test -s $TDIR/alice.tmux.pid" 30 || die "alice's tmux did not start"
alice_tmux=$(cat "$TDIR/alice.tmux.pid")
say "alice: login shell $alice_shell in $(cgroup_of "$alice_shell"), tmux server $alice_tmux"

# -------------------------------------------------------------------------
step "memgovd applies the budgets to their slices"
# shellcheck disable=SC2016 # evaluated by wait_for
if wait_for '[[ $(slice_prop alice MemoryMax) == 1048576000 && $(slice_prop bob MemoryMax) == 419430400 ]]' 30; then
  check OK "budgets applied by memgovd"
else
  check FAIL "budgets not applied within 30s"
fi
systemctl show -p Id -p MemoryHigh -p MemoryMax user-1001.slice user-1002.slice | shown
journal_events limit | tail -n 4 | shown

# -------------------------------------------------------------------------
step "alice starts a runaway job from her shell: ~/runaway (${HOG[*]})"
printf '#!/bin/sh\necho $$ > %s/alice.hog.pid\nexec %s > /tmp/runaway.out 2>&1\n' "$TDIR" "${HOG[*]}" >/home/alice/runaway
chmod 0755 /home/alice/runaway
chown alice:alice /home/alice/runaway
tty_off=$(stat -c %s "$PAM_TTY_LOG_ALICE")
t0=$(now_s)
# shellcheck disable=SC2088 # typed into alice's shell, which expands it
pam_send alice "~/runaway &"
wait_for "test -s $TDIR/alice.hog.pid" 20 || die "the hog did not start"
hog=$(cat "$TDIR/alice.hog.pid")
say "hog pid $hog in $(cgroup_of "$hog")"
last=0
slice=/sys/fs/cgroup/user.slice/user-1001.slice
while is_alive "$hog"; do
  el=$(secs_between "$t0" "$(now_s)")
  ((${el%.*} >= CAP)) && break
  if ((${el%.*} - last >= 3)); then
    last=${el%.*}
    say "+${el}s: hog $(rss_mb "$hog") MiB, alice's slice $(($(cat "$slice/memory.current") >> 20)) MiB of 1000 MiB (high 960 MiB)"
  fi
  show_new_tty
  sleep 0.5
done
kill_s=$(secs_between "$t0" "$(now_s)")
sleep 3
pam_send alice ""
sleep 1
show_new_tty

# -------------------------------------------------------------------------
step "what alice's terminal received"
terminal | grep -v -e '^[[:space:]]*$' | tail -n 25 | shown
notices=$(terminal | grep -c '^Message from memgovd' || true)
if ((notices >= 2)); then
  check OK "alice's terminal received $notices notices from memgovd (warnings, then the kill)"
else
  check FAIL "alice's terminal received $notices notices from memgovd (expected warnings and the kill notice)"
fi
for level in 80% 95%; do
  n=$(journalctl -b --no-pager -o cat MEMGOV_EVENT=warn MEMGOV_UID=1001 "MEMGOV_WARN_LEVEL=$level" | grep -c . || true)
  if ((n > 0)); then
    check OK "memgovd warned alice at the $level level ($(journalctl -b --no-pager -o cat MEMGOV_EVENT=warn MEMGOV_UID=1001 "MEMGOV_WARN_LEVEL=$level" | sed -n 1p))"
  else
    check FAIL "no $level warning for alice (MEMGOV_EVENT=warn MEMGOV_WARN_LEVEL=$level: none; levels seen: $(journalctl -b --no-pager -o json MEMGOV_EVENT=warn MEMGOV_UID=1001 | jq -r .MEMGOV_WARN_LEVEL | tr '\n' ' '))"
  fi
done

# -------------------------------------------------------------------------
step "who was killed, who was spared"
if is_alive "$hog"; then
  check FAIL "the hog is still alive after ${CAP}s"
else
  reason=$(journalctl -b --no-pager -o json MEMGOV_EVENT=kill | jq -r 'select(.MEMGOV_VICTIM_PID == "'"$hog"'") | .MEMGOV_REASON' | tail -n1)
  kernel=$(journalctl -b --no-pager -o json MEMGOV_EVENT=kernel-oom-kill | jq -r 'select(.MEMGOV_VICTIM_PID == "'"$hog"'") | .MESSAGE' | tail -n1)
  if [[ -n $reason ]]; then
    check OK "alice's hog (pid $hog) killed by memgovd after ${kill_s}s: $reason"
  elif [[ -n $kernel ]]; then
    check FAIL "the kernel's OOM killer took the hog at MemoryMax after ${kill_s}s, before memgovd acted (memgovd reported it: $kernel)"
  else
    check FAIL "the hog died after ${kill_s}s but memgovd logged no kill for pid $hog"
  fi
fi
if is_alive "$alice_shell"; then check OK "alice's login shell $alice_shell survived"; else check FAIL "alice's login shell was killed"; fi
if is_alive "$alice_tmux"; then check OK "alice's tmux server $alice_tmux survived"; else check FAIL "alice's tmux server was killed"; fi
if is_alive "$bob_sleeper" && [[ ! -s $TDIR/bob.signals ]]; then
  check OK "bob's sleeper $bob_sleeper untouched"
else
  check FAIL "bob's sleeper was touched ($(proc_state "$bob_sleeper") $(cat "$TDIR/bob.signals" 2>/dev/null))"
fi

# -------------------------------------------------------------------------
step "the record: journalctl MEMGOV_EVENT=kill -o verbose, memgovctl status"
journalctl -b --no-pager -o verbose MEMGOV_EVENT=kill | shown
echo
say "# memgovctl status"
memgovctl status 2>&1 | shown || true
echo
say "# memgovctl top alice"
memgovctl top alice 2>&1 | shown || true

echo
echo "memgov demo summary:"
printf '%s\n' "${checks[@]}"
failed=$(printf '%s\n' "${checks[@]}" | grep -c FAIL || true)
reset_user alice
reset_user bob
_lib_ended=1 # not an assert-style scenario: no "N passed" line from lib.sh
if ((failed > 0)); then
  echo "$failed of ${#checks[@]} checks failed"
  exit 1
fi
echo "all ${#checks[@]} checks passed"
