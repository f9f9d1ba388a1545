#!/usr/bin/env bash
# Least privilege, proven on a fresh migrated database (issue 7, Security).
#
# In a database of its own on the stack's PostgreSQL, the test migrates the
# schema, creates two login roles (one granted outcomes_writer, one
# outcomes_analyst) and then, connected as each of them, does everything the
# role needs and tries everything it must not do. Every refusal must be
# SQLSTATE 42501 (insufficient_privilege); anything else fails the test.
#
#   writer   may:  read the catalog and schema_migrations; insert, update and
#                  delete facts, rollups and consumer offsets; insert dead
#                  letters and mark them redriven; create TEMP tables
#            not:  create, alter, drop or truncate tables; change the
#                  catalog; rewrite or delete dead letters; write
#                  schema_migrations; read the analyst views; touch another
#                  schema
#   analyst  may:  SELECT every view
#            not:  read any table (facts, rollups, dead_letters,
#                  consumer_offsets, metric_catalog, schema_migrations); write
#                  anything; see a bytea column through any view
#   both:    no privilege on tables or functions a later migration creates
#
# Run by ctest (label integration) with OC_BUILD_DIR and OC_SOURCE_DIR set
# and the stack's OUTCOMES_PG_CONNINFO exported. Fails, never skips.
# OC_TEST_SQL_DIR overrides the migrations directory (default schemas/sql).
set -euo pipefail

: "${OC_BUILD_DIR:?set by ctest: the build directory}"
: "${OC_SOURCE_DIR:?set by ctest: the source directory}"

DB=""
WRITER=""
ANALYST=""
T_DIR=""
SUPER=""
PSQL=""

# shellcheck source=tests/integration/tap.bash
source "$(dirname "$0")/tap.bash"

