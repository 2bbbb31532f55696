#!/usr/bin/env bash
# Render Dapr's own Helm chart (shipped in the dapr Go module download) for the local cluster, CRDs included,
# with the values deploy/README.md tells users to set plus what one node without a registry needs. The scheduler's
# and placement's data are on PersistentVolumeClaims of the default StorageClass (local-path), as users install it:
# the scheduler's 3 replicas always; placement keeps its raft log on a claim only in HA mode, so placement runs HA
# (3 replicas) while the stateless operator, sentry and injector run one replica each (2 cores).
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
"$helm" template dapr "$chart" --namespace dapr-system --include-crds \
  --set global.registry=ghcr.io/dapr --set "global.tag=$DAPR_VERSION" --set global.imagePullPolicy=Never \
  --set global.ha.enabled=false --set dapr_placement.ha=true \
  --set dapr_sidecar_injector.sidecarDropALLCapabilities=true \
  --set dapr_sidecar_injector.sidecarImagePullPolicy=Never
