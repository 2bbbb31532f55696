#!/usr/bin/env bash
# Make sure redis-server is installed (from Debian when missing and we are root).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "[redis] $(redis-server --version | cut -d' ' -f1-3)" >&2
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[redis] redis-server missing: installing it from Debian (apt-get install redis-server)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq redis-server >&2
  # Debian starts a system service on 6379; the stack runs its own instance on its own port.
  exit 0
fi
echo "[redis] ERROR: redis-server is not installed and cannot be installed here (not root or no apt-get)." >&2
echo "[redis] Install Redis >= 6 (e.g. 'sudo apt-get install redis-server') and re-run." >&2
exit 1
