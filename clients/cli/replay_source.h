// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * replay_source.h - what `qpercept replay` plays: a recorded drive found on
 * disk, as streams of timed frames (image files). No sockets, no decoding:
 * cmd_replay.c sends what this lists; tests/unit/test_replay_source.c
 * checks every layout on made-up trees.
 *
 * Layouts, tried in this order on a directory:
 *   multi-camera set: image names that carry camera and capture time the
 *     nuScenes way, "<scene>__<CAMERA>__<microseconds>.<ext>": one stream
 *     per CAMERA (its name lower-cased: cam_front), each frame at its own
 *     capture time. Files of several scenes (logs) may lie together: one
 *     scene is played, the one named by opts.scene, else the one with the
 *     most frames (ties: the first by name); the others are counted skipped.
 *   KITTI raw: subdirectories image_0N/ with data/ (the images) and
 *     timestamps.txt (one "YYYY-MM-DD HH:MM:SS.fffffffff" a line, one per
 *     image in name order): one stream per image_0N (its name).
 *   image folder: the directory's images (or those of its frames/
 *     subdirectory), sorted by name, one stream (opts.stream, default
 *     "cam0"): frame i at i / opts.fps s, or at the times of
 *     opts.timestamps (one a line: seconds, or the KITTI format).
 * A file instead of a directory: an MCAP recording (a name ending .mcap, or
 * the MCAP magic), its image channels one stream each (replay_mcap.h);
 * its frames stay in file order (times made monotonic there), are not
 * files (path NULL) and are read while playing (qp_replay_mcap_read).
 * Images: .jpg / .jpeg / .png (case-insensitive). Times are kept relative
 * to the source's first frame (t_ns = 0); frames are sorted by time, then
 * stream. Errors name the file and line.
 */
#include <stdbool.h>
#include <stdint.h>

#include "qpercept/status.h"

#define QP_REPLAY_MAX_STREAMS 64
#define QP_REPLAY_NAME_MAX 64

enum qp_replay_layout {
    QP_REPLAY_LAYOUT_MULTI_CAMERA = 0,
    QP_REPLAY_LAYOUT_KITTI_RAW,
    QP_REPLAY_LAYOUT_FOLDER,
    QP_REPLAY_LAYOUT_MCAP,
    QP_REPLAY_LAYOUT_COUNT
};

/* "multi-camera set", "KITTI raw", "image folder", "MCAP recording";
 * "unknown". Never NULL. */
const char *qp_replay_layout_name(enum qp_replay_layout l);

struct qp_replay_frame {
    int32_t stream;
    int64_t t_ns; /* since the source's first frame */
    char   *path; /* the image file; NULL for MCAP */
    int64_t msg;  /* MCAP: the message's number in file order (from 0); else -1 */
};

struct qp_replay_source_opts {
    double             fps;        /* image folder without timestamps: > 0 (default 25) */
    const char        *timestamps; /* image folder: a timestamps file; NULL: fps */
    const char        *scene;      /* multi-camera set: the scene to play; NULL: the largest */
    const char        *stream;     /* image folder: the stream's name; NULL: "cam0" */
    const char *const *topics;     /* MCAP: the channels to play; n_topics 0: every playable one */
    int32_t            n_topics;
};

#define QP_REPLAY_SOURCE_OPTS_DEFAULT                                                              \
    {                                                                                              \
        .fps = 25.0, .timestamps = NULL, .scene = NULL, .stream = NULL, .topics = NULL,            \
        .n_topics = 0                                                                              \
    }

struct qp_replay_mcap; /* replay_mcap.h */

struct qp_replay_source {
    enum qp_replay_layout   layout;
    int32_t                 n_streams;
    char                    names[QP_REPLAY_MAX_STREAMS][QP_REPLAY_NAME_MAX];
    int64_t                 n_frames;
    struct qp_replay_frame *frames;      /* [n_frames], by t_ns then stream; owned */
    int64_t                 duration_ns; /* t_ns of the last frame */
    int64_t                 n_skipped;   /* multi-camera: frames of other scenes */
    char                    scene[QP_REPLAY_NAME_MAX * 2]; /* multi-camera: the scene played */
    struct qp_replay_mcap  *mcap; /* MCAP: the open recording (replay_mcap.h); else NULL */
};

/* List the drive at dir (or the MCAP file: qp_replay_mcap_open) into *out
 * (zeroed first). QP_E_INVAL when dir
 * holds none of the layouts (naming what was looked for) or a timestamps
 * file does not fit (file:line); QP_E_IO for unreadable paths; QP_E_NOMEM.
 * On failure nothing stays allocated. */
enum qp_status qp_replay_source_open(const char *dir, const struct qp_replay_source_opts *o,
                                     struct qp_replay_source *out, struct qp_err *err);

void qp_replay_source_free(struct qp_replay_source *s); /* zeroed: a no-op */

/* The frames [*lo, *hi) of s whose times lie in [start_s, end_s] (end_s < 0:
 * to the end); *lo == *hi when none does. */
void qp_replay_source_span(const struct qp_replay_source *s, double start_s, double end_s,
                           int64_t *lo, int64_t *hi);

/* One timestamp line: seconds ("12.5") or KITTI ("2011-09-26
 * 13:02:25.964389445", UTC) into *ns; false when it is neither. */
bool qp_replay_parse_time(const char *line, int64_t *ns);
