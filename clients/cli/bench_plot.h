// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * bench_plot.h - `qpercept bench --plot OUT.svg`: one self-contained SVG
 * of a run (no scripts, no external references): the end-to-end latency
 * CDF (one line per stream and one for all, p50 / p99 marked) above a
 * latency-over-time strip (a point per received frame, lost frames marked
 * in a band at the top, one row per reason), a title with the setup.
 *
 * Drawn from the run's table (bench_stats.h: every scheduled frame's
 * capture and receive stamps, and the drop reason qp_bench_summarize
 * charged a lost frame to), allocated before the first frame; the plot
 * itself allocates nothing but the output file. Its size is bounded
 * whatever the run's length: CDF lines keep a point only where it moves
 * the line by half a pixel, and a strip of more than QP_BENCH_PLOT_ALL_MAX
 * frames is drawn as the minimum, median and maximum of each of
 * QP_BENCH_PLOT_BINS time bins (so the run's maximum is always drawn).
 */
#include "bench_report.h"
#include "bench_stats.h"
#include "qpercept/status.h"

#define QP_BENCH_PLOT_ALL_MAX 2000 /* received frames drawn one point each */
#define QP_BENCH_PLOT_BINS 300     /* time bins of a decimated strip and of the loss band */

/* Write the plot of the summarised run (qp_bench_summarize called) to
 * path. Uses b's sample buffer as scratch (the summary stays valid).
 * QP_E_IO naming --plot and the path when it cannot be written. */
enum qp_status qp_bench_plot_svg(const char *path, const struct qp_bench_report *r,
                                 struct qp_bench *b, const struct qp_bench_summary *s,
                                 struct qp_err *err);
