# shellcheck shell=bash
# The local Kafka cluster of `deploy/stack.sh start --brokers 3`: three
# brokers (node ids 1, 2, 3) and, apart from them, a quorum of three KRaft
# controllers (node ids 101, 102, 103), all on 127.0.0.1, as Kafka advises
# for production. Apart, because a combined node (broker and controller in
# one process) cannot stop cleanly last: its broker's controlled shutdown
# needs a quorum that the other nodes took with them, and waits 5 minutes.
# Here stop ends the brokers while the quorum runs, then the controllers.
# Internal topics and the topics `stack.sh topic create` makes have 3
# replicas and min.insync.replicas 2: with one broker killed (kill-broker),
# acks=all produces still succeed; with one controller killed
# (kill-controller), the other two are the quorum.
#
# Sourced by deploy/stack.sh, which sets OC_STATE, OC_KAFKA_CLUSTER_ID and,
# from stack.env, OC_KAFKA_BROKER_COUNT (unset or 1: the single broker of
# kafka.sh) and the ports: broker 1 listens on OC_KAFKA_PORT, controller 1
# on OC_KAFKA_CONTROLLER_PORT, broker N > 1 on OC_KAFKA_NODE<N>_PORT and
# controller N on OC_KAFKA_NODE<N>_CONTROLLER_PORT. The functions taking a
# broker number N also take N=1 in a single-broker stack, for its one
# broker (kill-broker 1, start-broker 1).
#
# A process of the cluster is a ROLE (broker or controller) and a number N:
#   <state>/kafka/libs/  tools-log4j.properties   shared with the single broker
#   <state>/kafka/node<N>/        broker N:     server.properties  log4j.properties
#   <state>/kafka/controller<N>/  controller N: (both rewritten at every start)
#     data/  server.log  stdout.log  kafka.pid  tmp/   (in each of them)

OC_KAFKA_CLUSTER_RF=3
OC_KAFKA_CLUSTER_MIN_ISR=2
OC_KAFKA_CONTROLLER_ID_BASE=100
OC_KAFKA_CONTROLLER_HEAP_OPTS="${OC_KAFKA_CONTROLLER_HEAP_OPTS:--Xms64m -Xmx256m}"
# Set by oc_kafka_cluster_launch: the pid of each process it saw or started
# ("ROLE N" -> pid), and when it started it (absent: it was running).
declare -A OC_KAFKA_PROC_PIDS=()
declare -A OC_KAFKA_PROC_T0=()

# oc_kafka_count: the number of brokers (and of controllers) of the stack.
oc_kafka_count() { printf '%s\n' "${OC_KAFKA_BROKER_COUNT:-1}"; }
oc_kafka_is_cluster() { [[ "${OC_KAFKA_BROKER_COUNT:-1}" -gt 1 ]]; }

# oc_kafka_proc_dir ROLE N, oc_kafka_proc_props ROLE N,
# oc_kafka_proc_pidfile ROLE N: where that process keeps its files.
oc_kafka_proc_dir() {
  case "$1" in
  broker) printf '%s/kafka/node%s' "$OC_STATE" "$2" ;;
  controller) printf '%s/kafka/controller%s' "$OC_STATE" "$2" ;;
  *) oc_die "oc_kafka_proc_dir: no role '$1'" ;;
  esac
}
oc_kafka_proc_props() { printf '%s/server.properties' "$(oc_kafka_proc_dir "$1" "$2")"; }
oc_kafka_proc_pidfile() { printf '%s/kafka.pid' "$(oc_kafka_proc_dir "$1" "$2")"; }

# oc_kafka_node_port N, oc_kafka_node_controller_port N: broker N's and
# controller N's port.
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

# oc_kafka_proc_port ROLE N: the port that process listens on.
oc_kafka_proc_port() {
  if [[ "$1" == broker ]]; then oc_kafka_node_port "$2"; else oc_kafka_node_controller_port "$2"; fi
}

# oc_kafka_proc_name ROLE N: how messages name it ("kafka" for the single
# broker of a stack of one).
oc_kafka_proc_name() {
  if ! oc_kafka_is_cluster; then printf 'kafka'; else printf 'kafka %s %s' "$1" "$2"; fi
}

# oc_kafka_check_node N: dies unless N is a broker (or controller) number
# of this stack (1..count).
oc_kafka_check_node() {
  [[ "$1" =~ ^[1-9][0-9]*$ && "$1" -le "$(oc_kafka_count)" ]] ||
    oc_die "no broker or controller '$1' in this stack: they are numbered 1..$(oc_kafka_count)"
}

