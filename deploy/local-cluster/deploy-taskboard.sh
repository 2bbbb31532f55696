#!/usr/bin/env bash
# Deploy Taskboard to the local cluster as deploy/README.md tells users to: the namespace, the Secrets of
# section 4 (random values) and the Ingress's TLS Secret (taskboard.local's certificate from the local web CA that
# pki.sh made, in place of cert-manager), then `kubectl apply -k deploy/k8s/overlays/local`, and wait for the rollouts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NS=taskboard
kubectl_ apply -f "$ROOT/deploy/k8s/base/namespace.yaml" >/dev/null
secret() { # NAME KEY VALUE
  kubectl_ -n "$NS" create secret generic "$1" --from-literal="$2=$3" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
}
secret flask-secret-key flask-secret-key "$(openssl rand -base64 48)"
secret taskboard-dapr-api-token token "$(openssl rand -hex 32)"
secret taskboard-app-api-token token "$(openssl rand -hex 32)"
secret notification-service-dapr-api-token token "$(openssl rand -hex 32)"
secret notification-service-app-api-token token "$(openssl rand -hex 32)"
secret redis redis-password "$(openssl rand -hex 24)"
secret taskboard-webhook token "$(openssl rand -hex 32)"
kubectl_ -n "$NS" create secret tls taskboard-tls --cert="$STATE/pki/taskboard.local.crt" \
  --key="$STATE/pki/taskboard.local.key" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
kubectl_ apply -k "$ROOT/deploy/k8s/overlays/local"
for d in redis-master webhook-sink taskboard notification-service; do
  say "waiting for deploy/$d"
  kubectl_ -n "$NS" rollout status "deploy/$d" --timeout=300s
done
