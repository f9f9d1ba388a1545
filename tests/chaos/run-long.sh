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
# stopped 20 times, 3 zombie pauses, 20,000 hostile messages, 4x the skewed
# data), each log in $CHAOS_LOG_DIR (default /tmp/outcomes-chaos-logs), and
# prints one row per scenario from its result line:
#   scenario  faults  records  lost  double_counted  recovery_s  peak_rss_kb  status
# Exit status 0 when every scenario passed, 1 otherwise. Takes about 10 min.
# CHAOS_ONLY="broker pg" limits the run to those scenarios.
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
for t in "$src"/tests/integration/test_chaos_*.sh; do
  name="$(basename "$t" .sh)"
  name="${name#test_chaos_}"
  if [[ -n "${CHAOS_ONLY:-}" && " $CHAOS_ONLY " != *" $name "* ]]; then continue; fi
  echo "== $name (log $logs/$name.log)" >&2
  start=$SECONDS
  if bash "$t" >"$logs/$name.log" 2>&1; then status=ok; else
    status=FAIL
    rc=1
  fi
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
