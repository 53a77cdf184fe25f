/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovctl check-config: the check `memgovd --check-config` makes, with
 * the same messages, and as JSON. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config-check.h"
#include "ctl.h"
#include "memgov-config.h"

static void check_config_help(FILE *f) {
        fputs("Usage: memgovctl check-config [--config PATH] [--json]\n"
              "\n"
              "Load the configuration and its drop-ins (memgov.conf.d/, groups.d/, users.d/)\n"
              "as memgovd does and report every error as FILE:LINE: message.\n"
              "\n"
              "  --config PATH  Check PATH and the directories beside it (default: " MEMGOV_CONFIG_PATH ")\n"
              "  --json         Print the result as a JSON object\n", f);
}

static uint64_t physical_memory(void) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        return pages > 0 && size > 0 ? (uint64_t) pages * (uint64_t) size : 0;
}

static int print_json(const config_check *c, const char *path) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *errors = json_object_new_array();

        if (!o || !errors) {
                json_object_put(errors);
                return -ENOMEM;
        }
        json_object_object_add(o, "config", json_object_new_string(path));
        json_object_object_add(o, "ok", json_object_new_boolean(c->error == 0));
        json_object_object_add(o, "errors", errors);
        for (size_t i = 0; i < c->n_problems; i++) {
                json_object *e = json_object_new_object();

                if (!e)
                        return -ENOMEM;
                json_object_object_add(e, "file", json_object_new_string(c->problems[i].file));
                json_object_object_add(e, "line", c->problems[i].line > 0 ? json_object_new_int64(c->problems[i].line) : NULL);
                json_object_object_add(e, "message", json_object_new_string(c->problems[i].message));
                json_object_array_add(errors, e);
        }
        /* A main file that cannot be read at all is an error without a line. */
        if (c->error < 0 && c->n_problems == 0) {
                json_object *e = json_object_new_object();

                if (!e)
                        return -ENOMEM;
                json_object_object_add(e, "file", json_object_new_string(path));
                json_object_object_add(e, "line", NULL);
                json_object_object_add(e, "message", json_object_new_string(strerror(-c->error)));
                json_object_array_add(errors, e);
        }
        json_object_object_add(o, "group_dropins", c->error == 0 ? json_object_new_int64((int64_t) c->n_groups) : NULL);
        json_object_object_add(o, "user_dropins", c->error == 0 ? json_object_new_int64((int64_t) c->n_users) : NULL);
        return ctl_print_json(o);
}

int ctl_check_config(int argc, char **argv) {
        enum { ARG_JSON = 0x100 };
        static const struct option options[] = {
                { "config", required_argument, NULL, CTL_ARG_CONFIG },
                { "json",   no_argument,       NULL, ARG_JSON },
                { "help",   no_argument,       NULL, 'h' },
                {}
        };
        const char *path = MEMGOV_CONFIG_PATH;
        bool as_json = false;
        config_check c;
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case CTL_ARG_CONFIG: path = optarg; break;
                case ARG_JSON: as_json = true; break;
                case 'h': check_config_help(stdout); return 0;
                default: check_config_help(stderr); return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "memgovctl check-config: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        r = config_check_run(path, physical_memory(), &c);
        if (as_json) {
                int k = print_json(&c, path);
                if (k < 0) {
                        fprintf(stderr, "memgovctl check-config: cannot print the JSON document: %s\n", strerror(-k));
                        r = k;
                }
        } else
                config_check_print(&c, path, "memgovctl check-config", stdout, stderr);
        config_check_done(&c);
        return r < 0 ? 1 : 0;
}
