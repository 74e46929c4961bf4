// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c - COCO bbox evaluation (pycocotools COCOeval) in C.
 *
 * The idea: sort ground truth and detections by (class, image, score), then
 * walk one class at a time and, per area range, reproduce COCOeval's two
 * phases: evaluateImg (greedy matching per image, per IoU threshold) and
 * accumulate (all images' detections of the class merged by score, cumulative
 * true/false positives, a monotone precision envelope, precision sampled at
 * 101 recall thresholds). Every float64 expression follows pycocotools'
 * order of operations (bbIou in maskApi.c, np.linspace for the thresholds,
 * tp / (fp + tp + np.spacing(1))), so results agree to rounding of the final
 * mean (numpy sums pairwise, we sum in order).
 *
 * Invariants: after sort_all, truths and detections are grouped by class,
 * then image id ascending, then (detections) score descending, then order
 * of addition; a hit's pos is its index in the class's concatenation of
 * per-image lists, so sorting hits by (score desc, pos) is numpy's stable
 * mergesort. Parsing labels and running the engine are elsewhere (CLI).
 */
#include "eval/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

enum { N_IOU = 10, N_REC = 101 };

enum area { AREA_ALL, AREA_SMALL, AREA_MEDIUM, AREA_LARGE, AREA_COUNT };

/* COCOeval Params.areaRng, inclusive at both ends (an area is out of range
 * only when < lo or > hi). */
static const double area_range[AREA_COUNT][2] = {
    [AREA_ALL]    = {0.0, 1e10},
    [AREA_SMALL]  = {0.0, 32.0 * 32.0},
    [AREA_MEDIUM] = {32.0 * 32.0, 96.0 * 96.0},
    [AREA_LARGE]  = {96.0 * 96.0, 1e10},
};

struct box { /* pycocotools' xywh, float64 */
    double x, y, w, h;
};

struct truth {
    int64_t    image;
    int32_t    cls;
    uint32_t   seq; /* order of addition */
    struct box b;
    bool       crowd;
};

struct det {
    int64_t    image;
    int32_t    cls;
    uint32_t   seq;
    double     score;
    struct box b;
};

struct qp_metrics {
    struct truth            *truths;
    size_t                   n_truths, cap_truths;
    struct det              *dets;
    size_t                   n_dets, cap_dets;
    struct qp_metrics_class *classes; /* the last compute's rows */
    int32_t                  n_classes;
};

/* One detection as accumulate sees it: bit t of tp / ig is dtm != 0 and
 * dtIg at IoU threshold t. */
struct hit {
    double   score;
    uint32_t pos;
    uint16_t tp, ig;
};

/* Per-area sums over the classes that count (npig > 0). */
struct area_sums {
    double  prec[N_IOU]; /* sum over classes and recall thresholds of precision */
    double  rec[N_IOU];  /* sum over classes of final recall */
    int32_t n_classes;
};

struct scratch {
    struct hit *hits;  /* n_dets */
    double     *rc;    /* n_dets */
    double     *pr;    /* n_dets */
    uint32_t   *order; /* n_truths: the image's truths, non-ignored first */
    bool       *ig;    /* n_truths, by order index */
    bool       *taken; /* n_truths, by order index */
};

struct span { /* [lo, hi) */
    size_t lo, hi;
};

/* ===== Builder ===== */

enum qp_status qp_metrics_new(struct qp_metrics **out, struct qp_err *err)
{
    struct qp_metrics *m = qp_calloc(1, sizeof *m);
    if (!m)
        return qp_fail(err, QP_E_NOMEM, "metrics: out of memory (%zu bytes)", sizeof *m);
    *out = m;
    return QP_OK;
}

void qp_metrics_free(struct qp_metrics *m)
{
    if (!m)
        return;
    qp_free(m->truths);
    qp_free(m->dets);
    qp_free(m->classes);
    qp_free(m);
}

size_t qp_metrics_n_truths(const struct qp_metrics *m)
{
    return m->n_truths;
}

size_t qp_metrics_n_detections(const struct qp_metrics *m)
{
    return m->n_dets;
}

/* Make room for one more element of size elem in *arr (doubling). */
static enum qp_status grow(void **arr, size_t *cap, size_t n, size_t elem, struct qp_err *err)
{
    if (n < *cap)
        return QP_OK;
    size_t new_cap = *cap ? *cap * 2 : 64;
    size_t bytes;
    if (n >= UINT32_MAX || !qp_size_mul(new_cap, elem, &bytes))
        return qp_fail(err, QP_E_NOMEM, "metrics: too many boxes (%zu)", n);
    void *p = qp_realloc(*arr, bytes);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "metrics: out of memory (%zu bytes)", bytes);
    *arr = p;
    *cap = new_cap;
    return QP_OK;
}

