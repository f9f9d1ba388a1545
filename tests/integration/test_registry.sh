#!/usr/bin/env bash
# test_registry.sh - the Confluent framing against the stack's real schema
# registry (Apicurio Registry, its Confluent-compatible API):
#   - value.format=confluent without a registry, plain http to another
#     host, credentials in the URL, and a schema the registry refuses as
#     incompatible with its subject, stop outcomes-produce with exit 78, the
#     last with the registry's reason;
#   - outcomes-produce registers the schema under <topic>-value and writes
#     00 + the registry's id + the body; outcomes-rollupd applies a topic
#     that holds both framings, and outcomes-replay cat decodes both;
#   - an id the registry does not know, and a schema that is no
#     Observation, are dead-lettered with the id and the reason;
#   - while the registry cannot be reached, rollupd dead-letters nothing,
#     stores no offset and says not ready; once it answers, everything is
#     applied.
source "$(dirname "$0")/pipeline_common.bash"

[[ -n "$OC_TEST_REGISTRY_URL" ]] ||
  fail "OUTCOMES_SCHEMA_REGISTRY_URL is not set: deploy/stack.sh start runs the registry, stack.sh env prints it"
REG="$OC_TEST_REGISTRY_URL"
export OUTCOMES_SCHEMA_REGISTRY_URL="$REG"
curl -fsS "$REG/subjects" >/dev/null || fail "registry at $REG does not answer"

new_db registry
topic="$(new_topic registry 3)"
group="$(uniq_name g_registry)"

# 1. Configuration errors.
printf '%s\norg-a,,er_visits,DAY,2024-01-01,5,,,ehr,2024-01-02T00:00:00Z\n' "$HDR" >"$T_DIR/one.csv"
run_rc rc env OUTCOMES_SCHEMA_REGISTRY_URL= "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" \
  --schema-dir "$SCHEMAS" -t "$topic" -X value.format=confluent "$T_DIR/one.csv"
[[ "$rc" == 78 ]] || fail "confluent without a registry: exit $rc, want 78: $OUT"
grep -q "value.format=confluent needs schema.registry.url" <<<"$OUT" || fail "message: $OUT"

# Plain http off this host, and credentials in the URL, are refused before
# any request (no DNS lookup of the made-up host either).
run_rc rc "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$topic" \
  -X schema.registry.url=http://registry.example.org:8081 "$T_DIR/one.csv"
[[ "$rc" == 78 ]] || fail "http off the host: exit $rc, want 78: $OUT"
grep -q "plain http to registry.example.org, which is not this host" <<<"$OUT" || fail "message: $OUT"
run_rc rc "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$topic" \
  -X "schema.registry.url=http://ops:s3cret@127.0.0.1:1/" "$T_DIR/one.csv"
[[ "$rc" == 78 ]] || fail "credentials in the URL: exit $rc, want 78: $OUT"
grep -q "credentials in the URL" <<<"$OUT" || fail "message: $OUT"
! grep -q s3cret <<<"$OUT" || fail "the password was printed: $OUT"

clash="$(new_topic registry_clash 1)"
curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  --data '{"schema":"{\"type\":\"record\",\"name\":\"Observation\",\"namespace\":\"org.outcomes\",\"fields\":[{\"name\":\"zzz\",\"type\":\"string\"}]}"}' \
  "$REG/subjects/${clash}-value/versions" >/dev/null || fail "cannot register the clashing schema"
run_rc rc "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$clash" "$T_DIR/one.csv"
[[ "$rc" == 78 ]] || fail "incompatible schema: exit $rc, want 78: $OUT"
grep -q "refused the schema under subject '${clash}-value' (HTTP 409, incompatible with its versions)" <<<"$OUT" ||
  fail "no registry reason: $OUT"
[[ "$(kcat -C -b "$BROKERS" -t "$clash" -e -q | wc -l)" == 0 ]] || fail "records were sent to $clash"

# 2. Both framings on one topic.
"$GEN" --catalog "$CATALOG" --seed 7 --orgs 3 --org-level --metrics er_visits,readmission_rate_30d \
  --start 2024-01-01 --periods 6 -q >"$T_DIR/gen.csv" || fail "outcomes-gen"
