// SPDX-License-Identifier: Apache-2.0
/*
 * test_batcher.c - qperceptd's cross-camera batching policy
 * (server/batcher.h) on simulated time.
 *
 * Hand-made schedules pin each rule at its boundary (six cameras together,
 * a silent camera, a stopped one, replacement, staleness, order, sync
 * window, buckets and splits, deadlines); an overload simulation runs six
 * 30 Hz cameras for 60 s against a 50 ms engine; randomized schedules
 * (fixed seed) check every result against an independent model of the
 * rules; bad options give errors that name the option. The counter
 * identity received == batched + dropped + waiting is checked after every
 * call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "server/batcher.h"

#define US(x) ((uint64_t)(x)*1000u)
#define MS(x) ((uint64_t)(x)*1000000u)
#define T0 ((uint64_t)1700000000 * 1000000000u) /* a realistic CLOCK_REALTIME stamp */

static struct qp_batch batch; /* ~3 KiB: static, not on the stack */
static int32_t         n_cur; /* streams of the batcher new_batcher made last */

/* 6 streams, 5 ms delay, 200 ms max age, no sync, idle 4 x 200 ms, buckets 1,2,4,6,8. */
static struct qp_batcher_opts default_opts(void)
{
    struct qp_batcher_opts o = {.n_streams      = 6,
                                .max_delay_us   = 5000,
                                .max_age_ms     = 200,
                                .sync_window_us = 0,
                                .idle_ms        = 0,
                                .n_buckets      = 5,
                                .buckets        = {1, 2, 4, 6, 8}};
    return o;
}

static struct qp_batcher *new_batcher(const struct qp_batcher_opts *o)
{
    struct qp_batcher *b   = NULL;
    struct qp_err      err = {{0}};
    enum qp_status     st  = qp_batcher_new(o, &b, &err);
    if (st != QP_OK)
        fprintf(stderr, "\nqp_batcher_new: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    n_cur = o->n_streams;
    return b;
}

static uint64_t total_dropped(const struct qp_batcher_counters *c)
{
    uint64_t n = 0;
    for (int r = 0; r < QP_BATCHER_DROP_COUNT; r++)
        n += c->dropped[r];
    return n;
}

/* received == batched + dropped + waiting on every stream; waiting 0 or 1
 * and summing to qp_batcher_n_waiting. Returns the number of violations. */
static int check_counters(const struct qp_batcher *b, int32_t n_streams)
{
    int     bad     = 0;
    int64_t waiting = 0;
    for (int32_t i = 0; i < n_streams; i++) {
        struct qp_batcher_counters c;
        qp_batcher_counters(b, i, &c);
        bad += c.received != c.batched + total_dropped(&c) + c.waiting;
        bad += c.waiting > 1;
        waiting += (int64_t)c.waiting;
    }
    bad += waiting != qp_batcher_n_waiting(b);
    CU_ASSERT_EQUAL(bad, 0);
    return bad;
}

static struct qp_batcher_counters counters(const struct qp_batcher *b, int32_t stream)
{
    struct qp_batcher_counters c;
    qp_batcher_counters(b, stream, &c);
    return c;
}

static enum qp_batcher_verdict offer(struct qp_batcher *b, int32_t stream, uint64_t capture,
                                     uint64_t now, uint64_t seq)
{
    uint64_t                replaced = UINT64_MAX;
    enum qp_batcher_verdict v        = qp_batcher_offer(b, stream, capture, now, seq, &replaced);
    if (v != QP_BATCHER_VERDICT_REPLACED)
        CU_ASSERT_EQUAL(replaced, UINT64_MAX); /* untouched */
    check_counters(b, n_cur);
    return v;
}

static bool poll_at(struct qp_batcher *b, int32_t n_streams, uint64_t now)
{
    bool ok = qp_batcher_poll(b, now, &batch);
    check_counters(b, n_streams);
    CU_ASSERT(batch.formed_ns >= now);
    if (!ok) {
        CU_ASSERT_EQUAL(batch.n_frames, 0);
        CU_ASSERT_EQUAL(batch.bucket, 0);
    }
    return ok;
}

/* ===== Rules, one at a time ===== */

/* Six cameras each 33 ms: every round is one batch of six in bucket 6,
 * formed by the last arrival (COMPLETE), never earlier. */
static void test_six_together(void)
{
    struct qp_batcher_opts o = default_opts();
    struct qp_batcher     *b = new_batcher(&o);
    for (uint64_t r = 0; r < 10; r++) {
        uint64_t t = T0 + r * MS(33);
        for (int32_t i = 0; i < 6; i++) {
            uint64_t now = t + (uint64_t)i * US(100);
            CU_ASSERT_EQUAL(offer(b, i, now - MS(2), now, r), QP_BATCHER_VERDICT_QUEUED);
            if (i < 5 && r > 0) { /* round 0: no stream is active before its first frame */
                CU_ASSERT_FALSE(poll_at(b, 6, now));
                /* the DELAY deadline of the round's first frame */
                CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, now), (int64_t)(US(5000 - 100 * i)));
            }
        }
        CU_ASSERT_TRUE_FATAL(poll_at(b, 6, t + US(500)));
        CU_ASSERT_EQUAL(batch.n_frames, 6);
        CU_ASSERT_EQUAL(batch.bucket, 6);
        CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_COMPLETE);
        CU_ASSERT_EQUAL(batch.n_expired, 0);
        for (int32_t i = 0; i < 6; i++) {
            CU_ASSERT_EQUAL(batch.frames[i].stream, i);
            CU_ASSERT_EQUAL(batch.frames[i].seq, r);
            CU_ASSERT_EQUAL(batch.frames[i].capture_ns, t + (uint64_t)i * US(100) - MS(2));
            CU_ASSERT_EQUAL(batch.frames[i].offered_ns, t + (uint64_t)i * US(100));
        }
        CU_ASSERT_EQUAL(qp_batcher_n_waiting(b), 0);
        CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, t + US(500)), -1);
    }
    CU_ASSERT_EQUAL(qp_batcher_n_batches(b, QP_BATCHER_TRIGGER_COMPLETE), 10);
    CU_ASSERT_EQUAL(qp_batcher_n_batches(b, QP_BATCHER_TRIGGER_DELAY), 0);
    for (int32_t i = 0; i < 6; i++) {
        struct qp_batcher_counters c = counters(b, i);
        CU_ASSERT_EQUAL(c.received, 10);
        CU_ASSERT_EQUAL(c.batched, 10);
        CU_ASSERT_EQUAL(total_dropped(&c), 0);
    }
    qp_batcher_free(b);
}

/* At start-up a lone first frame is batched at once: streams never heard
 * from are not waited for. */
