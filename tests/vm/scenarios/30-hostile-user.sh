#!/bin/bash
# vm-run: --timeout 900
# A hostile user (alice) tries everything of issue 9 at once: process names
# that forge journal lines and terminal sequences, a cgroup tree 45 levels
# deep with terminal sequences in a name and a threaded subtree inside her
# user@1001.service, a hog split into three setsid'd processes named
# "tmux: server", a hog whose main thread has exited, 300 supplementary
# groups and a group of 1,500 members (her budget comes from that group's
# groups.d file), and a FIFO at the metrics file's old fixed temp name.
# memgovd still warns and kills the right processes (dead, judged by the
# kernel), her editor lives unsignalled, bob is untouched, nothing reaches
# the journal at emerg, and each record is one journal entry.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
# memgovd.service may write only here (ReadWritePaths=) and in /run/memgov,
# which a restart empties.
PROM_DIR=/var/lib/prometheus/node-exporter
PROM=$PROM_DIR/memgov.prom
FORGED=$'x\n<0>\e[2J'

# --- big directories: 300 supplementary groups, a group of 1,500 ------------
# Written into /etc/group directly: 1,800 groupadd/usermod runs take minutes
# under TCG, and NSS reads the file the same way.
if ! grep -q '^hostilebig:' /etc/group; then
  members=$(seq -f 'member%05g' 1 1500 | paste -sd, -)
  {
    echo "hostilebig:x:3000:$members,alice"
    for i in $(seq 1 300); do echo "hsup$i:x:$((4000 + i)):alice"; done
  } >>/etc/group
fi
log "alice is in $(id -G alice | wc -w) groups; hostilebig has $(getent group hostilebig | tr ',' '\n' | wc -l) members ($(getent group hostilebig | wc -c) bytes)"

# --- a FIFO where the metrics file's temp file used to be --------------------
mkdir -p "$PROM_DIR"
rm -f "$PROM" "$PROM.tmp"
mkfifo "$PROM.tmp"

mg_config_base "MetricsFile=$PROM"
# alice's budget comes only through the 1,500-member group.
mg_conf groups.d/hostilebig.conf "MemoryHigh=200M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s" "Warn=50%"

# --- the hostile programs ----------------------------------------------------
cat >/usr/local/bin/forged.pl <<'EOF'
# Names itself ARGV[0] (any bytes but NUL), then holds ARGV[1] MiB.
open(my $f, '>', '/proc/self/comm') or die; syswrite($f, $ARGV[0]); close $f;
my $x = 'a' x ($ARGV[1] << 20); sleep 100000;
EOF
cat >/usr/local/bin/tmuxhog.pl <<'EOF'
# Calls itself "tmux: server" and grows to ARGV[0] MiB in 5 MiB steps.
open(my $f, '>', '/proc/self/comm') or die; syswrite($f, 'tmux: server'); close $f;
my @a; for (1 .. $ARGV[0] / 5) { push @a, 'a' x (5 << 20); select(undef, undef, undef, 0.2); }
sleep 100000;
EOF
cat >/usr/local/bin/deepnest <<'EOF'
#!/bin/sh
# Inside a user service: nest 45 cgroups deep (with a terminal sequence in
# one name: the kernel refuses only '/' and newlines), move there, add a
# threaded subtree beside it, and hold a little memory.
cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
evil=$(printf 'evil\033[2J<0>\033]52;c;eA==\007')
d=$cg
i=0
while [ "$i" -lt 45 ]; do
  if [ "$i" = 20 ]; then d="$d/$evil"; else d="$d/n$i"; fi
  mkdir "$d" || exit 1
  i=$((i + 1))
done
echo $$ >"$d/cgroup.procs" || exit 1
mkdir "$cg/thr" "$cg/thr/t" && echo threaded >"$cg/thr/t/cgroup.type"
exec /usr/local/bin/sleeper --mb 10
EOF
chmod 0755 /usr/local/bin/deepnest
chmod 0644 /usr/local/bin/forged.pl /usr/local/bin/tmuxhog.pl

