// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * foxglove.h - frames and detections as Foxglove's messages, for `qpercept
 * record --foxglove`: a frame as foxglove.CompressedImage (JPEG, PNG) or
 * foxglove.RawImage (RGB8, BGR8, GRAY8; NV12 converted to rgb8, which
 * Foxglove cannot show), a Detections as foxglove.ImageAnnotations (a box
 * and a "label score" text per detection, a colour per class). Protobuf
 * encoded by hand (proto/foxglove/foxglove.proto declares them); both
 * carry the frame's capture stamp as timestamp, so Foxglove pairs each
 * image with its annotations. No allocation: the caller's buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/client.h"

enum qp_fox_schema {
    QP_FOX_COMPRESSED_IMAGE = 0,
    QP_FOX_RAW_IMAGE,
    QP_FOX_IMAGE_ANNOTATIONS,
    QP_FOX_SCHEMA_COUNT
};

/* "foxglove.CompressedImage", ...; "unknown". Never NULL. */
const char *qp_fox_schema_name(enum qp_fox_schema s);

/* Bytes qp_fox_image needs at most for frames of max_frame_bytes pixel
 * bytes (an NV12 frame grows to RGB: twice its size). */
size_t qp_fox_image_cap(size_t max_frame_bytes);

/* Encode f into out[0, cap) as the image that shows it; *schema says
 * which. Returns the length, 0 when it does not fit or f's format is not
 * one of ours. */
size_t qp_fox_image(const struct qp_frame_in *f, uint8_t *out, size_t cap,
                    enum qp_fox_schema *schema);

/* Bytes qp_fox_annotations needs at most (QP_CLIENT_MAX_DETECTIONS). */
size_t qp_fox_annotations_cap(void);

/* Encode d as ImageAnnotations into out[0, cap), its length in *len (0
 * for no detections: an empty message); false when it does not fit. */
bool qp_fox_annotations(const struct qp_detections_in *d, uint8_t *out, size_t cap, size_t *len);
