#!/usr/bin/env bash
# Provision the pinned Apache Kafka broker (KRaft, no ZooKeeper) from Maven Central's jars and print
# the directory of its class path (libs/*.jar) on the last line of stdout.
#
# org.apache.kafka:kafka_2.13 and its runtime dependencies (plus a log4j2 binding for its slf4j logs)
# are resolved by Maven from a generated pom into a cache outside the repo
# ($TASKBOARD_CACHE, default ~/.cache/taskboard)/kafka-<version>/, then reused. Java 17 and Maven come
# from Debian (installed when missing and root).
#
#   --find-only: the cache only; never download (exit 3 when not provisioned).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="2.24.3"  # the log4j2 of kafka_2.13 4.1.1 (its slf4j 1.x binding is not a dependency)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TASKBOARD_CACHE:-$HOME/.cache/taskboard}"
OUT="$CACHE/kafka-$KAFKA_VERSION"

say() { echo "[kafka] $*" >&2; }

if [ -f "$OUT/libs/.complete" ]; then
  say "using Kafka $KAFKA_VERSION from $OUT/libs"
  echo "$OUT/libs"
  exit 0
fi
if [ "${1:-}" = "--find-only" ]; then
  say "Kafka $KAFKA_VERSION is not provisioned yet (not downloading: --find-only)"
  exit 3
fi

bash "$HERE/ensure-debian-package.sh" java openjdk-17-jre-headless
bash "$HERE/ensure-debian-package.sh" mvn maven

say "downloading Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13 and its dependencies, ~45 MB) from Maven Central into $OUT"
say "(first time only; later starts reuse the cache)"
start=$(date +%s)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>taskboard</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
rm -rf "$OUT/libs.tmp"
mkdir -p "$OUT"
# The local Maven repository lives in the cache too; -B: no colours, one line per artifact.
mvn -B -ntp -f "$work/pom.xml" -Dmaven.repo.local="$CACHE/maven-repository" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$OUT/libs.tmp" 2>&1 |
  grep -E "Copying|ERROR|BUILD" | sed 's/^/[kafka]   /' >&2 || true
if [ ! -f "$OUT/libs.tmp/kafka_2.13-$KAFKA_VERSION.jar" ]; then
  say "ERROR: could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see the Maven messages above)"
  exit 1
fi
touch "$OUT/libs.tmp/.complete"
rm -rf "$OUT/libs"
mv "$OUT/libs.tmp" "$OUT/libs"
say "downloaded $(ls "$OUT/libs" | wc -l) jars in $(( $(date +%s) - start ))s"
echo "$OUT/libs"
