// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * mcap_int.h - what the MCAP writer and reader share: the record opcodes
 * and their names, the magic, little-endian put/get helpers, a bounds-checked
 * field cursor, CRC32 and the compression codecs (zstd / lz4 stay behind
 * qp_mcap_codec). Internal to clients/mcap/ and its tests.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clients/mcap/mcap.h"

#define QP_MCAP_MAGIC_LEN 8
extern const uint8_t qp_mcap_magic[QP_MCAP_MAGIC_LEN];

#define QP_MCAP_RECORD_HEAD 9   /* opcode u8 + content length u64 */
#define QP_MCAP_FOOTER_LEN 20   /* Footer content: u64 u64 u32 */
#define QP_MCAP_MESSAGE_HEAD 22 /* Message content before its data: u16 u32 u64 u64 */

/* Record opcodes of the specification (0x01-0x7F reserved for it, 0x80-0xFF
 * for extensions). */
enum qp_mcap_op {
    QP_MCAP_OP_HEADER           = 0x01,
    QP_MCAP_OP_FOOTER           = 0x02,
    QP_MCAP_OP_SCHEMA           = 0x03,
    QP_MCAP_OP_CHANNEL          = 0x04,
    QP_MCAP_OP_MESSAGE          = 0x05,
    QP_MCAP_OP_CHUNK            = 0x06,
    QP_MCAP_OP_MESSAGE_INDEX    = 0x07,
    QP_MCAP_OP_CHUNK_INDEX      = 0x08,
    QP_MCAP_OP_ATTACHMENT       = 0x09,
    QP_MCAP_OP_ATTACHMENT_INDEX = 0x0A,
    QP_MCAP_OP_STATISTICS       = 0x0B,
    QP_MCAP_OP_METADATA         = 0x0C,
    QP_MCAP_OP_METADATA_INDEX   = 0x0D,
    QP_MCAP_OP_SUMMARY_OFFSET   = 0x0E,
    QP_MCAP_OP_DATA_END         = 0x0F,
    QP_MCAP_OP_COUNT
};

/* "Chunk", "Message Index", ...; "unknown" for opcodes the spec does not
 * define. Never NULL. */
const char *qp_mcap_op_name(unsigned op);

/* CRC-32 (IEEE, zlib's): crc = qp_mcap_crc32(0, data, n), continued by passing
 * the previous value. */
uint32_t qp_mcap_crc32(uint32_t crc, const void *data, size_t n);

/* Grow the table *p of *cap entries of elem bytes to hold need of them
 * (doubling, from 16). QP_E_NOMEM. */
enum qp_status qp_mcap_grow(void **p, size_t *cap, size_t need, size_t elem, struct qp_err *err);

/* ===== Little-endian encoding ===== */

static inline uint8_t *qp_mcap_put_u8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

static inline uint8_t *qp_mcap_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static inline uint8_t *qp_mcap_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static inline uint8_t *qp_mcap_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

/* Bytes prefixed with their u32 length (String, Bytes of a Schema). */
static inline uint8_t *qp_mcap_put_lenbytes(uint8_t *p, const void *s, size_t n)
{
    p = qp_mcap_put_u32(p, (uint32_t)n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

static inline uint8_t *qp_mcap_put_str(uint8_t *p, const char *s)
{
    return qp_mcap_put_lenbytes(p, s, strlen(s));
}

static inline uint8_t *qp_mcap_put_head(uint8_t *p, uint8_t op, uint64_t len)
{
    return qp_mcap_put_u64(qp_mcap_put_u8(p, op), len);
}

static inline uint16_t qp_mcap_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t qp_mcap_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t qp_mcap_get_u64(const uint8_t *p)
{
    return (uint64_t)qp_mcap_get_u32(p) | (uint64_t)qp_mcap_get_u32(p + 4) << 32;
}

/* ===== Field cursor =====
 * Reads fields of one record's content; a read past the end sets bad (and
 * returns zeros / empty), so a parser checks once at the end. */
struct qp_mcap_cur {
    const uint8_t *p;
    size_t         n, pos;
    bool           bad;
};

static inline struct qp_mcap_cur qp_mcap_cur_make(const uint8_t *p, size_t n)
{
    struct qp_mcap_cur c = {p, n, 0, false};
    return c;
}

static inline const uint8_t *qp_mcap_cur_take(struct qp_mcap_cur *c, uint64_t n)
{
    if (c->bad || n > c->n - c->pos) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *q = c->p + c->pos;
    c->pos += (size_t)n;
    return q;
}

static inline uint8_t qp_mcap_cur_u8(struct qp_mcap_cur *c)
{
    const uint8_t *q = qp_mcap_cur_take(c, 1);
    return q ? *q : 0;
}

static inline uint16_t qp_mcap_cur_u16(struct qp_mcap_cur *c)
{
    const uint8_t *q = qp_mcap_cur_take(c, 2);
    return q ? qp_mcap_get_u16(q) : 0;
}

static inline uint32_t qp_mcap_cur_u32(struct qp_mcap_cur *c)
{
    const uint8_t *q = qp_mcap_cur_take(c, 4);
    return q ? qp_mcap_get_u32(q) : 0;
}

static inline uint64_t qp_mcap_cur_u64(struct qp_mcap_cur *c)
{
    const uint8_t *q = qp_mcap_cur_take(c, 8);
    return q ? qp_mcap_get_u64(q) : 0;
}

/* A u32-length-prefixed String / Bytes / Map / Array: its bytes and length. */
static inline const uint8_t *qp_mcap_cur_lenbytes(struct qp_mcap_cur *c, size_t *n)
{
    uint32_t       len = qp_mcap_cur_u32(c);
    const uint8_t *q   = qp_mcap_cur_take(c, len);
    *n                 = q ? len : 0;
    return q;
}

/* ===== Compression ===== */

struct qp_mcap_codec; /* compression and decompression contexts of every codec */

/* Parse Chunk.compression (n bytes, not NUL-terminated). */
bool qp_mcap_compression_parse(const uint8_t *s, size_t n, enum qp_mcap_compression *out);

/* Contexts for compressing with c at zstd_level (compress) or for
 * decompressing every codec (!compress). QP_E_NOMEM. */
enum qp_status qp_mcap_codec_new(enum qp_mcap_compression c, int zstd_level, bool compress,
                                 struct qp_mcap_codec **out, struct qp_err *err);
void           qp_mcap_codec_free(struct qp_mcap_codec *k);

/* Worst-case compressed size of n bytes; 0 when n is too large. */
size_t qp_mcap_codec_bound(const struct qp_mcap_codec *k, size_t n);

/* Compress src[0, n) into dst (capacity cap >= the bound); *out_n its size.
 * QP_E_NOMEM / QP_E_INVAL with the library's reason. */
enum qp_status qp_mcap_codec_compress(struct qp_mcap_codec *k, void *dst, size_t cap,
                                      const void *src, size_t n, size_t *out_n, struct qp_err *err);

/* Decompress src[0, n), compressed with c, into exactly dst_n bytes of dst.
 * QP_E_FORMAT when the data is corrupt or its size differs from dst_n. */
enum qp_status qp_mcap_codec_decompress(struct qp_mcap_codec *k, enum qp_mcap_compression c,
                                        void *dst, size_t dst_n, const void *src, size_t n,
                                        struct qp_err *err);
