# shellcheck shell=bash
# The local Kafka cluster of `deploy/stack.sh start --brokers 3`: three KRaft
# nodes on 127.0.0.1, node ids 1, 2, 3, each in combined mode (broker and
# controller; the three are the controller quorum, so that one may be down).
# Internal topics and the topics `stack.sh topic create` makes have 3
# replicas and min.insync.replicas 2: with one node killed (kill-broker),
# acks=all produces still succeed. Sourced by deploy/stack.sh, which sets
# OC_STATE, OC_KAFKA_CLUSTER_ID and, from stack.env, OC_KAFKA_BROKER_COUNT
# (unset or 1: the single broker of kafka.sh) and the ports: node 1 listens
# on OC_KAFKA_PORT (controller OC_KAFKA_CONTROLLER_PORT), node N > 1 on
# OC_KAFKA_NODE<N>_PORT (controller OC_KAFKA_NODE<N>_CONTROLLER_PORT).
# The functions taking a node number N also take N=1 in a single-broker
# stack, for its one broker (kill-broker 1, start-broker 1).
#
#   <state>/kafka/libs/  tools-log4j.properties   shared with the single broker
#   <state>/kafka/node<N>/server.properties  log4j.properties  (rewritten at every start)
#   <state>/kafka/node<N>/data/  server.log  stdout.log  kafka.pid  tmp/

OC_KAFKA_CLUSTER_RF=3
OC_KAFKA_CLUSTER_MIN_ISR=2
# Set by oc_kafka_cluster_launch: node N's pid, and when it was started
# (empty when it was running already).
OC_KAFKA_NODE_PIDS=()
OC_KAFKA_NODE_T0=()

# oc_kafka_count: the number of brokers of the stack.
# Bound on each node's stop when stop ends the whole cluster (see the
# controlled shutdown in oc_kafka_node_write_config).
OC_KAFKA_CLUSTER_STOP_TIMEOUT="${OC_KAFKA_CLUSTER_STOP_TIMEOUT:-15}"

oc_kafka_count() { printf '%s\n' "${OC_KAFKA_BROKER_COUNT:-1}"; }
oc_kafka_is_cluster() { [[ "${OC_KAFKA_BROKER_COUNT:-1}" -gt 1 ]]; }

oc_kafka_node_dir() { printf '%s/kafka/node%s' "$OC_STATE" "$1"; }
oc_kafka_node_props() { printf '%s/kafka/node%s/server.properties' "$OC_STATE" "$1"; }
oc_kafka_node_pidfile() { printf '%s/kafka/node%s/kafka.pid' "$OC_STATE" "$1"; }

# oc_kafka_node_port N, oc_kafka_node_controller_port N: node N's ports.
oc_kafka_node_port() {
  local v="OC_KAFKA_NODE${1}_PORT"
  if [[ "$1" == 1 ]]; then v=OC_KAFKA_PORT; fi
  printf '%s\n' "${!v:-}"
}
oc_kafka_node_controller_port() {
  local v="OC_KAFKA_NODE${1}_CONTROLLER_PORT"
  if [[ "$1" == 1 ]]; then v=OC_KAFKA_CONTROLLER_PORT; fi
  printf '%s\n' "${!v:-}"
}

# oc_kafka_node_name N: how messages name node N ("kafka" when single).
oc_kafka_node_name() {
  if oc_kafka_is_cluster; then printf 'kafka node %s' "$1"; else printf 'kafka'; fi
}

# oc_kafka_check_node N: dies unless N is a node of this stack (1..count).
oc_kafka_check_node() {
  [[ "$1" =~ ^[1-9][0-9]*$ && "$1" -le "$(oc_kafka_count)" ]] ||
    oc_die "no broker '$1' in this stack: its brokers are 1..$(oc_kafka_count)"
}

# oc_kafka_bootstrap: every broker's host:port, comma-separated.
oc_kafka_bootstrap() {
  local n out=""
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    out="${out:+${out},}127.0.0.1:$(oc_kafka_node_port "$n")"
  done
  printf '%s\n' "$out"
}

