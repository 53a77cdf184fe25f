# shellcheck shell=bash
# memgov VM scenarios: helpers for scripts that run INSIDE the test guest
# (as root, via tests/vm/run). Source it, call scenario_begin, assert, and end
# with scenario_end (prints "N passed, N failed", exits 0/1).
#
#   . "$(dirname "$0")/lib.sh"
#   scenario_begin "smoke"
#   assert_eq "expected" "$actual" "what is compared"
#   scenario_end
#
# Assertions do not stop the script; `die` does (exit 1 at once).

# shellcheck disable=SC2034 # PAM_*, RUN_* are results for the caller
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C.UTF-8

SCENARIO=${SCENARIO:-$(basename "$0" .sh)}
RESULTS=${MEMGOV_RESULTS:-/tmp/memgov-results}
# Scratch space visible to every test user (fifos, pid files, tty logs).
TDIR=/run/memgov-test
mkdir -p "$TDIR" "$RESULTS"
chmod 1777 "$TDIR"
_passed=0
_failed=0
# A scenario that stops before scenario_end (set -e: some command failed)
# says where, instead of just vanishing with a non-zero status.
_lib_ended=0
_lib_last_err=
set -E
trap '_lib_last_err="${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
_lib_on_exit() {
  local rc=$?
  if ((rc != 0 && !_lib_ended)); then
    log "ABORTED: exit status $rc before scenario_end; last failed command: ${_lib_last_err:-unknown}"
    echo "$_passed passed, $((_failed + 1)) failed"
  fi
}
trap _lib_on_exit EXIT
_t0=$(cut -d' ' -f1 /proc/uptime)

# ----------------------------------------------------------------- output
# Seconds since the scenario started (from /proc/uptime), one decimal.
elapsed() { awk -v a="$_t0" '{ printf "%.1f", $1 - a }' /proc/uptime; }
# Monotonic seconds (float), for measuring intervals.
now_s() { cut -d' ' -f1 /proc/uptime; }
# secs_between START END -> "1.2"
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }
die() {
  log "FATAL: $*"
  _lib_ended=1
  exit 1
}
pass() {
  _passed=$((_passed + 1))
  log "ok - $*"
}
fail() {
  _failed=$((_failed + 1))
  log "not ok - $*"
}

scenario_begin() { # uses $SCENARIO
  log "=== scenario $SCENARIO ($(uname -r), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'))"
}
scenario_end() {
  _lib_ended=1
  log "=== scenario $SCENARIO: $_passed passed, $_failed failed"
  echo "$_passed passed, $_failed failed"
  ((_failed == 0))
  exit $?
}

# ----------------------------------------------------------------- asserts
# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
  if [[ $1 == "$2" ]]; then
    pass "${3:-value} = '$2'"
  else
    fail "${3:-value}: expected '$1', got '$2'"
  fi
}
# assert_match REGEX ACTUAL [WHAT]   (bash =~, extended regex)
assert_match() {
  if [[ $2 =~ $1 ]]; then
    pass "${3:-value} matches /$1/"
  else
    fail "${3:-value}: '$2' does not match /$1/"
  fi
}
# assert_true WHAT CMD [ARG...]: CMD must succeed.
assert_true() {
  local what=$1
  shift
  if "$@"; then
    pass "$what"
  else
    fail "$what (command failed: $*)"
  fi
}
# assert_false WHAT CMD [ARG...]: CMD must fail.
assert_false() {
  local what=$1
  shift
  if "$@"; then
    fail "$what (command unexpectedly succeeded: $*)"
  else
    pass "$what"
  fi
}

# ----------------------------------------------------------------- processes
# proc_state PID -> one-letter state from /proc/PID/stat, or "gone".
# (kill -0 succeeds on zombies, so never use it to test for life.)
proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
    echo gone
    return
  }
  stat=${stat##*) } # the comm field may contain spaces and parentheses
  echo "${stat%% *}"
}
# is_alive PID: exists and is neither a zombie nor dead.
is_alive() {
  local s
  is_pid "$1" || return 1
  s=$(proc_state "$1")
  [[ $s != gone && $s != Z && $s != X ]]
}
# is_pid STR: a positive number. "/proc//stat" is /proc/stat, so an empty
# pid would otherwise read as a live process.
is_pid() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
assert_alive() {
  if ! is_pid "$1"; then
    fail "${2:-pid \"$1\"}: not a pid ('$1'): nothing to check alive"
  elif is_alive "$1"; then
    pass "${2:-pid $1} is alive (state $(proc_state "$1"))"
  else
    fail "${2:-pid $1} is not alive (state $(proc_state "$1"))"
  fi
}
assert_dead() {
  if ! is_pid "$1"; then
    fail "${2:-pid \"$1\"}: not a pid ('$1'): nothing to check dead"
  elif is_alive "$1"; then
    fail "${2:-pid $1} is still alive (state $(proc_state "$1"))"
  else
    pass "${2:-pid $1} is dead (state $(proc_state "$1"))"
  fi
}
# rss_mb PID -> resident set in MiB (0 if gone)
rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# cgroup_of PID -> cgroup v2 path of PID
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }

