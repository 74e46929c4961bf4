// SPDX-License-Identifier: Apache-2.0
/*
 * tensor.c - ONNX TensorProto decoding: dtype and dims validation, then the
 * data from raw_data (little-endian), the typed fields or external data;
 * plus qp_onnx_read_tensor_file for the conformance test data.
 *
 * Everything a hostile file controls is checked before it is used: dims are
 * non-negative, their product and byte size fit (QP_MAX_TENSOR_BYTES), the
 * data length equals what the dims need, typed int32 values fit the dtype.
 * External data is read only from regular files inside the model directory
 * (realpath containment, no '..', no absolute paths, no reads past the end).
 * DOUBLE tensors are converted to f32 where src->allow_double says so
 * (initializers and Constant values: the engine computes in f32 at most);
 * the conformance reader keeps dtypes exact and refuses them.
 */
#define _XOPEN_SOURCE 700 /* realpath, pread */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "onnx/importer.h"

/* External data read per model at most, in total (a hostile model could
 * point every initializer at the same large region). */
#define MAX_EXTERNAL_BYTES ((int64_t)16 << 30)

enum field { FIELD_NONE, FIELD_FLOAT, FIELD_INT32, FIELD_INT64, FIELD_DOUBLE };

struct onnx_type {
    const char *name;
    int8_t      dtype; /* enum qp_dtype, or -1: none of ours */
    uint8_t     size;  /* bytes per element in raw_data */
    enum field  field; /* typed field holding the values */
};

/* Indexed by TensorProto.DataType. */
static const struct onnx_type types[] = {
    [ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED]  = {"UNDEFINED", -1, 0, FIELD_NONE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT]      = {"FLOAT", QP_DTYPE_F32, 4, FIELD_FLOAT},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT8]      = {"UINT8", QP_DTYPE_U8, 1, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT8]       = {"INT8", QP_DTYPE_I8, 1, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT16]     = {"UINT16", -1, 2, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT16]      = {"INT16", -1, 2, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT32]      = {"INT32", QP_DTYPE_I32, 4, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__INT64]      = {"INT64", QP_DTYPE_I64, 8, FIELD_INT64},
    [ONNX__TENSOR_PROTO__DATA_TYPE__STRING]     = {"STRING", -1, 0, FIELD_NONE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__BOOL]       = {"BOOL", QP_DTYPE_BOOL, 1, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16]    = {"FLOAT16", QP_DTYPE_F16, 2, FIELD_INT32},
    [ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE]     = {"DOUBLE", -1, 8, FIELD_DOUBLE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT32]     = {"UINT32", -1, 4, FIELD_NONE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__UINT64]     = {"UINT64", -1, 8, FIELD_NONE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64]  = {"COMPLEX64", -1, 8, FIELD_NONE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128] = {"COMPLEX128", -1, 16, FIELD_NONE},
    [ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16]   = {"BFLOAT16", -1, 2, FIELD_NONE},
};
#define N_TYPES ((int32_t)(sizeof types / sizeof types[0]))

bool qp_onnx_dtype(int32_t onnx_type, enum qp_dtype *out)
{
    if (onnx_type < 0 || onnx_type >= N_TYPES || types[onnx_type].dtype < 0)
        return false;
    *out = (enum qp_dtype)types[onnx_type].dtype;
    return true;
}

size_t qp_onnx_elem_size(int32_t onnx_type)
{
    return onnx_type >= 0 && onnx_type < N_TYPES ? types[onnx_type].size : 0;
}

const char *qp_onnx_dtype_name(int32_t onnx_type, char *buf, size_t n)
{
    if (onnx_type >= 0 && onnx_type < N_TYPES)
        return types[onnx_type].name;
    snprintf(buf, n, "type %d", (int)onnx_type);
    return buf;
}

/* Range an INT32-field value must lie in for our dtype. */
static bool int32_fits(enum qp_dtype dt, int32_t v)
{
    switch (dt) {
    case QP_DTYPE_I8:
        return v >= INT8_MIN && v <= INT8_MAX;
    case QP_DTYPE_U8:
        return v >= 0 && v <= UINT8_MAX;
    case QP_DTYPE_BOOL:
        return v == 0 || v == 1;
    case QP_DTYPE_F16:
        return v >= 0 && v <= UINT16_MAX; /* the fp16 bits */
    default:
        return true;
    }
}

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t        b;
    memcpy(&b, &one, 1);
    return b == 1;
}

