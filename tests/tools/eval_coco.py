#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""eval_coco.py - pycocotools' numbers for a `qpercept eval --json` report.

  eval_coco.py EVAL.json [GT2D.json NAMES]

Reads the per-image boxes the report holds ("detections" of the model,
"reference" of the reference model, both [class, score, x0, y0, x1, y1]
with float32 values) and scores them with pycocotools' COCOeval (iouType
"bbox"), independently of the C code:

  agreement  the reference's boxes are the ground truth of every image
  true       with GT2D.json (the project's {"image", "objects": [{"class",
             "bbox": [x1, y1, x2, y2]}]} labels) and NAMES (the model's
             class names, one a line): the labels' boxes are the ground
             truth of the image they name, and the model's boxes on that
             image are scored (the report's "labelled" images)

Prints one line per evaluation: NAME mAP AP50 AP75 recall50 (recall at IoU
0.5, maxDets 100, mean over classes with ground truth) map_boxes (each
class's mAP weighted by its ground-truth boxes, qpercept eval's map_boxes),
each %.17g, or -1 where there is no ground truth. Coordinates go through float32 as in
qpercept (qp_metrics stores float32 boxes, then w = x2 - x1 in float64).
The class mapping below mirrors engine/eval/labels.c for the KITTI and
nuScenes types; test tooling only, needs numpy and pycocotools (QP_VENV).
"""
import contextlib
import io
import json
import os
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# normalised name -> model class name (normalised); None: not scored
ALIASES = {"van": "car", "pedestrian": "person", "personsitting": "person",
           "cyclist": "person", "tram": "train", "misc": None, "trafficcone": None,
           "barrier": None}


def norm(name):
    return "".join(c for c in name.lower() if c not in " _-")


def f32(v):
    return float(np.float32(v))


def xywh(x0, y0, x1, y1):
    x0, y0, x1, y1 = f32(x0), f32(y0), f32(x1), f32(y1)
    return [x0, y0, x1 - x0, y1 - y0]


def coco_eval(n_classes, images, truths, dets):
    """truths: (image, class, xywh); dets: (image, class, score, xywh)."""
    anns = [{"id": k + 1, "image_id": i, "category_id": c, "bbox": b,
             "area": b[2] * b[3], "iscrowd": 0} for k, (i, c, b) in enumerate(truths)]
    gt = COCO()
    gt.dataset = {"images": [{"id": i} for i in images], "annotations": anns,
                  "categories": [{"id": c, "name": str(c)} for c in range(n_classes)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        if not dets:
            return [-1.0] * 5 if not truths else [0.0] * 5
        dt = gt.loadRes([{"image_id": i, "category_id": c, "score": s, "bbox": b}
                         for i, c, s, b in dets])
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    r50 = ev.eval["recall"][0, :, 0, 2]
    r50 = float(np.mean(r50[r50 > -1])) if np.any(r50 > -1) else -1.0
    # not COCO's class average: each class's mAP weighted by its truth boxes
    prec = ev.eval["precision"][:, :, :, 0, 2]
    n_truth = np.bincount([c for _, c, _ in truths], minlength=n_classes)
    weighted = boxes = 0.0
    for k, c in enumerate(ev.params.catIds):
        p = prec[:, :, k]
        if n_truth[c] and np.any(p > -1):
            weighted += n_truth[c] * float(np.mean(p[p > -1]))
            boxes += n_truth[c]
    return [ev.stats[0], ev.stats[1], ev.stats[2], r50, weighted / boxes if boxes else -1.0]


def rows(entry, key):
    return [(int(d[0]), f32(d[1]), xywh(*d[2:6])) for d in entry.get(key) or []]


def main(argv):
    if len(argv) not in (2, 4):
        sys.exit("usage: eval_coco.py EVAL.json [GT2D.json NAMES]")
    with open(argv[1], encoding="utf-8") as f:
        report = json.load(f)
    images = report["images"]
    n_classes = 1 + max([d[0] for e in images for k in ("detections", "reference")
                         for d in e.get(k) or []] + [0])
    out = []
    if report["settings"]["reference"] is not None:
        truths = [(i, c, b) for i, e in enumerate(images) for c, _, b in rows(e, "reference")]
        dets = [(i, c, s, b) for i, e in enumerate(images) for c, s, b in rows(e, "detections")]
        out.append(("agreement", coco_eval(n_classes, range(len(images)), truths, dets)))
    if len(argv) == 4:
        with open(argv[2], encoding="utf-8") as f:
            labels = json.load(f)
        with open(argv[3], encoding="utf-8") as f:
            names = [norm(line.strip()) for line in f if line.strip()]
        n_classes = max(n_classes, len(names))
        base = os.path.basename(labels["image"])
        ids = [i for i, e in enumerate(images) if os.path.basename(e["file"]) == base]
        truths = []
        for o in labels["objects"]:
            name = norm(o["class"])
            name = ALIASES.get(name, name) if name not in names else name
            if name in names:
                truths += [(i, names.index(name), xywh(*o["bbox"])) for i in ids]
        dets = [(i, c, s, b) for i in ids for c, s, b in rows(images[i], "detections")]
        n_classes = max(n_classes, 1 + max([c for _, c, _ in truths] + [0]))
        out.append(("true", coco_eval(n_classes, ids, truths, dets)))
    for name, vals in out:
        print(name, " ".join("%.17g" % v for v in vals))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