static void test_first_frame_alone(void)
{
    struct qp_batcher_opts o = default_opts();
    struct qp_batcher     *b = new_batcher(&o);
    CU_ASSERT_FALSE(qp_batcher_is_active(b, 0, T0));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, T0), -1);
    CU_ASSERT_FALSE(poll_at(b, 6, T0));
    offer(b, 3, T0 - MS(1), T0, 7);
    CU_ASSERT_TRUE(qp_batcher_is_active(b, 3, T0));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, T0), 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 6, T0));
    CU_ASSERT_EQUAL(batch.n_frames, 1);
    CU_ASSERT_EQUAL(batch.bucket, 1);
    CU_ASSERT_EQUAL(batch.frames[0].stream, 3);
    CU_ASSERT_EQUAL(batch.frames[0].seq, 7);
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_COMPLETE);
    qp_batcher_free(b);
}

/* Round 0 with all six, then camera 5 goes silent: the other five wait
 * exactly max_delay_us from the earliest offer, not a nanosecond more. */
static void test_silent_camera(void)
{
    struct qp_batcher_opts o = default_opts();
    struct qp_batcher     *b = new_batcher(&o);
    for (int32_t i = 0; i < 6; i++)
        offer(b, i, T0, T0, 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 6, T0));
    CU_ASSERT_EQUAL(batch.n_frames, 6);

    uint64_t t = T0 + MS(33);
    for (int32_t i = 0; i < 5; i++)
        offer(b, i, t - MS(1), t + (uint64_t)i * US(10), 1);
    uint64_t last = t + US(40);
    CU_ASSERT_FALSE(poll_at(b, 6, last));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, last), (int64_t)(US(5000) - US(40)));
    CU_ASSERT_FALSE(poll_at(b, 6, t + US(5000) - 1));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, t + US(5000) - 1), 1);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 6, t + US(5000)));
    CU_ASSERT_EQUAL(batch.n_frames, 5);
    CU_ASSERT_EQUAL(batch.bucket, 6);
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_DELAY);
    for (int32_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(batch.frames[i].stream, i);
    CU_ASSERT_TRUE(qp_batcher_is_active(b, 5, t + US(5000))); /* silent, not yet idle */
    CU_ASSERT_EQUAL(counters(b, 5).received, 1);
    qp_batcher_free(b);
}

/* Camera 5 stops: active until idle_ms (4 x 200 ms) after its last queued
 * frame, then the other five batch at once (COMPLETE, bucket 6). */
static void test_stopped_camera(void)
{
    struct qp_batcher_opts o = default_opts();
    struct qp_batcher     *b = new_batcher(&o);
    for (int32_t i = 0; i < 6; i++)
        offer(b, i, T0, T0, 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 6, T0));
    uint64_t idle_at = T0 + MS(800);
    CU_ASSERT_TRUE(qp_batcher_is_active(b, 5, idle_at - 1));
    CU_ASSERT_FALSE(qp_batcher_is_active(b, 5, idle_at));

    int n_delay = 0, n_complete = 0;
    for (uint64_t r = 1; r < 40; r++) { /* rounds every 33 ms: 1.3 s */
        uint64_t t = T0 + r * MS(33);
        for (int32_t i = 0; i < 5; i++)
            offer(b, i, t, t, r);
        if (t >= idle_at) { /* camera 5 no longer counts */
            CU_ASSERT_TRUE_FATAL(poll_at(b, 6, t));
            CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_COMPLETE);
            n_complete++;
        } else {
            CU_ASSERT_FALSE(poll_at(b, 6, t));
            CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, t), (int64_t)US(5000));
            CU_ASSERT_TRUE_FATAL(poll_at(b, 6, t + US(5000)));
            CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_DELAY);
            n_delay++;
        }
        CU_ASSERT_EQUAL(batch.n_frames, 5);
        CU_ASSERT_EQUAL(batch.bucket, 6);
    }
    CU_ASSERT_EQUAL(n_delay, 24); /* rounds 1..24 are before 800 ms, 25..39 after */
    CU_ASSERT_EQUAL(n_complete, 15);

    /* It comes back: active again at once, a batch of six. */
    uint64_t t = T0 + MS(2000);
    for (int32_t i = 0; i < 6; i++)
        offer(b, i, t, t, 100);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 6, t));
    CU_ASSERT_EQUAL(batch.n_frames, 6);
    qp_batcher_free(b);
}

/* With a long max_delay the COMPLETE trigger comes from the idle timeout:
 * next_deadline says when the last frameless stream goes idle. */
static void test_deadline_from_idle(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 3;
    o.max_delay_us           = 1000000; /* 1 s */
    o.idle_ms                = 100;
    o.max_age_ms             = 5000;
    struct qp_batcher *b     = new_batcher(&o);
    offer(b, 0, T0, T0, 0);
    offer(b, 1, T0 + MS(10), T0 + MS(10), 0);
    offer(b, 2, T0 + MS(20), T0 + MS(20), 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 3, T0 + MS(20)));
    uint64_t t = T0 + MS(30);
    offer(b, 0, t, t, 1);
    /* streams 1 and 2 go idle at 110 and 120 ms; the delay would be 1030 ms */
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, t), (int64_t)MS(90));
    CU_ASSERT_FALSE(poll_at(b, 3, T0 + MS(120) - 1));
    CU_ASSERT_TRUE_FATAL(poll_at(b, 3, T0 + MS(120)));
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_COMPLETE);
    CU_ASSERT_EQUAL(batch.n_frames, 1);
    qp_batcher_free(b);
}

/* Replacement reports the replaced seq and counts exactly. */
static void test_replace(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 2;
    o.max_delay_us           = 1000000;
    struct qp_batcher *b     = new_batcher(&o);
    offer(b, 1, T0, T0, 0); /* keeps stream 1 active: no COMPLETE for stream 0 */
    uint64_t replaced = 0;
    CU_ASSERT_EQUAL(qp_batcher_offer(b, 0, T0, T0, 1, &replaced), QP_BATCHER_VERDICT_QUEUED);
    CU_ASSERT_EQUAL(qp_batcher_offer(b, 0, T0 + MS(1), T0 + MS(1), 2, &replaced),
                    QP_BATCHER_VERDICT_REPLACED);
    CU_ASSERT_EQUAL(replaced, 1);
    CU_ASSERT_EQUAL(qp_batcher_offer(b, 0, T0 + MS(2), T0 + MS(2), 3, &replaced),
                    QP_BATCHER_VERDICT_REPLACED);
    CU_ASSERT_EQUAL(replaced, 2);
    CU_ASSERT_EQUAL(qp_batcher_offer(b, 0, T0 + MS(3), T0 + MS(3), 4, NULL),
                    QP_BATCHER_VERDICT_REPLACED);
    check_counters(b, 2);
    struct qp_batcher_counters c = counters(b, 0);
    CU_ASSERT_EQUAL(c.received, 4);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_REPLACED], 3);
    CU_ASSERT_EQUAL(c.waiting, 1);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 2, T0 + MS(4))); /* both wait: COMPLETE */
    CU_ASSERT_EQUAL(batch.n_frames, 2);
    CU_ASSERT_EQUAL(batch.frames[0].seq, 4);
    c = counters(b, 0);
    CU_ASSERT_EQUAL(c.received, 4);
    CU_ASSERT_EQUAL(c.batched, 1);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_REPLACED], 3);
    qp_batcher_free(b);
}

