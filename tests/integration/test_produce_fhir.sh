#!/usr/bin/env bash
# test_produce_fhir.sh - FHIR MeasureReports through outcomes-produce to the
# real broker:
#   - the demo's NDJSON (72 reports, told from JSON Lines by its first line)
#     is published, and every record read back with outcomes-replay cat
#     carries the fields a mapping written here in Python, from the reports
#     themselves, expects;
#   - a Bundle on standard input needs --format fhir (exit 64 without);
#   - --retract takes a .jsonl of identities and refuses FHIR NDJSON (64);
#   - the spool watcher takes a .json Bundle and a .ndjson file: done/, with
#     the rejected report in the .errors report under its FHIR path.
source "$(dirname "$0")/produce_common.bash"

CATALOG="${OC_SOURCE_DIR}/deploy/demo/catalog.tsv" # maps the demo's Measure
NDJSON="${OC_SOURCE_DIR}/deploy/demo/readmissions.ndjson"
REPLAY="${OC_BUILD_DIR}/tools/outcomes-replay"

# --- the NDJSON, and what the topic then holds ------------------------------
topic="$(new_topic prod_fhir)"
out="$(produce -t "$topic" "$NDJSON" 2>&1)" || fail "produce: exit $?: $out"
[[ "$(tail -1 <<<"$out")" == "rows read 72, published 72, rejected 0" ]] || fail "summary: $out"
"$REPLAY" -X "schema.dir=$SCHEMAS" cat --topic "$topic" >"$T_DIR/cat.jsonl" ||
  fail "replay cat: exit $?"
python3 - "$NDJSON" "$T_DIR/cat.jsonl" <<'PY' || fail "the records differ from the reports"
import calendar, json, sys
want = {}
for line in open(sys.argv[1]):
    mr = json.loads(line)
    g = mr["group"][0]
    pops = {p["code"]["coding"][0]["code"]: p["count"] for p in g["population"]}
    start = mr["period"]["start"]
    y, m = int(start[:4]), int(start[5:7])
    assert mr["period"]["end"] == "%s-%02d" % (start[:7], calendar.monthrange(y, m)[1])
    fac = mr.get("subject", {}).get("reference", "Location/")[len("Location/"):]
    want[(fac, start)] = {
        "org_id": mr["reporter"]["reference"][len("Organization/"):],
        "facility_id": fac or None, "metric": "readmission_rate_30d", "grain": "MONTH",
        "period_start": start, "value": g["measureScore"]["value"],
        "numerator": float(pops["numerator"]), "denominator": float(pops["denominator"]),
        "source": "MeasureReport/" + mr["id"],
        "observed_at": mr["meta"]["lastUpdated"].replace("Z", ".000000Z")}
got = [json.loads(l)["value"] for l in open(sys.argv[2])]
assert len(got) == len(want) == 72, (len(got), len(want))
for v in got:
    w = want[(v["facility_id"] or "", v["period_start"])]
    assert v == w, (v, w)
print("ok - 72 records on the topic, each the fields of its MeasureReport")
PY

# --- standard input ------------------------------------------------------------
bundle="$T_DIR/bundle.json"
python3 - "$NDJSON" "$bundle" <<'PY'
import json, sys
reports = [json.loads(l) for l in open(sys.argv[1])][:2]
reports[1]["period"]["end"] = reports[1]["period"]["start"]  # one day, not a month: still whole
reports.append(dict(reports[0], id="bad", period={"start": "2022-01-01", "end": "2022-02-01"}))
json.dump({"resourceType": "Bundle", "type": "collection",
           "entry": [{"resource": r} for r in reports]}, open(sys.argv[2], "w"), indent=1)
PY
rc=0
out="$(produce -t "$topic" --dry-run <"$bundle" 2>&1)" || rc=$?
[[ "$rc" == 64 && "$out" == *"standard input: --format csv|jsonl|fhir is required"* ]] ||
  fail "stdin without --format: exit $rc: $out"
rc=0
out="$(produce -t "$topic" --dry-run --format fhir - <"$bundle" 2>&1)" || rc=$?
[[ "$rc" == 65 ]] || fail "stdin Bundle: exit $rc, want 65: $out"
grep -qx "<stdin>:1: Bundle.entry\[2\].resource.period: 2022-01-01..2022-02-01 is 32 days (the end is inclusive), not one whole day, ISO week, month, quarter or year" <<<"$out" ||
  fail "stdin Bundle: $out"
[[ "$(tail -1 <<<"$out")" == "rows read 3, valid 2, rejected 1 (dry run: nothing sent)" ]] ||
  fail "stdin Bundle summary: $out"
pass "standard input: --format fhir required (64); a Bundle's bad report named by its path (65)"

# --- --retract: JSON Lines of identities yes, FHIR no ------------------------------
printf '{"org_id":"o","metric":"er_visits","grain":"MONTH","period_start":"2024-01-01"}\n' \
  >"$T_DIR/withdrawn.jsonl"
out="$(produce -t "$topic" --retract --dry-run "$T_DIR/withdrawn.jsonl" 2>&1)" ||
  fail "--retract withdrawn.jsonl: exit $?: $out"
[[ "$(tail -1 <<<"$out")" == "rows read 1, valid 1, rejected 0 (dry run: nothing sent)" ]] ||
  fail "--retract withdrawn.jsonl: $out"
rc=0
out="$(produce -t "$topic" --retract --dry-run "$NDJSON" 2>&1)" || rc=$?
[[ "$rc" == 64 && "$out" == *"retractions are read from CSV or JSON Lines: a FHIR MeasureReport carries figures"* ]] ||
  fail "--retract on FHIR NDJSON: exit $rc: $out"
pass "--retract reads a .jsonl of identities and refuses FHIR NDJSON (64)"

# --- the spool watcher -----------------------------------------------------------
SPOOL="$T_DIR/spool"
mkdir -p "$SPOOL"
topic2="$(new_topic prod_fhir_spool)"
"$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$topic2" \
  --watch "$SPOOL" -X watch.rescan.interval=500ms >>"$T_DIR/watch.log" 2>&1 &
WATCHER=$!
T_PIDS+=("$WATCHER")
cp "$bundle" "$SPOOL/.b.json.partial" && mv "$SPOOL/.b.json.partial" "$SPOOL/b.json"
cp "$NDJSON" "$SPOOL/.r.ndjson.partial" && mv "$SPOOL/.r.ndjson.partial" "$SPOOL/r.ndjson"
wait_for 30 test -f "$SPOOL/done/b.json" || fail "b.json not in done/: $(ls -R "$SPOOL"; cat "$T_DIR/watch.log")"
wait_for 30 test -f "$SPOOL/done/r.ndjson" || fail "r.ndjson not in done/: $(ls -R "$SPOOL")"
[[ "$(cat "$SPOOL/done/b.json.errors")" == "b.json:1: Bundle.entry[2].resource.period: 2022-01-01..2022-02-01 is 32 days (the end is inclusive), not one whole day, ISO week, month, quarter or year" ]] ||
  fail "b.json.errors: $(cat "$SPOOL/done/b.json.errors")"
[[ ! -e "$SPOOL/done/r.ndjson.errors" ]] || fail "r.ndjson has an error report"
wait_for 10 test "$(topic_count "$topic2")" == 74 || fail "$(topic_count "$topic2") records, want 74"
kill -TERM "$WATCHER"
wait "$WATCHER" || fail "watcher exit $? after SIGTERM"
pass "spool: a .json Bundle and a .ndjson of MeasureReports to done/, 74 records, the bad report in b.json.errors"
