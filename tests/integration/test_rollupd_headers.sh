#!/usr/bin/env bash
# test_rollupd_headers.sh - Kafka headers are bounded per record: a record
# with more than 64 headers is dead-lettered as too_many_headers, keeping
# its key, its value and its first 64 headers (a record of a 1 MB fetch can
# carry hundreds of thousands of empty headers: copied whole, they would
# cost tens of MB and a giant array in its dead-letter row). A record with
# headers within the bound is applied as any other.
source "$(dirname "$0")/pipeline_common.bash"

new_db headers
topic="$(new_topic headers 1)"
group="$(uniq_name g_headers)"

# hdrs N: N kcat -H arguments.
hdrs() {
  local i
  for ((i = 0; i < $1; i++)); do printf -- '-H\nh%03d=v%d\n' "$i" "$i"; done
}
mapfile -t h64 < <(hdrs 64)
mapfile -t h65 < <(hdrs 65)
mapfile -t h5000 < <(hdrs 5000)
# Tombstones: valid records (each leaves a retracted fact).
printf 'org-a||er_visits|DAY|2024-01-01:\n' | kcat -P -b "$BROKERS" -t "$topic" -K: -Z "${h64[@]}"
printf 'org-b||er_visits|DAY|2024-01-01:\n' | kcat -P -b "$BROKERS" -t "$topic" -K: -Z "${h65[@]}"
printf 'org-c||er_visits|DAY|2024-01-01:\n' | kcat -P -b "$BROKERS" -t "$topic" -K: -Z "${h5000[@]}"
daemon "$topic" "$group"

rows="$(sql "SELECT convert_from(key, 'UTF8'), error_code, cardinality(header_names),
                    cardinality(header_values), header_names[64], error_message
             FROM outcomes.dead_letters ORDER BY kafka_offset")"
want="org-b||er_visits|DAY|2024-01-01|too_many_headers|64|64|h063|headers: 65, more than 64 (the first 64 kept)
org-c||er_visits|DAY|2024-01-01|too_many_headers|64|64|h063|headers: 5000, more than 64 (the first 64 kept)"
[[ "$rows" == "$want" ]] || fail "dead letters:
$rows
want:
$want"
counts="$(sql "SELECT applied, stale, dead_lettered FROM outcomes.consumer_offsets
               WHERE group_id = '$group'")"
[[ "$counts" == "1|0|2" ]] || fail "applied|stale|dead_lettered: $counts, want 1|0|2"
[[ "$(sql "SELECT org_id, retracted FROM outcomes.facts")" == "org-a|t" ]] ||
  fail "facts: $(sql "SELECT org_id, retracted FROM outcomes.facts")"
pass "64 headers applied; 65 and 5000 dead-lettered as too_many_headers with the first 64 kept"
