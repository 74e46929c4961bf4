// SPDX-License-Identifier: Apache-2.0
/*
 * replay_mcap.c - an MCAP recording as replay streams, read in two passes so
 * that a recording of many GB plays in bounded memory.
 *
 * Pass 1 (qp_replay_mcap_open, before the clock starts) reads every message
 * once in file order and keeps, per playable frame, only its stream, time
 * and message number (32 bytes a frame: an hour of six 30 Hz cameras
 * is 21 MB), checking each frame decodes. Pass 2 (qp_replay_mcap_read,
 * while playing) reads forward to the wanted message and hands out its
 * bytes from the reader's buffers; going back (--loop) rewinds the reader.
 * So memory is one chunk plus one frame, whatever the file's size; the cost
 * is reading the file twice (and from the start again for each loop, and up
 * to --start: the reader does not seek).
 *
 * Order and time: frames play in file order (the order a recorder wrote
 * them), each at its publish time (the sender's clock: `qpercept record`
 * stores the frame's capture stamp there, so a drive replays with its
 * cameras' timing, not the recorder's; 0 = unknown: the log time) relative
 * to the first frame played. A message stamped earlier than one before it
 * in the file (the frames of one batch, tapped in stream order; two writers
 * merged) has its time raised to its predecessor's: it is sent right after
 * it, and counted (n_reordered). Times are thus monotonic, as the other
 * sources' are, and --start / --end / --rate / --loop work unchanged.
 *
 * A playable channel's decoder is a row of the kinds table: our Frame
 * through proto/wire.h's decoder (validated as the server would), the two
 * foxglove schemas through a minimal protobuf field walker here (their
 * field numbers are fixed by Foxglove's .proto files). A message that does
 * not decode is a corrupt file: an error naming the file, topic and log
 * time. JSON-encoded foxglove channels are listed as skipped.
 */
#include "replay_mcap.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clients/mcap/mcap.h"
#include "core/alloc.h"
#include "proto/wire.h"
#include "qpercept/detect.h"

#define MAX_SPAN_NS ((int64_t)1 << 56)     /* 2.3 years: longer is a broken clock */
#define MAX_DIM 16384                      /* QP_WIRE_MAX_DIM: what the server takes */
#define FOXGLOVE_COPIES "/qpercept/image/" /* `qpercept record --foxglove`'s image topics */

/* A decoded message: a frame, or why it is not one. */
enum got {
    GOT_FRAME = 0,
    GOT_SHM,         /* a Frame whose pixels were in shared memory */
    GOT_UNSUPPORTED, /* an encoding / format we do not send: why */
};

struct decoded {
    enum got                 got;
    struct qp_replay_payload p;
    char                     stream[QP_WIRE_STREAM_MAX]; /* Frame: the header's */
    char                     why[64];
};

struct qp_replay_mcap {
    struct qp_replay_mcap_info info;
    char                      *path;
    struct qp_mcap_reader     *r;
    struct qp_wire_decoder    *dec;
    size_t                     dec_cap;
    struct qp_replay_channel  *chans;
    int32_t                    n_chans, cap_chans;
    int32_t                   *by_id;     /* [65536]: index in chans, -1 unknown */
    uint32_t                  *formats;   /* [n_chans] pass 1: formats met per channel */
    int64_t                   *n_kept;    /* [n_chans] pass 1: frames kept per channel */
    int64_t                    next_msg;  /* number of the message next() returns */
    int64_t                    cap_frame; /* capacity of s->frames */
};

typedef enum qp_status (*decode_fn)(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                    struct decoded *d, struct qp_err *err);

static enum qp_status decode_frame(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                   struct decoded *d, struct qp_err *err);
static enum qp_status decode_compressed(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                        struct decoded *d, struct qp_err *err);
static enum qp_status decode_raw(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                 struct decoded *d, struct qp_err *err);

static const struct kind_row {
    const char *name;     /* for the summary */
    const char *schema;   /* schema name; NULL: not a playable kind */
    const char *encoding; /* message encoding */
    decode_fn   decode;
} kinds[] = {
    [QP_REPLAY_CHANNEL_FRAME] = {"qpercept frames", "qpercept.v1.Frame", "protobuf", decode_frame},
    [QP_REPLAY_CHANNEL_COMPRESSED] = {"foxglove CompressedImage", "foxglove.CompressedImage",
                                      "protobuf", decode_compressed},
    [QP_REPLAY_CHANNEL_RAW] = {"foxglove RawImage", "foxglove.RawImage", "protobuf", decode_raw},
    [QP_REPLAY_CHANNEL_UNSUPPORTED] = {"skipped", NULL, NULL, NULL},
    [QP_REPLAY_CHANNEL_OTHER]       = {"ignored", NULL, NULL, NULL},
    [QP_REPLAY_CHANNEL_UNSELECTED]  = {"not selected", NULL, NULL, NULL},
};
_Static_assert(sizeof kinds / sizeof kinds[0] == QP_REPLAY_CHANNEL_KIND_COUNT, "channel kinds");