login_linger alice
pam_session alice
mg_restart
MGPID=$(mg_pid)
mg_wait_user 1001

# --- the 1,500-member group's groups.d file applies --------------------------
assert_eq $((300 * M)) "$(mg_status_field '.users[] | select(.uid == 1001) | .budget_max')" \
  "alice's MemoryMax= from groups.d/hostilebig.conf"
assert_eq "$((300 * M))" "$(slice_prop alice MemoryMax)" "MemoryMax= on user-1001.slice"

# --- the FIFO did not hang the metrics file -----------------------------------
wait_for "grep -q 'memgov_user_memory_max_bytes{uid=\"1001\"' $PROM" 20 || true
assert_true "the metrics file is written beside the FIFO" grep -q 'memgov_user_memory_max_bytes{uid="1001"' "$PROM"
assert_true "the FIFO is left alone" test -p "$PROM.tmp"

# --- bob, and alice's editor ---------------------------------------------------
sleeper_in bob bobjob 50
mg_wait_user 1002
sleeper_in alice vim 30

# --- the deep and threaded cgroups inside user@1001.service -------------------
systemd-run --quiet --machine=alice@.host --user --unit=deepnest /usr/local/bin/deepnest ||
  die "cannot start deepnest in alice's user manager"
wait_for "pgrep -u 1001 -f 'sleeper --mb 10'" 20 || die "deepnest did not get going"
DEEP=$(pgrep -u 1001 -f 'sleeper --mb 10' | head -n 1)
log "deepnest pid $DEEP at depth $(cgroup_of "$DEEP" | tr -cd '/' | wc -c)"
assert_true "a threaded cgroup in alice's tree" \
  grep -rqx threaded --include=cgroup.type "/sys/fs/cgroup/user.slice/user-1001.slice/user@1001.service"

# --- a forged name ---------------------------------------------------------------
pam_send alice "perl /usr/local/bin/forged.pl \"\$(printf 'x\\n<0>\\033[2J')\" 20 &"
wait_for "[[ -n \$(pgrep -u 1001 -f forged.pl) ]]" 20 || die "forged.pl did not start"
FORGED_PID=$(pgrep -u 1001 -f forged.pl | head -n 1)
assert_eq "$FORGED" "$(cat "/proc/$FORGED_PID/comm")" "the forged comm is in place"

# --- memgovctl on the hostile slice -------------------------------------------
out=$(memgovctl explain alice 2>&1) || fail "memgovctl explain alice failed: $out"
assert_false "memgovctl explain prints no ESC" grep -q $'\e' <<<"$out"
assert_true "memgovctl explain shows the forged name escaped" grep -qF 'x\n<0>\x1b[2J' <<<"$out"
out=$(memgovctl top alice 2>&1) || fail "memgovctl top alice failed: $out"
assert_true "memgovctl top lists the task in the 45-deep cgroup" grep -q "^ *$DEEP " <<<"$out"

