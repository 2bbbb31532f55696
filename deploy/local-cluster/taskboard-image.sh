#!/usr/bin/env bash
# taskboard-image.sh BASE_ROOTFS OUT_ROOTFS: deploy/Dockerfile's steps, run in a chroot of a copy of the
# debootstrap rootfs (no Docker engine here): a venv with the pinned requirements (wheels only), the app user
# 10001, the app's files owned by root and compiled to bytecode. images.sh packs OUT_ROOTFS with the
# Dockerfile's ENV/USER/WORKDIR/EXPOSE/CMD.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
base="$1" out="$2"
rm -rf "$out"
cp -a "$base" "$out"
rm -f "$out/.complete"
in_root() { chroot "$out" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
# The wheels are downloaded on the host (its pip settings reach PyPI) for the image's CPython 3.11 and cached;
# the chroot installs them offline.
wheels="$CACHE/k8s-wheels-$(hash_of "$ROOT/requirements.txt")"
if [ ! -f "$wheels/.complete" ]; then
  say "taskboard image: downloading the pinned wheels for CPython 3.11 (PyPI)"
  rm -rf "$wheels"; mkdir -p "$wheels"
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --implementation cp \
    --python-version 3.11 --abi cp311 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$wheels" -r "$ROOT/requirements.txt" >&2
  touch "$wheels/.complete"
fi
say "taskboard image: venv + pinned requirements (wheels only)"
# RUN python -m venv /opt/venv ; pip install --only-binary=:all: -r requirements.txt ; compileall
in_root python3 -m venv /opt/venv
mkdir -p "$out/tmp/wheels"
cp "$ROOT/requirements.txt" "$out/tmp/requirements.txt"
cp "$wheels"/*.whl "$out/tmp/wheels/"
in_root /opt/venv/bin/pip install -q --no-cache-dir --disable-pip-version-check --no-index --only-binary=:all: \
  --find-links /tmp/wheels -r /tmp/requirements.txt >&2
in_root /opt/venv/bin/python -m compileall -q /opt/venv/lib
rm -rf "$out/tmp/requirements.txt" "$out/tmp/wheels"
# RUN groupadd --system --gid 10001 taskboard && useradd --system --uid 10001 ...
in_root groupadd --system --gid 10001 taskboard
in_root useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
  --shell /usr/sbin/nologin taskboard
# WORKDIR /app ; COPY webapp/ templates/ static/ wsgi.py gunicorn.conf.py (root-owned) ; compileall
mkdir -p "$out/app"
(cd "$ROOT" && tar --owner=0 --group=0 --exclude=__pycache__ --exclude='*.pyc' -cf - webapp templates static \
  wsgi.py gunicorn.conf.py) | tar -C "$out/app" -xf -
in_root /opt/venv/bin/python -m compileall -q /app/webapp /app/wsgi.py /app/gunicorn.conf.py
rm -rf "$out/root/.cache" "$out/var/log/"*.log
say "taskboard image rootfs: $(du -sh "$out" | cut -f1)"
