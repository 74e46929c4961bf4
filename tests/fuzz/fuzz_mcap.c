// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_mcap.c - fuzz target: the MCAP reader (clients/mcap/mcap.h) on a
 * recording, as `qpercept replay` and `qpercept bench --recording` read one:
 * open (Header, then the summary or the scan), every message in file order
 * with its channel and schema, a rewind and a second pass; then the same
 * with ignore_summary (the path for a damaged summary).
 *
 * Work is bounded by max_record_bytes = 16 MiB (the product's default is
 * 256 MiB: a hostile chunk may claim that much uncompressed, which is
 * refused or allocated, never more) and by a cap on the iterations.
 * Oracle: every message returned has a known channel, data inside the
 * reader's buffers, and both passes return the same count; a refused file
 * or chunk has a reason.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "clients/mcap/mcap.h"

#define MAX_CALLS 100000

/* Messages returned by one pass over r. */
static uint64_t pass(struct qp_mcap_reader *r)
{
    uint64_t n = 0;
    for (int32_t i = 0; i < MAX_CALLS; i++) {
        struct qp_mcap_message m;
        bool                   got = false;
        struct qp_err          err = {{0}};
        enum qp_status         st  = qp_mcap_reader_next(r, &m, &got, &err);
        if (st != QP_OK) {
            FUZZ_CHECK(err.msg[0], "next refused without a reason (status %d)", (int)st);
            struct qp_mcap_read_stats rs;
            qp_mcap_reader_stats(r, &rs);
            if (rs.end != QP_MCAP_END_NONE) /* a malformed top-level record: sticky */
                break;
            continue; /* a bad chunk: the reader is past it */
        }
        if (!got)
            break;
        n++;
        const struct qp_mcap_channel *c = qp_mcap_reader_channel(r, m.channel_id);
        FUZZ_CHECK(c && c->topic, "message on unknown channel %u", (unsigned)m.channel_id);
        if (c->schema_id)
            (void)qp_mcap_reader_schema(r, c->schema_id);
        if (m.len) { /* the span is readable */
            volatile uint8_t ends = m.data[0] ^ m.data[m.len - 1];
            (void)ends;
        }
    }
    return n;
}

static void read_all(const char *path, bool ignore_summary)
{
    struct qp_mcap_reader_opts o   = {.max_record_bytes = (size_t)16 << 20,
                                      .ignore_summary   = ignore_summary};
    struct qp_mcap_reader     *r   = NULL;
    struct qp_err              err = {{0}};
    enum qp_status             st  = qp_mcap_reader_open(path, &o, &r, &err);
    if (st != QP_OK) {
        FUZZ_CHECK(r == NULL && err.msg[0], "open failed (%d) without a reason", (int)st);
        return;
    }
    const struct qp_mcap_info *info = qp_mcap_reader_info(r);
    FUZZ_CHECK(info && info->profile && info->library, "no info");
    for (size_t i = 0; i < info->n_chunks; i++)
        (void)info->chunks[i].compression;
    for (size_t i = 0; i < qp_mcap_reader_n_channels(r); i++)
        FUZZ_CHECK(qp_mcap_reader_channel_at(r, i), "channel %zu", i);
    for (size_t i = 0; i < qp_mcap_reader_n_schemas(r); i++)
        FUZZ_CHECK(qp_mcap_reader_schema_at(r, i), "schema %zu", i);
    (void)qp_mcap_end_name(info->end);
    uint64_t first = pass(r);
    qp_mcap_reader_rewind(r);
    uint64_t second = pass(r);
    FUZZ_CHECK(first == second, "%llu messages, then %llu after a rewind",
               (unsigned long long)first, (unsigned long long)second);
    qp_mcap_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    read_all(path, false);
    read_all(path, true);
    return 0;
}
