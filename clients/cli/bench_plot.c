// SPDX-License-Identifier: Apache-2.0
/*
 * bench_plot.c - the SVG of `qpercept bench --plot` (bench_plot.h).
 *
 * Two panels on one canvas. The CDF: x is the end-to-end latency in ms
 * (log scale when the samples span more than a factor of 20, else linear
 * from 0), y the fraction of received frames at or below it; one polyline
 * (class "cdf") per stream plus "all", p50 and p99 of all marked (class
 * "pmark"). The strip: x the time since the first measured frame was
 * scheduled, y the latency on the CDF's scale; points (class "pt") in the
 * stream's colour, or when decimated the min and max of a bin in their
 * stream's colour and its median in grey; above them a band with a row per
 * loss reason present (the server's reasons, "unexplained", "publisher"),
 * a mark (class "lost", a <title> with the count) per bin with losses.
 *
 * Only measured frames are drawn, as the report counts them. Coordinates
 * are printed with one decimal; text is XML-escaped (labels are the
 * user's). Nothing here allocates: samples are sorted in the table's
 * scratch buffer, per-bin counts live in fixed arrays.
 *
 * Tested by tests/unit/test_bench_report.c (well-formed, monotone CDFs,
 * points and loss marks, size bound) and tests/e2e/test_bench_fake.c.
 */
#include "bench_plot.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ===== Canvas ===== */

#define W 960
#define H 800
#define LEFT 70   /* x of both panels' y axes */
#define RIGHT 740 /* right edge of the panels; the legends are to its right */
#define CDF_TOP 80
#define CDF_BOTTOM 410
#define STRIP_TOP 490
#define STRIP_BOTTOM 750
#define BAND_ROW 12    /* px per loss row */
#define LEGEND_MAX 16  /* streams named in the legend */
#define LOG_SPAN 20.0  /* max / min above which the latency axis is logarithmic */
#define MIN_MOVE_PX .5 /* a CDF point is kept when it moves the line this much */

static const char *const stream_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLORS (int)(sizeof stream_colors / sizeof stream_colors[0])

/* Loss rows of the band: the server's reasons, then these two. */
enum { LOSS_UNEXPLAINED = QP_BENCH_DROP_COUNT, LOSS_PUBLISHER, LOSS_ROWS };
static const char *const loss_colors[LOSS_ROWS] = {"#e6550d", "#fd8d3c", "#756bb1",
                                                   "#9e9ac8", "#636363", "#31a354",
                                                   "#843c39", "#d62728", "#3182bd"};
static_assert(sizeof loss_colors / sizeof loss_colors[0] == LOSS_ROWS, "a loss row needs a colour");

static const char *loss_name(int row)
{
    return row == LOSS_UNEXPLAINED ? "unexplained"
           : row == LOSS_PUBLISHER ? "publisher"
                                   : qp_bench_drop_name((enum qp_bench_drop)row);
}