/* Staleness at offer and at poll is exact to the nanosecond: age ==
 * max_age is still fresh. */
static void test_too_old(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 2;
    o.max_delay_us           = 1000000;
    struct qp_batcher *b     = new_batcher(&o);
    offer(b, 1, T0, T0, 0); /* keeps stream 1 active: no COMPLETE for stream 0 */
    offer(b, 0, T0 + MS(3), T0 + MS(3), 4);

    /* age exactly 200 ms: fresh; 200 ms + 1 ns: too old, slot unchanged */
    uint64_t now = T0 + MS(250);
    CU_ASSERT_EQUAL(offer(b, 0, now - MS(200), now, 5), QP_BATCHER_VERDICT_REPLACED);
    CU_ASSERT_EQUAL(offer(b, 0, now - MS(200) + 1, now + 2, 6), QP_BATCHER_VERDICT_TOO_OLD);
    struct qp_batcher_counters c = counters(b, 0);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_TOO_OLD], 1);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_REPLACED], 1);
    CU_ASSERT_EQUAL(c.waiting, 1);

    /* stream 1's frame (age 250 ms) and stream 0's seq 5 (age 200 ms + 2 ns)
     * expire at the next poll; nothing is batched */
    CU_ASSERT_FALSE(poll_at(b, 2, now + 2));
    CU_ASSERT_EQUAL_FATAL(batch.n_expired, 2);
    CU_ASSERT_EQUAL(batch.expired[0].stream, 0);
    CU_ASSERT_EQUAL(batch.expired[0].seq, 5);
    CU_ASSERT_EQUAL(batch.expired[1].stream, 1);
    CU_ASSERT_EQUAL(batch.expired[1].seq, 0);
    c = counters(b, 0);
    CU_ASSERT_EQUAL(c.received, 3);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_TOO_OLD], 2);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_REPLACED], 1);
    CU_ASSERT_EQUAL(c.batched, 0);
    CU_ASSERT_EQUAL(c.waiting, 0);
    CU_ASSERT_EQUAL(counters(b, 1).dropped[QP_BATCHER_DROP_TOO_OLD], 1);

    /* at poll time: age == max_age is batched, not expired ... */
    now = T0 + MS(300);
    offer(b, 0, now - MS(200), now, 7);
    offer(b, 1, now, now, 1);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 2, now));
    CU_ASSERT_EQUAL(batch.n_expired, 0);
    CU_ASSERT_EQUAL(batch.n_frames, 2);
    CU_ASSERT_EQUAL(batch.frames[0].seq, 7);
    /* ... and 1 ns later it is expired; stream 1 then waits for stream 0 */
    now += MS(33);
    offer(b, 0, now - MS(200), now, 8);
    offer(b, 1, now, now, 2);
    CU_ASSERT_FALSE(poll_at(b, 2, now + 1));
    CU_ASSERT_EQUAL_FATAL(batch.n_expired, 1);
    CU_ASSERT_EQUAL(batch.expired[0].stream, 0);
    CU_ASSERT_EQUAL(batch.expired[0].seq, 8);
    CU_ASSERT_EQUAL(counters(b, 0).batched, 1);
    CU_ASSERT_EQUAL(counters(b, 0).dropped[QP_BATCHER_DROP_TOO_OLD], 3);
    CU_ASSERT_EQUAL(counters(b, 1).waiting, 1);
    qp_batcher_free(b);
}

/* seq must rise and capture stamps must not fall; a refused frame leaves
 * the slot alone; a seq that falls while the stamp rises is a restart,
 * taken; after idle_ms of no in-order frames the history resets (a camera
 * whose clock went back too). */
static void test_out_of_order(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 2;
    o.max_delay_us           = 1000000;
    struct qp_batcher *b     = new_batcher(&o);
    offer(b, 1, T0, T0, 0);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(10), T0 + MS(10), 10), QP_BATCHER_VERDICT_QUEUED);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(11), T0 + MS(11), 10), QP_BATCHER_VERDICT_OUT_OF_ORDER);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(10), T0 + MS(11), 9), QP_BATCHER_VERDICT_OUT_OF_ORDER);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(10) - 1, T0 + MS(11), 11), QP_BATCHER_VERDICT_OUT_OF_ORDER);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(10), T0 + MS(11), 11), /* same stamp: allowed */
                    QP_BATCHER_VERDICT_REPLACED);
    struct qp_batcher_counters c = counters(b, 0);
    CU_ASSERT_EQUAL(c.received, 5);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_OUT_OF_ORDER], 3);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_REPLACED], 1);
    CU_ASSERT_EQUAL(c.waiting, 1);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 2, T0 + MS(12))); /* both streams wait: COMPLETE */
    CU_ASSERT_EQUAL(batch.frames[0].seq, 11);

    /* A too-old frame still moves the order history on. */
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(20), T0 + MS(300), 20), QP_BATCHER_VERDICT_TOO_OLD);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(290), T0 + MS(300), 20), QP_BATCHER_VERDICT_OUT_OF_ORDER);

    /* Camera restart, its clock gone on: seq 0 is taken at once and the
     * order goes on from it (seq 0 again is a duplicate); restarts counts it. */
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(301), T0 + MS(302), 0), QP_BATCHER_VERDICT_QUEUED);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(303), T0 + MS(303), 0), QP_BATCHER_VERDICT_OUT_OF_ORDER);
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(304), T0 + MS(304), 1), QP_BATCHER_VERDICT_REPLACED);
    c = counters(b, 0);
    CU_ASSERT_EQUAL(c.restarts, 1);

    /* Camera restart with its clock gone back too: seq 0 is refused until
     * 800 ms after the last in-order frame (at 304 ms), then accepted. */
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(200), T0 + MS(1104) - 1, 0),
                    QP_BATCHER_VERDICT_OUT_OF_ORDER);
    CU_ASSERT_FALSE(poll_at(b, 2, T0 + MS(1104) - 1)); /* expires seq 1: too old */
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(1100), T0 + MS(1104), 0), QP_BATCHER_VERDICT_QUEUED);
    c = counters(b, 0);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_OUT_OF_ORDER], 6);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_TOO_OLD], 2);
    CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_REPLACED], 2);
    CU_ASSERT_EQUAL(c.restarts, 1); /* forgotten history: a fresh start, not a restart */
    check_counters(b, 2);
    qp_batcher_free(b);
}

/* A "now" earlier than one already seen counts as the latest one. */
static void test_clock_backwards(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 2;
    struct qp_batcher *b     = new_batcher(&o);
    offer(b, 1, T0, T0, 0);
    CU_ASSERT_TRUE(poll_at(b, 2, T0));
    offer(b, 0, T0 + MS(1), T0 + MS(1), 0);
    CU_ASSERT_FALSE(poll_at(b, 2, T0 - MS(10)));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, T0 - MS(10)), (int64_t)US(5000));
    CU_ASSERT_EQUAL(offer(b, 0, T0 + MS(2), T0, 1), QP_BATCHER_VERDICT_REPLACED);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 2, T0 + MS(6)));
    CU_ASSERT_EQUAL(batch.frames[0].offered_ns, T0 + MS(1)); /* the clamped now */
    qp_batcher_free(b);
}

