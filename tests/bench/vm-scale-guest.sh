#!/bin/bash
# Runs in the test VM (tests/bench/vm-scale boots it): the idle cost of
# memgovd, earlyoom and systemd-oomd side by side in one boot, with 3, 30
# and 300 users each owning a slice that holds one sleeping process.
# All three daemons run at once and are measured over the same windows:
#   wake-ups a minute  voluntary + involuntary context switches, all threads
#   CPU a minute       sum_exec_runtime from /proc/PID/task/*/schedstat
#   RSS, private       VmRSS; Private_Clean + Private_Dirty of smaps_rollup
# Each figure is the median of RUNS windows of WINDOW seconds, scaled to a
# minute. Also: the time from the last of a batch of logins to every
# budget applied (memory.max set on every slice), and memgovd's time from
# exec to READY=1 (ExecMainStartTimestamp to ActiveEnterTimestamp of a
# restart, Type=notify) at each size; and memgovd's reaction to a hog with
# the last pass's users still there (see reaction()). Prints a markdown table and writes it
# to $MEMGOV_RESULTS/scale.md. Figures only: exits 0 unless the setup fails.
# Environment: SCALE_REACTION=0 skips the reaction; SCALE_SIZES="3 30 300", SCALE_RUNS=3, SCALE_WINDOW=20,
# SCALE_SETTLE=20 (seconds idle before measuring); SCALE_COMPARE=PATH: a
# whole pass first with the memgovd binary at PATH bind-mounted over the
# installed one (rows "memgovd (compared)"), then one with the installed
# binary, in the same boot, each pass with its own users.
set -uo pipefail

read -r -a SIZES <<<"${SCALE_SIZES:-3 30 300}"
RUNS=${SCALE_RUNS:-3}
WINDOW=${SCALE_WINDOW:-20}
SETTLE=${SCALE_SETTLE:-20}
CG=/sys/fs/cgroup/user.slice
OUT=${MEMGOV_RESULTS:-/tmp}/scale.md

log() { printf '[%6.1f] %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
now() { cut -d' ' -f1 /proc/uptime; }

main_pid() { systemctl show -p MainPID --value "$1"; }

# Sum over all threads: context switches, runtime in ns.
ctxt_of() {
  local pid=$1 t s=0 v
  for t in /proc/"$pid"/task/*/status; do
    v=$(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }' "$t" 2>/dev/null) || continue
    s=$((s + v))
  done
  echo "$s"
}
runtime_of() {
  local pid=$1 t s=0 v
  for t in /proc/"$pid"/task/*/schedstat; do
    read -r v _ <"$t" 2>/dev/null || continue
    s=$((s + v))
  done
  echo "$s"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status; }
private_kib() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' /proc/"$1"/smaps_rollup; }
fds_of() { find /proc/"$1"/fd -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# Where the RSS goes, by kind of mapping (smaps): "heap: RSS 1234 KiB, private 1230 KiB; ...".
# Anonymous mappings are the resolver thread's malloc arena and stacks.
memory_breakdown() {
  awk '
    /^[0-9a-f]+-[0-9a-f]+ / {
      name = NF >= 6 ? $6 : ""
      if (name == "[heap]") k = "heap"
      else if (name == "[stack]") k = "main stack"
      else if (name == "") k = "anonymous"
      else if (name ~ /\/memgovd$/) k = "memgovd binary"
      else if (name ~ /\.so/) k = "libraries"
      else k = "other"
      if (!(k in seen)) { seen[k] = 1; order[++n] = k }
      next
    }
    /^Rss:/ { rss[k] += $2 }
    /^Private_(Clean|Dirty):/ { priv[k] += $2 }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]
        if (rss[k] > 0) printf "%s%s: RSS %d KiB, private %d KiB", sep, k, rss[k], priv[k]
        if (rss[k] > 0) sep = "; "
      }
    }' /proc/"$1"/smaps
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

n_users=0
add_users() { # up to $1 users, each with a slice holding one sleeper
  local want=$1 uid
  while ((n_users < want)); do
    uid=$((BASE_UID + n_users))
    id -u "u$uid" >/dev/null 2>&1 || useradd -M -N -u "$uid" -s /usr/sbin/nologin "u$uid" || die "useradd $uid"
    n_users=$((n_users + 1))
  done
  local t0
  t0=$(now)
  for ((i = 0; i < want; i++)); do
    uid=$((BASE_UID + i))
    systemctl is-active --quiet "idle-$uid.service" && continue
    systemd-run -q --uid="$uid" --slice="user-$uid.slice" --unit="idle-$uid" sleep infinity || die "systemd-run $uid"
  done
  LAST_LOGIN=$(now)
  log "$want users: logins took $(awk -v a="$t0" -v b="$LAST_LOGIN" 'BEGIN { printf "%.1f", b - a }') s"
}

