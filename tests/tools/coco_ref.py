#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""coco_ref.py - pycocotools' bbox metrics on the generated case of test_metrics.c.

  coco_ref.py [SEED ...]        (default seeds: 2026 7)

Generates the same ground truth and detections as gen_case() in
tests/unit/test_metrics.c (same xorshift32 generator, same order of draws;
coordinates are multiples of 1/16 px and scores multiples of 1/64, so float32
in C and float64 here hold the same values), scores them with pycocotools'
COCOeval (iouType "bbox") and prints, per seed, the C initializer the test
embeds: { seed, mAP, AP50, AP75, AP small, AP medium, AP large, recall at
IoU 0.5 (maxDets 100), AR100 }.

Needs pycocotools (pip install pycocotools); test tooling only, never run by
the build. If you change the generator here, change gen_case() in the test
the same way and paste the new numbers.
"""
import contextlib
import io
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

IMAGES = [40, 3, 97, 11, 10, 41, 5, 64]  # insertion order differs from id order
GT_CLASSES = [0, 1, 2, 5]
FP_ONLY_CLASS = 7  # detections, never ground truth: excluded from the mean
BURST_IMAGE, BURST_CLASS, BURST_N = 41, 1, 105  # more than maxDets in one image


class Rng:
    """xorshift32, as rng_next() in test_metrics.c."""

    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFF

    def below(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n


def side16(rng, kind):
    """A box side in 1/16 px: small, medium or large COCO area classes."""
    lo, span = [(8, 24), (32, 64), (96, 200)][kind]
    return 16 * lo + rng.below(16 * span)


def jitter(rng, v16, side16_):
    q = side16_ // 4
    return v16 + rng.below(2 * q + 1) - q


def score(rng):
    return (1 + rng.below(64)) / 64.0


def random_box(rng):
    kind = rng.below(3)
    return [rng.below(16 * 400), rng.below(16 * 400), side16(rng, kind), side16(rng, kind)]


def generate(seed):
    """Lists of (image, class, [x16, y16, w16, h16], crowd) and
    (image, class, score, [x16, y16, w16, h16]) in the test's order."""
    rng = Rng(seed)
    gts, dts = [], []
    for img in IMAGES:
        for c in GT_CLASSES:
            for _ in range(rng.below(5)):
                x, y, w, h = random_box(rng)
                gts.append((img, c, [x, y, w, h], rng.below(12) == 0))
                for _ in range(rng.below(4)):  # 0..3 detections of it
                    jx, jy = jitter(rng, x, w), jitter(rng, y, h)
                    jw, jh = max(16, jitter(rng, w, w)), max(16, jitter(rng, h, h))
                    dts.append((img, c, score(rng), [jx, jy, jw, jh]))
        for c in GT_CLASSES + [FP_ONLY_CLASS]:
            for _ in range(rng.below(3)):  # false positives anywhere
                s = score(rng)
                dts.append((img, c, s, random_box(rng)))
    g = [16 * 100, 16 * 100, 16 * 60, 16 * 60]
    gts.append((BURST_IMAGE, BURST_CLASS, g, False))
    for _ in range(BURST_N):
        jx, jy = jitter(rng, g[0], g[2]), jitter(rng, g[1], g[3])
        dts.append((BURST_IMAGE, BURST_CLASS, score(rng), [jx, jy, g[2], g[3]]))
    return gts, dts


def evaluate(gts, dts):
    def xywh(b16):
        return [v / 16.0 for v in b16]

    anns = []
    for i, (img, c, b, crowd) in enumerate(gts):
        bb = xywh(b)
        anns.append({"id": i + 1, "image_id": img, "category_id": c, "bbox": bb,
                     "area": bb[2] * bb[3], "iscrowd": int(crowd)})
    cats = sorted(set(GT_CLASSES + [FP_ONLY_CLASS]))
    gt = COCO()
    gt.dataset = {"images": [{"id": i} for i in IMAGES], "annotations": anns,
                  "categories": [{"id": c, "name": str(c)} for c in cats]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes([{"image_id": img, "category_id": c, "score": s, "bbox": xywh(b)}
                         for img, c, s, b in dts])
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    r50 = ev.eval["recall"][0, :, 0, 2]
    r50 = float(np.mean(r50[r50 > -1])) if np.any(r50 > -1) else -1.0
    st = ev.stats
    return [st[0], st[1], st[2], st[3], st[4], st[5], r50, st[8]]


def main(argv):
    seeds = [int(a) for a in argv[1:]] or [2026, 7]
    for seed in seeds:
        gts, dts = generate(seed)
        vals = evaluate(gts, dts)
        print("/* seed %d: %d truths, %d detections */" % (seed, len(gts), len(dts)))
        print("{%d, {%s}}," % (seed, ", ".join("%.17g" % v for v in vals)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
