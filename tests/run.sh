#!/usr/bin/env bash
# Builds and tests everything: installs missing Debian packages, builds a
# warning-free tree (build/, -Werror) and a sanitizer tree (build-asan/,
# ASan+UBSan, -Werror), starts a private stack (Kafka + PostgreSQL) in a
# temporary directory, runs ctest from build-asan/, stops the stack on every
# exit path and exits with ctest's status.
#
#   tests/run.sh [--no-install] [--keep-stack] [--unit-only] [--] [CTEST ARGS...]
#
#   --no-install   do not check or install Debian packages
#   --keep-stack   leave the stack running afterwards (prints how to use/stop it)
#   --unit-only    no stack; run only the tests labelled "unit" and "lint"
#   CTEST ARGS     passed to ctest, e.g. -L unit, -R test_stack, -V
#
# Unless ctest arguments are given, the libFuzzer targets are also built with
# clang (build-fuzz/) and each runs for OC_FUZZ_SECONDS before ctest.
#
# Environment: CMAKE_BUILD_PARALLEL_LEVEL (default: nproc), ASAN_OPTIONS,
# UBSAN_OPTIONS (defaults below), CTEST_PARALLEL (default 2),
# OC_FUZZ_SECONDS (default 15).
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/lib/common.sh"
# shellcheck source=deploy/lib/install-deps.sh
source "${OC_DEPLOY_DIR}/lib/install-deps.sh"
OC_LOG_TAG="run.sh"

OPT_INSTALL=1
OPT_KEEP_STACK=0
OPT_UNIT_ONLY=0
CTEST_ARGS=()
STACK_DIR=""
STACK_STARTED=0
CTEST_RC=0
FUZZ_RC=0
CTEST_PID=""
RUN_T0="$(oc_now)"

usage() {
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --no-install) OPT_INSTALL=0 ;;
    --keep-stack) OPT_KEEP_STACK=1 ;;
    --unit-only) OPT_UNIT_ONLY=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      CTEST_ARGS+=("$@")
      break
      ;;
    *) CTEST_ARGS+=("$1") ;;
    esac
    shift
  done
}

# phase NAME CMD...: runs CMD and prints how long it took. Never call it
# in a condition (`phase ... || x`): that would turn off set -e inside CMD.
# A failing CMD ends the script through set -e and the EXIT trap.
CURRENT_PHASE=""
phase() {
  local name="$1" t0
  shift
  CURRENT_PHASE="$name"
  oc_info "== ${name}"
  t0="$(oc_now)"
  "$@"
  oc_info "== ${name}: $(oc_elapsed "$t0") s"
  CURRENT_PHASE=""
}

build_tree() {
  local dir="$1"
  shift
  cmake -S "$OC_SOURCE_ROOT" -B "${OC_SOURCE_ROOT}/${dir}" -DOC_WERROR=ON "$@"
  cmake --build "${OC_SOURCE_ROOT}/${dir}" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
}

build_all() {
  build_tree build
  build_tree build-asan -DOC_SANITIZE=ON
}

# The libFuzzer targets (clang), run briefly by run_fuzz; a long run is in
# the README.
build_fuzz() {
  cmake -S "$OC_SOURCE_ROOT" -B "${OC_SOURCE_ROOT}/build-fuzz" -DOC_WERROR=ON \
    -DCMAKE_C_COMPILER=clang -DOC_FUZZ=ON -DOC_BUILD_TESTS=OFF \
    -DOC_FUZZ_SECONDS="${OC_FUZZ_SECONDS:-15}"
  cmake --build "${OC_SOURCE_ROOT}/build-fuzz" --target fuzzers \
    --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
}

run_fuzz() {
  ctest --test-dir "${OC_SOURCE_ROOT}/build-fuzz" --output-on-failure -L fuzz \
    -j "${CTEST_PARALLEL:-2}" || FUZZ_RC=$?
}

start_stack() {
  # A private state directory: never the user's own stack. 0755 so that the
  # postgres user can reach it when we run as root.
  STACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/outcomes-test-stack.XXXXXX")"
  chmod 0755 "$STACK_DIR"
  export OUTCOMES_STACK_DIR="$STACK_DIR"
  STACK_STARTED=1
  bash "${OC_DEPLOY_DIR}/stack.sh" start
  eval "$(bash "${OC_DEPLOY_DIR}/stack.sh" env)"
  oc_info "stack: OUTCOMES_KAFKA_BROKERS=${OUTCOMES_KAFKA_BROKERS}" \
    "OUTCOMES_PG_CONNINFO='${OUTCOMES_PG_CONNINFO}'"
}

