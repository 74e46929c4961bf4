// SPDX-License-Identifier: Apache-2.0
/*
 * qpe_graph.c - the graph sections of a checksummed engine file (STRINGS,
 * TENSORS, NODES, GRAPH, DATA) into a qp_graph, then link it and cross-check
 * it by shape inference.
 *
 * The checksum only proves the file is what some writer wrote, not that the
 * writer was ours, so nothing here trusts a value: counts are bounded by the
 * section length (exactly: every section must be consumed) and by graph.h's
 * limits before anything is allocated, enums are range-checked before they
 * become enums, indices are checked against what exists, constants must be
 * exactly their tensor's byte size inside DATA. The graph is rebuilt through
 * graph.c's own functions (unique names), flags are recomputed from the
 * structure and must match, qp_graph_link rejects dangling names and cycles,
 * and re-running shape inference must reproduce every stored dtype, shape
 * and quantization parameter - which also checks every attribute value that
 * depends on shapes (axes, perms, pads, strides) with the importer's rules.
 *
 * While loading, g->source is the engine file's path, so messages from
 * graph.c and inference name the file; the caller's source is put back.
 */
#include "qpe/qpe_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "graph/infer.h"

#define REBUILD "rebuild it with `qpercept build`"
#define MAX_OPSET 1000 /* far above any ONNX opset; bounds a hostile value */

struct loader {
    const char               *path;
    const uint8_t            *file;
    const struct qp_qpe_span *sect;
    struct qp_graph          *g;
    struct qp_err            *err;
    const char              **str; /* n_str strings, pointing into file */
    uint32_t                  n_str;
    uint32_t                 *flags; /* stored flags of each tensor */
};

static enum qp_status fail_at(struct loader *L, enum qp_qpe_section s, uint64_t at, const char *fmt,
                              ...) QP_PRINTF(4, 5);

static enum qp_status fail_at(struct loader *L, enum qp_qpe_section s, uint64_t at, const char *fmt,
                              ...)
{
    char    why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return qp_fail(L->err, QP_E_FORMAT, "%s: section %s at byte %" PRIu64 ": %s: " REBUILD, L->path,
                   qp_qpe_section_name(s), at, why);
}

static struct qp_qpe_rd reader(const struct loader *L, enum qp_qpe_section s)
{
    struct qp_qpe_rd r = {L->file + L->sect[s].off, (size_t)L->sect[s].len, 0, L->sect[s].off,
                          false};
    return r;
}

static uint64_t at(const struct qp_qpe_rd *r)
{
    return r->base + r->pos;
}

/* A non-empty string by index, or NULL. */
static const char *string(const struct loader *L, uint32_t i)
{
    return i < L->n_str && L->str[i][0] ? L->str[i] : NULL;
}

/* ===== STRINGS ===== */

static enum qp_status load_strings(struct loader *L)
{
    struct qp_qpe_rd r = reader(L, QP_QPE_SECTION_STRINGS);
    const char      *why;
    uint32_t         n = qp_qpe_get_u32(&r), len;
    if (r.bad || n > qp_qpe_rd_left(&r) / 5) /* a string holds at least 5 bytes */
        return fail_at(L, QP_QPE_SECTION_STRINGS, r.base, "count %u is larger than the section",
                       (unsigned)n);
    L->str = qp_calloc((size_t)n + 1, sizeof *L->str);
    if (!L->str)
        return qp_fail(L->err, QP_E_NOMEM, "%s: out of memory for %u strings", L->path,
                       (unsigned)n);
    for (uint32_t i = 0; i < n; i++, L->n_str++)
        if (!(L->str[i] = qp_qpe_get_str(&r, &len, &why)))
            return fail_at(L, QP_QPE_SECTION_STRINGS, at(&r), "string %u: %s", (unsigned)i, why);
    if (qp_qpe_rd_left(&r))
        return fail_at(L, QP_QPE_SECTION_STRINGS, at(&r), "%zu bytes after the last string",
                       qp_qpe_rd_left(&r));
    return QP_OK;
}

/* ===== TENSORS ===== */