static enum qp_status to_box(const float xyxy[4], struct box *b, struct qp_err *err)
{
    for (int i = 0; i < 4; i++)
        if (!isfinite(xyxy[i]))
            return qp_fail(err, QP_E_INVAL, "metrics: box coordinate %d is not finite", i);
    if (xyxy[2] < xyxy[0] || xyxy[3] < xyxy[1])
        return qp_fail(err, QP_E_INVAL, "metrics: box [%g %g %g %g] has x2 < x1 or y2 < y1",
                       (double)xyxy[0], (double)xyxy[1], (double)xyxy[2], (double)xyxy[3]);
    b->x = (double)xyxy[0];
    b->y = (double)xyxy[1];
    b->w = (double)xyxy[2] - (double)xyxy[0];
    b->h = (double)xyxy[3] - (double)xyxy[1];
    return QP_OK;
}

enum qp_status qp_metrics_add_truth(struct qp_metrics *m, int64_t image_id, int32_t class_id,
                                    const float xyxy[4], bool crowd, struct qp_err *err)
{
    struct truth   t  = {.image = image_id, .cls = class_id, .crowd = crowd};
    enum qp_status st = to_box(xyxy, &t.b, err);
    if (st == QP_OK)
        st = grow((void **)&m->truths, &m->cap_truths, m->n_truths, sizeof t, err);
    if (st != QP_OK)
        return st;
    t.seq                    = (uint32_t)m->n_truths;
    m->truths[m->n_truths++] = t;
    return QP_OK;
}

enum qp_status qp_metrics_add_detection(struct qp_metrics *m, int64_t image_id, int32_t class_id,
                                        float score, const float xyxy[4], struct qp_err *err)
{
    if (!isfinite(score))
        return qp_fail(err, QP_E_INVAL, "metrics: detection score is not finite");
    struct det     d  = {.image = image_id, .cls = class_id, .score = (double)score};
    enum qp_status st = to_box(xyxy, &d.b, err);
    if (st == QP_OK)
        st = grow((void **)&m->dets, &m->cap_dets, m->n_dets, sizeof d, err);
    if (st != QP_OK)
        return st;
    d.seq                = (uint32_t)m->n_dets;
    m->dets[m->n_dets++] = d;
    return QP_OK;
}

/* ===== Ordering ===== */

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_truth(const void *pa, const void *pb)
{
    const struct truth *a = pa, *b = pb;
    if (a->cls != b->cls)
        return CMP(a->cls, b->cls);
    if (a->image != b->image)
        return CMP(a->image, b->image);
    return CMP(a->seq, b->seq);
}

static int cmp_det(const void *pa, const void *pb)
{
    const struct det *a = pa, *b = pb;
    if (a->cls != b->cls)
        return CMP(a->cls, b->cls);
    if (a->image != b->image)
        return CMP(a->image, b->image);
    if (a->score != b->score)
        return CMP(b->score, a->score); /* descending */
    return CMP(a->seq, b->seq);
}

static int cmp_i64(const void *pa, const void *pb)
{
    return CMP(*(const int64_t *)pa, *(const int64_t *)pb);
}

static int cmp_hit(const void *pa, const void *pb)
{
    const struct hit *a = pa, *b = pb;
    if (a->score != b->score)
        return CMP(b->score, a->score);
    return CMP(a->pos, b->pos);
}

static void sort_all(struct qp_metrics *m)
{
    if (m->n_truths)
        qsort(m->truths, m->n_truths, sizeof *m->truths, cmp_truth);
    if (m->n_dets)
        qsort(m->dets, m->n_dets, sizeof *m->dets, cmp_det);
}

/* ===== evaluateImg: matching in one image ===== */

/* pycocotools maskApi.c bbIou for one pair, same expression order. */
static double box_iou(const struct box *d, const struct box *g, bool crowd)
{
    double w = fmin(d->w + d->x, g->w + g->x) - fmax(d->x, g->x);
    if (w <= 0)
        return 0;
    double h = fmin(d->h + d->y, g->h + g->y) - fmax(d->y, g->y);
    if (h <= 0)
        return 0;
    double i  = w * h;
    double da = d->w * d->h;
    double u  = crowd ? da : da + g->w * g->h - i;
    return i / u;
}

