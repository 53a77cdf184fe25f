#!/bin/bash
# vm-run: --timeout 600
# 02-policies with two rounds: Policy=growth, the default, and badness, the
# kernel's own oom_badness read from /proc. The trixie core set runs this
# one (a whole 02-policies takes five minutes of a trixie guest); the
# ranking of rss and runtime is the same arithmetic on any kernel, and
# bookworm runs all four.
POLICY_ROUNDS="growth badness" SCENARIO=02-policies-default exec "$(dirname "$0")/02-policies.sh" "$@"