enum qp_status qp_onnx_tensor_info(const Onnx__TensorProto *tp, const struct qp_onnx_src *src,
                                   const char *what, struct qp_onnx_tinfo *ti, struct qp_err *err)
{
    char tbuf[32], dbuf[200];
    memset(ti, 0, sizeof *ti);
    int32_t     dt    = tp->has_data_type ? tp->data_type : 0;
    const char *tname = qp_onnx_dtype_name(dt, tbuf, sizeof tbuf);
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE && src->allow_double) {
        ti->dtype       = QP_DTYPE_F32;
        ti->from_double = true;
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED) {
        return qp_fail(err, QP_E_FORMAT, "%s: %s has no data_type", src->source, what);
    } else if (!qp_onnx_dtype(dt, &ti->dtype)) {
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: %s has data type %s, which is not supported",
                       src->source, what, tname);
    }
    if (tp->n_dims > QP_MAX_RANK)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: %s has rank %zu (at most %d)", src->source, what,
                       tp->n_dims, QP_MAX_RANK);
    ti->rank  = (int32_t)tp->n_dims;
    ti->numel = 1;
    for (int32_t i = 0; i < ti->rank; i++) {
        int64_t d   = tp->dims[i];
        ti->dims[i] = d;
        if (d < 0)
            return qp_fail(err, QP_E_FORMAT, "%s: %s has a negative dim %lld", src->source, what,
                           (long long)d);
        if (d && ti->numel > INT64_MAX / d)
            return qp_fail(err, QP_E_FORMAT, "%s: %s: dims %s overflow", src->source, what,
                           qp_dims_str(tp->dims, ti->rank, dbuf, sizeof dbuf));
        ti->numel *= d;
    }
    int64_t esize = (int64_t)qp_dtype_size(ti->dtype);
    if (ti->numel > QP_MAX_TENSOR_BYTES / esize)
        return qp_fail(err, QP_E_FORMAT, "%s: %s: dims %s x %s exceed %lld bytes", src->source,
                       what, qp_dims_str(ti->dims, ti->rank, dbuf, sizeof dbuf),
                       qp_dtype_name(ti->dtype), (long long)QP_MAX_TENSOR_BYTES);
    ti->nbytes = (size_t)(ti->numel * esize);
    return QP_OK;
}

/* Copy little-endian elements of esize bytes (8 for doubles) into dst. */
static void decode_raw(const uint8_t *raw, const struct qp_onnx_tinfo *ti, void *dst)
{
    if (ti->numel == 0)
        return; /* raw may be NULL (an empty bytes field) */
    if (ti->from_double) {
        float *d = dst;
        for (int64_t i = 0; i < ti->numel; i++) {
            uint64_t bits = 0;
            for (int k = 7; k >= 0; k--)
                bits = bits << 8 | raw[i * 8 + k];
            double v;
            memcpy(&v, &bits, sizeof v);
            d[i] = (float)v;
        }
        return;
    }
    size_t esize = qp_dtype_size(ti->dtype);
    if (host_is_little_endian() || esize == 1) {
        memcpy(dst, raw, ti->nbytes);
        return;
    }
    uint8_t *d = dst;
    for (int64_t i = 0; i < ti->numel; i++)
        for (size_t k = 0; k < esize; k++)
            d[(size_t)i * esize + k] = raw[(size_t)i * esize + esize - 1 - k];
}

/* Bytes raw_data / external data must have: numel x the ONNX element size. */
static int64_t raw_bytes(const struct qp_onnx_tinfo *ti)
{
    return ti->numel * (ti->from_double ? 8 : (int64_t)qp_dtype_size(ti->dtype));
}

