// SPDX-License-Identifier: Apache-2.0
/*
 * detect.c - the detector: image -> pre-processing -> engine -> head
 * decoding -> NMS -> boxes in source pixels (qp_detector_*).
 *
 * qp_detector_new checks the engine against the spec once - one f32 input
 * [B, 3, H, W] of the spec's size, outputs that fit the head (bound by shape
 * in post/head.c, per image) - and sizes everything a run needs: the
 * pre-processing tables, the candidate arrays (anchors x classes, the most
 * a decoder can write), B box transforms, the device's frame staging when
 * the engine's backend pre-processes frames itself (CUDA: only the frames'
 * bytes are copied) and, when the engine cannot be filled in place, an
 * input buffer of B images. The candidate arrays and the input buffer are
 * scratch, used within one call: on an engine opened with a share they
 * live in the share's scratch, one for all its detectors (a server's
 * batch-size buckets take turns), else in the detector's own.
 * qp_detector_run and qp_detector_run_batch then allocate nothing
 * (test_no_alloc checks it).
 *
 * Batches (B = the engine's batch, qp_engine_options.batch): image k is
 * pre-processed into slot k of the input, the engine runs once, and image
 * k's outputs are read at offset k of each output (an image's elements
 * times k), decoded and NMS'd alone, with its own letterbox transform.
 * Slots n..B-1 are zeroed before the run, so what they compute is the
 * same every time and never NaN; their outputs are not read.
 *
 * Candidates are one per (anchor, class) above score_min for class-aware
 * NMS, one per anchor (its best class) for class-agnostic NMS; NMS runs in
 * model-input pixels and the kept boxes are mapped back and clipped last.
 * The maths lives in image/preprocess.c and post/; this file is glue.
 */
#include "qpercept/detect.h"

#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "engine_int.h"
#include "image/preprocess.h"
#include "post/post.h"
#include "share.h"

#define MAX_OUTPUTS 64
/* a batch's frames a device stages: one 4K RGB8, eight 1280x720 BGR8 */
#define FRAME_BYTES ((size_t)3840 * 2160 * 3)
/* what a backend's staging may add per frame: its norm tables, alignment */
#define FRAME_OVERHEAD ((size_t)4096)

struct qp_detector {
    struct qp_engine    *engine; /* borrowed */
    struct qp_model_spec spec;   /* deep copy, labels included */
    struct qp_preprocess pre;
    struct qp_head_plan  plan;
    int32_t              batch; /* B: images per engine run */
    int32_t              n_outputs;
    size_t               out_elems[MAX_OUTPUTS]; /* floats of one image in output i */
    const float        **outputs;                /* [n_outputs], refreshed for every image */
    /* scratch: cand, tmp ([plan.max_candidates] each), then the input (B
     * images) when the engine has no in-place buffer; the share's (read
     * at each use: it may move while detectors are made) or own */
    struct qp_engine_share *share;              /* the engine's, or NULL */
    unsigned char          *own;                /* without a share */
    size_t                  tmp_off, input_off; /* in the scratch; input_off 0: in place */
    bool                    on_device;          /* the engine's backend pre-processes frames */
    size_t                  image_floats;       /* one image of the input: 3 * H * W */
    size_t                  input_bytes;        /* all B images */
    struct qp_transform    *xf;                 /* [batch] box transforms of the run */
    int32_t                 n_prepared;         /* images the last prepare fed; 0: none */
    int64_t                 host_batches;       /* on_device, but outgrew the staging */
};

static enum qp_status copy_spec(struct qp_model_spec *dst, const struct qp_model_spec *src,
                                struct qp_err *err)
{
    *dst        = *src;
    dst->labels = NULL;
    if (!src->labels)
        return QP_OK;
    if (src->n_classes <= 0 || src->n_classes > QP_MAX_CLASSES)
        return qp_fail(err, QP_E_INVAL, "%s: labels with %d classes", src->name, src->n_classes);
    dst->labels = qp_calloc((size_t)src->n_classes, sizeof *dst->labels);
    if (!dst->labels)
        return qp_fail(err, QP_E_NOMEM, "%s: %d labels", src->name, src->n_classes);
    memcpy(dst->labels, src->labels, (size_t)src->n_classes * sizeof *dst->labels);
    return QP_OK;
}