bool qp_qpe_tensor_problem(const struct qp_tensor *t, char *why, size_t why_n)
{
    char    dims[160];
    int64_t numel = t->rank >= 0 && t->rank <= QP_MAX_RANK ? qp_tensor_numel(t) : -1;
    if ((unsigned)t->dtype >= QP_DTYPE_COUNT)
        snprintf(why, why_n, "dtype %u is not known", (unsigned)t->dtype);
    else if (t->layout != QP_LAYOUT_PLAIN)
        snprintf(why, why_n,
                 "layout %u is not plain (version 1 holds graphs before the layout "
                 "pass)",
                 (unsigned)t->layout);
    else if (t->rank < 0 || t->rank > QP_MAX_RANK)
        snprintf(why, why_n, "rank %d (at most %d)", (int)t->rank, QP_MAX_RANK);
    else if (numel < 0 || numel > QP_MAX_TENSOR_BYTES / (int64_t)qp_dtype_size(t->dtype))
        snprintf(why, why_n, "dims %s are negative, overflow or exceed %lld bytes",
                 qp_dims_str(t->dims, t->rank, dims, sizeof dims), (long long)QP_MAX_TENSOR_BYTES);
    else if (!(t->scale >= 0.0f) || isinf(t->scale))
        snprintf(why, why_n, "scale %g is not finite and >= 0", (double)t->scale);
    else if (t->zero_point < -128 || t->zero_point > 127)
        snprintf(why, why_n, "zero point %d is outside -128..127", (int)t->zero_point);
    else
        return false;
    return true;
}

/* One TENSORS record into *t (name in *name, data span in *off, *bytes);
 * NULL or the reason it is invalid. */
static const char *read_tensor(struct qp_qpe_rd *r, struct qp_tensor *t, uint32_t *name,
                               uint64_t *off, uint64_t *bytes, char *why, size_t why_n)
{
    memset(t, 0, sizeof *t);
    *name          = qp_qpe_get_u32(r);
    uint32_t dtype = qp_qpe_get_u32(r), layout = qp_qpe_get_u32(r);
    t->flags      = qp_qpe_get_u32(r);
    uint32_t rank = qp_qpe_get_u32(r), known = qp_qpe_get_u32(r);
    bool     tail_zeros = true;
    for (uint32_t d = 0; d < QP_MAX_RANK; d++) {
        t->dims[d] = qp_qpe_get_i64(r);
        tail_zeros = tail_zeros && (d < rank || t->dims[d] == 0);
    }
    t->scale      = qp_qpe_get_f32(r);
    t->zero_point = qp_qpe_get_i32(r);
    *off          = qp_qpe_get_u64(r);
    *bytes        = qp_qpe_get_u64(r);
    QP_ASSERT(!r->bad); /* the caller checked the record fits */
    if (dtype >= QP_DTYPE_COUNT || layout > QP_LAYOUT_NHWC || rank > QP_MAX_RANK) {
        snprintf(why, why_n, "dtype %u, layout %u or rank %u is out of range", (unsigned)dtype,
                 (unsigned)layout, (unsigned)rank);
        return why;
    }
    t->dtype       = (enum qp_dtype)dtype;
    t->layout      = (enum qp_layout)layout;
    t->rank        = (int32_t)rank;
    t->shape_known = known == 1;
    if (known > 1)
        return "shape_known is not 0 or 1";
    if (!tail_zeros)
        return "dims past the rank are not 0";
    if (t->flags & ~(uint32_t)(QP_TENSOR_CONST | QP_TENSOR_INPUT | QP_TENSOR_OUTPUT))
        return "flags hold unknown bits";
    if (qp_qpe_tensor_problem(t, why, why_n))
        return why;
    return NULL;
}

/* Constant data span of tensor t: inside DATA, aligned, exactly its size. */
static const char *check_data(const struct loader *L, const struct qp_tensor *t, uint64_t off,
                              uint64_t bytes)
{
    uint64_t len = L->sect[QP_QPE_SECTION_DATA].len;
    if (!(t->flags & QP_TENSOR_CONST))
        return off == QP_QPE_NO_DATA && bytes == 0 ? NULL : "data given to a non-constant";
    if (off == QP_QPE_NO_DATA)
        return "a constant without data";
    if (!t->shape_known)
        return "a constant without a shape";
    if (off % QP_QPE_DATA_ALIGN)
        return "data offset is not a multiple of 64";
    if (off > len || bytes > len - off)
        return "data runs past the end of DATA";
    if (bytes != qp_tensor_nbytes(t))
        return "data length differs from the tensor's byte size";
    return NULL;
}

