// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_image.c - fuzz target: the JPEG / PNG decoders (qp_image_decode,
 * engine/image/decode.c; libturbojpeg and libspng behind it) on a frame's
 * encoded bytes, as qperceptd's worker decodes an encoded Frame and
 * `qpercept replay` decodes a drive's files.
 *
 * The product accepts up to 16384 x 16384 pixels (768 MiB decoded); a
 * fuzzer cannot afford to decode that per input, so inputs whose header
 * declares more than 4 Mpixel are skipped (read with the libraries' own
 * header readers, before qp_image_decode). The size cap of the frame path
 * (QP_WIRE_MAX_DIM, the decoder's 1 GiB) stays the product's.
 * Oracle: a decoded image is RGB8, its size the header's, every byte
 * readable (ASan) and freed by qp_image_free; a refusal has a reason.
 */
#include "fuzz.h"

#include <spng.h>
#include <string.h>
#include <turbojpeg.h>

#include "qpercept/detect.h"

#define MAX_PIXELS ((uint64_t)1 << 22)

/* The declared size: true when it is known and small enough to decode here
 * (unknown: the decoder refuses it anyway, so it runs). */
static bool affordable(const uint8_t *data, size_t size)
{
    int w = 0, h = 0;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) {
        int      sub, cs;
        tjhandle tj = tjInitDecompress();
        FUZZ_CHECK(tj, "tjInitDecompress");
        if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &sub, &cs) != 0)
            w = h = 0;
        tjDestroy(tj);
    } else if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        w = (int)((uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | data[18] << 8 | data[19]);
        h = (int)((uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | data[22] << 8 | data[23]);
    }
    return w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h <= MAX_PIXELS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!affordable(data, size))
        return 0;
    struct qp_image img = {0};
    struct qp_err   err = {{0}};
    enum qp_status  st  = qp_image_decode(data, size, &img, &err);
    if (st != QP_OK) {
        FUZZ_CHECK(err.msg[0] && img.data == NULL, "refused without a reason, or left data");
        return 0;
    }
    FUZZ_CHECK(img.format == QP_PIXEL_RGB8 && img.width > 0 && img.height > 0 &&
                   img.stride == 3 * img.width && img.data,
               "decoded %dx%d stride %d format %d", (int)img.width, (int)img.height,
               (int)img.stride, (int)img.format);
    size_t           last = (size_t)img.stride * (size_t)img.height - 1;
    volatile uint8_t ends = img.data[0] ^ img.data[last];
    (void)ends;
    qp_image_free(&img);
    return 0;
}
