// SPDX-License-Identifier: Apache-2.0
/*
 * build.c - calibration, the mixed-precision search, quantization and the
 * per-layer report (build.h).
 *
 * A precision plan names every Conv layer of the front-half graph (in graph
 * order) with its precision; each candidate graph is built again from the
 * model by the front half and qp_pass_quantize (milliseconds), which keeps
 * every build independent of the previous one.
 */
#include "quant/build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h" /* qp_cpu_eval */
#include "core/alloc.h"
#include "core/sha256.h"
#include "engine_int.h"
#include "quant/quant.h"

/* GPTQ rounding depends on the layer's weights as it sees them (after
 * equalization) only: kept, a plan built again with the same weights (the
 * mixed search builds hundreds) reuses it. */
struct rounded {
    float  *w;
    int8_t *q;
    int64_t n;
};

struct plan {
    const struct qp_calib *c;
    char                 **names; /* Conv layers of the front graph */
    enum qp_precision     *prec;
    float                **delta; /* bias correction per layer ([M] or NULL) */
    int64_t               *m;     /* length of delta[i] */
    int32_t                n;
    bool                   equalize;
    bool                   gptq;    /* weights rounded by qp_gptq_round, else to nearest */
    struct rounded        *rounded; /* per layer: the last weights rounded and their q */
};

static int32_t layer_of(const struct plan *p, const char *name)
{
    for (int32_t i = 0; i < p->n; i++)
        if (strcmp(p->names[i], name) == 0)
            return i;
    return -1;
}

static const float *bias_cb(void *ctx, const char *name, int64_t m)
{
    const struct plan *p = ctx;
    int32_t            l = layer_of(p, name);
    return l >= 0 && p->delta[l] && p->m[l] == m ? p->delta[l] : NULL;
}

static bool chan_cb(void *ctx, const char *name, int64_t c, const float **mn, const float **mx)
{
    const struct plan           *p = ctx;
    const struct qp_calib_watch *w = p->c ? qp_calib_find(p->c, name) : NULL;
    if (!w || w->n_ch != c)
        return false;
    *mn = w->ch_min;
    *mx = w->ch_max;
    return true;
}

static enum qp_status round_cb(void *ctx, const char *name, const float *w, int64_t m, int64_t k,
                               int32_t groups, int64_t taps, const float *div, const float *scale,
                               int8_t *q, bool *done, struct qp_err *err)
{
    struct plan                  *p  = ctx;
    int32_t                       l  = layer_of(p, name);
    const struct qp_calib_moment *mo = p->c ? qp_calib_moment_find(p->c, name) : NULL;
    *done                            = false;
    if (!p->gptq || l < 0 || !mo || mo->geo.group != groups || qp_gptq_taps(&mo->geo) != k ||
        m % groups != 0)
        return QP_OK;
    struct rounded *r = &p->rounded[l];
    size_t          n = (size_t)(m * k);
    *done             = true;
    if (r->n == m * k && memcmp(r->w, w, n * sizeof *w) == 0) {
        memcpy(q, r->q, n);
        return QP_OK;
    }
    enum qp_status s = qp_gptq_round(w, m, k, groups, taps, mo->m, div, scale, q, NULL, err);
    qp_free(r->w);
    qp_free(r->q);
    r->w = qp_alloc(n * sizeof *r->w);
    r->q = qp_alloc(n);
    r->n = r->w && r->q ? m * k : 0;
    if (r->n) { /* no room to keep it: computed again next time */
        memcpy(r->w, w, n * sizeof *w);
        memcpy(r->q, q, n);
    }
    return s;
}

static void plan_clear_delta(struct plan *p)
{
    for (int32_t i = 0; i < p->n; i++) {
        qp_free(p->delta[i]);
        p->delta[i] = NULL;
        p->m[i]     = 0;
    }
}

static float amax_cb(void *ctx, const char *name)
{
    const struct plan           *p = ctx;
    const struct qp_calib_watch *w = p->c ? qp_calib_find(p->c, name) : NULL;
    return w ? w->amax : 0.0f;
}

static bool range_cb(void *ctx, const char *name, float *mn, float *mx)
{
    const struct plan           *p = ctx;
    const struct qp_calib_watch *w = p->c ? qp_calib_find(p->c, name) : NULL;
    if (!w || w->obs.n_values == 0)
        return false;
    *mn = w->obs.min;
    *mx = w->obs.max;
    return true;
}