/* Add the checked record t as tensor i of the graph. */
static enum qp_status add_tensor(struct loader *L, const struct qp_tensor *t, const char *name,
                                 uint64_t off)
{
    struct qp_graph *g = L->g;
    int32_t          idx;
    enum qp_status   st = qp_graph_add_tensor(g, name, &idx, L->err);
    if (st != QP_OK)
        return st;
    struct qp_tensor *x = &g->tensors[idx];
    if (t->flags & QP_TENSOR_CONST) {
        void *d;
        st = qp_graph_set_const(g, idx, t->dtype, t->rank, t->dims, &d, L->err);
        if (st != QP_OK)
            return st;
        memcpy(d, L->file + L->sect[QP_QPE_SECTION_DATA].off + off, qp_tensor_nbytes(x));
    } else {
        x->dtype = t->dtype;
        x->rank  = t->rank;
        memcpy(x->dims, t->dims, sizeof x->dims);
        x->shape_known = t->shape_known;
    }
    x->scale      = t->scale;
    x->zero_point = t->zero_point;
    return QP_OK;
}

static enum qp_status load_tensors(struct loader *L)
{
    struct qp_qpe_rd r = reader(L, QP_QPE_SECTION_TENSORS);
    uint32_t         n = qp_qpe_get_u32(&r), reserved = qp_qpe_get_u32(&r);
    if (r.bad || reserved || n > QP_MAX_TENSORS ||
        (uint64_t)n * QP_QPE_TENSOR_BYTES != qp_qpe_rd_left(&r))
        return fail_at(L, QP_QPE_SECTION_TENSORS, r.base,
                       "count %u (reserved %u) does not match the section's %" PRIu64
                       " bytes of %u-byte records (at most %d tensors)",
                       (unsigned)n, (unsigned)reserved, L->sect[QP_QPE_SECTION_TENSORS].len,
                       QP_QPE_TENSOR_BYTES, QP_MAX_TENSORS);
    L->flags = qp_calloc((size_t)n + 1, sizeof *L->flags);
    if (!L->flags)
        return qp_fail(L->err, QP_E_NOMEM, "%s: out of memory for %u tensors", L->path,
                       (unsigned)n);
    for (uint32_t i = 0; i < n; i++) {
        struct qp_tensor t;
        char             why[200];
        uint32_t         name;
        uint64_t         off, bytes, rec = at(&r);
        const char      *bad = read_tensor(&r, &t, &name, &off, &bytes, why, sizeof why);
        if (!bad && !string(L, name))
            bad = "name index is out of range or names an empty string";
        if (!bad)
            bad = check_data(L, &t, off, bytes);
        if (bad)
            return fail_at(L, QP_QPE_SECTION_TENSORS, rec, "tensor %u: %s", (unsigned)i, bad);
        L->flags[i]       = t.flags;
        enum qp_status st = add_tensor(L, &t, string(L, name), off);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}

/* ===== NODES ===== */

/* The fixed part of a node record; the reason when it is invalid. */
static const char *read_node_head(struct loader *L, struct qp_qpe_rd *r, uint32_t v[6])
{
    for (int k = 0; k < 6; k++) /* op, name, n_in, n_out, flags, attribute bytes */
        v[k] = qp_qpe_get_u32(r);
    if (r->bad)
        return "the record runs past the end";
    if (v[0] >= QP_OP_COUNT || !qp_op_info((enum qp_op)v[0]))
        return "op number is not known";
    if (!string(L, v[1]))
        return "name index is out of range or names an empty string";
    if (v[2] > QP_QPE_MAX_NODE_IO || v[3] > QP_QPE_MAX_NODE_IO)
        return "more than 4096 inputs or outputs";
    if (v[4] != 0)
        return "flags are not 0";
    if (((uint64_t)v[2] + v[3]) * 4 + v[5] > qp_qpe_rd_left(r))
        return "inputs, outputs or attributes run past the end";
    return NULL;
}

static enum qp_status load_node(struct loader *L, struct qp_qpe_rd *r, uint32_t i)
{
    uint32_t    v[6];
    uint64_t    rec = at(r);
    char        why[160];
    const char *bad = read_node_head(L, r, v);
    if (bad)
        return fail_at(L, QP_QPE_SECTION_NODES, rec, "node %u: %s", (unsigned)i, bad);
    int32_t        idx;
    enum qp_status st = qp_graph_add_node(L->g, (enum qp_op)v[0], string(L, v[1]), (int32_t)v[2],
                                          (int32_t)v[3], &idx, L->err);
    if (st != QP_OK)
        return st;
    struct qp_node *n = &L->g->nodes[idx];
    for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
        bool    is_in = k < n->n_in;
        int32_t t     = qp_qpe_get_i32(r);
        if (t < -1 || t >= L->g->n_tensors)
            return fail_at(L, QP_QPE_SECTION_NODES, at(r) - 4,
                           "node %u '%s': %s %d is tensor %d (there are %d)", (unsigned)i, n->name,
                           is_in ? "input" : "output", (int)(is_in ? k : k - n->n_in), (int)t,
                           (int)L->g->n_tensors);
        if (is_in)
            n->in[k] = t;
        else
            n->out[k - n->n_in] = t;
    }
    struct qp_qpe_rd a = {r->p + r->pos, v[5], 0, at(r), false};
    if (!qp_qpe_attr_read(&a, n, why, sizeof why))
        return fail_at(L, QP_QPE_SECTION_NODES, at(&a), "node %u '%s' (%s): %s", (unsigned)i,
                       n->name, qp_op_name(n->op), why);
    if (qp_qpe_rd_left(&a))
        return fail_at(L, QP_QPE_SECTION_NODES, at(r),
                       "node %u '%s' (%s): %u attribute bytes, its op family has %zu", (unsigned)i,
                       n->name, qp_op_name(n->op), (unsigned)v[5], a.pos);
    r->pos += v[5];
    return QP_OK;
}

