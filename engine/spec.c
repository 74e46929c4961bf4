// SPDX-License-Identifier: Apache-2.0
/*
 * spec.c - model specs: one table of keys -> value parsers, and the INI
 * reader for the models manifest and sidecar files.
 *
 * A spec says how to feed a detector and read its head (input size, colour
 * order, letterbox or plain resize, pad, mean / std, head, strides, reg_max,
 * classes, labels) plus where the model comes from (sha256, url). The same
 * keys appear in three places, all parsed by qp_model_spec_set:
 *   - the manifest (models/zoo.ini): one "[model.NAME]" section per model;
 *   - a sidecar "MODEL.onnx.ini" next to a model: bare "key = value" lines;
 *   - command-line flags (the CLI calls qp_model_spec_set directly).
 * INI syntax: "key = value" lines, whole-line comments starting with ';' or
 * '#', blank lines ignored, no inline comments (URLs may contain '#').
 * Unknown keys, unknown sections and bad values are QP_E_INVAL naming the
 * key, the file and the line: a typo must not silently change
 * pre-processing. Labels files hold one class name per line.
 */
#define _POSIX_C_SOURCE 200809L /* readlink */
#include "qpercept/detect.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "post/post.h"

#define LINE_MAX_CHARS 1024
#define MAX_STRIDE 1024

/* ===== Value parsers ===== */

typedef enum qp_status (*key_fn)(struct qp_model_spec *s, const char *key, const char *v,
                                 const char *base_dir, struct qp_err *err);

/* Whole-string integer in [lo, hi]. */
static enum qp_status parse_int(const char *key, const char *v, long lo, long hi, int32_t *out,
                                struct qp_err *err)
{
    char *end;
    errno  = 0;
    long x = strtol(v, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == v || *end || errno)
        return qp_fail(err, QP_E_INVAL, "%s: '%s' is not an integer", key, v);
    if (x < lo || x > hi)
        return qp_fail(err, QP_E_INVAL, "%s: %ld is outside [%ld, %ld]", key, x, lo, hi);
    *out = (int32_t)x;
    return QP_OK;
}

/* 1..max numbers separated by commas and/or spaces; each in [lo, hi]. */
static enum qp_status parse_list(const char *key, const char *v, double lo, double hi, double *out,
                                 int32_t max, int32_t *n, struct qp_err *err)
{
    const char *p = v;
    *n            = 0;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',')
            p++;
        if (!*p)
            break;
        if (*n == max)
            return qp_fail(err, QP_E_INVAL, "%s: more than %d values in '%s'", key, max, v);
        char *end;
        errno    = 0;
        double x = strtod(p, &end);
        if (end == p || errno || !isfinite(x) ||
            !(isspace((unsigned char)*end) || *end == ',' || !*end))
            return qp_fail(err, QP_E_INVAL, "%s: '%s' is not a list of numbers", key, v);
        if (x < lo || x > hi)
            return qp_fail(err, QP_E_INVAL, "%s: %g is outside [%g, %g]", key, x, lo, hi);
        out[(*n)++] = x;
        p           = end;
    }
    if (*n == 0)
        return qp_fail(err, QP_E_INVAL, "%s: no value", key);
    return QP_OK;
}

/* One value, or three (one per channel); a single value fills all three. */
static enum qp_status parse_channels(const char *key, const char *v, double lo, double hi,
                                     float out[3], struct qp_err *err)
{
    double         x[3];
    int32_t        n;
    enum qp_status st = parse_list(key, v, lo, hi, x, 3, &n, err);
    if (st != QP_OK)
        return st;
    if (n == 2)
        return qp_fail(err, QP_E_INVAL, "%s: want 1 or 3 values, got 2", key);
    for (int c = 0; c < 3; c++)
        out[c] = (float)x[n == 1 ? 0 : c];
    return QP_OK;
}

/* Index of v in names[0, n) or -1. */
static int lookup(const char *const *names, int n, const char *v)
{
    for (int i = 0; i < n; i++) {
        if (names[i] && strcmp(names[i], v) == 0)
            return i;
    }
    return -1;
}

static enum qp_status copy_string(const char *key, const char *v, char *dst, size_t cap,
                                  struct qp_err *err)
{
    size_t n = strlen(v);
    if (n >= cap)
        return qp_fail(err, QP_E_INVAL, "%s: %zu characters, limit %zu", key, n, cap - 1);
    memcpy(dst, v, n + 1);
    return QP_OK;
}