static enum qp_precision prec_cb(void *ctx, const char *name)
{
    const struct plan *p = ctx;
    int32_t            l = layer_of(p, name);
    return l >= 0 ? p->prec[l] : QP_PREC_FP32;
}

static void plan_fini(struct plan *p)
{
    if (p->delta)
        plan_clear_delta(p);
    for (int32_t i = 0; i < p->n; i++) {
        qp_free(p->names[i]);
        qp_free(p->rounded[i].w);
        qp_free(p->rounded[i].q);
    }
    qp_free(p->rounded);
    qp_free(p->names);
    qp_free(p->prec);
    qp_free(p->delta);
    qp_free(p->m);
}

/* The Conv layers of the model's front-half graph, all at precision. */
static enum qp_status plan_init(const struct qp_build_opts *o, const struct qp_calib *c,
                                enum qp_precision precision, struct plan *p, struct qp_err *err)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_graph          g;
    memset(p, 0, sizeof *p);
    memset(&g, 0, sizeof g);
    p->c             = c;
    p->equalize      = o->equalize;
    p->gptq          = o->gptq;
    enum qp_status s = qp_engine_front(o->model, &opt, &g, NULL, err);
    if (s == QP_OK) {
        p->names   = qp_calloc((size_t)g.n_nodes + 1, sizeof *p->names);
        p->prec    = qp_calloc((size_t)g.n_nodes + 1, sizeof *p->prec);
        p->delta   = qp_calloc((size_t)g.n_nodes + 1, sizeof *p->delta);
        p->m       = qp_calloc((size_t)g.n_nodes + 1, sizeof *p->m);
        p->rounded = qp_calloc((size_t)g.n_nodes + 1, sizeof *p->rounded);
        if (!p->names || !p->prec || !p->delta || !p->m || !p->rounded)
            s = qp_fail(err, QP_E_NOMEM, "out of memory planning precisions");
    }
    for (int32_t i = 0; i < g.n_nodes && s == QP_OK; i++) {
        if (g.nodes[i].dead || g.nodes[i].op != QP_OP_CONV)
            continue;
        size_t len = strlen(g.nodes[i].name) + 1;
        if (!(p->names[p->n] = qp_alloc(len))) {
            s = qp_fail(err, QP_E_NOMEM, "out of memory planning precisions");
            break;
        }
        memcpy(p->names[p->n], g.nodes[i].name, len);
        p->prec[p->n++] = precision;
    }
    qp_graph_fini(&g);
    return s;
}

/* The quantized front-half graph of plan p into g (zeroed by the caller). */
static enum qp_status quantize_plan(const struct qp_build_opts *o, struct plan *p,
                                    struct qp_graph *g, struct qp_quant_stats *st,
                                    struct qp_err *err)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_quant_opts     qo  = {amax_cb,  prec_cb,  bias_cb, p->equalize ? chan_cb : NULL,
                                    range_cb, round_cb, p};
    enum qp_status           s   = qp_engine_front(o->model, &opt, g, NULL, err);
    return s != QP_OK ? s : qp_pass_quantize(g, &qo, st, err);
}

static enum qp_status open_plan(const struct qp_build_opts *o, struct plan *p, bool all_tensors,
                                struct qp_engine **e, struct qp_err *err)
{
    struct qp_graph          g;
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    memset(&g, 0, sizeof g);
    opt.backend      = QP_BACKEND_CPU;
    opt.n_threads    = o->n_threads;
    opt.all_tensors  = all_tensors;
    enum qp_status s = quantize_plan(o, p, &g, NULL, err);
    if (s == QP_OK) /* fold the FP16 layers' weight casts, as loading a .qpe does */
        s = qp_pass_infer_fold(&g, qp_cpu_eval, NULL, err);
    if (s == QP_OK)
        s = qp_engine_open_graph(&g, &opt, e, err);
    qp_graph_fini(&g);
    return s;
}

/* low: with the agreement's lower bound (measure.h) */
static enum qp_status measure_plan(const struct qp_build_opts *o, struct plan *p,
                                   const struct qp_measure *m, bool low,
                                   struct qp_measure_result *r, struct qp_err *err)
{
    struct qp_engine *e = NULL;
    enum qp_status    s = open_plan(o, p, false, &e, err);
    if (s == QP_OK)
        s = qp_measure_engine(m, e, low, r, err);
    qp_engine_free(e);
    return s;
}

static void progress(const struct qp_build_opts *o, const char *phase, int32_t done, int32_t total)
{
    if (o->progress)
        o->progress(o->progress_ctx, phase, done, total);
}

