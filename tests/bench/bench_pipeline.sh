#!/usr/bin/env bash
# bench_pipeline.sh - the pipeline against the limits of its own parts, in one
# run on the same data (issue 8). One command:
#
#   tests/bench/bench_pipeline.sh [--rows N] [--scale] [--scale-max]
#                                 [--json FILE] [--build DIR] [--stack-dir DIR]
#                                 [--codec-rows N] [--no-callgrind] [--profile]
#                                 [--fresh-rate N] [--fresh-seconds S]
#
# It starts a private local stack (OUTCOMES_STACK_DIR=$(mktemp -d)
# deploy/stack.sh start, stopped on every exit), builds a Release tree in
# build-bench-rel/ unless --build names one (use a tree without sanitizers),
# generates N observations with outcomes-gen (default 1,000,000: DAY and
# MONTH grains, facility and org-level facts, 3% restated identities, 2%
# duplicates, 0.5% tombstones) and measures:
#
#   kcat produce      kcat -P -K of the same pre-encoded key/value pairs
#   outcomes-produce  the CSV through validation and Avro encoding
#                     (single-object, and a line in the Confluent framing
#                     with the stack's registry)
#   kcat consume      kcat -C -e -q -o beginning of the topic
#   COPY, unindexed   \copy of the final facts into a table without indexes
#   COPY, facts       the same into a table shaped like the facts of
#                     migration 0002 (text columns, their five-column key):
#                     the baseline of the apply path's ratio
#   COPY, series      the same rows, keyed by series id as
#                     outcomes.series_facts is (ids assigned beforehand)
#   outcomes-rollupd  offset 0 until the facts and every rollup are current
#                     (--exit-at-end: it exits once the refresh has taken
#                     every change), then checked exact against a
#                     recomputation from the facts
#   replay            a new group over the same tables (every record stale)
#   rollupd, confluent  the first pass again, on emptied tables, over the
#                     Confluent-framed copy of the topic; then the
#                     single-object pass once more in the same state
#                     ("again"), its baseline
#   freshness         rollupd running while records arrive at --fresh-rate
#                     per second (default 1000) for --fresh-seconds (30):
#                     the wait from each fact change's commit to the refresh
#                     of the rollups over it (its histogram from /metrics:
#                     mean, and the bucket bound that holds the p99)
#   profile           (--profile) the time PostgreSQL spent in each statement
#                     of the first pass (log_min_duration_statement = 0 on
#                     the bench database)
#   scale (--scale)   at 100k and 1M records (10M with --scale-max): the
#                     three COPY lines of that data, then rollupd alone on
#                     emptied tables, checked exact
#   instructions      per record, of parsing + validation, encoding and
#                     decoding + validation: tests/bench/bench_codec.sh under
#                     callgrind on the first --codec-rows records (default
#                     20,000) of the stream; repeatable on a loaded machine
#                     (--no-callgrind leaves it out)
#
# and prints one table (records/s, MB/s, CPU s, peak RSS; /usr/bin/time -v)
# with the ratios produce/kcat-produce, rollupd/kcat-consume,
# rollupd/COPY-facts, rollupd/COPY-series, replay/rollupd, confluent/
# single-object for produce and rollupd (and rollupd
# against the COPY lines of each --scale size), the
# freshness, then the instructions per record, and the same as JSON
# (--json FILE).
# CPU s and RSS are the client's (psql for COPY; the server's work is not
# counted). MB/s counts message keys + values (Kafka, rollupd) or CSV bytes
# (produce, COPY). --stack-dir DIR reuses a running stack in DIR (its outcomes
# tables are emptied first). A default run takes about 10 minutes on a
# 2-core machine once the build exists; it prints its wall time. The build
# needs the benchmark programs (-DOC_BENCH=ON, or the tests); a --build tree
# without bench_codec is configured with -DOC_BENCH=ON and built.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
ROWS=1000000
SCALE=0
SCALE_MAX=0
JSON=""
BUILD=""
STACK_DIR=""
PARTS=6
CODEC_ROWS=20000
CALLGRIND=1
PROFILE=0
FRESH_RATE=1000
FRESH_SECONDS=30
while (($#)); do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --scale) SCALE=1; shift ;;
    --scale-max) SCALE=1; SCALE_MAX=1; shift ;;
    --json) JSON="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --stack-dir) STACK_DIR="$2"; shift 2 ;;
    --codec-rows) CODEC_ROWS="$2"; shift 2 ;;
    --no-callgrind) CALLGRIND=0; shift ;;
    --profile) PROFILE=1; shift ;;
    --fresh-rate) FRESH_RATE="$2"; shift 2 ;;
    --fresh-seconds) FRESH_SECONDS="$2"; shift 2 ;;
    -h|--help) sed -n '2,66p' "$0"; exit 0 ;;
    *) echo "bench_pipeline: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

