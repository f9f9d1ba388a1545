#!/usr/bin/env bash
# The local stack for development and tests: a single-node Kafka broker
# (KRaft, jars from Maven Central), a private PostgreSQL cluster and a schema
# registry (Apicurio Registry, Java 21+), all on 127.0.0.1 on free ports, with
# all state, logs and pids in one directory outside the source tree:
#
#   ${OUTCOMES_STACK_DIR:-/var/tmp/outcomes-stack-$(id -u)}
#     stack.env            ports and cluster id chosen at first start, kept
#     kafka/libs/          broker jars (Maven copy-dependencies)
#     kafka/server.log     broker log;  kafka/stdout.log  JVM output
#     kafka/data/          topic data;  kafka/kafka.pid
#     pg/data/             cluster;     pg/postgres.log;  pg/.s.PGSQL.<port>
#     registry/app/        Apicurio Registry (unpacked Maven Central tar.gz)
#     registry/data/       its schemas (H2 database file)
#     registry/registry.log  its log;   registry/stdout.log;  registry/registry.pid
#
# PostgreSQL uses trust authentication (socket and 127.0.0.1): a dev/test
# cluster only. Versions are pinned in deploy/versions.env.
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=deploy/lib/kafka.sh
source "${OC_DEPLOY_DIR}/lib/kafka.sh"
# shellcheck source=deploy/lib/pg.sh
source "${OC_DEPLOY_DIR}/lib/pg.sh"
# shellcheck source=deploy/lib/registry.sh
source "${OC_DEPLOY_DIR}/lib/registry.sh"
OC_LOG_TAG="stack"

OC_PORT_MIN=20000 # below Linux's ephemeral range (32768-60999)
OC_PORT_MAX=32000

usage() {
  cat <<USAGE
usage: deploy/stack.sh COMMAND

  start                      start Kafka, PostgreSQL and the schema registry
                             (no-op when running)
  stop                       stop them (no-op when stopped)
  status                     print each component's state; exit 0 when all
                             answer, 3 otherwise
  env                        print eval-able exports:  eval "\$(deploy/stack.sh env)"
  topic create NAME PARTITIONS   (no-op when the topic exists)
  topic delete NAME
  topic list

environment:
  OUTCOMES_STACK_DIR   state directory (default /var/tmp/outcomes-stack-\$(id -u))
  OUTCOMES_REGISTRY_JAVA_HOME   a JDK 21+ for the schema registry (default:
                       JAVA_HOME when 21+, else the newest java 21+ on PATH
                       or in /usr/lib/jvm)
  OUTCOMES_REGISTRY=off  start (and expect in status) no schema registry
USAGE
}

