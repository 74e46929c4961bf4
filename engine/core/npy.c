// SPDX-License-Identifier: Apache-2.0
/*
 * npy.c - NumPy .npy reader and writer with a strict header parser.
 *
 * Layout of a file: "\x93NUMPY", major, minor, header length (u16 LE for
 * 1.0, u32 LE for 2.0), the header (an ASCII Python dict literal padded with
 * spaces and ended by '\n'), then the raw C-order data. The parser accepts
 * exactly what numpy.save writes for our dtypes and refuses the rest with a
 * reason; data length must equal the shape's, byte for byte, and is checked
 * against the file size before anything is allocated for it.
 *
 * dtypes live in one table indexed by enum qp_dtype (core cannot use the
 * graph's dtype table: core sits below graph). Byte order: the data is copied
 * as is, so the host must be little-endian (a build error otherwise).
 */
#include "core/npy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c copies little-endian data as is: a big-endian host needs byte swapping"
#endif

static const struct {
    const char *descr;
    size_t      size;
} dtypes[] = {
    [QP_DTYPE_F32]  = {"<f4", 4},
    [QP_DTYPE_F16]  = {"<f2", 2},
    [QP_DTYPE_I8]   = {"|i1", 1},
    [QP_DTYPE_U8]   = {"|u1", 1},
    [QP_DTYPE_I32]  = {"<i4", 4},
    [QP_DTYPE_I64]  = {"<i8", 8},
    [QP_DTYPE_BOOL] = {"|b1", 1},
};
_Static_assert(sizeof dtypes / sizeof dtypes[0] == QP_DTYPE_COUNT, "every qp_dtype needs a descr");

static const char magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* Largest single dim accepted; keeps products far from int64 overflow. */
#define MAX_DIM ((int64_t)1 << 40)

/* ===== Header parser ===== */

/* Parse state over the header text; msg receives the first error. */
struct cur {
    const char *p, *end;
    const char *msg;
    bool        unsupported; /* the error is "valid but not ours", not "malformed" */
};

/* What the header says. */
struct header {
    char    descr[16];
    bool    fortran;
    int32_t rank;
    int64_t dims[QP_MAX_RANK];
};

static bool fail(struct cur *c, const char *msg, bool unsupported)
{
    if (!c->msg) {
        c->msg         = msg;
        c->unsupported = unsupported;
    }
    return false;
}

static void skip_ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool eat(struct cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted string ('...' as numpy writes it, or "..."), no escapes. */
static bool parse_string(struct cur *c, char *buf, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return fail(c, "expected a quoted string", false);
    char   q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n' || n + 1 >= cap)
            return fail(c, "string too long or with escapes", false);
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return fail(c, "unterminated string", false);
    c->p++;
    buf[n] = '\0';
    return true;
}

static bool parse_word(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    skip_ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool parse_bool(struct cur *c, bool *out)
{
    if (parse_word(c, "True"))
        *out = true;
    else if (parse_word(c, "False"))
        *out = false;
    else
        return fail(c, "fortran_order is not True or False", false);
    return true;
}

static bool parse_dim(struct cur *c, int64_t *out)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return fail(c, "shape entry is not a non-negative integer", false);
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (*c->p++ - '0');
        if (v > MAX_DIM)
            return fail(c, "shape entry too large", false);
    }
    *out = v;
    return true;
}

/* "()", "(5,)", "(2, 3)", "(2, 3,)": a 1-tuple needs its comma, as in Python. */
static bool parse_shape(struct cur *c, struct header *h)
{
    bool trailing_comma = false;
    h->rank             = 0;
    if (!eat(c, '('))
        return fail(c, "shape is not a tuple", false);
    while (!eat(c, ')')) {
        if (h->rank == QP_MAX_RANK)
            return fail(c, "shape has more dims than QP_MAX_RANK", true);
        if (!parse_dim(c, &h->dims[h->rank++]))
            return false;
        trailing_comma = eat(c, ',');
        skip_ws(c);
        if (!trailing_comma && (c->p >= c->end || *c->p != ')'))
            return fail(c, "shape tuple is malformed", false);
    }
    if (h->rank == 1 && !trailing_comma)
        return fail(c, "shape (n) is not a tuple: (n,) expected", false);
    return true;
}

enum key { KEY_DESCR, KEY_FORTRAN, KEY_SHAPE, KEY_COUNT };

static const char *const key_names[] = {
    [KEY_DESCR]   = "descr",
    [KEY_FORTRAN] = "fortran_order",
    [KEY_SHAPE]   = "shape",
};
_Static_assert(sizeof key_names / sizeof key_names[0] == KEY_COUNT, "a name per key");

static bool parse_value(struct cur *c, enum key k, struct header *h)
{
    switch (k) {
    case KEY_DESCR:
        skip_ws(c);
        if (c->p < c->end && *c->p == '[')
            return fail(c, "structured dtypes are not supported", true);
        return parse_string(c, h->descr, sizeof h->descr);
    case KEY_FORTRAN:
        return parse_bool(c, &h->fortran);
    case KEY_SHAPE:
        return parse_shape(c, h);
    case KEY_COUNT:
        break;
    }
    QP_ASSERT(!"unreachable");
    return false;
}

