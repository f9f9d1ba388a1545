# shellcheck shell=bash
# The local Kafka broker: one KRaft node in combined mode (broker +
# controller), jars from Maven Central. Sourced by deploy/stack.sh, which
# sets OC_STATE, OC_KAFKA_PORT, OC_KAFKA_CONTROLLER_PORT, OC_KAFKA_CLUSTER_ID.
# The cluster of `stack.sh start --brokers 3` (three brokers, three
# controllers) is in kafka_cluster.sh; it shares the jars, the logging and
# oc_kafka_spawn with this file.

OC_KAFKA_START_TIMEOUT="${OC_KAFKA_START_TIMEOUT:-90}"
OC_KAFKA_STOP_TIMEOUT="${OC_KAFKA_STOP_TIMEOUT:-60}"
OC_KAFKA_HEAP_OPTS="${OC_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

oc_kafka_dir() { printf '%s/kafka' "$OC_STATE"; }
oc_kafka_libs() { printf '%s/kafka/libs' "$OC_STATE"; }
oc_kafka_props() { printf '%s/kafka/server.properties' "$OC_STATE"; }
oc_kafka_pidfile() { printf '%s/kafka/kafka.pid' "$OC_STATE"; }

# oc_kafka_preflight: java (new enough), mvn and kcat are there.
oc_kafka_preflight() {
  local major
  oc_have java ||
    oc_die "java not found: apt-get install default-jdk-headless (Kafka ${KAFKA_VERSION} needs Java ${JAVA_MIN_MAJOR}+)"
  major="$(java -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ { print $2 }')"
  major="${major#1.}"
  major="${major%%.*}"
  if [[ ! "$major" =~ ^[0-9]+$ ]] || [[ "$major" -lt "$JAVA_MIN_MAJOR" ]]; then
    oc_die "java ${major:-?} is too old: Kafka ${KAFKA_VERSION} needs Java ${JAVA_MIN_MAJOR}+ (apt-get install default-jdk-headless)"
  fi
  oc_have kcat || oc_die "kcat not found: apt-get install kcat"
  if oc_kafka_needs_assembly; then
    oc_have mvn ||
      oc_die "mvn not found: apt-get install maven (it fetches the Kafka broker from Maven Central)"
  fi
}

# oc_kafka_assembled_id: what the stamp file of an assembled libs/ says.
oc_kafka_assembled_id() {
  printf 'kafka_%s-%s slf4j-reload4j-%s' "$SCALA_VERSION" "$KAFKA_VERSION" "$SLF4J_VERSION"
}