/* max_delay_us = 0: any waiting frame is due at once. */
static void test_zero_delay(void)
{
    struct qp_batcher_opts o = default_opts();
    o.max_delay_us           = 0;
    struct qp_batcher *b     = new_batcher(&o);
    for (int32_t i = 0; i < 6; i++)
        offer(b, i, T0, T0, 0);
    CU_ASSERT_TRUE(poll_at(b, 6, T0));
    offer(b, 2, T0 + MS(33), T0 + MS(33), 1);
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, T0 + MS(33)), 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 6, T0 + MS(33)));
    CU_ASSERT_EQUAL(batch.n_frames, 1);
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_DELAY);
    qp_batcher_free(b);
}

/* Sync window 5 ms: the batch holds the frames captured within 5 ms after
 * the oldest (boundary included); the rest wait for their own batch. */
static void test_sync_window(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 5;
    o.sync_window_us         = 5000;
    struct qp_batcher *b     = new_batcher(&o);
    uint64_t           c     = T0;
    uint64_t           now   = T0 + MS(20);
    offer(b, 0, c + MS(3), now, 0);
    offer(b, 1, c + MS(5), now, 0);     /* exactly at the window's end: in */
    offer(b, 2, c + MS(5) + 1, now, 0); /* 1 ns past: out */
    offer(b, 3, c, now, 0);             /* the oldest */
    offer(b, 4, c + MS(12), now, 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 5, now));
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_COMPLETE);
    CU_ASSERT_EQUAL_FATAL(batch.n_frames, 3);
    CU_ASSERT_EQUAL(batch.bucket, 4);
    CU_ASSERT_EQUAL(batch.frames[0].stream, 0);
    CU_ASSERT_EQUAL(batch.frames[1].stream, 1);
    CU_ASSERT_EQUAL(batch.frames[2].stream, 3);
    CU_ASSERT_EQUAL(qp_batcher_n_waiting(b), 2);
    /* 2 and 4 wait: 0, 1, 3 are active and frameless, so DELAY decides */
    CU_ASSERT_FALSE(poll_at(b, 5, now));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, now), (int64_t)US(5000));
    CU_ASSERT_TRUE_FATAL(poll_at(b, 5, now + US(5000)));
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_DELAY);
    CU_ASSERT_EQUAL_FATAL(batch.n_frames, 1); /* 12 - 5 ms > 5 ms: apart again */
    CU_ASSERT_EQUAL(batch.frames[0].stream, 2);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 5, now + US(5000)));
    CU_ASSERT_EQUAL(batch.frames[0].stream, 4);
    CU_ASSERT_EQUAL(qp_batcher_n_waiting(b), 0);

    /* Equal stamps: all in one batch whatever the window. */
    now += MS(33);
    for (int32_t i = 0; i < 5; i++)
        offer(b, i, now - MS(1), now, 1);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 5, now));
    CU_ASSERT_EQUAL(batch.n_frames, 5);
    CU_ASSERT_EQUAL(batch.bucket, 6);
    qp_batcher_free(b);
}

/* Buckets: 5 frames run in bucket 6; 10 frames with largest bucket 8 run
 * as the 8 oldest (bucket 8), then the other 2 at once (bucket 2, SPLIT). */
static void test_buckets_and_split(void)
{
    struct qp_batcher_opts o         = default_opts();
    const int32_t          want[][2] = {{0, 0}, {1, 1}, {2, 2}, {3, 4}, {4, 4},
                                        {5, 6}, {6, 6}, {7, 8}, {8, 8}, {9, 0}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        CU_ASSERT_EQUAL(qp_batcher_bucket_for(&o, want[k][0]), (uint32_t)want[k][1]);

    o.n_streams            = 10;
    struct qp_batcher *b   = new_batcher(&o);
    uint64_t           now = T0 + MS(50);
    /* capture stamps out of stream order: the two newest are streams 1 and 3 */
    const uint64_t cap_ms[10] = {4, 9, 0, 8, 1, 6, 2, 7, 3, 5};
    for (int32_t i = 0; i < 10; i++)
        offer(b, i, T0 + MS(cap_ms[i]), now, 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 10, now));
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_COMPLETE);
    CU_ASSERT_EQUAL_FATAL(batch.n_frames, 8);
    CU_ASSERT_EQUAL(batch.bucket, 8);
    const int32_t first[8] = {0, 2, 4, 5, 6, 7, 8, 9}; /* all but the 8 and 9 ms stamps */
    for (int32_t k = 0; k < 8; k++)
        CU_ASSERT_EQUAL(batch.frames[k].stream, first[k]);
    CU_ASSERT_EQUAL(qp_batcher_n_waiting(b), 2);
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, now), 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 10, now));
    CU_ASSERT_EQUAL(batch.trigger, QP_BATCHER_TRIGGER_SPLIT);
    CU_ASSERT_EQUAL_FATAL(batch.n_frames, 2);
    CU_ASSERT_EQUAL(batch.bucket, 2);
    CU_ASSERT_EQUAL(batch.frames[0].stream, 1);
    CU_ASSERT_EQUAL(batch.frames[1].stream, 3);
    CU_ASSERT_FALSE(poll_at(b, 10, now));
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, now), -1);

    /* five of ten: bucket 6 (the other five went idle long ago) */
    now += MS(1000);
    for (int32_t i = 0; i < 5; i++)
        offer(b, i, now, now, 1);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 10, now));
    CU_ASSERT_EQUAL(batch.n_frames, 5);
    CU_ASSERT_EQUAL(batch.bucket, 6);
    CU_ASSERT_EQUAL(qp_batcher_n_batches(b, QP_BATCHER_TRIGGER_SPLIT), 1);
    CU_ASSERT_EQUAL(qp_batcher_n_batches(b, QP_BATCHER_TRIGGER_COMPLETE), 2);
    qp_batcher_free(b);
}

/* Equal capture stamps (hardware-triggered cameras): a split takes the
 * lower stream indices first. */
static void test_split_ties(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 10;
    struct qp_batcher *b     = new_batcher(&o);
    for (int32_t i = 9; i >= 0; i--)
        offer(b, i, T0, T0 + MS(1), 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 10, T0 + MS(1)));
    CU_ASSERT_EQUAL_FATAL(batch.n_frames, 8);
    for (int32_t k = 0; k < 8; k++)
        CU_ASSERT_EQUAL(batch.frames[k].stream, k);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 10, T0 + MS(1)));
    CU_ASSERT_EQUAL_FATAL(batch.n_frames, 2);
    CU_ASSERT_EQUAL(batch.frames[0].stream, 8);
    CU_ASSERT_EQUAL(batch.frames[1].stream, 9);
    qp_batcher_free(b);
}

