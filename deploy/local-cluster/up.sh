#!/usr/bin/env bash
# make k8s-up: a one-node Kubernetes inside network namespace $NETNS, Dapr from its Helm chart, Taskboard from
# deploy/k8s/overlays/local. Every process joins only the network namespace (nsenter --net), so the kubelet's
# and containerd's mounts are the host's (and down.sh unmounts them). State in $STATE; down.sh removes it all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$(date +%s)
step() { say "[$(( $(date +%s) - T0 ))s] $*"; }

[ "$(id -u)" = 0 ] || die "the local cluster needs root (network namespace, containerd, kubelet)"
if ip netns list | grep -qw "$NETNS"; then die "namespace $NETNS exists: run make k8s-down first"; fi

step "host tools (Debian packages when missing)"
bash "$LC/deps.sh"
step "binaries (cached builds are reused; cold: ~10 min on an idle 2-core machine, much longer on a shared one)"
# K8S_OBSERVABILITY=0 leaves out Jaeger and Prometheus (config/observability.yaml) and their long first builds.
OBSERVABILITY="${K8S_OBSERVABILITY:-1}"
COMPONENTS=(kubernetes dapr-cp etcd coredns helm traefik netpol metrics-server)
IMAGES=(pause dapr coredns traefik redis taskboard netpol metrics-server)
if [ "$OBSERVABILITY" = 1 ]; then COMPONENTS+=(jaeger prometheus); IMAGES+=(jaeger prometheus); fi
bash "$LC/build.sh" --background "${COMPONENTS[@]}"   # all at once: Go parallelises
bash "$ROOT/scripts/provision-dapr.sh" >/dev/null
step "images (${IMAGES[*]})"
( bash "$LC/rootfs.sh" python >/dev/null; bash "$LC/rootfs.sh" redis >/dev/null ) &
rootfs_pid=$!
bash "$LC/build.sh" "${COMPONENTS[@]}"
wait "$rootfs_pid" || die "debootstrap failed"
images="$(bash "$LC/images.sh" "${IMAGES[@]}")"

