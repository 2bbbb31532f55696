#!/usr/bin/env bash
# Provision the pinned Mailpit (SMTP server with a web UI and an HTTP API) and print the path of
# its binary on the last line of stdout.
#
#   1. An installed mailpit of the pinned version is used as is ($MAILPIT_BIN, then PATH).
#   2. Otherwise it is built with `go install` from the Go module proxy into a cache outside the
#      repo ($TASKBOARD_CACHE, default ~/.cache/taskboard/mailpit-<version>/) and reused from there.
#
#   --find-only: step 1 and the cache only; never build (exit 3 when not provisioned).
set -euo pipefail

FIND_ONLY=0
if [ "${1:-}" = "--find-only" ]; then FIND_ONLY=1; fi

MAILPIT_VERSION="${MAILPIT_VERSION:-1.33.1}"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
OUT="$CACHE/mailpit-$MAILPIT_VERSION"

say() { echo "[mailpit] $*" >&2; }

has_version() { # <binary>: prints the pinned version ("mailpit v1.33.1 compiled with …"; no release check online)
  [ -x "$1" ] || return 1
  local out
  out="$("$1" version --no-release-check 2>/dev/null || true)"
  [[ "$out" == *"v$MAILPIT_VERSION "* ]]
}

candidates=("${MAILPIT_BIN:-}" "$OUT/mailpit")
if command -v mailpit >/dev/null 2>&1; then candidates+=("$(command -v mailpit)"); fi
for bin in "${candidates[@]}"; do
  if [ -n "$bin" ] && has_version "$bin"; then
    say "using mailpit $MAILPIT_VERSION at $bin"
    echo "$bin"
    exit 0
  fi
done

if [ "$FIND_ONLY" = 1 ]; then
  say "mailpit $MAILPIT_VERSION is not provisioned yet (not building: --find-only)"
  exit 3
fi

if ! command -v go >/dev/null 2>&1; then
  say "ERROR: mailpit $MAILPIT_VERSION is not installed and Go is missing to build it."
  say "Install Go (https://go.dev/dl/) or put mailpit $MAILPIT_VERSION on PATH (or in \$MAILPIT_BIN)."
  exit 1
fi

say "building mailpit $MAILPIT_VERSION from the Go module proxy into $OUT (about a minute)"
mkdir -p "$OUT"
start=$(date +%s)
# Mailpit prints its version from this variable; `go install` leaves it at "dev" otherwise.
ldflags="-s -w -X github.com/axllent/mailpit/config.Version=v$MAILPIT_VERSION"
tmp="$(mktemp -d "$OUT/build.XXXXXX")"
CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags "$ldflags" \
  "github.com/axllent/mailpit@v$MAILPIT_VERSION"
mv "$tmp/mailpit" "$OUT/mailpit"
rmdir "$tmp"
has_version "$OUT/mailpit" || { say "ERROR: built mailpit does not report v$MAILPIT_VERSION"; exit 1; }
say "built in $(( $(date +%s) - start ))s: $("$OUT/mailpit" version --no-release-check | head -n 1)"
echo "$OUT/mailpit"