static bool area_out(const struct box *b, enum area a)
{
    double area = b->w * b->h;
    return area < area_range[a][0] || area > area_range[a][1];
}

/* COCOeval Params.iouThrs: np.linspace(.5, .95, 10) is i * step + start. */
static double iou_threshold(int t)
{
    if (t == N_IOU - 1)
        return 0.95;
    double y = (double)t * ((0.95 - 0.5) / (N_IOU - 1));
    return y + 0.5;
}

/* Put the image's truths in gtind order (non-ignored first, stable) and return
 * the number of non-ignored ones. */
static size_t order_truths(const struct truth *tr, struct span g, enum area a, struct scratch *s)
{
    size_t n = 0, n_pos = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = g.lo; i < g.hi; i++) {
            bool ig = tr[i].crowd || area_out(&tr[i].b, a);
            if (ig != (pass == 1))
                continue;
            s->order[n] = (uint32_t)i;
            s->ig[n++]  = ig;
            n_pos += !ig;
        }
    }
    return n_pos;
}

/* One IoU threshold: the matching loop of COCOeval.evaluateImg. */
static void match_threshold(const struct qp_metrics *m, struct span g, struct span d, int t,
                            struct scratch *s, struct hit *hits)
{
    size_t ng  = g.hi - g.lo;
    double thr = fmin(iou_threshold(t), 1 - 1e-10);
    memset(s->taken, 0, ng * sizeof *s->taken);
    for (size_t k = d.lo; k < d.hi; k++) {
        double best  = thr;
        size_t match = SIZE_MAX;
        for (size_t j = 0; j < ng; j++) {
            const struct truth *gt = &m->truths[s->order[j]];
            if (s->taken[j] && !gt->crowd)
                continue;
            if (match != SIZE_MAX && !s->ig[match] && s->ig[j])
                break;
            double iou = box_iou(&m->dets[k].b, &gt->b, gt->crowd);
            if (iou < best)
                continue;
            best  = iou;
            match = j;
        }
        if (match == SIZE_MAX)
            continue;
        s->taken[match] = true;
        hits[k - d.lo].tp |= (uint16_t)(1u << t);
        if (s->ig[match])
            hits[k - d.lo].ig |= (uint16_t)(1u << t);
    }
}

/* Evaluate one (class, image, area): append its hits at s->hits + *n_hits and
 * return its number of non-ignored truths. d is already cut to maxDets. */
static size_t eval_image(const struct qp_metrics *m, struct span g, struct span d, enum area a,
                         struct scratch *s, size_t *n_hits)
{
    size_t      n_pos = order_truths(m->truths, g, a, s);
    struct hit *hits  = s->hits + *n_hits;
    for (size_t k = d.lo; k < d.hi; k++)
        hits[k - d.lo] =
            (struct hit){.score = m->dets[k].score, .pos = (uint32_t)(*n_hits + k - d.lo)};
    for (int t = 0; t < N_IOU; t++)
        match_threshold(m, g, d, t, s, hits);
    for (size_t k = d.lo; k < d.hi; k++)
        if (area_out(&m->dets[k].b, a)) /* unmatched and out of range: ignored */
            hits[k - d.lo].ig |= (uint16_t)(~hits[k - d.lo].tp & ((1u << N_IOU) - 1));
    *n_hits += d.hi - d.lo;
    return n_pos;
}

/* ===== accumulate: precision and recall of one class ===== */

/* Sum of the 101 interpolated precisions at threshold t; *recall gets the
 * final recall. hits are sorted by score. */
static double precision_sum(const struct scratch *s, size_t n, size_t n_pos, int t, double *recall)
{
    double tp = 0, fp = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(s->hits[i].ig >> t & 1u)) {
            if (s->hits[i].tp >> t & 1u)
                tp += 1;
            else
                fp += 1;
        }
        s->rc[i] = tp / (double)n_pos;
        s->pr[i] = tp / (fp + tp + DBL_EPSILON); /* np.spacing(1) */
    }
    *recall = n ? s->rc[n - 1] : 0;
    for (size_t i = n; i-- > 1;)
        if (s->pr[i] > s->pr[i - 1])
            s->pr[i - 1] = s->pr[i];
    /* np.searchsorted(rc, recThrs, side='left'); recThrs = np.linspace(0, 1,
     * 101) is r * 0.01 with the last one exactly 1. Past the end: 0. */
    double sum = 0;
    size_t i   = 0;
    for (int r = 0; r < N_REC; r++) {
        double thr = r == N_REC - 1 ? 1.0 : (double)r * 0.01;
        while (i < n && s->rc[i] < thr)
            i++;
        if (i == n)
            break;
        sum += s->pr[i];
    }
    return sum;
}