static bool parse_key(struct cur *c, enum key *out)
{
    char name[32];
    if (!parse_string(c, name, sizeof name))
        return false;
    for (int k = 0; k < KEY_COUNT; k++) {
        if (strcmp(name, key_names[k]) == 0) {
            *out = (enum key)k;
            return true;
        }
    }
    return fail(c, "unknown key in header dict", false);
}

static bool parse_dict(struct cur *c, struct header *h)
{
    bool seen[KEY_COUNT] = {false};
    if (!eat(c, '{'))
        return fail(c, "header is not a dict", false);
    while (!eat(c, '}')) {
        enum key k;
        if (!parse_key(c, &k))
            return false;
        /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.ArraySubscript): set when true */
        if (seen[k])
            return fail(c, "duplicate key in header dict", false);
        seen[k] = true;
        if (!eat(c, ':'))
            return fail(c, "expected ':' after key", false);
        if (!parse_value(c, k, h))
            return false;
        if (!eat(c, ',')) {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '}')
                return fail(c, "expected ',' or '}' in header dict", false);
        }
    }
    for (int k = 0; k < KEY_COUNT; k++)
        if (!seen[k])
            return fail(c, "header dict lacks descr, fortran_order or shape", false);
    skip_ws(c);
    if (c->p + 1 != c->end || *c->p != '\n')
        return fail(c, "header does not end with padding and '\\n'", false);
    return true;
}

/* ===== Reading ===== */

static enum qp_status read_exact(FILE *f, void *buf, size_t n, const char *path, const char *what,
                                 struct qp_err *err)
{
    if (fread(buf, 1, n, f) == n)
        return QP_OK;
    if (ferror(f))
        return qp_fail(err, QP_E_IO, "%s: reading %s: %s", path, what, strerror(errno));
    return qp_fail(err, QP_E_FORMAT, "%s: truncated %s", path, what);
}

/* Magic, version and header length. */
static enum qp_status read_preamble(FILE *f, const char *path, size_t *hlen, struct qp_err *err)
{
    uint8_t        pre[8], len[4] = {0};
    enum qp_status st = read_exact(f, pre, sizeof pre, path, "preamble", err);
    if (st != QP_OK)
        return st;
    if (memcmp(pre, magic, sizeof magic) != 0)
        return qp_fail(err, QP_E_FORMAT, "%s: not a .npy file (bad magic)", path);
    if ((pre[6] != 1 && pre[6] != 2) || pre[7] != 0)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: .npy version %u.%u (want 1.0 or 2.0)", path,
                       pre[6], pre[7]);
    size_t nlen = pre[6] == 1 ? 2 : 4;
    st          = read_exact(f, len, nlen, path, "header length", err);
    if (st != QP_OK)
        return st;
    *hlen = (size_t)len[0] | (size_t)len[1] << 8 | (size_t)len[2] << 16 | (size_t)len[3] << 24;
    if (*hlen == 0 || *hlen > QP_NPY_MAX_HEADER_BYTES)
        return qp_fail(err, QP_E_FORMAT, "%s: header length %zu outside 1..%d", path, *hlen,
                       QP_NPY_MAX_HEADER_BYTES);
    return QP_OK;
}

static enum qp_status read_header(FILE *f, const char *path, struct header *h, struct qp_err *err)
{
    size_t         hlen = 0;
    enum qp_status st   = read_preamble(f, path, &hlen, err);
    if (st != QP_OK)
        return st;
    char *text = qp_alloc(hlen);
    if (!text)
        return qp_fail(err, QP_E_NOMEM, "%s: %zu bytes for the header", path, hlen);
    st = read_exact(f, text, hlen, path, "header", err);
    if (st == QP_OK) {
        struct cur c = {text, text + hlen, NULL, false};
        memset(h, 0, sizeof *h);
        if (!parse_dict(&c, h))
            st = qp_fail(err, c.unsupported ? QP_E_UNSUPPORTED : QP_E_FORMAT,
                         "%s: header at byte %td: %s", path, c.p - text, c.msg);
    }
    qp_free(text);
    return st;
}

/* Map the header to dtype and byte count, refusing what we do not take. */
static enum qp_status check_header(const struct header *h, const char *path, struct qp_npy *out,
                                   struct qp_err *err)
{
    if (h->fortran)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: fortran_order arrays are not supported", path);
    if (h->descr[0] == '>')
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: big-endian dtype '%s' is not supported", path,
                       h->descr);
    int t = 0;
    while (t < QP_DTYPE_COUNT && strcmp(h->descr, dtypes[t].descr) != 0)
        t++;
    if (t == QP_DTYPE_COUNT)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: dtype '%s' is not supported", path, h->descr);

    size_t n = dtypes[t].size;
    for (int32_t i = 0; i < h->rank; i++) {
        if (!qp_size_mul(n, (size_t)h->dims[i], &n) || n > QP_NPY_MAX_DATA_BYTES)
            return qp_fail(err, QP_E_FORMAT, "%s: shape too large (over %zu bytes)", path,
                           QP_NPY_MAX_DATA_BYTES);
    }
    out->dtype  = (enum qp_dtype)t;
    out->rank   = h->rank;
    out->nbytes = n;
    memcpy(out->dims, h->dims, sizeof out->dims);
    return QP_OK;
}

