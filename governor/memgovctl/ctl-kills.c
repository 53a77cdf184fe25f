/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memgovctl kills: the kill history, from memgovd's journal records. Only
 * records root sent count (_UID=0, a field journald sets itself): anyone can
 * send a record with memgov's MESSAGE_ID and fields. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "ctl.h"
#include "escape.h"
#include "messages.h"
#include "timestamp.h"
#include "util.h"

typedef struct kills_args {
        usec_t since, until;
        const char *user;
        bool json;
        const char *directory;
        char **files;
} kills_args;

/* One kill as a record tells it; strings are raw (hostile) until printed. */
typedef struct kill_entry {
        usec_t time;
        bool kernel;
        bool dry_run;
        uint64_t uid, pid, freed, rss, round_index, round_victims;   /* UINT64_MAX: absent */
        char *user, *comm, *policy, *reason, *source, *signal, *slice;
} kill_entry;

static void kill_entry_done(kill_entry *e) {
        free(e->user);
        free(e->comm);
        free(e->policy);
        free(e->reason);
        free(e->source);
        free(e->signal);
        free(e->slice);
}

static void kills_help(FILE *f) {
        fputs("Usage: memgovctl kills [--since TIME] [--until TIME] [--user USER|UID] [--json]\n"
              "                       [--directory DIR | --file FILE...]\n"
              "\n"
              "List the processes memgovd killed, and the kernel OOM kills it reported, from\n"
              "the journal: one line per kill with its time, user, victim, memory freed,\n"
              "policy and reason.\n"
              "\n"
              "  --since TIME      Kills at or after TIME\n"
              "  --until TIME      Kills at or before TIME\n"
              "  --user USER|UID   Kills of one user only\n"
              "  --json            Print a JSON array, one object per kill\n"
              "  --directory DIR   Read the journal files in DIR instead of the system journal\n"
              "  --file FILE       Read journal FILE instead (may be given more than once)\n"
              "\n"
              "TIME: \"YYYY-MM-DD\", \"YYYY-MM-DD HH:MM[:SS]\", \"today\", \"yesterday\", \"now\",\n"
              "relative to now: \"-2h\", \"-30min\", \"-1d\", or \"@SECONDS\" since the epoch\n"
              "(local time).\n", f);
}

static int parse_time_arg(const char *option, const char *text, usec_t *ret) {
        int r = timestamp_parse(text, (usec_t) time(NULL) * USEC_PER_SEC, ret);

        if (r < 0) {
                char t[256];

                fprintf(stderr, "memgovctl kills: invalid time '%s' for %s; try \"YYYY-MM-DD [HH:MM[:SS]]\", "
                        "\"today\", \"yesterday\", \"now\" or \"-2h\"\n", escape_text(text, t, sizeof t), option);
        }
        return r;
}

/* 1: run; 0: --help shown; <0: usage error, reported. */
static int parse_args(int argc, char **argv, kills_args *ret) {
        enum { ARG_SINCE = 0x100, ARG_UNTIL, ARG_USER, ARG_JSON, ARG_DIRECTORY, ARG_FILE };
        static const struct option options[] = {
                { "since",     required_argument, NULL, ARG_SINCE },
                { "until",     required_argument, NULL, ARG_UNTIL },
                { "user",      required_argument, NULL, ARG_USER },
                { "json",      no_argument,       NULL, ARG_JSON },
                { "directory", required_argument, NULL, ARG_DIRECTORY },
                { "file",      required_argument, NULL, ARG_FILE },
                { "help",      no_argument,       NULL, 'h' },
                {}
        };
        int c;

        ret->since = 0;
        ret->until = USEC_INFINITY;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_SINCE:
                        if (parse_time_arg("--since", optarg, &ret->since) < 0)
                                return -EINVAL;
                        break;
                case ARG_UNTIL:
                        if (parse_time_arg("--until", optarg, &ret->until) < 0)
                                return -EINVAL;
                        break;
                case ARG_USER:
                        ret->user = optarg;
                        break;
                case ARG_JSON:
                        ret->json = true;
                        break;
                case ARG_DIRECTORY:
                        ret->directory = optarg;
                        break;
                case ARG_FILE:
                        if (strv_extend(&ret->files, optarg) < 0) {
                                fprintf(stderr, "memgovctl kills: out of memory\n");
                                return -ENOMEM;
                        }
                        break;
                case 'h':
                        kills_help(stdout);
                        return 0;
                default:
                        kills_help(stderr);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "memgovctl kills: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (ret->directory && ret->files) {
                fprintf(stderr, "memgovctl kills: --directory and --file exclude each other\n");
                return -EINVAL;
        }
        return 1;
}

/* The user's records: by UID when the name resolves (or is a number), else
 * by the name the records carry (a user removed since). */
static char *user_match(const char *user) {
        struct passwd *pw;
        uint64_t uid;
        char *m = NULL;
        int k;

        if (parse_u64(user, &uid) == 0 && uid < UINT32_MAX)
                k = asprintf(&m, "MEMGOV_UID=%" PRIu64, uid);
        else if ((pw = getpwnam(user)))
                k = asprintf(&m, "MEMGOV_UID=%u", (unsigned) pw->pw_uid);
        else
                k = asprintf(&m, "MEMGOV_USER=%s", user);
        return k < 0 ? NULL : m;
}