# oc_state_init: OC_STATE, absolute; created (0755, so that the postgres
# user can reach its pg/ directory when we run as root).
oc_state_init() {
  local want="${OUTCOMES_STACK_DIR:-/var/tmp/outcomes-stack-$(id -u)}"
  [[ -n "$want" ]] || oc_die "OUTCOMES_STACK_DIR is empty"
  OC_STATE="$(realpath -m -- "$want")"
  case "$OC_STATE" in
  "$OC_SOURCE_ROOT" | "$OC_SOURCE_ROOT"/*)
    oc_die "state directory ${OC_STATE} is inside the source tree; set OUTCOMES_STACK_DIR elsewhere"
    ;;
  esac
  export OC_STATE
}

oc_state_create() {
  mkdir -p "$OC_STATE" "${OC_STATE}/kafka"
  chmod 0755 "$OC_STATE"
}

# oc_lock: serialises start/stop on one state directory (fd 9; children
# that outlive us are started with 9>&-).
oc_lock() {
  exec 9>"${OC_STATE}/.lock"
  flock -w 300 9 || oc_die "another stack.sh holds ${OC_STATE}/.lock"
}

# oc_port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
oc_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# oc_port_free PORT WHAT: fails with advice when PORT is taken.
oc_port_free() {
  if oc_port_in_use "$1"; then
    printf 'stack: error: port %s (%s) on 127.0.0.1 is in use by another process%s\n' \
      "$1" "$2" "$(oc_port_owner "$1")" >&2
    printf 'stack: stop that process, or delete %s/stack.env so that start picks new ports (data is kept)\n' \
      "$OC_STATE" >&2
    return 1
  fi
}

oc_port_owner() {
  local line
  if oc_have ss; then
    line="$(ss -Htlnp "sport = :$1" 2>/dev/null | head -n 1 | grep -o 'users:.*' || true)"
    if [[ -n "$line" ]]; then
      printf ' (%s)' "$line"
    fi
  fi
}

# oc_pick_port TAKEN...: a free port in [OC_PORT_MIN, OC_PORT_MAX], not in
# TAKEN, never 9092 or 5432.
oc_pick_port() {
  local p tries=0 t taken
  while [[ "$tries" -lt 200 ]]; do
    tries=$((tries + 1))
    p=$((OC_PORT_MIN + (RANDOM * 32768 + RANDOM) % (OC_PORT_MAX - OC_PORT_MIN)))
    taken=0
    for t in "$@" 9092 5432; do
      if [[ "$p" == "$t" ]]; then taken=1; fi
    done
    if [[ "$taken" -eq 0 ]] && ! oc_port_in_use "$p"; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  oc_die "no free port found in ${OC_PORT_MIN}-${OC_PORT_MAX} after 200 tries"
}

# oc_env_load: reads stack.env (KEY=VALUE lines we wrote); fails when absent.
oc_env_load() {
  local f="${OC_STATE}/stack.env" key value
  [[ -f "$f" ]] || return 1
  while IFS='=' read -r key value; do
    case "$key" in
    OC_KAFKA_PORT | OC_KAFKA_CONTROLLER_PORT | OC_PG_PORT | OC_REGISTRY_PORT | OC_REGISTRY_MGMT_PORT)
      [[ "$value" =~ ^[0-9]+$ ]] || oc_die "${f}: bad ${key}='${value}'"
      printf -v "$key" '%s' "$value"
      ;;
    OC_KAFKA_CLUSTER_ID)
      [[ "$value" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{21}$ ]] || oc_die "${f}: bad ${key}='${value}'"
      printf -v "$key" '%s' "$value"
      ;;
    '' | \#*) ;;
    *) oc_die "${f}: unknown key '${key}'" ;;
    esac
  done <"$f"
  [[ -n "${OC_KAFKA_PORT:-}" && -n "${OC_KAFKA_CONTROLLER_PORT:-}" &&
    -n "${OC_PG_PORT:-}" && -n "${OC_KAFKA_CLUSTER_ID:-}" ]] ||
    oc_die "${f} is incomplete; delete it to choose new ports"
}

# oc_env_create: chooses ports and a cluster id at first start.
oc_env_create() {
  local f="${OC_STATE}/stack.env"
  OC_KAFKA_PORT="$(oc_pick_port)"
  OC_KAFKA_CONTROLLER_PORT="$(oc_pick_port "$OC_KAFKA_PORT")"
  OC_PG_PORT="$(oc_pick_port "$OC_KAFKA_PORT" "$OC_KAFKA_CONTROLLER_PORT")"
  # A Kafka cluster id: 16 random bytes, base64url without padding; like
  # Kafka's Uuid.randomUuid, never one starting with '-' (read as an option).
  OC_KAFKA_CLUSTER_ID="-"
  while [[ "$OC_KAFKA_CLUSTER_ID" == -* ]]; do
    OC_KAFKA_CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  cat >"${f}.tmp" <<ENV
# Chosen by deploy/stack.sh at first start and kept for restarts.
OC_KAFKA_PORT=${OC_KAFKA_PORT}
OC_KAFKA_CONTROLLER_PORT=${OC_KAFKA_CONTROLLER_PORT}
OC_PG_PORT=${OC_PG_PORT}
OC_KAFKA_CLUSTER_ID=${OC_KAFKA_CLUSTER_ID}
ENV
  mv "${f}.tmp" "$f"
  oc_info "chose ports kafka=${OC_KAFKA_PORT} controller=${OC_KAFKA_CONTROLLER_PORT} postgres=${OC_PG_PORT} (kept in ${f})"
}

# oc_env_add_registry: ports for the schema registry, added to a stack.env
# written before the stack had one (and at first start).
oc_env_add_registry() {
  local f="${OC_STATE}/stack.env"
  if [[ -n "${OC_REGISTRY_PORT:-}" && -n "${OC_REGISTRY_MGMT_PORT:-}" ]]; then
    return 0
  fi
  OC_REGISTRY_PORT="$(oc_pick_port "$OC_KAFKA_PORT" "$OC_KAFKA_CONTROLLER_PORT" "$OC_PG_PORT")"
  OC_REGISTRY_MGMT_PORT="$(oc_pick_port "$OC_KAFKA_PORT" "$OC_KAFKA_CONTROLLER_PORT" "$OC_PG_PORT" \
    "$OC_REGISTRY_PORT")"
  {
    grep -v '^OC_REGISTRY_' "$f"
    printf 'OC_REGISTRY_PORT=%s\nOC_REGISTRY_MGMT_PORT=%s\n' "$OC_REGISTRY_PORT" "$OC_REGISTRY_MGMT_PORT"
  } >"${f}.tmp"
  mv "${f}.tmp" "$f"
  oc_info "chose ports registry=${OC_REGISTRY_PORT} management=${OC_REGISTRY_MGMT_PORT} (kept in ${f})"
}

oc_require_started() {
  oc_env_load || oc_die "the stack in ${OC_STATE} was never started: run deploy/stack.sh start"
}

cmd_start() {
  local t0
  t0="$(oc_now)"
  oc_load_versions
  oc_print_versions
  oc_state_create
  oc_kafka_preflight
  oc_pg_preflight
  oc_registry_preflight
  oc_lock
  oc_info "state directory ${OC_STATE}"
  oc_env_load || oc_env_create
  oc_env_add_registry
  # Check every port we are about to bind before starting anything.
  if ! oc_kafka_pid >/dev/null; then
    oc_port_free "$OC_KAFKA_PORT" "kafka" || exit 1
    oc_port_free "$OC_KAFKA_CONTROLLER_PORT" "kafka controller" || exit 1
  fi
  if ! oc_pg_running; then
    oc_port_free "$OC_PG_PORT" "postgres" || exit 1
  fi
  if oc_registry_enabled && ! oc_registry_pid >/dev/null; then
    oc_port_free "$OC_REGISTRY_PORT" "registry" || exit 1
    oc_port_free "$OC_REGISTRY_MGMT_PORT" "registry management" || exit 1
  fi
  # The registry starts first and is waited for last: its start-up (the
  # slowest) overlaps PostgreSQL's and the broker's.
  oc_registry_launch
  oc_pg_start
  oc_kafka_start
  oc_registry_wait
  if oc_started_any; then
    oc_info "stack up in $(oc_elapsed "$t0") s; eval \"\$(deploy/stack.sh env)\" to use it"
  else
    oc_info "stack already running; nothing to do"
  fi
}

cmd_stop() {
  oc_load_versions
  if [[ ! -d "$OC_STATE" ]]; then
    oc_info "nothing to stop: ${OC_STATE} does not exist"
    return 0
  fi
  oc_lock
  # Ports may be unknown after a failed first start; stopping needs none.
  oc_env_load || true
  oc_registry_stop
  oc_kafka_stop
  if [[ -f "$(oc_pg_data)/PG_VERSION" ]]; then
    [[ -x "$(oc_pg_bin)/pg_ctl" ]] ||
      oc_die "$(oc_pg_bin)/pg_ctl not found: apt-get install postgresql-${PG_MAJOR}"
    oc_pg_stop
  else
    oc_info "postgres: not running"
  fi
}

cmd_status() {
  local rc=0
  oc_load_versions
  if ! oc_env_load 2>/dev/null; then
    printf 'stack:      not started (no %s/stack.env)\nkafka:      stopped\npostgres:   stopped\nregistry:   stopped\n' "$OC_STATE"
    return 3
  fi
  oc_have kcat || oc_die "kcat not found: apt-get install kcat"
  printf 'stack:      %s (kafka %s, postgresql %s, apicurio-registry %s)\n' "$OC_STATE" \
    "$KAFKA_VERSION" "$PG_MAJOR" "$REGISTRY_VERSION"
  oc_kafka_status || rc=3
  oc_pg_status || rc=3
  oc_registry_status || rc=3
  return "$rc"
}

cmd_env() {
  oc_require_started
  printf 'export OUTCOMES_STACK_DIR=%s\n' "$(oc_sq "$OC_STATE")"
  printf 'export OUTCOMES_KAFKA_BROKERS=%s\n' "$(oc_sq "127.0.0.1:${OC_KAFKA_PORT}")"
  printf 'export OUTCOMES_KAFKA_LIBS=%s\n' "$(oc_sq "$(oc_kafka_libs)")"
  printf 'export OUTCOMES_PG_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_conninfo "$OC_PG_DB")")"
  printf 'export OUTCOMES_PG_SUPER_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_conninfo "$OC_PG_DB")")"
  # Absent until a start of this version chose the registry's ports. A
  # port and fixed text: nothing to quote.
  if [[ -n "${OC_REGISTRY_PORT:-}" ]]; then
    printf 'export OUTCOMES_SCHEMA_REGISTRY_URL=%s\n' "$(oc_registry_url)"
  fi
}

cmd_topic() {
  local action="${1:-}" bootstrap
  oc_load_versions
  oc_require_started
  oc_have java || oc_die "java not found: apt-get install default-jdk-headless"
  [[ -d "$(oc_kafka_libs)" ]] || oc_die "no Kafka jars in $(oc_kafka_libs): run deploy/stack.sh start"
  oc_kafka_pid >/dev/null || oc_die "kafka is not running: run deploy/stack.sh start"
  bootstrap="127.0.0.1:${OC_KAFKA_PORT}"
  case "$action" in
  create)
    [[ $# -eq 3 ]] || oc_die "usage: stack.sh topic create NAME PARTITIONS"
    [[ "$3" =~ ^[1-9][0-9]*$ ]] || oc_die "PARTITIONS must be a positive integer, not '$3'"
    oc_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
      --create --if-not-exists --topic "$2" --partitions "$3" --replication-factor 1
    ;;
  delete)
    [[ $# -eq 2 ]] || oc_die "usage: stack.sh topic delete NAME"
    oc_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
      --delete --topic "$2"
    ;;
  list)
    [[ $# -eq 1 ]] || oc_die "usage: stack.sh topic list"
    oc_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --list
    ;;
  *)
    oc_die "usage: stack.sh topic create NAME PARTITIONS | delete NAME | list"
    ;;
  esac
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
  -h | --help | help)
    usage
    return 0
    ;;
  start | stop | status | env) [[ $# -eq 0 ]] || oc_die "'${cmd}' takes no arguments" ;;
  topic) ;;
  *)
    usage >&2
    return 2
    ;;
  esac
  oc_state_init
  "cmd_${cmd}" "$@"
}

# Sourced (tests/integration/test_security_tls.sh reuses the port picking
# and the kafka/pg functions for a broker and a cluster of its own): define
# the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
