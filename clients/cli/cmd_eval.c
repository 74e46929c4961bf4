// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_eval.c - `qpercept eval`: how closely MODEL agrees with an FP32
 * reference model over a set of images, and its true mAP where label files
 * give ground truth.
 *
 * Agreement (--reference): the reference's detections with score >= --score
 * are the truth, MODEL's with score >= --min-score are scored against them
 * with the COCO metrics of eval/metrics.h (image id = index in the list).
 * The low --min-score lets mAP see the ranking; a model agrees with itself
 * exactly (1.0), since its extra low-score boxes rank below every match.
 * True mAP (--labels): eval/labels.h reads COCO, KITTI or gt2d labels, maps
 * their classes to MODEL's by name, and MODEL's detections on the labelled
 * images are scored against them; unlabelled images are left out. Area
 * ranges (ap_small ...) use box areas, where pycocotools would use a COCO
 * file's "area" (mask) field.
 *
 * Images come from qp_cli_images_list (images.c: a directory, a list file
 * or one image; --max-images takes the first N). Both models run on every
 * image, once each: MODEL at --min-score, the reference at --score.
 *
 * --json OUT writes the settings, every number, and per image the boxes
 * both models gave ("detections" of MODEL and "reference", each row
 * [class, score, x0, y0, x1, y1], score and box as float32 printed with
 * %.9g), so tools can recompute the metrics (tests/tools/eval_coco.py). It
 * is written to OUT.tmp and renamed on success.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/log.h"
#include "eval/labels.h"
#include "eval/metrics.h"
#include "qpercept/detect.h"

#define MAX_SPEC 32
#define MAX_DETS 1024

struct eval_opts {
    const char              *model, *reference, *images, *labels, *json, *manifest, *spec_file;
    const char              *spec_keys[MAX_SPEC], *spec_vals[MAX_SPEC];
    int                      n_spec;
    double                   score, min_score, iou;
    bool                     agnostic, per_class;
    long                     max_images; /* 0: all */
    struct qp_engine_options eng;
};

/* One model opened for detection. */
struct side {
    const char             *path;
    struct qp_engine       *e;
    struct qp_model_spec    spec;
    struct qp_detector     *det;
    struct qp_detect_params params;
    char                    sha256[65];
    int64_t                 n_boxes;
};

/* ===== Options ===== */

static int usage_error(const char *fmt, ...) QP_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "qpercept eval: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (qpercept -h for usage)\n");
    va_end(ap);
    return 2;
}