static enum qp_status set_input(struct qp_model_spec *s, const char *key, const char *v,
                                const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    /* "WxH" (416x416) or one number for a square input. */
    char *end;
    errno  = 0;
    long w = strtol(v, &end, 10), h = w;
    if (end != v && (*end == 'x' || *end == 'X')) {
        const char *p = end + 1;
        h             = strtol(p, &end, 10);
        if (end == p)
            end = (char *)v;
    }
    if (end == v || *end || errno)
        return qp_fail(err, QP_E_INVAL, "%s: '%s' is not WIDTHxHEIGHT", key, v);
    if (w < 1 || h < 1 || w > 16384 || h > 16384)
        return qp_fail(err, QP_E_INVAL, "%s: %ldx%ld is outside 1..16384", key, w, h);
    s->input_w = (int32_t)w;
    s->input_h = (int32_t)h;
    return QP_OK;
}

static enum qp_status set_color(struct qp_model_spec *s, const char *key, const char *v,
                                const char *base_dir, struct qp_err *err)
{
    static const char *const names[] = {"rgb", "bgr"}; /* index = bgr */
    (void)base_dir;
    int i = lookup(names, 2, v);
    if (i < 0)
        return qp_fail(err, QP_E_INVAL, "%s: '%s' is not rgb or bgr", key, v);
    s->bgr = i == 1;
    return QP_OK;
}

static enum qp_status set_resize(struct qp_model_spec *s, const char *key, const char *v,
                                 const char *base_dir, struct qp_err *err)
{
    static const char *const names[] = {"plain", "letterbox"}; /* index = letterbox */
    (void)base_dir;
    int i = lookup(names, 2, v);
    if (i < 0)
        return qp_fail(err, QP_E_INVAL, "%s: '%s' is not plain or letterbox", key, v);
    s->letterbox = i == 1;
    return QP_OK;
}

static enum qp_status set_pad(struct qp_model_spec *s, const char *key, const char *v,
                              const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    double         x;
    int32_t        n;
    enum qp_status st = parse_list(key, v, 0, 255, &x, 1, &n, err);
    if (st == QP_OK)
        s->pad_value = (float)x;
    return st;
}

static enum qp_status set_mean(struct qp_model_spec *s, const char *key, const char *v,
                               const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    return parse_channels(key, v, -1e6, 1e6, s->mean, err);
}

static enum qp_status set_std(struct qp_model_spec *s, const char *key, const char *v,
                              const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    float          std[3];
    enum qp_status st = parse_channels(key, v, 0, 1e6, std, err);
    if (st != QP_OK)
        return st;
    for (int c = 0; c < 3; c++) {
        if (!(std[c] > 0))
            return qp_fail(err, QP_E_INVAL, "%s: %g: a std must be > 0", key, (double)std[c]);
    }
    memcpy(s->std, std, sizeof std);
    return QP_OK;
}

static enum qp_status set_head(struct qp_model_spec *s, const char *key, const char *v,
                               const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    for (int h = 0; h < QP_HEAD_COUNT; h++) {
        if (strcmp(qp_head_name((enum qp_head)h), v) == 0) {
            s->head = (enum qp_head)h;
            return QP_OK;
        }
    }
    return qp_fail(err, QP_E_INVAL, "%s: '%s' is not none, yolox or gfl", key, v);
}

static enum qp_status set_strides(struct qp_model_spec *s, const char *key, const char *v,
                                  const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    double         x[QP_MAX_STRIDES];
    int32_t        n;
    enum qp_status st = parse_list(key, v, 1, MAX_STRIDE, x, QP_MAX_STRIDES, &n, err);
    if (st != QP_OK)
        return st;
    for (int32_t i = 0; i < n; i++) {
        if (x[i] != floor(x[i]) || (i > 0 && x[i] <= x[i - 1]))
            return qp_fail(err, QP_E_INVAL, "%s: '%s': want ascending integers", key, v);
    }
    for (int32_t i = 0; i < n; i++)
        s->strides[i] = (int32_t)x[i];
    s->n_strides = n;
    return QP_OK;
}

static enum qp_status set_reg_max(struct qp_model_spec *s, const char *key, const char *v,
                                  const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    return parse_int(key, v, 1, 64, &s->reg_max, err);
}

