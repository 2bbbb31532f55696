#!/usr/bin/env bash
# ensure-debian-package.sh COMMAND PACKAGE: make sure COMMAND exists, installing PACKAGE from Debian
# when it is missing and we are root. Progress and errors go to stderr.
set -euo pipefail
cmd="$1" pkg="$2"
if command -v "$cmd" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[$pkg] $cmd missing: installing it from Debian (apt-get install $pkg)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "$pkg" >&2
  # Debian may start a system service; the stack runs its own instance on its own port.
  exit 0
fi
echo "[$pkg] ERROR: $cmd is not installed and cannot be installed here (not root or no apt-get)." >&2
echo "[$pkg] Install it (e.g. 'sudo apt-get install $pkg') and re-run." >&2
exit 1
