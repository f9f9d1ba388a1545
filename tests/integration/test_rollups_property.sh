#!/usr/bin/env bash
# test_rollups_property.sh - a property of the rollups, over random loads:
# whatever the shape of the data (grains, orgs, facilities, org-level
# figures, metrics of every kind, restatements, ties, late versions,
# duplicates, tombstones), the batch size and the way it arrives (at once,
# or in several deliveries each applied before the next arrives), once the
# pipeline is quiet every rollup row equals an independent GROUP BY over the
# standing facts (tests/integration/rollup_oracle.sql), and the facts are
# last writer wins (the generator's expected facts).
#
# OC_PROPERTY_SEED fixes the draws (default: the time; the seed is printed
# first, so that a failure can be replayed); OC_PROPERTY_CASES sets how
# many loads (default 6).
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

seed="${OC_PROPERTY_SEED:-$(date +%s)}"
cases="${OC_PROPERTY_CASES:-6}"
echo "property seed $seed (OC_PROPERTY_SEED=$seed replays it), $cases cases"
RANDOM=$((seed % 32768))

pick() { # pick ITEM...: one of them
  local a=("$@")
  echo "${a[RANDOM % ${#a[@]}]}"
}
share() { printf '0.%02d' $((RANDOM % ${1:-40})); }

for ((c = 1; c <= cases; c++)); do
  grains="$(pick day month day,week day,month week,quarter month,year day,week,month,quarter,year)"
  metrics="$(pick er_visits,readmission_rate_30d ar_balance,supply_cost \
    readmission_rate_30d,ar_balance,er_visits cpoe_rate,pending_charges,collections)"
  orgs=$((1 + RANDOM % 4)) facilities=$((RANDOM % 4)) periods=$((3 + RANDOM % 30))
  level=""
  if ((facilities == 0 || RANDOM % 2)); then level="--org-level"; fi
  batch=$((7 + RANDOM % 400)) deliveries=$((1 + RANDOM % 3)) gseed=$((1 + RANDOM))
  shape="grains=$grains metrics=$metrics orgs=$orgs facilities=$facilities $level"
  shape+=" periods=$periods batch=$batch deliveries=$deliveries gen_seed=$gseed"

  new_db property
  topic="$(new_topic property $((1 + RANDOM % 4)))"
  group="$(uniq_name g_property)"
  CHAOS_DELIVERED=0 CHAOS_RECORDS=0 CHAOS_LOST=0 CHAOS_DOUBLE=0
  "$GEN" --seed "$gseed" --catalog "$CATALOG" -o "$T_DIR/gen$c" -q --grains "$grains" \
    --metrics "$metrics" --orgs "$orgs" --facilities "$facilities" $level --periods "$periods" \
    --restatements "$(share 50)" --late "$(share)" --duplicates "$(share)" --ties "$(share 20)" \
    --tombstones "$(share 30)" || fail "case $c ($shape): outcomes-gen exit $?"
  CHAOS_GEN="$T_DIR/gen$c"
  chaos_chunks "$CHAOS_GEN/stream.csv" "$deliveries"
  for ((d = 0; d < deliveries; d++)); do
    chaos_produce "$topic" "$T_DIR/chunk.$d.csv"
    if ((d == deliveries - 1)) && (($(wc -l <"$CHAOS_GEN/retract.csv") > 1)); then
      chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
    fi
    daemon "$topic" "$group" -X batch.max.records="$batch"
    rollups_current || fail "case $c ($shape): changes pending after delivery $d"
    bad="$(chaos_rollup_mismatches)"
    ((bad == 0)) || fail "case $c ($shape): after delivery $((d + 1)) of $deliveries," \
      "$bad rollup rows differ from the recomputation"
  done
  chaos_check_accounting "$group" "$topic"
  chaos_check_facts "$group" "$topic"
  ((CHAOS_LOST == 0 && CHAOS_DOUBLE == 0)) ||
    fail "case $c ($shape): $CHAOS_LOST lost, $CHAOS_DOUBLE double counted"
  echo "ok - case $c: $shape: $CHAOS_RECORDS records," \
    "$(sql "SELECT count(*) FROM outcomes.rollups") rollup rows exact"
  psql "$BASE_CONNINFO" -qAtX -c "DROP DATABASE \"$T_DB\" WITH (FORCE)" >/dev/null
  T_DB=""
done
pass "$cases random loads: rollups equal the recomputation, facts last writer wins (seed $seed)"
