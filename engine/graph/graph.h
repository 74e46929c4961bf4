// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * graph.h - the engine's intermediate representation: tensors, nodes, the
 * dtype and op tables, and the graph container the passes rewrite.
 *
 * Conventions every module relies on:
 *  - Tensors and nodes are referred to by int32 index into g->tensors /
 *    g->nodes, never by pointer (arrays grow while importing).
 *  - dims[] are always the LOGICAL dims in ONNX order (N, C, H, W for images).
 *    layout says how the bytes are stored: PLAIN (row-major over dims) or
 *    NHWC (rank 4 only: row-major over N, H, W, C). qp_tensor_phys_dims()
 *    gives the stored order.
 *  - Axis-style attributes (Concat, Split, Slice, Softmax, Pad, Gather, ...)
 *    are logical until the layout pass; for a node it moves to NHWC it
 *    rewrites them to PHYSICAL axes (and sets node->phys_axes). Kernels of
 *    such layout-agnostic ops therefore always work on physical dims and
 *    physical axes. Layout-aware ops (conv, pools, resize, layout) read the
 *    logical N, C, H, W from dims and know the data is NHWC.
 *  - The importer normalises every attribute-form of an op to the input form
 *    of the latest opset (Slice starts/ends/axes/steps, Split sizes, Clip
 *    min/max, Squeeze/Unsqueeze axes, Pad pads, Resize scales/sizes become
 *    constant input tensors), so shape inference handles one form per op.
 *  - Constant data lives in g->arena, stored in the tensor's physical layout.
 *
 * What is elsewhere: shape inference (infer.c), passes (passes.c, fold.c),
 * the memory planner (plan.c), kernels (engine/cpu).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "qpercept/engine.h" /* enum qp_dtype, QP_MAX_RANK */
#include "qpercept/status.h"

enum qp_layout {
    QP_LAYOUT_PLAIN = 0, /* row-major over logical dims */
    QP_LAYOUT_NHWC  = 1, /* rank 4: logical N,C,H,W stored as N,H,W,C */
};

enum qp_tensor_flag {
    QP_TENSOR_CONST  = 1u << 0, /* data != NULL, never written at run time */
    QP_TENSOR_INPUT  = 1u << 1, /* graph input, filled by the caller */
    QP_TENSOR_OUTPUT = 1u << 2, /* graph output, read by the caller */
};

