#!/bin/bash
# vm-run: --timeout 1200 --swap 1G
# 20-file-work with 1 GiB of swap: most real nodes have swap, and file work
# must be left alone there as well.
SCENARIO=21-file-work-swap exec "$(dirname "$0")/20-file-work.sh" "$@"