# wait_for CMD TIMEOUT: poll every 0.2 s until CMD succeeds; 1 on timeout.
# CMD is one string, evaluated by bash ('test -e /x', 'is_alive 42', ...).
# wait_for CMD ARG... TIMEOUT (more than two arguments) runs "CMD ARG..." as argv.
wait_for() {
  (($# >= 2)) || die "usage: wait_for CMD TIMEOUT"
  local timeout=${*: -1} deadline
  local -a cmd=("${@:1:$#-1}")
  deadline=$(awk -v t="$timeout" '{ print $1 + t }' /proc/uptime)
  while :; do
    if ((${#cmd[@]} == 1)); then
      eval "${cmd[0]}" >/dev/null 2>&1 && return 0
    else
      "${cmd[@]}" >/dev/null 2>&1 && return 0
    fi
    awk -v d="$deadline" '{ exit !($1 >= d) }' /proc/uptime && return 1
    sleep 0.2
  done
}

# ----------------------------------------------------------------- users
uid_of() { id -u "$1"; }
user_slice() { echo "user-$(uid_of "$1").slice"; }
# slice_prop USER|UID PROP -> systemctl show value for user-UID.slice
slice_prop() {
  local uid=$1
  [[ $uid =~ ^[0-9]+$ ]] || uid=$(uid_of "$uid")
  systemctl show -p "$2" --value "user-$uid.slice"
}
# set_slice_limits USER HIGH MAX: runtime limits the way memgovd sets them.
set_slice_limits() {
  systemctl set-property --runtime "$(user_slice "$1")" "MemoryHigh=$2" "MemoryMax=$3"
}

# login_linger USER: enable lingering and wait for user@UID.service + slice.
login_linger() {
  local uid
  uid=$(uid_of "$1")
  loginctl enable-linger "$1"
  wait_for "systemctl is-active --quiet user@$uid.service" 30 ||
    die "user@$uid.service did not become active after enable-linger $1"
  wait_for "test -d /sys/fs/cgroup/user.slice/user-$uid.slice" 10 ||
    die "no cgroup user.slice/user-$uid.slice after enable-linger $1"
}

# pam_session USER [CMD]: start a PAM login session (runuser -l, pam_systemd)
# for USER holding a pty (script(1)), in the background. Without CMD it is an
# interactive login shell that reads what `pam_send USER TEXT` types. Sets:
#   PAM_PID            script's pid (root, outside the session)
#   PAM_TTY_LOG        everything the session's terminal showed
#   PAM_TTY            the session's pty (/dev/pts/N), owned by USER like a real login
#   PAM_SHELL_PID      the login shell's pid (interactive sessions only)
# The terminal log is $TDIR/USER.tty.
pam_session() {
  local user=$1
  shift
  local fifo=$TDIR/$user.in session_cmd="runuser -l $user" fd
  if (($#)); then
    local c
    printf -v c '%q ' "$@"
    session_cmd+=" -c $(printf '%q' "$c")"
  fi
  PAM_TTY_LOG=$TDIR/$user.tty
  PAM_SHELL_PID=
  : >"$PAM_TTY_LOG"
  rm -f "$fifo"
  mkfifo -m 0600 "$fifo"
  # Hold the fifo open read-write on a spare fd: the session never sees EOF
  # on its terminal (script(1) ends the session when its stdin closes).
  exec {fd}<>"$fifo"
  printf -v "_PAM_FD_$user" '%s' "$fd"
  script -qfec "$session_cmd" "$PAM_TTY_LOG" <"$fifo" >/dev/null 2>&1 &
  PAM_PID=$!
  # script(1) opened the pty as root; hand it to the user as login(1) and
  # sshd do (owner USER, group tty, 0620), so tools that only write to
  # terminals the user owns (wall, write, memgovd's notices) reach it.
  PAM_TTY=
  local child
  if wait_for "pgrep -P $PAM_PID" 10; then
    child=$(pgrep -P "$PAM_PID" | sed -n 1p)
    PAM_TTY=$(readlink "/proc/$child/fd/0" 2>/dev/null || true)
  fi
  if [[ $PAM_TTY == /dev/pts/* ]]; then
    chown "$user:tty" "$PAM_TTY" && chmod 0620 "$PAM_TTY"
  else
    log "pam_session $user: could not find the session's pty (got '${PAM_TTY}')"
  fi
  (($#)) && return 0
  pam_send "$user" "echo \$\$ > $TDIR/$user.shell.pid"
  wait_for "test -s $TDIR/$user.shell.pid" 30 ||
    die "no login shell for $user (terminal: $(tr -d '\r' <"$PAM_TTY_LOG" | tail -n 5))"
  PAM_SHELL_PID=$(cat "$TDIR/$user.shell.pid")
  rm -f "$TDIR/$user.shell.pid"
}
# pam_send USER TEXT: type TEXT + newline into USER's interactive session.
pam_send() {
  local var="_PAM_FD_$1"
  [[ -n ${!var:-} ]] || die "pam_send: no interactive pam_session for $1"
  printf '%s\n' "$2" >&"${!var}"
}
# session_of PID -> logind session id of PID ("" if none)
session_of() { cgroup_of "$1" | sed -n 's|.*/session-\([^/]*\)\.scope.*|\1|p'; }

# run_in_slice USER CMD [ARG...]: CMD as a transient service of USER inside
# user-UID.slice (systemd-run --uid --slice). Sets RUN_UNIT and RUN_PID.
run_in_slice() {
  local user=$1 uid
  shift
  uid=$(uid_of "$user")
  RUN_UNIT=memgov-test-$user-$RANDOM.service
  systemd-run --quiet --collect --unit="$RUN_UNIT" --uid="$uid" --gid="$(id -g "$user")" \
    --slice="user-$uid.slice" --setenv=HOME="$(getent passwd "$user" | cut -d: -f6)" \
    -p StandardOutput=journal -p StandardError=journal -- "$@"
  RUN_PID=$(systemctl show -p MainPID --value "$RUN_UNIT")
  [[ $RUN_PID =~ ^[1-9][0-9]*$ ]] || die "run_in_slice: $RUN_UNIT has no main pid"
}

# reset_user USER: end every session and process of USER, stop its slice and
# drop runtime properties (set-property --runtime) on user-UID.slice.
reset_user() {
  local user=$1 uid
  uid=$(uid_of "$user")
  [[ -e /var/lib/systemd/linger/$user ]] && loginctl disable-linger "$user"
  if pgrep -U "$uid" >/dev/null || systemctl is-active --quiet "user-$uid.slice"; then
    loginctl terminate-user "$user" 2>/dev/null || true
    pkill -KILL -U "$uid" 2>/dev/null || true
    systemctl stop "user-$uid.slice" 2>/dev/null || true
    wait_for "! pgrep -U $uid" 20 || log "reset_user $user: processes remain: $(pgrep -a -U "$uid" | sed -n 1,5p | tr '\n' ' ')"
  fi
  # Runtime properties (set-property --runtime, SetUnitProperties) live here.
  if [[ -d /run/systemd/system.control/user-$uid.slice.d ]]; then
    rm -rf "/run/systemd/system.control/user-$uid.slice.d"
    systemctl daemon-reload
  fi
}

# wait_logind_forgets USER: logind lists a user for a while after their
# slice is gone (state "closing"); a memgovd started meanwhile sees them
# logged in and sets their budget ahead of the slice, so a later login
# finds it in place and memgovd has nothing to set.
wait_logind_forgets() {
  local user=$1 uid
  uid=$(uid_of "$user")
  wait_for "! loginctl show-user $user >/dev/null 2>&1 && [[ ! -e /run/systemd/users/$uid ]]" 30 ||
    log "logind still lists $user: $(loginctl show-user "$user" -p State 2>&1 | tr '\n' ' ')"
}

# ----------------------------------------------------------------- memgov
memgovd_installed() { systemctl cat memgovd.service >/dev/null 2>&1; }
# journal_events EVENT [journalctl ARG...]: memgovd's structured records.
journal_events() {
  local ev=$1
  shift
  journalctl -b --no-pager -o short-precise "$@" "MEMGOV_EVENT=$ev"
}
journal_event_count() { journalctl -b -q --no-pager -o cat --output-fields=MEMGOV_EVENT "MEMGOV_EVENT=$1" 2>/dev/null | grep -c . || true; }

# write_result NAME < CONTENT: save a result file for the host (LOGDIR/results/).
write_result() { cat >"$RESULTS/$1"; }
# write_figures NAME TITLE WHAT VALUE [WHAT VALUE...]: a results file of
# measured figures (tests/vm/scenario --record copies it to tests/vm/results/,
# tests/results-to-readme puts them in the README), with the date, the
# command and the guest.
write_figures() {
  local name=$1 title=$2
  shift 2
  {
    printf '## %s\n\n' "$title"
    printf 'Measured by %s on %s in the test VM:\n' "\`tests/vm/scenario --record $SCENARIO\`" "$(date -u +%F)"
    printf 'kernel %s, systemd %s, %s MiB RAM, %s.\n\n' "$(uname -r)" \
      "$(systemctl --version | awk 'NR == 1 { print $2 }')" "$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)" \
      "$(awk '/^SwapTotal:/ { print ($2 > 0 ? "swap" : "no swap") }' /proc/meminfo)"
    printf '| what | measured |\n|---|---|\n'
    while (($# >= 2)); do
      printf '| %s | %s |\n' "$1" "$2"
      shift 2
    done
  } | write_result "$name"
}
