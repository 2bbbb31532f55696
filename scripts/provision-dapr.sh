#!/usr/bin/env bash
# Provision the pinned Dapr runtime (daprd + scheduler + placement) and print the
# directory that holds them on the last line of stdout.
#
#   1. An installed daprd/scheduler/placement of the pinned version is used as is
#      ($DAPR_BIN_DIR, ~/.dapr/bin, then PATH) — e.g. after `dapr init`.
#   2. Otherwise they are built from the Go module proxy through the wrapper
#      module in tools/dapr into a cache outside the repo
#      ($TASKBOARD_CACHE, default ~/.cache/taskboard) and reused from there.
#      A cache that holds daprd and scheduler but no placement (built before
#      actors were used) gets placement added: only that binary is compiled.
#
#   --find-only: step 1 and the cache only; never build (exit 3 when not provisioned).
#   The pytest report header uses it, so unit tests run on a fresh clone without Go.
set -euo pipefail

FIND_ONLY=0
if [ "${1:-}" = "--find-only" ]; then FIND_ONLY=1; fi

DAPR_VERSION="${DAPR_VERSION:-1.18.3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
# The cache key includes the wrapper module, so changing the component set rebuilds.
WRAPPER_HASH="$(cat "$ROOT"/tools/dapr/go.mod "$ROOT"/tools/dapr/go.sum "$ROOT"/tools/dapr/daprd/*.go | sha256sum | cut -c1-12)"
OUT="$CACHE/dapr-$DAPR_VERSION-$WRAPPER_HASH"

say() { echo "[dapr] $*" >&2; }

BINARIES=(daprd scheduler placement)

has_version() { # <dir>: daprd and scheduler there, daprd prints the pinned version
  [ -x "$1/daprd" ] && [ -x "$1/scheduler" ] &&
    [ "$("$1/daprd" --version 2>/dev/null | tail -n 1)" = "$DAPR_VERSION" ]
}
has_all() { # <dir>: every binary of the pinned version there
  has_version "$1" && [ -x "$1/placement" ]
}

candidates=("${DAPR_BIN_DIR:-}" "$HOME/.dapr/bin" "$OUT")
if command -v daprd >/dev/null 2>&1; then candidates+=("$(dirname "$(command -v daprd)")"); fi
for dir in "${candidates[@]}"; do
  if [ -n "$dir" ] && has_all "$dir"; then
    say "using daprd $DAPR_VERSION from $dir"
    echo "$dir"
    exit 0
  fi
done

if [ "$FIND_ONLY" = 1 ]; then
  say "daprd $DAPR_VERSION is not provisioned yet (not building: --find-only)"
  exit 3
fi

if ! command -v go >/dev/null 2>&1; then
  say "ERROR: daprd $DAPR_VERSION is not installed and Go is missing to build it."
  say "Install Go >= 1.26.6 (https://go.dev/dl/) or put daprd and scheduler $DAPR_VERSION in ~/.dapr/bin."
  exit 1
fi

missing=()
for name in "${BINARIES[@]}"; do [ -x "$OUT/$name" ] || missing+=("$name"); done
has_version "$OUT" || missing=("${BINARIES[@]}")
say "building ${missing[*]} $DAPR_VERSION from the Go module proxy into $OUT"
say "(first build takes several minutes on 2 cores; later runs reuse the cache)"
mkdir -p "$OUT"
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION"
cd "$ROOT/tools/dapr"
start=$(date +%s)
say "downloading modules..."
go mod download
for name in "${missing[@]}"; do
  if [ "$name" = daprd ]; then target=./daprd; else target="github.com/dapr/dapr/cmd/$name"; fi
  say "compiling $name... ($(( $(date +%s) - start ))s elapsed)"
  CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$OUT/$name.tmp" "$target" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && say "  still compiling $name ($(( $(date +%s) - start ))s elapsed)"
  done
  wait "$pid"
  mv "$OUT/$name.tmp" "$OUT/$name"
done
has_all "$OUT" || { say "ERROR: built daprd does not report $DAPR_VERSION"; exit 1; }
say "built in $(( $(date +%s) - start ))s: $("$OUT/daprd" --version | tail -n 1)"
echo "$OUT"
