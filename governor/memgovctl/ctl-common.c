/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What memgovctl's verbs share: naming a target and loading the config the
 * way memgovd resolves it for one user. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgfs.h"
#include "ctl.h"
#include "memgov-config.h"

int ctl_resolve_target(const char *verb, const char *target, char *cgroup, size_t size, uid_t *ret_uid,
                       char **ret_user) {
        struct passwd *pw;
        uint64_t uid;

        *ret_uid = (uid_t) -1;
        *ret_user = NULL;
        if (target[0] == '/') {
                const char *rel, *p;
                int r = cgfs_path_relative(target, &rel);
                if (r < 0) {
                        fprintf(stderr, "memgovctl %s: invalid cgroup path '%s'\n", verb, target);
                        return r;
                }
                snprintf(cgroup, size, "%s", rel);
                p = strstr(rel, "user-");
                if (p && sscanf(p, "user-%" SCNu64 ".slice", &uid) == 1) {
                        *ret_uid = (uid_t) uid;
                        pw = getpwuid(*ret_uid);
                        if (pw)
                                *ret_user = strdup(pw->pw_name);
                }
                return 0;
        }
        if (parse_u64(target, &uid) == 0) {
                *ret_uid = (uid_t) uid;
                pw = getpwuid(*ret_uid);
        } else {
                pw = getpwnam(target);
                if (!pw) {
                        fprintf(stderr, "memgovctl %s: no such user '%s'\n", verb, target);
                        return -ESRCH;
                }
                *ret_uid = pw->pw_uid;
        }
        if (pw)
                *ret_user = strdup(pw->pw_name);
        snprintf(cgroup, size, "user.slice/user-%u.slice", (unsigned) *ret_uid);
        return 0;
}

char **ctl_user_groups(const char *user) {
        _cleanup_free_ gid_t *gids = NULL;
        char **groups = NULL;
        struct passwd *pw;
        int n = 64;

        if (!user || !(pw = getpwnam(user)))
                return NULL;
        gids = malloc(sizeof(gid_t) * (size_t) n);
        if (!gids)
                return NULL;
        if (getgrouplist(user, pw->pw_gid, gids, &n) < 0) {
                gid_t *more = realloc(gids, sizeof(gid_t) * (size_t) n);
                if (!more)
                        return NULL;
                gids = more;
                if (getgrouplist(user, pw->pw_gid, gids, &n) < 0)
                        return NULL;
        }
        for (int i = 0; i < n; i++) {
                struct group *g = getgrgid(gids[i]);
                if (g && strv_extend(&groups, g->gr_name) < 0)
                        break;
        }
        return groups;
}

static void report_config_error(void *userdata, const char *file, unsigned line, const char *message) {
        (void) userdata;
        if (line > 0)
                fprintf(stderr, "memgovctl: %s:%u: %s\n", file, line, message);
        else
                fprintf(stderr, "memgovctl: %s: %s\n", file, message);
}

void ctl_load_user_config(const char *path, uint64_t physmem, uid_t uid, const char *user, config_set **ret_set,
                          user_config *ret, const char **ret_sources) {
        _cleanup_strv_free_ char **groups = NULL;
        config_set *c = NULL;
        int r;

        r = config_load(path, physmem, report_config_error, NULL, &c);
        if (r < 0) {
                fprintf(stderr, "memgovctl: warning: could not load %s (%s); using built-in defaults\n", path,
                        strerror(-r));
                user_config_defaults(physmem, ret);
                if (ret_sources)
                        memset(ret_sources, 0, sizeof(const char *) * _UC_COUNT);
                *ret_set = NULL;
                return;
        }
        groups = ctl_user_groups(user);
        if (ret_sources)
                config_resolve_user_sources(c, uid, user, groups, ret, ret_sources);
        else
                config_resolve_user(c, uid, user, groups, ret);
        *ret_set = c;
}

void ctl_sources_init(ctl_sources *s) {
        *s = (ctl_sources) {
                .config = MEMGOV_CONFIG_PATH,
                .cgroup_root = "/sys/fs/cgroup",
                .proc_root = "/proc",
        };
}

bool ctl_sources_option(ctl_sources *s, int c, const char *arg) {
        switch (c) {
        case CTL_ARG_CONFIG:
                s->config = arg;
                return true;
        case CTL_ARG_CGROUP_ROOT:
                s->cgroup_root = arg;
                return true;
        case CTL_ARG_PROC_ROOT:
                s->proc_root = arg;
                return true;
        default:
                return false;
        }
}

int ctl_sources_open(const char *verb, const ctl_sources *s, int *ret_cgroot_fd, int *ret_procfs_fd) {
        _cleanup_close_ int cgroot_fd = -1;
        int procfs_fd;

        cgroot_fd = open(s->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroot_fd < 0) {
                fprintf(stderr, "memgovctl %s: cannot open cgroup root %s: %m\n", verb, s->cgroup_root);
                return -errno;
        }
        procfs_fd = open(s->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (procfs_fd < 0) {
                fprintf(stderr, "memgovctl %s: cannot open proc root %s: %m\n", verb, s->proc_root);
                return -errno;
        }
        *ret_cgroot_fd = take_fd(&cgroot_fd);
        *ret_procfs_fd = procfs_fd;
        return 0;
}

int ctl_print_json(struct json_object *o) {
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        if (puts(text) < 0 || fflush(stdout) != 0)
                return -EIO;
        return 0;
}

const char *ctl_printable(const char *s, char *buf, size_t size) {
        size_t j = 0;

        for (const char *p = s; *p && j + 1 < size; p++)
                buf[j++] = (unsigned char) *p < 0x20 || *p == 0x7f ? '?' : *p;
        buf[j] = 0;
        return buf;
}

int ctl_one_target(int argc, char **argv, void (*help)(FILE *f), const char **ret_target) {
        assert(help);
        assert(ret_target);

        if (optind != argc - 1) {
                help(stderr);
                return -EINVAL;
        }
        *ret_target = argv[optind];
        return 1;
}
