#!/usr/bin/env bash
# test_rollupd_readyz_revoked.sh - /readyz of an instance whose failing
# partitions are taken away: the failures belonged to the batches of those
# partitions, which it dropped, so they no longer make it "not ready".
# Instance A (group.instance.id "z-...") holds the one partition of the
# topic while every batch fails (a trigger raising SQLSTATE 53100, as a full
# disk does) until its /readyz says 503. Instance B (group.instance.id
# "a-...", first in the range assignor's order) joins: the partition moves
# to B. A, holding nothing, says 200 again without a commit; B says 503 once
# its own batches fail, and both say 200 once the fault is gone and B has
# applied the topic.
source "$(dirname "$0")/pipeline_common.bash"

new_db readyz_revoked
TOPIC="$(new_topic readyz_rv 1)"
GROUP="$(uniq_name readyz_rv)"
produce -t "$TOPIC" "${OC_SOURCE_DIR}/deploy/demo/observations.csv" || fail "produce"
sql "CREATE FUNCTION outcomes.test_disk_full() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
       RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100';
     END \$\$;
     CREATE TRIGGER test_disk_full BEFORE INSERT OR UPDATE ON outcomes.series_facts
       FOR EACH STATEMENT EXECUTE FUNCTION outcomes.test_disk_full();" ||
  fail "cannot create the failing trigger"

# start NAME INSTANCE_ID: a daemon in the background; sets PORT_<NAME>.
start() {
  local log="$T_DIR/$1.log"
  "$DAEMON" -X "topic=$TOPIC" -X "group.id=$GROUP" -X "schema.dir=$SCHEMAS" \
    -X batch.max.records=50 -X batch.max.wait=50ms -X retry.backoff.max=200ms \
    -X "kafka.group.instance.id=$2" -X kafka.session.timeout.ms=6000 \
    -X metrics.listen=127.0.0.1:0 >"$log" 2>&1 &
  T_PIDS+=("$!")
  wait_for 30 grep -q "metrics_listening port=" "$log" || fail "$1: no metrics line: $(tail -5 "$log")"
  printf -v "PORT_$1" '%s' "$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$log" | head -1)"
}
ready_of() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz"; }
ready_is() { [[ "$(ready_of "$1")" == "$2" ]]; }

start A "z-$GROUP"
wait_for 60 ready_is "$PORT_A" 503 || fail "A: /readyz $(ready_of "$PORT_A") while its batches fail, want 503"
pass "A holds the partition and says 503 while its batches fail"

start B "a-$GROUP"
wait_for 60 grep -q "partitions_assigned .*count=1" "$T_DIR/B.log" ||
  fail "the partition did not move to B: $(grep partitions_ "$T_DIR/A.log" "$T_DIR/B.log")"
wait_for 30 grep -q "partitions_assigned .*count=0" "$T_DIR/A.log" ||
  fail "A was not left without partitions: $(grep partitions_ "$T_DIR/A.log")"
wait_for 15 ready_is "$PORT_A" 200 ||
  fail "A: /readyz $(ready_of "$PORT_A") with no partition left, want 200: $(curl -s "http://127.0.0.1:$PORT_A/readyz")"
wait_for 60 ready_is "$PORT_B" 503 || fail "B: /readyz $(ready_of "$PORT_B") while its batches fail, want 503"
pass "the partition moved to B: A says 200 without a commit, B says 503 while its batches fail"

sql "DROP TRIGGER test_disk_full ON outcomes.series_facts"
hw="$(high_watermark "$TOPIC" 0)"
applied_all() {
  [[ "$(sql "SELECT coalesce(sum(applied + stale + dead_lettered), 0) FROM outcomes.consumer_offsets
             WHERE group_id = '$GROUP'")" == "$hw" ]]
}
wait_for 60 applied_all || fail "B did not apply the topic: $(sql "TABLE outcomes.consumer_offsets")"
wait_for 15 ready_is "$PORT_B" 200 || fail "B: /readyz $(ready_of "$PORT_B") after its commit"
ready_is "$PORT_A" 200 || fail "A: /readyz $(ready_of "$PORT_A") at the end"
check_accounting
pass "once the fault is gone B applies all $hw records; both say 200"
