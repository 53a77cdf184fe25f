/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmptree.h"

static void die(const char *what, const char *path) {
        fprintf(stderr, "tmptree: %s %s: %m\n", what, path);
        abort();
}

char *tmptree_new(void) {
        const char *tmp = getenv("TMPDIR");
        char *path;

        if (asprintf(&path, "%s/memgov-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                abort();
        if (!mkdtemp(path))
                die("mkdtemp", path);
        return path;
}

void tmptree_mkdir(const char *root, const char *relpath) {
        char path[4096];
        size_t rootlen = strlen(root);

        if ((size_t) snprintf(path, sizeof path, "%s/%s", root, relpath) >= sizeof path)
                abort();
        for (char *p = path + rootlen + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        die("mkdir", path);
                *p = '/';
        }
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                die("mkdir", path);
}

void tmptree_write(const char *root, const char *relpath, const char *content) {
        char path[4096];
        char *slash;
        FILE *f;

        if ((size_t) snprintf(path, sizeof path, "%s/%s", root, relpath) >= sizeof path)
                abort();
        slash = strrchr(relpath, '/');
        if (slash) {
                char dir[4096];
                snprintf(dir, sizeof dir, "%.*s", (int) (slash - relpath), relpath);
                tmptree_mkdir(root, dir);
        }
        f = fopen(path, "we");
        if (!f)
                die("fopen", path);
        fputs(content, f);
        if (fclose(f) != 0)
                die("fclose", path);
}

void tmptree_writef(const char *root, const char *relpath, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        tmptree_write(root, relpath, s);
        free(s);
}

int tmptree_open(const char *root) {
        int fd = open(root, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        if (fd < 0)
                die("open", root);
        return fd;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

void tmptree_free(char *root) {
        if (!root)
                return;
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
}

void tmptree_add_task(const char *procroot, const fake_task *t) {
        char rel[64];
        unsigned long rss_pages = t->rss_kb / 4;

        /* Field layout as in fs/proc/array.c do_task_stat(). */
        snprintf(rel, sizeof rel, "%d/stat", (int) t->pid);
        tmptree_writef(procroot, rel,
                       "%d (%s) %c %d %d %d 34816 %d %u 100 0 0 0 %lu %lu 0 0 20 0 1 0 %llu 12345678 %lu "
                       "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                       (int) t->pid, t->comm, t->state ? t->state : 'S', (int) t->ppid,
                       (int) (t->pgrp ? t->pgrp : t->pid), (int) t->sid, (int) t->pid, t->flags, t->utime, t->stime, t->start_time,
                       rss_pages);
        snprintf(rel, sizeof rel, "%d/status", (int) t->pid);
        tmptree_writef(procroot, rel,
                       "Name:\t%s\nUmask:\t0022\nState:\t%c (sleeping)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n"
                       "PPid:\t%d\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\nGid:\t100\t100\t100\t100\n"
                       "FDSize:\t64\nGroups:\t100 \nVmPeak:\t  100000 kB\nVmSize:\t  100000 kB\n"
                       "VmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t%8lu kB\nVmRSS:\t%8lu kB\n"
                       "RssAnon:\t%8lu kB\nRssFile:\t       0 kB\nRssShmem:\t       0 kB\n"
                       "VmData:\t    1000 kB\nVmStk:\t     132 kB\nVmExe:\t     100 kB\nVmLib:\t    1000 kB\n"
                       "VmPTE:\t%8lu kB\nVmSwap:\t%8lu kB\nHugetlbPages:\t       0 kB\nThreads:\t1\n",
                       t->comm, t->state ? t->state : 'S', (int) t->pid, (int) t->pid, (int) t->ppid,
                       t->uid, t->uid, t->uid, t->uid, t->rss_kb, t->rss_kb, t->rss_kb, t->pte_kb,
                       t->swap_kb);
        snprintf(rel, sizeof rel, "%d/oom_score_adj", (int) t->pid);
        tmptree_writef(procroot, rel, "%d\n", t->oom_score_adj);
}
