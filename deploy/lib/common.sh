# shellcheck shell=bash
# Helpers shared by deploy/stack.sh, deploy/quickstart.sh and tests/run.sh:
# messages, timing, the pinned versions. Source it; it defines functions only
# (and OC_DEPLOY_DIR / OC_SOURCE_ROOT).

OC_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034 # used by the scripts that source this file
OC_SOURCE_ROOT="$(cd "${OC_DEPLOY_DIR}/.." && pwd)"
OC_LOG_TAG="${OC_LOG_TAG:-outcomes}"

# Messages go to stderr so that stdout stays clean for `stack.sh env`.
oc_info() { printf '%s: %s\n' "$OC_LOG_TAG" "$*" >&2; }
oc_warn() { printf '%s: warning: %s\n' "$OC_LOG_TAG" "$*" >&2; }
oc_die() {
  printf '%s: error: %s\n' "$OC_LOG_TAG" "$*" >&2
  exit 1
}

# Whether this run started a component (stack.sh start's final message).
OC_STARTED=0
oc_mark_started() { OC_STARTED=1; }
oc_started_any() { [[ "$OC_STARTED" -eq 1 ]]; }

# oc_now: seconds since the epoch with milliseconds.
oc_now() { date +%s.%3N; }

# oc_elapsed START: seconds since START (from oc_now), one decimal.
oc_elapsed() {
  local start="$1" now
  now="$(oc_now)"
  awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

# oc_have CMD: true when CMD is on PATH.
oc_have() { command -v "$1" >/dev/null 2>&1; }

# oc_is_root: true when running as uid 0.
oc_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# oc_load_versions: source deploy/versions.env (the pinned versions).
oc_load_versions() {
  # shellcheck source=deploy/versions.env
  source "${OC_DEPLOY_DIR}/versions.env"
}

# oc_print_versions: one line naming every pinned version.
oc_print_versions() {
  oc_info "versions: kafka=${KAFKA_VERSION} scala=${SCALA_VERSION}" \
    "slf4j=${SLF4J_VERSION} postgresql=${PG_MAJOR}" \
    "(pinned in deploy/versions.env)"
}

# oc_sq VALUE: VALUE single-quoted for the shell (safe to eval).
oc_sq() {
  local s="$1"
  printf "'%s'" "${s//\'/\'\\\'\'}"
}

# oc_pid_alive PID: PID is a live process. Unlike `kill -0`, a zombie counts
# as dead: where PID 1 reaps orphans late, a killed daemon lingers as one.
oc_pid_alive() {
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Field 3, after the parenthesised command name (which may hold spaces).
  stat="${stat##*) }"
  [[ "${stat:0:1}" != "Z" && "${stat:0:1}" != "X" ]]
}

# oc_pid_cmdline PID: prints PID's command line, its arguments joined by
# spaces and ended by one, when PID is alive (oc_pid_alive); fails
# otherwise. What the IS_OURS functions below look at.
oc_pid_cmdline() {
  local cmd
  oc_pid_alive "$1" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  printf '%s\n' "$cmd"
}

# oc_find_pid PIDFILE IS_OURS ARG: prints the pid of our live process, where
# `IS_OURS PID ARG` tells whether PID is it (its command line says so); the
# pid file is a hint, and a lost one (a start interrupted) is made up for by
# a look through /proc. Fails when there is none.
oc_find_pid() {
  local pidfile="$1" is_ours="$2" arg="$3" pid f
  if [[ -f "$pidfile" ]]; then
    pid="$(cat "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && "$is_ours" "$pid" "$arg"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"
    pid="${pid%/cmdline}"
    if "$is_ours" "$pid" "$arg"; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# oc_stop_pid NAME PID PIDFILE TIMEOUT: SIGTERM, wait up to TIMEOUT seconds,
# then SIGKILL; PIDFILE removed once PID is gone. NAME prefixes the lines.
oc_stop_pid() {
  local name="$1" pid="$2" pidfile="$3" timeout="$4" t0
  oc_info "${name}: stopping pid ${pid}"
  t0="$(oc_now)"
  kill -TERM "$pid" 2>/dev/null || true
  while oc_pid_alive "$pid"; do
    if [[ "$(oc_elapsed "$t0" | cut -d. -f1)" -ge "$timeout" ]]; then
      oc_warn "${name}: pid ${pid} still alive after ${timeout} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  while oc_pid_alive "$pid"; do
    sleep 0.1
  done
  rm -f "$pidfile"
  oc_info "${name}: stopped ($(oc_elapsed "$t0") s)"
}
