// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_inspect.c - `qpercept inspect MODEL.onnx`: inputs, outputs, op
 * histogram (with what the engine does not support), parameters, and
 * whether the engine can open it (and with what arena), or why not.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "onnx/onnx.h"

static void print_io(const char *what, const struct qp_onnx_io *io, int32_t n, bool json)
{
    for (int32_t i = 0; i < n; i++) {
        char dims[160];
        qp_dims_str(io[i].dims, io[i].rank, dims, sizeof dims);
        if (json)
            printf("%s{\"name\":\"%s\",\"dtype\":\"%s\",\"dims\":%s}", i ? "," : "", io[i].name,
                   io[i].dtype < QP_DTYPE_COUNT ? qp_dtype_name(io[i].dtype) : "other", dims);
        else
            printf("  %-7s %-32s %-5s %s\n", what, io[i].name,
                   io[i].dtype < QP_DTYPE_COUNT ? qp_dtype_name(io[i].dtype) : "other", dims);
    }
}

static void print_text(const char *path, const struct qp_onnx_info *m)
{
    printf("%s\n  producer %s, ir_version %lld, opset %lld\n", path, m->producer,
           (long long)m->ir_version, (long long)m->opset);
    printf("  %d nodes, %d initializers, %lld parameters (%.2f MiB)\n", (int)m->n_nodes,
           (int)m->n_initializers, (long long)m->n_params, (double)m->param_bytes / 1048576.0);
    print_io("input", m->inputs, m->n_inputs, false);
    print_io("output", m->outputs, m->n_outputs, false);
    printf("  ops:\n");
    int unsupported = 0;
    for (int32_t i = 0; i < m->n_ops; i++) {
        printf("    %-28s %5d%s\n", m->ops[i].op_type, (int)m->ops[i].count,
               m->ops[i].supported ? "" : "  (not supported)");
        unsupported += !m->ops[i].supported;
    }
    printf("  unsupported op types: %d\n", unsupported);
}

static void print_json(const struct qp_onnx_info *m)
{
    printf("{\"producer\":\"%s\",\"ir_version\":%lld,\"opset\":%lld,\"nodes\":%d,"
           "\"parameters\":%lld,\"parameter_bytes\":%lld,\"inputs\":[",
           m->producer, (long long)m->ir_version, (long long)m->opset, (int)m->n_nodes,
           (long long)m->n_params, (long long)m->param_bytes);
    print_io("input", m->inputs, m->n_inputs, true);
    printf("],\"outputs\":[");
    print_io("output", m->outputs, m->n_outputs, true);
    printf("],\"ops\":[");
    for (int32_t i = 0; i < m->n_ops; i++)
        printf("%s{\"op\":\"%s\",\"count\":%d,\"supported\":%s}", i ? "," : "", m->ops[i].op_type,
               (int)m->ops[i].count, m->ops[i].supported ? "true" : "false");
    printf("]");
}

int qp_cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool        json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "qpercept inspect: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: qpercept inspect MODEL.onnx [--json]\n");
        return 2;
    }
    struct qp_onnx_info m;
    struct qp_err       err = {{0}};
    if (qp_onnx_inspect(path, &m, &err) != QP_OK) {
        fprintf(stderr, "qpercept inspect: %s\n", err.msg);
        return 1;
    }
    json ? print_json(&m) : print_text(path, &m);
    qp_onnx_info_fini(&m);

    /* Can the engine open it? Say how, or why not. */
    struct qp_engine        *e   = NULL;
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CPU;
    opt.n_threads                = 1;
    enum qp_status st            = qp_engine_open(path, &opt, &e, &err);
    if (json)
        printf(",\"engine\":{\"ok\":%s,\"arena_bytes\":%zu,\"error\":\"%s\"}}\n",
               st == QP_OK ? "true" : "false", st == QP_OK ? qp_engine_arena_bytes(e) : (size_t)0,
               st == QP_OK ? "" : err.msg);
    else if (st == QP_OK)
        printf("  engine: opens on the cpu backend; activation arena %.2f MiB\n",
               (double)qp_engine_arena_bytes(e) / 1048576.0);
    else
        printf("  engine: cannot open: %s\n", err.msg);
    qp_engine_free(e);
    return st == QP_OK ? 0 : 1;
}
