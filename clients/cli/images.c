// SPDX-License-Identifier: Apache-2.0
/*
 * images.c - the image sets the commands read (build's calibration images,
 * eval's test images): a directory (its .jpg / .jpeg / .png, sorted by
 * name, not recursive), a list file (one path a line, relative to the
 * list's directory, # comments), one image file, or an MCAP recording
 * (images_mcap.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "replay_mcap.h"

void qp_cli_images_free(struct qp_cli_images *l)
{
    for (int32_t i = 0; i < l->n; i++) {
        if (l->tmpdir)
            (void)unlink(l->paths[i]);
        qp_free(l->paths[i]);
    }
    if (l->tmpdir)
        (void)rmdir(l->tmpdir);
    qp_free(l->tmpdir);
    qp_free(l->paths);
    memset(l, 0, sizeof *l);
}

static enum qp_status images_add(struct qp_cli_images *l, const char *dir, const char *name,
                                 struct qp_err *err)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char  *p = qp_alloc(n);
    void  *q = qp_realloc(l->paths, ((size_t)l->n + 1) * sizeof *l->paths);
    if (!p || !q) {
        qp_free(p);
        if (q)
            l->paths = q;
        return qp_fail(err, QP_E_NOMEM, "out of memory listing images");
    }
    l->paths = q;
    snprintf(p, n, "%s%s%s", dir, *dir ? "/" : "", name);
    l->paths[l->n++] = p;
    return QP_OK;
}

enum qp_status qp_cli_images_add(struct qp_cli_images *l, const char *path, struct qp_err *err)
{
    return images_add(l, "", path, err);
}

int64_t qp_cli_images_pick(int64_t i, int64_t n, int64_t max, bool spread)
{
    return spread ? i * n / max : i;
}

bool qp_cli_is_image_name(const char *name)
{
    const char *base = strrchr(name, '/'), *dot;
    name             = base ? base + 1 : name; /* "../frames/a.jpg" is an image, ".a.jpg" not */
    dot              = strrchr(name, '.');
    return name[0] != '.' && dot &&
           (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum qp_status images_from_dir(const char *dir, struct qp_cli_images *l, struct qp_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return qp_fail(err, QP_E_IO, "%s: %s", dir, strerror(errno));
    enum qp_status st = QP_OK;
    for (struct dirent *e; st == QP_OK && (e = readdir(d));)
        if (qp_cli_is_image_name(e->d_name))
            st = images_add(l, dir, e->d_name, err);
    closedir(d);
    if (l->n)
        qsort(l->paths, (size_t)l->n, sizeof *l->paths, cmp_path);
    return st;
}

static enum qp_status images_from_list(const char *list, struct qp_cli_images *l,
                                       struct qp_err *err)
{
    FILE *f = fopen(list, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", list, strerror(errno));
    char        dir[4096], line[4096];
    const char *slash = strrchr(list, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - list) : 0, list);
    if (slash == list)
        snprintf(dir, sizeof dir, "/");
    enum qp_status st = QP_OK;
    for (int no = 1; st == QP_OK && fgets(line, sizeof line, f); no++) {
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            st = qp_fail(err, QP_E_FORMAT, "%s:%d: line longer than %zu bytes", list, no, n);
            break;
        }
        char *s = line, *end = line + n;
        while (*s == ' ' || *s == '\t')
            s++;
        while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*s && *s != '#')
            st = images_add(l, *s == '/' || !dir[0] ? "" : dir, s, err);
    }
    (void)fclose(f);
    return st;
}

enum qp_status qp_cli_images_list(const char *what, const char *path, int32_t max, bool spread,
                                  struct qp_cli_images *l, struct qp_err *err)
{
    struct stat sb;
    memset(l, 0, sizeof *l);
    if (stat(path, &sb) != 0)
        return qp_fail(err, QP_E_IO, "%s %s: %s", what, path, strerror(errno));
    bool dir = S_ISDIR(sb.st_mode);
    if (!dir && qp_replay_is_mcap(path)) { /* chosen before extraction: max applies there */
        enum qp_status st = qp_cli_images_mcap(path, max, spread, l, err);
        if (st != QP_OK) {
            qp_cli_images_free(l);
            qp_err_prefix(err, "%s", what);
        }
        return st;
    }
    enum qp_status st = dir                          ? images_from_dir(path, l, err)
                        : qp_cli_is_image_name(path) ? images_add(l, "", path, err)
                                                     : images_from_list(path, l, err);
    if (st == QP_OK && l->n == 0)
        st = qp_fail(err, QP_E_INVAL, "%s %s: %s", what, path,
                     dir ? "no .jpg, .jpeg or .png images in the directory"
                         : "no image paths in the list");
    if (st != QP_OK || max <= 0 || max >= l->n)
        return st;
    /* keep max: the first ones, or spread evenly over the set (a drive's
     * frames change slowly: every k-th frame sees more of the road) */
    for (int32_t i = 0; i < max; i++) {
        int32_t from   = (int32_t)qp_cli_images_pick(i, l->n, max, spread);
        char   *keep   = l->paths[from];
        l->paths[from] = l->paths[i];
        l->paths[i]    = keep;
    }
    for (int32_t i = max; i < l->n; i++)
        qp_free(l->paths[i]);
    l->n = max;
    return QP_OK;
}
