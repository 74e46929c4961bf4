// SPDX-License-Identifier: Apache-2.0
/*
 * test_qpe_hostile.c - the .qpe loader on broken engine files generated from
 * valid ones (qpe_graphs.h): every truncation at and around every section
 * boundary plus random lengths, random single-bit flips (caught by the
 * checksum), and - the important part - targeted mutations with the
 * checksum recomputed, so the parser itself is attacked: huge counts, bad
 * ranks, dims, indices, enums, strings, data spans, section lengths, names,
 * cycles, attribute values, flags and metadata. Every case must fail with a
 * message naming the file and the words listed here, crash nothing and leak
 * nothing; allocation failure is injected at every allocation of a load.
 *
 * The test finds fields by walking the file with its own reading of the
 * format in qpe.h (not the loader's code), so it also checks that document.
 * Run under -DQP_SANITIZE=address,undefined to catch what asserts cannot.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/sha256.h"
#include "qpe/qpe.h"
#include "qpe_graphs.h"

static char dir[1024], mut_path[1100];

/* ===== the valid file, its layout, the mutable copy ===== */

enum { S_META = 1, S_STRINGS, S_TENSORS, S_NODES, S_GRAPH, S_DATA, S_COUNT };
enum { REC = 112 }; /* TENSORS record */
enum {
    T_NAME   = 0,
    T_DTYPE  = 4,
    T_LAYOUT = 8,
    T_FLAGS  = 12,
    T_RANK   = 16,
    T_KNOWN  = 20,
    T_DIMS   = 24,
    T_SCALE  = 88,
    T_ZP     = 92,
    T_DOFF   = 96,
    T_DBYTES = 104
};

static uint8_t *V, *B; /* valid file, mutated copy */
static size_t   VN, BN;
static size_t   sect_hdr[S_COUNT], sect_off[S_COUNT], sect_len[S_COUNT];

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        B[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void wr64(size_t off, uint64_t v)
{
    wr32(off, (uint32_t)v);
    wr32(off + 4, (uint32_t)(v >> 32));
}

static void wrf32(size_t off, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    wr32(off, u);
}

/* Offset of string i's length field. */
static size_t str_at(uint32_t i)
{
    size_t p = sect_off[S_STRINGS] + 4;
    for (uint32_t k = 0; k < i; k++)
        p += 4 + rd32(V + p) + 1;
    return p;
}

static const char *str(uint32_t i)
{
    return (const char *)V + str_at(i) + 4;
}

static uint32_t n_tensors(void)
{
    return rd32(V + sect_off[S_TENSORS]);
}

static size_t tensor_at(uint32_t i)
{
    return sect_off[S_TENSORS] + 8 + (size_t)i * REC;
}

static uint32_t tensor(const char *name)
{
    for (uint32_t i = 0; i < n_tensors(); i++)
        if (strcmp(str(rd32(V + tensor_at(i) + T_NAME)), name) == 0)
            return i;
    CU_FAIL_FATAL("tensor not in the file");
    return 0;
}

/* Offset of node i's record. */
static size_t node_at(uint32_t i)
{
    size_t p = sect_off[S_NODES] + 8;
    for (uint32_t k = 0; k < i; k++)
        p += 24 + 4 * ((size_t)rd32(V + p + 8) + rd32(V + p + 12)) + rd32(V + p + 20);
    return p;
}

static size_t node(const char *name)
{
    for (uint32_t i = 0; i < rd32(V + sect_off[S_NODES]); i++)
        if (strcmp(str(rd32(V + node_at(i) + 4)), name) == 0)
            return node_at(i);
    CU_FAIL_FATAL("node not in the file");
    return 0;
}

static size_t node_in(size_t rec, uint32_t k) /* input k; outputs follow inputs */
{
    return rec + 24 + 4 * (size_t)k;
}

static size_t node_attr(size_t rec)
{
    return rec + 24 + 4 * ((size_t)rd32(V + rec + 8) + rd32(V + rec + 12));
}

/* Offset of META's value (its length field) for key. */
static size_t meta_value(const char *key)
{
    size_t p = sect_off[S_META] + 4;
    for (uint32_t i = 0; i < rd32(V + sect_off[S_META]); i++) {
        size_t k = p;
        p += 4 + rd32(V + p) + 1;
        if (strcmp((const char *)V + k + 4, key) == 0)
            return p;
        p += 4 + rd32(V + p) + 1;
    }
    CU_FAIL_FATAL("meta key not in the file");
    return 0;
}

/* Save g as name, read it into V and walk its sections. */
static void use(struct qp_graph *g, const char *name)
{
    struct qp_qpe_meta m   = {.created_unix = 1700000000};
    struct qp_err      err = {{0}};
    char               path[1100];
    snprintf(m.target, sizeof m.target, "cpu");
    memset(m.model_sha256, 'b', 64);
    memset(m.calib_sha256, 'c', 64);
    snprintf(m.precision, sizeof m.precision, "mixed");
    snprintf(m.producer, sizeof m.producer, "qpercept test");
    m.report = "a report\n";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_EQUAL_FATAL(qp_qpe_save(path, g, &m, &err), QP_OK);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 0, SEEK_END);
    VN = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    free(V);
    free(B);
    V = malloc(VN + 64);
    B = malloc(VN + 64);
    CU_ASSERT_FATAL(V && B && fread(V, 1, VN, f) == VN);
    fclose(f);
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(rd64(V + 16), VN);
    size_t p = 24;
    for (int s = S_META; s < S_COUNT; s++) {
        CU_ASSERT_EQUAL_FATAL(rd32(V + p), (uint32_t)s);
        sect_hdr[s] = p;
        sect_off[s] = p + 16;
        sect_len[s] = (size_t)rd64(V + p + 8);
        p           = sect_off[s] + (sect_len[s] + 7) / 8 * 8;
    }
    CU_ASSERT_EQUAL_FATAL(p + 32, VN); /* the checksum closes the file */
}

