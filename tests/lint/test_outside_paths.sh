#!/usr/bin/env bash
# test_outside_paths.sh - the guard tests/lint/outside_paths.sh on a
# temporary git repository: silent (exit 0) on system paths, URLs and
# relative paths that only look like the forbidden ones; exit 1 naming
# file:line for each kind of path outside the repository, in tracked text
# files only. The offending text is assembled at run time, so that this
# file does not trip the guard itself.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GUARD="${HERE}/outside_paths.sh"
# shellcheck source=tests/integration/tap.bash
source "${HERE}/../integration/tap.bash"

command -v git >/dev/null || bail "git not found"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/oc-test-outside-paths.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
REPO="${TMP}/repo"
git init -q "$REPO"

# run_guard: the guard's output in OUT, its status in RC.
run_guard() {
  RC=0
  OUT="$(bash "$GUARD" "$REPO" 2>&1)" || RC=$?
}

# Pieces of the forbidden paths.
UP='..'
SH='shared'
V="OC_SHARED""_DIR"
H=home W=work R=root U=Users

mkdir -p "${REPO}/docs" "${REPO}/src"
cat >"${REPO}/docs/clean.md" <<EOF
Installed under /usr/share/outcomes and /usr/lib/systemd/system; configured
in /etc/outcomes; spools in /var/spool/outcomes; sockets in /run; scratch in
/tmp/x and /var/tmp; /proc/self/environ, /dev/null, /sys/fs/cgroup, /opt/kafka.
A URL: https://example.org/work/x and https://example.org/home/y.
Under a variable: \${TMP}/work/out and \$(pwd)/home/z; relative: a/work/b,
./home/c, src/${SH}/d, lib${SH}/testdata, ${SH}_seeds/x, ~/.m2.
EOF
printf '%s\n' "/* the ${SH} library */" >"${REPO}/src/clean.c"
git -C "$REPO" add .
run_guard
if [[ "$RC" -eq 0 ]]; then
  ok "system paths, URLs and relative look-alikes pass (exit 0)"
else
  not_ok "system paths, URLs and relative look-alikes pass (exit ${RC}): ${OUT}"
fi

# One offending line per kind, at known lines of tracked files.
{
  echo "line one"
  echo "see ${UP}/${SH}/DESIGN.md"                 # 2
  echo "ok line"
  echo "read the ${SH}/seeds/ documents"           # 4
  echo "set(${V} x)"                               # 5
} >"${REPO}/docs/bad.md"
{
  echo "#define X 1"
  echo "static const char *p = \"/${H}/alice/outcomes/x\";" # 2
  echo "/* built in /${W}/main/build */"          # 3
  echo "cd /${R}/src && make"                      # 4
  echo "PATH=/usr/bin:/${U}/bob/bin"               # 5
  echo "x ${UP}/${UP}/${SH}"                       # 6
  echo "the ${SH}/STACK.md notes"                  # 7
} >"${REPO}/src/bad.c"
# Untracked, and binary: not looked at.
echo "x ${UP}/${SH}/testdata" >"${REPO}/untracked.md"
printf 'bin\0ary /%s/x/y\n' "$H" >"${REPO}/src/blob.bin"
git -C "$REPO" add docs/bad.md src/bad.c src/blob.bin
run_guard
if [[ "$RC" -eq 1 ]]; then
  ok "offending paths fail the guard (exit 1)"
else
  not_ok "offending paths fail the guard (exit ${RC})"
fi
for want in "docs/bad.md:2:see ${UP}/${SH}/DESIGN.md" \
  "docs/bad.md:4:read the ${SH}/seeds/ documents" \
  "docs/bad.md:5:set(${V} x)" \
  "src/bad.c:2:static const char *p = \"/${H}/alice/outcomes/x\";" \
  "src/bad.c:3:/* built in /${W}/main/build */" \
  "src/bad.c:4:cd /${R}/src && make" \
  "src/bad.c:5:PATH=/usr/bin:/${U}/bob/bin" \
  "src/bad.c:6:x ${UP}/${UP}/${SH}" \
  "src/bad.c:7:the ${SH}/STACK.md notes"; do
  if grep -qxF -- "$want" <<<"$OUT"; then
    ok "names ${want%%:*}:$(cut -d: -f2 <<<"$want")"
  else
    not_ok "names '${want}' in: ${OUT}"
  fi
done
hits="$(grep -c '^[a-z/]*\.[a-z]*:[0-9]*:' <<<"$OUT" || true)"
if [[ "$hits" -eq 9 ]]; then
  ok "exactly the 9 offending lines, nothing from clean, untracked or binary files"
else
  not_ok "expected 9 hits, got ${hits}: ${OUT}"
fi
if grep -q '9 line(s) name a path outside the repository' <<<"$OUT"; then
  ok "the summary counts them"
else
  not_ok "no summary with the count in: ${OUT}"
fi

# Fixed, the guard passes again.
git -C "$REPO" rm -q --cached docs/bad.md src/bad.c
run_guard
if [[ "$RC" -eq 0 ]]; then
  ok "passes again once the files are untracked (exit 0)"
else
  not_ok "passes again once the files are untracked (exit ${RC}): ${OUT}"
fi

echo "1..${CHECKS}"
[[ "$FAILURES" -eq 0 ]]
