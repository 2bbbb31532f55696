#!/usr/bin/env bash
# What the local cluster could leave on the host, as a sorted list of lines:
#   hostcheck.sh snapshot FILE   record it (up.sh, before anything starts)
#   hostcheck.sh compare FILE    fail if anything of the cluster's is new since FILE (down.sh, at the end)
# Covered: network links, network namespaces, mounts, iptables/ip6tables chains and nftables tables of the host's
# network namespace, cgroups, processes that run the cluster's binaries, use its state directory or enter its
# network namespace (open.sh's relays), and the directories its add-ons could make on the host (the state
# directory with the local-path volumes in $STATE/local-path, upstream's defaults /opt/local-path-provisioner and
# /var/run/nri). containerd's root ($IMAGE_STORE, the imported images) is a cache and stays, but nothing may stay
# mounted in it (containerd mounts layers under its tmpmounts while it imports).
# Other people use this machine at the same time: a new line that is not the cluster's is reported, not failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state_of_host() {
  ip -o link show | awk -F': ' '{print "link " $2}' | sed 's/@.*//'
  ip netns list | awk '{print "netns " $1}'
  findmnt -rn -o TARGET | awk '{print "mount " $1}'
  for t in filter nat mangle raw; do
    iptables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" {print "iptables " t " " $2}'
    ip6tables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" {print "ip6tables " t " " $2}'
  done
  command -v nft >/dev/null && nft list tables 2>/dev/null | awk '{print "nft " $2 " " $3}'
  find /sys/fs/cgroup -maxdepth 2 -name 'taskboard-k8s' -printf 'cgroup %p\n' 2>/dev/null
  local d
  for d in "$STATE" /opt/local-path-provisioner /var/run/nri /run/nri; do [ -e "$d" ] && echo "dir $d"; done
  local pid cmd
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    cmd="$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline")" || continue
    case "$cmd" in
      *hostcheck.sh*) ;;
      *"$STATE"*|*"$CACHE/k8s-"*|*"/run/netns/$NETNS"*) echo "process $pid $(echo "$cmd" | cut -c1-120)" ;;
    esac
  done
  true
}
# ours LINE: whether a line names something the cluster creates
ours() {
  case "$1" in
    "link $BRIDGE"*|"link veth"*|"netns $NETNS"*|"netns cni-"*|"mount $STATE"*|"mount $IMAGE_STORE"*|"mount /run/netns/cni-"*|"mount /run/netns") return 0 ;;
    "mount /var/run/netns/cni-"*|"mount /run/containerd"*|iptables*|ip6tables*|"nft "*|cgroup*|process*) return 0 ;;
    "dir "*) return 0 ;;
  esac
  return 1
}

case "${1:-}" in
  snapshot) state_of_host | sort > "$2" ;;
  compare)
    after="$(mktemp)"; state_of_host | sort > "$after"
    leaks=0
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      if ours "$line"; then say "LEFT ON THE HOST: $line"; leaks=1; else say "(new, not the cluster's: $line)"; fi
    done < <(comm -13 "$2" "$after")
    rm -f "$after"
    [ "$leaks" = 0 ] || die "the host is not as before k8s-up (lines above)"
    say "host check: no link, namespace, mount, iptables chain, nftables table, cgroup or process of the cluster is left"
    ;;
  *) die "hostcheck.sh snapshot|compare FILE" ;;
esac
