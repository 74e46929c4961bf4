// SPDX-License-Identifier: Apache-2.0
/*
 * build.c - calibration, quantization and the per-layer report (build.h).
 *
 * Observers are keyed by tensor name: the calibration engine and the graph
 * the quantizer rewrites come from the same front half of the same model,
 * so a tensor has the same name in both (generated names included: the
 * passes are deterministic).
 */
#include "quant/build.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/sha256.h"
#include "engine_int.h"

struct watch {
    const char        *name; /* the calibration engine's (borrowed) */
    int32_t            tensor;
    int64_t            numel;
    struct qp_observer obs;
    float              amax; /* threshold, 0 when none */
};

struct calib {
    struct qp_engine  *e;
    struct watch      *w;
    int32_t            n;
    float             *buf;
    enum qp_precision  precision;
};

static void calib_fini(struct calib *c)
{
    for (int32_t i = 0; i < c->n; i++)
        qp_observer_fini(&c->w[i].obs);
    qp_free(c->w);
    qp_free(c->buf);
    qp_engine_free(c->e);
}

static enum qp_status calib_open(const struct qp_build_opts *o, struct calib *c, struct qp_err *err)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_graph          g;
    opt.backend   = QP_BACKEND_CPU;
    opt.n_threads = o->n_threads;
    memset(&g, 0, sizeof g); /* the importer initialises it */
    enum qp_status s = qp_engine_front(o->model, &opt, &g, NULL, err);
    opt.all_tensors  = true;
    if (s == QP_OK)
        s = qp_engine_open_graph(&g, &opt, &c->e, err);
    qp_graph_fini(&g);
    if (s != QP_OK)
        return s;
    int32_t nt = qp_engine_n_tensors(c->e);
    c->w       = qp_calloc((size_t)nt + 1, sizeof *c->w);
    if (!c->w)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for observers", o->model);
    int64_t most = 1;
    for (int32_t t = 0; t < nt; t++) {
        struct qp_tensor_info info;
        if (!qp_engine_tensor_info(c->e, t, &info) || info.dtype != QP_DTYPE_F32)
            continue;
        struct watch *w = &c->w[c->n];
        w->name         = info.name;
        w->tensor       = t;
        w->numel        = 1;
        for (int32_t d = 0; d < info.rank; d++)
            w->numel *= info.dims[d];
        most = w->numel > most ? w->numel : most;
        if ((s = qp_observer_init(&w->obs, &o->observer, err)) != QP_OK)
            return s;
        c->n++;
    }
    c->buf = qp_alloc((size_t)most * sizeof *c->buf);
    return c->buf ? QP_OK : qp_fail(err, QP_E_NOMEM, "%s: out of memory", o->model);
}

/* Run every calibration image and feed the observers. */
static enum qp_status calib_run(const struct qp_build_opts *o, struct calib *c,
                                struct qp_sha256 *hash, struct qp_err *err)
{
    struct qp_detector *det;
    enum qp_status      s = qp_detector_new(c->e, o->spec, &det, err);
    if (s != QP_OK)
        return s;
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    struct qp_detection     dets[16];
    for (int32_t i = 0; i < o->n_images && s == QP_OK; i++) {
        struct qp_image img;
        char            hex[65];
        int32_t         nd;
        if ((s = qp_sha256_file(o->images[i], hex, err)) != QP_OK ||
            (s = qp_image_load(o->images[i], &img, err)) != QP_OK)
            break;
        qp_sha256_update(hash, hex, 64);
        qp_sha256_update(hash, "\n", 1);
        s = qp_detector_run(det, &img, &p, dets, 16, &nd, err);
        qp_image_free(&img);
        for (int32_t k = 0; k < c->n && s == QP_OK; k++) {
            struct watch *w = &c->w[k];
            s = qp_engine_read_tensor(c->e, w->tensor, c->buf, (size_t)w->numel * sizeof(float), err);
            if (s == QP_OK)
                qp_observer_add(&w->obs, c->buf, w->numel);
        }
        if (o->progress)
            o->progress(o->progress_ctx, i + 1, o->n_images);
    }
    qp_detector_free(det);
    for (int32_t k = 0; k < c->n && s == QP_OK; k++)
        if (qp_observer_threshold(&c->w[k].obs, &c->w[k].amax, NULL) != QP_OK)
            c->w[k].amax = 0.0f; /* all zeros or never finite: stays float */
    return s;
}

static const struct watch *find(const struct calib *c, const char *name)
{
    for (int32_t i = 0; i < c->n; i++)
        if (strcmp(c->w[i].name, name) == 0)
            return &c->w[i];
    return NULL;
}

static float amax_cb(void *ctx, const char *name)
{
    const struct watch *w = find(ctx, name);
    return w ? w->amax : 0.0f;
}

static enum qp_precision prec_cb(void *ctx, const char *name)
{
    (void)name;
    return ((const struct calib *)ctx)->precision;
}

/* One report row per Conv / QConv layer of the quantized graph. */
static enum qp_status report(struct qp_build_result *r, const struct calib *c, struct qp_err *err)
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
        l->precision             = n->op == QP_OP_QCONV ? QP_PREC_INT8 : c->precision;
        if (n->op != QP_OP_QCONV)
            continue;
        const struct qp_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
        l->x_scale                = x->scale;
        l->y_scale                = y->scale;
        /* y is "<float name>@i8" */
        char   base[512];
        size_t len = strlen(y->name);
        snprintf(base, sizeof base, "%.*s", (int)(len > 3 ? len - 3 : len), y->name);
        const struct watch *w = find(c, base);
        if (w) {
            struct qp_observer_stats st;
            qp_observer_stats(&w->obs, w->amax, &st);
            l->amax       = w->amax;
            l->saturation = st.saturation;
        }
    }
    return QP_OK;
}

enum qp_status qp_build_run(const struct qp_build_opts *o, struct qp_build_result *r,
                            struct qp_err *err)
{
    memset(r, 0, sizeof *r);
    struct calib c;
    memset(&c, 0, sizeof c);
    c.precision = o->precision;
    struct qp_sha256 hash;
    qp_sha256_init(&hash);
    enum qp_status s = QP_OK;
    bool           calibrate = o->precision == QP_PREC_INT8;
    if (calibrate && o->n_images < 1)
        return qp_fail(err, QP_E_INVAL, "%s: int8 needs calibration images (--calib)", o->model);
    if (calibrate && (s = calib_open(o, &c, err)) == QP_OK)
        s = calib_run(o, &c, &hash, err);
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CPU;
    if (s == QP_OK)
        s = qp_engine_front(o->model, &opt, &r->g, NULL, err);
    struct qp_quant_opts qo = {amax_cb, prec_cb, &c};
    if (s == QP_OK)
        s = qp_pass_quantize(&r->g, &qo, &r->stats, err);
    if (s == QP_OK)
        s = report(r, &c, err);
    uint8_t digest[QP_SHA256_BYTES];
    qp_sha256_final(&hash, digest);
    if (calibrate)
        qp_sha256_hex(digest, r->calib_sha256);
    calib_fini(&c);
    return s;
}

void qp_build_result_fini(struct qp_build_result *r)
{
    qp_free(r->layers);
    qp_graph_fini(&r->g);
    memset(r, 0, sizeof *r);
}
