#!/usr/bin/env bash
# Build (or reuse from the cache) the binaries the local cluster runs, all from the Go module proxy:
#   kubernetes  kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl (go/kubernetes)
#   etcd        etcd server (go/etcd)
#   dapr-cp     Dapr's operator, sentry, injector, placement, scheduler (tools/dapr's wrapper module, as daprd)
#   coredns     CoreDNS, helm   Helm (renders Dapr's chart); both have no replace directives: `go install`
#   traefik     Traefik, the ingress controller (go/traefik: its replace and exclude directives copied)
#   netpol, metrics-server, local-path, jaeger, prometheus: NetworkPolicy enforcement, the HPA's metrics, the default
#               StorageClass, traces and metrics; each a wrapper module in go/<name> with a `tool` line (go get -tool)
# Each lands in $CACHE/k8s-<name>-<version>-<hash of its wrapper>/ and is reused while that key holds.
#   build.sh [--background] [NAME...]   (default: all; --background starts the missing builds and returns)
#   build.sh --print-dir NAME           the directory of NAME's built binaries
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOGS="$CACHE/k8s-build-logs"
mkdir -p "$LOGS"

k8s_ldflags() {
  local ld="-s -w" minor
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld="$ld -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ld"
}
dapr_ldflags() {
  echo "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION"
}

# out_dir NAME: the cache directory of one component (its key covers what decides the build)
out_dir() {
  case "$1" in
    kubernetes) echo "$CACHE/k8s-kubernetes-$K8S_VERSION-$(hash_of "$LC"/go/kubernetes/go.{mod,sum})" ;;
    etcd) echo "$CACHE/k8s-etcd-$ETCD_VERSION-$(hash_of "$LC"/go/etcd/go.{mod,sum})" ;;
    dapr-cp) echo "$CACHE/k8s-dapr-cp-$DAPR_VERSION-$(hash_of "$ROOT"/tools/dapr/go.{mod,sum})" ;;
    coredns) echo "$CACHE/k8s-coredns-$COREDNS_VERSION" ;;
    helm) echo "$CACHE/k8s-helm-$HELM_VERSION" ;;
    traefik) echo "$CACHE/k8s-traefik-$TRAEFIK_VERSION-$(hash_of "$LC"/go/traefik/go.{mod,sum})" ;;
    netpol) echo "$CACHE/k8s-netpol-$NETPOL_VERSION-$(hash_of "$LC"/go/netpol/go.{mod,sum})" ;;
    metrics-server) echo "$CACHE/k8s-metrics-server-$METRICS_SERVER_VERSION-$(hash_of "$LC"/go/metrics-server/go.{mod,sum})" ;;
    local-path) echo "$CACHE/k8s-local-path-$LOCAL_PATH_VERSION-$(hash_of "$LC"/go/local-path/go.{mod,sum})" ;;
    jaeger) echo "$CACHE/k8s-jaeger-$JAEGER_VERSION-$(hash_of "$LC"/go/jaeger/go.{mod,sum})" ;;
    prometheus) echo "$CACHE/k8s-prometheus-$PROMETHEUS_VERSION-$(hash_of "$LC"/go/prometheus/go.{mod,sum})" ;;
    *) die "unknown component $1" ;;
  esac
}
bins_of() {
  case "$1" in
    kubernetes) echo kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl ;;
    etcd) echo etcd ;;
    dapr-cp) echo operator sentry injector placement scheduler ;;
    coredns) echo coredns ;;
    helm) echo helm ;;
    traefik) echo traefik ;;
    netpol|metrics-server|local-path|jaeger|prometheus) echo "$1" ;;
  esac
}
is_built() { local d b; d="$(out_dir "$1")"; for b in $(bins_of "$1"); do [ -x "$d/$b" ] || return 1; done; }

# with_progress NAME CMD...: run a long command, saying every 30 s that it still runs
with_progress() {
  local name="$1" start pid; shift
  start=$(date +%s)
  "$@" &
  pid=$!
  local n=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; n=$((n + 1))
    [ $((n % 30)) = 0 ] && kill -0 "$pid" 2>/dev/null && say "  still building $name ($(( $(date +%s) - start ))s)"
  done
  wait "$pid"
}