static void reset(void)
{
    memcpy(B, V, VN);
    BN = VN;
}

/* Recompute the trailing checksum of B (and the header's total). */
static void fix(void)
{
    struct qp_sha256 s;
    wr64(16, BN);
    qp_sha256_init(&s);
    qp_sha256_update(&s, B, BN - 32);
    qp_sha256_final(&s, B + BN - 32);
}

/* Load B; it must fail with a message naming the file and holding words. */
static void expect_at(const char *words, const char *want_target, int line)
{
    FILE *f = fopen(mut_path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(B, 1, BN, f) == BN);
    fclose(f);
    int64_t            live = qp_alloc_live();
    struct qp_graph    g;
    struct qp_qpe_meta m;
    struct qp_err      err = {{0}};
    qp_graph_init(&g, "caller-source");
    enum qp_status st = qp_qpe_load(mut_path, want_target, &g, &m, &err);
    bool           ok = st != QP_OK && strstr(err.msg, mut_path) && strstr(err.msg, words);
    if (!ok)
        fprintf(stderr, "\n  line %d: got %s: %s\n  want an error with ...%s...\n", line,
                qp_status_str(st), err.msg, words);
    CU_ASSERT(ok);
    if (getenv("QP_TEST_VERBOSE"))
        fprintf(stderr, "\n  line %d: %s", line, err.msg);
    CU_ASSERT_PTR_NULL(m.report);
    CU_ASSERT_STRING_EQUAL(g.source, "caller-source");
    qp_qpe_meta_fini(&m);
    qp_graph_fini(&g);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}
#define EXPECT(words) expect_at(words, "cpu", __LINE__)

/* Reset, mutate, recompute the checksum, expect words. */
#define MUT(words, ...)                                                                            \
    do {                                                                                           \
        reset();                                                                                   \
        __VA_ARGS__;                                                                               \
        fix();                                                                                     \
        EXPECT(words);                                                                             \
    } while (0)

