// SPDX-License-Identifier: Apache-2.0
/*
 * mcap_codec.c - chunk compression for MCAP: none, zstd and lz4 (frame
 * format), one row per codec in a table indexed by enum qp_mcap_compression.
 *
 * Contexts are created up front (qp_mcap_codec_new) and reused for every
 * chunk; the libraries size their work space on first use and keep it.
 * Decompression always produces exactly the size the Chunk record declares:
 * anything else is corrupt data (QP_E_FORMAT), so a hostile chunk can make
 * the reader allocate no more than that declared size, which the reader
 * caps. zstd.h and lz4frame.h are included here only.
 */
#include "clients/mcap/mcap_int.h"

#include <lz4frame.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/alloc.h"

struct qp_mcap_codec {
    enum qp_mcap_compression c; /* what compress uses */
    int                      zstd_level;
    ZSTD_CCtx               *zc;
    LZ4F_cctx               *lc;
    ZSTD_DCtx               *zd;
    LZ4F_dctx               *ld;
};

/* ===== none ===== */

static size_t none_bound(size_t n)
{
    return n;
}

static enum qp_status none_compress(struct qp_mcap_codec *k, void *dst, size_t cap, const void *src,
                                    size_t n, size_t *out_n, struct qp_err *err)
{
    QP_ASSERT(n <= cap);
    if (n)
        memcpy(dst, src, n);
    *out_n = n;
    return QP_OK;
}

static enum qp_status none_decompress(struct qp_mcap_codec *k, void *dst, size_t dst_n,
                                      const void *src, size_t n, struct qp_err *err)
{
    if (n != dst_n)
        return qp_fail(err, QP_E_FORMAT, "uncompressed chunk holds %zu bytes, declares %zu", n,
                       dst_n);
    if (n)
        memcpy(dst, src, n);
    return QP_OK;
}

/* ===== zstd ===== */

static size_t zstd_bound(size_t n)
{
    size_t b = ZSTD_compressBound(n);
    return ZSTD_isError(b) ? 0 : b;
}

static enum qp_status zstd_compress(struct qp_mcap_codec *k, void *dst, size_t cap, const void *src,
                                    size_t n, size_t *out_n, struct qp_err *err)
{
    size_t r = ZSTD_compressCCtx(k->zc, dst, cap, src, n, k->zstd_level);
    if (ZSTD_isError(r))
        return qp_fail(
            err, ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? QP_E_NOMEM : QP_E_INVAL,
            "zstd compression of %zu bytes: %s", n, ZSTD_getErrorName(r));
    *out_n = r;
    return QP_OK;
}

static enum qp_status zstd_decompress(struct qp_mcap_codec *k, void *dst, size_t dst_n,
                                      const void *src, size_t n, struct qp_err *err)
{
    if (n == 0 && dst_n == 0)
        return QP_OK;
    size_t r = ZSTD_decompressDCtx(k->zd, dst, dst_n, src, n);
    if (ZSTD_isError(r))
        return qp_fail(err, QP_E_FORMAT, "zstd: %s (%zu bytes declared)", ZSTD_getErrorName(r),
                       dst_n);
    if (r != dst_n)
        return qp_fail(err, QP_E_FORMAT, "zstd data holds %zu bytes, declares %zu", r, dst_n);
    return QP_OK;
}

/* ===== lz4 (frame format) ===== */

static LZ4F_preferences_t lz4_prefs(size_t n)
{
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.contentSize = n; /* lets readers check the size before decoding */
    p.autoFlush             = 1; /* one update with everything: no internal staging */
    return p;
}

static size_t lz4_bound(size_t n)
{
    LZ4F_preferences_t p = lz4_prefs(n);
    size_t             b = LZ4F_compressFrameBound(n, &p);
    return LZ4F_isError(b) ? 0 : b;
}

static enum qp_status lz4_compress(struct qp_mcap_codec *k, void *dst, size_t cap, const void *src,
                                   size_t n, size_t *out_n, struct qp_err *err)
{
    LZ4F_preferences_t p   = lz4_prefs(n);
    uint8_t           *out = dst;
    size_t             pos = LZ4F_compressBegin(k->lc, out, cap, &p);
    if (!LZ4F_isError(pos)) {
        size_t r = LZ4F_compressUpdate(k->lc, out + pos, cap - pos, src, n, NULL);
        pos      = LZ4F_isError(r) ? r : pos + r;
    }
    if (!LZ4F_isError(pos)) {
        size_t r = LZ4F_compressEnd(k->lc, out + pos, cap - pos, NULL);
        pos      = LZ4F_isError(r) ? r : pos + r;
    }
    if (LZ4F_isError(pos))
        return qp_fail(err, QP_E_INVAL, "lz4 compression of %zu bytes: %s", n,
                       LZ4F_getErrorName(pos));
    *out_n = pos;
    return QP_OK;
}