# Seconds from LAST_LOGIN until every governed slice has memory.max set
# (the default budget is MemoryMax=50%), or "> 120" if it never happens.
budgets_applied() {
  local want=$1 unset t
  for ((k = 0; k < 1200; k++)); do
    unset=$(cat "$CG"/user-"${BASE_UID:0:2}"[0-9][0-9][0-9].slice/memory.max 2>/dev/null | grep -c '^max$')
    have=$(find "$CG" -maxdepth 1 -name "user-${BASE_UID:0:2}[0-9][0-9][0-9].slice" | wc -l)
    if ((have >= want && unset == 0)); then
      t=$(now)
      awk -v a="$LAST_LOGIN" -v b="$t" 'BEGIN { printf "%.1f", b - a }'
      return
    fi
    sleep 0.1
  done
  echo "> 120"
}

ready_time() { # exec -> READY=1 of a restart, seconds
  systemctl restart memgovd.service || { echo "-"; return; }
  local s e
  s=$(systemctl show -p ExecMainStartTimestampMonotonic --value memgovd.service)
  e=$(systemctl show -p ActiveEnterTimestampMonotonic --value memgovd.service)
  awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'
}

# One window over all daemons at once: per daemon "wakeups cpu_ms" a minute.
declare -A PIDS
measure_window() {
  local d c1 r1
  declare -A C0 R0
  for d in "${!PIDS[@]}"; do
    C0[$d]=$(ctxt_of "${PIDS[$d]}")
    R0[$d]=$(runtime_of "${PIDS[$d]}")
  done
  sleep "$WINDOW"
  for d in "${!PIDS[@]}"; do
    c1=$(ctxt_of "${PIDS[$d]}")
    r1=$(runtime_of "${PIDS[$d]}")
    awk -v d="$d" -v c=$((c1 - C0[$d])) -v r=$((r1 - R0[$d])) -v w="$WINDOW" \
      'BEGIN { printf "%s %.1f %.1f\n", d, c * 60 / w, r / 1e6 * 60 / w }'
  done
}

systemctl is-active --quiet memgovd.service || die "memgovd.service is not running"
systemctl unmask systemd-oomd.service systemd-oomd.socket >/dev/null 2>&1
systemctl start systemd-oomd.service || log "systemd-oomd did not start"
systemctl start earlyoom.service || log "earlyoom did not start"
sleep 2

