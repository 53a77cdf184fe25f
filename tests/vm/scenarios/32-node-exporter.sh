#!/bin/bash
# vm-run: --no-install --timeout 420
# The fleet view as an admin sets it up: memgov from its package, MetricsFile=
# in the directory Debian's prometheus-node-exporter reads with its textfile
# collector (its default, /var/lib/prometheus/node-exporter: nothing to
# configure on the exporter's side), the exporter started. alice logs in with
# a budget and memgovd kills her hog. Then the node exporter's /metrics on
# localhost carries memgov's series, with the values `memgovctl status
# --json` shows: governed users, alice's budget and limits, her kills. Left
# idle, memgovd still rewrites its file within 90 s, so its mtime
# (node_textfile_mtime_seconds, what the shipped rules watch) stays fresh.
# The shipped rules file is installed where the README says.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=memgovd-lib.sh
. "$(dirname "$0")/memgovd-lib.sh"
scenario_begin

TEXTFILE_DIR=/var/lib/prometheus/node-exporter
PROM=$TEXTFILE_DIR/memgov.prom
RULES=/usr/share/memgov/prometheus/memgov-rules.yml
URL=http://localhost:9100/metrics
M=$((1024 * 1024))

# The package group installs and purges memgov itself; run alone, the
# package is there already or is installed here the same way.
if ! dpkg-query -W -f '${Status}' memgov 2>/dev/null | grep -q "install ok installed"; then
  [[ -n ${MEMGOV_DEB:-} && -f $MEMGOV_DEB ]] || die "memgov is not installed and no package at MEMGOV_DEB='${MEMGOV_DEB:-}'"
  out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$MEMGOV_DEB" </dev/null 2>&1) ||
    die "apt-get install $MEMGOV_DEB failed: $out"
  log "installed $(dpkg-query -W -f '${Package} ${Version}' memgov)"
  PURGE_AT_END=1
fi
assert_true "the rules file is installed at $RULES" test -s "$RULES"
assert_true "prometheus-node-exporter is installed" dpkg-query -W prometheus-node-exporter

# What an admin writes: one drop-in for the metrics file, one budget.
mg_config_base "MetricsFile=$PROM"
mg_conf users.d/alice.conf "MemoryHigh=250M" "MemoryMax=300M" "Policy=rss" "PressureDuration=2s" "KillGrace=2s"
rm -f "$PROM"
mg_restart
systemctl start prometheus-node-exporter.service
wait_for "curl -sf -o /dev/null $URL" 60 || die "the node exporter does not answer on $URL: $(journalctl -b -u prometheus-node-exporter -n 20 --no-pager)"
log "node exporter: $(curl -s "$URL" | grep -m1 '^node_exporter_build_info')"

login_linger alice
login_linger bob
mg_wait_user 1001
mg_wait_user 1002

# A kill, so the counter the fleet alerts on is not just 0.
mg_mark
run_in_slice alice hog --mb 500 --step-mb 10 --interval-ms 50 --hold
HOG=$RUN_PID
track_unit "$RUN_UNIT"
mg_wait_event 90 kill MEMGOV_UID=1001 || die "no kill of alice's hog within 90 s"
wait_dead "$HOG" 15 || true
assert_dead "$HOG" "alice's hog"
wait_for "grep -q '^memgov_user_kills_total{uid=\"1001\",user=\"alice\"} 1\$' $PROM" 15 ||
  log "the metrics file does not show alice's kill yet: $(grep '^memgov_user_kills_total' "$PROM" 2>&1)"

# One scrape and one status, side by side.
SCRAPE=$TDIR/node-exporter.txt
curl -sf "$URL" >"$SCRAPE" || die "cannot fetch $URL"
STATUS=$(memgovctl status --json) || die "memgovctl status --json failed: $STATUS"
grep -E '^(memgov_users_governed|memgov_user_(kills_total|budget_max_bytes|memory_max_bytes)\{|node_textfile)' "$SCRAPE" |
  sed 's/^/    scrape: /'

# scraped NAME [LABEL-TEXT]: the value of the first sample of NAME whose
# labels contain LABEL-TEXT, as an integer (the exporter prints 3.145728e+08).
scraped() {
  awk -v n="$1" -v l="${2:-}" '
    (index($1, n "{") == 1 || $1 == n) && (l == "" || index($1, l)) {
      if ($2 == "+Inf") print "+Inf"; else printf "%.0f\n", $2; exit }' "$SCRAPE"
}
st() { jq -r "$1" <<<"$STATUS"; }
alice='uid="1001"'

