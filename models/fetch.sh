#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# fetch.sh - put a model from the manifest (models/zoo.ini) on disk, checked.
#
#   models/fetch.sh NAME [DEST_DIR]
#
# Looks up [model.NAME] in zoo.ini for its sha256 and url; the file is
# NAME.onnx. Uses, in order: DEST_DIR/NAME.onnx if already there with the
# right sha256; the mirror directory's models/NAME.onnx (env QP_MIRROR,
# default ../shared next to the repository) if its sha256 matches; else a
# download of url with curl (retries, then a clear failure when offline).
# Every file is verified; a sha256 mismatch is an error naming both hashes.
# Prints the model's path on stdout; messages go to stderr.
# DEST_DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/qpercept/models.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
manifest="$here/zoo.ini"

die() {
    echo "fetch.sh: $*" >&2
    exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    die "usage: models/fetch.sh NAME [DEST_DIR]"
fi
name=$1
dest=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/qpercept/models}
mirror=${QP_MIRROR:-$root/../shared}
file="$name.onnx"

# Value of key in section [model.$name] (empty when absent).
entry() {
    awk -v want="[model.$name]" -v key="$1" '
        /^[ \t]*[;#]/ { next }
        /^[ \t]*\[/   { gsub(/[ \t]/, ""); insec = ($0 == want); found = found || insec; next }
        insec && index($0, "=") {
            k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
            if (k == key) print v
        }
        END { if (!found) exit 3 }' "$manifest"
}

sha_of() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

if ! want=$(entry sha256); then
    names=$(sed -n 's/^[ \t]*\[model\.\(.*\)\][ \t]*$/\1/p' "$manifest" | tr '\n' ' ' | sed 's/ $//')
    die "no [model.$name] in $manifest (have: $names)"
fi
url=$(entry url)
[ -n "$want" ] || die "[model.$name] has no sha256 in $manifest"

mkdir -p "$dest" || die "cannot create $dest"
target="$dest/$file"
if [ -f "$target" ] && [ "$(sha_of "$target")" = "$want" ]; then
    echo "$target"
    exit 0
fi

tmp=$(mktemp "$dest/.$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT

src="$mirror/models/$file"
if [ -f "$src" ]; then
    got=$(sha_of "$src")
    if [ "$got" = "$want" ]; then
        cp "$src" "$tmp"
        chmod 0644 "$tmp"
        mv "$tmp" "$target"
        echo "fetch.sh: $name from the mirror $src" >&2
        echo "$target"
        exit 0
    fi
    echo "fetch.sh: mirror copy $src has sha256 $got, manifest wants $want; not used" >&2
fi

[ -n "$url" ] || die "$name has no url in $manifest and no good mirror copy (looked for $src)"
command -v curl >/dev/null || die "curl is not installed; cannot download $url"
echo "fetch.sh: downloading $name from $url" >&2
curl -fsSL --retry 3 --retry-delay 2 --connect-timeout 20 -o "$tmp" "$url" ||
    die "download of $url failed (offline? set QP_MIRROR to a directory with models/$file)"
got=$(sha_of "$tmp")
[ "$got" = "$want" ] || die "sha256 mismatch for $url: got $got, manifest wants $want"
chmod 0644 "$tmp"
mv "$tmp" "$target"
echo "$target"
