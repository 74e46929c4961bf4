// SPDX-License-Identifier: Apache-2.0
/*
 * preprocess.c - source image -> normalised model input (float NCHW), with
 * OpenCV-exact bilinear scaling, and the inverse box transform.
 *
 * Why bit-exact OpenCV: the reference detections (and most upstream demo
 * code) resize with cv2.resize(INTER_LINEAR) on 8-bit images. Its
 * arithmetic, reproduced here:
 *   fx = (float)((dx + 0.5) * (src_w / dst_w) - 0.5), sx = floor(fx),
 *   fx -= sx; at the borders sx is clamped and fx = 0;
 *   weights a = round((1 - fx) * 2048), round(fx * 2048) (half to even);
 *   rows likewise, with row indices clamped to the image;
 *   S = a0 * p[sx] + a1 * p[sx + 1] per row (int), then
 *   out = (((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16) + 2) >> 2.
 * The 8-bit result then goes through a per-channel table of
 * (v - mean) / std, computed in float like numpy does in float32.
 * A 2x downscale (which OpenCV turns into INTER_AREA) gives the same
 * numbers through this formula, so it needs no special case.
 *
 * An NV12 source is sampled in place, each bilinear tap converted to RGB
 * (yuv.h: BT.601 limited range) before the blend: no RGB copy of the frame.
 *
 * The per-pixel arithmetic is pre_math.h's, which the CUDA kernel shares.
 * Invariants: coefficient tables are sized for the model input at init and
 * refilled per frame (they depend on the source size); run() allocates
 * nothing. Decoding files is in decode.c; boxes are decoded in post/.
 */
#include "image/preprocess.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

/* Per pixel format: bytes per pixel of a row (of the Y plane for NV12) and
 * the source channel feeding model channel k, by model order (NV12: of the
 * pixel's R, G, B after yuv.h's conversion). */
static const struct {
    int32_t n_channels;
    int32_t src_channel[2][3]; /* [model wants bgr][model channel] */
    bool    nv12;              /* two planes, 4:2:0 chroma: even sizes, converted per tap */
} formats[] = {
    [QP_PIXEL_RGB8]  = {3, {{0, 1, 2}, {2, 1, 0}}, false},
    [QP_PIXEL_BGR8]  = {3, {{2, 1, 0}, {0, 1, 2}}, false},
    [QP_PIXEL_GRAY8] = {1, {{0, 0, 0}, {0, 0, 0}}, false},
    [QP_PIXEL_NV12]  = {1, {{0, 1, 2}, {2, 1, 0}}, true},
};
_Static_assert(sizeof formats / sizeof formats[0] == QP_PIXEL_COUNT, "one row per pixel format");

enum qp_status qp_preprocess_init(struct qp_preprocess *p, const struct qp_model_spec *spec,
                                  struct qp_err *err)
{
    memset(p, 0, sizeof *p);
    if (spec->input_w <= 0 || spec->input_h <= 0 || spec->input_w > 16384 || spec->input_h > 16384)
        return qp_fail(err, QP_E_INVAL, "%s: input size %dx%d is not in 1..16384", spec->name,
                       spec->input_w, spec->input_h);
    for (int c = 0; c < 3; c++) {
        if (!(spec->std[c] != 0.0f) || !isfinite(spec->std[c]) || !isfinite(spec->mean[c]))
            return qp_fail(err, QP_E_INVAL, "%s: channel %d: mean %g / std %g is not usable",
                           spec->name, c, (double)spec->mean[c], (double)spec->std[c]);
    }
    p->dst_w     = spec->input_w;
    p->dst_h     = spec->input_h;
    p->bgr       = spec->bgr;
    p->letterbox = spec->letterbox;
    p->pad_value = spec->pad_value;
    for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++)
            p->norm.lut[c][v] = ((float)v - spec->mean[c]) / spec->std[c];
        p->norm.pad[c] = (spec->pad_value - spec->mean[c]) / spec->std[c];
    }
    p->xofs   = qp_calloc(2 * (size_t)p->dst_w, sizeof *p->xofs);
    p->xalpha = qp_calloc(2 * (size_t)p->dst_w, sizeof *p->xalpha);
    p->yofs   = qp_calloc(2 * (size_t)p->dst_h, sizeof *p->yofs);
    p->ybeta  = qp_calloc(2 * (size_t)p->dst_h, sizeof *p->ybeta);
    if (!p->xofs || !p->xalpha || !p->yofs || !p->ybeta) {
        qp_preprocess_fini(p);
        return qp_fail(err, QP_E_NOMEM, "pre-processing tables for %dx%d", spec->input_w,
                       spec->input_h);
    }
    return QP_OK;
}

