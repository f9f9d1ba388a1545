# produce_common.bash - helpers for the outcomes-produce shell tests
# (sourced, not a test itself: ctest runs only *.sh).
#
# Needs OC_BUILD_DIR, OC_SOURCE_DIR (set by ctest) and the stack's
# OUTCOMES_KAFKA_BROKERS (tests/run.sh, or eval "$(deploy/stack.sh env)").
set -euo pipefail

# shellcheck source=tests/integration/tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/tap.bash"

: "${OC_BUILD_DIR:?set by ctest: the build directory}"
: "${OC_SOURCE_DIR:?set by ctest: the source directory}"
[[ -n "${OUTCOMES_KAFKA_BROKERS:-}" ]] || fail "OUTCOMES_KAFKA_BROKERS is not set: run" \
  'tests/run.sh, or eval "$(deploy/stack.sh env)" after deploy/stack.sh start'

PRODUCE="${OC_BUILD_DIR}/producers/outcomes-produce"
CATALOG="${OC_SOURCE_DIR}/schemas/catalog.tsv"
SCHEMAS="${OC_SOURCE_DIR}/schemas/avro"
BROKERS="${OUTCOMES_KAFKA_BROKERS}"
HDR="org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at"

T_DIR="$(mktemp -d "/tmp/oc_produce_test.XXXXXX")"
T_PIDS=()
cleanup() {
  local pid
  for pid in "${T_PIDS[@]}"; do
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  rm -rf "$T_DIR"
}
trap cleanup EXIT

# produce ARGS...: the producer with the test catalog and schemas.
produce() {
  "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" "$@"
}

# shellcheck source=tests/integration/topic.bash
source "$(dirname "${BASH_SOURCE[0]}")/topic.bash"

# topic_dump TOPIC: "key<TAB>value-size" per record (-1 = tombstone).
topic_dump() {
  kcat -C -b "$BROKERS" -t "$1" -e -q -f '%k\t%S\n'
}

topic_count() { topic_dump "$1" | wc -l; }

# gen_csv FILE ROWS [FIRST]: ROWS valid rows of er_visits, one fact each,
# with a fixed observed_at, so that keys are "org-N||er_visits|DAY|date".
gen_csv() {
  local first="${3:-0}"
  awk -v n="$2" -v first="$first" -v hdr="$HDR" 'BEGIN {
    print hdr
    for (i = first; i < first + n; i++) {
      d = i % 3360; y = 2000 + int(d / 336); m = 1 + int((d % 336) / 28); dd = 1 + d % 28
      printf "org-%d,,er_visits,DAY,%04d-%02d-%02d,%d,,,gen,2024-01-01T00:00:00Z\n", \
        int(i / 3360), y, m, dd, i
    }
  }' >"$1"
}

# keys_of_csv FILE: the Kafka keys gen_csv's rows get, sorted.
keys_of_csv() {
  awk -F, 'NR > 1 { print $1 "|" $2 "|" $3 "|" $4 "|" $5 }' "$1" | sort
}

# summary_field TEXT NAME: the number after NAME in the summary line.
summary_field() {
  grep -Eo "$2 [0-9]+" <<<"$1" | tail -1 | awk '{print $NF}'
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
