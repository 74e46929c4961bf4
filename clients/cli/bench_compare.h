// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * bench_compare.h - `qpercept bench --compare A.json B.json`: two reports
 * written by `qpercept bench --json`, side by side with a b/a ratio column
 * (overall and per-stream percentiles, throughput, losses by reason, the
 * stage split, the server overhead), after a line that says whether the
 * two runs had the same setup (streams, rate, duration, warm-up, size,
 * format, transport, shared memory, alignment) and, if not, how they differ.
 *
 * Reading only: the reports are parsed with core/json.h and every value
 * the comparison prints is looked up and type-checked before anything is
 * printed, so a malformed or foreign file is one error naming the file and
 * the key ("B.json: key 'total.latency_ms.p99': missing"), never half a
 * table.
 */
#include <stdio.h>

#include "qpercept/status.h"

/* Print the comparison of the reports at path_a and path_b on out.
 * QP_E_IO when a file cannot be read; QP_E_FORMAT when one is not JSON (the
 * message names the file, line and column), not a `qpercept bench` report,
 * or lacks a key or has one of the wrong type (the message names the file
 * and the key's dotted path). Nothing is printed on failure. */
enum qp_status qp_bench_compare(const char *path_a, const char *path_b, FILE *out,
                                struct qp_err *err);
