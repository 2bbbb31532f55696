#!/usr/bin/env bash
# Deploy Taskboard to the local cluster as deploy/README.md tells users to: the namespace, the Secrets of
# section 4 (random values) and the Ingress's TLS Secret (taskboard.local's certificate from the local web CA that
# pki.sh made, in place of cert-manager), then `kubectl apply -k` of the overlay of $K8S_STACK:
#   redis            deploy/k8s/overlays/local                 (Redis)
#   postgres-kafka   deploy/k8s/overlays/local-postgres-kafka  (PostgreSQL and Kafka StatefulSets; their passwords
#                    and the data tier's CA and server certificates are made here, Secrets only)
#   deploy-taskboard.sh data-tier   the namespace, the Secrets and the data tier's objects (label
#                                   app.kubernetes.io/component=data-tier) only: up.sh waits for them with the rest
#   deploy-taskboard.sh apps        the whole overlay, then wait for the apps' rollouts
#   deploy-taskboard.sh overlay     print the overlay's name
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NS=taskboard
case "${K8S_STACK:-redis}" in
  redis) OVERLAY=local ;;
  postgres-kafka) OVERLAY=local-postgres-kafka ;;
  *) die "K8S_STACK=$K8S_STACK: redis or postgres-kafka" ;;
esac
secret() { # NAME KEY VALUE [KEY VALUE...]
  local name="$1" args=(); shift
  while [ $# -gt 0 ]; do args+=(--from-literal="$1=$2"); shift 2; done
  kubectl_ -n "$NS" create secret generic "$name" "${args[@]}" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
}
tls_secret() { # NAME CERT KEY
  kubectl_ -n "$NS" create secret tls "$1" --cert="$2" --key="$3" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
}
# data_tier_pki: the data tier's CA and the servers' certificates for their Service names, in $STATE/pki
data_tier_pki() {
  local d="$STATE/pki" n
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/data-ca.key" -subj "/CN=taskboard-local-data-ca" -days 30 \
    -out "$d/data-ca.crt" 2>/dev/null
  for n in postgresql kafka; do
    openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$n.key" -subj "/CN=$n" -out "$d/$n.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\n' \
      "$n" "$n" "$NS" "$n" "$NS" > "$d/$n.ext"
    openssl x509 -req -in "$d/$n.csr" -CA "$d/data-ca.crt" -CAkey "$d/data-ca.key" -CAcreateserial -days 30 \
      -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null
    rm -f "$d/$n.csr" "$d/$n.ext"
  done
}

case "${1:-}" in
  overlay) echo "$OVERLAY"; exit 0 ;;
  data-tier)
    kubectl_ apply -f "$ROOT/deploy/k8s/base/namespace.yaml" >/dev/null
    secret flask-secret-key flask-secret-key "$(openssl rand -base64 48)"
    secret taskboard-dapr-api-token token "$(openssl rand -hex 32)"
    secret taskboard-app-api-token token "$(openssl rand -hex 32)"
    secret notification-service-dapr-api-token token "$(openssl rand -hex 32)"
    secret notification-service-app-api-token token "$(openssl rand -hex 32)"
    secret taskboard-webhook token "$(openssl rand -hex 32)"
    # notify-email's relay: none in this cluster yet (the component ignores its errors; mail is retried, then
    # dead-lettered), but the Secret it names must exist or the sidecar does not start.
    secret taskboard-smtp host mailpit port 1025 user "" password ""
    tls_secret taskboard-tls "$STATE/pki/taskboard.local.crt" "$STATE/pki/taskboard.local.key"
    if [ "$OVERLAY" = local ]; then
      secret redis redis-password "$(openssl rand -hex 24)"
    else
      data_tier_pki
      pg_password="$(openssl rand -hex 24)"
      secret postgresql password "$pg_password"
      secret taskboard-postgresql connection-string \
        "host=postgresql.$NS.svc port=5432 user=taskboard password=$pg_password dbname=taskboard sslmode=require connect_timeout=5"
      secret taskboard-kafka sasl-password "$(openssl rand -hex 24)"
      kubectl_ -n "$NS" create secret generic taskboard-kafka-ca --from-file=ca.crt="$STATE/pki/data-ca.crt" \
        --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
      tls_secret postgresql-tls "$STATE/pki/postgresql.crt" "$STATE/pki/postgresql.key"
      tls_secret kafka-tls "$STATE/pki/kafka.crt" "$STATE/pki/kafka.key"
    fi
    kubectl_ apply -k "$ROOT/deploy/k8s/overlays/$OVERLAY" -l app.kubernetes.io/component=data-tier >/dev/null
    ;;
  apps)
    kubectl_ apply -k "$ROOT/deploy/k8s/overlays/$OVERLAY"
    for d in webhook-sink taskboard notification-service; do
      say "waiting for deploy/$d"
      kubectl_ -n "$NS" rollout status "deploy/$d" --timeout=300s
    done
    ;;
  *) die "deploy-taskboard.sh data-tier|apps|overlay" ;;
esac
