// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * mcap.h - write and read MCAP recording files (https://mcap.dev/spec,
 * format version 0): qpercept's drive recorder and replayer sit on this.
 *
 * Writer: a file is <magic><Header>, then Schema and Channel records as they
 * are added (outside chunks, written at once), then Chunks of Message records
 * (compressed with zstd, lz4 frame, or none; CRC32 of the uncompressed records)
 * each followed by one Message Index per channel that has messages in it, and
 * on close <Data End (data section CRC)><summary: Schemas, Channels,
 * Statistics, Chunk Indexes><Summary Offsets><Footer (summary CRC)><magic>.
 * Each chunk is written out as soon as it fills, so a process killed while
 * recording leaves a file whose complete chunks the reader recovers.
 *
 * Reader: with a valid Footer it reads the summary (schemas, channels,
 * statistics, chunk indexes; summary CRC checked); without one (a truncated
 * recording) it scans the file from the start at open, record by record,
 * recovering every complete chunk, and reports how far it got and why it
 * stopped. Messages are then iterated in file order (not sorted by
 * log_time: a recording written by one writer is in arrival order), chunk
 * CRCs checked. Unknown opcodes, Attachments, Metadata and trailing fields of
 * known records are skipped, as the spec requires. A length that points
 * beyond the file or its enclosing record is refused with an error naming
 * the offset and record type; allocations are capped by the file size and
 * max_record_bytes, never by what a field claims.
 *
 * Memory. Writer: qp_mcap_writer_open allocates the chunk buffer
 * (chunk_bytes + max_message_bytes), the compression buffer (its bound) and
 * the output buffer, and warms the compressor; adding a schema or channel
 * allocates its record; qp_mcap_writer_write allocates nothing. At chunk
 * boundaries the chunk-index table and the message-index buffer may grow
 * (doubling). Reader: the record and chunk buffers grow to the largest
 * record / chunk met (never beyond max_record_bytes); schemas, channels and
 * chunk indexes are allocated as they are read (their total bounded by the
 * file); qp_mcap_reader_next allocates only when a record or chunk is larger
 * than any before it, or holds a schema / channel not met before.
 *
 * Threading: one thread at a time per writer or reader. Errors name the file.
 * Tested by tests/unit/test_mcap.c and, against the official implementation
 * (PyPI mcap), tests/e2e/test_mcap_conformance.c. Described in
 * clients/mcap/README.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Chunk compression, as named in Chunk.compression. */
enum qp_mcap_compression {
    QP_MCAP_COMPRESSION_NONE = 0, /* "" */
    QP_MCAP_COMPRESSION_ZSTD = 1, /* "zstd" */
    QP_MCAP_COMPRESSION_LZ4  = 2, /* "lz4": the LZ4 frame format */
    QP_MCAP_COMPRESSION_COUNT     /* (reader) a compression this library does not know */
};

/* "", "zstd", "lz4"; "unknown" out of range. Never NULL. */
const char *qp_mcap_compression_name(enum qp_mcap_compression c);

/* One key/value pair of a channel's metadata; strings borrowed. */
struct qp_mcap_kv {
    const char *key;
    const char *value;
};

/* One message. Writer: everything borrowed for the call. Reader: data
 * points into the reader's buffers, valid until the next qp_mcap_reader_*
 * call on it. */
struct qp_mcap_message {
    uint16_t       channel_id;
    uint32_t       sequence;        /* the publisher's counter (or the recorder's) */
    uint64_t       log_time_ns;     /* when it was recorded */
    uint64_t       publish_time_ns; /* when it was published; log_time_ns if unknown */
    const uint8_t *data;
    size_t         len;
};

/* ===== Writer ===== */

#define QP_MCAP_MAX_MESSAGE_BYTES ((size_t)1 << 30) /* upper bound of max_message_bytes */

