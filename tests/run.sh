#!/usr/bin/env bash
# Builds and tests everything: installs missing Debian packages, builds a
# warning-free tree (build/, -Werror) and a sanitizer tree (build-asan/,
# ASan+UBSan, -Werror), builds the libFuzzer targets with clang
# (build-fuzz/) and runs each for OC_FUZZ_SECONDS, starts a private stack
# (Kafka + PostgreSQL) in a temporary directory, runs ctest from
# build-asan/, stops the stack on every exit path and exits with ctest's
# status (or the fuzzers' or build/'s when ctest passed).
#
#   tests/run.sh [--no-install] [--keep-stack] [--quick | --unit-only] [--] [CTEST ARGS...]
#
#   --no-install   do not check or install Debian packages
#   --keep-stack   leave the stack running afterwards (prints how to use/stop it)
#   --quick        the loop while developing, under 2 minutes: build-asan/
#                  only, no fuzzing; the unit tests and the short integration
#                  tests (ctest -LE 'long|exclusive')
#   --unit-only    no stack; build/ and build-asan/, the tests labelled "unit"
#                  and "lint"
#   CTEST ARGS     passed to ctest, e.g. -L unit, -R test_stack, -V (no
#                  fuzzing then)
#
# How the default run spends its time: while build-asan/ builds, the stack
# starts in the background, and so do, at a lower priority, the builds of
# the fuzz targets and of build/ and the fuzzers' runs. Then the tests labelled "exclusive" (they stop, pause or kill the shared
# broker or PostgreSQL, or bound times a busy neighbour could stretch) run
# one at a time; then every other test, CTEST_PARALLEL at a time, each on
# its own database, topics and consumer group. At the end, the 10 slowest
# tests. Logs of the background steps and of each ctest run:
# build-asan/Testing/run/.
#
# Environment: CMAKE_BUILD_PARALLEL_LEVEL (default: nproc), ASAN_OPTIONS,
# UBSAN_OPTIONS (defaults below), CTEST_PARALLEL (default 4: the
# integration tests wait on the broker and PostgreSQL as much as they
# compute), OC_FUZZ_SECONDS (default 15).
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/lib/common.sh"
# shellcheck source=deploy/lib/install-deps.sh
source "${OC_DEPLOY_DIR}/lib/install-deps.sh"
OC_LOG_TAG="run.sh"

OPT_INSTALL=1
OPT_KEEP_STACK=0
OPT_UNIT_ONLY=0
OPT_QUICK=0
CTEST_ARGS=()
STACK_DIR=""
STACK_STARTED=0
STACK_PID=""
CTEST_RC=0
BG_RC=0
CTEST_PID=""
RUN_T0="$(oc_now)"
ASAN_DIR="${OC_SOURCE_ROOT}/build-asan"
# Logs of the steps that run in the background (the stack's start, the
# builds of build-fuzz/ and build/, the fuzzers) and of each ctest run.
RUN_LOG_DIR="${ASAN_DIR}/Testing/run"

usage() {
  sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --no-install) OPT_INSTALL=0 ;;
    --keep-stack) OPT_KEEP_STACK=1 ;;
    --unit-only) OPT_UNIT_ONLY=1 ;;
    --quick) OPT_QUICK=1 ;;
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
  if [[ "$OPT_QUICK" -eq 1 && "$OPT_UNIT_ONLY" -eq 1 ]]; then
    oc_die "--quick and --unit-only exclude each other (try --help)"
  fi
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

# show_log_tail FILE: the end of a background step's log, then its path.
show_log_tail() {
  tail -n 30 "$1" | sed 's/^/    /' >&2
  oc_warn "full log: $1"
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
  ctest --test-dir "${OC_SOURCE_ROOT}/build-fuzz" --output-on-failure -L fuzz -j 2
}

