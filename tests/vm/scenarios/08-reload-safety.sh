#!/bin/bash
# vm-run: --timeout 900
# Reload safety: a reload with broken drop-ins keeps the configuration in
# force, logs every error as FILE:LINE (stderr and one config-error record
# each), and the next kill still happens under the old budgets. memgovd
# survives a SIGHUP storm (reloads are coalesced), and a good reload after
# the fix applies the new budgets.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" "KillGrace=2s"
mg_restart
login_linger alice
mg_wait_user 1001
wait_for "[[ \$(slice_prop alice MemoryMax) == $((300 * M)) ]]" 15 || true
assert_eq "$((200 * M))/$((300 * M))" "$(slice_prop alice MemoryHigh)/$(slice_prop alice MemoryMax)" "alice's limits before"
PID0=$(mg_pid)

# --- a broken reload --------------------------------------------------------------
mg_mark
mg_conf memgov.conf.d/60-broken.conf "[Defaults]" "MemoryMax=lots" "Bogus=1"
# A valid budget change next to a bad key: nothing of it may apply.
mg_conf users.d/alice.conf "MemoryHigh=100M" "MemoryMax=150M" "Policy=rss" "Frobnicate=yes"
fails=$(mg_status_field .reload_failures)
systemctl reload memgovd.service
wait_for "[[ \$(mg_status_field .reload_failures) -gt $fails ]]" 15 || fail "reload_failures did not grow"
sleep 1
n=$(mg_count config-error)
log "config-error records: $n"
mg_events config-error | jq -r '"\(.MEMGOV_CONFIG_FILE):\(.MEMGOV_CONFIG_LINE): \(.MESSAGE)"' | sed 's/^/    /'
assert_true "at least 3 config-error records (MemoryMax=lots, Bogus=, Frobnicate=)" test "$n" -ge 3
assert_eq 2 "$(mg_field config-error MEMGOV_CONFIG_LINE MEMGOV_CONFIG_FILE=/etc/memgov/memgov.conf.d/60-broken.conf)" \
  "line of the first error in 60-broken.conf"
assert_true "the errors of users.d/alice.conf are reported too" \
  test "$(mg_count config-error MEMGOV_CONFIG_FILE=/etc/memgov/users.d/alice.conf)" -ge 1
assert_match '60-broken\.conf:2: ' "$(journalctl -b -u memgovd.service -o cat --no-pager | grep -v '^$' | tail -n 40)" \
  "stderr line with FILE:LINE"
assert_eq "$PID0" "$(mg_pid)" "memgovd's pid (still running)"
assert_eq active "$(systemctl is-active memgovd.service)" "memgovd.service state"
assert_eq "$((200 * M))/$((300 * M))" "$(slice_prop alice MemoryHigh)/$(slice_prop alice MemoryMax)" \
  "alice's limits after the broken reload (old config kept)"

# --- the next kill still happens -------------------------------------------------
mg_mark
run_in_slice alice hog --mb 400 --step-mb 10 --interval-ms 50 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no kill after the broken reload"
assert_eq "$HOG" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "victim after the broken reload"
wait_dead "$HOG" 15 || true
assert_dead "$HOG" "the hog"
stop_units

# --- a SIGHUP storm ------------------------------------------------------------------
before=$(mg_status_field .reloads)
t=$(now_s)
for _ in 1 2 3; do
  (for _ in $(seq 200); do kill -HUP "$PID0" 2>/dev/null; done) &
done
wait
log "600 SIGHUPs sent in $(secs_between "$t" "$(now_s)")s"
sleep 3
wait_for "[[ \$(systemctl show -p SubState --value memgovd.service) == running ]]" 20 || true
assert_eq "$PID0" "$(mg_pid)" "memgovd's pid after the storm"
assert_eq active/running "$(systemctl show -p ActiveState --value memgovd.service)/$(systemctl show -p SubState --value memgovd.service)" \
  "memgovd.service state after the storm"
assert_eq 0 "$(systemctl show -p NRestarts --value memgovd.service)" "restarts of memgovd.service"
after=$(mg_status_field .reloads)
log "reloads during the storm: $((after - before)) for 600 SIGHUPs (coalesced)"
write_figures reload-storm.md "A SIGHUP storm (08-reload-safety)" \
  "reloads for 600 SIGHUPs" "$((after - before))" \
  "restarts of memgovd.service" "$(systemctl show -p NRestarts --value memgovd.service)"
assert_true "the storm was coalesced into fewer reloads ($((after - before)))" test $((after - before)) -ge 1 -a $((after - before)) -lt 100

# --- fixed: a good reload applies ----------------------------------------------------
rm -f /etc/memgov/memgov.conf.d/60-broken.conf
mg_conf users.d/alice.conf "MemoryHigh=180M" "MemoryMax=280M" "Policy=rss"
mg_reload
wait_for "[[ \$(slice_prop alice MemoryMax) == $((280 * M)) ]]" 15 || true
assert_eq "$((180 * M))/$((280 * M))" "$(slice_prop alice MemoryHigh)/$(slice_prop alice MemoryMax)" "alice's limits after the fix"
memgovctl status || true

mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
