// SPDX-License-Identifier: Apache-2.0
/*
 * qpe_write.c - qp_qpe_save: a graph and its build metadata into an engine
 * file (format in qpe.h), written atomically.
 *
 * The whole file is composed in memory (sections, constants 64-byte
 * aligned, then the SHA-256 of it all), written to path.tmp, fsynced and
 * renamed over path, so a reader sees the old file or the new one, never a
 * mix. The writer checks the graph with the loader's own rules
 * (qp_qpe_tensor_problem) and refuses what the loader would refuse, so a
 * saved file always loads. Runtime-only fields (producer, n_uses, planner
 * offsets, backend prep) are not saved: linking and planning recompute them.
 */
#define _POSIX_C_SOURCE 200809L
#include "qpe/qpe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "qpe/qpe_int.h"

/* Start a section: type, reserved, a length patched by end_section. */
static size_t begin_section(struct qp_qpe_buf *b, enum qp_qpe_section type)
{
    qp_qpe_put_u32(b, (uint32_t)type);
    qp_qpe_put_u32(b, 0);
    qp_qpe_put_u64(b, 0);
    return b->n;
}

static void end_section(struct qp_qpe_buf *b, size_t payload_at)
{
    if (b->oom)
        return;
    qp_qpe_patch_u64(b, payload_at - 8, (uint64_t)(b->n - payload_at));
    qp_qpe_put_zeros(b, (8 - b->n % 8) % 8);
}

/* The flags the loader rebuilds from the structure (qpe.h: TENSORS). */
static uint32_t expected_flags(const struct qp_graph *g, int32_t t)
{
    uint32_t f = g->tensors[t].flags & QP_TENSOR_CONST;
    for (int32_t k = 0; k < g->n_inputs; k++)
        if (g->inputs[k] == t)
            f |= QP_TENSOR_INPUT;
    for (int32_t k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == t)
            f |= QP_TENSOR_OUTPUT;
    return f;
}

/* QP_E_INVAL when g holds something version 1 cannot represent or the
 * loader would refuse. */
static enum qp_status check_graph(const char *path, const struct qp_graph *g, struct qp_err *err)
{
    char why[160];
    for (int32_t i = 0; i < g->n_tensors; i++) {
        const struct qp_tensor *t = &g->tensors[i];
        if (qp_qpe_tensor_problem(t, why, sizeof why))
            return qp_fail(err, QP_E_INVAL, "%s: cannot save tensor '%s': %s", path, t->name, why);
        uint32_t want = expected_flags(g, i);
        if (t->flags != want)
            return qp_fail(err, QP_E_INVAL,
                           "%s: cannot save tensor '%s': flags 0x%x disagree with the graph's "
                           "inputs, outputs and constants (0x%x)",
                           path, t->name, (unsigned)t->flags, (unsigned)want);
        if ((t->flags & QP_TENSOR_CONST) && !t->data && qp_tensor_nbytes(t) != 0)
            return qp_fail(err, QP_E_INVAL, "%s: cannot save constant '%s': it has no data", path,
                           t->name);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if (!qp_op_info(n->op) || n->phys_axes)
            return qp_fail(err, QP_E_INVAL, "%s: cannot save node '%s': %s", path, n->name,
                           n->phys_axes ? "its axes are physical (save before the layout pass)"
                                        : "unknown op");
        for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
            /* in and out are separate arrays: passes may shrink n_in */
            int32_t t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
            if (t < -1 || t >= g->n_tensors)
                return qp_fail(err, QP_E_INVAL, "%s: cannot save node '%s': tensor index %d", path,
                               n->name, (int)t);
        }
    }
    return QP_OK;
}

static void put_tensor(struct qp_qpe_buf *b, const struct qp_tensor *t, uint32_t name,
                       uint64_t *data_at)
{
    qp_qpe_put_u32(b, name);
    qp_qpe_put_u32(b, (uint32_t)t->dtype);
    qp_qpe_put_u32(b, (uint32_t)t->layout);
    qp_qpe_put_u32(b, t->flags);
    qp_qpe_put_u32(b, (uint32_t)t->rank);
    qp_qpe_put_u32(b, t->shape_known ? 1 : 0);
    for (int32_t d = 0; d < QP_MAX_RANK; d++)
        qp_qpe_put_i64(b, d < t->rank ? t->dims[d] : 0);
    qp_qpe_put_f32(b, t->scale);
    qp_qpe_put_i32(b, t->zero_point);
    if (t->flags & QP_TENSOR_CONST) {
        uint64_t nbytes = qp_tensor_nbytes(t);
        qp_qpe_put_u64(b, *data_at);
        qp_qpe_put_u64(b, nbytes);
        *data_at = (*data_at + nbytes + QP_QPE_DATA_ALIGN - 1) & ~(uint64_t)(QP_QPE_DATA_ALIGN - 1);
    } else {
        qp_qpe_put_u64(b, QP_QPE_NO_DATA);
        qp_qpe_put_u64(b, 0);
    }
}

static void put_node(struct qp_qpe_buf *b, const struct qp_node *n, uint32_t name)
{
    qp_qpe_put_u32(b, (uint32_t)n->op);
    qp_qpe_put_u32(b, name);
    qp_qpe_put_u32(b, (uint32_t)n->n_in);
    qp_qpe_put_u32(b, (uint32_t)n->n_out);
    qp_qpe_put_u32(b, 0); /* flags: none in version 1 */
    size_t len_at = b->n;
    qp_qpe_put_u32(b, 0);
    for (int32_t k = 0; k < n->n_in; k++)
        qp_qpe_put_i32(b, n->in[k]);
    for (int32_t k = 0; k < n->n_out; k++)
        qp_qpe_put_i32(b, n->out[k]);
    size_t attr_at = b->n;
    qp_qpe_attr_write(b, n);
    if (!b->oom)
        qp_qpe_patch_u32(b, len_at, (uint32_t)(b->n - attr_at));
}