/* One f32 [B, 3, H, W] input; adopt H and W when the spec leaves them 0. */
static enum qp_status check_input(struct qp_detector *d, struct qp_err *err)
{
    struct qp_model_spec *s = &d->spec;
    int32_t               n = qp_engine_n_inputs(d->engine);
    if (n != 1)
        return qp_fail(err, QP_E_INVAL, "%s: a detector needs one image input, model has %d",
                       s->name, n);
    struct qp_tensor_info in;
    qp_engine_input_info(d->engine, 0, &in);
    if (in.dtype != QP_DTYPE_F32 || in.rank != 4 || in.dims[0] < 1 || in.dims[0] > 4096 ||
        in.dims[1] != 3 || in.dims[2] < 1 || in.dims[3] < 1 || in.dims[2] > 16384 ||
        in.dims[3] > 16384)
        return qp_fail(err, QP_E_INVAL, "%s: input %s must be f32 [B,3,H,W], is %s rank %d",
                       s->name, in.name, qp_dtype_name(in.dtype), in.rank);
    if (s->input_w == 0 && s->input_h == 0) {
        s->input_w = (int32_t)in.dims[3];
        s->input_h = (int32_t)in.dims[2];
    }
    if (in.dims[2] != s->input_h || in.dims[3] != s->input_w)
        return qp_fail(err, QP_E_INVAL, "%s: spec input %dx%d but model input %s is %lldx%lld",
                       s->name, s->input_w, s->input_h, in.name, (long long)in.dims[3],
                       (long long)in.dims[2]);
    d->batch        = (int32_t)in.dims[0];
    d->image_floats = (size_t)3 * (size_t)s->input_w * (size_t)s->input_h;
    d->input_bytes  = (size_t)d->batch * d->image_floats * sizeof(float);
    return QP_OK;
}

/* Bind the outputs to the head; every output must be f32 for decoding.
 * The head sees one image's shapes: every output carries the batch as its
 * leading dim, which is bound as 1. */
static enum qp_status bind_outputs(struct qp_detector *d, struct qp_err *err)
{
    d->n_outputs = qp_engine_n_outputs(d->engine);
    if (d->n_outputs < 1 || d->n_outputs > MAX_OUTPUTS)
        return qp_fail(err, QP_E_INVAL, "%s: %d outputs (want 1..%d)", d->spec.name, d->n_outputs,
                       MAX_OUTPUTS);
    struct qp_tensor_info outs[MAX_OUTPUTS];
    for (int32_t i = 0; i < d->n_outputs; i++) {
        struct qp_tensor_info *o = &outs[i];
        qp_engine_output_info(d->engine, i, o);
        if (d->batch > 1 && (o->rank < 1 || o->dims[0] != d->batch))
            return qp_fail(err, QP_E_INVAL, "%s: output %s does not carry the batch %d first",
                           d->spec.name, o->name, d->batch);
        if (d->batch > 1)
            o->dims[0] = 1;
        d->out_elems[i] = 1;
        for (int32_t k = 1; k < o->rank; k++)
            d->out_elems[i] *= (size_t)o->dims[k];
    }
    enum qp_status st = qp_head_bind(&d->spec, outs, d->n_outputs, &d->plan, err);
    if (st != QP_OK)
        return st;
    if (d->spec.labels && d->spec.n_classes != d->plan.n_classes)
        return qp_fail(err, QP_E_INVAL, "%s: %d labels for %d classes", d->spec.name,
                       d->spec.n_classes, d->plan.n_classes);
    d->spec.n_classes = d->plan.n_classes;
    return QP_OK;
}

static unsigned char *scratch(const struct qp_detector *d)
{
    return d->share ? d->share->scratch : d->own;
}

static struct qp_candidate *cand_of(const struct qp_detector *d)
{
    return (struct qp_candidate *)(void *)scratch(d);
}