n_rows=$(($(wc -l <"$T_DIR/gen.csv") - 1))
head -n $((n_rows / 2 + 1)) "$T_DIR/gen.csv" >"$T_DIR/a.csv"
{ head -n 1 "$T_DIR/gen.csv"; tail -n +$((n_rows / 2 + 2)) "$T_DIR/gen.csv"; } >"$T_DIR/b.csv"
produce -t "$topic" "$T_DIR/a.csv" 2>"$T_DIR/p1.log" || fail "produce confluent: $(cat "$T_DIR/p1.log")"
produce -t "$topic" -X value.format=single-object "$T_DIR/b.csv" || fail "produce single-object"
id="$(curl -fsS "$REG/subjects/${topic}-value/versions/latest" | jq -r .id)"
[[ "$id" =~ ^[0-9]+$ ]] || fail "subject ${topic}-value not registered"
replay -X "schema.dir=$SCHEMAS" cat --topic "$topic" >"$T_DIR/cat.jsonl" || fail "replay cat: exit $?"
formats="$(jq -r .format "$T_DIR/cat.jsonl" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')"
want_formats="confluent=$((n_rows / 2)) single-object=$((n_rows - n_rows / 2))"
[[ "$formats" == "$want_formats" ]] || fail "cat formats: $formats, want $want_formats"
[[ "$(jq -r 'select(.format == "confluent") | .schema_id' "$T_DIR/cat.jsonl" | sort -u)" == "$id" ]] ||
  fail "cat: schema ids other than $id"

# republish rewrites the framing to value.format: the body is kept.
conf_topic="$(new_topic registry_conf 3)"
so_topic="$(new_topic registry_so 3)"
replay -X "schema.dir=$SCHEMAS" republish --from-topic "$topic" --to-topic "$conf_topic" >"$T_DIR/rp1.txt" ||
  fail "republish to confluent: exit $?: $(cat "$T_DIR/rp1.txt")"
grep -qx "values: $((n_rows - n_rows / 2)) reframed to confluent, 0 copied as they were" "$T_DIR/rp1.txt" ||
  fail "republish report: $(cat "$T_DIR/rp1.txt")"
replay -X "schema.dir=$SCHEMAS" -X value.format=single-object republish --from-topic "$topic" \
  --to-topic "$so_topic" >"$T_DIR/rp2.txt" || fail "republish to single-object: exit $?"
grep -qx "values: $((n_rows / 2)) reframed to single-object, 0 copied as they were" "$T_DIR/rp2.txt" ||
  fail "republish report: $(cat "$T_DIR/rp2.txt")"
for t in "$conf_topic" "$so_topic"; do
  replay -X "schema.dir=$SCHEMAS" cat --topic "$t" >"$T_DIR/cat_$t.jsonl" || fail "cat $t"
done
[[ "$(jq -r .format "$T_DIR/cat_$conf_topic.jsonl" | sort | uniq -c | awk '{print $2 "=" $1}')" == "confluent=$n_rows" ]] ||
  fail "$conf_topic is not all Confluent-framed"
[[ "$(jq -r .format "$T_DIR/cat_$so_topic.jsonl" | sort | uniq -c | awk '{print $2 "=" $1}')" == "single-object=$n_rows" ]] ||
  fail "$so_topic is not all single-object"
values() { jq -cS '[.key, .value]' "$1" | LC_ALL=C sort; }
cmp -s <(values "$T_DIR/cat.jsonl") <(values "$T_DIR/cat_$conf_topic.jsonl") ||
  fail "values changed on the way to $conf_topic"
cmp -s <(values "$T_DIR/cat.jsonl") <(values "$T_DIR/cat_$so_topic.jsonl") ||
  fail "values changed on the way to $so_topic"

# A republish whose schema the target's subject refuses stops as a
# configuration error, with the registry's reason.
run_rc rc replay -X "schema.dir=$SCHEMAS" republish --from-topic "$topic" --to-topic "$clash"
[[ "$rc" == 78 ]] || fail "republish refused by the registry: exit $rc, want 78: $OUT"
grep -q "refused the schema under subject '${clash}-value' (HTTP 409" <<<"$OUT" ||
  fail "republish: no registry reason: $OUT"

# 3. An unknown id and a schema that is no Observation.
first="$T_DIR/first.bin"
kcat -C -b "$BROKERS" -t "$topic" -e -q -c 1 -f '%s' -p "$(jq -r 'select(.format == "confluent") | .partition' "$T_DIR/cat.jsonl" | head -1)" -o beginning >"$first"
[[ "$(head -c 1 "$first" | od -An -tx1 | tr -d ' ')" == 00 ]] || fail "first record is not Confluent-framed"
other="$(curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  --data '{"schema":"{\"type\":\"record\",\"name\":\"Other\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}"}' \
  "$REG/subjects/$(uniq_name other)-value/versions" | jq -r .id)"
