// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * onnx_builder.h - build small ONNX models in memory for tests, with the
 * protobuf-c structs generated from onnx.proto, and pack them to bytes.
 *
 * Everything a model needs lives in one static pool, reset by mb_begin(), so
 * one model at a time per test binary; mb_pack() returns malloc'd bytes the
 * caller frees. Static functions: include it in one test file each.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.pb-c.h"

#define DT(x) ONNX__TENSOR_PROTO__DATA_TYPE__##x
#define AT(x) ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__##x

/* ===== model builder (everything lives in pool, reset per model) ===== */

/* protobuf-c repeated fields are arrays of pointers: sizeof *p is the
 * pointer size on purpose in take(N * sizeof *p) below. */
/* NOLINTBEGIN(bugprone-sizeof-expression) */

static _Alignas(16) unsigned char pool[1 << 20];
static size_t pool_used;

static inline void *take(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (pool_used + n > sizeof pool)
        abort(); /* a test bug: the pool is sized for these small models */
    void *p = pool + pool_used;
    pool_used += n;
    memset(p, 0, n);
    return p;
}

static inline char *str(const char *s)
{
    return strcpy(take(strlen(s) + 1), s);
}

static inline void *copy_in(const void *p, size_t n)
{
    return memcpy(take(n), p, n);
}

static Onnx__ModelProto         M;
static Onnx__GraphProto         G;
static Onnx__OperatorSetIdProto OS, *OSP[1];

static inline void mb_begin(int64_t opset)
{
    static const Onnx__ModelProto         m0 = ONNX__MODEL_PROTO__INIT;
    static const Onnx__GraphProto         g0 = ONNX__GRAPH_PROTO__INIT;
    static const Onnx__OperatorSetIdProto o0 = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    pool_used                                = 0;
    M = m0, G = g0, OS = o0;
    OS.domain        = "";
    OS.has_version   = 1;
    OS.version       = opset;
    OSP[0]           = &OS;
    M.n_opset_import = 1, M.opset_import = OSP;
    M.has_ir_version = 1, M.ir_version = 8;
    M.producer_name = "test_onnx_hostile";
    M.graph         = &G;
    G.name          = "g";
    G.node          = take(64 * sizeof *G.node);
    G.initializer   = take(32 * sizeof *G.initializer);
    G.input         = take(16 * sizeof *G.input);
    G.output        = take(16 * sizeof *G.output);
}

/* "a,,b" -> {"a", "", "b"}; "" -> no names. */
static inline void split_names(const char *csv, size_t *n, char ***out)
{
    *n   = 0;
    *out = take(32 * sizeof **out);
    if (!*csv)
        return;
    for (const char *p = csv;; p++) {
        size_t k       = strcspn(p, ",");
        (*out)[(*n)++] = memcpy(take(k + 1), p, k); /* take() zeroes: NUL-terminated */
        p += k;
        if (!*p)
            break;
    }
}

static inline Onnx__NodeProto *mb_node(const char *op, const char *name, const char *ins, const char *outs)
{
    static const Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
    Onnx__NodeProto             *n  = take(sizeof *n);
    *n                              = n0;
    n->op_type                      = str(op);
    n->name                         = name ? str(name) : NULL;
    split_names(ins, &n->n_input, &n->input);
    split_names(outs, &n->n_output, &n->output);
    n->attribute       = take(16 * sizeof *n->attribute);
    G.node[G.n_node++] = n;
    return n;
}

static inline Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type)
{
    static const Onnx__AttributeProto a0 = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto             *a  = take(sizeof *a);
    *a                                   = a0;
    a->name                              = str(name);
    a->has_type                          = 1;
    a->type                              = (Onnx__AttributeProto__AttributeType)type;
    n->attribute[n->n_attribute++]       = a;
    return a;
}

static inline void attr_i(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, AT(INT));
    a->has_i = 1, a->i = v;
}

static inline void attr_f(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(n, name, AT(FLOAT));
    a->has_f = 1, a->f = v;
}

static inline void attr_s(Onnx__NodeProto *n, const char *name, const char *s)
{
    Onnx__AttributeProto *a = attr(n, name, AT(STRING));
    a->has_s = 1, a->s.len = strlen(s), a->s.data = (uint8_t *)str(s);
}

static inline void attr_ints(Onnx__NodeProto *n, const char *name, size_t k, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(n, name, AT(INTS));
    a->n_ints = k, a->ints = copy_in(v, k * sizeof *v);
}

static inline void attr_floats(Onnx__NodeProto *n, const char *name, size_t k, const float *v)
{
    Onnx__AttributeProto *a = attr(n, name, AT(FLOATS));
    a->n_floats = k, a->floats = copy_in(v, k * sizeof *v);
}

