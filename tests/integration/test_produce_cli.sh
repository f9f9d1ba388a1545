#!/usr/bin/env bash
# test_produce_cli.sh - outcomes-produce against the real broker: exit codes
# 0/65/64/66/69/78, per-row messages, --strict publishes nothing from a file
# with a bad row, --dry-run publishes nothing, stdin, retractions publish
# tombstones under the right keys, -c/-F, -X list, -X kafka.list.
source "$(dirname "$0")/produce_common.bash"

# --- 0: everything published ---------------------------------------------
topic="$(new_topic prod_cli_ok)"
gen_csv "$T_DIR/good.csv" 50
out="$(produce -t "$topic" "$T_DIR/good.csv" 2>&1)" || fail "good file: exit $? ($out)"
grep -q '^rows read 50, published 50, rejected 0$' <<<"$out" || fail "summary: $out"
[[ "$(topic_count "$topic")" == 50 ]] || fail "good file: $(topic_count "$topic") records"
diff <(topic_dump "$topic" | cut -f1 | sort) <(keys_of_csv "$T_DIR/good.csv") ||
  fail "good file: keys differ"
pass "exit 0, every record under its key"

# --- 65: bad rows rejected, valid rows still published --------------------
topic="$(new_topic prod_cli_bad)"
{
  echo "$HDR"
  echo "o1,,er_visits,MONTH,2024-03-01,5,,,s,"
  echo "o1,,nosuch,MONTH,2024-03-01,5,,,s,"
  echo ""
  echo "o1,,er_visits,MONTH,2024-03-05,5,,,s,"
  echo "o1,,cpoe_rate,MONTH,2024-04-01,0.5,1,4,s,"
  echo "o1,,er_visits,MONTH,2024-05-01,6,,,s,2024-06-01T00:00:00Z"
} >"$T_DIR/bad.csv"
set +e
out="$(produce -t "$topic" "$T_DIR/bad.csv" 2>&1)"
rc=$?
set -e
[[ $rc == 65 ]] || fail "bad rows: exit $rc, want 65 ($out)"
expected="$T_DIR/bad.csv:3: metric: unknown metric 'nosuch'
$T_DIR/bad.csv:5: period_start: 2024-03-05 is not the start of a MONTH
$T_DIR/bad.csv:6: value: 0.5 is not numerator/denominator (0.25)
rows read 5, published 2, rejected 3"
[[ "$(grep -v 'kafka_log' <<<"$out")" == "$expected" ]] || fail "bad rows output:
$out
--- want:
$expected"
[[ "$(topic_count "$topic")" == 2 ]] || fail "bad rows: $(topic_count "$topic") records, want 2"
pass "exit 65, file:line: field: reason, valid rows published"

# --- --strict: nothing from a file with a bad row --------------------------
topic="$(new_topic prod_cli_strict)"
set +e
out="$(produce --strict -t "$topic" "$T_DIR/bad.csv" "$T_DIR/good.csv" 2>&1)"
rc=$?
set -e
[[ $rc == 65 ]] || fail "strict: exit $rc, want 65 ($out)"
grep -q -- "--strict: nothing published (3 rejected rows)" <<<"$out" || fail "strict: $out"
[[ "$(topic_count "$topic")" == 50 ]] ||
  fail "strict: $(topic_count "$topic") records, want the good file's 50 only"
pass "--strict publishes nothing from the bad file, all of the good one"

# --- --strict from stdin (read twice through a temporary file) -------------
topic="$(new_topic prod_cli_strict_stdin)"
cat "$T_DIR/good.csv" | produce --strict --format csv -t "$topic" >/dev/null 2>&1 ||
  fail "strict stdin good: exit $?"
set +e
cat "$T_DIR/bad.csv" | produce --strict --format csv -t "$topic" >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 65 ]] || fail "strict stdin bad: exit $rc"
[[ "$(topic_count "$topic")" == 50 ]] || fail "strict stdin: $(topic_count "$topic") records"
pass "--strict on stdin"

# --- --dry-run sends nothing ------------------------------------------------
topic="$(new_topic prod_cli_dry)"
set +e
out="$(produce --dry-run -t "$topic" "$T_DIR/bad.csv" 2>&1)"
rc=$?
set -e
[[ $rc == 65 ]] || fail "dry-run: exit $rc"
grep -q '^rows read 5, valid 2, rejected 3 (dry run: nothing sent)$' <<<"$out" || fail "dry: $out"
sleep 1
[[ "$(topic_count "$topic")" == 0 ]] || fail "dry-run published something"
pass "--dry-run validates only"

# --- JSON Lines from stdin ---------------------------------------------------
topic="$(new_topic prod_cli_jsonl)"
printf '%s\n' '{"org_id":"o","metric":"er_visits","grain":"DAY","period_start":"2024-03-07","value":"3","source":"s"}' \
  '{"org_id":"o","metric":"er_visits","grain":"DAY","period_start":"2024-03-08","value":4,"source":"s","observed_at":null}' |
  produce --format jsonl -t "$topic" >/dev/null 2>&1 || fail "jsonl stdin: exit $?"
[[ "$(topic_count "$topic")" == 2 ]] || fail "jsonl stdin: $(topic_count "$topic") records"
pass "JSON Lines from stdin"

