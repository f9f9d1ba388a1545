# shellcheck shell=bash
# The local schema registry: Apicurio Registry (Quarkus), its prebuilt
# distribution from Maven Central, on 127.0.0.1 only. Its storage is an H2
# database file in the state directory, not Apicurio's default in-memory
# one: the topics outlive a restart, so must the schemas their records name
# (in memory, ids would start again at 1 and an old record's id could name
# another schema). Clients use its Confluent-compatible API:
#
#   http://127.0.0.1:<OC_REGISTRY_PORT>/apis/ccompat/v7      (schema ids are content ids)
#   http://127.0.0.1:<OC_REGISTRY_PORT>/apis/registry/v3     (Apicurio's own API)
#   http://127.0.0.1:<OC_REGISTRY_MGMT_PORT>/health/ready    (management interface)
#
# The global compatibility rule defaults to BACKWARD (Confluent's default;
# Apicurio's is NONE) through apicurio.rules.global.compatibility.
#
# Sourced by deploy/stack.sh, which sets OC_STATE, OC_REGISTRY_PORT and
# OC_REGISTRY_MGMT_PORT. REGISTRY_VERSION and REGISTRY_JAVA_MIN_MAJOR come
# from deploy/versions.env.
#
#   <state>/registry/app/        quarkus-run.jar, lib/ (unpacked once per version)
#   <state>/registry/data/       registry.mv.db (H2): the schemas, rules, ids
#   <state>/registry/registry.log   its log;  stdout.log  JVM output
#   <state>/registry/registry.pid   <state>/registry/tmp/

OC_REGISTRY_START_TIMEOUT="${OC_REGISTRY_START_TIMEOUT:-120}"
OC_REGISTRY_STOP_TIMEOUT="${OC_REGISTRY_STOP_TIMEOUT:-30}"
OC_REGISTRY_HEAP_OPTS="${OC_REGISTRY_HEAP_OPTS:--Xms64m -Xmx512m}"
OC_REGISTRY_COMPATIBILITY="${OC_REGISTRY_COMPATIBILITY:-BACKWARD}"
# The JVM that runs the registry and its version, from oc_registry_find_java.
OC_REGISTRY_JAVA=""
OC_REGISTRY_JAVA_MAJOR=""
# Set by oc_registry_launch: the pid, and when it was started (empty when
# it was running already).
OC_REGISTRY_PID=""
OC_REGISTRY_T0=""

oc_registry_dir() { printf '%s/registry' "$OC_STATE"; }
oc_registry_app() { printf '%s/registry/app' "$OC_STATE"; }
oc_registry_pidfile() { printf '%s/registry/registry.pid' "$OC_STATE"; }
oc_registry_url() { printf 'http://127.0.0.1:%s/apis/ccompat/v7' "$OC_REGISTRY_PORT"; }

# oc_registry_enabled: false when OUTCOMES_REGISTRY is off/0/no/false, for a
# stack without a registry (e.g. no Java 21+ on the machine).
oc_registry_enabled() {
  case "${OUTCOMES_REGISTRY:-on}" in
  off | 0 | no | false) return 1 ;;
  *) return 0 ;;
  esac
}