/* Bias correction of plan p (Nagel et al., "Data-Free Quantization", 2019,
 * with empirical input statistics): an INT8 layer computes
 * y_q = W_q x_q instead of y = W x, so its expected output error per output
 * channel is
 *   E[y - y_q] = sum over inputs and taps of (W - W_q) E[x] + W_q E[x - x_q]
 * with E[x] and E[x - x_q] per input channel taken from the float model on
 * the measurement images. x_q and W_q are what the plan's quantized graph
 * computes: x quantized on its INT8 twin's grid (scale, zero point, and
 * divided by the channel's divisor when equalized) and back, and the
 * layer's INT8 weights times their scales (over the divisor they absorbed).
 * Adding it to the bias removes the layer's own mean error, e.g. that of an
 * input channel whose whole range sits inside one quantization step. Each
 * layer's own error only: nothing is counted twice down the network. */
struct bc_layer {
    int32_t      node;     /* the QConv in the quantized graph */
    int32_t      fnode;    /* the Conv of the same name in the front graph */
    int32_t      tensor;   /* the float input's index in the calibration engine */
    int64_t      c, inner; /* input channels, elements per channel and image */
    float        sx;       /* input grid */
    int32_t      zx;
    const float *div;     /* the input's divisors (equalized), or NULL */
    double      *mx, *me; /* per input channel: sum of x, sum of x - x_q */
};

static enum qp_status bc_measure(const struct qp_measure *m, struct bc_layer *bl, int32_t n,
                                 struct qp_err *err)
{
    const struct qp_calib  *c = m->c;
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    struct qp_detection     d[16];
    enum qp_status          s = QP_OK;
    for (int32_t i = 0; i < m->n && s == QP_OK; i++) {
        int32_t nd;
        s = qp_detector_run(c->det, &m->img[i], &p, d, 16, &nd, err);
        for (int32_t l = 0; l < n && s == QP_OK; l++) {
            struct bc_layer *b     = &bl[l];
            int64_t          count = b->c * b->inner;
            s = qp_engine_read_tensor(c->e, b->tensor, c->buf, (size_t)count * sizeof(float), err);
            for (int64_t j = 0; j < count && s == QP_OK; j++) {
                int64_t ch = j / b->inner % b->c;
                float   dv = b->div ? b->div[ch] : 1.0f, x = c->buf[j];
                float   xq = qp_q_dequantize(qp_q_quantize(x / dv, b->sx, b->zx), b->sx, b->zx);
                b->mx[ch] += x;
                b->me[ch] += (double)x - (double)xq * dv;
            }
        }
    }
    return s;
}

/* The bias deltas of the INT8 layers of the quantized graph gq (inputs
 * measured into bl) against the float weights of the front graph g. */
static enum qp_status bc_deltas(struct plan *p, const struct qp_graph *g, const struct qp_graph *gq,
                                const struct qp_measure *m, const struct bc_layer *bl, int32_t n,
                                const int32_t *of, struct qp_err *err)
{
    for (int32_t k = 0; k < n; k++) {
        const struct bc_layer  *b  = &bl[k];
        const struct qp_node   *nq = &gq->nodes[b->node];
        const struct qp_tensor *wt = &gq->tensors[nq->in[1]];
        const int8_t           *wi = wt->data;
        const float            *ws = gq->tensors[nq->in[2]].data;
        int64_t mo = wt->dims[0], cg = wt->dims[1], taps = wt->dims[2] * wt->dims[3];
        int64_t per = (int64_t)m->n * b->inner, mg = mo / nq->attr.conv.group;
        float  *dl = qp_calloc((size_t)mo + 1, sizeof *dl);
        if (!dl)
            return qp_fail(err, QP_E_NOMEM, "out of memory correcting biases");
        const float *wd = g->tensors[g->nodes[b->fnode].in[1]].data;
        for (int64_t c = 0; c < mo; c++) {
            int64_t g0  = c / mg * cg;
            double  acc = 0.0;
            for (int64_t ci = 0; ci < cg; ci++)
                for (int64_t t = 0; t < taps; t++) {
                    int64_t at = (c * cg + ci) * taps + t;
                    double  wq = (double)wi[at] * ws[c] / (b->div ? b->div[g0 + ci] : 1.0f);
                    acc += ((double)wd[at] - wq) * b->mx[g0 + ci] / (double)per +
                           wq * b->me[g0 + ci] / (double)per;
                }
            dl[c] = (float)acc;
        }
        p->delta[of[k]] = dl;
        p->m[of[k]]     = mo;
    }
    return QP_OK;
}