/* Serialized in engine files: numbers never change. Rows in ops.c. */
enum qp_op {
    /* unary element-wise (attr.unary) */
    QP_OP_IDENTITY      = 0,
    QP_OP_RELU          = 1,
    QP_OP_LEAKY_RELU    = 2,  /* alpha */
    QP_OP_SIGMOID       = 3,
    QP_OP_HARD_SIGMOID  = 4,  /* alpha, beta */
    QP_OP_HARD_SWISH    = 5,
    QP_OP_TANH          = 6,
    QP_OP_CLIP          = 7,  /* inputs: x [, min [, max]] (normalised) */
    QP_OP_SQRT          = 8,
    QP_OP_EXP           = 9,
    QP_OP_NEG           = 10,
    QP_OP_ABS           = 11,
    QP_OP_LOG           = 12,
    QP_OP_RECIPROCAL    = 13,
    QP_OP_FLOOR         = 14,
    QP_OP_CEIL          = 15,
    QP_OP_ELU           = 16, /* alpha */
    QP_OP_SILU          = 17, /* x * sigmoid(x): made by the fusion pass */
    /* binary element-wise with numpy broadcasting */
    QP_OP_ADD           = 20,
    QP_OP_SUB           = 21,
    QP_OP_MUL           = 22,
    QP_OP_DIV           = 23,
    QP_OP_POW           = 24,
    QP_OP_PRELU         = 25, /* x, slope (unidirectional broadcast) */
    QP_OP_MAX           = 26,
    QP_OP_MIN           = 27,
    QP_OP_QADD          = 28, /* a, b: i8 same shape -> i8; attr.act (homogeneous:
                               * ReLU / LeakyReLU, applied in output units) */
    /* convolution and normalisation (attr.conv) */
    QP_OP_CONV          = 30, /* x, w [, b]; fused activation in attr.conv.act */
    QP_OP_CONV_TRANSPOSE = 31,
    QP_OP_BATCHNORM     = 32, /* x, scale, bias, mean, var; attr.bn */
    QP_OP_QCONV         = 33, /* x i8, w i8 [M,C/g,kh,kw], w_scale f32 [M] [, bias i32 [M]
                               * [, div f32 [M]]] -> i8; attr.conv (act exact, applied to
                               * the real value); with div the output is equalized:
                               * channel c holds act(y_c) / div[c]; an output with
                               * scale 0 is f32: the real values, unrounded (no div);
                               * see "Quantized tensors" */
    /* pooling (attr.pool) */
    QP_OP_MAX_POOL      = 40,
    QP_OP_AVG_POOL      = 41,
    QP_OP_GLOBAL_AVG_POOL = 42,
    QP_OP_GLOBAL_MAX_POOL = 43,
    QP_OP_RESIZE        = 44, /* x, roi, scales, sizes (attr.resize resolved by inference) */
    /* tensor manipulation */
    QP_OP_CONCAT        = 50, /* attr.axis */
    QP_OP_SPLIT         = 51, /* x [, split]; attr.axis; sizes from output dims */
    QP_OP_SLICE         = 52, /* x, starts, ends [, axes [, steps]]; attr.slice resolved */
    QP_OP_RESHAPE       = 53, /* x, shape; attr.reshape.allowzero */
    QP_OP_FLATTEN       = 54, /* attr.axis */
    QP_OP_SQUEEZE       = 55, /* x [, axes] */
    QP_OP_UNSQUEEZE     = 56, /* x, axes */
    QP_OP_TRANSPOSE     = 57, /* attr.transpose.perm */
    QP_OP_PAD           = 58, /* x, pads [, value]; attr.pad */
    QP_OP_GATHER        = 59, /* x, indices; attr.axis */
    QP_OP_CAST          = 60, /* attr.cast.to */
    QP_OP_SHAPE         = 61, /* output i64 [rank] */
    QP_OP_CONSTANT_OF_SHAPE = 62, /* shape; value in attr.fill; output dtype set by the importer */
    QP_OP_EXPAND        = 63, /* x, shape */
    /* math */
    QP_OP_SOFTMAX       = 70, /* attr.softmax */
    QP_OP_GEMM          = 71, /* a, b [, c]; attr.gemm */
    QP_OP_MATMUL        = 72,
    /* internal */
    QP_OP_LAYOUT        = 80, /* attr.layout: NCHW <-> NHWC conversion */
    /* quantization boundaries and table ops */
    QP_OP_QUANTIZE      = 90, /* x f32 -> y i8 with y's scale / zero point */
    QP_OP_DEQUANTIZE    = 91, /* x i8 -> y f32 */
    QP_OP_QLUT          = 92, /* x i8 [, div f32 [C] [, mul f32 [C]]] -> y i8 through a
                               * 256-entry table of attr.act (QP_ACT_NONE: requantize
                               * to y's scale); with div or mul (either may be absent,
                               * -1), one table per channel c (dim 1) computing
                               * f(x * mul[c]) / div[c]: equalized tensors
                               * (quant/quantize.h) */
    QP_OP_COUNT
};

struct qp_op_info {
    const char *name;              /* ONNX op type ("Conv"), or ours for internal ops */
    int8_t      min_in, max_in;    /* max_in -1: variadic */
    int8_t      min_out, max_out;  /* max_out -1: variadic */
};

/* Row for op (name NULL for unused numbers). */
const struct qp_op_info *qp_op_info(enum qp_op op);
const char              *qp_op_name(enum qp_op op); /* "?" for unused numbers */

/* ---- attributes ---- */

enum qp_act {
    QP_ACT_NONE         = 0,
    QP_ACT_RELU         = 1,
    QP_ACT_LEAKY        = 2, /* alpha */
    QP_ACT_SIGMOID      = 3,
    QP_ACT_SILU         = 4,
    QP_ACT_HARD_SIGMOID = 5, /* alpha, beta */
    QP_ACT_HARD_SWISH   = 6,
    QP_ACT_TANH         = 7,
    QP_ACT_CLIP         = 8, /* alpha = min, beta = max */
    QP_ACT_COUNT
};

