#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""quant_vs_ort.py - qpercept's quantized engines against ONNX Runtime's static quantization: agreement with FP32 and CPU speed, same frames, same run.

  .venv/bin/python bench/quant_vs_ort.py [--build-dir build] [--models NAME,...]
        [--variants int8,...] [--split drives|one_drive] [--calib-every 4]
        [--eval-every 1] [--threads 1,2]
        [--runs 24] [--rounds 4] [--warmup 3] [--no-speed] [--out FILE]
  .venv/bin/python bench/quant_vs_ort.py --table RESULT.json   (markdown tables of a result)

For YOLOX-Nano and NanoDet-m (416, COCO; the mirror's models/, env QP_MIRROR,
default ../shared):

Frames (--split). "drives" (default): calibration is every
--calib-every-th frame (0, 4, 8, ...) of each drive of the mirror's drives/
(udacity_solidWhiteRight 56 of 221, udacity_test_video 10 of 38,
nuscenes_mini 10 of 40): a user calibrates on frames of the roads the car
will see. Evaluation, none used for calibration, in two groups reported
apart and together: "seen_drives" (the drives' other 223 frames) and
"unseen_scenes" (the single frames of images/, driving/kitti and
driving/nuscenes: 10, scenes no calibration frame came from). "one_drive":
calibration from solidWhiteRight alone (56), evaluation "same_drive" (its
other 165) and "other_scenes" (the other drives and the single frames: 88):
what a calibration that missed the deployment's scenes costs. --eval-every K
keeps every K-th frame of each group (quick runs).

Same inputs for everyone. bench/prep_inputs (built with the project) writes
qpercept's own pre-processed tensor of every frame (qp_image_load +
qp_preprocess_run, as qp_detector_run does); ONNX Runtime calibrates and
runs on exactly those bytes, and `qpercept build` / `qpercept eval` read the
same image files through the same code.

Quantization. qpercept: `qpercept build MODEL -o M.qpe --calib LIST
--calib-images N` plus the variant's options (VARIANTS below: "int8" with
qpercept's default calibration, "int8_percentile", "int8_minmax" with ONNX
Runtime's calibrator, "mixed" and "mixed_percentile" with --precision mixed;
--variants picks them, a new mode is one more row). ONNX Runtime:
onnxruntime.quantization.quantize_static, QDQ format, activation_type=QInt8,
weight_type=QInt8, per_channel=True, MinMax calibration on the same N
tensors, every other setting its default; models below opset 13 are converted
to opset 13 first (per-channel DequantizeLinear needs it), as
tests/tools/make_qdq.py does.

