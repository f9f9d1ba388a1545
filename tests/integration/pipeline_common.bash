# pipeline_common.bash - helpers for the pipeline shell tests (sourced,
# not a test itself: ctest runs only *.sh).
#
# Each test gets its own database (migrated from the source tree), its own
# topics and consumer group. Needs OC_BUILD_DIR, OC_SOURCE_DIR (set by
# ctest) and the stack's OUTCOMES_KAFKA_BROKERS and OUTCOMES_PG_CONNINFO.
set -euo pipefail

# shellcheck source=tests/integration/tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/tap.bash"

: "${OC_BUILD_DIR:?set by ctest: the build directory}"
: "${OC_SOURCE_DIR:?set by ctest: the source directory}"
for v in OUTCOMES_KAFKA_BROKERS OUTCOMES_PG_CONNINFO; do
  [[ -n "${!v:-}" ]] || fail "$v is not set: run tests/run.sh, or" \
    'eval "$(deploy/stack.sh env)" after deploy/stack.sh start'
done

REPLAY="${OC_BUILD_DIR}/tools/outcomes-replay"
DAEMON="${OC_BUILD_DIR}/consumers/outcomes-rollupd"
PRODUCE="${OC_BUILD_DIR}/producers/outcomes-produce"
MIGRATE="${OC_BUILD_DIR}/tools/outcomes-migrate"
GEN="${OC_BUILD_DIR}/tools/outcomes-gen"
CATALOG="${OC_SOURCE_DIR}/schemas/catalog.tsv"
SCHEMAS="${OC_SOURCE_DIR}/schemas/avro"
SQL_DIR="${OC_SOURCE_DIR}/schemas/sql"
BROKERS="${OUTCOMES_KAFKA_BROKERS}"
BASE_CONNINFO="${OUTCOMES_PG_CONNINFO}"
HDR="org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at"

T_DIR="$(mktemp -d "/tmp/oc_pipeline_test.XXXXXX")"
T_PIDS=()
T_DB=""
# Commands (eval'ed strings) that undo a test's own set-up, a tablespace or
# a mount: the cleanup runs them after dropping the database, last added
# first, ignoring their failures.
T_CLEANUP=()
cleanup() {
  local pid i
  for pid in "${T_PIDS[@]}"; do
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  if [[ -n "$T_DB" ]]; then
    psql "$BASE_CONNINFO" -qAtc "DROP DATABASE IF EXISTS \"$T_DB\" WITH (FORCE)" \
      >/dev/null 2>&1 || true
  fi
  for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${T_CLEANUP[i]}" || true
  done
  rm -rf "$T_DIR"
}
trap cleanup EXIT

uniq_name() { echo "${1}_$$_${RANDOM}_$(date +%s%N | tail -c 6)"; }

# new_db PREFIX [CATALOG]: create and migrate a database (T_DB_OPTIONS, if
# set, is appended to CREATE DATABASE: "TABLESPACE x"); exports
# OUTCOMES_PG_CONNINFO pointing at it (later keywords win in a conninfo string).
new_db() {
  T_DB="$(uniq_name "$1")"
  psql "$BASE_CONNINFO" -qAtc "CREATE DATABASE \"$T_DB\" ${T_DB_OPTIONS:-}" >/dev/null ||
    fail "create db"
  export OUTCOMES_PG_CONNINFO="$BASE_CONNINFO dbname=$T_DB"
  psql "$OUTCOMES_PG_CONNINFO" -qAtc "CREATE SCHEMA IF NOT EXISTS outcomes" >/dev/null
  migrate "${2:-$CATALOG}"
}

migrate() {
  "$MIGRATE" --sql-dir "$SQL_DIR" --catalog "$1" >"$T_DIR/migrate.log" 2>&1 ||
    fail "migrate: $(cat "$T_DIR/migrate.log")"
}

sql() { psql "$OUTCOMES_PG_CONNINFO" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# shellcheck source=tests/integration/topic.bash
source "$(dirname "${BASH_SOURCE[0]}")/topic.bash"

produce() {
  "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -q "$@"
}

# daemon TOPIC GROUP [ARGS...]: run outcomes-rollupd until caught up.
daemon() {
  local topic="$1" group="$2"
  shift 2
  "$DAEMON" -X "topic=$topic" -X "group.id=$group" -X "schema.dir=$SCHEMAS" \
    -X batch.max.records=50 --exit-at-end "$@" >>"$T_DIR/daemon.log" 2>&1 ||
    fail "daemon exit $?: $(tail -5 "$T_DIR/daemon.log")"
}

replay() { "$REPLAY" "$@"; }


# table_md5 TABLE: md5 of its rows in key order, without the time columns
# that a replay rewrites (ingested_at, updated_at, created_at).
table_md5() {
  local cols
  cols="$(sql "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position)
               FROM information_schema.columns WHERE table_schema = 'outcomes'
               AND table_name = '$1'
               AND column_name NOT IN ('ingested_at', 'updated_at', 'created_at')")"
  sql "SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), ''))
       FROM (SELECT $cols FROM outcomes.$1) t"
}

tables_md5() {
  echo "facts=$(table_md5 facts) rollups=$(table_md5 rollups)" \
    "dead_letters=$(table_md5 dead_letters)"
}

# The accounting invariant of every row of consumer_offsets.
check_accounting() {
  local bad
  bad="$(sql "SELECT count(*) FROM outcomes.consumer_offsets
              WHERE applied + stale + dead_lettered <> next_offset - first_offset + rewound")"
  [[ "$bad" == 0 ]] || fail "accounting invariant broken: $(sql "TABLE outcomes.consumer_offsets")"
}

# rollups_current: no fact change waits for the rollup refresh (a refresh
# in flight still shows its changes as pending until it commits).
rollups_current() {
  [[ "$(psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "SELECT pending_facts FROM outcomes.rollup_status" \
    2>/dev/null)" == 0 ]]
}

# watermark TOPIC PARTITION: the high-water mark.
high_watermark() {
  kcat -Q -b "$BROKERS" -t "$1:$2:-1" 2>/dev/null | awk '{print $NF}'
}

wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