static enum qp_status correct_bias(const struct qp_build_opts *o, struct plan *p,
                                   const struct qp_measure *m, struct qp_err *err)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_graph          g, gq;
    memset(&g, 0, sizeof g);
    memset(&gq, 0, sizeof gq);
    plan_clear_delta(p);
    struct bc_layer *bl = qp_calloc((size_t)p->n + 1, sizeof *bl);
    int32_t         *of = qp_calloc((size_t)p->n + 1, sizeof *of); /* plan layer of bl[k] */
    int32_t          n  = 0;
    enum qp_status   s  = bl && of ? qp_engine_front(o->model, &opt, &g, NULL, err)
                                   : qp_fail(err, QP_E_NOMEM, "out of memory correcting biases");
    if (s == QP_OK)
        s = quantize_plan(o, p, &gq, NULL, err);
    for (int32_t i = 0; s == QP_OK && i < gq.n_nodes; i++) {
        const struct qp_node *nd = &gq.nodes[i];
        if (nd->op != QP_OP_QCONV || nd->n_in < 3)
            continue;
        int32_t l = 0;
        while (l < p->n && strcmp(p->names[l], nd->name) != 0)
            l++;
        const struct qp_tensor *x  = &gq.tensors[nd->in[0]];
        int32_t                 fn = -1; /* the float Conv; its input is x's original */
        for (int32_t k = 0; k < g.n_nodes && fn < 0; k++)
            if (!g.nodes[k].dead && g.nodes[k].op == QP_OP_CONV &&
                strcmp(g.nodes[k].name, nd->name) == 0)
                fn = k;
        const struct qp_calib_watch *w =
            fn >= 0 ? qp_calib_find(m->c, g.tensors[g.nodes[fn].in[0]].name) : NULL;
        if (l == p->n || !w || x->rank != 4 || x->dtype != QP_DTYPE_I8 ||
            gq.tensors[nd->in[1]].dtype != QP_DTYPE_I8 || w->numel != qp_tensor_numel(x))
            continue;
        struct bc_layer *b = &bl[n];
        b->node            = i;
        b->fnode           = fn;
        b->tensor          = w->tensor;
        b->c               = x->dims[1];
        b->inner           = x->dims[0] * x->dims[2] * x->dims[3];
        b->sx              = x->scale;
        b->zx              = x->zero_point;
        b->div             = qp_quant_divisors(&gq, nd->in[0]);
        b->mx              = qp_calloc((size_t)b->c + 1, sizeof *b->mx);
        b->me              = qp_calloc((size_t)b->c + 1, sizeof *b->me);
        of[n++]            = l;
        if (!b->mx || !b->me)
            s = qp_fail(err, QP_E_NOMEM, "out of memory correcting biases");
    }
    if (s == QP_OK)
        s = bc_measure(m, bl, n, err);
    if (s == QP_OK)
        s = bc_deltas(p, &g, &gq, m, bl, n, of, err);
    for (int32_t k = 0; bl && k < n; k++) {
        qp_free(bl[k].mx);
        qp_free(bl[k].me);
    }
    qp_free(bl);
    qp_free(of);
    qp_graph_fini(&gq);
    qp_graph_fini(&g);
    return s;
}

struct ranked {
    int32_t layer;
    double  agreement, db;
};

/* Most sensitive first: the lowest agreement with that layer alone INT8
 * (what the search is after: the detections), then the lowest output SQNR
 * (which separates layers whose detections all still agree). */
static int by_sensitivity(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->agreement != y->agreement)
        return x->agreement < y->agreement ? -1 : 1;
    if (x->db != y->db)
        return x->db < y->db ? -1 : 1;
    return x->layer - y->layer;
}

/* Mixed precision: sensitivity of each layer, then FP16 for the most
 * sensitive until the agreement target holds for the agreement's lower
 * bound (measure.h), or a fifth are FP16. */
