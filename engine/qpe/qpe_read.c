// SPDX-License-Identifier: Apache-2.0
/*
 * qpe_read.c - opening an engine file: the header, the checksum, the
 * section table, META and the target, then handing the sections to the
 * graph loader (qpe_graph.c). Also the cheap META-only read and the magic
 * sniff.
 *
 * Checks run in the order qpe.h promises (size, magic, version, total size,
 * checksum, target) so a file from another version or target is named as
 * such rather than as corrupt. The whole file is read into one allocation
 * and checksummed before any section is parsed; sections must appear once
 * each, in order, back to back, so they cannot overlap.
 */
#define _POSIX_C_SOURCE 200809L
#include "qpe/qpe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/sha256.h"
#include "qpe/qpe_int.h"

#define REBUILD "rebuild it with `qpercept build`"

/* Smallest valid file: the header, six empty sections, the checksum. */
#define MIN_FILE_BYTES                                                                             \
    (QP_QPE_HEADER_BYTES + (QP_QPE_SECTION_COUNT - 1) * QP_QPE_SECTION_BYTES + QP_SHA256_BYTES)

static enum qp_status open_file(const char *path, FILE **f, uint64_t *size, struct qp_err *err)
{
    struct stat sb;
    *f = fopen(path, "rb");
    if (!*f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));
    if (fstat(fileno(*f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0) {
        (void)fclose(*f);
        *f = NULL;
        return qp_fail(err, QP_E_IO, "%s: not a regular file", path);
    }
    *size = (uint64_t)sb.st_size;
    return QP_OK;
}

static bool read_at(FILE *f, uint64_t off, void *dst, size_t n)
{
    return fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(dst, 1, n, f) == n;
}

static enum qp_status too_short(const char *path, uint64_t size, struct qp_err *err)
{
    return qp_fail(err, QP_E_FORMAT,
                   "%s: %" PRIu64 " bytes, too short for an engine file header (%u): "
                   "truncated; " REBUILD,
                   path, size, QP_QPE_HEADER_BYTES);
}

/* Size, magic, version, header size and total size of a file of size bytes
 * whose first bytes are hdr (QP_QPE_HEADER_BYTES of them when size allows). */
static enum qp_status check_header(const char *path, const uint8_t *hdr, uint64_t size,
                                   struct qp_err *err)
{
    if (size < 8)
        return too_short(path, size, err);
    if (memcmp(hdr, QP_QPE_MAGIC, 8) != 0)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: not a qpercept engine file (no QPENGINE magic); build one with "
                       "`qpercept build`",
                       path);
    if (size < QP_QPE_HEADER_BYTES)
        return too_short(path, size, err);
    uint32_t version = qp_qpe_load_u32(hdr + 8), header = qp_qpe_load_u32(hdr + 12);
    uint64_t total = qp_qpe_load_u64(hdr + 16);
    if (version != QP_QPE_VERSION)
        return qp_fail(
            err, QP_E_UNSUPPORTED,
            "%s: engine file format version %u, this qpercept reads version %u: " REBUILD, path,
            (unsigned)version, QP_QPE_VERSION);
    if (header != QP_QPE_HEADER_BYTES)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: header of %u bytes, format version 1 has %u: damaged; " REBUILD, path,
                       (unsigned)header, QP_QPE_HEADER_BYTES);
    if (total != size)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: the header says %" PRIu64 " bytes, the file has %" PRIu64
                       ": truncated or damaged; " REBUILD,
                       path, total, size);
    if (size < MIN_FILE_BYTES || size > QP_QPE_MAX_FILE_BYTES)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: %" PRIu64 " bytes, outside the %u .. %" PRIu64
                       " an engine file can have: " REBUILD,
                       path, size, (unsigned)MIN_FILE_BYTES, QP_QPE_MAX_FILE_BYTES);
    return QP_OK;
}