static enum qp_status set_classes(struct qp_model_spec *s, const char *key, const char *v,
                                  const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    int32_t        n;
    enum qp_status st = parse_int(key, v, 1, QP_MAX_CLASSES, &n, err);
    if (st != QP_OK)
        return st;
    if (s->labels && n != s->n_classes)
        return qp_fail(err, QP_E_INVAL, "%s: %d, but the labels file has %d names", key, n,
                       s->n_classes);
    s->n_classes = n;
    return QP_OK;
}

static enum qp_status set_sha256(struct qp_model_spec *s, const char *key, const char *v,
                                 const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    size_t n = strlen(v);
    if (n != 64 || strspn(v, "0123456789abcdefABCDEF") != 64)
        return qp_fail(err, QP_E_INVAL, "%s: want 64 hex digits, got '%s'", key, v);
    for (size_t i = 0; i < 64; i++)
        s->sha256[i] = (char)tolower((unsigned char)v[i]);
    s->sha256[64] = '\0';
    return QP_OK;
}

static enum qp_status set_url(struct qp_model_spec *s, const char *key, const char *v,
                              const char *base_dir, struct qp_err *err)
{
    (void)base_dir;
    return copy_string(key, v, s->url, sizeof s->url, err);
}

/* ===== Labels ===== */

/* Trim leading and trailing white space in place; returns the start. */
static char *trim(char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    return p;
}

/* Read one name per non-empty line into a table of at most QP_MAX_CLASSES. */
static enum qp_status read_labels(const char *path, char (*names)[QP_LABEL_LEN], int32_t *n,
                                  struct qp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));
    enum qp_status st = QP_OK;
    char           line[LINE_MAX_CHARS];
    int            line_no = 0;
    *n                     = 0;
    while (st == QP_OK && fgets(line, sizeof line, f)) {
        line_no++;
        char  *name = trim(line);
        size_t len  = strlen(name);
        if (len == 0)
            continue;
        if (len >= QP_LABEL_LEN)
            st = qp_fail(err, QP_E_INVAL, "%s:%d: label longer than %d characters", path, line_no,
                         QP_LABEL_LEN - 1);
        else if (*n == QP_MAX_CLASSES)
            st = qp_fail(err, QP_E_INVAL, "%s: more than %d labels", path, QP_MAX_CLASSES);
        else
            memcpy(names[(*n)++], name, len + 1);
    }
    if (st == QP_OK && ferror(f))
        st = qp_fail(err, QP_E_IO, "read %s: %s", path, strerror(errno));
    if (st == QP_OK && *n == 0)
        st = qp_fail(err, QP_E_INVAL, "%s: no labels", path);
    (void)fclose(f);
    return st;
}

static enum qp_status set_labels(struct qp_model_spec *s, const char *key, const char *v,
                                 const char *base_dir, struct qp_err *err)
{
    char path[4096];
    int  k = v[0] == '/' || !base_dir || !*base_dir
                 ? snprintf(path, sizeof path, "%s", v)
                 : snprintf(path, sizeof path, "%s/%s", base_dir, v);
    if (k < 0 || (size_t)k >= sizeof path)
        return qp_fail(err, QP_E_INVAL, "%s: path too long", key);

    char(*all)[QP_LABEL_LEN] = qp_calloc(QP_MAX_CLASSES, sizeof *all);
    if (!all)
        return qp_fail(err, QP_E_NOMEM, "%s: label table", key);
    int32_t        n;
    enum qp_status st = read_labels(path, all, &n, err);
    if (st != QP_OK)
        qp_err_prefix(err, "%s", key);
    if (st == QP_OK && s->n_classes > 0 && n != s->n_classes)
        st = qp_fail(err, QP_E_INVAL, "%s: %s has %d names, classes = %d", key, path, n,
                     s->n_classes);
    char(*names)[QP_LABEL_LEN] = NULL;
    if (st == QP_OK && !(names = qp_calloc((size_t)n, sizeof *names)))
        st = qp_fail(err, QP_E_NOMEM, "%s: %d labels", key, n);
    if (st == QP_OK) {
        memcpy(names, all, (size_t)n * sizeof *names);
        qp_free(s->labels);
        s->labels    = names;
        s->n_classes = n;
    }
    qp_free(all);
    return st;
}

/* ===== The key table ===== */

enum spec_key {
    KEY_INPUT,
    KEY_COLOR,
    KEY_RESIZE,
    KEY_PAD,
    KEY_MEAN,
    KEY_STD,
    KEY_HEAD,
    KEY_STRIDES,
    KEY_REG_MAX,
    KEY_CLASSES,
    KEY_LABELS,
    KEY_SHA256,
    KEY_URL,
    KEY_COUNT
};

