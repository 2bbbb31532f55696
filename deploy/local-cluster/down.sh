#!/usr/bin/env bash
# make k8s-down: stop the local cluster and remove everything it added to the host — pods (through the kubelet,
# so CNI and containerd tear their namespaces down), processes (by recorded pid), mounts under $STATE and the pods'
# network namespaces, our cgroups, the network namespace (with its bridge and iptables rules), $STATE — then check
# the host against the snapshot up.sh took. The build caches and containerd's root (the imported images) stay.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$(date +%s)
step() { say "[$(( $(date +%s) - T0 ))s] $*"; }
SNAPSHOT="$CACHE/k8s-host-before.txt"

pid_of() { cat "$STATE/run/$1.pid" 2>/dev/null; }
alive() { local p; p="$(pid_of "$1")"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
stop() { # NAME...: TERM, up to 15 s, then KILL
  local n p i
  for n in "$@"; do alive "$n" && kill "$(pid_of "$n")" 2>/dev/null; done
  for n in "$@"; do
    for i in $(seq 1 30); do alive "$n" || break; sleep 0.5; done
    if alive "$n"; then p="$(pid_of "$n")"; say "  $n (pid $p) ignored TERM: KILL"; kill -9 "$p" 2>/dev/null; fi
  done
}
CTR=(ctr --address "$STATE/run/containerd.sock" -n k8s.io)

if [ -d "$STATE/run" ]; then
  if alive kubelet && alive apiserver; then
    step "no new pods (controller-manager, scheduler stopped); deleting every pod through the kubelet"
    stop controller-manager scheduler
    kubectl_ delete pods --all -A --force --grace-period=0 --wait=false >/dev/null 2>&1
    # until no container runs (the kubelet stops them; it removes stopped ones only in its later garbage
    # collection, which the loop below does instead)
    running() { "${CTR[@]}" tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"' | wc -l; }
    for i in $(seq 1 90); do
      [ "$(running)" = 0 ] && break
      [ $((i % 10)) = 0 ] && say "  $(running) containers still running"
      sleep 1
    done
  fi
  step "stopping kubelet, kube-proxy, the control plane, containerd"
  stop kubelet kube-proxy controller-manager scheduler
  # Whatever the kubelet did not remove: kill and delete the remaining tasks and containers.
  if alive containerd; then
    for c in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s KILL "$c" >/dev/null 2>&1; done
    sleep 1
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do
      "${CTR[@]}" tasks delete -f "$c" >/dev/null 2>&1; "${CTR[@]}" containers delete "$c" >/dev/null 2>&1
    done
  fi
  stop apiserver etcd containerd
  # containerd's shims outlive it: end the ones started for this containerd (their command line names its socket).
  for p in $(ls /proc | grep -E '^[0-9]+$'); do
    if tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q -- "$STATE/run/containerd.sock"; then
      say "  ending leftover shim $p"; kill -9 "$p" 2>/dev/null
    fi
  done
fi

# open.sh's relays into the namespace (their command line names it)
for p in $(ls /proc | grep -E '^[0-9]+$'); do
  if tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q -- "--net=/run/netns/$NETNS socat"; then
    say "  ending relay $p (open.sh)"; kill "$p" 2>/dev/null
  fi
done
step "mounts, pod network namespaces, cgroups"
new_netns_mounts() { # pod namespaces containerd created during this run (absent from the snapshot)
  findmnt -rn -o TARGET | grep -E '^/(var/)?run/netns/cni-' | while read -r m; do
    grep -qx "mount $m" "$SNAPSHOT" 2>/dev/null || echo "$m"
  done
}
for m in $( (findmnt -rn -o TARGET | grep -e "^$STATE" -e "^$IMAGE_STORE/"; new_netns_mounts) | sort -r); do
  umount "$m" 2>/dev/null || umount -l "$m"
done
for f in /run/netns/cni-*; do
  [ -e "$f" ] && ! grep -qx "netns $(basename "$f")" "$SNAPSHOT" 2>/dev/null && rm -f "$f"
done
for h in /sys/fs/cgroup/*/taskboard-k8s; do
  [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null
done
if ip netns list | grep -qw "$NETNS"; then
  step "network namespace $NETNS (its bridge, links and iptables rules go with it)"
  ip netns del "$NETNS"
fi
# `ip netns add` made /run/netns a mount point of its own when it was not one yet (a machine's first cluster):
# undone when nothing else uses it, so the host is as the snapshot found it
if [ -f "$SNAPSHOT" ] && ! grep -qx "mount /run/netns" "$SNAPSHOT" && mountpoint -q /run/netns \
    && [ -z "$(ip netns list)" ]; then
  umount /run/netns
fi
rm -rf "$STATE"
step "down in $(( $(date +%s) - T0 ))s"
if [ -f "$SNAPSHOT" ]; then
  bash "$LC/hostcheck.sh" compare "$SNAPSHOT" && rm -f "$SNAPSHOT"
else
  say "no snapshot from k8s-up ($SNAPSHOT): host check skipped"
fi