static enum qp_status search(const struct qp_build_opts *o, struct plan *p,
                             const struct qp_measure *m, double *sens, double *sens_map, bool *met,
                             struct qp_err *err)
{
    struct ranked *rank = qp_calloc((size_t)p->n + 1, sizeof *rank);
    if (!rank)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the sensitivity search");
    enum qp_status s = QP_OK;
    for (int32_t l = 0; l < p->n && s == QP_OK; l++) {
        struct qp_measure_result r;
        for (int32_t k = 0; k < p->n; k++)
            p->prec[k] = k == l ? QP_PREC_INT8 : QP_PREC_FP32;
        plan_clear_delta(p);
        s = measure_plan(o, p, m, false, &r, err);
        if (s != QP_OK)
            break; /* r holds nothing */
        sens[l]     = r.out_sqnr_db;
        sens_map[l] = r.agreement;
        rank[l]     = (struct ranked){l, r.agreement, r.out_sqnr_db};
        progress(o, "sensitivity", l + 1, p->n);
    }
    if (s == QP_OK)
        qsort(rank, (size_t)p->n, sizeof *rank, by_sensitivity);
    int32_t limit = p->n / 5, step = p->n / 40 > 1 ? p->n / 40 : 1, fp16 = 0;
    for (int32_t k = 0; k < p->n; k++)
        p->prec[k] = QP_PREC_INT8;
    *met = false;
    while (s == QP_OK) {
        struct qp_measure_result r;
        if (o->bias_correction)
            s = correct_bias(o, p, m, err);
        if (s == QP_OK)
            s = measure_plan(o, p, m, true, &r, err);
        progress(o, "search", fp16, limit);
        if (s != QP_OK)
            break;
        if (r.agreement_low >= o->min_agreement || r.agreement < 0) {
            *met = true;
            break;
        }
        if (fp16 >= limit)
            break;
        for (int32_t k = 0; k < step && fp16 < limit; k++)
            p->prec[rank[fp16++].layer] = QP_PREC_FP16;
    }
    qp_free(rank);
    return s;
}

/* The float tensor a QConv's output stands for: y itself at a float
 * output, else y is "<float name>@i8". */
static void layer_base(const struct qp_tensor *y, char *out, size_t n)
{
    size_t len = strlen(y->name);
    if (y->dtype == QP_DTYPE_F32 || len < 3)
        snprintf(out, n, "%s", y->name);
    else
        snprintf(out, n, "%.*s", (int)(len - 3), y->name);
}

/* One report row per Conv / QConv layer of the result graph. */
static enum qp_status report(struct qp_build_result *r, const struct qp_calib *c,
                             const struct plan *p, const double *sens, const double *sens_map,
                             struct qp_err *err)
{
    const struct qp_graph *g = &r->g;
    r->layers                = qp_calloc((size_t)g->n_nodes + 1, sizeof *r->layers);
    if (!r->layers)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the build report");
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (n->op != QP_OP_CONV && n->op != QP_OP_QCONV)
            continue;
        struct qp_build_layer *l = &r->layers[r->n_layers++];
        l->name                  = n->name;
        enum qp_precision want   = prec_cb((void *)p, n->name);
        /* an INT8 layer whose tensors were not calibrated stays FP32 */
        l->precision = n->op == QP_OP_QCONV   ? QP_PREC_INT8
                       : want == QP_PREC_INT8 ? QP_PREC_FP32
                                              : want;
        l->sqnr_db = l->sensitivity_db = l->sensitivity_map = NAN;
        for (int32_t k = 0; sens && k < p->n; k++)
            if (strcmp(p->names[k], n->name) == 0) {
                l->sensitivity_db  = sens[k];
                l->sensitivity_map = sens_map[k];
            }
        if (n->op != QP_OP_QCONV)
            continue;
        const struct qp_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
        l->x_scale = x->scale;
        l->y_scale = y->scale; /* 0 at a float output */
        char base[512];
        layer_base(y, base, sizeof base);
        const struct qp_calib_watch *w = c ? qp_calib_find(c, base) : NULL;
        if (w) {
            struct qp_observer_stats st;
            qp_observer_stats(&w->obs, w->amax, &st);
            l->amax       = w->amax;
            l->saturation = y->dtype == QP_DTYPE_F32 ? 0.0 : st.saturation;
        }
    }
    return QP_OK;
}

