#!/usr/bin/env bash
# bench_produce.sh - records/s of outcomes-produce publishing an N-row CSV
# (default 1,000,000) to the local broker, next to kcat -P publishing the
# same records pre-encoded (the same keys and Avro values, read back from the
# first topic), in the same run, both idempotent with acks=all; and
# outcomes-produce publishing the same figures as FHIR MeasureReports (one
# NDJSON line per row, ~10 times the bytes of the CSV).
#
#   cmake -S . -B build-rel -DOC_BUILD_TESTS=OFF && cmake --build build-rel
#   eval "$(deploy/stack.sh env)"
#   OC_BUILD_DIR=build-rel tests/bench/bench_produce.sh [ROWS]
#
# Use a build without sanitizers for figures worth quoting.
set -euo pipefail

ROWS="${1:-1000000}"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${OC_BUILD_DIR:?the build directory (without sanitizers)}"
: "${OUTCOMES_KAFKA_BROKERS:?eval \"\$(deploy/stack.sh env)\" first}"
B="$OUTCOMES_KAFKA_BROKERS"
W="$(mktemp -d /tmp/oc_bench.XXXXXX)"
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

topic() {
  local t="bench_${1}_$$_$(date +%s)"
  "$SRC/deploy/stack.sh" topic create "$t" 3 >/dev/null 2>&1
  echo "$t"
}

# The CSV: er_visits and (every other row) a ratio metric, one fact each.
awk -v n="$ROWS" 'BEGIN {
  print "org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at"
  for (i = 0; i < n; i++) {
    d = i % 3360; y = 2000 + int(d / 336); m = 1 + int((d % 336) / 28); dd = 1 + d % 28
    if (i % 2)
      printf "Org %d,Facility %d,er_visits,DAY,%04d-%02d-%02d,%d,,,ehr-export,2024-01-01T00:00:00Z\n", \
        int(i / 6720), int(i / 3360) % 2, y, m, dd, i
    else
      printf "Org %d,Facility %d,cpoe_rate,DAY,%04d-%02d-%02d,0.25,%d,%d,ehr-export,2024-01-01T00:00:00Z\n", \
        int(i / 6720), int(i / 3360) % 2, y, m, dd, i + 1, 4 * (i + 1)
  }
}' >"$W/in.csv"
echo "input: $ROWS rows, $(du -h "$W/in.csv" | cut -f1) of CSV"

# timed_produce VAR TOPIC CATALOG FILE: outcomes-produce FILE to TOPIC, its
# seconds into VAR.
timed_produce() {
  local s e
  s="$(now)"
  "$BUILD/producers/outcomes-produce" -q -b "$B" -t "$2" --catalog "$3" \
    --schema-dir "$SRC/schemas/avro" "$4"
  e="$(now)"
  printf -v "$1" '%s' "$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')"
}

# 1. outcomes-produce: parse, validate, encode, publish, every report checked.
t1="$(topic produce)"
timed_produce p_s "$t1" "$SRC/schemas/catalog.tsv" "$W/in.csv"

# The same records, pre-encoded, as kcat -P input (multi-byte delimiters that
# no record contains).
kcat -C -b "$B" -t "$t1" -e -q -f '%K %S\n%k%s' >"$W/dump.bin"
python3 - "$W/dump.bin" "$W/pre.bin" <<'PY'
import sys
src = open(sys.argv[1], "rb").read()
KD, MD = b"\x1f\x1f\x1d", b"\x1e\x1e\x1e\x1d"
out, i, n = [], 0, 0
while i < len(src):
    nl = src.index(b"\n", i)
    kl, vl = (int(x) for x in src[i:nl].split())
    k = src[nl + 1:nl + 1 + kl]
    v = src[nl + 1 + kl:nl + 1 + kl + vl]
    assert KD not in k + v and MD not in k + v
    out.append(k + KD + v + MD)
    i = nl + 1 + kl + vl
    n += 1
open(sys.argv[2], "wb").write(b"".join(out))
print(f"pre-encoded: {n} messages, {sum(map(len, out)) / n:.0f} bytes each on average")
PY

# 2. kcat -P with the same messages, also idempotent with acks=all.
t2="$(topic kcat)"
s="$(now)"
kcat -P -b "$B" -t "$t2" -K '\x1f\x1f\x1d' -D '\x1e\x1e\x1e\x1d' -X enable.idempotence=true \
  -X acks=all -l "$W/pre.bin"
e="$(now)"
k_s="$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')"
n2="$(kcat -C -b "$B" -t "$t2" -e -q -f '.\n' | wc -l)"
[[ "$n2" == "$ROWS" ]] || echo "WARNING: kcat topic holds $n2 records, not $ROWS" >&2

# 3. The same rows as FHIR summary MeasureReports (NDJSON), through a catalog
# that maps two Measures to the two metrics.
awk -F'\t' -v OFS='\t' '/^code\t/ { print $0, "measure_url"; next }
  /^#/ || NF == 0 { next }
  { u = ""
    if ($1 == "er_visits" || $1 == "cpoe_rate") u = "http://example.org/fhir/Measure/" $1
    print $0, u }' <(grep -v '^#' "$SRC/schemas/catalog.tsv" | cut -f1-9) >"$W/catalog.tsv"
awk -F, -v P='{"code":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/measure-population","code":"' 'NR > 1 {
  split($5, d, "-")
  printf "{\"resourceType\":\"MeasureReport\",\"id\":\"r%d\",\"meta\":{\"lastUpdated\":\"%s\"},", NR, $10
  printf "\"status\":\"complete\",\"type\":\"summary\",\"measure\":\"http://example.org/fhir/Measure/%s|1\",", $3
  printf "\"reporter\":{\"reference\":\"Organization/%s\"},\"subject\":{\"reference\":\"Location/%s\"},", $1, $2
  printf "\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"group\":[{", $5, $5
  if ($7 != "")
    printf "\"population\":[%sdenominator\"}]},\"count\":%s},%snumerator\"}]},\"count\":%s}],", P, $8, P, $7
  printf "\"measureScore\":{\"value\":%s}}]}\n", $6
}' "$W/in.csv" >"$W/in.ndjson"
echo "FHIR input: $ROWS MeasureReports, $(du -h "$W/in.ndjson" | cut -f1) of NDJSON"
t3="$(topic fhir)"
timed_produce f_s "$t3" "$W/catalog.tsv" "$W/in.ndjson"
n3="$(kcat -C -b "$B" -t "$t3" -e -q -f '.\n' | wc -l)"
[[ "$n3" == "$ROWS" ]] || echo "WARNING: the FHIR topic holds $n3 records, not $ROWS" >&2

printf '%-44s %8.2f s  %9s records/s\n' "outcomes-produce (CSV → validate → Avro)" "$p_s" \
  "$(rate "$ROWS" "$p_s")"
printf '%-44s %8.2f s  %9s records/s\n' "kcat -P (pre-encoded, same records)" "$k_s" \
  "$(rate "$ROWS" "$k_s")"
printf '%-44s %8.2f s  %9s records/s\n' "outcomes-produce (FHIR NDJSON → Avro)" "$f_s" \
  "$(rate "$ROWS" "$f_s")"
awk -v p="$p_s" -v k="$k_s" -v f="$f_s" 'BEGIN {
  printf "ratios: outcomes-produce CSV / kcat -P = %.2f; FHIR / CSV = %.2f\n", k / p, p / f }'
