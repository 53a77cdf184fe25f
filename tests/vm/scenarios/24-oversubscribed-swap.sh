#!/bin/bash
# vm-run: --timeout 900 --swap 1G
# 23-oversubscribed with 1 GiB of swap, as in the issue: left to the kernel,
# the node swapped for 37 s before its OOM killer acted.
SCENARIO=24-oversubscribed-swap exec "$(dirname "$0")/23-oversubscribed.sh" "$@"