/* Bytes from the current position to the end of the file. */
static enum qp_status remaining_bytes(FILE *f, const char *path, long *out, struct qp_err *err)
{
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return qp_fail(err, QP_E_IO, "%s: cannot seek: %s", path, strerror(errno));
    long end = ftell(f);
    if (end < 0 || fseek(f, here, SEEK_SET) != 0)
        return qp_fail(err, QP_E_IO, "%s: cannot seek: %s", path, strerror(errno));
    *out = end - here;
    return QP_OK;
}

static enum qp_status read_body(FILE *f, const char *path, struct qp_npy *out, struct qp_err *err)
{
    struct header  h;
    long           left = 0;
    enum qp_status st   = read_header(f, path, &h, err);
    if (st == QP_OK)
        st = check_header(&h, path, out, err);
    if (st == QP_OK)
        st = remaining_bytes(f, path, &left, err);
    if (st != QP_OK)
        return st;
    if ((unsigned long)left != out->nbytes)
        return qp_fail(err, QP_E_FORMAT, "%s: data is %ld bytes, the shape says %zu", path, left,
                       out->nbytes);
    out->data = qp_alloc(out->nbytes);
    if (!out->data)
        return qp_fail(err, QP_E_NOMEM, "%s: %zu bytes for the data", path, out->nbytes);
    return read_exact(f, out->data, out->nbytes, path, "data", err);
}

enum qp_status qp_npy_read(const char *path, struct qp_npy *out, struct qp_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));
    enum qp_status st = read_body(f, path, out, err);
    (void)fclose(f);
    if (st != QP_OK)
        qp_npy_fini(out);
    return st;
}

void qp_npy_fini(struct qp_npy *x)
{
    if (!x)
        return;
    qp_free(x->data);
    memset(x, 0, sizeof *x);
}

/* ===== Writing ===== */

/* The header as numpy writes it, space-padded so that the data starts at a
 * multiple of 64 bytes. Returns its length (including the final '\n'). */
static size_t format_header(char *buf, size_t cap, enum qp_dtype dtype, int32_t rank,
                            const int64_t *dims)
{
    char   shape[QP_MAX_RANK * 24 + 4];
    size_t n = 0;
    shape[0] = '\0';
    for (int32_t i = 0; i < rank; i++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%lld", i ? ", " : "",
                              (long long)dims[i]);
    if (rank == 1)
        snprintf(shape + n, sizeof shape - n, ",");

    int len = snprintf(buf, cap, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                       dtypes[dtype].descr, shape);
    QP_ASSERT(len > 0 && (size_t)len + 64 < cap);
    size_t total = sizeof magic + 4 + (size_t)len + 1;
    size_t pad   = (64 - total % 64) % 64;
    memset(buf + len, ' ', pad);
    buf[(size_t)len + pad] = '\n';
    return (size_t)len + pad + 1;
}

enum qp_status qp_npy_write(const char *path, enum qp_dtype dtype, int32_t rank,
                            const int64_t *dims, const void *data, struct qp_err *err)
{
    if ((unsigned)dtype >= QP_DTYPE_COUNT || rank < 0 || rank > QP_MAX_RANK)
        return qp_fail(err, QP_E_INVAL, "%s: dtype %d / rank %d not writable", path, (int)dtype,
                       (int)rank);
    size_t nbytes = dtypes[dtype].size;
    for (int32_t i = 0; i < rank; i++)
        if (dims[i] < 0 || !qp_size_mul(nbytes, (size_t)dims[i], &nbytes))
            return qp_fail(err, QP_E_INVAL, "%s: dim %d is %lld", path, (int)i,
                           (long long)dims[i]);

    char    header[QP_MAX_RANK * 24 + 256];
    size_t  hlen   = format_header(header, sizeof header, dtype, rank, dims);
    uint8_t pre[10] = {0};
    memcpy(pre, magic, sizeof magic);
    pre[6] = 1;
    pre[8] = (uint8_t)(hlen & 0xff);
    pre[9] = (uint8_t)(hlen >> 8);

    FILE *f = fopen(path, "wb");
    if (!f)
        return qp_fail(err, QP_E_IO, "create %s: %s", path, strerror(errno));
    bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre &&
              fwrite(header, 1, hlen, f) == hlen &&
              (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok    = false;
        saved = errno;
    }
    if (!ok)
        return qp_fail(err, QP_E_IO, "write %s: %s", path, strerror(saved));
    return QP_OK;
}
