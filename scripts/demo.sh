#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh - the README's main job: the whole product on one machine.
#
#   1. build qpercept and qperceptd (Release), get YOLOX-Nano through
#      models/fetch.sh (mirror directory first, else the manifest's URL) and
#      quantize it with `qpercept build` into an INT8 engine (unless built);
#   2. start qperceptd with the shipped configuration (deploy/qperceptd.conf)
#      and that engine, its sockets in a temporary run directory, seven
#      streams: the six nuScenes cameras and the longest real drive;
#   3. `qpercept record` records detections, the frames they came from (the
#      server's frame tap) and Foxglove images + annotations to MCAP, while
#      `qpercept sub` prints the first detections as they arrive;
#   4. `qpercept replay` plays the drive (221 frames, 25 fps) and, meanwhile,
#      loops the six-camera set at 10 Hz per camera, PUSHing JPEG frames;
#   5. the recording is closed, `qpercept bench --recording` reports the
#      latency from capture to publish of everything the server published,
#      per stream and per stage, with the server's drop counters; qperceptd
#      stops cleanly on SIGTERM; the script says where the recording is and
#      how to open it in Foxglove.
#
#   scripts/demo.sh          env QP_MIRROR: mirror directory (default ../shared)
#                            env QP_BUILD_DIR: build directory (default build)
#                            env QP_DEMO_OUT: where the recording, the engine's
#                              log, the counters and the latency report go (default
#                              $QP_BUILD_DIR/demo)
#
# The demo needs no Python, so setup runs with --no-venv. Exit status 0 when
# every step worked (the server's drops under CPU load are reported, not
# failures).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/qperceptd_ready.sh
. "$ROOT/scripts/lib/qperceptd_ready.sh"
JOBS=${QP_JOBS:-2}
BUILD=${QP_BUILD_DIR:-build}
MIRROR=${QP_MIRROR:-$ROOT/../shared}
OUTDIR=${QP_DEMO_OUT:-$BUILD/demo}
export QP_MIRROR="$MIRROR"

section() { printf '\n======== %s ========\n' "$*"; }
die() {
    echo "demo.sh: $*" >&2
    exit 1
}

section "setup"
scripts/setup.sh --no-venv

section "build: $BUILD/ (Release)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j"$JOBS" --target qpercept qperceptd
QP="$BUILD/qpercept"
QPD="$BUILD/qperceptd"

nuscenes="$MIRROR/data/driving/nuscenes"
drive="$MIRROR/data/drives/udacity_solidWhiteRight/frames"
for d in "$nuscenes" "$drive"; do
    [ -d "$d" ] || die "$d is missing: frames come only from the mirror directory (set QP_MIRROR)"
done

section "model: YOLOX-Nano 416 (COCO), quantized to INT8"
[ -x models/fetch.sh ] || die "models/fetch.sh is missing or not executable"
if ! model=$(models/fetch.sh yolox_nano_416_coco "$BUILD/models"); then
    die "could not get yolox_nano_416_coco: the mirror directory ($MIRROR/models) has no copy" \
        "and the download from the manifest's URL failed"
fi
model=$(printf '%s\n' "$model" | tail -n 1)
engine="$BUILD/models/yolox_nano_416_coco.int8.qpe"
if [ -f "$engine" ] && "$QP" inspect "$engine" > /dev/null 2>&1; then
    echo "engine: $engine (built before; delete it to rebuild)"
else
    # calibrated on frames spread over the drive, the agreement with FP32
    # measured on frames held out of calibration (docs/quantization.md)
    "$QP" build "$model" -o "$engine" --precision int8 --calib "$drive" \
        --calib-images 16 --measure-images 4 | tail -n 6
fi

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/qpercept-demo.XXXXXX")
recording="$OUTDIR/drive.mcap"
serverlog="$OUTDIR/qperceptd.log"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    rm -rf "$RUN"
}
trap cleanup EXIT

section "qperceptd: deploy/qperceptd.conf, 7 streams, sockets in $RUN"
cams=(cam_front cam_front_left cam_front_right cam_back cam_back_left cam_back_right)
streams=("${cams[@]}" drive)
metrics=9464 # the shipped default, unless something else has it
if (exec 3<> /dev/tcp/127.0.0.1/$metrics) 2> /dev/null; then metrics=0; fi
args=(--config deploy/qperceptd.conf --engine.path "$engine"
    --server.control_endpoint "ipc://$RUN/control"
    --server.publish_endpoint "ipc://$RUN/detections"
    --server.frame_tap_endpoint "ipc://$RUN/frames"
    --server.metrics_port "$metrics" --server.watchdog off
    --stream.front.enabled no)
for s in "${streams[@]}"; do
    args+=(--stream."$s".endpoint "ipc://$RUN/$s" --stream."$s".mode pull)
done
"$QPD" "${args[@]}" 2> "$serverlog" &
server=$!
pids+=("$server")
# the engine loads and warms up: up to 60 s
qp_wait_ready "$QP" "ipc://$RUN/control" "$server" "$serverlog" 60 || die "qperceptd did not come up"
"$QP" ctl "ipc://$RUN/control" status
[ "$metrics" != 0 ] && echo "Prometheus metrics: http://127.0.0.1:$metrics/metrics"

section "record (detections, frames, Foxglove) + the first detections as they arrive"
"$QP" record --endpoint "ipc://$RUN/detections" --frames "ipc://$RUN/frames" --foxglove \
    -o "$recording" --max-frame-bytes 4000000 2> "$OUTDIR/record.log" &
recorder=$!
pids+=("$recorder")
"$QP" sub --endpoint "ipc://$RUN/detections" --count 8 --stats-every 0 --timeout-ms 60000 &
sub=$!
pids+=("$sub")
sleep 0.5 # the subscriptions reach the server

section "replay: the drive (221 frames, 25 fps) + the six nuScenes cameras (10 Hz each)"
"$QP" replay "$nuscenes" --endpoint "ipc://$RUN/%s" --loop --rate 0.5 2> "$OUTDIR/replay_nuscenes.log" &
cameras=$!
pids+=("$cameras")
status=0
"$QP" replay "$drive" --endpoint "ipc://$RUN/drive" --stream drive --fps 25 || status=1
kill -INT "$cameras" 2> /dev/null || true
wait "$cameras" || true
wait "$sub" || status=1
sleep 0.5 # the last batch's detections and frames reach the recorder
kill -INT "$recorder"
wait "$recorder" || status=1
cat "$OUTDIR/record.log"

section "server counters (qpercept ctl stats)"
"$QP" ctl "ipc://$RUN/control" stats > "$OUTDIR/stats.json" || status=1
echo "written: $OUTDIR/stats.json"

section "latency, capture to publish (qpercept bench --recording)"
"$QP" bench --recording "$recording" | tee "$OUTDIR/latency.txt" || status=1

section "stop: SIGTERM"
kill -TERM "$server"
if wait "$server"; then
    echo "qperceptd stopped cleanly (exit 0); its log: $serverlog"
else
    echo "qperceptd exited non-zero; its log: $serverlog" >&2
    status=1
fi

section "the recording"
echo "$recording"
echo "Open it in Foxglove (https://app.foxglove.dev or the desktop app): File > Open local"
echo "file, add an Image panel on /qpercept/image/drive (or a camera's), and tick"
echo "/qpercept/annotations/drive under its annotations to see the boxes on the frames."
exit $status
