#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ref_dets.py - print the stored ONNX Runtime reference detections, one a line.

  ref_dets.py [JSON]

JSON defaults to <mirror>/data/reference/ort_reference_detections.json with
the mirror directory from env QP_MIRROR (default ../shared). Each line is

  IMAGE MODEL CLASS SCORE X0 Y0 X1 Y1

IMAGE is the image path relative to the mirror's data/ folder (as in the
JSON's "image" field), MODEL the model file name, CLASS the class name with
spaces replaced by '_' ("traffic_light"), the box in source-image pixels,
xyxy. Plain standard-library Python, so C tests can read it through popen
without parsing JSON themselves.
"""
import json
import os
import sys


def main():
    if len(sys.argv) > 2:
        sys.exit("usage: ref_dets.py [JSON]")
    mirror = os.environ.get("QP_MIRROR") or "../shared"
    path = sys.argv[1] if len(sys.argv) == 2 else os.path.join(
        mirror, "data", "reference", "ort_reference_detections.json")
    try:
        with open(path, encoding="utf-8") as f:
            ref = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"ref_dets.py: {path}: {e}")
    for entry in ref["results"].values():
        image = entry["image"]
        for model, dets in entry.items():
            if not model.endswith(".onnx"):
                continue
            for d in dets:
                x0, y0, x1, y1 = d["bbox_xyxy"]
                cls = d["class"].replace(" ", "_")
                print(f"{image} {model} {cls} {d['score']} {x0} {y0} {x1} {y1}")


if __name__ == "__main__":
    main()
