# tap.bash - TAP output for the shell tests that report many checks
# (sourced, not a test itself): ok / not_ok count them, bail stops at a
# missing precondition. The test reads CHECKS and FAILURES at its end.
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