static bool load_ok(void)
{
    FILE *f = fopen(mut_path, "wb");
    CU_ASSERT_FATAL(f != NULL && fwrite(B, 1, BN, f) == BN);
    fclose(f);
    struct qp_graph    g;
    struct qp_qpe_meta m;
    struct qp_err      err = {{0}};
    qp_graph_init(&g, mut_path);
    enum qp_status st = qp_qpe_load(mut_path, "cpu", &g, &m, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  load: %s\n", err.msg);
    qp_qpe_meta_fini(&m);
    qp_graph_fini(&g);
    return st == QP_OK;
}

static uint32_t rng = 2463534242u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* ===== truncations and bit flips ===== */

static void cut_at(size_t n)
{
    if (n == 0 || n >= VN)
        return;
    reset();
    BN = n;
    EXPECT(n < 24 ? "" : "the header says");
    if (n < 24 || n == VN - 32)
        return;
    /* the same cut with a consistent header and checksum: the section walk
     * itself must notice what is missing */
    BN = n + 32;
    fix();
    EXPECT("");
}

static void test_truncated(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (qpe_graph_conv(&g)) {
        use(&g, "cut.qpe");
        reset();
        CU_ASSERT_FATAL(load_ok());
        for (int s = S_META; s < S_COUNT; s++) {
            size_t marks[3] = {sect_hdr[s], sect_off[s], sect_off[s] + sect_len[s]};
            for (int k = 0; k < 3; k++)
                for (int d = -9; d <= 9; d++)
                    cut_at((size_t)((long)marks[k] + d));
        }
        for (int d = 1; d <= 40; d++)
            cut_at(d <= 24 ? (size_t)d : VN - (size_t)d + 24);
        for (int i = 0; i < 200; i++)
            cut_at(1 + next() % (VN - 1));
    }
    qp_graph_fini(&g);
}

static void test_bit_flips(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (qpe_graph_families(&g)) {
        use(&g, "flip.qpe");
        for (int i = 0; i < 500; i++) {
            reset();
            size_t off = next() % VN;
            B[off] ^= (uint8_t)(1u << (next() % 8));
            EXPECT(off < 24 ? "" : "checksum mismatch");
        }
    }
    qp_graph_fini(&g);
}

/* ===== the parser, attacked with valid checksums ===== */

static void test_counts_and_sections(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "counts.qpe");
    size_t S = sect_off[S_STRINGS], T = sect_off[S_TENSORS], N = sect_off[S_NODES];
    size_t G = sect_off[S_GRAPH], M = sect_off[S_META];
    MUT("count 4294967295 is larger than the section", wr32(S, 0xffffffffu));
    MUT("count 2000 is larger than the section", wr32(S, 2000));
    MUT("bytes after the last string", wr32(S, rd32(V + S) - 1));
    MUT("count 2147483647 (reserved 0) does not match", wr32(T, 0x7fffffffu));
    MUT("does not match the section", wr32(T, n_tensors() + 1));
    MUT("does not match the section", wr32(T, n_tensors() - 1));
    MUT("count 4294967295 (reserved 0) does not fit the section", wr32(N, 0xffffffffu));
    MUT("bytes after the last node", wr32(N, 1));
    MUT("node 2: the record runs past the end", wr32(N, 3));
    MUT("reserved 1", wr32(T + 4, 1));
    MUT("reserved 9", wr32(N + 4, 9));
    MUT("section META at byte", wr32(M, 0xffffffffu));
    MUT("4294967295 inputs and 1 outputs do not match", wr32(G + 8, 0xffffffffu));
    MUT("opset 0 is out of range", wr64(G, 0));
    MUT("opset -5 is out of range", wr64(G, (uint64_t)-5));
    MUT("opset 1000000 is out of range", wr64(G, 1000000));
    MUT("graph input 0 is tensor 99", wr32(G + 16, 99));
    MUT("graph output 0 is tensor -1", wr32(G + 20, 0xffffffffu));
    /* section table: lengths that overlap the next section or run off the end */
    MUT("section table", wr64(sect_hdr[S_STRINGS] + 8, sect_len[S_STRINGS] + 16));
    MUT("section table", wr64(sect_hdr[S_STRINGS] + 8, sect_len[S_STRINGS] - 8));
    MUT("length 18446744073709551615 of TENSORS runs past the end",
        wr64(sect_hdr[S_TENSORS] + 8, UINT64_MAX));
    MUT("runs past the end of the file", wr64(sect_hdr[S_DATA] + 8, sect_len[S_DATA] + 64));
    MUT("section type 3 where NODES belongs", wr32(sect_hdr[S_NODES], S_TENSORS));
    MUT("section type 77 where META belongs", wr32(sect_hdr[S_META], 77));
    MUT("reserved word 5 of GRAPH is not 0", wr32(sect_hdr[S_GRAPH] + 4, 5));
    for (int s = S_META; s < S_COUNT; s++)
        if (sect_len[s] % 8) /* a section that has padding */
            MUT("padding after", B[sect_off[s] + sect_len[s]] = 1);
    MUT("bytes after the last section", memset(B + VN - 32, 0, 8); BN = VN + 8);
    MUT("section DATA is missing", BN = sect_hdr[S_DATA] + 32);
    MUT("header of 32 bytes", wr32(12, 32));
    reset();
    wr64(16, VN + 1);
    EXPECT("the header says");
    qp_graph_fini(&g);
}

