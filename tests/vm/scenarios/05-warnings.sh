#!/bin/bash
# vm-run: --timeout 900
# Warnings: alice passes 80% and then 95% of her MemoryMax=; each level gives
# exactly one journal warning and one message on her terminal (a pty held by
# script(1) for her PAM session), naming her largest processes; nothing is
# killed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
PROM=/run/memgov/memgov.prom
mg_config_base "MetricsFile=$PROM"
# MemoryHigh just under MemoryMax: no throttling, so only the warnings speak.
mg_conf users.d/alice.conf "MemoryHigh=499M" "MemoryMax=500M" "Warn=80%,95%"
mg_restart
pam_session alice
mg_wait_user 1001
sleep 2
mg_mark
START_MARK=$MG_MARK_US

# warn_notices: memgov warnings that reached alice's terminal so far.
warn_notices() { tr -d '\r' <"$PAM_TTY_LOG" | grep -c 'memgov: alice, your processes use' || true; }

# --- 80% ---------------------------------------------------------------------
base=$(slice_file alice memory.current)
need=$(((415 * M - base) / M))
log "alice's slice uses $((base / M))M; a hog of ${need}M takes it to ~83%"
t0=$(usec_now)
run_in_slice alice hog --mb "$need" --step-mb 20 --interval-ms 20 --hold
HOG1=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 45 warn MEMGOV_UID=1001 || die "no warning within 45 s (usage $(($(slice_file alice memory.current) / M))M)"
log "hog start -> first warning: $(secs_usec "$t0" "$(mg_first_ts warn MEMGOV_UID=1001)")s (sampling is adaptive: sparse far below the first level)"
assert_eq 80% "$(mg_field warn MEMGOV_WARN_LEVEL MEMGOV_UID=1001)" "MEMGOV_WARN_LEVEL of the first warning"
mg_events warn MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
wait_for "[[ \$(warn_notices) -ge 1 ]]" 10 || true
assert_eq 1 "$(warn_notices)" "warnings on alice's terminal"
tr -d '\r' <"$PAM_TTY_LOG" | grep -B2 -A3 'your processes use' | sed 's/^/    tty: /'
assert_match 'hog \(pid '"$HOG1"'\)' "$(tr -d '\r' <"$PAM_TTY_LOG")" "the terminal message names the hog"

# --- 95% ---------------------------------------------------------------------
cur=$(slice_file alice memory.current)
need=$(((482 * M - cur) / M))
log "alice's slice uses $((cur / M))M; another ${need}M takes it to ~96%"
mg_mark
t0=$(usec_now)
run_in_slice alice hog --mb "$need" --step-mb 10 --interval-ms 20 --hold
HOG2=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 30 warn MEMGOV_UID=1001 || die "no second warning within 30 s (usage $(($(slice_file alice memory.current) / M))M)"
log "second hog start -> second warning: $(secs_usec "$t0" "$(mg_first_ts warn MEMGOV_UID=1001)")s"
assert_eq 95% "$(mg_field warn MEMGOV_WARN_LEVEL MEMGOV_UID=1001)" "MEMGOV_WARN_LEVEL of the second warning"
wait_for "[[ \$(warn_notices) -ge 2 ]]" 10 || true

# Each level once: nothing more while usage stays put.
sleep 15
MG_MARK_US=$START_MARK
assert_eq 1 "$(mg_count warn MEMGOV_UID=1001 MEMGOV_WARN_LEVEL=80%)" "80% warnings in total"
assert_eq 1 "$(mg_count warn MEMGOV_UID=1001 MEMGOV_WARN_LEVEL=95%)" "95% warnings in total"
assert_eq 0 "$(mg_count kill MEMGOV_UID=1001)" "kill records"
assert_eq 2 "$(warn_notices)" "warnings on alice's terminal"
assert_alive "$HOG1" "first hog"
assert_alive "$HOG2" "second hog"
assert_eq 0 "$(oom_kills alice)" "kernel OOM kills"
log "usage at the end: $(($(slice_file alice memory.current) / M))M of 500M"

# The same counts in the Prometheus textfile (MetricsFile=), written on change.
grep -E '^memgov_user_(warnings_total|kills_total)\{.*uid="1001"' "$PROM" | sed 's/^/    prom: /'
assert_match 'memgov_user_warnings_total\{[^}]*uid="1001"[^}]*\} 2' "$(cat "$PROM" 2>&1)" "warnings in $PROM"
assert_match 'memgov_user_kills_total\{[^}]*uid="1001"[^}]*\} 0' "$(cat "$PROM" 2>&1)" "kills in $PROM"

stop_units
mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
