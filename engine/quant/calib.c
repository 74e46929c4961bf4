// SPDX-License-Identifier: Apache-2.0
/*
 * calib.c - calibration observers over the detector's own input path
 * (calib.h).
 */
#include "quant/calib.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/sha256.h"
#include "engine_int.h"
#include "quant/quant.h" /* qp_conv_geom_of */

void qp_calib_fini(struct qp_calib *c)
{
    for (int32_t i = 0; i < c->n; i++) {
        qp_observer_fini(&c->w[i].obs);
        qp_free(c->w[i].ch_min);
    }
    for (int32_t i = 0; i < c->n_mom; i++)
        qp_free(c->mom[i].m);
    qp_free(c->mom);
    qp_free(c->scratch);
    qp_free(c->w);
    qp_free(c->buf);
    qp_detector_free(c->det);
    qp_engine_free(c->e);
    memset(c, 0, sizeof *c);
}

/* A moment for each Conv of the engine whose input (NCHW, one image) is
 * watched. */
static enum qp_status open_moments(struct qp_calib *c, const char *model, struct qp_err *err)
{
    const struct qp_graph *g    = qp_engine_graph(c->e);
    int64_t                most = 1;
    if (!(c->mom = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->mom)))
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for input moments", model);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (n->dead || n->op != QP_OP_CONV)
            continue;
        const struct qp_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
        int32_t                 wi = 0;
        while (wi < c->n && c->w[wi].tensor != n->in[0])
            wi++;
        const struct qp_conv_attr *a = &n->attr.conv;
        if (wi == c->n || x->rank != 4 || y->rank != 4 || x->dims[0] != 1 || a->group < 1 ||
            x->dims[1] % a->group != 0)
            continue;
        struct qp_calib_moment *mo = &c->mom[c->n_mom];
        mo->conv                   = n->name;
        mo->watch                  = wi;
        mo->geo                    = qp_conv_geom_of(g, n); /* n = 1 */
        if (!(mo->m = qp_calloc((size_t)qp_gptq_moment_len(&mo->geo), sizeof *mo->m)))
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory for input moments", model);
        c->n_mom++;
        int64_t need = qp_gptq_scratch_len(&mo->geo);
        most         = need > most ? need : most;
    }
    c->scratch = qp_alloc((size_t)most * sizeof *c->scratch);
    return c->scratch ? QP_OK : qp_fail(err, QP_E_NOMEM, "%s: out of memory", model);
}

enum qp_status qp_calib_open(const char *model, const struct qp_model_spec *spec, int n_threads,
                             const struct qp_observer_params *obs, bool moments, struct qp_calib *c,
                             struct qp_err *err)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_graph          g;
    memset(c, 0, sizeof *c);
    memset(&g, 0, sizeof g); /* the importer initialises it */
    c->kind          = obs->kind;
    opt.backend      = QP_BACKEND_CPU;
    opt.n_threads    = n_threads;
    enum qp_status s = qp_engine_front(model, &opt, &g, NULL, err);
    opt.all_tensors  = true;
    if (s == QP_OK)
        s = qp_engine_open_graph(&g, &opt, &c->e, err);
    qp_graph_fini(&g);
    if (s == QP_OK)
        s = qp_detector_new(c->e, spec, &c->det, err);
    if (s != QP_OK)
        return s;
    int32_t nt = qp_engine_n_tensors(c->e);
    c->w       = qp_calloc((size_t)nt + 1, sizeof *c->w);
    if (!c->w)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for observers", model);
    int64_t most = 1;
    for (int32_t t = 0; t < nt; t++) {
        struct qp_tensor_info info;
        if (!qp_engine_tensor_info(c->e, t, &info) || info.dtype != QP_DTYPE_F32)
            continue;
        struct qp_calib_watch *w = &c->w[c->n];
        w->name                  = info.name;
        w->tensor                = t;
        w->numel                 = 1;
        for (int32_t d = 0; d < info.rank; d++)
            w->numel *= info.dims[d];
        most = w->numel > most ? w->numel : most;
        c->n++; /* counted first: fini releases whatever init got */
        w->n_ch  = info.rank >= 2 ? info.dims[1] : 1;
        w->inner = 1;
        for (int32_t d = 2; d < info.rank; d++)
            w->inner *= info.dims[d];
        /* one block: ch_min then ch_max, both start at 0 (the ranges hold 0) */
        if (!(w->ch_min = qp_calloc((size_t)(2 * w->n_ch) + 1, sizeof *w->ch_min)))
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory for observers", model);
        w->ch_max = w->ch_min + w->n_ch;
        if ((s = qp_observer_init(&w->obs, obs, err)) != QP_OK)
            return s;
    }
    c->buf = qp_alloc((size_t)most * sizeof *c->buf);
    if (!c->buf)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", model);
    return moments ? open_moments(c, model, err) : QP_OK;
}