static void test_strings(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "strings.qpe");
    size_t   s0 = str_at(0), s1 = str_at(1);
    uint32_t n0 = rd32(V + s0);
    MUT("string 0: string is not NUL-terminated", B[s0 + 4 + n0] = 'x');
    MUT("string 1: string holds a NUL byte", B[s1 + 5] = 0);
    MUT("string 0: string runs past the end", wr32(s0, 0xfffffff0u));
    MUT("string 0", wr32(s0, n0 + 1));
    size_t t0 = tensor_at(0), rec = node("conv");
    MUT("tensor 0: name index is out of range", wr32(t0 + T_NAME, 0xffffffffu));
    MUT("tensor 0: name index is out of range", wr32(t0 + T_NAME, rd32(V + sect_off[S_STRINGS])));
    MUT("node 0: name index is out of range", wr32(rec + 4, 0xffffffffu));
    MUT("tensor 'x' is defined twice",
        wr32(tensor_at(tensor("conv.w")) + T_NAME, rd32(V + tensor_at(tensor("x")) + T_NAME)));
    /* an unknown META key is ignored: rename "report" */
    reset();
    B[meta_value("report") - 7] = 'X';
    fix();
    CU_ASSERT(load_ok());
    qp_graph_fini(&g);
}

static void test_tensors(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "tensors.qpe");
    size_t x = tensor_at(tensor("x")), w = tensor_at(tensor("conv.w"));
    size_t c = tensor_at(tensor("c")), b = tensor_at(tensor("conv.b"));
    MUT("rank 9 is out of range", wr32(x + T_RANK, 9));
    MUT("rank 4294967295 is out of range", wr32(x + T_RANK, 0xffffffffu));
    MUT("dtype 7, layout 0", wr32(x + T_DTYPE, 7));
    MUT("dtype 4294967295", wr32(x + T_DTYPE, 0xffffffffu));
    MUT("layout 2", wr32(x + T_LAYOUT, 2));
    MUT("layout 1 is not plain", wr32(x + T_LAYOUT, 1));
    MUT("dims [1,4,4611686018427387903,4611686018427387903] are negative, overflow",
        wr64(x + T_DIMS + 16, INT64_MAX / 2);
        wr64(x + T_DIMS + 24, INT64_MAX / 2));
    MUT("are negative, overflow", wr64(x + T_DIMS + 8, (uint64_t)-4));
    MUT("exceed 2147483648 bytes", wr64(x + T_DIMS + 8, 1 << 30));
    MUT("dims past the rank are not 0", wr64(x + T_DIMS + 40, 3));
    MUT("shape_known is not 0 or 1", wr32(x + T_KNOWN, 2));
    MUT("scale nan is not finite", wrf32(x + T_SCALE, NAN));
    MUT("scale inf is not finite", wrf32(c + T_SCALE, INFINITY));
    MUT("scale -1 is not finite and >= 0", wrf32(c + T_SCALE, -1.0f));
    MUT("zero point 300 is outside", wr32(c + T_ZP, 300));
    MUT("zero point -129 is outside", wr32(c + T_ZP, (uint32_t)-129));
    MUT("flags hold unknown bits", wr32(x + T_FLAGS, rd32(V + x + T_FLAGS) | 8));
    MUT("data given to a non-constant", wr32(w + T_FLAGS, 0));
    MUT("data given to a non-constant", wr64(x + T_DOFF, 0));
    MUT("a constant without data", wr64(w + T_DOFF, UINT64_MAX));
    MUT("a constant without a shape", wr32(w + T_KNOWN, 0));
    MUT("data offset is not a multiple of 64", wr64(w + T_DOFF, rd64(V + w + T_DOFF) + 1));
    MUT("data runs past the end of DATA", wr64(b + T_DOFF, (sect_len[S_DATA] + 127) / 64 * 64));
    MUT("data runs past the end of DATA", wr64(b + T_DOFF, UINT64_MAX - 63));
    MUT("data runs past the end of DATA", wr64(b + T_DBYTES, UINT64_MAX - 8));
    MUT("data length differs from the tensor's byte size",
        wr64(w + T_DBYTES, rd64(V + w + T_DBYTES) - 4));
    MUT("flags 0x0, but the graph makes them 0x2", wr32(x + T_FLAGS, 0));
    MUT("flags 0x5, but the graph makes them 0x1",
        wr32(w + T_FLAGS, rd32(V + w + T_FLAGS) | QP_TENSOR_OUTPUT));
    /* shapes inference disagrees with */
    MUT("tensor 'c' is stored as f32 [1,6,6,6]", wr64(c + T_DIMS + 16, 6));
    MUT("tensor 'y' is stored as i32", wr32(tensor_at(tensor("y")) + T_DTYPE, QP_DTYPE_I32));
    MUT("weight dtype i32 differs", wr32(w + T_DTYPE, QP_DTYPE_I32));
    qp_graph_fini(&g);
}

