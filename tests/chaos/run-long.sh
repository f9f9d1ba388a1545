#!/usr/bin/env bash
# run-long.sh - the long form of every chaos scenario, against a private
# stack, and the summary table.
#
#   tests/chaos/run-long.sh [BUILD_DIR]        (default: build)
#
# Starts (and at the end stops, unless it was already running) a private
# stack in $OUTCOMES_STACK_DIR (default /tmp/outcomes-chaos-$(id -u)), so
# the broker kills and PostgreSQL stops of the scenarios touch nothing else.
# Runs tests/integration/test_chaos_*.sh one after the other with
# CHAOS_LONG=1 (more records and faults: broker killed 3 times, PostgreSQL
# stopped 20 times, PostgreSQL's disk filled 4 times, 3 zombie pauses,
# 60 rebalance-storm events (three instances stopped, killed and joined),
# 20,000 hostile messages, 4x the skewed data), each log in $CHAOS_LOG_DIR
# (default /tmp/outcomes-chaos-logs), and prints one row per scenario from
# its result line:
#   scenario  faults  records  lost  double_counted  recovery_s  peak_rss_kb  status
# A scenario that exits 77 was skipped (disk: not root, cannot mount a
# tmpfs): status "skip", not a failure. Exit status 0 when every scenario
# passed or was skipped, 1 otherwise. Takes about 15 min (the storm 3-4).
# CHAOS_ONLY="broker pg" limits the run to those scenarios.
# Then scenario "crash": tests/integration/test_rollupd_crash (its binary in
# BUILD_DIR/tests) with 50 kill -9 of outcomes-rollupd under load over
# 200,000 records (CHAOS_CRASH_KILLS, CHAOS_CRASH_RECORDS; ctest runs 20
# over 30,000), about 4 min under ASan. The hostile scenario's long form
# adds 5,000 body flips to its 20,000 hostile messages.
set -euo pipefail

src="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(realpath -m "${1:-$src/build}")"
[[ -x "$build/consumers/outcomes-rollupd" ]] || {
  echo "run-long.sh: no build in $build (cmake --build first)" >&2
  exit 2
}
export OUTCOMES_STACK_DIR="${OUTCOMES_STACK_DIR:-/tmp/outcomes-chaos-$(id -u)}"
logs="${CHAOS_LOG_DIR:-/tmp/outcomes-chaos-logs}"
mkdir -p "$logs"

was_running=0
if "$src/deploy/stack.sh" status >/dev/null 2>&1; then was_running=1; fi
# shellcheck disable=SC2317 # called by the EXIT trap
stop_stack() {
  if [[ $was_running == 0 ]]; then "$src/deploy/stack.sh" stop >/dev/null 2>&1 || true; fi
}
trap stop_stack EXIT
"$src/deploy/stack.sh" start >"$logs/stack.log" 2>&1 || {
  cat "$logs/stack.log" >&2
  exit 1
}
eval "$("$src/deploy/stack.sh" env)"
export OC_BUILD_DIR="$build" OC_SOURCE_DIR="$src" CHAOS_LONG=1

rows=()
rc=0
for t in "$src"/tests/integration/test_chaos_*.sh crash; do
  name="$(basename "$t" .sh)"
  name="${name#test_chaos_}"
  if [[ -n "${CHAOS_ONLY:-}" && " $CHAOS_ONLY " != *" $name "* ]]; then continue; fi
  echo "== $name (log $logs/$name.log)" >&2
  start=$SECONDS
  trc=0
  if [[ $t == crash ]]; then
    if [[ -x "$build/tests/test_rollupd_crash" ]]; then
      OC_CRASH_KILLS="${CHAOS_CRASH_KILLS:-50}" OC_CRASH_RECORDS="${CHAOS_CRASH_RECORDS:-200000}" \
        CMOCKA_MESSAGE_OUTPUT=STDOUT "$build/tests/test_rollupd_crash" >"$logs/$name.log" 2>&1 ||
        trc=$?
    else
      echo "no $build/tests/test_rollupd_crash (built with the tests?)" >"$logs/$name.log"
      trc=1
    fi
  else
    bash "$t" >"$logs/$name.log" 2>&1 || trc=$?
  fi
  case "$trc" in
  0) status=ok ;;
  77) status=skip ;;
  *)
    status=FAIL
    rc=1
    ;;
  esac
  line="$(grep '^chaos scenario=' "$logs/$name.log" | tail -1 || true)"
  if [[ -z "$line" ]]; then
    rows+=("$name - - - - - - $status($((SECONDS - start))s)")
    tail -3 "$logs/$name.log" >&2
    continue
  fi
  # shellcheck disable=SC2001 # key=value pairs to values
  rows+=("$(sed -E 's/^chaos //; s/[a-z_]+=//g' <<<"$line") $status($((SECONDS - start))s)")
done

{
  echo "scenario faults records lost double_counted recovery_s peak_rss_kb status"
  printf '%s\n' "${rows[@]}"
} | column -t
exit "$rc"