Agreement, computed one way for everyone. ONNX Runtime runs the FP32 model
and its QDQ model here (CPU EP, graph optimisation ALL); a Python decoder of
the heads (YOLOX and NanoDet's GFL, the arithmetic of engine/post/) with
per-class greedy NMS (IoU > 0.45 suppresses, at most 300 boxes, boxes mapped
back to source pixels and clipped as qp_transform_to_source does) gives the
detections. qpercept's detections are those `qpercept eval --json` writes
for the engine ("detections", score >= 0.05) and for the FP32 ONNX model run
by qpercept ("reference", score >= 0.3). Every candidate is scored with
pycocotools (tests/tools/eval_coco.py's coco_eval) against the SAME truth:
ONNX Runtime FP32's detections with score >= 0.3; candidates keep score
>= 0.05, so mAP sees their ranking. Reported: mAP@[.5:.95] (COCO's average
over classes), AP50, AP75, recall at IoU 0.5, and map_boxes: each class's
mAP weighted by its truth boxes (a class with one box in the frames swings
the class average as much as cars do). The FP32 ONNX model run by qpercept is scored too (how
far apart the two FP32 engines and decoders are). Cross-check: qpercept
eval's own agreement (engine vs qpercept's FP32) is recomputed from its JSON
with pycocotools and both numbers are recorded.

Speed, same run: bench_engine (qpercept FP32 ONNX and each .qpe engine) and
ONNX Runtime (FP32 and QDQ sessions, intra_op_num_threads = threads,
inter_op 1, optimisation ALL) in --rounds alternating rounds of --runs / rounds
timed runs each (after --warmup per round), for each thread count in --threads
(default 1 and os.cpu_count()); medians of the pooled samples. ONNX Runtime
is fed one real pre-processed frame, bench_engine its seeded pattern (the
work of a dense CNN does not depend on the values).

Writes --out (default bench/results/quant_vs_ort.json): machine, versions,
commands (paths relative to the repository root, the mirror as <mirror>),
the split, every number. Not a test: ctest never runs it. On a 2-core
machine the default run takes about ten minutes.
"""
import argparse
import contextlib
import datetime
import io
import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_common import ROOT, cpu_isa, cpu_model, git_revision, mirror_dir, rel, stats

sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
from eval_coco import coco_eval  # noqa: E402

MODELS = {  # name -> head (models/zoo.ini has the rest of each spec)
    "yolox_nano_416_coco": {"head": "yolox", "strides": (8, 16, 32), "size": 416},
    "nanodet_m_416_coco": {"head": "gfl", "strides": (8, 16, 32), "size": 416, "reg_max": 7},
}

# qpercept's side: one row per engine built from each model (`qpercept build`
# options after MODEL -o OUT --calib LIST --calib-images N), and the issue's
# goal for its agreement mAP@[.5:.95] with FP32. A new mode is one more row.
VARIANTS = [
    {"name": "int8", "build": ["--precision", "int8"], "goal": 0.90},  # default calibration
    {"name": "int8_percentile", "build": ["--precision", "int8", "--calib-method", "percentile"],
     "goal": 0.90},
    {"name": "int8_minmax", "build": ["--precision", "int8", "--calib-method", "minmax"],
     "goal": 0.90},  # ONNX Runtime's calibrator
    {"name": "mixed", "build": ["--precision", "mixed"], "goal": 0.95, "max_fp16": 0.2},
    {"name": "mixed_percentile", "build": ["--precision", "mixed", "--calib-method", "percentile"],
     "goal": 0.95, "max_fp16": 0.2},
    # weights rounded to nearest instead of GPTQ (what GPTQ buys)
    {"name": "int8_nearest", "build": ["--precision", "int8", "--weight-rounding", "nearest"],
     "goal": 0.90},
    {"name": "mixed_nearest", "build": ["--precision", "mixed", "--weight-rounding", "nearest"],
     "goal": 0.95, "max_fp16": 0.2},
]
DEFAULT_VARIANTS = "int8,mixed"
GOALS = {r["name"]: {"map": r["goal"], "max_fp16_fraction": r.get("max_fp16")}
         for r in VARIANTS}

SCORE_TRUTH, SCORE_CAND, NMS_IOU, MAX_DETS = 0.3, 0.05, 0.45, 300
N_CLASSES = 80


def rel_cmd(words, tmp):
    """A command line for the JSON: repository / mirror paths relative, temp files as $TMP."""
    out = []
    for w in words:
        w = str(w)
        if w.startswith(tmp):
            out.append("$TMP" + w[len(tmp):])
        elif os.path.isabs(w):
            out.append(rel(w))
        else:
            out.append(w)
    return " ".join(shlex.quote(w) for w in out)


def run(cmd, what):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"quant_vs_ort: {what} failed (exit {p.returncode}):\n{p.stdout[-2000:]}"
                 f"{p.stderr[-4000:]}")
    return p


# ===== frames =====

def images_in(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.lower().endswith((".jpg", ".jpeg", ".png")))


DRIVES = ("udacity_solidWhiteRight", "udacity_test_video", "nuscenes_mini")
SINGLE = (("images",), ("driving", "kitti"), ("driving", "nuscenes"))


def split_frames(calib_every, eval_every, split):
    """(calibration frames, {group: evaluation frames}), no frame in both.
    "drives": every calib_every-th frame of each drive calibrates; groups
    "seen_drives" (the drives' other frames) and "unseen_scenes" (the single
    frames). "one_drive": only solidWhiteRight calibrates; groups
    "same_drive" (its other frames) and "other_scenes" (everything else)."""
    m = os.path.join(mirror_dir(), "data")
    drives = [images_in(os.path.join(m, "drives", d, "frames")) for d in DRIVES]
    single = [f for parts in SINGLE for f in images_in(os.path.join(m, *parts))]
    if split == "drives":
        calib = [f for d in drives for f in d[::calib_every]]
        seen, other = [f for d in drives for f in d if f not in calib], single
        names = ("seen_drives", "unseen_scenes")
    else:
        calib = drives[0][::calib_every]
        seen = [f for f in drives[0] if f not in calib]
        other = [f for d in drives[1:] for f in d] + single
        names = ("same_drive", "other_scenes")
    return calib, {names[0]: seen[::eval_every], names[1]: other[::eval_every]}


def write_list(path, files):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(p + "\n" for p in files)
    return path


def prep_inputs(exe, model, listfile, outdir):
    """qpercept's input tensors: [(npy path, (src_w, src_h, scale_x, scale_y))]."""
    os.makedirs(outdir, exist_ok=True)
    p = run([exe, model, os.path.join(ROOT, "models", "zoo.ini"), listfile, outdir], "prep_inputs")
    out = []
    for line in p.stdout.split("\n"):
        if line.strip():
            k, w, h, sx, sy = line.split()
            out.append((os.path.join(outdir, k + ".npy"), (int(w), int(h), float(sx), float(sy))))
    return out


# ===== heads, NMS (the arithmetic of engine/post/, in float32) =====

def grids(size, strides):
    for s in strides:
        n = -(-size // s)
        gy, gx = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32),
                             indexing="ij")
        yield s, gx.reshape(-1), gy.reshape(-1)


