#!/bin/bash
# vm-run: --asan --timeout 900
# memgovd under AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer, in its hardened unit: `tests/vm/run --asan` stages an
# ASan/UBSan build as /usr/local/sbin/memgovd-asan, and a drop-in runs it.
# The daemon goes through its main paths: a PAM login with a budget, a
# second user whose budget comes from groups.d (the NSS look-up thread), a
# warning, a pressure kill of a process whose name forges a journal line,
# a reload with a broken file (the old config stays) and a good one, then
# `systemctl stop`. It must exit 0, with no sanitizer report, the victim
# dead (judged by the kernel) and the innocent process untouched.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

M=$((1024 * 1024))
ASAN_BIN=/usr/local/sbin/memgovd-asan
ASAN_LOGS=/var/log/memgov-asan
DROPIN=/etc/systemd/system/memgovd.service.d/asan.conf
FORGED=$'x\n<0>\e[2J'
[[ -x $ASAN_BIN ]] || die "no $ASAN_BIN: run this scenario with tests/vm/run --asan (its vm-run line)"

# --- the drop-in -----------------------------------------------------------------
mkdir -p "${DROPIN%/*}"
cat >"$DROPIN" <<EOF
# memgovd built with -fsanitize=address,undefined (tests/vm/run --asan).
[Service]
ExecStart=
ExecStart=$ASAN_BIN
# Any report ends the daemon (halt_on_error) with a status other than 0,
# and goes to a file per process in $ASAN_LOGS; leaks are checked at exit.
Environment=ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:log_path=$ASAN_LOGS/asan
Environment=UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$ASAN_LOGS/ubsan
# ProtectSystem=strict leaves /var/log read-only; this directory is writable.
LogsDirectory=memgov-asan
# Relaxed for the sanitizers, and only here: LeakSanitizer stops every
# thread at exit from a helper task that attaches to them with ptrace()
# (@debug); the unit's SystemCallFilter= answers it EPERM, and LSan then
# dies with "fatal error" instead of checking for leaks (the probe below
# shows both). This later allow-list entry adds @debug back to the filter;
# nothing else needs relaxing (the probe runs clean with the unit's
# @resources deny in place, NoNewPrivileges=, MemoryDenyWriteExecute=, the
# capability bounding set and RestrictNamespaces= as the package ships them).
SystemCallFilter=@debug
# A sanitizer's exit must stay visible (ExecMainStatus=), not be restarted.
Restart=no
EOF
rm -rf "$ASAN_LOGS"
systemctl daemon-reload

# --- config: alice's budget in users.d, bob's through the students group ------
mg_config_base
mg_conf users.d/alice.conf "MemoryHigh=200M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s" "Warn=50%"
mg_conf groups.d/students.conf "MemoryHigh=350M" "MemoryMax=400M"
cat >/usr/local/bin/forged.pl <<'EOF'
# Names itself ARGV[0] (any bytes but NUL), then grows to ARGV[1] MiB in
# 5 MiB steps and holds it.
open(my $f, '>', '/proc/self/comm') or die; syswrite($f, $ARGV[0]); close $f;
my @a; for (1 .. $ARGV[1] / 5) { push @a, 'a' x (5 << 20); select(undef, undef, undef, 0.2); }
sleep 100000;
EOF
chmod 0644 /usr/local/bin/forged.pl

mg_restart
MGPID=$(mg_pid)
assert_eq "$ASAN_BIN" "$(readlink "/proc/$MGPID/exe")" "memgovd's executable"
# ASan reserves its shadow memory up front: terabytes of address space.
vmsize_kb=$(awk '$1 == "VmSize:" { print $2 }' "/proc/$MGPID/status")
log "memgovd-asan: VmSize $((vmsize_kb / 1024 / 1024)) GiB, VmRSS $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$MGPID/status") kB"
assert_true "the running memgovd has ASan's shadow memory (VmSize > 1 TiB)" test "$vmsize_kb" -gt $((1024 * 1024 * 1024))
assert_eq /etc/memgov/memgov.conf "$(mg_status_field .config)" "the config memgovd-asan reads"

