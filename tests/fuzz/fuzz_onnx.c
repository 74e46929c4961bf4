// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_onnx.c - fuzz target: the ONNX importer (engine/onnx/onnx.h) on a
 * model's bytes, as qp_engine_open and `qpercept build` start (import, then
 * shape inference over the imported graph) and as `qpercept inspect` reads
 * a model (qp_onnx_inspect, from a file).
 *
 * External data is refused (base_dir NULL): a hostile model must not make
 * the fuzzer read files. Constant folding is left out: it evaluates ops on
 * tensors up to QP_MAX_TENSOR_BYTES (2 GiB) by design, more than a fuzzer's
 * memory limit. Oracle: a refused model has a reason; an accepted one has a
 * linked graph that qp_graph_fini frees entirely (ASan / LSan check).
 */
#include "fuzz.h"

#include "graph/graph.h"
#include "graph/infer.h"
#include "onnx/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qp_graph g;
    struct qp_err   err = {{0}};
    enum qp_status  st  = qp_onnx_import_buffer(data, size, "fuzz.onnx", NULL, &g, &err);
    if (st == QP_OK) {
        struct qp_err ierr = {{0}};
        if (qp_infer_graph(&g, &ierr) != QP_OK)
            FUZZ_CHECK(ierr.msg[0], "inference refused a graph without a reason");
        qp_graph_fini(&g);
    } else {
        FUZZ_CHECK(err.msg[0], "import refused a model without a reason (status %d)", (int)st);
    }

    struct qp_onnx_info info;
    st = qp_onnx_inspect(fuzz_file(data, size), &info, &err);
    if (st == QP_OK) {
        FUZZ_CHECK(info.n_inputs >= 0 && info.n_outputs >= 0 && info.n_ops >= 0, "counts");
        for (int32_t i = 0; i < info.n_ops; i++)
            FUZZ_CHECK(info.ops[i].count > 0, "op %d counted %d times", (int)i,
                       (int)info.ops[i].count);
        qp_onnx_info_fini(&info);
    }
    return 0;
}
