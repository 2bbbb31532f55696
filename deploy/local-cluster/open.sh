#!/usr/bin/env bash
# Open the cluster's Jaeger or Prometheus from the host: a relay on the host's loopback whose every connection is
# carried into network namespace $NETNS to the Service's ClusterIP (socat; runs until Ctrl-C). Nothing listens on
# any other address of the host.
#   open.sh jaeger [PORT]       http://127.0.0.1:16686/ (Jaeger UI and /api/traces)
#   open.sh prometheus [PORT]   http://127.0.0.1:9090/  (Prometheus UI and /api/v1/query)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ip netns list | grep -qw "$NETNS" || die "no cluster: run make k8s-up first"
case "${1:-}" in
  jaeger) ns=observability svc=jaeger port="${2:-16686}" ;;
  prometheus) ns=monitoring svc=prometheus port="${2:-9090}" ;;
  *) die "open.sh jaeger|prometheus [PORT]" ;;
esac
ip="$(kubectl_ -n "$ns" get service "$svc" -o jsonpath='{.spec.clusterIP}')"
target="$(kubectl_ -n "$ns" get service "$svc" -o jsonpath='{.spec.ports[0].port}')"
command -v socat >/dev/null || bash "$ROOT/scripts/ensure-debian-package.sh" socat socat
say "$svc: http://127.0.0.1:$port/ (Ctrl-C to stop)"
exec socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
  "EXEC:nsenter --net=/run/netns/$NETNS socat STDIO TCP\\:$ip\\:$target"
