// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * batcher.h - qperceptd's cross-camera batching policy as pure logic: which
 * waiting frames go into the engine's next batch, and when.
 *
 * No threads, sockets, clocks or payloads inside. The caller passes "now"
 * (nanoseconds, the clock of the frames' capture stamps: CLOCK_REALTIME) to
 * every call, so a schedule replays identically in tests. A "now" earlier
 * than one already seen is taken as the latest one seen (a stepped realtime
 * clock must not make waited times negative). A capture stamp later than
 * now counts as age 0.
 *
 * Frames. Each stream (index 0 .. n_streams-1; names are the caller's) has
 * one slot holding its newest unprocessed frame, identified by its seq. The
 * batcher holds no pixels: the caller keeps the payload of each stream's
 * waiting frame and moves it, or releases it, when a call says so. Since a
 * stream has at most one waiting frame, the stream index alone names it.
 *
 * qp_batcher_offer(), in this order:
 *   1. the frame is counted received;
 *   2. out_of_order: seq not above, or capture stamp below, those of the
 *      last in-order frame of the stream: refused, the waiting frame stays.
 *      Except a restart: seq below and capture stamp above (a camera that
 *      numbers from 0 again after a restart while its clock went on) is
 *      taken and counted (restarts); the order goes on from it. The history
 *      is also forgotten once no in-order frame came for idle_ms (a camera
 *      whose clock went back as well);
 *   3. too_old: now - capture > max_age_ms: dropped, the waiting frame stays
 *      (it is older still: qp_batcher_poll() expires it);
 *   4. otherwise the frame waits; a frame already waiting is dropped as
 *      replaced and its seq is reported.
 *
 * Active streams. A stream is active while it has a waiting frame or queued
 * one (step 4) less than idle_ms ago; idle_ms = 0 means
 * QP_BATCHER_IDLE_FACTOR x max_age_ms. A stream that never queued a frame
 * is not active, so at start-up nobody waits for a camera not yet heard
 * from, and a camera whose frames are all stale or refused holds no batch.
 *
 * qp_batcher_poll(), in this order:
 *   1. expire: every waiting frame with now - capture > max_age_ms is
 *      dropped too_old and listed in the batch's expired[] (freshness beats
 *      completeness);
 *   2. trigger, the first that holds: SPLIT, a frame left over by the last
 *      batch's split waits; COMPLETE, every active stream has a waiting
 *      frame; DELAY, some stream has had a frame waiting for at least
 *      max_delay_us, counted from the offer that filled its empty slot (a
 *      replacement does not restart it, or a camera sending faster than
 *      max_delay_us would never be batched while another one is silent;
 *      0: any waiting frame is due at once). None: no batch;
 *   3. select: all waiting frames; with sync_window_us > 0 only those
 *      captured within the window after the oldest waiting capture stamp
 *      (ties on the stamp: the lowest stream index is "oldest"). That is the
 *      largest set containing the oldest frame whose stamps all lie within
 *      the window of each other; the others keep waiting;
 *   4. split: more selected frames than the largest bucket: the oldest
 *      (capture stamp, then stream index) fill the batch, the rest stay
 *      waiting and make the next poll due at once (trigger SPLIT, the same
 *      rules select again); a leftover replaced by a newer frame is not due;
 *   5. the batch: its frames in stream order, the smallest bucket that
 *      holds them.
 *
 * Counters, per stream: received == batched + dropped (every reason) +
 * waiting (0 or 1), after every call.
 *
 * Cost: O(n_streams) per call, except a split, which sorts the selected
 * frames (at most QP_BATCHER_MAX_STREAMS). qp_batcher_new() makes the one
 * allocation; nothing else allocates. Not thread-safe: one owner thread.
 *
 * Tested by tests/unit/test_batcher.c.
 */
#include <stdbool.h>
#include <stdint.h>

#include "qpercept/status.h"

#define QP_BATCHER_MAX_STREAMS 64         /* = QP_CONFIG_MAX_STREAMS */
#define QP_BATCHER_MAX_BUCKETS 16         /* = QP_CONFIG_LIST_MAX */
#define QP_BATCHER_MAX_BATCH 64           /* largest bucket, = QP_CONFIG_MAX_BATCH */
#define QP_BATCHER_IDLE_FACTOR 4          /* default idle_ms = 4 x max_age_ms */
#define QP_BATCHER_MAX_AGE_MS 3600000u    /* bounds of the options, far above any */
#define QP_BATCHER_MAX_IDLE_MS 14400000u  /* sensible value; they keep every sum */
#define QP_BATCHER_MAX_DELAY_US 60000000u /* of nanoseconds far from overflow */
#define QP_BATCHER_MAX_WINDOW_US 60000000u

/* Why a frame left without being batched; the names are counter labels. */
enum qp_batcher_drop {
    QP_BATCHER_DROP_REPLACED = 0, /* a newer frame of the stream took its slot */
    QP_BATCHER_DROP_TOO_OLD,      /* older than max_age_ms at offer or batch time */
    QP_BATCHER_DROP_OUT_OF_ORDER, /* seq or capture stamp went backwards */
    QP_BATCHER_DROP_COUNT
};

/* What qp_batcher_offer() did with the frame. */
enum qp_batcher_verdict {
    QP_BATCHER_VERDICT_QUEUED = 0,   /* waits; the slot was empty */
    QP_BATCHER_VERDICT_REPLACED,     /* waits; the frame it replaced was dropped */
    QP_BATCHER_VERDICT_TOO_OLD,      /* dropped; the slot is unchanged */
    QP_BATCHER_VERDICT_OUT_OF_ORDER, /* refused; the slot is unchanged */
    QP_BATCHER_VERDICT_COUNT
};

/* Why a batch formed (see the poll rules above). */
enum qp_batcher_trigger {
    QP_BATCHER_TRIGGER_SPLIT = 0,
    QP_BATCHER_TRIGGER_COMPLETE,
    QP_BATCHER_TRIGGER_DELAY,
    QP_BATCHER_TRIGGER_COUNT
};

struct qp_batcher_opts {
    int32_t  n_streams;                       /* 1 .. QP_BATCHER_MAX_STREAMS */
    uint32_t max_delay_us;                    /* 0 .. QP_BATCHER_MAX_DELAY_US */
    uint32_t max_age_ms;                      /* 1 .. QP_BATCHER_MAX_AGE_MS */
    uint32_t sync_window_us;                  /* 0 = off; else .. QP_BATCHER_MAX_WINDOW_US */
    uint32_t idle_ms;                         /* 0 = QP_BATCHER_IDLE_FACTOR x max_age_ms */
    uint32_t n_buckets;                       /* 1 .. QP_BATCHER_MAX_BUCKETS */
    uint32_t buckets[QP_BATCHER_MAX_BUCKETS]; /* strictly ascending, 1 .. QP_BATCHER_MAX_BATCH */
};

/* One frame's identity and stamps (ns on the caller's clock). */
struct qp_batch_frame {
    int32_t  stream;
    uint64_t seq;
    uint64_t capture_ns;
    uint64_t offered_ns; /* "now" of the offer that queued it */
};

/* What one poll produced: a batch (n_frames > 0) and the frames it expired
 * (n_expired, whether or not a batch formed: release their payloads).
 * Caller-owned, fixed size. */
struct qp_batch {
    int32_t                 n_frames;
    uint32_t                bucket; /* engine batch size to run: >= n_frames; 0 = no batch */
    enum qp_batcher_trigger trigger;
    uint64_t                formed_ns;                      /* the poll's now */
    struct qp_batch_frame   frames[QP_BATCHER_MAX_STREAMS]; /* stream order */
    int32_t                 n_expired;
    struct qp_batch_frame   expired[QP_BATCHER_MAX_STREAMS]; /* dropped too_old, stream order */
};

struct qp_batcher_counters {
    uint64_t received; /* every offer, refused ones included */
    uint64_t batched;
    uint64_t dropped[QP_BATCHER_DROP_COUNT];
    uint64_t waiting;  /* 0 or 1 */
    uint64_t restarts; /* seq fell while the capture stamp rose (rule 2) */
};

struct qp_batcher; /* opaque */

/* Check o and allocate a batcher: the only allocation it ever makes.
 * QP_E_INVAL naming the option and its bounds; QP_E_NOMEM. */
enum qp_status qp_batcher_new(const struct qp_batcher_opts *o, struct qp_batcher **out,
                              struct qp_err *err);

/* NULL is a no-op. Waiting frames are forgotten: release their payloads first. */
void qp_batcher_free(struct qp_batcher *b);

/* Offer stream's newest frame (rules above). *replaced_seq (may be NULL)
 * is set only for QP_BATCHER_VERDICT_REPLACED. stream out of range is the
 * caller's bug (abort). */
enum qp_batcher_verdict qp_batcher_offer(struct qp_batcher *b, int32_t stream, uint64_t capture_ns,
                                         uint64_t now_ns, uint64_t seq, uint64_t *replaced_seq);

/* Expire stale frames, then form at most one batch (rules above): true
 * when out holds one. out->expired is filled either way. Call again at
 * once after a batch: a split leaves the next one due. */
bool qp_batcher_poll(struct qp_batcher *b, uint64_t now_ns, struct qp_batch *out);

/* Nanoseconds the caller may sleep before qp_batcher_poll() can form a
 * batch unless a frame is offered meanwhile: 0 = poll now, -1 = no frame
 * waits (sleep until the next offer). At the deadline poll forms a batch
 * unless the waiting frames expired. Pure: changes nothing. */
int64_t qp_batcher_next_deadline(const struct qp_batcher *b, uint64_t now_ns);

/* Is stream active at now_ns (rules above)? */
bool qp_batcher_is_active(const struct qp_batcher *b, int32_t stream, uint64_t now_ns);

/* Waiting frames over all streams. */
int32_t qp_batcher_n_waiting(const struct qp_batcher *b);

/* stream's counters into *out. */
void qp_batcher_counters(const struct qp_batcher *b, int32_t stream,
                         struct qp_batcher_counters *out);

/* Batches formed so far by trigger. */
uint64_t qp_batcher_n_batches(const struct qp_batcher *b, enum qp_batcher_trigger t);

/* The smallest bucket of o holding n frames; 0 when n is 0 or above the
 * largest (o must have passed qp_batcher_new's checks). */
uint32_t qp_batcher_bucket_for(const struct qp_batcher_opts *o, int32_t n);

/* "replaced", "too_old", "out_of_order"; "unknown" out of range. Never NULL. */
const char *qp_batcher_drop_name(enum qp_batcher_drop d);

/* "queued", "replaced", "too_old", "out_of_order"; "unknown". Never NULL. */
const char *qp_batcher_verdict_name(enum qp_batcher_verdict v);

/* "split", "complete", "delay"; "unknown". Never NULL. */
const char *qp_batcher_trigger_name(enum qp_batcher_trigger t);