build_one() {
  local name="$1" out tmp start
  out="$(out_dir "$name")"
  if is_built "$name"; then say "$name: reusing $out"; return 0; fi
  tmp="$out.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  start=$(date +%s)
  say "$name: building into $out (log: $LOGS/$name.log)"
  case "$name" in
    kubernetes)
      (cd "$LC/go/kubernetes" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$(k8s_ldflags)" -o "$tmp/" \
        $(for b in $(bins_of kubernetes); do echo "k8s.io/kubernetes/cmd/$b"; done)) ;;
    etcd)
      (cd "$LC/go/etcd" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) ;;
    dapr-cp)
      # The same wrapper module as daprd (tools/dapr), copied so its go.sum may grow with the control plane's packages.
      local mod="$CACHE/k8s-dapr-cp-module"; rm -rf "$mod"; mkdir -p "$mod"
      cp "$ROOT"/tools/dapr/go.mod "$ROOT"/tools/dapr/go.sum "$mod/"
      (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 go build -trimpath -ldflags "$(dapr_ldflags)" -o "$tmp/" \
        $(for b in $(bins_of dapr-cp); do echo "github.com/dapr/dapr/cmd/$b"; done)) ;;
    coredns)
      CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" ;;
    helm)
      CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" ;;
    traefik)
      (cd "$LC/go/traefik" && CGO_ENABLED=0 nice -n 10 go build -trimpath \
        -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION#v}" \
        -o "$tmp/traefik" github.com/traefik/traefik/v3/cmd/traefik) ;;
    netpol|metrics-server|local-path|jaeger|prometheus)
      # the module's one `tool` line names the package; -ldflags stamp the version where the program reads it
      local pkg ld="-s -w"
      pkg="$(sed -n 's/^tool //p' "$LC/go/$name/go.mod")"
      case "$name" in
        metrics-server) ld="$ld -X k8s.io/component-base/version.gitVersion=$METRICS_SERVER_VERSION" ;;
        local-path) ld="$ld -X main.VERSION=$LOCAL_PATH_VERSION" ;;
        prometheus) ld="$ld -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" ;;
      esac
      (cd "$LC/go/$name" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ld" -o "$tmp/$name" "$pkg") ;;
  esac > "$LOGS/$name.log" 2>&1 || { tail -20 "$LOGS/$name.log" >&2; die "$name: build failed"; }
  rm -rf "$out"; mv "$tmp" "$out"
  say "$name: built in $(( $(date +%s) - start ))s"
}

if [ "${1:-}" = "--print-dir" ]; then  # --print-dir NAME: where NAME's binaries are (built or not)
  is_built "$2" || die "$2 is not built yet (deploy/local-cluster/build.sh $2)"
  out_dir "$2"; exit 0
fi
BACKGROUND=0
if [ "${1:-}" = "--background" ]; then BACKGROUND=1; shift; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(kubernetes dapr-cp etcd coredns helm traefik)
command -v go >/dev/null || die "Go is needed to build the cluster's binaries (go >= 1.26)"

if [ "$BACKGROUND" = 1 ]; then
  for n in "${names[@]}"; do
    is_built "$n" && continue
    say "$n: starting its build in the background"
    setsid bash "${BASH_SOURCE[0]}" "$n" > "$LOGS/$n.progress" 2>&1 < /dev/null &
    echo $! > "$LOGS/$n.pid"
  done
  exit 0
fi
for n in "${names[@]}"; do
  # a background build of the same component may be running: wait for it rather than build twice
  # (a finished build's pid may since belong to another process: a built component is never waited for)
  if ! is_built "$n" && [ -f "$LOGS/$n.pid" ] && kill -0 "$(cat "$LOGS/$n.pid")" 2>/dev/null \
    && [ "$(cat "$LOGS/$n.pid")" != "$$" ]; then
    say "$n: waiting for its background build (pid $(cat "$LOGS/$n.pid"))"
    while kill -0 "$(cat "$LOGS/$n.pid")" 2>/dev/null; do sleep 5; say "  still building $n (background)"; done
  fi
  with_progress "$n" build_one "$n"
done