T0="$(date +%s)"
W="$(mktemp -d /tmp/oc_bench_pipeline.XXXXXX)"
OWN_STACK=""
cleanup() {
  if [[ -n "$OWN_STACK" ]]; then
    OUTCOMES_STACK_DIR="$OWN_STACK" bash "$SRC/deploy/stack.sh" stop >/dev/null 2>&1 || true
    rm -rf "$OWN_STACK"
  fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- build -------------------------------------------------------------------
if [[ -z "$BUILD" ]]; then
  BUILD="$SRC/build-bench-rel"
  log "building a Release tree in $BUILD"
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOC_BUILD_TESTS=OFF -DOC_BENCH=ON \
    >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" >/dev/null
elif ((CALLGRIND)) && [[ ! -x "$BUILD/tests/bench/bench_codec" ]]; then
  log "building bench_codec in $BUILD (-DOC_BENCH=ON)"
  cmake -S "$SRC" -B "$BUILD" -DOC_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target bench_codec >/dev/null
fi
GEN="$BUILD/tools/outcomes-gen"
PRODUCE="$BUILD/producers/outcomes-produce"
ROLLUPD="$BUILD/consumers/outcomes-rollupd"
MIGRATE="$BUILD/tools/outcomes-migrate"
for b in "$GEN" "$PRODUCE" "$ROLLUPD" "$MIGRATE"; do
  [[ -x "$b" ]] || { echo "bench_pipeline: $b missing" >&2; exit 66; }
done

# --- stack -------------------------------------------------------------------
if [[ -z "$STACK_DIR" ]]; then
  STACK_DIR="$(mktemp -d /tmp/oc_bench_stack.XXXXXX)"
  OWN_STACK="$STACK_DIR"
  log "starting a private stack in $STACK_DIR"
  OUTCOMES_STACK_DIR="$STACK_DIR" bash "$SRC/deploy/stack.sh" start >"$W/stack.log" 2>&1 ||
    { cat "$W/stack.log" >&2; exit 69; }
fi
export OUTCOMES_STACK_DIR="$STACK_DIR"
eval "$(bash "$SRC/deploy/stack.sh" env)"
# Single-object unless a line says otherwise (the confluent lines pass it).
REG="${OUTCOMES_SCHEMA_REGISTRY_URL:-}"
unset OUTCOMES_SCHEMA_REGISTRY_URL
[[ -n "$REG" ]] || { echo "bench_pipeline: the stack has no schema registry" >&2; exit 69; }
B="$OUTCOMES_KAFKA_BROKERS"
PG="$OUTCOMES_PG_CONNINFO"
export PGOPTIONS="-c client_min_messages=warning"
psqlq() { psql "$PG" -X -q -v ON_ERROR_STOP=1 "$@"; }

"$MIGRATE" --sql-dir "$SRC/schemas/sql" --catalog "$SRC/schemas/catalog.tsv" >/dev/null
empty_tables() {
  psqlq -c "TRUNCATE outcomes.series_facts, outcomes.series_rollups, outcomes.rollup_pending,
            outcomes.consumer_offsets, outcomes.dead_letters"
}
# Rollup rows that differ from a recomputation from the facts (0: exact).
rollup_mismatches() {
  psql "$PG" -X -At -v ON_ERROR_STOP=1 -f "$SRC/tests/integration/rollup_oracle.sql"
}
empty_tables

SEQ=0
topic() {
  SEQ=$((SEQ + 1))
  local t="bench_${1}_$$_${SEQ}"
  bash "$SRC/deploy/stack.sh" topic create "$t" "$PARTS" >/dev/null 2>&1
  echo "$t"
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v; sets WALL, CPU, RSS_MB.
timed() {
  local name="$1"; shift
  local s e
  s="$(date +%s.%N)"
  /usr/bin/time -v -o "$W/time.$name" "$@"
  e="$(date +%s.%N)"
  WALL="$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')"
  CPU="$(awk -F: '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$W/time.$name")"
  RSS_MB="$(awk -F: '/Maximum resident/ { printf "%.1f", $2 / 1024 }' "$W/time.$name")"
}

RESULTS="$W/results.tsv"
: >"$RESULTS"
# record NAME RECORDS BYTES: one line of the table from the last timed run.
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$WALL" "$CPU" "$RSS_MB" >>"$RESULTS"
  log "$(printf '%-22s %9d records %8.2f s %10.0f records/s' "$1" "$2" "$WALL" \
    "$(awk -v n="$2" -v s="$WALL" 'BEGIN { print n / s }')")"
}