/* Header and every section; the checksum is added by the caller. Fails only
 * on metadata the format cannot hold. */
static enum qp_status compose(struct qp_qpe_buf *b, const char *path, const struct qp_graph *g,
                              int32_t n_live, const struct qp_qpe_meta *meta, struct qp_err *err)
{
    qp_qpe_put_bytes(b, QP_QPE_MAGIC, 8);
    qp_qpe_put_u32(b, QP_QPE_VERSION);
    qp_qpe_put_u32(b, QP_QPE_HEADER_BYTES);
    qp_qpe_put_u64(b, 0); /* total, patched at the end */

    size_t         at = begin_section(b, QP_QPE_SECTION_META);
    enum qp_status st = qp_qpe_meta_write(b, meta, g->source, path, err);
    if (st != QP_OK)
        return st;
    end_section(b, at);

    at = begin_section(b, QP_QPE_SECTION_STRINGS);
    qp_qpe_put_u32(b, (uint32_t)(g->n_tensors + n_live));
    for (int32_t i = 0; i < g->n_tensors; i++)
        qp_qpe_put_str(b, g->tensors[i].name);
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            qp_qpe_put_str(b, g->nodes[i].name);
    end_section(b, at);

    at = begin_section(b, QP_QPE_SECTION_TENSORS);
    qp_qpe_put_u32(b, (uint32_t)g->n_tensors);
    qp_qpe_put_u32(b, 0);
    uint64_t data_at = 0;
    for (int32_t i = 0; i < g->n_tensors; i++)
        put_tensor(b, &g->tensors[i], (uint32_t)i, &data_at);
    end_section(b, at);

    at = begin_section(b, QP_QPE_SECTION_NODES);
    qp_qpe_put_u32(b, (uint32_t)n_live);
    qp_qpe_put_u32(b, 0);
    for (int32_t i = 0, j = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            put_node(b, &g->nodes[i], (uint32_t)(g->n_tensors + j++));
    end_section(b, at);

    at = begin_section(b, QP_QPE_SECTION_GRAPH);
    qp_qpe_put_i64(b, g->opset);
    qp_qpe_put_u32(b, (uint32_t)g->n_inputs);
    qp_qpe_put_u32(b, (uint32_t)g->n_outputs);
    for (int32_t k = 0; k < g->n_inputs; k++)
        qp_qpe_put_i32(b, g->inputs[k]);
    for (int32_t k = 0; k < g->n_outputs; k++)
        qp_qpe_put_i32(b, g->outputs[k]);
    end_section(b, at);

    at = begin_section(b, QP_QPE_SECTION_DATA);
    for (int32_t i = 0; i < g->n_tensors; i++) {
        const struct qp_tensor *t = &g->tensors[i];
        if (!(t->flags & QP_TENSOR_CONST))
            continue;
        qp_qpe_put_zeros(b,
                         (QP_QPE_DATA_ALIGN - (b->n - at) % QP_QPE_DATA_ALIGN) % QP_QPE_DATA_ALIGN);
        if (t->data)
            qp_qpe_put_bytes(b, t->data, qp_tensor_nbytes(t));
    }
    end_section(b, at);
    return QP_OK;
}

/* Write all of buf to fd; false with errno set on failure. */
static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Make the rename durable; best effort (some file systems refuse to fsync a
 * directory, and the file itself is complete either way). */
static void sync_dir(const char *path)
{
    char        dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static enum qp_status write_atomic(const char *path, const struct qp_qpe_buf *b, struct qp_err *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return qp_fail(err, QP_E_INVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return qp_fail(err, QP_E_IO, "create %s: %s", tmp, strerror(errno));
    bool ok = write_all(fd, b->p, b->n) && fsync(fd) == 0;
    int  e  = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e  = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e  = errno;
    }
    if (!ok) {
        unlink(tmp);
        return qp_fail(err, QP_E_IO, "write %s: %s", path, strerror(e));
    }
    sync_dir(path);
    return QP_OK;
}

enum qp_status qp_qpe_save(const char *path, const struct qp_graph *g,
                           const struct qp_qpe_meta *meta, struct qp_err *err)
{
    int32_t n_live = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        n_live += !g->nodes[i].dead;
    enum qp_status st = check_graph(path, g, err);
    if (st != QP_OK)
        return st;

    struct qp_qpe_buf b = {0};
    st                  = compose(&b, path, g, n_live, meta, err);
    if (st == QP_OK) {
        qp_qpe_put_zeros(&b, QP_SHA256_BYTES);
        if (b.oom) {
            st = qp_fail(err, QP_E_NOMEM, "%s: out of memory composing the engine file", path);
        } else {
            size_t body = b.n - QP_SHA256_BYTES;
            qp_qpe_patch_u64(&b, 16, (uint64_t)b.n);
            struct qp_sha256 s;
            qp_sha256_init(&s);
            qp_sha256_update(&s, b.p, body);
            qp_sha256_final(&s, b.p + body);
            st = write_atomic(path, &b, err);
        }
    }
    qp_qpe_buf_fini(&b);
    return st;
}