cleanup() {
  local rc=$?
  if [[ -n "$DB" ]]; then
    "$PSQL" "$SUPER" -XqAt -c "DROP DATABASE IF EXISTS \"${DB}\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  local r
  for r in "$WRITER" "$ANALYST"; do
    if [[ -n "$r" ]]; then
      "$PSQL" "$SUPER" -XqAt -c "DROP ROLE IF EXISTS \"${r}\"" >/dev/null 2>&1 || true
    fi
  done
  if [[ -n "$T_DIR" ]]; then
    rm -rf "$T_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# as ROLE SQL: run SQL connected as ROLE to the test database; prints psql's
# output (errors with their SQLSTATE, VERBOSITY verbose); returns psql's
# status.
as() {
  "$PSQL" "${SUPER} dbname=${DB} user=$1" -XqAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
    -c "$2" 2>&1
}

# allowed ROLE DESCRIPTION SQL
allowed() {
  local out
  if out="$(as "$1" "$3")"; then
    ok "$1 may $2"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "$1 may $2"
  fi
}

# denied ROLE DESCRIPTION SQL: must fail with SQLSTATE 42501.
denied() {
  local out code
  if out="$(as "$1" "$3")"; then
    printf '# succeeded: %s\n' "$3"
    not_ok "$1 cannot $2 (it could)"
    return
  fi
  code="$(grep -Eo 'ERROR: +[0-9A-Z]{5}' <<<"$out" | head -n 1 | awk '{print $2}')"
  if [[ "$code" == "42501" ]]; then
    ok "$1 cannot $2 (42501)"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "$1 cannot $2 (expected SQLSTATE 42501, got '${code:-none}')"
  fi
}

# super SQL: as the stack's superuser on the test database.
super() {
  "$PSQL" "${SUPER} dbname=${DB}" -XqAt -v ON_ERROR_STOP=1 -c "$1"
}

setup() {
  local sql_dir out
  [[ -n "${OUTCOMES_PG_CONNINFO:-}" ]] ||
    bail "OUTCOMES_PG_CONNINFO is not set: run tests/run.sh, or eval \"\$(deploy/stack.sh env)\" after deploy/stack.sh start"
  PSQL="$(command -v psql || true)"
  [[ -n "$PSQL" ]] || PSQL=/usr/lib/postgresql/15/bin/psql
  [[ -x "$PSQL" ]] || bail "psql not found: apt-get install postgresql-15"
  [[ -x "${OC_BUILD_DIR}/tools/outcomes-migrate" ]] ||
    bail "${OC_BUILD_DIR}/tools/outcomes-migrate is missing: build first"
  SUPER="$OUTCOMES_PG_CONNINFO"
  T_DIR="$(mktemp -d /tmp/oc_sec_roles.XXXXXX)"
  local tag="$$_${RANDOM}"
  DB="oc_sec_roles_${tag}"
  WRITER="oc_sec_writer_${tag}"
  ANALYST="oc_sec_analyst_${tag}"
  "$PSQL" "$SUPER" -XqAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${DB}\"" ||
    bail "cannot create database ${DB}"
  sql_dir="${OC_TEST_SQL_DIR:-${OC_SOURCE_DIR}/schemas/sql}"
  if ! out="$(OUTCOMES_PG_CONNINFO="${SUPER} dbname=${DB}" "${OC_BUILD_DIR}/tools/outcomes-migrate" \
    --sql-dir "$sql_dir" --catalog "${OC_SOURCE_DIR}/schemas/catalog.tsv" 2>&1)"; then
    printf '%s\n' "$out" | sed 's/^/# /'
    bail "outcomes-migrate failed on ${DB}"
  fi
  ok "fresh database ${DB} migrated from ${sql_dir}"
  # The group roles are cluster-wide (0001 creates them once); the login
  # roles are ours and dropped at exit.
  super "CREATE ROLE \"${WRITER}\" LOGIN; GRANT outcomes_writer TO \"${WRITER}\";
         CREATE ROLE \"${ANALYST}\" LOGIN; GRANT outcomes_analyst TO \"${ANALYST}\";" ||
    bail "cannot create the login roles"
}

check_writer() {
  local w="$WRITER" out
  allowed "$w" "read the metric catalog" "SELECT count(*) FROM outcomes.metric_catalog"
  allowed "$w" "read schema_migrations (the daemon's version check)" \
    "SELECT max(version) FROM outcomes.schema_migrations"
  allowed "$w" "create series with their parents (outcomes.series_ids)" \
    "SELECT count(*) FROM outcomes.series_ids(ARRAY['er_visits', 'er_visits'],
       ARRAY['org-sec', 'org-sec'], ARRAY['f1', 'f2'], ARRAY['MONTH', 'MONTH'])"
  allowed "$w" "insert and update facts, and log their invalidations" \
    "INSERT INTO outcomes.series_facts (series_id, period_start, value, source, observed_at,
       src_topic, src_partition, src_offset)
     SELECT series_id, '2024-03-01', 10, 'test', now(), 't', 0, 1 FROM outcomes.series
      WHERE org_id = 'org-sec' AND facility_id <> '';
     UPDATE outcomes.series_facts SET value = 11 WHERE src_offset = 1;
     INSERT INTO outcomes.rollup_pending (series_id, period_start)
     SELECT series_id, period_start FROM outcomes.series_facts;"
  allowed "$w" "read facts and rollups through their views, and the refresh status" \
    "SELECT count(*) FROM outcomes.facts; SELECT count(*) FROM outcomes.rollups;
     SELECT pending_facts FROM outcomes.rollup_status"
  allowed "$w" "refresh: claim invalidations, write and delete rollup rows, record it" \
    "DELETE FROM outcomes.rollup_pending;
     INSERT INTO outcomes.series_rollups (series_id, grain, bucket_start, n, sum_value,
       min_value, max_value, last_period, last_value)
     SELECT series_id, g.grain, '2024-01-01', 1, 11, 11, 11, '2024-03-01', 11
       FROM outcomes.series, (VALUES ('QUARTER'), ('YEAR')) g (grain)
      WHERE org_id = 'org-sec' AND facility_id = 'f1';
     UPDATE outcomes.series_rollups SET n = 2 WHERE grain = 'QUARTER';
     DELETE FROM outcomes.series_rollups WHERE grain = 'YEAR';
     UPDATE outcomes.rollup_refresh SET refreshed_at = now();"
  allowed "$w" "insert, update and delete consumer offsets" \
    "INSERT INTO outcomes.consumer_offsets (group_id, topic, partition, next_offset, first_offset)
     VALUES ('g', 't', 0, 3, 0), ('g', 't', 1, 0, 0);
     UPDATE outcomes.consumer_offsets SET next_offset = 4 WHERE group_id = 'g' AND partition = 0;
     DELETE FROM outcomes.consumer_offsets WHERE group_id = 'g' AND partition = 1;"
  allowed "$w" "insert dead letters (as the daemon does: ON CONFLICT DO NOTHING)" \
    "INSERT INTO outcomes.dead_letters (group_id, topic, partition, kafka_offset, key, value,
       error_code, error_message)
     VALUES ('g', 't', 0, 7, '\\x6b'::bytea, '\\xc301deadbeef'::bytea, 'decode', 'bad bytes')
     ON CONFLICT (group_id, topic, partition, kafka_offset) DO NOTHING;
     SELECT id FROM outcomes.dead_letters;"
  allowed "$w" "mark dead letters redriven" \
    "UPDATE outcomes.dead_letters SET redriven_at = now() WHERE kafka_offset = 7"
  allowed "$w" "create TEMP tables (the refresh works in them)" \
    "CREATE TEMP TABLE oc_stage_probe (x int); INSERT INTO oc_stage_probe VALUES (1);"

  denied "$w" "rewrite a dead letter's raw bytes" \
    "UPDATE outcomes.dead_letters SET value = '\\x00'::bytea"
  denied "$w" "rewrite a dead letter's reason" \
    "UPDATE outcomes.dead_letters SET error_message = 'nothing to see'"
  denied "$w" "delete dead letters" "DELETE FROM outcomes.dead_letters"
  denied "$w" "delete facts (a retraction leaves a marker; no fact row is ever deleted)" \
    "DELETE FROM outcomes.series_facts"
  denied "$w" "rename series" "UPDATE outcomes.series SET org_id = 'x'"
  denied "$w" "change the grain ladder" "DELETE FROM outcomes.rollup_grains"
  denied "$w" "create a table in schema outcomes" "CREATE TABLE outcomes.sec_probe (x int)"
  denied "$w" "create a view in schema outcomes" \
    "CREATE VIEW outcomes.sec_probe AS SELECT 1 AS x"
  denied "$w" "create a function in schema outcomes" \
    "CREATE FUNCTION outcomes.sec_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'"
  denied "$w" "create a table in schema public" "CREATE TABLE public.sec_probe (x int)"
  denied "$w" "create a schema" "CREATE SCHEMA sec_probe"
  denied "$w" "drop facts" "DROP TABLE outcomes.series_facts"
  denied "$w" "drop dead letters" "DROP TABLE outcomes.dead_letters"
  denied "$w" "alter facts" "ALTER TABLE outcomes.series_facts ADD COLUMN sec_probe int"
  denied "$w" "disable a table's triggers" \
    "ALTER TABLE outcomes.series_rollups DISABLE TRIGGER ALL"
  denied "$w" "truncate facts" "TRUNCATE outcomes.series_facts"
  denied "$w" "truncate rollups" "TRUNCATE outcomes.series_rollups"
  denied "$w" "truncate the invalidation log" "TRUNCATE outcomes.rollup_pending"
  denied "$w" "truncate consumer offsets" "TRUNCATE outcomes.consumer_offsets"
  denied "$w" "truncate dead letters" "TRUNCATE outcomes.dead_letters"
  denied "$w" "insert into the catalog" \
    "INSERT INTO outcomes.metric_catalog (code, name, unit, kind, direction, min_value, max_value)
     VALUES ('sec_probe', 'x', 'count', 'count', 'higher_is_better', 0, 1)"
  denied "$w" "update the catalog" "UPDATE outcomes.metric_catalog SET max_value = 1e12"
  denied "$w" "delete from the catalog" "DELETE FROM outcomes.metric_catalog"
  denied "$w" "alter the catalog" "ALTER TABLE outcomes.metric_catalog DROP COLUMN seed"
  denied "$w" "write schema_migrations" \
    "INSERT INTO outcomes.schema_migrations (version, name, checksum) VALUES (999, 'x', 'x')"
  denied "$w" "delete from schema_migrations" "DELETE FROM outcomes.schema_migrations"
  denied "$w" "read the analyst views" "SELECT count(*) FROM outcomes.metric_values"
  denied "$w" "become outcomes_owner" "SET ROLE outcomes_owner"
  denied "$w" "become outcomes_analyst" "SET ROLE outcomes_analyst"
  # Without the grant option, GRANT only warns; prove nothing was granted.
  out="$(as "$w" "GRANT SELECT ON outcomes.series_facts TO PUBLIC" || true)"
  if [[ "$out" == *"no privileges were granted"* ]]; then
    ok "$w cannot pass its privileges on (GRANT warns: no privileges were granted)"
  else
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "$w cannot pass its privileges on (GRANT warns: no privileges were granted)"
  fi
  denied "$ANALYST" "read facts after the writer's GRANT to PUBLIC" \
    "SELECT count(*) FROM outcomes.series_facts"
}

