// SPDX-License-Identifier: Apache-2.0
/*
 * replay_source.c - a recorded drive on disk as streams of timed frames
 * (replay_source.h says which layouts and how each is timed).
 */
#define _GNU_SOURCE /* timegm */
#include "replay_source.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "replay_mcap.h"

const char *qp_replay_layout_name(enum qp_replay_layout l)
{
    static const char *const names[] = {
        [QP_REPLAY_LAYOUT_MULTI_CAMERA] = "multi-camera set",
        [QP_REPLAY_LAYOUT_KITTI_RAW]    = "KITTI raw",
        [QP_REPLAY_LAYOUT_FOLDER]       = "image folder",
        [QP_REPLAY_LAYOUT_MCAP]         = "MCAP recording",
    };
    _Static_assert(sizeof names / sizeof names[0] == QP_REPLAY_LAYOUT_COUNT, "layout names");
    return l >= 0 && l < QP_REPLAY_LAYOUT_COUNT ? names[l] : "unknown";
}

/* ===== Names in a directory ===== */

struct names {
    int64_t n;
    char  **v;
};

static void names_free(struct names *l)
{
    for (int64_t i = 0; i < l->n; i++)
        qp_free(l->v[i]);
    qp_free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
                   strcasecmp(dot, ".png") == 0);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The image names (images) or subdirectory names (!images) of dir, sorted. */