/* Final measurements: the result's agreement and every INT8 layer's SQNR. */
static enum qp_status measure_result(const struct qp_build_opts *o, struct plan *p,
                                     const struct qp_measure *m, struct qp_build_result *r,
                                     struct qp_err *err)
{
    struct qp_engine *e     = NULL;
    const char      **names = qp_calloc((size_t)r->n_layers + 1, sizeof *names);
    double           *db    = qp_calloc((size_t)r->n_layers + 1, sizeof *db);
    int32_t           n     = 0;
    /* the agreement of the engine as it will run (activations fused), then
     * every layer through an engine with all tensors readable */
    enum qp_status s = names && db ? measure_plan(o, p, m, true, &r->m, err)
                                   : qp_fail(err, QP_E_NOMEM, "out of memory measuring");
    if (s == QP_OK)
        s = open_plan(o, p, true, &e, err);
    char(*base)[512] = s == QP_OK ? qp_calloc((size_t)r->n_layers + 1, sizeof *base) : NULL;
    if (s == QP_OK && !base)
        s = qp_fail(err, QP_E_NOMEM, "out of memory measuring");
    for (int32_t i = 0; s == QP_OK && i < r->g.n_nodes; i++) {
        const struct qp_node *nd = &r->g.nodes[i];
        if (nd->op != QP_OP_QCONV)
            continue;
        layer_base(&r->g.tensors[nd->out[0]], base[n], sizeof base[n]);
        names[n] = base[n];
        n++;
    }
    if (s == QP_OK)
        s = qp_measure_layers(m, e, names, n, db, NULL, err);
    for (int32_t i = 0, k = 0; s == QP_OK && k < r->n_layers; k++)
        if (r->layers[k].precision == QP_PREC_INT8 && i < n)
            r->layers[k].sqnr_db = db[i++];
    r->n_measured = s == QP_OK ? m->n : 0;
    qp_free(base);
    qp_free(names);
    qp_free(db);
    qp_engine_free(e);
    return s;
}

/* Plan p measured without and with bias correction (plain, fixed); the
 * corrected deltas stay in p (*kept) only when they measure better by more
 * than the measurement's own spread: agreement above plain's by more than
 * plain's agreement minus its bootstrap lower bound (measure.h), or, when
 * the float model found no box, a higher output SQNR. On a few dozen
 * images a gain of 0.002 is noise: YOLOX-Nano's correction measured 0.925
 * against 0.923 on 19 images, and its engine scored 0.864 against 0.920
 * on 233 others (docs/quantization.md). */
static enum qp_status try_bias(const struct qp_build_opts *o, struct plan *p,
                               const struct qp_measure *m, struct qp_measure_result *plain,
                               struct qp_measure_result *fixed, bool *kept, struct qp_err *err)
{
    plan_clear_delta(p);
    enum qp_status s = measure_plan(o, p, m, true, plain, err);
    if (s == QP_OK)
        s = correct_bias(o, p, m, err);
    if (s == QP_OK)
        s = measure_plan(o, p, m, false, fixed, err);
    if (s != QP_OK)
        return s;
    double spread = isfinite(plain->agreement_low) ? plain->agreement - plain->agreement_low : 0.0;
    *kept         = plain->agreement < 0 || fixed->agreement < 0
                        ? fixed->out_sqnr_db > plain->out_sqnr_db
                        : fixed->agreement > plain->agreement + spread;
    if (!*kept)
        plan_clear_delta(p);
    return QP_OK;
}

/* Bias correction of the chosen plan, kept only when it helps; both
 * numbers go to the report. */
static enum qp_status keep_if_better(const struct qp_build_opts *o, struct plan *p,
                                     const struct qp_measure *m, struct qp_build_result *r,
                                     struct qp_err *err)
{
    struct qp_measure_result plain, fixed;
    enum qp_status           s = try_bias(o, p, m, &plain, &fixed, &r->bias_corrected, err);
    if (s != QP_OK)
        return s;
    r->agreement_plain     = plain.agreement;
    r->agreement_corrected = fixed.agreement;
    progress(o, "bias correction", 1, 1);
    return QP_OK;
}

/* What equalization bought: the agreement of the chosen plan without it. */
static enum qp_status measure_unequalized(const struct qp_build_opts *o, struct plan *p,
                                          const struct qp_measure *m, struct qp_build_result *r,
                                          struct qp_err *err)
{
    struct qp_measure_result plain;
    p->equalize              = false;
    enum qp_status s         = measure_plan(o, p, m, false, &plain, err);
    p->equalize              = true;
    r->agreement_unequalized = s == QP_OK ? plain.agreement : NAN;
    return s;
}

/* GPTQ rounding against round-to-nearest on the chosen plan (with bias
 * correction, when kept, computed again for each rounding's weights): the
 * better agreement, then output SQNR, is kept. Which one generalizes
 * depends on the network: on held-out frames GPTQ lifted YOLOX-Nano and
 * lowered NanoDet-m (docs/quantization.md). */
