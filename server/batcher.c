// SPDX-License-Identifier: Apache-2.0
/*
 * batcher.c - the cross-camera batching policy of batcher.h: one slot per
 * stream, the offer / expire / trigger / select / split rules, counters.
 *
 * Everything is in one struct allocated by qp_batcher_new(); every call
 * walks the n_streams slots once (a split also sorts at most 64 indices).
 * Times are uint64_t nanoseconds; sums go through add_sat() so a stamp near
 * UINT64_MAX cannot wrap a deadline.
 */
#include "server/batcher.h"

#include "core/alloc.h"
#include "server/config.h"

_Static_assert(QP_BATCHER_MAX_STREAMS == QP_CONFIG_MAX_STREAMS, "one slot per configured stream");
_Static_assert(QP_BATCHER_MAX_BUCKETS == QP_CONFIG_LIST_MAX, "every configured bucket fits");
_Static_assert(QP_BATCHER_MAX_BATCH == QP_CONFIG_MAX_BATCH, "the configured bucket bound");

#define NS_PER_US 1000u
#define NS_PER_MS 1000000u

/* ===== Name tables ===== */

static const char *const drop_names[] = {
    [QP_BATCHER_DROP_REPLACED]     = "replaced",
    [QP_BATCHER_DROP_TOO_OLD]      = "too_old",
    [QP_BATCHER_DROP_OUT_OF_ORDER] = "out_of_order",
};
_Static_assert(sizeof drop_names / sizeof drop_names[0] == QP_BATCHER_DROP_COUNT, "drop names");

static const char *const verdict_names[] = {
    [QP_BATCHER_VERDICT_QUEUED]       = "queued",
    [QP_BATCHER_VERDICT_REPLACED]     = "replaced",
    [QP_BATCHER_VERDICT_TOO_OLD]      = "too_old",
    [QP_BATCHER_VERDICT_OUT_OF_ORDER] = "out_of_order",
};
_Static_assert(sizeof verdict_names / sizeof verdict_names[0] == QP_BATCHER_VERDICT_COUNT,
               "verdict names");

static const char *const trigger_names[] = {
    [QP_BATCHER_TRIGGER_SPLIT]    = "split",
    [QP_BATCHER_TRIGGER_COMPLETE] = "complete",
    [QP_BATCHER_TRIGGER_DELAY]    = "delay",
};
_Static_assert(sizeof trigger_names / sizeof trigger_names[0] == QP_BATCHER_TRIGGER_COUNT,
               "trigger names");

const char *qp_batcher_drop_name(enum qp_batcher_drop d)
{
    return (unsigned)d < QP_BATCHER_DROP_COUNT ? drop_names[d] : "unknown";
}

