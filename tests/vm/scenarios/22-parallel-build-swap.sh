#!/bin/bash
# vm-run: --timeout 900 --swap 1G
# 22-parallel-build on a node with swap: alice may swap 16M, which her
# build uses up at once; from then on the build must go in one round, her
# editor, shell and tmux and the notebook kernel must live, as without
# swap (a job that swaps within its allowance and progresses is
# 27-swap-allowance's case).
BUILD_SWAP_MAX=16M BUILD_RESULT_FILE=parallel-build-swap.md SCENARIO=22-parallel-build-swap \
  exec "$(dirname "$0")/22-parallel-build.sh" "$@"