static size_t span_end_truth(const struct qp_metrics *m, size_t i, bool by_image)
{
    size_t j = i;
    while (j < m->n_truths && m->truths[j].cls == m->truths[i].cls &&
           (!by_image || m->truths[j].image == m->truths[i].image))
        j++;
    return j;
}

static size_t span_end_det(const struct qp_metrics *m, size_t i, bool by_image)
{
    size_t j = i;
    while (j < m->n_dets && m->dets[j].cls == m->dets[i].cls &&
           (!by_image || m->dets[j].image == m->dets[i].image))
        j++;
    return j;
}

/* One class, one area range: every image of the class, then accumulate. */
static void eval_class(const struct qp_metrics *m, struct span gc, struct span dc, enum area a,
                       struct scratch *s, struct area_sums *sums)
{
    size_t n_hits = 0, n_pos = 0;
    size_t gi = gc.lo, di = dc.lo;
    while (gi < gc.hi || di < dc.hi) {
        int64_t img = gi < gc.hi ? m->truths[gi].image : m->dets[di].image;
        if (di < dc.hi && m->dets[di].image < img)
            img = m->dets[di].image;
        struct span g = {gi, gi}, d = {di, di};
        if (gi < gc.hi && m->truths[gi].image == img)
            g.hi = span_end_truth(m, gi, true);
        if (di < dc.hi && m->dets[di].image == img)
            d.hi = span_end_det(m, di, true);
        gi = g.hi;
        di = d.hi;
        if (d.hi - d.lo > QP_METRICS_MAX_DETS)
            d.hi = d.lo + QP_METRICS_MAX_DETS;
        n_pos += eval_image(m, g, d, a, s, &n_hits);
    }
    if (n_pos == 0) /* pycocotools: precision and recall stay -1 */
        return;
    if (n_hits)
        qsort(s->hits, n_hits, sizeof *s->hits, cmp_hit);
    for (int t = 0; t < N_IOU; t++) {
        double recall;
        sums->prec[t] += precision_sum(s, n_hits, n_pos, t, &recall);
        sums->rec[t] += recall;
    }
    sums->n_classes++;
}

/* ===== compute ===== */

static int32_t count_images(const struct qp_metrics *m)
{
    /* Truths and detections are sorted by class first, so collect and sort
     * the ids; offline code, an allocation-free O(n^2) is not worth it. */
    size_t   n   = m->n_truths + m->n_dets;
    int64_t *ids = qp_alloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return -1;
    for (size_t i = 0; i < m->n_truths; i++)
        ids[i] = m->truths[i].image;
    for (size_t i = 0; i < m->n_dets; i++)
        ids[m->n_truths + i] = m->dets[i].image;
    qsort(ids, n, sizeof *ids, cmp_i64);
    int32_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || ids[i] != ids[i - 1];
    qp_free(ids);
    return distinct;
}

static void scratch_free(struct scratch *s)
{
    qp_free(s->hits);
    qp_free(s->rc);
    qp_free(s->pr);
    qp_free(s->order);
    qp_free(s->ig);
    qp_free(s->taken);
}

static enum qp_status scratch_alloc(const struct qp_metrics *m, struct scratch *s,
                                    struct qp_err *err)
{
    size_t nd = m->n_dets ? m->n_dets : 1, ng = m->n_truths ? m->n_truths : 1;
    *s = (struct scratch){
        .hits  = qp_calloc(nd, sizeof *s->hits),
        .rc    = qp_calloc(nd, sizeof *s->rc),
        .pr    = qp_calloc(nd, sizeof *s->pr),
        .order = qp_calloc(ng, sizeof *s->order),
        .ig    = qp_calloc(ng, sizeof *s->ig),
        .taken = qp_calloc(ng, sizeof *s->taken),
    };
    if (s->hits && s->rc && s->pr && s->order && s->ig && s->taken)
        return QP_OK;
    scratch_free(s);
    return qp_fail(err, QP_E_NOMEM, "metrics: out of memory for %zu detections, %zu truths",
                   m->n_dets, m->n_truths);
}

/* Mean over classes (and recall thresholds) as COCOeval.summarize does:
 * s[s > -1].mean(), or -1 when nothing counts. */
