#!/usr/bin/env bash
# bench_codec.sh - instructions per record of the per-record work (issue 8),
# counted by callgrind on a sample, so that a change can be judged on a noisy
# machine:
#
#   tests/bench/bench_codec.sh [--build DIR] [--rows N] [--csv FILE]
#                              [--json FILE] [--no-callgrind] [--confluent]
#
# Runs tests/bench/bench_codec (see its header) under
# `valgrind --tool=callgrind` on the first N records (default 20,000) of FILE,
# or of a stream generated with outcomes-gen as bench_pipeline.sh does (DAY
# and MONTH grains over 365 periods, org-level facts, 3% restated, 2%
# duplicates, 0.5% retracted; seed 8), and prints the inclusive instruction count of each
# phase function divided by the record count:
#
#   parse_validate   CSV → validated observation (the producer's input path)
#   encode           oc_key_encode + oc_obs_encode (the producer, per message)
#   decode_validate  oc_batch_add (the daemon, per message)
#
# --confluent measures values in the Confluent framing (bench_codec.c).
# --json FILE writes the same. The counts repeat to within a few instructions
# from run to run whatever else the machine does; wall-clock times do not.
# --build DIR is a tree without sanitizers (default build-bench-rel/, built
# as Release with -DOC_BENCH=ON when bench_codec is missing). --no-callgrind
# runs bench_codec directly (any tree, sanitizers too): its checks and
# wall-clock ns per record only; the ctest bench_codec_sample does that.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD=""
ROWS=20000
CSV=""
JSON=""
CALLGRIND=1
FRAMING=()
while (($#)); do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --csv) CSV="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --no-callgrind) CALLGRIND=0; shift ;;
    --confluent) FRAMING=(--confluent); shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench_codec: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_codec: --rows: a positive count" >&2; exit 64; }

if [[ -z "$BUILD" ]]; then
  BUILD="$SRC/build-bench-rel"
  if [[ ! -x "$BUILD/tests/bench/bench_codec" ]]; then
    echo "bench_codec: building a Release tree in $BUILD" >&2
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOC_BUILD_TESTS=OFF \
      -DOC_BENCH=ON >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
  fi
fi
BENCH="$BUILD/tests/bench/bench_codec"
if [[ ! -x "$BENCH" ]]; then
  echo "bench_codec: $BENCH missing (configure $BUILD with -DOC_BENCH=ON or with the tests)" >&2
  exit 66
fi
if ((CALLGRIND)); then
  command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null || {
    echo "bench_codec: valgrind not found (apt-get install valgrind), or --no-callgrind" >&2
    exit 69
  }
  if ldd "$BENCH" | grep -q 'libasan'; then
    echo "bench_codec: $BUILD has sanitizers, which valgrind cannot run: use a Release tree" >&2
    exit 64
  fi
fi

W="$(mktemp -d /tmp/oc_bench_codec.XXXXXX)"
trap 'rm -rf "$W"' EXIT

if [[ -z "$CSV" ]]; then
  # About 2.2 rows per requested row come out: enough for the sample.
  "$BUILD/tools/outcomes-gen" -q --catalog "$SRC/schemas/catalog.tsv" -o "$W/gen" --rows "$ROWS" \
    --grains day,month --periods 365 --org-level --restatements 0.03 --duplicates 0.02 \
    --tombstones 0.005 --seed 8
  CSV="$W/gen/stream.csv"
fi
head -n "$((ROWS + 1))" "$CSV" >"$W/sample.csv"
N=$(($(wc -l <"$W/sample.csv") - 1))
ARGS=(--catalog "$SRC/schemas/catalog.tsv" --schema-dir "$SRC/schemas/avro" "${FRAMING[@]}"
  "$W/sample.csv")

if ((!CALLGRIND)); then
  "$BENCH" "${ARGS[@]}"
  exit 0
fi

# LD_BIND_NOW: symbol binding happens before the phases, not in them.
LD_BIND_NOW=1 valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.out" \
  "$BENCH" "${ARGS[@]}" >"$W/out" 2>"$W/err" || {
  cat "$W/out" "$W/err" >&2
  echo "bench_codec: bench_codec failed under callgrind" >&2
  exit 1
}
GOT="$(awk '$1 == "records" { print $2 }' "$W/out")"
[[ "$GOT" == "$N" ]] || {
  echo "bench_codec: bench_codec reports ${GOT:-no} records, the sample has $N" >&2
  exit 1
}
callgrind_annotate --inclusive=yes --threshold=100 "$W/callgrind.out" >"$W/annotate" 2>/dev/null
python3 - "$W/annotate" "$N" "$JSON" "$(basename "$CSV")" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
n = int(sys.argv[2])
phases = ["parse_validate", "encode", "decode_validate"]
ir = {}
for p in phases:
    m = re.search(r"^\s*([\d,]+)\s.*[:\s]bench_%s(?:\s|$)" % p, text, re.M)
    if not m:
        sys.exit(f"bench_codec: no count for bench_{p} in callgrind's output")
    ir[p] = int(m.group(1).replace(",", ""))
per = {p: ir[p] / n for p in phases}
print(f"instructions per record (callgrind, {n} records of {sys.argv[4]})")
for p in phases:
    print(f"  {p:<18} {per[p]:>9.0f}")
print(f"  {'total':<18} {sum(per.values()):>9.0f}")
if sys.argv[3]:
    with open(sys.argv[3], "w") as f:
        json.dump({"records": n, "instructions": ir,
                   "instructions_per_record": {p: round(per[p], 1) for p in phases}},
                  f, indent=2)
        f.write("\n")
PY
