#!/usr/bin/env bash
# test_migrate_check.sh - outcomes-migrate --check: on a migrated database
# with the shipped catalog it prints nothing and exits 0; against a catalog
# file that differs (a unit, a bound, a metric added, one removed) and a
# table an operator edited, it prints one line per difference, exactly, and
# exits 1; a migration not applied is named; nothing is written either way
# (the catalog table, the migrations table, no notification on
# outcomes_catalog); --check with --status is a usage error (64), a bad
# catalog file a configuration error (78).
# shellcheck source=tests/integration/pipeline_common.bash
source "$(dirname "$0")/pipeline_common.bash"

new_db migrate_check
# check CATALOG: --check; its standard output in OUT, its status in rc,
# its standard error in ERR.
check() {
  set +e
  OUT="$("$MIGRATE" --sql-dir "$SQL_DIR" --catalog "$1" --check 2>"$T_DIR/check.err")"
  rc=$?
  set -e
  ERR="$(cat "$T_DIR/check.err")"
}

check "$CATALOG"
[[ "$rc" == 0 && -z "$OUT$ERR" ]] || fail "--check on a current database: exit $rc: $OUT$ERR"
pass "a current database: no output, exit 0"

# The file: er_visits with another unit and minimum, hie_users gone, a new
# metric; the table: ar_days's unit edited by hand.
awk -F'\t' -v OFS='\t' '$1 == "er_visits" { $3 = "{visits}"; $6 = "1" } $1 != "hie_users"' \
  "$CATALOG" >"$T_DIR/catalog.tsv"
printf 'new_metric\tNew\t{count}\tcount\thigher_is_better\t0\t10\t\tfor the test\t%s\n' \
  "https://example.org/fhir/Measure/new" >>"$T_DIR/catalog.tsv"
sql "UPDATE outcomes.metric_catalog SET unit = 'days' WHERE code = 'ar_days'" >/dev/null
sql "UPDATE outcomes.metric_catalog SET description = 'say \"why\"' WHERE code = 'cpoe_rate'" \
  >/dev/null
catalog_before="$(table_md5 metric_catalog) $(table_md5 schema_migrations)"
# A session listening on outcomes_catalog while --check runs (its sleep
# seen running means its LISTEN is in place).
psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "LISTEN outcomes_catalog" -c "SELECT pg_sleep(5)" \
  >"$T_DIR/listen.out" 2>&1 &
listener=$!
T_PIDS+=("$listener")
listening() {
  [[ "$(sql "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query = 'SELECT pg_sleep(5)'")" == 1 ]]
}
wait_for 10 listening || fail "the listening session did not start"

check "$T_DIR/catalog.tsv"
want="ar_days: unit: file \"d\" vs database \"days\"
er_visits: unit: file \"{visits}\" vs database \"{count}\"
er_visits: min: file 1 vs database 0
cpoe_rate: description: file \"$(awk -F'\t' '$1 == "cpoe_rate" { print $9 }' "$CATALOG")\" vs database \"say \\\"why\\\"\"
new_metric: only in the file
hie_users: only in the database"
[[ "$rc" == 1 ]] || fail "--check against a changed catalog: exit $rc: $OUT"
[[ "$OUT" == "$want" ]] || fail "--check printed:
$OUT
expected:
$want"
[[ "$(table_md5 metric_catalog) $(table_md5 schema_migrations)" == "$catalog_before" ]] ||
  fail "--check wrote to the database"
# One write after it, which the session must hear: the only notification.
sql "UPDATE outcomes.metric_catalog SET name = name WHERE code = 'ar_days'" >/dev/null
wait "$listener" || fail "listening session: $(cat "$T_DIR/listen.out")"
[[ "$(grep -c 'outcomes_catalog' "$T_DIR/listen.out")" == 1 ]] ||
  fail "--check announced a change: $(cat "$T_DIR/listen.out")"
pass "a changed catalog: one line per difference, exit 1, nothing written or announced"

sql "DELETE FROM outcomes.schema_migrations WHERE version = 8" >/dev/null
check "$CATALOG"
[[ "$rc" == 1 ]] || fail "--check with 0008 not recorded: exit $rc: $OUT"
[[ "$OUT" == "migration 0008_catalog_ucum: not applied
ar_days: unit: file \"d\" vs database \"days\"
cpoe_rate: description: file \"$(awk -F'\t' '$1 == "cpoe_rate" { print $9 }' "$CATALOG")\" vs database \"say \\\"why\\\"\"" ]] ||
  fail "--check with 0008 not recorded printed: $OUT"
# Applied again over itself, 0008 changes nothing; the sync puts the file back.
migrate "$CATALOG"
check "$CATALOG"
[[ "$rc" == 0 && -z "$OUT" ]] || fail "--check after the migration: exit $rc: $OUT"
pass "a migration not applied is named; once applied (over itself) and synced, exit 0"

run_rc rc "$MIGRATE" --sql-dir "$SQL_DIR" --catalog "$CATALOG" --check --status
[[ "$rc" == 64 && "$OUT" == *"--check goes with neither --status nor --dry-run"* ]] ||
  fail "--check --status: exit $rc: $OUT"
printf 'code\tname\n' >"$T_DIR/bad.tsv"
check "$T_DIR/bad.tsv"
[[ "$rc" == 78 && -z "$OUT" && "$ERR" == *"bad.tsv:1: header: missing column 'unit'"* ]] ||
  fail "--check with a bad catalog: exit $rc: $OUT$ERR"
pass "--check with --status is a usage error (64); a bad catalog file a configuration error (78)"
