#!/usr/bin/env bash
# test_replay_dlq.sh - outcomes-replay dlq against the real broker and
# PostgreSQL: records of a metric the database's catalog lacks are
# dead-lettered; list and show (hex dumps of key, value and headers); after
# the catalog fix (the metric added to a copy of the catalog, migrated),
# redrive --dry-run sends nothing, redrive re-publishes the raw records and
# marks them redriven, the daemon applies them (the facts exist), and a
# second redrive republishes nothing; a raw record with headers is
# re-published byte for byte, headers included, to another topic.
source "$(dirname "$0")/pipeline_common.bash"

grep -vP '^hie_users\t' "$CATALOG" >"$T_DIR/catalog-old.tsv"
new_db replay_dlq "$T_DIR/catalog-old.tsv"
topic="$(new_topic replay_dlq 3)"
group="$(uniq_name g_dlq)"

{
  echo "$HDR"
  for i in 1 2 3 4 5 6; do
    echo "org-$i,fac-1,hie_users,MONTH,2024-0$i-01,$((i * 100)),,,hie,2024-07-01T00:00:00Z"
    echo "org-$i,fac-1,er_visits,MONTH,2024-0$i-01,$((i * 10)),,,epic,2024-07-01T00:00:00Z"
  done
} >"$T_DIR/obs.csv"
produce -t "$topic" "$T_DIR/obs.csv" >/dev/null || fail "produce: exit $?"
# A raw record that no catalog fix repairs, with headers.
printf 'raw-key:\x01not avro\x7f\n' |
  kcat -P -b "$BROKERS" -t "$topic" -K: -H "trace=abc" -H "empty=" -p 0
daemon "$topic" "$group"

[[ "$(sql "SELECT count(*) FROM outcomes.facts WHERE metric = 'er_visits'")" == 6 ]] ||
  fail "er_visits facts missing"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters WHERE error_code = 'unknown_metric'")" == 6 ]] ||
  fail "dead letters: $(sql "SELECT error_code, count(*) FROM outcomes.dead_letters GROUP BY 1")"
raw_id="$(sql "SELECT id FROM outcomes.dead_letters WHERE key = 'raw-key'::bytea")"
[[ -n "$raw_id" ]] || fail "the raw record was not dead-lettered"
raw_code="$(sql "SELECT error_code FROM outcomes.dead_letters WHERE id = $raw_id")"
pass "6 unknown_metric dead letters and one $raw_code"

# --- list and show --------------------------------------------------------------
out="$(replay dlq list --code unknown_metric)" || fail "list: exit $?"
[[ "$(grep -c $'\tunknown_metric\t' <<<"$out")" == 6 ]] || fail "list: $out"
out="$(replay dlq list --limit 2)"
[[ "$(wc -l <<<"$out")" == 3 ]] || fail "list --limit 2: $out"
out="$(replay dlq show "$raw_id")" || fail "show: exit $?"
grep -q "^key: 7 bytes$" <<<"$out" || fail "show key: $out"
grep -q "72 61 77 2d 6b 65 79 .*|raw-key|" <<<"$out" || fail "show key dump: $out"
grep -q "^value: 10 bytes$" <<<"$out" || fail "show value: $out"
grep -q "01 6e 6f 74 20 61 76 72 6f 7f .*|.not avro.|" <<<"$out" || fail "show value dump: $out"
grep -q "^headers: 2$" <<<"$out" || fail "show headers: $out"
grep -q "^header 'trace': 3 bytes$" <<<"$out" || fail "show header trace: $out"
grep -q "^header 'empty': 0 bytes$" <<<"$out" || fail "show header empty: $out"
run_rc rc replay dlq show 999999
[[ "$rc" == 66 ]] || fail "show unknown id: exit $rc ($OUT)"
pass "dlq list filters by code and limit; dlq show dumps key, value and headers"

# --- the fix, a dry run, the redrive ------------------------------------------------
migrate "$CATALOG"
before="$(tables_md5)"
hw_before="$(for p in 0 1 2; do high_watermark "$topic" "$p"; done)"
out="$(replay --dry-run dlq redrive --code unknown_metric)" || fail "dry run: exit $?"
[[ "$(grep -c '^would redrive id' <<<"$out")" == 6 ]] || fail "dry run: $out"
sleep 1
[[ "$(for p in 0 1 2; do high_watermark "$topic" "$p"; done)" == "$hw_before" ]] ||
  fail "dry run published"
[[ "$(tables_md5)" == "$before" ]] || fail "dry run changed tables"
pass "redrive --dry-run lists the rows and sends nothing"

