#!/usr/bin/env bash
# test_prometheus_rules.sh - deploy/prometheus/outcomes.rules.yml with
# Prometheus's own checker:
#   - `promtool check rules` accepts it: exit 0, "SUCCESS: N rules found"
#     with N the record and alert entries of the file;
#   - `promtool test rules outcomes.rules.test.yml` passes: exit 0, SUCCESS;
#   - every alert has a test in which it fires and one in which it does not,
#     a severity label, summary, description and runbook annotations, and
#     each section its runbook names ("§N Title") is a heading "## N. Title"
#     of docs/operations.md;
#   - the checks can fail: a copy with a PromQL syntax error fails `check
#     rules`, and a copy whose OutcomesBatchesFailing threshold moved fails
#     `test rules` naming the alert.
# Needs promtool (Debian package prometheus; label unit). Run by ctest with
# OC_SOURCE_DIR.
set -euo pipefail

SRC="${OC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=tests/integration/tap.bash
source "${SRC}/tests/integration/tap.bash"
command -v promtool >/dev/null || bail "promtool not found: install Debian's prometheus package (deploy/lib/install-deps.sh)"

RULES="${SRC}/deploy/prometheus/outcomes.rules.yml"
TESTS="${SRC}/deploy/prometheus/outcomes.rules.test.yml"
OPS="${SRC}/docs/operations.md"
T="$(mktemp -d /tmp/oc_test_prometheus_rules.XXXXXX)"
trap 'rm -rf "$T"' EXIT

# expect NAME RC WANT_RC PATTERN: RC is WANT_RC and OUT contains PATTERN.
expect() {
  if [[ "$2" -eq "$3" && "$OUT" == *"$4"* ]]; then
    ok "$1"
  else
    printf '%s\n' "$OUT" | sed 's/^/#   /' | head -n 40
    not_ok "$1 (exit $2, want $3 and \"$4\")"
  fi
}

n_rules="$(grep -cE '^ *- (record|alert):' "$RULES")"
[[ "$n_rules" -ge 15 ]] || bail "only ${n_rules} rules found in ${RULES}"

run_rc rc promtool check rules "$RULES"
expect "promtool check rules: ${n_rules} rules" "$rc" 0 "SUCCESS: ${n_rules} rules found"

run_rc rc promtool test rules "$TESTS"
expect "promtool test rules outcomes.rules.test.yml" "$rc" 0 "SUCCESS"

# Each alert: a firing and a quiet test case, its labels and annotations, and
# the runbook's sections in docs/operations.md. Prints "ok MSG"/"not_ok MSG".
python3 - "$RULES" "$TESTS" "$OPS" >"${T}/results" <<'PY'
import re, sys

rules, tests, ops = (open(p).read() for p in sys.argv[1:4])
headings = {m.group(1): m.group(2).strip() for m in re.finditer(r'^## (\d+)\. (.+)$', ops, re.M)}

# The alerts and, for each, the text of its entry up to the next rule.
alerts = {}
for block in re.split(r'\n(?=\s*- (?:alert|record):)', rules):
    m = re.match(r'\s*- alert:\s*(\S+)', block)
    if m:
        alerts[m.group(1)] = block

# Test cases: alertname then exp_alerts: [] (quiet) or a list (fires).
cases = {}
for m in re.finditer(r'alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*(\[\])?', tests):
    cases.setdefault(m.group(1), set()).add("quiet" if m.group(2) else "fires")

print(f"{'ok' if len(alerts) >= 10 else 'not_ok'} {len(alerts)} alerts in the rules file")
for name, block in alerts.items():
    got = cases.get(name, set())
    print(f"{'ok' if got == {'quiet', 'fires'} else 'not_ok'} {name}: tested firing and quiet "
          f"(has {sorted(got)})")
    problems = []
    if not re.search(r'\n\s*severity:\s*(critical|warning)\s*\n', block):
        problems.append("no severity critical or warning")
    for key in ("summary", "description", "runbook"):
        if not re.search(r'\n\s*' + key + r':\s*"[^"]{10,}', block):
            problems.append(f"no {key} annotation")
    runbook = re.search(r'runbook:\s*"([^"]*)"', block)
    sections = re.findall(r'§(\d+) ([^;(]+)', runbook.group(1)) if runbook else []
    if not runbook or not runbook.group(1).startswith("docs/operations.md §") or not sections:
        problems.append("runbook does not name a section of docs/operations.md")
    for num, title in sections:
        if headings.get(num) != title.strip():
            problems.append(f"docs/operations.md has no heading '## {num}. {title.strip()}'")
    print(f"{'ok' if not problems else 'not_ok'} {name}: severity, annotations, runbook "
          f"{[f'§{n}' for n, _ in sections]}" + (": " + "; ".join(problems) if problems else ""))
for name in sorted(set(cases) - set(alerts)):
    print(f"not_ok the tests name {name}, which the rules file does not have")
PY
while read -r word msg; do
  case "$word" in
  ok) ok "$msg" ;;
  *) not_ok "$msg" ;;
  esac
done <"${T}/results"

# A broken copy: a syntax error in one expression.
mkdir "${T}/syntax"
sed 's/expr: outcomes_pg_connected == 0$/expr: outcomes_pg_connected == == 0/' "$RULES" >"${T}/syntax/outcomes.rules.yml"
cmp -s "$RULES" "${T}/syntax/outcomes.rules.yml" && bail "the syntax-error copy equals the original"
run_rc rc promtool check rules "${T}/syntax/outcomes.rules.yml"
expect "a copy with a PromQL syntax error: promtool check rules fails" "$rc" 1 "FAILED"

# A broken copy: a threshold moved, the unit tests beside it.
mkdir "${T}/threshold"
sed 's/expr: outcomes_batch_consecutive_failures >= 3$/expr: outcomes_batch_consecutive_failures >= 30/' \
  "$RULES" >"${T}/threshold/outcomes.rules.yml"
cmp -s "$RULES" "${T}/threshold/outcomes.rules.yml" && bail "the threshold copy equals the original"
cp "$TESTS" "${T}/threshold/"
run_rc rc promtool check rules "${T}/threshold/outcomes.rules.yml"
expect "a copy with another threshold is still valid" "$rc" 0 "SUCCESS: ${n_rules} rules found"
run_rc rc promtool test rules "${T}/threshold/outcomes.rules.test.yml"
expect "a copy with another threshold: promtool test rules fails on OutcomesBatchesFailing" "$rc" 1 \
  "alertname: OutcomesBatchesFailing"

printf '1..%d\n' "$CHECKS"
if [[ "$FAILURES" -ne 0 ]]; then
  printf '# %d of %d checks failed\n' "$FAILURES" "$CHECKS"
  exit 1
fi
