/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"

static int cmp_entry(const void *a, const void *b) {
        const growth_entry *x = a, *y = b;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static void drop(growth_history *h, size_t i) {
        assert(i < h->n);
        free(h->obs[i].entries);
        memmove(h->obs + i, h->obs + i + 1, (h->n - i - 1) * sizeof h->obs[0]);
        h->n--;
        h->obs[h->n] = (growth_observation) {};
}

static bool in_window(usec_t at, usec_t now) {
        return at <= now && now - at <= GROWTH_WINDOW_USEC;
}

int growth_record(growth_history *h, growth_entry *entries, size_t n, usec_t now) {
        assert(h);
        assert(entries || n == 0);

        /* Time runs forward; an observation from the past would reorder the baseline. */
        if (h->n > 0 && now < h->obs[h->n - 1].at) {
                free(entries);
                return -EINVAL;
        }
        while (h->n > 0 && !in_window(h->obs[0].at, now))
                drop(h, 0);
        if (h->n == GROWTH_MAX_OBSERVATIONS)
                drop(h, h->n > 1 ? 1 : 0);
        if (n > 1)
                qsort(entries, n, sizeof *entries, cmp_entry);
        h->obs[h->n++] = (growth_observation) { .at = now, .entries = entries, .n = n };
        return 0;
}

static const growth_observation *baseline(const growth_history *h, usec_t now) {
        for (size_t i = 0; i < h->n; i++)
                if (in_window(h->obs[i].at, now))
                        return &h->obs[i];
        return NULL;
}

usec_t growth_baseline_at(const growth_history *h, usec_t now) {
        const growth_observation *o;

        if (!h)
                return 0;
        o = baseline(h, now);
        return o ? o->at : 0;
}

bool growth_baseline(const growth_history *h, pid_t pid, uint64_t start_time, usec_t now, uint64_t *ret) {
        const growth_observation *o;
        const growth_entry *hit;
        growth_entry key = { .pid = pid };

        if (!h)
                return false;
        o = baseline(h, now);
        if (!o || o->n == 0)
                return false;
        hit = bsearch(&key, o->entries, o->n, sizeof key, cmp_entry);
        if (!hit || hit->start_time != start_time)
                return false;
        if (ret)
                *ret = hit->footprint;
        return true;
}

void growth_history_done(growth_history *h) {
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++)
                free(h->obs[i].entries);
        *h = (growth_history) {};
}