assert_eq 0 "$(scraped node_textfile_scrape_error)" "node_textfile_scrape_error"
assert_eq "$(st '.users | length')" "$(scraped memgov_users_governed)" "memgov_users_governed against status --json"
assert_eq 2 "$(scraped memgov_users_governed)" "memgov_users_governed (alice and bob)"
assert_eq $((300 * M)) "$(scraped memgov_user_budget_max_bytes "$alice")" "alice's memgov_user_budget_max_bytes"
assert_eq "$(st '.users[] | select(.uid == 1001) | .budget_max')" "$(scraped memgov_user_budget_max_bytes "$alice")" \
  "alice's budget_max against status --json"
assert_eq "$(st '.users[] | select(.uid == 1001) | .budget_high')" "$(scraped memgov_user_budget_high_bytes "$alice")" \
  "alice's budget_high against status --json"
assert_eq "$(st '.users[] | select(.uid == 1001) | .max')" "$(scraped memgov_user_memory_max_bytes "$alice")" \
  "alice's MemoryMax in force against status --json"
assert_eq "$(st '.users[] | select(.uid == 1002) | .budget_max')" "$(scraped memgov_user_budget_max_bytes 'uid="1002"')" \
  "bob's budget_max against status --json"
assert_eq 1 "$(scraped memgov_user_kills_total "$alice")" "alice's memgov_user_kills_total"
assert_eq "$(st '.users[] | select(.uid == 1001) | .kills')" "$(scraped memgov_user_kills_total "$alice")" \
  "alice's kills against status --json"
assert_eq "$(st '.users[] | select(.uid == 1002) | .kills')" "$(scraped memgov_user_kills_total 'uid="1002"')" \
  "bob's kills against status --json"
assert_eq 0 "$(scraped memgov_user_limit_failures_total "$alice")" "alice's memgov_user_limit_failures_total"
assert_eq 0 "$(scraped memgov_dry_run)" "memgov_dry_run"
# The exporter's label for the file: a path from node_exporter 1.6 on, the bare name before.
assert_match 'node_textfile_mtime_seconds\{file="([^"]*/)?memgov\.prom"\}' "$(cat "$SCRAPE")" \
  "node_textfile_mtime_seconds for memgov's file"

# Idle, the file is still rewritten: its mtime is what says memgovd is alive.
m0=$(stat -c %Y "$PROM")
t=$(now_s)
wait_for "[[ \$(stat -c %Y $PROM) -gt $m0 ]]" 100 || true
m1=$(stat -c %Y "$PROM")
log "idle: the metrics file was rewritten after $(secs_between "$t" "$(now_s)")s"
assert_true "an idle memgovd rewrites its metrics file within 100 s" test "$m1" -gt "$m0"
curl -sf "$URL" >"$SCRAPE" || die "cannot fetch $URL"
m2=$(stat -c %Y "$PROM")
mtime=$(awk '$1 ~ /^node_textfile_mtime_seconds\{file="([^"]*\/)?memgov\.prom"\}$/ { printf "%.0f", $2 }' "$SCRAPE")
stamp=$(scraped memgov_last_update_timestamp_seconds)
log "scraped: node_textfile_mtime_seconds $mtime, memgov_last_update_timestamp_seconds $stamp; the file's mtime $m1, then $m2"
# Another rewrite may come between the stat and the scrape, none goes back.
assert_true "node_textfile_mtime_seconds ($mtime) is the file's mtime after the idle rewrite ($m1..$m2)" \
  test "${mtime:-0}" -ge "$m1" -a "${mtime:-0}" -le "$m2"
# memgovd stamps the text before the rename that sets the mtime.
assert_true "memgov_last_update_timestamp_seconds ($stamp) is within 2 s before the mtime ($mtime)" \
  test "${stamp:-0}" -le "${mtime:-0}" -a "${stamp:-0}" -ge "$((${mtime:-0} - 2))"

stop_units
systemctl stop prometheus-node-exporter.service
mg_cleanup_users alice bob
rm -f /etc/memgov/users.d/alice.conf "$PROM"
if [[ -n ${PURGE_AT_END:-} ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q memgov </dev/null >/dev/null 2>&1 || log "apt-get purge memgov failed"
fi
scenario_end
