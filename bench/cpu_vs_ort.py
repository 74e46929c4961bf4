#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cpu_vs_ort.py - qpercept's CPU backend against ONNX Runtime, same machine, same run.

  bench/cpu_vs_ort.py [--model FILE] [--bench-exe build/bench/bench_engine]
                      [--runs 50] [--warmup 5] [--threads N] [--out FILE]

YOLOX-Nano 416, batch 1, all cores (os.cpu_count()) unless --threads says
otherwise. Runs bench_engine (our engine, CPU backend) and then ONNX Runtime
(CPU execution provider, intra_op_num_threads = threads, graph optimisation
ALL) with the same number of warm-up and timed runs, each on a fixed
pseudo-random input, and writes bench/results/cpu_vs_ort.json: the machine
(CPU model from /proc/cpuinfo, cores), versions, both results and
ratio = ort_median / qpercept_median (above 1: we are faster). Absolute
milliseconds depend on the machine; the ratio, measured in one run, is the
number to compare. Paths in the JSON are relative to the repository root.

The model: --model, else models/fetch.sh yolox_nano_416_coco build/models
(mirror directory first, then the upstream URL), else the mirror directory's
models/ (env QP_MIRROR, default ../shared).
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

from bench_common import ROOT, cpu_isa, cpu_model, git_revision, mirror_dir, rel, stats

MODEL = "yolox_nano_416_coco"


def command_line():
    """This invocation, with every path relative to the repository root."""
    words, path_next = [rel(sys.argv[0])], False
    for a in sys.argv[1:]:
        words.append(rel(a) if path_next or os.path.exists(a) else a)
        path_next = a in ("--model", "--bench-exe", "--out")
    return " ".join(shlex.quote(w) for w in words)


def find_model():
    fetch = os.path.join(ROOT, "models", "fetch.sh")
    if os.access(fetch, os.X_OK):
        p = subprocess.run([fetch, MODEL, os.path.join(ROOT, "build", "models")],
                           capture_output=True, text=True)
        lines = p.stdout.strip().splitlines()
        if p.returncode == 0 and lines and os.path.isfile(lines[-1]):
            return lines[-1]
        print(f"cpu_vs_ort: models/fetch.sh failed ({p.stderr.strip()}); trying the mirror",
              file=sys.stderr)
    path = os.path.join(mirror_dir(), "models", MODEL + ".onnx")
    if os.path.isfile(path):
        return path
    sys.exit(f"cpu_vs_ort: {MODEL}.onnx not found: models/fetch.sh failed and {path} is absent")


def bench_qpercept(exe, model, args, runs):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "qp.json")
        cmd = [exe, model, "--runs", str(runs), "--warmup", str(args.warmup),
               "--threads", str(args.threads), "--json", out]
        p = subprocess.run(cmd)
        if p.returncode != 0:
            sys.exit(f"cpu_vs_ort: bench_engine failed (exit {p.returncode})")
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def ort_session(model, args):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = rng.uniform(0, 255, shape).astype(np.float32)
    for _ in range(args.warmup):
        sess.run(None, feeds)
    return sess, feeds, ort.__version__, np.__version__


def bench_ort(sess, feeds, runs):
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        sess.run(None, feeds)
        ms.append((time.perf_counter_ns() - t0) / 1e6)
    return ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="ONNX file (default: fetched YOLOX-Nano 416)")
    ap.add_argument("--bench-exe", default=os.path.join(ROOT, "build", "bench", "bench_engine"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5,
                    help="alternate the engines this many times (runs are split evenly)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "cpu_vs_ort.json"))
    args = ap.parse_args()
    if not os.access(args.bench_exe, os.X_OK):
        sys.exit(f"cpu_vs_ort: {args.bench_exe} missing: build first "
                 "(cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        sys.exit("cpu_vs_ort: onnxruntime is not importable: run with .venv/bin/python "
                 "(scripts/setup.sh makes it)")

    model = args.model or find_model()
    print(f"cpu_vs_ort: {rel(model)}, {args.threads} threads, "
          f"{args.warmup} warm-up + {args.runs} timed runs each, in {args.rounds} alternating rounds")
    # Rounds alternate the two engines so that a change in the machine's load
    # (other tenants, frequency) hits both alike; samples are pooled.
    sess, feeds, ort_version, np_version = ort_session(model, args)
    per = max(1, args.runs // args.rounds)
    qp_ms, ort_ms, qp = [], [], None
    for _ in range(args.rounds):
        qp = bench_qpercept(args.bench_exe, model, args, per)
        qp_ms += qp["samples_ms"]
        ort_ms += bench_ort(sess, feeds, per)
    qp.update({"runs": len(qp_ms), "ms": stats(qp_ms), "samples_ms": qp_ms})
    ort_res = {"version": ort_version, "threads": args.threads, "runs": len(ort_ms),
               "warmup": args.warmup, "graph_optimization": "ORT_ENABLE_ALL",
               "ms": stats(ort_ms), "samples_ms": [round(v, 4) for v in ort_ms]}
    ratio = ort_res["ms"]["median"] / qp["ms"]["median"]

    result = {
        "benchmark": "YOLOX-Nano 416, batch 1, CPU, qpercept vs ONNX Runtime in the same run",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "isa": cpu_isa(), "cores": os.cpu_count(),
                    "arch": platform.machine(), "kernel": platform.release()},
        "versions": {"qpercept": git_revision(), "onnxruntime": ort_res["version"],
                     "numpy": np_version, "python": platform.python_version()},
        "model": os.path.basename(model),
        "qpercept": qp,
        "onnxruntime": ort_res,
        "ratio": round(ratio, 4),
        "ratio_means": "ort_median / qpercept_median; above 1 means qpercept is faster",
        "command": command_line(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"qpercept median {qp['ms']['median']:.3f} ms, onnxruntime median "
          f"{ort_res['ms']['median']:.3f} ms: ratio {ratio:.3f} (ort / qpercept) -> {args.out}")


if __name__ == "__main__":
    main()