static const struct {
    const char *name;
    key_fn      parse;
} keys[] = {
    [KEY_INPUT]   = {"input", set_input},     /* WxH model input, e.g. 416x416 */
    [KEY_COLOR]   = {"color", set_color},     /* rgb | bgr */
    [KEY_RESIZE]  = {"resize", set_resize},   /* plain | letterbox */
    [KEY_PAD]     = {"pad", set_pad},         /* letterbox fill, 0..255 */
    [KEY_MEAN]    = {"mean", set_mean},       /* 1 or 3 values, pixel units */
    [KEY_STD]     = {"std", set_std},         /* 1 or 3 values > 0 */
    [KEY_HEAD]    = {"head", set_head},       /* none | yolox | gfl */
    [KEY_STRIDES] = {"strides", set_strides}, /* ascending, e.g. 8,16,32 */
    [KEY_REG_MAX] = {"reg_max", set_reg_max}, /* GFL bins - 1 */
    [KEY_CLASSES] = {"classes", set_classes},
    [KEY_LABELS]  = {"labels", set_labels}, /* names file, relative to the spec file */
    [KEY_SHA256]  = {"sha256", set_sha256},
    [KEY_URL]     = {"url", set_url},
};
_Static_assert(sizeof keys / sizeof keys[0] == KEY_COUNT, "one row per key");

void qp_model_spec_init(struct qp_model_spec *s)
{
    memset(s, 0, sizeof *s);
    s->head = QP_HEAD_NONE;
    for (int c = 0; c < 3; c++)
        s->std[c] = 1.0f;
}

void qp_model_spec_fini(struct qp_model_spec *s)
{
    if (!s)
        return;
    qp_free(s->labels);
    qp_model_spec_init(s);
}

enum qp_status qp_model_spec_set(struct qp_model_spec *s, const char *key, const char *value,
                                 const char *base_dir, struct qp_err *err)
{
    for (int k = 0; k < KEY_COUNT; k++) {
        if (strcmp(keys[k].name, key) == 0)
            return keys[k].parse(s, key, value, base_dir, err);
    }
    return qp_fail(err, QP_E_INVAL, "unknown key '%s'", key);
}

/* ===== INI reader ===== */

/* Called with key == NULL at each "[section]", then once per key. */
typedef enum qp_status (*ini_fn)(void *ctx, const char *section, const char *key, const char *value,
                                 struct qp_err *err);

/* One line: section header, key = value, comment or blank. */
static enum qp_status ini_line(char *line, char *section, size_t cap, ini_fn fn, void *ctx,
                               struct qp_err *err)
{
    char *p = trim(line);
    if (!*p || *p == ';' || *p == '#')
        return QP_OK;
    if (*p == '[') {
        char *close = strchr(p, ']');
        if (!close || close[1] || close == p + 1 || (size_t)(close - p - 1) >= cap)
            return qp_fail(err, QP_E_INVAL, "malformed section header '%s'", p);
        *close = '\0';
        memcpy(section, p + 1, (size_t)(close - p));
        return fn(ctx, section, NULL, NULL, err);
    }
    char *eq = strchr(p, '=');
    if (!eq)
        return qp_fail(err, QP_E_INVAL, "'%s' is not key = value", p);
    *eq         = '\0';
    char *key   = trim(p);
    char *value = trim(eq + 1);
    if (!*key || !*value)
        return qp_fail(err, QP_E_INVAL, "'%s' needs a key and a value", *key ? key : "=");
    return fn(ctx, section, key, value, err);
}

static enum qp_status ini_parse(const char *path, ini_fn fn, void *ctx, struct qp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));
    enum qp_status st = QP_OK;
    char           line[LINE_MAX_CHARS], section[128] = "";
    for (int line_no = 1; st == QP_OK && fgets(line, sizeof line, f); line_no++) {
        if (!strchr(line, '\n') && !feof(f))
            st = qp_fail(err, QP_E_INVAL, "line longer than %d characters", LINE_MAX_CHARS - 2);
        else
            st = ini_line(line, section, sizeof section, fn, ctx, err);
        if (st != QP_OK)
            qp_err_prefix(err, "%s:%d", path, line_no);
    }
    if (st == QP_OK && ferror(f))
        st = qp_fail(err, QP_E_IO, "read %s: %s", path, strerror(errno));
    (void)fclose(f);
    return st;
}

