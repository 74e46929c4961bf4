// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qpe_int.h - the engine file's internal interface, shared by its files and
 * by nothing else (the public API and the format are in qpe.h):
 *
 *   qpe_codec.c  little-endian byte buffers: a growing writer, a bounded reader
 *   qpe_meta.c   the META section (key / value strings) and its checks
 *   qpe_attr.c   node attributes, field by field per op family
 *   qpe_write.c  qp_qpe_save: graph -> sections -> atomic file
 *   qpe_read.c   header, checksum, section table, META, target; the public
 *                load / read_meta / is_engine entry points
 *   qpe_graph.c  STRINGS, TENSORS, NODES, GRAPH, DATA -> qp_graph, then link
 *                and the inference cross-check
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "qpe/qpe.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "qpe: constant data is copied as host bytes; a big-endian host needs byte swapping"
#endif

#define QP_QPE_HEADER_BYTES 24u
#define QP_QPE_SECTION_BYTES 16u /* type, reserved, length */
#define QP_QPE_TENSOR_BYTES 112u /* one TENSORS record */
#define QP_QPE_NODE_BYTES 24u    /* fixed part of one NODES record */
#define QP_QPE_DATA_ALIGN 64u
#define QP_QPE_NO_DATA UINT64_MAX
#define QP_QPE_MAX_NODE_IO 4096 /* inputs or outputs of one node (qp_graph_add_node) */

/* Section types: serialized, numbers never change. */
enum qp_qpe_section {
    QP_QPE_SECTION_META    = 1,
    QP_QPE_SECTION_STRINGS = 2,
    QP_QPE_SECTION_TENSORS = 3,
    QP_QPE_SECTION_NODES   = 4,
    QP_QPE_SECTION_GRAPH   = 5,
    QP_QPE_SECTION_DATA    = 6,
    QP_QPE_SECTION_COUNT
};

const char *qp_qpe_section_name(uint32_t type); /* "META", ..., "?" */

/* ===== writer (qpe_codec.c) ===== */

/* Growing byte buffer; after an allocation failure every put is a no-op and
 * oom stays set, so writers check once at the end. */
struct qp_qpe_buf {
    uint8_t *p;
    size_t   n, cap;
    bool     oom;
};

void qp_qpe_buf_fini(struct qp_qpe_buf *b);
void qp_qpe_put_bytes(struct qp_qpe_buf *b, const void *src, size_t n);
void qp_qpe_put_zeros(struct qp_qpe_buf *b, size_t n);
void qp_qpe_put_u8(struct qp_qpe_buf *b, uint8_t v);
void qp_qpe_put_u32(struct qp_qpe_buf *b, uint32_t v);
void qp_qpe_put_u64(struct qp_qpe_buf *b, uint64_t v);
void qp_qpe_put_i32(struct qp_qpe_buf *b, int32_t v);
void qp_qpe_put_i64(struct qp_qpe_buf *b, int64_t v);
void qp_qpe_put_f32(struct qp_qpe_buf *b, float v);
void qp_qpe_put_f64(struct qp_qpe_buf *b, double v);
void qp_qpe_put_str(struct qp_qpe_buf *b, const char *s); /* u32 length, bytes, NUL */
/* Overwrite 4 / 8 bytes at off (< b->n): for lengths known only later. */
void qp_qpe_patch_u32(struct qp_qpe_buf *b, size_t off, uint32_t v);
void qp_qpe_patch_u64(struct qp_qpe_buf *b, size_t off, uint64_t v);

/* ===== reader (qpe_codec.c) ===== */

/* Bounded reader over one section's payload. A read past the end returns 0
 * and sets bad; pos stays at the failed read so messages can name it. base
 * is the payload's file offset, for messages. */
struct qp_qpe_rd {
    const uint8_t *p;
    size_t         n, pos;
    uint64_t       base;
    bool           bad;
};

uint8_t  qp_qpe_get_u8(struct qp_qpe_rd *r);
uint32_t qp_qpe_get_u32(struct qp_qpe_rd *r);
uint64_t qp_qpe_get_u64(struct qp_qpe_rd *r);
int32_t  qp_qpe_get_i32(struct qp_qpe_rd *r);
int64_t  qp_qpe_get_i64(struct qp_qpe_rd *r);
float    qp_qpe_get_f32(struct qp_qpe_rd *r);
double   qp_qpe_get_f64(struct qp_qpe_rd *r);
/* A str in place (not copied): NULL with *why set when it runs past the end,
 * has no NUL terminator or holds a NUL. */
const char *qp_qpe_get_str(struct qp_qpe_rd *r, uint32_t *len, const char **why);
/* Bytes left to read. */
size_t qp_qpe_rd_left(const struct qp_qpe_rd *r);
/* Little-endian loads from raw bytes (the header). */
uint32_t qp_qpe_load_u32(const uint8_t *p);
uint64_t qp_qpe_load_u64(const uint8_t *p);

/* ===== META (qpe_meta.c) ===== */

/* Append META's payload for meta and source; QP_E_INVAL naming the field
 * when a value does not fit the format. */
enum qp_status qp_qpe_meta_write(struct qp_qpe_buf *b, const struct qp_qpe_meta *meta,
                                 const char *source, const char *path, struct qp_err *err);
/* Parse META's payload into meta (zeroed first; report qp_alloc'ed).
 * QP_E_FORMAT naming path, byte offset and key. */
enum qp_status qp_qpe_meta_read(struct qp_qpe_rd *r, const char *path, struct qp_qpe_meta *meta,
                                struct qp_err *err);

/* ===== attributes (qpe_attr.c) ===== */

/* Append n's attributes (its op family's fields). */
void qp_qpe_attr_write(struct qp_qpe_buf *b, const struct qp_node *n);
/* Read n->op's attribute fields into n->attr; false with a reason in why
 * (a read past the end or a value outside its enum). */
bool qp_qpe_attr_read(struct qp_qpe_rd *r, struct qp_node *n, char *why, size_t why_n);

/* ===== loading the graph (qpe_graph.c) ===== */

/* The rules a tensor record must meet, shared by writer and loader: true
 * with the reason in why when version 1 refuses t (dtype, layout, rank,
 * dims, byte size, shape_known, scale, zero point). */
bool qp_qpe_tensor_problem(const struct qp_tensor *t, char *why, size_t why_n);

struct qp_qpe_span { /* one section's payload in the file */
    uint64_t off, len;
};

/* Build g from the sections of a checksummed file held in memory, link it
 * and cross-check it by inference. */
enum qp_status qp_qpe_load_graph(const char *path, const uint8_t *file,
                                 const struct qp_qpe_span sect[QP_QPE_SECTION_COUNT],
                                 struct qp_graph *g, struct qp_err *err);
