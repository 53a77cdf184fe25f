/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config-check.h"

typedef struct collector {
        config_check *check;
        size_t allocated;
        size_t lost;                   /* problems reported but not kept (no memory) */
} collector;

static void collect(void *userdata, const char *file, unsigned line, const char *message) {
        collector *co = userdata;
        config_check *c = co->check;
        config_problem *p;

        if (c->n_problems == co->allocated) {
                size_t n = co->allocated ? co->allocated * 2 : 8;
                config_problem *a = reallocarray(c->problems, n, sizeof *a);
                if (!a) {
                        co->lost++;
                        return;
                }
                c->problems = a;
                co->allocated = n;
        }
        p = &c->problems[c->n_problems];
        *p = (config_problem) { .file = strdup(file ?: "?"), .line = line, .message = strdup(message ?: "?") };
        if (!p->file || !p->message) {
                free(p->file);
                free(p->message);
                co->lost++;
                return;
        }
        c->n_problems++;
}

int config_check_run(const char *path, uint64_t physmem, config_check *ret) {
        collector co = { .check = ret };
        config_set *set = NULL;

        assert(path);
        assert(ret);

        *ret = (config_check) {};
        ret->error = config_load(path, physmem, collect, &co, &set);
        if (ret->error >= 0) {
                ret->n_groups = set->n_groups;
                ret->n_users = set->n_users;
                config_set_free(set);
        } else if (co.lost > 0 && ret->error != -EINVAL)
                ret->error = -ENOMEM;
        return ret->error;
}

void config_check_print(const config_check *c, const char *path, const char *program, FILE *out, FILE *err) {
        assert(c);
        assert(path);
        assert(program);

        for (size_t i = 0; i < c->n_problems; i++) {
                const config_problem *p = &c->problems[i];
                if (p->line > 0)
                        fprintf(err, "%s:%u: %s\n", p->file, p->line, p->message);
                else
                        fprintf(err, "%s: %s\n", p->file, p->message);
        }
        if (c->error == 0)
                fprintf(out, "%s: OK (%zu group drop-in%s, %zu user drop-in%s)\n", path, c->n_groups,
                        c->n_groups == 1 ? "" : "s", c->n_users, c->n_users == 1 ? "" : "s");
        else if (c->n_problems == 0)
                fprintf(err, "%s: %s\n", path, strerror(-c->error));
        else
                fprintf(err, "%s: %zu error%s in the configuration\n", program, c->n_problems,
                        c->n_problems == 1 ? "" : "s");
}

void config_check_done(config_check *c) {
        assert(c);

        for (size_t i = 0; i < c->n_problems; i++) {
                free(c->problems[i].file);
                free(c->problems[i].message);
        }
        free(c->problems);
        *c = (config_check) {};
}