const char *qp_replay_channel_kind_name(enum qp_replay_channel_kind k)
{
    return k >= 0 && k < QP_REPLAY_CHANNEL_KIND_COUNT ? kinds[k].name : "unknown";
}

static bool playable(enum qp_replay_channel_kind k)
{
    return k >= 0 && k < QP_REPLAY_CHANNEL_KIND_COUNT && kinds[k].decode;
}

bool qp_replay_is_mcap(const char *path)
{
    static const uint8_t magic[5] = {0x89, 'M', 'C', 'A', 'P'}; /* then the version, "0\r\n" */
    size_t               n        = strlen(path);
    if (n > 5 && strcasecmp(path + n - 5, ".mcap") == 0)
        return true;
    uint8_t head[5];
    FILE   *f  = fopen(path, "rb");
    bool    ok = f && fread(head, 1, sizeof head, f) == sizeof head &&
              memcmp(head, magic, sizeof magic) == 0;
    if (f)
        (void)fclose(f);
    return ok;
}

/* ===== A minimal protobuf reader (foxglove messages) ===== */

struct pb {
    const uint8_t *p, *end;
};

struct pb_field {
    uint32_t       num;
    uint64_t       v; /* varint, fixed32, fixed64 */
    const uint8_t *bytes;
    size_t         len; /* length-delimited */
};