/* A split leftover that a newer frame replaces is no longer due. */
static void test_split_leftover_replaced(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 3;
    o.n_buckets              = 2;
    o.buckets[0]             = 1;
    o.buckets[1]             = 2;
    struct qp_batcher *b     = new_batcher(&o);
    for (int32_t i = 0; i < 3; i++)
        offer(b, i, T0 + MS(i), T0 + MS(5), 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 3, T0 + MS(5)));
    CU_ASSERT_EQUAL(batch.n_frames, 2);
    CU_ASSERT_EQUAL(batch.frames[1].stream, 1);
    CU_ASSERT_EQUAL(offer(b, 2, T0 + MS(6), T0 + MS(6), 1), QP_BATCHER_VERDICT_REPLACED);
    /* DELAY counts from T0 + 5 ms: the stream has had a frame waiting since */
    CU_ASSERT_EQUAL(qp_batcher_next_deadline(b, T0 + MS(6)), (int64_t)US(4000));
    CU_ASSERT_FALSE(poll_at(b, 3, T0 + MS(6)));
    qp_batcher_free(b);
}

/* A camera sending faster than max_delay_us while another active one is
 * silent: each newer frame replaces the waiting one, but the stream has had
 * a frame waiting all along, so DELAY still fires max_delay_us after the
 * first of them (were it counted from each replacement, no batch would
 * ever form while the camera keeps sending). */
static void test_replacement_does_not_starve(void)
{
    struct qp_batcher_opts o = default_opts();
    o.n_streams              = 2;
    o.max_delay_us           = 100000; /* 100 ms, above the 40 ms frame period */
    o.max_age_ms             = 1000;
    struct qp_batcher *b     = new_batcher(&o);
    offer(b, 1, T0, T0, 0); /* stream 1 is heard from once, then falls silent */
    CU_ASSERT_TRUE_FATAL(poll_at(b, 2, T0));
    int batches = 0;
    for (uint64_t k = 0; k < 25; k++) { /* 1 s of frames at 25 fps on stream 0 */
        uint64_t t = T0 + MS(10) + k * MS(40);
        offer(b, 0, t, t, k);
        batches += poll_at(b, 2, t);
    }
    /* a slot filled at 10 ms is due at 110: the frame of 130 ms goes; the next
     * fills it at 170, due at 270, the frame of 290 goes; ...: every fourth */
    CU_ASSERT_EQUAL(batches, 6);
    qp_batcher_free(b);
}

/* ===== Overload: six 30 Hz cameras, a 50 ms engine, 60 simulated seconds ===== */

static uint64_t rng_state;

static uint32_t rnd(void) /* xorshift64*, fixed seed per test */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? (((uint64_t)rnd() << 32) | rnd()) % n : 0;
}

/* One batch of the overload simulation formed at t: the bucket fits and
 * every frame is its stream's newest; returns its frames' largest age. */
static uint64_t check_served(const struct qp_batcher_opts *o, uint64_t t, const uint64_t *newest)
{
    uint64_t max_age = 0;
    CU_ASSERT_EQUAL(batch.bucket, qp_batcher_bucket_for(o, batch.n_frames));
    for (int32_t k = 0; k < batch.n_frames; k++) {
        const struct qp_batch_frame *f = &batch.frames[k];
        max_age                        = t - f->capture_ns > max_age ? t - f->capture_ns : max_age;
        CU_ASSERT_EQUAL(f->seq, newest[f->stream]); /* the newest frame is served */
    }
    return max_age;
}

/* Per stream: every frame offered was received, none stale or out of
 * order, about a third replaced; over all: received == batched + dropped +
 * waiting. Returns the frames batched. */
static uint64_t overload_totals(const struct qp_batcher *b, int32_t n, const uint64_t *offered)
{
    uint64_t rec = 0, bat = 0, drop = 0, wait = 0;
    for (int32_t i = 0; i < n; i++) {
        struct qp_batcher_counters c = counters(b, i);
        CU_ASSERT_EQUAL(c.received, offered[i]);
        CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_TOO_OLD], 0);
        CU_ASSERT_EQUAL(c.dropped[QP_BATCHER_DROP_OUT_OF_ORDER], 0);
        CU_ASSERT(c.dropped[QP_BATCHER_DROP_REPLACED] > 500); /* about 1/3 of 1800 */
        rec += c.received, bat += c.batched, drop += total_dropped(&c), wait += c.waiting;
    }
    CU_ASSERT_EQUAL(rec, bat + drop + wait);
    CU_ASSERT(rec >= 1799u * (uint64_t)n && rec <= 1800u * (uint64_t)n);
    return bat;
}

static void test_overload(void)
{
    enum { N = 6 };
    const uint64_t         period = 1000000000u / 30, engine_ns = MS(50), end = T0 + MS(60000);
    struct qp_batcher_opts o = default_opts();
    struct qp_batcher     *b = new_batcher(&o);
    rng_state                = 0x9e3779b97f4a7c15ull;

    uint64_t capture[N], arrive[N], seq[N] = {0}, newest[N] = {0};
    for (int i = 0; i < N; i++) {
        capture[i] = T0 + (uint64_t)i * US(700); /* camera phases */
        arrive[i]  = capture[i] + MS(2) + rnd_below(MS(3));
    }
    uint64_t busy_until = 0, wake = UINT64_MAX, max_age = 0, n_batches = 0, n_small = 0;
    uint64_t n_events = 0, frames_batched = 0;
    qp_alloc_reset_counters();
    for (;;) {
        int      next = -1; /* the earliest arrival, or the worker (-1) */
        uint64_t t    = wake;
        for (int i = 0; i < N; i++)
            if (arrive[i] < t)
                t = arrive[i], next = i;
        if (t >= end || ++n_events > 1000000)
            break;
        if (next >= 0) {
            offer(b, next, capture[next], t, seq[next]);
            newest[next] = seq[next]++;
            capture[next] += period;
            arrive[next] = capture[next] + MS(2) + rnd_below(MS(3));
        }
        if (t < busy_until) { /* the worker runs a batch; it polls when done */
            wake = busy_until;
            continue;
        }
        if (poll_at(b, N, t)) {
            uint64_t a = check_served(&o, t, newest);
            max_age    = a > max_age ? a : max_age;
            n_batches++;
            frames_batched += (uint64_t)batch.n_frames;
            n_small += batch.n_frames < N;
            busy_until = t + engine_ns;
            wake       = busy_until;
        } else {
            int64_t d = qp_batcher_next_deadline(b, t);
            if (d == 0) { /* "poll now" right after a poll that formed nothing */
                CU_FAIL("deadline 0 without a batch");
                break;
            }
            wake = d < 0 ? UINT64_MAX : t + (uint64_t)d;
        }
    }
    CU_ASSERT_EQUAL(qp_alloc_count(), 0); /* nothing allocated after qp_batcher_new */
    CU_ASSERT(n_events < 1000000);

    CU_ASSERT_EQUAL(overload_totals(b, N, seq), frames_batched);
    /* the engine never idles: 60 s / 50 ms batches, nearly all of six */
    CU_ASSERT(n_batches >= 1190 && n_batches <= 1200);
    CU_ASSERT(n_small <= 2);
    CU_ASSERT(max_age <= MS(o.max_age_ms));
    CU_ASSERT(max_age <= period + MS(5)); /* in fact: one frame period plus transport */
    qp_batcher_free(b);
}

