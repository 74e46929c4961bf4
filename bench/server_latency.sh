#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# server_latency.sh - end-to-end latency of qperceptd under six cameras:
# start a qperceptd with a generated config (six PULL streams on ipc:// in a
# temp dir, YOLOX-Nano), drive it with `qpercept bench` (6 streams x 30 Hz,
# 1280x720 BGR8, pixels inline or in shared memory, open loop), stop it,
# print the summary.
#
#   bench/server_latency.sh
#
# Environment (all optional):
#   DURATION      measured seconds (default 60); WARMUP seconds before them (2)
#   QP_BUILD_DIR  build directory holding qperceptd and qpercept (default build)
#   QP_MIRROR     mirror directory (default ../shared next to the repository)
#   ENGINE        the engine (.qpe) or model (.onnx) to serve; default
#                 YOLOX-Nano 416 ONNX via models/fetch.sh (mirror first, then
#                 its URL), else <mirror>/models/yolox_nano_416_coco.onnx;
#                 "tiny": bench/tiny_detector.py's stand-in network (needs
#                 .venv from scripts/setup.sh), so that the server's own
#                 overhead is measured, not queueing behind a network this
#                 CPU cannot run at 180 frames/s
#   TRANSPORT     inline (default) | shm: streams with transport = shm, the
#                 bench publishing through 4-slot rings (--shm 4)
#   SENDERS       one (default): one thread sends every camera; stream: a
#                 sending thread per camera (qpercept bench --senders)
#   ALIGNED       1: the cameras fire together (--aligned, hardware-synced
#                 rigs); default 0: phase-offset within each period
#   MAX_DELAY_US  server.max_delay_us (default: the server's, 5000): how long
#                 the first frame of a batch may wait for the other cameras
#   BACKEND       engine.backend: auto | cpu | cuda (default auto)
#   BATCH_SIZES   engine.batch_sizes (default 1,2,4,6,8)
#   THREADS       engine.threads, the CPU backend's threads (default: the
#                 server's, 0 = one per core)
#   SCHED         fifo:PRIO runs qperceptd (every thread of it) under
#                 SCHED_FIFO at PRIO (chrt -f; needs CAP_SYS_NICE), as a
#                 unit drop-in's CPUSchedulingPolicy=fifo would (with
#                 RestrictRealtime=no); default: the normal scheduler. On two
#                 shared cores it made the p99 worse (docs/benchmarks.md)
#   OUT           the JSON (default bench/results/server_latency_inline.json)
#   LABEL         the run's label in the JSON (default "inline, BACKEND, HOST")
#
# The sockets are relative ipc:// paths inside the temp dir (both processes
# run there), so the JSON names no path of this machine. The server's log
# is printed when it fails to start or exits badly.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/qperceptd_ready.sh
. "$ROOT/scripts/lib/qperceptd_ready.sh"
BUILD=$(cd "${QP_BUILD_DIR:-build}" 2>/dev/null && pwd) || BUILD=""
MIRROR=${QP_MIRROR:-$ROOT/../shared}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-2}
BACKEND=${BACKEND:-auto}
BATCH_SIZES=${BATCH_SIZES:-1,2,4,6,8}
TRANSPORT=${TRANSPORT:-inline}
ALIGNED=${ALIGNED:-0}
SENDERS=${SENDERS:-one}
OUT=${OUT:-bench/results/server_latency_${TRANSPORT}.json}
STREAMS=6
WIDTH=1280
HEIGHT=720

die() {
    echo "server_latency.sh: $*" >&2
    exit 1
}

[ -n "$BUILD" ] && [ -x "$BUILD/qperceptd" ] && [ -x "$BUILD/qpercept" ] ||
    die "no qperceptd / qpercept in ${QP_BUILD_DIR:-build}; build them first:" \
        "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qp_server_latency.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# The model: ENGINE, else models/fetch.sh, else the mirror directory.
model=${ENGINE:-}
if [ "$model" = tiny ]; then
    "$ROOT/.venv/bin/python" bench/tiny_detector.py "$tmp/tiny_detector.onnx" ||
        die "cannot write the stand-in network (scripts/setup.sh makes .venv)"
    model=$tmp/tiny_detector.onnx
