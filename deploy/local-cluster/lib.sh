# Shared settings of the local one-node cluster (sourced by the scripts beside it).
# Every path the cluster writes is under $CACHE (outside the repo); every process runs in $NETNS.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LC="$ROOT/deploy/local-cluster"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.4}"
DAPR_VERSION="${DAPR_VERSION:-1.18.3}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
NETPOL_VERSION="${NETPOL_VERSION:-v0.8.0}"                  # sigs.k8s.io/kube-network-policies
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.8.0}"  # sigs.k8s.io/metrics-server
LOCAL_PATH_VERSION="${LOCAL_PATH_VERSION:-v0.0.30}"         # github.com/rancher/local-path-provisioner
JAEGER_VERSION="${JAEGER_VERSION:-v1.75.0}"                 # github.com/jaegertracing/jaeger (cmd/jaeger: Jaeger v2)
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"        # github.com/prometheus/prometheus (Prometheus 3.x)
NETNS="${TASKBOARD_NETNS:-taskboard-k8s}"
STATE="$CACHE/k8s-cluster"          # the running cluster: pki, data, logs, pids (removed by down.sh)
BIN="$STATE/bin"                    # symlinks to the cached builds in use
IMAGE_STORE="$CACHE/k8s-containerd" # containerd's root: the imported images, kept between runs like the build caches
# Addresses (198.18.0.0/15 is reserved for benchmarking and never routed off this machine).
POD_CIDR=198.18.0.0/24
POD_GW=198.18.0.1
# The node's address is the pods' gateway on the bridge (the bridge CNI plugin refuses a bridge with another one).
NODE_IP=$POD_GW
SERVICE_CIDR=198.19.0.0/16
KUBE_API_SVC_IP=198.19.0.1
DNS_SVC_IP=198.19.0.10
INGRESS_SVC_IP=198.19.0.20   # Traefik's Service: the address of taskboard.local, published on the Ingresses
BRIDGE=tbk8s0

say() { echo "[k8s $(date +%H:%M:%S)] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
# in_ns CMD...: run inside the cluster's network namespace (that namespace only: mounts stay the host's)
in_ns() { nsenter --net="/run/netns/$NETNS" "$@"; }
kubectl_() { in_ns "$BIN/kubectl" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }
# hash_of FILES...: short content hash used as a cache key
hash_of() { cat "$@" | sha256sum | cut -c1-12; }