# gen DIR ROWS: the generated observations.
gen() {
  "$GEN" -q --catalog "$SRC/schemas/catalog.tsv" -o "$1" --rows "$2" --grains day,month \
    --periods 365 --org-level --restatements 0.03 --duplicates 0.02 --tombstones 0.005 \
    --seed 8
}
# Commands (not functions: /usr/bin/time runs them). PRODUCE_CMD -t TOPIC FILE;
# ROLLUPD_CMD -X topic=TOPIC -X group.id=GROUP.
PRODUCE_CMD=("$PRODUCE" -q -b "$B" --catalog "$SRC/schemas/catalog.tsv"
  --schema-dir "$SRC/schemas/avro")
ROLLUPD_DAEMON=("$ROLLUPD" -X brokers="$B" -X conninfo="$PG" -X schema.dir="$SRC/schemas/avro"
  -X log.level=warning)
ROLLUPD_CMD=("${ROLLUPD_DAEMON[@]}" --exit-at-end)
# Count and bytes (key + value) of a topic.
topic_size() {
  kcat -C -b "$B" -t "$1" -e -q -o beginning -f '%K %S\n' |
    awk '{ n++; b += ($1 < 0 ? 0 : $1) + ($2 < 0 ? 0 : $2) } END { printf "%d %d\n", n, b }'
}

# --- data --------------------------------------------------------------------
log "generating about $ROWS observations"
gen "$W/gen" "$ROWS"
STREAM_ROWS=$(($(wc -l <"$W/gen/stream.csv") - 1))
STREAM_BYTES=$(stat -c %s "$W/gen/stream.csv")
FACT_ROWS=$(($(wc -l <"$W/gen/expected_facts.csv") - 1))
FACT_BYTES=$(stat -c %s "$W/gen/expected_facts.csv")
RETRACT_ROWS=$(($(wc -l <"$W/gen/retract.csv") - 1))
log "stream: $STREAM_ROWS rows ($STREAM_BYTES bytes), $RETRACT_ROWS retractions, $FACT_ROWS final facts"

# 0. Instructions per record of the per-record work, on a sample of the
# stream (callgrind: the same count however loaded the machine is).
if ((CALLGRIND)); then
  log "callgrind: instructions per record on the first $CODEC_ROWS records"
  bash "$SRC/tests/bench/bench_codec.sh" --build "$BUILD" --csv "$W/gen/stream.csv" \
    --rows "$CODEC_ROWS" --json "$W/codec.json" >&2
