// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * detect.h - images in, detections out: the model spec (pre- and
 * post-processing of a detector), image decoding, and the detector that
 * wraps an engine.
 *
 * A model spec comes from the models manifest (models/zoo.ini, matched by
 * sha256 or name) or from a sidecar file next to the model (MODEL.onnx.ini,
 * same keys), or from command-line flags. Boxes are reported in source-image
 * pixels, xyxy, after the inverse of the letterbox / resize.
 */
#include <stdbool.h>
#include <stdint.h>

#include "qpercept/engine.h"
#include "qpercept/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pixel formats a detector takes. NV12 is the usual camera output (V4L2,
 * Jetson/Argus, GStreamer): a Y plane of height rows of stride bytes, then
 * immediately an interleaved UV plane of height/2 rows of stride bytes (U,
 * V per 2x2 block of pixels), so data holds stride * height +
 * stride * height / 2 bytes; width and height are even and stride >= width.
 * Its colours are taken as BT.601, limited ("video") range, Y 16..235 and
 * U, V 16..240 (values outside still convert, clamped to 0..255), each
 * pixel with its 2x2 block's chroma. The detector samples the planes
 * directly (no RGB copy of the frame); its input is what converting the
 * frame to RGB8 that way and running that gives. */
enum qp_pixel_format {
    QP_PIXEL_RGB8  = 0,
    QP_PIXEL_BGR8  = 1,
    QP_PIXEL_GRAY8 = 2,
    QP_PIXEL_NV12  = 3,
    QP_PIXEL_COUNT
};

/* An image in host memory. Owned by whoever filled it (qp_image_free for
 * images from qp_image_load). */
struct qp_image {
    int32_t              width, height;
    int32_t              stride; /* bytes per row (of each plane for NV12) */
    enum qp_pixel_format format;
    uint8_t             *data;
};

/* Decode a JPEG or PNG file (by content, not name) into RGB8. Errors name the
 * file and the decoder's reason; sizes above 16384 x 16384 are refused. */
enum qp_status qp_image_load(const char *path, struct qp_image *out, struct qp_err *err);
/* Same from memory. */
enum qp_status qp_image_decode(const void *buf, size_t n, struct qp_image *out, struct qp_err *err);
/* The size of a JPEG or PNG image in memory from its header alone (by
 * content, not name; nothing decoded or allocated beyond the decoder's
 * state); *png says which it is. QP_E_FORMAT for neither or a broken or
 * oversized header, as qp_image_decode would say. */
enum qp_status qp_image_probe(const void *buf, size_t n, int32_t *width, int32_t *height, bool *png,
                              struct qp_err *err);
void           qp_image_free(struct qp_image *img);

enum qp_head {
    QP_HEAD_NONE  = 0, /* raw outputs only */
    QP_HEAD_YOLOX = 1, /* [1, N, 5 + C]: dx, dy, log w, log h, obj, classes (sigmoided) */
    QP_HEAD_GFL   = 2, /* per stride: cls [1, N, C] (sigmoided) + reg [1, N, 4*(reg_max+1)] */
    QP_HEAD_COUNT
};

#define QP_MAX_STRIDES 8
#define QP_MAX_CLASSES 1024
#define QP_LABEL_LEN 48

struct qp_model_spec {
    char         name[64];
    char         sha256[65]; /* lower-case hex; "" when unknown */
    char         url[256];   /* upstream source (manifest only) */
    int32_t      input_w, input_h;
    bool         bgr;             /* model wants B,G,R channel order */
    bool         letterbox;       /* keep aspect ratio, image top-left, pad */
    float        pad_value;       /* letterbox fill (0..255 pixel units) */
    float        mean[3], std[3]; /* per model channel: (x - mean) / std, pixel units */
    enum qp_head head;
    int32_t      n_strides;
    int32_t      strides[QP_MAX_STRIDES];
    int32_t      reg_max; /* GFL: bins - 1 (NanoDet-m: 7) */
    int32_t      n_classes;
    char (*labels)[QP_LABEL_LEN]; /* n_classes names or NULL; owned by the spec */
};

/* Defaults: 0 sizes, RGB, resize, mean 0 / std 1, no head. */
void qp_model_spec_init(struct qp_model_spec *s);
void qp_model_spec_fini(struct qp_model_spec *s);
/* Parse one "key = value" setting (the manifest's and sidecar's keys:
 * input, color, resize, pad, mean, std, head, strides, reg_max, classes,
 * labels, sha256, url). Relative label file paths resolve against base_dir.
 * Unknown keys and bad values are QP_E_INVAL naming the key. */
enum qp_status qp_model_spec_set(struct qp_model_spec *s, const char *key, const char *value,
                                 const char *base_dir, struct qp_err *err);
/* Find the spec for model_path: sidecar MODEL.ini first, then the manifest
 * entry whose sha256 matches the file (or, failing that, whose name equals the
 * file's base name without extension). QP_E_INVAL when none matches. */
enum qp_status qp_model_spec_find(const char *model_path, const char *manifest_path,
                                  struct qp_model_spec *out, struct qp_err *err);
/* The models manifest: $QP_MANIFEST when set (NULL when it is not
 * readable), else models/zoo.ini of the build tree or share/qpercept/zoo.ini
 * of the install tree beside the running executable (argv0 when
 * /proc/self/exe cannot be read). Its path goes into buf (n bytes); NULL
 * when none is readable. */
