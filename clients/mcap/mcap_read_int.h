// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * mcap_read_int.h - the MCAP reader's state, shared by its three files:
 * mcap_read.c (open: Header, Footer, summary or scan; the public
 * accessors), mcap_scan.c (walking the data section: records, chunks,
 * messages) and mcap_defs.c (the schema and channel tables).
 */
#include "clients/mcap/mcap_int.h"

/* A channel as the reader keeps it: one allocation holding this, the
 * metadata pairs and every string. */
struct qp_mcap_rchan {
    struct qp_mcap_channel pub;
    uint64_t               n_counted; /* messages the scan at open counted */
    struct qp_mcap_kv      kv[];
};

/* A record's frame: opcode and content [off + 9, end). */
struct qp_mcap_rec {
    uint8_t  op;
    uint64_t off, len, end;
};

/* Where the walk over the data section is. */
struct qp_mcap_iter {
    uint64_t         off;      /* next top-level record */
    bool             in_chunk; /* messages left in cbuf */
    size_t           cpos;     /* next record inside the chunk */
    size_t           clen;     /* the chunk's uncompressed bytes */
    enum qp_mcap_end end;      /* set once the walk is over */
    enum qp_status   sticky;   /* a malformed top-level record: every call fails */
    char             msg[sizeof(struct qp_err)]; /* its reason, or why the walk ended */
};

struct qp_mcap_reader {
    int                   fd;
    char                 *path;
    uint64_t              size;
    size_t                max_record;
    struct qp_mcap_codec *codec;
    struct qp_mcap_info   info;

    /* definitions, each array sorted by id */
    struct qp_mcap_schema **schemas;
    size_t                  n_schemas, schemas_cap;
    struct qp_mcap_rchan  **chans;
    size_t                  n_chans, chans_cap;
    size_t                  defs_bytes; /* all of them, capped by max_record */

    /* the summary's (or the scan's) tables behind info */
    struct qp_mcap_chunk_index   *chunks;
    size_t                        n_chunks, chunks_cap;
    struct qp_mcap_index_offset  *ioffs;
    size_t                        n_ioffs, ioffs_cap;
    struct qp_mcap_channel_count *counts;
    size_t                        n_counts;
    char                         *profile, *library;

    uint8_t *rec; /* one record's content */
    size_t   rec_cap;
    uint8_t *cbuf; /* one chunk, uncompressed */
    size_t   cbuf_cap;

    /* the data section walked by qp_mcap_reader_next */
    uint64_t                  data_start; /* first record after the Header */
    uint64_t                  data_end;   /* walk limit */
    bool                      strict_end; /* a record past data_end is malformed (not truncated) */
    enum qp_mcap_end          limit_end;  /* what reaching data_end means */
    char                      limit_msg[sizeof(struct qp_err)];
    bool                      scanning; /* the scan at open: count and index what passes */
    struct qp_mcap_iter       it;
    struct qp_mcap_read_stats st;
    uint64_t                  n_attachments, n_metadata; /* met by the walk */
};

/* pread exactly n bytes at off. QP_E_IO naming the path. */
enum qp_status qp_mcap_read_at(struct qp_mcap_reader *r, uint64_t off, void *buf, size_t n,
                               struct qp_err *err);

/* Grow *buf to hold n bytes (n <= max_record checked by the caller). */
enum qp_status qp_mcap_reserve(struct qp_mcap_reader *r, uint8_t **buf, size_t *cap, size_t n,
                               struct qp_err *err);

/* Parse a Schema / Channel record's content and add it: id 0 schemas and
 * ids already known are ignored (the first definition wins). QP_E_FORMAT
 * (a field beyond the record: "fields run past the record", or all
 * definitions beyond max_record), QP_E_NOMEM. Messages carry no path. */
enum qp_status        qp_mcap_defs_add_schema(struct qp_mcap_reader *r, const uint8_t *p, size_t n,
                                              struct qp_err *err);
enum qp_status        qp_mcap_defs_add_channel(struct qp_mcap_reader *r, const uint8_t *p, size_t n,
                                               struct qp_err *err);
struct qp_mcap_rchan *qp_mcap_defs_channel(const struct qp_mcap_reader *r, uint16_t id);
void                  qp_mcap_defs_free(struct qp_mcap_reader *r);

/* Walk one step (qp_mcap_reader_next's contract); also runs the scan at open. */
enum qp_status qp_mcap_scan_step(struct qp_mcap_reader *r, struct qp_mcap_message *m, bool *got,
                                 struct qp_err *err);

/* Position the walk at the first record of the data section. */
void qp_mcap_scan_rewind(struct qp_mcap_reader *r);
