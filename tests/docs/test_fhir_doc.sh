#!/usr/bin/env bash
# test_fhir_doc.sh - the rejections docs/fhir.md documents are the ones
# outcomes-produce prints: every message in the last column of its
# "Rejections" table (with <url>, <code> and "..." standing for any text)
# is found in what outcomes-produce --dry-run prints for reports that break
# each rule (the vendored HL7 examples, and reports written here), and every
# such report is rejected. Needs only the build (label unit).
set -euo pipefail

BUILD="${OC_BUILD_DIR:?OC_BUILD_DIR: the build directory (set by ctest)}"
SRC="${OC_SOURCE_DIR:?OC_SOURCE_DIR: the source directory (set by ctest)}"
# shellcheck source=tests/integration/tap.bash
source "${SRC}/tests/integration/tap.bash"

T_DIR="$(mktemp -d /tmp/oc_fhir_doc.XXXXXX)"
trap 'rm -rf "$T_DIR"' EXIT

# A catalog with a Measure of one group and one of several.
cat >"$T_DIR/catalog.tsv" <<'EOF'
code	name	unit	kind	direction	min	max	measure_url
readm	Readmissions	1	ratio	lower_is_better	0	1	http://example.org/fhir/Measure/readm
cpoe	CPOE	1	ratio	higher_is_better	0	1	http://example.org/fhir/Measure/q#cpoe
alara	CT dose	1	ratio	lower_is_better	0	1	http://example.org/fhir/Measure/AlaraCTFHIRMeasure
EOF
python3 - "$T_DIR/reports.ndjson" <<'PY'
import json, sys
pop = lambda c, n: {"code": {"coding": [{"code": c}]}, "count": n}
ok = {"resourceType": "MeasureReport", "id": "r", "status": "complete", "type": "summary",
      "measure": "http://example.org/fhir/Measure/readm",
      "reporter": {"reference": "Organization/o"},
      "period": {"start": "2024-03-01", "end": "2024-03-31"},
      "group": [{"population": [pop("denominator", 40), pop("numerator", 5)]}]}
cases = [
    dict(ok, status="pending"),
    dict(ok, measure="http://example.org/fhir/Measure/nope"),
    dict(ok, measure="http://example.org/fhir/Measure/q",
         group=[dict(ok["group"][0], code={"coding": [{"code": "cpoe"}]}),
                dict(ok["group"][0], code={"coding": [{"code": "other"}]})]),
    dict(ok, group=[dict(ok["group"][0], measureScore={"value": 12.5, "code": "mg"})]),
    dict(ok, modifierExtension=[{"url": "http://example.org/x", "valueBoolean": True}]),
]
with open(sys.argv[1], "w") as f:
    for c in cases:
        f.write(json.dumps(c) + "\n")
PY
out="$T_DIR/out"
: >"$out"
for f in "$T_DIR/reports.ndjson" \
  "${SRC}/tests/data/fhir/r4/MeasureReport-measurereport-cms146-cat1-example.json" \
  "${SRC}/tests/data/fhir/r4/MeasureReport-measurereport-cms146-cat3-example.json" \
  "${SRC}/tests/data/fhir/deqm/MeasureReport-summ-measurereport01.json" \
  "${SRC}/tests/data/fhir/deqm/MeasureReport-summ-contained-supplemental.json"; do
  rc=0
  "${BUILD}/producers/outcomes-produce" --catalog "$T_DIR/catalog.tsv" \
    --schema-dir "${SRC}/schemas/avro" --dry-run "$f" >>"$out" 2>&1 || rc=$?
  if [[ "$rc" == 65 ]]; then
    ok "$(basename "$f"): rejected (exit 65)"
  else
    not_ok "$(basename "$f"): exit $rc, want 65"
  fi
done
grep -q "rows read 5, valid 0, rejected 5" "$out" || not_ok "reports.ndjson: not all 5 rejected"

# The messages of the table: its rows after the header "| rejected | why |".
mapfile -t MSGS < <(awk '/^\| rejected \| why \|/ { t = 1; next }
  t && !/^\|/ { t = 0 }
  t && !/^\|---/ { n = split($0, c, "|"); print c[n - 1] }' "${SRC}/docs/fhir.md" |
  grep -o '`[^`]*`[[:space:]]*$' | tr -d '`' | sed 's/[[:space:]]*$//')
[[ "${#MSGS[@]}" -ge 9 ]] || bail "docs/fhir.md: ${#MSGS[@]} messages in the Rejections table"
for msg in "${MSGS[@]}"; do
  # <url>, <code> and ... match any text; the rest is literal.
  re="$(python3 -c 'import re, sys
parts = re.split(r"<url>|<code>|\.\.\.", sys.argv[1])
print(".*".join(re.escape(p) for p in parts))' "$msg")"
  if python3 -c 'import re, sys
sys.exit(0 if re.search(sys.argv[1], open(sys.argv[2]).read()) else 1)' "$re" "$out"; then
    ok "docs/fhir.md: '$msg' is printed"
  else
    not_ok "docs/fhir.md: '$msg' is not what outcomes-produce prints"
  fi
done
if [[ "$FAILURES" -gt 0 ]]; then
  sed 's/^/#   /' "$out"
fi
printf '1..%d\n' "$CHECKS"
[[ "$FAILURES" -eq 0 ]]
