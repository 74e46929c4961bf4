// SPDX-License-Identifier: Apache-2.0
/*
 * engine.c - the public engine API: import, optimise, choose a backend,
 * plan, prepare; then set inputs, run, read outputs.
 *
 * The pipeline of qp_engine_open is fixed, in two halves (engine_int.h).
 * Front: ONNX import -> inference with constant folding -> QDQ folding ->
 * no-op elimination -> BatchNorm folding -> SiLU fusion. Back: conv +
 * activation fusion -> layout (NHWC) -> backend support check -> backend
 * prepare -> memory plan -> backend alloc. An engine file (.qpe) holds a
 * front-half graph already quantized: it is loaded, inferred again (every
 * node re-checked) and enters at the back half. With all_tensors the
 * rewrites that would make ONNX tensors disappear (elimination, folding BN,
 * fusion) are skipped, and no buffer is reused, so every tensor can be read
 * after run().
 *
 * The backend list is the only place that knows which backends exist.
 */
#include "qpercept/engine.h"

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "engine_int.h"
#include "core/alloc.h"
#include "core/log.h"
#include "graph/passes.h"
#include "graph/plan.h"
#include "onnx/onnx.h"
#include "qpe/qpe.h"
#ifdef QP_CUDA
#include "cuda_probe.h"
#endif

struct qp_engine {
    struct qp_graph              g;
    struct qp_engine_options     opt;
    const struct qp_backend_ops *be;
    void                        *be_ctx;
    bool                         be_ready; /* init succeeded: fini owed */
    struct qp_pass_stats         passes;
    struct qp_plan_stats         plan;
    int32_t                     *in, *out; /* graph inputs (non-constant) / outputs */
    int32_t                      n_in, n_out;
    void                       **out_host; /* per output: host copy after run() (constant
                                             * data; NULL: read in place, host arena) */
    char                         target[32]; /* an engine file's ("" for ONNX models) */
    char                        *tuning;     /* an engine file's backend tuning, or NULL */
};

/* Is there a device for the CUDA backend? If not, why[] says why. */
static bool cuda_device(char *why, size_t n)
{
#ifdef QP_CUDA
    return qp_cuda_probe(why, n);
#else
    snprintf(why, n, "this build has no CUDA support (QP_CUDA=OFF or no toolkit)");
    return false;
#endif
}

/* The backend opt asks for: NULL (err set) when it cannot be had. */
static const struct qp_backend_ops *pick_backend(enum qp_backend_kind kind, struct qp_err *err)
{
    char why[256];
    switch (kind) {
    case QP_BACKEND_CPU: return &qp_backend_cpu;
    case QP_BACKEND_AUTO:
    case QP_BACKEND_CUDA:
        if (!cuda_device(why, sizeof why)) {
            if (kind == QP_BACKEND_CUDA) {
                qp_fail(err, QP_E_UNSUPPORTED, "backend cuda: %s (use --backend cpu or auto)",
                        why);
                return NULL;
            }
            qp_log(QP_LOG_INFO, "engine", "backend auto: running on the CPU: %s", why);
            return &qp_backend_cpu;
        }
#ifdef QP_CUDA
        return &qp_backend_cuda;
#endif
    }
    qp_fail(err, QP_E_INVAL, "unknown backend %d", (int)kind);
    return NULL;
}

static enum qp_status check_support(struct qp_engine *e, struct qp_err *err)
{
    const struct qp_graph *g = &e->g;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (e->be->supports(e->be_ctx, g, n))
            continue;
        char dims[96];
        const struct qp_tensor *x = n->n_in && n->in[0] >= 0 ? &g->tensors[n->in[0]] : NULL;
        return qp_fail(err, QP_E_UNSUPPORTED,
                       "%s: node '%s' (%s): not supported by the %s backend for input %s %s",
                       g->source, n->name, qp_op_name(n->op), e->be->name,
                       x ? qp_dtype_name(x->dtype) : "-",
                       x ? qp_dims_str(x->dims, x->rank, dims, sizeof dims) : "");
    }
    return QP_OK;
}

