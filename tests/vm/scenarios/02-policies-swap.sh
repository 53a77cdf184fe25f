#!/bin/bash
# vm-run: --timeout 900 --swap 1G
# 02-policies on a node with swap: alice may swap 16M, which her sleepers
# use up at once; from then on each policy must choose and act as it does
# without swap (a job that swaps within its allowance and progresses is
# 27-swap-allowance's case).
POLICIES_SWAP_MAX=16M SCENARIO=02-policies-swap exec "$(dirname "$0")/02-policies.sh" "$@"