# oc_kafka_bootstrap: every broker's host:port, comma-separated.
oc_kafka_bootstrap() {
  local n out=""
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    out="${out:+${out},}127.0.0.1:$(oc_kafka_node_port "$n")"
  done
  printf '%s\n' "$out"
}

# oc_kafka_proc_write_config ROLE N: that process's server.properties and
# log4j.properties, rewritten at every start from the ports in stack.env.
oc_kafka_proc_write_config() {
  local role="$1" n="$2" dir voters="" i
  dir="$(oc_kafka_proc_dir "$role" "$n")"
  for ((i = 1; i <= $(oc_kafka_count); i++)); do
    voters="${voters:+${voters},}$((OC_KAFKA_CONTROLLER_ID_BASE + i))@127.0.0.1:$(oc_kafka_node_controller_port "$i")"
  done
  mkdir -p "$dir"
  {
    printf '# Written by deploy/stack.sh at every start; edits are lost.\n'
    if [[ "$role" == controller ]]; then
      cat <<PROPS
# Controller ${n} of the KRaft quorum of $(oc_kafka_count); no broker.
process.roles=controller
node.id=$((OC_KAFKA_CONTROLLER_ID_BASE + n))
controller.quorum.voters=${voters}
listeners=CONTROLLER://127.0.0.1:$(oc_kafka_node_controller_port "$n")
listener.security.protocol.map=CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${dir}/data
# A killed broker is fenced (its partitions led elsewhere) 4 s after its
# last heartbeat, and restarted, it registers again without a long wait.
broker.session.timeout.ms=4000
PROPS
    else
      cat <<PROPS
# Broker ${n} of $(oc_kafka_count); the controllers are node ids $((OC_KAFKA_CONTROLLER_ID_BASE + 1))-$((OC_KAFKA_CONTROLLER_ID_BASE + $(oc_kafka_count))).
process.roles=broker
node.id=${n}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:$(oc_kafka_node_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(oc_kafka_node_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
# Topics are created explicitly, with their partition count.
auto.create.topics.enable=false
num.partitions=1
# Every partition on all three brokers; a write (acks=all) needs two of them.
default.replication.factor=${OC_KAFKA_CLUSTER_RF}
min.insync.replicas=${OC_KAFKA_CLUSTER_MIN_ISR}
offsets.topic.replication.factor=${OC_KAFKA_CLUSTER_RF}
transaction.state.log.replication.factor=${OC_KAFKA_CLUSTER_RF}
transaction.state.log.min.isr=${OC_KAFKA_CLUSTER_MIN_ISR}
# Fast tests: no wait for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=1000
# A broker stopped with SIGTERM first hands its partitions' leadership
# over (a rolling restart needs it); the controllers approve it.
controlled.shutdown.enable=true
PROPS
    fi
  } >"$(oc_kafka_proc_props "$role" "$n")"
  oc_kafka_write_log4j "$dir"
}

# oc_kafka_check_layout N: dies when broker N's state is that of a node
# that was broker and controller in one (a stack made by an older
# stack.sh): its metadata log belongs to another quorum.
oc_kafka_check_layout() {
  local props
  props="$(oc_kafka_proc_props broker "$1")"
  if [[ -f "$(oc_kafka_proc_dir broker "$1")/data/meta.properties" ]] &&
    grep -qx 'process.roles=broker,controller' "$props" 2>/dev/null; then
    oc_die "kafka broker ${1}: its data is a combined broker+controller node's (${props}); the cluster now runs its controllers apart: stop the stack and delete ${OC_STATE}"
  fi
}

# oc_kafka_cluster_format PROC...: formats the log directory of each
# process ("ROLE N") that has none yet (same cluster id), side by side.
oc_kafka_cluster_format() {
  local p dir pids=() procs=() i rc
  for p in "$@"; do
    dir="$(oc_kafka_proc_dir "${p% *}" "${p#* }")"
    [[ -f "${dir}/data/meta.properties" ]] && continue
    # shellcheck disable=SC2153 # set by stack.sh from stack.env
    oc_info "$(oc_kafka_proc_name "${p% *}" "${p#* }"): formatting ${dir}/data (cluster id ${OC_KAFKA_CLUSTER_ID})"
    oc_kafka_tool kafka.tools.StorageTool format --cluster-id="$OC_KAFKA_CLUSTER_ID" \
      --config="${dir}/server.properties" >"${dir}/format.log" 2>&1 9>&- &
    pids+=("$!")
    procs+=("$p")
  done
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if [[ "$rc" -ne 0 ]]; then
      p="${procs[$i]}"
      cat "$(oc_kafka_proc_dir "${p% *}" "${p#* }")/format.log" >&2
      oc_die "$(oc_kafka_proc_name "${p% *}" "${p#* }"): formatting the storage failed"
    fi
  done
}

# oc_kafka_proc_pid ROLE N: prints that process's pid when it is alive;
# fails otherwise.
oc_kafka_proc_pid() {
  oc_find_pid "$(oc_kafka_proc_pidfile "$1" "$2")" oc_kafka_pid_is_ours "$(oc_kafka_proc_props "$1" "$2")"
}

# oc_kafka_node_pid N: broker N's pid (the single broker's for N=1 in a
# single-broker stack) when it is alive; fails otherwise.
oc_kafka_node_pid() {
  if ! oc_kafka_is_cluster; then
    oc_kafka_pid
    return
  fi
  oc_kafka_proc_pid broker "$1"
}

# oc_kafka_node_brokers N: the number of brokers broker N's metadata lists
# (broker N among them: else 0); fails when broker N does not answer.
oc_kafka_node_brokers() {
  local out
  out="$(kcat -L -b "127.0.0.1:$(oc_kafka_node_port "$1")" -m 5 2>/dev/null)" || return 1
  if grep -q "^  broker $1 at " <<<"$out"; then
    sed -n 's/^ \([0-9][0-9]*\) brokers:$/\1/p' <<<"$out"
  else
    printf '0\n'
  fi
}

# oc_kafka_proc_ready ROLE N: broker N answers a metadata request that
# lists every broker of the stack, broker N among them; controller N
# accepts connections on its port (the brokers' registration through the
# quorum shows that it works).
oc_kafka_proc_ready() {
  if [[ "$1" == broker ]]; then
    [[ "$(oc_kafka_node_brokers "$2")" == "$(oc_kafka_count)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$(oc_kafka_node_controller_port "$2")") 2>/dev/null
  fi
}

# oc_kafka_proc_spawn ROLE N: starts that process detached (config
# rewritten; its storage formatted before, see oc_kafka_cluster_format)
# without waiting; records it in OC_KAFKA_PROC_PIDS and OC_KAFKA_PROC_T0.
oc_kafka_proc_spawn() {
  local role="$1" n="$2" dir heap="$OC_KAFKA_HEAP_OPTS"
  dir="$(oc_kafka_proc_dir "$role" "$n")"
  if [[ "$role" == controller ]]; then heap="$OC_KAFKA_CONTROLLER_HEAP_OPTS"; fi
  oc_kafka_spawn "$dir" "$(oc_kafka_proc_props "$role" "$n")" "$(oc_kafka_proc_pidfile "$role" "$n")" "$heap"
  OC_KAFKA_PROC_PIDS["$role $n"]="$OC_KAFKA_SPAWNED_PID"
  OC_KAFKA_PROC_T0["$role $n"]="$(oc_now)"
  oc_mark_started
  oc_info "$(oc_kafka_proc_name "$role" "$n"): started pid ${OC_KAFKA_SPAWNED_PID} on 127.0.0.1:$(oc_kafka_proc_port "$role" "$n"); log ${dir}/server.log"
}

# oc_kafka_all_procs: "controller N" then "broker N" for every N, one per
# line: the order of a start (a stop goes brokers first).
oc_kafka_all_procs() {
  local role n
  for role in controller broker; do
    for ((n = 1; n <= $(oc_kafka_count); n++)); do
      printf '%s %s\n' "$role" "$n"
    done
  done
}

# oc_kafka_cluster_launch [PROC...]: starts each process ("ROLE N"; all of
# them when none is named) that is not running, detached, without waiting:
# oc_kafka_cluster_wait does, so that their start-up overlaps PostgreSQL's.
oc_kafka_cluster_launch() {
  local p pid todo=() procs=("$@") n
  if [[ ${#procs[@]} -eq 0 ]]; then mapfile -t procs < <(oc_kafka_all_procs); fi
  OC_KAFKA_PROC_PIDS=()
  OC_KAFKA_PROC_T0=()
  for p in "${procs[@]}"; do
    if pid="$(oc_kafka_proc_pid "${p% *}" "${p#* }")"; then
      OC_KAFKA_PROC_PIDS["$p"]="$pid"
      continue
    fi
    oc_port_free "$(oc_kafka_proc_port "${p% *}" "${p#* }")" "$(oc_kafka_proc_name "${p% *}" "${p#* }")" || exit 1
    todo+=("$p")
  done
  [[ ${#todo[@]} -gt 0 ]] || return 0
  oc_kafka_assemble
  oc_kafka_write_tools_log4j
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    oc_kafka_check_layout "$n"
  done
  for p in "${todo[@]}"; do
    oc_kafka_proc_write_config "${p% *}" "${p#* }"
  done
  oc_kafka_cluster_format "${todo[@]}"
  for p in "${todo[@]}"; do
    oc_kafka_proc_spawn "${p% *}" "${p#* }"
  done
}

# oc_kafka_cluster_wait: waits until every process oc_kafka_cluster_launch
# saw or started is ready (oc_kafka_proc_ready), in start order.
oc_kafka_cluster_wait() {
  local p procs role n pid t0 waited name
  mapfile -t procs < <(oc_kafka_all_procs)
  for p in "${procs[@]}"; do
    [[ -n "${OC_KAFKA_PROC_PIDS[$p]:-}" ]] || continue
    pid="${OC_KAFKA_PROC_PIDS[$p]}"
    role="${p% *}" n="${p#* }"
    name="$(oc_kafka_proc_name "$role" "$n")"
    if [[ -z "${OC_KAFKA_PROC_T0[$p]:-}" ]] && oc_kafka_proc_ready "$role" "$n"; then
      oc_info "${name}: already running (pid ${pid}, 127.0.0.1:$(oc_kafka_proc_port "$role" "$n"))"
      continue
    fi
    t0="${OC_KAFKA_PROC_T0[$p]:-$(oc_now)}"
    while ! oc_kafka_proc_ready "$role" "$n"; do
      if ! oc_pid_alive "$pid"; then
        oc_kafka_log_tail "$(oc_kafka_proc_dir "$role" "$n")"
        rm -f "$(oc_kafka_proc_pidfile "$role" "$n")"
        oc_die "${name}: exited during start-up (logs above; $(oc_kafka_proc_dir "$role" "$n")/server.log)"
      fi
      waited="$(oc_elapsed "$t0")"
      if [[ "${waited%.*}" -ge "$OC_KAFKA_START_TIMEOUT" ]]; then
        oc_kafka_log_tail "$(oc_kafka_proc_dir "$role" "$n")"
        oc_die "${name}: not ready on 127.0.0.1:$(oc_kafka_proc_port "$role" "$n") after ${OC_KAFKA_START_TIMEOUT} s (pid ${pid} left running; 'stack.sh stop' ends it)"
      fi
      sleep 0.5
    done
    if [[ "$role" == broker ]]; then
      oc_info "${name}: ready on 127.0.0.1:$(oc_kafka_proc_port "$role" "$n"), $(oc_kafka_count) brokers in its metadata, $(oc_elapsed "$t0") s after its start"
    else
      oc_info "${name}: listening on 127.0.0.1:$(oc_kafka_proc_port "$role" "$n"), $(oc_elapsed "$t0") s after its start"
    fi
  done
}

# oc_kafka_cluster_stop_role ROLE: SIGTERM to every running process of that
# role at once (kafka/node*/ or kafka/controller*/, whatever stack.env
# says), then waits for each as oc_stop_pid does.
oc_kafka_cluster_stop_role() {
  local role="$1" glob d n pid pids=() nums=()
  if [[ "$role" == broker ]]; then glob=node; else glob=controller; fi
  for d in "${OC_STATE}/kafka/${glob}"[0-9]*; do
    [[ -d "$d" ]] || continue
    n="${d##*/"${glob}"}"
    [[ "$n" =~ ^[0-9]+$ ]] || continue
    if pid="$(oc_kafka_proc_pid "$role" "$n")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      nums+=("$n")
    else
      rm -f "$(oc_kafka_proc_pidfile "$role" "$n")"
      oc_info "kafka ${role} ${n}: not running"
    fi
  done
  for n in "${!pids[@]}"; do
    oc_stop_pid "kafka ${role} ${nums[$n]}" "${pids[$n]}" "$(oc_kafka_proc_pidfile "$role" "${nums[$n]}")" \
      "$OC_KAFKA_STOP_TIMEOUT"
  done
}

# oc_kafka_cluster_stop: the brokers (each a controlled shutdown, which the
# running quorum approves), then the controllers.
oc_kafka_cluster_stop() {
  oc_kafka_cluster_stop_role broker
  oc_kafka_cluster_stop_role controller
}

# oc_kafka_restart_node N: one step of a rolling restart: broker N stopped
# with SIGTERM (a controlled shutdown: its leaders move to the other
# brokers first; OC_KAFKA_STOP_TIMEOUT at most), then started again and
# waited for (oc_kafka_start_proc).
oc_kafka_restart_node() {
  local n="$1" pid
  if pid="$(oc_kafka_node_pid "$n")"; then
    oc_stop_pid "$(oc_kafka_proc_name broker "$n")" "$pid" "$(oc_kafka_proc_pidfile broker "$n")" \
      "$OC_KAFKA_STOP_TIMEOUT"
  fi
  oc_kafka_start_proc broker "$n"
}

# oc_kafka_cluster_status: one line for the cluster, one per process; true
# when every one is ready (oc_kafka_proc_ready).
oc_kafka_cluster_status() {
  local n pid rc=0 k
  printf 'kafka:      %s brokers, a quorum of %s KRaft controllers, bootstrap %s\n' \
    "$(oc_kafka_count)" "$(oc_kafka_count)" "$(oc_kafka_bootstrap)"
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    if ! pid="$(oc_kafka_proc_pid broker "$n")"; then
      printf 'kafka %s:    stopped (127.0.0.1:%s)\n' "$n" "$(oc_kafka_node_port "$n")"
      rc=1
    elif ! k="$(oc_kafka_node_brokers "$n")"; then
      printf 'kafka %s:    NOT ANSWERING, pid %s alive, 127.0.0.1:%s (see %s)\n' \
        "$n" "$pid" "$(oc_kafka_node_port "$n")" "$(oc_kafka_proc_dir broker "$n")/server.log"
      rc=1
    else
      printf 'kafka %s:    running, pid %s, 127.0.0.1:%s (its metadata lists %s of %s brokers)\n' \
        "$n" "$pid" "$(oc_kafka_node_port "$n")" "$k" "$(oc_kafka_count)"
      [[ "$k" == "$(oc_kafka_count)" ]] || rc=1
    fi
  done
  for ((n = 1; n <= $(oc_kafka_count); n++)); do
    if ! pid="$(oc_kafka_proc_pid controller "$n")"; then
      printf 'controller %s: stopped (127.0.0.1:%s)\n' "$n" "$(oc_kafka_node_controller_port "$n")"
      rc=1
    elif ! oc_kafka_proc_ready controller "$n"; then
      printf 'controller %s: NOT LISTENING, pid %s alive, 127.0.0.1:%s (see %s)\n' \
        "$n" "$pid" "$(oc_kafka_node_controller_port "$n")" "$(oc_kafka_proc_dir controller "$n")/server.log"
      rc=1
    else
      printf 'controller %s: running, pid %s, 127.0.0.1:%s, node id %s\n' \
        "$n" "$pid" "$(oc_kafka_node_controller_port "$n")" "$((OC_KAFKA_CONTROLLER_ID_BASE + n))"
    fi
  done
  return "$rc"
}

# oc_kafka_proc_kill ROLE N: kill -9 of that process (fault tests); waits
# until it is gone. Says so, and succeeds, when it was not running. ROLE
# broker and N=1 in a stack of one: its single broker.
oc_kafka_proc_kill() {
  local role="$1" n="$2" pid name pidfile
  name="$(oc_kafka_proc_name "$role" "$n")"
  if oc_kafka_is_cluster; then
    pidfile="$(oc_kafka_proc_pidfile "$role" "$n")"
    pid="$(oc_kafka_proc_pid "$role" "$n")" || pid=""
  else
    pidfile="$(oc_kafka_pidfile)"
    pid="$(oc_kafka_pid)" || pid=""
  fi
  if [[ -z "$pid" ]]; then
    oc_info "${name}: not running; nothing killed"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  while oc_pid_alive "$pid"; do
    sleep 0.05
  done
  rm -f "$pidfile"
  oc_info "${name}: killed pid ${pid} (SIGKILL), 127.0.0.1:$(oc_kafka_proc_port "$role" "$n")"
}

# oc_kafka_start_proc ROLE N: starts that process again and waits until it
# is ready (oc_kafka_proc_ready: a broker back in the cluster); the single
# broker's oc_kafka_start when the stack has one.
oc_kafka_start_proc() {
  local role="$1" n="$2" t0
  t0="$(oc_now)"
  if ! oc_kafka_is_cluster; then
    oc_kafka_start
    return
  fi
  oc_kafka_cluster_launch "$role $n"
  oc_kafka_cluster_wait
  if oc_started_any; then
    oc_info "$(oc_kafka_proc_name "$role" "$n"): back after $(oc_elapsed "$t0") s"
  fi
}
