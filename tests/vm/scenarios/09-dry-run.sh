#!/bin/bash
# vm-run: --timeout 900
# Dry run: `memgovd --dry-run` changes no limit and kills nothing; under the
# same pressure it logs "would kill" with the full decision, naming the same
# victim that the live daemon then kills. DryRun=yes in the config does the
# same, switched on and off by a reload.
# PID_<name> are set by sleeper_in (printf -v).
# shellcheck disable=SC2154
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
DROPIN=/run/systemd/system/memgovd.service.d
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=300M" "MemoryMax=400M" "Policy=rss" "PressureDuration=2s" "KillGrace=2s" \
  "Cooldown=5s"

# --- memgovd --dry-run ---------------------------------------------------------------
mkdir -p "$DROPIN"
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/memgovd --dry-run\n' >"$DROPIN/50-dry-run.conf"
systemctl daemon-reload
mg_mark
mg_restart
assert_match 'dry run' "$(systemctl show -p StatusText --value memgovd.service)" "STATUS= of memgovd.service"
login_linger alice
mg_wait_user 1001
assert_eq true "$(mg_status_field .dry_run)" "dry_run in status.json"
assert_eq infinity/infinity "$(slice_prop alice MemoryHigh)/$(slice_prop alice MemoryMax)" "alice's limits (a dry run sets none)"
wait_for "[[ \$(mg_count limit MEMGOV_UID=1001) -ge 1 ]]" 10 || true
# Until passwd answers (off the loop), the uid stands for the name.
assert_match '^Dry run, would set: (alice|1001) \(1001\): ' "$(mg_field limit MESSAGE MEMGOV_UID=1001)" \
  "limit record of the dry run"
assert_eq 1 "$(mg_field limit MEMGOV_DRY_RUN MEMGOV_UID=1001)" "MEMGOV_DRY_RUN of the limit record"

# The admin's own limits, equal to the budget, so both runs see the same pressure.
set_slice_limits alice 300M 400M
sleeper_in alice big 150
sleeper_in alice mid 60
sleeper_in alice small 30
wait_for "[[ \$(slice_file alice memory.current) -ge $((235 * M)) ]]" 60 || die "the sleepers did not start"
mg_mark
run_in_slice alice hog --mb 120 --step-mb 8 --interval-ms 100 --hold
PUSHER=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no 'would kill' within 90 s"
mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE, .MEMGOV_CANDIDATES' | sed 's/^/    /'
DRY_VICTIM=$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)
assert_eq 1 "$(mg_field kill MEMGOV_DRY_RUN MEMGOV_UID=1001)" "MEMGOV_DRY_RUN of the kill record"
assert_match '^Would kill pid ' "$(mg_field kill MESSAGE MEMGOV_UID=1001)" "MESSAGE of the kill record"
assert_eq "$PID_big" "$DRY_VICTIM" "the dry run's victim (big)"
assert_match 'would kill [0-9]+ \(big\) with TERM' "$(journalctl -b -u memgovd.service -o cat --no-pager | tail -n 50)" \
  "the actuator's 'would kill' line"
sleep 8 # Cooldown=5s: the dry run decides again, and still signals nothing
log "'would kill' records so far: $(mg_count kill MEMGOV_UID=1001)"
for name in big mid small; do assert_untouched "$name"; done
assert_alive "$PUSHER" "the pusher"
assert_eq 0 "$(mg_status_field '.users[] | select(.uid == 1001) | .kills')" "kills in status.json"

# --- live: the same processes under the same pressure ----------------------------
rm -f "$DROPIN/50-dry-run.conf"
systemctl daemon-reload
mg_mark
mg_restart
assert_eq false "$(mg_status_field .dry_run)" "dry_run in status.json (live)"
mg_wait_event 90 kill MEMGOV_UID=1001 MEMGOV_DRY_RUN=0 || die "no live kill within 90 s"
mg_events kill MEMGOV_UID=1001 | sed -n 1p | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq "$DRY_VICTIM" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "the live run's victim = the dry run's"
systemctl stop "$RUN_UNIT"
wait_dead "$PID_big" 15 || true
assert_dead "$PID_big" "big (the victim)"
assert_untouched mid
assert_untouched small
stop_units

# --- DryRun=yes in the config, toggled by reload ------------------------------------
mg_conf memgov.conf.d/70-dry.conf "[Governor]" "DryRun=yes"
mg_reload
assert_eq true "$(mg_status_field .dry_run)" "dry_run after DryRun=yes and a reload"
wait_for "[[ \$(systemctl show -p StatusText --value memgovd.service) == *'dry run'* ]]" 10 || true
assert_match 'dry run' "$(systemctl show -p StatusText --value memgovd.service)" "STATUS= after DryRun=yes"
rm -f /etc/memgov/memgov.conf.d/70-dry.conf
mg_reload
assert_eq false "$(mg_status_field .dry_run)" "dry_run after removing DryRun=yes"

mg_cleanup_users alice
rm -f /etc/memgov/users.d/alice.conf
scenario_end