# bg_step NAME LOG CMD...: runs CMD, its output into LOG, then appends
# "NAME<TAB>STATUS<TAB>SECONDS<TAB>LOG" to BG_STATUS; returns CMD's status.
bg_step() {
  local name="$1" log="$2" t0 rc=0
  shift 2
  t0="$(oc_now)"
  "$@" >"$log" 2>&1 || rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(oc_elapsed "$t0")" "$log" >>"$BG_STATUS"
  return "$rc"
}

# bg_steps: what needs no stack, one step after the other: the fuzz targets
# (built, then each run for OC_FUZZ_SECONDS), then build/.
bg_steps() {
  if bg_step "build fuzz targets (build-fuzz/)" "${RUN_LOG_DIR}/build-fuzz.log" build_fuzz; then
    bg_step "fuzz (each target ${OC_FUZZ_SECONDS:-15} s)" "${RUN_LOG_DIR}/fuzz.log" run_fuzz || true
  fi
  bg_step "build build/" "${RUN_LOG_DIR}/build.log" build_tree build || true
}

# start_background: bg_steps in the background from the start, at a lower
# priority (nice): it takes the CPU that build-asan/ leaves, then the time
# the stack takes to start, then what the first exclusive tests leave (they
# mostly wait: on a restarted broker or database, a session timeout, a
# paused process; their checks bound recovery times, so they keep the CPU
# first). In its own process group (setsid), so that cleanup can end it.
# wait_background prints one line per step, with the step's log when it
# failed.
BG_PID=""
BG_STATUS="${RUN_LOG_DIR}/background.status"
start_background() {
  : >"$BG_STATUS"
  export OC_SOURCE_ROOT RUN_LOG_DIR BG_STATUS
  # Where the scheduler groups processes by session (autogroup), the new
  # session's group gets a CPU share of its own whatever its processes'
  # nice value: the group's own nice value, in /proc/self/autogroup, is
  # what lowers its priority.
  setsid nice -n 10 bash -c "set -uo pipefail
    echo 10 2>/dev/null >/proc/self/autogroup || true
    $(declare -f oc_now oc_elapsed build_tree build_fuzz run_fuzz bg_step bg_steps)
    bg_steps" </dev/null &
  BG_PID="$!"
  oc_info "in the background (nice), logs in ${RUN_LOG_DIR}/: build-fuzz/ and" \
    "${OC_FUZZ_SECONDS:-15} s of each fuzz target, then build/"
}

wait_background() {
  local name rc secs log
  wait "$BG_PID" || true
  BG_PID=""
  while IFS=$'\t' read -r name rc secs log; do
    if [[ "$rc" -eq 0 ]]; then
      oc_info "background: ${name}: ok, ${secs} s"
    else
      show_log_tail "$log"
      oc_warn "background: ${name}: failed (status ${rc}) after ${secs} s"
      [[ "$BG_RC" -ne 0 ]] || BG_RC="$rc"
    fi
  done <"$BG_STATUS"
  if [[ "$BG_RC" -eq 0 && "$(wc -l <"$BG_STATUS")" -ne 3 ]]; then
    oc_warn "background: not every step ran (${BG_STATUS})"
    BG_RC=1
  fi
}

# start_stack: deploy/stack.sh start in the background, in a private state
# directory (never the user's own stack), its output in
# RUN_LOG_DIR/stack-start.log; wait_stack waits for it and exports the
# stack's environment.
STACK_T0=""
start_stack() {
  STACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/outcomes-test-stack.XXXXXX")"
  # 0755 so that the postgres user can reach it when we run as root.
  chmod 0755 "$STACK_DIR"
  export OUTCOMES_STACK_DIR="$STACK_DIR"
  STACK_STARTED=1
  # The broker's jars as the previous run left them: deploy/stack.sh
  # assembles them with Maven (10 s and more) only when kafka/libs/ is
  # missing or its stamp names other versions.
  if [[ -f "${KAFKA_LIBS_CACHE}/.assembled" ]]; then
    mkdir -p "${STACK_DIR}/kafka"
    cp -a "$KAFKA_LIBS_CACHE" "${STACK_DIR}/kafka/libs" || rm -rf "${STACK_DIR}/kafka/libs"
  fi
  STACK_T0="$(oc_now)"
  bash "${OC_DEPLOY_DIR}/stack.sh" start >"${RUN_LOG_DIR}/stack-start.log" 2>&1 &
  STACK_PID="$!"
  oc_info "starting the stack in the background in ${STACK_DIR} (log ${RUN_LOG_DIR}/stack-start.log)"
}