static enum qp_status lz4_decompress(struct qp_mcap_codec *k, void *dst, size_t dst_n,
                                     const void *src, size_t n, struct qp_err *err)
{
    const uint8_t *in     = src;
    uint8_t       *out    = dst;
    size_t         in_pos = 0, out_pos = 0, hint = 1;
    LZ4F_resetDecompressionContext(k->ld);
    while (in_pos < n) {
        size_t in_n = n - in_pos, out_n = dst_n - out_pos;
        hint = LZ4F_decompress(k->ld, out ? out + out_pos : NULL, &out_n, in + in_pos, &in_n, NULL);
        if (LZ4F_isError(hint)) {
            LZ4F_resetDecompressionContext(k->ld);
            return qp_fail(err, QP_E_FORMAT, "lz4: %s (%zu bytes declared)",
                           LZ4F_getErrorName(hint), dst_n);
        }
        in_pos += in_n;
        out_pos += out_n;
        if (in_n == 0 && out_n == 0)
            break; /* output full and nothing consumed: more data than declared */
    }
    if (hint != 0 || in_pos != n || out_pos != dst_n) {
        LZ4F_resetDecompressionContext(k->ld);
        return qp_fail(err, QP_E_FORMAT,
                       "lz4 data is incomplete or larger than declared (%zu of %zu input bytes "
                       "used, %zu of %zu bytes out)",
                       in_pos, n, out_pos, dst_n);
    }
    return QP_OK;
}

/* ===== The table ===== */

static const struct codec_row {
    const char *name; /* Chunk.compression */
    size_t (*bound)(size_t n);
    enum qp_status (*compress)(struct qp_mcap_codec *k, void *dst, size_t cap, const void *src,
                               size_t n, size_t *out_n, struct qp_err *err);
    enum qp_status (*decompress)(struct qp_mcap_codec *k, void *dst, size_t dst_n, const void *src,
                                 size_t n, struct qp_err *err);
} codecs[] = {
    [QP_MCAP_COMPRESSION_NONE] = {"", none_bound, none_compress, none_decompress},
    [QP_MCAP_COMPRESSION_ZSTD] = {"zstd", zstd_bound, zstd_compress, zstd_decompress},
    [QP_MCAP_COMPRESSION_LZ4]  = {"lz4", lz4_bound, lz4_compress, lz4_decompress},
};
_Static_assert(sizeof codecs / sizeof codecs[0] == QP_MCAP_COMPRESSION_COUNT,
               "one codec row per compression");

const char *qp_mcap_compression_name(enum qp_mcap_compression c)
{
    return (unsigned)c < QP_MCAP_COMPRESSION_COUNT ? codecs[c].name : "unknown";
}

bool qp_mcap_compression_parse(const uint8_t *s, size_t n, enum qp_mcap_compression *out)
{
    for (int c = 0; c < QP_MCAP_COMPRESSION_COUNT; c++) {
        if (strlen(codecs[c].name) == n && (n == 0 || memcmp(codecs[c].name, s, n) == 0)) {
            *out = (enum qp_mcap_compression)c;
            return true;
        }
    }
    return false;
}

enum qp_status qp_mcap_codec_new(enum qp_mcap_compression c, int zstd_level, bool compress,
                                 struct qp_mcap_codec **out, struct qp_err *err)
{
    QP_ASSERT((unsigned)c < QP_MCAP_COMPRESSION_COUNT);
    struct qp_mcap_codec *k = qp_calloc(1, sizeof *k);
    if (!k)
        return qp_fail(err, QP_E_NOMEM, "mcap: out of memory for the codec (%zu bytes)", sizeof *k);
    k->c          = c;
    k->zstd_level = zstd_level;
    bool ok       = true;
    if (compress && c == QP_MCAP_COMPRESSION_ZSTD)
        ok = (k->zc = ZSTD_createCCtx()) != NULL;
    if (compress && c == QP_MCAP_COMPRESSION_LZ4)
        ok = !LZ4F_isError(LZ4F_createCompressionContext(&k->lc, LZ4F_VERSION));
    if (!compress) {
        k->zd = ZSTD_createDCtx();
        ok    = k->zd && !LZ4F_isError(LZ4F_createDecompressionContext(&k->ld, LZ4F_VERSION));
    }
    if (!ok) {
        qp_mcap_codec_free(k);
        return qp_fail(err, QP_E_NOMEM, "mcap: cannot create the %s context",
                       compress ? "compression" : "decompression");
    }
    *out = k;
    return QP_OK;
}

void qp_mcap_codec_free(struct qp_mcap_codec *k)
{
    if (!k)
        return;
    ZSTD_freeCCtx(k->zc);
    ZSTD_freeDCtx(k->zd);
    if (k->lc)
        LZ4F_freeCompressionContext(k->lc);
    if (k->ld)
        LZ4F_freeDecompressionContext(k->ld);
    qp_free(k);
}

size_t qp_mcap_codec_bound(const struct qp_mcap_codec *k, size_t n)
{
    return codecs[k->c].bound(n);
}

enum qp_status qp_mcap_codec_compress(struct qp_mcap_codec *k, void *dst, size_t cap,
                                      const void *src, size_t n, size_t *out_n, struct qp_err *err)
{
    return codecs[k->c].compress(k, dst, cap, src, n, out_n, err);
}

enum qp_status qp_mcap_codec_decompress(struct qp_mcap_codec *k, enum qp_mcap_compression c,
                                        void *dst, size_t dst_n, const void *src, size_t n,
                                        struct qp_err *err)
{
    QP_ASSERT((unsigned)c < QP_MCAP_COMPRESSION_COUNT && k->zd);
    return codecs[c].decompress(k, dst, dst_n, src, n, err);
}
