#!/usr/bin/env bash
# test_demo_readme.sh - the validation command of deploy/demo/README.md works
# as written, from the source tree: every indented command line there that
# runs outcomes-produce with --dry-run is run (with build/ meaning the build
# directory under test) and must read the whole demo file it names (the CSV,
# or the FHIR MeasureReports) with no row rejected. Needs only the build (label unit).
set -euo pipefail

BUILD="${OC_BUILD_DIR:?OC_BUILD_DIR: the build directory (set by ctest)}"
SRC="${OC_SOURCE_DIR:?OC_SOURCE_DIR: the source directory (set by ctest)}"
# shellcheck source=tests/integration/tap.bash
source "${SRC}/tests/integration/tap.bash"

CSV_ROWS="$(($(wc -l <"${SRC}/deploy/demo/observations.csv") - 1))"
FHIR_ROWS="$(wc -l <"${SRC}/deploy/demo/readmissions.ndjson")"
# Indented lines (markdown code), continuations joined, comments dropped.
mapfile -t CMDS < <(sed -n 's/^    //p' "${SRC}/deploy/demo/README.md" |
  sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' | sed 's/[[:space:]]*#.*$//' |
  grep -E 'outcomes-produce .*--dry-run')
[[ "${#CMDS[@]}" -ge 1 ]] || bail "deploy/demo/README.md has no outcomes-produce --dry-run command"

cd "$SRC"
for cmd in "${CMDS[@]}"; do
  run="${cmd//build\//${BUILD}/}"
  ROWS="$CSV_ROWS"
  [[ "$cmd" != *readmissions.ndjson* ]] || ROWS="$FHIR_ROWS"
  rc=0
  out="$(env -u OUTCOMES_CATALOG -u OUTCOMES_SCHEMA_DIR bash -c "$run" 2>&1)" || rc=$?
  want="rows read ${ROWS}, valid ${ROWS}, rejected 0 (dry run: nothing sent)"
  if [[ "$rc" -eq 0 && "$(tail -n 1 <<<"$out")" == "$want" ]]; then
    ok "'${cmd}' validates the ${ROWS} rows of the demo"
  else
    printf '%s\n' "$out" | tail -n 3 | sed 's/^/#   /'
    not_ok "'${cmd}': exit ${rc}, want 0 and '${want}'"
  fi
done
printf '1..%d\n' "$CHECKS"
[[ "$FAILURES" -eq 0 ]]
