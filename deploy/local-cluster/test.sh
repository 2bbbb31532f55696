#!/usr/bin/env bash
# make k8s-test: tests/k8s against the running local cluster. pytest (and the Chromium it drives) runs inside the
# cluster's network namespace, so it reaches Services' ClusterIPs through kube-proxy like a process on the node.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ip netns list | grep -qw "$NETNS" || die "no cluster: run make k8s-up first"
cd "$ROOT"
export TASKBOARD_K8S_STATE="$STATE"
exec nsenter --net="/run/netns/$NETNS" .venv/bin/python -m pytest tests/k8s -p no:cacheprovider "$@"