# --- 64: usage --------------------------------------------------------------
for args in "--no-such-option" "--format xml $T_DIR/good.csv" "--watch $T_DIR extra.csv"; do
  set +e
  # shellcheck disable=SC2086
  produce $args >/dev/null 2>&1 </dev/null
  rc=$?
  set -e
  [[ $rc == 64 ]] || fail "usage '$args': exit $rc, want 64"
done
set +e
produce -t x - </dev/null >/dev/null 2>&1 # stdin without --format
rc=$?
set -e
[[ $rc == 64 ]] || fail "stdin without --format: exit $rc, want 64"
pass "exit 64 on usage errors"

# --- 66: input file missing -------------------------------------------------
set +e
out="$(produce -t x "$T_DIR/missing.csv" 2>&1)"
rc=$?
set -e
[[ $rc == 66 ]] || fail "missing file: exit $rc ($out)"
grep -q "missing.csv: No such file or directory" <<<"$out" || fail "missing: $out"
pass "exit 66 on a missing file"

# --- 65: a bad header -------------------------------------------------------
printf 'org_id,metric,colour\n' >"$T_DIR/header.csv"
set +e
out="$(produce -t x "$T_DIR/header.csv" 2>&1)"
rc=$?
set -e
[[ $rc == 65 ]] || fail "bad header: exit $rc ($out)"
grep -q "header.csv:1: unknown column 'colour'" <<<"$out" || fail "header: $out"
pass "bad header names the column"

# --- 78: configuration -------------------------------------------------------
for x in "plugin.library.paths=/tmp/x.so" "enable.idempotence=false" "acks=1" "no.such.prop=1"; do
  set +e
  out="$(produce -t x -X "$x" "$T_DIR/good.csv" 2>&1)"
  rc=$?
  set -e
  [[ $rc == 78 ]] || fail "-X $x: exit $rc, want 78 ($out)"
done
set +e
produce -t x -X kafka.sasl.password=secret "$T_DIR/good.csv" >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 78 ]] || fail "secret on the command line: exit $rc, want 78"
pass "exit 78 on refused or unknown settings"

# --- -c config file (and its alias -F), -X list, -X kafka.list ------------------
topic="$(new_topic prod_cli_conf)"
printf 'topic=%s\nkafka.linger.ms=1\nflush.timeout=5s\n' "$topic" >"$T_DIR/p.conf"
produce -c "$T_DIR/p.conf" "$T_DIR/good.csv" >/dev/null 2>&1 || fail "-c: exit $?"
[[ "$(topic_count "$topic")" == 50 ]] || fail "-c: topic from the file not used"
produce -F "$T_DIR/p.conf" "$T_DIR/good.csv" >/dev/null 2>&1 || fail "-F: exit $?"
[[ "$(topic_count "$topic")" == 100 ]] || fail "-F: topic from the file not used"
list="$("$PRODUCE" -X list)" || fail "-X list: exit $?"
[[ "$(grep -Ec '^  (brokers|topic|metrics.listen|watch.rescan.interval) ' <<<"$list")" == 4 ]] ||
  fail "-X list lacks keys: $list"
grep -q "librdkafka's own properties: outcomes-produce -X kafka.list" <<<"$list" ||
  fail "-X list does not say how librdkafka's properties are listed"
grep -q 'message.timeout.ms' <<<"$list" && fail "-X list prints librdkafka's properties"
klist="$("$PRODUCE" -X kafka.list)" || fail "-X kafka.list: exit $?"
grep -q '^message.timeout.ms ' <<<"$klist" || fail "-X kafka.list lacks message.timeout.ms"
pass "-c file, -F alias, -X list and -X kafka.list"

# --- 69: Kafka unavailable ----------------------------------------------------
set +e
out="$(timeout 60 "$PRODUCE" -b 127.0.0.1:1 --catalog "$CATALOG" --schema-dir "$SCHEMAS" \
  -t x -X message.timeout.ms=2000 "$T_DIR/good.csv" 2>&1)"
rc=$?
set -e
[[ $rc == 69 ]] || fail "refused broker: exit $rc, want 69 ($out)"
grep -q "50 records not delivered" <<<"$out" || fail "refused broker message: $out"
grep -q '^rows read 50, published 0, rejected 0, not delivered 50$' <<<"$out" ||
  fail "refused broker summary: $out"
pass "exit 69 with the count not delivered"

# --- retractions: tombstones under the identity's key -------------------------
topic="$(new_topic prod_cli_retract)"
produce -t "$topic" "$T_DIR/good.csv" >/dev/null 2>&1 || fail "retract setup"
{
  echo "org_id,facility_id,metric,grain,period_start"
  awk -F, 'NR > 1 && NR <= 11 { print $1 "," $2 "," $3 "," $4 "," $5 }' "$T_DIR/good.csv"
} >"$T_DIR/retract.csv"
produce --retract -t "$topic" "$T_DIR/retract.csv" >/dev/null 2>&1 || fail "retract: exit $?"
[[ "$(topic_count "$topic")" == 60 ]] || fail "retract: $(topic_count "$topic") records"
diff <(topic_dump "$topic" | awk -F'\t' '$2 == -1 { print $1 }' | sort) \
  <(awk -F, 'NR > 1 { print $1 "|" $2 "|" $3 "|" $4 "|" $5 }' "$T_DIR/retract.csv" | sort) ||
  fail "tombstone keys differ"
set +e
produce --retract -t "$topic" "$T_DIR/good.csv" >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 65 ]] || fail "retract with value columns: exit $rc, want 65"
pass "retractions publish tombstones with the right keys"
