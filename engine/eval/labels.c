// SPDX-License-Identifier: Apache-2.0
/*
 * labels.c - COCO, KITTI and gt2d label files -> ground truth in a
 * qp_metrics builder, classes mapped by name to the model's.
 *
 * The idea: every format reduces to "entry names an image, entry lists
 * (class name, xyxy box, crowd?) objects". The image name is looked up in
 * an index of the evaluation's image list sorted by (stem, base name), so
 * one binary search serves both KITTI's match by stem (000007.txt labels
 * 000007.png) and the others' match by base name; every image of the list
 * with that name receives the boxes. The class name goes through one
 * resolver (normalised name, alias table, model labels). Boxes are checked
 * here, where the file and line are known, before qp_metrics sees them.
 *
 * Invariants: ctx.hits holds the list indices of the entry being read;
 * nothing is added to the builder for an entry before its box is checked.
 * Format detection is qp_labels_load's; each reader trusts its format.
 */
#define _POSIX_C_SOURCE 200809L
#include "eval/labels.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/json.h"

#define MAX_TEXT_BYTES ((size_t)64 << 20) /* a KITTI label file is a few hundred bytes */

static const char *const format_names[] = {
    [QP_LABELS_COCO] = "coco", [QP_LABELS_KITTI] = "kitti", [QP_LABELS_GT2D] = "gt2d"};
_Static_assert(sizeof format_names / sizeof format_names[0] == QP_LABELS_FORMAT_COUNT,
               "every label format needs a name");

const char *qp_labels_format_name(enum qp_labels_format f)
{
    return (unsigned)f < QP_LABELS_FORMAT_COUNT ? format_names[f] : "?";
}

/* ===== Class names ===== */

enum map_kind { MAP_CLASS, MAP_UNMAPPED, MAP_CROWD };

/* Normalised names (see normalize). A MAP_CLASS row is tried after the
 * model's own labels, so "car" stays car and "van" becomes car. */
static const struct {
    const char   *from;
    enum map_kind kind;
    const char   *to;
} aliases[] = {
    /* KITTI label_2 types */
    {"van", MAP_CLASS, "car"},
    {"pedestrian", MAP_CLASS, "person"}, /* nuScenes too */
    {"personsitting", MAP_CLASS, "person"},
    /* KITTI's Cyclist is the rider: the bicycle has no object of its own, so
     * it scores as a person (its box usually takes in the bicycle too). */
    {"cyclist", MAP_CLASS, "person"},
    {"tram", MAP_CLASS, "train"},
    {"misc", MAP_UNMAPPED, NULL},
    {"dontcare", MAP_CROWD, NULL}, /* unlabelled region: ignore what falls in it */
    /* nuScenes detection classes without a COCO twin */
    {"trafficcone", MAP_UNMAPPED, NULL},
    {"barrier", MAP_UNMAPPED, NULL},
    /* COCO's category names against darknet's coco80.names, both ways */
    {"motorcycle", MAP_CLASS, "motorbike"},
    {"motorbike", MAP_CLASS, "motorcycle"},
    {"airplane", MAP_CLASS, "aeroplane"},
    {"aeroplane", MAP_CLASS, "airplane"},
    {"couch", MAP_CLASS, "sofa"},
    {"sofa", MAP_CLASS, "couch"},
    {"tv", MAP_CLASS, "tvmonitor"},
    {"tvmonitor", MAP_CLASS, "tv"},
};

/* Lower case without ' ', '_', '-' into out[QP_LABEL_LEN]; false when it
 * does not fit (then it matches no model label, which always fits). */
