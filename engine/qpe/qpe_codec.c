// SPDX-License-Identifier: Apache-2.0
/*
 * qpe_codec.c - little-endian byte buffers for the engine file: a growing
 * writer and a bounded reader.
 *
 * Values are composed and split with shifts, never by copying structs or
 * host integers, so the bytes do not depend on the compiler or host. The
 * reader never reads past its end: a short read yields 0, sets bad, and
 * leaves pos at the failed field so the caller can name its offset.
 */
#include "qpe/qpe_int.h"

#include <string.h>

#include "core/alloc.h"

const char *qp_qpe_section_name(uint32_t type)
{
    static const char *const names[QP_QPE_SECTION_COUNT] = {
        [QP_QPE_SECTION_META] = "META",       [QP_QPE_SECTION_STRINGS] = "STRINGS",
        [QP_QPE_SECTION_TENSORS] = "TENSORS", [QP_QPE_SECTION_NODES] = "NODES",
        [QP_QPE_SECTION_GRAPH] = "GRAPH",     [QP_QPE_SECTION_DATA] = "DATA",
    };
    return type > 0 && type < QP_QPE_SECTION_COUNT ? names[type] : "?";
}

/* ===== writer ===== */

void qp_qpe_buf_fini(struct qp_qpe_buf *b)
{
    qp_free(b->p);
    memset(b, 0, sizeof *b);
}

static bool reserve(struct qp_qpe_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (n <= b->cap - b->n)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *p = qp_realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p   = p;
    b->cap = cap;
    return true;
}

void qp_qpe_put_bytes(struct qp_qpe_buf *b, const void *src, size_t n)
{
    if (n && reserve(b, n)) {
        memcpy(b->p + b->n, src, n);
        b->n += n;
    }
}

void qp_qpe_put_zeros(struct qp_qpe_buf *b, size_t n)
{
    if (n && reserve(b, n)) {
        memset(b->p + b->n, 0, n);
        b->n += n;
    }
}

static void put_le(struct qp_qpe_buf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    qp_qpe_put_bytes(b, t, (size_t)bytes);
}

void qp_qpe_put_u8(struct qp_qpe_buf *b, uint8_t v)
{
    put_le(b, v, 1);
}

void qp_qpe_put_u32(struct qp_qpe_buf *b, uint32_t v)
{
    put_le(b, v, 4);
}

void qp_qpe_put_u64(struct qp_qpe_buf *b, uint64_t v)
{
    put_le(b, v, 8);
}

void qp_qpe_put_i32(struct qp_qpe_buf *b, int32_t v)
{
    put_le(b, (uint32_t)v, 4);
}

void qp_qpe_put_i64(struct qp_qpe_buf *b, int64_t v)
{
    put_le(b, (uint64_t)v, 8);
}

void qp_qpe_put_f32(struct qp_qpe_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    put_le(b, u, 4);
}

void qp_qpe_put_f64(struct qp_qpe_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_le(b, u, 8);
}

void qp_qpe_put_str(struct qp_qpe_buf *b, const char *s)
{
    size_t n = strlen(s);
    QP_ASSERT(n <= UINT32_MAX); /* callers bound their strings */
    qp_qpe_put_u32(b, (uint32_t)n);
    qp_qpe_put_bytes(b, s, n + 1);
}

static void patch_le(struct qp_qpe_buf *b, size_t off, uint64_t v, int bytes)
{
    if (b->oom)
        return;
    QP_ASSERT(off + (size_t)bytes <= b->n);
    for (int i = 0; i < bytes; i++)
        b->p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void qp_qpe_patch_u32(struct qp_qpe_buf *b, size_t off, uint32_t v)
{
    patch_le(b, off, v, 4);
}

void qp_qpe_patch_u64(struct qp_qpe_buf *b, size_t off, uint64_t v)
{
    patch_le(b, off, v, 8);
}

/* ===== reader ===== */

uint32_t qp_qpe_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t qp_qpe_load_u64(const uint8_t *p)
{
    return (uint64_t)qp_qpe_load_u32(p) | (uint64_t)qp_qpe_load_u32(p + 4) << 32;
}

size_t qp_qpe_rd_left(const struct qp_qpe_rd *r)
{
    return r->bad ? 0 : r->n - r->pos;
}

/* Pointer to the next n bytes, or NULL (and bad) when fewer are left. */
static const uint8_t *take(struct qp_qpe_rd *r, size_t n)
{
    if (r->bad || n > r->n - r->pos) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint8_t qp_qpe_get_u8(struct qp_qpe_rd *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint32_t qp_qpe_get_u32(struct qp_qpe_rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? qp_qpe_load_u32(p) : 0;
}

uint64_t qp_qpe_get_u64(struct qp_qpe_rd *r)
{
    const uint8_t *p = take(r, 8);
    return p ? qp_qpe_load_u64(p) : 0;
}

int32_t qp_qpe_get_i32(struct qp_qpe_rd *r)
{
    uint32_t u = qp_qpe_get_u32(r);
    int32_t  v;
    memcpy(&v, &u, sizeof v); /* two's complement reinterpretation, no UB */
    return v;
}

int64_t qp_qpe_get_i64(struct qp_qpe_rd *r)
{
    uint64_t u = qp_qpe_get_u64(r);
    int64_t  v;
    memcpy(&v, &u, sizeof v);
    return v;
}

float qp_qpe_get_f32(struct qp_qpe_rd *r)
{
    uint32_t u = qp_qpe_get_u32(r);
    float    v;
    memcpy(&v, &u, sizeof v);
    return v;
}

double qp_qpe_get_f64(struct qp_qpe_rd *r)
{
    uint64_t u = qp_qpe_get_u64(r);
    double   v;
    memcpy(&v, &u, sizeof v);
    return v;
}

const char *qp_qpe_get_str(struct qp_qpe_rd *r, uint32_t *len, const char **why)
{
    size_t   at = r->pos;
    uint32_t n  = qp_qpe_get_u32(r);
    if (r->bad) {
        *why = "string length runs past the end of the section";
        return NULL;
    }
    if ((uint64_t)n + 1 > r->n - r->pos) {
        r->pos = at;
        r->bad = true;
        *why   = "string runs past the end of the section";
        return NULL;
    }
    const char *s = (const char *)r->p + r->pos;
    if (s[n] != '\0' || memchr(s, '\0', n)) {
        r->pos = at;
        r->bad = true;
        *why   = s[n] != '\0' ? "string is not NUL-terminated" : "string holds a NUL byte";
        return NULL;
    }
    r->pos += (size_t)n + 1;
    *len = n;
    return s;
}