enum qp_status qp_calib_hash_file(struct qp_sha256 *hash, const char *path, struct qp_err *err)
{
    char           hex[65];
    enum qp_status s = hash ? qp_sha256_file(path, hex, err) : QP_OK;
    if (hash && s == QP_OK) {
        qp_sha256_update(hash, hex, 64);
        qp_sha256_update(hash, "\n", 1);
    }
    return s;
}

enum qp_status qp_calib_run(struct qp_calib *c, const char *const *images, int32_t n_images,
                            void (*progress)(void *ctx, int32_t done, int32_t total), void *ctx,
                            struct qp_sha256 *hash, struct qp_err *err)
{
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    struct qp_detection     dets[16];
    enum qp_status          s = QP_OK;
    for (int32_t i = 0; i < n_images && s == QP_OK; i++) {
        struct qp_image img;
        int32_t         nd;
        if ((s = qp_calib_hash_file(hash, images[i], err)) != QP_OK ||
            (s = qp_image_load(images[i], &img, err)) != QP_OK)
            break;
        s = qp_detector_run(c->det, &img, &p, dets, 16, &nd, err);
        qp_image_free(&img);
        for (int32_t k = 0; k < c->n && s == QP_OK; k++) {
            struct qp_calib_watch *w = &c->w[k];
            s = qp_engine_read_tensor(c->e, w->tensor, c->buf, (size_t)w->numel * sizeof(float),
                                      err);
            if (s != QP_OK)
                break;
            qp_observer_add(&w->obs, c->buf, w->numel);
            for (int64_t j = 0; j < w->numel; j += w->inner) {
                int64_t ch = (j / w->inner) % w->n_ch;
                float   lo = w->ch_min[ch], hi = w->ch_max[ch];
                for (int64_t e = 0; e < w->inner; e++) {
                    float v = c->buf[j + e];
                    lo      = isfinite(v) ? fminf(lo, v) : lo; /* as the observers: */
                    hi      = isfinite(v) ? fmaxf(hi, v) : hi; /* NaN, inf skipped */
                }
                w->ch_min[ch] = lo;
                w->ch_max[ch] = hi;
            }
            for (int32_t m = 0; m < c->n_mom; m++)
                if (c->mom[m].watch == k)
                    qp_gptq_moment_add(&c->mom[m].geo, c->buf, c->mom[m].m, c->scratch);
        }
        if (progress)
            progress(ctx, i + 1, n_images);
    }
    if (s == QP_OK)
        qp_calib_thresholds(c, c->kind);
    return s;
}

void qp_calib_thresholds(struct qp_calib *c, enum qp_observer_kind kind)
{
    for (int32_t k = 0; k < c->n; k++) {
        c->w[k].obs.params.kind = kind;
        if (qp_observer_threshold(&c->w[k].obs, &c->w[k].amax, NULL) != QP_OK)
            c->w[k].amax = 0.0f; /* all zeros or never finite: stays float */
    }
}

const struct qp_calib_watch *qp_calib_find(const struct qp_calib *c, const char *name)
{
    for (int32_t i = 0; i < c->n; i++)
        if (strcmp(c->w[i].name, name) == 0)
            return &c->w[i];
    return NULL;
}

const struct qp_calib_moment *qp_calib_moment_find(const struct qp_calib *c, const char *name)
{
    for (int32_t i = 0; i < c->n_mom; i++)
        if (strcmp(c->mom[i].conv, name) == 0)
            return &c->mom[i];
    return NULL;
}