fi

# A warm-up, not measured: the broker's first writes (its JIT, the
# producer id) would otherwise count against whichever line runs first.
head -n 20001 "$W/gen/stream.csv" >"$W/warm.csv"
"${PRODUCE_CMD[@]}" -t "$(topic warm)" "$W/warm.csv"
rm -f "$W/warm.csv"

# 1. outcomes-produce: CSV → validate → Avro → Kafka (acks=all, idempotent).
T1="$(topic main)"
timed produce "${PRODUCE_CMD[@]}" -t "$T1" "$W/gen/stream.csv"
read -r N1 BYTES1 < <(topic_size "$T1")
record "outcomes-produce" "$STREAM_ROWS" "$STREAM_BYTES"

# 1b. The same in the Confluent framing: the schema registered once, its id
# in every value.
T1C="$(topic confluent)"
timed produce_confluent "${PRODUCE_CMD[@]}" -X schema.registry.url="$REG" -t "$T1C" \
  "$W/gen/stream.csv"
record "outcomes-produce, confluent" "$STREAM_ROWS" "$STREAM_BYTES"

# 2. kcat -P of the same messages, pre-encoded (exported from T1 before the
# retractions join it), also idempotent with acks=all.
kcat -C -b "$B" -t "$T1" -e -q -o beginning -f '%K %S\n%k%s' >"$W/dump.bin"
python3 - "$W/dump.bin" "$W/pre.bin" <<'PY'
import sys
src = open(sys.argv[1], "rb").read()
KD, MD = b"\x1f\x1f\x1d", b"\x1e\x1e\x1e\x1d"
out, i = [], 0
while i < len(src):
    nl = src.index(b"\n", i)
    kl, vl = (int(x) for x in src[i:nl].split())
    k = src[nl + 1:nl + 1 + kl]
    v = src[nl + 1 + kl:nl + 1 + kl + vl]
    assert KD not in k + v and MD not in k + v
    out.append(k + KD + v + MD)
    i = nl + 1 + kl + vl
open(sys.argv[2], "wb").write(b"".join(out))
PY
rm -f "$W/dump.bin"
T2="$(topic kcat)"
timed kcat_produce kcat -P -b "$B" -t "$T2" -K '\x1f\x1f\x1d' -D '\x1e\x1e\x1e\x1d' \
  -X enable.idempotence=true -X acks=all -l "$W/pre.bin"
record "kcat produce" "$N1" "$BYTES1"
rm -f "$W/pre.bin"

# The retractions complete the stream that rollupd applies.
if ((RETRACT_ROWS > 0)); then
  "${PRODUCE_CMD[@]}" -t "$T1" --retract "$W/gen/retract.csv"
  "${PRODUCE_CMD[@]}" -t "$T1C" --retract "$W/gen/retract.csv"
fi
read -r NT BYTEST < <(topic_size "$T1")
read -r NTC BYTESTC < <(topic_size "$T1C")

# 3. kcat consume of the whole topic.
timed kcat_consume kcat -C -b "$B" -t "$T1" -e -q -o beginning -f '%k%s' >/dev/null
record "kcat consume" "$NT" "$BYTEST"

