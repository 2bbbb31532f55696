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
# shellcheck source=provision-common.sh
. "$ROOT/scripts/provision-common.sh"

cached_or_stop "$OUT/taskboard-mail" "the mail component ($HASH)"
require_go "the mail component"

say "building deploy/pluggable-mail into $OUT (about a minute the first time: gRPC and protobuf compile)"
mkdir -p "$OUT"
cd "$MODULE"
with_progress go build -trimpath -ldflags "-s -w" -o "$OUT/taskboard-mail.tmp" .
mv "$OUT/taskboard-mail.tmp" "$OUT/taskboard-mail"
echo "$OUT/taskboard-mail"