check_analyst() {
  local a="$ANALYST" v t
  for v in metric_values metric_changes org_benchmarks dead_letter_summary metrics \
    rollup_status fact_sources; do
    allowed "$a" "SELECT from the view outcomes.${v}" "SELECT count(*) FROM outcomes.${v}"
  done
  allowed "$a" "see the dead letters summarised (no bytes)" \
    "SELECT records FROM outcomes.dead_letter_summary WHERE error_code = 'decode'"
  for t in facts rollups series series_facts series_rollups rollup_pending rollup_refresh \
    dead_letters consumer_offsets metric_catalog schema_migrations; do
    denied "$a" "SELECT from the table outcomes.${t}" "SELECT count(*) FROM outcomes.${t}"
  done
  denied "$a" "read raw dead-letter bytes" "SELECT key, value FROM outcomes.dead_letters"
  denied "$a" "insert facts" \
    "INSERT INTO outcomes.series_facts (series_id, period_start, value, source,
       observed_at, src_topic, src_partition, src_offset)
     VALUES (1, '2024-03-01', 1, 's', now(), 't', 0, 9)"
  denied "$a" "update facts" "UPDATE outcomes.series_facts SET value = 0"
  denied "$a" "delete rollups" "DELETE FROM outcomes.series_rollups"
  denied "$a" "create series" \
    "SELECT * FROM outcomes.series_ids(ARRAY['er_visits'], ARRAY['x'], ARRAY[''], ARRAY['DAY'])"
  denied "$a" "insert dead letters" \
    "INSERT INTO outcomes.dead_letters (group_id, topic, partition, kafka_offset, error_code,
       error_message) VALUES ('g', 't', 0, 8, 'x', 'x')"
  denied "$a" "update consumer offsets" "UPDATE outcomes.consumer_offsets SET next_offset = 0"
  denied "$a" "update the catalog" "UPDATE outcomes.metric_catalog SET name = 'x'"
  denied "$a" "write through a view" "DELETE FROM outcomes.metrics"
  denied "$a" "update through a view" "UPDATE outcomes.metrics SET name = 'x'"
  denied "$a" "truncate rollups" "TRUNCATE outcomes.series_rollups"
  denied "$a" "create a table in schema outcomes" "CREATE TABLE outcomes.sec_probe (x int)"
  denied "$a" "create a table in schema public" "CREATE TABLE public.sec_probe (x int)"
  denied "$a" "become outcomes_writer" "SET ROLE outcomes_writer"
}

