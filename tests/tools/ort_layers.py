#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ort_layers.py - node-by-node comparison of an already-quantized model with ONNX Runtime.

  ort_layers.py MODEL NAME=INPUT.npy OURS_DIR [--max-steps N]

OURS_DIR holds every tensor our engine computed, one <sanitised name>.npy
each (as ort_run.py sanitises names). ONNX Runtime runs MODEL (CPU, one
thread, all graph optimisations, like ort_run.py) with every node output
exposed as a graph output. Then, node by node in graph order: when every
computed input of a node holds exactly ONNX Runtime's values, the node's
own outputs must agree within N quantization steps (default 1) for integer
tensors, and within 1e-6 relative for float ones. A node whose inputs
already differ is not judged: rounding differences upstream are allowed to
grow, and the end-to-end bound is the caller's business.

Prints one summary line ("layers: ...") and, for every node whose outputs
differ, one line with the node, its op and the largest difference. Exit
status 1 when a judged node is out of bounds or nothing could be judged.
"""
import argparse
import os
import re
import sys

import numpy as np

# output index -> the input giving its element type, for the quantized ops
ZERO_POINT_INPUT = {"QuantizeLinear": 2, "QLinearConv": 7, "QLinearAdd": 7,
                    "QLinearLeakyRelu": 4, "QLinearSigmoid": 4, "QLinearConcat": 1}


def sanitise(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def expose_all(m):
    """Add every node output as a graph output, typed by propagation."""
    from onnx import TensorProto, helper
    types = {t.name: t.data_type for t in m.graph.initializer}
    for i in m.graph.input:
        types.setdefault(i.name, i.type.tensor_type.elem_type)
    outs = {o.name for o in m.graph.output}
    for n in m.graph.node:
        k = ZERO_POINT_INPUT.get(n.op_type)
        if n.op_type == "DequantizeLinear":
            t = TensorProto.FLOAT
        elif k is not None:
            has = len(n.input) > k and n.input[k]
            t = types.get(n.input[k], TensorProto.UINT8) if has else TensorProto.UINT8
        elif n.op_type == "Shape":
            t = TensorProto.INT64
        elif n.op_type == "Constant":
            t = n.attribute[0].t.data_type
        else:
            t = types.get(n.input[0], TensorProto.FLOAT) if n.input else TensorProto.FLOAT
        for o in n.output:
            types[o] = t
            if o and o not in outs:
                m.graph.output.append(helper.make_tensor_value_info(o, t, None))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("input", metavar="NAME=INPUT.npy")
    ap.add_argument("ours")
    ap.add_argument("--max-steps", type=int, default=1)
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    m = onnx.load(args.model)
    consts = {t.name for t in m.graph.initializer}
    expose_all(m)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    name, _, path = args.input.partition("=")
    names = [o.name for o in sess.get_outputs()]
    ref = dict(zip(names, sess.run(names, {name: np.load(path)})))
    ref[name] = np.load(path)

    def ours(t):
        p = os.path.join(args.ours, sanitise(t) + ".npy")
        return np.load(p) if os.path.exists(p) else None

    same = {name}  # tensors holding exactly ONNX Runtime's values
    judged = exact = bad = 0
    first = None
    for n in m.graph.node:
        ins = [i for i in n.input if i and i not in consts and n.op_type != "Constant"]
        if not all(i in same for i in ins):
            continue
        for o in n.output:
            a, b = ours(o), ref.get(o)
            if a is None or b is None or a.shape != b.shape:
                continue
            judged += 1
            if a.dtype.kind in "iu":
                d = int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max(initial=0))
                ok = d <= args.max_steps
            else:
                d = float(np.abs(a - b).max(initial=0) / max(1.0, float(np.abs(b).max(initial=0))))
                ok = d <= 1e-6
            if np.array_equal(a, b):
                same.add(o)
                exact += 1
                continue
            first = first or f"{n.name} ({n.op_type})"
            bad += not ok
            print(f"  {n.name} ({n.op_type}) '{o}': largest difference {d:g}"
                  f"{'' if ok else ' OUT OF BOUNDS'}")
    print(f"layers: {judged} node outputs with inputs identical to ONNX Runtime's: {exact} "
          f"bit-identical, {judged - exact - bad} within {args.max_steps} step(s), {bad} worse; "
          f"first difference at {first or 'none'}")
    sys.exit(1 if bad or not judged else 0)


if __name__ == "__main__":
    main()
