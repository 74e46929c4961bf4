// SPDX-License-Identifier: Apache-2.0
/*
 * attrs.c - typed access to the attributes of the node being imported.
 *
 * Every getter marks the attribute it reads as used; qp_onnx_attrs_end then
 * refuses whatever the op's parser did not consume, so an attribute we do
 * not implement can never be silently ignored. (A NodeProto's doc_string is
 * a field, not an attribute: it is informative and never looked at.)
 * Types are checked against the AttributeProto type (inferred from the set
 * field for old files that omit it); a mismatch is QP_E_FORMAT.
 */
#include <stdio.h>
#include <string.h>

#include "onnx/importer.h"

#define T(x) ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__##x

static const char *const type_names[] = {
    [T(UNDEFINED)]      = "UNDEFINED",
    [T(FLOAT)]          = "FLOAT",
    [T(INT)]            = "INT",
    [T(STRING)]         = "STRING",
    [T(TENSOR)]         = "TENSOR",
    [T(GRAPH)]          = "GRAPH",
    [T(FLOATS)]         = "FLOATS",
    [T(INTS)]           = "INTS",
    [T(STRINGS)]        = "STRINGS",
    [T(TENSORS)]        = "TENSORS",
    [T(GRAPHS)]         = "GRAPHS",
    [T(SPARSE_TENSOR)]  = "SPARSE_TENSOR",
    [T(SPARSE_TENSORS)] = "SPARSE_TENSORS",
    [T(TYPE_PROTO)]     = "TYPE_PROTO",
    [T(TYPE_PROTOS)]    = "TYPE_PROTOS",
};

static const char *type_name(int t)
{
    if (t < 0 || (size_t)t >= sizeof type_names / sizeof type_names[0] || !type_names[t])
        return "?";
    return type_names[t];
}

/* The attribute's type; files from before IR 4 may leave it unset. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type)
        return (int)a->type;
    if (a->has_f)
        return T(FLOAT);
    if (a->has_i)
        return T(INT);
    if (a->has_s)
        return T(STRING);
    if (a->t)
        return T(TENSOR);
    if (a->g)
        return T(GRAPH);
    if (a->n_floats)
        return T(FLOATS);
    if (a->n_ints)
        return T(INTS);
    if (a->n_strings)
        return T(STRINGS);
    return T(UNDEFINED);
}

/* Value of a for messages: "=1", "=0.5", "='cubic'", "=[1,2]" or "". */
static const char *value_str(const Onnx__AttributeProto *a, char *buf, size_t n)
{
    buf[0] = '\0';
    switch (attr_type(a)) {
    case T(INT):
        snprintf(buf, n, "=%lld", (long long)a->i);
        break;
    case T(FLOAT):
        snprintf(buf, n, "=%g", (double)a->f);
        break;
    case T(STRING):
        snprintf(buf, n, "='%.*s'", (int)(a->s.len > 64 ? 64 : a->s.len),
                 a->s.data ? (const char *)a->s.data : "");
        break;
    case T(INTS):
        if (a->n_ints) {
            char dims[160];
            snprintf(
                buf, n, "=%s",
                qp_dims_str(a->ints, a->n_ints > 8 ? 8 : (int32_t)a->n_ints, dims, sizeof dims));
        }
        break;
    default:
        break;
    }
    return buf;
}

enum qp_status qp_onnx_attrs_begin(struct qp_onnx_ctx *c)
{
    const Onnx__NodeProto *np = c->np;
    c->attr_used              = 0;
    if (np->n_attribute > QP_ONNX_MAX_ATTRS)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%zu attributes (at most %d)", np->n_attribute,
                                 QP_ONNX_MAX_ATTRS);
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (!a->name || !*a->name || strlen(a->name) > QP_ONNX_MAX_NAME)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %zu has no valid name", i);
        if (a->ref_attr_name && *a->ref_attr_name)
            return qp_onnx_node_fail(c, QP_E_FORMAT,
                                     "attribute %.64s refers to a function attribute outside a "
                                     "function",
                                     a->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(np->attribute[j]->name, a->name) == 0)
                return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %.64s is given twice", a->name);
    }
    return QP_OK;
}

enum qp_status qp_onnx_attrs_end(struct qp_onnx_ctx *c)
{
    for (size_t i = 0; i < c->np->n_attribute; i++) {
        if (c->attr_used & ((uint64_t)1 << i))
            continue;
        char                        v[200];
        const Onnx__AttributeProto *a = c->np->attribute[i];
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "attribute %.64s%s is not supported (opset %lld)", a->name,
                                 value_str(a, v, sizeof v), (long long)c->opset);
    }
    return QP_OK;
}

const Onnx__AttributeProto *qp_onnx_attr(struct qp_onnx_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->np->n_attribute; i++)
        if (strcmp(c->np->attribute[i]->name, name) == 0) {
            c->attr_used |= (uint64_t)1 << i;
            return c->np->attribute[i];
        }
    return NULL;
}

/* The attribute name if it has type want; NULL when absent; *st set on a mismatch. */
static const Onnx__AttributeProto *typed(struct qp_onnx_ctx *c, const char *name, int want,
                                         enum qp_status *st)
{
    *st                           = QP_OK;
    const Onnx__AttributeProto *a = qp_onnx_attr(c, name);
    if (a && attr_type(a) != want) {
        *st = qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s has type %s, expected %s", name,
                                type_name(attr_type(a)), type_name(want));
        return NULL;
    }
    return a;
}

