# tap.bash - how the shell tests report (sourced, not a test itself).
#
# A test that stops at its first failure calls pass after each check and
# fail on the first that does not hold. A test that reports many checks
# counts them with ok / not_ok (TAP), stops with bail at a missing
# precondition, and reads CHECKS and FAILURES at its end.
CHECKS=0
FAILURES=0

ok() {
  CHECKS=$((CHECKS + 1))
  printf 'ok %d - %s\n' "$CHECKS" "$1"
}

not_ok() {
  CHECKS=$((CHECKS + 1))
  FAILURES=$((FAILURES + 1))
  printf 'not ok %d - %s\n' "$CHECKS" "$1"
}

# bail MESSAGE: a precondition is missing; nothing else can be checked.
bail() {
  printf 'Bail out! %s\n' "$1"
  exit 1
}

# fail MESSAGE: the test failed: say why on stderr and exit 1. A test with
# more to show (its processes' logs) defines fail_details, which runs after
# the message, its output on stderr too.
fail() {
  echo "FAIL: $*" >&2
  if declare -F fail_details >/dev/null; then
    fail_details >&2 || true
  fi
  exit 1
}

# pass MESSAGE: one check held.
pass() { echo "ok - $*"; }

# run_rc VAR CMD...: run CMD, its output (both streams) into $OUT and its
# status into VAR.
run_rc() {
  local __var="$1"
  shift
  set +e
  OUT="$("$@" 2>&1)"
  printf -v "$__var" '%s' "$?"
  set -e
}
