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
# For high-availability tests, `start --brokers 3` makes a Kafka cluster of
# three brokers and a quorum of three KRaft controllers instead of the
# single broker (lib/kafka_cluster.sh), and `start --pg-standby` a
# synchronous PostgreSQL standby (lib/pg_standby.sh); the choice is kept in
# stack.env, and kill-broker, kill-controller, pg-kill-primary, pg-promote
# and the like inject faults:
#     kafka/node<N>/       broker N (1-3): server.properties, data/, server.log, kafka.pid
#     kafka/controller<N>/ controller N (node id 100+N): the same files
#     pg/standby/          the standby's cluster;  pg/standby.log
#
# PostgreSQL uses trust authentication (socket and 127.0.0.1): a dev/test
# cluster only. Versions are pinned in deploy/versions.env.
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=deploy/lib/env.sh
source "${OC_DEPLOY_DIR}/lib/env.sh"
# shellcheck source=deploy/lib/kafka.sh
source "${OC_DEPLOY_DIR}/lib/kafka.sh"
# shellcheck source=deploy/lib/kafka_cluster.sh
source "${OC_DEPLOY_DIR}/lib/kafka_cluster.sh"
# shellcheck source=deploy/lib/pg.sh
source "${OC_DEPLOY_DIR}/lib/pg.sh"
# shellcheck source=deploy/lib/pg_standby.sh
source "${OC_DEPLOY_DIR}/lib/pg_standby.sh"
# shellcheck source=deploy/lib/registry.sh
source "${OC_DEPLOY_DIR}/lib/registry.sh"
OC_LOG_TAG="stack"

usage() {
  cat <<USAGE
usage: deploy/stack.sh COMMAND

  start [--brokers 3] [--pg-standby]
                             start Kafka, PostgreSQL and the schema registry
                             (no-op when running). The first start of a state
                             directory chooses the topology; stack.env keeps
                             it, and a later plain start restarts the same.
      --brokers 3            three Kafka brokers on 127.0.0.1 (node ids
                             1-3) and a quorum of three KRaft controllers
                             apart (node ids 101-103); internal and new
                             topics: 3 replicas, min.insync.replicas 2
      --pg-standby           a PostgreSQL standby (pg/standby, by
                             pg_basebackup), streaming through a slot,
                             synchronous: a commit returns once it has it
                             (so, while it is down, commits wait)
  stop                       stop them all: the registry, every broker (a
                             controlled shutdown each, while the controllers
                             run), then the controllers, and both PostgreSQL
                             nodes (no-op when stopped)
  status                     print each component's (each node's) state;
                             exit 0 when all answer, 3 otherwise
  env                        print eval-able exports:  eval "\$(deploy/stack.sh env)"
                             With --brokers 3, OUTCOMES_KAFKA_BROKERS names
                             the three; with --pg-standby, OUTCOMES_PG_CONNINFO
                             names both nodes (target_session_attrs=read-write:
                             libpq picks the one taking writes), and
                             OUTCOMES_PG_PRIMARY_CONNINFO / _STANDBY_CONNINFO
                             one each (pg/data's and pg/standby's node)
  topic create NAME PARTITIONS   (no-op when the topic exists; with --brokers 3:
                             replication factor 3, min.insync.replicas=2)
  topic describe NAME
  topic delete NAME
  topic list

fault injection (high-availability tests):
  kill-broker N              kill -9 of Kafka broker N (N=1: the single broker)
  restart-broker N           stop broker N (SIGTERM: a controlled shutdown
                             that moves its leaders first) and start it
                             again: one step of a rolling restart (--brokers 3)
  start-broker N             start broker N again; returns once it is back in
                             the cluster (its metadata lists every broker)
  broker-pid N               print broker N's pid (exit 1 when not running)
  kill-controller N          kill -9 of KRaft controller N (--brokers 3)
  start-controller N         start controller N again; returns once it listens
  controller-pid N           print controller N's pid (exit 1 when not running)
  pg-kill-primary            kill -9 of the PostgreSQL primary's postmaster
  pg-promote                 promote the standby (refused while the primary
                             runs); returns once it accepts writes. The old
                             primary is stale from then on: stop stops what
                             runs, start starts the promoted node alone and
                             never the old primary; to have a primary and a
                             standby again (their data lost): stop,
                             rm -rf <state>/pg, start
  pg-pid primary|standby     print that node's postmaster pid (pg/data's,
                             pg/standby's; exit 1 when not running)

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

oc_require_started() {
  oc_env_load || oc_die "the stack in ${OC_STATE} was never started: run deploy/stack.sh start"
}