static bool normalize(const char *s, char *out)
{
    size_t k = 0;
    for (; *s; s++) {
        char c = *s;
        if (c == ' ' || c == '_' || c == '-')
            continue;
        if (k == QP_LABEL_LEN - 1)
            return false;
        out[k++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[k] = '\0';
    return true;
}

/* Index of the model label whose normalised name is key, or -1. */
static int32_t find_label(const char (*names)[QP_LABEL_LEN], int32_t n, const char *key)
{
    char label[QP_LABEL_LEN];
    for (int32_t i = 0; i < n; i++)
        if (normalize(names[i], label) && strcmp(label, key) == 0)
            return i;
    return -1;
}

int32_t qp_labels_class_id(const char (*names)[QP_LABEL_LEN], int32_t n_classes, const char *name,
                           bool *crowd)
{
    char key[QP_LABEL_LEN];
    *crowd = false;
    if (!normalize(name, key))
        return -1;
    size_t a = 0, n_alias = sizeof aliases / sizeof aliases[0];
    while (a < n_alias && strcmp(aliases[a].from, key) != 0)
        a++;
    if (a < n_alias && aliases[a].kind != MAP_CLASS) {
        *crowd = aliases[a].kind == MAP_CROWD;
        return -1;
    }
    int32_t k = find_label(names, n_classes, key);
    return k >= 0 || a == n_alias ? k : find_label(names, n_classes, aliases[a].to);
}

/* ===== The image list ===== */

struct image_ix {
    const char *base;     /* base name of the path (borrowed) */
    size_t      stem_len; /* up to the last '.' of base, or all of it */
    int32_t     index;    /* in the caller's list */
};

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static size_t stem_len(const char *base)
{
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? (size_t)(dot - base) : strlen(base);
}

static int cmp_stem(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int cmp_ix(const void *pa, const void *pb)
{
    const struct image_ix *a = pa, *b = pb;
    int                    c = cmp_stem(a->base, a->stem_len, b->base, b->stem_len);
    if (!c)
        c = strcmp(a->base, b->base);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

struct ctx {
    const char (*names)[QP_LABEL_LEN]; /* the model's labels */
    int32_t                 n_classes;
    struct image_ix        *ix;
    int32_t                 n_images;
    int32_t                *hits; /* list indices the current entry names */
    int32_t                 n_hits;
    struct qp_metrics      *m;
    bool                   *labelled;
    struct qp_labels_stats *st;
    struct qp_err          *err;
};

/* Images of the list that name (a path or base name) labels; by_stem
 * compares names without extension. Marks them labelled; returns count. */
static int32_t match(struct ctx *c, const char *name, bool by_stem)
{
    const char *base = base_name(name);
    size_t      ns   = stem_len(base);
    int32_t     lo = 0, hi = c->n_images;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (cmp_stem(c->ix[mid].base, c->ix[mid].stem_len, base, ns) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    c->n_hits = 0;
    for (int32_t i = lo; i < c->n_images && !cmp_stem(c->ix[i].base, c->ix[i].stem_len, base, ns);
         i++)
        if (by_stem || strcmp(c->ix[i].base, base) == 0) {
            c->hits[c->n_hits++]        = c->ix[i].index;
            c->labelled[c->ix[i].index] = true;
        }
    if (!c->n_hits)
        c->st->n_unmatched++;
    return c->n_hits;
}

static void count_unmapped(struct qp_labels_stats *st, const char *name)
{
    st->n_unmapped++;
    for (int32_t i = 0; i < st->n_unmapped_names; i++)
        if (strncmp(st->unmapped[i].name, name, QP_LABEL_LEN - 1) == 0) {
            st->unmapped[i].count++;
            return;
        }
    if (st->n_unmapped_names < QP_LABELS_MAX_UNMAPPED_NAMES) {
        snprintf(st->unmapped[st->n_unmapped_names].name, QP_LABEL_LEN, "%s", name);
        st->unmapped[st->n_unmapped_names++].count = 1;
    }
}

/* One checked object of the current entry into the builder, for each image
 * it names. crowd: the file marks it a crowd region (COCO iscrowd). */
static enum qp_status add_object(struct ctx *c, const char *cls, const float xyxy[4], bool crowd)
{
    bool           dontcare;
    int32_t        k  = qp_labels_class_id(c->names, c->n_classes, cls, &dontcare);
    enum qp_status st = QP_OK;
    for (int32_t h = 0; st == QP_OK && h < c->n_hits; h++) {
        int64_t img = c->hits[h];
        if (dontcare) {
            for (int32_t j = 0; st == QP_OK && j < c->n_classes; j++)
                st = qp_metrics_add_truth(c->m, img, j, xyxy, true, c->err);
            c->st->n_crowd++;
        } else if (k < 0) {
            count_unmapped(c->st, cls);
        } else {
            st = qp_metrics_add_truth(c->m, img, k, xyxy, crowd, c->err);
            *(crowd ? &c->st->n_crowd : &c->st->n_boxes) += 1;
        }
    }
    return st;
}

/* ===== KITTI label_2 ===== */

static const char *const kitti_fields[] = {"type", "truncated", "occluded", "alpha", "x1", "y1",
                                           "x2",   "y2",        "h",        "w",     "l",  "x",
                                           "y",    "z",         "ry",       "score"};

/* One line split into fields (text modified in place). */
static enum qp_status kitti_line(struct ctx *c, const char *path, int line, char *s)
{
    char *tok[17];
    int   n = 0;
    for (char *save = NULL, *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
        if (n < 17)
            tok[n++] = t;
        else
            n++;
    if (n == 0)
        return QP_OK; /* blank line */
    if (n != 15 && n != 16)
        return qp_fail(c->err, QP_E_FORMAT,
                       "%s:%d: %d fields; a KITTI label line has 15 (16 with a score)", path, line,
                       n);
    double v[16] = {0};
    for (int i = 1; i < n; i++) {
        char *end;
        errno = 0;
        v[i]  = strtod(tok[i], &end);
        if (*end || errno || !isfinite(v[i]))
            return qp_fail(c->err, QP_E_FORMAT, "%s:%d: field %d (%s) '%.32s' is not a number",
                           path, line, i + 1, kitti_fields[i], tok[i]);
    }
    const float xyxy[4] = {(float)v[4], (float)v[5], (float)v[6], (float)v[7]};
    if (!(xyxy[2] >= xyxy[0] && xyxy[3] >= xyxy[1]))
        return qp_fail(c->err, QP_E_FORMAT,
                       "%s:%d: box x1 %g y1 %g x2 %g y2 %g has x2 < x1 or y2 < y1", path, line,
                       v[4], v[5], v[6], v[7]);
    return add_object(c, tok[0], xyxy, false);
}

static enum qp_status read_text(const char *path, char **out, size_t *n, struct qp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    enum qp_status st   = QP_OK;
    char          *buf  = NULL;
    long           size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = qp_fail(err, QP_E_IO, "%s: cannot find its size", path);
    else if ((size_t)size > MAX_TEXT_BYTES)
        st = qp_fail(err, QP_E_FORMAT, "%s: %ld bytes, more than a label file", path, size);
    else if (!(buf = qp_alloc((size_t)size + 1)))
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory for %ld bytes", path, size);
    else if (fread(buf, 1, (size_t)size, f) != (size_t)size)
        st = qp_fail(err, QP_E_IO, "%s: read error", path);
    (void)fclose(f);
    if (st != QP_OK) {
        qp_free(buf);
        return st;
    }
    buf[size] = '\0';
    *out      = buf;
    *n        = (size_t)size;
    return QP_OK;
}

static enum qp_status load_kitti(struct ctx *c, const char *path)
{
    char          *text = NULL;
    size_t         n    = 0;
    enum qp_status st   = read_text(path, &text, &n, c->err);
    if (st != QP_OK)
        return st;
    c->st->n_files++;
    match(c, path, true);
    char *s = text;
    for (int line = 1; st == QP_OK && s < text + n; line++) {
        char *eol = memchr(s, '\n', (size_t)(text + n - s));
        char *end = eol ? eol : text + n;
        if (memchr(s, '\0', (size_t)(end - s)))
            st = qp_fail(c->err, QP_E_FORMAT, "%s:%d: NUL byte (not a text file?)", path, line);
        else {
            *end = '\0';
            st   = kitti_line(c, path, line, s);
        }
        s = end + 1;
    }
    qp_free(text);
    return st;
}

/* ===== JSON formats ===== */

/* "PATH: line L, column C (byte B): reason" at value v. */
static enum qp_status json_fail(struct ctx *c, const struct qp_json_doc *d, const char *path,
                                const struct qp_json *v, const char *fmt, ...) QP_PRINTF(5, 6);
static enum qp_status json_fail(struct ctx *c, const struct qp_json_doc *d, const char *path,
                                const struct qp_json *v, const char *fmt, ...)
{
    char    why[256];
    int64_t line, col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    qp_json_where(d, v->offset, &line, &col);
    return qp_fail(c->err, QP_E_FORMAT, "%s: line %lld, column %lld (byte %zu): %s", path,
                   (long long)line, (long long)col, v->offset, why);
}

static bool is_type(const struct qp_json *v, enum qp_json_type t)
{
    return v && v->type == t;
}

/* An integral number within +-2^53 (a COCO id). */
static bool as_id(const struct qp_json *v, int64_t *out)
{
    if (!is_type(v, QP_JSON_NUMBER) || v->v.num != floor(v->v.num) ||
        fabs(v->v.num) > 9007199254740992.0)
        return false;
    *out = (int64_t)v->v.num;
    return true;
}

/* bbox: 4 finite numbers, xyxy (gt2d) or xywh (COCO) with a non-negative
 * size. Error text in why. */
static bool as_box(const struct qp_json *v, bool xywh, float xyxy[4], const char **why)
{
    double b[4];
    *why = xywh ? "expected [x, y, w, h]: 4 numbers" : "expected [x1, y1, x2, y2]: 4 numbers";
    if (!is_type(v, QP_JSON_ARRAY) || v->n != 4)
        return false;
    for (int i = 0; i < 4; i++) {
        if (!is_type(&v->v.items[i], QP_JSON_NUMBER))
            return false;
        b[i] = v->v.items[i].v.num;
    }
    if (xywh) {
        *why = "w and h must not be negative";
        if (b[2] < 0 || b[3] < 0)
            return false;
        b[2] += b[0];
        b[3] += b[1];
    }
    for (int i = 0; i < 4; i++)
        xyxy[i] = (float)b[i];
    *why = "box x2 < x1 or y2 < y1, or not finite";
    for (int i = 0; i < 4; i++)
        if (!isfinite(xyxy[i]))
            return false;
    return xyxy[2] >= xyxy[0] && xyxy[3] >= xyxy[1];
}

static enum qp_status load_gt2d(struct ctx *c, const struct qp_json_doc *d, const char *path)
{
    const struct qp_json *root = qp_json_root(d);
    const struct qp_json *img  = qp_json_get(root, "image");
    const struct qp_json *objs = qp_json_get(root, "objects");
    if (!is_type(img, QP_JSON_STRING))
        return json_fail(c, d, path, img ? img : root, "\"image\": expected the image's file name");
    if (!is_type(objs, QP_JSON_ARRAY))
        return json_fail(c, d, path, objs ? objs : root, "\"objects\": expected an array");
    c->st->n_files++;
    match(c, img->v.str, false);
    for (uint32_t i = 0; i < objs->n; i++) {
        const struct qp_json *o   = &objs->v.items[i];
        const struct qp_json *cls = qp_json_get(o, "class");
        const char           *why;
        float                 xyxy[4];
        if (!is_type(cls, QP_JSON_STRING))
            return json_fail(c, d, path, cls ? cls : o, "objects[%u].class: expected a string", i);
        const struct qp_json *box = qp_json_get(o, "bbox");
        if (!as_box(box, false, xyxy, &why))
            return json_fail(c, d, path, box ? box : o, "objects[%u].bbox: %s", i, why);
        enum qp_status st = add_object(c, cls->v.str, xyxy, false);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}

/* ----- COCO instances ----- */

struct coco_cat {
    int64_t     id;
    uint32_t    entry; /* in categories[] */
    const char *name;
};

struct coco_img {
    int64_t  id;
    uint32_t entry; /* in images[] */
    int32_t  index; /* in the caller's list; -1: none */
};

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_cat(const void *pa, const void *pb)
{
    const struct coco_cat *a = pa, *b = pb;
    return a->id != b->id ? CMP(a->id, b->id) : CMP(a->entry, b->entry);
}

static int cmp_img(const void *pa, const void *pb)
{
    const struct coco_img *a = pa, *b = pb;
    if (a->id != b->id)
        return CMP(a->id, b->id);
    return a->entry != b->entry ? CMP(a->entry, b->entry) : CMP(a->index, b->index);
}

static const char *const coco_arrays[] = {"images", "annotations", "categories"};

static enum qp_status coco_categories(struct ctx *c, const struct qp_json_doc *d, const char *path,
                                      const struct qp_json *cats, struct coco_cat *out)
{
    for (uint32_t i = 0; i < cats->n; i++) {
        const struct qp_json *cat  = &cats->v.items[i];
        const struct qp_json *name = qp_json_get(cat, "name");
        if (!as_id(qp_json_get(cat, "id"), &out[i].id) || !is_type(name, QP_JSON_STRING))
            return json_fail(c, d, path, cat, "categories[%u]: expected an integer id and a name",
                             i);
        out[i].entry = i;
        out[i].name  = name->v.str;
    }
    qsort(out, cats->n, sizeof *out, cmp_cat);
    for (uint32_t i = 1; i < cats->n; i++)
        if (out[i].id == out[i - 1].id)
            return json_fail(c, d, path, &cats->v.items[out[i].entry],
                             "categories[%u]: id %lld repeats categories[%u]", out[i].entry,
                             (long long)out[i].id, out[i - 1].entry);
    return QP_OK;
}

/* One row per (images[] entry, list image it names), or one with index -1. */
static enum qp_status coco_images(struct ctx *c, const struct qp_json_doc *d, const char *path,
                                  const struct qp_json *imgs, struct coco_img **out, size_t *n)
{
    size_t           k = 0, cap = 0;
    struct coco_img *rows = NULL;
    for (uint32_t i = 0; i < imgs->n; i++) {
        const struct qp_json *img  = &imgs->v.items[i];
        const struct qp_json *file = qp_json_get(img, "file_name");
        int64_t               id;
        if (!as_id(qp_json_get(img, "id"), &id) || !is_type(file, QP_JSON_STRING)) {
            qp_free(rows);
            return json_fail(c, d, path, img, "images[%u]: expected an integer id and a file_name",
                             i);
        }
        int32_t hits = match(c, file->v.str, false);
        for (int32_t h = 0; h < (hits ? hits : 1); h++) {
            if (k == cap) {
                cap     = cap ? 2 * cap : (size_t)imgs->n + 1;
                void *q = qp_realloc(rows, cap * sizeof *rows);
                if (!q) {
                    qp_free(rows);
                    return qp_fail(c->err, QP_E_NOMEM, "%s: out of memory for %zu images", path,
                                   cap);
                }
                rows = q;
            }
            rows[k++] = (struct coco_img){id, i, hits ? c->hits[h] : -1};
        }
    }
    if (k > 1) /* rows is NULL when no image was listed: qsort wants a valid pointer */
        qsort(rows, k, sizeof *rows, cmp_img);
    for (size_t i = 1; i < k; i++)
        if (rows[i].id == rows[i - 1].id && rows[i].entry != rows[i - 1].entry) {
            enum qp_status st = json_fail(c, d, path, &imgs->v.items[rows[i].entry],
                                          "images[%u]: id %lld repeats images[%u]", rows[i].entry,
                                          (long long)rows[i].id, rows[i - 1].entry);
            qp_free(rows);
            return st;
        }
    *out = rows;
    *n   = k;
    return QP_OK;
}

/* iscrowd: absent, 0 / 1 or false / true. */
static bool as_crowd(const struct qp_json *v, bool *crowd)
{
    *crowd = v && (v->type == QP_JSON_BOOL ? v->v.b : v->type == QP_JSON_NUMBER && v->v.num == 1);
    return !v || v->type == QP_JSON_BOOL ||
           (v->type == QP_JSON_NUMBER && (v->v.num == 0 || v->v.num == 1));
}

static enum qp_status coco_annotation(struct ctx *c, const struct qp_json_doc *d, const char *path,
                                      uint32_t i, const struct qp_json *ann,
                                      const struct coco_cat *cats, size_t n_cats,
                                      const struct coco_img *imgs, size_t n_imgs)
{
    struct coco_cat       cat = {0};
    struct coco_img       key = {0};
    const struct qp_json *box = qp_json_get(ann, "bbox");
    const char           *why;
    float                 xyxy[4];
    bool                  crowd;
    if (!as_id(qp_json_get(ann, "image_id"), &key.id) ||
        !as_id(qp_json_get(ann, "category_id"), &cat.id))
        return json_fail(c, d, path, ann,
                         "annotations[%u]: expected integer image_id and category_id", i);
    if (!as_box(box, true, xyxy, &why))
        return json_fail(c, d, path, box ? box : ann, "annotations[%u].bbox: %s", i, why);
    if (!as_crowd(qp_json_get(ann, "iscrowd"), &crowd))
        return json_fail(c, d, path, ann, "annotations[%u].iscrowd: expected 0 or 1", i);
    size_t lo = 0, hi = n_cats; /* categories are unique by id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cats[mid].id < cat.id)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct coco_cat *k = lo < n_cats && cats[lo].id == cat.id ? &cats[lo] : NULL;
    if (!k)
        return json_fail(c, d, path, ann, "annotations[%u]: category_id %lld is not in categories",
                         i, (long long)cat.id);
    lo = 0, hi = n_imgs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (imgs[mid].id < key.id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n_imgs || imgs[lo].id != key.id)
        return json_fail(c, d, path, ann, "annotations[%u]: image_id %lld is not in images", i,
                         (long long)key.id);
    c->n_hits = 0;
    for (; lo < n_imgs && imgs[lo].id == key.id; lo++)
        if (imgs[lo].index >= 0)
            c->hits[c->n_hits++] = imgs[lo].index;
    return add_object(c, k->name, xyxy, crowd);
}

static enum qp_status load_coco(struct ctx *c, const struct qp_json_doc *d, const char *path)
{
    const struct qp_json *root = qp_json_root(d), *arr[3];
    for (int i = 0; i < 3; i++) {
        arr[i] = qp_json_get(root, coco_arrays[i]);
        if (!is_type(arr[i], QP_JSON_ARRAY))
            return json_fail(c, d, path, arr[i] ? arr[i] : root,
                             "\"%s\": expected an array (a COCO instances file has images, "
                             "annotations and categories)",
                             coco_arrays[i]);
    }
    c->st->n_files++;
    struct coco_cat *cats   = qp_calloc((size_t)arr[2]->n + 1, sizeof *cats);
    struct coco_img *imgs   = NULL;
    size_t           n_imgs = 0;
    enum qp_status   st     = cats ? QP_OK : qp_fail(c->err, QP_E_NOMEM, "%s: out of memory", path);
    if (st == QP_OK)
        st = coco_categories(c, d, path, arr[2], cats);
    if (st == QP_OK)
        st = coco_images(c, d, path, arr[0], &imgs, &n_imgs);
    for (uint32_t i = 0; st == QP_OK && i < arr[1]->n; i++)
        st = coco_annotation(c, d, path, i, &arr[1]->v.items[i], cats, arr[2]->n, imgs, n_imgs);
    qp_free(cats);
    qp_free(imgs);
    return st;
}

/* ===== Files and directories ===== */

static enum qp_status load_json(struct ctx *c, const char *path, bool gt2d_only)
{
    struct qp_json_doc *d;
    enum qp_status      st = qp_json_read_file(path, &d, c->err);
    if (st != QP_OK)
        return st;
    const struct qp_json *root = qp_json_root(d);
    bool                  coco = qp_json_get(root, "images") || qp_json_get(root, "annotations");
    if (!is_type(root, QP_JSON_OBJECT) || (!coco && !qp_json_get(root, "objects")))
        st = json_fail(c, d, path, root,
                       "expected an object with images / annotations (COCO) or image / objects "
                       "(gt2d labels)");
    else if (coco && gt2d_only)
        st = json_fail(c, d, path, root, "a COCO file among gt2d label files");
    else {
        c->st->format = coco ? QP_LABELS_COCO : QP_LABELS_GT2D;
        st            = coco ? load_coco(c, d, path) : load_gt2d(c, d, path);
    }
    qp_json_free(d);
    return st;
}

static enum qp_status load_file(struct ctx *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(c->err, QP_E_IO, "%s: %s", path, strerror(errno));
    int ch;
    while ((ch = fgetc(f)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == 0xef ||
           ch == 0xbb || ch == 0xbf)
        ; /* blanks and a UTF-8 byte-order mark */
    (void)fclose(f);
    if (ch == '{')
        return load_json(c, path, false);
    c->st->format = QP_LABELS_KITTI;
    return load_kitti(c, path);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the directory's files ending in tail, sorted; caller frees. */
static enum qp_status list_dir(const char *dir, const char *tail, char ***out, size_t *n,
                               struct qp_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return qp_fail(err, QP_E_IO, "%s: %s", dir, strerror(errno));
    char         **names = NULL;
    size_t         k = 0, cap = 0;
    enum qp_status st = QP_OK;
    for (struct dirent *e; st == QP_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, tail))
            continue;
        if (k == cap) {
            cap     = cap ? 2 * cap : 64;
            void *q = qp_realloc(names, cap * sizeof *names);
            if (!q) {
                st = qp_fail(err, QP_E_NOMEM, "%s: out of memory listing files", dir);
                break;
            }
            names = q;
        }
        if (!(names[k] = qp_strdup(e->d_name)))
            st = qp_fail(err, QP_E_NOMEM, "%s: out of memory listing files", dir);
        else
            k++;
    }
    closedir(d);
    if (k)
        qsort(names, k, sizeof *names, cmp_str);
    *out = names;
    *n   = k;
    return st;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qp_free(names[i]);
    qp_free(names);
}

static enum qp_status load_dir(struct ctx *c, const char *dir)
{
    char         **names = NULL;
    size_t         n     = 0;
    bool           gt2d  = true;
    enum qp_status st    = list_dir(dir, "_gt2d.json", &names, &n, c->err);
    if (st == QP_OK && n == 0) {
        free_names(names, n);
        names = NULL;
        gt2d  = false;
        st    = list_dir(dir, ".txt", &names, &n, c->err);
    }
    if (st == QP_OK && n == 0)
        st = qp_fail(c->err, QP_E_FORMAT, "%s: no *_gt2d.json or KITTI *.txt label files", dir);
    c->st->format = gt2d ? QP_LABELS_GT2D : QP_LABELS_KITTI;
    char path[4096];
    for (size_t i = 0; st == QP_OK && i < n; i++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            st = qp_fail(c->err, QP_E_INVAL, "%s/%s: path too long", dir, names[i]);
        else
            st = gt2d ? load_json(c, path, true) : load_kitti(c, path);
    }
    free_names(names, n);
    return st;
}

enum qp_status qp_labels_load(const char *path, const char (*names)[QP_LABEL_LEN],
                              int32_t n_classes, const char *const *images, int32_t n_images,
                              struct qp_metrics *m, bool *labelled, struct qp_labels_stats *stats,
                              struct qp_err *err)
{
    struct ctx c = {.names     = names,
                    .n_classes = n_classes,
                    .n_images  = n_images,
                    .m         = m,
                    .labelled  = labelled,
                    .st        = stats,
                    .err       = err};
    memset(stats, 0, sizeof *stats);
    memset(labelled, 0, (size_t)n_images * sizeof *labelled);
    c.ix              = qp_calloc((size_t)n_images + 1, sizeof *c.ix);
    c.hits            = qp_calloc((size_t)n_images + 1, sizeof *c.hits);
    enum qp_status st = QP_OK;
    struct stat    sb;
    if (!c.ix || !c.hits) {
        st = qp_fail(err, QP_E_NOMEM, "labels: out of memory for %d images", (int)n_images);
        goto out;
    }
    for (int32_t i = 0; i < n_images; i++) {
        c.ix[i].base     = base_name(images[i]);
        c.ix[i].stem_len = stem_len(c.ix[i].base);
        c.ix[i].index    = i;
    }
    qsort(c.ix, (size_t)n_images, sizeof *c.ix, cmp_ix);
    if (stat(path, &sb) != 0)
        st = qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    else
        st = S_ISDIR(sb.st_mode) ? load_dir(&c, path) : load_file(&c, path);
    for (int32_t i = 0; i < n_images; i++)
        stats->n_labelled += labelled[i];
out:
    qp_free(c.ix);
    qp_free(c.hits);
    return st;
}
