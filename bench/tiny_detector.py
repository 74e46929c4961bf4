# SPDX-License-Identifier: Apache-2.0
"""tiny_detector.py - write a stand-in detector for server benchmarks.

    .venv/bin/python bench/tiny_detector.py OUT.onnx

A 64x64 network with YOLOX-Nano's head layout (84 anchor points over strides
8/16/32, 85 values each, sigmoid applied) and next to no compute: one
strided convolution per stride, reshape, concat, transpose, sigmoid. Its
weights are fixed pseudo-random numbers, so its detections mean nothing; it
exists so that a latency benchmark on a CPU-only machine measures what the
server adds around a network (ingest, batching, hand-over, publishing)
instead of queueing behind a network the CPU cannot run at 180 frames/s.
Writes OUT.onnx.ini, the model spec sidecar (models/zoo.ini's keys), beside
it. Deterministic: the same bytes every run.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIDE = 64
STRIDES = (8, 16, 32)
CH = 85  # 4 box, objectness, 80 classes


def build():
    rng = np.random.default_rng(20261129)
    nodes, inits, parts = [], [], []
    for s in STRIDES:
        w = (rng.standard_normal((CH, 3, s, s)) * 1e-3).astype(np.float32)
        b = np.zeros(CH, np.float32)
        b[4] = -8.0  # objectness near 0: few boxes pass a score threshold
        inits += [numpy_helper.from_array(w, f"w{s}"), numpy_helper.from_array(b, f"b{s}")]
        nodes.append(helper.make_node("Conv", ["images", f"w{s}", f"b{s}"], [f"c{s}"],
                                      kernel_shape=[s, s], strides=[s, s]))
        inits.append(numpy_helper.from_array(np.array([1, CH, -1], np.int64), f"shape{s}"))
        nodes.append(helper.make_node("Reshape", [f"c{s}", f"shape{s}"], [f"r{s}"]))
        parts.append(f"r{s}")
    nodes.append(helper.make_node("Concat", parts, ["cat"], axis=2))
    nodes.append(helper.make_node("Transpose", ["cat"], ["t"], perm=[0, 2, 1]))
    nodes.append(helper.make_node("Sigmoid", ["t"], ["output"]))
    n = sum((SIDE // s) ** 2 for s in STRIDES)
    graph = helper.make_graph(
        nodes, "tiny_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, n, CH])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)],
                              producer_name="qpercept bench/tiny_detector.py")
    model.ir_version = 6
    onnx.checker.check_model(model)
    return model


SPEC = f"""; bench/tiny_detector.py: a stand-in with YOLOX-Nano's head layout
input   = {SIDE}x{SIDE}
color   = bgr
resize  = letterbox
pad     = 114
mean    = 0, 0, 0
std     = 1, 1, 1
head    = yolox
strides = 8, 16, 32
classes = 80
"""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tiny_detector.py OUT.onnx")
    out = sys.argv[1]
    onnx.save(build(), out)
    with open(out + ".ini", "w") as f:
        f.write(SPEC)


if __name__ == "__main__":
    main()
