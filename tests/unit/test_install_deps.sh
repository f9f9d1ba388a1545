#!/usr/bin/env bash
# test_install_deps.sh - oc_install_deps (deploy/lib/install-deps.sh, run by
# tests/run.sh and deploy/quickstart.sh) with dpkg-query and apt-get
# replaced by stubs on PATH, so that nothing is installed: two packages are
# "missing" (kcat, jq). apt-get's output (60 noisy lines a call) goes to the
# log file only and the terminal gets one line per step; a failing step
# shows the end of the log, then one error naming the step and the log's
# path, and stops there (exit 1).
set -euo pipefail

SRC="${OC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=tests/integration/tap.bash
source "${SRC}/tests/integration/tap.bash"

T="$(mktemp -d /tmp/oc_test_install_deps.XXXXXX)"
trap 'rm -rf "$T"' EXIT
mkdir "${T}/bin"
cat >"${T}/bin/dpkg-query" <<'STUB'
#!/bin/sh
# dpkg-query -W -f=FORMAT PKG: every package is installed but kcat and jq.
for pkg; do :; done
case "$pkg" in kcat | jq) exit 1 ;; esac
printf 'installed'
STUB
cat >"${T}/bin/apt-get" <<'STUB'
#!/bin/sh
echo "apt-get stub: $*"
i=0
while [ "$i" -lt 60 ]; do
  echo "Get:$i http://deb.example.org bookworm/main noise line $i"
  i=$((i + 1))
done
[ "$1" != "${STUB_FAIL:-}" ] || { echo "E: stub failure of $1" >&2; exit 100; }
STUB
chmod +x "${T}/bin/dpkg-query" "${T}/bin/apt-get"

# install [VAR=VALUE...]: oc_install_deps as root, its terminal output in
# T/out, its status in RC, its log T/apt.log (emptied first).
install() {
  : >"${T}/apt.log"
  RC=0
  env PATH="${T}/bin:${PATH}" OC_INSTALL_LOG="${T}/apt.log" "$@" bash -c '
    set -euo pipefail
    source "$1/deploy/lib/common.sh"
    source "$1/deploy/lib/install-deps.sh"
    OC_LOG_TAG=t
    oc_is_root() { true; }
    oc_install_deps' _ "$SRC" >"${T}/out" 2>&1 || RC=$?
  # The step times vary: "(1.2 s)" becomes "(N s)".
  sed -E 's/\([0-9]+\.[0-9] s\)/(N s)/' "${T}/out" >"${T}/out.n"
}

# expect NAME WANT: the terminal output is exactly WANT.
expect() {
  if [[ "$(cat "${T}/out.n")" == "$2" ]]; then
    ok "$1"
  else
    printf '# got:\n' && sed 's/^/#   /' "${T}/out"
    not_ok "$1"
  fi
}

install
[[ "$RC" -eq 0 ]] && ok "both steps pass: exit 0" || not_ok "both steps pass: exit 0 (got ${RC})"
expect "one line to start, one line per step; no apt-get output on the terminal" \
  "t: packages: installing kcat jq (apt-get output in ${T}/apt.log)
t: packages: apt-get update: ok (N s)
t: packages: apt-get install (2 packages): ok (N s)"
if grep -qx 'apt-get stub: update -q' "${T}/apt.log" &&
  grep -qx 'apt-get stub: install -y -q --no-install-recommends kcat jq' "${T}/apt.log" &&
  [[ "$(grep -c '^Get:' "${T}/apt.log")" -eq 120 ]]; then
  ok "the log holds both calls and all 120 lines of their output"
else
  sed 's/^/#   /' "${T}/apt.log" | head -n 5
  not_ok "the log holds both calls and all 120 lines of their output"
fi

install STUB_FAIL=update
[[ "$RC" -eq 1 ]] && ok "a failing update: exit 1" || not_ok "a failing update: exit 1 (got ${RC})"
if [[ "$(tail -n 1 "${T}/out")" == "t: error: packages: apt-get update failed (status 100) (is a Debian mirror reachable?); full log: ${T}/apt.log" ]] &&
  [[ "$(tail -n 2 "${T}/out" | head -n 1)" == "    E: stub failure of update" ]] &&
  [[ "$(wc -l <"${T}/out")" -eq 22 ]] && ! grep -q 'apt-get install' "${T}/out.n"; then
  ok "a failing update: the log's last 20 lines, then the step, a hint and the log's path; no install"
else
  printf '# got:\n' && sed 's/^/#   /' "${T}/out"
  not_ok "a failing update: the log's last 20 lines, then the step, a hint and the log's path; no install"
fi

install STUB_FAIL=install
[[ "$RC" -eq 1 ]] && ok "a failing install: exit 1" || not_ok "a failing install: exit 1 (got ${RC})"
if [[ "$(tail -n 1 "${T}/out")" == "t: error: packages: apt-get install (2 packages) failed (status 100); full log: ${T}/apt.log" ]] &&
  [[ "$(sed -n 2p "${T}/out.n")" == "t: packages: apt-get update: ok (N s)" ]] &&
  [[ "$(wc -l <"${T}/out")" -eq 23 ]]; then
  ok "a failing install: update's line, the log's last 20 lines, then the step and the log's path"
else
  printf '# got:\n' && sed 's/^/#   /' "${T}/out"
  not_ok "a failing install: update's line, the log's last 20 lines, then the step and the log's path"
fi

printf '1..%d\n' "$CHECKS"
if [[ "$FAILURES" -ne 0 ]]; then
  printf '# %d of %d checks failed\n' "$FAILURES" "$CHECKS"
  exit 1
fi