static const char *color_of(int s)
{
    return s < 0 ? "#000000" : stream_colors[s % N_COLORS];
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* ===== Axes ===== */

struct axis {
    double lo, hi; /* data range */
    bool   log;
    double p0, p1; /* pixels of lo and hi */
};

static double ax_px(const struct axis *a, double v)
{
    double t;
    if (a->log)
        t = (log10(fmax(v, a->lo)) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    else
        t = (v - a->lo) / (a->hi - a->lo);
    return a->p0 + t * (a->p1 - a->p0);
}

/* The latency axis (ms) for samples in [min_ms, max_ms]. */
static struct axis latency_axis(double min_ms, double max_ms, double p0, double p1)
{
    struct axis a = {0, fmax(max_ms * 1.05, 1e-3), false, p0, p1};
    if (min_ms > 0 && max_ms / min_ms > LOG_SPAN) {
        a.log = true;
        a.lo  = min_ms / 1.1;
        a.hi  = max_ms * 1.1;
    }
    return a;
}

/* Ticks of a: 1, 2, 5 x 10^k inside the range (log), or a 1-2-5 step
 * giving about six (linear); at most n into v. */
static int ticks(const struct axis *a, double *v, int n)
{
    static const double mant[] = {1, 2, 5, 10};
    int                 k      = 0;
    if (a->log) {
        for (int e = (int)floor(log10(a->lo)); e <= (int)ceil(log10(a->hi)); e++)
            for (int m = 0; m < 3; m++) {
                double t = mant[m] * pow(10, e);
                if (t >= a->lo && t <= a->hi && k < n)
                    v[k++] = t;
            }
        return k;
    }
    double raw = (a->hi - a->lo) / 6, mag = pow(10, floor(log10(raw))), step = mag;
    for (int m = 1; m < 4 && step < raw; m++)
        step = mant[m] * mag;
    const double t0 = ceil(a->lo / step) * step; /* t0 + k * step: no summed rounding */
    for (; k < n && t0 + k * step <= a->hi + 1e-9; k++)
        v[k] = t0 + k * step;
    return k;
}

/* x axis at y, its ticks and label. */
static void draw_xaxis(FILE *f, const struct axis *a, double y, const char *label)
{
    double t[64];
    int    n = ticks(a, t, 64);
    fprintf(f,
            "<g class=\"xaxis\" stroke=\"#000\">\n<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\"/>\n",
            a->p0, y, a->p1, y);
    for (int i = 0; i < n; i++) {
        double x = ax_px(a, t[i]);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" "
                "y=\"%.1f\" stroke=\"none\" text-anchor=\"middle\">%g</text>\n",
                x, y, x, y + 5, x, y + 17, t[i]);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" stroke=\"none\" text-anchor=\"middle\">%s</text>\n</g>\n",
            (a->p0 + a->p1) / 2, y + 33, label);
}

/* y axis at x, with light grid lines across the panel to x_end. */
static void draw_yaxis(FILE *f, const struct axis *a, double x, double x_end, const char *label)
{
    double t[64];
    int    n = ticks(a, t, 64);
    fprintf(f,
            "<g class=\"yaxis\" stroke=\"#000\">\n<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\"/>\n",
            x, a->p0, x, a->p1);
    for (int i = 0; i < n; i++) {
        double y = ax_px(a, t[i]);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><line "
                "x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" "
                "stroke=\"none\" text-anchor=\"end\">%g</text>\n",
                x, y, x_end, y, x - 5, y, x, y, x - 8, y + 4, t[i]);
    }
    fprintf(f,
            "<text transform=\"translate(%.1f %.1f) rotate(-90)\" stroke=\"none\" "
            "text-anchor=\"middle\">%s</text>\n</g>\n",
            x - 48, (a->p0 + a->p1) / 2, label);
}

/* ===== Samples ===== */

static double latency_ms(const struct qp_bench_frame *f)
{
    return (double)(int64_t)(f->recv_ns - f->capture_ns) / 1e6;
}

/* Sorted latencies (ns) of the received measured frames of stream s (-1:
 * all) into b->samples; their count. */
static size_t sorted_latencies(struct qp_bench *b, int s)
{
    size_t n = 0;
    for (int64_t j = 0; j < b->n_frames; j++) {
        const struct qp_bench_frame *f = &b->frames[j];
        if (f->measured && f->recv_ns && (s < 0 || j % b->plan.n_streams == s))
            b->samples[n++] = (int64_t)(f->recv_ns - f->capture_ns);
    }
    qp_bench_dist_of(b->samples, n); /* sorts */
    return n;
}

/* ===== CDF ===== */

/* One stream's (or all's) CDF as a polyline, a point kept only where it
 * moves the line by MIN_MOVE_PX. */
static void draw_cdf_line(FILE *f, struct qp_bench *b, int s, const struct axis *x,
                          const struct axis *y)
{
    size_t n = sorted_latencies(b, s);
    if (n == 0)
        return;
    fprintf(f, "<polyline class=\"cdf\" data-stream=\"");
    xml_text(f, s < 0 ? "all" : b->streams[s].name);
    fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", color_of(s),
            s < 0 ? "2" : "1.2");
    double lx = ax_px(x, (double)b->samples[0] / 1e6), ly = ax_px(y, 0);
    fprintf(f, "%.1f,%.1f", lx, ly);
    for (size_t i = 0; i < n; i++) {
        double px = ax_px(x, (double)b->samples[i] / 1e6);
        double py = ax_px(y, (double)(i + 1) / (double)n);
        if (i + 1 == n || fabs(px - lx) >= MIN_MOVE_PX || fabs(py - ly) >= MIN_MOVE_PX) {
            fprintf(f, " %.1f,%.1f", px, py);
            lx = px;
            ly = py;
        }
    }
    fprintf(f, "\"/>\n");
}