# --- a PAM login with a budget ------------------------------------------------
pam_session alice
mg_wait_user 1001
wait_for "[[ \$(slice_prop alice MemoryMax) == $((300 * M)) ]]" 20 || true
assert_eq "$((200 * M))/$((300 * M))" "$(slice_prop alice MemoryHigh)/$(slice_prop alice MemoryMax)" \
  "alice's limits from users.d/alice.conf"

# --- bob's budget from groups.d: his groups come from the NSS thread ----------
login_linger bob
mg_wait_user 1002
wait_for "[[ \$(slice_prop bob MemoryMax) == $((400 * M)) ]]" 30 || true
assert_eq "$((400 * M))" "$(slice_prop bob MemoryMax)" "bob's MemoryMax= from groups.d/students.conf"
sleeper_in bob bobjob 30

# --- a warning, then a pressure kill of a process with a forged name ----------
sleeper_in alice editor 40
mg_mark
pam_send alice "perl /usr/local/bin/forged.pl \"\$(printf 'x\\n<0>\\033[2J')\" 260 &"
wait_for "[[ -n \$(pgrep -u 1001 -f forged.pl) ]]" 20 || die "forged.pl did not start"
FORGED_PID=$(pgrep -u 1001 -f forged.pl | head -n 1)
assert_eq "$FORGED" "$(cat "/proc/$FORGED_PID/comm")" "the forged comm is in place"
mg_wait_event 60 warn MEMGOV_UID=1001 || fail "no warning within 60 s (usage $(($(slice_file alice memory.current) / M))M)"
mg_events warn MEMGOV_UID=1001 | head -n 1 | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq 50% "$(mg_field warn MEMGOV_WARN_LEVEL MEMGOV_UID=1001)" "the warning's level"
mg_wait_event 120 kill MEMGOV_UID=1001 || die "no kill within 120 s (usage $(($(slice_file alice memory.current) / M))M)"
mg_events kill MEMGOV_UID=1001 | head -n 1 | jq -r '.MESSAGE' | sed 's/^/    /'
assert_eq "$FORGED_PID" "$(mg_field kill MEMGOV_VICTIM_PID MEMGOV_UID=1001)" "the victim is the forged-name hog"
assert_eq pressure "$(mg_field kill MEMGOV_REASON MEMGOV_UID=1001)" "MEMGOV_REASON"
wait_dead "$FORGED_PID" 15 || true
assert_dead "$FORGED_PID" "the forged-name hog"
assert_untouched editor
assert_eq 0 "$(journalctl -b -p emerg -q --no-pager | grep -c .)" "journal entries at emerg"
assert_eq 0 "$(journalctl -b -u memgovd.service -o cat --all --no-pager | grep -c $'\e')" "memgovd entries with an ESC"
wait_usage_below alice 120 30 || true

# --- a reload with a broken file keeps the config; a good one applies ---------
mg_mark
mg_conf memgov.conf.d/60-broken.conf "[Defaults]" "MemoryMax=lots"
fails=$(mg_status_field .reload_failures)
systemctl reload memgovd.service
wait_for "[[ \$(mg_status_field .reload_failures) -gt $fails ]]" 20 || fail "reload_failures did not grow"
assert_true "the broken line is reported" test "$(mg_count config-error)" -ge 1
assert_eq "$((300 * M))" "$(slice_prop alice MemoryMax)" "alice's MemoryMax= after the broken reload (kept)"
rm -f /etc/memgov/memgov.conf.d/60-broken.conf
mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=350M" "Policy=rss" "PressureDuration=2s" \
  "KillGrace=2s" "Cooldown=5s" "Warn=50%"
