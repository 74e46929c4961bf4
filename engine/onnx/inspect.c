// SPDX-License-Identifier: Apache-2.0
/*
 * inspect.c - what `qpercept inspect` shows about an ONNX file, whether or
 * not the engine can run it: op histogram (with "supported" from the
 * importer's op table), graph inputs and outputs (initializers excluded),
 * parameter count and bytes, producer, IR version and opset.
 *
 * Works on the decoded ModelProto only; nothing is imported, so models with
 * unsupported ops or opsets can still be described. The histogram sorts the
 * nodes by (domain, op type) once, so hostile node counts stay O(n log n).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "onnx/importer.h"

/* "Conv" in the default domain, "domain:Op" elsewhere. */
static void op_key(const Onnx__NodeProto *np, char *buf, size_t n)
{
    const char *op = np->op_type ? np->op_type : "?";
    if (qp_onnx_default_domain(np->domain))
        snprintf(buf, n, "%s", op);
    else
        snprintf(buf, n, "%s:%s", np->domain, op);
}

static int cmp_nodes(const void *a, const void *b)
{
    char ka[64], kb[64];
    op_key(*(const Onnx__NodeProto *const *)a, ka, sizeof ka);
    op_key(*(const Onnx__NodeProto *const *)b, kb, sizeof kb);
    return strcmp(ka, kb);
}

static int cmp_counts(const void *a, const void *b)
{
    const struct qp_onnx_op_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->op_type, y->op_type);
}

static enum qp_status histogram(const Onnx__GraphProto *gp, int64_t opset,
                                struct qp_onnx_info *info)
{
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as meant */
    const Onnx__NodeProto **sorted = qp_calloc(gp->n_node + 1, sizeof *sorted);
    info->ops                      = qp_calloc(gp->n_node + 1, sizeof *info->ops);
    if (!sorted || !info->ops) {
        qp_free(sorted);
        return QP_E_NOMEM;
    }
    for (size_t i = 0; i < gp->n_node; i++)
        sorted[i] = gp->node[i];
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): as above */
    qsort(sorted, gp->n_node, sizeof *sorted, cmp_nodes);
    for (size_t i = 0; i < gp->n_node; i++) {
        struct qp_onnx_op_count *oc = &info->ops[info->n_ops];
        char                     key[sizeof oc->op_type];
        op_key(sorted[i], key, sizeof key);
        if (info->n_ops && strcmp(info->ops[info->n_ops - 1].op_type, key) == 0) {
            info->ops[info->n_ops - 1].count++;
            continue;
        }
        memcpy(oc->op_type, key, sizeof key);
        oc->count     = 1;
        oc->supported = sorted[i]->op_type &&
                        qp_onnx_op_lookup(sorted[i]->domain, sorted[i]->op_type, opset) != NULL;
        info->n_ops++;
    }
    qp_free(sorted);
    qsort(info->ops, (size_t)info->n_ops, sizeof *info->ops, cmp_counts);
    return QP_OK;
}