wait_stack() {
  local rc=0
  wait "$STACK_PID" || rc=$?
  STACK_PID=""
  if [[ "$rc" -ne 0 ]]; then
    show_log_tail "${RUN_LOG_DIR}/stack-start.log"
    oc_die "deploy/stack.sh start failed (status ${rc})"
  fi
  eval "$(bash "${OC_DEPLOY_DIR}/stack.sh" env)"
  keep_kafka_libs
  oc_info "stack up $(oc_elapsed "$STACK_T0") s after its start:" \
    "OUTCOMES_KAFKA_BROKERS=${OUTCOMES_KAFKA_BROKERS}" \
    "OUTCOMES_PG_CONNINFO='${OUTCOMES_PG_CONNINFO}'"
}

# keep_kafka_libs: the stack's jars into KAFKA_LIBS_CACHE for the next run,
# when they are not there already.
KAFKA_LIBS_CACHE="${ASAN_DIR}/Testing/kafka-libs"
keep_kafka_libs() {
  local libs="${STACK_DIR}/kafka/libs"
  if [[ -f "${libs}/.assembled" ]] &&
    ! cmp -s "${libs}/.assembled" "${KAFKA_LIBS_CACHE}/.assembled"; then
    rm -rf "${KAFKA_LIBS_CACHE}.tmp"
    if cp -a "$libs" "${KAFKA_LIBS_CACHE}.tmp"; then
      rm -rf "$KAFKA_LIBS_CACHE"
      mv "${KAFKA_LIBS_CACHE}.tmp" "$KAFKA_LIBS_CACHE"
    else
      rm -rf "${KAFKA_LIBS_CACHE}.tmp"
      oc_warn "could not keep the broker's jars in ${KAFKA_LIBS_CACHE}"
    fi
  fi
}

# save_stack_logs: copies the stack's logs next to ctest's, for CI artifacts.
save_stack_logs() {
  local dest="${ASAN_DIR}/Testing/stack-logs" f
  mkdir -p "$dest" || return 0
  for f in kafka/server.log kafka/stdout.log pg/postgres.log; do
    if [[ -f "${STACK_DIR}/${f}" ]]; then
      cp "${STACK_DIR}/${f}" "${dest}/${f//\//-}" || true
    fi
  done
}