static enum qp_status list(const char *dir, bool images, struct names *out, struct qp_err *err)
{
    DIR *d = opendir(dir);
    *out   = (struct names){0, NULL};
    if (!d)
        return qp_fail(err, QP_E_IO, "%s: %s", dir, strerror(errno));
    enum qp_status st = QP_OK;
    for (struct dirent *e; st == QP_OK && (e = readdir(d));) {
        char path[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (images ? !is_image(e->d_name) || is_dir(path) : !is_dir(path))
            continue;
        char **v   = qp_realloc(out->v, (size_t)(out->n + 1) * sizeof *v);
        size_t len = strlen(e->d_name) + 1;
        char  *s   = qp_alloc(len);
        if (v)
            out->v = v;
        if (!v || !s) {
            qp_free(s);
            st = qp_fail(err, QP_E_NOMEM, "%s: out of memory listing it", dir);
            break;
        }
        memcpy(s, e->d_name, len);
        out->v[out->n++] = s;
    }
    closedir(d);
    if (st != QP_OK)
        names_free(out);
    else if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return st;
}

/* ===== Frames ===== */

static enum qp_status add_frame(struct qp_replay_source *s, int32_t stream, int64_t t_ns,
                                const char *dir, const char *name, struct qp_err *err)
{
    size_t                  n = strlen(dir) + strlen(name) + 2;
    char                   *p = qp_alloc(n);
    struct qp_replay_frame *v = qp_realloc(s->frames, (size_t)(s->n_frames + 1) * sizeof *v);
    if (v)
        s->frames = v;
    if (!p || !v) {
        qp_free(p);
        return qp_fail(err, QP_E_NOMEM, "out of memory listing %s", dir);
    }
    snprintf(p, n, "%s/%s", dir, name);
    s->frames[s->n_frames++] = (struct qp_replay_frame){stream, t_ns, p, -1};
    return QP_OK;
}

static enum qp_status add_stream(struct qp_replay_source *s, const char *name, int32_t *idx,
                                 struct qp_err *err)
{
    for (int32_t i = 0; i < s->n_streams; i++)
        if (strcmp(s->names[i], name) == 0) {
            *idx = i;
            return QP_OK;
        }
    if (s->n_streams == QP_REPLAY_MAX_STREAMS)
        return qp_fail(err, QP_E_INVAL, "more than %d streams (at '%s')", QP_REPLAY_MAX_STREAMS,
                       name);
    if (strlen(name) >= QP_REPLAY_NAME_MAX)
        return qp_fail(err, QP_E_INVAL, "stream name '%s' over %d bytes", name,
                       QP_REPLAY_NAME_MAX - 1);
    snprintf(s->names[s->n_streams], QP_REPLAY_NAME_MAX, "%s", name);
    *idx = s->n_streams++;
    return QP_OK;
}

static int cmp_frame(const void *a, const void *b)
{
    const struct qp_replay_frame *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Sort, and make times relative to the first frame. */
static void finish(struct qp_replay_source *s)
{
    qsort(s->frames, (size_t)s->n_frames, sizeof *s->frames, cmp_frame);
    int64_t t0 = s->n_frames ? s->frames[0].t_ns : 0;
    for (int64_t i = 0; i < s->n_frames; i++)
        s->frames[i].t_ns -= t0;
    s->duration_ns = s->n_frames ? s->frames[s->n_frames - 1].t_ns : 0;
}

/* ===== Times ===== */

bool qp_replay_parse_time(const char *line, int64_t *ns)
{
    while (isspace((unsigned char)*line))
        line++;
    int    Y, M, D, h, m, n = 0;
    double sec;
    /* NOLINTNEXTLINE(cert-err34-c): every field is range-checked below */
    if (sscanf(line, "%d-%d-%d %d:%d:%lf%n", &Y, &M, &D, &h, &m, &sec, &n) == 6 && n > 0) {
        struct tm tm = {
            .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m};
        if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec < 0 || sec >= 61)
            return false;
        /* the fraction from its digits, so nanoseconds survive (a double would round) */
        const char *dot  = strchr(line, '.');
        int64_t     frac = 0;
        int         k    = 0;
        for (const char *p = dot && dot < line + n ? dot + 1 : ""; isdigit((unsigned char)*p); p++)
            if (k++ < 9)
                frac = frac * 10 + (*p - '0');
        for (; k < 9; k++)
            frac *= 10;
        *ns = ((int64_t)timegm(&tm) + (int64_t)sec) * 1000000000LL + frac;
    } else {
        char  *end;
        double s = strtod(line, &end);
        if (end == line || s < 0 || s > 1e10)
            return false;
        n   = (int)(end - line);
        *ns = (int64_t)(s * 1e9 + 0.5);
    }
    for (line += n; *line; line++)
        if (!isspace((unsigned char)*line))
            return false;
    return true;
}

/* The times of file path into times[0, n): exactly n lines (blank ones
 * and # comments skipped). */
static enum qp_status read_times(const char *path, int64_t *times, int64_t n, struct qp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    char           line[256];
    int64_t        k  = 0;
    enum qp_status st = QP_OK;
    for (int ln = 1; st == QP_OK && fgets(line, sizeof line, f); ln++) {
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        if (k == n)
            st = qp_fail(err, QP_E_INVAL, "%s:%d: more times than the %lld images", path, ln,
                         (long long)n);
        else if (!qp_replay_parse_time(p, &times[k++]))
            st = qp_fail(err, QP_E_INVAL,
                         "%s:%d: not a time (seconds, or YYYY-MM-DD HH:MM:SS.fffffffff)", path, ln);
    }
    (void)fclose(f);
    if (st == QP_OK && k != n)
        st = qp_fail(err, QP_E_INVAL, "%s: %lld times for %lld images", path, (long long)k,
                     (long long)n);
    return st;
}

/* ===== Layouts ===== */

/* "<scene>__<CAMERA>__<digits>.<ext>": its parts (pointers into a copy). */
static bool multi_name(char *name, char **scene, char **camera, int64_t *us)
{
    char *a = strstr(name, "__");
    char *b = a ? strstr(a + 2, "__") : NULL;
    char *d = b ? strrchr(b + 2, '.') : NULL;
    if (!d || a == name || b == a + 2 || d == b + 2)
        return false;
    for (char *p = b + 2; p < d; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    *a      = '\0';
    *b      = '\0';
    *d      = '\0';
    *scene  = name;
    *camera = a + 2;
    *us     = strtoll(b + 2, NULL, 10);
    return true;
}

static enum qp_status open_multi(const char *dir, const struct names *img,
                                 const struct qp_replay_source_opts *o, struct qp_replay_source *s,
                                 bool *found, struct qp_err *err)
{
    char    best[QP_REPLAY_NAME_MAX * 2] = "", cur[QP_REPLAY_NAME_MAX * 2] = "";
    int64_t best_n = 0, cur_n = 0, matched = 0;
    /* the scene: opts.scene, else the one with the most frames (names are sorted, so a
     * scene's files are together) */
    for (int64_t i = 0; i <= img->n; i++) {
        char    copy[1024], *scene = NULL, *cam;
        int64_t us;
        bool ok = i < img->n && snprintf(copy, sizeof copy, "%s", img->v[i]) < (int)sizeof copy &&
                  multi_name(copy, &scene, &cam, &us) && strlen(scene) < sizeof cur;
        matched += ok;
        if (i == img->n || !ok || strcmp(scene, cur) != 0) {
            if (cur_n > best_n) {
                best_n = cur_n;
                memcpy(best, cur, sizeof best);
            }
            cur_n = 0;
            snprintf(cur, sizeof cur, "%s", ok ? scene : "");
        }
        cur_n += ok;
    }
    *found = matched > 0;
    if (!*found)
        return QP_OK;
    const char *want = o->scene ? o->scene : best;
    snprintf(s->scene, sizeof s->scene, "%s", want);
    for (int64_t i = 0; i < img->n; i++) {
        char    copy[1024], *scene, *cam, lower[QP_REPLAY_NAME_MAX];
        int64_t us;
        int32_t idx;
        if (snprintf(copy, sizeof copy, "%s", img->v[i]) >= (int)sizeof copy ||
            !multi_name(copy, &scene, &cam, &us))
            continue;
        if (strcmp(scene, want) != 0) {
            s->n_skipped++;
            continue;
        }
        size_t k = 0;
        for (; cam[k] && k + 1 < sizeof lower; k++)
            lower[k] = (char)tolower((unsigned char)cam[k]);
        lower[k]          = '\0';
        enum qp_status st = add_stream(s, lower, &idx, err);
        if (st == QP_OK)
            st = add_frame(s, idx, us * 1000, dir, img->v[i], err);
        if (st != QP_OK)
            return st;
    }
    if (s->n_frames == 0)
        return qp_fail(err, QP_E_INVAL, "%s: no frames of scene '%s' (--scene)", dir, want);
    s->layout = QP_REPLAY_LAYOUT_MULTI_CAMERA;
    return QP_OK;
}

static enum qp_status open_kitti(const char *dir, struct qp_replay_source *s, bool *found,
                                 struct qp_err *err)
{
    struct names   sub;
    enum qp_status st = list(dir, false, &sub, err);
    *found            = false;
    for (int64_t i = 0; st == QP_OK && i < sub.n; i++) {
        char         data[4096], ts[4096];
        struct names img;
        if (strncmp(sub.v[i], "image_", 6) != 0)
            continue;
        snprintf(data, sizeof data, "%s/%s/data", dir, sub.v[i]);
        snprintf(ts, sizeof ts, "%s/%s/timestamps.txt", dir, sub.v[i]);
        if (!is_dir(data) || access(ts, R_OK) != 0)
            continue;
        *found = true;
        if ((st = list(data, true, &img, err)) != QP_OK)
            break;
        int64_t *t   = qp_alloc((size_t)(img.n ? img.n : 1) * sizeof *t);
        int32_t  idx = 0;
        st           = t ? read_times(ts, t, img.n, err)
                         : qp_fail(err, QP_E_NOMEM, "%s: %lld times", ts, (long long)img.n);
        if (st == QP_OK)
            st = add_stream(s, sub.v[i], &idx, err);
        for (int64_t k = 0; st == QP_OK && k < img.n; k++)
            st = add_frame(s, idx, t[k], data, img.v[k], err);
        qp_free(t);
        names_free(&img);
    }
    names_free(&sub);
    if (st == QP_OK && *found)
        s->layout = QP_REPLAY_LAYOUT_KITTI_RAW;
    return st;
}

static enum qp_status open_folder(const char *dir, const struct names *img,
                                  const struct qp_replay_source_opts *o, struct qp_replay_source *s,
                                  struct qp_err *err)
{
    int32_t        idx;
    int64_t       *t = qp_alloc((size_t)(img->n ? img->n : 1) * sizeof *t);
    enum qp_status st =
        t ? QP_OK : qp_fail(err, QP_E_NOMEM, "%s: %lld times", dir, (long long)img->n);
    if (st == QP_OK && o->timestamps)
        st = read_times(o->timestamps, t, img->n, err);
    else if (st == QP_OK && !(o->fps > 0 && o->fps <= 100000))
        st = qp_fail(err, QP_E_INVAL, "--fps %g: want (0, 100000]", o->fps);
    for (int64_t k = 0; st == QP_OK && !o->timestamps && k < img->n; k++)
        t[k] = (int64_t)((double)k * 1e9 / o->fps + 0.5);
    if (st == QP_OK)
        st = add_stream(s, o->stream ? o->stream : "cam0", &idx, err);
    for (int64_t k = 0; st == QP_OK && k < img->n; k++)
        st = add_frame(s, idx, t[k], dir, img->v[k], err);
    qp_free(t);
    if (st == QP_OK)
        s->layout = QP_REPLAY_LAYOUT_FOLDER;
    return st;
}

enum qp_status qp_replay_source_open(const char *dir, const struct qp_replay_source_opts *o,
                                     struct qp_replay_source *out, struct qp_err *err)
{
    struct names   img;
    bool           found = false;
    enum qp_status st;
    memset(out, 0, sizeof *out);
    if (!is_dir(dir) && access(dir, R_OK) == 0 && qp_replay_is_mcap(dir))
        return qp_replay_mcap_open(dir, o, out, err);
    if (!is_dir(dir))
        return qp_fail(err, QP_E_IO, "%s: not a directory (nor an MCAP file)", dir);
    st = list(dir, true, &img, err);
    if (st == QP_OK)
        st = open_multi(dir, &img, o, out, &found, err);
    if (st == QP_OK && !found)
        st = open_kitti(dir, out, &found, err);
    if (st == QP_OK && !found && img.n == 0) { /* a drive kept in frames/ */
        char frames[4096];
        snprintf(frames, sizeof frames, "%s/frames", dir);
        names_free(&img);
        if (is_dir(frames)) {
            st = list(frames, true, &img, err);
            if (st == QP_OK && img.n > 0) {
                st    = open_folder(frames, &img, o, out, err);
                found = true;
            }
        }
    } else if (st == QP_OK && !found) {
        st    = open_folder(dir, &img, o, out, err);
        found = true;
    }
    names_free(&img);
    if (st == QP_OK && (!found || out->n_frames == 0))
        st = qp_fail(err, QP_E_INVAL,
                     "%s: no drive found: want images named <scene>__<CAMERA>__<us>.jpg, "
                     "image_0N/data + image_0N/timestamps.txt (KITTI raw), or a folder of "
                     ".jpg/.png images (or frames/)",
                     dir);
    if (st != QP_OK)
        qp_replay_source_free(out);
    else
        finish(out);
    return st;
}

void qp_replay_source_free(struct qp_replay_source *s)
{
    qp_replay_mcap_free(s->mcap);
    for (int64_t i = 0; i < s->n_frames; i++)
        qp_free(s->frames[i].path);
    qp_free(s->frames);
    memset(s, 0, sizeof *s);
}

void qp_replay_source_span(const struct qp_replay_source *s, double start_s, double end_s,
                           int64_t *lo, int64_t *hi)
{
    int64_t t0 = (int64_t)(start_s * 1e9), t1 = end_s < 0 ? INT64_MAX : (int64_t)(end_s * 1e9);
    for (*lo = 0; *lo < s->n_frames && s->frames[*lo].t_ns < t0; (*lo)++)
        ;
    for (*hi = *lo; *hi < s->n_frames && s->frames[*hi].t_ns <= t1; (*hi)++)
        ;
}
