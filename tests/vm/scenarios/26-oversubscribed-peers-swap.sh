#!/bin/bash
# vm-run: --no-daemon --timeout 1500 --swap 1G
# 25-oversubscribed-peers with 1 GiB of swap, as most real nodes have: the
# kernel, memgovd, earlyoom and systemd-oomd (ManagedOOMSwap= now has swap
# to watch) on the same oversubscribed workload, in one boot.
SCENARIO=26-oversubscribed-peers-swap OVERSUB_PEERS_RESULT=${OVERSUB_PEERS_RESULT:-oversubscribed-peers-swap.md} \
  exec "$(dirname "$0")/25-oversubscribed-peers.sh" "$@"
