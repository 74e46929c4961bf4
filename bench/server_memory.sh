#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# server_memory.sh - what a qperceptd holds once it serves: start one with a
# generated config (six shared-memory cameras of 1280x720 on ipc:// in a
# temp dir, the CPU backend, warmup 1), wait until its control socket
# answers, print the activation arenas and packed weights its start-up
# line reports and its VmRSS / VmHWM from /proc, stop it.
#
#   bench/server_memory.sh [BATCH_SIZES ...]      (default: 1 and 1,2,4,6,8)
#
# Environment (all optional):
#   QP_BUILD_DIR  build directory holding qperceptd and qpercept (default build)
#   QP_MIRROR     mirror directory (default ../shared next to the repository)
#   ENGINE        the engine (.qpe) or model (.onnx); default
#                 <mirror>/models/yolox_nano_416_coco.onnx
#   THREADS       engine.threads (default: the server's, one per core)
#
# One line per BATCH_SIZES:
#   "batch_sizes B: arenas N MiB, packed weights W MiB, VmRSS R kB, VmHWM H kB".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/qperceptd_ready.sh
. "$ROOT/scripts/lib/qperceptd_ready.sh"
BUILD=$(cd "${QP_BUILD_DIR:-build}" 2>/dev/null && pwd) || BUILD=""
MIRROR=${QP_MIRROR:-$ROOT/../shared}
ENGINE=${ENGINE:-$MIRROR/models/yolox_nano_416_coco.onnx}

die() {
    echo "server_memory.sh: $*" >&2
    exit 1
}
[ -n "$BUILD" ] && [ -x "$BUILD/qperceptd" ] && [ -x "$BUILD/qpercept" ] ||
    die "no qperceptd / qpercept in ${QP_BUILD_DIR:-build}; build them first"
[ -f "$ENGINE" ] || die "no engine $ENGINE: set ENGINE or QP_MIRROR"
ENGINE=$(cd "$(dirname "$ENGINE")" && pwd)/$(basename "$ENGINE")
export QP_MANIFEST=${QP_MANIFEST:-$ROOT/models/zoo.ini}
[ $# -gt 0 ] || set -- 1 1,2,4,6,8

tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
for sizes in "$@"; do
    {
        printf '[server]\ncontrol_endpoint = ipc://control\npublish_endpoint = ipc://detections\n'
        printf 'metrics_port = 0\nwatchdog = off\nmax_frame_bytes = %d\n' $((1280 * 720 * 3 * 2))
        printf '[engine]\npath = %s\nbackend = cpu\nbatch_sizes = %s\nwarmup = 1\n' \
            "$ENGINE" "$sizes"
        [ -n "${THREADS:-}" ] && printf 'threads = %d\n' "$THREADS"
        for i in 0 1 2 3 4 5; do
            printf '[stream.cam%d]\nendpoint = ipc://cam%d\nmode = pull\n' "$i" "$i"
            printf 'width = 1280\nheight = 720\ntransport = shm\n'
        done
    } > qperceptd.conf
    "$BUILD/qperceptd" --config qperceptd.conf 2> qperceptd.log &
    pid=$!
    qp_wait_ready "$BUILD/qpercept" ipc://control "$pid" qperceptd.log 120 ||
        die "qperceptd did not become ready"
    arenas=$(sed -n 's/.*(arenas \([0-9.]*\) MiB.*/\1/p' qperceptd.log | head -n 1)
    weights=$(sed -n 's/.*packed weights \([0-9.]*\) MiB once.*/\1/p' qperceptd.log | head -n 1)
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
    echo "batch_sizes $sizes: arenas $arenas MiB, packed weights ${weights:-0} MiB, VmRSS $rss kB, VmHWM $hwm kB"
    kill "$pid"
    wait "$pid" 2> /dev/null || true
    pid=""
done
