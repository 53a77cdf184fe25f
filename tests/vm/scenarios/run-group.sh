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
