// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - the qpercept command line: one binary, one row per subcommand.
 *
 * Subcommands of later issues (build, eval, replay, record, sub, bench, ctl)
 * join this table as they land.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/log.h"

static const struct {
    const char *name;
    qp_cli_fn   fn;
    const char *usage;
} commands[] = {
    {"run", qp_cli_run,
     "run MODEL (--image FILE... | --input [NAME=]FILE.npy...) [--json] [--score S] [--iou I]\n"
     "        [--agnostic] [--backend cpu|cuda|auto] [--threads N] [--save-outputs DIR]\n"
     "        [--all-tensors] [--saturation] [--const NAME=FILE.npy] [--manifest FILE] [--spec "
     "FILE] [--size WxH] [--color rgb|bgr]\n"
     "        [--resize letterbox|stretch] [--pad V] [--mean a,b,c] [--std a,b,c]\n"
     "        [--head yolox|gfl] [--strides 8,16,32] [--reg-max N] [--classes N] [--labels FILE]"},
    {"build", qp_cli_build,
     "build MODEL.onnx -o OUT.qpe [--precision int8|mixed|fp16|fp32] [--calib "
     "DIR|LIST|IMAGE|MCAP]\n"
     "        [--calib-method auto|minmax|percentile|entropy|mse] [--percentile P] [--calib-images "
     "N]\n"
     "        [--min-agreement 0.95] [--measure-images auto|N | --measure DIR|LIST|IMAGE|MCAP]\n"
     "        [--bias-correction on|off]\n"
     "        [--equalize on|off] [--weight-rounding gptq|nearest]\n"
     "        [--report FILE.json] [--target cpu|cuda] [--threads N] [spec flags as run]"},
    {"inspect", qp_cli_inspect, "inspect MODEL.onnx|MODEL.qpe [--json]"},
    {"eval", qp_cli_eval,
     "eval MODEL --images DIR|LISTFILE|MCAP [--reference REF_MODEL] [--labels FILE|DIR] [--score "
     "S]\n"
     "        [--min-score S] [--iou I] [--agnostic] [--per-class] [--max-images N] [--json "
     "OUT.json]\n"
     "        [--backend cpu|cuda|auto] [--threads N] [--manifest FILE] [--spec FILE]\n"
     "        [--names FILE] [spec flags as run: --size ... --classes N]"},
    {"bench-engine", qp_cli_bench_engine,
     "bench-engine MODEL [--batch 1,2,4,6,8] [--backend cpu|cuda|auto] [--json FILE] [--runs N]\n"
     "        [--warmup N] [--threads N] [--layers [--top N]]"},
    {"ctl", qp_cli_ctl,
     "ctl ENDPOINT ping|status|stats|reload [ENGINE] [--timeout MS]\n"
     "        [--curve-server-key FILE --curve-secret-key FILE]"},
    {"sub", qp_cli_sub,
     "sub --endpoint DETECTIONS_ENDPOINT [--stream NAME ...] [--json] [--count N]\n"
     "        [--timeout-ms MS] [--stats-every S] [--curve-server-key FILE --curve-secret-key "
     "FILE]"},
    {"bench", qp_cli_bench,
     "bench --endpoint DETECTIONS_ENDPOINT --frames-endpoint TEMPLATE (\"%d\": stream index)\n"
     "        [--streams 6] [--stream-prefix cam] [--rate 30] [--duration 60] [--warmup 2]\n"
     "        [--size 1280x720] [--format bgr8|rgb8] [--images DIR] [--max-images 16]\n"
     "        [--push|--pub] [--shm SLOTS] [--aligned] [--json OUT.json] [--plot OUT.svg]\n"
     "        [--label TEXT]\n"
     "  bench --compare A.json B.json\n"
     "  bench --recording FILE.mcap"},
    {"replay", qp_cli_replay,
     "replay SOURCE --endpoint TEMPLATE (\"%s\": stream name) [--push|--pub] [--rate R|max]\n"
     "        [--loop] [--start S] [--end S] [--raw] [--shm SLOTS] [--fps F] [--timestamps FILE]\n"
     "        [--scene NAME] [--stream NAME]"},
    {"record", qp_cli_record,
     "record [--endpoint DETECTIONS_ENDPOINT] [--frames FRAMES_ENDPOINT] [--foxglove]\n"
     "        -o FILE.mcap [--stream NAME ...] [--compression zstd|lz4|none] [--duration S]\n"
     "        [--count N] [--flush-ms MS] [--max-frame-bytes N]\n"
     "        [--curve-server-key FILE --curve-secret-key FILE]"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: qpercept [-v] COMMAND ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-v") == 0) {
            qp_log_set_level(QP_LOG_INFO);
        } else if (strcmp(argv[first], "-vv") == 0) {
            qp_log_set_level(QP_LOG_DEBUG);
        } else if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "qpercept: unknown option %s\n", argv[first]);
            usage(stderr);
            return 2;
        }
        first++;
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[first], commands[i].name) == 0)
            return commands[i].fn(argc - first, argv + first);
    fprintf(stderr, "qpercept: unknown command '%s'\n", argv[first]);
    usage(stderr);
    return 2;
}