step "state in $STATE"
rm -rf "$STATE"
bash "$LC/hostcheck.sh" snapshot "$CACHE/k8s-host-before.txt"
mkdir -p "$STATE"/{bin,logs,run,data/etcd,data/kubelet,data/pod-logs,data/containerd,cni/net.d,cni/ipam}
for n in kubernetes etcd coredns helm; do
  d="$(bash "$LC/build.sh" --print-dir "$n")"
  for b in "$d"/*; do ln -s "$b" "$BIN/$(basename "$b")"; done
done
bash "$LC/pki.sh"
# start NAME CMD...: a process in the cluster's network namespace, its pid and log under $STATE
start() {
  local name="$1"; shift
  setsid nsenter --net="/run/netns/$NETNS" nice -n 5 "$@" > "$STATE/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/run/$name.pid"
}
# module_dir MODULE@VERSION (WRAPPER): the module's download (upstream manifests), fetched through its wrapper module
module_dir() {
  local dir; dir="$(go env GOMODCACHE)/$1"
  [ -d "$dir" ] || (cd "$LC/go/$2" && go mod download "${1%@*}")
  echo "$dir"
}
# addon NAME UPSTREAM_YAML: apply deploy/local-cluster/addons/NAME (a kustomization over the upstream manifests)
addon() {
  local d="$STATE/addons/$1"
  mkdir -p "$d"; cp "$LC/addons/$1/kustomization.yaml" "$d/"; cp "$2" "$d/upstream.yaml"
  kubectl_ apply -k "$d" >/dev/null
}
# wait_for WHAT SECONDS CMD...: poll until CMD succeeds
wait_for() {
  local what="$1" limit="$2" i; shift 2
  for i in $(seq 1 "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what not ready after ${limit}s (logs: $STATE/logs/)"
}

step "network namespace $NETNS (node $NODE_IP, pods $POD_CIDR, services $SERVICE_CIDR)"
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
# The node's address is the pods' gateway on their bridge (made here, then used by the CNI bridge plugin),
# and the default route is a blackhole: nothing addressed outside the namespace is ever sent.
ip -n "$NETNS" link add "$BRIDGE" type bridge
ip -n "$NETNS" addr add "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
ip -n "$NETNS" link set "$BRIDGE" up
ip -n "$NETNS" route add blackhole default
ip -n "$NETNS" route add "$SERVICE_CIDR" dev "$BRIDGE"   # ClusterIPs: kube-proxy's DNAT rewrites them after this
in_ns sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.ipv4.conf.all.route_localnet=1

step "etcd $ETCD_VERSION"
start etcd "$BIN/etcd" --name taskboard --data-dir "$STATE/data/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster taskboard=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 --unsafe-no-fsync
P="$STATE/pki"
step "kube-apiserver $K8S_VERSION"
start apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=0.0.0.0 --advertise-address="$NODE_IP" --secure-port=6443 \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --kubelet-client-certificate="$P/admin.crt" --kubelet-client-key="$P/admin.key" \
  --kubelet-preferred-address-types=InternalIP \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC --allow-privileged=true \
  --requestheader-client-ca-file="$P/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- --enable-aggregator-routing=true \
  --proxy-client-cert-file="$P/front-proxy-client.crt" --proxy-client-key-file="$P/front-proxy-client.key" \
  --cert-dir="$STATE/data/apiserver"
wait_for "kube-apiserver" 120 kubectl_ get --raw /readyz
step "kube-controller-manager, kube-scheduler"
K="$STATE/admin.kubeconfig"
start controller-manager "$BIN/kube-controller-manager" --kubeconfig="$K" --authentication-kubeconfig="$K" \
  --authorization-kubeconfig="$K" --bind-address=127.0.0.1 --leader-elect=false \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR"
start scheduler "$BIN/kube-scheduler" --kubeconfig="$K" --authentication-kubeconfig="$K" \
  --authorization-kubeconfig="$K" --bind-address=127.0.0.1 --leader-elect=false

step "containerd (own root, socket and CNI config), images imported"
sed -e "s#@STATE@#$STATE#g" -e "s#@BRIDGE@#$BRIDGE#g" -e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@POD_GW@#$POD_GW#g" \
  "$LC/config/containerd.toml" > "$STATE/containerd.toml"
sed -e "s#@STATE@#$STATE#g" -e "s#@BRIDGE@#$BRIDGE#g" -e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@POD_GW@#$POD_GW#g" \
  "$LC/config/10-taskboard.conflist" > "$STATE/cni/net.d/10-taskboard.conflist"
start containerd containerd --config "$STATE/containerd.toml"
CTR=(ctr --address "$STATE/run/containerd.sock" -n k8s.io)
wait_for containerd 30 "${CTR[@]}" version
while IFS='=' read -r name tar; do
  "${CTR[@]}" images import --all-platforms "$tar" >/dev/null
done <<< "$images"
for b in operator placement scheduler sentry injector; do
  "${CTR[@]}" images tag --force "ghcr.io/dapr/daprd:$DAPR_VERSION" "ghcr.io/dapr/$b:$DAPR_VERSION" >/dev/null
done
say "images: $("${CTR[@]}" images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

step "kubelet and kube-proxy"
# Pod cgroups go under one cgroup of our own in every hierarchy, so down.sh can remove them all.
for h in /sys/fs/cgroup/*/; do [ -L "${h%/}" ] || mkdir -p "${h}taskboard-k8s"; done
if [ -f /sys/fs/cgroup/cpuset/cpuset.cpus ]; then  # cgroup v1 cpuset: a new group starts with no cpus/mems
  cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/taskboard-k8s/cpuset.cpus
  cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/taskboard-k8s/cpuset.mems
fi
sed -e "s#@STATE@#$STATE#g" -e "s#@DNS_SVC_IP@#$DNS_SVC_IP#g" -e "s#@NODE_IP@#$NODE_IP#g" \
  "$LC/config/kubelet.yaml" > "$STATE/kubelet.yaml"
