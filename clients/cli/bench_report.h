// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * bench_report.h - what `qpercept bench` tells the user: the text report on
 * stdout (a per-stream table, the overall line, the stage table, server
 * overhead, client-side counters) and the same numbers as one JSON object.
 *
 * Formatting only: the numbers come from bench_stats.h, the run's
 * description from cmd_bench.c. The JSON holds the options as the user
 * gave them and host facts (cores, kernel, CPU model), never another path
 * of this machine; every value is a plain number, string, boolean or null.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_stats.h"
#include "qpercept/client.h"
#include "qpercept/status.h"

/* The run, as the report describes it. Strings are borrowed; NULL = not given. */
struct qp_bench_report {
    const char *endpoint, *frames_endpoint, *prefix, *images, *label;
    const char *format;    /* "bgr8", "rgb8" */
    const char *transport; /* "push", "pub" */
    int         width, height;
    int         n_images;          /* distinct frames sent round-robin (synthetic or loaded) */
    uint32_t    shm_slots;         /* 0: pixels inline */
    const char *senders;           /* "stream": a thread per stream; "one": one for all */
    const char *model, *engine_id; /* what the server said it runs; NULL: no result */
    /* client-side counters over the whole run, warm-up included */
    struct qp_pub_stats pub; /* summed over the streams (subscribed: all were) */
    struct qp_sub_stats sub;
};

/* Print the report on f. */
void qp_bench_report_print(FILE *f, const struct qp_bench_report *r, const struct qp_bench *b,
                           const struct qp_bench_summary *s);

/* Write the report as one JSON object to path. QP_E_IO naming the path. */
enum qp_status qp_bench_report_json(const char *path, const struct qp_bench_report *r,
                                    const struct qp_bench *b, const struct qp_bench_summary *s,
                                    struct qp_err *err);