# oc_java_major JAVA: the feature version (17, 21, 25...) of the JVM at
# path JAVA, from its home's release file when there is one (fast), else
# from the JVM itself. Prints nothing and fails when unknown.
oc_java_major() {
  local java="$1" home v=""
  [[ -x "$java" ]] || return 1
  home="$(dirname "$(dirname "$(readlink -f "$java")")")"
  if [[ -f "${home}/release" ]]; then
    v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "${home}/release")"
  fi
  if [[ -z "$v" ]]; then
    v="$("$java" -XshowSettings:properties -version 2>&1 |
      awk -F'= ' '/java.specification.version/ { print $2 }')"
  fi
  v="${v#1.}"
  v="${v%%[._+-]*}"
  [[ "$v" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$v"
}

# oc_registry_find_java: sets OC_REGISTRY_JAVA to a java of
# REGISTRY_JAVA_MIN_MAJOR or newer: OUTCOMES_REGISTRY_JAVA_HOME when set
# (and then only it), else JAVA_HOME when new enough, else the newest of the
# java on PATH and /usr/lib/jvm/*/bin/java. Fails with advice when none.
oc_registry_find_java() {
  local min="$REGISTRY_JAVA_MIN_MAJOR" j major best="" best_major=0 seen=""
  if [[ -n "${OUTCOMES_REGISTRY_JAVA_HOME:-}" ]]; then
    j="${OUTCOMES_REGISTRY_JAVA_HOME}/bin/java"
    major="$(oc_java_major "$j")" ||
      oc_die "registry: OUTCOMES_REGISTRY_JAVA_HOME=${OUTCOMES_REGISTRY_JAVA_HOME} has no usable bin/java"
    [[ "$major" -ge "$min" ]] ||
      oc_die "registry: OUTCOMES_REGISTRY_JAVA_HOME=${OUTCOMES_REGISTRY_JAVA_HOME} is Java ${major}; Apicurio Registry ${REGISTRY_VERSION} needs Java ${min}+"
    OC_REGISTRY_JAVA="$j"
    OC_REGISTRY_JAVA_MAJOR="$major"
    return 0
  fi
  if [[ -n "${JAVA_HOME:-}" ]] && major="$(oc_java_major "${JAVA_HOME}/bin/java")" &&
    [[ "$major" -ge "$min" ]]; then
    OC_REGISTRY_JAVA="${JAVA_HOME}/bin/java"
    OC_REGISTRY_JAVA_MAJOR="$major"
    return 0
  fi
  for j in "$(command -v java 2>/dev/null || true)" /usr/lib/jvm/*/bin/java; do
    [[ -n "$j" && -x "$j" ]] || continue
    j="$(readlink -f "$j")"
    case " $seen " in *" $j "*) continue ;; esac
    seen="${seen} ${j}"
    major="$(oc_java_major "$j")" || continue
    if [[ "$major" -ge "$min" && "$major" -gt "$best_major" ]]; then
      best="$j"
      best_major="$major"
    fi
  done
  if [[ -z "$best" ]]; then
    oc_die "registry: Apicurio Registry ${REGISTRY_VERSION} needs Java ${min}+ and none was found" \
      "(JAVA_HOME, java on PATH, /usr/lib/jvm/*): install one (Debian bookworm ships Java 17 only: e.g." \
      "an Eclipse Temurin 21+ JDK, or openjdk-21-jdk-headless on Debian trixie) and point at it with" \
      "OUTCOMES_REGISTRY_JAVA_HOME=/path/to/jdk (its bin/java is used)," \
      "or start the stack without the registry: OUTCOMES_REGISTRY=off deploy/stack.sh start"
  fi
  OC_REGISTRY_JAVA="$best"
  OC_REGISTRY_JAVA_MAJOR="$best_major"
}

# oc_registry_assembled_id: what the stamp file of an unpacked app/ says.
oc_registry_assembled_id() {
  printf 'apicurio-registry-app-%s-all' "$REGISTRY_VERSION"
}

# oc_registry_needs_assembly: app/ is missing or holds another version.
oc_registry_needs_assembly() {
  local stamp
  stamp="$(oc_registry_app)/.assembled"
  ! { [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$(oc_registry_assembled_id)" ]]; }
}

# oc_registry_preflight: a Java 21+ (OC_REGISTRY_JAVA), and mvn when the
# distribution is still to be fetched.
oc_registry_preflight() {
  oc_registry_enabled || return 0
  oc_registry_find_java
  oc_info "versions: apicurio-registry=${REGISTRY_VERSION} on java ${OC_REGISTRY_JAVA_MAJOR} (${OC_REGISTRY_JAVA})"
  if oc_registry_needs_assembly; then
    oc_have mvn ||
      oc_die "mvn not found: apt-get install maven (it fetches Apicurio Registry from Maven Central)"
    oc_have tar || oc_die "tar not found: apt-get install tar"
  fi
}

# oc_registry_assemble: fetches the prebuilt distribution (a tar.gz, ~160
# MB, cached in ~/.m2 by Maven) and unpacks it into <state>/registry/app,
# once per pinned version (a stamp file records it).
oc_registry_assemble() {
  local app want tmp dl t0
  app="$(oc_registry_app)"
  want="$(oc_registry_assembled_id)"
  if ! oc_registry_needs_assembly; then
    return 0
  fi
  oc_info "registry: fetching ${want} with Maven (~160 MB, downloaded into ~/.m2 unless there already)"
  t0="$(oc_now)"
  tmp="${app}.tmp"
  dl="$(oc_registry_dir)/download"
  rm -rf "$tmp" "$dl"
  if ! mvn -q -B -f "${OC_DEPLOY_DIR}/registry/pom.xml" \
    -Dregistry.version="$REGISTRY_VERSION" \
    -Ddependency.plugin.version="$MAVEN_DEPENDENCY_PLUGIN_VERSION" \
    dependency:copy -DoutputDirectory="$dl" >"$(oc_registry_dir)/maven.log" 2>&1; then
    tail -n 30 "$(oc_registry_dir)/maven.log" >&2
    rm -rf "$dl"
    oc_die "registry: Maven could not fetch ${want} (log: $(oc_registry_dir)/maven.log); is Maven Central reachable (proxy in ~/.m2/settings.xml)?"
  fi
  mkdir -p "$tmp"
  if ! tar -xzf "${dl}/apicurio-registry-app-all.tar.gz" -C "$tmp"; then
    rm -rf "$tmp" "$dl"
    oc_die "registry: could not unpack ${want}"
  fi
  rm -rf "$dl"
  [[ -f "${tmp}/quarkus-run.jar" ]] ||
    oc_die "registry: ${want} unpacked, but quarkus-run.jar is missing from ${tmp}"
  printf '%s\n' "$want" >"${tmp}/.assembled"
  rm -rf "$app"
  mv "$tmp" "$app"
  oc_info "registry: ${want} in ${app} ($(oc_elapsed "$t0") s)"
}

# oc_registry_pid: prints the registry's pid when our registry (the one
# running this state directory's quarkus-run.jar) is alive; fails otherwise.
oc_registry_pid() {
  oc_find_pid "$(oc_registry_pidfile)" oc_registry_pid_is_ours "$(oc_registry_app)/quarkus-run.jar"
}

# oc_registry_pid_is_ours PID JAR: PID runs java -jar JAR.
oc_registry_pid_is_ours() {
  local cmd
  cmd="$(oc_pid_cmdline "$1")" || return 1
  [[ "$cmd" == *" -jar $2 "* ]]
}

# oc_registry_http METHOD PORT PATH [JSON]: one HTTP/1.0 request to
# 127.0.0.1:PORT through bash's /dev/tcp (curl is not needed); prints the
# response body; true on a 2xx status. Each read waits at most 5 s.
oc_registry_http() {
  local method="$1" port="$2" path="$3" body="${4:-}"
  (
    local LC_ALL=C line status
    exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
    {
      printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAccept: application/json\r\n' \
        "$method" "$path" "$port"
      if [[ -n "$body" ]]; then
        printf 'Content-Type: application/json\r\nContent-Length: %d\r\n' "${#body}"
      fi
      printf '\r\n%s' "$body"
    } >&3
    IFS= read -r -t 5 line <&3 || exit 1
    status="$(printf '%s' "$line" | awk '{ print $2 }')"
    while IFS= read -r -t 5 line <&3; do
      [[ "$line" == $'\r' || -z "$line" ]] && break
    done
    while IFS= read -r -t 5 line <&3 || [[ -n "$line" ]]; do
      printf '%s\n' "$line"
    done
    [[ "$status" =~ ^2[0-9][0-9]$ ]]
  ) 2>/dev/null
}

# oc_registry_ready: the management interface says ready.
oc_registry_ready() {
  oc_registry_http GET "$OC_REGISTRY_MGMT_PORT" /health/ready >/dev/null
}

# oc_registry_log_tail: the last lines of the registry's logs, for errors.
oc_registry_log_tail() {
  local f
  for f in "$(oc_registry_dir)/stdout.log" "$(oc_registry_dir)/registry.log"; do
    if [[ -s "$f" ]]; then
      printf -- '--- last lines of %s ---\n' "$f" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# oc_registry_launch: starts the registry detached (unpacking it first when
# needed) without waiting for it: oc_registry_wait does, so that its
# start-up overlaps the broker's. Sets OC_REGISTRY_PID.
oc_registry_launch() {
  local dir pid
  OC_REGISTRY_PID=""
  OC_REGISTRY_T0=""
  if ! oc_registry_enabled; then
    oc_info "registry: not started (OUTCOMES_REGISTRY=${OUTCOMES_REGISTRY})"
    return 0
  fi
  dir="$(oc_registry_dir)"
  mkdir -p "$dir"
  if pid="$(oc_registry_pid)"; then
    OC_REGISTRY_PID="$pid"
    return 0
  fi
  oc_port_free "$OC_REGISTRY_PORT" "registry" || exit 1
  oc_port_free "$OC_REGISTRY_MGMT_PORT" "registry management" || exit 1
  oc_registry_assemble
  mkdir -p "${dir}/tmp" "${dir}/data"
  printf '=== %s start\n' "$(date -Is)" >>"${dir}/stdout.log"
  # Quarkus settings as system properties (they override the application's
  # own application.properties). setsid and 9>&- as for the broker.
  # shellcheck disable=SC2086 # OC_REGISTRY_HEAP_OPTS holds several options
  setsid "$OC_REGISTRY_JAVA" $OC_REGISTRY_HEAP_OPTS -Djava.awt.headless=true \
    -Djava.io.tmpdir="${dir}/tmp" \
    -Dquarkus.http.host=127.0.0.1 \
    -Dquarkus.http.port="$OC_REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 \
    -Dquarkus.management.port="$OC_REGISTRY_MGMT_PORT" \
    -Dquarkus.log.console.enabled=false \
    -Dquarkus.log.file.enabled=true \
    -Dquarkus.log.file.path="${dir}/registry.log" \
    -Dquarkus.log.file.json.enabled=false \
    -Dquarkus.log.file.format='%d{yyyy-MM-dd HH:mm:ss,SSS} %p [%c{3.}] (%t) %s%e%n' \
    -Dquarkus.log.file.rotation.max-file-size=50M \
    -Dquarkus.log.file.rotation.max-backup-index=2 \
    -Dapicurio.datasource.url="jdbc:h2:file:${dir}/data/registry" \
    -Dapicurio.rules.global.compatibility="$OC_REGISTRY_COMPATIBILITY" \
    -jar "$(oc_registry_app)/quarkus-run.jar" \
    </dev/null >>"${dir}/stdout.log" 2>&1 9>&- &
  pid="$!"
  printf '%s\n' "$pid" >"$(oc_registry_pidfile)"
  OC_REGISTRY_PID="$pid"
  OC_REGISTRY_T0="$(oc_now)"
  oc_mark_started
  oc_info "registry: started pid ${pid} on 127.0.0.1:${OC_REGISTRY_PORT} (management ${OC_REGISTRY_MGMT_PORT}); log ${dir}/registry.log"
}

# oc_registry_wait: waits until the registry launched by oc_registry_launch
# is ready, then makes sure the global compatibility is the one we want.
oc_registry_wait() {
  local pid="$OC_REGISTRY_PID" t0 waited cfg
  oc_registry_enabled || return 0
  [[ -n "$pid" ]] || oc_die "registry: oc_registry_wait without oc_registry_launch"
  if [[ -z "$OC_REGISTRY_T0" ]]; then
    if oc_registry_ready; then
      oc_info "registry: already running (pid ${pid}, $(oc_registry_url))"
      return 0
    fi
    oc_info "registry: process ${pid} is up but not ready yet; waiting"
  fi
  t0="${OC_REGISTRY_T0:-$(oc_now)}"
  while ! oc_registry_ready; do
    if ! oc_pid_alive "$pid"; then
      oc_registry_log_tail
      rm -f "$(oc_registry_pidfile)"
      oc_die "registry: Apicurio Registry exited during start-up (logs above; $(oc_registry_dir)/registry.log)"
    fi
    waited="$(oc_elapsed "$t0")"
    if [[ "${waited%.*}" -ge "$OC_REGISTRY_START_TIMEOUT" ]]; then
      oc_registry_log_tail
      oc_die "registry: not ready on 127.0.0.1:${OC_REGISTRY_MGMT_PORT}/health/ready after ${OC_REGISTRY_START_TIMEOUT} s (pid ${pid} left running; 'stack.sh stop' ends it)"
    fi
    sleep 0.5
  done
  # apicurio.rules.global.compatibility is the default global rule; should
  # a later version ignore it, set the rule through the API.
  cfg="$(oc_registry_http GET "$OC_REGISTRY_PORT" /apis/ccompat/v7/config || true)"
  if [[ "$cfg" != *"\"compatibilityLevel\":\"${OC_REGISTRY_COMPATIBILITY}\""* ]]; then
    oc_warn "registry: global compatibility is not ${OC_REGISTRY_COMPATIBILITY} (${cfg:-no answer}); setting it"
    oc_registry_http PUT "$OC_REGISTRY_PORT" /apis/ccompat/v7/config \
      "{\"compatibility\":\"${OC_REGISTRY_COMPATIBILITY}\"}" >/dev/null ||
      oc_die "registry: could not set the global compatibility to ${OC_REGISTRY_COMPATIBILITY}"
  fi
  oc_info "registry: ready at $(oc_registry_url) $(oc_elapsed "$t0") s after its start (compatibility ${OC_REGISTRY_COMPATIBILITY})"
}

# oc_registry_stop: SIGTERM, wait up to OC_REGISTRY_STOP_TIMEOUT, then SIGKILL.
oc_registry_stop() {
  local pid
  if ! pid="$(oc_registry_pid)"; then
    rm -f "$(oc_registry_pidfile)"
    oc_info "registry: not running"
    return 0
  fi
  oc_stop_pid registry "$pid" "$(oc_registry_pidfile)" "$OC_REGISTRY_STOP_TIMEOUT"
}

# oc_registry_status: prints the registry's state; true when it is ready,
# or when it is off (OUTCOMES_REGISTRY=off) and not running.
oc_registry_status() {
  local pid
  if ! pid="$(oc_registry_pid)"; then
    if ! oc_registry_enabled; then
      printf 'registry:   stopped (OUTCOMES_REGISTRY=%s)\n' "$OUTCOMES_REGISTRY"
      return 0
    fi
    printf 'registry:   stopped\n'
    return 1
  fi
  if [[ -n "${OC_REGISTRY_MGMT_PORT:-}" ]] && oc_registry_ready; then
    printf 'registry:   running, pid %s, %s (ready)\n' "$pid" "$(oc_registry_url)"
    return 0
  fi
  printf 'registry:   NOT READY, pid %s alive, %s (see %s)\n' \
    "$pid" "$(oc_registry_url)" "$(oc_registry_dir)/registry.log"
  return 1
}