/* (kill record AND root sent it AND user) OR (the same for a kernel OOM kill). */
static int add_matches(sd_journal *j, const char *user) {
        static const char *const kinds[][2] = {
                { "MESSAGE_ID=" MEMGOV_MESSAGE_KILL, "MEMGOV_EVENT=kill" },
                { "MESSAGE_ID=" MEMGOV_MESSAGE_KERNEL_OOM_KILL, "MEMGOV_EVENT=kernel-oom-kill" },
        };
        _cleanup_free_ char *by_user = NULL;
        int r;

        if (user && !(by_user = user_match(user)))
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                if ((r = sd_journal_add_match(j, kinds[i][0], 0)) < 0 ||
                    (r = sd_journal_add_match(j, kinds[i][1], 0)) < 0 ||
                    (r = sd_journal_add_match(j, "_UID=0", 0)) < 0 ||
                    (by_user && (r = sd_journal_add_match(j, by_user, 0)) < 0) ||
                    (r = sd_journal_add_disjunction(j)) < 0)
                        return r;
        }
        return 0;
}

/* FIELD's value as a new NUL-terminated string (cut at an embedded NUL);
 * NULL when the entry has no such field. */
static char *get_string(sd_journal *j, const char *field) {
        size_t flen = strlen(field), len;
        const void *data;

        if (sd_journal_get_data(j, field, &data, &len) < 0 || len <= flen || ((const char *) data)[flen] != '=')
                return NULL;
        return strndup((const char *) data + flen + 1, len - flen - 1);
}

static uint64_t get_number(sd_journal *j, const char *field) {
        _cleanup_free_ char *s = get_string(j, field);
        uint64_t v;

        return s && parse_u64(s, &v) == 0 ? v : UINT64_MAX;
}

static int read_entry(sd_journal *j, kill_entry *ret) {
        _cleanup_free_ char *message_id = NULL, *dry_run = NULL;
        int r;

        *ret = (kill_entry) {};
        r = sd_journal_get_realtime_usec(j, &ret->time);
        if (r < 0)
                return r;
        message_id = get_string(j, "MESSAGE_ID");
        dry_run = get_string(j, "MEMGOV_DRY_RUN");
        ret->kernel = message_id && strcmp(message_id, MEMGOV_MESSAGE_KERNEL_OOM_KILL) == 0;
        ret->dry_run = dry_run && strcmp(dry_run, "1") == 0;
        ret->uid = get_number(j, "MEMGOV_UID");
        ret->pid = get_number(j, "MEMGOV_VICTIM_PID");
        ret->freed = ret->kernel ? UINT64_MAX : get_number(j, "MEMGOV_VICTIM_FREES_BYTES");
        ret->rss = get_number(j, "MEMGOV_VICTIM_RSS_BYTES");
        ret->round_index = get_number(j, "MEMGOV_ROUND_INDEX");
        ret->round_victims = get_number(j, "MEMGOV_ROUND_VICTIMS");
        ret->user = get_string(j, "MEMGOV_USER");
        ret->comm = get_string(j, "MEMGOV_VICTIM_COMM");
        /* memgovd escaped the name for the journal; undone here so each
         * output escapes it once, as the other verbs do a raw comm. */
        if (ret->comm)
                escape_undo(ret->comm);
        ret->policy = ret->kernel ? NULL : get_string(j, "MEMGOV_POLICY");
        ret->reason = ret->kernel ? strdup("kernel-oom") : get_string(j, "MEMGOV_REASON");
        ret->source = ret->kernel ? get_string(j, "MEMGOV_SOURCE") : NULL;
        ret->signal = ret->kernel ? NULL : get_string(j, "MEMGOV_SIGNAL");
        ret->slice = get_string(j, "MEMGOV_SLICE");
        return 0;
}

static void print_header(void) {
        printf("%-19s  %-12s %6s %7s  %-16s %7s  %-8s %s\n", "TIME", "USER", "UID", "PID", "NAME", "FREED", "POLICY",
               "REASON");
}

static void print_line(const kill_entry *e) {
        char when[TIMESTAMP_TEXT_MAX], uid[24] = "-", pid[24] = "-", freed[FORMAT_BYTES_MAX] = "-";
        char comm[ESCAPE_COMM_MAX * 4], user[256], policy[64], reason[128];
        uint64_t bytes = e->kernel ? e->rss : e->freed;

        if (e->uid != UINT64_MAX)
                snprintf(uid, sizeof uid, "%" PRIu64, e->uid);
        if (e->pid != UINT64_MAX)
                snprintf(pid, sizeof pid, "%" PRIu64, e->pid);
        if (bytes != UINT64_MAX)
                format_bytes(freed, sizeof freed, bytes);
        escape_text(e->user ?: "?", user, sizeof user);
        escape_text(e->comm ?: "?", comm, sizeof comm);
        escape_text(e->policy ?: "-", policy, sizeof policy);
        escape_text(e->reason ?: "?", reason, sizeof reason);
        printf("%-19s  %-12s %6s %7s  %-16s %7s  %-8s %s%s\n", timestamp_format(when, sizeof when, e->time), user,
               uid, pid, comm, freed, policy, reason, e->dry_run ? " (dry run: nothing killed)" : "");
}