static enum qp_status collect_io(struct qp_engine *e, struct qp_err *err)
{
    struct qp_graph *g = &e->g;
    e->in              = qp_calloc((size_t)g->n_inputs + 1, sizeof *e->in);
    e->out             = qp_calloc((size_t)g->n_outputs + 1, sizeof *e->out);
    e->out_host        = qp_calloc((size_t)g->n_outputs + 1, sizeof *e->out_host);
    if (!e->in || !e->out || !e->out_host)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", g->source);
    for (int32_t k = 0; k < g->n_inputs; k++)
        if (!(g->tensors[g->inputs[k]].flags & QP_TENSOR_CONST))
            e->in[e->n_in++] = g->inputs[k];
    for (int32_t k = 0; k < g->n_outputs; k++) {
        const struct qp_tensor *t = &g->tensors[g->outputs[k]];
        e->out[e->n_out]          = g->outputs[k];
        if (t->flags & QP_TENSOR_CONST) {
            e->out_host[e->n_out++] = t->data;
            continue;
        }
        if (e->be->host_ptr) { /* read where the run left it: no copy, no memory */
            e->n_out++;
            continue;
        }
        e->out_host[e->n_out] = qp_arena_alloc(&g->arena, qp_tensor_nbytes(t) + 1);
        if (!e->out_host[e->n_out++])
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory for output '%s'", g->source,
                           t->name);
    }
    return QP_OK;
}

/* Inputs the caller fixed at open become constants before anything folds. */
static enum qp_status bind_constants(struct qp_graph *g, const struct qp_engine_options *opt,
                                     struct qp_err *err)
{
    for (int32_t k = 0; k < opt->n_constants; k++) {
        const struct qp_const_input *c = &opt->constants[k];
        int32_t                      t = qp_graph_find_tensor(g, c->name);
        char                         a[128], b[128];
        if (t < 0 || !(g->tensors[t].flags & QP_TENSOR_INPUT) ||
            (g->tensors[t].flags & QP_TENSOR_CONST))
            return qp_fail(err, QP_E_INVAL, "%s: constant '%s': the model has no such input",
                           g->source, c->name);
        struct qp_tensor *x = &g->tensors[t];
        if (c->dtype != x->dtype || c->rank != x->rank)
            return qp_fail(err, QP_E_INVAL, "%s: constant '%s' is %s %s, the input is %s %s",
                           g->source, c->name, qp_dtype_name(c->dtype),
                           qp_dims_str(c->dims, c->rank, a, sizeof a), qp_dtype_name(x->dtype),
                           qp_dims_str(x->dims, x->rank, b, sizeof b));
        void          *data;
        enum qp_status s = qp_graph_set_const(g, t, c->dtype, c->rank, c->dims, &data, err);
        if (s != QP_OK)
            return s;
        memcpy(data, c->data, qp_tensor_nbytes(&g->tensors[t]));
        g->tensors[t].flags &= ~(uint32_t)QP_TENSOR_INPUT;
    }
    return qp_graph_link(g, err);
}

/* Shape inference with constant folding at the batch opt asks for. */
static enum qp_status infer_batch(struct qp_graph *g, const struct qp_engine_options *opt,
                                  struct qp_pass_stats *st, struct qp_err *err)
{
    int64_t        batch = opt->batch > 1 ? opt->batch : 1;
    enum qp_status s     = qp_pass_rebatch(g, batch, err);
    if (s == QP_OK)
        s = qp_pass_infer_fold(g, qp_cpu_eval, st, err);
    return s == QP_OK ? qp_pass_rebatch_check(g, batch, err) : s;
}

