#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gpu-pack.sh - gather, on this Debian machine, what scripts/gpu-check.sh
# needs on a bare GPU machine that has CUDA, cmake and ninja but none of our
# Debian build dependencies and no network. Writes gpu-pack/ (git-ignored;
# the device tool takes it along as carry ["gpu-pack"]):
#
#   gpu-pack/debs/      the .deb files (apt-get download, nothing installed):
#                       pkgconf, CUnit, protobuf-c + protoc-c and its libprotoc
#                       / libprotobuf, libturbojpeg, libspng, zlib1g-dev
#   gpu-pack/onnx/onnx.proto   libonnx-dev's schema, all the build uses of it
#   gpu-pack/mirror/    a few files of the mirror (QP_MIRROR, default
#                       ../shared) under their relative paths: the two
#                       detectors, the labels, 8 road frames (every udacity
#                       frame tests/ names, and others), the READMEs
#   gpu-pack/REVISION   git revision (and dirty state) when the pack was made
#
# Idempotent: a .deb already present with the archive's sha256, or a mirror
# file identical to its source, is kept; .debs no longer wanted are removed.
# Prints what it fetched and the pack's size (it must stay well under the
# tool's 64 MiB; about 11 MiB today). Needs apt-get (run apt-get update first
# if it cannot find a package) and network.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PACK=gpu-pack
MIRROR=${QP_MIRROR:-$ROOT/../shared}
MAX_MIB=40

# Everything gpu-check.sh unpacks. Their own dependencies outside this list
# (libc6, libgcc-s1, libstdc++6, zlib1g, libc6-dev) are on any machine that
# has a C compiler; check_depends() below fails on anything else.
DEBS=(pkgconf pkgconf-bin libpkgconf3
      libcunit1 libcunit1-dev
      libprotobuf-c1 libprotobuf-c-dev protobuf-c-compiler libprotoc32 libprotobuf32
      libturbojpeg0 libturbojpeg0-dev
      libspng0 libspng-dev zlib1g-dev)
ASSUMED=(libc6 libgcc-s1 libstdc++6 zlib1g libc6-dev libc-dev)

