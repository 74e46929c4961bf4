// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * bench_recording.h - `qpercept bench --recording FILE.mcap`: the latency
 * of a run that already happened, from the Detections `qpercept record`
 * kept. Each Detections carries its frame's capture stamp and the server's
 * stage stamps, and its MCAP log time is when the recorder received it, so
 * the same stage split as a live `qpercept bench` (bench_stats.h) comes out
 * of the file: per stream and overall p50 / p90 / p99 / p99.9 / max from
 * capture to published, the stages, mean batch size, and what the server
 * dropped meanwhile (the growth of each stream's drop counters from its
 * first to its last message, by reason) besides the seq gaps.
 *
 * Unlike a live bench it did not send the frames: it cannot tell frames
 * that never reached the server from frames the recorder missed (both are
 * seq gaps), and the capture stamp is whatever the camera (or replay)
 * wrote. Only Detections channels (schema qpercept.v1.Detections) are read.
 */
#include <stdio.h>

#include "qpercept/status.h"

/* Read path and print the summary on out. QP_E_INVAL / QP_E_FORMAT / QP_E_IO
 * naming the file (not MCAP, unreadable, a Detections that does not
 * decode, no Detections at all); QP_E_NOMEM. */
enum qp_status qp_bench_recording(const char *path, FILE *out, struct qp_err *err);