struct qp_act_params {
    enum qp_act act;
    float       alpha, beta;
};

enum qp_auto_pad {
    QP_AUTO_PAD_NOTSET     = 0,
    QP_AUTO_PAD_SAME_UPPER = 1,
    QP_AUTO_PAD_SAME_LOWER = 2,
    QP_AUTO_PAD_VALID      = 3,
};

struct qp_unary_attr {
    float alpha, beta; /* LeakyRelu/Elu alpha; HardSigmoid alpha, beta; Clip min, max
                        * (written by inference from the inputs, +-inf when absent) */
};

struct qp_conv_attr {
    int32_t              kernel[2];   /* kh, kw (from the weight when absent) */
    int32_t              stride[2];
    int32_t              dilation[2];
    int32_t              pad[4];      /* top, left, bottom, right; auto_pad resolved by inference */
    int32_t              out_pad[2];  /* ConvTranspose output_padding */
    int32_t              group;
    enum qp_auto_pad     auto_pad;
    struct qp_act_params act;         /* fused activation (fusion pass) */
};

struct qp_bn_attr {
    float epsilon;
};

struct qp_pool_attr {
    int32_t          kernel[2];
    int32_t          stride[2];
    int32_t          dilation[2];
    int32_t          pad[4];      /* top, left, bottom, right */
    enum qp_auto_pad auto_pad;
    bool             ceil_mode;
    bool             count_include_pad;
};

enum qp_resize_mode { QP_RESIZE_NEAREST = 0, QP_RESIZE_LINEAR = 1, QP_RESIZE_CUBIC = 2 };

enum qp_resize_coord {
    QP_COORD_HALF_PIXEL           = 0,
    QP_COORD_PYTORCH_HALF_PIXEL   = 1,
    QP_COORD_ALIGN_CORNERS        = 2,
    QP_COORD_ASYMMETRIC           = 3,
    QP_COORD_TF_HALF_PIXEL_FOR_NN = 4,
};

enum qp_resize_nearest {
    QP_NEAREST_ROUND_PREFER_FLOOR = 0,
    QP_NEAREST_ROUND_PREFER_CEIL  = 1,
    QP_NEAREST_FLOOR              = 2,
    QP_NEAREST_CEIL               = 3,
};

struct qp_resize_attr {
    enum qp_resize_mode    mode;
    enum qp_resize_coord   coord;
    enum qp_resize_nearest nearest;
    float                  scale[2]; /* h, w: output/input as the spec defines it (resolved) */
};

struct qp_slice_attr { /* resolved by inference, per logical (later physical) axis */
    int64_t start[QP_MAX_RANK];
    int64_t step[QP_MAX_RANK]; /* output dims give the counts */
};

struct qp_transpose_attr {
    /* the importer leaves perm[0] = -1 when the attribute is absent (reverse)
     * and -1 past its length; inference writes the resolved permutation */
    int32_t perm[QP_MAX_RANK];
};

enum qp_pad_mode { QP_PAD_CONSTANT = 0, QP_PAD_REFLECT = 1, QP_PAD_EDGE = 2 };

struct qp_pad_attr {
    enum qp_pad_mode mode;
    float            value;                  /* constant mode fill (resolved) */
    int64_t          pads[2 * QP_MAX_RANK];  /* begin[i] at pads[i], end[i] at pads[rank+i] */
};

struct qp_gemm_attr {
    float alpha, beta;
    bool  trans_a, trans_b;
};

struct qp_softmax_attr {
    int32_t axis;
    bool    legacy; /* opset < 13: coerce to 2-D at axis */
};

struct qp_layout_attr {
    bool to_nhwc; /* true: NCHW -> NHWC; false: NHWC -> NCHW */
};