# --- a hog in three setsid'd pieces named "tmux: server" ----------------------
mg_mark
PHASE1=$MG_MARK_US
pam_send alice "for i in 1 2 3; do setsid perl /usr/local/bin/tmuxhog.pl 120 & done"
wait_for "[[ \$(pgrep -u 1001 -x 'tmux: server' | wc -l) -ge 3 ]]" 20 || die "the hog pieces did not start"
mapfile -t PIECES < <(pgrep -u 1001 -x 'tmux: server')
log "hog pieces: ${PIECES[*]} (comm '$(cat "/proc/${PIECES[0]}/comm")', sid = pid: $(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[4] }' "/proc/${PIECES[0]}/stat"))"
mg_wait_event 120 kill MEMGOV_UID=1001 || die "no kill within 120 s (usage $(($(slice_file alice memory.current) / M))M)"
mg_events kill MEMGOV_UID=1001 | head -n 1 | jq -r '.MESSAGE, .MEMGOV_CANDIDATES' | sed 's/^/    /'
VICTIM=$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)
assert_eq "tmux: server" "$(mg_field kill MEMGOV_VICTIM_COMM MEMGOV_UID=1001)" "the victim's comm"
assert_true "the victim is one of the hog's pieces" grep -qx "$VICTIM" <(printf '%s\n' "${PIECES[@]}")
wait_dead "$VICTIM" 15 || true
assert_dead "$VICTIM" "the killed piece"
assert_untouched vim
assert_true "a warning came first" test "$(mg_count warn MEMGOV_UID=1001)" -ge 1
assert_true "the records' candidate tables show the forged name escaped" \
  grep -qF 'x\n<0>\x1b[2J' <({
    mg_events warn MEMGOV_UID=1001
    mg_events kill MEMGOV_UID=1001
  } | jq -r .MEMGOV_CANDIDATES)
pkill -KILL -u 1001 -f tmuxhog.pl || true
wait_usage_below alice 120 30 || true

# --- a hog whose main thread has exited ---------------------------------------
sleep 6 # past Cooldown=
mg_mark
pam_send alice "deadleader 260 &"
wait_for "pgrep -u 1001 -x deadleader" 20 || die "deadleader did not start"
DL=$(pgrep -u 1001 -x deadleader)
wait_for "[[ \$(proc_state $DL) == Z ]]" 10 || true
log "deadleader $DL: leader state $(proc_state "$DL"), threads $(find "/proc/$DL/task" -mindepth 1 -maxdepth 1 | wc -l)"
mg_wait_event 120 kill MEMGOV_UID=1001 || die "no kill of the dead-leader hog within 120 s"
mg_events kill MEMGOV_UID=1001 | head -n 1 | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq "$DL" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "the dead-leader hog is the victim"
wait_for "! test -e /proc/$DL" 20 || true
assert_false "the dead-leader hog is gone, threads and all" test -e "/proc/$DL"
assert_untouched vim

# --- nothing forged, one entry per record, bob untouched ----------------------
assert_eq 0 "$(journalctl -b -p emerg -q --no-pager | grep -c .)" "journal entries at emerg"
assert_eq 0 "$(journalctl -b -u memgovd.service -p crit -q --no-pager | grep -c .)" "memgovd entries at crit or above"
assert_eq 0 "$(journalctl -b -u memgovd.service -o cat --all --no-pager | grep -c $'\e')" "memgovd entries with an ESC"
dups=$(journalctl -b -u memgovd.service -o json --no-pager | jq -cs --argjson t "$PHASE1" '
  [.[] | select((.__REALTIME_TIMESTAMP | tonumber) > $t)] as $e
  | [$e[] | select(.MEMGOV_EVENT) | .MESSAGE] as $r
  | [$e[] | select((.MEMGOV_EVENT | not) and (.MESSAGE as $m | $r | index($m)))] | length')
assert_eq 0 "$dups" "plain log entries that repeat a record"
assert_untouched bobjob
MG_MARK_US=0
assert_eq 0 "$(mg_count kill MEMGOV_UID=1002)" "kills in bob's slice this boot"
assert_eq "$MGPID" "$(mg_pid)" "memgovd's pid (it never restarted)"
assert_true "the metrics file is still written" grep -q 'memgov_user_kills_total{uid="1001"' "$PROM"
grep -h 'part of the slice' <(journalctl -b -u memgovd.service -o cat --no-pager) | head -n 2 | sed 's/^/    /' || true

stop_units
systemctl --machine=alice@.host --user stop deepnest.service 2>/dev/null || true
mg_cleanup_users alice bob
rm -f /etc/memgov/groups.d/hostilebig.conf "$PROM.tmp"
scenario_end
