#!/usr/bin/env bash
# Install the host tools the local cluster needs from Debian when they are missing (root + apt-get); certutil is
# for tests/k8s (Chromium trusts the local web CA through an NSS database).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure() { bash "$ROOT/scripts/ensure-debian-package.sh" "$1" "$2"; }
# command package
while read -r cmd pkg; do ensure "$cmd" "$pkg"; done <<'LIST'
containerd containerd
runc runc
/usr/lib/cni/bridge containernetworking-plugins
umoci umoci
skopeo skopeo
debootstrap debootstrap
iptables iptables
conntrack conntrack
certutil libnss3-tools
LIST
say "host tools present: containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}')"
