// SPDX-License-Identifier: Apache-2.0
/*
 * decode.c - JPEG and PNG files into RGB8 images (qp_image_load / _decode),
 * and their size from the header alone (qp_image_probe).
 *
 * The format is chosen by magic bytes, never by file name, from a table of
 * decoders indexed by enum img_format. JPEG goes through libturbojpeg (2.1
 * API: tjDecompressHeader3 + tjDecompress2, accurate integer IDCT and fancy
 * upsampling - the libjpeg defaults OpenCV's imread uses, so pixels match
 * the reference pipeline); PNG through libspng, which expands gray, palette
 * and 16-bit images to RGB8 (16-bit samples keep their high byte) and drops
 * alpha. Both check the size against QP_IMAGE_MAX_SIDE and QP_IMAGE_MAX_BYTES
 * before allocating, so a hostile header cannot make us allocate gigabytes.
 * Decoder warnings (a truncated JPEG that libjpeg would grey-fill) are
 * errors: a damaged frame must not reach the detector. Every error names the
 * decoder's reason; qp_image_load adds the file name.
 *
 * Pre-processing for a model is elsewhere (preprocess.c).
 */
#include "qpercept/detect.h"

#include <errno.h>
#include <spng.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/alloc.h"

#define QP_IMAGE_MAX_SIDE 16384
#define QP_IMAGE_MAX_BYTES ((size_t)1 << 30) /* decoded RGB8 bytes; also the file cap */

#ifndef TJFLAG_LIMITSCANS
#define TJFLAG_LIMITSCANS 0 /* older libturbojpeg: no progressive-scan limit */
#endif

enum img_format { IMG_JPEG = 0, IMG_PNG = 1, IMG_FORMAT_COUNT };

/* Decode into *out, or (out NULL) only read the size from the header into *w, *h. */
typedef enum qp_status (*decode_fn)(const uint8_t *buf, size_t n, struct qp_image *out, uint32_t *w,
                                    uint32_t *h, struct qp_err *err);

static enum qp_status decode_jpeg(const uint8_t *buf, size_t n, struct qp_image *out, uint32_t *w,
                                  uint32_t *h, struct qp_err *err);
static enum qp_status decode_png(const uint8_t *buf, size_t n, struct qp_image *out, uint32_t *w,
                                 uint32_t *h, struct qp_err *err);

static const struct {
    const char *name;
    uint8_t     magic[8];
    size_t      n_magic;
    decode_fn   decode;
} formats[] = {
    [IMG_JPEG] = {"jpeg", {0xff, 0xd8, 0xff}, 3, decode_jpeg},
    [IMG_PNG]  = {"png", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, 8, decode_png},
};
_Static_assert(sizeof formats / sizeof formats[0] == IMG_FORMAT_COUNT, "one row per format");

/* Allocate an RGB8 image after checking the caps. */
static enum qp_status alloc_rgb8(const char *what, uint32_t w, uint32_t h, struct qp_image *out,
                                 struct qp_err *err)
{
    if (w == 0 || h == 0 || w > QP_IMAGE_MAX_SIDE || h > QP_IMAGE_MAX_SIDE)
        return qp_fail(err, QP_E_FORMAT, "%s: %ux%u image: each side must be 1..%d", what,
                       (unsigned)w, (unsigned)h, QP_IMAGE_MAX_SIDE);
    size_t bytes = (size_t)w * h * 3;
    if (bytes > QP_IMAGE_MAX_BYTES)
        return qp_fail(err, QP_E_FORMAT, "%s: %ux%u image needs %zu bytes, limit %zu", what,
                       (unsigned)w, (unsigned)h, bytes, QP_IMAGE_MAX_BYTES);
    uint8_t *data = qp_alloc(bytes);
    if (!data)
        return qp_fail(err, QP_E_NOMEM, "%s: %zu bytes for a %ux%u image", what, bytes, (unsigned)w,
                       (unsigned)h);
    *out = (struct qp_image){.width  = (int32_t)w,
                             .height = (int32_t)h,
                             .stride = (int32_t)w * 3,
                             .format = QP_PIXEL_RGB8,
                             .data   = data};
    return QP_OK;
}

