#!/usr/bin/env bash
# test_chaos_storm.sh - a rebalance storm: three outcomes-rollupd instances
# (A, B, C) in one consumer group on a 6-partition topic while a seeded
# stream is published in chunks (then its tombstones). A seeded random
# sequence of events (12 short, 60 with CHAOS_LONG=1), each one fault, picks
# an instance and
#   term  stops it with SIGTERM: it must exit 0 within STORM_STOP_MAX_S
#         (default 30 s; longer is a hang in the rebalance or the close;
#         a close during a rebalance that waits for a killed member takes
#         up to its session timeout, 6 s); restarted after a random 0.3-4 s
#   kill  kills it with -9; restarted after a random 0.3-4 s
#   join  starts a fourth, short-lived instance, stopped with SIGTERM after
#         2-6 s (exit 0)
# so the group rebalances all the time with 1 to 4 members (a term or kill
# leaves at least one of A, B, C running). Every process's log must be free
# of sanitizer reports. After the last event: I4 (from the end of the storm,
# or of the publishing if later, until the whole topic is consumed),
# convergence, I1-I3, I5 on the survivors (see chaos_common.bash), and the
# work was shared: at least two of A, B, C committed batches (their logs'
# "stats/stopped batches=" lines).
# The sequence is printed with its seed; CHAOS_SEED=N repeats it (the
# timing, and so the assignments, still vary).
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

chaos_init storm
events=12 orgs=4 chunks=60 pause=0.5
if chaos_long; then events=60 orgs=12 chunks=240 pause=0.5; fi
STORM_STOP_MAX_S="${STORM_STOP_MAX_S:-30}"
seed="${CHAOS_SEED:-$(($(date +%s%N) % 1000000))}"
echo "storm seed=$seed events=$events (CHAOS_SEED=$seed repeats the sequence)"

new_db chaos_storm
topic="$(new_topic chaos_storm 6)"
group="$(uniq_name g_chaos_storm)"
chaos_gen "$T_DIR/gen" 79 --orgs "$orgs" --facilities 3 --grains day,month --periods 30 \
  --metrics er_visits,readmission_rate_30d,supply_cost,ar_balance
# A killed member holds its partitions until its session times out (6 s,
# the broker's minimum); batches small and short so that revocations often
# find one in flight; a stats line every second, so that a killed process
# has reported its batches.
opts=(-X kafka.session.timeout.ms=6000 -X kafka.heartbeat.interval.ms=500
  -X batch.max.records=100 -X batch.max.wait=200ms -X stats.interval=1s)
RANDOM=$seed

names=(A B C)
declare -A slot_pid=() restart_at=() pid_name=()
joiner="" joiner_stop_at=0
n_started=0 n_term=0 n_kill=0 n_join=0

now_ms() { NOW=$((${EPOCHREALTIME/./} / 1000)); }
# rand LO HI: a random integer in [LO, HI] into R (no subshell: the
# sequence stays the seed's).
rand() { R=$(($1 + RANDOM % ($2 - $1 + 1))); }

start_instance() {
  local name="$1" started=""
  chaos_daemon_start started "$topic" "$group" "${opts[@]}" -X "pg.application_name=storm_$name"
  pid_name[$started]="$name"
  n_started=$((n_started + 1))
  [[ "$name" == J ]] || slot_pid[$name]="$started"
  LAST_PID="$started"
}

# check_log PID: no sanitizer report in the process's log.
check_log() {
  local log
  log="$(chaos_daemon_log "$1")"
  if grep -Eq 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$log"; then
    fail "${pid_name[$1]} (pid $1): sanitizer report: $(grep -E -m3 \
      'AddressSanitizer|runtime error:|LeakSanitizer' "$log")"
  fi
}

# check_alive PID: still running; a crash (on a revocation, say) fails
# here with the process's exit status and log.
check_alive() {
  local rc
  kill -0 "$1" 2>/dev/null && return 0
  set +e
  wait "$1"
  rc=$?
  set -e
  check_log "$1"
  fail "${pid_name[$1]} (pid $1) died (exit $rc): $(tail -5 "$(chaos_daemon_log "$1")")"
}

