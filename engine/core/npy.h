// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * npy.h - read and write NumPy .npy files (format versions 1.0 and 2.0).
 *
 * The tensors that tests exchange with ONNX Runtime (tests/tools/ort_run.py)
 * travel as .npy files. Only what the engine has a dtype for is accepted:
 * little-endian <f4 <f2 <i8 <i4 and the one-byte |i1 |u1 |b1, C order.
 * The header is parsed strictly: a dict literal with exactly the keys
 * 'descr', 'fortran_order' and 'shape', nothing else; its length and the
 * rank are capped, and the data must be exactly as long as the shape says.
 * Big-endian data, Fortran order and other dtypes are QP_E_UNSUPPORTED;
 * anything malformed is QP_E_FORMAT. Hostile files never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "qpercept/engine.h" /* enum qp_dtype, QP_MAX_RANK */
#include "qpercept/status.h"

/* Longest header (the dict text) accepted; numpy's own reader stops at 10000. */
#define QP_NPY_MAX_HEADER_BYTES 65535
/* Largest data block accepted (4 GiB). */
#define QP_NPY_MAX_DATA_BYTES ((size_t)1 << 32)

/* An array read from a file. data is qp_alloc'd and owned by the struct. */
struct qp_npy {
    enum qp_dtype dtype;
    int32_t       rank; /* 0 for a scalar (one element) */
    int64_t       dims[QP_MAX_RANK];
    void         *data;
    size_t        nbytes;
};

/* Read path into *out (which needs no initialisation). On failure *out is
 * zeroed and nothing is left allocated. Statuses: QP_E_IO (open / read),
 * QP_E_FORMAT (bad magic, malformed header, truncated or over-long data),
 * QP_E_UNSUPPORTED (version, dtype, byte order, Fortran order),
 * QP_E_NOMEM. Errors name the file. */
enum qp_status qp_npy_read(const char *path, struct qp_npy *out, struct qp_err *err);

/* Write rank / dims / data (C order, qp_dtype_size(dtype) * prod(dims) bytes)
 * to path as a version 1.0 file numpy.load reads. QP_E_INVAL for a rank over
 * QP_MAX_RANK or a negative dim, QP_E_IO when the file cannot be written. */
enum qp_status qp_npy_write(const char *path, enum qp_dtype dtype, int32_t rank,
                            const int64_t *dims, const void *data, struct qp_err *err);

/* Release x->data and zero *x; NULL and zeroed structs are fine. */
void qp_npy_fini(struct qp_npy *x);