mg_reload
wait_for "[[ \$(slice_prop alice MemoryMax) == $((350 * M)) ]]" 20 || true
assert_eq "$((350 * M))" "$(slice_prop alice MemoryMax)" "alice's MemoryMax= after the good reload"
assert_eq "$((400 * M))" "$(slice_prop bob MemoryMax)" "bob's MemoryMax= after the good reload (groups kept)"
assert_eq "$MGPID" "$(mg_pid)" "memgovd's pid (it never restarted)"

# --- stop: exit 0, no sanitizer report ------------------------------------------
systemctl stop memgovd.service
assert_eq "exited/0" "$(systemctl show -p ExecMainCode --value memgovd.service | sed 's/^1$/exited/')/$(systemctl show -p ExecMainStatus --value memgovd.service)" \
  "memgovd-asan's exit (ExecMainCode/ExecMainStatus)"
assert_eq success "$(systemctl show -p Result --value memgovd.service)" "memgovd.service's result"
reports=$(find "$ASAN_LOGS" -type f 2>/dev/null)
if [[ -n $reports ]]; then
  for f in $reports; do
    log "---- $f"
    sed 's/^/    /' "$f"
  done
fi
assert_eq "" "$reports" "sanitizer reports in $ASAN_LOGS"
assert_eq 0 "$(journalctl -b -u memgovd.service -o cat --no-pager | grep -cE 'Sanitizer|runtime error:')" \
  "sanitizer lines in memgovd's journal"
assert_untouched bobjob

# --- control: LeakSanitizer runs in this very unit, and needs the relaxation --
# asan-leak-probe leaks 4242 bytes on purpose. Run as memgovd.service with
# the drop-in above, LSan must report it; with the unit's own system call
# filter (the drop-in's @debug taken out) it must fail, which is why the
# drop-in relaxes it.
PROBE_DROPIN=${DROPIN%/*}/zz-probe.conf
UNIT_FILTER=("SystemCallFilter=" "SystemCallFilter=@system-service process_mrelease"
  "SystemCallFilter=~@privileged @resources")
# probe [SERVICE-LINES...]: runs the probe as memgovd.service; sets
# PROBE_STATUS and PROBE_REPORT.
probe() {
  printf '%s\n' "[Service]" "Type=exec" "ExecStart=" "ExecStart=/usr/local/sbin/asan-leak-probe" "$@" >"$PROBE_DROPIN"
  systemctl daemon-reload
  rm -rf "$ASAN_LOGS"
  systemctl reset-failed memgovd.service 2>/dev/null || true
  systemctl start memgovd.service || true
  wait_for "! systemctl is-active -q memgovd.service" 30 || true
  PROBE_STATUS=$(systemctl show -p ExecMainStatus --value memgovd.service)
  PROBE_REPORT=$(cat "$ASAN_LOGS"/* 2>/dev/null)
  log "probe ($*): exit $PROBE_STATUS; report: $(grep -m1 -E 'ERROR|SUMMARY|fatal' <<<"$PROBE_REPORT")"
}
probe
assert_true "the leak probe fails as memgovd.service (exit $PROBE_STATUS)" test "${PROBE_STATUS:-0}" -ne 0
assert_match '4242 byte\(s\) leaked' "$PROBE_REPORT" "LSan's report of the probe's leak"
probe "${UNIT_FILTER[@]}"
assert_true "with the unit's filter the probe fails (exit $PROBE_STATUS)" test "${PROBE_STATUS:-0}" -ne 0
assert_match 'LeakSanitizer has encountered a fatal error' "$PROBE_REPORT" "LSan without ptrace"
rm -f "$PROBE_DROPIN"
systemctl reset-failed memgovd.service 2>/dev/null || true

stop_units
mg_cleanup_users alice bob
rm -f "$DROPIN" /etc/memgov/groups.d/students.conf /etc/memgov/users.d/alice.conf
systemctl daemon-reload
mg_restart
scenario_end
