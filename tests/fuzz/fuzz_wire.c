// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_wire.c - fuzz target: the wire protocol's decoders and validation
 * (proto/wire.h) as the server and the client library run them on what
 * arrives from a socket.
 *
 * The first input byte picks the message type (Frame, Detections, control
 * request, control reply: qperceptd's ingest and control sockets, the
 * client's subscriber and ctl), the rest is the message. One decoder per
 * type lives for the whole run, as in the server (its arena is reset per
 * decode, so a stale pointer into it shows up under ASan), with a 1 MiB
 * size cap. Oracle: a message that decodes must re-encode, decode again and
 * re-encode to the same bytes (encode . decode is idempotent), and every
 * name table must answer for the reason given.
 */
#include "fuzz.h"

#include <string.h>

#include "proto/wire.h"

#define CAP ((size_t)1 << 20)

enum kind { K_FRAME, K_DETECTIONS, K_REQUEST, K_REPLY, K_COUNT };

/* decoded messages are large (Detections ~ 20 KiB): static, one at a time */
static union {
    struct qp_wire_frame           frame;
    struct qp_wire_detections      det;
    struct qp_wire_control_request req;
    struct qp_wire_control_reply   reply;
} msg[2];

static struct qp_wire_decoder *dec[K_COUNT], *redec;
static uint8_t                 enc[2][CAP + 4096];

static enum qp_status decode(enum kind k, struct qp_wire_decoder *d, const void *buf, size_t n,
                             int slot, enum qp_wire_reason *why, struct qp_err *err)
{
    switch (k) {
    case K_FRAME:
        return qp_wire_decode_frame(d, buf, n, &msg[slot].frame, why, err);
    case K_DETECTIONS:
        return qp_wire_decode_detections(d, buf, n, &msg[slot].det, why, err);
    case K_REQUEST:
        return qp_wire_decode_control_request(d, buf, n, &msg[slot].req, why, err);
    case K_REPLY:
        return qp_wire_decode_control_reply(d, buf, n, &msg[slot].reply, why, err);
    case K_COUNT:
        break;
    }
    abort();
}

static enum qp_status encode(enum kind k, int slot, uint8_t *out, size_t *len, struct qp_err *err)
{
    switch (k) {
    case K_FRAME:
        return qp_wire_encode_frame(&msg[slot].frame, out, sizeof enc[0], len, err);
    case K_DETECTIONS:
        return qp_wire_encode_detections(&msg[slot].det, out, sizeof enc[0], len, err);
    case K_REQUEST:
        return qp_wire_encode_control_request(&msg[slot].req, out, sizeof enc[0], len, err);
    case K_REPLY:
        return qp_wire_encode_control_reply(&msg[slot].reply, out, sizeof enc[0], len, err);
    case K_COUNT:
        break;
    }
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct qp_err err = {{0}};
    for (int k = 0; k < K_COUNT; k++)
        FUZZ_CHECK(qp_wire_decoder_new(CAP, 0, &dec[k], &err) == QP_OK, "%s", err.msg);
    FUZZ_CHECK(qp_wire_decoder_new(CAP + 4096, 0, &redec, &err) == QP_OK, "%s", err.msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum kind           k   = (enum kind)(data[0] % K_COUNT);
    enum qp_wire_reason why = QP_WIRE_REASON_COUNT;
    struct qp_err       err = {{0}};
    enum qp_status      st  = decode(k, dec[k], data + 1, size - 1, 0, &why, &err);
    FUZZ_CHECK(strcmp(qp_wire_reason_name(why), "unknown") != 0, "reason %d", (int)why);
    FUZZ_CHECK((st == QP_OK) == (why == QP_WIRE_REASON_OK), "status %d, reason %s", (int)st,
               qp_wire_reason_name(why));
    if (st != QP_OK) {
        FUZZ_CHECK(err.msg[0] != '\0', "a refused message without a reason");
        return 0;
    }
    if (k == K_FRAME) {
        const struct qp_wire_frame *f = &msg[0].frame;
        FUZZ_CHECK(qp_wire_validate_frame(f, NULL, NULL) == QP_OK, "decoded but invalid");
        (void)qp_wire_pixel_format_name(f->format);
        if (f->data == QP_WIRE_DATA_INLINE && f->pixels_bytes) { /* the span is readable */
            volatile uint8_t ends = f->pixels[0] ^ f->pixels[f->pixels_bytes - 1];
            (void)ends;
        }
    } else if (k == K_DETECTIONS) {
        FUZZ_CHECK(qp_wire_validate_detections(&msg[0].det, NULL, NULL) == QP_OK,
                   "decoded but invalid");
        (void)qp_wire_det_status_name(msg[0].det.status);
    }

    size_t n1 = 0, n2 = 0;
    FUZZ_CHECK(encode(k, 0, enc[0], &n1, &err) == QP_OK, "re-encode: %s", err.msg);
    FUZZ_CHECK(decode(k, redec, enc[0], n1, 1, &why, &err) == QP_OK, "re-decode: %s", err.msg);
    FUZZ_CHECK(encode(k, 1, enc[1], &n2, &err) == QP_OK, "re-encode 2: %s", err.msg);
    FUZZ_CHECK(n1 == n2 && memcmp(enc[0], enc[1], n1) == 0, "encodings differ (%zu, %zu bytes)", n1,
               n2);
    return 0;
}