static void fill_result(const struct area_sums sums[AREA_COUNT], struct qp_metrics_result *r)
{
    double map[AREA_COUNT];
    for (int a = 0; a < AREA_COUNT; a++) {
        double p = 0;
        for (int t = 0; t < N_IOU; t++)
            p += sums[a].prec[t];
        map[a] = sums[a].n_classes ? p / ((double)sums[a].n_classes * N_IOU * N_REC) : -1;
    }
    const struct area_sums *all = &sums[AREA_ALL];
    double                  k   = (double)all->n_classes;
    double                  rec = 0;
    for (int t = 0; t < N_IOU; t++)
        rec += all->rec[t];
    r->map       = map[AREA_ALL];
    r->ap_small  = map[AREA_SMALL];
    r->ap_medium = map[AREA_MEDIUM];
    r->ap_large  = map[AREA_LARGE];
    r->ap50      = k > 0 ? all->prec[0] / (k * N_REC) : -1;
    r->ap75      = k > 0 ? all->prec[5] / (k * N_REC) : -1; /* iouThrs[5] == 0.75 */
    r->recall50  = k > 0 ? all->rec[0] / k : -1;
    r->ar100     = k > 0 ? rec / (k * N_IOU) : -1;
    r->n_classes = all->n_classes;
}

enum qp_status qp_metrics_compute(struct qp_metrics *m, struct qp_metrics_result *out,
                                  struct qp_err *err)
{
    struct scratch s;
    enum qp_status st = scratch_alloc(m, &s, err);
    if (st != QP_OK)
        return st;
    int32_t n_images = count_images(m);
    if (n_images < 0) {
        scratch_free(&s);
        return qp_fail(err, QP_E_NOMEM, "metrics: out of memory counting images");
    }
    sort_all(m);
    size_t n_cls = 0; /* at most one row per distinct class among the truths */
    for (size_t i = 0; i < m->n_truths; i++)
        n_cls += i == 0 || m->truths[i].cls != m->truths[i - 1].cls;
    struct qp_metrics_class *rows = qp_calloc(n_cls + 1, sizeof *rows);
    if (!rows) {
        scratch_free(&s);
        return qp_fail(err, QP_E_NOMEM, "metrics: out of memory for %zu classes", n_cls);
    }
    qp_free(m->classes);
    m->classes   = rows;
    m->n_classes = 0;

    struct area_sums sums[AREA_COUNT] = {0};
    size_t           gi = 0, di = 0;
    while (gi < m->n_truths || di < m->n_dets) {
        int32_t cls = gi < m->n_truths ? m->truths[gi].cls : m->dets[di].cls;
        if (di < m->n_dets && m->dets[di].cls < cls)
            cls = m->dets[di].cls;
        struct span gc = {gi, gi}, dc = {di, di};
        if (gi < m->n_truths && m->truths[gi].cls == cls)
            gc.hi = span_end_truth(m, gi, false);
        if (di < m->n_dets && m->dets[di].cls == cls)
            dc.hi = span_end_det(m, di, false);
        for (int a = 0; a < AREA_COUNT; a++) {
            struct area_sums one = {0};
            eval_class(m, gc, dc, (enum area)a, &s, &one);
            for (int t = 0; t < N_IOU; t++) {
                sums[a].prec[t] += one.prec[t];
                sums[a].rec[t] += one.rec[t];
            }
            sums[a].n_classes += one.n_classes;
            if (a != AREA_ALL || !one.n_classes)
                continue;
            struct qp_metrics_class *r = &rows[m->n_classes++];
            double                   p = 0;
            for (int t = 0; t < N_IOU; t++)
                p += one.prec[t];
            r->class_id = cls;
            for (size_t k = gc.lo; k < gc.hi; k++)
                r->truths += !m->truths[k].crowd;
            r->map      = p / (N_IOU * N_REC);
            r->ap50     = one.prec[0] / N_REC;
            r->recall50 = one.rec[0];
        }
        gi = gc.hi;
        di = dc.hi;
    }
    scratch_free(&s);
    fill_result(sums, out);
    out->n_images = n_images;
    double boxes = 0, weighted = 0;
    for (int32_t i = 0; i < m->n_classes; i++) {
        boxes += (double)rows[i].truths;
        weighted += (double)rows[i].truths * rows[i].map;
    }
    out->map_boxes = boxes > 0 ? weighted / boxes : -1;
    return QP_OK;
}

const struct qp_metrics_class *qp_metrics_classes(const struct qp_metrics *m, int32_t *n)
{
    *n = m->n_classes;
    return m->classes;
}
