# shellcheck shell=bash
# shellcheck disable=SC2034 # PEER_NOTE, EARLYOOM_THRESHOLDS are for the caller
# Helpers for the scenarios that compare memgovd with its peers (11-peers,
# 25-oversubscribed-peers): start and stop systemd-oomd and earlyoom the
# way Debian ships them, make sure one governor runs at a time, and read
# what each governor says it killed. Runs INSIDE the guest (booted with
# --no-daemon); source lib.sh first. How memgovd itself is configured and
# started differs per scenario and stays there.

PEER_GOVERNORS=(memgovd systemd-oomd earlyoom)
# Why the last peer_*_start failed (for the table's notes).
PEER_NOTE=
# earlyoom's thresholds as it logged them at its last start.
EARLYOOM_THRESHOLDS=
PEER_OOMD_DROPIN=/etc/systemd/system/user-.slice.d/50-memgov-peers.conf

# peer_oomd_start SLICE-LINE...: systemd-oomd with Debian's configuration
# plus the given [Slice] lines on user-.slice (every user-UID.slice).
peer_oomd_start() {
  mkdir -p "${PEER_OOMD_DROPIN%/*}"
  printf '[Slice]\n' >"$PEER_OOMD_DROPIN"
  printf '%s\n' "$@" >>"$PEER_OOMD_DROPIN"
  systemctl daemon-reload
  log "systemd-oomd: Debian's configuration:"
  local f
  for f in /etc/systemd/oomd.conf /usr/lib/systemd/oomd.conf.d/*.conf \
    /usr/lib/systemd/system/user@.service.d/10-oomd-user-service-defaults.conf \
    /usr/lib/systemd/system/-.slice.d/10-oomd-root-slice-defaults.conf \
    "$PEER_OOMD_DROPIN"; do
    [[ -f $f ]] && log "    $f: $(grep -v -e '^#' -e '^$' "$f" | tr '\n' ' ')"
  done
  # Masked in the image (see tests/vm/image/customize); only this column runs it.
  systemctl unmask --quiet systemd-oomd.service systemd-oomd.socket
  systemctl start systemd-oomd.service || {
    PEER_NOTE="systemctl start systemd-oomd failed"
    return 1
  }
}
peer_oomd_stop() {
  systemctl stop systemd-oomd.service systemd-oomd.socket 2>/dev/null || true
  systemctl mask --quiet systemd-oomd.service systemd-oomd.socket
  rm -f "$PEER_OOMD_DROPIN"
  systemctl daemon-reload
}

# peer_earlyoom_start: earlyoom with Debian's /etc/default/earlyoom; sets
# EARLYOOM_THRESHOLDS from its start-up lines.
peer_earlyoom_start() {
  log "earlyoom: $(grep '^EARLYOOM_ARGS' /etc/default/earlyoom)"
  local t
  t=$(date +%s)
  systemctl start earlyoom.service || {
    PEER_NOTE="systemctl start earlyoom failed"
    return 1
  }
  wait_for "journalctl -b --since @$t -o cat SYSLOG_IDENTIFIER=earlyoom | grep -q 'when mem'" 10 || true
  EARLYOOM_THRESHOLDS=$(journalctl -b --no-pager --since "@$t" -o cat SYSLOG_IDENTIFIER=earlyoom | grep 'when mem' | tr -s ' ' | paste -sd ';' || true)
  log "earlyoom: ${EARLYOOM_THRESHOLDS:-thresholds not logged}"
}
peer_earlyoom_stop() { systemctl stop earlyoom.service 2>/dev/null || true; }
peer_memgovd_stop() { systemctl stop memgovd.service 2>/dev/null || true; }

# peer_stop_others PEER: no governor but PEER may run during PEER's column
# ("kernel" for none at all); a stray one is a failure, and is stopped.
peer_stop_others() {
  local other
  for other in "${PEER_GOVERNORS[@]}"; do
    [[ $other == "$1" ]] && continue
    if systemctl is-active --quiet "$other.service"; then
      fail "$1 column: $other.service is running too; stopping it"
      systemctl stop "$other.service"
    fi
  done
}

# peer_check_running PEER: PEER's service is active now (call it at the end
# of the measurement, before the teardown); for "kernel", none is.
peer_check_running() {
  local peer=$1 other active=()
  if [[ $peer == kernel ]]; then
    for other in "${PEER_GOVERNORS[@]}"; do
      systemctl is-active --quiet "$other.service" && active+=("$other")
    done
    assert_eq "" "${active[*]}" "kernel column: governors running"
  elif systemctl is-active --quiet "$peer.service"; then
    pass "$peer.service was running during the measurement"
  else
    fail "$peer.service was not running at the end of the measurement ($(systemctl show -p ActiveState,Result --value "$peer.service" | tr '\n' ' '))"
  fi
}

# peer_kills PEER SINCE_EPOCH: what PEER said it killed since then, from
# its own log lines only ("kernel": the OOM killer's lines in the kernel log).
peer_kills() {
  local peer=$1 since=$2
  case $peer in
  memgovd)
    journalctl -b --no-pager --since "@$since" -o json MEMGOV_EVENT=kill 2>/dev/null |
      jq -r '"memgovd killed \(.MEMGOV_VICTIM_COMM // "?")[\(.MEMGOV_VICTIM_PID // "?")] uid=\(.MEMGOV_UID // "?") reason=\(.MEMGOV_REASON // "?") policy=\(.MEMGOV_POLICY // "?") dry_run=\(.MEMGOV_DRY_RUN // "?")"'
    ;;
  systemd-oomd)
    journalctl -b --no-pager --since "@$since" -o cat SYSLOG_IDENTIFIER=systemd-oomd | grep -E 'Killed|killed' || true
    ;;
  earlyoom)
    journalctl -b --no-pager --since "@$since" -o cat SYSLOG_IDENTIFIER=earlyoom | grep -E 'sending SIG|[Kk]illed' || true
    ;;
  kernel)
    journalctl -b -k --no-pager --since "@$since" -o cat | grep -E 'Killed process|oom-kill' || true
    ;;
  esac
}