fi
if [ -z "$model" ] && [ -x models/fetch.sh ]; then
    model=$(QP_MIRROR="$MIRROR" models/fetch.sh yolox_nano_416_coco "$BUILD/models" | tail -n 1) ||
        model=""
fi
if [ -z "$model" ] && [ -f "$MIRROR/models/yolox_nano_416_coco.onnx" ]; then
    model=$MIRROR/models/yolox_nano_416_coco.onnx
fi
[ -n "$model" ] && [ -f "$model" ] ||
    die "no model: set ENGINE, or put yolox_nano_416_coco.onnx in $MIRROR/models"
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
export QP_MANIFEST=${QP_MANIFEST:-$ROOT/models/zoo.ini}

case $OUT in /*) out_abs=$OUT ;; *) out_abs=$ROOT/$OUT ;; esac
mkdir -p "$(dirname "$out_abs")"

case $TRANSPORT in
inline) shm_opt=() ;;
shm) shm_opt=(--shm 4) ;;
*) die "TRANSPORT=$TRANSPORT: want inline or shm" ;;
esac
aligned_opt=()
[ "$ALIGNED" = 1 ] && aligned_opt=(--aligned)

{
    printf '[server]\ncontrol_endpoint = ipc://control\npublish_endpoint = ipc://detections\n'
    printf 'metrics_port = 0\nwatchdog = off\nmax_frame_bytes = %d\n' $((WIDTH * HEIGHT * 3 * 2))
    [ -n "${MAX_DELAY_US:-}" ] && printf 'max_delay_us = %d\n' "$MAX_DELAY_US"
    printf '[engine]\npath = %s\nbackend = %s\nbatch_sizes = %s\nwarmup = 3\n' \
        "$model" "$BACKEND" "$BATCH_SIZES"
    [ -n "${THREADS:-}" ] && printf 'threads = %d\n' "$THREADS"
    for ((i = 0; i < STREAMS; i++)); do
        printf '[stream.cam%d]\nendpoint = ipc://cam%d\nmode = pull\nwidth = %d\nheight = %d\n' \
            "$i" "$i" "$WIDTH" "$HEIGHT"
        printf 'transport = %s\n' "$TRANSPORT"
    done
} > "$tmp/qperceptd.conf"

sched=()
case ${SCHED:-} in
"") ;;
fifo:[0-9]*) sched=(chrt -f "${SCHED#fifo:}") ;;
*) die "SCHED=$SCHED: want fifo:PRIO" ;;
esac

cd "$tmp"
echo "server_latency.sh: starting qperceptd ($(basename "$model"), backend $BACKEND, batch sizes" \
     "$BATCH_SIZES${SCHED:+, $SCHED})" >&2
"${sched[@]}" "$BUILD/qperceptd" --config qperceptd.conf 2> qperceptd.log &
pid=$!
# up to 120 s: an ONNX model is built at start-up
qp_wait_ready "$BUILD/qpercept" ipc://control "$pid" qperceptd.log 120 ||
    die "qperceptd did not become ready"
backend=$(sed -n 's/.*backend \([a-z]*\), batch sizes.*/\1/p' qperceptd.log | head -n 1)

status=0
"$BUILD/qpercept" bench --endpoint ipc://detections --frames-endpoint 'ipc://cam%d' \
    --streams $STREAMS --rate 30 --duration "$DURATION" --warmup "$WARMUP" \
    --size ${WIDTH}x${HEIGHT} --format bgr8 --push "${shm_opt[@]}" "${aligned_opt[@]}" \
    --senders "$SENDERS" --json "$out_abs" \
    --label "${LABEL:-$TRANSPORT, $(basename "$model"), ${backend:-$BACKEND}, max_delay_us ${MAX_DELAY_US:-5000}${SCHED:+, $SCHED}, $(nproc) cores}" \
    > bench.txt || status=$?

kill -TERM "$pid"
srv=0
wait "$pid" || srv=$?
pid=""
if [ $srv != 0 ]; then
    cat qperceptd.log >&2
    echo "server_latency.sh: qperceptd exited with status $srv" >&2
    status=1
fi
cat bench.txt
echo "server_latency.sh: JSON in $OUT"
exit $status