static enum qp_status load_nodes(struct loader *L)
{
    struct qp_qpe_rd r = reader(L, QP_QPE_SECTION_NODES);
    uint32_t         n = qp_qpe_get_u32(&r), reserved = qp_qpe_get_u32(&r);
    if (r.bad || reserved || n > QP_MAX_NODES ||
        (uint64_t)n * QP_QPE_NODE_BYTES > qp_qpe_rd_left(&r))
        return fail_at(L, QP_QPE_SECTION_NODES, r.base,
                       "count %u (reserved %u) does not fit the section (at most %d nodes)",
                       (unsigned)n, (unsigned)reserved, QP_MAX_NODES);
    for (uint32_t i = 0; i < n; i++) {
        enum qp_status st = load_node(L, &r, i);
        if (st != QP_OK)
            return st;
    }
    if (qp_qpe_rd_left(&r))
        return fail_at(L, QP_QPE_SECTION_NODES, at(&r), "%zu bytes after the last node",
                       qp_qpe_rd_left(&r));
    return QP_OK;
}

/* ===== GRAPH ===== */

static enum qp_status load_io(struct loader *L)
{
    struct qp_graph *g     = L->g;
    struct qp_qpe_rd r     = reader(L, QP_QPE_SECTION_GRAPH);
    int64_t          opset = qp_qpe_get_i64(&r);
    uint32_t         n_in = qp_qpe_get_u32(&r), n_out = qp_qpe_get_u32(&r);
    if (r.bad || ((uint64_t)n_in + n_out) * 4 != qp_qpe_rd_left(&r))
        return fail_at(L, QP_QPE_SECTION_GRAPH, r.base,
                       "%u inputs and %u outputs do not match the section's %" PRIu64 " bytes",
                       (unsigned)n_in, (unsigned)n_out, L->sect[QP_QPE_SECTION_GRAPH].len);
    if (opset < 1 || opset > MAX_OPSET)
        return fail_at(L, QP_QPE_SECTION_GRAPH, r.base, "opset %" PRId64 " is out of range", opset);
    g->opset = opset;
    for (uint64_t k = 0; k < (uint64_t)n_in + n_out; k++) {
        bool           is_in = k < n_in;
        int32_t        t     = qp_qpe_get_i32(&r);
        enum qp_status st;
        if (t < 0 || t >= g->n_tensors || (is_in && (g->tensors[t].flags & QP_TENSOR_INPUT)))
            return fail_at(L, QP_QPE_SECTION_GRAPH, at(&r) - 4,
                           "graph %s %u is tensor %d: out of range (%d tensors) or listed twice",
                           is_in ? "input" : "output", (unsigned)(is_in ? k : k - n_in), (int)t,
                           (int)g->n_tensors);
        st = is_in ? qp_graph_add_input(g, t, L->err) : qp_graph_add_output(g, t, L->err);
        if (st != QP_OK)
            return st;
    }
    for (int32_t t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].flags != L->flags[t])
            return fail_at(
                L, QP_QPE_SECTION_TENSORS,
                L->sect[QP_QPE_SECTION_TENSORS].off + 8 + (uint64_t)t * QP_QPE_TENSOR_BYTES,
                "tensor %d '%s': flags 0x%x, but the graph makes them 0x%x", (int)t,
                g->tensors[t].name, (unsigned)L->flags[t], (unsigned)g->tensors[t].flags);
    return QP_OK;
}

