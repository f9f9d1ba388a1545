# shellcheck shell=bash
# The state directory's stack.env (the ports, the Kafka cluster id and the
# topology chosen at first start, kept for restarts) and the choice of
# free ports on 127.0.0.1. Sourced by deploy/stack.sh, which sets OC_STATE;
# it defines functions only (and the port range).

OC_PORT_MIN=20000 # below Linux's ephemeral range (32768-60999)
OC_PORT_MAX=32000

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
    OC_KAFKA_PORT | OC_KAFKA_CONTROLLER_PORT | OC_PG_PORT | OC_REGISTRY_PORT | OC_REGISTRY_MGMT_PORT | \
      OC_KAFKA_NODE[2-9]_PORT | OC_KAFKA_NODE[2-9]_CONTROLLER_PORT | OC_PG_STANDBY_PORT)
      [[ "$value" =~ ^[0-9]+$ ]] || oc_die "${f}: bad ${key}='${value}'"
      printf -v "$key" '%s' "$value"
      ;;
    OC_KAFKA_BROKER_COUNT)
      [[ "$value" =~ ^[13]$ ]] || oc_die "${f}: bad ${key}='${value}' (1 or 3)"
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
  local n
  for ((n = 2; n <= ${OC_KAFKA_BROKER_COUNT:-1}; n++)); do
    [[ -n "$(oc_kafka_node_port "$n")" && -n "$(oc_kafka_node_controller_port "$n")" ]] ||
      oc_die "${f} names no ports for kafka broker and controller ${n}; delete it to choose new ports"
  done
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

# oc_env_append LINE...: adds KEY=VALUE lines to stack.env.
oc_env_append() {
  local f="${OC_STATE}/stack.env"
  {
    cat "$f"
    printf '%s\n' "$@"
  } >"${f}.tmp"
  mv "${f}.tmp" "$f"
}

# oc_env_pick_ports N: N free ports, none of them one stack.env names.
oc_env_pick_ports() {
  local i p taken=()
  mapfile -t taken < <(sed -n 's/^OC_[A-Z0-9_]*PORT=\([0-9][0-9]*\)$/\1/p' "${OC_STATE}/stack.env")
  for ((i = 0; i < $1; i++)); do
    p="$(oc_pick_port "${taken[@]}")"
    taken+=("$p")
    printf '%s\n' "$p"
  done
}

# oc_env_topology BROKERS STANDBY: start's --brokers (empty: not given) and
# --pg-standby (1: given) into stack.env. The broker count is a state
# directory's for good (a KRaft quorum is formatted into its data); only a
# stack whose broker never ran may still become a cluster. A standby can be
# added to a stack that has none (made from the primary at start).
oc_env_topology() {
  local want="$1" standby="$2" have ports=() n lines=()
  have="$(oc_kafka_count)"
  if [[ -n "$want" && "$want" != "$have" ]]; then
    if [[ "$have" != 1 || -e "$(oc_kafka_dir)/data/meta.properties" ]]; then
      oc_die "the stack in ${OC_STATE} has ${have} broker(s) (stack.env); for --brokers ${want} use another OUTCOMES_STACK_DIR, or stop it and delete ${OC_STATE}"
    fi
    mapfile -t ports < <(oc_env_pick_ports $((2 * (want - 1))))
    [[ "${#ports[@]}" -eq $((2 * (want - 1))) ]] || oc_die "could not choose ports for ${want} brokers"
    OC_KAFKA_BROKER_COUNT="$want"
    lines=("OC_KAFKA_BROKER_COUNT=${want}")
    for ((n = 2; n <= want; n++)); do
      printf -v "OC_KAFKA_NODE${n}_PORT" '%s' "${ports[2 * (n - 2)]}"
      printf -v "OC_KAFKA_NODE${n}_CONTROLLER_PORT" '%s' "${ports[2 * (n - 2) + 1]}"
      lines+=("OC_KAFKA_NODE${n}_PORT=$(oc_kafka_node_port "$n")"
        "OC_KAFKA_NODE${n}_CONTROLLER_PORT=$(oc_kafka_node_controller_port "$n")")
    done
    oc_env_append "${lines[@]}"
    oc_info "chose ports for ${want} kafka brokers and controllers: brokers $(oc_kafka_bootstrap) (kept in ${OC_STATE}/stack.env)"
  fi
  if [[ "$standby" == 1 ]] && ! oc_pg_has_standby; then
    OC_PG_STANDBY_PORT="$(oc_env_pick_ports 1)"
    oc_env_append "OC_PG_STANDBY_PORT=${OC_PG_STANDBY_PORT}"
    oc_info "chose port postgres standby=${OC_PG_STANDBY_PORT} (kept in ${OC_STATE}/stack.env)"
  fi
}
