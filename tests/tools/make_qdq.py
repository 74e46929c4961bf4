#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_qdq.py - quantize an FP32 ONNX model into a QDQ model with ONNX Runtime.

The model side of the QDQ import test (tests/e2e/test_qoperator.c):

  make_qdq.py FP32_MODEL OUT_MODEL --spec yolox|nanodet FRAME.npy [FRAME.npy ...]

calibrates onnxruntime.quantization.quantize_static on the given frames
(uint8 [H, W, 3] RGB .npy files, pre-processed exactly as ort_run.py does
for --spec) and writes OUT_MODEL in the QDQ format: int8 activations
(activation_type=QInt8), int8 weights quantized per output channel
(weight_type=QInt8, per_channel=True), MinMax calibration, every other
setting ONNX Runtime's default. A model below opset 13 is converted to
opset 13 first (onnx.version_converter; written next to OUT_MODEL), since
per-channel DequantizeLinear needs its axis attribute, which ONNX Runtime
refuses at lower opsets. Prints one line "qdq OUT_MODEL".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_run import SPECS, load_image, preprocess  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("frames", nargs="+", metavar="FRAME.npy")
    ap.add_argument("--spec", choices=sorted(SPECS), required=True)
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    model = args.model
    m = onnx.load(model)
    if next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) < 13:
        from onnx import version_converter
        model = os.path.splitext(args.out)[0] + "_fp32_opset13.onnx"
        m = version_converter.convert_version(m, 13)
        # opset 13 wants an absent Resize scales as "", not as an empty tensor
        empty = {t.name for t in m.graph.initializer if 0 in t.dims}
        for node in m.graph.node:
            if node.op_type == "Resize" and len(node.input) == 4 and node.input[3]:
                node.input[2] = "" if node.input[2] in empty else node.input[2]
        onnx.save(m, model)

    so = ort.SessionOptions()
    so.log_severity_level = 3
    name = ort.InferenceSession(model, sess_options=so,
                                providers=["CPUExecutionProvider"]).get_inputs()[0].name
    feeds = [{name: preprocess(load_image(f), SPECS[args.spec])} for f in args.frames]

    class Frames(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    quantize_static(model, args.out, Frames(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    print(f"qdq {args.out}")


if __name__ == "__main__":
    main()
