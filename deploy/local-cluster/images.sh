#!/usr/bin/env bash
# Container images without a registry, as docker-archive tarballs in $CACHE/k8s-images/ (reused while their
# inputs are unchanged); up.sh imports them into containerd's k8s.io namespace under the names the manifests use.
#   pause     registry.k8s.io/pause:3.10      gcc -static of the kubernetes module's build/pause/linux/pause.c
#   dapr      ghcr.io/dapr/{daprd,operator,placement,scheduler,sentry,injector}:1.18.3
#             one image with the project's daprd build and the control plane built by build.sh
#   taskboard localhost/taskboard/taskboard:local   deploy/Dockerfile's intent on a debootstrap rootfs
#   redis     localhost/taskboard/redis:local       Debian's redis-server
#   postgresql localhost/taskboard/postgresql:local Debian's postgresql-15 (user postgres, 100:102)
#   kafka     localhost/taskboard/kafka:local       Debian's OpenJDK 17 + the Kafka jars of scripts/provision-kafka.sh
#   busybox   localhost/taskboard/busybox:local     Debian's busybox-static (the local-path provisioner's helper pods)
#   coredns   localhost/taskboard/coredns:local     CoreDNS built by build.sh
#   traefik   localhost/taskboard/traefik:local     Traefik (the ingress controller) built by build.sh
#   netpol, metrics-server, local-path, jaeger, prometheus   localhost/taskboard/<name>:local   one binary built by
#             build.sh, at the path its upstream manifests run (/bin/<name> on PATH), nonroot unless it needs root
# Prints NAME=TARBALL lines on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IMAGES="$CACHE/k8s-images"
WORK="$IMAGES/work"
mkdir -p "$IMAGES"

# oci_image NAME REF ROOTFS_DIR [umoci config args...]: pack a directory as a one-layer image tarball
oci_image() {
  local name="$1" ref="$2" rootfs="$3"; shift 3
  local layout="$WORK/oci-$name" bundle="$WORK/bundle-$name" tar="$IMAGES/$name.tar"
  rm -rf "$layout" "$bundle" "$tar.tmp"
  umoci init --layout "$layout"
  umoci new --image "$layout:img"
  umoci unpack --image "$layout:img" "$bundle" >/dev/null
  cp -a "$rootfs/." "$bundle/rootfs/"
  rm -f "$bundle/rootfs/.complete"
  umoci repack --image "$layout:img" "$bundle"
  umoci config --image "$layout:img" --history.created_by "deploy/local-cluster/images.sh" "$@"
  skopeo copy -q "oci:$layout:img" "docker-archive:$tar.tmp:$ref"
  mv "$tar.tmp" "$tar"
  rm -rf "$layout" "$bundle"
  say "image $ref: $(du -h "$tar" | cut -f1)"
}
# recipe FUNCTION...: the text of the functions that make an image, part of its key (so changing one image's recipe
# rebuilds that image only, not every image of this file)
recipe() { declare -f oci_image "$@"; }
# fresh KEY NAME: true when $IMAGES/NAME.tar was built from inputs hashing to KEY
fresh() { [ -f "$IMAGES/$2.tar" ] && [ "$(cat "$IMAGES/$2.key" 2>/dev/null)" = "$1" ]; }
done_key() { echo "$1" > "$IMAGES/$2.key"; echo "$2=$IMAGES/$2.tar"; }

image_pause() {
  local src key root
  src="$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
  [ -f "$src" ] || (cd "$LC/go/kubernetes" && go mod download k8s.io/kubernetes)
  key="$(hash_of "$src" <(recipe image_pause))"
  fresh "$key" pause && { echo "pause=$IMAGES/pause.tar"; return; }
  root="$WORK/root-pause"; rm -rf "$root"; mkdir -p "$root"
  gcc -Os -static -Wall -DVERSION=v3.10-taskboard -o "$root/pause" "$src"
  strip "$root/pause"
  oci_image pause registry.k8s.io/pause:3.10 "$root" --config.entrypoint /pause --config.user 65535:65535
  rm -rf "$root"; done_key "$key" pause
}

image_dapr() {
  local daprd_dir cp_dir key root b
  daprd_dir="$(bash "$ROOT/scripts/provision-dapr.sh" | tail -n 1)"
  cp_dir="$(bash "$LC/build.sh" --print-dir dapr-cp)"
  key="$(hash_of "$daprd_dir/daprd" "$cp_dir/operator" "$cp_dir/sentry" "$cp_dir/injector" "$cp_dir/placement" \
    "$cp_dir/scheduler" <(recipe image_dapr))"
  fresh "$key" dapr && { echo "dapr=$IMAGES/dapr.tar"; return; }
  root="$WORK/root-dapr"; rm -rf "$root"; mkdir -p "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp "$daprd_dir/daprd" "$root/daprd"
  for b in operator sentry injector placement scheduler; do cp "$cp_dir/$b" "$root/$b"; done
  # Dapr's images are distroless, nonroot 65532
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
  oci_image dapr "ghcr.io/dapr/daprd:$DAPR_VERSION" "$root" --config.user 65532:65532
  rm -rf "$root"; done_key "$key" dapr
}