static enum qp_status fill_int32(const Onnx__TensorProto *tp, const struct qp_onnx_tinfo *ti,
                                 const struct qp_onnx_src *src, const char *what, void *dst,
                                 struct qp_err *err)
{
    for (int64_t i = 0; i < ti->numel; i++) {
        int32_t v = tp->int32_data[i];
        if (!int32_fits(ti->dtype, v))
            return qp_fail(err, QP_E_FORMAT, "%s: %s: int32_data[%lld] = %d does not fit %s",
                           src->source, what, (long long)i, (int)v, qp_dtype_name(ti->dtype));
        switch (ti->dtype) {
        case QP_DTYPE_I8:
            ((int8_t *)dst)[i] = (int8_t)v;
            break;
        case QP_DTYPE_U8:
        case QP_DTYPE_BOOL:
            ((uint8_t *)dst)[i] = (uint8_t)v;
            break;
        case QP_DTYPE_F16:
            ((uint16_t *)dst)[i] = (uint16_t)v;
            break;
        default:
            ((int32_t *)dst)[i] = v;
            break;
        }
    }
    return QP_OK;
}

/* Values from the typed repeated field the dtype uses. */
static enum qp_status fill_typed(const Onnx__TensorProto *tp, const struct qp_onnx_tinfo *ti,
                                 const struct qp_onnx_src *src, const char *what, void *dst,
                                 struct qp_err *err)
{
    int32_t     dt = tp->data_type;
    enum field  f  = types[dt].field;
    size_t      have;
    const char *fname;
    switch (f) {
    case FIELD_FLOAT:
        have = tp->n_float_data, fname = "float_data";
        break;
    case FIELD_INT32:
        have = tp->n_int32_data, fname = "int32_data";
        break;
    case FIELD_INT64:
        have = tp->n_int64_data, fname = "int64_data";
        break;
    case FIELD_DOUBLE:
        have = tp->n_double_data, fname = "double_data";
        break;
    default:
        have = 0, fname = "raw_data";
        break;
    }
    if ((int64_t)have != ti->numel) {
        char dbuf[200];
        return qp_fail(err, QP_E_FORMAT, "%s: %s: %s has %zu values, dims %s need %lld",
                       src->source, what, fname, have,
                       qp_dims_str(ti->dims, ti->rank, dbuf, sizeof dbuf), (long long)ti->numel);
    }
    if (ti->numel == 0)
        return QP_OK;
    switch (f) {
    case FIELD_FLOAT:
        memcpy(dst, tp->float_data, ti->nbytes);
        break;
    case FIELD_INT64:
        memcpy(dst, tp->int64_data, ti->nbytes);
        break;
    case FIELD_DOUBLE:
        for (int64_t i = 0; i < ti->numel; i++)
            ((float *)dst)[i] = (float)tp->double_data[i];
        break;
    case FIELD_INT32:
        return fill_int32(tp, ti, src, what, dst, err);
    default:
        break;
    }
    return QP_OK;
}

/* ===== external data ===== */

struct ext_ref {
    const char *location;
    int64_t     offset, length; /* length -1: absent */
};

/* Non-negative decimal integer, the whole string. */
static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno       = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static enum qp_status ext_parse(const Onnx__TensorProto *tp, const struct qp_onnx_src *src,
                                const char *what, struct ext_ref *r, struct qp_err *err)
{
    r->location = NULL;
    r->offset   = 0;
    r->length   = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k || !v)
            return qp_fail(err, QP_E_FORMAT, "%s: %s: external_data entry %zu is incomplete",
                           src->source, what, i);
        bool ok = true;
        if (strcmp(k, "location") == 0)
            r->location = v;
        else if (strcmp(k, "offset") == 0)
            ok = parse_i64(v, &r->offset);
        else if (strcmp(k, "length") == 0)
            ok = parse_i64(v, &r->length);
        else if (strcmp(k, "checksum") != 0) /* checksum: integrity is not checked here */
            return qp_fail(err, QP_E_FORMAT, "%s: %s: unknown external_data key '%.64s'",
                           src->source, what, k);
        if (!ok)
            return qp_fail(err, QP_E_FORMAT, "%s: %s: external_data %s='%.64s' is not a byte count",
                           src->source, what, k, v);
    }
    if (!r->location || !*r->location)
        return qp_fail(err, QP_E_FORMAT, "%s: %s: external data without a location", src->source,
                       what);
    return QP_OK;
}

/* Refuse locations that could leave the model directory before touching
 * the file system: absolute paths and any '..' component. */
