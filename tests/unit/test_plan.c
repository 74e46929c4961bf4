// SPDX-License-Identifier: Apache-2.0
/*
 * test_plan.c - the memory planner on generated graphs: no two buffers that
 * are alive at the same node share a byte, offsets are aligned, reuse
 * happens where lifetimes allow it (a chain needs two buffers, not n), and
 * keep_all disables reuse.
 */
#include <stdlib.h>
#include <string.h>

#include "graph/plan.h"
#include "qp_test.h"

/* Add an f32 tensor of n elements (rank 1). */
static int32_t tensor(struct qp_graph *g, int64_t n)
{
    int32_t t;
    CU_ASSERT_FATAL(qp_graph_add_tensor(g, NULL, &t, NULL) == QP_OK);
    g->tensors[t].dtype       = QP_DTYPE_F32;
    g->tensors[t].rank        = 1;
    g->tensors[t].dims[0]     = n;
    g->tensors[t].shape_known = true;
    return t;
}

static int32_t node(struct qp_graph *g, int32_t a, int32_t b, int32_t out)
{
    int32_t i;
    CU_ASSERT_FATAL(qp_graph_add_node(g, QP_OP_ADD, NULL, 2, 1, &i, NULL) == QP_OK);
    g->nodes[i].in[0]  = a;
    g->nodes[i].in[1]  = b;
    g->nodes[i].out[0] = out;
    return i;
}

struct life {
    int32_t first, last;
    size_t  off, size;
};

/* Lifetimes as the planner must see them, recomputed independently. */
static int32_t lifetimes(const struct qp_graph *g, bool keep_all, struct life *l)
{
    int32_t nb = 0;
    for (int32_t t = 0; t < g->n_tensors; t++) {
        const struct qp_tensor *x = &g->tensors[t];
        if (!qp_plan_has_storage(g, t))
            continue;
        struct life *b = &l[nb++];
        b->first       = x->producer >= 0 ? x->producer : 0;
        b->last        = (keep_all || (x->flags & (QP_TENSOR_INPUT | QP_TENSOR_OUTPUT)))
                             ? g->n_nodes
                             : b->first;
        for (int32_t i = 0; i < g->n_nodes; i++)
            for (int32_t k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] == t && i > b->last)
                    b->last = i;
        b->off  = x->offset;
        b->size = qp_tensor_nbytes(x);
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].ws_bytes) {
            struct life *b = &l[nb++];
            b->first = b->last = i;
            b->off             = g->nodes[i].ws_offset;
            b->size            = g->nodes[i].ws_bytes;
        }
    return nb;
}

