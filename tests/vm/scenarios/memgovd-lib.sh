# shellcheck shell=bash
# memgovd scenario helpers (daemon engineer), on top of lib.sh. Runs INSIDE
# the guest. Source lib.sh first, then this file.
#
# Every scenario starts from a known configuration (mg_config_base), restarts
# memgovd, and reads results from the journal after a cursor (mg_mark), so
# records of earlier steps never count.

MG_CONF=/etc/memgov
MG_STATUS=/run/memgov/status.json

# mg_config_base [EXTRA-GOVERNOR-LINES...]: a clean config set. Defaults are
# generous; scenarios put the budgets they test in users.d/ and groups.d/.
# shellcheck disable=SC2120 # the extra lines are optional
mg_config_base() {
  mkdir -p "$MG_CONF/memgov.conf.d" "$MG_CONF/users.d" "$MG_CONF/groups.d"
  rm -f "$MG_CONF"/memgov.conf.d/*.conf "$MG_CONF"/users.d/*.conf "$MG_CONF"/groups.d/*.conf
  {
    echo "[Governor]"
    echo "PressureWindow=1s"
    printf '%s\n' "$@"
    echo "[Defaults]"
    echo "MemoryHigh=400M"
    echo "MemoryMax=500M"
    echo "MemorySwapMax=0"
  } >"$MG_CONF/memgov.conf.d/50-test.conf"
}
# mg_conf FILE LINE...: write a drop-in (path relative to /etc/memgov).
mg_conf() {
  local f=$MG_CONF/$1
  shift
  printf '%s\n' "$@" >"$f"
}

mg_pid() { systemctl show -p MainPID --value memgovd.service; }
# mg_restart: restart memgovd (Type=notify: returns once READY=1).
mg_restart() {
  systemctl reset-failed memgovd.service 2>/dev/null || true
  systemctl restart memgovd.service || die "memgovd did not start: $(journalctl -b -u memgovd -n 20 --no-pager)"
  log "memgovd restarted (pid $(mg_pid))"
}
# mg_status_field JQ-EXPR: a value from status.json.
mg_status_field() { jq -r "$1" "$MG_STATUS" 2>/dev/null; }
# mg_reload: `systemctl reload` and wait until memgovd has reloaded.
mg_reload() {
  local before
  before=$(mg_status_field .reloads)
  systemctl reload memgovd.service
  wait_for "[[ \$(mg_status_field .reloads) -gt ${before:-0} ]]" 15 || die "memgovd did not reload within 15 s"
}
# mg_wait_user UID: memgovd governs UID (status.json lists it with a slice).
mg_wait_user() {
  wait_for "[[ \$(mg_status_field '.users[] | select(.uid == $1) | .has_slice') == true ]]" 20 ||
    die "memgovd does not govern uid $1 (status: $(cat $MG_STATUS 2>&1))"
}

# mg_mark: remember the time; records received after it are "new".
# (journalctl 252's --after-cursor combined with field matches skips
# records, so the filter is on the realtime clock instead: --since, which
# journalctl resolves by seeking, to the microsecond.)
mg_mark() { MG_MARK_US=$(date +%s%6N); }
# mg_since: journalctl's --since for "after the mark" (--since is "at or after").
mg_since() {
  local us=$((${MG_MARK_US:-0} + 1))
  printf -- '--since=@%d.%06d' $((us / 1000000)) $((us % 1000000))
}
# Under emulation every jq costs about 0.75 s of the guest's CPU
# (its start-up dominates); these helpers spawn none where journalctl's own
# output is enough, and one at most otherwise.
# mg_journal EVENT OUTPUT-OPTION... -- [MATCH...]: new memgovd records.
mg_journal() {
  local ev=$1 opts=()
  shift
  while (($#)) && [[ $1 != -- ]]; do opts+=("$1") && shift; done
  shift
  journalctl -b -q --no-pager "$(mg_since)" "${opts[@]}" "MEMGOV_EVENT=$ev" "$@" 2>/dev/null
}
# mg_events EVENT [MATCH...]: new memgovd records as JSON lines.
mg_events() { mg_journal "$1" -o json -- "${@:2}"; }
# mg_count EVENT [MATCH...]: how many new records (every one carries the
# single-line MEMGOV_EVENT, so one line each).
mg_count() { mg_journal "$1" -o cat --output-fields=MEMGOV_EVENT -- "${@:2}" | grep -c . || true; }
# mg_wait_event TIMEOUT EVENT [MATCH...]: wait for a new record.
mg_wait_event() {
  local t=$1
  shift
  wait_for "[[ \$(mg_count $*) -gt 0 ]]" "$t"
}
# mg_field EVENT FIELD [MATCH...]: FIELD of the first new record (a value
# may span lines, as MESSAGE and MEMGOV_CANDIDATES do: hence JSON).
mg_field() {
  local ev=$1 f=$2
  shift 2
  mg_events "$ev" "$@" | head -n 1 | jq -r ".$f // empty"
}

# slice_file USER FILE: a file of the user's slice cgroup.
slice_file() { cat "/sys/fs/cgroup/user.slice/user-$(uid_of "$1").slice/$2"; }
# oom_kills USER: the slice's memory.events oom_kill counter.
oom_kills() { slice_file "$1" memory.events | awk '$1 == "oom_kill" { print $2 }'; }

# wait_dead PID TIMEOUT: 0 once PID is gone or a zombie.
wait_dead() { wait_for "! is_alive $1" "$2"; }

# bg_in_slice USER CMD...: like run_in_slice; echoes "UNIT PID".
bg_in_slice() {
  run_in_slice "$@"
  echo "$RUN_UNIT $RUN_PID"
}
# wait_rss PID MB TIMEOUT: wait until PID holds at least MB MiB resident.
wait_rss() { wait_for "[[ \$(rss_mb $1) -ge $2 ]]" "$3"; }

# mg_cleanup_users USER...: end everything of those users.
mg_cleanup_users() {
  local u
  for u in "$@"; do reset_user "$u"; done
}

# --- workloads in a user's slice ----------------------------------------------
# sleeper_in USER NAME MB [OOM_SCORE_ADJ]: a sleeper holding MB MiB as a
# transient service in USER's slice, logging any signal to $TDIR/NAME.sig.
# Its binary is a copy named NAME, so /proc/PID/comm is NAME (Protect= tests).
# Sets PID_<NAME> and UNIT_<NAME>.
sleeper_in() {
  local user=$1 name=$2 mb=$3 adj=${4:-}
  [[ -x /usr/local/bin/$name ]] || cp /usr/local/bin/sleeper "/usr/local/bin/$name"
  rm -f "$TDIR/$name.sig"
  run_in_slice "$user" "/usr/local/bin/$name" --mb "$mb" --log "$TDIR/$name.sig"
  [[ -n $adj ]] && echo "$adj" >"/proc/$RUN_PID/oom_score_adj"
  printf -v "PID_$name" '%s' "$RUN_PID"
  printf -v "UNIT_$name" '%s' "$RUN_UNIT"
  MG_UNITS+=("$RUN_UNIT")
}
# signalled NAME: the sleeper NAME received a catchable signal.
signalled() { [[ -s $TDIR/$1.sig ]]; }
# assert_untouched NAME: alive and never signalled.
assert_untouched() {
  local var="PID_$1"
  assert_alive "${!var}" "$1 (pid ${!var})"
  if signalled "$1"; then fail "$1 was signalled: $(cat "$TDIR/$1.sig")"; else pass "$1 received no signal"; fi
}
# stop_units: stop every transient unit started with sleeper_in/track_unit.
MG_UNITS=()
track_unit() { MG_UNITS+=("$1"); }
stop_units() {
  if ((${#MG_UNITS[@]})); then
    systemctl stop "${MG_UNITS[@]}" 2>/dev/null || true
    systemctl reset-failed "${MG_UNITS[@]}" 2>/dev/null || true
  fi
  MG_UNITS=()
}
# usec_now: wall clock in microseconds (compare with __REALTIME_TIMESTAMP).
usec_now() { date +%s%6N; }
# secs_usec START_US END_US -> seconds with one decimal
secs_usec() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
# mg_first_ts EVENT [MATCH...]: __REALTIME_TIMESTAMP of the first new record.
mg_first_ts() { mg_events "$@" | sed -n 1p | jq -r '.__REALTIME_TIMESTAMP'; }
# wait_usage_below USER MB TIMEOUT
wait_usage_below() { wait_for "[[ \$(slice_file $1 memory.current) -lt $(($2 * 1024 * 1024)) ]]" "$3"; }

# --- bob's latency probe (04, 23, 25) ------------------------------------------
# probe_start USER: a loop in USER's slice that allocates and frees a 2 MB
# string every 0.2 s and logs "START END" ($EPOCHREALTIME, no fork inside
# the timing) to $PROBE_LOG. Sets PROBE (its pid).
# shellcheck disable=SC2034 # PROBE is for the caller
probe_start() {
  PROBE_LOG=$TDIR/probe.log
  : >"$PROBE_LOG"
  chmod 666 "$PROBE_LOG"
  run_in_slice "$1" bash -c "while :; do a=\$EPOCHREALTIME; printf -v x '%*s' 2000000 ''; b=\$EPOCHREALTIME; x=; echo \"\$a \$b\" >> $PROBE_LOG; sleep 0.2; done"
  PROBE=$RUN_PID
  track_unit "$RUN_UNIT"
}
# probe_stats FROM_EPOCH TO_EPOCH -> "n=.. p50=..ms p99=..ms max=..ms"
probe_stats() {
  awk -v f="$1" -v t="$2" '$1 >= f && $1 <= t { print ($2 - $1) * 1000 }' "$PROBE_LOG" | sort -n |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "n=0"; exit }
      i50 = int(NR * 0.5); if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
      printf "n=%d p50=%.2fms p99=%.2fms max=%.2fms", NR, v[i50], v[i99], v[NR] }'
}
# probe_gap FROM_EPOCH TO_EPOCH -> "1234ms": the longest gap between two
# samples (a stall the probe could not even time).
probe_gap() {
  awk -v f="$1" -v t="$2" '$1 >= f && $1 <= t { if (p) { g = $1 - p; if (g > m) m = g } p = $1 } END { printf "%.0fms", m * 1000 }' "$PROBE_LOG"
}
# probe_stalled FROM_EPOCH TO_EPOCH -> "6.4s in 9": the time in gaps over
# 0.5 s and how many there were. One long gap is the bad moment; this is
# how long the user sat waiting in all, which a sooner kill shortens.
probe_stalled() {
  awk -v f="$1" -v t="$2" '$1 >= f && $1 <= t { if (p && $1 - p > 0.5) { s += $1 - p; n++ } p = $1 } END { printf "%.1fs in %d", s, n }' "$PROBE_LOG"
}
# probe_stalls FROM_EPOCH TO_EPOCH -> "+3.1s 0.62s, +9.8s 1.20s": every gap
# between two samples over 0.5 s (the probe sleeps 0.2 s), by when it began
# after FROM, so that a stall can be set beside what a governor did then.
probe_stalls() {
  awk -v f="$1" -v t="$2" '$1 >= f && $1 <= t { if (p && $1 - p > 0.5) { printf "%s+%.1fs %.2fs", sep, p - f, $1 - p; sep = ", " } p = $1 }' "$PROBE_LOG"
}