/* Open path, check its header, leave *f open on success. */
static enum qp_status open_checked(const char *path, FILE **f, uint64_t *size, struct qp_err *err)
{
    uint8_t        hdr[QP_QPE_HEADER_BYTES] = {0};
    enum qp_status st                       = open_file(path, f, size, err);
    if (st != QP_OK)
        return st;
    size_t n = *size < sizeof hdr ? (size_t)*size : sizeof hdr;
    if (!read_at(*f, 0, hdr, n))
        st = qp_fail(err, QP_E_IO, "%s: read error", path);
    else
        st = check_header(path, hdr, *size, err);
    if (st != QP_OK) {
        (void)fclose(*f);
        *f = NULL;
    }
    return st;
}

static enum qp_status section_fail(struct qp_err *err, const char *path, uint64_t at,
                                   const char *fmt, ...) QP_PRINTF(4, 5);

static enum qp_status section_fail(struct qp_err *err, const char *path, uint64_t at,
                                   const char *fmt, ...)
{
    char    why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return qp_fail(err, QP_E_FORMAT, "%s: section table at byte %" PRIu64 ": %s: " REBUILD, path,
                   at, why);
}

/* Walk the sections between the header and the checksum into sect[]. */
static enum qp_status walk_sections(const char *path, const uint8_t *file, uint64_t size,
                                    struct qp_qpe_span sect[QP_QPE_SECTION_COUNT],
                                    struct qp_err     *err)
{
    uint64_t pos = QP_QPE_HEADER_BYTES, end = size - QP_SHA256_BYTES;
    uint32_t want = QP_QPE_SECTION_META;
    for (; pos < end && want < QP_QPE_SECTION_COUNT; want++) {
        if (end - pos < QP_QPE_SECTION_BYTES)
            return section_fail(err, path, pos,
                                "a section header runs past the end (%" PRIu64 " bytes left)",
                                end - pos);
        uint32_t type = qp_qpe_load_u32(file + pos), reserved = qp_qpe_load_u32(file + pos + 4);
        uint64_t len = qp_qpe_load_u64(file + pos + 8);
        if (type != want)
            return section_fail(err, path, pos, "section type %u where %s belongs", (unsigned)type,
                                qp_qpe_section_name(want));
        if (reserved != 0)
            return section_fail(err, path, pos, "reserved word %u of %s is not 0",
                                (unsigned)reserved, qp_qpe_section_name(type));
        uint64_t room = end - pos - QP_QPE_SECTION_BYTES;
        if (len > room || (len + 7) / 8 * 8 > room)
            return section_fail(err, path, pos,
                                "length %" PRIu64 " of %s runs past the end of the file", len,
                                qp_qpe_section_name(type));
        sect[type].off = pos + QP_QPE_SECTION_BYTES;
        sect[type].len = len;
        pos            = sect[type].off + (len + 7) / 8 * 8;
        for (uint64_t p = sect[type].off + len; p < pos; p++)
            if (file[p] != 0)
                return section_fail(err, path, p, "padding after %s is not zero",
                                    qp_qpe_section_name(type));
    }
    if (want < QP_QPE_SECTION_COUNT)
        return section_fail(err, path, pos, "section %s is missing", qp_qpe_section_name(want));
    if (pos != end)
        return section_fail(err, path, pos, "%" PRIu64 " bytes after the last section", end - pos);
    return QP_OK;
}

static enum qp_status check_target(const char *path, const struct qp_qpe_meta *meta,
                                   const char *want, struct qp_err *err)
{
    if (!want || strcmp(meta->target, want) == 0)
        return QP_OK;
    return qp_fail(err, QP_E_UNSUPPORTED,
                   "%s: engine built for target '%s', this engine runs '%s': rebuild it for "
                   "'%s' with `qpercept build`",
                   path, meta->target, want, want);
}

/* Read the whole (header-checked) file and verify its checksum. */
static enum qp_status read_verified(const char *path, FILE *f, uint64_t size, uint8_t **out,
                                    struct qp_err *err)
{
    uint8_t *file = qp_alloc((size_t)size);
    if (!file)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory reading %" PRIu64 " bytes", path, size);
    if (!read_at(f, 0, file, (size_t)size)) {
        qp_free(file);
        return qp_fail(err, QP_E_IO, "%s: read error", path);
    }
    uint8_t          digest[QP_SHA256_BYTES];
    struct qp_sha256 s;
    qp_sha256_init(&s);
    qp_sha256_update(&s, file, (size_t)size - QP_SHA256_BYTES);
    qp_sha256_final(&s, digest);
    if (memcmp(digest, file + size - QP_SHA256_BYTES, QP_SHA256_BYTES) != 0) {
        qp_free(file);
        return qp_fail(err, QP_E_FORMAT,
                       "%s: checksum mismatch: the file is damaged (its SHA-256 differs from "
                       "the one it stores); " REBUILD,
                       path);
    }
    *out = file;
    return QP_OK;
}

