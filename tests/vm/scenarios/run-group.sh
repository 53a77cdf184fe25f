#!/bin/bash
# Run several scenarios in one boot (used by tests/vm/scenario A B ...).
# Usage: run-group.sh NAME... [--record]
set -uo pipefail
dir=$(dirname "$0")
extra=()
names=()
for a in "$@"; do
  if [[ $a == --record ]]; then extra+=("$a"); else names+=("$a"); fi
done
passed=0 failed=0
for n in "${names[@]}"; do
  start=$(cut -d' ' -f1 /proc/uptime)
  echo "##### $n"
  "$dir/$n.sh" "${extra[@]}"
  rc=$?
  # A scenario that stopped half-way leaves its jobs running (a 400M hog
  # in alice's slice); the next one would start on top of them and fail
  # for that reason instead of its own.
  left=$(systemctl list-units --plain --no-legend 'memgov-test-*' | awk '{ print $1 }')
  if [[ -n $left ]]; then
    echo "##### $n left $(wc -w <<<"$left") unit(s) behind: stopping them"
    # shellcheck disable=SC2086 # one unit name per word
    systemctl stop $left 2>/dev/null
    # shellcheck disable=SC2086
    systemctl reset-failed $left 2>/dev/null
  fi
  secs=$(awk -v a="$start" '{ printf "%.1f", $1 - a }' /proc/uptime)
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "##### $n: PASS in ${secs}s"
  else
    failed=$((failed + 1))
    echo "##### $n: FAIL (exit $rc) in ${secs}s"
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
