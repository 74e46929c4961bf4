// SPDX-License-Identifier: Apache-2.0
/*
 * mcap_format.c - the fixed facts of the MCAP format both sides share: the
 * magic, the record names, the end-of-data names, CRC-32, and table growth.
 *
 * CRC-32 is zlib's (reflected polynomial 0xEDB88320, pre- and post-inverted),
 * computed eight bytes at a time ("slicing-by-8") because the writer runs it
 * over every byte it writes twice (chunk CRC and data-section CRC). The
 * tables are built once, under pthread_once.
 */
#include "clients/mcap/mcap_int.h"

#include <pthread.h>

#include "core/alloc.h"

const uint8_t qp_mcap_magic[QP_MCAP_MAGIC_LEN] = {0x89, 'M', 'C', 'A', 'P', 0x30, '\r', '\n'};

static const char *const op_names[QP_MCAP_OP_COUNT] = {
    [0]                           = "unknown",
    [QP_MCAP_OP_HEADER]           = "Header",
    [QP_MCAP_OP_FOOTER]           = "Footer",
    [QP_MCAP_OP_SCHEMA]           = "Schema",
    [QP_MCAP_OP_CHANNEL]          = "Channel",
    [QP_MCAP_OP_MESSAGE]          = "Message",
    [QP_MCAP_OP_CHUNK]            = "Chunk",
    [QP_MCAP_OP_MESSAGE_INDEX]    = "Message Index",
    [QP_MCAP_OP_CHUNK_INDEX]      = "Chunk Index",
    [QP_MCAP_OP_ATTACHMENT]       = "Attachment",
    [QP_MCAP_OP_ATTACHMENT_INDEX] = "Attachment Index",
    [QP_MCAP_OP_STATISTICS]       = "Statistics",
    [QP_MCAP_OP_METADATA]         = "Metadata",
    [QP_MCAP_OP_METADATA_INDEX]   = "Metadata Index",
    [QP_MCAP_OP_SUMMARY_OFFSET]   = "Summary Offset",
    [QP_MCAP_OP_DATA_END]         = "Data End",
};

const char *qp_mcap_op_name(unsigned op)
{
    return op < QP_MCAP_OP_COUNT ? op_names[op] : "unknown";
}

static const char *const end_names[QP_MCAP_END_COUNT] = {
    [QP_MCAP_END_NONE]      = "",
    [QP_MCAP_END_DATA_END]  = "data end",
    [QP_MCAP_END_EOF]       = "end of file",
    [QP_MCAP_END_TRUNCATED] = "truncated",
    [QP_MCAP_END_MALFORMED] = "malformed",
};

const char *qp_mcap_end_name(enum qp_mcap_end e)
{
    return (unsigned)e < QP_MCAP_END_COUNT ? end_names[e] : "unknown";
}

enum qp_status qp_mcap_grow(void **p, size_t *cap, size_t need, size_t elem, struct qp_err *err)
{
    if (need <= *cap)
        return QP_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    size_t bytes;
    if (!qp_size_mul(n, elem, &bytes))
        return qp_fail(err, QP_E_NOMEM, "mcap: a table of %zu entries overflows", n);
    void *q = qp_realloc(*p, bytes);
    if (!q)
        return qp_fail(err, QP_E_NOMEM, "mcap: out of memory growing a table to %zu bytes", bytes);
    *p   = q;
    *cap = n;
    return QP_OK;
}

/* ===== CRC-32 ===== */

static uint32_t       crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xFF] ^ (crc_table[t - 1][i] >> 8);
}

uint32_t qp_mcap_crc32(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t       c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = c ^ qp_mcap_get_u32(p), hi = qp_mcap_get_u32(p + 4);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^
            crc_table[2][(hi >> 8) & 0xFF] ^ crc_table[1][(hi >> 16) & 0xFF] ^
            crc_table[0][hi >> 24];
    }
    while (n--)
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}