def decode_yolox(out, spec, smin):
    """[N, 5 + C] -> boxes [K, 4], scores [K], classes [K], in decode order."""
    rows = out.reshape(-1, 5 + N_CLASSES).astype(np.float32)
    gx, gy, st = [], [], []
    for s, x, y in grids(spec["size"], spec["strides"]):
        gx.append(x)
        gy.append(y)
        st.append(np.full(x.shape, s, np.float32))
    gx, gy, st = np.concatenate(gx), np.concatenate(gy), np.concatenate(st)
    cx, cy = (rows[:, 0] + gx) * st, (rows[:, 1] + gy) * st
    hw = np.exp(rows[:, 2]) * st * np.float32(0.5)
    hh = np.exp(rows[:, 3]) * st * np.float32(0.5)
    scores = rows[:, 4:5] * rows[:, 5:]
    a, c = np.nonzero(scores >= np.float32(smin))  # row-major: anchor, then class
    boxes = np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1)[a]
    return boxes, scores[a, c], c


def decode_gfl(outs, spec, smin):
    """Per stride cls [1, N, C] and reg [1, N, 4 * bins], bound by shape."""
    bins = spec["reg_max"] + 1
    boxes, scores, classes = [], [], []
    for s, gx, gy in grids(spec["size"], spec["strides"]):
        n = gx.size
        cls = next(o for o in outs if o.shape[-2:] == (n, N_CLASSES)).reshape(n, N_CLASSES)
        reg = next(o for o in outs if o.shape[-2:] == (n, 4 * bins)).reshape(n, 4, bins)
        e = np.exp(reg - reg.max(axis=2, keepdims=True)).astype(np.float32)
        d = (e * np.arange(bins, dtype=np.float32)).sum(axis=2) / e.sum(axis=2) * np.float32(s)
        cx, cy = (gx + np.float32(0.5)) * np.float32(s), (gy + np.float32(0.5)) * np.float32(s)
        a, c = np.nonzero(cls >= np.float32(smin))
        b = np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], axis=1)
        boxes.append(b[a])
        scores.append(cls[a, c])
        classes.append(c)
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes)


