// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * replay_mcap.h - an MCAP recording as a replay source (replay_source.h):
 * which channels play, as which streams, and each frame's bytes read from
 * the file while playing. replay_mcap.c says how (two passes, memory bound).
 *
 * Playable channels, one table row each in replay_mcap.c:
 *   qpercept.v1.Frame (protobuf): stream = the Frame header's, inline pixels
 *     of any format (frames with a shared-memory reference are skipped and
 *     counted);
 *   foxglove.CompressedImage (protobuf): format jpeg / png;
 *   foxglove.RawImage (protobuf): encoding rgb8 / bgr8 / mono8, step = stride.
 * A foxglove channel's stream is its topic made a stream name (1..63 of
 * A-Z a-z 0-9 _ . -: other bytes become '_', the leading '/' goes), made
 * unique with _2, _3, ... Other channels are ignored (listed). In a file
 * with Frame channels, foxglove channels under /qpercept/image/ (the copies
 * `qpercept record --foxglove` writes of the same frames) play only when
 * --topic names them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qpercept/client.h"
#include "qpercept/status.h"
#include "replay_source.h"

enum qp_replay_channel_kind {
    QP_REPLAY_CHANNEL_FRAME = 0,   /* qpercept.v1.Frame, protobuf */
    QP_REPLAY_CHANNEL_COMPRESSED,  /* foxglove.CompressedImage, protobuf */
    QP_REPLAY_CHANNEL_RAW,         /* foxglove.RawImage, protobuf */
    QP_REPLAY_CHANNEL_UNSUPPORTED, /* images in an encoding / format not sent: skipped (why) */
    QP_REPLAY_CHANNEL_OTHER,       /* not images (detections, ...): ignored */
    QP_REPLAY_CHANNEL_UNSELECTED,  /* playable, not named by --topic */
    QP_REPLAY_CHANNEL_KIND_COUNT
};

/* "qpercept frames", "foxglove CompressedImage", ... Never NULL. */
const char *qp_replay_channel_kind_name(enum qp_replay_channel_kind k);

struct qp_replay_channel {
    uint16_t                    id;
    char                        topic[128];
    char                        schema[64];   /* schema name; "" schemaless */
    char                        encoding[32]; /* message encoding */
    enum qp_replay_channel_kind kind;
    char                        why[96];    /* UNSUPPORTED: "encoding yuyv", "format webp" */
    int32_t                     stream;     /* COMPRESSED / RAW: its stream; else -1 */
    int64_t                     n_messages; /* in what was read of the file */
};

/* What the first pass found; owned by the source. */
struct qp_replay_mcap_info {
    const char *path;
    bool        truncated; /* no summary: a scan recovered what is complete */
    uint64_t    recovered_messages, recovered_bytes, file_bytes;
    int64_t     n_messages;  /* in the file (every channel) */
    int64_t     n_shm;       /* Frame messages with shared-memory pixels: skipped */
    int64_t     n_reordered; /* logged before a message before them: played right after it */
    int32_t     n_channels;
    const struct qp_replay_channel *channels; /* [n_channels], by id */
    int64_t                         stream_frames[QP_REPLAY_MAX_STREAMS];
    uint32_t stream_formats[QP_REPLAY_MAX_STREAMS]; /* bit 1 << qp_frame_format per format met */
    size_t   max_bytes;                             /* the largest frame as stored */
    size_t   max_rgb_bytes; /* the largest frame as RGB8 (--raw of JPEG / PNG) */
};

/* One frame's bytes, as the transport sends them. bytes are borrowed from
 * the reader (or its decoder) until the next qp_replay_mcap_read. */
struct qp_replay_payload {
    const uint8_t       *bytes;
    size_t               n;
    uint32_t             width, height, stride; /* stride 0 for JPEG / PNG */
    enum qp_frame_format format;
};

/* Is path an MCAP file: a name ending .mcap, or the MCAP magic at its
 * start? */
bool qp_replay_is_mcap(const char *path);

/* Open the recording at path into *s (zeroed first; s->mcap is then set):
 * read every message once to list the playable frames (stream, time,
 * message number; no pixels kept). opts->topics selects channels (a topic
 * no channel has: QP_E_INVAL). QP_E_IO, QP_E_FORMAT naming the file and
 * what is wrong (not MCAP, a bad chunk or record, a message that does not
 * decode, naming its topic and log time), QP_E_INVAL (nothing playable),
 * QP_E_NOMEM. On failure nothing stays allocated. */
enum qp_status qp_replay_mcap_open(const char *path, const struct qp_replay_source_opts *opts,
                                   struct qp_replay_source *s, struct qp_err *err);

/* Free what qp_replay_mcap_open added to a source; NULL is a no-op. */
void qp_replay_mcap_free(struct qp_replay_mcap *m);

const struct qp_replay_mcap_info *qp_replay_mcap_info(const struct qp_replay_mcap *m);

/* Frame j of s (an MCAP source): read on from where the last read stopped,
 * from the file's start when frame j lies behind it (a loop, a seek back).
 * Allocates nothing. QP_E_FORMAT / QP_E_IO when the file no longer reads
 * as it did at open. */
enum qp_status qp_replay_mcap_read(struct qp_replay_source *s, int64_t j,
                                   struct qp_replay_payload *out, struct qp_err *err);

/* The startup summary: the truncation line (if so), one line per stream
 * (frames, formats), the skipped and ignored channels. */
void qp_replay_mcap_print(const struct qp_replay_source *s, FILE *out);
