// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_qpe.c - fuzz target: the .qpe engine-file loader (engine/qpe/qpe.h)
 * as qp_engine_open and `qpercept inspect` run it on a file.
 *
 * A mutated file almost always fails the SHA-256 checksum first, which
 * would keep the fuzzer out of the parser. So, as tests/unit/test_qpe_hostile.c
 * does for its mutations, the target repairs what a damaged file cannot
 * fake by chance: the header's total size is set to the input's size and
 * the trailing checksum recomputed (inputs too short for a header are
 * loaded as they are; the checksum and size checks themselves are covered
 * by that unit test). Then qp_qpe_read_meta (inspect) and qp_qpe_load
 * (engine open) run on it. Oracle: a refusal names the file; an accepted
 * graph is freed entirely (LSan), and meta->report only by qp_qpe_meta_fini.
 */
#include "fuzz.h"

#include <string.h>

#include "core/sha256.h"
#include "graph/graph.h"
#include "qpe/qpe.h"

#define MAX_INPUT ((size_t)16 << 20) /* seeds are real engines of a few MiB */

static uint8_t buf[MAX_INPUT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    memcpy(buf, data, size);
    if (size >= 24 + QP_SHA256_BYTES && memcmp(buf, QP_QPE_MAGIC, 8) == 0) {
        for (int i = 0; i < 8; i++) /* u64 total at offset 16, little-endian */
            buf[16 + i] = (uint8_t)((uint64_t)size >> (8 * i));
        struct qp_sha256 h;
        qp_sha256_init(&h);
        qp_sha256_update(&h, buf, size - QP_SHA256_BYTES);
        qp_sha256_final(&h, buf + size - QP_SHA256_BYTES);
    }
    const char *path = fuzz_file(buf, size);

    struct qp_qpe_meta meta;
    struct qp_err      err = {{0}};
    enum qp_status     st  = qp_qpe_read_meta(path, &meta, &err);
    if (st == QP_OK)
        qp_qpe_meta_fini(&meta);
    else
        FUZZ_CHECK(strstr(err.msg, path), "read_meta: no file name in '%s'", err.msg);

    struct qp_graph g;
    qp_graph_init(&g, path);
    st = qp_qpe_load(path, NULL, &g, &meta, &err);
    if (st == QP_OK)
        qp_qpe_meta_fini(&meta);
    else
        FUZZ_CHECK(strstr(err.msg, path) && meta.report == NULL && meta.tuning == NULL,
                   "load: no file name in '%s', or meta left allocated", err.msg);
    qp_graph_fini(&g);
    return 0;
}
