#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh - the README's main job for now: build qpercept (Release), get
# YOLOX-Nano through models/fetch.sh (mirror directory first, else the
# upstream URL), and print its detections on a KITTI road frame and on the
# dog sanity image from the mirror directory.
#
#   scripts/demo.sh          env QP_MIRROR: mirror directory (default ../shared)
#                            env QP_BUILD_DIR: build directory (default build)
#
# The demo needs no Python, so setup runs with --no-venv.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${QP_JOBS:-2}
BUILD=${QP_BUILD_DIR:-build}
MIRROR=${QP_MIRROR:-$ROOT/../shared}
export QP_MIRROR="$MIRROR"

section() { printf '\n======== %s ========\n' "$*"; }

section "setup"
scripts/setup.sh --no-venv

section "build: $BUILD/ (Release)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j"$JOBS" --target qpercept

section "model: YOLOX-Nano 416 (COCO)"
if [ ! -x models/fetch.sh ]; then
    echo "demo.sh: models/fetch.sh is missing or not executable" >&2
    exit 1
fi
if ! model=$(models/fetch.sh yolox_nano_416_coco "$BUILD/models"); then
    echo "demo.sh: could not get yolox_nano_416_coco: the mirror directory ($MIRROR/models)" \
         "has no copy and the download from the manifest's URL failed" >&2
    exit 1
fi
model=$(printf '%s\n' "$model" | tail -n 1)
echo "model: $model"

status=0
for frame in data/driving/kitti/000008.png data/images/dog.jpg; do
    section "detections: $frame"
    if [ ! -f "$MIRROR/$frame" ]; then
        echo "demo.sh: $MIRROR/$frame is missing: frames come only from the mirror directory" \
             "(set QP_MIRROR)" >&2
        status=1
        continue
    fi
    "$BUILD/qpercept" run "$model" --image "$MIRROR/$frame" || status=1
done

# The same detector quantized: INT8 with channel equalization, calibrated on
# a few frames of a real drive; the per-layer report, then its detections.
calib="$MIRROR/data/drives/udacity_solidWhiteRight/frames"
engine="$BUILD/models/yolox_nano_416_coco.int8.qpe"
section "INT8 engine: qpercept build (8 calibration frames)"
if [ ! -d "$calib" ]; then
    echo "demo.sh: $calib is missing: calibration frames come from the mirror directory" >&2
    exit 1
fi
"$BUILD/qpercept" build "$model" -o "$engine" --precision int8 --calib "$calib" \
    --calib-images 8 --measure-images 4 | tail -n 4 || status=1
for frame in data/driving/kitti/000008.png data/images/dog.jpg; do
    section "INT8 detections: $frame"
    [ -f "$MIRROR/$frame" ] && { "$BUILD/qpercept" run "$engine" --image "$MIRROR/$frame" || status=1; }
done
exit $status