void qp_preprocess_fini(struct qp_preprocess *p)
{
    qp_free(p->xofs);
    qp_free(p->xalpha);
    qp_free(p->yofs);
    qp_free(p->ybeta);
    p->xofs   = NULL;
    p->xalpha = NULL;
    p->yofs   = NULL;
    p->ybeta  = NULL;
}

/* The source positions and weights of every output index of one axis
 * (pre_math.h: qp_pre_axis), two per index. */
static void axis_coeffs(int32_t n_dst, int32_t n_src, int32_t *ofs, int16_t *w, bool columns)
{
    for (int32_t d = 0; d < n_dst; d++)
        qp_pre_axis(d, n_dst, n_src, columns, &ofs[2 * d], &ofs[2 * d + 1], &w[2 * d],
                    &w[2 * d + 1]);
}

/* An NV12 image's layout (detect.h): QP_E_INVAL naming its size. */
static enum qp_status check_nv12(const struct qp_image *img, struct qp_err *err)
{
    const char *why = NULL;
    if (!img->data)
        why = "has no data";
    else if (img->width < 2 || img->height < 2 || img->width > 16384 || img->height > 16384)
        why = "is not in 2..16384";
    else if ((img->width | img->height) & 1)
        why = "has an odd side (4:2:0 chroma needs even sizes)";
    else if (img->stride < img->width)
        why = "has stride < width";
    if (why)
        return qp_fail(err, QP_E_INVAL, "NV12 image %dx%d (stride %d) %s", img->width, img->height,
                       img->stride, why);
    return QP_OK;
}

static enum qp_status check_image(const struct qp_image *img, struct qp_err *err)
{
    if ((unsigned)img->format >= QP_PIXEL_COUNT)
        return qp_fail(err, QP_E_FORMAT, "image: unknown pixel format %d", (int)img->format);
    if (formats[img->format].nv12)
        return check_nv12(img, err);
    int32_t nc = formats[img->format].n_channels;
    if (!img->data || img->width <= 0 || img->height <= 0 || img->width > 16384 ||
        img->height > 16384)
        return qp_fail(err, QP_E_FORMAT, "image: %dx%d%s is not usable", img->width, img->height,
                       img->data ? "" : " without data");
    if (img->stride < img->width * nc)
        return qp_fail(err, QP_E_FORMAT, "image: stride %d < %d bytes per row", img->stride,
                       img->width * nc);
    return QP_OK;
}

/* Scale img into the top-left f->rw x f->rh region of the three planes of
 * dst, a row of coefficients at a time (qp_pre_pixel's arithmetic). */
static void resize_region(const struct qp_preprocess *p, const struct qp_image *img,
                          const struct qp_pre_frame *f, float *dst)
{
    const int32_t nc    = f->n_channels;
    const size_t  plane = (size_t)p->dst_w * (size_t)p->dst_h;

    axis_coeffs(f->rw, img->width, p->xofs, p->xalpha, true);
    axis_coeffs(f->rh, img->height, p->yofs, p->ybeta, false);
    for (int32_t dy = 0; dy < f->rh; dy++) {
        const uint8_t *r0 = img->data + (size_t)p->yofs[2 * dy] * (size_t)img->stride;
        const uint8_t *r1 = img->data + (size_t)p->yofs[2 * dy + 1] * (size_t)img->stride;
        const int32_t  b0 = p->ybeta[2 * dy], b1 = p->ybeta[2 * dy + 1];
        float         *row = dst + (size_t)dy * (size_t)p->dst_w;
        for (int32_t dx = 0; dx < f->rw; dx++) {
            const int32_t x0 = p->xofs[2 * dx] * nc, x1 = p->xofs[2 * dx + 1] * nc;
            const int32_t a0 = p->xalpha[2 * dx], a1 = p->xalpha[2 * dx + 1];
            for (int32_t k = 0; k < 3; k++) {
                const int32_t c = f->src_c[k];
                const int32_t v =
                    qp_pre_lerp(r0[x0 + c], r0[x1 + c], r1[x0 + c], r1[x1 + c], a0, a1, b0, b1);
                row[(size_t)k * plane + (size_t)dx] = p->norm.lut[k][v];
            }
        }
    }
}

/* resize_region for an NV12 source: the same taps and weights, each tap
 * converted to RGB (pre_math.h: qp_pre_nv12_taps) before the blend. */
