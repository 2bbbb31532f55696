#!/usr/bin/env bash
# make k8s-up: a one-node Kubernetes inside network namespace $NETNS, Dapr from its Helm chart, Taskboard from
# deploy/k8s/overlays/local (K8S_STACK=redis, the default) or overlays/local-postgres-kafka (K8S_STACK=postgres-kafka).
# Every process joins only the network namespace (nsenter --net), so the kubelet's and containerd's mounts are the
# host's (and down.sh unmounts them). State in $STATE; down.sh removes it all. Images stay imported in containerd's
# root in the cache ($IMAGE_STORE) between runs: a warm start imports only the images that changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$(date +%s)
STEP_NAMES=() STEP_STARTS=()
# step NAME: a new step starts (printed with the seconds since the start; up.sh prints every step's length at the end)
step() { STEP_NAMES+=("$*"); STEP_STARTS+=("$(date +%s)"); say "[$(( $(date +%s) - T0 ))s] $*"; }
step_times() {
  local i end
  for i in "${!STEP_NAMES[@]}"; do
    end="${STEP_STARTS[$((i + 1))]:-$(date +%s)}"
    printf '%5ss  %s\n' "$(( end - STEP_STARTS[i] ))" "${STEP_NAMES[$i]}"
  done
}
export K8S_STACK="${K8S_STACK:-redis}"
case "$K8S_STACK" in
  redis) DATA_IMAGES=(redis) ROOTFS=(python redis) ;;
  postgres-kafka) DATA_IMAGES=(postgresql kafka) ROOTFS=(python postgresql java) ;;
  *) die "K8S_STACK=$K8S_STACK: redis or postgres-kafka" ;;
esac

[ "$(id -u)" = 0 ] || die "the local cluster needs root (network namespace, containerd, kubelet)"
if ip netns list | grep -qw "$NETNS"; then die "namespace $NETNS exists: run make k8s-down first"; fi

step "host tools (Debian packages when missing)"
bash "$LC/deps.sh"
step "binaries (cached builds are reused; cold: ~10 min on an idle 2-core machine, much longer on a shared one)"
# K8S_OBSERVABILITY=0 leaves out Jaeger and Prometheus (config/observability.yaml) and their long first builds.
OBSERVABILITY="${K8S_OBSERVABILITY:-1}"
COMPONENTS=(kubernetes dapr-cp etcd coredns helm traefik netpol metrics-server local-path)
IMAGES=(pause dapr coredns traefik taskboard netpol metrics-server local-path busybox "${DATA_IMAGES[@]}")
if [ "$OBSERVABILITY" = 1 ]; then COMPONENTS+=(jaeger prometheus); IMAGES+=(jaeger prometheus); fi
bash "$LC/build.sh" --background "${COMPONENTS[@]}"   # all at once: Go parallelises
bash "$ROOT/scripts/provision-dapr.sh" >/dev/null
step "images (${IMAGES[*]})"
( for r in "${ROOTFS[@]}"; do bash "$LC/rootfs.sh" "$r" >/dev/null; done
  [ "$K8S_STACK" = postgres-kafka ] && bash "$ROOT/scripts/provision-kafka.sh" >/dev/null; true ) &
rootfs_pid=$!
bash "$LC/build.sh" "${COMPONENTS[@]}"
wait "$rootfs_pid" || die "debootstrap (or the Kafka jars) failed"
images="$(bash "$LC/images.sh" "${IMAGES[@]}")"