struct qp_mcap_writer_opts {
    const char              *profile; /* Header.profile, e.g. "" or "x-qpercept"; NULL: "" */
    const char              *library; /* Header.library; NULL: "qpercept" */
    enum qp_mcap_compression compression;
    /* A chunk is written once its uncompressed records reach this many bytes
     * (4 KiB .. 1 GiB). Smaller chunks lose less to a crash and seek finer;
     * larger ones compress better. */
    size_t chunk_bytes;
    /* Largest message data qp_mcap_writer_write accepts (1 .. 1 GiB); sizes
     * the chunk buffer (chunk_bytes + this). */
    size_t max_message_bytes;
    int    zstd_level; /* zstd only; 0: 3 (zstd's default); 1 .. 19 */
};

/* zstd chunks of 1 MiB, messages up to 8 MiB (a 1080p RGB frame is 6.2 MB). */
#define QP_MCAP_WRITER_OPTS_DEFAULT                                                                \
    {                                                                                              \
        .profile = NULL, .library = NULL, .compression = QP_MCAP_COMPRESSION_ZSTD,                 \
        .chunk_bytes = (size_t)1 << 20, .max_message_bytes = (size_t)8 << 20, .zstd_level = 0      \
    }

struct qp_mcap_writer_stats {
    uint64_t n_messages;
    uint64_t n_chunks;      /* chunks written so far */
    uint64_t bytes_written; /* file size so far */
    uint16_t n_schemas, n_channels;
};

struct qp_mcap_writer; /* opaque */

/* Create (or truncate) path, allocate the buffers and write the magic and
 * Header. QP_E_INVAL for bad options, QP_E_NOMEM, QP_E_IO naming the path.
 * Finish with qp_mcap_writer_close (or abandon with qp_mcap_writer_free). */
enum qp_status qp_mcap_writer_open(const char *path, const struct qp_mcap_writer_opts *opts,
                                   struct qp_mcap_writer **out, struct qp_err *err);

/* Add a schema: name (protobuf: the fully-qualified message name, e.g.
 * "qpercept.v1.Frame"), encoding ("protobuf", "jsonschema", ...; "" for
 * none, then len must be 0) and data (protobuf: a binary FileDescriptorSet,
 * copied). Written to the file at once; *id receives its id (1, 2, ...).
 * QP_E_INVAL (65535 schemas already, NULL strings), QP_E_NOMEM, QP_E_IO. */
enum qp_status qp_mcap_writer_add_schema(struct qp_mcap_writer *w, const char *name,
                                         const char *encoding, const void *data, size_t len,
                                         uint16_t *id, struct qp_err *err);

/* Add a channel: topic, message encoding ("protobuf", "json", ...), the id
 * of a schema added before (0: none) and n_metadata key/value pairs (copied).
 * Written to the file at once; *id receives its id (1, 2, ...).
 * QP_E_INVAL (unknown schema, 65535 channels already), QP_E_NOMEM, QP_E_IO. */
enum qp_status qp_mcap_writer_add_channel(struct qp_mcap_writer *w, const char *topic,
                                          const char *message_encoding, uint16_t schema_id,
                                          const struct qp_mcap_kv *metadata, size_t n_metadata,
                                          uint16_t *id, struct qp_err *err);

/* Append one message to the open chunk; when the chunk reaches chunk_bytes
 * it is compressed and written with its message indexes. Allocates nothing
 * (except index-table growth at a chunk boundary). QP_E_INVAL: unknown
 * channel, or len > max_message_bytes (nothing written). QP_E_IO: the write
 * failed (disk full, ...): the message names the file and offset, the file
 * is cut back to its last complete chunk, and every later call on this
 * writer fails with QP_E_IO (close it). QP_E_NOMEM: the index tables could
 * not grow at a chunk boundary; the writer fails for good in the same way. */
enum qp_status qp_mcap_writer_write(struct qp_mcap_writer *w, const struct qp_mcap_message *msg,
                                    struct qp_err *err);

/* Write the open chunk now, even if it is not full (e.g. once a second, to
 * bound what a crash loses; each chunk costs compression ratio). Nothing to
 * do when the chunk is empty. Does not fsync. QP_E_IO as for write. */
enum qp_status qp_mcap_writer_flush(struct qp_mcap_writer *w, struct qp_err *err);