# stop_instance PID term|kill: stop it and check how it ended.
stop_instance() {
  local pid="$1" how="$2" log rc t0
  log="$(chaos_daemon_log "$pid")"
  check_alive "$pid"
  chaos_rss_sample "$pid"
  if [[ "$how" == kill ]]; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true # 137; without bash's "Killed" line
    check_log "$pid"
    return 0
  fi
  # A SIGTERM before the daemon installed its handlers would test bash:
  # wait for its start line (it is up then).
  wait_for 30 grep -q 'started version=' "$log" || true
  check_alive "$pid"
  t0="$(now_s)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + STORM_STOP_MAX_S))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    fail "${pid_name[$pid]} (pid $pid) still running ${STORM_STOP_MAX_S} s after SIGTERM" \
      "(a hang in the rebalance or the close): $(tail -5 "$log")"
  fi
  set +e
  wait "$pid"
  rc=$?
  set -e
  STOP_S="$(elapsed_since "$t0")"
  check_log "$pid"
  [[ $rc == 0 ]] || fail "${pid_name[$pid]} (pid $pid): exit $rc after SIGTERM: $(tail -5 "$log")"
}

# sample_all [rss]: every running process alive; with rss, its RSS sampled.
sample_all() {
  local p
  for p in "${slot_pid[@]}" "$joiner"; do
    [[ -n "$p" ]] || continue
    check_alive "$p"
    [[ -z "${1:-}" ]] || chaos_rss_sample "$p"
  done
}

running() {
  local n k=0
  for n in "${names[@]}"; do [[ -n "${slot_pid[$n]}" ]] && k=$((k + 1)); done
  echo "$k"
}

for n in "${names[@]}"; do start_instance "$n"; done
chaos_trickle "$topic" "$CHAOS_GEN/stream.csv" "$chunks" "$pause"
retracted=0 t_published=""
t_storm="$(now_s)"
now_ms
next_event=$((NOW + 2000))
done_events=0
t_last=""