step "state in $STATE"
rm -rf "$STATE"
bash "$LC/hostcheck.sh" snapshot "$CACHE/k8s-host-before.txt"
mkdir -p "$STATE"/{bin,logs,run,data/etcd,data/kubelet,data/pod-logs,cni/net.d,cni/ipam} "$IMAGE_STORE"
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
  mkdir -p "$d"; sed "s#@STATE@#$STATE#g" "$LC/addons/$1/kustomization.yaml" > "$d/kustomization.yaml"
  cp "$2" "$d/upstream.yaml"
  kubectl_ apply -k "$d" >/dev/null
}
# rollouts NAMESPACE/KIND/NAME...: wait for all of them at once (each up to 300 s); fails naming the ones that did not
rollouts() {
  local w pids=() failed=()
  for w in "$@"; do
    kubectl_ -n "${w%%/*}" rollout status "${w#*/}" --timeout=300s > "$STATE/logs/rollout-${w//\//-}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("$1"); shift; done
  [ ${#failed[@]} = 0 ] || die "not rolled out: ${failed[*]} (kubectl get pods -A; logs: $STATE/logs/)"
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

step "containerd (own state, socket and CNI config; images kept in $IMAGE_STORE), changed images imported"
# What a run that stopped half-way may have left of its pods in the image store: they belong to no cluster now.
rm -rf "$IMAGE_STORE/io.containerd.grpc.v1.cri" "$IMAGE_STORE/io.containerd.runtime.v2.task"
sed -e "s#@STATE@#$STATE#g" -e "s#@IMAGE_STORE@#$IMAGE_STORE#g" -e "s#@BRIDGE@#$BRIDGE#g" -e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@POD_GW@#$POD_GW#g" \
  "$LC/config/containerd.toml" > "$STATE/containerd.toml"
sed -e "s#@STATE@#$STATE#g" -e "s#@BRIDGE@#$BRIDGE#g" -e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@POD_GW@#$POD_GW#g" \
  "$LC/config/10-taskboard.conflist" > "$STATE/cni/net.d/10-taskboard.conflist"
start containerd containerd --config "$STATE/containerd.toml"
CTR=(ctr --address "$STATE/run/containerd.sock" -n k8s.io)
wait_for containerd 30 "${CTR[@]}" version
for c in $("${CTR[@]}" containers ls -q); do "${CTR[@]}" containers delete "$c" >/dev/null 2>&1 || true; done
# ref_of NAME: the reference images.sh gave NAME's image
ref_of() {
  case "$1" in pause) echo registry.k8s.io/pause:3.10 ;; dapr) echo "ghcr.io/dapr/daprd:$DAPR_VERSION" ;;
    *) echo "localhost/taskboard/$1:local" ;; esac
}
# An image is imported when the store lacks it or holds another build (images.sh's key of its inputs differs).
present="$("${CTR[@]}" images ls -q)"
import_pids=() imported=()
while IFS='=' read -r name tar; do
  key="$(cat "${tar%.tar}.key")"
  if grep -qx "$(ref_of "$name")" <<< "$present" && [ "$(cat "$IMAGE_STORE/taskboard-keys/$name" 2>/dev/null)" = "$key" ]; then
    continue
  fi
  ( "${CTR[@]}" images import --all-platforms "$tar" >/dev/null && mkdir -p "$IMAGE_STORE/taskboard-keys" \
    && echo "$key" > "$IMAGE_STORE/taskboard-keys/$name" ) &
  import_pids+=($!) imported+=("$name")
done <<< "$images"
for p in "${import_pids[@]}"; do wait "$p" || die "an image import failed (${imported[*]})"; done
say "imported: ${imported[*]:-none (all current)}"
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

# Everything the node runs is applied first and waited for together: the pods start side by side.
step "add-ons applied: kube-network-policies $NETPOL_VERSION, CoreDNS, local-path $LOCAL_PATH_VERSION, Traefik $TRAEFIK_VERSION, Dapr $DAPR_VERSION (Helm chart), metrics-server $METRICS_SERVER_VERSION$([ "$OBSERVABILITY" = 1 ] && echo ", Jaeger $JAEGER_VERSION, Prometheus $PROMETHEUS_VERSION"), the Taskboard data tier ($K8S_STACK)"
# Side by side (each group in order): kubectl's own start dominates every apply on two busy cores.
traefik_crds="$(go env GOMODCACHE)/github.com/traefik/traefik/v3@$TRAEFIK_VERSION/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
[ -f "$traefik_crds" ] || (cd "$LC/go/traefik" && go mod download github.com/traefik/traefik/v3)
bash "$LC/dapr-chart.sh" > "$STATE/dapr-chart.yaml"
kubectl_ kustomize "$(module_dir "sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION" metrics-server)/manifests/base" \
  > "$STATE/metrics-server-upstream.yaml"