void qp_mcap_writer_stats(const struct qp_mcap_writer *w, struct qp_mcap_writer_stats *out);

/* Finish the file: the last chunk, Data End, the summary, the summary
 * offsets, the Footer and the closing magic; then fsync, close and free w
 * (always freed, even on error). QP_E_IO naming the file; a writer that
 * failed earlier returns its error. NULL: QP_OK. */
enum qp_status qp_mcap_writer_close(struct qp_mcap_writer *w, struct qp_err *err);

/* Abandon: close and free without writing anything more (the open chunk is
 * lost); the file then reads as a truncated recording. NULL is a no-op. */
void qp_mcap_writer_free(struct qp_mcap_writer *w);

/* ===== Reader ===== */

#define QP_MCAP_MAX_RECORD_BYTES_DEFAULT ((size_t)256 << 20)

struct qp_mcap_reader_opts {
    /* Largest record (and chunk, uncompressed) accepted; also the cap on all
     * schema and channel definitions together. 0: 256 MiB. */
    size_t max_record_bytes;
    /* Ignore the Footer and summary, scan the file as if it were truncated
     * (to get past a damaged summary). */
    bool ignore_summary;
};

struct qp_mcap_schema {
    uint16_t       id;
    const char    *name;
    const char    *encoding;
    const uint8_t *data;
    size_t         len;
};

struct qp_mcap_channel {
    uint16_t                 id;
    uint16_t                 schema_id; /* 0: none */
    const char              *topic;
    const char              *message_encoding;
    const struct qp_mcap_kv *metadata;
    size_t                   n_metadata;
};

struct qp_mcap_channel_count {
    uint16_t channel_id;
    uint64_t n_messages;
};

/* The Statistics record, or what the scan counted. */
struct qp_mcap_statistics {
    uint64_t                            n_messages;
    uint16_t                            n_schemas;
    uint32_t                            n_channels, n_attachments, n_metadata, n_chunks;
    uint64_t                            message_start_ns, message_end_ns; /* 0 without messages */
    const struct qp_mcap_channel_count *channel_counts; /* per channel; may be empty */
    size_t                              n_channel_counts;
};

struct qp_mcap_index_offset {
    uint16_t channel_id;
    uint64_t offset; /* of the channel's Message Index record after the chunk */
};

/* A Chunk Index (summary), or one synthesized by the scan (then without
 * message index offsets). */
struct qp_mcap_chunk_index {
    uint64_t                           message_start_ns, message_end_ns;
    uint64_t                           chunk_offset; /* of the Chunk record */
    uint64_t                           chunk_length; /* the whole record, opcode included */
    const struct qp_mcap_index_offset *message_index_offsets;
    size_t                             n_message_index_offsets;
    uint64_t                           message_index_length;
    enum qp_mcap_compression           compression; /* _COUNT: unknown to this reader */
    uint64_t                           compressed_bytes, uncompressed_bytes;
};

/* Where reading the data section stopped. */
enum qp_mcap_end {
    QP_MCAP_END_NONE      = 0, /* not there yet */
    QP_MCAP_END_DATA_END  = 1, /* at the Data End record: the data section is complete */
    QP_MCAP_END_EOF       = 2, /* at the end of the file / data section, without Data End */
    QP_MCAP_END_TRUNCATED = 3, /* a record runs past the end of the file: cut short */
    QP_MCAP_END_MALFORMED = 4, /* a record that cannot be parsed; end_reason says which */
    QP_MCAP_END_COUNT
};

/* "", "data end", "end of file", "truncated", "malformed"; never NULL. */
const char *qp_mcap_end_name(enum qp_mcap_end e);

/* What the reader learnt at open; owned by the reader. */
struct qp_mcap_info {
    const char               *profile, *library; /* the Header's */
    uint64_t                  file_bytes;
    bool                      has_footer;     /* a valid Footer and closing magic */
    bool                      has_summary;    /* read from the summary section (else scanned) */
    bool                      has_statistics; /* a Statistics record, or the scan's count */
    struct qp_mcap_statistics stats;
    const struct qp_mcap_chunk_index *chunks;
    size_t                            n_chunks;
    /* Without a summary, the scan at open: the data it accepted ends at
     * recovered_bytes; n_bad_chunks chunks in it failed their CRC or could
     * not be decoded (their messages are not counted); end says why it
     * stopped and end_reason where ("" with a summary). */
    uint64_t         recovered_bytes;
    uint64_t         n_bad_chunks;
    enum qp_mcap_end end;
    char             end_reason[512];
};