# 4. COPY of the final facts: unindexed; shaped like the facts of migration
# 0002 (text key); keyed by series id like outcomes.series_facts.
# copy_baselines GEN_DIR SUFFIX: the three COPY lines of GEN_DIR's
# expected_facts.csv, each line's name followed by SUFFIX.
copy_baselines() {
  local gen="$1" suffix="$2" rows bytes
  rows=$(($(wc -l <"$gen/expected_facts.csv") - 1))
  bytes=$(stat -c %s "$gen/expected_facts.csv")
  psqlq <<'SQL'
DROP TABLE IF EXISTS public.bench_copy_plain, public.bench_copy_facts, public.bench_copy_series;
CREATE TABLE public.bench_copy_plain (org_id text, facility_id text, metric text,
  grain text, period_start date, value double precision, numerator double precision,
  denominator double precision, source text, observed_at timestamptz);
CREATE TABLE public.bench_copy_facts (
  metric text NOT NULL, org_id text NOT NULL, facility_id text NOT NULL DEFAULT '',
  grain text NOT NULL, period_start date NOT NULL, retracted boolean NOT NULL DEFAULT false,
  value double precision, numerator double precision, denominator double precision,
  source text, observed_at timestamptz, src_topic text NOT NULL DEFAULT 'bench',
  src_partition integer NOT NULL DEFAULT 0, src_offset bigint NOT NULL DEFAULT 0,
  barrier_offset bigint NOT NULL DEFAULT -1, ingested_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (metric, org_id, facility_id, grain, period_start));
CREATE TABLE public.bench_copy_series (LIKE outcomes.series_facts INCLUDING ALL);
ALTER TABLE public.bench_copy_series ALTER src_topic SET DEFAULT 'bench',
  ALTER src_partition SET DEFAULT 0, ALTER src_offset SET DEFAULT 0;
SQL
  python3 - "$gen/expected_facts.csv" "$W/series_facts.csv" <<'PY'
import csv, sys
ids, out = {}, []
with open(sys.argv[1], newline="") as f:
    for r in csv.DictReader(f):
        k = (r["metric"], r["org_id"], r["facility_id"], r["grain"])
        sid = ids.setdefault(k, len(ids) + 1)
        out.append([sid, r["period_start"], r["value"], r["numerator"], r["denominator"],
                    r["source"], r["observed_at"]])
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["series_id", "period_start", "value", "numerator", "denominator", "source",
                "observed_at"])
    w.writerows(out)
PY
  local cols="org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at"
  timed copy_plain psql "$PG" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy public.bench_copy_plain ($cols) FROM '$gen/expected_facts.csv' WITH (FORMAT csv, HEADER, FORCE_NOT_NULL (facility_id))"
  record "COPY, unindexed$suffix" "$rows" "$bytes"
  timed copy_facts psql "$PG" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy public.bench_copy_facts ($cols) FROM '$gen/expected_facts.csv' WITH (FORMAT csv, HEADER, FORCE_NOT_NULL (facility_id))"
  record "COPY, facts$suffix" "$rows" "$bytes"
  timed copy_series psql "$PG" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy public.bench_copy_series (series_id,period_start,value,numerator,denominator,source,observed_at) FROM '$W/series_facts.csv' WITH (FORMAT csv, HEADER)"
  record "COPY, series$suffix" "$rows" "$(stat -c %s "$W/series_facts.csv")"
  psqlq -c "DROP TABLE public.bench_copy_plain, public.bench_copy_facts, public.bench_copy_series"
  rm -f "$W/series_facts.csv"
}
copy_baselines "$W/gen" ""

# 5. outcomes-rollupd from offset 0 until facts and rollups are current.
if ((PROFILE)); then
  psqlq -c "ALTER DATABASE \"$(psql "$PG" -X -At -c 'SELECT current_database()')\"
            SET log_min_duration_statement = 0"
  PROFILE_FROM="$(wc -c <"$STACK_DIR/pg/postgres.log")"
fi
timed rollupd "${ROLLUPD_CMD[@]}" -X topic="$T1" -X group.id="bench-first-$$"
record "outcomes-rollupd" "$NT" "$BYTEST"
if ((PROFILE)); then
  psqlq -c "ALTER DATABASE \"$(psql "$PG" -X -At -c 'SELECT current_database()')\"
            RESET log_min_duration_statement"
  tail -c +"$((PROFILE_FROM + 1))" "$STACK_DIR/pg/postgres.log" >"$W/profile.log"
fi
GOT="$(psql "$PG" -X -At -c "SELECT count(*) FROM outcomes.facts WHERE NOT retracted")"
[[ "$GOT" == "$FACT_ROWS" ]] ||
  log "WARNING: outcomes.facts holds $GOT standing facts, expected $FACT_ROWS"
