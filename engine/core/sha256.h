// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * sha256.h - SHA-256 (FIPS 180-4) over memory and files.
 *
 * Used to recognise model files (the manifest's sha256 key) and to check
 * downloads. Streaming: init, update any number of times, final. The file
 * helper qp_sha256_file is declared in qpercept/detect.h.
 */
#include <stddef.h>
#include <stdint.h>

#define QP_SHA256_BYTES 32

struct qp_sha256 {
    uint32_t h[8];
    uint64_t n_bytes; /* message length so far */
    uint8_t  buf[64]; /* partial block */
    size_t   n_buf;   /* bytes in buf */
};

void qp_sha256_init(struct qp_sha256 *s);
void qp_sha256_update(struct qp_sha256 *s, const void *data, size_t n);
/* Finish and write the digest; s must be re-initialised before reuse. */
void qp_sha256_final(struct qp_sha256 *s, uint8_t out[QP_SHA256_BYTES]);
/* Lower-case hex of a digest into hex[65] (NUL-terminated). */
void qp_sha256_hex(const uint8_t digest[QP_SHA256_BYTES], char hex[65]);