netpol_yaml="$(module_dir "sigs.k8s.io/kube-network-policies@$NETPOL_VERSION" netpol)/install.yaml"
local_path_yaml="$(module_dir "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" local-path)/deploy/local-path-storage.yaml"
apply_pids=()
# NetworkPolicy enforcement (its packet diversion is added once the controller runs: netpol-queue.sh); CoreDNS:
# cluster.local only, nothing is forwarded outside; metrics-server: resource metrics for the HPA
( addon netpol "$netpol_yaml"
  sed -e "s#@DNS_SVC_IP@#$DNS_SVC_IP#g" "$LC/config/coredns.yaml" | kubectl_ apply -f - >/dev/null
  addon metrics-server "$STATE/metrics-server-upstream.yaml" ) & apply_pids+=($!)
# The default StorageClass (local-path, volumes under $STATE/local-path): Dapr's scheduler and placement, and the
# PostgreSQL and Kafka StatefulSets, claim their volumes from it.
( addon local-path "$local_path_yaml" ) & apply_pids+=($!)
# Traefik, the ingress controller (class traefik; its CRDs from its module download). A CRD just created has no
# status yet, and `kubectl wait` then fails at once (".status.conditions accessor error: <nil>") instead of
# waiting: hence wait_for's retries around short waits.
( kubectl_ apply --server-side -f "$traefik_crds" >/dev/null
  wait_for "Traefik's CRDs" 60 kubectl_ wait --for condition=established --timeout=2s crd/middlewares.traefik.io
  sed -e "s#@INGRESS_SVC_IP@#$INGRESS_SVC_IP#g" "$LC/config/traefik.yaml" | kubectl_ apply -f - >/dev/null ) &
apply_pids+=($!)
# Dapr's CRDs, then its chart
( kubectl_ apply --server-side -f "$(go env GOMODCACHE)/github.com/dapr/dapr@v$DAPR_VERSION/charts/dapr/crds" >/dev/null
  wait_for "Dapr's CRDs" 60 kubectl_ wait --for condition=established --timeout=2s crd/configurations.dapr.io \
    crd/components.dapr.io
  kubectl_ apply --server-side -f "$STATE/dapr-chart.yaml" >/dev/null ) & apply_pids+=($!)
# The data tier first (Redis, or PostgreSQL and Kafka): the apps' sidecars load their components from it at start.
# Jaeger (traces, OTLP) and Prometheus (metrics; its discovery Role is in namespace taskboard, made here first).
( bash "$LC/deploy-taskboard.sh" data-tier
  if [ "$OBSERVABILITY" = 1 ]; then kubectl_ apply -f "$LC/config/observability.yaml" >/dev/null; fi ) &
apply_pids+=($!)
for p in "${apply_pids[@]}"; do wait "$p" || die "applying the add-ons failed (messages above)"; done

step "waiting for the add-ons and the data tier"
kubectl_ -n kube-system rollout status ds/kube-network-policies --timeout=180s >/dev/null
bash "$LC/netpol-queue.sh"
WAIT=(kube-system/deploy/coredns local-path-storage/deploy/local-path-provisioner traefik/deploy/traefik
  dapr-system/deploy/dapr-sentry dapr-system/deploy/dapr-operator dapr-system/deploy/dapr-sidecar-injector
  dapr-system/statefulset/dapr-placement-server dapr-system/statefulset/dapr-scheduler-server
  kube-system/deploy/metrics-server)
[ "$OBSERVABILITY" = 1 ] && WAIT+=(observability/deploy/jaeger monitoring/deploy/prometheus)
case "$K8S_STACK" in
  redis) WAIT+=(taskboard/deploy/redis-master) ;;
  postgres-kafka) WAIT+=(taskboard/statefulset/postgresql taskboard/statefulset/kafka) ;;
esac
rollouts "${WAIT[@]}"
step "Taskboard (kubectl apply -k deploy/k8s/overlays/$(bash "$LC/deploy-taskboard.sh" overlay))"
bash "$LC/deploy-taskboard.sh" apps
step "done"
kubectl_ get pods -A -o wide
say "step times ($K8S_STACK):"
step_times >&2
say "up in $(( $(date +%s) - T0 ))s"
