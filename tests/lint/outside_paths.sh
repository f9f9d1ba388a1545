#!/usr/bin/env bash
# outside_paths.sh - fails when a tracked file names a path outside the
# repository: the repository must stand on its own in a clone with nothing
# beside it.
#
#   tests/lint/outside_paths.sh [SOURCE_DIR]      (default: this checkout)
#
# Flagged, in any tracked text file:
#   - a relative path into a "shared" directory beside the checkout
#     (dot-dot, slash, "shared"), and the CMake variable that pointed there;
#   - a path into that directory's contents by name (its seeds, testdata
#     and hooks directories, its DESIGN, STACK and STYLE documents);
#   - an absolute path into a home directory or a checkout: one starting
#     with the home, root, work, Users, mnt or media directory of the root.
# Not flagged: system paths (/usr, /etc, /var, /run, /tmp, /proc, /dev,
# /sys, /opt, ...), URLs, and relative paths under a variable such as
# ${TMP}/work/.
#
# Prints file:line: text for each hit, then a summary on stderr, and exits 1
# when there is one, 0 when there is none, 2 on a usage error. Files are
# those git tracks (working-tree contents); outside a git checkout, every
# file except .git and build trees. Binary files are skipped.
set -euo pipefail

SRC="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
[[ -d "$SRC" ]] || {
  echo "outside_paths: no directory '${SRC}'" >&2
  exit 2
}

# The patterns are written so that this file does not match them itself.
PATTERNS=(
  # a sibling directory named shared, reached by dot-dot
  '\.\./shared([^A-Za-z0-9_-]|$)'
  # the CMake variable that pointed there
  'OC_SHARED[_]DIR'
  # that directory's contents, named
  '(^|[^A-Za-z0-9_-])shared/(seeds|testdata|hooks)([^A-Za-z0-9_-]|$)'
  '(^|[^A-Za-z0-9_-])shared/(DESIGN|STACK|STYLE)[.]md'
  # absolute paths into home directories or a checkout; the character
  # before the slash is none of those that make it part of a longer path,
  # a URL or a path under a variable
  '(^|[^A-Za-z0-9_.~$/})-])/(home|root|work|Users|mnt|media)/'
)

ARGS=()
for p in "${PATTERNS[@]}"; do
  ARGS+=(-e "$p")
done

if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files only, their working-tree contents; -I skips binary files.
  hits="$(git -C "$SRC" grep -n -I -E "${ARGS[@]}" -- . || true)"
else
  hits="$(cd "$SRC" && grep -r -n -I -E --exclude-dir=.git --exclude-dir='build*' \
    "${ARGS[@]}" -- . | sed 's|^\./||' || true)"
fi

if [[ -n "$hits" ]]; then
  printf '%s\n' "$hits"
  n="$(grep -c . <<<"$hits")"
  echo "outside_paths: ${n} line(s) name a path outside the repository (file:line above):" \
    "write what is needed into the repository instead" >&2
  exit 1
fi
echo "outside_paths: no tracked file names a path outside the repository"