/* p50 and p99 of all: a dashed guide, a dot on the line, the value. */
static void draw_pmarks(FILE *f, const struct qp_bench_dist *d, const struct axis *x,
                        const struct axis *y)
{
    static const struct {
        const char *name;
        double      q;
    } marks[] = {{"p50", 0.5}, {"p99", 0.99}};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        double v  = (double)(i == 0 ? d->p50 : d->p99) / 1e6;
        double px = ax_px(x, v), py = ax_px(y, marks[i].q);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\" "
                "stroke-dasharray=\"4 3\"/>\n<circle class=\"pmark\" cx=\"%.1f\" cy=\"%.1f\" "
                "r=\"4\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>\n<text x=\"%.1f\" "
                "y=\"%.1f\">%s %.3f ms</text>\n",
                LEFT, py, RIGHT, py, px, py, px + 7, py + (i == 0 ? 14 : -6), marks[i].name, v);
    }
}

static void draw_cdf_legend(FILE *f, const struct qp_bench *b)
{
    int n = b->plan.n_streams < LEGEND_MAX ? b->plan.n_streams : LEGEND_MAX;
    fprintf(f, "<g class=\"legend\">\n");
    for (int i = -1; i < n; i++) {
        double y = CDF_TOP + 10 + (i + 1) * 16;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"/><text x=\"%d\" y=\"%.1f\">",
                RIGHT + 20, y, RIGHT + 42, y, color_of(i), RIGHT + 48, y + 4);
        xml_text(f, i < 0 ? "all streams" : b->streams[i].name);
        fprintf(f, "</text>\n");
    }
    if (b->plan.n_streams > n)
        fprintf(f, "<text x=\"%d\" y=\"%d\">+%d more streams</text>\n", RIGHT + 20,
                CDF_TOP + 14 + (n + 1) * 16, b->plan.n_streams - n);
    fprintf(f, "</g>\n");
}

static void draw_cdf(FILE *f, struct qp_bench *b, const struct qp_bench_summary *s,
                     const struct axis *lat)
{
    struct axis x = *lat, y = {0, 1, false, CDF_BOTTOM, CDF_TOP};
    x.p0 = LEFT;
    x.p1 = RIGHT;
    draw_yaxis(f, &y, LEFT, RIGHT, "fraction of frames at or below");
    draw_xaxis(f, &x, CDF_BOTTOM,
               x.log ? "end-to-end latency, ms (log scale)" : "end-to-end latency, ms");
    for (int k = 0; k < b->plan.n_streams; k++)
        draw_cdf_line(f, b, k, &x, &y);
    draw_cdf_line(f, b, -1, &x, &y);
    if (s->latency.n > 0)
        draw_pmarks(f, &s->latency, &x, &y);
    draw_cdf_legend(f, b);
}

/* ===== Strip ===== */

struct strip {
    struct axis t, y;              /* time (s), latency (ms) */
    uint64_t    t0_ns;             /* capture of the first measured frame */
    int         n_bins;            /* of the loss band (and of the points when decimated) */
    double      bin_s;             /* bin width, seconds */
    int         row_of[LOSS_ROWS]; /* band row of each loss kind, -1: none */
    int         n_rows;
};

static int bin_of(const struct strip *st, uint64_t capture_ns)
{
    double t = (double)(int64_t)(capture_ns - st->t0_ns) / 1e9;
    int    i = (int)(t / st->bin_s);
    return i < 0 ? 0 : i >= st->n_bins ? st->n_bins - 1 : i;
}

static double time_px(const struct strip *st, uint64_t capture_ns)
{
    return ax_px(&st->t, (double)(int64_t)(capture_ns - st->t0_ns) / 1e9);
}

static void point(FILE *f, const struct strip *st, const struct qp_bench_frame *fr,
                  const char *color)
{
    fprintf(f, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>\n",
            time_px(st, fr->capture_ns), ax_px(&st->y, latency_ms(fr)), color);
}

/* Every received measured frame, one point each. */
static void draw_points_all(FILE *f, const struct qp_bench *b, const struct strip *st)
{
    for (int64_t j = 0; j < b->n_frames; j++)
        if (b->frames[j].measured && b->frames[j].recv_ns)
            point(f, st, &b->frames[j], color_of((int)(j % b->plan.n_streams)));
}

/* Per time bin: its fastest and slowest frame (stream colour) and its
 * median (grey). Rows are in send order, so bins are consecutive runs. */
