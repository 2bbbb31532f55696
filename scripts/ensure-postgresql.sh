#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server is installed (apt-get install postgresql when missing and root)
# and print the directory of its programs (initdb, postgres, pg_ctl) on the last line of stdout.
# Debian keeps them off PATH, in /usr/lib/postgresql/<major>/bin.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

find_bin() { # the newest major version's bin directory, if any
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | while read -r dir; do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && echo "$dir"
  done | tail -n 1
}

bin="$(find_bin)"
if [ -z "$bin" ]; then
  # initdb is not on PATH in Debian, so ensure-debian-package.sh sees it missing and installs the server.
  bash "$HERE/ensure-debian-package.sh" initdb postgresql
  bin="$(find_bin)"
fi
if [ -z "$bin" ]; then
  echo "[postgresql] ERROR: no /usr/lib/postgresql/*/bin/initdb after installing postgresql" >&2
  exit 1
fi
echo "[postgresql] $("$bin/postgres" --version)" >&2
echo "$bin"
