// SPDX-License-Identifier: Apache-2.0
/*
 * pb.c - protobuf-c glue for the importer: a ProtobufCAllocator over
 * qp_alloc / qp_free (so fault injection reaches every decode allocation),
 * a nesting guard, capped file reading, unpack and free.
 *
 * Decoding itself is protobuf-c's generated code. The one thing done here
 * on the wire bytes is the nesting guard: protobuf-c 1.4 unpacks nested
 * messages by recursion without a depth limit, and about 30 KB of hostile
 * Graph > Node > Attribute > Graph nesting overflows an 8 MiB stack. The
 * guard walks the tag / length framing only (no values are decoded), looks
 * each length-delimited field up in the message's generated descriptor and
 * descends only into message-typed fields, with an explicit stack bounded by
 * QP_ONNX_MAX_DEPTH. Anything it cannot frame is left to protobuf-c to reject.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "onnx/importer.h"

/* ---- allocator ---- */

struct pb_alloc_state {
    bool failed; /* an allocation failed: NULL from unpack means NOMEM */
};

static void *pb_alloc(void *data, size_t size)
{
    void *p = qp_alloc(size);
    if (!p && data)
        ((struct pb_alloc_state *)data)->failed = true;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    qp_free(p);
}

/* ---- nesting guard ---- */

/* Read a varint at buf[*pos..end); false when it runs past end or is too long. */
static bool wire_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= end)
            return false;
        uint8_t b = buf[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

struct guard_frame {
    const ProtobufCMessageDescriptor *desc;
    size_t                            end;
};

/* Skip one field's payload of wire type wt at *pos, or push a frame for a
 * sub-message. Returns 0 on success, 1 when malformed, 2 when too deep. */
static int guard_field(const uint8_t *buf, struct guard_frame *stack, int *depth, size_t *pos,
                       uint64_t tag)
{
    size_t   end = stack[*depth - 1].end;
    uint64_t v;
    switch (tag & 7) {
    case 0:
        return wire_varint(buf, end, pos, &v) ? 0 : 1;
    case 1:
        if (end - *pos < 8)
            return 1;
        *pos += 8;
        return 0;
    case 5:
        if (end - *pos < 4)
            return 1;
        *pos += 4;
        return 0;
    case 2:
        break;
    default:
        return 1; /* groups and reserved wire types: protobuf-c rejects them too */
    }
    if (!wire_varint(buf, end, pos, &v) || v > end - *pos)
        return 1;
    const ProtobufCFieldDescriptor *f = NULL;
    if ((tag >> 3) <= UINT32_MAX)
        f = protobuf_c_message_descriptor_get_field(stack[*depth - 1].desc, (unsigned)(tag >> 3));
    if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (*depth >= QP_ONNX_MAX_DEPTH)
            return 2;
        stack[*depth].desc = f->descriptor;
        stack[*depth].end  = *pos + (size_t)v;
        (*depth)++;
        return 0;
    }
    *pos += (size_t)v;
    return 0;
}

/* 0: framing fine and within depth; 1: malformed; 2: too deep. */
static int guard_nesting(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t n)
{
    struct guard_frame stack[QP_ONNX_MAX_DEPTH];
    int                depth = 1;
    size_t             pos   = 0;
    stack[0].desc            = desc;
    stack[0].end             = n;
    while (depth > 0) {
        if (pos == stack[depth - 1].end) {
            depth--;
            continue;
        }
        uint64_t tag;
        if (!wire_varint(buf, stack[depth - 1].end, &pos, &tag))
            return 1;
        int r = guard_field(buf, stack, &depth, &pos, tag);
        if (r)
            return r;
    }
    return 0;
}

/* ---- public to the importer ---- */

enum qp_status qp_onnx_pb_unpack(const ProtobufCMessageDescriptor *desc, const void *buf, size_t n,
                                 const char *what, ProtobufCMessage **out, struct qp_err *err)
{
    *out = NULL;
    if (!buf || n == 0)
        return qp_fail(err, QP_E_FORMAT, "%s: empty input (0 bytes)", what);
    int g = guard_nesting(desc, buf, n);
    if (g == 2)
        return qp_fail(err, QP_E_FORMAT, "%s: messages nested deeper than %d levels", what,
                       QP_ONNX_MAX_DEPTH);
    if (g == 1)
        return qp_fail(err, QP_E_FORMAT, "%s: not a valid %s protobuf (bad framing)", what,
                       desc->short_name);
    struct pb_alloc_state st = {false};
    ProtobufCAllocator    a  = {pb_alloc, pb_free, &st};
    ProtobufCMessage     *m  = protobuf_c_message_unpack(desc, &a, n, buf);
    if (!m) {
        if (st.failed)
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory decoding %zu bytes", what, n);
        return qp_fail(err, QP_E_FORMAT, "%s: not a valid %s protobuf", what, desc->short_name);
    }
    *out = m;
    return QP_OK;
}

void qp_onnx_pb_free(ProtobufCMessage *m)
{
    if (!m)
        return;
    ProtobufCAllocator a = {pb_alloc, pb_free, NULL};
    protobuf_c_message_free_unpacked(m, &a);
}

enum qp_status qp_onnx_read_file(const char *path, size_t max_bytes, void **buf, size_t *n,
                                 struct qp_err *err)
{
    enum qp_status st = QP_OK;
    struct stat    sb;
    *buf    = NULL;
    *n      = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = qp_fail(err, QP_E_IO, "%s: not a regular file", path);
        goto out;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > max_bytes) {
        st = qp_fail(err, QP_E_FORMAT, "%s: %lld bytes, more than the %zu accepted", path,
                     (long long)sb.st_size, max_bytes);
        goto out;
    }
    size_t size = (size_t)sb.st_size;
    void  *p    = qp_alloc(size);
    if (!p) {
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory reading %zu bytes", path, size);
        goto out;
    }
    if (fread(p, 1, size, f) != size) {
        qp_free(p);
        st = qp_fail(err, QP_E_IO, "%s: short read", path);
        goto out;
    }
    *buf = p;
    *n   = size;
out:
    fclose(f);
    return st;
}

const char *qp_onnx_dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    size_t k = (size_t)(slash - path);
    if (k == 0)
        return "/";
    if (k >= n)
        return NULL;
    memcpy(buf, path, k);
    buf[k] = '\0';
    return buf;
}
