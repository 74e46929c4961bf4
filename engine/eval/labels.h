// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * labels.h - ground-truth boxes from label files into a metrics builder,
 * with each label class mapped to the model's class index by name.
 *
 * Three formats, told apart by content (not by file name):
 *   coco   a COCO instances JSON: images[] (id, file_name), annotations[]
 *          (image_id, category_id, bbox x,y,w,h, iscrowd), categories[]
 *          (id, name); an image is matched by the base name of file_name.
 *   kitti  KITTI object label_2 text: a directory of NNNNNN.txt, or one
 *          .txt; lines "type truncated occluded alpha x1 y1 x2 y2 h w l x y
 *          z ry [score]"; NNNNNN.txt labels the image whose name without
 *          extension is NNNNNN.
 *   gt2d   the project's {"image": NAME, "objects": [{"class": C, "bbox":
 *          [x1, y1, x2, y2]}]}: one file, or a directory of *_gt2d.json;
 *          the image is matched by the base name of "image".
 * A directory holding *_gt2d.json files is gt2d, else one holding .txt files
 * is kitti. A file whose first non-blank byte is '{' is JSON: COCO when it
 * has "images" or "annotations", gt2d when it has "objects"; any other file
 * is kitti.
 *
 * Class names match the model's labels case-insensitively, ignoring ' ',
 * '_' and '-' ("traffic_light" is "traffic light"), and through a table of
 * aliases: KITTI's and nuScenes' types (Van -> car, Pedestrian -> person,
 * Tram -> train, ...), COCO's official names against darknet's coco80.names
 * (motorcycle / motorbike, airplane / aeroplane, couch / sofa, tv /
 * tvmonitor). KITTI's DontCare is a crowd region (qp_metrics: it absorbs
 * detections of any class without counting against them). Objects of any
 * other class are "unmapped": counted, not scored.
 *
 * Images are given as the evaluation's list of paths; image id i in the
 * builder is list index i. An image that no label entry names is not
 * labelled: the caller leaves it out of true mAP. Offline code: allocates.
 * Tested by tests/unit/test_labels.c.
 */
#include <stdbool.h>
#include <stdint.h>

#include "eval/metrics.h"
#include "qpercept/detect.h" /* QP_LABEL_LEN */
#include "qpercept/status.h"

enum qp_labels_format { QP_LABELS_COCO, QP_LABELS_KITTI, QP_LABELS_GT2D, QP_LABELS_FORMAT_COUNT };

#define QP_LABELS_MAX_UNMAPPED_NAMES 8

/* What a load found. */
struct qp_labels_stats {
    enum qp_labels_format format;
    int32_t               n_files;          /* label files read */
    int32_t               n_labelled;       /* images of the list named by a label entry */
    int32_t               n_unmatched;      /* label entries naming no image of the list */
    int64_t               n_boxes;          /* ground-truth boxes added (mapped class, not crowd) */
    int64_t               n_crowd;          /* crowd regions added (DontCare, COCO iscrowd) */
    int64_t               n_unmapped;       /* objects whose class the model does not have */
    int32_t               n_unmapped_names; /* distinct unmapped class names (first few kept) */
    struct {
        char    name[QP_LABEL_LEN];
        int64_t count;
    } unmapped[QP_LABELS_MAX_UNMAPPED_NAMES];
};

/* "coco", "kitti", "gt2d"; never NULL. */
const char *qp_labels_format_name(enum qp_labels_format f);

/* The model class for a label class name: its index in names[0, n_classes),
 * or -1 when the model has no such class. *crowd is set when the name means
 * a region to ignore (DontCare); the result is -1 then. */
int32_t qp_labels_class_id(const char (*names)[QP_LABEL_LEN], int32_t n_classes, const char *name,
                           bool *crowd);

/* Read the labels at path (file or directory) and add their boxes for the
 * images of images[0, n_images) to m, with image id = list index and class
 * id = model class; a crowd region of DontCare is added once per model
 * class. labelled[i] (n_images entries, set here) says whether an entry
 * names image i; stats receives the counts. Errors name the file and the
 * line (text) or line, column and byte (JSON) and what is wrong: QP_E_IO
 * (unreadable), QP_E_FORMAT (malformed entry, no label files in a
 * directory), QP_E_NOMEM. On error m may hold part of the boxes. */
enum qp_status qp_labels_load(const char *path, const char (*names)[QP_LABEL_LEN],
                              int32_t n_classes, const char *const *images, int32_t n_images,
                              struct qp_metrics *m, bool *labelled, struct qp_labels_stats *stats,
                              struct qp_err *err);