enum qp_status qp_engine_front(const char *path, const struct qp_engine_options *opt,
                               struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err)
{
    enum qp_status s = qp_onnx_import(path, g, err);
    if (s == QP_OK && opt->n_constants)
        s = bind_constants(g, opt, err);
    if (s == QP_OK)
        s = infer_batch(g, opt, st, err);
    if (s == QP_OK) /* QDQ models: their Q/DQ pairs become INT8 ops, scales kept */
        s = qp_pass_fold_qdq(g, st, err);
    if (s == QP_OK && !opt->all_tensors)
        s = qp_pass_eliminate(g, st, err);
    if (s == QP_OK && !opt->all_tensors)
        s = qp_pass_fold_bn(g, st, err);
    if (s == QP_OK && !opt->all_tensors)
        s = qp_pass_fuse_silu(g, st, err);
    return s;
}

/* Backend be: init, support check, prepare, memory plan, alloc. */
static enum qp_status attach(struct qp_engine *e, const struct qp_backend_ops *be,
                             struct qp_err *err)
{
    enum qp_status s;
    e->be     = be;
    e->be_ctx = qp_calloc(1, be->ctx_size);
    if (!e->be_ctx)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", e->g.source);
    if ((s = be->init(e->be_ctx, &e->opt, err)) != QP_OK) {
        qp_err_prefix(err, "%s", e->g.source);
        return s;
    }
    e->be_ready = true;
    /* a device engine file's choices; any backend runs its graph, the CPU
     * needs none of them */
    if (e->target[0] && strcmp(e->target, "cpu") != 0 && be->set_tuning &&
        (s = be->set_tuning(e->be_ctx, e->target, e->tuning, err)) != QP_OK)
        return s;
    if ((s = check_support(e, err)) != QP_OK)
        return s;
    if ((s = be->prepare(e->be_ctx, &e->g, err)) != QP_OK)
        return s;
    if ((s = qp_plan_assign_offsets(&e->g, e->opt.all_tensors, &e->plan, err)) != QP_OK)
        return s;
    return be->alloc(e->be_ctx, &e->g, e->plan.arena_bytes, err);
}

/* Undo attach (what it reached), so another backend can be attached: no
 * node keeps the plan or workspace size the first one gave it. */
static void detach(struct qp_engine *e)
{
    for (int32_t i = 0; e->be && i < e->g.n_nodes; i++)
        e->g.nodes[i].prep = NULL, e->g.nodes[i].ws_bytes = 0;
    if (e->be_ready) {
        QP_ASSERT(e->be); /* attach sets be before be_ready */
        e->be->fini(e->be_ctx);
    }
    qp_free(e->be_ctx);
    e->be_ctx   = NULL;
    e->be_ready = false;
    e->be       = NULL;
}

/* From a front-end graph (moved into e->g) to a runnable engine. */
static enum qp_status back(struct qp_engine *e, struct qp_err *err)
{
    enum qp_status s = QP_OK;
    if (!e->opt.all_tensors)
        s = qp_pass_fuse_act(&e->g, &e->passes, err);
    if (s == QP_OK)
        s = qp_pass_layout(&e->g, e->opt.all_tensors, &e->passes, err);
    if (s != QP_OK)
        return s;
    const struct qp_backend_ops *be = pick_backend(e->opt.backend, err);
    if (!be)
        return QP_E_UNSUPPORTED;
    s = attach(e, be, err);
    if (s != QP_OK && e->opt.backend == QP_BACKEND_AUTO && be != &qp_backend_cpu) {
        qp_log(QP_LOG_INFO, "engine", "backend auto: running on the CPU: %s",
               err ? err->msg : qp_status_str(s));
        detach(e);
        s = attach(e, &qp_backend_cpu, err);
    }
    return s == QP_OK ? collect_io(e, err) : s;
}

static struct qp_engine *engine_new(const struct qp_engine_options *opt)
{
    struct qp_engine *e = qp_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    struct qp_engine_options def = QP_ENGINE_OPTIONS_DEFAULT;
    e->opt                       = opt ? *opt : def;
    /* e->g stays zeroed: the importer or the caller's graph fills it */
    return e;
}