static enum qp_status ext_check_location(const char *loc, const struct qp_onnx_src *src,
                                         const char *what, struct qp_err *err)
{
    if (loc[0] == '/' || loc[0] == '\\')
        return qp_fail(err, QP_E_FORMAT,
                       "%s: %s: external data location '%.200s' is an absolute path", src->source,
                       what, loc);
    for (const char *p = loc; *p;) {
        size_t k = strcspn(p, "/\\");
        if (k == 2 && p[0] == '.' && p[1] == '.')
            return qp_fail(err, QP_E_FORMAT,
                           "%s: %s: external data location '%.200s' contains '..'", src->source,
                           what, loc);
        p += k;
        if (*p)
            p++;
    }
    return QP_OK;
}

/* Resolve base_dir/loc, require it inside base_dir, open it read-only. */
static enum qp_status ext_open(const char *loc, const struct qp_onnx_src *src, const char *what,
                               int *fd, struct qp_err *err)
{
    char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
    if (!realpath(src->base_dir, dir))
        return qp_fail(err, QP_E_IO, "%s: model directory '%s': %s", src->source, src->base_dir,
                       strerror(errno));
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, loc) >= sizeof path)
        return qp_fail(err, QP_E_FORMAT, "%s: %s: external data path too long", src->source, what);
    if (!realpath(path, real))
        return qp_fail(err, QP_E_IO, "%s: %s: external data '%.200s': %s", src->source, what, loc,
                       strerror(errno));
    size_t k = strlen(dir);
    if (strncmp(real, dir, k) != 0 || (real[k] != '/' && !(k == 1 && dir[0] == '/')))
        return qp_fail(err, QP_E_FORMAT,
                       "%s: %s: external data '%.200s' resolves outside the model directory",
                       src->source, what, loc);
    *fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0)
        return qp_fail(err, QP_E_IO, "%s: %s: open external data '%.200s': %s", src->source, what,
                       loc, strerror(errno));
    return QP_OK;
}

static enum qp_status ext_read(int fd, const struct ext_ref *r, int64_t need, uint8_t *buf,
                               const struct qp_onnx_src *src, const char *what, struct qp_err *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return qp_fail(err, QP_E_FORMAT, "%s: %s: external data '%.200s' is not a regular file",
                       src->source, what, r->location);
    int64_t size = (int64_t)sb.st_size;
    if (r->offset > size || need > size - r->offset)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: %s: external data '%.200s' offset %lld + %lld bytes runs past its end "
                       "(%lld bytes)",
                       src->source, what, r->location, (long long)r->offset, (long long)need,
                       (long long)size);
    for (int64_t done = 0; done < need;) {
        ssize_t k = pread(fd, buf + done, (size_t)(need - done), (off_t)(r->offset + done));
        if (k <= 0)
            return qp_fail(err, QP_E_IO, "%s: %s: reading external data '%.200s': %s", src->source,
                           what, r->location, k < 0 ? strerror(errno) : "short read");
        done += k;
    }
    return QP_OK;
}

static enum qp_status fill_external(const Onnx__TensorProto *tp, const struct qp_onnx_tinfo *ti,
                                    struct qp_onnx_src *src, const char *what, void *dst,
                                    struct qp_err *err)
{
    struct ext_ref r;
    enum qp_status st = ext_parse(tp, src, what, &r, err);
    if (st != QP_OK)
        return st;
    if (!src->base_dir)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       "%s: %s: external data needs the model's directory (model read from memory)",
                       src->source, what);
    if ((st = ext_check_location(r.location, src, what, err)) != QP_OK)
        return st;
    int64_t need = raw_bytes(ti);
    if (r.length >= 0 && r.length != need)
        return qp_fail(err, QP_E_FORMAT, "%s: %s: external data length %lld, dims need %lld",
                       src->source, what, (long long)r.length, (long long)need);
    if (need > MAX_EXTERNAL_BYTES - src->ext_bytes)
        return qp_fail(err, QP_E_FORMAT, "%s: %s: more than %lld bytes of external data in total",
                       src->source, what, (long long)MAX_EXTERNAL_BYTES);
    int fd;
    if ((st = ext_open(r.location, src, what, &fd, err)) != QP_OK)
        return st;
    uint8_t *raw = qp_alloc((size_t)need);
    if (!raw) {
        close(fd);
        return qp_fail(err, QP_E_NOMEM, "%s: %s: out of memory for %lld bytes", src->source, what,
                       (long long)need);
    }
    st = ext_read(fd, &r, need, raw, src, what, err);
    close(fd);
    if (st == QP_OK) {
        decode_raw(raw, ti, dst);
        src->ext_bytes += need;
    }
    qp_free(raw);
    return st;
}