out="$(replay dlq redrive --code unknown_metric)" || fail "redrive: exit $? $out"
grep -q "^redriven 6 dead letter(s), 0 not delivered$" <<<"$out" || fail "redrive: $out"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters
           WHERE error_code = 'unknown_metric' AND redriven_at IS NOT NULL")" == 6 ]] ||
  fail "rows not marked redriven"
daemon "$topic" "$group"
[[ "$(sql "SELECT count(*) FROM outcomes.facts WHERE metric = 'hie_users' AND NOT retracted")" == 6 ]] ||
  fail "redriven facts missing: $(sql "SELECT metric, count(*) FROM outcomes.facts GROUP BY 1")"
[[ "$(sql "SELECT value FROM outcomes.facts WHERE metric = 'hie_users' AND org_id = 'org-4'")" == 400 ]] ||
  fail "redriven fact value"
[[ "$(sql "SELECT count(*) FROM outcomes.rollups WHERE metric = 'hie_users' AND level = 'all'")" -gt 0 ]] ||
  fail "redriven facts not rolled up"
check_accounting
pass "redrive after the catalog fix: the facts exist, rolled up, dead letters marked"

out="$(replay dlq redrive --code unknown_metric)" || fail "second redrive: exit $?"
grep -q "^redriven 0 dead letter(s)" <<<"$out" || fail "second redrive: $out"
hw_after="$(for p in 0 1 2; do high_watermark "$topic" "$p"; done)"
sleep 1
[[ "$(for p in 0 1 2; do high_watermark "$topic" "$p"; done)" == "$hw_after" ]] ||
  fail "second redrive published"
pass "a second redrive republishes nothing"

# --- a raw record with headers, to another topic -----------------------------------
other="$(new_topic replay_dlq_other 1)"
out="$(replay dlq redrive "$raw_id" --topic "$other")" || fail "redrive id: exit $? $out"
grep -q "^redriven 1 dead letter(s)" <<<"$out" || fail "redrive id: $out"
got="$(kcat -C -b "$BROKERS" -t "$other" -e -q -J |
  sed -E 's/^.*"headers":/"headers":/')"
[[ "$got" == '"headers":["trace","abc","empty",""],"key":"raw-key","payload":"\u0001not avro\u007f"}' ]] ||
  [[ "$got" == '"headers":["trace","abc","empty",""],"key":"raw-key","payload":"\u0001not avro'$'\x7f''"}' ]] ||
  fail "redriven raw record: $got"
out="$(replay dlq redrive "$raw_id" --topic "$other")"
grep -q "^redriven 0 dead letter(s)" <<<"$out" || fail "second redrive by id: $out"
run_rc rc replay dlq redrive
[[ "$rc" == 64 ]] || fail "redrive without a selection: exit $rc"
run_rc rc replay dlq redrive --all --topic "no_such_topic_$$"
[[ "$rc" == 66 ]] || fail "redrive to a missing topic: exit $rc ($OUT)"
pass "a raw record is redriven byte for byte with its headers, once"

# --- retention: purge what is older than a bound ----------------------------------
total="$(sql "SELECT count(*) FROM outcomes.dead_letters")"
sql "UPDATE outcomes.dead_letters SET created_at = now() - interval '40 days'
     WHERE error_code = 'unknown_metric'" >/dev/null
old="$(sql "SELECT count(*) FROM outcomes.dead_letters WHERE error_code = 'unknown_metric'")"
[[ "$old" == 6 && "$total" -gt 6 ]] || fail "retention setup: $old old of $total"
run_rc rc replay dlq purge
[[ "$rc" == 64 && "$OUT" == *"dlq purge needs --older-than"* ]] || fail "purge without a bound: exit $rc ($OUT)"
run_rc rc replay dlq purge --older-than "not an interval"
[[ "$rc" == 64 && "$OUT" == *"--older-than 'not an interval'"* ]] || fail "purge with a bad bound: exit $rc ($OUT)"
out="$(replay dlq purge --older-than 30d --dry-run)" || fail "purge --dry-run: exit $?"
[[ "$out" == "would purge 6 dead letter(s) created before "* ]] || fail "purge --dry-run: $out"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters")" == "$total" ]] || fail "dry run deleted"
out="$(replay -X redrive.batch=4 dlq purge --older-than 30d)" || fail "purge: exit $?"
[[ "$out" == "purged 6 dead letter(s) created before "* ]] || fail "purge: $out"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters")" == "$((total - 6))" ]] ||
  fail "after purge: $(sql "SELECT count(*) FROM outcomes.dead_letters") left of $total"
out="$(replay dlq purge --older-than 30d)"
[[ "$out" == "purged 0 dead letter(s) created before "* ]] || fail "second purge: $out"
check_accounting
pass "dlq purge --older-than deletes the dead letters older than the bound (in batches), once; the counters stand"