/* ===== Randomized schedules against a model of the rules ===== */

struct model_stream {
    bool     waiting, due, queued_once, has_order;
    uint64_t seq, capture, offered, since, last_queued, oseq, ocap, ons;
    uint64_t next_seq, next_cap, restarts;
};

struct model {
    struct qp_batcher_opts o;
    uint64_t               now, idle, age, delay, window;
    struct model_stream    s[QP_BATCHER_MAX_STREAMS];
};

static bool model_active(const struct model *m, int i, uint64_t now)
{
    return m->s[i].waiting || (m->s[i].queued_once && now - m->s[i].last_queued < m->idle);
}

static enum qp_batcher_verdict model_offer(struct model *m, int i, uint64_t cap, uint64_t now,
                                           uint64_t seq)
{
    struct model_stream *s = &m->s[i];
    if (s->has_order && now - s->ons >= m->idle)
        s->has_order = false;
    if (s->has_order && seq < s->oseq && cap > s->ocap)
        s->restarts++;
    else if (s->has_order && (seq <= s->oseq || cap < s->ocap))
        return QP_BATCHER_VERDICT_OUT_OF_ORDER;
    s->has_order = true, s->oseq = seq, s->ocap = cap, s->ons = now;
    if (now > cap && now - cap > m->age)
        return QP_BATCHER_VERDICT_TOO_OLD;
    enum qp_batcher_verdict v =
        s->waiting ? QP_BATCHER_VERDICT_REPLACED : QP_BATCHER_VERDICT_QUEUED;
    if (!s->waiting)
        s->since = now; /* a replacement keeps it */
    s->waiting = true, s->due = false, s->seq = seq, s->capture = cap, s->offered = now;
    s->queued_once = true, s->last_queued = now;
    return v;
}

/* The poll of the model: expiry, trigger, and the selected set in sel[]
 * (which frames may go; n_sel of them). Returns the expected trigger or
 * QP_BATCHER_TRIGGER_COUNT. */
static enum qp_batcher_trigger model_poll(struct model *m, uint64_t now, int *n_expired, bool sel[],
                                          int *n_sel)
{
    int      n = m->o.n_streams, first = -1;
    bool     due = false, complete = true, any = false;
    uint64_t first_offer = UINT64_MAX;
    *n_expired = 0, *n_sel = 0;
    for (int i = 0; i < n; i++) {
        struct model_stream *s = &m->s[i];
        if (s->waiting && now > s->capture && now - s->capture > m->age)
            s->waiting = false, s->due = false, ++*n_expired;
    }
    for (int i = 0; i < n; i++) {
        struct model_stream *s = &m->s[i];
        sel[i]                 = false;
        if (!s->waiting) {
            complete = complete && !model_active(m, i, now);
            continue;
        }
        any         = true;
        due         = due || s->due;
        first_offer = s->since < first_offer ? s->since : first_offer;
        if (first < 0 || s->capture < m->s[first].capture)
            first = i;
    }
    if (!any)
        return QP_BATCHER_TRIGGER_COUNT;
    for (int i = 0; i < n; i++)
        if (m->s[i].waiting && (!m->window || m->s[i].capture - m->s[first].capture <= m->window))
            sel[i] = true, ++*n_sel;
    if (due)
        return QP_BATCHER_TRIGGER_SPLIT;
    if (complete)
        return QP_BATCHER_TRIGGER_COMPLETE;
    if (now - first_offer >= m->delay)
        return QP_BATCHER_TRIGGER_DELAY;
    return QP_BATCHER_TRIGGER_COUNT;
}

/* Check one batch against the model's selection; update the model. */
static void model_take(struct model *m, bool sel[], int n_sel)
{
    int32_t max_b = (int32_t)m->o.buckets[m->o.n_buckets - 1];
    int32_t want  = n_sel < max_b ? n_sel : max_b;
    CU_ASSERT_EQUAL(batch.n_frames, want);
    CU_ASSERT_EQUAL(batch.bucket, qp_batcher_bucket_for(&m->o, batch.n_frames));
    uint64_t newest_in = 0; /* the newest frame taken, (capture, stream) order */
    int32_t  newest_i  = -1;
    for (int32_t k = 0; k < batch.n_frames; k++) {
        const struct qp_batch_frame *f = &batch.frames[k];
        struct model_stream         *s = &m->s[f->stream];
        CU_ASSERT(k == 0 || f->stream > batch.frames[k - 1].stream);
        CU_ASSERT(sel[f->stream] && s->waiting);
        CU_ASSERT_EQUAL(f->seq, s->seq);
        CU_ASSERT_EQUAL(f->capture_ns, s->capture);
        CU_ASSERT_EQUAL(f->offered_ns, s->offered);
        CU_ASSERT(m->now <= f->capture_ns || m->now - f->capture_ns <= m->age);
        if (f->capture_ns >= newest_in) /* stream order: a tie goes to the later one */
            newest_in = f->capture_ns, newest_i = f->stream;
        sel[f->stream] = false;
        s->waiting = false, s->due = false;
    }
    if (m->window) {
        uint64_t oldest_in = UINT64_MAX;
        for (int32_t k = 0; k < batch.n_frames; k++)
            if (batch.frames[k].capture_ns < oldest_in)
                oldest_in = batch.frames[k].capture_ns;
        CU_ASSERT(newest_in - oldest_in <= m->window);
    }
    for (int i = 0; i < m->o.n_streams; i++)
        if (sel[i]) { /* left over by the split: after everything taken */
            CU_ASSERT(m->s[i].capture > newest_in ||
                      (m->s[i].capture == newest_in && i > newest_i));
            m->s[i].due = true;
        }
}

/* What the random schedules exercised, so they cannot pass by doing nothing. */
static uint64_t seen_verdict[QP_BATCHER_VERDICT_COUNT], seen_trigger[QP_BATCHER_TRIGGER_COUNT];
static uint64_t seen_restarts;
static uint64_t seen_expired, seen_early_false, seen_on_time;

static void random_config(struct qp_batcher_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_streams      = 1 + (int32_t)rnd_below(12);
    o->max_delay_us   = rnd_below(4) ? (uint32_t)rnd_below(10000) : 0;
    o->max_age_ms     = 20 + (uint32_t)rnd_below(80);
    o->sync_window_us = rnd_below(2) ? (uint32_t)rnd_below(20000) : 0;
    o->idle_ms        = rnd_below(2) ? 0 : 1 + (uint32_t)rnd_below(200);
    for (uint32_t v = 1; v <= 8; v++)
        if (rnd_below(2) || (v == 8 && o->n_buckets == 0))
            o->buckets[o->n_buckets++] = v;
}