union qp_attr {
    struct qp_unary_attr     unary;
    struct qp_conv_attr      conv;
    struct qp_bn_attr        bn;
    struct qp_pool_attr      pool;
    struct qp_resize_attr    resize;
    struct qp_slice_attr     slice;
    struct qp_transpose_attr transpose;
    struct qp_pad_attr       pad;
    struct qp_gemm_attr      gemm;
    struct qp_softmax_attr   softmax;
    struct qp_layout_attr    layout;
    struct qp_act_params     act;       /* QLut function, QAdd fused activation */
    int32_t                  axis;      /* Concat, Split, Flatten, Gather */
    bool                     allowzero; /* Reshape */
    enum qp_dtype            cast_to;   /* Cast */
    double                   fill;      /* ConstantOfShape value (f32/i64 representable) */
};

/* ---- tensors, nodes, graph ---- */

/*
 * Quantized tensors. An i8 activation tensor with scale > 0 holds
 * real = (q - zero_point) * scale (per tensor). Tensors quantized by qpercept
 * are symmetric (zero_point 0, DESIGN §4) unless their calibrated range is
 * one-sided (quant/quantize.h, qp_quant_grid); imported QOperator / QDQ
 * models keep their zero points. Weights of a QConv are i8 constants with
 * scale 0: their per-output-channel scales are the node's w_scale input,
 * their zero point is 0, and the bias is i32 in units of
 * x.scale * w_scale[c]. Data-movement ops (Reshape, Transpose, Concat,
 * Slice, Split, Pad, MaxPool, nearest Resize, Layout ...) pass scale and
 * zero point through (inference copies them; Concat inputs must agree);
 * QConv, QAdd, QLut and Quantize outputs carry the parameters the
 * quantizer or importer chose.
 */
struct qp_tensor {
    const char    *name;   /* ONNX name, arena-owned */
    enum qp_dtype  dtype;
    enum qp_layout layout;
    uint32_t       flags;  /* enum qp_tensor_flag bits */
    int32_t        rank;
    int64_t        dims[QP_MAX_RANK]; /* logical (ONNX) order */
    bool           shape_known;       /* set by import (inputs, constants) or inference */
    void          *data;   /* CONST: host data in physical layout, arena-owned */
    int32_t        producer; /* node index; -1 for inputs and constants */
    int32_t        n_uses;   /* node inputs reading it (+1 when a graph output) */
    size_t         offset;   /* planner: byte offset in the activation arena */
    float          scale;      /* quantized i8 activation: > 0 (see above); else 0 */
    int32_t        zero_point; /* quantized i8 activation: -128..127 */
};

struct qp_node {
    enum qp_op    op;
    const char   *name;       /* ONNX node name (or a generated one), arena-owned */
    int32_t       n_in, n_out;
    int32_t      *in, *out;   /* tensor indices, arena-owned; in[i] = -1: optional input absent */
    union qp_attr attr;
    bool          phys_axes;  /* axis attributes already rewritten to physical (layout pass) */
    bool          dead;       /* removed by a pass; qp_graph_compact drops it */
    size_t        ws_offset;  /* planner: workspace offset in the arena */
    size_t        ws_bytes;   /* backend: workspace this node needs */
    void         *prep;       /* backend-private prepared data (packed weights ...) */
};

struct qp_graph {
    struct qp_arena   arena;      /* names, constants, index arrays */
    const char       *source;     /* model path or name, for error messages */
    int64_t           opset;      /* default-domain opset version */
    struct qp_tensor *tensors;
    int32_t           n_tensors, cap_tensors;
    struct qp_node   *nodes;
    int32_t           n_nodes, cap_nodes;
    int32_t          *inputs, *outputs; /* graph inputs / outputs (tensor indices) */
    int32_t           n_inputs, n_outputs, cap_inputs, cap_outputs;
    /* name -> tensor index hash (open addressing), maintained by add_tensor */
    int32_t          *hash;
    uint32_t          hash_cap;
    /* set by a backend only while it prepares: where packed constants are
     * kept once for the engines of a share (cpu.h, qp_cpu_keep), or NULL */
    struct qp_engine_share *share;
};

void           qp_graph_init(struct qp_graph *g, const char *source);
void           qp_graph_fini(struct qp_graph *g);

/* Add a tensor named name (NULL: a generated unique name). Names are unique:
 * adding an existing name is QP_E_FORMAT. */