static enum qp_status decode_jpeg(const uint8_t *buf, size_t n, struct qp_image *out, uint32_t *ow,
                                  uint32_t *oh, struct qp_err *err)
{
    struct qp_image img = {0};
    enum qp_status  st  = QP_OK;
    tjhandle        tj  = tjInitDecompress();
    if (!tj)
        return qp_fail(err, QP_E_NOMEM, "jpeg: %s", tjGetErrorStr2(NULL));

    int w, h, subsamp, colorspace;
    if (n > (unsigned long)-1 ||
        tjDecompressHeader3(tj, buf, (unsigned long)n, &w, &h, &subsamp, &colorspace) != 0) {
        st = qp_fail(err, QP_E_FORMAT, "jpeg: %s", tjGetErrorStr2(tj));
        goto out;
    }
    if (w <= 0 || h <= 0) {
        st = qp_fail(err, QP_E_FORMAT, "jpeg: %dx%d image", w, h);
        goto out;
    }
    *ow = (uint32_t)w;
    *oh = (uint32_t)h;
    if (!out)
        goto out;
    st = alloc_rgb8("jpeg", (uint32_t)w, (uint32_t)h, &img, err);
    if (st != QP_OK)
        goto out;
    /* STOPONWARNING: libjpeg would grey-fill a truncated scan and call it a
     * warning; LIMITSCANS bounds the work a hostile progressive file causes. */
    if (tjDecompress2(tj, buf, (unsigned long)n, img.data, w, img.stride, h, TJPF_RGB,
                      TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
        st = qp_fail(err, QP_E_FORMAT, "jpeg: %s", tjGetErrorStr2(tj));
        goto out;
    }
    *out     = img;
    img.data = NULL;
out:
    qp_free(img.data);
    tjDestroy(tj);
    return st;
}

/* libspng's own allocations (and zlib's, through it) go through our hook,
 * so they are counted and can be failed by tests. libspng reports a failed
 * zlib allocation as a zlib error; the flag lets us call it what it is. */
static _Thread_local bool png_oom;

static void *png_malloc(size_t size)
{
    void *p = qp_alloc(size);
    png_oom = png_oom || !p;
    return p;
}

static void *png_realloc(void *ptr, size_t size)
{
    void *p = qp_realloc(ptr, size);
    png_oom = png_oom || !p;
    return p;
}

static void *png_calloc(size_t count, size_t size)
{
    void *p = qp_calloc(count, size);
    png_oom = png_oom || !p;
    return p;
}

static enum qp_status png_fail(int rc, struct qp_err *err)
{
    if (rc == SPNG_EMEM || png_oom)
        return qp_fail(err, QP_E_NOMEM, "png: out of memory (%s)", spng_strerror(rc));
    return qp_fail(err, QP_E_FORMAT, "png: %s", spng_strerror(rc));
}

static enum qp_status decode_png(const uint8_t *buf, size_t n, struct qp_image *out, uint32_t *ow,
                                 uint32_t *oh, struct qp_err *err)
{
    struct spng_alloc hook = {png_malloc, png_realloc, png_calloc, qp_free};
    struct qp_image   img  = {0};
    enum qp_status    st   = QP_OK;
    png_oom                = false;
    spng_ctx *ctx          = spng_ctx_new2(&hook, 0);
    if (!ctx)
        return qp_fail(err, QP_E_NOMEM, "png: cannot create a decoder");

    struct spng_ihdr ihdr;
    size_t           size;
    int              rc = spng_set_image_limits(ctx, QP_IMAGE_MAX_SIDE, QP_IMAGE_MAX_SIDE);
    if (!rc)
        rc = spng_set_chunk_limits(ctx, 64u << 20, 64u << 20);
    if (!rc)
        rc = spng_set_png_buffer(ctx, buf, n);
    if (!rc)
        rc = spng_get_ihdr(ctx, &ihdr);
    if (rc) {
        st = png_fail(rc, err);
        goto out;
    }
    *ow = ihdr.width;
    *oh = ihdr.height;
    if (!out)
        goto out;
    st = alloc_rgb8("png", ihdr.width, ihdr.height, &img, err);
    if (st != QP_OK)
        goto out;
    rc = spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &size);
    if (!rc && size != (size_t)img.stride * (size_t)img.height)
        rc = SPNG_EINTERNAL;
    if (!rc)
        rc = spng_decode_image(ctx, img.data, size, SPNG_FMT_RGB8, 0);
    if (rc) {
        st = png_fail(rc, err);
        goto out;
    }
    *out     = img;
    img.data = NULL;
out:
    qp_free(img.data);
    spng_ctx_free(ctx);
    return st;
}