static bool pb_varint(struct pb *c, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The next field: 1, 0 at the end, -1 when malformed. */
static int pb_next(struct pb *c, struct pb_field *f)
{
    uint64_t key, len;
    if (c->p == c->end)
        return 0;
    if (!pb_varint(c, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
        return -1;
    f->num   = (uint32_t)(key >> 3);
    f->v     = 0;
    f->bytes = NULL; /* callers tell scalars from bytes by this */
    f->len   = 0;
    switch (key & 7) {
    case 0:
        return pb_varint(c, &f->v) ? 1 : -1;
    case 1:
    case 5: {
        int n = (key & 7) == 1 ? 8 : 4;
        if (c->end - c->p < n)
            return -1;
        f->v = le(c->p, n);
        c->p += n;
        return 1;
    }
    case 2:
        if (!pb_varint(c, &len) || len > (uint64_t)(c->end - c->p))
            return -1;
        f->bytes = c->p;
        f->len   = (size_t)len;
        c->p += len;
        return 1;
    default: /* groups (3, 4) are not in these schemas; 6, 7 do not exist */
        return -1;
    }
}

/* ===== The decoders (the kinds table) ===== */

static enum qp_status decode_frame(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                   struct decoded *d, struct qp_err *err)
{
    if (msg->len > m->dec_cap) { /* pass 1 only: pass 2 meets the same messages */
        size_t cap = msg->len > ((size_t)4 << 20) ? msg->len : (size_t)4 << 20;
        qp_wire_decoder_free(m->dec);
        m->dec     = NULL;
        m->dec_cap = 0;
        if (cap > ((size_t)1 << 30))
            return qp_fail(err, QP_E_FORMAT, "a Frame of %zu bytes (over 1 GiB)", msg->len);
        enum qp_status st = qp_wire_decoder_new(cap, 0, &m->dec, err);
        if (st != QP_OK)
            return st;
        m->dec_cap = cap;
    }
    struct qp_wire_frame f;
    if (qp_wire_decode_frame(m->dec, msg->data, msg->len, &f, NULL, err) != QP_OK)
        return QP_E_FORMAT;
    snprintf(d->stream, sizeof d->stream, "%s", f.header.stream);
    if (f.data != QP_WIRE_DATA_INLINE) {
        d->got = GOT_SHM;
        return QP_OK;
    }
    d->got = GOT_FRAME;
    d->p   = (struct qp_replay_payload){f.pixels, f.pixels_bytes, f.width,
                                        f.height, f.stride,       (enum qp_frame_format)f.format};
    return QP_OK;
}

static const struct {
    const char          *name;
    enum qp_frame_format format;
} compressed_formats[] = {
    {"jpeg", QP_FRAME_FORMAT_JPEG},
    {"jpg", QP_FRAME_FORMAT_JPEG},
    {"png", QP_FRAME_FORMAT_PNG},
};

static enum qp_status decode_compressed(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                        struct decoded *d, struct qp_err *err)
{
    struct pb       c = {msg->data, msg->data + msg->len};
    struct pb_field f;
    const uint8_t  *data = NULL, *fmt = (const uint8_t *)"";
    size_t          n = 0, fmt_len = 0;
    int             k;
    (void)m;
    while ((k = pb_next(&c, &f)) == 1) {
        if (f.num == 2 && f.bytes) /* bytes data = 2 */
            data = f.bytes, n = f.len;
        else if (f.num == 3 && f.bytes) /* string format = 3 */
            fmt = f.bytes, fmt_len = f.len;
    }
    if (k < 0)
        return qp_fail(err, QP_E_FORMAT, "not a foxglove.CompressedImage (malformed protobuf)");
    d->got = GOT_UNSUPPORTED;
    snprintf(d->why, sizeof d->why, "format '%.*s'", (int)(fmt_len < 40 ? fmt_len : 40),
             (const char *)fmt);
    for (size_t i = 0; i < sizeof compressed_formats / sizeof compressed_formats[0]; i++)
        if (fmt_len == strlen(compressed_formats[i].name) &&
            strncasecmp((const char *)fmt, compressed_formats[i].name, fmt_len) == 0)
            d->got = GOT_FRAME, d->p.format = compressed_formats[i].format;
    if (d->got != GOT_FRAME)
        return QP_OK;
    bool    png = d->p.format == QP_FRAME_FORMAT_PNG, is_png = false;
    int32_t w = 0, h = 0;
    if (!data)
        return qp_fail(err, QP_E_FORMAT, "CompressedImage without data");
    if (qp_image_probe(data, n, &w, &h, &is_png, err) != QP_OK) {
        qp_err_prefix(err, "CompressedImage data (%zu bytes)", n);
        return QP_E_FORMAT;
    }
    if (is_png != png)
        return qp_fail(err, QP_E_FORMAT, "CompressedImage of format '%s' holds a %s file",
                       png ? "png" : "jpeg", is_png ? "PNG" : "JPEG");
    d->p.width  = (uint32_t)w;
    d->p.height = (uint32_t)h;
    d->p.bytes  = data;
    d->p.n      = n;
    d->p.stride = 0;
    return QP_OK;
}

static const struct {
    const char          *name;
    enum qp_frame_format format;
    uint32_t             bpp;
} raw_encodings[] = {
    {"rgb8", QP_FRAME_FORMAT_RGB8, 3},
    {"bgr8", QP_FRAME_FORMAT_BGR8, 3},
    {"mono8", QP_FRAME_FORMAT_GRAY8, 1},
};

static enum qp_status decode_raw(struct qp_replay_mcap *m, const struct qp_mcap_message *msg,
                                 struct decoded *d, struct qp_err *err)
{
    struct pb       c = {msg->data, msg->data + msg->len};
    struct pb_field f;
    const uint8_t  *data = NULL, *enc = (const uint8_t *)"";
    size_t          n = 0, enc_len = 0;
    uint64_t        w = 0, h = 0, step = 0;
    uint32_t        bpp = 0;
    int             k;
    (void)m;
    /* fixed32 width = 2, height = 3, step = 5; string encoding = 4; bytes data = 6 */
    while ((k = pb_next(&c, &f)) == 1) {
        if (f.num == 2 && !f.bytes)
            w = f.v;
        else if (f.num == 3 && !f.bytes)
            h = f.v;
        else if (f.num == 5 && !f.bytes)
            step = f.v;
        else if (f.num == 4 && f.bytes)
            enc = f.bytes, enc_len = f.len;
        else if (f.num == 6 && f.bytes)
            data = f.bytes, n = f.len;
    }
    if (k < 0)
        return qp_fail(err, QP_E_FORMAT, "not a foxglove.RawImage (malformed protobuf)");
    d->got = GOT_UNSUPPORTED;
    snprintf(d->why, sizeof d->why, "encoding '%.*s'", (int)(enc_len < 40 ? enc_len : 40),
             (const char *)enc);
    for (size_t i = 0; i < sizeof raw_encodings / sizeof raw_encodings[0]; i++)
        if (enc_len == strlen(raw_encodings[i].name) &&
            memcmp(enc, raw_encodings[i].name, enc_len) == 0)
            d->got = GOT_FRAME, d->p.format = raw_encodings[i].format, bpp = raw_encodings[i].bpp;
    if (d->got != GOT_FRAME)
        return QP_OK;
    if (w < 1 || w > MAX_DIM || h < 1 || h > MAX_DIM)
        return qp_fail(err, QP_E_FORMAT, "RawImage of %llux%llu pixels (want 1..%d)",
                       (unsigned long long)w, (unsigned long long)h, MAX_DIM);
    if (step < w * bpp || step > w * bpp + 4096 || step * h > n)
        return qp_fail(err, QP_E_FORMAT,
                       "RawImage %llux%llu: step %llu and %zu data bytes do not fit (want step "
                       ">= %llu, step x height <= data)",
                       (unsigned long long)w, (unsigned long long)h, (unsigned long long)step, n,
                       (unsigned long long)w * bpp);
    d->p.bytes  = data;
    d->p.n      = (size_t)(step * h); /* trailing bytes beyond the last row are not sent */
    d->p.width  = (uint32_t)w;
    d->p.height = (uint32_t)h;
    d->p.stride = (uint32_t)step;
    return QP_OK;
}

/* ===== Channels ===== */

static bool selected(const char *topic, const struct qp_replay_source_opts *o)
{
    if (o->n_topics == 0)
        return true;
    for (int32_t i = 0; i < o->n_topics; i++)
        if (strcmp(o->topics[i], topic) == 0)
            return true;
    return false;
}

/* What channel c is: a kinds row by schema and message encoding. */
static void classify(struct qp_replay_channel *c, const struct qp_replay_source_opts *o)
{
    c->kind = QP_REPLAY_CHANNEL_OTHER;
    for (int k = 0; k < QP_REPLAY_CHANNEL_KIND_COUNT; k++) {
        if (!kinds[k].schema || strcmp(c->schema, kinds[k].schema) != 0)
            continue;
        c->kind = (enum qp_replay_channel_kind)k;
        if (strcmp(c->encoding, kinds[k].encoding) != 0) {
            c->kind = QP_REPLAY_CHANNEL_UNSUPPORTED;
            snprintf(c->why, sizeof c->why, "message encoding '%.40s'", c->encoding);
        }
    }
    if (c->kind != QP_REPLAY_CHANNEL_OTHER && !selected(c->topic, o))
        c->kind = QP_REPLAY_CHANNEL_UNSELECTED;
}

/* The index in m->chans of channel id, added (and classified) on first sight. */
static enum qp_status channel(struct qp_replay_mcap *m, uint16_t id,
                              const struct qp_replay_source_opts *o, int32_t *out,
                              struct qp_err *err)
{
    if (m->by_id[id] >= 0) {
        *out = m->by_id[id];
        return QP_OK;
    }
    const struct qp_mcap_channel *mc = qp_mcap_reader_channel(m->r, id);
    QP_ASSERT(mc); /* the reader knows every message's channel */
    if (m->n_chans == m->cap_chans) {
        int32_t                   cap = m->cap_chans ? 2 * m->cap_chans : 16;
        struct qp_replay_channel *c   = qp_realloc(m->chans, (size_t)cap * sizeof *c);
        uint32_t                 *fm  = qp_realloc(m->formats, (size_t)cap * sizeof *fm);
        int64_t                  *nk  = qp_realloc(m->n_kept, (size_t)cap * sizeof *nk);
        m->chans                      = c ? c : m->chans;
        m->formats                    = fm ? fm : m->formats;
        m->n_kept                     = nk ? nk : m->n_kept;
        if (!c || !fm || !nk)
            return qp_fail(err, QP_E_NOMEM, "%s: %d channels", m->path, (int)cap);
        m->cap_chans = cap;
    }
    const struct qp_mcap_schema *sc =
        mc->schema_id ? qp_mcap_reader_schema(m->r, mc->schema_id) : NULL;
    struct qp_replay_channel *c = &m->chans[m->n_chans];
    memset(c, 0, sizeof *c);
    c->id     = id;
    c->stream = -1;
    snprintf(c->topic, sizeof c->topic, "%s", mc->topic);
    snprintf(c->schema, sizeof c->schema, "%s", sc ? sc->name : "");
    snprintf(c->encoding, sizeof c->encoding, "%s", mc->message_encoding);
    classify(c, o);
    m->formats[m->n_chans] = 0;
    m->n_kept[m->n_chans]  = 0;
    *out = m->by_id[id] = m->n_chans++;
    return QP_OK;
}

/* ===== Streams ===== */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* in as a stream name (server/config.c's rule: 1..63 of A-Z a-z 0-9 _ . -):
 * leading '/' dropped, any other byte '_'. */
static void sanitize(const char *in, char out[QP_REPLAY_NAME_MAX])
{
    while (*in == '/')
        in++;
    size_t k = 0;
    for (; in[k] && k + 1 < QP_REPLAY_NAME_MAX; k++)
        out[k] = (char)(name_char(in[k]) ? in[k] : '_');
    out[k] = '\0';
    if (k == 0)
        snprintf(out, QP_REPLAY_NAME_MAX, "mcap");
}

static int32_t find_stream(const struct qp_replay_source *s, const char *name)
{
    for (int32_t i = 0; i < s->n_streams; i++)
        if (strcmp(s->names[i], name) == 0)
            return i;
    return -1;
}

/* Add name (unique: a new stream, _2, _3, ... appended when taken) or find
 * it (!unique). */
static enum qp_status stream_of(struct qp_replay_source *s, const char *name, bool unique,
                                int32_t *idx, struct qp_err *err)
{
    char try[QP_REPLAY_NAME_MAX];
    snprintf(try, sizeof try, "%s", name);
    for (int k = 2; (*idx = find_stream(s, try)) >= 0; k++) {
        if (!unique)
            return QP_OK;
        char suffix[16];
        int  ns = snprintf(suffix, sizeof suffix, "_%d", k);
        snprintf(try, sizeof try, "%.*s%s", QP_REPLAY_NAME_MAX - 1 - ns, name, suffix);
    }
    if (s->n_streams == QP_REPLAY_MAX_STREAMS)
        return qp_fail(err, QP_E_INVAL, "more than %d streams (at '%s')", QP_REPLAY_MAX_STREAMS,
                       try);
    memcpy(s->names[s->n_streams], try, sizeof try);
    *idx = s->n_streams++;
    return QP_OK;
}

/* ===== Pass 1 ===== */

static enum qp_status add_frame(struct qp_replay_source *s, int32_t key, uint64_t log_ns,
                                int64_t msg, struct qp_err *err)
{
    struct qp_replay_mcap *m = s->mcap;
    if (s->n_frames == m->cap_frame) {
        int64_t                 cap = m->cap_frame ? 2 * m->cap_frame : 1024;
        struct qp_replay_frame *v   = qp_realloc(s->frames, (size_t)cap * sizeof *v);
        if (!v)
            return qp_fail(err, QP_E_NOMEM, "%s: %lld frames", m->path, (long long)cap);
        s->frames    = v;
        m->cap_frame = cap;
    }
    if (log_ns > (uint64_t)INT64_MAX)
        return qp_fail(err, QP_E_FORMAT, "%s: message %lld: time %llu is out of range", m->path,
                       (long long)msg, (unsigned long long)log_ns);
    s->frames[s->n_frames++] = (struct qp_replay_frame){key, (int64_t)log_ns, NULL, msg};
    return QP_OK;
}

/* Message number nr of pass 1: index it when it is a frame to play. */
static enum qp_status index_message(struct qp_replay_source            *s,
                                    const struct qp_replay_source_opts *o,
                                    const struct qp_mcap_message *msg, int64_t nr,
                                    struct qp_err *err)
{
    struct qp_replay_mcap *m = s->mcap;
    int32_t                ci;
    struct decoded         d  = {0};
    enum qp_status         st = channel(m, msg->channel_id, o, &ci, err);
    if (st != QP_OK)
        return st;
    struct qp_replay_channel *c = &m->chans[ci];
    c->n_messages++;
    if (!playable(c->kind))
        return QP_OK;
    if ((st = kinds[c->kind].decode(m, msg, &d, err)) != QP_OK) {
        qp_err_prefix(err, "%s: topic %s, message %lld (log time %llu ns)", m->path, c->topic,
                      (long long)nr, (unsigned long long)msg->log_time_ns);
        return st;
    }
    if (d.got == GOT_SHM) {
        m->info.n_shm++;
        return QP_OK;
    }
    if (d.got == GOT_UNSUPPORTED) { /* the whole channel: its frames so far are dropped later */
        c->kind = QP_REPLAY_CHANNEL_UNSUPPORTED;
        snprintf(c->why, sizeof c->why, "%s", d.why);
        return QP_OK;
    }
    int32_t key = -1 - ci; /* foxglove: named after its topic once all are known */
    if (c->kind == QP_REPLAY_CHANNEL_FRAME) {
        char name[QP_REPLAY_NAME_MAX];
        sanitize(d.stream, name);
        if ((st = stream_of(s, name, false, &key, err)) != QP_OK)
            return st;
        m->info.stream_formats[key] |= 1u << d.p.format;
    }
    m->formats[ci] |= 1u << d.p.format;
    m->n_kept[ci]++;
    if (d.p.n > m->info.max_bytes)
        m->info.max_bytes = d.p.n;
    size_t rgb = (size_t)d.p.width * d.p.height * 3;
    if (rgb > m->info.max_rgb_bytes)
        m->info.max_rgb_bytes = rgb;
    /* the sender's time: our recorder stores the capture stamp there */
    return add_frame(s, key, msg->publish_time_ns ? msg->publish_time_ns : msg->log_time_ns, nr,
                     err);
}

/* Name the foxglove streams, drop the frames of channels found unsupported
 * (and, without --topic, of the foxglove copies `qpercept record --foxglove`
 * writes beside our Frame channels: the same frames again), make times
 * monotonic and relative to the first frame. */
static enum qp_status finish(struct qp_replay_source *s, const struct qp_replay_source_opts *o,
                             struct qp_err *err)
{
    struct qp_replay_mcap *m      = s->mcap;
    bool                   frames = false;
    for (int32_t ci = 0; ci < m->n_chans; ci++)
        frames |= m->chans[ci].kind == QP_REPLAY_CHANNEL_FRAME && m->n_kept[ci] > 0;
    for (int32_t ci = 0; ci < m->n_chans && frames && o->n_topics == 0; ci++)
        if (playable(m->chans[ci].kind) && m->chans[ci].kind != QP_REPLAY_CHANNEL_FRAME &&
            strncmp(m->chans[ci].topic, FOXGLOVE_COPIES, strlen(FOXGLOVE_COPIES)) == 0)
            m->chans[ci].kind = QP_REPLAY_CHANNEL_UNSELECTED;
    for (int32_t ci = 0; ci < m->n_chans; ci++) {
        struct qp_replay_channel *c = &m->chans[ci];
        char                      name[QP_REPLAY_NAME_MAX];
        if (c->kind == QP_REPLAY_CHANNEL_FRAME || !playable(c->kind) || m->n_kept[ci] == 0)
            continue;
        sanitize(c->topic, name);
        enum qp_status st = stream_of(s, name, true, &c->stream, err);
        if (st != QP_OK)
            return st;
        m->info.stream_formats[c->stream] = m->formats[ci];
    }
    int64_t n = 0, prev = 0;
    for (int64_t j = 0; j < s->n_frames; j++) {
        struct qp_replay_frame f = s->frames[j];
        if (f.stream < 0) {
            const struct qp_replay_channel *c = &m->chans[-1 - f.stream];
            if (!playable(c->kind))
                continue;
            f.stream = c->stream;
        }
        if (n > 0 && f.t_ns < prev) {
            f.t_ns = prev;
            m->info.n_reordered++;
        }
        prev           = f.t_ns;
        s->frames[n++] = f;
        m->info.stream_frames[f.stream]++;
    }
    s->n_frames = n;
    if (n == 0) {
        const char *why = "";
        for (int32_t ci = 0; ci < m->n_chans && !*why; ci++)
            if (m->chans[ci].kind == QP_REPLAY_CHANNEL_UNSUPPORTED)
                why = m->chans[ci].why;
        return qp_fail(err, QP_E_INVAL,
                       "%s: nothing to play: no %sframes (of %s, %s or %s in protobuf) among its "
                       "%d channels%s%s%s",
                       m->path, m->info.n_shm ? "inline " : "", kinds[0].schema, kinds[1].schema,
                       kinds[2].schema, (int)m->n_chans, *why ? " (skipped: " : "", why,
                       *why                ? ")"
                       : m->info.truncated ? " (truncated: nothing before the first complete chunk)"
                                           : "");
    }
    int64_t t0 = s->frames[0].t_ns;
    if (s->frames[n - 1].t_ns - t0 > MAX_SPAN_NS)
        return qp_fail(err, QP_E_FORMAT, "%s: times span %.3g s: not one recording", m->path,
                       (double)(s->frames[n - 1].t_ns - t0) / 1e9);
    for (int64_t j = 0; j < n; j++)
        s->frames[j].t_ns -= t0;
    s->duration_ns = s->frames[n - 1].t_ns;
    return QP_OK;
}

static enum qp_status index_all(struct qp_replay_source *s, const struct qp_replay_source_opts *o,
                                struct qp_err *err)
{
    struct qp_replay_mcap *m = s->mcap;
    enum qp_status         st;
    /* the channels the summary (or the scan) knows, so --topic can be checked */
    for (size_t i = 0; i < qp_mcap_reader_n_channels(m->r); i++) {
        int32_t ci;
        if ((st = channel(m, qp_mcap_reader_channel_at(m->r, i)->id, o, &ci, err)) != QP_OK)
            return st;
    }
    for (int32_t t = 0; t < o->n_topics; t++) {
        bool found = false;
        for (int32_t ci = 0; ci < m->n_chans && !found; ci++)
            found = strcmp(m->chans[ci].topic, o->topics[t]) == 0;
        if (!found)
            return qp_fail(err, QP_E_INVAL, "%s: --topic %s: no such channel", m->path,
                           o->topics[t]);
    }
    for (int64_t nr = 0;; nr++) {
        struct qp_mcap_message msg;
        bool                   got;
        if ((st = qp_mcap_reader_next(m->r, &msg, &got, err)) != QP_OK)
            return st; /* the reader's message names the file and offset */
        if (!got)
            break;
        if ((st = index_message(s, o, &msg, nr, err)) != QP_OK)
            return st;
        m->info.n_messages++;
    }
    return finish(s, o, err);
}

enum qp_status qp_replay_mcap_open(const char *path, const struct qp_replay_source_opts *o,
                                   struct qp_replay_source *s, struct qp_err *err)
{
    memset(s, 0, sizeof *s);
    struct qp_replay_mcap *m = qp_calloc(1, sizeof *m);
    if (!m)
        return qp_fail(err, QP_E_NOMEM, "%s: replay state", path);
    s->mcap   = m;
    s->layout = QP_REPLAY_LAYOUT_MCAP;
    m->path   = qp_strdup(path);
    m->by_id  = qp_alloc(65536 * sizeof *m->by_id);
    if (!m->path || !m->by_id) {
        qp_replay_mcap_free(m);
        memset(s, 0, sizeof *s);
        return qp_fail(err, QP_E_NOMEM, "%s: channel table", path);
    }
    memset(m->by_id, 0xff, 65536 * sizeof *m->by_id); /* -1: not met */
    m->info.path      = m->path;
    enum qp_status st = qp_mcap_reader_open(path, NULL, &m->r, err);
    if (st == QP_OK) {
        const struct qp_mcap_info *mi = qp_mcap_reader_info(m->r);
        m->info.file_bytes            = mi->file_bytes;
        m->info.truncated             = !mi->has_summary && mi->end != QP_MCAP_END_DATA_END;
        m->info.recovered_bytes       = mi->has_summary ? mi->file_bytes : mi->recovered_bytes;
        m->info.recovered_messages    = mi->stats.n_messages;
        if (!mi->has_summary && mi->end == QP_MCAP_END_MALFORMED)
            st = qp_fail(err, QP_E_FORMAT, "%s: %s", path, mi->end_reason);
        else
            st = index_all(s, o, err);
    }
    if (st != QP_OK) {
        qp_replay_mcap_free(m);
        qp_free(s->frames);
        memset(s, 0, sizeof *s);
        return st;
    }
    m->info.channels   = m->chans;
    m->info.n_channels = m->n_chans;
    qp_mcap_reader_rewind(m->r);
    m->next_msg = 0;
    return QP_OK;
}

void qp_replay_mcap_free(struct qp_replay_mcap *m)
{
    if (!m)
        return;
    qp_mcap_reader_free(m->r);
    qp_wire_decoder_free(m->dec);
    qp_free(m->chans);
    qp_free(m->formats);
    qp_free(m->n_kept);
    qp_free(m->by_id);
    qp_free(m->path);
    qp_free(m);
}

const struct qp_replay_mcap_info *qp_replay_mcap_info(const struct qp_replay_mcap *m)
{
    return &m->info;
}

/* ===== Pass 2 ===== */

enum qp_status qp_replay_mcap_read(struct qp_replay_source *s, int64_t j,
                                   struct qp_replay_payload *out, struct qp_err *err)
{
    struct qp_replay_mcap *m = s->mcap;
    QP_ASSERT(m && j >= 0 && j < s->n_frames);
    int64_t                want = s->frames[j].msg;
    struct qp_mcap_message msg  = {0};
    bool                   got  = false;
    if (want < m->next_msg) {
        qp_mcap_reader_rewind(m->r);
        m->next_msg = 0;
    }
    while (m->next_msg <= want) {
        enum qp_status st = qp_mcap_reader_next(m->r, &msg, &got, err);
        if (st != QP_OK)
            return st;
        if (!got)
            return qp_fail(err, QP_E_FORMAT, "%s: message %lld is gone (the file changed?)",
                           m->path, (long long)want);
        m->next_msg++;
    }
    int32_t ci = m->by_id[msg.channel_id];
    if (ci < 0 || !playable(m->chans[ci].kind))
        return qp_fail(err, QP_E_FORMAT, "%s: message %lld is not the frame it was (file changed?)",
                       m->path, (long long)want);
    const struct qp_replay_channel *c = &m->chans[ci];
    struct decoded                  d = {0};
    enum qp_status                  st;
    if ((st = kinds[c->kind].decode(m, &msg, &d, err)) != QP_OK) {
        qp_err_prefix(err, "%s: topic %s, message %lld", m->path, c->topic, (long long)want);
        return st;
    }
    int32_t stream = c->stream;
    if (c->kind == QP_REPLAY_CHANNEL_FRAME) {
        char name[QP_REPLAY_NAME_MAX];
        sanitize(d.stream, name);
        stream = find_stream(s, name);
    }
    if (d.got != GOT_FRAME || stream != s->frames[j].stream)
        return qp_fail(err, QP_E_FORMAT, "%s: message %lld is not the frame it was (file changed?)",
                       m->path, (long long)want);
    *out = d.p;
    return QP_OK;
}

/* ===== Summary ===== */

static void print_formats(uint32_t mask, FILE *out)
{
    const char *sep = "";
    for (int f = 1; f < QP_FRAME_FORMAT_COUNT; f++)
        if (mask & (1u << f)) {
            fprintf(out, "%s%s", sep, qp_frame_format_name((enum qp_frame_format)f));
            sep = "+";
        }
}

/* The channels of one kind on one line: " topic (schema), ..." */
static void print_kind(const struct qp_replay_mcap_info *mi, enum qp_replay_channel_kind k,
                       const char *what, FILE *out)
{
    int n = 0;
    for (int32_t i = 0; i < mi->n_channels; i++)
        if (mi->channels[i].kind == k)
            fprintf(out, "%s%s (%s)", n++ ? ", " : what, mi->channels[i].topic,
                    mi->channels[i].schema[0] ? mi->channels[i].schema : "no schema");
    if (n)
        fputc('\n', out);
}

void qp_replay_mcap_print(const struct qp_replay_source *s, FILE *out)
{
    const struct qp_replay_mcap_info *mi = &s->mcap->info;
    if (mi->truncated)
        fprintf(out,
                "replay: %s is truncated: recovered %llu messages (%llu of %llu bytes) up to "
                "the last complete chunk\n",
                mi->path, (unsigned long long)mi->recovered_messages,
                (unsigned long long)mi->recovered_bytes, (unsigned long long)mi->file_bytes);
    for (int32_t i = 0; i < s->n_streams; i++) {
        const char *from = "qpercept.v1.Frame";
        for (int32_t c = 0; c < mi->n_channels; c++)
            if (mi->channels[c].stream == i)
                from = mi->channels[c].topic;
        fprintf(out, "  stream %s: %lld frames, ", s->names[i], (long long)mi->stream_frames[i]);
        print_formats(mi->stream_formats[i], out);
        fprintf(out, " (%s)\n", from);
    }
    if (mi->n_shm)
        fprintf(out, "  skipped %lld qpercept frames with shared-memory pixels (not in the file)\n",
                (long long)mi->n_shm);
    for (int32_t i = 0; i < mi->n_channels; i++)
        if (mi->channels[i].kind == QP_REPLAY_CHANNEL_UNSUPPORTED)
            fprintf(out, "  skipped channel %s: %s %s is not supported (%lld messages)\n",
                    mi->channels[i].topic, mi->channels[i].schema, mi->channels[i].why,
                    (long long)mi->channels[i].n_messages);
    print_kind(mi, QP_REPLAY_CHANNEL_UNSELECTED, "  not selected (--topic): ", out);
    print_kind(mi, QP_REPLAY_CHANNEL_OTHER, "  ignored (not images): ", out);
    if (mi->n_reordered)
        fprintf(out, "  %lld messages logged before the one ahead of them: sent right after it\n",
                (long long)mi->n_reordered);
}