static enum qp_status pick_rounding(const struct qp_build_opts *o, struct plan *p,
                                    const struct qp_measure *m, struct qp_build_result *r,
                                    struct qp_err *err)
{
    struct qp_measure_result g, n;
    enum qp_status           s = measure_plan(o, p, m, false, &g, err);
    p->gptq                    = false;
    if (s == QP_OK && r->bias_corrected)
        s = correct_bias(o, p, m, err);
    if (s == QP_OK)
        s = measure_plan(o, p, m, false, &n, err);
    if (s != QP_OK)
        return s;
    p->gptq =
        g.agreement > n.agreement || (g.agreement == n.agreement && g.out_sqnr_db >= n.out_sqnr_db);
    if (p->gptq && r->bias_corrected) /* the GPTQ weights' deltas again: deterministic */
        s = correct_bias(o, p, m, err);
    r->agreement_gptq    = g.agreement;
    r->agreement_nearest = n.agreement;
    r->gptq_kept         = p->gptq;
    progress(o, "weight rounding", 1, 1);
    return s;
}

/* Thresholds by every observer kind, each measured all INT8 (and, when
 * asked, with the bias correction decided as keep_if_better decides it);
 * c keeps the best (agreement, then output SQNR) and p that method's bias
 * correction, whose numbers go to the report. */
static enum qp_status pick_method(const struct qp_build_opts *o, struct qp_calib *c, struct plan *p,
                                  const struct qp_measure *m, struct qp_build_result *r,
                                  struct qp_err *err)
{
    struct qp_measure_result best = {0}, mr, plain, fixed;
    enum qp_status           s    = QP_OK;
    for (int k = 0; k < QP_OBSERVER_COUNT && s == QP_OK; k++) {
        bool kept = false;
        qp_calib_thresholds(c, (enum qp_observer_kind)k);
        if (o->bias_correction)
            s = try_bias(o, p, m, &plain, &fixed, &kept, err);
        else
            s = measure_plan(o, p, m, false, &plain, err);
        plan_clear_delta(p);
        progress(o, "clipping", k + 1, QP_OBSERVER_COUNT);
        if (s != QP_OK)
            break;
        mr                     = kept ? fixed : plain;
        r->method_agreement[k] = mr.agreement;
        if (k == 0 || mr.agreement > best.agreement ||
            (mr.agreement == best.agreement && mr.out_sqnr_db > best.out_sqnr_db)) {
            best                   = mr;
            r->method              = (enum qp_observer_kind)k;
            r->agreement_plain     = plain.agreement;
            r->agreement_corrected = o->bias_correction ? fixed.agreement : NAN;
            r->bias_corrected      = kept;
        }
    }
    qp_calib_thresholds(c, r->method);
    if (s == QP_OK && r->bias_corrected) /* the same deltas again: deterministic */
        s = correct_bias(o, p, m, err);
    return s;
}

static void calib_progress(void *ctx, int32_t done, int32_t total)
{
    progress(ctx, "calibrating", done, total);
}

/* Calibrate, and open the measurement on the caller's measure list (held
 * out) or on n_measure images spread over the --calib list: held out of
 * calibration (calibrated on the others) when there are
 * QP_BUILD_HOLDOUT_MIN times as many, else calibrated on as well. hash
 * covers every image: the calibrated ones, then the held-out ones. */
static enum qp_status calibrate_and_pick(const struct qp_build_opts *o, struct qp_calib *c,
                                         struct qp_measure *m, struct qp_sha256 *hash,
                                         struct qp_build_result *r, struct qp_err *err)
{
    bool   *held_out = &r->measure_held_out;
    int32_t n = o->n_images, nm = o->n_measure < n ? o->n_measure : n, nc = 0;
    nm                = o->measure ? o->n_measure_list : nm > 0 ? nm : 0;
    const char **pick = qp_calloc((size_t)(n + nm) + 1, sizeof *pick);
    *held_out         = nm > 0 && (o->measure || n >= QP_BUILD_HOLDOUT_MIN * nm);
    if (!pick)
        return qp_fail(err, QP_E_NOMEM, "out of memory");
    const char **rest = pick + nm;
    for (int32_t k = 0; o->measure && k < nm; k++) { /* the user's: none may be calibrated on */
        for (int32_t i = 0; i < n; i++)
            if (strcmp(o->measure[k], o->images[i]) == 0) {
                qp_free(pick);
                return qp_fail(err, QP_E_INVAL,
                               "%s is both a calibration and a measurement "
                               "image: measured images must be held out",
                               o->measure[k]);
            }
        pick[k] = o->measure[k];
    }
    for (int32_t i = 0, k = 0; i < n; i++) { /* image i is measured when it is the k-th pick */
        bool measured = !o->measure && k < nm && i == (int32_t)((int64_t)k * n / nm);
        if (measured)
            pick[k++] = o->images[i];
        else
            rest[nc++] = o->images[i];
    }
    /* held out: calibrate on the rest; else on the whole list */
    const char *const *cal = *held_out ? rest : o->images;
    nc                     = *held_out ? nc : n;
    r->n_calibrated        = nc;
    enum qp_status s =
        qp_calib_open(o->model, o->spec, o->n_threads, &o->observer, o->gptq, c, err);
    if (s == QP_OK)
        s = qp_calib_run(c, cal, nc, calib_progress, (void *)o, hash, err);
    for (int32_t i = 0; s == QP_OK && *held_out && i < nm; i++)
        s = qp_calib_hash_file(hash, pick[i], err);
    if (s == QP_OK && nm > 0)
        s = qp_measure_init(m, c, o->spec, pick, nm, err);
    qp_free(pick);
    return s;
}