# oc_kafka_node_write_config N: node N's server.properties and
# log4j.properties, rewritten at every start from the ports in stack.env.
oc_kafka_node_write_config() {
  local n="$1" dir voters="" i
  dir="$(oc_kafka_node_dir "$n")"
  for ((i = 1; i <= $(oc_kafka_count); i++)); do
    voters="${voters:+${voters},}${i}@127.0.0.1:$(oc_kafka_node_controller_port "$i")"
  done
  mkdir -p "$dir"
  cat >"$(oc_kafka_node_props "$n")" <<PROPS
# Written by deploy/stack.sh at every start; edits are lost.
# Node ${n} of $(oc_kafka_count), KRaft combined mode: broker and controller.
process.roles=broker,controller
node.id=${n}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:$(oc_kafka_node_port "$n"),CONTROLLER://127.0.0.1:$(oc_kafka_node_controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(oc_kafka_node_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
# Topics are created explicitly, with their partition count.
auto.create.topics.enable=false
num.partitions=1
# Every partition on all three nodes; a write (acks=all) needs two of them.
default.replication.factor=${OC_KAFKA_CLUSTER_RF}
min.insync.replicas=${OC_KAFKA_CLUSTER_MIN_ISR}
offsets.topic.replication.factor=${OC_KAFKA_CLUSTER_RF}
transaction.state.log.replication.factor=${OC_KAFKA_CLUSTER_RF}
transaction.state.log.min.isr=${OC_KAFKA_CLUSTER_MIN_ISR}
# Fast tests: no wait for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
# A killed node is fenced (its partitions led elsewhere) 4 s after its last
# heartbeat, and restarted, it registers again without a long wait.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
# Controlled shutdown: a node stopped alone (restart-broker) first hands
# its partitions' leadership over, as a rolling restart needs. When stop
# ends all three at once, a node whose request comes after the other two
# controllers are gone would wait for a quorum up to 5 minutes:
# oc_kafka_cluster_stop gives them OC_KAFKA_CLUSTER_STOP_TIMEOUT.
controlled.shutdown.enable=true
PROPS
  oc_kafka_write_log4j "$dir"
}

# oc_kafka_cluster_format: formats the log directory of every node that
# has none yet (same cluster id), the nodes side by side.
oc_kafka_cluster_format() {
  local n dir pids=() nodes=() i rc
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    dir="$(oc_kafka_node_dir "$n")"
    [[ -f "${dir}/data/meta.properties" ]] && continue
    # shellcheck disable=SC2153 # set by stack.sh from stack.env
    oc_info "kafka node ${n}: formatting ${dir}/data (cluster id ${OC_KAFKA_CLUSTER_ID})"
    oc_kafka_tool kafka.tools.StorageTool format --cluster-id="$OC_KAFKA_CLUSTER_ID" \
      --config="$(oc_kafka_node_props "$n")" >"${dir}/format.log" 2>&1 9>&- &
    pids+=("$!")
    nodes+=("$n")
  done
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if [[ "$rc" -ne 0 ]]; then
      cat "$(oc_kafka_node_dir "${nodes[$i]}")/format.log" >&2
      oc_die "kafka node ${nodes[$i]}: formatting the storage failed"
    fi
  done
}

# oc_kafka_node_pid N: prints node N's pid when it is alive (the single
# broker's for N=1 in a single-broker stack); fails otherwise.
oc_kafka_node_pid() {
  if ! oc_kafka_is_cluster; then
    oc_kafka_pid
    return
  fi
  oc_find_pid "$(oc_kafka_node_pidfile "$1")" oc_kafka_pid_is_ours "$(oc_kafka_node_props "$1")"
}

# oc_kafka_node_brokers N: the number of brokers node N's metadata lists
# (node N among them: else 0); fails when node N does not answer.
oc_kafka_node_brokers() {
  local out
  out="$(kcat -L -b "127.0.0.1:$(oc_kafka_node_port "$1")" -m 5 2>/dev/null)" || return 1
  if grep -q "^  broker $1 at " <<<"$out"; then
    sed -n 's/^ \([0-9][0-9]*\) brokers:$/\1/p' <<<"$out"
  else
    printf '0\n'
  fi
}

# oc_kafka_node_ready N: node N answers a metadata request, and its
# metadata lists every broker of the stack, node N among them.
oc_kafka_node_ready() {
  [[ "$(oc_kafka_node_brokers "$1")" == "$(oc_kafka_count)" ]]
}