# save_stack_logs: copies the stack's logs next to ctest's, for CI artifacts.
save_stack_logs() {
  local dest="${OC_SOURCE_ROOT}/build-asan/Testing/stack-logs" f
  mkdir -p "$dest" || return 0
  for f in kafka/server.log kafka/stdout.log pg/postgres.log; do
    if [[ -f "${STACK_DIR}/${f}" ]]; then
      cp "${STACK_DIR}/${f}" "${dest}/${f//\//-}" || true
    fi
  done
}

# cleanup: runs on every exit (trap EXIT): stops the stack we started.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$CURRENT_PHASE" ]]; then
    oc_warn "phase '${CURRENT_PHASE}' failed (status ${rc})"
  fi
  if [[ -n "$CTEST_PID" ]]; then
    oc_warn "interrupted: ending ctest and its tests (process group ${CTEST_PID})"
    kill -TERM -- "-${CTEST_PID}" 2>/dev/null || true
    wait "$CTEST_PID" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-${CTEST_PID}" 2>/dev/null || true
  fi
  if [[ "$STACK_STARTED" -eq 1 ]]; then
    if [[ "$OPT_KEEP_STACK" -eq 1 ]]; then
      oc_info "stack left running in ${STACK_DIR}:"
      oc_info "  eval \"\$(OUTCOMES_STACK_DIR=${STACK_DIR} deploy/stack.sh env)\""
      oc_info "  OUTCOMES_STACK_DIR=${STACK_DIR} deploy/stack.sh stop && rm -rf ${STACK_DIR}"
    else
      save_stack_logs
      if OUTCOMES_STACK_DIR="$STACK_DIR" bash "${OC_DEPLOY_DIR}/stack.sh" stop; then
        rm -rf "$STACK_DIR"
      else
        oc_warn "stack in ${STACK_DIR} did not stop cleanly; left in place"
        [[ "$rc" -ne 0 ]] || rc=1
      fi
    fi
  fi
  oc_info "total $(oc_elapsed "$RUN_T0") s, exit status ${rc}"
  exit "$rc"
}

run_ctest() {
  local -a args=(--test-dir "${OC_SOURCE_ROOT}/build-asan" --output-on-failure
    -j "${CTEST_PARALLEL:-2}")
  if [[ "$OPT_UNIT_ONLY" -eq 1 ]]; then
    args+=(-L '^(unit|lint)$')
  fi
  # In the background with `wait`, so that a SIGTERM or SIGINT to this
  # script runs its trap at once (bash defers traps until a foreground
  # child ends). In its own process group (setsid), so that cleanup can end
  # ctest and the tests it runs (ctest leaves them behind when killed)
  # before stopping the stack.
  setsid ctest "${args[@]}" "${CTEST_ARGS[@]}" &
  CTEST_PID="$!"
  wait "$CTEST_PID" || CTEST_RC=$?
  CTEST_PID=""
}

main() {
  parse_args "$@"
  cd "$OC_SOURCE_ROOT"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  oc_load_versions
  oc_print_versions

  # Sanitizers: stop at the first error, with a stack trace; leaks fail.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-print_suppressions=0}"

  if [[ "$OPT_INSTALL" -eq 1 ]]; then
    phase "install packages" oc_install_deps
  fi
  phase "build (build/ and build-asan/)" build_all
  # Fuzzing first, so that the main ctest summary is the last one printed.
  if [[ "${#CTEST_ARGS[@]}" -eq 0 ]]; then
    phase "build fuzz targets (build-fuzz/)" build_fuzz
    phase "fuzz (each target ${OC_FUZZ_SECONDS:-15} s)" run_fuzz
  fi
  if [[ "$OPT_UNIT_ONLY" -eq 0 ]]; then
    phase "start stack" start_stack
  fi
  phase "ctest" run_ctest
  if [[ "$CTEST_RC" -ne 0 ]]; then
    return "$CTEST_RC"
  fi
  return "$FUZZ_RC"
}

main "$@"