frame() { printf "\\x00\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
{ frame 999999; tail -c +6 "$first"; } >"$T_DIR/unknown.bin"
{ frame "$other"; printf '\x02'; } >"$T_DIR/other.bin"
kcat -P -b "$BROKERS" -t "$topic" -p 0 -k 'x||er_visits|DAY|2024-01-01' "$T_DIR/unknown.bin"
kcat -P -b "$BROKERS" -t "$topic" -p 0 -k 'x||er_visits|DAY|2024-01-02' "$T_DIR/other.bin"

# 4. The registry unreachable: a port where nothing listens, then a relay
# to the registry on it.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
reg_path="/${REG#http://*/}"
reg_hostport="${REG#http://}"
reg_hostport="${reg_hostport%%/*}"
DLOG="$T_DIR/daemon.log"
"$DAEMON" -X "topic=$topic" -X "group.id=$group" -X "schema.dir=$SCHEMAS" -X batch.max.records=50 \
  -X "schema.registry.url=http://127.0.0.1:${port}${reg_path}" -X schema.registry.timeout=1s \
  -X retry.backoff.max=1s -X metrics.listen=127.0.0.1:0 >"$DLOG" 2>&1 &
T_PIDS+=($!)
wait_for 30 grep -q "metrics_listening port=" "$DLOG" || fail "no metrics line: $(tail -5 "$DLOG")"
mport="$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$DLOG" | head -1)"
wait_for 60 grep -q "batch_failed.*schema registry" "$DLOG" || fail "no batch_failed: $(tail -5 "$DLOG")"
ready() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${mport}/readyz"; }
ready_is() { [[ "$(ready)" == "$1" ]]; }
wait_for 30 ready_is 503 || fail "/readyz $(ready) while the registry is unreachable"
sleep 3
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters")" == 0 ]] ||
  fail "dead letters while the registry was unreachable: $(sql "SELECT error_code, error_message FROM outcomes.dead_letters")"
python3 - "$port" "$reg_hostport" <<'PY' >"$T_DIR/relay.log" 2>&1 &
import socket, sys, threading
port, target = int(sys.argv[1]), sys.argv[2]
host, tport = target.rsplit(":", 1)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
def pipe(a, b):
    try:
        while (d := a.recv(65536)):
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection((host, int(tport)))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
PY
T_PIDS+=($!)
total=$((n_rows + 2))
caught_up() {
  [[ "$(sql "SELECT coalesce(sum(applied + stale + dead_lettered), 0) FROM outcomes.consumer_offsets
             WHERE group_id = '$group'")" == "$total" ]]
}
wait_for 90 caught_up || fail "not caught up once the registry answers: $(sql "TABLE outcomes.consumer_offsets")"
wait_for 30 ready_is 200 || fail "/readyz $(ready) after recovery"
check_accounting
metric() {
  curl -s "http://127.0.0.1:${mport}/metrics" |
    sed -n "s/^outcomes_schema_registry_lookups_total{result=\"$1\"} //p"
}
[[ "$(metric learnt)" == 1 && "$(metric unusable)" == 2 && "$(metric error)" -ge 1 ]] ||
  fail "lookups learnt=$(metric learnt) unusable=$(metric unusable) error=$(metric error), want 1, 2, >= 1"

facts="$(sql "SELECT count(*) FROM outcomes.facts")"
[[ "$facts" == "$n_rows" ]] || fail "facts: $facts, want $n_rows"
dl="$(sql "SELECT error_code || ' ' || error_message FROM outcomes.dead_letters ORDER BY kafka_offset")"
grep -q "^unknown_fingerprint schema id 999999: not in the registry" <<<"$dl" || fail "dead letters: $dl"
grep -q "^bad_schema schema id ${other}: reader cannot read writer schema" <<<"$dl" || fail "dead letters: $dl"
[[ "$(wc -l <<<"$dl")" == 2 ]] || fail "dead letters: $dl"
pass "both framings applied ($n_rows facts) and republished into either; unknown id and foreign schema dead-lettered; nothing dead-lettered while the registry was unreachable"