# The storm: every 0.1 s restart who is due, stop the joiner when due, and
# when the next event is due, draw it.
while :; do
  now_ms
  for n in "${names[@]}"; do
    if [[ -z "${slot_pid[$n]}" ]] && ((NOW >= restart_at[$n])); then
      start_instance "$n"
      echo "  +${n} restarted (pid $LAST_PID), $(running) of 3 running"
      t_last="$(now_s)"
    fi
  done
  if [[ -n "$joiner" ]] && ((NOW >= joiner_stop_at)); then
    stop_instance "$joiner" term
    echo "  joiner (pid $joiner) SIGTERM -> exit 0 in $STOP_S s"
    joiner=""
    t_last="$(now_s)"
  fi
  if ((retracted == 0)) && ! kill -0 "$TRICKLE_PID" 2>/dev/null; then
    chaos_trickle_wait
    chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
    retracted=1
    t_published="$(now_s)"
    echo "  stream published ($CHAOS_RECORDS records with the tombstones)"
  fi
  if ((done_events < events && NOW >= next_event)); then
    rand 1 100
    if ((R <= 40)); then action="term"; elif ((R <= 75)); then action="kill"; else action="join"; fi
    up=()
    for n in "${names[@]}"; do [[ -n "${slot_pid[$n]}" ]] && up+=("$n"); done
    # At least one of A, B, C keeps running; one joiner at a time.
    if [[ $action != join && ${#up[@]} -le 1 ]]; then action="join"; fi
    if [[ $action == join && -n "$joiner" ]]; then
      if ((${#up[@]} > 1)); then action="kill"; else action=""; fi
    fi
    [[ -z "$action" ]] || done_events=$((done_events + 1))
    case "$action" in
    join)
      start_instance J
      joiner="$LAST_PID"
      rand 2000 6000
      joiner_stop_at=$((NOW + R))
      n_join=$((n_join + 1))
      echo "event $done_events: joiner started (pid $joiner) for $R ms," \
        "$(running) of 3 running"
      ;;
    term | kill)
      rand 0 $((${#up[@]} - 1))
      n="${up[$R]}"
      pid="${slot_pid[$n]}"
      slot_pid[$n]=""
      stop_instance "$pid" "$action"
      rand 300 4000
      now_ms
      restart_at[$n]=$((NOW + R))
      if [[ $action == term ]]; then
        n_term=$((n_term + 1))
        echo "event $done_events: $n (pid $pid) SIGTERM -> exit 0 in $STOP_S s," \
          "restart in $R ms"
      else
        n_kill=$((n_kill + 1))
        echo "event $done_events: $n (pid $pid) kill -9, restart in $R ms"
      fi
      ;;
    *) ;; # one of A, B, C up and the joiner too: wait for a restart
    esac
    [[ -z "$action" ]] || CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
    t_last="$(now_s)"
    rand 800 3500
    next_event=$((NOW + R))
  fi
  if ((done_events >= events)) && [[ -z "$joiner" && "$(running)" == 3 ]]; then break; fi
  if ((SECONDS % 2)); then sample_all; else sample_all rss; fi
  sleep 0.1
done
echo "storm over after $(elapsed_since "$t_storm") s: $n_term term, $n_kill kill -9," \
  "$n_join joiners, $n_started processes started"

survivors=("${slot_pid[A]}" "${slot_pid[B]}" "${slot_pid[C]}")
if ((retracted == 0)); then
  chaos_trickle_wait
  chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
  t_published="$(now_s)"
fi
# I4: from the last event (or the last publish, if later) until the group
# has settled and consumed the whole topic - a group that stays stuck in a
# rebalance, or a partition nobody consumes, fails here.
t0="$(awk -v a="$t_last" -v b="$t_published" 'BEGIN { print (a > b ? a : b) }')"
CHAOS_RECOVERY_T0="$t0" CHAOS_RECOVER_TO_END=1 chaos_recovered "$group" "$topic" "${survivors[@]}"
chaos_wait_converged "$topic" "$group" "${survivors[@]}"

# Who did the work: per instance, the processes, their non-empty
# assignments and the batches they committed (the last stats or stopped
# line of each process: its count since its start).
declare -A batches=() assigns=() procs=()
for pid in "${!pid_name[@]}"; do
  n="${pid_name[$pid]}"
  log="$(chaos_daemon_log "$pid")"
  b="$(grep -Eo '(stats|stopped) batches=[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$' || true)"
  a="$(grep -Ec 'partitions_assigned .*count=[1-9]' "$log" || true)"
  batches[$n]=$((${batches[$n]:-0} + ${b:-0}))
  assigns[$n]=$((${assigns[$n]:-0} + a))
  procs[$n]=$((${procs[$n]:-0} + 1))
done
logs=()
for pid in "${!pid_name[@]}"; do logs+=("$(chaos_daemon_log "$pid")"); done
echo "all processes: $(cat "${logs[@]}" | grep -c 'partitions_assigned' || true) assignments," \
  "$(cat "${logs[@]}" | grep -c 'partitions_revoked' || true) revocations," \
  "$(cat "${logs[@]}" | grep -c 'batch_dropped' || true) batches dropped on a revocation," \
  "$(cat "${logs[@]}" | grep -c 'offsets_conflict' || true) offsets conflicts"
worked=0
for n in "${names[@]}" J; do
  [[ -n "${procs[$n]:-}" ]] || continue
  echo "instance $n: ${procs[$n]} processes, ${assigns[$n]} non-empty assignments," \
    "${batches[$n]} batches committed"
  if [[ $n != J ]] && ((batches[$n] > 0)); then worked=$((worked + 1)); fi
done
((worked >= 2)) || fail "only $worked of A, B, C committed batches: the partitions were not shared"

chaos_check_all "$group" "$topic"
for pid in "${survivors[@]}"; do chaos_check_daemon "$pid"; done
chaos_result
