#!/usr/bin/env bash
# test_interop_java_writes.sh - outcomes applies what Java wrote: a Java
# producer with Apicurio Registry's AvroKafkaSerializer (tests/java;
# Confluent framing, the schema auto-registered under <topic>-value)
# publishes a generated stream with restatements, late versions, duplicates
# and ties: the first part with the Observation schema of this build
# (schemas/avro), the rest with a newer version that adds an optional
# field, registered as a second version of the subject (BACKWARD). Then
# outcomes-rollupd, given the registry, applies the topic: both writer
# schemas are fetched by id and projected onto the reader; the facts equal
# last-writer-wins over everything sent (the generator's expected_facts.csv),
# the rollups equal their recomputation from the facts, the accounting
# balances and nothing is dead-lettered.
source "$(dirname "$0")/chaos_common.bash"
source "$(dirname "$0")/interop_common.bash"

new_db interop_w
topic="$(new_topic interop_w 3)"
group="$(uniq_name g_interop_w)"
jar="$(interop_jar)"

chaos_gen "$T_DIR/gen" 23 --orgs 3 --periods 6 --metrics er_visits,readmission_rate_30d,supply_cost \
  --grains day,month --tombstones 0
n="$(($(wc -l <"$T_DIR/gen/stream.csv") - 1))"
split=$((n * 3 / 5))

# The newer schema: version 1 with an optional field added.
newest="$(ls "$SCHEMAS"/observation.v*.avsc | sort -V | tail -1)"
next="${OC_SOURCE_DIR}/tests/schemas/observation.next.avsc"
python3 "${OC_SOURCE_DIR}/tests/integration/interop_expect.py" jsonl "$T_DIR/gen/stream.csv" \
  "$((split + 1))" >"$T_DIR/all.jsonl"
head -n "$split" "$T_DIR/all.jsonl" >"$T_DIR/old.jsonl"
tail -n +"$((split + 1))" "$T_DIR/all.jsonl" >"$T_DIR/new.jsonl"

java_tool "$jar" produce --topic "$topic" --schema "$newest" <"$T_DIR/old.jsonl" \
  >"$T_DIR/sent_old.jsonl" 2>"$T_DIR/java.log" || fail "Java producer: exit $?: $(tail -5 "$T_DIR/java.log")"
java_tool "$jar" produce --topic "$topic" --schema "$next" <"$T_DIR/new.jsonl" \
  >"$T_DIR/sent_new.jsonl" 2>>"$T_DIR/java.log" || fail "Java producer (newer schema): exit $?: $(tail -5 "$T_DIR/java.log")"
CHAOS_DELIVERED=$(($(wc -l <"$T_DIR/sent_old.jsonl") + $(wc -l <"$T_DIR/sent_new.jsonl")))
[[ "$CHAOS_DELIVERED" == "$n" ]] || fail "Java acknowledged $CHAOS_DELIVERED of $n"
versions="$(curl -fsS "$REG/subjects/${topic}-value/versions" | jq -c .)"
[[ "$versions" == "[1,2]" ]] || fail "subject ${topic}-value has versions $versions, want [1,2]"
ids="$(replay -X "schema.dir=$SCHEMAS" \
  -X "schema.registry.url=$REG" cat --topic "$topic" | jq -r '"\(.format) \(.schema_id)"' | sort -u | wc -l)"
[[ "$ids" == 2 ]] || fail "the topic holds $ids framings/ids, want 2 Confluent ids"

daemon "$topic" "$group" -X "schema.registry.url=$REG"
chaos_check_all "$group" "$topic"
dead="$(sql "SELECT count(*) FROM outcomes.dead_letters")"
[[ "$dead" == 0 ]] || fail "dead letters: $(sql "SELECT error_code, error_message FROM outcomes.dead_letters LIMIT 3")"
((CHAOS_LOST == 0 && CHAOS_DOUBLE == 0)) || fail "lost=$CHAOS_LOST double_counted=$CHAOS_DOUBLE"
facts="$(sql "SELECT count(*) FROM outcomes.facts")"
pass "rollupd applied the $n records Java wrote ($split with this build's schema, $((n - split)) with a newer one): $facts facts as expected, rollups equal their recomputation, nothing dead-lettered"