static void draw_points_binned(FILE *f, struct qp_bench *b, const struct strip *st)
{
    int64_t j = 0;
    while (j < b->n_frames) {
        int64_t lo = -1, hi = -1, n = 0, end = j;
        int     bin = bin_of(st, b->frames[j].capture_ns);
        for (; end < b->n_frames && bin_of(st, b->frames[end].capture_ns) == bin; end++) {
            const struct qp_bench_frame *fr = &b->frames[end];
            if (!fr->measured || !fr->recv_ns)
                continue;
            b->samples[n++] = (int64_t)(fr->recv_ns - fr->capture_ns);
            if (lo < 0 || latency_ms(fr) < latency_ms(&b->frames[lo]))
                lo = end;
            if (hi < 0 || latency_ms(fr) > latency_ms(&b->frames[hi]))
                hi = end;
        }
        if (n > 0) {
            struct qp_bench_dist d = qp_bench_dist_of(b->samples, (size_t)n);
            double               x = ax_px(&st->t, ((double)bin + 0.5) * st->bin_s);
            fprintf(f, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#999\"/>\n",
                    x, ax_px(&st->y, (double)d.p50 / 1e6));
            point(f, st, &b->frames[lo], color_of((int)(lo % b->plan.n_streams)));
            point(f, st, &b->frames[hi], color_of((int)(hi % b->plan.n_streams)));
        }
        j = end;
    }
}

/* The run's slowest frame, ringed and labelled (drawn however the strip is decimated). */
static void draw_max(FILE *f, const struct qp_bench *b, const struct strip *st)
{
    int64_t hi = -1;
    for (int64_t j = 0; j < b->n_frames; j++)
        if (b->frames[j].measured && b->frames[j].recv_ns &&
            (hi < 0 || latency_ms(&b->frames[j]) > latency_ms(&b->frames[hi])))
            hi = j;
    if (hi < 0)
        return;
    const struct qp_bench_frame *fr = &b->frames[hi];
    double                       x = time_px(st, fr->capture_ns), y = ax_px(&st->y, latency_ms(fr));
    fprintf(f,
            "<circle class=\"maxpt\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"none\" "
            "stroke=\"#d62728\" stroke-width=\"1.5\"><title>max %.3f ms at %.3f s, stream ",
            x, y, latency_ms(fr), (double)(int64_t)(fr->capture_ns - st->t0_ns) / 1e9);
    xml_text(f, b->streams[hi % b->plan.n_streams].name);
    fprintf(f,
            "</title></circle>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\" "
            "text-anchor=\"%s\">max %.3f ms</text>\n",
            x < RIGHT - 90 ? x + 7 : x - 7, y + 4, x < RIGHT - 90 ? "start" : "end",
            latency_ms(fr));
}

/* The loss kind of a measured frame, or -1 when it was not lost. */
static int loss_of(const struct qp_bench_frame *fr)
{
    if (fr->send == QP_BENCH_SEND_DROPPED)
        return LOSS_PUBLISHER;
    if (fr->send != QP_BENCH_SEND_OK || fr->recv_ns)
        return -1;
    return fr->charged >= 0 ? fr->charged : LOSS_UNEXPLAINED;
}

/* The loss band: a row per kind present, a mark per bin with losses. */
static void draw_losses(FILE *f, const struct qp_bench *b, struct strip *st)
{
    uint32_t count[QP_BENCH_PLOT_BINS][LOSS_ROWS] = {{0}}; /* ~11 KiB */
    for (int64_t j = 0; j < b->n_frames; j++) {
        int k = b->frames[j].measured ? loss_of(&b->frames[j]) : -1;
        if (k >= 0)
            count[bin_of(st, b->frames[j].capture_ns)][k]++;
    }
    double bin_px = (RIGHT - LEFT) / (double)st->n_bins;
    for (int k = 0; k < LOSS_ROWS; k++) {
        if (st->row_of[k] < 0)
            continue;
        double y = STRIP_TOP + 2 + st->row_of[k] * BAND_ROW;
        for (int i = 0; i < st->n_bins; i++)
            if (count[i][k])
                fprintf(f,
                        "<rect class=\"lost\" data-reason=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                        "width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%u %s, %.2f-%.2f "
                        "s</title></rect>\n",
                        loss_name(k), LEFT + i * bin_px, y, fmax(bin_px, 2), BAND_ROW - 2,
                        loss_colors[k], count[i][k], loss_name(k), i * st->bin_s,
                        (i + 1) * st->bin_s);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" fill=\"%s\">lost: %s</text>\n", RIGHT + 20,
                y + BAND_ROW - 2, loss_colors[k], loss_name(k));
    }
}

