// SPDX-License-Identifier: Apache-2.0
/*
 * mcap_defs.c - the MCAP reader's schema and channel tables: parse Schema
 * and Channel records (from the summary, the data section or a chunk) and
 * find them by id.
 *
 * Each definition is one allocation holding the public struct and copies of
 * its strings (NUL-terminated) and data, so pointers handed out stay valid
 * until the reader is freed. The tables are sorted by id (binary search;
 * writers number from 1, so id - 1 is tried first). The first definition of
 * an id wins: the spec requires repeats to be identical, and a hostile file
 * must not make the reader allocate again per repeat. All definitions
 * together are capped at max_record bytes.
 */
#include "clients/mcap/mcap_read_int.h"

#include "core/alloc.h"

/* Position of id in a sorted table of n entries (where it is or would go). */
#define LOWER_BOUND(arr, n, id_of, id, out)                                                        \
    do {                                                                                           \
        size_t lo_ = 0, hi_ = (n);                                                                 \
        while (lo_ < hi_) {                                                                        \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                                                   \
            if (id_of((arr)[mid_]) < (id))                                                         \
                lo_ = mid_ + 1;                                                                    \
            else                                                                                   \
                hi_ = mid_;                                                                        \
        }                                                                                          \
        (out) = lo_;                                                                               \
    } while (0)

#define SCHEMA_ID(s) ((s)->id)
#define CHAN_ID(c) ((c)->pub.id)

static enum qp_status charge(struct qp_mcap_reader *r, size_t bytes, struct qp_err *err)
{
    if (bytes > r->max_record - r->defs_bytes)
        return qp_fail(err, QP_E_FORMAT,
                       "schema and channel definitions exceed max_record_bytes (%zu)",
                       r->max_record);
    r->defs_bytes += bytes;
    return QP_OK;
}

/* Copy n bytes to *at as a NUL-terminated string; returns it. */
static char *put_str(char **at, const uint8_t *s, size_t n)
{
    char *d = *at;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    *at += n + 1;
    return d;
}

static const struct qp_mcap_schema *find_schema(const struct qp_mcap_reader *r, uint16_t id,
                                                size_t *pos)
{
    if (id >= 1 && id <= r->n_schemas && r->schemas[id - 1]->id == id) {
        *pos = id - 1u;
        return r->schemas[id - 1];
    }
    size_t i;
    LOWER_BOUND(r->schemas, r->n_schemas, SCHEMA_ID, id, i);
    *pos = i;
    return i < r->n_schemas && r->schemas[i]->id == id ? r->schemas[i] : NULL;
}

static struct qp_mcap_rchan *find_chan(const struct qp_mcap_reader *r, uint16_t id, size_t *pos)
{
    if (id >= 1 && id <= r->n_chans && r->chans[id - 1]->pub.id == id) {
        *pos = id - 1u;
        return r->chans[id - 1];
    }
    size_t i;
    LOWER_BOUND(r->chans, r->n_chans, CHAN_ID, id, i);
    *pos = i;
    return i < r->n_chans && r->chans[i]->pub.id == id ? r->chans[i] : NULL;
}

/* Insert p at pos of a table of pointers. */
static enum qp_status insert(void ***arr, size_t *n, size_t *cap, size_t pos, void *p,
                             struct qp_err *err)
{
    enum qp_status s = qp_mcap_grow((void **)arr, cap, *n + 1, sizeof(void *), err);
    if (s != QP_OK)
        return s;
    memmove(*arr + pos + 1, *arr + pos, (*n - pos) * sizeof(void *));
    (*arr)[pos] = p;
    (*n)++;
    return QP_OK;
}

enum qp_status qp_mcap_defs_add_schema(struct qp_mcap_reader *r, const uint8_t *p, size_t n,
                                       struct qp_err *err)
{
    struct qp_mcap_cur c = qp_mcap_cur_make(p, n);
    size_t             name_n, enc_n, data_n;
    uint16_t           id   = qp_mcap_cur_u16(&c);
    const uint8_t     *name = qp_mcap_cur_lenbytes(&c, &name_n);
    const uint8_t     *enc  = qp_mcap_cur_lenbytes(&c, &enc_n);
    const uint8_t     *data = qp_mcap_cur_lenbytes(&c, &data_n);
    if (c.bad)
        return qp_fail(err, QP_E_FORMAT, "fields run past the record (%zu bytes)", n);
    size_t pos;
    if (id == 0 || find_schema(r, id, &pos))
        return QP_OK; /* id 0 is invalid and ignored (spec); repeats are identical */
    size_t         bytes = sizeof(struct qp_mcap_schema) + name_n + 1 + enc_n + 1 + data_n;
    enum qp_status s     = charge(r, bytes, err);
    if (s != QP_OK)
        return s;
    struct qp_mcap_schema *d = qp_alloc(bytes);
    if (!d)
        return qp_fail(err, QP_E_NOMEM, "out of memory for schema %u (%zu bytes)", id, bytes);
    char *at    = (char *)(d + 1);
    d->id       = id;
    d->name     = put_str(&at, name, name_n);
    d->encoding = put_str(&at, enc, enc_n);
    d->data     = (const uint8_t *)at;
    d->len      = data_n;
    if (data_n)
        memcpy(at, data, data_n);
    if ((s = insert((void ***)&r->schemas, &r->n_schemas, &r->schemas_cap, pos, d, err)) != QP_OK)
        qp_free(d);
    return s;
}