PENDING="$(psql "$PG" -X -At -c "SELECT pending_facts FROM outcomes.rollup_status")"
MISMATCHES="$(rollup_mismatches)"
ROLLUP_ROWS="$(psql "$PG" -X -At -c "SELECT count(*) FROM outcomes.series_rollups")"
log "after the first pass: $PENDING changes pending, $MISMATCHES rollup rows differ from the recomputation ($ROLLUP_ROWS materialised)"
[[ "$PENDING" == 0 && "$MISMATCHES" == 0 ]] || log "WARNING: rollups not exact after --exit-at-end"

# 6. replay: a new group over the same tables, every record stale.
timed replay "${ROLLUPD_CMD[@]}" -X topic="$T1" -X group.id="bench-replay-$$"
record "replay (all stale)" "$NT" "$BYTEST"

# 6b. outcomes-rollupd on the Confluent-framed copy, on emptied tables: the
# schema fetched from the registry once, then looked up by id per record.
empty_tables
timed rollupd_confluent "${ROLLUPD_CMD[@]}" -X schema.registry.url="$REG" -X topic="$T1C" \
  -X group.id="bench-confluent-$$"
record "outcomes-rollupd, confluent" "$NTC" "$BYTESTC"
GOT="$(psql "$PG" -X -At -c "SELECT count(*) FROM outcomes.facts WHERE NOT retracted")"
MC="$(rollup_mismatches)"
log "after the confluent pass: $GOT standing facts (expected $FACT_ROWS), $MC rollup rows differ from the recomputation"
[[ "$GOT" == "$FACT_ROWS" && "$MC" == 0 ]] || log "WARNING: the confluent pass is not exact"
# The single-object pass again in the same state (emptied tables, warm
# caches): the baseline of the confluent pass's ratio.
empty_tables
timed rollupd_again "${ROLLUPD_CMD[@]}" -X topic="$T1" -X group.id="bench-again-$$"
record "outcomes-rollupd, again" "$NT" "$BYTEST"

# 7. freshness: records arriving at FRESH_RATE per second while rollupd
# runs; the histogram of the waits from each change's commit to its refresh.
fresh_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TF="$(topic fresh)"
FRESH_N=$((FRESH_RATE * FRESH_SECONDS))
"$GEN" -q --catalog "$SRC/schemas/catalog.tsv" -o "$W/fresh" --rows "$FRESH_N" --grains day,month \
  --periods 365 --org-level --seed 9
"${ROLLUPD_DAEMON[@]}" -X topic="$TF" -X group.id="bench-fresh-$$" \
  -X metrics.listen="127.0.0.1:$fresh_port" >"$W/fresh.log" 2>&1 &
FRESH_PID=$!
sleep 2
log "freshness: $FRESH_N records at $FRESH_RATE/s"
python3 - "$W/fresh/stream.csv" "$FRESH_RATE" <<'PY' | "${PRODUCE_CMD[@]}" -t "$TF" --format csv -X kafka.linger.ms=5 -
import sys, time
rate = float(sys.argv[2])
with open(sys.argv[1]) as f:
    header = f.readline()
    sys.stdout.write(header)
    t0 = time.monotonic()
    for i, line in enumerate(f):
        due = t0 + i / rate
        wait = due - time.monotonic()
        if wait > 0:
            sys.stdout.flush()
            time.sleep(wait)
        sys.stdout.write(line)
    sys.stdout.flush()
PY
for _ in $(seq 1 60); do
  [[ "$(psql "$PG" -X -At -c "SELECT pending_facts FROM outcomes.rollup_status")" == 0 ]] && break
  sleep 0.5
done
sleep 1
curl -s "http://127.0.0.1:$fresh_port/metrics" >"$W/fresh.metrics" || true
kill -TERM "$FRESH_PID" 2>/dev/null || true
wait "$FRESH_PID" 2>/dev/null || true
rm -rf "$W/fresh"