/* back() on e, then log and hand out (or free on failure). */
static enum qp_status finish(struct qp_engine *e, enum qp_status s, struct qp_engine **out,
                             struct qp_err *err)
{
    if (s == QP_OK)
        s = back(e, err);
    if (s != QP_OK) {
        qp_engine_free(e);
        return s;
    }
    qp_log(QP_LOG_INFO, "engine",
           "%s: %d nodes on %s, arena %zu bytes (%zu without reuse), folded %d, fused %d+%d silu, "
           "bn folded %d, layout nodes %d, on NHWC bytes %d shuffles and %d heads",
           e->g.source, (int)e->g.n_nodes, e->be->name, e->plan.arena_bytes, e->plan.naive_bytes,
           (int)e->passes.folded, (int)e->passes.act_fused, (int)e->passes.silu_fused,
           (int)e->passes.bn_folded, (int)e->passes.layout_nodes, (int)e->passes.shuffles_nhwc,
           (int)e->passes.heads_nhwc);
    *out = e;
    return QP_OK;
}

enum qp_status qp_engine_open(const char *path, const struct qp_engine_options *opt,
                              struct qp_engine **out, struct qp_err *err)
{
    struct qp_engine *e = engine_new(opt);
    if (!e)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", path);
    if (!qp_qpe_is_engine(path))
        return finish(e, qp_engine_front(path, &e->opt, &e->g, &e->passes, err), out, err);
    /* an engine file: its graph enters at the back half, inferred again
     * (which re-checks every node of a file that may have been tampered with) */
    struct qp_qpe_meta meta;
    qp_graph_init(&e->g, path);
    enum qp_status s = qp_qpe_load(path, NULL, &e->g, &meta, err);
    if (s == QP_OK && strcmp(meta.target, "cpu") != 0 && strncmp(meta.target, "cuda sm_", 8) != 0)
        s = qp_fail(err, QP_E_UNSUPPORTED, "%s: engine built for target '%s', which this "
                    "qpercept does not know: rebuild it with `qpercept build`", path, meta.target);
    if (s == QP_OK) {
        snprintf(e->target, sizeof e->target, "%s", meta.target);
        e->tuning   = meta.tuning; /* kept: attach() hands it to the backend */
        meta.tuning = NULL;
    }
    qp_qpe_meta_fini(&meta);
    if (s == QP_OK && e->opt.n_constants)
        s = qp_fail(err, QP_E_INVAL, "%s: an engine file's inputs cannot be fixed at open "
                    "(--const): fix them when building it", path);
    if (s == QP_OK)
        s = infer_batch(&e->g, &e->opt, &e->passes, err);
    return finish(e, s, out, err);
}

enum qp_status qp_engine_open_graph(struct qp_graph *g, const struct qp_engine_options *opt,
                                    struct qp_engine **out, struct qp_err *err)
{
    struct qp_engine *e = engine_new(opt);
    if (!e) {
        qp_graph_fini(g);
        qp_graph_init(g, NULL);
        return qp_fail(err, QP_E_NOMEM, "out of memory opening an engine");
    }
    e->g = *g; /* moved: the arena and arrays now belong to e */
    qp_graph_init(g, e->g.source);
    return finish(e, e->opt.batch > 1 ? infer_batch(&e->g, &e->opt, &e->passes, err) : QP_OK, out,
                  err);
}

const struct qp_graph *qp_engine_graph(const struct qp_engine *e)
{
    return &e->g;
}

void qp_engine_free(struct qp_engine *e)
{
    if (!e)
        return;
    detach(e);
    qp_free(e->in);
    qp_free(e->out);
    qp_free(e->out_host);
    qp_free(e->tuning);
    qp_graph_fini(&e->g);
    qp_free(e);
}

enum qp_status qp_engine_tuning(struct qp_engine *e, char target[32], char **text,
                                struct qp_err *err)
{
    if (!e->be->tuning)
        return qp_fail(err, QP_E_UNSUPPORTED, "the %s backend keeps no tuning: build --target "
                       "cpu", e->be->name);
    return e->be->tuning(e->be_ctx, &e->g, target, text, err);
}

