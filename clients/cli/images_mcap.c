// SPDX-License-Identifier: Apache-2.0
/*
 * images_mcap.c - an MCAP recording as an image set (cli.h
 * qp_cli_images_list): `qpercept build --calib drive.mcap`, `eval --images
 * drive.mcap`, calibrating and evaluating on the roads the car recorded.
 *
 * The recording's playable frames (replay_mcap.h: every qpercept.v1.Frame
 * and Foxglove image channel, all streams, in time order) are chosen as
 * for any image set (the first max, or spread evenly over the drive), then
 * each chosen frame is written into a fresh directory under $TMPDIR (/tmp)
 * as an image file that the image-set readers take like any other: JPEG and
 * PNG frames byte for byte as recorded, raw frames (RGB8, BGR8, GRAY8,
 * NV12) converted to RGB8 (NV12 as the detector converts it, yuv.h) and
 * PNG-encoded, lossless. Names are "<index>_<stream>.<ext>", the index the
 * frame's place in the recording, so they sort in time order and a report
 * names the camera. qp_cli_images_free removes the directory.
 *
 * Errors name the option, the recording and the frame (number and stream).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "image/yuv.h"
#include "replay_mcap.h"
#include "replay_source.h"

/* p (w x h, stride bytes a row, in format f) as tightly packed RGB8 in rgb. */
static void to_rgb(const struct qp_replay_payload *p, uint8_t *rgb)
{
    for (uint32_t y = 0; y < p->height; y++)
        for (uint32_t x = 0; x < p->width; x++) {
            const uint8_t *s = p->bytes + (size_t)y * p->stride;
            uint8_t       *d = rgb + ((size_t)y * p->width + x) * 3;
            switch (p->format) {
            case QP_FRAME_FORMAT_BGR8:
                d[0] = s[3 * x + 2], d[1] = s[3 * x + 1], d[2] = s[3 * x];
                break;
            case QP_FRAME_FORMAT_GRAY8:
                d[0] = d[1] = d[2] = s[x];
                break;
            case QP_FRAME_FORMAT_NV12:
                qp_nv12_rgb(p->bytes, (int32_t)p->stride, (int32_t)p->height, (int32_t)x,
                            (int32_t)y, d);
                break;
            default: /* RGB8 */
                memcpy(d, s + 3 * x, 3);
                break;
            }
        }
}

/* A raw frame as a PNG file at path. */
static enum qp_status write_png(const char *path, const struct qp_replay_payload *p,
                                struct qp_err *err)
{
    size_t         len = (size_t)p->width * p->height * 3;
    uint8_t       *rgb = qp_alloc(len);
    spng_ctx      *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    FILE          *f   = NULL;
    enum qp_status st  = QP_OK;
    if (!rgb || !ctx) {
        st = qp_fail(err, QP_E_NOMEM, "out of memory for a %ux%u frame", p->width, p->height);
        goto out;
    }
    to_rgb(p, rgb);
    if (!(f = fopen(path, "wb"))) {
        st = qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    struct spng_ihdr ihdr = {p->width, p->height, 8, SPNG_COLOR_TYPE_TRUECOLOR, 0, 0, 0};
    int              rc   = spng_set_png_file(ctx, f);
    if (!rc)
        rc = spng_set_ihdr(ctx, &ihdr);
    if (!rc)
        rc = spng_encode_image(ctx, rgb, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    if (rc)
        st = qp_fail(err, QP_E_IO, "%s: png: %s", path, spng_strerror(rc));
out:
    spng_ctx_free(ctx); /* before fclose: it may still write */
    if (f && fclose(f) != 0 && st == QP_OK)
        st = qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    qp_free(rgb);
    return st;
}

/* bytes as the file path. */
static enum qp_status write_bytes(const char *path, const uint8_t *bytes, size_t n,
                                  struct qp_err *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    bool ok = fwrite(bytes, 1, n, f) == n;
    if (fclose(f) != 0 || !ok)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    return QP_OK;
}

/* Frame j of s into l's directory, its path added to l. */
static enum qp_status extract(struct qp_replay_source *s, int64_t j, struct qp_cli_images *l,
                              struct qp_err *err)
{
    struct qp_replay_payload p;
    enum qp_status           st = qp_replay_mcap_read(s, j, &p, err);
    if (st != QP_OK)
        return st;
    bool coded = p.format == QP_FRAME_FORMAT_JPEG || p.format == QP_FRAME_FORMAT_PNG;
    char name[QP_REPLAY_NAME_MAX + 32];
    snprintf(name, sizeof name, "%06lld_%s.%s", (long long)j, s->names[s->frames[j].stream],
             p.format == QP_FRAME_FORMAT_JPEG ? "jpg" : "png");
    size_t n    = strlen(l->tmpdir) + strlen(name) + 2;
    char  *path = qp_alloc(n);
    if (!path)
        return qp_fail(err, QP_E_NOMEM, "out of memory listing images");
    snprintf(path, n, "%s/%s", l->tmpdir, name);
    st = coded ? write_bytes(path, p.bytes, p.n, err) : write_png(path, &p, err);
    if (st == QP_OK)
        st = qp_cli_images_add(l, path, err);
    else
        (void)unlink(path);
    qp_free(path);
    if (st != QP_OK)
        qp_err_prefix(err, "frame %lld of %s", (long long)j, s->names[s->frames[j].stream]);
    return st;
}

enum qp_status qp_cli_images_mcap(const char *path, int32_t max, bool spread,
                                  struct qp_cli_images *l, struct qp_err *err)
{
    struct qp_replay_source      s;
    struct qp_replay_source_opts so = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    enum qp_status               st = qp_replay_source_open(path, &so, &s, err);
    if (st != QP_OK)
        return st;
    const char *tmp = getenv("TMPDIR");
    tmp             = tmp && *tmp ? tmp : "/tmp";
    size_t n        = strlen(tmp) + 32;
    if (!(l->tmpdir = qp_alloc(n))) {
        qp_replay_source_free(&s);
        return qp_fail(err, QP_E_NOMEM, "out of memory listing images");
    }
    snprintf(l->tmpdir, n, "%s/qpercept_mcap_XXXXXX", tmp);
    if (!mkdtemp(l->tmpdir)) {
        st = qp_fail(err, QP_E_IO, "%s: %s", l->tmpdir, strerror(errno));
        qp_free(l->tmpdir);
        l->tmpdir = NULL;
        qp_replay_source_free(&s);
        return st;
    }
    int64_t k = max > 0 && max < s.n_frames ? max : s.n_frames;
    /* in file order: the reader goes forward through the recording once */
    for (int64_t i = 0; i < k && st == QP_OK; i++)
        st = extract(&s, qp_cli_images_pick(i, s.n_frames, k, spread), l, err);
    if (st != QP_OK)
        qp_err_prefix(err, "%s", path);
    qp_replay_source_free(&s);
    return st;
}
