#!/usr/bin/env bash
# Provision zitadel/oidc's example OpenID Connect provider (the tests' real provider) and print the
# path of its binary on the last line of stdout.
#
# Built from the Go module proxy (`go install github.com/zitadel/oidc/v3/example/server@<version>`)
# into a cache outside the repo ($TASKBOARD_CACHE, default ~/.cache/taskboard), keyed by version,
# and reused from there. The build runs niced: it shares the machine.
#
#   --find-only: the cache only; never build (exit 3 when not provisioned).
set -euo pipefail

FIND_ONLY=0
if [ "${1:-}" = "--find-only" ]; then FIND_ONLY=1; fi

OIDC_VERSION="${OIDC_PROVIDER_VERSION:-v3.52.0}"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
OUT="$CACHE/oidc-provider-$OIDC_VERSION"
BIN="$OUT/server"

say() { echo "[oidc-provider] $*" >&2; }
# shellcheck source=provision-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/provision-common.sh"

cached_or_stop "$BIN" "zitadel/oidc example server $OIDC_VERSION"
require_go "the OIDC provider (github.com/zitadel/oidc/v3/example/server@$OIDC_VERSION)"

say "building github.com/zitadel/oidc/v3/example/server@$OIDC_VERSION into $OUT"
mkdir -p "$OUT"
GOBIN="$OUT/.build" with_progress go install -trimpath -ldflags "-s -w" \
  "github.com/zitadel/oidc/v3/example/server@$OIDC_VERSION"
mv "$OUT/.build/server" "$BIN"
rmdir "$OUT/.build"
echo "$BIN"
