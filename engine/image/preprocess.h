// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * preprocess.h - an image (RGB8 / BGR8 / GRAY8 / NV12, any size) into a model's
 * input tensor, and the transform that maps boxes back.
 *
 * Output is float NCHW with N = 1, C = 3, in the model's channel order,
 * each value (pixel - mean[c]) / std[c]. The image is scaled with OpenCV's
 * INTER_LINEAR arithmetic (half-pixel centres, 11-bit fixed-point weights,
 * 8-bit intermediate), bit for bit, because the reference detections were
 * made with cv2.resize. Letterbox: scale = min(W / w, H / h), resized size
 * (int)(w * scale) x (int)(h * scale), image at the top-left, the rest
 * pad_value. Resize: each axis stretched to the model size.
 *
 * A qp_preprocess holds the spec's settings and coefficient tables sized for
 * the model input at init, so run() allocates nothing.
 */
#include <stdbool.h>
#include <stdint.h>

#include "image/pre_math.h"
#include "qpercept/detect.h"
#include "qpercept/status.h"

/* Model pixels per source pixel, and where source (0, 0) lands in the model
 * input: model = source * scale + offset. */
struct qp_transform {
    float   scale_x, scale_y;
    float   offset_x, offset_y;
    int32_t src_w, src_h; /* source size, for clipping */
};

struct qp_preprocess {
    int32_t            dst_w, dst_h;
    bool               bgr, letterbox;
    float              pad_value;
    struct qp_pre_norm norm;  /* (v - mean[c]) / std[c] per 8-bit v, model channel c */
    int32_t           *xofs;  /* [2 * dst_w] the two source columns per output column */
    int16_t           *xalpha; /* [2 * dst_w] fixed-point weights, sum 2048 */
    int32_t           *yofs;  /* [2 * dst_h] the two source rows per output row */
    int16_t           *ybeta; /* [2 * dst_h] */
};

/* Take the input size, colour order, resize mode, pad, mean and std from
 * spec and allocate the coefficient tables. QP_E_INVAL when the spec's
 * input size is missing or a std is 0; QP_E_NOMEM. */
enum qp_status qp_preprocess_init(struct qp_preprocess *p, const struct qp_model_spec *spec,
                                  struct qp_err *err);
void           qp_preprocess_fini(struct qp_preprocess *p); /* safe on a zeroed struct */

/* Fill dst (3 * dst_h * dst_w floats, model order NCHW) from img and set *xf.
 * QP_E_FORMAT when img is malformed (no data, size <= 0, stride too small,
 * unknown pixel format); QP_E_INVAL, naming its size, for an NV12 image
 * that breaks detect.h's NV12 layout (no data, an odd side, stride < width).
 * Allocates nothing. */
enum qp_status qp_preprocess_run(struct qp_preprocess *p, const struct qp_image *img, float *dst,
                                 struct qp_transform *xf, struct qp_err *err);

/* Check img and give its geometry in the model input (pre_math.h) and the
 * box transform, as qp_preprocess_run uses them: what a device needs to
 * pre-process img itself. QP_E_FORMAT / QP_E_INVAL as qp_preprocess_run. */
enum qp_status qp_preprocess_frame(const struct qp_preprocess *p, const struct qp_image *img,
                                   struct qp_pre_frame *f, struct qp_transform *xf,
                                   struct qp_err *err);

/* Map a box (x0, y0, x1, y1) from model-input pixels back to source pixels
 * and clip it to [0, src_w] x [0, src_h]. */
void qp_transform_to_source(const struct qp_transform *xf, float box[4]);
