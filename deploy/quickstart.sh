#!/usr/bin/env bash
# The first thing a new user runs: installs what is missing, builds the
# project (build/), starts the local stack (Kafka + PostgreSQL, state in
# ${OUTCOMES_STACK_DIR:-/var/tmp/outcomes-stack-$(id -u)}) and shows what is
# running and what to do next.
#
#   deploy/quickstart.sh [--no-install]
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=deploy/lib/install-deps.sh
source "${OC_DEPLOY_DIR}/lib/install-deps.sh"
OC_LOG_TAG="quickstart"

CURRENT_STEP=""
step() {
  local name="$1" t0
  shift
  CURRENT_STEP="$name"
  oc_info "== ${name}"
  t0="$(oc_now)"
  "$@"
  oc_info "== ${name}: $(oc_elapsed "$t0") s"
  CURRENT_STEP=""
}

on_exit() {
  local rc=$?
  if [[ "$rc" -ne 0 && -n "$CURRENT_STEP" ]]; then
    oc_warn "step '${CURRENT_STEP}' failed (status ${rc}); see the messages above"
  fi
}

build() {
  cmake -S "$OC_SOURCE_ROOT" -B "${OC_SOURCE_ROOT}/build"
  cmake --build "${OC_SOURCE_ROOT}/build" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
}

start_stack() {
  bash "${OC_DEPLOY_DIR}/stack.sh" start
}

main() {
  local install=1 env_out
  case "${1:-}" in
  --no-install) install=0 ;;
  "") ;;
  -h | --help)
    sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    return 0
    ;;
  *) oc_die "unknown option '$1' (try --help)" ;;
  esac
  cd "$OC_SOURCE_ROOT"
  trap on_exit EXIT
  oc_load_versions
  oc_print_versions
  if [[ "$install" -eq 1 ]]; then
    step "install packages" oc_install_deps
  fi
  step "build (build/)" build
  step "start stack" start_stack
  env_out="$(bash "${OC_DEPLOY_DIR}/stack.sh" env)"
  eval "$env_out"

  # ------------------------------------------------------------------
  # PIPELINE DEMO: not implemented yet.
  # When outcomes-produce and outcomes-rollupd exist, this is where the
  # quickstart applies the SQL migrations, creates the topics, publishes
  # the demo data, runs the consumer until it has caught up, and prints a
  # rollup table from psql. Until then it prints nothing about it.
  # ------------------------------------------------------------------

  printf '\nThe outcomes stack is running:\n\n'
  bash "${OC_DEPLOY_DIR}/stack.sh" status || true
  cat <<MSG

Logs:      ${OUTCOMES_STACK_DIR}/kafka/server.log
           ${OUTCOMES_STACK_DIR}/pg/postgres.log
Binaries:  ${OC_SOURCE_ROOT}/build/

Use it from your shell:

  eval "\$(deploy/stack.sh env)"

which sets:

${env_out}

Next steps:

  psql "\$OUTCOMES_PG_CONNINFO"              # the outcomes database
  deploy/stack.sh topic create NAME 6        # a topic with 6 partitions
  kcat -L -b "\$OUTCOMES_KAFKA_BROKERS"       # what the broker holds
  tests/run.sh                               # build and run every test
  deploy/stack.sh stop                       # stop Kafka and PostgreSQL

The pipeline demo (publish demo data, print a rollup) is not part of the
quickstart yet.

PostgreSQL here uses trust authentication on 127.0.0.1 and its socket:
a local development stack, not a place for real data.
MSG
}

main "$@"
