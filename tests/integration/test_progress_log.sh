#!/usr/bin/env bash
# test_progress_log.sh - the progress line of the long runs,
# `progress position=N lag=N rate=N eta_s=N`, every log.progress.interval:
#   - outcomes-rollupd --exit-at-end over 4000 records: two lines or more,
#     lag never growing and falling, positions never falling, the last at
#     the sum of the high-water marks with lag 0 and eta_s 0;
#   - outcomes-replay republish (at its default log level): the same, its
#     last position the sum of the source's high-water marks; with the
#     interval 0, no line;
#   - outcomes-replay rebuild: its last line counts every change queued as
#     refreshed, lag 0.
source "$(dirname "$0")/pipeline_common.bash"

N=4000
new_db progress
topic="$(new_topic progress_src 3)"
group="$(uniq_name progress)"
awk -v n="$N" -v hdr="$HDR" 'BEGIN {
  print hdr
  for (i = 0; i < n; i++) {
    d = i % 3360; y = 2000 + int(d / 336); m = 1 + int((d % 336) / 28); dd = 1 + d % 28
    printf "org-%d,,er_visits,DAY,%04d-%02d-%02d,%d,,,gen,2024-01-01T00:00:00Z\n", \
      int(i / 3360), y, m, dd, i
  }
}' >"$T_DIR/in.csv"
produce -t "$topic" "$T_DIR/in.csv" 2>"$T_DIR/produce.log" || fail "produce: exit $?: $(cat "$T_DIR/produce.log")"
end=0
for p in 0 1 2; do end=$((end + $(high_watermark "$topic" "$p"))); done
[[ "$end" == "$N" ]] || fail "the topic holds $end records, not $N"

# check_lines WHAT LOG END: the progress lines of LOG, in order: at least
# two, positions never falling, lag never growing and falling from the
# first to the last, the last at END with lag 0 and eta_s 0.
check_lines() {
  local what="$1" log="$2" want="$3" pos lag prev_pos=-1 prev_lag=-1 first_lag="" n=0 line
  while read -r line; do
    [[ "$line" =~ progress\ position=([0-9]+)\ lag=([0-9]+)\ rate=[0-9]+(\ eta_s=[0-9]+)? ]] ||
      fail "$what: a line that does not read 'progress position= lag= rate= [eta_s=]': $line"
    pos="${BASH_REMATCH[1]}" lag="${BASH_REMATCH[2]}"
    ((pos >= prev_pos)) || fail "$what: the position fell from $prev_pos to $pos: $(grep progress "$log")"
    ((prev_lag < 0 || lag <= prev_lag)) || fail "$what: the lag grew from $prev_lag to $lag: $(grep progress "$log")"
    [[ -n "$first_lag" ]] || first_lag="$lag"
    prev_pos="$pos" prev_lag="$lag" n=$((n + 1))
  done < <(grep -E '\[notice\] progress ' "$log" || true)
  ((n >= 2)) || fail "$what: $n progress line(s), not 2 or more: $(cat "$log")"
  ((first_lag > prev_lag)) || fail "$what: the lag did not fall ($first_lag to $prev_lag)"
  local last
  last="$(grep -E '\[notice\] progress ' "$log" | tail -1)"
  [[ "$last" == *"] progress position=$want lag=0 rate="*" eta_s=0"* ]] ||
    fail "$what: the last line is not at $want with lag 0 and eta_s 0: $last"
  echo "$n"
}

# --- outcomes-rollupd --exit-at-end ------------------------------------------
daemon "$topic" "$group" -X log.progress.interval=100ms -X batch.max.records=20
n="$(check_lines rollupd "$T_DIR/daemon.log" "$N")"
# The last line comes before caught_up, the end of the consumption.
grep -A1 '\] progress position='"$N"' lag=0' "$T_DIR/daemon.log" | grep -q '\] caught_up ' ||
  fail "rollupd: the last progress line is not the one before caught_up: $(cat "$T_DIR/daemon.log")"
pass "rollupd --exit-at-end: $n progress lines, lag falling to 0, the last at position $N"

# --- outcomes-replay republish ---------------------------------------------
dst="$(new_topic progress_dst 3)"
replay -X log.progress.interval=10ms -X republish.chunk=200 republish --from-topic "$topic" \
  --to-topic "$dst" >"$T_DIR/rp.out" 2>"$T_DIR/rp.log" || fail "republish: exit $?: $(cat "$T_DIR/rp.log")"
grep -qx "total: copied $N records" "$T_DIR/rp.out" || fail "republish: $(cat "$T_DIR/rp.out")"
n="$(check_lines republish "$T_DIR/rp.log" "$N")"
pass "replay republish: $n progress lines, lag falling to 0, the last at position $N"

dst2="$(new_topic progress_dst2 3)"
replay -X log.progress.interval=0 -X republish.chunk=200 republish --from-topic "$topic" \
  --to-topic "$dst2" >"$T_DIR/rp0.out" 2>"$T_DIR/rp0.log" || fail "republish (0): exit $?"
grep -qx "total: copied $N records" "$T_DIR/rp0.out" || fail "republish (0): $(cat "$T_DIR/rp0.out")"
! grep -q ' progress ' "$T_DIR/rp0.log" || fail "log.progress.interval=0: $(cat "$T_DIR/rp0.log")"
pass "replay republish with log.progress.interval=0: no progress line"

# --- outcomes-replay rebuild -------------------------------------------------
replay -X log.progress.interval=10ms rebuild --metric er_visits --batch 1000 \
  >"$T_DIR/rb.out" 2>"$T_DIR/rb.log" || fail "rebuild: exit $?: $(cat "$T_DIR/rb.log")"
queued="$(sed -n 's/^metric er_visits: \([0-9]*\) fact(s) and row(s) queued.*/\1/p' "$T_DIR/rb.out")"
[[ -n "$queued" ]] && ((queued > N)) || fail "rebuild: $(cat "$T_DIR/rb.out")"
last="$(grep -E '\[notice\] progress ' "$T_DIR/rb.log" | tail -1)"
[[ "$last" =~ \]\ progress\ position=$queued\ lag=0\ rate=[0-9]+\ eta_s=0\ metric=er_visits\ metrics_queued=1\ metrics=1$ ]] ||
  fail "rebuild: the last progress line is not at the $queued changes queued: $(cat "$T_DIR/rb.log")"
pass "replay rebuild: the last progress line counts the $queued changes queued, lag 0"
