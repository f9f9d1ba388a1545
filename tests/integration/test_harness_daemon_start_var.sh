#!/usr/bin/env bash
# chaos_daemon_start VAR ... (chaos_common.bash) hands the daemon's pid back
# in VAR whatever the caller calls it, including names the helper might use
# for its own locals ("pid", "log", "topic", "group", "__var"): printf -v
# assigns the innermost variable of that name, so a local of the same name
# used to swallow the result and the caller silently got nothing.
#
# The daemon is replaced by a stub that sleeps (the helper's contract is
# the pid, the log and T_PIDS, not what runs); the stack's variables must be
# set all the same, as for every test sourcing pipeline_common.bash.
source "$(dirname "$0")/chaos_common.bash"

cat >"$T_DIR/stub-daemon" <<'EOF'
#!/usr/bin/env bash
echo "stub-daemon $*"
exec sleep 60
EOF
chmod +x "$T_DIR/stub-daemon"
DAEMON="$T_DIR/stub-daemon"

# Each name in its own function, as a caller would hold it: a local.
check_name() {
  local name="$1"
  eval "local $name=''"
  chaos_daemon_start "$name" "topic_$name" "group_$name" -X "caller=$name"
  local got="${!name}"
  [[ "$got" =~ ^[0-9]+$ ]] || fail "chaos_daemon_start $name ...: got '$got', want a pid"
  kill -0 "$got" 2>/dev/null || fail "chaos_daemon_start $name ...: pid $got is not running"
  [[ " ${T_PIDS[*]} " == *" $got "* ]] || fail "chaos_daemon_start $name ...: pid $got not in T_PIDS"
  local log
  log="$(chaos_daemon_log "$got")"
  wait_for 10 grep -q "topic=topic_$name .*caller=$name" "$log" ||
    fail "chaos_daemon_start $name ...: log '$log' lacks the arguments: $(cat "$log" 2>/dev/null)"
  kill "$got"
  wait "$got" 2>/dev/null || true
  pass "chaos_daemon_start $name ... returns pid $got"
}

for n in dpid started a pid log topic group __var; do
  check_name "$n"
done