# oc_kafka_needs_assembly: libs/ is missing or holds other versions.
oc_kafka_needs_assembly() {
  local stamp
  stamp="$(oc_kafka_libs)/.assembled"
  ! { [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$(oc_kafka_assembled_id)" ]]; }
}

# oc_kafka_assemble: copies the broker's jars into <state>/kafka/libs with
# Maven, once per pinned version (a stamp file records it).
oc_kafka_assemble() {
  local libs want tmp t0
  libs="$(oc_kafka_libs)"
  want="$(oc_kafka_assembled_id)"
  if ! oc_kafka_needs_assembly; then
    return 0
  fi
  oc_info "kafka: fetching ${want} and its dependencies with Maven (first run downloads ~50 MB into ~/.m2)"
  t0="$(oc_now)"
  tmp="${libs}.tmp"
  rm -rf "$tmp"
  if ! mvn -q -B -f "${OC_DEPLOY_DIR}/kafka/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" \
    -Dscala.binary.version="$SCALA_VERSION" \
    -Dslf4j.version="$SLF4J_VERSION" \
    -Ddependency.plugin.version="$MAVEN_DEPENDENCY_PLUGIN_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" >"$(oc_kafka_dir)/maven.log" 2>&1; then
    tail -n 30 "$(oc_kafka_dir)/maven.log" >&2
    rm -rf "$tmp"
    oc_die "kafka: Maven could not fetch the broker (log: $(oc_kafka_dir)/maven.log); is Maven Central reachable (proxy in ~/.m2/settings.xml)?"
  fi
  [[ -f "${tmp}/kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar" ]] ||
    oc_die "kafka: Maven ran but kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar is missing from ${tmp}"
  printf '%s\n' "$want" >"${tmp}/.assembled"
  rm -rf "$libs"
  mv "$tmp" "$libs"
  oc_info "kafka: $(find "$libs" -name '*.jar' | wc -l) jars in ${libs} ($(oc_elapsed "$t0") s)"
}

# oc_kafka_write_config: server.properties and log4j.properties, rewritten
# at every start from the ports in stack.env.
oc_kafka_write_config() {
  local dir
  dir="$(oc_kafka_dir)"
  cat >"$(oc_kafka_props)" <<PROPS
# Written by deploy/stack.sh at every start; edits are lost.
# Single-node KRaft, combined mode: this process is broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${OC_KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${OC_KAFKA_PORT},CONTROLLER://127.0.0.1:${OC_KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${OC_KAFKA_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
# Topics are created explicitly, with their partition count.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
# One node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
# Fast tests: no wait for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
# After a kill -9 the restarted broker cannot register until the controller
# expires its previous session (default 9 s, ~16 s to ready with back-off).
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
PROPS
  oc_kafka_write_log4j "$dir"
  oc_kafka_write_tools_log4j
}

# oc_kafka_write_log4j DIR: DIR/log4j.properties, a Kafka process's logging
# into DIR/server.log (the single broker's DIR is kafka/, a cluster's
# kafka/node<N>/ and kafka/controller<N>/).
oc_kafka_write_log4j() {
  local dir="$1"
  cat >"${dir}/log4j.properties" <<PROPS
# Written by deploy/stack.sh. The broker logs to server.log beside this file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${dir}/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
PROPS
}

# oc_kafka_write_tools_log4j: kafka/tools-log4j.properties, the logging of
# the command-line tools (TopicCommand, StorageTool): warnings to stderr only.
oc_kafka_write_tools_log4j() {
  cat >"$(oc_kafka_dir)/tools-log4j.properties" <<'PROPS'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
}

# oc_kafka_tool CLASS ARGS...: runs a Kafka command-line class from the jars.
oc_kafka_tool() {
  local class="$1"
  shift
  java -Xmx256m -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$(oc_kafka_dir)/tools-log4j.properties" \
    -cp "$(oc_kafka_libs)/*" "$class" "$@"
}

# oc_kafka_format: formats the log directory once (KRaft metadata).
oc_kafka_format() {
  local dir out
  dir="$(oc_kafka_dir)"
  if [[ -f "${dir}/data/meta.properties" ]]; then
    return 0
  fi
  oc_info "kafka: formatting ${dir}/data (cluster id ${OC_KAFKA_CLUSTER_ID})"
  if ! out="$(oc_kafka_tool kafka.tools.StorageTool format \
    --cluster-id="$OC_KAFKA_CLUSTER_ID" --config="$(oc_kafka_props)" 2>&1)"; then
    printf '%s\n' "$out" >&2
    oc_die "kafka: formatting the storage failed"
  fi
}

# oc_kafka_pid: prints the broker's pid when our broker (the one using this
# state directory's server.properties) is alive; fails otherwise. The pid
# file is a hint; a process is ours only if its command line says so.
oc_kafka_pid() {
  oc_find_pid "$(oc_kafka_pidfile)" oc_kafka_pid_is_ours "$(oc_kafka_props)"
}

# oc_kafka_pid_is_ours PID PROPS: PID runs kafka.Kafka with PROPS.
oc_kafka_pid_is_ours() {
  local cmd
  cmd="$(oc_pid_cmdline "$1")" || return 1
  [[ "$cmd" == *" kafka.Kafka $2"* ]]
}

# oc_kafka_answers: the broker answers a metadata request.
oc_kafka_answers() {
  kcat -L -b "127.0.0.1:${OC_KAFKA_PORT}" -m 5 >/dev/null 2>&1
}

# oc_kafka_log_tail [DIR]: the last lines of the broker's logs (those of
# the broker logging into DIR, default kafka/), for errors.
# shellcheck disable=SC2120 # its arguments are optional
oc_kafka_log_tail() {
  local f dir="${1:-$(oc_kafka_dir)}"
  for f in "${dir}/stdout.log" "${dir}/server.log"; do
    if [[ -s "$f" ]]; then
      printf -- '--- last lines of %s ---\n' "$f" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# oc_kafka_spawn DIR PROPS PIDFILE [HEAP_OPTS]: starts a Kafka process
# (kafka.Kafka PROPS) detached, without waiting: its temporary files in
# DIR/tmp, its log as DIR/log4j.properties says, its JVM output appended to
# DIR/stdout.log, its pid in PIDFILE and OC_KAFKA_SPAWNED_PID. HEAP_OPTS
# defaults to OC_KAFKA_HEAP_OPTS.
OC_KAFKA_SPAWNED_PID=""
oc_kafka_spawn() {
  local dir="$1" props="$2" pidfile="$3" heap="${4:-$OC_KAFKA_HEAP_OPTS}"
  mkdir -p "${dir}/tmp"
  printf '=== %s start\n' "$(date -Is)" >>"${dir}/stdout.log"
  # setsid: its own session, so a ^C or a test runner killing the caller's
  # process group does not take the broker down. fd 9 is stack.sh's lock.
  # shellcheck disable=SC2086 # heap holds several options
  setsid java $heap -XX:+UseG1GC -Djava.awt.headless=true \
    -Djava.io.tmpdir="${dir}/tmp" \
    -Dkafka.logs.dir="$dir" \
    -Dlog4j.configuration="file:${dir}/log4j.properties" \
    -cp "$(oc_kafka_libs)/*" kafka.Kafka "$props" \
    </dev/null >>"${dir}/stdout.log" 2>&1 9>&- &
  OC_KAFKA_SPAWNED_PID="$!"
  printf '%s\n' "$OC_KAFKA_SPAWNED_PID" >"$pidfile"
}

# oc_kafka_start: starts the broker detached and waits until it answers.
oc_kafka_start() {
  local dir pid waited=0 t0
  dir="$(oc_kafka_dir)"
  if pid="$(oc_kafka_pid)"; then
    if oc_kafka_answers; then
      oc_info "kafka: already running (pid ${pid}, 127.0.0.1:${OC_KAFKA_PORT})"
      return 0
    fi
    oc_info "kafka: process ${pid} is up but not answering yet; waiting"
  else
    oc_port_free "$OC_KAFKA_PORT" "kafka" || exit 1
    oc_port_free "$OC_KAFKA_CONTROLLER_PORT" "kafka controller" || exit 1
    oc_kafka_assemble
    oc_kafka_write_config
    oc_kafka_format
    oc_kafka_spawn "$dir" "$(oc_kafka_props)" "$(oc_kafka_pidfile)"
    pid="$OC_KAFKA_SPAWNED_PID"
    oc_mark_started
    oc_info "kafka: started pid ${pid} on 127.0.0.1:${OC_KAFKA_PORT} (controller ${OC_KAFKA_CONTROLLER_PORT}); log ${dir}/server.log"
  fi
  t0="$(oc_now)"
  while ! oc_kafka_answers; do
    if ! oc_pid_alive "$pid"; then
      oc_kafka_log_tail
      rm -f "$(oc_kafka_pidfile)"
      oc_die "kafka: the broker exited during start-up (logs above; ${dir}/server.log)"
    fi
    waited="$(oc_elapsed "$t0")"
    if [[ "${waited%.*}" -ge "$OC_KAFKA_START_TIMEOUT" ]]; then
      oc_kafka_log_tail
      oc_die "kafka: no answer on 127.0.0.1:${OC_KAFKA_PORT} after ${OC_KAFKA_START_TIMEOUT} s (pid ${pid} left running; 'stack.sh stop' ends it)"
    fi
    sleep 0.5
  done
  oc_info "kafka: ready on 127.0.0.1:${OC_KAFKA_PORT} after $(oc_elapsed "$t0") s"
}

# oc_kafka_stop: SIGTERM, wait up to OC_KAFKA_STOP_TIMEOUT, then SIGKILL.
oc_kafka_stop() {
  local pid
  if ! pid="$(oc_kafka_pid)"; then
    rm -f "$(oc_kafka_pidfile)"
    oc_info "kafka: not running"
    return 0
  fi
  oc_stop_pid kafka "$pid" "$(oc_kafka_pidfile)" "$OC_KAFKA_STOP_TIMEOUT"
}

# oc_kafka_status: prints the broker's state; true when it answers.
oc_kafka_status() {
  local pid
  if ! pid="$(oc_kafka_pid)"; then
    printf 'kafka:      stopped\n'
    return 1
  fi
  if oc_kafka_answers; then
    printf 'kafka:      running, pid %s, 127.0.0.1:%s (answers metadata requests)\n' \
      "$pid" "$OC_KAFKA_PORT"
    return 0
  fi
  printf 'kafka:      NOT ANSWERING, pid %s alive, 127.0.0.1:%s (see %s)\n' \
    "$pid" "$OC_KAFKA_PORT" "$(oc_kafka_dir)/server.log"
  return 1
}