int32_t qp_engine_n_inputs(const struct qp_engine *e)
{
    return e->n_in;
}

int32_t qp_engine_n_outputs(const struct qp_engine *e)
{
    return e->n_out;
}

static void info_of(const struct qp_tensor *t, struct qp_tensor_info *out)
{
    out->name  = t->name;
    out->dtype = t->dtype;
    out->rank  = t->rank;
    memcpy(out->dims, t->dims, sizeof out->dims);
}

void qp_engine_input_info(const struct qp_engine *e, int32_t i, struct qp_tensor_info *out)
{
    QP_ASSERT(i >= 0 && i < e->n_in);
    info_of(&e->g.tensors[e->in[i]], out);
}

void qp_engine_output_info(const struct qp_engine *e, int32_t i, struct qp_tensor_info *out)
{
    QP_ASSERT(i >= 0 && i < e->n_out);
    info_of(&e->g.tensors[e->out[i]], out);
}

int32_t qp_engine_find_input(const struct qp_engine *e, const char *name)
{
    for (int32_t i = 0; i < e->n_in; i++)
        if (strcmp(e->g.tensors[e->in[i]].name, name) == 0)
            return i;
    return -1;
}

const char *qp_engine_backend_name(const struct qp_engine *e)
{
    return e->be->name;
}

enum qp_status qp_engine_set_input(struct qp_engine *e, int32_t i, const void *data, size_t nbytes,
                                   struct qp_err *err)
{
    if (i < 0 || i >= e->n_in)
        return qp_fail(err, QP_E_INVAL, "input %d: the model has %d inputs", (int)i, (int)e->n_in);
    const struct qp_tensor *t = &e->g.tensors[e->in[i]];
    if (nbytes != qp_tensor_nbytes(t))
        return qp_fail(err, QP_E_INVAL, "input '%s': %zu bytes given, %zu expected", t->name,
                       nbytes, qp_tensor_nbytes(t));
    e->be->upload(e->be_ctx, t->offset, data, nbytes);
    return QP_OK;
}

enum qp_status qp_engine_reserve_frames(struct qp_engine *e, size_t bytes, struct qp_err *err)
{
    if (!e->be->reserve_frames)
        return qp_fail(err, QP_E_UNSUPPORTED, "the %s backend pre-processes no frames",
                       e->be->name);
    return e->be->reserve_frames(e->be_ctx, bytes, err);
}

/* Input i as images for the backend: f32 [batch, 3, h, w] in model order;
 * NULL (said in err) when it is not. */
static const struct qp_tensor *image_input(const struct qp_engine *e, int32_t i, int64_t h,
                                           int64_t w, struct qp_err *err)
{
    if (i < 0 || i >= e->n_in) {
        qp_fail(err, QP_E_INVAL, "input %d: the model has %d inputs", (int)i, (int)e->n_in);
        return NULL;
    }
    const struct qp_tensor *t = &e->g.tensors[e->in[i]];
    if (t->dtype != QP_DTYPE_F32 || t->rank != 4 || t->dims[0] < 1 || t->dims[1] != 3 ||
        (h > 0 && (t->dims[2] != h || t->dims[3] != w)) || t->layout != QP_LAYOUT_PLAIN) {
        qp_fail(err, QP_E_INVAL, "input '%s' is not f32 [batch, 3, %lld, %lld]", t->name,
                (long long)h, (long long)w);
        return NULL;
    }
    return t;
}