enum qp_status qp_onnx_attr_int(struct qp_onnx_ctx *c, const char *name, int64_t def, int64_t *out)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(INT), &st);
    *out                          = a ? a->i : def;
    return st;
}

enum qp_status qp_onnx_attr_i32(struct qp_onnx_ctx *c, const char *name, int32_t def, int32_t lo,
                                int32_t hi, int32_t *out)
{
    int64_t        v;
    enum qp_status st = qp_onnx_attr_int(c, name, def, &v);
    if (st != QP_OK)
        return st;
    if (v < lo || v > hi)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s=%lld is outside [%d, %d]", name,
                                 (long long)v, (int)lo, (int)hi);
    *out = (int32_t)v;
    return QP_OK;
}

enum qp_status qp_onnx_attr_float(struct qp_onnx_ctx *c, const char *name, float def, float *out)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(FLOAT), &st);
    *out                          = a ? a->f : def;
    return st;
}

enum qp_status qp_onnx_attr_ints(struct qp_onnx_ctx *c, const char *name, const int64_t **v,
                                 size_t *n)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(INTS), &st);
    *v                            = NULL;
    *n                            = 0;
    if (!a)
        return st;
    if (a->n_ints > QP_ONNX_MAX_ATTR_LEN)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s has %zu values (at most %d)", name,
                                 a->n_ints, QP_ONNX_MAX_ATTR_LEN);
    /* an INTS attribute may legitimately be empty: point at something valid */
    static const int64_t none[1] = {0};
    *v                           = a->n_ints ? a->ints : none;
    *n                           = a->n_ints;
    return QP_OK;
}

enum qp_status qp_onnx_attr_floats(struct qp_onnx_ctx *c, const char *name, const float **v,
                                   size_t *n)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(FLOATS), &st);
    *v                            = NULL;
    *n                            = 0;
    if (!a)
        return st;
    if (a->n_floats > QP_ONNX_MAX_ATTR_LEN)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s has %zu values (at most %d)", name,
                                 a->n_floats, QP_ONNX_MAX_ATTR_LEN);
    static const float none[1] = {0};
    *v                         = a->n_floats ? a->floats : none;
    *n                         = a->n_floats;
    return QP_OK;
}

enum qp_status qp_onnx_attr_tensor(struct qp_onnx_ctx *c, const char *name,
                                   const Onnx__TensorProto **out)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(TENSOR), &st);
    *out                          = NULL;
    if (a && !a->t)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s holds no tensor", name);
    if (a)
        *out = a->t;
    return st;
}

/* Does the STRING attribute a equal s? */
static bool str_eq(const Onnx__AttributeProto *a, const char *s)
{
    size_t k = strlen(s);
    return a->s.len == k && (k == 0 || memcmp(a->s.data, s, k) == 0);
}

enum qp_status qp_onnx_attr_enum(struct qp_onnx_ctx *c, const char *name,
                                 const struct qp_onnx_enum *rows, size_t n_rows, int def, int *out)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(STRING), &st);
    *out                          = def;
    if (!a)
        return st;
    char v[100];
    for (size_t i = 0; i < n_rows; i++) {
        if (!str_eq(a, rows[i].name))
            continue;
        if (!rows[i].supported)
            return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                     "attribute %s%s is not supported (opset %lld)", name,
                                     value_str(a, v, sizeof v), (long long)c->opset);
        *out = rows[i].value;
        return QP_OK;
    }
    return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s%s is not a valid value", name,
                             value_str(a, v, sizeof v));
}

enum qp_status qp_onnx_attr_only_int(struct qp_onnx_ctx *c, const char *name, int64_t def)
{
    int64_t        v;
    enum qp_status st = qp_onnx_attr_int(c, name, def, &v);
    if (st == QP_OK && v != def)
        st = qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                               "attribute %s=%lld is not supported (opset %lld)", name,
                               (long long)v, (long long)c->opset);
    return st;
}

enum qp_status qp_onnx_attr_only_str(struct qp_onnx_ctx *c, const char *name, const char *def)
{
    enum qp_status              st;
    const Onnx__AttributeProto *a = typed(c, name, T(STRING), &st);
    if (a && !str_eq(a, def)) {
        char v[100];
        st = qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "attribute %s%s is not supported (opset %lld)",
                               name, value_str(a, v, sizeof v), (long long)c->opset);
    }
    return st;
}

int32_t qp_onnx_known_rank(const struct qp_onnx_ctx *c, const struct qp_node *n, int32_t i)
{
    if (i >= n->n_in || n->in[i] < 0 || !c->g->tensors[n->in[i]].shape_known)
        return -1;
    return c->g->tensors[n->in[i]].rank;
}

enum qp_status qp_onnx_attr_axis(struct qp_onnx_ctx *c, const struct qp_node *n, const char *name,
                                 int32_t def, bool required, int32_t extra, int32_t *out)
{
    if (required && !qp_onnx_attr(c, name))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s is required", name);
    enum qp_status st = qp_onnx_attr_i32(c, name, def, -QP_MAX_RANK, QP_MAX_RANK - 1 + extra, out);
    if (st != QP_OK)
        return st;
    int32_t r = qp_onnx_known_rank(c, n, 0);
    if (r >= 0 && (*out < -r || *out >= r + extra))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%s %d is out of range for input rank %d", name,
                                 (int)*out, (int)r);
    return QP_OK;
}
