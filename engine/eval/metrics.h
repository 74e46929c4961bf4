// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * metrics.h - COCO-style bounding-box detection metrics (mAP), computed
 * exactly as pycocotools' COCOeval does for iouType "bbox".
 *
 * A builder collects ground-truth boxes and detections (image id, class id,
 * score, xyxy in pixels); qp_metrics_compute then scores them: per image and
 * class the top 100 detections by score (stable) are matched greedily to the
 * unmatched ground truth of highest IoU >= threshold, for IoU thresholds
 * 0.50:0.05:0.95; precision is interpolated at the 101 recall thresholds
 * 0:0.01:1; classes without (non-crowd) ground truth are left out of the
 * mean, as pycocotools leaves out precision -1. Arithmetic is float64 like
 * pycocotools: a box is stored as xywh with w = x2 - x1 in double, its area is
 * w*h (no +1), and IoU is pycocotools' bbIou expression for expression.
 *
 * Crowd regions are supported as pycocotools does: a crowd ground truth is
 * never counted as a positive, its IoU with a detection is
 * intersection / area(detection), it may absorb any number of detections, and
 * detections it absorbs are ignored (neither true nor false positives).
 *
 * Differences from pycocotools, all at its API level, none in the numbers:
 * the image set is the union of the image ids seen in ground truth and
 * detections (pycocotools takes the ground-truth file's image list and
 * rejects detections on other images; here they are false positives), and
 * the class set is the union of class ids seen (a class with detections but
 * no ground truth is excluded from the mean either way). Only maxDets 100 is
 * computed.
 *
 * This is offline evaluation (qpercept eval): the builder grows with
 * qp_realloc and compute allocates its scratch; nothing here runs per frame.
 * Tested by tests/unit/test_metrics.c against numbers from
 * tests/tools/coco_ref.py (pycocotools).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

#define QP_METRICS_MAX_DETS 100 /* detections kept per image and class */

struct qp_metrics; /* the builder; opaque */

/* Results. Every value is -1 when no class has non-crowd ground truth in the
 * value's area range (pycocotools' convention). Area ranges are COCO's:
 * small area <= 32^2, medium 32^2..96^2, large >= 96^2, bounds inclusive. */
struct qp_metrics_result {
    double map;        /* AP averaged over IoU 0.50:0.05:0.95 (COCO "AP")      */
    double ap50;       /* AP at IoU 0.50                                        */
    double ap75;       /* AP at IoU 0.75                                        */
    double ap_small;   /* map over boxes of small area                          */
    double ap_medium;  /* map over boxes of medium area                         */
    double ap_large;   /* map over boxes of large area                          */
    double recall50;   /* recall at IoU 0.50, maxDets 100, mean over classes    */
    double ar100;      /* recall averaged over the ten IoU thresholds (COCO AR) */
    double map_boxes;  /* not COCO's: the classes' map weighted by their truth
                        * boxes, so a class of one box cannot swing it        */
    int32_t n_classes; /* classes in the mean (with non-crowd ground truth)     */
    int32_t n_images;  /* distinct image ids seen                               */
};

/* One class of the last qp_metrics_compute: a class that counts in the
 * mean (it has non-crowd ground truth), with that class's own AP over IoU
 * 0.50:0.05:0.95, AP at 0.50 and recall at 0.50. The result's map, ap50 and
 * recall50 are the means of these rows. */
struct qp_metrics_class {
    int32_t class_id;
    int64_t truths; /* non-crowd ground-truth boxes */
    double  map, ap50, recall50;
};

/* A new empty builder in *out (owned by the caller, freed with
 * qp_metrics_free). QP_E_NOMEM if it cannot be allocated. */
enum qp_status qp_metrics_new(struct qp_metrics **out, struct qp_err *err);

/* Free the builder; NULL is a no-op. */
void qp_metrics_free(struct qp_metrics *m);

/* Number of ground-truth boxes and of detections added so far. */
size_t qp_metrics_n_truths(const struct qp_metrics *m);
size_t qp_metrics_n_detections(const struct qp_metrics *m);

/* Add one ground-truth box xyxy = {x1, y1, x2, y2}; crowd marks a COCO
 * iscrowd region. QP_E_INVAL for non-finite coordinates or x2 < x1 or
 * y2 < y1; QP_E_NOMEM when the builder cannot grow (the builder is then
 * unchanged). */
enum qp_status qp_metrics_add_truth(struct qp_metrics *m, int64_t image_id, int32_t class_id,
                                    const float xyxy[4], bool crowd, struct qp_err *err);

/* Add one detection. QP_E_INVAL for a non-finite score or box, or x2 < x1 or
 * y2 < y1; QP_E_NOMEM when the builder cannot grow (unchanged then). Ties in
 * score keep the order of addition within an image, and image-id order
 * across images, as pycocotools' stable sorts do. */
enum qp_status qp_metrics_add_detection(struct qp_metrics *m, int64_t image_id, int32_t class_id,
                                        float score, const float xyxy[4], struct qp_err *err);

/* Score everything added so far into *out. Reorders the builder's arrays
 * (by class, image and score; the order of addition is kept as a tie-break,
 * so computing twice gives the same result), which is why m is not const.
 * QP_E_NOMEM when the scratch cannot be allocated (*out untouched then). */
enum qp_status qp_metrics_compute(struct qp_metrics *m, struct qp_metrics_result *out,
                                  struct qp_err *err);

/* The last compute's rows, by ascending class id (*n of them; none before
 * the first compute). Valid until the next compute or qp_metrics_free. */
const struct qp_metrics_class *qp_metrics_classes(const struct qp_metrics *m, int32_t *n);