/* ===== Finding the spec of a model ===== */

/* Directory part of path into buf ("." when none). */
static const char *dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else
        snprintf(buf, n, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    return buf;
}

/* File name of path without its last extension into buf. */
static const char *stem_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    const char *base  = slash ? slash + 1 : path;
    const char *dot   = strrchr(base, '.');
    size_t      len   = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(buf, n, "%.*s", (int)len, base);
    return buf;
}

struct sidecar {
    struct qp_model_spec *spec;
    const char           *base_dir;
};

static enum qp_status sidecar_key(void *ctx, const char *section, const char *key,
                                  const char *value, struct qp_err *err)
{
    struct sidecar *sc = ctx;
    if (!key)
        return qp_fail(err, QP_E_INVAL, "[%s]: a sidecar file has no sections", section);
    return qp_model_spec_set(sc->spec, key, value, sc->base_dir, err);
}

struct manifest {
    const char          *base_dir;
    const char          *model_sha;  /* hex of the model file */
    const char          *model_stem; /* its name without extension */
    bool                 in_section; /* cur holds a [model.NAME] being parsed */
    struct qp_model_spec cur;
    struct qp_model_spec by_sha, by_name;
    bool                 have_sha, have_name;
};

/* The section in cur is complete: keep it if it matches the model. */
static void manifest_close(struct manifest *m)
{
    if (!m->in_section)
        return;
    m->in_section = false;
    if (!m->have_sha && strcmp(m->cur.sha256, m->model_sha) == 0) {
        m->by_sha   = m->cur;
        m->have_sha = true;
    } else if (!m->have_name && strcmp(m->cur.name, m->model_stem) == 0) {
        m->by_name   = m->cur;
        m->have_name = true;
    } else {
        qp_model_spec_fini(&m->cur);
    }
    qp_model_spec_init(&m->cur);
}

static enum qp_status manifest_key(void *ctx, const char *section, const char *key,
                                   const char *value, struct qp_err *err)
{
    static const char prefix[] = "model.";
    struct manifest  *m        = ctx;
    if (key) {
        if (!m->in_section)
            return qp_fail(err, QP_E_INVAL, "'%s' outside a [model.NAME] section", key);
        return qp_model_spec_set(&m->cur, key, value, m->base_dir, err);
    }
    manifest_close(m);
    if (strncmp(section, prefix, sizeof prefix - 1) != 0 || !section[sizeof prefix - 1])
        return qp_fail(err, QP_E_INVAL, "unknown section [%s]; want [model.NAME]", section);
    m->in_section     = true;
    enum qp_status st = copy_string("section name", section + sizeof prefix - 1, m->cur.name,
                                    sizeof m->cur.name, err);
    return st;
}

static enum qp_status find_in_manifest(const char *model_path, const char *manifest_path,
                                       struct qp_model_spec *out, struct qp_err *err)
{
    char            hex[65], stem[64], dir[4096];
    struct manifest m  = {.base_dir   = dir_of(manifest_path, dir, sizeof dir),
                          .model_sha  = hex,
                          .model_stem = stem_of(model_path, stem, sizeof stem)};
    enum qp_status  st = qp_sha256_file(model_path, hex, err);
    if (st != QP_OK)
        return st;
    qp_model_spec_init(&m.cur);
    qp_model_spec_init(&m.by_sha);
    qp_model_spec_init(&m.by_name);
    st = ini_parse(manifest_path, manifest_key, &m, err);
    manifest_close(&m);
    if (st == QP_OK && m.have_sha) {
        *out = m.by_sha;
        qp_model_spec_init(&m.by_sha);
    } else if (st == QP_OK && m.have_name) {
        if (m.by_name.sha256[0])
            qp_log(QP_LOG_WARN, "spec", "%s: name matches [model.%s] but sha256 %s != %s",
                   model_path, m.by_name.name, hex, m.by_name.sha256);
        *out = m.by_name;
        qp_model_spec_init(&m.by_name);
    } else if (st == QP_OK) {
        st = qp_fail(err, QP_E_INVAL, "%s: no entry in %s with sha256 %s or name %s", model_path,
                     manifest_path, hex, stem);
    }
    qp_model_spec_fini(&m.cur);
    qp_model_spec_fini(&m.by_sha);
    qp_model_spec_fini(&m.by_name);
    return st;
}