const char *qp_batcher_verdict_name(enum qp_batcher_verdict v)
{
    return (unsigned)v < QP_BATCHER_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

const char *qp_batcher_trigger_name(enum qp_batcher_trigger t)
{
    return (unsigned)t < QP_BATCHER_TRIGGER_COUNT ? trigger_names[t] : "unknown";
}

/* ===== State ===== */

struct slot {
    bool                       waiting; /* frame below is the stream's newest unprocessed one */
    bool                       due;     /* left over by a split: goes into the next batch */
    uint64_t                   seq, capture_ns; /* the waiting frame */
    uint64_t                   offered_ns;      /* its offer's now */
    uint64_t                   since_ns; /* the offer that filled the empty slot (DELAY) */
    bool                       queued_once;     /* last_queued_ns is set */
    uint64_t                   last_queued_ns;  /* activity: the last offer that queued a frame */
    bool                       has_order;       /* order_* hold the last in-order frame */
    uint64_t                   order_seq, order_capture_ns, order_ns;
    struct qp_batcher_counters c;
};

struct qp_batcher {
    struct qp_batcher_opts o;
    uint64_t               max_delay_ns, max_age_ns, sync_ns, idle_ns;
    uint64_t               now_ns; /* latest now seen */
    int32_t                n_waiting;
    uint64_t               n_batches[QP_BATCHER_TRIGGER_COUNT];
    struct slot            s[QP_BATCHER_MAX_STREAMS];
};

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t age_ns(uint64_t capture_ns, uint64_t now_ns)
{
    return now_ns > capture_ns ? now_ns - capture_ns : 0;
}

static uint64_t clamp_now(const struct qp_batcher *b, uint64_t now_ns)
{
    return now_ns > b->now_ns ? now_ns : b->now_ns;
}

static bool slot_active(const struct qp_batcher *b, const struct slot *s, uint64_t now_ns)
{
    return s->waiting || (s->queued_once && now_ns - s->last_queued_ns < b->idle_ns);
}

/* Leave the slot empty; the caller counts why. */
static struct qp_batch_frame take(struct qp_batcher *b, int32_t i)
{
    struct slot *s = &b->s[i];
    QP_ASSERT(s->waiting && b->n_waiting > 0);
    struct qp_batch_frame f = {
        .stream = i, .seq = s->seq, .capture_ns = s->capture_ns, .offered_ns = s->offered_ns};
    s->waiting = false;
    s->due     = false;
    s->c.waiting--;
    b->n_waiting--;
    return f;
}

/* ===== Lifecycle ===== */

static enum qp_status check_opts(const struct qp_batcher_opts *o, struct qp_err *err)
{
    if (!o)
        return qp_fail(err, QP_E_INVAL, "batcher: no options");
    if (o->n_streams < 1 || o->n_streams > QP_BATCHER_MAX_STREAMS)
        return qp_fail(err, QP_E_INVAL, "batcher: n_streams = %d: must be 1..%d", (int)o->n_streams,
                       QP_BATCHER_MAX_STREAMS);
    if (o->max_delay_us > QP_BATCHER_MAX_DELAY_US)
        return qp_fail(err, QP_E_INVAL, "batcher: max_delay_us = %u: must be 0..%u",
                       (unsigned)o->max_delay_us, QP_BATCHER_MAX_DELAY_US);
    if (o->max_age_ms < 1 || o->max_age_ms > QP_BATCHER_MAX_AGE_MS)
        return qp_fail(err, QP_E_INVAL, "batcher: max_age_ms = %u: must be 1..%u",
                       (unsigned)o->max_age_ms, QP_BATCHER_MAX_AGE_MS);
    if (o->sync_window_us > QP_BATCHER_MAX_WINDOW_US)
        return qp_fail(err, QP_E_INVAL, "batcher: sync_window_us = %u: must be 0..%u",
                       (unsigned)o->sync_window_us, QP_BATCHER_MAX_WINDOW_US);
    if (o->idle_ms > QP_BATCHER_MAX_IDLE_MS)
        return qp_fail(err, QP_E_INVAL, "batcher: idle_ms = %u: must be 0..%u",
                       (unsigned)o->idle_ms, QP_BATCHER_MAX_IDLE_MS);
    if (o->n_buckets < 1 || o->n_buckets > QP_BATCHER_MAX_BUCKETS)
        return qp_fail(err, QP_E_INVAL, "batcher: n_buckets = %u: must be 1..%d",
                       (unsigned)o->n_buckets, QP_BATCHER_MAX_BUCKETS);
    for (uint32_t i = 0; i < o->n_buckets; i++) {
        if (o->buckets[i] < 1 || o->buckets[i] > QP_BATCHER_MAX_BATCH)
            return qp_fail(err, QP_E_INVAL, "batcher: buckets[%u] = %u: must be 1..%d", (unsigned)i,
                           (unsigned)o->buckets[i], QP_BATCHER_MAX_BATCH);
        if (i > 0 && o->buckets[i] <= o->buckets[i - 1])
            return qp_fail(err, QP_E_INVAL,
                           "batcher: buckets: %u after %u: must be strictly ascending",
                           (unsigned)o->buckets[i], (unsigned)o->buckets[i - 1]);
    }
    return QP_OK;
}

enum qp_status qp_batcher_new(const struct qp_batcher_opts *o, struct qp_batcher **out,
                              struct qp_err *err)
{
    QP_ASSERT(out);
    *out              = NULL;
    enum qp_status st = check_opts(o, err);
    if (st != QP_OK)
        return st;
    struct qp_batcher *b = qp_calloc(1, sizeof *b);
    if (!b)
        return qp_fail(err, QP_E_NOMEM, "batcher: %zu bytes", sizeof *b);
    b->o            = *o;
    b->max_delay_ns = (uint64_t)o->max_delay_us * NS_PER_US;
    b->max_age_ns   = (uint64_t)o->max_age_ms * NS_PER_MS;
    b->sync_ns      = (uint64_t)o->sync_window_us * NS_PER_US;
    b->idle_ns      = o->idle_ms ? (uint64_t)o->idle_ms * NS_PER_MS
                                 : (uint64_t)QP_BATCHER_IDLE_FACTOR * b->max_age_ns;
    *out            = b;
    return QP_OK;
}

void qp_batcher_free(struct qp_batcher *b)
{
    qp_free(b);
}

/* ===== Offer ===== */

enum qp_batcher_verdict qp_batcher_offer(struct qp_batcher *b, int32_t stream, uint64_t capture_ns,
                                         uint64_t now_ns, uint64_t seq, uint64_t *replaced_seq)
{
    QP_ASSERT(b && stream >= 0 && stream < b->o.n_streams);
    struct slot *s = &b->s[stream];
    now_ns = b->now_ns = clamp_now(b, now_ns);
    s->c.received++;

    if (s->has_order && now_ns - s->order_ns >= b->idle_ns)
        s->has_order = false; /* quiet for idle_ms: a restarted camera starts afresh */
    /* seqs began again while time went on: a restarted publisher */
    bool restart = s->has_order && (seq < s->order_seq) && (capture_ns > s->order_capture_ns);
    if (!restart && s->has_order && (seq <= s->order_seq || capture_ns < s->order_capture_ns)) {
        s->c.dropped[QP_BATCHER_DROP_OUT_OF_ORDER]++;
        return QP_BATCHER_VERDICT_OUT_OF_ORDER;
    }
    s->c.restarts += restart;
    s->has_order        = true;
    s->order_seq        = seq;
    s->order_capture_ns = capture_ns;
    s->order_ns         = now_ns;

    if (age_ns(capture_ns, now_ns) > b->max_age_ns) {
        s->c.dropped[QP_BATCHER_DROP_TOO_OLD]++;
        return QP_BATCHER_VERDICT_TOO_OLD;
    }

    enum qp_batcher_verdict v = QP_BATCHER_VERDICT_QUEUED;
    if (s->waiting) {
        s->c.dropped[QP_BATCHER_DROP_REPLACED]++;
        if (replaced_seq)
            *replaced_seq = s->seq;
        v = QP_BATCHER_VERDICT_REPLACED;
    } else {
        s->c.waiting++;
        b->n_waiting++;
        s->since_ns = now_ns; /* a replacement keeps it: the stream has waited since */
    }
    s->waiting        = true;
    s->due            = false; /* a fresh frame, not the one a split left over */
    s->seq            = seq;
    s->capture_ns     = capture_ns;
    s->offered_ns     = now_ns;
    s->queued_once    = true;
    s->last_queued_ns = now_ns;
    return v;
}

/* ===== Poll ===== */

static void expire(struct qp_batcher *b, uint64_t now_ns, struct qp_batch *out)
{
    for (int32_t i = 0; i < b->o.n_streams; i++) {
        struct slot *s = &b->s[i];
        if (s->waiting && age_ns(s->capture_ns, now_ns) > b->max_age_ns) {
            out->expired[out->n_expired++] = take(b, i);
            s->c.dropped[QP_BATCHER_DROP_TOO_OLD]++;
        }
    }
}

/* The trigger that holds now, or QP_BATCHER_TRIGGER_COUNT for none. */
static enum qp_batcher_trigger trigger_now(const struct qp_batcher *b, uint64_t now_ns)
{
    bool     complete = true, due = false;
    uint64_t first_offer_ns = UINT64_MAX;
    for (int32_t i = 0; i < b->o.n_streams; i++) {
        const struct slot *s = &b->s[i];
        if (s->waiting) {
            due = due || s->due;
            if (s->since_ns < first_offer_ns)
                first_offer_ns = s->since_ns;
        } else if (slot_active(b, s, now_ns)) {
            complete = false;
        }
    }
    if (due)
        return QP_BATCHER_TRIGGER_SPLIT;
    if (complete)
        return QP_BATCHER_TRIGGER_COMPLETE;
    if (now_ns - first_offer_ns >= b->max_delay_ns)
        return QP_BATCHER_TRIGGER_DELAY;
    return QP_BATCHER_TRIGGER_COUNT;
}

/* Does slot i come before slot j in age order (capture stamp, then index)? */
static bool older(const struct qp_batcher *b, int32_t i, int32_t j)
{
    const struct slot *si = &b->s[i], *sj = &b->s[j];
    return si->capture_ns < sj->capture_ns || (si->capture_ns == sj->capture_ns && i < j);
}

/* Mark in pick[] the frames of the next batch (rules 3 and 4 of batcher.h);
 * returns how many. Selected frames beyond the largest bucket become due. */
static int32_t select_frames(struct qp_batcher *b, bool pick[QP_BATCHER_MAX_STREAMS])
{
    int32_t first = -1;
    for (int32_t i = 0; i < b->o.n_streams; i++)
        if (b->s[i].waiting && (first < 0 || older(b, i, first)))
            first = i;
    QP_ASSERT(first >= 0);

    int32_t  sel[QP_BATCHER_MAX_STREAMS], n = 0;
    uint64_t c0 = b->s[first].capture_ns;
    for (int32_t i = 0; i < b->o.n_streams; i++) {
        pick[i] = false;
        if (b->s[i].waiting && (b->sync_ns == 0 || b->s[i].capture_ns - c0 <= b->sync_ns))
            sel[n++] = i;
    }
    int32_t max_batch = (int32_t)b->o.buckets[b->o.n_buckets - 1];
    if (n > max_batch) { /* oldest first: insertion sort of at most 64 indices */
        for (int32_t k = 1; k < n; k++) {
            int32_t v = sel[k], j = k;
            for (; j > 0 && older(b, v, sel[j - 1]); j--)
                sel[j] = sel[j - 1];
            sel[j] = v;
        }
        for (int32_t k = max_batch; k < n; k++)
            b->s[sel[k]].due = true;
        n = max_batch;
    }
    for (int32_t k = 0; k < n; k++)
        pick[sel[k]] = true;
    return n;
}

uint32_t qp_batcher_bucket_for(const struct qp_batcher_opts *o, int32_t n)
{
    for (uint32_t i = 0; n > 0 && i < o->n_buckets; i++)
        if (o->buckets[i] >= (uint32_t)n)
            return o->buckets[i];
    return 0;
}

bool qp_batcher_poll(struct qp_batcher *b, uint64_t now_ns, struct qp_batch *out)
{
    QP_ASSERT(b && out);
    now_ns = b->now_ns = clamp_now(b, now_ns);
    out->n_frames      = 0;
    out->n_expired     = 0;
    out->bucket        = 0;
    out->trigger       = QP_BATCHER_TRIGGER_COUNT;
    out->formed_ns     = now_ns;

    expire(b, now_ns, out);
    if (b->n_waiting == 0)
        return false;
    enum qp_batcher_trigger t = trigger_now(b, now_ns);
    if (t == QP_BATCHER_TRIGGER_COUNT)
        return false;

    bool pick[QP_BATCHER_MAX_STREAMS];
    select_frames(b, pick);
    for (int32_t i = 0; i < b->o.n_streams; i++) {
        if (pick[i]) {
            out->frames[out->n_frames++] = take(b, i);
            b->s[i].c.batched++;
        }
    }
    out->bucket  = qp_batcher_bucket_for(&b->o, out->n_frames);
    out->trigger = t;
    QP_ASSERT(out->n_frames > 0 && out->bucket >= (uint32_t)out->n_frames);
    b->n_batches[t]++;
    return true;
}

/* ===== Queries ===== */

int64_t qp_batcher_next_deadline(const struct qp_batcher *b, uint64_t now_ns)
{
    QP_ASSERT(b);
    now_ns = clamp_now(b, now_ns);
    if (b->n_waiting == 0)
        return -1;
    uint64_t first_offer_ns = UINT64_MAX, complete_ns = now_ns;
    for (int32_t i = 0; i < b->o.n_streams; i++) {
        const struct slot *s = &b->s[i];
        if (s->waiting) {
            if (s->due)
                return 0;
            if (s->since_ns < first_offer_ns)
                first_offer_ns = s->since_ns;
        } else if (slot_active(b, s, now_ns)) { /* COMPLETE once the last of these goes idle */
            uint64_t idle_at = add_sat(s->last_queued_ns, b->idle_ns);
            if (idle_at > complete_ns)
                complete_ns = idle_at;
        }
    }
    uint64_t delay_ns = add_sat(first_offer_ns, b->max_delay_ns);
    uint64_t t        = delay_ns < complete_ns ? delay_ns : complete_ns;
    if (t <= now_ns)
        return 0;
    return t - now_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(t - now_ns);
}

bool qp_batcher_is_active(const struct qp_batcher *b, int32_t stream, uint64_t now_ns)
{
    QP_ASSERT(b && stream >= 0 && stream < b->o.n_streams);
    return slot_active(b, &b->s[stream], clamp_now(b, now_ns));
}

int32_t qp_batcher_n_waiting(const struct qp_batcher *b)
{
    QP_ASSERT(b);
    return b->n_waiting;
}

void qp_batcher_counters(const struct qp_batcher *b, int32_t stream,
                         struct qp_batcher_counters *out)
{
    QP_ASSERT(b && out && stream >= 0 && stream < b->o.n_streams);
    *out = b->s[stream].c;
}

uint64_t qp_batcher_n_batches(const struct qp_batcher *b, enum qp_batcher_trigger t)
{
    QP_ASSERT(b && (unsigned)t < QP_BATCHER_TRIGGER_COUNT);
    return b->n_batches[t];
}
