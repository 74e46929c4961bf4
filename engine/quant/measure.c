// SPDX-License-Identifier: Apache-2.0
/*
 * measure.c - output SQNR, detection agreement and per-layer SQNR of a
 * quantized engine against the float model (measure.h).
 */
#include "quant/measure.h"
#include "quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "engine_int.h"
#include "eval/metrics.h"

static double db(double sig, double noise)
{
    if (noise <= 0.0)
        return INFINITY;
    return sig > 0.0 ? 10.0 * log10(sig / noise) : -INFINITY;
}

void qp_measure_fini(struct qp_measure *m)
{
    for (int32_t i = 0; i < m->n; i++)
        qp_image_free(&m->img[i]);
    for (int32_t i = 0; m->ref_out && i < m->n * m->n_out; i++)
        qp_free(m->ref_out[i]);
    qp_free(m->img);
    qp_free(m->ref_out);
    qp_free(m->out_numel);
    qp_free(m->ref_det);
    qp_free(m->ref_n);
    memset(m, 0, sizeof *m);
}

static size_t numel_of(const struct qp_tensor_info *t)
{
    size_t n = 1;
    for (int32_t d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

enum qp_status qp_measure_init(struct qp_measure *m, struct qp_calib *c,
                               const struct qp_model_spec *spec, const char *const *images,
                               int32_t n, struct qp_err *err)
{
    memset(m, 0, sizeof *m);
    m->c           = c;
    m->spec        = spec;
    m->score_truth = 0.3f;
    m->score_min   = 0.05f;
    m->n_out       = qp_engine_n_outputs(c->e);
    m->img         = qp_calloc((size_t)n + 1, sizeof *m->img);
    m->ref_out     = qp_calloc((size_t)(n * m->n_out) + 1, sizeof *m->ref_out);
    m->out_numel   = qp_calloc((size_t)m->n_out + 1, sizeof *m->out_numel);
    m->ref_det     = qp_calloc((size_t)n * QP_MEASURE_MAX_DETS + 1, sizeof *m->ref_det);
    m->ref_n       = qp_calloc((size_t)n + 1, sizeof *m->ref_n);
    if (!m->img || !m->ref_out || !m->out_numel || !m->ref_det || !m->ref_n)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the measurement images");
    for (int32_t k = 0; k < m->n_out; k++) {
        struct qp_tensor_info info;
        qp_engine_output_info(c->e, k, &info);
        if (info.dtype != QP_DTYPE_F32)
            return qp_fail(err, QP_E_UNSUPPORTED, "output '%s' is %s: measured outputs are f32",
                           info.name, qp_dtype_name(info.dtype));
        m->out_numel[k] = numel_of(&info);
    }
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    p.score_min               = m->score_truth;
    p.max_dets                = QP_MEASURE_MAX_DETS;
    for (int32_t i = 0; i < n; i++) {
        enum qp_status s = qp_image_load(images[i], &m->img[i], err);
        if (s != QP_OK)
            return s;
        m->n++;
        s = qp_detector_run(c->det, &m->img[i], &p, m->ref_det + i * QP_MEASURE_MAX_DETS,
                            QP_MEASURE_MAX_DETS, &m->ref_n[i], err);
        for (int32_t k = 0; k < m->n_out && s == QP_OK; k++) {
            float *o = qp_alloc(m->out_numel[k] * sizeof *o + 1);
            if (!o)
                return qp_fail(err, QP_E_NOMEM, "out of memory for reference outputs");
            memcpy(o, qp_engine_output(c->e, k), m->out_numel[k] * sizeof *o);
            m->ref_out[i * m->n_out + k] = o;
        }
        if (s != QP_OK)
            return s;
    }
    return QP_OK;
}

/* Image i of the measurement into mx as image id: the float model's
 * detections as truth, the engine's (d, nd of them) as detections. */
static enum qp_status add_image(struct qp_metrics *mx, const struct qp_measure *m, int32_t i,
                                int64_t id, const struct qp_detection *d, int32_t nd,
                                struct qp_err *err)
{
    enum qp_status s = QP_OK;
    for (int32_t k = 0; k < m->ref_n[i] && s == QP_OK; k++) {
        const struct qp_detection *t      = &m->ref_det[i * QP_MEASURE_MAX_DETS + k];
        float                      box[4] = {t->x0, t->y0, t->x1, t->y1};
        s = qp_metrics_add_truth(mx, id, t->class_id, box, false, err);
    }
    for (int32_t k = 0; k < nd && s == QP_OK; k++) {
        float box[4] = {d[k].x0, d[k].y0, d[k].x1, d[k].y1};
        s            = qp_metrics_add_detection(mx, id, d[k].class_id, d[k].score, box, err);
    }
    return s;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum qp_status qp_measure_agreement_low(const struct qp_measure *m, const struct qp_detection *det,
                                        const int32_t *nd, double *low, struct qp_err *err)
{
    double *v = qp_alloc(QP_MEASURE_RESAMPLES * sizeof *v);
    if (!v)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the agreement's bootstrap");
    uint64_t       x = 0x853c49e6748fea9bu;
    int32_t        k = 0;
    enum qp_status s = QP_OK;
    for (int32_t b = 0; b < QP_MEASURE_RESAMPLES && s == QP_OK; b++) {
        struct qp_metrics       *mx = NULL;
        struct qp_metrics_result mr = {.map = -1.0};
        s                           = qp_metrics_new(&mx, err);
        for (int32_t j = 0; j < m->n && s == QP_OK; j++) {
            x         = x * 6364136223846793005u + 1442695040888963407u; /* PCG's LCG step */
            int32_t i = (int32_t)((x >> 33) % (uint64_t)m->n);
            s         = add_image(mx, m, i, j, det + (size_t)i * QP_MEASURE_MAX_DETS, nd[i], err);
        }
        if (s == QP_OK)
            s = qp_metrics_compute(mx, &mr, err);
        if (s == QP_OK && mr.map >= 0.0)
            v[k++] = mr.map;
        qp_metrics_free(mx);
    }
    qsort(v, (size_t)k, sizeof *v, by_value);
    *low = k > 0 ? v[(int32_t)(QP_MEASURE_LOW_QUANTILE * k)] : -1.0;
    qp_free(v);
    return s;
}

enum qp_status qp_measure_engine(const struct qp_measure *m, struct qp_engine *e, bool low,
                                 struct qp_measure_result *r, struct qp_err *err)
{
    struct qp_detector  *det = NULL;
    struct qp_metrics   *mx  = NULL;
    struct qp_detection *d   = qp_alloc((size_t)m->n * QP_MEASURE_MAX_DETS * sizeof *d + 1);
    int32_t             *nd  = qp_calloc((size_t)m->n + 1, sizeof *nd);
    double               sig = 0.0, noise = 0.0;
    enum qp_status       s = d && nd ? qp_detector_new(e, m->spec, &det, err)
                                     : qp_fail(err, QP_E_NOMEM, "out of memory measuring");
    if (s == QP_OK)
        s = qp_metrics_new(&mx, err);
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    p.score_min               = m->score_min;
    p.max_dets                = QP_MEASURE_MAX_DETS;
    for (int32_t i = 0; i < m->n && s == QP_OK; i++) {
        struct qp_detection *di = d + (size_t)i * QP_MEASURE_MAX_DETS;
        s = qp_detector_run(det, &m->img[i], &p, di, QP_MEASURE_MAX_DETS, &nd[i], err);
        if (s == QP_OK)
            s = add_image(mx, m, i, i, di, nd[i], err);
        for (int32_t k = 0; k < m->n_out && s == QP_OK; k++) {
            const float *y = m->ref_out[i * m->n_out + k], *q = qp_engine_output(e, k);
            for (size_t j = 0; j < m->out_numel[k]; j++) {
                double dv = (double)y[j] - (double)q[j];
                sig += (double)y[j] * (double)y[j];
                noise += dv * dv;
            }
        }
    }
    struct qp_metrics_result mr;
    if (s == QP_OK)
        s = qp_metrics_compute(mx, &mr, err);
    r->agreement_low = NAN;
    if (s == QP_OK && low)
        s = qp_measure_agreement_low(m, d, nd, &r->agreement_low, err);
    if (s == QP_OK) {
        r->out_sqnr_db = db(sig, noise);
        r->agreement   = mr.map;
        r->ap50        = mr.ap50;
        r->ap75        = mr.ap75;
        r->recall50    = mr.recall50;
    }
    qp_metrics_free(mx);
    qp_detector_free(det);
    qp_free(d);
    qp_free(nd);
    return s;
}

/* Index of the readable tensor called name in e, or -1. */
static int32_t tensor_index(struct qp_engine *e, const char *name)
{
    struct qp_tensor_info info;
    for (int32_t t = 0; t < qp_engine_n_tensors(e); t++)
        if (qp_engine_tensor_info(e, t, &info) && strcmp(info.name, name) == 0)
            return t;
    return -1;
}

enum qp_status qp_measure_layers(const struct qp_measure *m, struct qp_engine *eq,
                                 const char *const *names, int32_t n, double *sqnr_db,
                                 float **chan_err, struct qp_err *err)
{
    double **csum = chan_err ? qp_calloc((size_t)n + 1, sizeof *csum) : NULL;
    for (int32_t l = 0; chan_err && l < n; l++)
        chan_err[l] = NULL;
    int32_t *fi = qp_calloc((size_t)n + 1, sizeof *fi), *qi = qp_calloc((size_t)n + 1, sizeof *qi);
    double  *sig             = qp_calloc((size_t)n + 1, sizeof *sig),
           *noi              = qp_calloc((size_t)n + 1, sizeof *noi);
    int8_t             *qbuf = NULL;
    struct qp_detector *det  = NULL;
    enum qp_status      s    = QP_OK;
    if (!fi || !qi || !sig || !noi || (chan_err && !csum))
        s = qp_fail(err, QP_E_NOMEM, "out of memory measuring layers");
    const struct qp_graph *gq   = qp_engine_graph(eq);
    int64_t                most = 1;
    for (int32_t l = 0; l < n && s == QP_OK; l++) {
        char name[600];
        snprintf(name, sizeof name, "%s@i8", names[l]);
        const struct qp_calib_watch *w = qp_calib_find(m->c, names[l]);
        fi[l]                          = w ? w->tensor : -1;
        qi[l]                          = w ? tensor_index(eq, name) : -1;
        if (w && qi[l] < 0) { /* a layer with a float output writes the tensor itself */
            int32_t t = tensor_index(eq, names[l]), p = t >= 0 ? gq->tensors[t].producer : -1;
            qi[l] = p >= 0 && gq->nodes[p].op == QP_OP_QCONV ? t : -1;
        }
        if (qi[l] >= 0 && ((gq->tensors[qi[l]].dtype != QP_DTYPE_I8 &&
                            gq->tensors[qi[l]].dtype != QP_DTYPE_F32) ||
                           qp_tensor_numel(&gq->tensors[qi[l]]) != w->numel))
            qi[l] = -1;
        if (qi[l] >= 0 && w->numel > most)
            most = w->numel;
        const struct qp_tensor *tq = qi[l] >= 0 ? &gq->tensors[qi[l]] : NULL;
        if (csum && tq && tq->rank >= 2 &&
            !(csum[l] = qp_calloc((size_t)tq->dims[1] + 1, sizeof **csum)))
            s = qp_fail(err, QP_E_NOMEM, "out of memory measuring layers");
    }
    if (s == QP_OK && !(qbuf = qp_alloc((size_t)most * sizeof(float))))
        s = qp_fail(err, QP_E_NOMEM, "out of memory measuring layers");
    if (s == QP_OK)
        s = qp_detector_new(eq, m->spec, &det, err);
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    struct qp_detection     d[16];
    for (int32_t i = 0; i < m->n && s == QP_OK; i++) {
        int32_t nd;
        s = qp_detector_run(m->c->det, &m->img[i], &p, d, 16, &nd, err);
        if (s == QP_OK)
            s = qp_detector_run(det, &m->img[i], &p, d, 16, &nd, err);
        for (int32_t l = 0; l < n && s == QP_OK; l++) {
            if (qi[l] < 0)
                continue;
            const struct qp_tensor *tq    = &gq->tensors[qi[l]];
            size_t                  count = (size_t)qp_tensor_numel(tq);
            s        = qp_engine_read_tensor(m->c->e, fi[l], m->c->buf, count * sizeof(float), err);
            bool f32 = tq->dtype == QP_DTYPE_F32;
            if (s == QP_OK)
                s = qp_engine_read_tensor(eq, qi[l], qbuf, count * (f32 ? sizeof(float) : 1), err);
            int64_t ch = tq->rank >= 2 ? tq->dims[1] : 1, inner = 1;
            for (int32_t k = 2; k < tq->rank; k++)
                inner *= tq->dims[k];
            const float *div = qp_quant_divisors(gq, qi[l]);
            for (size_t j = 0; j < count && s == QP_OK; j++) {
                double y  = m->c->buf[j];
                double dq = f32 ? (double)((const float *)(const void *)qbuf)[j]
                                : (double)((int32_t)qbuf[j] - tq->zero_point) * (double)tq->scale;
                double dv = y - (div ? dq * div[((int64_t)j / inner) % ch] : dq);
                sig[l] += y * y;
                noi[l] += dv * dv;
                if (csum && csum[l])
                    csum[l][((int64_t)j / inner) % ch] += dv;
            }
        }
    }
    for (int32_t l = 0; l < n && s == QP_OK; l++) {
        if (sqnr_db)
            sqnr_db[l] = qi[l] < 0 ? NAN : db(sig[l], noi[l]);
        if (!chan_err)
            continue;
        chan_err[l] = NULL;
        if (!csum[l])
            continue;
        const struct qp_tensor *tq = &gq->tensors[qi[l]];
        int64_t                 ch = tq->dims[1], per = qp_tensor_numel(tq) / (ch ? ch : 1) * m->n;
        if (!(chan_err[l] = qp_alloc((size_t)ch * sizeof **chan_err))) {
            s = qp_fail(err, QP_E_NOMEM, "out of memory measuring layers");
            break;
        }
        for (int64_t c = 0; c < ch; c++)
            chan_err[l][c] = (float)(csum[l][c] / (double)(per ? per : 1));
    }
    for (int32_t l = 0; csum && l < n; l++)
        qp_free(csum[l]);
    qp_free(csum);
    qp_detector_free(det);
    qp_free(qbuf);
    qp_free(fi);
    qp_free(qi);
    qp_free(sig);
    qp_free(noi);
    return s;
}