/* ===== decoding entry points ===== */

static bool has_typed(const Onnx__TensorProto *tp)
{
    return tp->n_float_data || tp->n_int32_data || tp->n_int64_data || tp->n_double_data ||
           tp->n_string_data || tp->n_uint64_data;
}

enum qp_status qp_onnx_tensor_fill(const Onnx__TensorProto *tp, const struct qp_onnx_tinfo *ti,
                                   struct qp_onnx_src *src, const char *what, void *dst,
                                   struct qp_err *err)
{
    if (tp->segment)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: %s: segmented tensors are not supported",
                       src->source, what);
    bool external =
        tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external && (tp->has_raw_data || has_typed(tp)))
        return qp_fail(err, QP_E_FORMAT, "%s: %s: external data and inline data both given",
                       src->source, what);
    if (external)
        return fill_external(tp, ti, src, what, dst, err);
    if (tp->has_raw_data && has_typed(tp))
        return qp_fail(err, QP_E_FORMAT, "%s: %s: raw_data and typed data both given", src->source,
                       what);
    if (!tp->has_raw_data)
        return fill_typed(tp, ti, src, what, dst, err);
    int64_t need = raw_bytes(ti);
    if ((uint64_t)tp->raw_data.len != (uint64_t)need) {
        char dbuf[200];
        return qp_fail(err, QP_E_FORMAT, "%s: %s: raw_data is %zu bytes, dims %s x %s need %lld",
                       src->source, what, tp->raw_data.len,
                       qp_dims_str(ti->dims, ti->rank, dbuf, sizeof dbuf),
                       ti->from_double ? "f64" : qp_dtype_name(ti->dtype), (long long)need);
    }
    decode_raw(tp->raw_data.data, ti, dst);
    return QP_OK;
}

/* ===== conformance tensor files ===== */

enum qp_status qp_onnx_read_tensor_file(const char *path, struct qp_host_tensor *out,
                                        struct qp_err *err)
{
    void                *buf = NULL;
    size_t               n   = 0;
    ProtobufCMessage    *m   = NULL;
    char                 dir[PATH_MAX];
    struct qp_onnx_tinfo ti;
    struct qp_onnx_src   src = {path, qp_onnx_dir_of(path, dir, sizeof dir), 0, false};
    memset(out, 0, sizeof *out);
    enum qp_status st =
        qp_onnx_read_file(path, (size_t)QP_MAX_TENSOR_BYTES + (1u << 20), &buf, &n, err);
    if (st == QP_OK)
        st = qp_onnx_pb_unpack(&onnx__tensor_proto__descriptor, buf, n, path, &m, err);
    qp_free(buf);
    if (st != QP_OK)
        return st;
    const Onnx__TensorProto *tp = (const Onnx__TensorProto *)m;
    st                          = qp_onnx_tensor_info(tp, &src, "tensor", &ti, err);
    if (st == QP_OK && !(out->data = qp_alloc(ti.nbytes)))
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory for %zu bytes", path, ti.nbytes);
    if (st == QP_OK)
        st = qp_onnx_tensor_fill(tp, &ti, &src, "tensor", out->data, err);
    if (st == QP_OK) {
        snprintf(out->name, sizeof out->name, "%s", tp->name ? tp->name : "");
        out->dtype  = ti.dtype;
        out->rank   = ti.rank;
        out->nbytes = ti.nbytes;
        memcpy(out->dims, ti.dims, sizeof out->dims);
    } else {
        qp_host_tensor_fini(out);
    }
    qp_onnx_pb_free(m);
    return st;
}

void qp_host_tensor_fini(struct qp_host_tensor *t)
{
    if (!t)
        return;
    qp_free(t->data);
    memset(t, 0, sizeof *t);
}