/* Which loss kinds occur among the measured frames: their band rows. */
static void band_rows(const struct qp_bench *b, struct strip *st)
{
    bool any[LOSS_ROWS] = {false};
    for (int64_t j = 0; j < b->n_frames; j++) {
        int k = b->frames[j].measured ? loss_of(&b->frames[j]) : -1;
        if (k >= 0)
            any[k] = true;
    }
    st->n_rows = 0;
    for (int k = 0; k < LOSS_ROWS; k++)
        st->row_of[k] = any[k] ? st->n_rows++ : -1;
}

static void draw_strip(FILE *f, struct qp_bench *b, const struct qp_bench_summary *s,
                       const struct axis *lat)
{
    struct strip st     = {.t0_ns = b->frames[b->n_warmup * b->plan.n_streams].capture_ns};
    double       span_s = (double)b->n_measured / b->plan.rate_hz;
    band_rows(b, &st);
    st.t      = (struct axis){0, span_s, false, LEFT, RIGHT};
    st.y      = *lat;
    st.y.p0   = STRIP_BOTTOM;
    st.y.p1   = STRIP_TOP + 6 + st.n_rows * BAND_ROW;
    st.n_bins = QP_BENCH_PLOT_BINS;
    st.bin_s  = span_s / st.n_bins;
    draw_yaxis(f, &st.y, LEFT, RIGHT, "latency, ms");
    draw_xaxis(f, &st.t, STRIP_BOTTOM, "time since the first measured frame, s");
    bool all = s->total.received <= QP_BENCH_PLOT_ALL_MAX;
    fprintf(f, "<g class=\"strip\">\n");
    if (all)
        draw_points_all(f, b, &st);
    else
        draw_points_binned(f, b, &st);
    draw_max(f, b, &st);
    draw_losses(f, b, &st);
    fprintf(f, "</g>\n<text x=\"%d\" y=\"%d\" fill=\"#555\">%s</text>\n", LEFT, STRIP_TOP - 8,
            all ? "one point per received frame, in its stream's colour"
                : "decimated: per time bin its slowest and fastest frame (stream colour) and "
                  "its median (grey)");
}

/* ===== The file ===== */

static void draw_title(FILE *f, const struct qp_bench_report *r, const struct qp_bench *b,
                       const struct qp_bench_summary *s)
{
    const struct qp_bench_plan *p = &b->plan;
    fprintf(f, "<text x=\"%d\" y=\"26\" font-size=\"16\" font-weight=\"bold\">qpercept bench",
            LEFT);
    if (r->label) {
        fputc(' ', f);
        xml_text(f, r->label);
    }
    fprintf(f,
            ": %d stream%s x %g Hz, %g s (+%g s warm-up), %dx%d %s, %s%s, %s</text>\n"
            "<text x=\"%d\" y=\"46\" fill=\"#333\">",
            p->n_streams, p->n_streams == 1 ? "" : "s", p->rate_hz, p->duration_s, p->warmup_s,
            r->width, r->height, r->format ? r->format : "?", r->transport ? r->transport : "?",
            r->shm_slots ? " (shm)" : "", p->aligned ? "aligned" : "phase-offset", LEFT);
    if (r->model) {
        fputs("model ", f);
        xml_text(f, r->model);
        fputs(", ", f);
    }
    fprintf(f,
            "%llu received, %llu lost (%llu dropped by the server, %llu unexplained); "
            "p50 %.3f ms, p99 %.3f ms, max %.3f ms</text>\n",
            (unsigned long long)s->total.received, (unsigned long long)s->total.lost,
            (unsigned long long)s->total.lost_server, (unsigned long long)s->total.lost_unexplained,
            (double)s->latency.p50 / 1e6, (double)s->latency.p99 / 1e6,
            (double)s->latency.max / 1e6);
}

enum qp_status qp_bench_plot_svg(const char *path, const struct qp_bench_report *r,
                                 struct qp_bench *b, const struct qp_bench_summary *s,
                                 struct qp_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return qp_fail(err, QP_E_IO, "--plot %s: %s", path, strerror(errno));
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
            "font-size=\"11\">\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
            W, H, W, H, W, H);
    draw_title(f, r, b, s);
    struct axis lat =
        latency_axis((double)s->latency.min / 1e6, (double)s->latency.max / 1e6, 0, 1);
    draw_cdf(f, b, s, &lat);
    draw_strip(f, b, s, &lat);
    if (s->latency.n == 0)
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"14\">no result came back</text>\n",
                (LEFT + RIGHT) / 2 - 60, (CDF_TOP + CDF_BOTTOM) / 2);
    fprintf(f, "</svg>\n");
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return qp_fail(err, QP_E_IO, "--plot %s: write failed: %s", path, strerror(errno));
    return QP_OK;
}
