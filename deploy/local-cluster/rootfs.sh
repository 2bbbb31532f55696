#!/usr/bin/env bash
# Debian bookworm minbase root filesystems for the images (debootstrap from Debian's mirror), cached:
#   rootfs.sh python   python3 + python3-venv (bookworm's python3 is 3.11, as deploy/Dockerfile's base)
#   rootfs.sh redis    redis-server
#   rootfs.sh postgresql   Debian's PostgreSQL server (postgresql-15, with psql)
#   rootfs.sh java     openjdk-17-jre-headless (Kafka's runtime; its jars come from scripts/provision-kafka.sh)
# Prints the rootfs directory on the last line of stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
kind="$1"
case "$kind" in
  python) include="python3,python3-venv" ;;
  redis) include="redis-server" ;;
  postgresql) include="postgresql-15" ;;
  java) include="openjdk-17-jre-headless" ;;
  *) die "rootfs.sh python|redis|postgresql|java" ;;
esac
out="$CACHE/k8s-rootfs-bookworm-$kind"
mkdir -p "$CACHE"
exec 9> "$out.lock"
flock 9   # one debootstrap per rootfs at a time (up.sh and a manual run may overlap)
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
rm -rf "$out.tmp"
say "debootstrap bookworm minbase + $include into $out (about 75 s; log $out.log)"
start=$(date +%s)
nice -n 10 debootstrap --variant=minbase --include="$include" bookworm "$out.tmp" "$MIRROR" > "$out.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 20; kill -0 "$pid" 2>/dev/null && say "  debootstrap $kind: $(tail -n 1 "$out.log" | cut -c1-80)"
done
wait "$pid" || { tail -20 "$out.log" >&2; die "debootstrap $kind failed"; }
# What an image does not need: package caches, docs, man pages, locales.
rm -rf "$out.tmp"/var/cache/apt/archives/*.deb "$out.tmp"/var/lib/apt/lists/* "$out.tmp"/usr/share/doc \
  "$out.tmp"/usr/share/man "$out.tmp"/usr/share/locale "$out.tmp"/usr/share/info
touch "$out.tmp/.complete"
rm -rf "$out"; mv "$out.tmp" "$out"
say "rootfs $kind ready in $(( $(date +%s) - start ))s ($(du -sh "$out" | cut -f1))"
echo "$out"
