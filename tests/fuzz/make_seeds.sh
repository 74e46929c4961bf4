#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make_seeds.sh - the fuzz targets' seed corpora, generated (never committed).
#
#   tests/fuzz/make_seeds.sh BUILD_DIR OUT_DIR
#
# Runs BUILD_DIR/tests/fuzz/qp_fuzz_seeds (make_seeds.c: synthetic seeds,
# plus small re-encodings of the mirror's images as JPEG / PNG / Frames and
# .qpe engines built from the mirror's models), then adds real files of the
# mirror as they are: models/*.onnx (onnx), a few images of data/ (image),
# and deploy/qperceptd.conf (config). OUT_DIR/<target>/ per target
# (tests/fuzz/CMakeLists.txt lists them). The mirror is QP_MIRROR (default
# ../shared next to the repository); without it only synthetic seeds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:?usage: make_seeds.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: make_seeds.sh BUILD_DIR OUT_DIR}
MIRROR=${QP_MIRROR:-$ROOT/../shared}
[ -d "$MIRROR/models" ] || MIRROR=""

mkdir -p "$OUT"
QP_MIRROR="$MIRROR" "$BUILD/tests/fuzz/qp_fuzz_seeds" "$OUT"
mkdir -p "$OUT"/{onnx,image,config}
cp "$ROOT/deploy/qperceptd.conf" "$OUT/config/deploy_qperceptd.conf"
if [ -n "$MIRROR" ]; then
    for m in "$MIRROR"/models/*.onnx; do
        cp "$m" "$OUT/onnx/"
    done
    for img in "$MIRROR/data/images/dog.jpg" "$MIRROR/data/driving/kitti/000007.png" \
        "$MIRROR/data/drives/nuscenes_mini/frames/000000.jpg"; do
        [ -f "$img" ] && cp "$img" "$OUT/image/real_$(basename "$(dirname "$img")")_$(basename "$img")"
    done
    echo "make_seeds.sh: $OUT (synthetic + mirror $MIRROR)"
else
    echo "make_seeds.sh: $OUT (synthetic only: no mirror)"
fi
