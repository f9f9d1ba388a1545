#!/usr/bin/env bash
# Builds the Java interop harness (tests/java/pom.xml) and prints the path of
# the jar to put on `java -cp` (one jar with every dependency):
#
#   jar="$(tests/java/build.sh)"          # or: tests/java/build.sh OUTPUT_DIR
#   java -cp "$jar" org.outcomes.interop.Tool consume --brokers ... (see Tool.java)
#
# The build output goes to OUTPUT_DIR, else $OUTCOMES_JAVA_BUILD_DIR, else
# $OUTCOMES_STACK_DIR/java when a stack's environment is exported, else
# tests/java/target (ignored by git). Versions: KAFKA_VERSION and
# REGISTRY_SERDE_VERSION from deploy/versions.env. Needs mvn and a JDK 17+;
# the first build downloads the dependencies into ~/.m2. Maven's output goes
# to OUTPUT_DIR/maven.log, shown when the build fails; only the jar's path is
# printed on stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"

die() {
  printf 'tests/java/build.sh: error: %s\n' "$*" >&2
  exit 1
}

[[ $# -le 1 ]] || die "usage: tests/java/build.sh [OUTPUT_DIR]"
if [[ $# -eq 1 ]]; then
  out="$1"
elif [[ -n "${OUTCOMES_JAVA_BUILD_DIR:-}" ]]; then
  out="$OUTCOMES_JAVA_BUILD_DIR"
elif [[ -n "${OUTCOMES_STACK_DIR:-}" ]]; then
  out="${OUTCOMES_STACK_DIR}/java"
else
  out="${here}/target"
fi
[[ -n "$out" ]] || die "the output directory is empty"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

command -v mvn >/dev/null 2>&1 || die "mvn not found: apt-get install maven"
# shellcheck source=deploy/versions.env
source "${root}/deploy/versions.env"

if ! mvn -q -B -f "${here}/pom.xml" \
  -Doutcomes.java.build.dir="$out" \
  -Dkafka.version="$KAFKA_VERSION" \
  -Dapicurio.serde.version="$REGISTRY_SERDE_VERSION" \
  package >"${out}/maven.log" 2>&1; then
  tail -n 40 "${out}/maven.log" >&2
  die "the build failed (log: ${out}/maven.log)"
fi
jar="${out}/outcomes-interop.jar"
[[ -f "$jar" ]] || die "Maven ran but ${jar} is missing"
printf '%s\n' "$jar"