static void resize_region_nv12(const struct qp_preprocess *p, const struct qp_image *img,
                               const struct qp_pre_frame *f, float *dst)
{
    const size_t plane = (size_t)p->dst_w * (size_t)p->dst_h;

    axis_coeffs(f->rw, img->width, p->xofs, p->xalpha, true);
    axis_coeffs(f->rh, img->height, p->yofs, p->ybeta, false);
    for (int32_t dy = 0; dy < f->rh; dy++) {
        const int32_t y0 = p->yofs[2 * dy], y1 = p->yofs[2 * dy + 1];
        const int32_t b0 = p->ybeta[2 * dy], b1 = p->ybeta[2 * dy + 1];
        float        *row = dst + (size_t)dy * (size_t)p->dst_w;
        for (int32_t dx = 0; dx < f->rw; dx++) {
            const int32_t a0 = p->xalpha[2 * dx], a1 = p->xalpha[2 * dx + 1];
            uint8_t       t[4][3];
            qp_pre_nv12_taps(f, img->data, p->xofs[2 * dx], p->xofs[2 * dx + 1], y0, y1, t);
            for (int32_t k = 0; k < 3; k++) {
                const int32_t c = f->src_c[k];
                const int32_t v = qp_pre_lerp(t[0][c], t[1][c], t[2][c], t[3][c], a0, a1, b0, b1);
                row[(size_t)k * plane + (size_t)dx] = p->norm.lut[k][v];
            }
        }
    }
}

enum qp_status qp_preprocess_frame(const struct qp_preprocess *p, const struct qp_image *img,
                                   struct qp_pre_frame *f, struct qp_transform *xf,
                                   struct qp_err *err)
{
    enum qp_status st = check_image(img, err);
    if (st != QP_OK)
        return st;
    int32_t rw = p->dst_w, rh = p->dst_h;
    double  sx = (double)p->dst_w / img->width, sy = (double)p->dst_h / img->height;
    if (p->letterbox) {
        /* YOLOX's preproc: r = min(W / w, H / h), size int(w * r) x int(h * r);
         * boxes are divided by r, not by the rounded per-axis ratio. */
        double r = sx < sy ? sx : sy;
        rw       = (int32_t)(img->width * r);
        rh       = (int32_t)(img->height * r);
        rw       = rw < 1 ? 1 : rw > p->dst_w ? p->dst_w : rw;
        rh       = rh < 1 ? 1 : rh > p->dst_h ? p->dst_h : rh;
        sx = sy  = r;
    }
    *f = (struct qp_pre_frame){.src_w      = img->width,
                               .src_h      = img->height,
                               .stride     = img->stride,
                               .n_channels = formats[img->format].n_channels,
                               .rw         = rw,
                               .rh         = rh,
                               .dst_w      = p->dst_w,
                               .dst_h      = p->dst_h,
                               .nv12       = formats[img->format].nv12};
    for (int k = 0; k < 3; k++)
        f->src_c[k] = formats[img->format].src_channel[p->bgr][k];
    *xf = (struct qp_transform){.scale_x  = (float)sx,
                                .scale_y  = (float)sy,
                                .offset_x = 0.0f,
                                .offset_y = 0.0f,
                                .src_w    = img->width,
                                .src_h    = img->height};
    return QP_OK;
}

enum qp_status qp_preprocess_run(struct qp_preprocess *p, const struct qp_image *img, float *dst,
                                 struct qp_transform *xf, struct qp_err *err)
{
    struct qp_pre_frame f;
    enum qp_status      st = qp_preprocess_frame(p, img, &f, xf, err);
    if (st != QP_OK)
        return st;
    const size_t plane = (size_t)p->dst_w * (size_t)p->dst_h;
    for (int32_t k = 0; k < 3 && (f.rw < p->dst_w || f.rh < p->dst_h); k++) /* letterbox pad */
        for (int32_t y = 0; y < p->dst_h; y++)
            for (int32_t x = y < f.rh ? f.rw : 0; x < p->dst_w; x++)
                dst[(size_t)k * plane + (size_t)y * (size_t)p->dst_w + (size_t)x] = p->norm.pad[k];
    if (f.nv12)
        resize_region_nv12(p, img, &f, dst);
    else
        resize_region(p, img, &f, dst);
    return QP_OK;
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void qp_transform_to_source(const struct qp_transform *xf, float box[4])
{
    box[0] = clampf((box[0] - xf->offset_x) / xf->scale_x, 0.0f, (float)xf->src_w);
    box[1] = clampf((box[1] - xf->offset_y) / xf->scale_y, 0.0f, (float)xf->src_h);
    box[2] = clampf((box[2] - xf->offset_x) / xf->scale_x, 0.0f, (float)xf->src_w);
    box[3] = clampf((box[3] - xf->offset_y) / xf->scale_y, 0.0f, (float)xf->src_h);
}