static void check_no_alias(const struct qp_graph *g, bool keep_all, size_t arena)
{
    struct life *l  = calloc((size_t)g->n_tensors + (size_t)g->n_nodes, sizeof *l);
    int32_t      nb = lifetimes(g, keep_all, l);
    int          bad = 0;
    for (int32_t i = 0; i < nb; i++) {
        CU_ASSERT(l[i].off % QP_ARENA_ALIGN == 0);
        CU_ASSERT(l[i].off + l[i].size <= arena);
        for (int32_t j = i + 1; j < nb; j++) {
            bool live  = !(l[i].last < l[j].first || l[j].last < l[i].first);
            bool bytes = l[i].size && l[j].size &&
                         !(l[i].off + l[i].size <= l[j].off || l[j].off + l[j].size <= l[i].off);
            bad += live && bytes;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(l);
}

static void test_chain_reuses_two_buffers(void)
{
    struct qp_graph g;
    qp_graph_init(&g, "chain");
    int32_t x = tensor(&g, 1000), c = tensor(&g, 1000), prev = x;
    qp_graph_set_const(&g, c, QP_DTYPE_F32, 1, (int64_t[]){1000}, &(void *){NULL}, NULL);
    qp_graph_add_input(&g, x, NULL);
    for (int i = 0; i < 20; i++) {
        int32_t y = tensor(&g, 1000);
        node(&g, prev, c, y);
        prev = y;
    }
    qp_graph_add_output(&g, prev, NULL);
    CU_ASSERT_FATAL(qp_graph_link(&g, NULL) == QP_OK);
    struct qp_plan_stats st;
    CU_ASSERT_FATAL(qp_plan_assign_offsets(&g, false, &st, NULL) == QP_OK);
    check_no_alias(&g, false, st.arena_bytes);
    /* the input lives throughout; the 20 results alternate between two slots
     * (the output is the last of them) */
    CU_ASSERT_EQUAL(st.arena_bytes, 3 * 4032u);
    CU_ASSERT_EQUAL(st.naive_bytes, 21 * 4032u);
    CU_ASSERT_EQUAL(st.n_buffers, 21);
    qp_graph_fini(&g);
}

static void test_keep_all_disables_reuse(void)
{
    struct qp_graph g;
    qp_graph_init(&g, "keep");
    int32_t x = tensor(&g, 64), prev = x;
    qp_graph_add_input(&g, x, NULL);
    for (int i = 0; i < 8; i++) {
        int32_t y = tensor(&g, 64);
        node(&g, prev, prev, y);
        prev = y;
    }
    qp_graph_add_output(&g, prev, NULL);
    CU_ASSERT_FATAL(qp_graph_link(&g, NULL) == QP_OK);
    struct qp_plan_stats st;
    CU_ASSERT_FATAL(qp_plan_assign_offsets(&g, true, &st, NULL) == QP_OK);
    check_no_alias(&g, true, st.arena_bytes);
    CU_ASSERT_EQUAL(st.arena_bytes, st.naive_bytes);
    qp_graph_fini(&g);
}

/* Random DAGs with random sizes and workspaces: never alias live buffers. */
static void test_random_dags_never_alias(void)
{
    srand(1234);
    for (int round = 0; round < 200; round++) {
        struct qp_graph g;
        qp_graph_init(&g, "random");
        int32_t live[64], n_live = 0;
        int32_t x = tensor(&g, 1 + rand() % 5000);
        qp_graph_add_input(&g, x, NULL);
        live[n_live++] = x;
        int n_nodes    = 1 + rand() % 40;
        for (int i = 0; i < n_nodes; i++) {
            int32_t a = live[rand() % n_live], b = live[rand() % n_live];
            int32_t y = tensor(&g, rand() % 3 ? 1 + rand() % 5000 : 0);
            int32_t k = node(&g, a, b, y);
            g.nodes[k].ws_bytes = rand() % 2 ? (size_t)(rand() % 9000) : 0;
            if (n_live < 64)
                live[n_live++] = y;
            else
                live[rand() % 64] = y;
        }
        qp_graph_add_output(&g, live[n_live - 1], NULL);
        CU_ASSERT_FATAL(qp_graph_link(&g, NULL) == QP_OK);
        struct qp_plan_stats st;
        bool keep = round % 5 == 0;
        CU_ASSERT_FATAL(qp_plan_assign_offsets(&g, keep, &st, NULL) == QP_OK);
        CU_ASSERT(st.arena_bytes <= st.naive_bytes);
        check_no_alias(&g, keep, st.arena_bytes);
        qp_graph_fini(&g);
    }
}

static void test_link_rejects_cycles_and_dangling(void)
{
    struct qp_graph g;
    struct qp_err   err;
    qp_graph_init(&g, "cycle.onnx");
    int32_t a = tensor(&g, 4), b = tensor(&g, 4);
    node(&g, a, a, b);
    node(&g, b, b, a);
    qp_graph_add_output(&g, b, NULL);
    CU_ASSERT_EQUAL(qp_graph_link(&g, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cycle"));
    qp_graph_fini(&g);

    qp_graph_init(&g, "dangling.onnx");
    a = tensor(&g, 4);
    b = tensor(&g, 4);
    node(&g, a, a, b);
    qp_graph_add_output(&g, b, NULL);
    CU_ASSERT_EQUAL(qp_graph_link(&g, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no node, input or initializer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "dangling.onnx"));
    qp_graph_fini(&g);
}

static CU_TestInfo plan_tests[] = {
    {"chain reuses two buffers", test_chain_reuses_two_buffers},
    {"keep_all disables reuse", test_keep_all_disables_reuse},
    {"random DAGs never alias", test_random_dags_never_alias},
    {"link rejects cycles and dangling names", test_link_rejects_cycles_and_dangling},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"graph/plan", NULL, NULL, NULL, NULL, plan_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