enum qp_status qp_qpe_load(const char *path, const char *want_target, struct qp_graph *g,
                           struct qp_qpe_meta *meta, struct qp_err *err)
{
    FILE              *f    = NULL;
    uint8_t           *file = NULL;
    uint64_t           size = 0;
    struct qp_qpe_span sect[QP_QPE_SECTION_COUNT];
    memset(meta, 0, sizeof *meta);
    memset(sect, 0, sizeof sect);
    enum qp_status st = open_checked(path, &f, &size, err);
    if (st != QP_OK)
        return st;
    st = read_verified(path, f, size, &file, err);
    (void)fclose(f);
    if (st == QP_OK)
        st = walk_sections(path, file, size, sect, err);
    if (st == QP_OK) {
        struct qp_qpe_rd r = {file + sect[QP_QPE_SECTION_META].off,
                              (size_t)sect[QP_QPE_SECTION_META].len, 0,
                              sect[QP_QPE_SECTION_META].off, false};
        st                 = qp_qpe_meta_read(&r, path, meta, err);
    }
    if (st == QP_OK)
        st = check_target(path, meta, want_target, err);
    if (st == QP_OK)
        st = qp_qpe_load_graph(path, file, sect, g, err);
    qp_free(file);
    if (st != QP_OK)
        qp_qpe_meta_fini(meta);
    return st;
}

enum qp_status qp_qpe_read_meta(const char *path, struct qp_qpe_meta *meta, struct qp_err *err)
{
    FILE    *f    = NULL;
    uint8_t *buf  = NULL;
    uint64_t size = 0;
    uint8_t  sh[QP_QPE_SECTION_BYTES];
    memset(meta, 0, sizeof *meta);
    enum qp_status st = open_checked(path, &f, &size, err);
    if (st != QP_OK)
        return st;
    uint64_t room = size - QP_QPE_HEADER_BYTES - QP_QPE_SECTION_BYTES - QP_SHA256_BYTES;
    if (!read_at(f, QP_QPE_HEADER_BYTES, sh, sizeof sh)) {
        st = qp_fail(err, QP_E_IO, "%s: read error", path);
    } else if (qp_qpe_load_u32(sh) != QP_QPE_SECTION_META || qp_qpe_load_u32(sh + 4) != 0 ||
               qp_qpe_load_u64(sh + 8) > room) {
        st = section_fail(err, path, QP_QPE_HEADER_BYTES,
                          "META is not the first section (type %u) or runs past the end",
                          (unsigned)qp_qpe_load_u32(sh));
    } else {
        uint64_t len = qp_qpe_load_u64(sh + 8);
        buf          = qp_alloc((size_t)len);
        if (!buf)
            st = qp_fail(err, QP_E_NOMEM, "%s: out of memory reading META", path);
        else if (!read_at(f, QP_QPE_HEADER_BYTES + QP_QPE_SECTION_BYTES, buf, (size_t)len))
            st = qp_fail(err, QP_E_IO, "%s: read error", path);
        else {
            struct qp_qpe_rd r = {buf, (size_t)len, 0, QP_QPE_HEADER_BYTES + QP_QPE_SECTION_BYTES,
                                  false};
            st                 = qp_qpe_meta_read(&r, path, meta, err);
        }
    }
    qp_free(buf);
    (void)fclose(f);
    return st;
}

bool qp_qpe_is_engine(const char *path)
{
    char  magic[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool yes = fread(magic, 1, sizeof magic, f) == sizeof magic &&
               memcmp(magic, QP_QPE_MAGIC, sizeof magic) == 0;
    (void)fclose(f);
    return yes;
}