# 8. scale: rollupd alone on emptied tables.
if ((SCALE)); then
  SIZES=(100000 1000000)
  ((SCALE_MAX)) && SIZES+=(10000000)
  for n in "${SIZES[@]}"; do
    log "scale: $n observations"
    empty_tables
    rm -rf "$W/scale"
    gen "$W/scale" "$n"
    ts="$(topic scale)"
    "${PRODUCE_CMD[@]}" -t "$ts" "$W/scale/stream.csv"
    if (($(wc -l <"$W/scale/retract.csv") > 1)); then
      "${PRODUCE_CMD[@]}" -t "$ts" --retract "$W/scale/retract.csv"
    fi
    read -r ns bs < <(topic_size "$ts")
    copy_baselines "$W/scale" " @ $n"
    timed "scale_$n" "${ROLLUPD_CMD[@]}" -X topic="$ts" -X group.id="bench-scale-$$-$n"
    record "rollupd @ $n" "$ns" "$bs"
    p="$(psql "$PG" -X -At -c "SELECT pending_facts FROM outcomes.rollup_status")"
    m="$(rollup_mismatches)"
    log "rollupd @ $n: $p changes pending, $m rollup rows differ from the recomputation"
    [[ "$p" == 0 && "$m" == 0 ]] || log "WARNING: rollups not exact after --exit-at-end"
    rm -rf "$W/scale"
  done
fi

ELAPSED=$(($(date +%s) - T0))
python3 - "$RESULTS" "$JSON" "$ELAPSED" "$ROWS" "$W/codec.json" "$W/fresh.metrics" \
  "$W/profile.log" "$MISMATCHES" "$ROLLUP_ROWS" <<'PY'
import json, os, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    name, n, b, wall, cpu, rss = line.rstrip("\n").split("\t")
    n, b, wall = int(n), int(b), float(wall)
    rows[name] = {"records": n, "bytes": b, "seconds": wall,
                  "records_per_s": n / wall if wall else 0.0,
                  "mb_per_s": b / 1e6 / wall if wall else 0.0,
                  "cpu_s": float(cpu), "peak_rss_mb": float(rss)}
    order.append(name)
def ratio(a, b):
    if a in rows and b in rows and rows[b]["records_per_s"]:
        return rows[a]["records_per_s"] / rows[b]["records_per_s"]
    return None
ratios = {
    "produce / kcat produce": ratio("outcomes-produce", "kcat produce"),
    "rollupd / kcat consume": ratio("outcomes-rollupd", "kcat consume"),
    "rollupd / COPY facts": ratio("outcomes-rollupd", "COPY, facts"),
    "rollupd / COPY series": ratio("outcomes-rollupd", "COPY, series"),
    "replay / rollupd": ratio("replay (all stale)", "outcomes-rollupd"),
    "produce confluent / single-object": ratio("outcomes-produce, confluent", "outcomes-produce"),
    "rollupd confluent / single-object": ratio("outcomes-rollupd, confluent",
                                               "outcomes-rollupd, again"),
}
# The framing's cost where it is paid: the client's CPU per record.
def cpu_ratio(a, b):
    if a in rows and b in rows and rows[a]["cpu_s"] and rows[b]["cpu_s"]:
        return ((rows[a]["cpu_s"] / rows[a]["records"]) /
                (rows[b]["cpu_s"] / rows[b]["records"]))
    return None
ratios["produce confluent / single-object, CPU"] = cpu_ratio("outcomes-produce, confluent",
                                                              "outcomes-produce")
ratios["rollupd confluent / single-object, CPU"] = cpu_ratio("outcomes-rollupd, confluent",
                                                              "outcomes-rollupd, again")
for k in order:
    if k.startswith("rollupd @ "):
        n = k[len("rollupd @ "):]
        ratios[f"rollupd / COPY facts @ {n}"] = ratio(k, f"COPY, facts @ {n}")
        ratios[f"rollupd / COPY series @ {n}"] = ratio(k, f"COPY, series @ {n}")
