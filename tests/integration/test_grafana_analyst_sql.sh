#!/usr/bin/env bash
# Every SQL query of the analyst dashboard (deploy/grafana/outcomes-analyst.json:
# its panels and its template variables) run as a login role granted only
# outcomes_analyst, on a database migrated by outcomes-migrate and loaded
# through the pipeline (outcomes-produce, outcomes-rollupd --exit-at-end)
# with 24 months of two metrics for three orgs. Grafana's macros are
# replaced by the SQL Grafana writes for them ($__timeFilter(c) is
# c BETWEEN 'FROM' AND 'TO' in RFC 3339 UTC), its variables by values (a
# multi-value one as a quoted list). Each query must succeed, return the
# columns its panel expects, and the rows and figures the data gives; a
# panel or variable without an expectation here fails the test.
source "$(dirname "$0")/pipeline_common.bash"

DASHBOARD="${OC_SOURCE_DIR}/deploy/grafana/outcomes-analyst.json"
new_db grafana
TOPIC="$(new_topic grafana 2)"
GROUP="$(uniq_name grafana)"

# Org i (1..3) of org-a, org-b, org-c, month m of 2023 and 2024: ER visits
# 1000 i + m, 100 more in 2024; readmissions 100 + 10 i + m % 3 of 1000
# discharges, 10 fewer in 2024.
python3 - >"${T_DIR}/load.csv" <<'PY'
print("org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at")
for i, org in enumerate(("org-a", "org-b", "org-c"), 1):
    for y in (2023, 2024):
        for m in range(1, 13):
            p = f"{y}-{m:02d}-01"
            er = 1000 * i + m + (100 if y == 2024 else 0)
            n = 100 + 10 * i + m % 3 - (10 if y == 2024 else 0)
            print(f"{org},,er_visits,MONTH,{p},{er},,,test,2025-01-02T00:00:00Z")
            print(f"{org},,readmission_rate_30d,MONTH,{p},{n / 1000},{n},1000,test,2025-01-02T00:00:00Z")
PY
produce -t "$TOPIC" "${T_DIR}/load.csv" >"${T_DIR}/produce.log" 2>&1 ||
  fail "outcomes-produce exit $?: $(tail -n 5 "${T_DIR}/produce.log")"
daemon "$TOPIC" "$GROUP"
check_accounting
[[ "$(sql "SELECT count(*) FROM outcomes.facts WHERE NOT retracted")" == 144 ]] ||
  fail "facts: $(sql "SELECT count(*) FROM outcomes.facts")"
rollups_current || fail "rollups not current after --exit-at-end"
pass "loaded: 144 facts of 2 metrics for 3 orgs, rollups current"

ANALYST="$(uniq_name grafana_analyst)"
sql "CREATE ROLE \"$ANALYST\" LOGIN; GRANT outcomes_analyst TO \"$ANALYST\"" >/dev/null
T_CLEANUP+=("psql \"\$BASE_CONNINFO\" -qAtc 'DROP ROLE IF EXISTS \"$ANALYST\"' >/dev/null 2>&1")
NMETRICS="$(sql "SELECT count(*) FROM outcomes.metric_catalog")"

