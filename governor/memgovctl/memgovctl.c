/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovctl: inspect what memgov sees and would do. It reads files only,
 * so it works on a machine in trouble and needs no D-Bus. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "memgov-config.h"

static void help(FILE *f) {
        fputs("Usage: memgovctl VERB [OPTIONS]\n"
              "\n"
              "Verbs:\n"
              "  top [--policy rss|runtime|badness|growth] [--json] [--config PATH]\n"
              "      [--cgroup-root DIR] [--proc-root DIR] TARGET\n"
              "        Rank the tasks of a user's slice (or any cgroup) as memgovd\n"
              "        would: first victim first, protected tasks last. TARGET is a\n"
              "        user name, a UID or a cgroup path starting with '/'.\n"
              "  explain [--json] [--config PATH] [--cgroup-root DIR] [--proc-root DIR] TARGET\n"
              "        Show a user's budget and where each value comes from, where\n"
              "        the slice stands against it, and whom memgovd would kill if it\n"
              "        had to act now, and why the others are spared.\n"
              "  status [--json] [--file PATH] [--cgroup-root DIR]\n"
              "        Show the users memgovd governs, their budgets, pressure,\n"
              "        warnings and kills.\n"
              "  kills [--since TIME] [--until TIME] [--user USER|UID] [--json]\n"
              "        [--directory DIR | --file FILE]\n"
              "        List memgovd's kills and the kernel OOM kills it reported,\n"
              "        from the journal.\n"
              "  check-config [--config PATH] [--json]\n"
              "        Check the configuration and its drop-ins as memgovd loads them.\n"
              "\n"
              "Options:\n"
              "  -h --help     Show this help (after a verb: that verb's help)\n"
              "     --version  Show the version\n"
              "\n"
              "Exit status: 0 fine; 1 a problem found (no such target, memgovd not\n"
              "running, configuration errors, unreadable files); 2 invalid command line.\n"
              "\n"
              "See memgovctl(1).\n", f);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                help(stderr);
                return 2;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                help(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("memgovctl %s\n", MEMGOV_VERSION);
                return 0;
        }
        if (strcmp(argv[1], "top") == 0)
                return ctl_top(argc - 1, argv + 1);
        if (strcmp(argv[1], "explain") == 0)
                return ctl_explain(argc - 1, argv + 1);
        if (strcmp(argv[1], "status") == 0)
                return ctl_status(argc - 1, argv + 1);
        if (strcmp(argv[1], "kills") == 0)
                return ctl_kills(argc - 1, argv + 1);
        if (strcmp(argv[1], "check-config") == 0)
                return ctl_check_config(argc - 1, argv + 1);
        fprintf(stderr, "memgovctl: unknown verb '%s'. See 'memgovctl --help'.\n", argv[1]);
        return 2;
}