/* The format of buf by its magic bytes; IMG_FORMAT_COUNT (and err) for neither. */
static enum img_format format_of(const uint8_t *p, size_t n, struct qp_err *err)
{
    for (int f = 0; f < IMG_FORMAT_COUNT; f++)
        if (n >= formats[f].n_magic && memcmp(p, formats[f].magic, formats[f].n_magic) == 0)
            return (enum img_format)f;
    qp_fail(err, QP_E_FORMAT, "not a JPEG or PNG image (%zu bytes, starts %02x %02x)", n,
            n > 0 ? p[0] : 0, n > 1 ? p[1] : 0);
    return IMG_FORMAT_COUNT;
}

enum qp_status qp_image_decode(const void *buf, size_t n, struct qp_image *out, struct qp_err *err)
{
    uint32_t        w, h;
    enum img_format f = format_of(buf, n, err);
    return f == IMG_FORMAT_COUNT ? QP_E_FORMAT : formats[f].decode(buf, n, out, &w, &h, err);
}

enum qp_status qp_image_probe(const void *buf, size_t n, int32_t *width, int32_t *height, bool *png,
                              struct qp_err *err)
{
    uint32_t        w = 0, h = 0;
    enum img_format f = format_of(buf, n, err);
    if (f == IMG_FORMAT_COUNT)
        return QP_E_FORMAT;
    enum qp_status st = formats[f].decode(buf, n, NULL, &w, &h, err);
    if (st == QP_OK && (w > QP_IMAGE_MAX_SIDE || h > QP_IMAGE_MAX_SIDE || w == 0 || h == 0))
        st = qp_fail(err, QP_E_FORMAT, "%s: %ux%u image: each side must be 1..%d", formats[f].name,
                     (unsigned)w, (unsigned)h, QP_IMAGE_MAX_SIDE);
    if (st == QP_OK) {
        *width  = (int32_t)w;
        *height = (int32_t)h;
        *png    = f == IMG_PNG;
    }
    return st;
}

/* Whole file into a qp_alloc'ed buffer, refusing files over the cap. */
static enum qp_status read_file(const char *path, uint8_t **buf, size_t *n, struct qp_err *err)
{
    enum qp_status st   = QP_OK;
    uint8_t       *data = NULL;
    FILE          *f    = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));

    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = qp_fail(err, QP_E_IO, "%s: cannot size the file: %s", path, strerror(errno));
        goto out;
    }
    if ((unsigned long)size > QP_IMAGE_MAX_BYTES) {
        st = qp_fail(err, QP_E_FORMAT, "%s: %ld bytes, limit %zu", path, size, QP_IMAGE_MAX_BYTES);
        goto out;
    }
    data = qp_alloc((size_t)size);
    if (!data) {
        st = qp_fail(err, QP_E_NOMEM, "%s: %ld bytes to read the file", path, size);
        goto out;
    }
    if (fread(data, 1, (size_t)size, f) != (size_t)size) {
        st = qp_fail(err, QP_E_IO, "read %s: %s", path, ferror(f) ? strerror(errno) : "short");
        goto out;
    }
    *buf = data;
    *n   = (size_t)size;
    data = NULL;
out:
    qp_free(data);
    (void)fclose(f);
    return st;
}

enum qp_status qp_image_load(const char *path, struct qp_image *out, struct qp_err *err)
{
    uint8_t       *buf = NULL;
    size_t         n   = 0;
    enum qp_status st  = read_file(path, &buf, &n, err);
    if (st != QP_OK)
        return st;
    st = qp_image_decode(buf, n, out, err);
    if (st != QP_OK)
        qp_err_prefix(err, "%s", path);
    qp_free(buf);
    return st;
}

void qp_image_free(struct qp_image *img)
{
    if (!img)
        return;
    qp_free(img->data);
    *img = (struct qp_image){0};
}