/* A frame for stream i: mostly in order and fresh, sometimes not. */
static void random_offer(struct model *m, struct qp_batcher *b, uint64_t asked)
{
    int                  i = (int)rnd_below((uint64_t)m->o.n_streams);
    struct model_stream *s = &m->s[i];
    if (s->next_cap == 0)
        s->next_cap = m->now - MS(1);
    uint64_t seq = s->next_seq, cap = m->now - rnd_below(MS(30));
    cap = cap < s->next_cap ? s->next_cap : cap;
    switch (rnd_below(20)) {
    case 0: /* a duplicate or late frame: seq and stamp not above the last */
        seq = seq ? seq - 1 - rnd_below(seq < 3 ? seq : 3) : 0;
        cap = s->next_cap - rnd_below(MS(1));
        break;
    case 1: /* stamp backwards */
        cap = s->next_cap - 1 - rnd_below(MS(2));
        break;
    case 2: /* stale (in order only when the stream was quiet) */
        cap = m->now - m->age - 1 - rnd_below(MS(50));
        break;
    case 3: /* stamped in the future: age 0 */
        cap = m->now + rnd_below(MS(1));
        break;
    case 7: /* a restarted camera: seqs from 0 again, its clock going on */
        seq = rnd_below(3);
        break;
    case 4: /* hardware-triggered cameras: equal stamps on a 2 ms grid */
    case 5:
    case 6:
        cap = m->now - m->now % MS(2);
        cap = cap < s->next_cap ? s->next_cap : cap;
        break;
    default:
        break;
    }
    uint64_t                replaced = UINT64_MAX, was = s->seq, had_restarts = s->restarts;
    bool                    had  = s->waiting;
    enum qp_batcher_verdict want = model_offer(m, i, cap, m->now, seq);
    enum qp_batcher_verdict got  = qp_batcher_offer(b, i, cap, asked, seq, &replaced);
    CU_ASSERT_EQUAL(got, want);
    seen_verdict[got]++;
    if (want == QP_BATCHER_VERDICT_REPLACED)
        CU_ASSERT(had && replaced == was);
    if (want != QP_BATCHER_VERDICT_OUT_OF_ORDER)
        s->next_seq = seq + 1 + rnd_below(2), s->next_cap = cap;
    struct qp_batcher_counters c;
    qp_batcher_counters(b, i, &c);
    CU_ASSERT_EQUAL(c.restarts, s->restarts);
    seen_restarts += s->restarts - had_restarts;
}

/* Poll and check against the model and against *deadline (the absolute
 * time next_deadline gave after the last poll, no offer since; UINT64_MAX
 * for none), then ask for the next deadline. */
static void random_poll(struct model *m, struct qp_batcher *b, uint64_t asked, uint64_t *deadline)
{
    bool                    sel[QP_BATCHER_MAX_STREAMS];
    int                     n_exp = 0, n_sel = 0;
    enum qp_batcher_trigger want = model_poll(m, m->now, &n_exp, sel, &n_sel);
    bool                    got  = qp_batcher_poll(b, asked, &batch);
    CU_ASSERT_EQUAL(batch.n_expired, n_exp);
    for (int32_t k = 0; k < batch.n_expired; k++)
        CU_ASSERT(m->now - batch.expired[k].capture_ns > m->age);
    CU_ASSERT_EQUAL(got, want != QP_BATCHER_TRIGGER_COUNT);
    if (*deadline != UINT64_MAX && m->now < *deadline) {
        CU_ASSERT_FALSE(got); /* never before the deadline */
        seen_early_false++;
    }
    if (*deadline != UINT64_MAX && m->now >= *deadline && n_exp == 0) {
        CU_ASSERT_TRUE(got); /* and at it, unless frames expired */
        seen_on_time++;
    }
    seen_expired += (uint64_t)n_exp;
    if (got) {
        CU_ASSERT_EQUAL(batch.trigger, want);
        seen_trigger[batch.trigger]++;
        model_take(m, sel, n_sel);
    }
    int64_t d = qp_batcher_next_deadline(b, asked);
    CU_ASSERT_EQUAL(d < 0, qp_batcher_n_waiting(b) == 0);
    *deadline = d < 0 ? UINT64_MAX : m->now + (uint64_t)d;
}

static void run_random_schedule(int steps)
{
    static struct model m;
    memset(&m, 0, sizeof m);
    random_config(&m.o);
    m.age                       = MS(m.o.max_age_ms);
    m.idle                      = m.o.idle_ms ? MS(m.o.idle_ms) : 4 * m.age;
    m.delay                     = US(m.o.max_delay_us);
    m.window                    = US(m.o.sync_window_us);
    m.now                       = 0; /* the batcher's "latest now" before its first call */
    struct qp_batcher *b        = new_batcher(&m.o);
    uint64_t           deadline = UINT64_MAX;

    for (int step = 0; step < steps; step++) {
        uint64_t asked = step == 0 ? T0 : m.now + rnd_below(MS(4));
        if (step > 0 && rnd_below(50) == 0)
            asked = m.now - rnd_below(MS(5)); /* a clock stepping back */
        m.now = asked > m.now ? asked : m.now;
        if (rnd_below(10) < 6) {
            random_offer(&m, b, asked);
            deadline = UINT64_MAX;
        } else {
            random_poll(&m, b, asked, &deadline);
        }
        int waiting = 0;
        for (int i = 0; i < m.o.n_streams; i++) {
            waiting += m.s[i].waiting;
            CU_ASSERT_EQUAL(qp_batcher_is_active(b, i, asked), model_active(&m, i, m.now));
        }
        CU_ASSERT_EQUAL(qp_batcher_n_waiting(b), waiting);
        if (check_counters(b, m.o.n_streams))
            break;
    }
    qp_batcher_free(b);
}

static void test_random_schedules(void)
{
    rng_state = 0x243f6a8885a308d3ull;
    qp_alloc_reset_counters();
    for (int k = 0; k < 200; k++)
        run_random_schedule(3000);
    CU_ASSERT_EQUAL(qp_alloc_count(), 200); /* one qp_batcher_new allocation each */
    fprintf(stderr, "\n  verdicts");
    for (int v = 0; v < QP_BATCHER_VERDICT_COUNT; v++) {
        fprintf(stderr, " %s %llu", qp_batcher_verdict_name((enum qp_batcher_verdict)v),
                (unsigned long long)seen_verdict[v]);
        CU_ASSERT(seen_verdict[v] >= 1000);
    }
    fprintf(stderr, " (restarts %llu)", (unsigned long long)seen_restarts);
    CU_ASSERT(seen_restarts >= 1000);
    fprintf(stderr, "; batches");
    for (int t = 0; t < QP_BATCHER_TRIGGER_COUNT; t++) {
        fprintf(stderr, " %s %llu", qp_batcher_trigger_name((enum qp_batcher_trigger)t),
                (unsigned long long)seen_trigger[t]);
        CU_ASSERT(seen_trigger[t] >= 100);
    }
    fprintf(stderr, "; expired %llu; deadline checks %llu early, %llu on time\n",
            (unsigned long long)seen_expired, (unsigned long long)seen_early_false,
            (unsigned long long)seen_on_time);
    CU_ASSERT(seen_expired >= 1000);
    CU_ASSERT(seen_early_false >= 1000);
    CU_ASSERT(seen_on_time >= 1000);
}