static json_object *json_string_or_null(const char *raw) {
        _cleanup_free_ char *s = NULL;

        if (!raw)
                return NULL;
        s = escape_dup(raw, ESCAPE_JSON);
        return s ? json_object_new_string(s) : NULL;
}

static json_object *json_number_or_null(uint64_t v) {
        return v == UINT64_MAX ? NULL : json_object_new_uint64(v);
}

static int entry_to_json(const kill_entry *e, json_object *array) {
        json_object *o = json_object_new_object();
        char when[TIMESTAMP_TEXT_MAX];

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "time_usec", json_object_new_uint64(e->time));
        json_object_object_add(o, "time", json_object_new_string(timestamp_format(when, sizeof when, e->time)));
        json_object_object_add(o, "event", json_object_new_string(e->kernel ? "kernel-oom-kill" : "kill"));
        json_object_object_add(o, "dry_run", json_object_new_boolean(e->dry_run));
        json_object_object_add(o, "uid", json_number_or_null(e->uid));
        json_object_object_add(o, "user", json_string_or_null(e->user));
        json_object_object_add(o, "pid", json_number_or_null(e->pid));
        json_object_object_add(o, "comm", json_string_or_null(e->comm));
        json_object_object_add(o, "freed_bytes", json_number_or_null(e->freed));
        json_object_object_add(o, "rss_bytes", json_number_or_null(e->rss));
        json_object_object_add(o, "policy", json_string_or_null(e->policy));
        json_object_object_add(o, "reason", json_string_or_null(e->reason));
        json_object_object_add(o, "source", json_string_or_null(e->source));
        json_object_object_add(o, "signal", json_string_or_null(e->signal));
        json_object_object_add(o, "round_index", json_number_or_null(e->round_index));
        json_object_object_add(o, "round_victims", json_number_or_null(e->round_victims));
        json_object_object_add(o, "slice", json_string_or_null(e->slice));
        if (json_object_array_add(array, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

static void journal_closep(sd_journal **j) {
        if (*j)
                sd_journal_close(*j);
}

static int open_journal(const kills_args *a, sd_journal **ret) {
        int r;

        if (a->directory)
                r = sd_journal_open_directory(ret, a->directory, 0);
        else if (a->files)
                r = sd_journal_open_files(ret, (const char **) a->files, 0);
        else
                r = sd_journal_open(ret, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                fprintf(stderr, "memgovctl kills: cannot open the journal%s%s: %s\n",
                        a->directory ? " in " : a->files ? " file " : "",
                        a->directory ?: a->files ? a->files[0] : "", strerror(-r));
        return r;
}

int ctl_kills(int argc, char **argv) {
        _cleanup_(journal_closep) sd_journal *j = NULL;
        _cleanup_(json_object_putp) json_object *array = NULL;
        _cleanup_strv_free_ char **files = NULL;
        kills_args args = {};
        size_t n = 0;
        int r;

        r = parse_args(argc, argv, &args);
        files = args.files;
        if (r <= 0)
                return r < 0 ? 2 : 0;

        if (open_journal(&args, &j) < 0)
                return 1;
        r = add_matches(j, args.user);
        if (r >= 0)
                r = args.since > 0 ? sd_journal_seek_realtime_usec(j, args.since) : sd_journal_seek_head(j);
        if (r < 0) {
                fprintf(stderr, "memgovctl kills: cannot search the journal: %s\n", strerror(-r));
                return 1;
        }
        if (args.json && !(array = json_object_new_array()))
                return 1;

        while ((r = sd_journal_next(j)) > 0) {
                kill_entry e;

                if (read_entry(j, &e) < 0)
                        continue;
                /* Entries of several files interleave: not strictly in time order. */
                if (e.time < args.since || e.time > args.until) {
                        kill_entry_done(&e);
                        continue;
                }
                if (args.json)
                        r = entry_to_json(&e, array);
                else {
                        if (n == 0)
                                print_header();
                        print_line(&e);
                }
                kill_entry_done(&e);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                fprintf(stderr, "memgovctl kills: cannot read the journal: %s\n", strerror(-r));
                return 1;
        }
        if (args.json) {
                r = ctl_print_json(array);
                if (r < 0) {
                        fprintf(stderr, "memgovctl kills: cannot print the JSON document: %s\n", strerror(-r));
                        return 1;
                }
        } else if (n == 0)
                puts("No kills recorded.");
        /* journald shows others' entries only to root and groups adm, systemd-journal. */
        if (n == 0 && !args.directory && !args.files && geteuid() != 0)
                fprintf(stderr, "memgovctl kills: note: memgovd's records may be hidden from you; run as root or as "
                        "a member of group adm or systemd-journal\n");
        return 0;
}
