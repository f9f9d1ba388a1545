#!/usr/bin/env bash
# test_man_pages.sh - the man pages built from docs/man/*.in against the
# programs built beside them:
#   - every program has a page, installed under its section;
#   - each page's header names the project version (CMake project(VERSION))
#     and the same date as the others, and no @VARIABLE@ is left;
#   - the keys a page's CONFIGURATION section describes are exactly the keys
#     of the program's table, as `PROG -X list` prints them: a key missing
#     from the page, or a page key the table does not have, fails;
#   - `PROG --version` prints "PROG VERSION".
# Needs only the build (label unit). Run by ctest with OC_BUILD_DIR and
# OC_SOURCE_DIR.
set -euo pipefail

BUILD="${OC_BUILD_DIR:?OC_BUILD_DIR: the build directory (set by ctest)}"
SRC="${OC_SOURCE_DIR:?OC_SOURCE_DIR: the source directory (set by ctest)}"
# shellcheck source=tests/integration/tap.bash
source "${SRC}/tests/integration/tap.bash"

VERSION="$(sed -n 's/^project(outcomes VERSION \([0-9.]*\).*/\1/p' "${SRC}/CMakeLists.txt")"
[[ -n "$VERSION" ]] || bail "no project version in CMakeLists.txt"

# program, its binary under the build directory, its page
PROGRAMS=(
  "outcomes-produce producers/outcomes-produce outcomes-produce.1"
  "outcomes-rollupd consumers/outcomes-rollupd outcomes-rollupd.8"
  "outcomes-replay tools/outcomes-replay outcomes-replay.8"
  "outcomes-migrate tools/outcomes-migrate outcomes-migrate.1"
  "outcomes-gen tools/outcomes-gen outcomes-gen.1"
)

# The keys of a program's table: the lines "  key  type  default ..." of -X list.
table_keys() {
  "$1" -X list | sed -n 's/^  \([a-z][a-z0-9_.]*\) .*/\1/p' | sort -u
}

# The keys a page describes: in its CONFIGURATION section, the bold words of
# each .TP tag (.B or .BR lines; quoted text such as " (default)" and
# .BI/.IB forms such as kafka.<property> are not keys).
page_keys() {
  awk '
    /^\.SH / { in_conf = ($0 ~ /^\.SH "?CONFIGURATION"?$/); next }
    !in_conf { next }
    /^\.TP/ { tag = 1; next }
    tag {
      tag = 0
      if ($1 != ".B" && $1 != ".BR") next
      line = $0
      gsub(/"[^"]*"/, " ", line)
      n = split(line, w, /[ ,]+/)
      for (i = 2; i <= n; i++)
        if (w[i] ~ /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/) print w[i]
    }' "$1" | sort -u
}

DATES=""
for entry in "${PROGRAMS[@]}"; do
  read -r prog bin page <<<"$entry"
  exe="${BUILD}/${bin}"
  man="${BUILD}/docs/man/${page}"
  [[ -x "$exe" ]] || bail "${exe} is not built"
  if [[ ! -f "$man" ]]; then
    not_ok "${prog}: ${man} is built from docs/man/${page}.in"
    continue
  fi
  ok "${prog}: its page ${page} is built"

  # Header: .TH NAME SECTION "DATE" "outcomes VERSION" "outcomes manual"
  th="$(sed -n '1{/^\.TH /p}' "$man")"
  name="${prog^^}"
  section="${page##*.}"
  if [[ "$th" =~ ^\.TH\ ${name}\ ${section}\ \"([0-9]{4}-[0-9]{2}-[0-9]{2})\"\ \"outcomes\ ${VERSION//./\\.}\"\ \"outcomes\ manual\"$ ]]; then
    ok "${prog}: header names version ${VERSION}"
    DATES+="${BASH_REMATCH[1]}"$'\n'
  else
    not_ok "${prog}: header '${th}' is not '.TH ${name} ${section} \"YYYY-MM-DD\" \"outcomes ${VERSION}\" \"outcomes manual\"'"
  fi
  if grep -q '@[A-Z_]*@' "$man"; then
    not_ok "${prog}: ${page} keeps an unconfigured @VARIABLE@"
  else
    ok "${prog}: ${page} has every @VARIABLE@ configured"
  fi

  want="$(table_keys "$exe")"
  have="$(page_keys "$man")"
  [[ -n "$want" ]] || not_ok "${prog}: -X list printed no key"
  missing="$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$have") | tr '\n' ' ')"
  extra="$(comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$have") | tr '\n' ' ')"
  if [[ -z "${missing// /}" ]]; then
    ok "${prog}: every key of its table is in ${page}"
  else
    not_ok "${prog}: keys missing from ${page}: ${missing}"
  fi
  if [[ -z "${extra// /}" ]]; then
    ok "${prog}: ${page} describes no key its table lacks"
  else
    not_ok "${prog}: ${page} describes keys the table does not have: ${extra}"
  fi

  out="$("$exe" --version)"
  if [[ "$out" == "${prog} ${VERSION}" || "$out" == "${prog} ${VERSION} "* ]]; then
    ok "${prog}: --version prints '${out}'"
  else
    not_ok "${prog}: --version printed '${out}', want '${prog} ${VERSION}'"
  fi
done

if [[ "$(sort -u <<<"${DATES%$'\n'}" | grep -c .)" -le 1 ]]; then
  ok "every page has the same date"
else
  not_ok "the pages' dates differ: $(tr '\n' ' ' <<<"$DATES")"
fi

printf '1..%d\n' "$CHECKS"
[[ "$FAILURES" -eq 0 ]]
