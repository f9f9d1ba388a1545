#!/usr/bin/env bash
# test_replay_republish.sh - outcomes-replay republish against the real
# broker: --dry-run sends nothing; a copy into a topic with more partitions
# carries the same multiset of keys, values (tombstones included) and
# headers, counted per partition, each key in the partition librdkafka's
# default partitioner gives it (the producer's); a second run copies nothing
# (checkpoint); offset and time ranges copy exactly [from, to);
# --keep-timestamps keeps the record times.
source "$(dirname "$0")/pipeline_common.bash"

src="$(new_topic replay_rp_src 3)"
dst="$(new_topic replay_rp_dst 5)"
direct="$(new_topic replay_rp_direct 5)"

"$GEN" --seed 5 --orgs 2 --facilities 2 --metrics er_visits,supply_cost --periods 12 \
  --restatements 0.2 --tombstones 0.2 --catalog "$CATALOG" -o "$T_DIR/gen" -q
produce -t "$src" "$T_DIR/gen/stream.csv" >/dev/null || fail "produce: exit $?"
produce -t "$src" --retract "$T_DIR/gen/retract.csv" >/dev/null || fail "retract: exit $?"
produce -t "$direct" "$T_DIR/gen/stream.csv" >/dev/null || fail "produce direct: exit $?"
sleep 1.1
t1_ms="$(date +%s%3N)"
sleep 1.1
# Text records with headers (an empty header value too) and null values.
for i in $(seq 1 30); do
  if ((i % 4 == 0)); then echo "hk-$i:"; else echo "hk-$i:value $i"; fi
done | kcat -P -b "$BROKERS" -t "$src" -K: -Z -H "h-a=1" -H "h-b=" -H "h-a=again"
sleep 1.1
t2_ms="$(date +%s%3N)"
sleep 1.1
printf 'late-1:late value\nlate-2:\n' | kcat -P -b "$BROKERS" -t "$src" -K: -Z -H "late=yes"

# dump TOPIC [kcat args]: one line per record: headers, key, value, sorted.
dump() {
  local topic="$1"
  shift
  kcat -C -b "$BROKERS" -t "$topic" -e -q -J "$@" |
    sed -E 's/^\{"topic":"[^"]*","partition":[0-9]+,"offset":[0-9]+,"tstype":"[a-z]+","ts":-?[0-9]+,"broker":-?[0-9]+,//' |
    LC_ALL=C sort
}
count() { kcat -C -b "$BROKERS" -t "$1" -e -q -f 'x\n' | wc -l; }

n_src="$(count "$src")"
[[ "$(dump "$src" | grep -c '"payload":null')" -gt 5 ]] || fail "the source has no tombstones"

# --- --dry-run -------------------------------------------------------------
out="$(replay --dry-run republish --from-topic "$src" --to-topic "$dst")" ||
  fail "dry run: exit $?"
grep -q "total: would copy $n_src records (dry run: nothing sent)" <<<"$out" ||
  fail "dry run output: $out"
sleep 1
[[ "$(count "$dst")" == 0 ]] || fail "dry run sent records"
pass "--dry-run reports $n_src records and sends nothing"

# --- the whole topic ---------------------------------------------------------
out="$(replay republish --from-topic "$src" --to-topic "$dst")" || fail "republish: exit $? $out"
grep -q "total: copied $n_src records" <<<"$out" || fail "republish output: $out"
diff <(dump "$src") <(dump "$dst") >"$T_DIR/diff" || fail "copy differs: $(head "$T_DIR/diff")"
for p in 0 1 2 3 4; do
  want="$(kcat -C -b "$BROKERS" -t "$dst" -p "$p" -e -q -f 'x\n' | wc -l)"
  grep -q "^$dst \[$p\]: received $want records$" <<<"$out" ||
    fail "partition $p: $want records, report: $out"
done
for p in 0 1 2; do
  want="$(kcat -C -b "$BROKERS" -t "$src" -p "$p" -e -q -f 'x\n' | wc -l)"
  grep -q "^$src \[$p\]: copied $want records" <<<"$out" || fail "source $p: $out"
done
pass "copy of $n_src records: same keys, values, tombstones and headers; counts per partition"

# Each key lands where the producer itself puts it (default partitioner).
key_parts() {
  kcat -C -b "$BROKERS" -t "$1" -e -q -f '%k\t%p\n' | grep -v '^hk-\|^late-' | sort -u
}
diff <(key_parts "$direct") <(key_parts "$dst" | grep -Ff <(key_parts "$direct" | cut -f1)) \
  >"$T_DIR/diff" || fail "partitioning differs from the producer's: $(head "$T_DIR/diff")"
[[ "$(kcat -C -b "$BROKERS" -t "$dst" -e -q -f '%k\t%p\n' | sort -u | cut -f1 | uniq -d | wc -l)" == 0 ]] ||
  fail "a key landed in two partitions"
pass "partitioned by key as the producer does"

# --- a second run copies nothing ---------------------------------------------
out="$(replay republish --from-topic "$src" --to-topic "$dst")" || fail "second run: exit $?"
grep -q "total: copied 0 records" <<<"$out" || fail "second run: $out"
sleep 1
[[ "$(count "$dst")" == "$n_src" ]] || fail "second run copied records"
pass "a second run copies nothing (checkpoint)"

# --- offset range ------------------------------------------------------------
dst2="$(new_topic replay_rp_off 2)"
out="$(replay republish --from-topic "$src" --to-topic "$dst2" --partitions 0 \
  --from-offset 0:2 --to-offset 0:7)" || fail "offset range: exit $? $out"
grep -q "total: copied 5 records" <<<"$out" || fail "offset range: $out"
diff <(dump "$src" -p 0 -o 2 -c 5) <(dump "$dst2") >"$T_DIR/diff" ||
  fail "offset range differs: $(head "$T_DIR/diff")"
pass "--from-offset/--to-offset copy exactly [from, to) of the partition"

# --- time range ----------------------------------------------------------------
dst3="$(new_topic replay_rp_time 1)"
out="$(replay republish --from-topic "$src" --to-topic "$dst3" --from-time "@$t1_ms" \
  --to-time "@$t2_ms" --keep-timestamps)" || fail "time range: exit $? $out"
grep -q "total: copied 30 records" <<<"$out" || fail "time range: $out"
diff <(dump "$src" | grep '"key":"hk-') <(dump "$dst3") >"$T_DIR/diff" ||
  fail "time range differs: $(head "$T_DIR/diff")"
ts_of() { kcat -C -b "$BROKERS" -t "$1" -e -q -f '%k %T\n' | grep '^hk-' | sort; }
diff <(ts_of "$src") <(ts_of "$dst3") >/dev/null || fail "--keep-timestamps changed the times"
pass "--from-time/--to-time copy the records of [from, to); --keep-timestamps keeps times"

run_rc rc replay republish --from-topic "$src" --to-topic "$src"
[[ "$rc" == 64 ]] || fail "same topic: exit $rc ($OUT)"
run_rc rc replay republish --from-topic "$src" --to-topic "no_such_topic_$$"
[[ "$rc" == 66 ]] || fail "missing target: exit $rc ($OUT)"
pass "same topic refused (64), a missing target topic is 66"
