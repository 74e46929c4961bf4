// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * mcap_walk.h - walk a recording message by message in the e2e suites that
 * read back what `qpercept record` wrote (test_record, test_roundtrip): each
 * read asserted, fatally, to succeed and to name a known channel.
 */
#include <stdbool.h>
#include <stdio.h>

#include "clients/mcap/mcap.h"
#include "qp_test.h"

/* The next message of r into *m and its channel; NULL at the end of the
 * recording. A read error or a channel r does not know fails the test. */
static inline const struct qp_mcap_channel *mcap_walk_next(struct qp_mcap_reader  *r,
                                                           struct qp_mcap_message *m)
{
    struct qp_err  err = {{0}};
    bool           got = false;
    enum qp_status st  = qp_mcap_reader_next(r, m, &got, &err);
    if (st != QP_OK)
        fprintf(stderr, "reading the recording: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    if (!got)
        return NULL;
    const struct qp_mcap_channel *ch = qp_mcap_reader_channel(r, m->channel_id);
    CU_ASSERT_FATAL(ch != NULL);
    return ch;
}