/* ===== the inference cross-check ===== */

static bool same_shape(const struct qp_tensor *a, const struct qp_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->shape_known != b->shape_known ||
        a->scale != b->scale || a->zero_point != b->zero_point)
        return false;
    for (int32_t d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d])
            return false;
    return true;
}

/* Re-run inference over the linked graph: it validates every node's
 * attributes against its inputs and must reproduce what the file stores. */
static enum qp_status cross_check(struct loader *L)
{
    struct qp_graph  *g    = L->g;
    struct qp_tensor *keep = qp_alloc((size_t)g->n_tensors * sizeof *keep + 1);
    if (!keep)
        return qp_fail(L->err, QP_E_NOMEM, "%s: out of memory checking %d tensors", L->path,
                       (int)g->n_tensors);
    if (g->n_tensors)
        memcpy(keep, g->tensors, (size_t)g->n_tensors * sizeof *keep);
    enum qp_status st = qp_infer_graph(g, L->err);
    for (int32_t t = 0; st == QP_OK && t < g->n_tensors; t++) {
        const struct qp_tensor *a = &keep[t], *b = &g->tensors[t];
        char                    da[160], db[160];
        if (!same_shape(a, b))
            st = qp_fail(L->err, QP_E_FORMAT,
                         "%s: tensor '%s' is stored as %s %s (scale %g, zero point %d) but its "
                         "node gives %s %s (scale %g, zero point %d): " REBUILD,
                         L->path, b->name, qp_dtype_name(a->dtype),
                         qp_dims_str(a->dims, a->rank, da, sizeof da), (double)a->scale,
                         (int)a->zero_point, qp_dtype_name(b->dtype),
                         qp_dims_str(b->dims, b->rank, db, sizeof db), (double)b->scale,
                         (int)b->zero_point);
    }
    qp_free(keep);
    return st;
}

enum qp_status qp_qpe_load_graph(const char *path, const uint8_t *file,
                                 const struct qp_qpe_span sect[QP_QPE_SECTION_COUNT],
                                 struct qp_graph *g, struct qp_err *err)
{
    struct loader L      = {path, file, sect, g, err, NULL, 0, NULL};
    const char   *source = g->source;
    g->source            = path; /* graph.c and inference messages name the file */
    enum qp_status st    = load_strings(&L);
    if (st == QP_OK)
        st = load_tensors(&L);
    if (st == QP_OK)
        st = load_nodes(&L);
    if (st == QP_OK)
        st = load_io(&L);
    if (st == QP_OK)
        st = qp_graph_link(g, err);
    if (st == QP_OK)
        st = cross_check(&L);
    g->source = source;
    qp_free(L.str);
    qp_free(L.flags);
    return st;
}
