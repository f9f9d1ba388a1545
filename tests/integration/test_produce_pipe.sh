#!/usr/bin/env bash
# test_produce_pipe.sh - outcomes-produce fed through a pipe that stays open
# (`tail -f file | outcomes-produce --format csv -`, or a program writing a
# row now and then) publishes each row as it arrives, not once 64 KiB have
# come or the pipe has closed: the rows written so far are in the topic
# while the writer still holds the pipe open. Both formats.
source "$(dirname "$0")/produce_common.bash"

for fmt in csv jsonl; do
  topic="$(new_topic "prod_pipe_$fmt" 1)"
  fifo="$T_DIR/feed.$fmt"
  mkfifo "$fifo"
  produce -t "$topic" --format "$fmt" - <"$fifo" >"$T_DIR/produce.$fmt.log" 2>&1 &
  pid=$!
  exec 3>"$fifo"
  if [[ "$fmt" == csv ]]; then
    printf '%s\norg-a,,er_visits,DAY,2024-01-01,5,,,ehr,2024-01-02T00:00:00Z\norg-a,,er_visits,DAY,2024-01-02,6,,,ehr,2024-01-03T00:00:00Z\n' "$HDR" >&3
  else
    printf '%s\n' '{"org_id":"org-a","metric":"er_visits","grain":"DAY","period_start":"2024-01-01","value":5,"source":"ehr","observed_at":"2024-01-02T00:00:00Z"}' \
      '{"org_id":"org-a","metric":"er_visits","grain":"DAY","period_start":"2024-01-02","value":6,"source":"ehr","observed_at":"2024-01-03T00:00:00Z"}' >&3
  fi
  two() { [[ "$(topic_count "$topic")" == 2 ]]; }
  wait_for 20 two || fail "$fmt: $(topic_count "$topic") of the 2 rows written are in the topic while the pipe is open"
  kill -0 "$pid" 2>/dev/null || fail "$fmt: outcomes-produce ended before its input did: $(cat "$T_DIR/produce.$fmt.log")"
  exec 3>&-
  wait "$pid" || fail "$fmt: outcomes-produce: exit $?: $(cat "$T_DIR/produce.$fmt.log")"
  pass "$fmt: the rows written to an open pipe were published before it closed"
done