print()
print(f"{'line':<30} {'records':>9} {'seconds':>8} {'records/s':>10} {'MB/s':>7} {'CPU s':>7} {'peak RSS MB':>11}")
for k in order:
    r = rows[k]
    print(f"{k:<30} {r['records']:>9} {r['seconds']:>8.2f} {r['records_per_s']:>10.0f} "
          f"{r['mb_per_s']:>7.2f} {r['cpu_s']:>7.2f} {r['peak_rss_mb']:>11.1f}")
print()
for k, v in ratios.items():
    print(f"{k:<40} {'-' if v is None else f'{v:.3f}'}")
# Freshness: outcomes_rollup_wait_seconds from the running daemon.
fresh = None
if os.path.exists(sys.argv[6]):
    buckets, total, count = [], 0.0, 0
    for line in open(sys.argv[6]):
        if line.startswith("outcomes_rollup_wait_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), int(float(line.split()[-1]))))
        elif line.startswith("outcomes_rollup_wait_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("outcomes_rollup_wait_seconds_count"):
            count = int(float(line.split()[-1]))
    if count:
        p99 = next((le for le, c in buckets if c >= 0.99 * count), float("inf"))
        p50 = next((le for le, c in buckets if c >= 0.50 * count), float("inf"))
        fresh = {"changes": count, "mean_s": total / count, "p50_le_s": p50, "p99_le_s": p99}
print()
if fresh:
    print(f"freshness: {fresh['changes']} fact changes, wait from commit to refresh: mean "
          f"{fresh['mean_s']:.3f} s, p50 <= {fresh['p50_le_s']} s, p99 <= {fresh['p99_le_s']} s")
print(f"rollups after the first pass: {sys.argv[9]} rows materialised, {sys.argv[8]} differ "
      "from the recomputation from the facts")
# Profile: PostgreSQL's time per statement of the first pass.
profile = None
if os.path.exists(sys.argv[7]):
    import re
    per = {}
    for m in re.finditer(r"duration: ([0-9.]+) ms  (?:execute (\S+?):|statement: (\S+))",
                         open(sys.argv[7], errors="replace").read()):
        name = m.group(2) or m.group(3).rstrip(";")
        calls, ms = per.get(name, (0, 0.0))
        per[name] = (calls + 1, ms + float(m.group(1)))
    if per:
        all_ms = sum(ms for _, ms in per.values())
        print(f"\nPostgreSQL time by statement, first pass ({all_ms / 1000:.1f} s in all)")
        for name, (calls, ms) in sorted(per.items(), key=lambda kv: -kv[1][1])[:14]:
            print(f"  {name:<28} {calls:>7} calls {ms / 1000:>8.2f} s {100 * ms / all_ms:>5.1f}%")
        profile = {k: {"calls": c, "seconds": ms / 1000} for k, (c, ms) in per.items()}
codec = json.load(open(sys.argv[5])) if os.path.exists(sys.argv[5]) else None
if codec:
    print(f"\ninstructions per record (callgrind, first {codec['records']} records)")
    for k, v in codec["instructions_per_record"].items():
        print(f"{k:<26} {v:>9.0f}")
print(f"\nrows requested {sys.argv[4]}; wall time of the whole run {sys.argv[3]} s")
if sys.argv[2]:
    with open(sys.argv[2], "w") as f:
        out = {"rows": int(sys.argv[4]), "elapsed_s": int(sys.argv[3]),
               "lines": [dict(name=k, **rows[k]) for k in order],
               "ratios": ratios, "freshness": fresh, "profile": profile,
               "rollup_mismatches": int(sys.argv[8]), "rollup_rows": int(sys.argv[9])}
        if codec:
            out["instructions_per_record"] = codec["instructions_per_record"]
            out["instructions_sample_records"] = codec["records"]
        json.dump(out, f, indent=2)
        f.write("\n")
PY