enum qp_status qp_build_run(const struct qp_build_opts *o, struct qp_build_result *r,
                            struct qp_err *err)
{
    memset(r, 0, sizeof *r);
    struct qp_calib   c;
    struct qp_measure m;
    struct plan       p;
    double           *sens = NULL, *sens_map = NULL;
    memset(&c, 0, sizeof c);
    memset(&m, 0, sizeof m);
    memset(&p, 0, sizeof p);
    struct qp_sha256 hash;
    qp_sha256_init(&hash);
    bool calibrate = o->mixed || o->precision == QP_PREC_INT8;
    if (calibrate && o->n_images < 1)
        return qp_fail(err, QP_E_INVAL, "%s: int8 needs calibration images (--calib)", o->model);
    enum qp_status s = QP_OK;
    if (calibrate)
        s = calibrate_and_pick(o, &c, &m, &hash, r, err);
    r->method = o->observer.kind;
    for (int k = 0; k < QP_OBSERVER_COUNT; k++)
        r->method_agreement[k] = NAN;
    if (s == QP_OK)
        s = plan_init(o, calibrate ? &c : NULL, o->mixed ? QP_PREC_INT8 : o->precision, &p, err);
    bool picked = s == QP_OK && calibrate && o->pick_method && m.n > 0;
    if (picked)
        s = pick_method(o, &c, &p, &m, r, err);
    if (s == QP_OK && o->mixed && m.n > 0) {
        sens     = qp_calloc((size_t)p.n + 1, sizeof *sens);
        sens_map = qp_calloc((size_t)p.n + 1, sizeof *sens_map);
        s        = sens && sens_map ? search(o, &p, &m, sens, sens_map, &r->search_met, err)
                                    : qp_fail(err, QP_E_NOMEM, "out of memory");
    }
    /* the clipping choice decided it for an all-INT8 plan; the search's
     * plan is another one */
    if (s == QP_OK && o->bias_correction && m.n > 0 && (o->mixed || !picked))
        s = keep_if_better(o, &p, &m, r, err);
    r->agreement_gptq = r->agreement_nearest = NAN;
    if (s == QP_OK && o->gptq && calibrate && m.n > 0)
        s = pick_rounding(o, &p, &m, r, err);
    r->agreement_unequalized = NAN;
    if (s == QP_OK && o->equalize && m.n > 0)
        s = measure_unequalized(o, &p, &m, r, err);
    if (s == QP_OK)
        s = quantize_plan(o, &p, &r->g, &r->stats, err);
    if (s == QP_OK)
        s = report(r, calibrate ? &c : NULL, &p, sens, sens_map, err);
    if (s == QP_OK && m.n > 0)
        s = measure_result(o, &p, &m, r, err);
    /* the engine as built: the choices after the search (bias correction,
     * rounding) go by the agreement and can move its lower bound */
    if (s == QP_OK && o->mixed && r->n_measured)
        r->target_met = r->m.agreement < 0 || r->m.agreement_low >= o->min_agreement;
    uint8_t digest[QP_SHA256_BYTES];
    qp_sha256_final(&hash, digest);
    if (calibrate)
        qp_sha256_hex(digest, r->calib_sha256);
    qp_free(sens);
    qp_free(sens_map);
    plan_fini(&p);
    qp_measure_fini(&m);
    qp_calib_fini(&c);
    if (s != QP_OK) /* a late failure (report, measure) must not leave the graph behind */
        qp_build_result_fini(r);
    return s;
}

void qp_build_result_fini(struct qp_build_result *r)
{
    qp_free(r->layers);
    qp_graph_fini(&r->g);
    memset(r, 0, sizeof *r);
}
