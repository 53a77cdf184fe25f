/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Inside the config module: one file's parse (config-parse.c) and the
 * loading and layering of files (config.c). Not part of libmemgov's API. */

#include <stdbool.h>

#include "config.h"

typedef enum file_kind {
        FILE_MAIN,                     /* memgov.conf, memgov.conf.d/: [Governor] and [Defaults] */
        FILE_DROPIN,                   /* groups.d/, users.d/: [Defaults] keys, header optional */
} file_kind;

typedef struct config_loader {
        uint64_t physmem;
        config_error_fn on_error;
        void *userdata;
        unsigned n_errors;
} config_loader;

/* Counts an error and passes it to the caller's config_error_fn. */
void config_report(config_loader *l, const char *file, unsigned line, const char *fmt, ...) _printf_(4, 5);

/* Parses one file into GOVERNOR (main files only) and LAYER. Errors are
 * reported, not returned: only -ENOMEM and the like stop the load. */
int config_parse_file(config_loader *l, const char *path, file_kind kind, bool missing_ok,
                      governor_config *governor, config_layer *layer);