static inline Onnx__TensorProto *tensor(const char *name, int32_t dt, size_t rank, const int64_t *dims)
{
    static const Onnx__TensorProto t0 = ONNX__TENSOR_PROTO__INIT;
    Onnx__TensorProto             *t  = take(sizeof *t);
    *t                                = t0;
    t->name                           = name ? str(name) : NULL;
    t->has_data_type = 1, t->data_type = dt;
    t->n_dims = rank, t->dims = rank ? copy_in(dims, rank * sizeof *dims) : NULL;
    return t;
}

static inline void raw(Onnx__TensorProto *t, const void *data, size_t n)
{
    t->has_raw_data = 1, t->raw_data.len = n, t->raw_data.data = copy_in(data, n ? n : 1);
}

static inline void external(Onnx__TensorProto *t, const char *loc, const char *offset)
{
    static const Onnx__StringStringEntryProto e0 = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    t->has_data_location                         = 1;
    t->data_location                             = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->external_data                             = take(2 * sizeof *t->external_data);
    const char *keys[2] = {"location", "offset"}, *vals[2] = {loc, offset};
    for (int i = 0; i < (offset ? 2 : 1); i++) {
        Onnx__StringStringEntryProto *e = take(sizeof *e);
        *e = e0, e->key = str(keys[i]), e->value = str(vals[i]);
        t->external_data[t->n_external_data++] = e;
    }
}

static inline Onnx__TensorProto *init_raw(const char *name, int32_t dt, size_t rank, const int64_t *dims,
                                   const void *data, size_t n)
{
    Onnx__TensorProto *t = tensor(name, dt, rank, dims);
    raw(t, data, n);
    G.initializer[G.n_initializer++] = t;
    return t;
}

static inline Onnx__ValueInfoProto *value_info(const char *name, int32_t elem, size_t rank,
                                        const int64_t *dims)
{
    static const Onnx__ValueInfoProto              v0 = ONNX__VALUE_INFO_PROTO__INIT;
    static const Onnx__TypeProto                   p0 = ONNX__TYPE_PROTO__INIT;
    static const Onnx__TypeProto__Tensor           t0 = ONNX__TYPE_PROTO__TENSOR__INIT;
    static const Onnx__TensorShapeProto            s0 = ONNX__TENSOR_SHAPE_PROTO__INIT;
    static const Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    Onnx__ValueInfoProto                          *v  = take(sizeof *v);
    Onnx__TypeProto                               *p  = take(sizeof *p);
    Onnx__TypeProto__Tensor                       *tt = take(sizeof *tt);
    Onnx__TensorShapeProto                        *s  = take(sizeof *s);
    *v = v0, *p = p0, *tt = t0, *s = s0;
    v->name = str(name), v->type = p;
    p->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, p->tensor_type = tt;
    tt->has_elem_type = 1, tt->elem_type = elem, tt->shape = s;
    s->dim = take((rank + 1) * sizeof *s->dim);
    for (size_t i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = take(sizeof *d);
        *d                                   = d0;
        if (dims[i] == -1) { /* -1 here: a symbolic dim */
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param  = "N";
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value  = dims[i];
        }
        s->dim[s->n_dim++] = d;
    }
    return v;
}
/* NOLINTEND(bugprone-sizeof-expression) */

static inline void mb_input(const char *name, size_t rank, const int64_t *dims)
{
    G.input[G.n_input++] = value_info(name, DT(FLOAT), rank, dims);
}

static inline void mb_output(const char *name)
{
    G.output[G.n_output++] = value_info(name, DT(FLOAT), 0, NULL);
}

static inline uint8_t *mb_pack(size_t *n)
{
    *n           = onnx__model_proto__get_packed_size(&M);
    uint8_t *buf = malloc(*n ? *n : 1);
    if (!buf)
        abort();
    onnx__model_proto__pack(&M, buf);
    return buf;
}

/* Pack the model into $QP_BINARY_DIR/name (the current directory without
 * it); its path into path[n]. false when the file cannot be written. */
static inline bool mb_save(const char *name, char *path, size_t n)
{
    const char *dir = getenv("QP_BINARY_DIR");
    snprintf(path, n, "%s/%s", dir && *dir ? dir : ".", name);
    size_t   len;
    uint8_t *buf = mb_pack(&len);
    FILE    *f   = fopen(path, "wb");
    bool     ok  = f && fwrite(buf, 1, len, f) == len;
    ok           = (f && fclose(f) == 0) && ok;
    free(buf);
    return ok;
}