# One pass over the sizes, logins included, with the memgovd binary in
# place; its rows are labelled LABEL. Each pass has its own users (from
# uid BASE), so that no budget is left over from the pass before.
run_phase() {
  local label=$1 size p wk cpu rss priv fds extra applied d
  systemctl stop 'idle-*.service' 'user-2????.slice' >/dev/null 2>&1
  BASE_UID=$2
  n_users=0
  systemctl restart memgovd.service || die "memgovd.service does not restart"
  sleep 2
for size in "${SIZES[@]}"; do
  add_users "$size"
  applied=$(budgets_applied "$size")
  log "$size users: all budgets applied $applied s after the last login"
  sleep "$SETTLE"
  PIDS=()
  for d in memgovd systemd-oomd earlyoom; do
    p=$(main_pid "$d.service")
    [[ -n $p && $p != 0 ]] && PIDS[$d]=$p
  done
  samples=()
  for ((run = 1; run <= RUNS; run++)); do
    while read -r line; do samples+=("$line"); done < <(measure_window)
    log "$size users: window $run: $(printf '%s; ' "${samples[@]: -${#PIDS[@]}}")"
  done
  for d in memgovd earlyoom systemd-oomd; do
    [[ -n ${PIDS[$d]:-} ]] || { ROWS+=("| $size | $d | not running | | | | | | |"); continue; }
    p=${PIDS[$d]}
    wk=$(printf '%s\n' "${samples[@]}" | awk -v d="$d" '$1 == d { print $2 }' | median)
    cpu=$(printf '%s\n' "${samples[@]}" | awk -v d="$d" '$1 == d { print $3 }' | median)
    rss=$(rss_kib "$p") priv=$(private_kib "$p") fds=$(fds_of "$p")
    [[ $d == memgovd ]] && MEMORY+=("Memory of $label at $size users: $(memory_breakdown "$p"); the machine's MemAvailable $(awk '/MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo) MiB (memgovd looks on its own below twice its ShortageMemoryFloor= without swap).")
    if [[ $d == memgovd ]]; then
      extra="$applied s | $(ready_time) s"
    else
      extra=" | "
    fi
    [[ $d == memgovd ]] && d=$label
    ROWS+=("| $size | $d | $wk | $cpu | $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v k="$priv" 'BEGIN { printf "%.1f", k / 1024 }') | $fds | $extra |")
  done
  log "$label: $size users done"
done
}

# memgovd's reaction with every user of the last pass still there: alice
# gets MemoryHigh=200M, MemoryMax=300M, and a hog (anon memory, no swap)
# grows past them in her slice. psi-first arms the trigger memgovd arms (some
# 10% of the 1 s window) and notes when it first fires; the kill is the time
# of memgovd's kill record. Overhead = kill - first PSI event -
# PressureDuration (5 s by default). Sets REACTION.
REACTION="not measured"
reaction() {
  local slice=$CG/user-1001.slice t_start t_psi t_kill k psi_pid
  mkdir -p /etc/memgov/users.d
  printf 'MemoryHigh=200M\nMemoryMax=300M\n' >/etc/memgov/users.d/alice.conf
  systemctl reload memgovd.service
  systemd-run -q --uid=1001 --slice=user-1001.slice --unit=react-sleeper sleep infinity
  for ((k = 0; k < 300; k++)); do
    [[ $(cat "$slice/memory.max" 2>/dev/null) == 314572800 ]] && break
    sleep 0.1
  done
  [[ $(cat "$slice/memory.max" 2>/dev/null) == 314572800 ]] || { REACTION="alice's budget was never applied"; return; }
  psi-first "$slice" 100000 1000000 150 >/tmp/psi-first.out &
  psi_pid=$!
  sleep 0.5
  t_start=$(date +%s.%N)
  systemd-run -q --uid=1001 --slice=user-1001.slice --unit=react-hog hog --mb 600 --step-mb 8 --interval-ms 100 --hold
  for ((k = 0; k < 1500; k++)); do
    systemctl is-active --quiet react-hog.service || break
    sleep 0.1
  done
  wait "$psi_pid"
  t_psi=$(cat /tmp/psi-first.out)
  t_kill=$(journalctl -b MEMGOV_EVENT=kill MEMGOV_UID=1001 -o json -n 1 | jq -r '.__REALTIME_TIMESTAMP // empty')
  systemctl stop react-sleeper.service react-hog.service >/dev/null 2>&1
  if [[ -z $t_psi || -z $t_kill ]]; then
    REACTION="no kill or no PSI event within 150 s (first PSI event: '${t_psi:-none}', kill record: '${t_kill:-none}')"
    return
  fi
  REACTION=$(awk -v s="$t_start" -v p="$t_psi" -v k="$t_kill" 'BEGIN {
    k /= 1e6
    printf "first PSI event %.1f s after the hog started; kill %.2f s after it; overhead (minus PressureDuration=5s) %.2f s, PSI window 1 s; hog start to kill %.1f s", p - s, k - p, k - p - 5, k - s }')
}

ROWS=() MEMORY=()
if [[ -n ${SCALE_COMPARE:-} ]]; then
  memgovd_bin=$(command -v memgovd)
  mount --bind "$SCALE_COMPARE" "$memgovd_bin" || die "cannot bind-mount $SCALE_COMPARE"
  run_phase "memgovd (compared)" 20000
  # The compared build still runs from the mount: stop it first.
  systemctl stop memgovd.service
  umount "$memgovd_bin" || die "cannot unmount $memgovd_bin"
fi
run_phase memgovd 21000
[[ ${SCALE_REACTION:-1} == 1 ]] && reaction
log "reaction: $REACTION"

{
  echo "Idle cost, $(date -u +%Y-%m-%d), guest $(uname -r), $(nproc) vCPU, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo);"
  echo "median of $RUNS windows of $WINDOW s each (all daemons measured in the same windows), scaled to a minute."
  echo
  echo "| users | daemon | wake-ups/min | CPU ms/min | RSS MiB | private MiB | fds | last login → all budgets | exec → READY=1 |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Reaction of memgovd with $n_users idle users present: $REACTION."
  echo
  printf '%s\n' "${MEMORY[@]}"
} | tee "$OUT"
exit 0