static void test_nodes(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "nodes.qpe");
    size_t   conv = node("conv"), relu = node("relu"), a = node_attr(conv);
    uint32_t nt = n_tensors(), c = tensor("c"), y = tensor("y");
    MUT("node 0: op number is not known", wr32(conv, 19));
    MUT("node 0: op number is not known", wr32(conv, 0xffffffffu));
    MUT("node 0: op number is not known", wr32(conv, QP_OP_COUNT));
    MUT("node 0: more than 4096 inputs or outputs", wr32(conv + 8, 0xffffffffu));
    MUT("node 1: more than 4096 inputs or outputs", wr32(relu + 12, 5000));
    MUT("node 1: inputs, outputs or attributes run past the end", wr32(relu + 8, 4000));
    MUT("node 0: flags are not 0", wr32(conv + 16, 1));
    MUT("input 0 is tensor 99", wr32(node_in(conv, 0), 99));
    MUT("input 1 is tensor -2", wr32(node_in(conv, 1), (uint32_t)-2));
    MUT("output 0 is tensor", wr32(node_in(relu, 1), nt));
    MUT("the graph has a cycle through node", wr32(node_in(conv, 0), y));
    MUT("writes tensor 'c', which is already defined", wr32(node_in(relu, 1), c));
    MUT("writes tensor 'x', which is already defined", wr32(node_in(relu, 1), tensor("x")));
    MUT("reads 'y', which no node, input or initializer defines",
        wr32(node_in(relu, 1), 0xffffffffu);
        wr32(node_in(relu, 0), y));
    MUT("required input 0 is missing", wr32(node_in(conv, 0), 0xffffffffu));
    MUT("attribute auto_pad = 9 is not a valid value", wr32(a + 52, 9));
    MUT("attribute act = 99 is not a valid value", wr32(a + 56, 99));
    MUT("attributes run past their end", wr32(conv + 20, rd32(V + conv + 20) - 4));
    MUT("attribute bytes, its op family has", wr32(relu + 20, rd32(V + relu + 20) + 4);
        wr32(relu + 8, 0));
    MUT("must be positive", wr32(a + 8, (uint32_t)-1));       /* stride */
    MUT("must not be negative", wr32(a + 24, (uint32_t)-3));  /* pad */
    MUT("but its node gives f32 [1,6,5,5]", wr32(a + 36, 0)); /* right pad: another size */
    /* relu as an Add of three inputs: its attribute bytes become in[2], out[0] */
    MUT("has 3 inputs, expects 2 to 2", wr32(relu, QP_OP_ADD); wr32(relu + 8, 3);
        wr32(relu + 20, 0); wr32(node_in(relu, 1), c); wr32(node_in(relu, 2), c);
        wr32(node_in(relu, 3), y));
    /* an op of another family reading conv's attribute bytes */
    MUT("68 attribute bytes, its op family has 8", wr32(conv, QP_OP_ELU));
    qp_graph_fini(&g);
}

static void test_attribute_values(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_families(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "attrs.qpe");
    MUT("attribute ceil_mode = 2", B[node_attr(node("maxpool")) + 44] = 2);
    MUT("attribute auto_pad = 4", wr32(node_attr(node("avgpool")) + 40, 4));
    MUT("attribute to = 7", wr32(node_attr(node("cast")), 7));
    MUT("attribute mode = 3", wr32(node_attr(node("resize")), 3));
    MUT("attribute coord = 5", wr32(node_attr(node("resize")) + 4, 5));
    MUT("attribute nearest = 4", wr32(node_attr(node("resize")) + 8, 4));
    MUT("attribute mode = 3", wr32(node_attr(node("pad")), 3));
    MUT("attribute legacy = 7", B[node_attr(node("softmax")) + 4] = 7);
    MUT("attribute trans_b = 255", B[node_attr(node("gemm")) + 9] = 255);
    MUT("attribute to_nhwc = 2", B[node_attr(node("layout"))] = 2);
    MUT("attribute allowzero = 3", B[node_attr(node("reshape"))] = 3);
    MUT("axis 7 is out of range for rank 4", wr32(node_attr(node("concat")), 7));
    MUT("axis -9 is out of range", wr32(node_attr(node("gather")), (uint32_t)-9));
    MUT("Transpose", wr32(node_attr(node("transpose")) + 4, 0)); /* perm 0,0,3,1 */
    MUT("Transpose", wr32(node_attr(node("transpose")) + 4, 99));
    MUT("Softmax", wr32(node_attr(node("softmax")), 4));
    qp_graph_fini(&g);
}