static struct qp_candidate *tmp_of(const struct qp_detector *d)
{
    return (struct qp_candidate *)(void *)(scratch(d) + d->tmp_off);
}

/* Our input buffer (B images), or NULL when the engine is filled in place. */
static float *input_of(const struct qp_detector *d)
{
    return d->input_off ? (float *)(void *)(scratch(d) + d->input_off) : NULL;
}

static size_t align64(size_t n)
{
    return (n + 63) / 64 * 64;
}

static enum qp_status alloc_buffers(struct qp_detector *d, struct qp_err *err)
{
    const size_t n_cand   = d->plan.max_candidates > 0 ? (size_t)d->plan.max_candidates : 1;
    const bool   in_place = qp_engine_input_buffer(d->engine, 0) != NULL;
    d->tmp_off            = align64(n_cand * sizeof(struct qp_candidate));
    d->input_off          = in_place ? 0 : 2 * d->tmp_off;
    size_t bytes          = 2 * d->tmp_off + (in_place ? 0 : d->input_bytes);
    d->share              = qp_engine_share_of(d->engine);
    if (d->share) {
        enum qp_status st = qp_engine_share_scratch(d->share, bytes, err);
        if (st != QP_OK) {
            qp_err_prefix(err, "%s", d->spec.name);
            return st;
        }
    } else {
        d->own = qp_aligned_alloc(bytes);
        if (!d->own)
            return qp_fail(err, QP_E_NOMEM, "%s: detector buffers for %zu candidates", d->spec.name,
                           n_cand);
        memset(d->own, 0, bytes); /* touched now, not at the first frame */
    }
    d->outputs = qp_calloc((size_t)d->n_outputs, sizeof *d->outputs);
    d->xf      = qp_calloc((size_t)d->batch, sizeof *d->xf);
    /* a device backend stages the frames of a batch, FRAME_BYTES in all,
     * and pre-processes them itself; a batch of more (and all, if staging
     * fails) takes the host path */
    struct qp_err  why = {{0}};
    enum qp_status s   = qp_engine_reserve_frames(d->engine, FRAME_BYTES + FRAME_OVERHEAD, &why);
    d->on_device       = s == QP_OK;
    if (s != QP_OK && s != QP_E_UNSUPPORTED)
        qp_log(QP_LOG_WARN, "detect", "%s: frames pre-processed on the host: %s", d->spec.name,
               why.msg);
    if (!d->outputs || !d->xf)
        return qp_fail(err, QP_E_NOMEM, "%s: detector buffers", d->spec.name);
    return QP_OK;
}

enum qp_status qp_detector_new(struct qp_engine *e, const struct qp_model_spec *spec,
                               struct qp_detector **out, struct qp_err *err)
{
    if (!e || !spec || !out)
        return qp_fail(err, QP_E_INVAL, "qp_detector_new: engine, spec and out are required");
    struct qp_detector *d = qp_calloc(1, sizeof *d);
    if (!d)
        return qp_fail(err, QP_E_NOMEM, "detector");
    d->engine         = e;
    enum qp_status st = copy_spec(&d->spec, spec, err);
    if (st == QP_OK)
        st = check_input(d, err);
    if (st == QP_OK)
        st = qp_preprocess_init(&d->pre, &d->spec, err);
    if (st == QP_OK)
        st = bind_outputs(d, err);
    if (st == QP_OK)
        st = alloc_buffers(d, err);
    if (st != QP_OK) {
        qp_detector_free(d);
        return st;
    }
    *out = d;
    return QP_OK;
}

void qp_detector_free(struct qp_detector *d)
{
    if (!d)
        return;
    qp_preprocess_fini(&d->pre);
    qp_free(d->spec.labels);
    qp_free(d->outputs);
    qp_aligned_free(d->own);
    qp_free(d->xf);
    qp_free(d);
}

int32_t qp_detector_batch(const struct qp_detector *d)
{
    return d->batch;
}

enum qp_status qp_detector_stage_frames(struct qp_detector *d, size_t bytes, struct qp_err *err)
{
    if (!d->on_device)
        return QP_OK;
    if (bytes > SIZE_MAX / 2)
        return qp_fail(err, QP_E_INVAL, "%s: staging of %zu bytes", d->spec.name, bytes);
    return qp_engine_reserve_frames(d->engine, bytes + (size_t)d->batch * FRAME_OVERHEAD, err);
}

