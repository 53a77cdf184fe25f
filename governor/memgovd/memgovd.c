/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovd: gives every user slice its memory budget, sleeps until the kernel
 * reports something, warns users before the wall, and when a user's slice is
 * in trouble kills the right process in that slice and nowhere else. */

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "config.h"
#include "config-check.h"
#include "daemon.h"
#include "hostcheck.h"
#include "memgov-config.h"
#include "messages.h"
#include "report.h"

/* Exit statuses a restart cannot fix: the unit lists them in
 * RestartPreventExitStatus=. */
#define EXIT_USAGE 2
#define EXIT_REFUSED 3
#define EXIT_CONFIG 6

/* Heap kept faulted in and locked, so the allocations of a decision and a
 * kill (snapshot, ranking, sd-event sources) do not fault or fail while the
 * machine is short of memory. */
#define HEAP_RESERVE (4U << 20)

static const char *arg_config = MEMGOV_CONFIG_PATH;
static bool arg_dry_run;
static bool arg_check_config;

static void help(void) {
        printf("Usage: memgovd [OPTIONS]\n\n"
               "Per-user memory governor: budgets, warnings and kills within user slices.\n\n"
               "  -c --config=PATH   Main configuration file (default: %s)\n"
               "  -n --dry-run       Log what would be killed; signal nothing\n"
               "     --check-config  Validate the configuration and its drop-ins, then exit\n"
               "     --version       Show the version\n"
               "  -h --help          Show this help\n",
               MEMGOV_CONFIG_PATH);
}

/* >0: go on; 0: exit successfully; <0: usage error. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_CHECK_CONFIG = 0x100, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "dry-run", no_argument, NULL, 'n' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:nh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'n':
                        arg_dry_run = true;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_VERSION:
                        printf("memgovd %s\n", MEMGOV_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "memgovd: unexpected argument '%s' (try --help)\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static uint64_t physical_memory(void) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        return pages > 0 && size > 0 ? (uint64_t) pages * (uint64_t) size : 0;
}

/* Works on any host: it reads files and touches no cgroup. */
static int check_config(void) {
        config_check c;
        int r;

        r = config_check_run(arg_config, physical_memory(), &c);
        config_check_print(&c, arg_config, "memgovd", stdout, stderr);
        config_check_done(&c);
        return r < 0 ? EXIT_CONFIG : EXIT_SUCCESS;
}

static int refuse(const char *why) {
        record r;

        record_init(&r, MEMGOV_MESSAGE_REFUSED, "refused", LOG_ERR, arg_dry_run);
        record_emit(&r, "Refusing to run: %s", why);
        (void) sd_notifyf(false, "STATUS=Refused: %s", why);
        return EXIT_REFUSED;
}

static void lock_memory(void) {
        void *p;

        /* memgovd's memory is small and sparse: where transparent huge
         * pages are "always", one page in use in a 2 MB-aligned stretch of
         * the heap made all 2 MB resident and locked (at 300 users, 2 of
         * its 3 MB of heap). */
        if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
                log_debug_errno(errno, "Cannot turn transparent huge pages off: %m");

        /* ONFAULT: lock what is used, without faulting in every mapping. */
        if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
                log_warning("mlockall failed (%m): memgovd may be paged out when memory is short "
                            "(raise LimitMEMLOCK= or grant CAP_IPC_LOCK)");

        /* Keep freed memory in the heap, never give it back or mmap it anew. */
        (void) mallopt(M_MMAP_THRESHOLD, 2 * HEAP_RESERVE);
        (void) mallopt(M_TRIM_THRESHOLD, 16 * HEAP_RESERVE);
        p = malloc(HEAP_RESERVE);
        if (p) {
                memset(p, 0, HEAP_RESERVE);
                free(p);
        }
}

int main(int argc, char **argv) {
        _cleanup_(daemon_freep) Daemon *d = NULL;
        config_set *config = NULL;
        char why[HOSTCHECK_WHY_MAX] = "";
        int r;

        log_setup();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        if (arg_check_config)
                return check_config();

        /* Before anything else: on a host memgov cannot govern, touch nothing. */
        r = hostcheck_run(why, sizeof why);
        if (r < 0)
                return refuse(why[0] ? why : strerror(-r));

        r = config_load(arg_config, physical_memory(), daemon_on_config_error, NULL, &config);
        if (r < 0) {
                log_error_errno(r, "Cannot load %s (%m); not starting", arg_config);
                (void) sd_notifyf(false, "STATUS=Configuration errors in %s", arg_config);
                return EXIT_CONFIG;
        }

        lock_memory();

        r = daemon_new(arg_config, arg_dry_run, config, &d);
        if (r < 0)
                return EXIT_FAILURE;
        r = daemon_start(d);
        if (r < 0)
                return EXIT_FAILURE;
        r = daemon_run(d);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