# end_background: ends the background builds and fuzzers, and waits for a
# stack start still under way (stopping the stack needs its lock, which the
# start holds).
end_background() {
  if [[ -n "$BG_PID" ]]; then
    kill -TERM -- "-${BG_PID}" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
  if [[ -n "$STACK_PID" ]]; then
    oc_info "waiting for the stack's start to finish before stopping it"
    wait "$STACK_PID" 2>/dev/null || true
  fi
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
  end_background
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

# ctest ARGS...: ctest on build-asan/ with ARGS, its status into CTEST_RC
# (the first failure is kept), its log kept as RUN_LOG_DIR/ctest-N.log for
# print_slowest.
CTEST_RUNS=0
ctest_run() {
  local rc=0
  # In the background with `wait`, so that a SIGTERM or SIGINT to this
  # script runs its trap at once (bash defers traps until a foreground
  # child ends). In its own process group (setsid), so that cleanup can end
  # ctest and the tests it runs (ctest leaves them behind when killed)
  # before stopping the stack.
  setsid ctest --test-dir "$ASAN_DIR" --output-on-failure "$@" &
  CTEST_PID="$!"
  wait "$CTEST_PID" || rc=$?
  CTEST_PID=""
  CTEST_RUNS=$((CTEST_RUNS + 1))
  cp "${ASAN_DIR}/Testing/Temporary/LastTest.log" "${RUN_LOG_DIR}/ctest-${CTEST_RUNS}.log" 2>/dev/null ||
    true
  [[ "$CTEST_RC" -ne 0 ]] || CTEST_RC="$rc"
}

# print_slowest: the 10 slowest tests of this run's ctest logs.
print_slowest() {
  local secs name result i
  local -a logs=()
  for ((i = 1; i <= CTEST_RUNS; i++)); do
    [[ -f "${RUN_LOG_DIR}/ctest-${i}.log" ]] && logs+=("${RUN_LOG_DIR}/ctest-${i}.log")
  done
  [[ "${#logs[@]}" -gt 0 ]] || return 0
  oc_info "the 10 slowest tests (seconds):"
  awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
       /^Test time = / { secs = $4 }
       /^Test (Passed|Failed)\.$|^Test Not Run\.$/ { print secs, name, $2 }' "${logs[@]}" |
    sort -rn | head -n 10 |
    while read -r secs name result; do
      oc_info "$(printf '  %7.1f  %-40s %s' "$secs" "$name" "${result%.}")"
    done
}

main() {
  local full=0
  local -a jobs=(-j "${CTEST_PARALLEL:-4}")
  parse_args "$@"
  cd "$OC_SOURCE_ROOT"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  oc_load_versions
  oc_print_versions
  if [[ "${#CTEST_ARGS[@]}" -eq 0 && "$OPT_QUICK" -eq 0 && "$OPT_UNIT_ONLY" -eq 0 ]]; then
    full=1
  fi

  # Sanitizers: stop at the first error, with a stack trace; leaks fail.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-print_suppressions=0}"

  if [[ "$OPT_INSTALL" -eq 1 ]]; then
    phase "install packages" oc_install_deps
  fi
  mkdir -p "$RUN_LOG_DIR"
  if [[ "$OPT_UNIT_ONLY" -eq 0 ]]; then
    start_stack
  fi
  if [[ "$full" -eq 1 ]]; then
    start_background
  fi
  # build-asan/ in the foreground: the tests run from it.
  phase "build build-asan/" build_tree build-asan -DOC_SANITIZE=ON
  if [[ "$full" -eq 0 && "$OPT_QUICK" -eq 0 ]]; then
    phase "build build/" build_tree build
  fi
  if [[ "$OPT_UNIT_ONLY" -eq 0 ]]; then
    phase "wait for the stack" wait_stack
  fi
  if [[ "$full" -eq 1 ]]; then
    # The exclusive tests one at a time (the background steps, if not
    # done yet, beside them); then every other test side by side.
    phase "ctest: exclusive tests, one at a time" ctest_run -L exclusive
    phase "ctest: the other tests, ${CTEST_PARALLEL:-4} at a time" ctest_run -LE exclusive "${jobs[@]}"
    phase "wait for the background builds" wait_background
  elif [[ "$OPT_UNIT_ONLY" -eq 1 ]]; then
    phase "ctest" ctest_run -L '^(unit|lint)$' "${jobs[@]}"
  elif [[ "$OPT_QUICK" -eq 1 ]]; then
    phase "ctest" ctest_run -LE 'long|exclusive' "${jobs[@]}" "${CTEST_ARGS[@]}"
  else
    phase "ctest" ctest_run "${jobs[@]}" "${CTEST_ARGS[@]}"
  fi
  print_slowest
  if [[ "$CTEST_RC" -ne 0 ]]; then
    return "$CTEST_RC"
  fi
  return "$BG_RC"
}

main "$@"