int64_t qp_detector_host_batches(const struct qp_detector *d)
{
    return d->host_batches;
}

static enum qp_status check_params(const struct qp_detect_params *p, struct qp_err *err)
{
    if (!(p->score_min >= 0.0f && p->score_min <= 1.0f))
        return qp_fail(err, QP_E_INVAL, "score_min %g is outside [0, 1]", (double)p->score_min);
    if (!(p->iou >= 0.0f && p->iou <= 1.0f))
        return qp_fail(err, QP_E_INVAL, "iou %g is outside [0, 1]", (double)p->iou);
    if (p->max_dets < 1)
        return qp_fail(err, QP_E_INVAL, "max_dets %d must be >= 1", p->max_dets);
    return QP_OK;
}

/* Pre-process imgs[0, n) on the engine's device, zeros after them:
 * QP_E_UNSUPPORTED when a frame does not fit its staging (the caller then
 * feeds the whole batch from the host: the input it uploads replaces
 * whatever was enqueued here). */
static enum qp_status feed_device(struct qp_detector *d, const struct qp_image *imgs, int32_t n,
                                  struct qp_err *err)
{
    enum qp_status st = QP_OK;
    for (int32_t k = 0; k < n && st == QP_OK; k++) {
        struct qp_pre_frame f;
        st = qp_preprocess_frame(&d->pre, &imgs[k], &f, &d->xf[k], err);
        if (st == QP_OK)
            st = qp_engine_set_image(d->engine, 0, k, &f, &d->pre.norm, imgs[k].data, err);
        if (st != QP_OK && st != QP_E_UNSUPPORTED && n > 1)
            qp_err_prefix(err, "image %d of %d", (int)k, (int)n);
    }
    return st == QP_OK ? qp_engine_zero_images(d->engine, 0, n, err) : st;
}

/* Fill slots [0, n) from imgs and zero slots [n, batch): on the device
 * when the backend pre-processes, else straight into the engine's input
 * when it allows, else into our buffer, then uploaded. */
static enum qp_status feed_all(struct qp_detector *d, const struct qp_image *imgs, int32_t n,
                               struct qp_err *err)
{
    if (d->on_device) {
        enum qp_status st = feed_device(d, imgs, n, err);
        if (st != QP_E_UNSUPPORTED)
            return st;
        d->host_batches++;
    }
    float *dst = qp_engine_input_buffer(d->engine, 0), *input = input_of(d);
    if (!dst && !input)
        return qp_fail(err, QP_E_INVAL, "%s: engine withdrew its input buffer", d->spec.name);
    float *base = dst ? dst : input;
    for (int32_t k = 0; k < n; k++) {
        enum qp_status st = qp_preprocess_run(&d->pre, &imgs[k], base + (size_t)k * d->image_floats,
                                              &d->xf[k], err);
        if (st != QP_OK) {
            if (n > 1)
                qp_err_prefix(err, "image %d of %d", (int)k, (int)n);
            return st;
        }
    }
    memset(base + (size_t)n * d->image_floats, 0,
           (size_t)(d->batch - n) * d->image_floats * sizeof(float));
    return dst ? QP_OK : qp_engine_set_input(d->engine, 0, input, d->input_bytes, err);
}

/* Decode and NMS image k of the last run into dets[0, cap); returns how many. */
static int32_t detect_one(struct qp_detector *d, int32_t k, const struct qp_detect_params *p,
                          struct qp_detection *dets, int32_t cap)
{
    for (int32_t i = 0; i < d->n_outputs; i++) {
        const float *o = qp_engine_output(d->engine, i);
        QP_ASSERT(o); /* the engine's contract after a good run() */
        d->outputs[i] = o + (size_t)k * d->out_elems[i];
    }
    struct qp_candidate *cand = cand_of(d);
    int32_t n_cand = qp_head_decode(&d->plan, d->outputs, p->score_min, !p->class_agnostic, cand);
    int32_t kept   = qp_nms_run(cand, n_cand, tmp_of(d), p->iou, p->class_agnostic, p->max_dets);
    int32_t m      = kept < cap ? kept : cap;
    for (int32_t i = 0; i < m; i++) {
        const struct qp_candidate *c      = &cand[i];
        float                      box[4] = {c->x0, c->y0, c->x1, c->y1};
        qp_transform_to_source(&d->xf[k], box);
        dets[i] = (struct qp_detection){c->class_id, c->score, box[0], box[1], box[2], box[3]};
    }
    return m;
}