/* ===== Options ===== */

static void expect_bad(const struct qp_batcher_opts *o, const char *what)
{
    struct qp_batcher *b   = (struct qp_batcher *)&batch; /* must be reset to NULL */
    struct qp_err      err = {{0}};
    CU_ASSERT_EQUAL(qp_batcher_new(o, &b, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NULL(b);
    if (!strstr(err.msg, what))
        fprintf(stderr, "\nmessage '%s' lacks '%s'\n", err.msg, what);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what));
}

static void test_bad_options(void)
{
    struct qp_batcher_opts o;
    expect_bad(NULL, "no options");
    o = default_opts(), o.n_streams = 0;
    expect_bad(&o, "n_streams = 0: must be 1..64");
    o = default_opts(), o.n_streams = 65;
    expect_bad(&o, "n_streams = 65: must be 1..64");
    o = default_opts(), o.n_streams = -1;
    expect_bad(&o, "n_streams = -1");
    o = default_opts(), o.n_buckets = 0;
    expect_bad(&o, "n_buckets = 0: must be 1..16");
    o = default_opts(), o.n_buckets = 17;
    expect_bad(&o, "n_buckets = 17");
    o = default_opts(), o.buckets[2] = 2;
    expect_bad(&o, "buckets: 2 after 2: must be strictly ascending");
    o = default_opts(), o.buckets[3] = 3;
    expect_bad(&o, "buckets: 3 after 4: must be strictly ascending");
    o = default_opts(), o.buckets[0] = 0;
    expect_bad(&o, "buckets[0] = 0: must be 1..64");
    o = default_opts(), o.buckets[4] = 65;
    expect_bad(&o, "buckets[4] = 65");
    o = default_opts(), o.max_age_ms = 0;
    expect_bad(&o, "max_age_ms = 0: must be 1..");
    o = default_opts(), o.max_delay_us = QP_BATCHER_MAX_DELAY_US + 1;
    expect_bad(&o, "max_delay_us = 60000001");
    o = default_opts(), o.sync_window_us = QP_BATCHER_MAX_WINDOW_US + 1;
    expect_bad(&o, "sync_window_us = 60000001");
    o = default_opts(), o.idle_ms = QP_BATCHER_MAX_IDLE_MS + 1;
    expect_bad(&o, "idle_ms = 14400001");

    /* the bounds themselves are accepted */
    o = default_opts(), o.n_streams = 64, o.n_buckets = 16;
    for (uint32_t i = 0; i < 16; i++)
        o.buckets[i] = 4 * i + 4; /* 4 .. 64 */
    o.max_age_ms = QP_BATCHER_MAX_AGE_MS, o.idle_ms = QP_BATCHER_MAX_IDLE_MS;
    o.max_delay_us = QP_BATCHER_MAX_DELAY_US, o.sync_window_us = QP_BATCHER_MAX_WINDOW_US;
    struct qp_batcher *b = new_batcher(&o);
    for (int32_t i = 0; i < 64; i++)
        offer(b, i, T0, T0, 0);
    CU_ASSERT_TRUE_FATAL(poll_at(b, 64, T0));
    CU_ASSERT_EQUAL(batch.n_frames, 64);
    CU_ASSERT_EQUAL(batch.bucket, 64);
    qp_batcher_free(b);
    qp_batcher_free(NULL);

    /* the one allocation failing */
    o                 = default_opts();
    struct qp_err err = {{0}};
    b                 = NULL;
    qp_alloc_fail_at(1);
    CU_ASSERT_EQUAL(qp_batcher_new(&o, &b, &err), QP_E_NOMEM);
    qp_alloc_fail_at(0);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "batcher"));
}

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(qp_batcher_drop_name(QP_BATCHER_DROP_REPLACED), "replaced");
    CU_ASSERT_STRING_EQUAL(qp_batcher_drop_name(QP_BATCHER_DROP_TOO_OLD), "too_old");
    CU_ASSERT_STRING_EQUAL(qp_batcher_drop_name(QP_BATCHER_DROP_OUT_OF_ORDER), "out_of_order");
    CU_ASSERT_STRING_EQUAL(qp_batcher_drop_name(QP_BATCHER_DROP_COUNT), "unknown");
    CU_ASSERT_STRING_EQUAL(qp_batcher_verdict_name(QP_BATCHER_VERDICT_QUEUED), "queued");
    CU_ASSERT_STRING_EQUAL(qp_batcher_verdict_name(QP_BATCHER_VERDICT_OUT_OF_ORDER),
                           "out_of_order");
    CU_ASSERT_STRING_EQUAL(qp_batcher_verdict_name(QP_BATCHER_VERDICT_COUNT), "unknown");
    CU_ASSERT_STRING_EQUAL(qp_batcher_trigger_name(QP_BATCHER_TRIGGER_SPLIT), "split");
    CU_ASSERT_STRING_EQUAL(qp_batcher_trigger_name(QP_BATCHER_TRIGGER_COMPLETE), "complete");
    CU_ASSERT_STRING_EQUAL(qp_batcher_trigger_name(QP_BATCHER_TRIGGER_DELAY), "delay");
    CU_ASSERT_STRING_EQUAL(qp_batcher_trigger_name(QP_BATCHER_TRIGGER_COUNT), "unknown");
}

static CU_TestInfo rule_tests[] = {
    {"six cameras together: batches of six in bucket 6", test_six_together},
    {"a lone first frame is batched at once", test_first_frame_alone},
    {"a silent camera stalls the others max_delay_us, no more", test_silent_camera},
    {"a stopped camera goes idle and batches shrink", test_stopped_camera},
    {"the deadline can come from the idle timeout", test_deadline_from_idle},
    {"replaced counted exactly", test_replace},
    {"too_old at offer and at poll, to the nanosecond", test_too_old},
    {"out of order refused; history resets after idle", test_out_of_order},
    {"a clock stepping back is clamped", test_clock_backwards},
    {"max_delay_us 0 batches at once", test_zero_delay},
    {"sync window splits the cameras", test_sync_window},
    {"buckets and splits", test_buckets_and_split},
    {"equal stamps split by stream index", test_split_ties},
    {"a replaced split leftover is not due", test_split_leftover_replaced},
    {"replacement does not starve DELAY", test_replacement_does_not_starve},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo sim_tests[] = {
    {"overload: 6 x 30 Hz for 60 s on a 50 ms engine", test_overload},
    {"random schedules against a model", test_random_schedules},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo opt_tests[] = {
    {"bad options name the option", test_bad_options},
    {"name tables", test_names},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"batcher/rules", NULL, NULL, NULL, NULL, rule_tests},
    {"batcher/simulation", NULL, NULL, NULL, NULL, sim_tests},
    {"batcher/options", NULL, NULL, NULL, NULL, opt_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
