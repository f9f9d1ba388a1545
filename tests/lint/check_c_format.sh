#!/usr/bin/env bash
# check_c_format.sh - every C file git tracks (*.c, *.h) is as clang-format
# writes it under the repository's .clang-format: fails, showing the
# difference, when one is not. ctest runs it (label lint); to fix a file:
#
#   clang-format -i FILE
#
# The style was derived from the code as it was (2-space indent, 100
# columns, attached braces) and checked with clang-format 14, Debian
# bookworm's (deploy/lib/install-deps.sh installs it); another version may
# format some constructs differently. CLANG_FORMAT names another binary.
#
#   tests/lint/check_c_format.sh [SOURCE_DIR]
#
# Exit status: 0 all formatted, 1 a file differs or clang-format is missing.
set -euo pipefail

SRC="${1:-${OC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}}"
CLANG_FORMAT="${CLANG_FORMAT:-clang-format}"


# shellcheck source=tests/integration/tap.bash
source "$SRC/tests/integration/tap.bash" # fail

command -v "$CLANG_FORMAT" >/dev/null ||
  fail "$CLANG_FORMAT not found (apt-get install clang-format, or tests/run.sh installs it)"
[[ -f "$SRC/.clang-format" ]] || fail "$SRC/.clang-format missing"
cd "$SRC"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  fail "$SRC is not a git checkout: the check covers the files git tracks"

checked=0
differ=()
while IFS= read -r -d '' f; do
  [[ -f "$f" ]] || continue # deleted in the work tree, not yet in the index
  checked=$((checked + 1))
  if ! out="$("$CLANG_FORMAT" --style=file --fallback-style=none "$f" | diff -u "$f" -)"; then
    differ+=("$f")
    printf '%s\n' "$out" | head -n 40
  fi
done < <(git ls-files -z -- '*.c' '*.h')

version="$("$CLANG_FORMAT" --version)"
if ((${#differ[@]} > 0)); then
  echo "FAIL: ${#differ[@]} of $checked C files differ from ${version}'s output" \
    "(fix: clang-format -i FILE):" >&2
  printf '  %s\n' "${differ[@]}" >&2
  exit 1
fi
echo "ok - $checked C files formatted as .clang-format says (${version})"
