#!/usr/bin/env bash
# The demo data (the CSV, and the readmission rates as FHIR MeasureReports)
# through the whole pipeline (outcomes-produce to a 6-partition topic,
# outcomes-rollupd until caught up), then:
#   - every figure of deploy/demo/claims.csv (computed by the script that made
#     the data, independently of the pipeline) read back from the analyst
#     views, to 6 decimals: the readmission figures that arrived through
#     FHIR are those the script computed from its CSV rows;
#   - every SQL block of docs/analysts.md run as a login role granted only
#     outcomes_analyst: each must succeed and return rows, and the example of
#     outcomes.fact_sources the row the guide shows;
#   - publishing the demo files a second time changes no table.
source "$(dirname "$0")/pipeline_common.bash"

new_db guide
TOPIC="$(new_topic guide 6)"
GROUP="$(uniq_name guide)"
DEMO="${OC_SOURCE_DIR}/deploy/demo/observations.csv"
# The readmission rates, as FHIR MeasureReports; the demo catalog maps them.
DEMO_FHIR="${OC_SOURCE_DIR}/deploy/demo/readmissions.ndjson"
publish_demo() {
  produce -t "$TOPIC" "$DEMO" || fail "outcomes-produce exit $?"
  CATALOG="${OC_SOURCE_DIR}/deploy/demo/catalog.tsv" produce -t "$TOPIC" "$DEMO_FHIR" ||
    fail "outcomes-produce (FHIR) exit $?"
}

publish_demo
daemon "$TOPIC" "$GROUP"
check_accounting
rows="$(($(wc -l <"$DEMO") - 1 + $(wc -l <"$DEMO_FHIR")))"
facts="$(sql "SELECT count(*) FROM outcomes.facts WHERE NOT retracted")"
# 1149 rows and 72 MeasureReports, 1212 standing facts: deploy/demo/CLAIMS.md
# says so.
[[ "$facts" == 1212 && "$rows" == 1221 ]] || fail "facts $facts from $rows records, want 1212 from 1221"
consumed="$(sql "SELECT sum(applied + stale + dead_lettered) FROM outcomes.consumer_offsets")"
dead="$(sql "SELECT count(*) FROM outcomes.dead_letters")"
[[ "$consumed" == 1221 && "$dead" == 0 ]] || fail "consumed $consumed dead $dead, want 1221 and 0"
fhir="$(sql "SELECT count(*) FROM outcomes.fact_sources WHERE metric = 'readmission_rate_30d'
               AND source LIKE 'MeasureReport/readm-%'")"
[[ "$fhir" == 72 ]] || fail "$fhir readmission facts from the MeasureReports, want 72"
pass "demo: 1221 records consumed, 1212 standing facts (72 from FHIR), no dead letters"

# value_sql STATISTIC LEVEL ORG FACILITY METRIC PERIOD: a query for the figure.
value_sql() {
  local stat="$1" level="$2" org="$3" fac="$4" metric="$5" period="$6"
  local grain="${period%% *}" when="${period#* }" col="value" where
  where="metric = '$metric' AND level = '$level' AND fact_grain = 'MONTH' AND org_id = '$org'"
  [[ -z "$fac" ]] || where+=" AND facility_id = '$fac'"
  case "$stat" in
  "mean of the monthly values") col="mean_value" ;;
  esac
  case "$when" in
  *..*)
    echo "SELECT round(sum(value)::numeric, 6) FROM outcomes.metric_values
          WHERE $where AND grain = 'YEAR'
            AND bucket_start BETWEEN '${when%%..*}-01-01' AND '${when##*..}-01-01'"
    return
    ;;
  esac
  case "$stat" in
  "lowest monthly pooled value" | "highest monthly pooled value")
    local agg=min
    [[ "$stat" == highest* ]] && agg=max
    echo "SELECT round($agg(value)::numeric, 6) FROM outcomes.metric_values
          WHERE $where AND grain = 'MONTH'
            AND bucket_start >= '${when}-01-01' AND bucket_start < '$((when + 1))-01-01'"
    return
    ;;
  esac
  local start="$when-01-01"
  [[ "$grain" == MONTH ]] && start="$when-01"
  echo "SELECT round($col::numeric, 6) FROM outcomes.metric_values
        WHERE $where AND grain = '$grain' AND bucket_start = '$start'"
}

