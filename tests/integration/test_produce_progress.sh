#!/usr/bin/env bash
# test_produce_progress.sh - outcomes-produce's progress line:
#   - --progress on a stderr that is not a terminal prints whole lines, the
#     last with the run's totals (rows read, sent, rejected, 100% of a
#     regular file), the rejected rows on lines of their own and the
#     summary and exit status as without it;
#   - --quiet, or no --progress off a terminal, prints none;
#   - from a pipe (size unknown: no percentage), a pause longer than the
#     interval gives a line before the last;
#   - on a terminal (script(1)) the line is rewritten in place and cleared
#     before a rejected row's message, and the last one stays.
source "$(dirname "$0")/produce_common.bash"

topic="$(new_topic prod_progress 3)"
csv="$T_DIR/in.csv"
gen_csv "$csv" 3000
printf 'org-x,,no_such_metric,DAY,2024-01-01,1,,,gen,\norg-y,,er_visits,DAY,2024-01-01,abc,,,gen,\n' >>"$csv"
REJECT_1="$csv:3002: metric: unknown metric 'no_such_metric'"

# progress_lines FILE: the progress lines of a log.
progress_lines() { grep '^progress: ' "$1" || true; }

# A regular file, --progress, stderr a file.
set +e
produce -t "$topic" --progress "$csv" 2>"$T_DIR/p.log"
rc=$?
set -e
[[ $rc == 65 ]] || fail "--progress: exit $rc, not 65 (rows rejected): $(cat "$T_DIR/p.log")"
last="$(progress_lines "$T_DIR/p.log" | tail -1)"
[[ "$last" =~ ^progress:\ rows\ read\ 3002,\ sent\ 3000,\ [0-9]+\ rows/s,\ 100%,\ rejected\ 2$ ]] ||
  fail "--progress: the last progress line is '$last': $(cat "$T_DIR/p.log")"
grep -qxF "$REJECT_1" "$T_DIR/p.log" || fail "--progress: no line '$REJECT_1': $(cat "$T_DIR/p.log")"
[[ "$(tail -1 "$T_DIR/p.log")" == "rows read 3002, published 3000, rejected 2" ]] ||
  fail "--progress: the summary is not the last line: $(cat "$T_DIR/p.log")"
[[ "$(topic_count "$topic")" == 3000 ]] || fail "--progress: $(topic_count "$topic") records, not 3000"
pass "--progress: the last line has the totals (3002 read, 3000 sent, 2 rejected, 100%), then the summary; exit 65"

# Every line of the log is whole: a progress line, a rejected row, the
# summary, or the registry's log line.
bad="$(grep -vE '^(progress: rows read [0-9]+, sent [0-9]+, [0-9]+ rows/s, [0-9]+%, rejected [0-9]+|'"${csv//./\\.}"':300[23]: (metric|value): .*|rows read 3002, published 3000, rejected 2|.*\[info\] schema_registered .*)$' "$T_DIR/p.log" || true)"
[[ -z "$bad" ]] || fail "--progress: lines that are none of the expected ones: $bad"
pass "--progress: every line of stderr is whole"

# --quiet hides it; without --progress stderr that is not a terminal gets none.
for opts in "--progress --quiet" ""; do
  set +e
  # shellcheck disable=SC2086 # the options are words
  produce -t "$topic" $opts "$csv" 2>"$T_DIR/q.log"
  rc=$?
  set -e
  [[ $rc == 65 ]] || fail "'$opts': exit $rc, not 65: $(cat "$T_DIR/q.log")"
  [[ -z "$(progress_lines "$T_DIR/q.log")" ]] || fail "'$opts': progress lines: $(cat "$T_DIR/q.log")"
  [[ "$(tail -1 "$T_DIR/q.log")" == "rows read 3002, published 3000, rejected 2" ]] ||
    fail "'$opts': the summary: $(cat "$T_DIR/q.log")"
done
pass "--quiet, or stderr not a terminal without --progress: no progress line, the same summary"

# A pipe that pauses longer than the interval (1 s off a terminal).
{
  head -1001 "$csv"
  sleep 1.5
  tail -n +1002 "$csv"
} | produce -t "$topic" --format csv --progress - 2>"$T_DIR/pipe.log" && rc=0 || rc=$?
[[ $rc == 65 ]] || fail "pipe: exit $rc, not 65: $(cat "$T_DIR/pipe.log")"
mapfile -t lines < <(progress_lines "$T_DIR/pipe.log")
((${#lines[@]} >= 2)) || fail "pipe: ${#lines[@]} progress line(s), not 2 or more: $(cat "$T_DIR/pipe.log")"
first_read="$(grep -Eo 'read [0-9]+' <<<"${lines[0]}" | awk '{print $2}')"
((first_read >= 1 && first_read < 3002)) ||
  fail "pipe: the first line counts $first_read rows read, not from 1 to 3001: ${lines[0]}"
[[ "${lines[-1]}" =~ ^progress:\ rows\ read\ 3002,\ sent\ 3000,\ [0-9]+\ rows/s,\ rejected\ 2$ ]] ||
  fail "pipe: the last progress line is '${lines[-1]}' (no percentage from a pipe)"
pass "pipe: a line during the pause ($first_read rows read), the last with the totals and no percentage"

# A terminal: script(1) gives the program one (its output has CR LF).
cat >"$T_DIR/tty.sh" <<EOF
{ head -1001 '$csv'; sleep 0.6; tail -n +1002 '$csv'; } |
  '$PRODUCE' -b '$BROKERS' --catalog '$CATALOG' --schema-dir '$SCHEMAS' -t '$topic' --format csv -
EOF
script -qec "bash '$T_DIR/tty.sh'" /dev/null </dev/null >"$T_DIR/tty.log" && rc=0 || rc=$?
[[ $rc == 65 ]] || fail "terminal: exit $rc, not 65: $(cat -v "$T_DIR/tty.log")"
esc=$'\033'
tty_out="$(cat "$T_DIR/tty.log")"
# After the pause a line is drawn; the rejected row clears it first.
[[ "$tty_out" == *$'\r'"progress: rows read "*"${esc}[K"$'\r'"${esc}[K<stdin>:3002: metric: unknown metric 'no_such_metric'"$'\r\n'* ]] ||
  fail "terminal: the line is not cleared before the rejected row's message: $(cat -v "$T_DIR/tty.log")"
[[ "$tty_out" =~ $'\r'progress:\ rows\ read\ 3002,\ sent\ 3000,\ [0-9]+\ rows/s,\ rejected\ 2"${esc}"\[K$'\r\n'rows\ read\ 3002,\ published\ 3000,\ rejected\ 2$'\r'?$ ]] ||
  fail "terminal: the last line with the totals is not left before the summary: $(cat -v "$T_DIR/tty.log")"
pass "terminal: the line is rewritten in place, cleared before a rejected row, left with the totals"
