/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* memgovctl verbs. Each gets argv starting at the verb and returns an exit status. */

int ctl_top(int argc, char **argv);
int ctl_status(int argc, char **argv);

/* JSON string escaping for the --json outputs. */
#include <stdio.h>
void ctl_json_string(FILE *f, const char *s);