image_coredns() {
  local dir key root
  dir="$(bash "$LC/build.sh" --print-dir coredns)"
  key="$(hash_of "$dir/coredns" <(recipe image_coredns))"
  fresh "$key" coredns && { echo "coredns=$IMAGES/coredns.tar"; return; }
  root="$WORK/root-coredns"; rm -rf "$root"; mkdir -p "$root"
  cp "$dir/coredns" "$root/coredns"
  oci_image coredns localhost/taskboard/coredns:local "$root" --config.entrypoint /coredns --config.user 65532:65532
  rm -rf "$root"; done_key "$key" coredns
}

image_traefik() {
  local dir key root
  dir="$(bash "$LC/build.sh" --print-dir traefik)"
  key="$(hash_of "$dir/traefik" <(recipe image_traefik))"
  fresh "$key" traefik && { echo "traefik=$IMAGES/traefik.tar"; return; }
  root="$WORK/root-traefik"; rm -rf "$root"; mkdir -p "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp "$dir/traefik" "$root/traefik"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
  oci_image traefik localhost/taskboard/traefik:local "$root" --config.entrypoint /traefik --config.user 65532:65532
  rm -rf "$root"; done_key "$key" traefik
}

# binary_image NAME USER [entrypoint|cmd]: a one-binary image of build.sh's NAME at /bin/NAME, run as the image's
# entrypoint (default) or only as its command (upstream manifests that name the binary in args), /etc/passwd, /tmp
binary_image() {
  local name="$1" user="$2" how="${3:-entrypoint}" dir key root
  dir="$(bash "$LC/build.sh" --print-dir "$name")"
  key="$(hash_of "$dir/$name" <(recipe binary_image "image_$name"))"
  fresh "$key" "$name" && { echo "$name=$IMAGES/$name.tar"; return; }
  root="$WORK/root-$name"; rm -rf "$root"; mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp "$dir/$name" "$root/bin/$name"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
  oci_image "$name" "localhost/taskboard/$name:local" "$root" "--config.$how" "/bin/$name" --config.user "$user" \
    --config.env PATH=/bin
  rm -rf "$root"; done_key "$key" "$name"
}
image_netpol() { binary_image netpol 0:0 cmd; }   # nfqueue and netlink: root with NET_ADMIN; args start /bin/netpol
image_metrics-server() { binary_image metrics-server 65532:65532; }
image_jaeger() { binary_image jaeger 65532:65532; }
image_prometheus() { binary_image prometheus 65532:65532; }
image_local-path() { binary_image local-path 65532:65532; }

# postgresql: the server's programs first on PATH (Debian's /usr/bin ones are perl wrappers); without the
# cluster Debian's package made at install and without LLVM (jit off: 130 MB less to import).
image_postgresql() {
  local base key root
  base="$(bash "$LC/rootfs.sh" postgresql | tail -n 1)"
  key="$(hash_of "$base/.complete" <(recipe image_postgresql))$(stat -c %Y "$base/.complete")"
  fresh "$key" postgresql && { echo "postgresql=$IMAGES/postgresql.tar"; return; }
  grep -q '^postgres:x:100:102:' "$base/etc/passwd" || die "postgres is not 100:102 in $base (postgresql.yaml says so)"
  root="$WORK/root-postgresql"; rm -rf "$root"; cp -a "$base" "$root"
  rm -rf "$root"/etc/postgresql/15/main "$root"/var/lib/postgresql/15 "$root"/usr/lib/x86_64-linux-gnu/libLLVM-* \
    "$root"/usr/lib/postgresql/15/lib/bitcode "$root"/usr/lib/postgresql/15/lib/llvmjit*
  oci_image postgresql localhost/taskboard/postgresql:local "$root" --config.user 100:102 \
    --config.env PATH=/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env LANG=C.UTF-8 \
    --config.cmd postgres
  rm -rf "$root"; done_key "$key" postgresql
}

