#!/usr/bin/env bash
# Render Dapr's own Helm chart (shipped in the dapr Go module download) for the local cluster, CRDs included,
# with the values deploy/README.md tells users to set plus what one node without storage needs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
chart="$(go env GOMODCACHE)/github.com/dapr/dapr@v$DAPR_VERSION/charts/dapr"
[ -d "$chart" ] || (cd "$ROOT/tools/dapr" && go mod download "github.com/dapr/dapr@v$DAPR_VERSION")
helm="$(bash "$LC/build.sh" --print-dir helm)/helm"
cat <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: dapr-system}
---
YAML
# global.registry/tag: the images images.sh imported (ghcr.io/dapr/<name>:<version>, never pulled).
# dapr_sidecar_injector.sidecarDropALLCapabilities: required by the restricted taskboard namespace (README).
# inMemoryStorage/forceInMemoryLog: this node has no storage provisioner (a real cluster keeps the PVCs).
"$helm" template dapr "$chart" --namespace dapr-system --include-crds \
  --set global.registry=ghcr.io/dapr --set "global.tag=$DAPR_VERSION" --set global.imagePullPolicy=Never \
  --set global.ha.enabled=false \
  --set dapr_sidecar_injector.sidecarDropALLCapabilities=true \
  --set dapr_sidecar_injector.sidecarImagePullPolicy=Never \
  --set dapr_scheduler.cluster.inMemoryStorage=true \
  --set dapr_placement.cluster.forceInMemoryLog=true