static int parse(int argc, char **argv, struct eval_opts *o)
{
    struct qp_engine_options e = QP_ENGINE_OPTIONS_DEFAULT;
    o->eng                     = e;
    o->score                   = 0.3;
    o->min_score               = 0.05;
    o->iou                     = 0.45;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *key;
        long        k;
        if (a[0] != '-') {
            if (o->model)
                return usage_error("unexpected argument '%s'", a);
            o->model = a;
            continue;
        }
        if (strcmp(a, "--agnostic") == 0) {
            o->agnostic = true;
            continue;
        }
        if (strcmp(a, "--per-class") == 0) {
            o->per_class = true;
            continue;
        }
        if (!(v = qp_cli_value(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--images"))
            o->images = v;
        else if (!strcmp(a, "--reference"))
            o->reference = v;
        else if (!strcmp(a, "--labels")) /* ground truth here; class names are --names */
            o->labels = v;
        else if (!strcmp(a, "--json"))
            o->json = v;
        else if (!strcmp(a, "--manifest"))
            o->manifest = v;
        else if (!strcmp(a, "--spec"))
            o->spec_file = v;
        else if (!strcmp(a, "--score") && qp_cli_parse_float(v, 0, 1, &o->score))
            ; /* NOLINT(bugprone-branch-clone): the parse stored it */
        else if (!strcmp(a, "--min-score") && qp_cli_parse_float(v, 0, 1, &o->min_score))
            ;
        else if (!strcmp(a, "--iou") && qp_cli_parse_float(v, 0, 1, &o->iou))
            ;
        else if (!strcmp(a, "--max-images") && qp_cli_parse_int(v, 1, INT32_MAX, &o->max_images))
            ;
        else if (!strcmp(a, "--threads") && qp_cli_parse_int(v, 0, 1024, &k))
            o->eng.n_threads = (int)k;
        else if (!strcmp(a, "--backend") && qp_cli_parse_backend(v, &o->eng.backend))
            ;
        else if ((key = !strcmp(a, "--names") ? "labels" : qp_cli_spec_key(a)) &&
                 o->n_spec < MAX_SPEC) {
            o->spec_keys[o->n_spec]   = key;
            o->spec_vals[o->n_spec++] = v;
        } else
            return usage_error("bad option or value: %s %s", a, v);
    }
    if (!o->model || !o->images)
        return usage_error("give a MODEL and --images DIR|LISTFILE|MCAP");
    if (!o->reference && !o->labels)
        return usage_error("give --reference REF_MODEL (agreement), --labels FILE|DIR (true mAP) "
                           "or both");
    return 0;
}

/* ===== Models ===== */

static enum qp_status side_open(struct side *s, const struct eval_opts *o, bool own_spec,
                                double score_min, const char *argv0, struct qp_err *err)
{
    qp_model_spec_init(&s->spec);
    s->params                = (struct qp_detect_params)QP_DETECT_PARAMS_DEFAULT;
    s->params.score_min      = (float)score_min;
    s->params.iou            = (float)o->iou;
    s->params.class_agnostic = o->agnostic;
    enum qp_status st        = qp_sha256_file(s->path, s->sha256, err);
    if (st == QP_OK)
        st = own_spec
                 ? qp_cli_load_spec(s->path, NULL, o->manifest, NULL, NULL, 0, argv0, &s->spec, err)
                 : qp_cli_load_spec(s->path, o->spec_file, o->manifest, o->spec_keys, o->spec_vals,
                                    o->n_spec, argv0, &s->spec, err);
    if (st == QP_OK)
        st = qp_engine_open(s->path, &o->eng, &s->e, err);
    if (st == QP_OK)
        st = qp_detector_new(s->e, &s->spec, &s->det, err);
    if (st != QP_OK)
        qp_err_prefix(err, "%s", s->path);
    return st;
}

static void side_close(struct side *s)
{
    qp_detector_free(s->det);
    qp_engine_free(s->e);
    qp_model_spec_fini(&s->spec);
}

/* ===== Output ===== */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_dets(FILE *f, const char *key, const struct qp_detection *d, int32_t n)
{
    fprintf(f, ",\"%s\":[", key);
    for (int32_t i = 0; i < n; i++)
        fprintf(f, "%s[%d,%.9g,%.9g,%.9g,%.9g,%.9g]", i ? "," : "", (int)d[i].class_id,
                (double)d[i].score, (double)d[i].x0, (double)d[i].y0, (double)d[i].x1,
                (double)d[i].y1);
    fputc(']', f);
}

/* The metrics of mt (computed into r), its per-class rows included. */
static void json_metrics(FILE *f, const struct qp_metrics *mt, const struct qp_metrics_result *r)
{
    fprintf(f,
            "\"map\":%.17g,\"ap50\":%.17g,\"ap75\":%.17g,\"ap_small\":%.17g,\"ap_medium\":%.17g,"
            "\"ap_large\":%.17g,\"recall50\":%.17g,\"ar100\":%.17g,\"map_boxes\":%.17g,"
            "\"n_classes\":%d",
            r->map, r->ap50, r->ap75, r->ap_small, r->ap_medium, r->ap_large, r->recall50, r->ar100,
            r->map_boxes, (int)r->n_classes);
    int32_t                        n;
    const struct qp_metrics_class *c = qp_metrics_classes(mt, &n);
    fprintf(f, ",\"per_class\":[");
    for (int32_t i = 0; i < n; i++)
        fprintf(f,
                "%s{\"class_id\":%d,\"truths\":%lld,\"map\":%.17g,\"ap50\":%.17g,"
                "\"recall50\":%.17g}",
                i ? "," : "", (int)c[i].class_id, (long long)c[i].truths, c[i].map, c[i].ap50,
                c[i].recall50);
    fprintf(f, "]");
}

static int by_truths(const void *a, const void *b)
{
    const struct qp_metrics_class *x = a, *y = b;
    if (x->truths != y->truths)
        return x->truths > y->truths ? -1 : 1;
    return x->class_id < y->class_id ? -1 : x->class_id > y->class_id;
}

/* --per-class: mt's rows, the most ground truth first (a class with a few
 * boxes moves the class-averaged mAP as much as one with thousands). */
static void print_classes(const char *what, const struct qp_metrics *mt,
                          const struct qp_model_spec *spec)
{
    int32_t                        n;
    const struct qp_metrics_class *c    = qp_metrics_classes(mt, &n);
    struct qp_metrics_class       *rows = qp_alloc((size_t)n * sizeof *rows + 1);
    if (!rows)
        return;
    memcpy(rows, c, (size_t)n * sizeof *rows);
    qsort(rows, (size_t)n, sizeof *rows, by_truths);
    printf("%s per class:\n  %5s  %-16s  %11s  %8s  %8s  %8s\n", what, "class", "label",
           "truth boxes", "mAP", "AP50", "recall50");
    for (int32_t i = 0; i < n; i++)
        printf("  %5d  %-16.16s  %11lld  %8.4f  %8.4f  %8.4f\n", (int)rows[i].class_id,
               spec->labels && rows[i].class_id >= 0 && rows[i].class_id < spec->n_classes
                   ? spec->labels[rows[i].class_id]
                   : "?",
               (long long)rows[i].truths, rows[i].map, rows[i].ap50, rows[i].recall50);
    qp_free(rows);
}

static void json_settings(FILE *f, const struct eval_opts *o, const struct side *m,
                          const struct side *ref, int32_t n_images)
{
    fprintf(f, "{\"settings\":{\"model\":");
    json_str(f, m->path);
    fprintf(f, ",\"model_name\":");
    json_str(f, m->spec.name);
    fprintf(f, ",\"model_sha256\":\"%s\",\"reference\":", m->sha256);
    if (ref) {
        json_str(f, ref->path);
        fprintf(f, ",\"reference_name\":");
        json_str(f, ref->spec.name);
        fprintf(f, ",\"reference_sha256\":\"%s\"", ref->sha256);
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\"images\":");
    json_str(f, o->images);
    fprintf(f, ",\"n_images\":%d,\"max_images\":%ld,\"labels\":", (int)n_images, o->max_images);
    if (o->labels)
        json_str(f, o->labels);
    else
        fprintf(f, "null");
    fprintf(f,
            ",\"score\":%.9g,\"min_score\":%.9g,\"iou\":%.9g,\"agnostic\":%s,\"backend\":\"%s\"}",
            o->score, o->min_score, o->iou, o->agnostic ? "true" : "false",
            qp_engine_backend_name(m->e));
    fprintf(f, ",\n\"images\":[");
}

static void print_row(const char *what, const struct qp_metrics_result *r, int32_t n_images,
                      int64_t truths, int64_t boxes)
{
    const double v[4] = {r->map, r->ap50, r->ap75, r->recall50};
    printf("%-12s", what);
    for (int i = 0; i < 4; i++)
        if (v[i] < 0)
            printf("  %8s", "n/a"); /* no ground truth at all */
        else
            printf("  %8.4f", v[i]);
    printf("  %7d  %6d  %11lld  %11lld\n", (int)r->n_classes, (int)n_images, (long long)truths,
           (long long)boxes);
}

/* ===== The evaluation ===== */

struct state {
    struct qp_metrics     *agree, *truth; /* NULL when not asked for */
    bool                  *labelled;      /* per image, with --labels */
    struct qp_labels_stats lst;
    int64_t                truth_boxes; /* model boxes on labelled images */
    FILE                  *json;
    struct qp_detection    dm[MAX_DETS], dr[MAX_DETS];
};

static enum qp_status add_dets(struct qp_metrics *m, int64_t img, const struct qp_detection *d,
                               int32_t n, bool as_truth, struct qp_err *err)
{
    enum qp_status st = QP_OK;
    for (int32_t i = 0; st == QP_OK && i < n; i++) {
        const float xyxy[4] = {d[i].x0, d[i].y0, d[i].x1, d[i].y1};
        st = as_truth ? qp_metrics_add_truth(m, img, d[i].class_id, xyxy, false, err)
                      : qp_metrics_add_detection(m, img, d[i].class_id, d[i].score, xyxy, err);
    }
    return st;
}

static enum qp_status eval_image(struct side *m, struct side *ref, struct state *s,
                                 const char *path, int32_t i, struct qp_err *err)
{
    struct qp_image img;
    int32_t         nm = 0, nr = 0;
    enum qp_status  st = qp_image_load(path, &img, err);
    if (st != QP_OK)
        return st;
    st = qp_detector_run(m->det, &img, &m->params, s->dm, MAX_DETS, &nm, err);
    if (st == QP_OK && ref)
        st = qp_detector_run(ref->det, &img, &ref->params, s->dr, MAX_DETS, &nr, err);
    qp_image_free(&img);
    if (st != QP_OK) {
        qp_err_prefix(err, "%s", path);
        return st;
    }
    m->n_boxes += nm;
    if (ref) {
        ref->n_boxes += nr;
        st = add_dets(s->agree, i, s->dr, nr, true, err);
        if (st == QP_OK)
            st = add_dets(s->agree, i, s->dm, nm, false, err);
    }
    if (st == QP_OK && s->truth && s->labelled[i]) {
        s->truth_boxes += nm;
        st = add_dets(s->truth, i, s->dm, nm, false, err);
    }
    if (s->json) {
        fprintf(s->json, "%s{\"file\":", i ? ",\n" : "");
        json_str(s->json, path);
        if (s->truth)
            fprintf(s->json, ",\"labelled\":%s", s->labelled[i] ? "true" : "false");
        json_dets(s->json, "detections", s->dm, nm);
        if (ref)
            json_dets(s->json, "reference", s->dr, nr);
        fputc('}', s->json);
    }
    return st;
}

/* stderr: an updating line on a terminal, else every 10 images and the last. */
static void progress(int32_t done, int32_t total, int64_t t0_ns)
{
    static int tty = -1;
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    double s = (double)(qp_clock_ns() - t0_ns) / 1e9;
    if (tty)
        fprintf(stderr, "\rqpercept eval: %d/%d images (%.1f s)%s", (int)done, (int)total, s,
                done == total ? "\n" : "");
    else if (done % 10 == 0 || done == total)
        fprintf(stderr, "qpercept eval: %d/%d images (%.1f s)\n", (int)done, (int)total, s);
}

static enum qp_status open_labels(const struct eval_opts *o, const struct side *m,
                                  const struct qp_cli_images *l, struct state *s,
                                  struct qp_err *err)
{
    if (!m->spec.labels)
        return qp_fail(err, QP_E_INVAL,
                       "%s has no class names (labels in its spec, or --names FILE) to map the "
                       "classes of %s to",
                       m->path, o->labels);
    s->labelled = qp_calloc((size_t)l->n, sizeof *s->labelled);
    if (!s->labelled)
        return qp_fail(err, QP_E_NOMEM, "out of memory for %d images", (int)l->n);
    enum qp_status st = qp_metrics_new(&s->truth, err);
    if (st == QP_OK)
        st = qp_labels_load(o->labels, (const char(*)[QP_LABEL_LEN])m->spec.labels,
                            m->spec.n_classes, (const char *const *)l->paths, l->n, s->truth,
                            s->labelled, &s->lst, err);
    if (st == QP_OK && s->lst.n_labelled == 0)
        st = qp_fail(err, QP_E_INVAL, "labels %s name none of the %d images (matched by file name)",
                     o->labels, (int)l->n);
    return st;
}

static void report_labels(const struct eval_opts *o, const struct qp_labels_stats *ls, int32_t n)
{
    printf("true mAP: labels %s (%s, %d file%s): %d of %d images labelled, %lld boxes, "
           "%lld crowd regions, %lld unmapped objects",
           o->labels, qp_labels_format_name(ls->format), (int)ls->n_files,
           ls->n_files == 1 ? "" : "s", (int)ls->n_labelled, (int)n, (long long)ls->n_boxes,
           (long long)ls->n_crowd, (long long)ls->n_unmapped);
    for (int32_t i = 0; i < ls->n_unmapped_names; i++)
        printf("%s%s %lld", i ? ", " : " (", ls->unmapped[i].name,
               (long long)ls->unmapped[i].count);
    printf("%s\n", ls->n_unmapped_names ? ")" : "");
}

static void json_labels(FILE *f, const struct qp_labels_stats *ls)
{
    fprintf(f,
            ",\"format\":\"%s\",\"n_files\":%d,\"n_unmatched\":%d,\"boxes\":%lld,\"crowd\":%lld,"
            "\"unmapped\":%lld,\"unmapped_names\":{",
            qp_labels_format_name(ls->format), (int)ls->n_files, (int)ls->n_unmatched,
            (long long)ls->n_boxes, (long long)ls->n_crowd, (long long)ls->n_unmapped);
    for (int32_t i = 0; i < ls->n_unmapped_names; i++) {
        fprintf(f, "%s", i ? "," : "");
        json_str(f, ls->unmapped[i].name);
        fprintf(f, ":%lld", (long long)ls->unmapped[i].count);
    }
    fprintf(f, "}");
}

/* Score, print the table, finish the JSON. */
static enum qp_status finish(const struct eval_opts *o, const struct side *m,
                             const struct side *ref, struct state *s, int32_t n, double secs,
                             struct qp_err *err)
{
    struct qp_metrics_result ra = {0}, rt = {0};
    enum qp_status           st = QP_OK;
    QP_ASSERT(!s->agree || ref); /* evaluate() makes agree only with a reference */
    if (s->agree)
        st = qp_metrics_compute(s->agree, &ra, err);
    if (st == QP_OK && s->truth)
        st = qp_metrics_compute(s->truth, &rt, err);
    if (st != QP_OK)
        return st;
    printf("qpercept eval: %s on %d images (%s, %.1f s)\n",
           m->spec.name[0] ? m->spec.name : m->path, (int)n, qp_engine_backend_name(m->e), secs);
    printf("%-12s  %8s  %8s  %8s  %8s  %7s  %6s  %11s  %11s\n", "", "mAP", "AP50", "AP75",
           "recall50", "classes", "images", "truth boxes", "model boxes");
    if (s->agree)
        print_row("agreement", &ra, n, ref->n_boxes, m->n_boxes);
    if (s->truth)
        print_row("true mAP", &rt, s->lst.n_labelled, s->lst.n_boxes, s->truth_boxes);
    /* and the mAP weighted by truth boxes: COCO's is a class average, where a
     * class of one box weighs as much as one of thousands */
    if (s->agree) {
        printf("agreement: reference %s; its boxes with score >= %.2f are the truth, the model's "
               "with score >= %.2f are scored\n",
               ref->spec.name[0] ? ref->spec.name : ref->path, o->score, o->min_score);
        printf("agreement mAP weighted by truth boxes (not COCO's class average): %.4f\n",
               ra.map_boxes);
    }
    if (s->truth) {
        printf("true mAP weighted by truth boxes (not COCO's class average): %.4f\n", rt.map_boxes);
        report_labels(o, &s->lst, n);
    }
    if (o->per_class && s->agree)
        print_classes("agreement", s->agree, &m->spec);
    if (o->per_class && s->truth)
        print_classes("true mAP", s->truth, &m->spec);
    if (!s->json)
        return QP_OK;
    fprintf(s->json, "],\n\"agreement\":");
    if (s->agree) {
        fprintf(s->json, "{");
        json_metrics(s->json, s->agree, &ra);
        fprintf(s->json, ",\"n_images\":%d,\"reference_boxes\":%lld,\"model_boxes\":%lld}", (int)n,
                /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): agree, so ref */
                (long long)ref->n_boxes, (long long)m->n_boxes);
    } else {
        fprintf(s->json, "null");
    }
    fprintf(s->json, ",\n\"true_map\":");
    if (s->truth) {
        fprintf(s->json, "{");
        json_metrics(s->json, s->truth, &rt);
        fprintf(s->json, ",\"n_images\":%d,\"model_boxes\":%lld", (int)s->lst.n_labelled,
                (long long)s->truth_boxes);
        json_labels(s->json, &s->lst);
        fprintf(s->json, "}");
    } else {
        fprintf(s->json, "null");
    }
    fprintf(s->json, ",\n\"seconds\":%.3f}\n", secs);
    return QP_OK;
}

/* Open everything, then one pass over the images. */
static enum qp_status evaluate(const struct eval_opts *o, struct side *m, struct side *ref,
                               struct state *s, const struct qp_cli_images *l, const char *tmp,
                               const char *argv0, struct qp_err *err)
{
    enum qp_status st = side_open(m, o, false, o->min_score, argv0, err);
    if (st == QP_OK && ref)
        st = side_open(ref, o, true, o->score, argv0, err);
    if (st == QP_OK && ref && m->spec.n_classes && ref->spec.n_classes &&
        m->spec.n_classes != ref->spec.n_classes)
        st = qp_fail(err, QP_E_INVAL,
                     "reference %s has %d classes, the model %d: agreement needs "
                     "one class list",
                     ref->path, (int)ref->spec.n_classes, (int)m->spec.n_classes);
    if (st == QP_OK && o->labels)
        st = open_labels(o, m, l, s, err);
    if (st == QP_OK && ref)
        st = qp_metrics_new(&s->agree, err);
    if (st == QP_OK && tmp && !(s->json = fopen(tmp, "w")))
        st = qp_fail(err, QP_E_IO, "%s: %s", tmp, strerror(errno));
    if (st != QP_OK)
        return st;
    if (s->json)
        json_settings(s->json, o, m, ref, l->n);
    int64_t t0 = qp_clock_ns();
    for (int32_t i = 0; st == QP_OK && i < l->n; i++) {
        st = eval_image(m, ref, s, l->paths[i], i, err);
        progress(i + 1, l->n, t0);
    }
    if (st == QP_OK)
        st = finish(o, m, ref, s, l->n, (double)(qp_clock_ns() - t0) / 1e9, err);
    return st;
}

int qp_cli_eval(int argc, char **argv)
{
    struct eval_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct qp_cli_images l = {0};
    struct side          m = {.path = o.model}, ref = {.path = o.reference};
    struct state        *s   = qp_calloc(1, sizeof *s);
    struct qp_err        err = {{0}};
    char                 tmp[4096];
    if (o.json)
        snprintf(tmp, sizeof tmp, "%s.tmp", o.json);
    enum qp_status st =
        s ? qp_cli_images_list("--images", o.images, (int32_t)o.max_images, false, &l, &err)
          : qp_fail(&err, QP_E_NOMEM, "out of memory");
    if (st == QP_OK)
        st = evaluate(&o, &m, o.reference ? &ref : NULL, s, &l, o.json ? tmp : NULL, argv[0], &err);
    if (s && s->json && fclose(s->json) != 0 && st == QP_OK)
        st = qp_fail(&err, QP_E_IO, "%s: %s", tmp, strerror(errno));
    if (o.json && st == QP_OK && rename(tmp, o.json) != 0)
        st = qp_fail(&err, QP_E_IO, "%s: %s", o.json, strerror(errno));
    if (st != QP_OK) {
        fprintf(stderr, "qpercept eval: %s\n", err.msg);
        if (s && s->json)
            (void)remove(tmp);
    }
    side_close(&m);
    if (o.reference)
        side_close(&ref);
    if (s) {
        qp_metrics_free(s->agree);
        qp_metrics_free(s->truth);
        qp_free(s->labelled);
    }
    qp_free(s);
    qp_cli_images_free(&l);
    return st == QP_OK ? 0 : 1;
}