# queries SET FROM TO METRIC FACT_GRAIN GRAIN ORGS: the dashboard's queries
# with macros and variables replaced, one file each under T_DIR/SET/, and
# T_DIR/SET/index: "FILE<TAB>TITLE" lines. ORGS: comma-separated ids.
queries() {
  mkdir -p "${T_DIR}/$1"
  python3 - "$DASHBOARD" "${T_DIR}/$1" "${@:2}" <<'PY' || fail "cannot read the queries of $DASHBOARD"
import json, re, sys
path, out, t_from, t_to, metric, fact_grain, grain, orgs = sys.argv[1:9]
d = json.load(open(path))
values = {"metric": metric, "fact_grain": fact_grain, "grain": grain,
          "org": ",".join("'" + o + "'" for o in orgs.split(","))}
found = [("variable " + v["name"], v["query"]) for v in d["templating"]["list"] if v["type"] == "query"]
found += [(p["title"], t["rawSql"]) for p in d["panels"] for t in p.get("targets", [])]
index = []
for n, (title, q) in enumerate(found):
    q = re.sub(r"\$__timeFilter\(([^()]+)\)", rf"\1 BETWEEN '{t_from}' AND '{t_to}'", q)
    q = q.replace("$__timeFrom()", f"'{t_from}'").replace("$__timeTo()", f"'{t_to}'")
    q = re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), q)
    if "$" in q:
        sys.exit(f"{title}: a macro or variable left: {q}")
    f = f"{out}/{n:02d}.sql"
    open(f, "w").write(q + ";\n")
    title = re.sub(r"\$(\w+)", lambda m: "$" + m.group(1), title)
    index.append(f"{f}\t{title}")
open(f"{out}/index", "w").write("\n".join(index) + "\n")
PY
}

# as_analyst FILE: the query's result as CSV with its header, as the analyst.
as_analyst() {
  PGTZ=UTC psql "$OUTCOMES_PG_CONNINFO user=$ANALYST" -X -q --csv -v ON_ERROR_STOP=1 -f "$1" 2>&1
}

# check SET TITLE COLUMNS ROWS [LINE...]: the query of TITLE in SET succeeds
# as the analyst with exactly COLUMNS (the CSV header), ROWS rows, and each
# LINE among its rows (an extended regular expression matching a whole row).
CHECKED=()
check() {
  local set="$1" title="$2" cols="$3" rows="$4" file out line
  shift 4
  file="$(awk -F'\t' -v t="$title" '$2 == t { print $1 }' "${T_DIR}/${set}/index")"
  [[ -n "$file" ]] || fail "$set: no query titled '$title' in the dashboard"
  out="$(as_analyst "$file")" || fail "$set: '$title' failed as $ANALYST: $out"
  [[ "$(head -n 1 <<<"$out")" == "$cols" ]] ||
    fail "$set: '$title' columns $(head -n 1 <<<"$out"), want $cols"
  [[ "$(($(wc -l <<<"$out") - 1))" == "$rows" ]] ||
    fail "$set: '$title' returned $(($(wc -l <<<"$out") - 1)) rows, want $rows: $(head -n 5 <<<"$out")"
  for line; do
    grep -qxE -- "$line" <<<"$out" || fail "$set: '$title' has no row $line: $(head -n 8 <<<"$out")"
  done
  CHECKED+=("${set}	${title}")
}

# Every query of SET was checked.
all_checked() {
  local title
  while IFS=$'\t' read -r _ title; do
    grep -qxF "$1	$title" <<<"$(printf '%s\n' "${CHECKED[@]}")" ||
      fail "$1: '$title' has no expectation in this test"
  done <"${T_DIR}/$1/index"
}

# Two years of ER visits by month, the three orgs.
queries er 2023-01-01T00:00:00Z 2024-12-31T23:59:59Z er_visits MONTH MONTH org-a,org-b,org-c
check er "variable metric" "__text,__value" "$NMETRICS" "Emergency room visits,er_visits"
check er "variable fact_grain" "fact_grain" 1 "MONTH"
check er "variable grain" "grain" 3
[[ "$(as_analyst "$(awk -F'\t' '$2 == "variable grain" { print $1 }' "${T_DIR}/er/index")" | tr '\n' ' ')" == "grain MONTH QUARTER YEAR " ]] ||
  fail "variable grain: not MONTH, QUARTER, YEAR in that order"
check er "variable org" "org_id" 3 "org-a" "org-b" "org-c"
check er "The metric" "name,unit,kind,direction,description" 1 \
  "Emergency room visits,[^,]*,count,lower_is_better,Emergency department visits .*"