cmd_start() {
  local t0 want_brokers="" want_standby=0 n
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --brokers)
      [[ $# -ge 2 ]] || oc_die "--brokers needs a number (1 or 3)"
      want_brokers="$2"
      shift 2
      ;;
    --brokers=*)
      want_brokers="${1#--brokers=}"
      shift
      ;;
    --pg-standby)
      want_standby=1
      shift
      ;;
    *) oc_die "start: unknown option '$1' (deploy/stack.sh --help)" ;;
    esac
  done
  [[ -z "$want_brokers" || "$want_brokers" =~ ^[13]$ ]] ||
    oc_die "--brokers takes 1 or 3, not '${want_brokers}'"
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
  oc_env_topology "$want_brokers" "$want_standby"
  # Check every port we are about to bind before starting anything.
  if oc_kafka_is_cluster; then
    for ((n = 1; n <= $(oc_kafka_count); n++)); do
      if ! oc_kafka_proc_pid broker "$n" >/dev/null; then
        oc_port_free "$(oc_kafka_node_port "$n")" "kafka broker ${n}" || exit 1
      fi
      if ! oc_kafka_proc_pid controller "$n" >/dev/null; then
        oc_port_free "$(oc_kafka_node_controller_port "$n")" "kafka controller ${n}" || exit 1
      fi
    done
  elif ! oc_kafka_pid >/dev/null; then
    oc_port_free "$OC_KAFKA_PORT" "kafka" || exit 1
    oc_port_free "$OC_KAFKA_CONTROLLER_PORT" "kafka controller" || exit 1
  fi
  if oc_pg_has_standby; then
    oc_pg_standby_ports_free || exit 1
  elif ! oc_pg_running; then
    oc_port_free "$OC_PG_PORT" "postgres" || exit 1
  fi
  if oc_registry_enabled && ! oc_registry_pid >/dev/null; then
    oc_port_free "$OC_REGISTRY_PORT" "registry" || exit 1
    oc_port_free "$OC_REGISTRY_MGMT_PORT" "registry management" || exit 1
  fi
  # The registry starts first and is waited for last: its start-up (the
  # slowest) overlaps PostgreSQL's and the broker's. So do a cluster's
  # controllers and brokers, launched before PostgreSQL and waited for
  # after it.
  oc_registry_launch
  if oc_kafka_is_cluster; then
    oc_kafka_cluster_launch
  fi
  if oc_pg_has_standby; then
    oc_pg_ha_start
  else
    oc_pg_start
  fi
  if oc_kafka_is_cluster; then
    oc_kafka_cluster_wait
  else
    oc_kafka_start
  fi
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
  if oc_kafka_is_cluster; then
    oc_kafka_cluster_stop
  else
    oc_kafka_stop
    oc_kafka_cluster_stop # nodes of a cluster whose stack.env is lost: none, normally
  fi
  if [[ -f "$(oc_pg_data)/PG_VERSION" ]]; then
    [[ -x "$(oc_pg_bin)/pg_ctl" ]] ||
      oc_die "$(oc_pg_bin)/pg_ctl not found: apt-get install postgresql-${PG_MAJOR}"
    oc_pg_stop
  else
    oc_info "postgres: not running"
  fi
  # The standby after the primary: a primary's shutdown waits until its
  # standby has all of its WAL.
  if [[ -f "$(oc_pg_standby_data)/PG_VERSION" ]]; then
    oc_pg_standby_stop
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
  if oc_kafka_is_cluster; then
    oc_kafka_cluster_status || rc=3
  else
    oc_kafka_status || rc=3
  fi
  if oc_pg_has_standby; then
    oc_pg_ha_status || rc=3
  else
    oc_pg_status || rc=3
  fi
  oc_registry_status || rc=3
  return "$rc"
}

cmd_env() {
  oc_require_started
  printf 'export OUTCOMES_STACK_DIR=%s\n' "$(oc_sq "$OC_STATE")"
  printf 'export OUTCOMES_KAFKA_BROKERS=%s\n' "$(oc_sq "$(oc_kafka_bootstrap)")"
  printf 'export OUTCOMES_KAFKA_LIBS=%s\n' "$(oc_sq "$(oc_kafka_libs)")"
  if oc_pg_has_standby; then
    printf 'export OUTCOMES_PG_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_multi_conninfo "$OC_PG_DB")")"
    printf 'export OUTCOMES_PG_SUPER_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_multi_conninfo "$OC_PG_DB")")"
    printf 'export OUTCOMES_PG_PRIMARY_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_conninfo "$OC_PG_DB")")"
    printf 'export OUTCOMES_PG_STANDBY_CONNINFO=%s\n' \
      "$(oc_sq "$(oc_pg_conninfo "$OC_PG_DB" "$OC_PG_STANDBY_PORT")")"
  else
    printf 'export OUTCOMES_PG_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_conninfo "$OC_PG_DB")")"
    printf 'export OUTCOMES_PG_SUPER_CONNINFO=%s\n' "$(oc_sq "$(oc_pg_conninfo "$OC_PG_DB")")"
  fi
  # Absent until a start of this version chose the registry's ports. A
  # port and fixed text: nothing to quote.
  if [[ -n "${OC_REGISTRY_PORT:-}" ]]; then
    printf 'export OUTCOMES_SCHEMA_REGISTRY_URL=%s\n' "$(oc_registry_url)"
  fi
}