enum qp_status qp_model_spec_find(const char *model_path, const char *manifest_path,
                                  struct qp_model_spec *out, struct qp_err *err)
{
    char sidecar_path[4096], dir[4096];
    qp_model_spec_init(out);
    int k = snprintf(sidecar_path, sizeof sidecar_path, "%s.ini", model_path);
    if (k < 0 || (size_t)k >= sizeof sidecar_path)
        return qp_fail(err, QP_E_INVAL, "%s: path too long", model_path);

    FILE *f = fopen(sidecar_path, "r");
    if (f) {
        (void)fclose(f);
        struct sidecar sc = {out, dir_of(model_path, dir, sizeof dir)};
        stem_of(model_path, out->name, sizeof out->name);
        enum qp_status st = ini_parse(sidecar_path, sidecar_key, &sc, err);
        if (st != QP_OK)
            qp_model_spec_fini(out);
        return st;
    }
    if (!manifest_path)
        return qp_fail(err, QP_E_INVAL, "%s: no sidecar %s and no manifest", model_path,
                       sidecar_path);
    return find_in_manifest(model_path, manifest_path, out, err);
}

enum qp_status qp_model_spec_write_sidecar(const struct qp_model_spec *s, const char *model_path,
                                           struct qp_err *err)
{
    static const char *const heads[QP_HEAD_COUNT] = {"none", "yolox", "gfl"};
    char                     path[4096], names[4096];
    const char              *base = strrchr(model_path, '/');
    base                          = base ? base + 1 : model_path;
    snprintf(path, sizeof path, "%s.ini", model_path);
    snprintf(names, sizeof names, "%s.names", model_path);
    FILE *f = fopen(path, "w");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "; the model spec of %s, written by qpercept build\n", base);
    fprintf(f, "input   = %dx%d\ncolor   = %s\nresize  = %s\npad     = %g\n", (int)s->input_w,
            (int)s->input_h, s->bgr ? "bgr" : "rgb", s->letterbox ? "letterbox" : "plain",
            (double)s->pad_value);
    fprintf(f, "mean    = %.9g, %.9g, %.9g\nstd     = %.9g, %.9g, %.9g\n", (double)s->mean[0],
            (double)s->mean[1], (double)s->mean[2], (double)s->std[0], (double)s->std[1],
            (double)s->std[2]);
    fprintf(f, "head    = %s\n", (unsigned)s->head < QP_HEAD_COUNT ? heads[s->head] : "none");
    if (s->n_strides) {
        fprintf(f, "strides = ");
        for (int32_t i = 0; i < s->n_strides; i++)
            fprintf(f, "%s%d", i ? ", " : "", (int)s->strides[i]);
        fprintf(f, "\n");
    }
    if (s->head == QP_HEAD_GFL)
        fprintf(f, "reg_max = %d\n", (int)s->reg_max);
    if (s->n_classes)
        fprintf(f, "classes = %d\n", (int)s->n_classes);
    if (s->labels) {
        FILE *l = fopen(names, "w");
        if (!l) {
            (void)fclose(f);
            return qp_fail(err, QP_E_IO, "%s: %s", names, strerror(errno));
        }
        for (int32_t c = 0; c < s->n_classes; c++)
            fprintf(l, "%s\n", s->labels[c]);
        bool        lok = fclose(l) == 0;
        const char *nb  = strrchr(names, '/');
        fprintf(f, "labels  = %s\n", nb ? nb + 1 : names);
        if (!lok) {
            (void)fclose(f);
            return qp_fail(err, QP_E_IO, "%s: write failed", names);
        }
    }
    if (fclose(f) != 0)
        return qp_fail(err, QP_E_IO, "%s: write failed", path);
    return QP_OK;
}

const char *qp_model_manifest(const char *argv0, char *buf, size_t n)
{
    const char *env = getenv("QP_MANIFEST");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return access(buf, R_OK) == 0 ? buf : NULL;
    }
    char    exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0)
        k = (ssize_t)snprintf(exe, sizeof exe, "%s", argv0 ? argv0 : "");
    exe[k < (ssize_t)sizeof exe ? k : (ssize_t)sizeof exe - 1] = '\0';
    char *slash                                                = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(exe, sizeof exe, ".");
    /* build tree (build/qpercept -> models/zoo.ini), then install tree */
    static const char *const rel[] = {"/../models/zoo.ini", "/../share/qpercept/zoo.ini"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int m = snprintf(buf, n, "%s%s", exe, rel[i]);
        if (m > 0 && (size_t)m < n && access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}
