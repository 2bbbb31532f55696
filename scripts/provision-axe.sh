#!/usr/bin/env bash
# Provision the pinned axe-core (the accessibility engine the browser tests inject) and print the path of its
# axe.min.js on the last line of stdout. Fetched once with npm (which checks the registry's sha512 integrity)
# into a cache outside the repo ($TASKBOARD_CACHE, default ~/.cache/taskboard), then reused.
set -euo pipefail

AXE_VERSION="${AXE_VERSION:-4.14.1}"
AXE_INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
OUT="$CACHE/axe-core-$AXE_VERSION"

if [ -s "$OUT/axe.min.js" ]; then
  echo "$OUT/axe.min.js"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "[axe] npm is needed once to fetch axe-core $AXE_VERSION" >&2; exit 3; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "[axe] fetching axe-core $AXE_VERSION with npm" >&2
(cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
tarball="$work/axe-core-$AXE_VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
[ "$actual" = "$AXE_INTEGRITY" ] || { echo "[axe] integrity mismatch: $actual" >&2; exit 4; }
tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE
mkdir -p "$OUT"
mv "$work/package/axe.min.js" "$work/package/LICENSE" "$OUT/"
echo "$OUT/axe.min.js"
