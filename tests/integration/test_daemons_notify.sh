#!/usr/bin/env bash
# The systemd notification protocol of both daemons against a real
# listening NOTIFY_SOCKET (tests/integration/notify_listener.py), with a
# 1-second watchdog: outcomes-rollupd and outcomes-produce --watch each send
# READY=1, then WATCHDOG=1 while working or healthily idle, no WATCHDOG=1
# while stuck (SIGSTOP), kicks again after SIGCONT, then STOPPING=1 on
# SIGTERM, in that order, and exit 0; and outcomes-produce --watch keeps
# sending WATCHDOG=1 while it publishes one large file.
source "$(dirname "$0")/pipeline_common.bash"

LISTENER="${OC_SOURCE_DIR}/tests/integration/notify_listener.py"

# start_listener SOCKET OUT: in the background; returns once it is bound.
start_listener() {
  local ready="${T_DIR}/ready.$RANDOM" i
  python3 "$LISTENER" listen "$1" "$2" --ready-file "$ready" --timeout 300 &
  T_PIDS+=("$!")
  for ((i = 0; i < 100; i++)); do
    [[ -f "$ready" ]] && return 0
    sleep 0.05
  done
  fail "notify listener did not bind $1"
}

# check_protocol NAME PID OUT: the sequence for one daemon already started.
check_protocol() {
  local name="$1" pid="$2" out="$3" rc=0
  python3 "$LISTENER" wait "$out" READY=1 --timeout 60 || fail "$name: no READY=1"
  python3 "$LISTENER" wait "$out" WATCHDOG=1 --count 3 --timeout 20 ||
    fail "$name: fewer than 3 WATCHDOG=1 after READY"
  kill -STOP "$pid"
  sleep 0.3 # a datagram already in flight
  python3 "$LISTENER" quiet "$out" WATCHDOG=1 --for 2.5 ||
    { kill -CONT "$pid"; fail "$name: WATCHDOG=1 while stopped"; }
  local before
  before="$(python3 "$LISTENER" count "$out" WATCHDOG=1 | awk '{print $1}')"
  kill -CONT "$pid"
  python3 "$LISTENER" wait "$out" WATCHDOG=1 --count $((before + 1)) --timeout 10 ||
    fail "$name: no WATCHDOG=1 after SIGCONT"
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  [[ "$rc" == 0 ]] || fail "$name: exit $rc after SIGTERM, want 0"
  python3 "$LISTENER" wait "$out" STOPPING=1 --timeout 5 || fail "$name: no STOPPING=1"
  python3 "$LISTENER" order "$out" READY=1 WATCHDOG=1 STOPPING=1 ||
    fail "$name: READY, WATCHDOG, STOPPING not in order: $(cat "$out")"
  pass "$name: READY=1, WATCHDOG=1 (stopped while stuck), STOPPING=1, exit 0"
}

# outcomes-rollupd, consuming a small topic and then idle.
new_db notify
TOPIC="$(new_topic notify 2)"
printf '%s\n%s\n' "$HDR" \
  "org-a,fac-1,er_visits,MONTH,2024-01-01,10,,,test,2024-02-01T00:00:00Z" >"$T_DIR/one.csv"
produce -t "$TOPIC" "$T_DIR/one.csv" || fail "produce"
start_listener "$T_DIR/rollupd.sock" "$T_DIR/rollupd.notify"
NOTIFY_SOCKET="$T_DIR/rollupd.sock" WATCHDOG_USEC=1000000 \
  "$DAEMON" -X "topic=$TOPIC" -X "group.id=$(uniq_name notify)" -X "schema.dir=$SCHEMAS" \
  >"$T_DIR/rollupd.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
check_protocol outcomes-rollupd "$pid" "$T_DIR/rollupd.notify"
[[ "$(sql "SELECT count(*) FROM outcomes.facts")" == 1 ]] || fail "rollupd applied nothing"

# outcomes-produce --watch, idle on an empty spool directory.
mkdir -p "$T_DIR/spool"
start_listener "$T_DIR/watch.sock" "$T_DIR/watch.notify"
NOTIFY_SOCKET="$T_DIR/watch.sock" WATCHDOG_USEC=1000000 \
  "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$TOPIC" \
  --watch "$T_DIR/spool" >"$T_DIR/watch.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
check_protocol "outcomes-produce --watch" "$pid" "$T_DIR/watch.notify"

# outcomes-produce --watch publishing one large file: the watchdog is kicked
# while the file is being published, not only between files (a file that
# takes longer than WatchdogSec would otherwise be killed and started again
# from its first row, for ever).
rm -rf "$T_DIR/spool"
mkdir -p "$T_DIR/spool"
awk -v hdr="$HDR" 'BEGIN { print hdr
  for (i = 0; i < 100000; i++)
    printf "org-%d,,er_visits,DAY,2024-01-%02d,%d,,,test,2024-02-01T00:00:00Z\n", i, 1 + i % 28, i
}' >"$T_DIR/spool/.big.partial"
start_listener "$T_DIR/big.sock" "$T_DIR/big.notify"
# A queue of 1,000 records sent every 50 ms: about 20,000 records/s, so
# that the file takes about 5 s however fast the machine.
NOTIFY_SOCKET="$T_DIR/big.sock" WATCHDOG_USEC=1000000 \
  "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$TOPIC" \
  -X queue.buffering.max.messages=1000 -X linger.ms=50 \
  --watch "$T_DIR/spool" >"$T_DIR/big.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
python3 "$LISTENER" wait "$T_DIR/big.notify" READY=1 --timeout 60 || fail "big file: no READY=1"
mv "$T_DIR/spool/.big.partial" "$T_DIR/spool/big.csv"
wait_for 20 grep -q 'file_start file="big.csv"' "$T_DIR/big.log" || fail "big.csv not started"
before="$(python3 "$LISTENER" count "$T_DIR/big.notify" WATCHDOG=1 | awk '{print $1}')"
sleep 3
after="$(python3 "$LISTENER" count "$T_DIR/big.notify" WATCHDOG=1 | awk '{print $1}')"
grep -q 'file_done file="big.csv"' "$T_DIR/big.log" &&
  fail "big.csv was published within 3 s: make it larger for this check"
((after - before >= 3)) || fail "$((after - before)) WATCHDOG=1 in 3 s while publishing a file"
wait_for 120 grep -q 'file_done file="big.csv"' "$T_DIR/big.log" || fail "big.csv not done"
kill -TERM "$pid"
wait "$pid" || fail "exit $? after SIGTERM"
pass "outcomes-produce --watch: $((after - before)) WATCHDOG=1 in 3 s while publishing a large file"
