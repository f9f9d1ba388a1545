#!/usr/bin/env bash
# test_chaos_skew.sh - late data and clock skew between producers, with the
# daemon consuming while they publish. Besides the generated stream (itself
# with restatements, late older versions, ties and duplicates):
#  * a producer whose clock is 1 h AHEAD publishes first new versions of a
#    quarter of the standing facts (observed_at = final + 1 h): they win;
#  * a producer whose clock is 1 h BEHIND publishes later (concurrently with
#    the stream) new versions of another quarter (observed_at = final - 1 h):
#    they lose, although they arrive last.
# Last writer wins by observed_at: the facts equal the generator's expected
# facts with the ahead-clock versions in place. Then I1-I5.
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

chaos_init skew
orgs=3
if chaos_long; then orgs=12; fi

new_db chaos_skew
topic="$(new_topic chaos_skew 3)"
group="$(uniq_name g_chaos_skew)"
chaos_gen "$T_DIR/gen" 75 --orgs "$orgs" --facilities 2 --grains day,week,month --periods 20 \
  --metrics er_visits,supply_cost,readmission_rate_30d
mkdir -p "$T_DIR/want"
python3 - "$CHAOS_GEN/expected_facts.csv" "$T_DIR/ahead.csv" "$T_DIR/behind.csv" \
  "$T_DIR/want/expected_facts.csv" <<'EOF'
import csv, random, sys
from datetime import datetime, timedelta
random.seed(75)
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
fields = list(rows[0].keys())
def shifted(r, hours, tag):
    t = datetime.strptime(r["observed_at"], "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(hours=hours)
    s = dict(r, source=tag, observed_at=t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if not r["numerator"]:
        s["value"] = repr(float(r["value"]) + 1.0)
    return s
ahead, behind, want = [], [], []
for r in rows:
    u = random.random()
    if u < 0.25:
        a = shifted(r, +1, "clock-ahead"); ahead.append(a); want.append(a)
    elif u < 0.5:
        behind.append(shifted(r, -1, "clock-behind")); want.append(r)
    else:
        want.append(r)
for path, data in ((sys.argv[2], ahead), (sys.argv[3], behind), (sys.argv[4], want)):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader(); w.writerows(data)
print(f"skewed: {len(ahead)} ahead, {len(behind)} behind of {len(rows)} facts")
EOF
n_skewed=$(($(wc -l <"$T_DIR/ahead.csv") + $(wc -l <"$T_DIR/behind.csv") - 2))

dpid=""
chaos_daemon_start dpid "$topic" "$group" -X batch.max.records=100
# The ahead clock first; the stream and the behind clock concurrently (two
# producers), the behind clock starting a little later; then the tombstones.
chaos_produce "$topic" "$T_DIR/ahead.csv"
"$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -q -t "$topic" \
  "$T_DIR/behind.csv" >"$T_DIR/behind.out" 2>&1 &
behind_pid=$!
T_PIDS+=("$behind_pid")
chaos_produce "$topic" "$CHAOS_GEN/stream.csv"
wait "$behind_pid" || fail "behind-clock producer: exit $? $(cat "$T_DIR/behind.out")"
p="$(grep -Eo 'published [0-9]+' "$T_DIR/behind.out" | awk '{print $2}')"
CHAOS_DELIVERED=$((CHAOS_DELIVERED + p))
CHAOS_RECORDS=$((CHAOS_RECORDS + p))
# And a late wave of the behind clock after everything else.
chaos_produce "$topic" "$T_DIR/behind.csv"
chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
CHAOS_FAULTS=$((n_skewed + $(wc -l <"$T_DIR/behind.csv") - 1))
t0="$(now_s)"
chaos_wait_converged "$topic" "$group" "$dpid"
CHAOS_RECOVERY="$(elapsed_since "$t0")"

CHAOS_GEN="$T_DIR/want"
chaos_check_all "$group" "$topic"
[[ "$(sql "SELECT count(*) FROM outcomes.facts WHERE source = 'clock-behind'")" == 0 ]] ||
  fail "a behind-clock version stands"
[[ "$(sql "SELECT count(*) FROM outcomes.facts WHERE source = 'clock-ahead'")" == \
  "$(($(wc -l <"$T_DIR/ahead.csv") - 1))" ]] || fail "not every ahead-clock version stands"
chaos_check_daemon "$dpid"
chaos_result