# No view the analyst can read has a bytea column (the raw key and value of
# a dead letter, or anything like them), whatever later migrations add.
check_no_bytes_for_analyst() {
  local out
  if ! out="$(super "SELECT c.table_name || '.' || c.column_name
      FROM information_schema.columns c
      JOIN pg_catalog.pg_class k ON k.relname = c.table_name
      JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace AND n.nspname = c.table_schema
     WHERE c.table_schema = 'outcomes' AND c.data_type IN ('bytea', 'ARRAY')
       AND (c.data_type = 'bytea' OR c.udt_name = '_bytea')
       AND pg_catalog.has_column_privilege('${ANALYST}', k.oid, c.column_name, 'SELECT')")"; then
    not_ok "query the analyst's readable bytea columns"
    return
  fi
  if [[ -z "$out" ]]; then
    ok "no table or view column of type bytea is readable by the analyst"
  else
    printf '# readable: %s\n' "$out"
    not_ok "no table or view column of type bytea is readable by the analyst"
  fi
  # The same, table by table: every base table of the schema is closed to
  # the analyst, whatever its name.
  if ! out="$(super "SELECT c.relname FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'outcomes' AND c.relkind IN ('r', 'p')
       AND pg_catalog.has_any_column_privilege('${ANALYST}', c.oid, 'SELECT')")"; then
    not_ok "query the tables readable by the analyst"
    return
  fi
  if [[ -z "$out" ]]; then
    ok "no base table of schema outcomes is readable by the analyst"
  else
    printf '# readable: %s\n' "$out"
    not_ok "no base table of schema outcomes is readable by the analyst"
  fi
}

