// SPDX-License-Identifier: Apache-2.0
/*
 * saturation.c - run-time saturation counters (backend.h): which nodes are
 * counted, and the count itself (the reference loop here, the AVX2 one in
 * saturation_avx2.c, chosen like the INT8 element-wise kernels).
 */
#include "backend.h"

#include "cpu/qelem.h" /* qp_qelem_best_impl */

bool qp_saturation_counted(const struct qp_graph *g, const struct qp_node *n)
{
    switch (n->op) {
    case QP_OP_QUANTIZE:
    case QP_OP_QCONV:
    case QP_OP_QADD:
    case QP_OP_QLUT:
        return n->n_out == 1 && n->out[0] >= 0 && g->tensors[n->out[0]].dtype == QP_DTYPE_I8;
    default: return false;
    }
}

int64_t qp_count_saturated_ref(const int8_t *x, int64_t n)
{
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++)
        total += (x[i] == 127) + (x[i] == -128);
    return total;
}

typedef int64_t (*count_fn)(const int8_t *x, int64_t n);

static const count_fn count_fns[QP_QELEM_IMPL_COUNT] = {
    [QP_QELEM_IMPL_C]    = qp_count_saturated_ref,
    [QP_QELEM_IMPL_AVX2] = qp_count_saturated_avx2,
};

int64_t qp_count_saturated(const int8_t *x, int64_t n)
{
    return count_fns[qp_qelem_best_impl()](x, n);
}