/* rank -1 when the value has no tensor shape or more than QP_MAX_RANK dims. */
static void describe_io(const Onnx__ValueInfoProto *vi, struct qp_onnx_io *io)
{
    snprintf(io->name, sizeof io->name, "%s", vi->name ? vi->name : "");
    io->dtype = QP_DTYPE_COUNT;
    io->rank  = -1;
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    if (tt->has_elem_type)
        qp_onnx_dtype(tt->elem_type, &io->dtype);
    if (!tt->shape || tt->shape->n_dim > QP_MAX_RANK)
        return;
    io->rank = (int32_t)tt->shape->n_dim;
    for (int32_t i = 0; i < io->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        io->dims[i] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                          ? d->dim_value
                          : -1;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Graph inputs that are not initializers, found by binary search. */
static enum qp_status list_inputs(const Onnx__GraphProto *gp, struct qp_onnx_info *info)
{
    const char **names = qp_calloc(gp->n_initializer + 1, sizeof *names);
    info->inputs       = qp_calloc(gp->n_input + 1, sizeof *info->inputs);
    info->outputs      = qp_calloc(gp->n_output + 1, sizeof *info->outputs);
    if (!names || !info->inputs || !info->outputs) {
        qp_free(names);
        return QP_E_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->name)
            names[k++] = gp->initializer[i]->name;
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *nm = gp->input[i]->name;
        if (nm && bsearch(&nm, names, k, sizeof *names, cmp_str))
            continue;
        describe_io(gp->input[i], &info->inputs[info->n_inputs++]);
    }
    for (size_t i = 0; i < gp->n_output; i++)
        describe_io(gp->output[i], &info->outputs[info->n_outputs++]);
    qp_free(names);
    return QP_OK;
}

/* Element count and bytes of the initializers (saturating, never UB). */
static void count_params(const Onnx__GraphProto *gp, struct qp_onnx_info *info)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        int64_t                  n  = 1;
        for (size_t d = 0; d < tp->n_dims; d++) {
            int64_t v = tp->dims[d];
            n         = (v < 0 || (v && n > INT64_MAX / v)) ? INT64_MAX : n * v;
        }
        int32_t dt        = tp->has_data_type ? tp->data_type : 0;
        int64_t es        = (int64_t)qp_onnx_elem_size(dt);
        int64_t b         = es && n > INT64_MAX / es ? INT64_MAX : n * es;
        info->n_params    = n > INT64_MAX - info->n_params ? INT64_MAX : info->n_params + n;
        info->param_bytes = b > INT64_MAX - info->param_bytes ? INT64_MAX : info->param_bytes + b;
    }
}

enum qp_status qp_onnx_inspect(const char *path, struct qp_onnx_info *out, struct qp_err *err)
{
    void             *buf = NULL;
    size_t            n   = 0;
    ProtobufCMessage *m   = NULL;
    memset(out, 0, sizeof *out);
    enum qp_status st = qp_onnx_read_file(path, QP_ONNX_MAX_FILE_BYTES, &buf, &n, err);
    if (st == QP_OK)
        st = qp_onnx_pb_unpack(&onnx__model_proto__descriptor, buf, n, path, &m, err);
    qp_free(buf);
    if (st != QP_OK)
        return st;
    const Onnx__ModelProto *mp = (const Onnx__ModelProto *)m;
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp) {
        qp_onnx_pb_free(m);
        return qp_fail(err, QP_E_FORMAT, "%s: not an ONNX model (no graph)", path);
    }
    out->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    out->opset      = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (qp_onnx_default_domain(mp->opset_import[i]->domain))
            out->opset = mp->opset_import[i]->version;
    snprintf(out->producer, sizeof out->producer, "%s%s%s",
             mp->producer_name ? mp->producer_name : "",
             mp->producer_version && *mp->producer_version ? " " : "",
             mp->producer_version ? mp->producer_version : "");
    out->n_nodes        = (int32_t)(gp->n_node > INT32_MAX ? INT32_MAX : gp->n_node);
    out->n_initializers = (int32_t)(gp->n_initializer > INT32_MAX ? INT32_MAX : gp->n_initializer);
    if (gp->n_node > QP_MAX_NODES || gp->n_input > QP_MAX_TENSORS ||
        gp->n_output > QP_MAX_TENSORS || gp->n_initializer > QP_MAX_TENSORS)
        st = qp_fail(err, QP_E_FORMAT, "%s: graph too large", path);
    if (st == QP_OK && (histogram(gp, out->opset, out) != QP_OK || list_inputs(gp, out) != QP_OK))
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory", path);
    if (st == QP_OK)
        count_params(gp, out);
    qp_onnx_pb_free(m);
    if (st != QP_OK)
        qp_onnx_info_fini(out);
    return st;
}

void qp_onnx_info_fini(struct qp_onnx_info *info)
{
    if (!info)
        return;
    qp_free(info->inputs);
    qp_free(info->outputs);
    qp_free(info->ops);
    memset(info, 0, sizeof *info);
}
