#!/usr/bin/env bash
# Build (once) the pluggable mail component of deploy/pluggable-mail (the output binding
# bindings.taskboard-mail: multipart e-mail with List-Unsubscribe) and print the path of its binary on the
# last line of stdout. The binary is cached outside the repo ($TASKBOARD_CACHE, default ~/.cache/taskboard/)
# under a key made of the module's files, so a change to its source builds a new one.
#
#   --find-only: the cache only; never build (exit 3 when not built yet).
set -euo pipefail

FIND_ONLY=0
if [ "${1:-}" = "--find-only" ]; then FIND_ONLY=1; fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE="$ROOT/deploy/pluggable-mail"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
SOURCES=("$MODULE/go.mod" "$MODULE/go.sum")
for file in "$MODULE"/*.go; do [[ "$file" == *_test.go ]] || SOURCES+=("$file"); done
HASH="$(cat "${SOURCES[@]}" | sha256sum | cut -c1-12)"
OUT="$CACHE/taskboard-mail-$HASH"

say() { echo "[mail-component] $*" >&2; }

if [ -x "$OUT/taskboard-mail" ]; then
  say "using $OUT/taskboard-mail"
  echo "$OUT/taskboard-mail"
  exit 0
fi
if [ "$FIND_ONLY" = 1 ]; then
  say "the mail component ($HASH) is not built yet (not building: --find-only)"
  exit 3
fi
if ! command -v go >/dev/null 2>&1; then
  say "ERROR: Go is missing to build the mail component (install Go >= 1.26.6: https://go.dev/dl/)."
  exit 1
fi

say "building deploy/pluggable-mail into $OUT (about a minute the first time: gRPC and protobuf compile)"
mkdir -p "$OUT"
start=$(date +%s)
cd "$MODULE"
CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$OUT/taskboard-mail.tmp" . &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 20
  kill -0 "$pid" 2>/dev/null && say "  still compiling ($(( $(date +%s) - start ))s elapsed)"
done
wait "$pid"
mv "$OUT/taskboard-mail.tmp" "$OUT/taskboard-mail"
say "built in $(( $(date +%s) - start ))s"
echo "$OUT/taskboard-mail"