# kafka: scripts/provision-kafka.sh's jars (the same cache as TASKBOARD_STACK=postgres-kafka) in /opt/kafka/libs
image_kafka() {
  local base libs key root
  base="$(bash "$LC/rootfs.sh" java | tail -n 1)"
  libs="$(bash "$ROOT/scripts/provision-kafka.sh" | tail -n 1)"
  key="$(hash_of "$base/.complete" "$libs/.complete" <(recipe image_kafka))$(stat -c %Y "$base/.complete" "$libs/.complete" | tr -d '\n')"
  fresh "$key" kafka && { echo "kafka=$IMAGES/kafka.tar"; return; }
  root="$WORK/root-kafka"; rm -rf "$root"; cp -a "$base" "$root"
  mkdir -p "$root/opt/kafka/libs"
  cp "$libs"/*.jar "$root/opt/kafka/libs/"
  echo 'kafka:x:1000:1000:Kafka:/nonexistent:/usr/sbin/nologin' >> "$root/etc/passwd"
  echo 'kafka:x:1000:' >> "$root/etc/group"
  oci_image kafka localhost/taskboard/kafka:local "$root" --config.user 1000:1000 --config.env LANG=C.UTF-8
  rm -rf "$root"; done_key "$key" kafka
}

# busybox: the shell and the mkdir/rm the local-path provisioner's helper pods run (its setup and teardown scripts),
# from Debian's busybox-static package (downloaded, never installed on the host)
image_busybox() {
  local deb_dir key root deb
  deb_dir="$CACHE/k8s-busybox-deb"
  if ! ls "$deb_dir"/busybox-static_*.deb >/dev/null 2>&1; then
    mkdir -p "$deb_dir"; (cd "$deb_dir" && apt-get download busybox-static >&2)
  fi
  deb="$(ls "$deb_dir"/busybox-static_*.deb | tail -n 1)"
  key="$(hash_of "$deb" <(recipe image_busybox))"
  fresh "$key" busybox && { echo "busybox=$IMAGES/busybox.tar"; return; }
  root="$WORK/root-busybox"; rm -rf "$root"; mkdir -p "$root/x" "$root/bin" "$root/tmp"
  chmod 1777 "$root/tmp"
  dpkg-deb -x "$deb" "$root/x"
  cp "$root/x/bin/busybox" "$root/bin/busybox"; rm -rf "$root/x"
  for c in sh mkdir rm rmdir ls cat chmod; do ln -s busybox "$root/bin/$c"; done
  oci_image busybox localhost/taskboard/busybox:local "$root" --config.cmd /bin/sh --config.env PATH=/bin
  rm -rf "$root"; done_key "$key" busybox
}

image_redis() {
  local base key
  base="$(bash "$LC/rootfs.sh" redis | tail -n 1)"
  key="$(hash_of "$base/.complete" <(recipe image_redis))$(stat -c %Y "$base/.complete")"
  fresh "$key" redis && { echo "redis=$IMAGES/redis.tar"; return; }
  oci_image redis localhost/taskboard/redis:local "$base" --config.entrypoint /usr/bin/redis-server \
    --config.user 999:999
  done_key "$key" redis
}

image_taskboard() {
  local base key root
  base="$(bash "$LC/rootfs.sh" python | tail -n 1)"
  key="$( (cd "$ROOT" && cat requirements.txt wsgi.py gunicorn.conf.py deploy/Dockerfile \
    "$LC/taskboard-image.sh" && recipe image_taskboard && find webapp templates static -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 cat
    stat -c %Y "$base/.complete") | sha256sum | cut -c1-12)"
  fresh "$key" taskboard && { echo "taskboard=$IMAGES/taskboard.tar"; return; }
  root="$WORK/root-taskboard"
  bash "$LC/taskboard-image.sh" "$base" "$root"
  # deploy/Dockerfile's ENV, USER, WORKDIR, EXPOSE and CMD (tests/k8s/test_image.py checks they agree)
  oci_image taskboard localhost/taskboard/taskboard:local "$root" \
    --config.env PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env PYTHONDONTWRITEBYTECODE=1 --config.env PYTHONUNBUFFERED=1 --config.env PORT=8000 \
    --config.user 10001:10001 --config.workingdir /app \
    --config.exposedports 8000/tcp --config.exposedports 8001/tcp \
    --config.cmd gunicorn --config.cmd -c --config.cmd gunicorn.conf.py --config.cmd wsgi:app \
    --config.label org.opencontainers.image.title=taskboard \
    --config.label org.opencontainers.image.source=deploy/Dockerfile
  rm -rf "$root"; done_key "$key" taskboard
}

rm -rf "$WORK"; mkdir -p "$WORK"
for name in "${@:-pause dapr coredns traefik redis taskboard}"; do
  for n in $name; do
    say "image $n..."
    "image_$n"
  done
done
rm -rf "$WORK"