static void test_meta_and_target(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "meta.qpe");
    size_t t = meta_value("target"), p = meta_value("precision");
    size_t h = meta_value("model_sha256"), c = meta_value("created_unix");
    MUT("key 'target' holds a byte that is not printable ASCII", B[t + 5] = 1);
    MUT("key 'precision' is not one of fp32, fp16, int8, mixed", B[p + 4] = 'n');
    MUT("key 'model_sha256' is not 64 lower-case hex digits", B[h + 10] = 'G');
    MUT("key 'created_unix' is not a decimal integer", B[c + 6] = 'x');
    MUT("key 'target' is missing", B[t - 2] = 'z'); /* "targez": unknown, ignored */
    MUT("key 'model_sha256' appears twice",
        memcpy(B + meta_value("calib_sha256") - 13, "model", 5));
    MUT("entry 0: string is not NUL-terminated", B[sect_off[S_META] + 4 + 4 + 6] = 'x');
    MUT("key 'target' is empty or too long", wr32(t, 0); B[t + 4] = 0);
    reset();
    expect_at("engine built for target 'cpu', this engine runs 'cuda sm_87'", "cuda sm_87",
              __LINE__);
    qp_graph_fini(&g);
}

/* Every allocation of a load may fail: QP_E_NOMEM, nothing leaks. */
static void test_fault_injection(void)
{
    QP_TEST_RAN();
    struct qp_graph g;
    if (!qpe_graph_families(&g)) {
        qp_graph_fini(&g);
        return;
    }
    use(&g, "oom.qpe");
    reset();
    CU_ASSERT_FATAL(load_ok());
    int64_t live = qp_alloc_live(), fails = 0;
    for (int64_t k = 1; k < 100000; k++) {
        struct qp_graph    h;
        struct qp_qpe_meta m;
        struct qp_err      err = {{0}};
        qp_graph_init(&h, mut_path);
        qp_alloc_fail_at(k);
        enum qp_status st    = qp_qpe_load(mut_path, NULL, &h, &m, &err);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        qp_qpe_meta_fini(&m);
        qp_graph_fini(&h);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
        if (st == QP_OK) {
            CU_ASSERT_FALSE(fired);
            break;
        }
        fails++;
        if (st != QP_E_NOMEM)
            fprintf(stderr, "\n  fail_at %lld: %s: %s\n", (long long)k, qp_status_str(st), err.msg);
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        CU_ASSERT(fired);
    }
    fprintf(stderr, "(%lld failing allocations) ", (long long)fails);
    CU_ASSERT(fails > 10);
    qp_graph_fini(&g);
}

static int suite_init(void)
{
    const char *base = getenv("QP_BINARY_DIR");
    snprintf(dir, sizeof dir, "%s/test_qpe_hostile.XXXXXX", base && *base ? base : ".");
    if (!mkdtemp(dir))
        return -1;
    snprintf(mut_path, sizeof mut_path, "%s/mutated.qpe", dir);
    return 0;
}

static int suite_clean(void)
{
    unlink(mut_path);
    free(V);
    free(B);
    V = B = NULL;
    return rmdir(dir) == 0 ? 0 : -1;
}

static CU_TestInfo tests[] = {
    {"truncated at every section boundary and at random", test_truncated},
    {"500 single-bit flips fail on the checksum", test_bit_flips},
    {"counts, section lengths and order, header fields", test_counts_and_sections},
    {"strings: unterminated, out of range, duplicate names", test_strings},
    {"tensors: rank, dims, dtype, layout, scale, data spans, flags", test_tensors},
    {"nodes: ops, indices, cycles, attributes, arity", test_nodes},
    {"attribute enums and shape-dependent values", test_attribute_values},
    {"metadata values and the target", test_meta_and_target},
    {"every allocation failure of a load", test_fault_injection},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"qpe/hostile", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
