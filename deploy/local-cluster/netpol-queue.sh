#!/usr/bin/env bash
# Divert the packets kube-network-policies must judge to its nfqueue, inside the cluster's network namespace.
# Upstream installs this as an nftables table (`queue` statement, postrouting hook at srcnat - 5); this kernel has
# no nftables queue statement (CONFIG_NFT_QUEUE unset) but has the xtables NFQUEUE target, so the same rules are
# written with iptables, in mangle/POSTROUTING (after kube-proxy's DNAT, before its SNAT):
#   UDP to port 53 passes (upstream's netfilter-bug-1766 rule; cluster DNS has no policy here);
#   traffic of the node's root user passes (kubelet probes, the API server, the tests — upstream's `meta skuid 0`);
#   packets of established connections pass; every other packet from or to a pod goes to queue 98 without
#   bypass: with the controller down, new pod connections wait (fail closed, upstream's default).
# Upstream queues only pods that some policy selects; here every pod's new connections are judged (a pod no
# policy selects is always allowed by the controller). The chain goes with the namespace (make k8s-down).
#   netpol-queue.sh   (after the kube-network-policies DaemonSet is ready)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
QUEUE=98   # --nfqueue-id of deploy/local-cluster/addons/netpol (upstream install.yaml)
CHAIN=TASKBOARD-NETPOL
ipt() { in_ns iptables -w 5 -t mangle "$@"; }
ipt -N "$CHAIN" 2>/dev/null || ipt -F "$CHAIN"
ipt -A "$CHAIN" -p udp --dport 53 -j RETURN
ipt -A "$CHAIN" -m owner --uid-owner 0 -j RETURN
ipt -A "$CHAIN" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
ipt -A "$CHAIN" -s "$POD_CIDR" -j NFQUEUE --queue-num "$QUEUE"
ipt -A "$CHAIN" -d "$POD_CIDR" -j NFQUEUE --queue-num "$QUEUE"
ipt -C POSTROUTING -j "$CHAIN" 2>/dev/null || ipt -A POSTROUTING -j "$CHAIN"
say "network policies: new pod connections go to kube-network-policies (nfqueue $QUEUE)"