enum qp_status qp_engine_set_image(struct qp_engine *e, int32_t i, int32_t k,
                                   const struct qp_pre_frame *f, const struct qp_pre_norm *nm,
                                   const uint8_t *img, struct qp_err *err)
{
    const struct qp_tensor *t = image_input(e, i, f->dst_h, f->dst_w, err);
    if (!t)
        return QP_E_INVAL;
    if (k < 0 || k >= t->dims[0])
        return qp_fail(err, QP_E_INVAL, "image %d of input '%s', which holds %lld", (int)k, t->name,
                       (long long)t->dims[0]);
    if (!e->be->set_image)
        return qp_fail(err, QP_E_UNSUPPORTED, "the %s backend pre-processes no frames",
                       e->be->name);
    size_t per = qp_tensor_nbytes(t) / (size_t)t->dims[0];
    return e->be->set_image(e->be_ctx, k, t->offset + (size_t)k * per, f, nm, img, err);
}

enum qp_status qp_engine_zero_images(struct qp_engine *e, int32_t i, int32_t from,
                                     struct qp_err *err)
{
    const struct qp_tensor *t = image_input(e, i, 0, 0, err);
    if (!t)
        return QP_E_INVAL;
    if (from < 0 || from > t->dims[0])
        return qp_fail(err, QP_E_INVAL, "images from %d of input '%s', which holds %lld", (int)from,
                       t->name, (long long)t->dims[0]);
    size_t per = qp_tensor_nbytes(t) / (size_t)t->dims[0], n = per * (size_t)(t->dims[0] - from);
    if (n == 0)
        return QP_OK;
    void *host = e->be->host_ptr ? e->be->host_ptr(e->be_ctx, t->offset) : NULL;
    if (host) {
        memset((unsigned char *)host + (size_t)from * per, 0, n);
        return QP_OK;
    }
    if (!e->be->zero)
        return qp_fail(err, QP_E_UNSUPPORTED, "the %s backend cannot zero its input", e->be->name);
    return e->be->zero(e->be_ctx, t->offset + (size_t)from * per, n, err);
}

void *qp_engine_input_buffer(struct qp_engine *e, int32_t i)
{
    QP_ASSERT(i >= 0 && i < e->n_in);
    const struct qp_tensor *t = &e->g.tensors[e->in[i]];
    /* graph inputs stay in model order (the layout pass converts after them) */
    QP_ASSERT(t->layout == QP_LAYOUT_PLAIN);
    return e->be->host_ptr ? e->be->host_ptr(e->be_ctx, t->offset) : NULL;
}
enum qp_status qp_engine_run(struct qp_engine *e, struct qp_err *err)
{
    enum qp_status s = e->be->run(e->be_ctx, &e->g, err);
    if (s == QP_OK && e->be->wait)
        s = e->be->wait(e->be_ctx, err);
    if (s != QP_OK)
        return s;
    for (int32_t k = 0; k < e->n_out; k++) {
        const struct qp_tensor *t = &e->g.tensors[e->out[k]];
        if (e->out_host[k] && !(t->flags & QP_TENSOR_CONST))
            e->be->download(e->be_ctx, e->out_host[k], t->offset, qp_tensor_nbytes(t));
    }
    return QP_OK;
}

const void *qp_engine_output(struct qp_engine *e, int32_t i)
{
    QP_ASSERT(i >= 0 && i < e->n_out);
    if (e->out_host[i])
        return e->out_host[i];
    return e->be->host_ptr(e->be_ctx, e->g.tensors[e->out[i]].offset); /* the arena's now */
}

/* Readable tensors: named by the model (not ours), with data. */
static bool readable(const struct qp_engine *e, int32_t t)
{
    const struct qp_tensor *x = &e->g.tensors[t];
    if (strncmp(x->name, "_qp_", 4) == 0)
        return false;
    return (x->flags & QP_TENSOR_CONST) ? false : qp_plan_has_storage(&e->g, t);
}

int32_t qp_engine_n_tensors(const struct qp_engine *e)
{
    return e->opt.all_tensors ? e->g.n_tensors : 0;
}

bool qp_engine_tensor_info(const struct qp_engine *e, int32_t i, struct qp_tensor_info *out)
{
    if (!e->opt.all_tensors || i < 0 || i >= e->g.n_tensors || !readable(e, i))
        return false;
    info_of(&e->g.tensors[i], out);
    return true;
}