/* Count a Map<string, string>'s entries and their string bytes. */
static bool scan_map(const uint8_t *p, size_t n, size_t *n_kv, size_t *str_bytes)
{
    struct qp_mcap_cur c = qp_mcap_cur_make(p, n);
    *n_kv = *str_bytes = 0;
    while (c.pos < c.n && !c.bad) {
        size_t kn, vn;
        qp_mcap_cur_lenbytes(&c, &kn);
        qp_mcap_cur_lenbytes(&c, &vn);
        (*n_kv)++;
        *str_bytes += kn + vn + 2;
    }
    return !c.bad;
}

enum qp_status qp_mcap_defs_add_channel(struct qp_mcap_reader *r, const uint8_t *p, size_t n,
                                        struct qp_err *err)
{
    struct qp_mcap_cur c = qp_mcap_cur_make(p, n);
    size_t             topic_n, enc_n, map_n, n_kv, kv_bytes;
    uint16_t           id        = qp_mcap_cur_u16(&c);
    uint16_t           schema_id = qp_mcap_cur_u16(&c);
    const uint8_t     *topic     = qp_mcap_cur_lenbytes(&c, &topic_n);
    const uint8_t     *enc       = qp_mcap_cur_lenbytes(&c, &enc_n);
    const uint8_t     *map       = qp_mcap_cur_lenbytes(&c, &map_n);
    if (c.bad || !scan_map(map, map_n, &n_kv, &kv_bytes))
        return qp_fail(err, QP_E_FORMAT, "fields run past the record (%zu bytes)", n);
    size_t pos;
    if (find_chan(r, id, &pos))
        return QP_OK;
    /* n_kv <= map_n / 8 and kv_bytes <= map_n + 2 * n_kv: bounded by the record */
    size_t bytes = sizeof(struct qp_mcap_rchan) + n_kv * sizeof(struct qp_mcap_kv) + topic_n + 1 +
                   enc_n + 1 + kv_bytes;
    enum qp_status s = charge(r, bytes, err);
    if (s != QP_OK)
        return s;
    struct qp_mcap_rchan *d = qp_alloc(bytes);
    if (!d)
        return qp_fail(err, QP_E_NOMEM, "out of memory for channel %u (%zu bytes)", id, bytes);
    char *at                = (char *)(d->kv + n_kv);
    d->n_counted            = 0;
    d->pub.id               = id;
    d->pub.schema_id        = schema_id;
    d->pub.topic            = put_str(&at, topic, topic_n);
    d->pub.message_encoding = put_str(&at, enc, enc_n);
    d->pub.metadata         = d->kv;
    d->pub.n_metadata       = n_kv;
    struct qp_mcap_cur m    = qp_mcap_cur_make(map, map_n);
    for (size_t i = 0; i < n_kv; i++) {
        size_t         kn, vn;
        const uint8_t *k = qp_mcap_cur_lenbytes(&m, &kn);
        const uint8_t *v = qp_mcap_cur_lenbytes(&m, &vn);
        d->kv[i].key     = put_str(&at, k, kn);
        d->kv[i].value   = put_str(&at, v, vn);
    }
    if ((s = insert((void ***)&r->chans, &r->n_chans, &r->chans_cap, pos, d, err)) != QP_OK)
        qp_free(d);
    return s;
}

struct qp_mcap_rchan *qp_mcap_defs_channel(const struct qp_mcap_reader *r, uint16_t id)
{
    size_t pos;
    return find_chan(r, id, &pos);
}

void qp_mcap_defs_free(struct qp_mcap_reader *r)
{
    for (size_t i = 0; i < r->n_schemas; i++)
        qp_free(r->schemas[i]);
    for (size_t i = 0; i < r->n_chans; i++)
        qp_free(r->chans[i]);
    qp_free(r->schemas);
    qp_free(r->chans);
    r->schemas   = NULL;
    r->chans     = NULL;
    r->n_schemas = r->n_chans = r->schemas_cap = r->chans_cap = 0;
}

/* ===== Public lookups ===== */

const struct qp_mcap_channel *qp_mcap_reader_channel(const struct qp_mcap_reader *r, uint16_t id)
{
    const struct qp_mcap_rchan *c = qp_mcap_defs_channel(r, id);
    return c ? &c->pub : NULL;
}

const struct qp_mcap_schema *qp_mcap_reader_schema(const struct qp_mcap_reader *r, uint16_t id)
{
    size_t pos;
    return find_schema(r, id, &pos);
}

size_t qp_mcap_reader_n_channels(const struct qp_mcap_reader *r)
{
    return r->n_chans;
}

size_t qp_mcap_reader_n_schemas(const struct qp_mcap_reader *r)
{
    return r->n_schemas;
}

const struct qp_mcap_channel *qp_mcap_reader_channel_at(const struct qp_mcap_reader *r, size_t i)
{
    return i < r->n_chans ? &r->chans[i]->pub : NULL;
}

const struct qp_mcap_schema *qp_mcap_reader_schema_at(const struct qp_mcap_reader *r, size_t i)
{
    return i < r->n_schemas ? r->schemas[i] : NULL;
}

const struct qp_mcap_channel *qp_mcap_reader_find_topic(const struct qp_mcap_reader *r,
                                                        const char                  *topic)
{
    for (size_t i = 0; i < r->n_chans; i++)
        if (strcmp(r->chans[i]->pub.topic, topic) == 0)
            return &r->chans[i]->pub;
    return NULL;
}