checked=0
while IFS=, read -r claim org fac metric level stat pbefore before pafter after _; do
  [[ "$claim" == claim ]] && continue
  for side in before after; do
    local_period="p${side}"
    period="${!local_period}"
    want="${!side}"
    [[ -n "$period" ]] || continue
    got="$(sql "$(value_sql "$stat" "$level" "$org" "$fac" "$metric" "$period")")"
    [[ -n "$got" ]] || fail "$claim: no value for $metric $period"
    sql "SELECT abs($got - $want) <= 0.000001 * greatest(1, abs($want))" | grep -qx t ||
      fail "$claim: $metric $period = $got, claims.csv says $want"
    checked=$((checked + 1))
  done
done <"${OC_SOURCE_DIR}/deploy/demo/claims.csv"
[[ "$checked" -ge 40 ]] || fail "only $checked figures checked"
pass "claims.csv: $checked figures equal in the analyst views"

# Every query of the analyst guide, as an analyst.
ANALYST="$(uniq_name analyst)"
sql "CREATE ROLE \"$ANALYST\" LOGIN; GRANT outcomes_analyst TO \"$ANALYST\"" >/dev/null
T_CLEAN_ROLE="$ANALYST"
trap 'psql "$BASE_CONNINFO" -qAtc "DROP DATABASE IF EXISTS \"$T_DB\" WITH (FORCE)" >/dev/null 2>&1;
      psql "$BASE_CONNINFO" -qAtc "DROP ROLE IF EXISTS \"$T_CLEAN_ROLE\"" >/dev/null 2>&1; cleanup' EXIT
python3 - "${OC_SOURCE_DIR}/docs/analysts.md" "$T_DIR/guide" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for i, block in enumerate(re.findall(r"```sql\n(.*?)```", text, re.S)):
    code = re.sub(r"--[^\n]*", "", block)  # the guide's comments show results
    for j, stmt in enumerate(s for s in code.split(";") if s.strip()):
        open(f"{sys.argv[2]}_{i:02d}_{j}.sql", "w").write(stmt.strip() + ";\n")
PY
queries=0
for f in "$T_DIR"/guide_*.sql; do
  out="$(psql "$OUTCOMES_PG_CONNINFO user=$ANALYST" -qAtX -v ON_ERROR_STOP=1 -f "$f" 2>&1)" ||
    fail "analyst query $(basename "$f") failed: $out"
  [[ -n "$out" ]] || fail "analyst query $(basename "$f") returned no rows: $(cat "$f")"
  queries=$((queries + 1))
done
[[ "$queries" -ge 11 ]] || fail "only $queries queries found in docs/analysts.md"
pass "docs/analysts.md: $queries queries run as outcomes_analyst, each with rows"

# The provenance example of the guide (the query on outcomes.fact_sources)
# returns the row the guide shows under it, field by field; the guide's
# topic is the quickstart's, this test's is its own.
python3 - "${OC_SOURCE_DIR}/docs/analysts.md" "$T_DIR/provenance" "$TOPIC" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = [b for b in re.findall(r"```sql\n(.*?)```", text, re.S) if "outcomes.fact_sources" in b]
if len(blocks) != 1:
    sys.exit(f"{len(blocks)} SQL blocks of docs/analysts.md read outcomes.fact_sources, want 1")
lines = blocks[0].rstrip("\n").split("\n")
header, row = ([c.strip() for c in l[2:].split("|")] for l in lines[-2:])
if not lines[-1].startswith("--") or len(header) != len(row) or "topic" not in header:
    sys.exit("the fact_sources example does not end with a result header and row")
row[header.index("topic")] = sys.argv[3]
open(sys.argv[2] + ".sql", "w").write(re.sub(r"--[^\n]*", "", blocks[0]))
open(sys.argv[2] + ".want", "w").write("|".join(row) + "\n")
PY
got="$(PGTZ=UTC psql "$OUTCOMES_PG_CONNINFO user=$ANALYST" -qAtX -v ON_ERROR_STOP=1 \
  -f "$T_DIR/provenance.sql" 2>&1)" || fail "the fact_sources example failed: $got"
[[ "$got" == "$(cat "$T_DIR/provenance.want")" ]] ||
  fail "the fact_sources example returned '$got', the guide shows '$(cat "$T_DIR/provenance.want")'"
pass "docs/analysts.md: the fact_sources example returns the row it shows: $got"

# A re-run of the same files is a no-op for every table.
before="$(tables_md5)"
publish_demo
daemon "$TOPIC" "$GROUP"
check_accounting
[[ "$(tables_md5)" == "$before" ]] || fail "publishing the demo again changed the tables"
stale="$(sql "SELECT sum(stale) FROM outcomes.consumer_offsets")"
[[ "$stale" -ge 1221 ]] || fail "second pass: $stale stale, want at least 1221"
pass "second publish: tables unchanged, every record counted stale"