enum qp_status qp_detector_prepare_batch(struct qp_detector *d, const struct qp_image *imgs,
                                         int32_t n, struct qp_err *err)
{
    if (!d || !imgs)
        return qp_fail(err, QP_E_INVAL, "qp_detector_prepare_batch: detector and images needed");
    d->n_prepared = 0;
    if (n < 1 || n > d->batch)
        return qp_fail(err, QP_E_INVAL, "%s: %d images for an engine of batch %d", d->spec.name,
                       (int)n, (int)d->batch);
    enum qp_status st = feed_all(d, imgs, n, err);
    if (st == QP_OK)
        d->n_prepared = n;
    return st;
}

enum qp_status qp_detector_finish_batch(struct qp_detector *d, const struct qp_detect_params *p,
                                        struct qp_detection *dets, int32_t cap_per_image,
                                        int32_t *counts, struct qp_err *err)
{
    static const struct qp_detect_params defaults = QP_DETECT_PARAMS_DEFAULT;
    if (!d || !counts || cap_per_image < 0 || (cap_per_image > 0 && !dets))
        return qp_fail(err, QP_E_INVAL,
                       "qp_detector_finish_batch: detector, dets and counts needed");
    int32_t n     = d->n_prepared;
    d->n_prepared = 0; /* one finish per prepare */
    if (n < 1)
        return qp_fail(err, QP_E_INVAL, "%s: no batch prepared", d->spec.name);
    for (int32_t k = 0; k < n; k++)
        counts[k] = 0;
    p                 = p ? p : &defaults;
    enum qp_status st = check_params(p, err);
    if (st == QP_OK)
        st = qp_engine_run(d->engine, err);
    if (st != QP_OK)
        return st;
    for (int32_t k = 0; k < n; k++)
        counts[k] =
            cap_per_image > 0
                ? detect_one(d, k, p, dets + (size_t)k * (size_t)cap_per_image, cap_per_image)
                : 0;
    return QP_OK;
}

enum qp_status qp_detector_run_batch(struct qp_detector *d, const struct qp_image *imgs, int32_t n,
                                     const struct qp_detect_params *p, struct qp_detection *dets,
                                     int32_t cap_per_image, int32_t *counts, struct qp_err *err)
{
    static const struct qp_detect_params defaults = QP_DETECT_PARAMS_DEFAULT;
    if (!d || !imgs || !counts || cap_per_image < 0 || (cap_per_image > 0 && !dets))
        return qp_fail(err, QP_E_INVAL,
                       "qp_detector_run_batch: detector, images, dets and counts needed");
    for (int32_t k = 0; k < n && k < d->batch; k++)
        counts[k] = 0;
    /* the parameters first: a bad one costs no pre-processing */
    enum qp_status st = check_params(p ? p : &defaults, err);
    if (st == QP_OK)
        st = qp_detector_prepare_batch(d, imgs, n, err);
    return st == QP_OK ? qp_detector_finish_batch(d, p, dets, cap_per_image, counts, err) : st;
}

enum qp_status qp_detector_run(struct qp_detector *d, const struct qp_image *img,
                               const struct qp_detect_params *p, struct qp_detection *dets,
                               int32_t cap, int32_t *n, struct qp_err *err)
{
    if (!d || !img || !n || cap < 0 || (cap > 0 && !dets))
        return qp_fail(err, QP_E_INVAL, "qp_detector_run: detector, image, dets and n needed");
    return qp_detector_run_batch(d, img, 1, p, dets, cap, n, err);
}