FRAMES_DIR=data/drives/udacity_solidWhiteRight/frames
N_FRAMES=8
# Every frame of that drive that tests/ names, then others spread over the
# drive until there are N_FRAMES.
mapfile -t FRAMES < <(grep -rhoE "$FRAMES_DIR/[0-9]{6}\.jpg" tests | sed 's#.*/##; s#\.jpg$##' | sort -u)
for f in 000030 000090 000150 000180 000210 000045 000105 000165; do
    [ ${#FRAMES[@]} -lt $N_FRAMES ] || break
    [[ " ${FRAMES[*]} " == *" $f "* ]] || FRAMES+=("$f")
done
MIRROR_FILES=(models/yolox_nano_416_coco.onnx models/nanodet_m_416_coco.onnx
              models/coco80.names models/README.md data/README.md
              data/drives/udacity_solidWhiteRight/LICENSE.udacity-CarND-LaneLines-P1)
for f in "${FRAMES[@]}"; do MIRROR_FILES+=("$FRAMES_DIR/$f.jpg"); done

fetched=0
kept=0

# Download each .deb unless the file is already there with the archive's sha256.
fetch_debs() {
    mkdir -p "$PACK/debs"
    local uris want=() line url file sha
    uris=$(apt-get download --print-uris "${DEBS[@]}")
    while read -r line; do
        [ -n "$line" ] || continue
        # 'URL' FILE SIZE SHA256:HEX
        url=$(awk '{print $1}' <<<"$line" | tr -d "'")
        file=$(awk '{print $2}' <<<"$line")
        sha=$(awk '{print $4}' <<<"$line" | sed 's/^SHA256://')
        want+=("$file")
        if [ -f "$PACK/debs/$file" ] && [ "$(sha256sum "$PACK/debs/$file" | cut -d' ' -f1)" = "$sha" ]; then
            kept=$((kept + 1))
            continue
        fi
        echo "gpu-pack: fetching $file ($url)"
        # as root apt warns that its _apt user cannot write here; the checks below decide
        (cd "$PACK/debs" && apt-get -qq download "${file%%_*}" 2>&1) | grep -v 'unsandboxed' || true
        [ -f "$PACK/debs/$file" ] || { echo "gpu-pack: apt-get download did not produce $file" >&2; exit 1; }
        [ "$(sha256sum "$PACK/debs/$file" | cut -d' ' -f1)" = "$sha" ] ||
            { echo "gpu-pack: sha256 mismatch for $file" >&2; exit 1; }
        fetched=$((fetched + 1))
    done <<<"$uris"
    [ ${#want[@]} -eq ${#DEBS[@]} ] ||
        { echo "gpu-pack: apt-get gave ${#want[@]} URIs for ${#DEBS[@]} packages" >&2; exit 1; }
    # drop stale versions
    local d keep w
    for d in "$PACK"/debs/*.deb; do
        keep=0
        for w in "${want[@]}"; do [ "$(basename "$d")" = "$w" ] && keep=1; done
        if [ $keep = 0 ]; then echo "gpu-pack: removing stale $(basename "$d")"; rm -f "$d"; fi
    done
}

# Every Depends of every .deb is in the pack or assumed present.
check_depends() {
    local d dep alt ok missing=()
    for d in "$PACK"/debs/*.deb; do
        while read -r dep; do
            ok=0
            # "a (>= 1) | b" : any alternative will do
            for alt in ${dep//|/ }; do
                case $alt in \(*|*\)|'>='*|'<<'*|'='*|'>>'*|'<='*) continue ;; esac
                [[ " ${DEBS[*]} ${ASSUMED[*]} " == *" ${alt%%:*} "* ]] && ok=1
            done
            [ $ok = 1 ] || missing+=("$(basename "$d"): $dep")
        done < <(dpkg-deb -f "$d" Depends | tr ',' '\n' | sed 's/^ *//; /^$/d')
    done
    if [ ${#missing[@]} -gt 0 ]; then
        printf 'gpu-pack: dependency not in the pack: %s\n' "${missing[@]}" >&2
        exit 1
    fi
}

# onnx/onnx.proto: the installed libonnx-dev's, else extracted from its .deb.
copy_onnx_proto() {
    local dst=$PACK/onnx/onnx.proto src=/usr/include/onnx/onnx.proto tmp
    mkdir -p "$PACK/onnx"
    if [ ! -f "$src" ]; then
        tmp=$(mktemp -d)
        (cd "$tmp" && apt-get -q download libonnx-dev >/dev/null 2>&1 && dpkg-deb -x libonnx-dev_*.deb x)
        src=$tmp/x/usr/include/onnx/onnx.proto
        [ -f "$src" ] || { echo "gpu-pack: no onnx.proto (install libonnx-dev)" >&2; exit 1; }
    fi
    copy_file "$src" "$dst"
}

copy_file() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        kept=$((kept + 1))
        return
    fi
    echo "gpu-pack: copying ${2#"$PACK"/}"
    mkdir -p "$(dirname "$2")"
    rm -f "$2"
    cp "$1" "$2"
    chmod 0644 "$2"
    fetched=$((fetched + 1))
}

copy_mirror() {
    local rel
    [ -d "$MIRROR" ] || { echo "gpu-pack: mirror directory $MIRROR not found (set QP_MIRROR)" >&2; exit 1; }
    for rel in "${MIRROR_FILES[@]}"; do
        [ -f "$MIRROR/$rel" ] || { echo "gpu-pack: $rel missing from the mirror" >&2; exit 1; }
        copy_file "$MIRROR/$rel" "$PACK/mirror/$rel"
    done
    local f
    while read -r f; do
        [[ " ${MIRROR_FILES[*]} " == *" ${f#"$PACK"/mirror/} "* ]] && continue
        echo "gpu-pack: removing stale ${f#"$PACK"/}"
        rm -f "$f"
    done < <(find "$PACK/mirror" -type f)
}

write_revision() {
    local rev dirty=false
    rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=true
    printf 'revision=%s\ndirty=%s\npacked=%s\n' "$rev" "$dirty" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        >"$PACK/REVISION"
}

fetch_debs
check_depends
copy_onnx_proto
copy_mirror
write_revision

size_kib=$(du -sk "$PACK" | cut -f1)
echo "gpu-pack: $fetched fetched or copied, $kept already up to date;" \
     "$(find "$PACK" -type f | wc -l) files, $((size_kib / 1024)) MiB ($size_kib KiB) in $PACK/"
if [ "$size_kib" -gt $((MAX_MIB * 1024)) ]; then
    echo "gpu-pack: $PACK/ is over $MAX_MIB MiB: too large to carry" >&2
    exit 1
fi