def iou_one(b, bs):
    """IoU of box b with boxes bs, as qp_nms_iou."""
    iw = np.minimum(b[2], bs[:, 2]) - np.maximum(b[0], bs[:, 0])
    ih = np.minimum(b[3], bs[:, 3]) - np.maximum(b[1], bs[:, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, np.float32(0))
    aw, ah = b[2] - b[0], b[3] - b[1]
    area_a = aw * ah if aw > 0 and ah > 0 else np.float32(0)
    bw, bh = bs[:, 2] - bs[:, 0], bs[:, 3] - bs[:, 1]
    area_b = np.where((bw > 0) & (bh > 0), bw * bh, np.float32(0))
    uni = area_a + area_b - inter
    return np.where(uni > 0, inter / np.where(uni > 0, uni, 1), 0)


def nms(boxes, scores, classes):
    """Stable sort by score, greedy per-class NMS; indices kept, best first."""
    order = np.argsort(-scores, kind="stable")
    kept = []
    for c in np.unique(classes):
        idx = order[classes[order] == c]
        while idx.size:
            kept.append(idx[0])
            if idx.size == 1:
                break
            rest = idx[1:]
            idx = rest[~(iou_one(boxes[idx[0]], boxes[rest]) > np.float32(NMS_IOU))]
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    kept.sort(key=lambda i: rank[i])
    return kept[:MAX_DETS]


def detect(outs, spec, xf):
    """Model outputs -> [(class, score, x0, y0, x1, y1)] in source pixels, score >= 0.05."""
    if spec["head"] == "yolox":
        boxes, scores, classes = decode_yolox(outs[0], spec, SCORE_CAND)
    else:
        boxes, scores, classes = decode_gfl(outs, spec, SCORE_CAND)
    w, h, sx, sy = xf
    dets = []
    for i in nms(boxes, scores, classes):
        b = boxes[i]
        x0 = min(max((b[0] / np.float32(sx)), 0), w)
        y0 = min(max((b[1] / np.float32(sy)), 0), h)
        x1 = min(max((b[2] / np.float32(sx)), 0), w)
        y1 = min(max((b[3] / np.float32(sy)), 0), h)
        dets.append([int(classes[i]), float(scores[i]), float(x0), float(y0), float(x1),
                     float(y1)])
    return dets


# ===== ONNX Runtime =====

def ort_session(model, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # NanoDet's initializer-as-input warnings are noise
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def opset13(model, out):
    """model converted to opset 13 (written to out), or model when it is already >= 13."""
    import onnx
    from onnx import version_converter
    m = onnx.load(model)
    if next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) >= 13:
        return model
    m = version_converter.convert_version(m, 13)
    empty = {t.name for t in m.graph.initializer if 0 in t.dims}
    for node in m.graph.node:  # opset 13 wants an absent Resize scales as ""
        if node.op_type == "Resize" and len(node.input) == 4 and node.input[3]:
            node.input[2] = "" if node.input[2] in empty else node.input[2]
    onnx.save(m, out)
    return out


def ort_quantize(model, out, calib, tmp):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    src = opset13(model, os.path.join(tmp, "fp32_opset13.onnx"))
    name = ort_session(src, 1).get_inputs()[0].name

    class Frames(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib)

        def get_next(self):
            p = next(self.it, None)
            return None if p is None else {name: np.load(p[0])}

    t0 = time.perf_counter()
    # MinMax keeps only per-tensor ReduceMin / ReduceMax outputs per frame:
    # small. (Not CalibMaxIntermediateOutputs: in 1.32 it discards the frames
    # collected so far instead of merging them.)
    quantize_static(src, out, Frames(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    return time.perf_counter() - t0


def ort_detections(sess, frames, spec):
    name = sess.get_inputs()[0].name
    return [detect(sess.run(None, {name: np.load(p)}), spec, xf) for p, xf in frames]


# ===== scoring =====

def score(truth, cand, ids):
    """pycocotools agreement of cand vs truth (lists of per-image detections) over ids."""
    t = [(i, d[0], xywh(d)) for i in ids for d in truth[i] if d[1] >= SCORE_TRUTH]
    c = [(i, d[0], d[1], xywh(d)) for i in ids for d in cand[i] if d[1] >= SCORE_CAND]
    with contextlib.redirect_stdout(io.StringIO()):
        m = coco_eval(N_CLASSES, list(ids), t, c)
    return {"map": round(float(m[0]), 4), "ap50": round(float(m[1]), 4),
            "ap75": round(float(m[2]), 4), "recall50": round(float(m[3]), 4),
            "map_boxes": round(float(m[4]), 4), "n_images": len(ids), "truth_boxes": len(t),
            "boxes": len(c)}


def xywh(d):
    x0, y0, x1, y1 = (float(np.float32(v)) for v in d[2:6])
    return [x0, y0, x1 - x0, y1 - y0]


def score_groups(truth, cand, groups):
    out, lo = {}, 0
    for g, n in groups.items():
        out[g] = score(truth, cand, range(lo, lo + n))
        lo += n
    out["all"] = score(truth, cand, range(lo))
    return out


# ===== speed =====

def bench_qpercept(exe, model, threads, runs, warmup, tmp):
    out = os.path.join(tmp, "bench.json")
    run([exe, model, "--runs", runs, "--warmup", warmup, "--threads", threads, "--json", out],
        "bench_engine " + os.path.basename(model))
    with open(out, encoding="utf-8") as f:
        return json.load(f)["samples_ms"]


def bench_ort(sess, feed, runs, warmup):
    for _ in range(warmup):
        sess.run(None, feed)
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        sess.run(None, feed)
        ms.append((time.perf_counter_ns() - t0) / 1e6)
    return ms


def speed(args, engines, frame, tmp):
    """engines: [(label, kind, path)]; kind qpercept | onnxruntime. Per thread count."""
    out = {}
    per = max(1, args.runs // args.rounds)
    for threads in args.threads:
        sessions = {lab: ort_session(p, threads) for lab, k, p in engines if k == "onnxruntime"}
        feeds = {lab: {s.get_inputs()[0].name: np.load(frame)} for lab, s in sessions.items()}
        samples = {lab: [] for lab, _, _ in engines}
        for _ in range(args.rounds):  # alternate: load changes hit every engine alike
            for lab, kind, path in engines:
                if kind == "qpercept":
                    samples[lab] += bench_qpercept(args.bench_exe, path, threads, per, args.warmup,
                                                   tmp)
                else:
                    samples[lab] += bench_ort(sessions[lab], feeds[lab], per, args.warmup)
        res = {lab: stats(v) for lab, v in samples.items()}
        res["load_average_1min"] = round(os.getloadavg()[0], 2)  # other work on the machine
        print(f"  threads {threads}: " + ", ".join(f"{lab} {res[lab]['median']:.2f} ms"
                                                    for lab in samples) +
              f" (load average {res['load_average_1min']})")
        out[str(threads)] = res
    return out


def ratios(sp, variants):
    """Per thread count: ONNX Runtime median / qpercept median (above 1: qpercept faster)."""
    out = {}
    for t, r in sp.items():
        q = {"fp32": round(r["onnxruntime_fp32"]["median"] / r["qpercept_fp32"]["median"], 3)}
        for v in variants:
            q[v] = round(r["onnxruntime_int8_qdq"]["median"] / r["qpercept_" + v]["median"], 3)
        out[t] = q
    return out


# ===== one model =====

def one_model(args, name, calib, groups, tmp, commands):
    spec = MODELS[name]
    model = os.path.join(mirror_dir(), "models", name + ".onnx")
    mt = os.path.join(tmp, name)
    os.makedirs(mt, exist_ok=True)
    evals = [f for g in groups.values() for f in g]
    calib_list = write_list(os.path.join(mt, "calib.list"), calib)
    eval_list = write_list(os.path.join(mt, "eval.list"), evals)
    print(f"{name}: pre-processing {len(calib)} calibration and {len(evals)} evaluation frames")
    cal_t = prep_inputs(args.prep_exe, model, calib_list, os.path.join(mt, "calib"))
    ev_t = prep_inputs(args.prep_exe, model, eval_list, os.path.join(mt, "eval"))
    res = {"model": name + ".onnx", "timings_s": {}}

    print(f"{name}: ONNX Runtime quantize_static (QDQ, QInt8/QInt8, per channel, MinMax)")
    qdq = os.path.join(mt, name + "_qdq_int8.onnx")
    res["timings_s"]["onnxruntime_quantize_static"] = round(ort_quantize(model, qdq, cal_t, mt), 2)

    print(f"{name}: ONNX Runtime FP32 and QDQ on {len(ev_t)} frames")
    threads = max(args.threads)
    frames = ev_t
    t0 = time.perf_counter()
    dets = {"onnxruntime_fp32": ort_detections(ort_session(model, threads), frames, spec)}
    dets["onnxruntime_int8_qdq"] = ort_detections(ort_session(qdq, threads), frames, spec)
    res["timings_s"]["onnxruntime_eval_both"] = round(time.perf_counter() - t0, 2)

    engines, cross = {}, {}
    for v in args.variants:
        row = next(r for r in VARIANTS if r["name"] == v)
        qpe = os.path.join(mt, f"{name}_{v}.qpe")
        report = os.path.join(mt, f"{name}_{v}_report.json")
        cmd = [args.qpercept, "build", model, "-o", qpe, *row["build"], "--calib", calib_list,
               "--calib-images", len(calib), "--threads", threads, "--report", report]
        print(f"{name}: qpercept build ({v})")
        t0 = time.perf_counter()
        run(cmd, f"qpercept build ({v})")
        res["timings_s"][f"qpercept_build_{v}"] = round(time.perf_counter() - t0, 2)
        commands.append(rel_cmd(cmd, tmp))
        with open(report, encoding="utf-8") as f:
            layers = json.load(f)["layers"]
        res.setdefault("layers", {})[v] = {
            p: sum(1 for l in layers if l["precision"] == p) for p in ("int8", "fp16", "fp32")}
        out = os.path.join(mt, f"eval_{v}.json")
        cmd = [args.qpercept, "eval", qpe, "--images", eval_list, "--reference", model,
               "--manifest", os.path.join(ROOT, "models", "zoo.ini"), "--json", out,
               "--threads", threads]
        print(f"{name}: qpercept eval ({v}) on {len(evals)} frames")
        t0 = time.perf_counter()
        run(cmd, f"qpercept eval ({v})")
        res["timings_s"][f"qpercept_eval_{v}"] = round(time.perf_counter() - t0, 2)
        commands.append(rel_cmd(cmd, tmp))
        with open(out, encoding="utf-8") as f:
            ev = json.load(f)
        dets["qpercept_" + v] = [im.get("detections") or [] for im in ev["images"]]
        dets.setdefault("qpercept_fp32", [im.get("reference") or [] for im in ev["images"]])
        own = score([im.get("reference") or [] for im in ev["images"]], dets["qpercept_" + v],
                    range(len(evals)))
        a = ev["agreement"]
        cross[v] = {"qpercept_eval": {k: round(float(a[k]), 4)
                                      for k in ("map", "ap50", "recall50")},
                    "python_pycocotools": {k: own[k] for k in ("map", "ap50", "recall50")},
                    "max_abs_diff": round(float(max(abs(a[k] - own[k])
                                                    for k in ("map", "ap50", "recall50"))), 6)}
        engines[v] = qpe

    sizes = {k: len(g) for k, g in groups.items()}
    truth = dets["onnxruntime_fp32"]
    res["agreement_vs_onnxruntime_fp32"] = {
        lab: score_groups(truth, d, sizes) for lab, d in dets.items() if lab != "onnxruntime_fp32"}
    res["agreement_vs_qpercept_fp32_cross_check"] = cross
    res["goals"] = goals(res["agreement_vs_onnxruntime_fp32"], res["layers"], args.variants)
    for lab, r in res["agreement_vs_onnxruntime_fp32"].items():
        print(f"  {lab:28s} mAP {r['all']['map']:.4f}  AP50 {r['all']['ap50']:.4f}  "
              f"recall50 {r['all']['recall50']:.4f}  boxes {r['all']['map_boxes']:.4f}  (" +
              ", ".join(f"{g} {r[g]['map']:.4f}" for g in groups) + ")")

    if not args.no_speed:
        print(f"{name}: speed, {args.rounds} alternating rounds, threads {args.threads}")
        eng = [("qpercept_fp32", "qpercept", model)]
        eng += [("qpercept_" + v, "qpercept", p) for v, p in engines.items()]
        eng += [("onnxruntime_fp32", "onnxruntime", model),
                ("onnxruntime_int8_qdq", "onnxruntime", qdq)]
        res["speed_ms"] = speed(args, eng, ev_t[0][0], mt)
        res["speed_ratio_onnxruntime_over_qpercept"] = ratios(res["speed_ms"], args.variants)
    return res


def goals(agree, layers, variants):
    """The issue's goals per variant: agreement (and for mixed, at most a
    fifth of the layers FP16), and better than ONNX Runtime's INT8."""
    ort = agree["onnxruntime_int8_qdq"]["all"]["map"]
    out = {"onnxruntime_int8_qdq_map": ort}
    for v in variants:
        row = next(r for r in VARIANTS if r["name"] == v)
        m, n = agree["qpercept_" + v]["all"]["map"], layers[v]
        fp16 = n["fp16"] / max(1, sum(n.values()))
        met = m >= row["goal"] and fp16 <= row.get("max_fp16", 1.0)
        out[v] = {"map": m, "goal_map": row["goal"], "fp16_fraction": round(fp16, 4),
                  "goal_max_fp16_fraction": row.get("max_fp16"), "goal_met": bool(met),
                  "beats_onnxruntime_int8": bool(m > ort)}
    return out


def markdown(result):
    """The docs' tables (docs/quantization.md) from a result JSON."""
    groups = list(result["frames"]["evaluation"]["n"])
    lines = ["| model | engine | FP16 layers | agreement mAP (all) | " +
             " | ".join(g.replace("_", " ") for g in groups) +
             " | weighted by boxes | AP50 | recall50 |",
             "|---|---|---|---|" + "---|" * len(groups) + "---|---|---|"]
    for name, m in result["models"].items():
        for lab, a in m["agreement_vs_onnxruntime_fp32"].items():
            v = lab[len("qpercept_"):] if lab.startswith("qpercept_") else None
            n = m.get("layers", {}).get(v)
            fp16 = f"{n['fp16']} / {sum(n.values())}" if n else "-"
            lines.append(f"| {name} | {lab} | {fp16} | {a['all']['map']:.3f} | " +
                         "".join(f"{a[g]['map']:.3f} | " for g in groups) +
                         (f"{a['all']['map_boxes']:.3f} | " if "map_boxes" in a["all"] else "- | ") +
                         f"{a['all']['ap50']:.3f} | {a['all']['recall50']:.3f} |")
    lines += ["", "| model | threads | " + " | ".join(
        ["qpercept FP32", "ONNX Runtime FP32", "ONNX Runtime INT8 (QDQ)"]) +
        " | qpercept engines | load |", "|---|---|---|---|---|---|---|"]
    for name, m in result["models"].items():
        for t, r in m.get("speed_ms", {}).items():
            ours = ", ".join(f"{k[len('qpercept_'):]} {v['median']:.1f}" for k, v in r.items()
                             if k.startswith("qpercept_") and k != "qpercept_fp32")
            lines.append(f"| {name} | {t} | {r['qpercept_fp32']['median']:.1f} | "
                         f"{r['onnxruntime_fp32']['median']:.1f} | "
                         f"{r['onnxruntime_int8_qdq']['median']:.1f} | {ours} | "
                         f"{r.get('load_average_1min', '-')} |")
    return "\n".join(lines)


# ===== machine, main =====

def command_line():
    words = [rel(sys.argv[0])]
    for a in sys.argv[1:]:
        words.append(rel(a) if os.path.exists(a) else a)
    return " ".join(shlex.quote(w) for w in words)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--variants", default=DEFAULT_VARIANTS,
                    help="qpercept engines, rows of VARIANTS: " +
                    ", ".join(r["name"] for r in VARIANTS))
    ap.add_argument("--split", choices=("drives", "one_drive"), default="drives",
                    help="calibrate on every drive (default) or on solidWhiteRight alone")
    ap.add_argument("--calib-every", type=int, default=4)
    ap.add_argument("--eval-every", type=int, default=1)
    ap.add_argument("--threads", default=",".join(str(t) for t in sorted({1, os.cpu_count()})))
    ap.add_argument("--runs", type=int, default=24, help="timed runs per engine and thread count")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs per engine and round")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "quant_vs_ort.json"))
    args = ap.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    args.variants = [v for v in args.variants.split(",") if v]
    args.threads = [int(t) for t in args.threads.split(",")]
    for m in args.models:
        if m not in MODELS:
            ap.error(f"--models: {m} is not one of {', '.join(MODELS)}")
    for v in args.variants:
        if not any(r["name"] == v for r in VARIANTS):
            ap.error(f"--variants: {v} is not one of {', '.join(r['name'] for r in VARIANTS)}")
    args.qpercept = os.path.join(args.build_dir, "qpercept")
    args.bench_exe = os.path.join(args.build_dir, "bench", "bench_engine")
    args.prep_exe = os.path.join(args.build_dir, "bench", "prep_inputs")
    for exe in (args.qpercept, args.bench_exe, args.prep_exe):
        if not os.access(exe, os.X_OK):
            sys.exit(f"quant_vs_ort: {exe} missing: build first (cmake -S . -B build "
                     "-DCMAKE_BUILD_TYPE=Release && cmake --build build -j)")
    return args


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--table":  # tables of an existing result
        with open(sys.argv[2], encoding="utf-8") as f:
            print(markdown(json.load(f)))
        return
    args = parse_args()
    try:
        import onnx
        import onnxruntime
        import pycocotools  # noqa: F401
    except ImportError as e:
        sys.exit(f"quant_vs_ort: {e}: run with .venv/bin/python (scripts/setup.sh makes it)")
    onnxruntime.set_default_logger_severity(3)  # NanoDet's initializer-as-input warnings
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    calib, groups = split_frames(args.calib_every, args.eval_every, args.split)
    t_start, load_start = time.perf_counter(), round(os.getloadavg()[0], 2)
    revision = git_revision()  # at the start: the tree may change while the run goes on
    commands = []
    with tempfile.TemporaryDirectory(prefix="quant_vs_ort_") as tmp:
        models = {m: one_model(args, m, calib, groups, tmp, commands) for m in args.models}
    result = {
        "benchmark": "quantized detectors: qpercept build vs ONNX Runtime quantize_static (QDQ), "
                     "agreement with FP32 on frames not used for calibration, and CPU latency",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "isa": cpu_isa(), "cores": os.cpu_count(),
                    "arch": platform.machine(), "kernel": platform.release(), "load_average_1min_at_start": load_start},
        "versions": {"qpercept": revision, "onnxruntime": onnxruntime.__version__,
                     "onnx": onnx.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "command": command_line(),
        "qpercept_commands": commands,
        "frames": {
            "split": args.split,
            "calibration": {"rule": f"every {args.calib_every}th frame of " +
                                    ("each of <mirror>/data/drives/{" + ",".join(DRIVES) +
                                     "}/frames" if args.split == "drives" else
                                     "<mirror>/data/drives/udacity_solidWhiteRight/frames"),
                            "n": len(calib), "files": [rel(p) for p in calib]},
            "evaluation": {"rule": ("seen_drives: the drives' other frames; unseen_scenes: "
                                    "images/, driving/kitti, driving/nuscenes"
                                    if args.split == "drives" else
                                    "same_drive: the other udacity_solidWhiteRight frames; "
                                    "other_scenes: udacity_test_video, nuscenes_mini, images/, "
                                    "driving/kitti, driving/nuscenes") +
                                   (f"; every {args.eval_every}th of each group"
                                    if args.eval_every > 1 else ""),
                           "n": {g: len(v) for g, v in groups.items()},
                           "n_total": sum(len(v) for v in groups.values()),
                           "overlap_with_calibration": len(set(calib) &
                                                           {f for g in groups.values() for f in g})},
        },
        "quantization": {
            "qpercept": {r["name"]: "qpercept build " + " ".join(r["build"])
                         for r in VARIANTS if r["name"] in args.variants},
            "onnxruntime": "quantize_static(quant_format=QDQ, activation_type=QInt8, "
                           "weight_type=QInt8, per_channel=True, calibrate_method=MinMax; "
                           "opset 13 conversion first)",
        },
        "metric": {"truth": f"ONNX Runtime FP32 detections, score >= {SCORE_TRUTH}",
                   "candidates": f"score >= {SCORE_CAND}",
                   "nms": f"per class, IoU > {NMS_IOU} suppresses, at most {MAX_DETS}",
                   "scorer": "pycocotools COCOeval bbox (tests/tools/eval_coco.py coco_eval): "
                             "mAP@[.5:.95], AP50, AP75, recall at IoU 0.5",
                   "goals": {v: GOALS[v] for v in args.variants}},
        "speed": {"runs": args.runs, "rounds": args.rounds, "warmup_per_round": args.warmup,
                  "threads": args.threads,
                  "ratio_means": "onnxruntime median / qpercept median; above 1: qpercept "
                                 "faster (fp32: FP32 vs FP32, variants: vs ONNX Runtime's QDQ)"},
        "models": models,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(markdown(result))
    print(f"quant_vs_ort: {result['seconds']} s -> {rel(args.out)}")


if __name__ == "__main__":
    main()