enum qp_status qp_engine_read_tensor(const struct qp_engine *e, int32_t i, void *dst, size_t nbytes,
                                     struct qp_err *err)
{
    if (!e->opt.all_tensors || i < 0 || i >= e->g.n_tensors || !readable(e, i))
        return qp_fail(err, QP_E_INVAL, "tensor %d is not readable (open with all_tensors)",
                       (int)i);
    const struct qp_tensor *t = &e->g.tensors[i];
    size_t                  n = qp_tensor_nbytes(t);
    if (nbytes != n)
        return qp_fail(err, QP_E_INVAL, "tensor '%s': %zu bytes given, %zu needed", t->name,
                       nbytes, n);
    if (t->layout != QP_LAYOUT_NHWC) {
        e->be->download(e->be_ctx, dst, t->offset, n);
        return QP_OK;
    }
    /* NHWC -> NCHW, element by element (debug path, allocation allowed) */
    unsigned char *tmp = qp_alloc(n ? n : 1);
    if (!tmp)
        return qp_fail(err, QP_E_NOMEM, "tensor '%s': out of memory", t->name);
    e->be->download(e->be_ctx, tmp, t->offset, n);
    size_t  es = qp_dtype_size(t->dtype);
    int64_t N = t->dims[0], C = t->dims[1], H = t->dims[2], W = t->dims[3];
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++)
                    memcpy((unsigned char *)dst + (((b * C + c) * H + h) * W + w) * (int64_t)es,
                           tmp + (((b * H + h) * W + w) * C + c) * (int64_t)es, es);
    qp_free(tmp);
    return QP_OK;
}

int32_t qp_engine_n_nodes(const struct qp_engine *e)
{
    return e->g.n_nodes;
}

bool qp_engine_node_profile(const struct qp_engine *e, int32_t i, struct qp_node_profile *out)
{
    int64_t        runs = 0;
    const int64_t *ns   = e->be->node_ns ? e->be->node_ns(e->be_ctx, &runs) : NULL;
    if (!ns || i < 0 || i >= e->g.n_nodes)
        return false;
    out->name     = e->g.nodes[i].name;
    out->op       = qp_op_name(e->g.nodes[i].op);
    out->total_ns = ns[i];
    out->runs     = runs;
    return true;
}

size_t qp_engine_arena_bytes(const struct qp_engine *e)
{
    return e->plan.arena_bytes;
}

struct qp_engine_share *qp_engine_share_of(const struct qp_engine *e)
{
    return e->opt.share;
}

bool qp_engine_arena_shared(const struct qp_engine *e)
{
    return e->opt.share && e->be == &qp_backend_cpu; /* the only backend that shares */
}

/* The i-th counted node (execution order), or -1. */
static int32_t counted_node(const struct qp_engine *e, int32_t i)
{
    for (int32_t k = 0; k < e->g.n_nodes; k++)
        if (qp_saturation_counted(&e->g, &e->g.nodes[k]) && i-- == 0)
            return k;
    return -1;
}

int32_t qp_engine_n_saturation(const struct qp_engine *e)
{
    int32_t n = 0;
    for (int32_t k = 0; k < e->g.n_nodes; k++)
        n += qp_saturation_counted(&e->g, &e->g.nodes[k]);
    return n;
}

bool qp_engine_saturation(const struct qp_engine *e, int32_t i, struct qp_saturation *out)
{
    int64_t        runs = 0;
    const int64_t *sat  = e->be->saturated ? e->be->saturated(e->be_ctx, &runs) : NULL;
    int32_t        k    = i >= 0 ? counted_node(e, i) : -1;
    if (!sat || k < 0)
        return false;
    const struct qp_tensor *t = &e->g.tensors[e->g.nodes[k].out[0]];
    out->tensor               = t->name;
    out->saturated            = sat[k];
    out->total                = qp_tensor_numel(t) * runs;
    return true;
}