check er "How current the rollups are" "pending_facts,current_through,last_refresh_at" 1 "0,.*"
# 24 months of 3 orgs and all orgs; December 2024: 1000 + 12 + 100, and 6000 + 36 + 300.
check er "\$metric per org (\$grain, reported \$fact_grain)" "time,metric,value" 96 \
  "2024-12-01 00:00:00\+00,org-a,1112" "2024-12-01 00:00:00\+00,all orgs,6336" \
  "2023-01-01 00:00:00\+00,org-c,3001"
# 12 months of 2024 against 2023, 3 orgs: +100 on 1001 in January for org-a.
check er "Year over year change per org (%)" "time,metric,value" 36 \
  "2024-01-01 00:00:00\+00,org-a,9\.99000999000999[0-9]*"
check er "Year over year, each org's latest period in the range" \
  "org,period,value,year_earlier,change,change_pct,improved" 3 \
  "org-a,2024-12-01,1112,1012,100,9\.88[0-9]*,f" "org-c,2024-12-01,3112,3012,100,3\.32[0-9]*,f"
# Fewer visits are better: org-a ranks first and beats both others.
check er "Benchmark position, latest period in the range" \
  "org,period,value,median,rank,orgs,better_than_pct,percentile_pct" 3 \
  "org-a,2024-12-01,1112,2112,1,3,100,0" "org-b,2024-12-01,2112,2112,2,3,50,50" \
  "org-c,2024-12-01,3112,2112,3,3,0,100"
check er "Benchmark position over time: better than (% of the other orgs)" "time,metric,value" 72 \
  "2023-06-01 00:00:00\+00,org-a,100" "2024-06-01 00:00:00\+00,org-c,0"
all_checked er
pass "ER visits by month, 3 orgs: every query of the dashboard as outcomes_analyst"

# The readmission rate by year, in 2024, for org-b alone.
queries readm 2024-01-01T00:00:00Z 2024-12-31T23:59:59Z readmission_rate_30d MONTH YEAR org-b
check readm "variable metric" "__text,__value" "$NMETRICS" "30-day readmission rate,readmission_rate_30d"
check readm "variable fact_grain" "fact_grain" 1 "MONTH"
check readm "variable grain" "grain" 3
check readm "variable org" "org_id" 3 "org-a" "org-b" "org-c"
check readm "The metric" "name,unit,kind,direction,description" 1 \
  "30-day readmission rate,[^,]*,ratio,lower_is_better,\"?Inpatient discharges .*"
check readm "How current the rollups are" "pending_facts,current_through,last_refresh_at" 1 "0,.*"
# Pooled over the year: org-b 2024 (110 * 12 + 12) / 12000, 2023 (120 * 12 + 12) / 12000;
# all orgs 2024 (1212 + 1332 + 1452) / 36000.
check readm "\$metric per org (\$grain, reported \$fact_grain)" "time,metric,value" 2 \
  "2024-01-01 00:00:00\+00,org-b,0\.111" "2024-01-01 00:00:00\+00,all orgs,0\.111"
check readm "Year over year change per org (%)" "time,metric,value" 1 \
  "2024-01-01 00:00:00\+00,org-b,-8\.26446280991735[0-9]*"
check readm "Year over year, each org's latest period in the range" \
  "org,period,value,year_earlier,change,change_pct,improved" 1 \
  "org-b,2024-01-01,0\.111,0\.121,-0\.0(1|09999[0-9]*),-8\.264[0-9]*,t"
check readm "Benchmark position, latest period in the range" \
  "org,period,value,median,rank,orgs,better_than_pct,percentile_pct" 1 \
  "org-b,2024-01-01,0\.111,0\.111,2,3,50,50"
check readm "Benchmark position over time: better than (% of the other orgs)" "time,metric,value" 1 \
  "2024-01-01 00:00:00\+00,org-b,50"
all_checked readm
pass "readmission rate by year, org-b: every query of the dashboard as outcomes_analyst"