# oc_kafka_node_spawn N: starts node N detached (config rewritten; its
# storage formatted before, see oc_kafka_cluster_format) without waiting;
# sets OC_KAFKA_NODE_PIDS[N] and OC_KAFKA_NODE_T0[N].
oc_kafka_node_spawn() {
  local n="$1" dir
  dir="$(oc_kafka_node_dir "$n")"
  oc_kafka_spawn "$dir" "$(oc_kafka_node_props "$n")" "$(oc_kafka_node_pidfile "$n")"
  OC_KAFKA_NODE_PIDS[n]="$OC_KAFKA_SPAWNED_PID"
  OC_KAFKA_NODE_T0[n]="$(oc_now)"
  oc_mark_started
  oc_info "kafka node ${n}: started pid ${OC_KAFKA_SPAWNED_PID} on 127.0.0.1:$(oc_kafka_node_port "$n") (controller $(oc_kafka_node_controller_port "$n")); log ${dir}/server.log"
}

# oc_kafka_cluster_launch [N]: starts every node (or node N) that is not
# running, detached, without waiting: oc_kafka_cluster_wait does, so that
# the brokers' start-up overlaps PostgreSQL's.
oc_kafka_cluster_launch() {
  local n first=1 last pid todo=()
  last="$(oc_kafka_count)"
  if [[ $# -eq 1 ]]; then first="$1" last="$1"; fi
  OC_KAFKA_NODE_PIDS=()
  OC_KAFKA_NODE_T0=()
  for ((n = first; n <= last; n++)); do
    if pid="$(oc_kafka_node_pid "$n")"; then
      OC_KAFKA_NODE_PIDS[n]="$pid"
      continue
    fi
    oc_port_free "$(oc_kafka_node_port "$n")" "kafka node ${n}" || exit 1
    oc_port_free "$(oc_kafka_node_controller_port "$n")" "kafka node ${n} controller" || exit 1
    todo+=("$n")
  done
  [[ ${#todo[@]} -gt 0 ]] || return 0
  oc_kafka_assemble
  oc_kafka_write_tools_log4j
  for n in "${todo[@]}"; do
    oc_kafka_node_write_config "$n"
  done
  oc_kafka_cluster_format
  for n in "${todo[@]}"; do
    oc_kafka_node_spawn "$n"
  done
}

# oc_kafka_cluster_wait [N]: waits until every node (or node N) launched by
# oc_kafka_cluster_launch is ready (oc_kafka_node_ready).
oc_kafka_cluster_wait() {
  local n first=1 last pid t0 waited
  last="$(oc_kafka_count)"
  if [[ $# -eq 1 ]]; then first="$1" last="$1"; fi
  for ((n = first; n <= last; n++)); do
    pid="${OC_KAFKA_NODE_PIDS[n]:-}"
    [[ -n "$pid" ]] || oc_die "kafka node ${n}: oc_kafka_cluster_wait without oc_kafka_cluster_launch"
    if [[ -z "${OC_KAFKA_NODE_T0[n]:-}" ]] && oc_kafka_node_ready "$n"; then
      oc_info "kafka node ${n}: already running (pid ${pid}, 127.0.0.1:$(oc_kafka_node_port "$n"))"
      continue
    fi
    t0="${OC_KAFKA_NODE_T0[n]:-$(oc_now)}"
    while ! oc_kafka_node_ready "$n"; do
      if ! oc_pid_alive "$pid"; then
        oc_kafka_log_tail "$(oc_kafka_node_dir "$n")"
        rm -f "$(oc_kafka_node_pidfile "$n")"
        oc_die "kafka node ${n}: the broker exited during start-up (logs above; $(oc_kafka_node_dir "$n")/server.log)"
      fi
      waited="$(oc_elapsed "$t0")"
      if [[ "${waited%.*}" -ge "$OC_KAFKA_START_TIMEOUT" ]]; then
        oc_kafka_log_tail "$(oc_kafka_node_dir "$n")"
        oc_die "kafka node ${n}: not in the cluster (its metadata on 127.0.0.1:$(oc_kafka_node_port "$n") does not list $(oc_kafka_count) brokers) after ${OC_KAFKA_START_TIMEOUT} s (pid ${pid} left running; 'stack.sh stop' ends it)"
      fi
      sleep 0.5
    done
    oc_info "kafka node ${n}: ready on 127.0.0.1:$(oc_kafka_node_port "$n"), $(oc_kafka_count) brokers in its metadata, $(oc_elapsed "$t0") s after its start"
  done
}

# oc_kafka_cluster_stop: SIGTERM to every running node at once (kafka/node*/,
# whatever stack.env says), then waits for each as oc_stop_pid does.
oc_kafka_cluster_stop() {
  local d n pid pids=() nodes=()
  for d in "${OC_STATE}"/kafka/node[0-9]*; do
    [[ -d "$d" ]] || continue
    n="${d##*/node}"
    [[ "$n" =~ ^[0-9]+$ ]] || continue
    if pid="$(oc_find_pid "$(oc_kafka_node_pidfile "$n")" oc_kafka_pid_is_ours "$(oc_kafka_node_props "$n")")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      nodes+=("$n")
    else
      rm -f "$(oc_kafka_node_pidfile "$n")"
      oc_info "kafka node ${n}: not running"
    fi
  done
  for n in "${!pids[@]}"; do
    oc_stop_pid "kafka node ${nodes[$n]}" "${pids[$n]}" "$(oc_kafka_node_pidfile "${nodes[$n]}")" \
      "$OC_KAFKA_CLUSTER_STOP_TIMEOUT"
  done
}

# oc_kafka_restart_node N: one step of a rolling restart: node N stopped
# with SIGTERM (a controlled shutdown: its leaders move to the other nodes
# first; OC_KAFKA_STOP_TIMEOUT at most), then started again and waited for
# (oc_kafka_start_node).
oc_kafka_restart_node() {
  local n="$1" pid
  if pid="$(oc_kafka_node_pid "$n")"; then
    oc_stop_pid "$(oc_kafka_node_name "$n")" "$pid" "$(oc_kafka_node_pidfile "$n")" \
      "$OC_KAFKA_STOP_TIMEOUT"
  fi
  oc_kafka_start_node "$n"
}

# oc_kafka_cluster_status: one line for the cluster, one per node; true
# when every node is ready (oc_kafka_node_ready).
oc_kafka_cluster_status() {
  local n pid rc=0 k
  printf 'kafka:      %s brokers (KRaft, each broker+controller), bootstrap %s\n' \
    "$(oc_kafka_count)" "$(oc_kafka_bootstrap)"
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    if ! pid="$(oc_kafka_node_pid "$n")"; then
      printf 'kafka %s:    stopped (127.0.0.1:%s)\n' "$n" "$(oc_kafka_node_port "$n")"
      rc=1
    elif ! k="$(oc_kafka_node_brokers "$n")"; then
      printf 'kafka %s:    NOT ANSWERING, pid %s alive, 127.0.0.1:%s (see %s)\n' \
        "$n" "$pid" "$(oc_kafka_node_port "$n")" "$(oc_kafka_node_dir "$n")/server.log"
      rc=1
    else
      printf 'kafka %s:    running, pid %s, 127.0.0.1:%s (its metadata lists %s of %s brokers)\n' \
        "$n" "$pid" "$(oc_kafka_node_port "$n")" "$k" "$(oc_kafka_count)"
      [[ "$k" == "$(oc_kafka_count)" ]] || rc=1
    fi
  done
  return "$rc"
}

# oc_kafka_kill_node N: kill -9 of node N (fault tests); waits until it is
# gone. Says so, and succeeds, when it was not running.
oc_kafka_kill_node() {
  local n="$1" pid name pidfile=""
  name="$(oc_kafka_node_name "$n")"
  if ! pid="$(oc_kafka_node_pid "$n")"; then
    oc_info "${name}: not running; nothing killed"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  while oc_pid_alive "$pid"; do
    sleep 0.05
  done
  if oc_kafka_is_cluster; then pidfile="$(oc_kafka_node_pidfile "$n")"; else pidfile="$(oc_kafka_pidfile)"; fi
  rm -f "$pidfile"
  oc_info "${name}: killed pid ${pid} (SIGKILL), 127.0.0.1:$(oc_kafka_node_port "$n")"
}

# oc_kafka_start_node N: starts node N again and waits until it is back in
# the cluster (oc_kafka_node_ready); the single broker's oc_kafka_start
# when the stack has one.
oc_kafka_start_node() {
  local n="$1" t0
  t0="$(oc_now)"
  if ! oc_kafka_is_cluster; then
    oc_kafka_start
    return
  fi
  oc_kafka_cluster_launch "$n"
  oc_kafka_cluster_wait "$n"
  if oc_started_any; then
    oc_info "kafka node ${n}: back in the cluster after $(oc_elapsed "$t0") s"
  fi
}
