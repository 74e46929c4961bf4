#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# setup.sh - install what building and testing qpercept needs: Debian packages
# and the Python tooling venv (.venv at the repository root, test-only:
# onnxruntime, onnx, numpy, pycocotools, mcap). Idempotent: installs only
# what is missing, says what it installs and what is present. Runs as root, or
# through sudo when that exists. apt-get update runs only when one is missing.
#
#   scripts/setup.sh [--no-venv]      --no-venv: Debian packages only
#
# Env: QP_PYTHON (default python3) makes the venv.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PYTHON=${QP_PYTHON:-python3}
WANT_VENV=1

DEB_PACKAGES=(build-essential cmake pkg-config git curl protobuf-c-compiler libprotobuf-c-dev
              libonnx-dev libonnx-testdata libcunit1-dev libturbojpeg0-dev libspng-dev
              libzmq3-dev libsystemd-dev libzstd-dev liblz4-dev python3 python3-venv
              python3-zmq python3-protobuf protobuf-compiler cppcheck clang-tidy)
# PyPI name == import name for these five (mcap brings zstandard and lz4 with it)
PY_PACKAGES=(onnxruntime onnx numpy pycocotools mcap)

usage() { sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
    case $arg in
        --no-venv) WANT_VENV=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup.sh: need root to run '$*' and sudo is not installed" >&2
        return 1
    fi
}

install_debian_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "setup.sh: not a Debian-based system (no dpkg-query); install the equivalents of:"
        echo "  ${DEB_PACKAGES[*]}"
        return 0
    fi
    local missing=() p
    for p in "${DEB_PACKAGES[@]}"; do
        if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            echo "  $p: already present"
        else
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "setup.sh: installing Debian packages: ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}"
}

make_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "setup.sh: creating the venv .venv with $PYTHON"
        "$PYTHON" -m venv "$VENV"
    fi
    local missing=() p
    for p in "${PY_PACKAGES[@]}"; do
        if "$VENV/bin/python" -c "import $p" >/dev/null 2>&1; then
            echo "  .venv $p: already present"
        else
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup.sh: pip installing into .venv: ${missing[*]}"
        "$VENV/bin/python" -m pip install --disable-pip-version-check "${missing[@]}"
    fi
    "$VENV/bin/python" - <<'PY'
import numpy, onnx, onnxruntime
print(f"  .venv: onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, "
      f"numpy {numpy.__version__}")
PY
}

echo "setup.sh: Debian packages"
install_debian_packages
if [ "$WANT_VENV" -eq 1 ]; then
    echo "setup.sh: Python tooling venv (.venv)"
    make_venv
else
    echo "setup.sh: --no-venv: Python tooling skipped (tests that need onnxruntime will skip)"
fi
