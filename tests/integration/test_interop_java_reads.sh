#!/usr/bin/env bash
# test_interop_java_reads.sh - Java reads what outcomes wrote: records that
# outcomes-produce publishes in the Confluent framing, its schema registered
# in the stack's registry, are read by a Java consumer with Apicurio
# Registry's AvroKafkaDeserializer (tests/java), which finds the writer
# schema by the id in each record. Every field of every record equals the
# source row as tests/integration/interop_expect.py computes it from the
# CSV: nulls, decimals that have no short binary form, non-ASCII and
# escaped ids, microseconds. The Java client's deserializer is the one
# Kafka Connect's and Flink's Apicurio formats use.
source "$(dirname "$0")/pipeline_common.bash"
source "$(dirname "$0")/interop_common.bash"

topic="$(new_topic interop_r 3)"
jar="$(interop_jar)"

# Hand-written rows for the corners, then a generated stream.
cat >"$T_DIR/rows.csv" <<CSV
$HDR
hôpital-nord,医院-1,readmission_rate_30d,MONTH,2024-01-01,0.1,1,10,"ehr ""epic""",2024-02-01T06:00:00.123456Z
org|b,,er_visits,DAY,2024-01-01,12345.678,,,s,2024-02-01T06:00:00Z
Zürich Spital,Ost % 1,supply_cost,QUARTER,2023-10-01,0.30000000000000004,,,erp,2024-01-15T00:00:00.000001Z
org-c,fac-c,net_collection_rate,YEAR,2023-01-01,0.9712345678901234,9712345.678901234,10000000,pm,2024-03-01T12:34:56Z
org-c,,ar_balance,WEEK,2024-01-01,1e-7,,,gl,1970-01-01T00:00:01Z
CSV
"$GEN" --catalog "$CATALOG" --seed 11 --orgs 2 --org-level --grains day,month,quarter -q \
  --periods 4 | tail -n +2 >>"$T_DIR/rows.csv" || fail "outcomes-gen"
n="$(($(wc -l <"$T_DIR/rows.csv") - 1))"

produce -t "$topic" -X "schema.registry.url=$REG" "$T_DIR/rows.csv" 2>"$T_DIR/produce.log" ||
  fail "outcomes-produce: exit $?: $(cat "$T_DIR/produce.log")"
id="$(curl -fsS "$REG/subjects/${topic}-value/versions/latest" | jq -r .id)"
[[ "$id" =~ ^[0-9]+$ ]] || fail "outcomes-produce registered nothing under ${topic}-value"

java_tool "$jar" consume --topic "$topic" --count "$n" --timeout-ms 60000 \
  >"$T_DIR/java.jsonl" 2>"$T_DIR/java.log" || fail "Java consumer: exit $?: $(tail -5 "$T_DIR/java.log")"
[[ "$(wc -l <"$T_DIR/java.jsonl")" == "$n" ]] || fail "Java read $(wc -l <"$T_DIR/java.jsonl") of $n"
[[ "$(jq -r .schema_id "$T_DIR/java.jsonl" | sort -u)" == "$id" ]] ||
  fail "records name ids $(jq -r .schema_id "$T_DIR/java.jsonl" | sort -u | paste -sd,), registered $id"
python3 "${OC_SOURCE_DIR}/tests/integration/interop_expect.py" compare "$T_DIR/rows.csv" \
  "$T_DIR/java.jsonl" >"$T_DIR/compare.txt" || fail "Java read other values: $(cat "$T_DIR/compare.txt")"
pass "Java's AvroKafkaDeserializer read all $n records outcomes-produce wrote (schema id $id), every field equal to its row"
