#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ort_run.py - run ONNX Runtime on a model and write its outputs as .npy files.

The reference side of the engine-vs-ONNX-Runtime tests: a C test feeds the
same input tensor to our engine and compares output by output.

Two ways to give the inputs:

  ort_run.py MODEL --out DIR NAME=FILE.npy [NAME=FILE.npy ...]
      inputs from .npy files, by graph input name;

  ort_run.py MODEL --out DIR --image IMAGE --spec yolox|nanodet
      the detector's reference pre-processing (as described in the mirror's
      data/reference/ort_reference_detections.json) applied to IMAGE; the
      tensor it made is written to DIR/inputs/<name>.npy so the C side can
      feed exactly the same bytes. IMAGE is an .npy of uint8 [H, W, 3] RGB
      (what the C tests write after decoding with qp_image_load), or a
      PNG / JPEG file when Pillow happens to be installed.

Each output is written to DIR/<sanitised output name>.npy, where every
character outside [A-Za-z0-9._-] becomes '_'. For every tensor written one
line "input|output NAME PATH" goes to stdout. ONNX Runtime runs on the CPU
execution provider with --threads intra-op threads (default 1, deterministic)
and graph optimisation level --opt (default all, as the reference run).

Resizing reproduces OpenCV's INTER_LINEAR on uint8 images (half-pixel
centres, edge clamping, OpenCV's fixed-point arithmetic; see
resize_linear), so the tensor is the reference pipeline's. The engine
comparison would not need that (both sides get this tensor); it makes the
ONNX Runtime outputs here those of the stored reference.
"""
import argparse
import os
import re
import sys

import numpy as np

# Pre-processing per detector family: the reference's "preprocessing" notes.
SPECS = {
    "yolox": dict(size=(416, 416), bgr=True, letterbox=True, pad=114.0,
                  mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)),
    "nanodet": dict(size=(416, 416), bgr=True, letterbox=False, pad=0.0,
                    mean=(103.53, 116.28, 123.675), std=(57.375, 57.12, 58.395)),
}

OPT_LEVELS = ("none", "basic", "extended", "all")


def sanitise(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def load_image(path):
    """uint8 [H, W, 3] RGB."""
    if path.endswith(".npy"):
        img = np.load(path, allow_pickle=False)
    else:
        try:
            from PIL import Image
        except ImportError:
            sys.exit(f"ort_run.py: {path}: decoding PNG/JPEG needs Pillow, which is not "
                     "installed; pass the decoded image as a uint8 [H, W, 3] RGB .npy")
        img = np.asarray(Image.open(path).convert("RGB"))
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        sys.exit(f"ort_run.py: {path}: want uint8 [H, W, 3], got {img.dtype} {img.shape}")
    return img


# OpenCV's INTER_LINEAR for 8-bit images in fixed point (modules/imgproc
# resize.cpp, 4.x): 11-bit weights rounded from float32 half-pixel positions,
# a horizontal pass into int32, then the SIMD vertical pass
#   out = sat_u8((mulhi(h0 >> 4, b0) + mulhi(h1 >> 4, b1) + 2) >> 2).
# With libjpeg-turbo's decode this reproduces the reference tensors (the
# stored raw output statistics agree to float precision). OpenCV's scalar
# tail for the last few pixels of a row rounds (v + 2^21) >> 22 instead,
# which can differ by one level; that is not modelled.
COEF_BITS = 11


def axis_taps(src, dst):
    """Source indices and fixed-point weights along one axis."""
    scale = 1.0 / (dst / src)
    x = ((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)
    x0 = np.floor(x).astype(np.int64)
    f = (x - x0.astype(np.float32)).astype(np.float32)
    f[x0 < 0] = 0
    x0[x0 < 0] = 0
    last = x0 >= src - 1
    f[last] = 0
    x0[last] = src - 1
    one = np.float32(1 << COEF_BITS)
    w0 = np.rint((np.float32(1) - f) * one).astype(np.int64)
    w1 = np.rint(f * one).astype(np.int64)
    return x0, np.minimum(x0 + 1, src - 1), w0, w1


def resize_linear(img, out_w, out_h):
    """uint8 [H, W, C] -> uint8 [out_h, out_w, C], as cv2.resize INTER_LINEAR."""
    h, w = img.shape[:2]
    x0, x1, a0, a1 = axis_taps(w, out_w)
    y0, y1, b0, b1 = axis_taps(h, out_h)
    s = img.astype(np.int64)
    rows = s[:, x0] * a0[None, :, None] + s[:, x1] * a1[None, :, None]
    v = (((rows[y0] >> 4) * b0[:, None, None]) >> 16) + \
        (((rows[y1] >> 4) * b1[:, None, None]) >> 16)
    return np.clip((v + 2) >> 2, 0, 255).astype(np.uint8)


def preprocess(img, spec):
    """uint8 RGB [H, W, 3] -> float32 NCHW [1, 3, in_h, in_w]."""
    in_w, in_h = spec["size"]
    h, w = img.shape[:2]
    if spec["letterbox"]:
        r = min(in_w / w, in_h / h)
        nw, nh = int(w * r), int(h * r)
        canvas = np.full((in_h, in_w, 3), spec["pad"], dtype=np.float32)
        canvas[:nh, :nw] = resize_linear(img, nw, nh)
    else:
        canvas = resize_linear(img, in_w, in_h).astype(np.float32)
    if spec["bgr"]:
        canvas = canvas[:, :, ::-1]
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    x = (canvas - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def make_session(model, threads, opt):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # errors only: NanoDet's initializer-as-input warnings are noise
    so.graph_optimization_level = {
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[opt]
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def gather_inputs(sess, args):
    """{input name: array} from NAME=FILE pairs or from --image."""
    names = [i.name for i in sess.get_inputs()]
    feeds = {}
    if args.image:
        if len(names) != 1:
            sys.exit(f"ort_run.py: --image needs a model with one input, this one has {names}")
        feeds[names[0]] = preprocess(load_image(args.image), SPECS[args.spec])
    for pair in args.inputs:
        name, sep, path = pair.partition("=")
        if not sep or name not in names:
            sys.exit(f"ort_run.py: '{pair}': want NAME=FILE with NAME one of {names}")
        feeds[name] = np.load(path, allow_pickle=False)
    missing = [n for n in names if n not in feeds]
    if missing:
        sys.exit(f"ort_run.py: no data for inputs {missing}")
    return feeds


def save(path, array, kind, name):
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)
    print(f"{kind} {name} {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("inputs", nargs="*", metavar="NAME=FILE.npy")
    ap.add_argument("--out", required=True, help="directory for the .npy files")
    ap.add_argument("--image", help="image (.npy uint8 HWC RGB, or PNG/JPEG with Pillow)")
    ap.add_argument("--spec", choices=sorted(SPECS), help="pre-processing for --image")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    ap.add_argument("--opt", choices=OPT_LEVELS, default="all", help="graph optimisation")
    args = ap.parse_intermixed_args()
    if bool(args.image) != bool(args.spec):
        ap.error("--image and --spec go together")

    sess = make_session(args.model, args.threads, args.opt)
    feeds = gather_inputs(sess, args)
    os.makedirs(args.out, exist_ok=True)
    if args.image:
        os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
        for name, x in feeds.items():
            save(os.path.join(args.out, "inputs", sanitise(name) + ".npy"), x, "input", name)
    names = [o.name for o in sess.get_outputs()]
    for name, y in zip(names, sess.run(names, feeds)):
        save(os.path.join(args.out, sanitise(name) + ".npy"), y, "output", name)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