const char *qp_model_manifest(const char *argv0, char *buf, size_t n);
/* Write s as the sidecar MODEL.ini of model_path (and its labels as
 * MODEL.names beside it), so the file is found with its spec as an ONNX
 * model is: what `qpercept build` leaves next to an engine file. */
enum qp_status qp_model_spec_write_sidecar(const struct qp_model_spec *s, const char *model_path,
                                           struct qp_err *err);
/* Hex sha256 of a file into hex[65]. */
enum qp_status qp_sha256_file(const char *path, char hex[65], struct qp_err *err);

struct qp_detection {
    int32_t class_id;
    float   score;
    float   x0, y0, x1, y1; /* source-image pixels */
};

struct qp_detect_params {
    float   score_min;      /* default 0.3 */
    float   iou;            /* NMS IoU threshold, default 0.45 */
    bool    class_agnostic; /* NMS across classes (default: per class) */
    int32_t max_dets;       /* at most this many kept, best first (default 300) */
};

#define QP_DETECT_PARAMS_DEFAULT                                                                   \
    {                                                                                              \
        0.3f, 0.45f, false, 300                                                                    \
    }

struct qp_detector;

/* Wrap an open engine (borrowed; must outlive the detector) with a spec
 * (copied). Checks the engine's input / output shapes against the spec.
 * The engine may be opened at any batch B (qp_engine_options.batch): the
 * detector sizes its buffers for B images here. On an engine opened with a
 * qp_engine_share, its scratch (candidates; the input where the engine is
 * not filled in place) is the share's, one for all its detectors, which
 * therefore run one at a time, as their engines do. */
enum qp_status qp_detector_new(struct qp_engine *e, const struct qp_model_spec *spec,
                               struct qp_detector **out, struct qp_err *err);
void           qp_detector_free(struct qp_detector *d);
/* B: the most images one run takes (the engine's batch). */
int32_t qp_detector_batch(const struct qp_detector *d);
/* Pre-process img, run, decode, NMS. Writes at most cap detections (best
 * first) and their count to *n. Allocates nothing after qp_detector_new.
 * On a batch-B engine this is qp_detector_run_batch with one image. An
 * NV12 img with no data, an odd side or stride < width is QP_E_INVAL
 * naming its size (other malformed images: QP_E_FORMAT). */
enum qp_status qp_detector_run(struct qp_detector *d, const struct qp_image *img,
                               const struct qp_detect_params *p, struct qp_detection *dets,
                               int32_t cap, int32_t *n, struct qp_err *err);
/* n images (1 <= n <= B) in one engine run: image k is pre-processed into
 * slot k of the input (with its own letterbox / scale, so its boxes come
 * back in its own pixels), slots n..B-1 are zeroed, the engine runs once,
 * and each image is decoded and NMS'd alone. Image k's detections (at most
 * cap_per_image, best first) go to dets[k * cap_per_image ...] and their
 * count to counts[k]; dets holds n * cap_per_image, counts n. They equal
 * what qp_detector_run gives for that image alone on the same model. A
 * failure (QP_E_INVAL for n outside [1, B], QP_E_FORMAT - QP_E_INVAL for
 * a bad NV12 layout - naming the image that does not pre-process, an engine
 * error) fails the whole batch with
 * every count 0. Allocates nothing after qp_detector_new. */
enum qp_status qp_detector_run_batch(struct qp_detector *d, const struct qp_image *imgs, int32_t n,
                                     const struct qp_detect_params *p, struct qp_detection *dets,
                                     int32_t cap_per_image, int32_t *counts, struct qp_err *err);

/* On a backend that pre-processes frames itself (CUDA), the frames of a
 * batch are staged there, one after another: qp_detector_new stages
 * 24.9 MB of them (one 4K RGB8 frame, eight 1280x720 BGR8), and a batch of
 * more is pre-processed on the host. This stages batches of up to bytes of
 * pixels in all (rows as their strides lay them out) instead, now, before
 * the first frame (it only grows; engines of one share stage in one
 * place). QP_OK and nothing done where the backend pre-processes nothing
 * (the CPU). On failure the frames are pre-processed on the host. */
enum qp_status qp_detector_stage_frames(struct qp_detector *d, size_t bytes, struct qp_err *err);
/* Batches pre-processed on the host so far although the backend
 * pre-processes frames itself, because their frames outgrew the staging
 * (always 0 on the CPU). */
int64_t qp_detector_host_batches(const struct qp_detector *d);

/* qp_detector_run_batch in two steps, for a caller that must know when the
 * images' bytes were last read (qperceptd pre-processes shared-memory
 * frames in place and re-checks their slots in between):
 * qp_detector_prepare_batch pre-processes imgs[0, n) into the input (slots
 * n..B-1 zeroed) and is the last step that reads them (a device backend
 * has staged their bytes by the time it returns); qp_detector_finish_batch
 * runs the engine, decodes and NMS's the n images prepared, as
 * qp_detector_run_batch would. One finish per prepare: a finish with no
 * prepare before it, or after a failed one, is QP_E_INVAL. Errors as
 * qp_detector_run_batch's. Allocate nothing after qp_detector_new. */
enum qp_status qp_detector_prepare_batch(struct qp_detector *d, const struct qp_image *imgs,
                                         int32_t n, struct qp_err *err);
enum qp_status qp_detector_finish_batch(struct qp_detector *d, const struct qp_detect_params *p,
                                        struct qp_detection *dets, int32_t cap_per_image,
                                        int32_t *counts, struct qp_err *err);

#ifdef __cplusplus
}
#endif
