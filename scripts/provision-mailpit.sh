#!/usr/bin/env bash
# Provision the pinned Mailpit (SMTP server with a web UI and an HTTP API) and print the path of
# its binary on the last line of stdout.
#
#   1. An installed mailpit of the pinned version is used as is ($MAILPIT_BIN, then the caches, then PATH).
#   2. Otherwise it is built from the Go module proxy into a cache outside the repo ($TASKBOARD_CACHE,
#      default ~/.cache/taskboard/): with its web UI when npm is there (mailpit-<version>-ui/), else
#      without it (mailpit-<version>/). The web UI's assets are not in the Go module (Mailpit's releases build
#      them with npm and esbuild), so without them the UI page is blank; SMTP and the API work either way.
#      A UI build that fails is not tried again (mailpit-<version>-ui/failed says why; delete it to retry).
#
#   --find-only: step 1 only; never build (exit 3 when not provisioned).
set -euo pipefail

FIND_ONLY=0
if [ "${1:-}" = "--find-only" ]; then FIND_ONLY=1; fi

MAILPIT_VERSION="${MAILPIT_VERSION:-1.33.1}"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
OUT="$CACHE/mailpit-$MAILPIT_VERSION"        # built without the web UI
OUT_UI="$CACHE/mailpit-$MAILPIT_VERSION-ui"  # built with it
MODULE="github.com/axllent/mailpit@v$MAILPIT_VERSION"
# Mailpit prints its version from this variable; a build leaves it at "dev" otherwise.
LDFLAGS="-s -w -X github.com/axllent/mailpit/config.Version=v$MAILPIT_VERSION"

say() { echo "[mailpit] $*" >&2; }

has_version() { # <binary>: prints the pinned version ("mailpit v1.33.1 compiled with …"; no release check online)
  [ -x "$1" ] || return 1
  local out
  out="$("$1" version --no-release-check 2>/dev/null || true)"
  [[ "$out" == *"v$MAILPIT_VERSION "* ]]
}

use() { say "using mailpit $MAILPIT_VERSION at $1${2:-}"; echo "$1"; exit 0; }

if [ -n "${MAILPIT_BIN:-}" ] && has_version "$MAILPIT_BIN"; then use "$MAILPIT_BIN"; fi
if has_version "$OUT_UI/mailpit"; then use "$OUT_UI/mailpit" " (with its web UI)"; fi
fallbacks=("$OUT/mailpit")
if command -v mailpit >/dev/null 2>&1; then fallbacks+=("$(command -v mailpit)"); fi
try_ui=0
if [ "$FIND_ONLY" = 0 ] && command -v npm >/dev/null 2>&1 && command -v go >/dev/null 2>&1 && [ ! -e "$OUT_UI/failed" ]; then
  try_ui=1
fi
if [ "$try_ui" = 0 ]; then
  for bin in "${fallbacks[@]}"; do
    if has_version "$bin"; then use "$bin" " (without its web UI: API and SMTP only)"; fi
  done
fi

if [ "$FIND_ONLY" = 1 ]; then
  say "mailpit $MAILPIT_VERSION is not provisioned yet (not building: --find-only)"
  exit 3
fi

if ! command -v go >/dev/null 2>&1; then
  say "ERROR: mailpit $MAILPIT_VERSION is not installed and Go is missing to build it."
  say "Install Go (https://go.dev/dl/) or put mailpit $MAILPIT_VERSION on PATH (or in \$MAILPIT_BIN)."
  exit 1
fi

build_with_ui() { # the module's source with its UI assets built by npm + esbuild, then go build; 1 on failure
  local work src
  mkdir -p "$OUT_UI"
  work="$(mktemp -d "$OUT_UI/build.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  src="$(go mod download -json "$MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || { echo "go mod download $MODULE gave no source" >"$OUT_UI/failed"; return 1; }
  cp -r "$src/." "$work/src" && chmod -R u+w "$work/src"
  cd "$work/src"
  # Only the UI's bundler and its inputs: the linters, the browser tests and the API-docs page (rapidoc, whose
  # current releases the registry here does not serve) are left out; sass-embedded is an optional peer.
  npm pkg delete dependencies.rapidoc devDependencies.@playwright/test devDependencies.eslint \
    devDependencies.prettier devDependencies.jsdom devDependencies.globals devDependencies.@eslint/js \
    devDependencies.@eslint/compat devDependencies.eslint-config-prettier devDependencies.eslint-plugin-vue \
    devDependencies.@types/bootstrap
  sed -i 's|entryPoints: \["server/ui-src/app.js", "server/ui-src/docs.js"\]|entryPoints: ["server/ui-src/app.js"]|' \
    esbuild.config.mjs
  say "  installing the web UI's build tools with npm..."
  if ! nice -n 10 npm install --ignore-scripts --omit=peer --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1; then
    tail -n 5 "$work/npm.log" >"$OUT_UI/failed"; return 1
  fi
  say "  bundling the web UI (esbuild)..."
  if ! MINIFY=true nice -n 10 node esbuild.config.mjs >"$work/esbuild.log" 2>&1 || [ ! -s server/ui/dist/app.js ]; then
    tail -n 5 "$work/esbuild.log" >"$OUT_UI/failed"; return 1
  fi
  say "  compiling mailpit with its web UI..."
  CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$LDFLAGS" -o "$OUT_UI/mailpit" . || {
    echo "go build failed" >"$OUT_UI/failed"; return 1; }
}

start=$(date +%s)
if [ "$try_ui" = 1 ]; then
  say "building mailpit $MAILPIT_VERSION with its web UI into $OUT_UI (npm, esbuild, go; a few minutes)"
  if (build_with_ui) && has_version "$OUT_UI/mailpit"; then
    say "built in $(( $(date +%s) - start ))s: $("$OUT_UI/mailpit" version --no-release-check | head -n 1), with its web UI"
    echo "$OUT_UI/mailpit"
    exit 0
  fi
  say "WARNING: the web UI could not be built ($(head -c 300 "$OUT_UI/failed" 2>/dev/null | tr '\n' ' '))."
  say "Mailpit works without it (SMTP and the HTTP API the tests read); its web page stays blank."
  for bin in "${fallbacks[@]}"; do
    if has_version "$bin"; then use "$bin" " (without its web UI: API and SMTP only)"; fi
  done
elif ! command -v npm >/dev/null 2>&1; then
  say "npm is missing: Mailpit is built without its web UI (SMTP and the HTTP API work; its web page is blank)"
fi

say "building mailpit $MAILPIT_VERSION from the Go module proxy into $OUT (about a minute)"
mkdir -p "$OUT"
tmp="$(mktemp -d "$OUT/build.XXXXXX")"
CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags "$LDFLAGS" "$MODULE"
mv "$tmp/mailpit" "$OUT/mailpit"
rmdir "$tmp"
has_version "$OUT/mailpit" || { say "ERROR: built mailpit does not report v$MAILPIT_VERSION"; exit 1; }
say "built in $(( $(date +%s) - start ))s: $("$OUT/mailpit" version --no-release-check | head -n 1)"
echo "$OUT/mailpit"