sed -e "s#@STATE@#$STATE#g" -e "s#@POD_CIDR@#$POD_CIDR#g" "$LC/config/kube-proxy.yaml" > "$STATE/kube-proxy.yaml"
start kubelet "$BIN/kubelet" --config "$STATE/kubelet.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
  --root-dir "$STATE/data/kubelet" --hostname-override taskboard-node --node-ip "$NODE_IP"
start kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy.yaml" --hostname-override taskboard-node
wait_for "node Ready" 120 kubectl_ wait --for=condition=Ready node/taskboard-node --timeout=2s

step "kube-network-policies $NETPOL_VERSION (enforces NetworkPolicy)"
addon netpol "$(module_dir "sigs.k8s.io/kube-network-policies@$NETPOL_VERSION" netpol)/install.yaml"
kubectl_ -n kube-system rollout status ds/kube-network-policies --timeout=180s
bash "$LC/netpol-queue.sh"
step "CoreDNS (cluster.local only: nothing is forwarded outside)"
sed -e "s#@DNS_SVC_IP@#$DNS_SVC_IP#g" "$LC/config/coredns.yaml" | kubectl_ apply -f - >/dev/null
step "Traefik $TRAEFIK_VERSION ingress controller (class traefik; its CRDs from its module download)"
traefik_crds="$(go env GOMODCACHE)/github.com/traefik/traefik/v3@$TRAEFIK_VERSION/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
[ -f "$traefik_crds" ] || (cd "$LC/go/traefik" && go mod download github.com/traefik/traefik/v3)
kubectl_ apply --server-side -f "$traefik_crds" >/dev/null
kubectl_ wait --for condition=established --timeout=60s crd/middlewares.traefik.io >/dev/null
sed -e "s#@INGRESS_SVC_IP@#$INGRESS_SVC_IP#g" "$LC/config/traefik.yaml" | kubectl_ apply -f - >/dev/null
step "Dapr $DAPR_VERSION control plane from its Helm chart"
bash "$LC/dapr-chart.sh" > "$STATE/dapr-chart.yaml"
kubectl_ apply --server-side -f "$(go env GOMODCACHE)/github.com/dapr/dapr@v$DAPR_VERSION/charts/dapr/crds" >/dev/null
kubectl_ wait --for condition=established --timeout=60s crd/configurations.dapr.io crd/components.dapr.io >/dev/null
kubectl_ apply --server-side -f "$STATE/dapr-chart.yaml" >/dev/null
step "metrics-server $METRICS_SERVER_VERSION (resource metrics for the HPA)"
kubectl_ kustomize "$(module_dir "sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION" metrics-server)/manifests/base" \
  > "$STATE/metrics-server-upstream.yaml"
addon metrics-server "$STATE/metrics-server-upstream.yaml"
kubectl_ -n kube-system rollout status deploy/coredns --timeout=180s
kubectl_ -n traefik rollout status deploy/traefik --timeout=180s
for w in deploy/dapr-sentry deploy/dapr-operator deploy/dapr-sidecar-injector statefulset/dapr-placement-server \
  statefulset/dapr-scheduler-server; do
  kubectl_ -n dapr-system rollout status "$w" --timeout=300s
done

kubectl_ -n kube-system rollout status deploy/metrics-server --timeout=180s
if [ "$OBSERVABILITY" = 1 ]; then
  step "Jaeger $JAEGER_VERSION (traces, OTLP) and Prometheus $PROMETHEUS_VERSION (metrics)"
  kubectl_ apply -f "$ROOT/deploy/k8s/base/namespace.yaml" >/dev/null   # Prometheus's discovery Role lives there
  kubectl_ apply -f "$LC/config/observability.yaml" >/dev/null
  kubectl_ -n observability rollout status deploy/jaeger --timeout=180s
  kubectl_ -n monitoring rollout status deploy/prometheus --timeout=180s
fi
step "Taskboard (kubectl apply -k deploy/k8s/overlays/local)"
bash "$LC/deploy-taskboard.sh"
step "up in $(( $(date +%s) - T0 ))s"
kubectl_ get pods -A -o wide