enum qp_status qp_graph_add_tensor(struct qp_graph *g, const char *name, int32_t *out,
                                   struct qp_err *err);
/* Index of the tensor called name, or -1. */
int32_t        qp_graph_find_tensor(const struct qp_graph *g, const char *name);
/* Add a node with room for n_in inputs and n_out outputs (all set to -1). */
enum qp_status qp_graph_add_node(struct qp_graph *g, enum qp_op op, const char *name,
                                 int32_t n_in, int32_t n_out, int32_t *out, struct qp_err *err);
enum qp_status qp_graph_add_input(struct qp_graph *g, int32_t t, struct qp_err *err);
enum qp_status qp_graph_add_output(struct qp_graph *g, int32_t t, struct qp_err *err);

/* Make tensor t a constant of the given dtype/shape; allocates (uninitialised)
 * data of the right size in the arena and returns it in *data. */
enum qp_status qp_graph_set_const(struct qp_graph *g, int32_t t, enum qp_dtype dtype,
                                  int32_t rank, const int64_t *dims, void **data,
                                  struct qp_err *err);

/* Recompute producer / n_uses; fail (QP_E_FORMAT) on a tensor produced twice,
 * a node reading a tensor nothing produces (dangling name) or a cycle. Then
 * order nodes topologically and drop dead nodes and unused tensors' uses. */
enum qp_status qp_graph_link(struct qp_graph *g, struct qp_err *err);

/* Consumer index (CSR): the nodes reading tensor t are
 * node[start[t]] .. node[start[t+1]-1] (a node reading t twice appears twice).
 * Valid until the graph changes. */
struct qp_consumers {
    int32_t *start; /* n_tensors + 1 */
    int32_t *node;
};
enum qp_status qp_graph_consumers(const struct qp_graph *g, struct qp_consumers *c);
void           qp_consumers_fini(struct qp_consumers *c);

/* Does n, if live, read tensor t? */
bool           qp_node_reads(const struct qp_node *n, int32_t t);
/* Is every output element of op an element of its data input(s) (input 0,
 * or each input of a Concat), unchanged: Concat, Split, Slice, Reshape,
 * Flatten, Squeeze, Unsqueeze, Transpose, Identity? */
bool           qp_op_moves_elements(enum qp_op op);

/* Drop dead nodes (keeping order). Tensor indices stay valid. */
void           qp_graph_compact(struct qp_graph *g);
/* Drop tensors no live node, graph input or output refers to (constants a
 * rewrite replaced), renumbering the rest in order; then link. Tensor
 * indices held elsewhere are invalid afterwards. */
enum qp_status qp_graph_drop_tensors(struct qp_graph *g, struct qp_err *err);

/* An i8 tensor with quantization parameters (scale > 0). */
bool           qp_tensor_is_quantized(const struct qp_tensor *t);

/* Element count; -1 when a dim is negative or the product overflows int64. */
int64_t        qp_tensor_numel(const struct qp_tensor *t);
size_t         qp_tensor_nbytes(const struct qp_tensor *t);
/* Stored order of dims (logical dims permuted for NHWC). */
void           qp_tensor_phys_dims(const struct qp_tensor *t, int64_t dims[QP_MAX_RANK]);
/* "[1,3,416,416]" into buf. */
const char    *qp_dims_str(const int64_t *dims, int32_t rank, char *buf, size_t n);

/* Constant input i of node n as a tensor pointer, or NULL when absent / not constant. */
const struct qp_tensor *qp_node_const_input(const struct qp_graph *g, const struct qp_node *n,
                                            int32_t i);
/* Read element i of a constant integer / float tensor of any numeric dtype. */
int64_t        qp_tensor_get_i64(const struct qp_tensor *t, int64_t i);
double         qp_tensor_get_f64(const struct qp_tensor *t, int64_t i);

/* Element size limits shared by the importer and the planner (hostile models). */
#define QP_MAX_TENSOR_BYTES ((int64_t)1 << 31) /* 2 GiB per tensor */
#define QP_MAX_TENSORS      (1 << 20)
#define QP_MAX_NODES        (1 << 20)