/* Iteration so far. */
struct qp_mcap_read_stats {
    uint64_t         n_messages;   /* returned by qp_mcap_reader_next */
    uint64_t         n_chunks;     /* decoded and checked */
    uint64_t         n_bad_chunks; /* skipped: bad CRC, undecodable, malformed inside */
    uint64_t         n_skipped;    /* records skipped: unknown opcodes, attachments, ... */
    uint64_t         offset;       /* of the next top-level record */
    enum qp_mcap_end end;          /* QP_MCAP_END_NONE until next says there is no more */
};

struct qp_mcap_reader; /* opaque */

/* Open path and read its Header, then its summary, or (no valid Footer, or
 * opts->ignore_summary) scan it (see qp_mcap_info). opts NULL: defaults.
 * QP_E_IO (cannot open/read, naming the path), QP_E_FORMAT (not an MCAP
 * file, a Header cut short, a malformed or CRC-failing summary: the message
 * names the offset and record), QP_E_NOMEM. Free with qp_mcap_reader_free. */
enum qp_status qp_mcap_reader_open(const char *path, const struct qp_mcap_reader_opts *opts,
                                   struct qp_mcap_reader **out, struct qp_err *err);

void qp_mcap_reader_free(struct qp_mcap_reader *r); /* NULL is a no-op */

const struct qp_mcap_info *qp_mcap_reader_info(const struct qp_mcap_reader *r);

/* The next message in file order: QP_OK with *got true and *msg filled, or
 * *got false at the end (qp_mcap_reader_stats says why it ended). A chunk
 * that fails its CRC, cannot be decompressed or holds a malformed record
 * returns QP_E_FORMAT naming the chunk's offset, counted in n_bad_chunks;
 * the reader is then past that chunk and the next call goes on. A malformed
 * top-level record (a length beyond the data section, a field beyond its
 * record) returns QP_E_FORMAT naming its offset and type, and every later
 * call returns it again. QP_E_IO: the file could not be read. Every
 * message's channel (and schema) is known to qp_mcap_reader_channel when it
 * is returned. With a scan at open, iteration stops where the scan did. */
enum qp_status qp_mcap_reader_next(struct qp_mcap_reader *r, struct qp_mcap_message *msg, bool *got,
                                   struct qp_err *err);

/* Start the iteration again from the first record (for looping replay). */
void qp_mcap_reader_rewind(struct qp_mcap_reader *r);

void qp_mcap_reader_stats(const struct qp_mcap_reader *r, struct qp_mcap_read_stats *out);

/* Schemas and channels known so far (from the summary or the scan at open,
 * plus those met while iterating), by id or by position 0 .. n-1 (sorted by
 * id). NULL when unknown / out of range. Owned by the reader, valid until
 * qp_mcap_reader_free. */
const struct qp_mcap_channel *qp_mcap_reader_channel(const struct qp_mcap_reader *r, uint16_t id);
const struct qp_mcap_schema  *qp_mcap_reader_schema(const struct qp_mcap_reader *r, uint16_t id);
size_t                        qp_mcap_reader_n_channels(const struct qp_mcap_reader *r);
size_t                        qp_mcap_reader_n_schemas(const struct qp_mcap_reader *r);
const struct qp_mcap_channel *qp_mcap_reader_channel_at(const struct qp_mcap_reader *r, size_t i);
const struct qp_mcap_schema  *qp_mcap_reader_schema_at(const struct qp_mcap_reader *r, size_t i);

/* The first channel with this topic; NULL if none. */
const struct qp_mcap_channel *qp_mcap_reader_find_topic(const struct qp_mcap_reader *r,
                                                        const char                  *topic);

#ifdef __cplusplus
}
#endif
