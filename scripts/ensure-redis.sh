#!/usr/bin/env bash
# Make sure redis-server is installed (from Debian when missing and we are root).
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" redis-server redis-server
echo "[redis] $(redis-server --version | cut -d' ' -f1-3)" >&2
