/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "pace.h"

static const usec_t steps[] = { PACE_STEP_COARSE, PACE_STEP_IDLE, PACE_STEP_NEAR, PACE_STEP_FINE };

usec_t pace_step(usec_t interval) {
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
                if (interval >= steps[i])
                        return steps[i];
        return 0;
}

usec_t pace_next(usec_t now, usec_t step) {
        assert(step > 0);
        return (now / step + 1) * step;
}

bool pace_may_reach(uint64_t prev, usec_t prev_at, uint64_t current, usec_t now, uint64_t level, usec_t until) {
        double rate;

        if (current >= level)
                return true;
        if (current <= prev || prev_at >= now || until <= now)
                return false;
        /* Twice the rate seen: growth that speeds up a little is still on time. */
        rate = 2.0 * (double) (current - prev) / (double) (now - prev_at);
        return (double) current + rate * (double) (until - now) >= (double) level;
}

usec_t pace_step_for_growth(usec_t interval, uint64_t prev, usec_t prev_at, uint64_t current, usec_t now,
                            uint64_t level) {
        if (pace_step(interval) == 0)
                return 0;
        for (usec_t step = pace_step(interval); step > PACE_STEP_FINE; step = pace_step(step - 1))
                if (level == BYTES_INFINITY || !pace_may_reach(prev, prev_at, current, now, level, pace_next(now, step)))
                        return step;
        return PACE_STEP_FINE;
}