cmd_topic() {
  local action="${1:-}" bootstrap n up=0 replication=(--replication-factor 1)
  oc_load_versions
  oc_require_started
  oc_have java || oc_die "java not found: apt-get install default-jdk-headless"
  [[ -d "$(oc_kafka_libs)" ]] || oc_die "no Kafka jars in $(oc_kafka_libs): run deploy/stack.sh start"
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    if oc_kafka_node_pid "$n" >/dev/null; then up=1; fi
  done
  [[ "$up" -eq 1 ]] || oc_die "kafka is not running: run deploy/stack.sh start"
  bootstrap="$(oc_kafka_bootstrap)"
  if oc_kafka_is_cluster; then
    replication=(--replication-factor "$OC_KAFKA_CLUSTER_RF"
      --config "min.insync.replicas=${OC_KAFKA_CLUSTER_MIN_ISR}")
  fi
  case "$action" in
  create)
    [[ $# -eq 3 ]] || oc_die "usage: stack.sh topic create NAME PARTITIONS"
    [[ "$3" =~ ^[1-9][0-9]*$ ]] || oc_die "PARTITIONS must be a positive integer, not '$3'"
    oc_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
      --create --if-not-exists --topic "$2" --partitions "$3" "${replication[@]}"
    ;;
  describe)
    [[ $# -eq 2 ]] || oc_die "usage: stack.sh topic describe NAME"
    oc_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
      --describe --topic "$2"
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
    oc_die "usage: stack.sh topic create NAME PARTITIONS | describe NAME | delete NAME | list"
    ;;
  esac
}

# The fault-injection commands (usage). Each but the pid printers holds the
# lock, as start and stop do.
cmd_kill_broker() {
  oc_require_started
  oc_kafka_check_node "$1"
  oc_lock
  oc_kafka_proc_kill broker "$1"
}

cmd_start_broker() {
  oc_load_versions
  oc_require_started
  oc_kafka_check_node "$1"
  oc_kafka_preflight
  oc_lock
  oc_kafka_start_proc broker "$1"
}

# oc_require_cluster CMD: dies unless the stack runs --brokers 3.
oc_require_cluster() {
  oc_kafka_is_cluster || oc_die "${1} needs a cluster (start --brokers 3, in a new state directory); the stack in ${OC_STATE} has a single broker"
}

cmd_kill_controller() {
  oc_require_started
  oc_require_cluster kill-controller
  oc_kafka_check_node "$1"
  oc_lock
  oc_kafka_proc_kill controller "$1"
}

cmd_start_controller() {
  oc_load_versions
  oc_require_started
  oc_require_cluster start-controller
  oc_kafka_check_node "$1"
  oc_kafka_preflight
  oc_lock
  oc_kafka_start_proc controller "$1"
}

cmd_controller_pid() {
  oc_require_started
  oc_require_cluster controller-pid
  oc_kafka_check_node "$1"
  oc_kafka_proc_pid controller "$1" || oc_die "kafka controller ${1} is not running"
}

cmd_restart_broker() {
  oc_load_versions
  oc_require_started
  oc_kafka_check_node "$1"
  oc_require_cluster restart-broker
  oc_kafka_preflight
  oc_lock
  oc_kafka_restart_node "$1"
}

cmd_broker_pid() {
  oc_require_started
  oc_kafka_check_node "$1"
  oc_kafka_node_pid "$1" || oc_die "$(oc_kafka_proc_name broker "$1") is not running"
}

cmd_pg_kill_primary() {
  oc_load_versions
  oc_require_started
  oc_lock
  oc_pg_kill_primary
}

cmd_pg_promote() {
  oc_load_versions
  oc_require_started
  oc_pg_has_standby || oc_die "the stack in ${OC_STATE} has no standby (deploy/stack.sh start --pg-standby)"
  oc_lock
  oc_pg_promote
}

cmd_pg_pid() {
  oc_load_versions
  oc_require_started
  if [[ "$1" == standby ]] && ! oc_pg_has_standby; then
    oc_die "the stack in ${OC_STATE} has no standby (deploy/stack.sh start --pg-standby)"
  fi
  oc_pg_node_pid "$1" || oc_die "postgres ${1}: not running"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
  -h | --help | help)
    usage
    return 0
    ;;
  stop | status | env | pg-kill-primary | pg-promote)
    [[ $# -eq 0 ]] || oc_die "'${cmd}' takes no arguments"
    ;;
  start | topic) ;;
  kill-broker | start-broker | restart-broker | broker-pid | kill-controller | start-controller | controller-pid)
    [[ $# -eq 1 ]] || oc_die "usage: stack.sh ${cmd} N"
    ;;
  pg-pid) [[ $# -eq 1 ]] || oc_die "usage: stack.sh pg-pid primary|standby" ;;
  *)
    usage >&2
    return 2
    ;;
  esac
  oc_state_init
  "cmd_${cmd//-/_}" "$@"
}

# Sourced (tests/integration/test_security_tls.sh reuses the port picking
# and the kafka/pg functions for a broker and a cluster of its own): define
# the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
