#!/usr/bin/env bash
# test_notify_listener.sh - the notify_listener.py harness that the daemon
# tests use, proven against systemd-notify(1) (which sends to NOTIFY_SOCKET
# without systemd as PID 1): READY, WATCHDOG and STOPPING seen in order,
# in the path and the abstract-namespace forms; the watchdog kicks stop
# while the kicking process is stopped (SIGSTOP) and resume after SIGCONT;
# and the checks fail when they should.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LISTENER="${HERE}/notify_listener.py"
TMP="$(mktemp -d /tmp/oc-test-notify-listener.XXXXXX)"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=tests/integration/tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/tap.bash"
# fail shows the listeners' logs.
fail_details() {
  local f
  for f in "$TMP"/*.log; do
    [[ -f "$f" ]] && sed "s|^|${f##*/}: |" "$f"
  done
}

command -v systemd-notify >/dev/null || fail "systemd-notify not found (apt-get install systemd)"

# start_listener SOCKET OUT: in the background; returns once it is bound.
start_listener() {
  local ready="${TMP}/ready.$RANDOM" i
  python3 "$LISTENER" listen "$1" "$2" --ready-file "$ready" --timeout 120 &
  PIDS+=("$!")
  for ((i = 0; i < 100; i++)); do
    [[ -s "$ready" ]] && return 0
    sleep 0.1
  done
  fail "listener on $1 not ready within 10 s"
}

nl() { python3 "$LISTENER" "$@"; }

# --- path socket: a daemon's life ------------------------------------------
OUT="${TMP}/path.log"
SOCK="${TMP}/notify.sock"
start_listener "$SOCK" "$OUT"
export NOTIFY_SOCKET="$SOCK"

# Without --no-block systemd-notify waits on a BARRIER=1 descriptor: the
# listener must close it, or this would hang.
timeout 10 systemd-notify --ready --status="starting up" || fail "systemd-notify --ready"
nl wait "$OUT" READY=1 --timeout 5 || fail "READY=1 not logged"
nl wait "$OUT" "STATUS=" --timeout 5 || fail "STATUS= not logged"
grep -q 'READY=1\\nSTATUS=starting up' "$OUT" || fail "READY and STATUS not one datagram"
grep -Eq '^[0-9]+\.[0-9]{6} pid=[0-9]+ ' "$OUT" || fail "line without time and sender pid"

# A main loop kicking the watchdog every 0.2 s.
(
  while :; do
    systemd-notify --no-block WATCHDOG=1
    sleep 0.2
  done
) &
KICKER=$!
PIDS+=("$KICKER")
nl wait "$OUT" WATCHDOG=1 --count 3 --timeout 10 || fail "watchdog kicks not seen"
# The harness notices kicks that keep coming.
if nl quiet "$OUT" WATCHDOG=1 --for 1 2>/dev/null; then
  fail "quiet passed while the kicks went on"
fi

# Stuck: no kick while the process is stopped.
kill -STOP "$KICKER"
sleep 0.5 # a systemd-notify already started may still land
nl quiet "$OUT" WATCHDOG=1 --for 1.5 || fail "WATCHDOG=1 arrived while stopped"
read -r n_stopped gap <<<"$(nl count "$OUT" WATCHDOG=1)"
kill -CONT "$KICKER"
nl wait "$OUT" WATCHDOG=1 --count $((n_stopped + 2)) --timeout 10 ||
  fail "watchdog kicks did not resume after SIGCONT"
read -r _ gap <<<"$(nl count "$OUT" WATCHDOG=1)"
awk -v g="$gap" 'BEGIN { exit !(g >= 1.5) }' || fail "largest kick gap ${gap}s misses the stop"
kill "$KICKER"
wait "$KICKER" 2>/dev/null || true

systemd-notify --no-block STOPPING=1 || fail "systemd-notify STOPPING=1"
nl wait "$OUT" STOPPING=1 --timeout 5 || fail "STOPPING=1 not logged"
nl order "$OUT" READY=1 WATCHDOG=1 STOPPING=1 || fail "READY, WATCHDOG, STOPPING out of order"
if nl order "$OUT" STOPPING=1 READY=1 2>/dev/null; then
  fail "order accepted STOPPING=1 before READY=1"
fi
if nl wait "$OUT" RELOADING=1 --timeout 0.3 2>/dev/null; then
  fail "wait found an assignment never sent"
fi

# --- abstract-namespace socket ---------------------------------------------
OUT2="${TMP}/abstract.log"
ABSTRACT="@oc-test-notify-$$-${RANDOM}"
start_listener "$ABSTRACT" "$OUT2"
export NOTIFY_SOCKET="$ABSTRACT"
systemd-notify --no-block --ready || fail "systemd-notify --ready (abstract)"
systemd-notify --no-block WATCHDOG=1
systemd-notify --no-block STOPPING=1
nl wait "$OUT2" STOPPING=1 --timeout 5 || fail "STOPPING=1 not logged (abstract)"
nl order "$OUT2" READY=1 WATCHDOG=1 STOPPING=1 || fail "abstract: out of order"

echo "ok: notify_listener.py saw READY, WATCHDOG, STOPPING in order; kicks stopped under SIGSTOP (gap ${gap}s)"
