#!/usr/bin/env bash
# Proves the local stack that tests/run.sh starts is usable: status answers,
# a second start is a no-op, `env` is eval-able, a topic can be created and
# listed on the broker, and psql connects with OUTCOMES_PG_CONNINFO.
# Fails (never skips) when the stack is not there.
#
# Run by ctest (label integration) with OC_SOURCE_DIR and OC_BUILD_DIR set
# and the stack's environment exported (eval "$(deploy/stack.sh env)").
set -euo pipefail

TOPIC=""
STACK_SH=""

# shellcheck source=tests/integration/tap.bash
source "$(dirname "$0")/tap.bash"

cleanup() {
  if [[ -n "$TOPIC" ]]; then
    stack topic delete "$TOPIC" >/dev/null 2>&1 || true
  fi
}

# stack ARGS...: deploy/stack.sh (with bash: no exec bit needed).
stack() {
  bash "$STACK_SH" "$@"
}

# kafka_pid: the broker's pid, to prove that `start` did not restart it.
kafka_pid() {
  cat "${OUTCOMES_STACK_DIR}/kafka/kafka.pid" 2>/dev/null || true
}

check_preconditions() {
  local v
  [[ -n "${OC_SOURCE_DIR:-}" ]] || bail "OC_SOURCE_DIR is not set (run through ctest)"
  for v in OUTCOMES_STACK_DIR OUTCOMES_KAFKA_BROKERS OUTCOMES_PG_CONNINFO; do
    [[ -n "${!v:-}" ]] ||
      bail "${v} is not set: no stack; run tests/run.sh, or deploy/stack.sh start and eval \"\$(deploy/stack.sh env)\""
  done
  STACK_SH="${OC_SOURCE_DIR}/deploy/stack.sh"
  [[ -f "$STACK_SH" ]] || bail "${STACK_SH} is missing"
}

check_status() {
  local out rc=0
  out="$(stack status 2>&1)" || rc=$?
  printf '%s\n' "$out" | sed 's/^/# /'
  if [[ "$rc" -eq 0 ]]; then
    ok "stack.sh status exits 0 (both components answer)"
  else
    not_ok "stack.sh status exits 0 (got ${rc})"
    bail "the stack is not running"
  fi
}

check_start_is_noop() {
  local before after out rc=0
  before="$(kafka_pid)"
  out="$(stack start 2>&1)" || rc=$?
  after="$(kafka_pid)"
  if [[ "$rc" -eq 0 ]]; then
    ok "stack.sh start on a running stack exits 0"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "stack.sh start on a running stack exits 0 (got ${rc})"
  fi
  if [[ -n "$before" && "$before" == "$after" ]] && [[ "$out" == *"already running"* ]]; then
    ok "stack.sh start again is a no-op (broker pid ${before} unchanged)"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "stack.sh start again is a no-op (pid before '${before}', after '${after}')"
  fi
}

check_env() {
  local out got
  if ! out="$(stack env)"; then
    not_ok "stack.sh env exits 0"
    return
  fi
  # Evaluate in a clean environment and compare with what ctest exported.
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  if got="$(env -u OUTCOMES_KAFKA_BROKERS -u OUTCOMES_PG_CONNINFO \
    bash -c 'set -eu; eval "$1"; printf "%s\n%s\n" "$OUTCOMES_KAFKA_BROKERS" "$OUTCOMES_PG_CONNINFO"' \
    _ "$out" 2>&1)"; then
    ok "stack.sh env output is eval-able"
  else
    printf '%s\n' "$got" | sed 's/^/# /'
    not_ok "stack.sh env output is eval-able"
    return
  fi
  if [[ "$got" == "${OUTCOMES_KAFKA_BROKERS}"$'\n'"${OUTCOMES_PG_CONNINFO}" ]]; then
    ok "stack.sh env names OUTCOMES_KAFKA_BROKERS and OUTCOMES_PG_CONNINFO with the exported values"
  else
    printf '# env gave:\n%s\n' "$got" | sed 's/^/# /'
    not_ok "stack.sh env names OUTCOMES_KAFKA_BROKERS and OUTCOMES_PG_CONNINFO with the exported values"
  fi
}

check_topic() {
  local out partitions
  TOPIC="test-stack-$$-${RANDOM}"
  if out="$(stack topic create "$TOPIC" 3 2>&1)"; then
    ok "stack.sh topic create ${TOPIC} 3"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "stack.sh topic create ${TOPIC} 3"
    return
  fi
  if out="$(stack topic list 2>&1)" && grep -qx -- "$TOPIC" <<<"$out"; then
    ok "stack.sh topic list shows ${TOPIC}"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "stack.sh topic list shows ${TOPIC}"
  fi
  # The broker itself, through librdkafka (kcat), sees 3 partitions.
  partitions="$(kcat -L -b "$OUTCOMES_KAFKA_BROKERS" -t "$TOPIC" -m 10 2>&1 |
    sed -n 's/.*with \([0-9]*\) partitions.*/\1/p')"
  if [[ "$partitions" == "3" ]]; then
    ok "kcat sees ${TOPIC} with 3 partitions on ${OUTCOMES_KAFKA_BROKERS}"
  else
    not_ok "kcat sees ${TOPIC} with 3 partitions (got '${partitions}')"
  fi
  if stack topic delete "$TOPIC" >/dev/null 2>&1; then
    TOPIC=""
STACK_SH=""
    ok "stack.sh topic delete"
  else
    not_ok "stack.sh topic delete"
  fi
}

check_psql() {
  local out
  if out="$(psql "$OUTCOMES_PG_CONNINFO" -XtAq -v ON_ERROR_STOP=1 \
    -c 'SELECT 1' -c 'SELECT current_database()' 2>&1)" &&
    [[ "$out" == $'1\noutcomes' ]]; then
    ok "psql connects with OUTCOMES_PG_CONNINFO: SELECT 1 in database outcomes"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "psql connects with OUTCOMES_PG_CONNINFO and SELECT 1 returns 1"
  fi
}

main() {
  trap cleanup EXIT
  check_preconditions
  check_status
  check_start_is_noop
  check_env
  check_topic
  check_psql
  printf '1..%d\n' "$CHECKS"
  if [[ "$FAILURES" -ne 0 ]]; then
    printf '# %d of %d checks failed\n' "$FAILURES" "$CHECKS"
    exit 1
  fi
}

main "$@"