# A later migration creates a table, a view and a function as outcomes_owner
# (as outcomes-migrate does with SET LOCAL ROLE): neither role may use them
# until that migration grants something.
check_future_objects() {
  if ! super "BEGIN; SET LOCAL ROLE outcomes_owner;
      CREATE TABLE outcomes.sec_future (x int, raw bytea);
      CREATE VIEW outcomes.sec_future_v AS SELECT x FROM outcomes.sec_future;
      CREATE FUNCTION outcomes.sec_future_f() RETURNS bigint LANGUAGE sql
        SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT count(*) FROM outcomes.facts';
      COMMIT;" >/dev/null; then
    not_ok "create objects as outcomes_owner, as a later migration would"
    return
  fi
  denied "$ANALYST" "read a table a later migration creates" "SELECT * FROM outcomes.sec_future"
  denied "$ANALYST" "read a view a later migration creates" "SELECT * FROM outcomes.sec_future_v"
  denied "$ANALYST" "call a function a later migration creates" "SELECT outcomes.sec_future_f()"
  denied "$WRITER" "read a table a later migration creates" "SELECT * FROM outcomes.sec_future"
  denied "$WRITER" "write a table a later migration creates" \
    "INSERT INTO outcomes.sec_future VALUES (1, NULL)"
  denied "$WRITER" "call a function a later migration creates" "SELECT outcomes.sec_future_f()"
}

# What docs/security.md asks of the DBA: no CONNECT or TEMP for PUBLIC on
# the database, CONNECT + TEMP for the writer, CONNECT for the analyst. The
# writer still does its work; the analyst can no longer create temp tables.
check_dba_hardening() {
  local out
  if ! out="$(super "REVOKE ALL ON DATABASE \"${DB}\" FROM PUBLIC;
      GRANT CONNECT, TEMPORARY ON DATABASE \"${DB}\" TO outcomes_writer;
      GRANT CONNECT ON DATABASE \"${DB}\" TO outcomes_analyst;" 2>&1)"; then
    printf '%s\n' "$out" | sed 's/^/# /'
    not_ok "apply the documented database hardening"
    return
  fi
  allowed "$WRITER" "stage in TEMP tables after the DBA's hardening" \
    "CREATE TEMP TABLE oc_stage_probe (x int)"
  allowed "$ANALYST" "read views after the DBA's hardening" \
    "SELECT count(*) FROM outcomes.metric_values"
  denied "$ANALYST" "create TEMP tables after the DBA's hardening" \
    "CREATE TEMP TABLE sec_probe (x int)"
}

main() {
  local t0=$SECONDS
  setup
  check_writer
  check_analyst
  check_no_bytes_for_analyst
  check_future_objects
  check_dba_hardening
  printf '1..%d\n' "$CHECKS"
  printf '# %d checks, %d failed, %d s\n' "$CHECKS" "$FAILURES" "$((SECONDS - t0))"
  [[ "$FAILURES" -eq 0 ]]
}

main "$@"
