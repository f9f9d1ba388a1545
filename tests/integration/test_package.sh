#!/usr/bin/env bash
# test_package.sh - the Debian package: builds a plain (no sanitizer) tree
# configured for /usr in a temporary directory, makes the .deb with cpack,
# checks its control data (name, version, maintainer, Depends from
# dpkg-shlibdeps) and contents (programs, library, headers, pkg-config,
# schemas, migrations, units, man pages, examples, the copyright file and
# the license it states), extracts it with
# `dpkg -x` into a temporary root, runs the extracted programs' --version
# from there and migrates a fresh PostgreSQL database (created and dropped
# here, on the stack's server) from the installed SQL files and catalog.
#
# A separate tree rather than $OC_BUILD_DIR: the programs have their data
# directory compiled in (the test trees use the default /usr/local prefix)
# and the test trees are ASan builds, whose package would depend on the
# sanitizer runtimes. The plain build takes about 15 s on two cores; it is
# kept in $OC_BUILD_DIR/package-build (a temporary directory without
# OC_BUILD_DIR), so that the next run rebuilds only what changed.
#
# Needs OUTCOMES_PG_CONNINFO (key=value form; tests/run.sh sets it).
# Not verified here: installing with dpkg -i (the postinst: the `outcomes`
# user, tmpfiles), since that changes this machine; the postinst is only
# syntax-checked.
set -euo pipefail

SRC="${OC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CONNINFO="${OUTCOMES_PG_CONNINFO:?OUTCOMES_PG_CONNINFO unset: run through tests/run.sh or eval \"\$(deploy/stack.sh env)\"}"
TMP="$(mktemp -d /tmp/oc-test-package.XXXXXX)"
DB="oc_test_package_$$_${RANDOM}"
DB_CREATED=0

cleanup() {
  if [[ "$DB_CREATED" -eq 1 ]]; then
    psql "$CONNINFO" -qAt -v ON_ERROR_STOP=1 \
      -c "DROP DATABASE IF EXISTS \"${DB}\" WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=tests/integration/tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/tap.bash"

for tool in cmake cpack dpkg-deb dpkg-shlibdeps dpkg psql; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install cmake dpkg-dev postgresql-client)"
done
case "$CONNINFO" in
postgres://* | postgresql://*) fail "OUTCOMES_PG_CONNINFO must be key=value, not a URI" ;;
esac

VERSION="$(sed -n 's/^project(outcomes VERSION \([0-9.]*\).*/\1/p' "${SRC}/CMakeLists.txt")"
[[ -n "$VERSION" ]] || fail "no project version in CMakeLists.txt"
# outcomes-rollupd is required once consumers/CMakeLists.txt builds it.
WANT_ROLLUPD=0
grep -q 'add_executable(outcomes-rollupd' "${SRC}/consumers/CMakeLists.txt" 2>/dev/null && WANT_ROLLUPD=1

# --- build and package -------------------------------------------------------
T0=$SECONDS
BUILD="${OC_BUILD_DIR:+${OC_BUILD_DIR}/package-build}"
BUILD="${BUILD:-${TMP}/build}"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOC_BUILD_TESTS=OFF -DOC_SANITIZE=OFF -DOC_WERROR=OFF >"${TMP}/cmake.log" 2>&1 ||
  { cat "${TMP}/cmake.log" >&2; fail "cmake configure"; }
cmake --build "$BUILD" --parallel "$(nproc)" >"${TMP}/build.log" 2>&1 ||
  { tail -n 40 "${TMP}/build.log" >&2; fail "cmake --build"; }
(cd "$BUILD" && cpack -G DEB -B "${TMP}/pkg") >"${TMP}/cpack.log" 2>&1 ||
  { cat "${TMP}/cpack.log" >&2; fail "cpack -G DEB"; }
DEBS=("${TMP}"/pkg/outcomes_*.deb)
[[ "${#DEBS[@]}" -eq 1 && -f "${DEBS[0]}" ]] || fail "expected one outcomes_*.deb, got: ${DEBS[*]}"
DEB="${DEBS[0]}"
echo "ok: built ${DEB##*/} in $((SECONDS - T0)) s"

# --- control data --------------------------------------------------------------
field() { dpkg-deb --field "$DEB" "$1"; }
[[ "$(field Package)" == "outcomes" ]] || fail "Package: $(field Package)"
[[ "$(field Version)" == "$VERSION" ]] || fail "Version: $(field Version), project ${VERSION}"
[[ -n "$(field Maintainer)" ]] || fail "no Maintainer"
[[ -n "$(field Description)" ]] || fail "no Description"
DEPENDS="$(field Depends)"
for dep in librdkafka1 libavro23 libpq5 libjansson4 libsodium23 libsystemd0 libmicrohttpd12 adduser; do
  grep -Eq "(^|, )${dep}( |,|$)" <<<"$DEPENDS" || fail "Depends lacks ${dep}: ${DEPENDS}"
done
grep -Eq 'lib(a|ub)san' <<<"$DEPENDS" && fail "Depends names a sanitizer runtime: ${DEPENDS}"
# (grep -q on a variable, not a pipe: under pipefail an early exit of grep
# would fail the pipeline through SIGPIPE)
INFO="$(dpkg-deb --info "$DEB")"
grep -Eq '^ +[0-9]+ bytes, +[0-9]+ lines +\* +postinst ' <<<"$INFO" ||
  fail "no executable postinst in the control archive"
echo "ok: control: outcomes ${VERSION}; Depends: ${DEPENDS}"

# --- contents ------------------------------------------------------------------
CONTENTS="$(dpkg-deb --contents "$DEB" | awk '{ print $6 }')"
has() { grep -qxF -- "$1" <<<"$CONTENTS" || fail "package lacks $1"; }
has_match() { grep -Eqx -- "$1" <<<"$CONTENTS" || fail "package lacks a path matching $1"; }
for prog in outcomes-migrate outcomes-gen outcomes-produce; do
  has "./usr/bin/${prog}"
done
[[ "$WANT_ROLLUPD" -eq 1 ]] && has ./usr/bin/outcomes-rollupd
has_match '\./usr/lib/([a-z0-9_]+-linux-gnu[a-z0-9_]*/)?liboutcomes\.so\.[0-9]+'
has_match '\./usr/lib/([a-z0-9_]+-linux-gnu[a-z0-9_]*/)?pkgconfig/outcomes\.pc'
has ./usr/include/outcomes/notify.h
has ./usr/share/outcomes/catalog.tsv
for f in "${SRC}"/schemas/avro/*.avsc; do has "./usr/share/outcomes/avro/${f##*/}"; done
for f in "${SRC}"/schemas/sql/*.sql; do has "./usr/share/outcomes/sql/${f##*/}"; done
for f in "${SRC}"/schemas/sql/statements/*.sql; do
  has "./usr/share/outcomes/sql/statements/${f##*/}"
done
has ./usr/lib/systemd/system/outcomes-rollupd@.service
has ./usr/lib/systemd/system/outcomes-produce-watch@.service
has ./usr/lib/sysusers.d/outcomes.conf
has ./usr/lib/tmpfiles.d/outcomes.conf
for f in "${SRC}"/docs/man/*.[1-8].in; do
  page="${f##*/}"
  page="${page%.in}"
  has "./usr/share/man/man${page##*.}/${page}"
done
has ./usr/share/man/man1/outcomes-gen.1
has_match '\./usr/share/man/man1/outcomes-[a-z-]+\.1'
has ./usr/share/doc/outcomes/examples/rollupd.conf.example
has ./usr/share/doc/outcomes/examples/produce-watch.conf.example
has ./usr/share/doc/outcomes/README.md
has ./usr/share/doc/outcomes/copyright
grep -Eq '^-rw-r--r-- [^ ]+ +[0-9]+ [0-9-]+ [0-9:]+ \./usr/share/doc/outcomes/copyright$' \
  <<<"$(dpkg-deb --contents "$DEB")" || fail "copyright is not a regular file of mode 0644"
grep -Eq '^\./usr/lib/.*(asan|ubsan)' <<<"$CONTENTS" && fail "sanitizer files in the package"
echo "ok: contents: $(grep -c . <<<"$CONTENTS") paths"

# --- extracted root --------------------------------------------------------------
ROOT="${TMP}/root"
dpkg -x "$DEB" "$ROOT"
dpkg-deb --ctrl-tarfile "$DEB" | tar -x -C "$TMP" ./postinst ./postrm
sh -n "${TMP}/postinst" || fail "postinst: sh syntax"
sh -n "${TMP}/postrm" || fail "postrm: sh syntax"

# The copyright file: the source's, in the machine-readable format, stating
# the Apache License 2.0 for everything, whose text is the source's LICENSE.
COPYRIGHT="${ROOT}/usr/share/doc/outcomes/copyright"
cmp -s "$COPYRIGHT" "${SRC}/deploy/debian/copyright" ||
  fail "installed copyright differs from deploy/debian/copyright"
[[ "$(head -n 1 "$COPYRIGHT")" == \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ]] ||
  fail "copyright: first line is not the Format: of copyright-format 1.0"
[[ "$(sed -n 's/^Upstream-Name: //p' "$COPYRIGHT")" == "outcomes" ]] || fail "copyright: Upstream-Name"
# The "Files: *" paragraph: every file not listed after it.
STAR="$(awk '/^Files: \*$/ { on = 1 } on && /^$/ { exit } on' "$COPYRIGHT")"
grep -qx 'Copyright: The outcomes authors' <<<"$STAR" ||
  fail "copyright: Files: * lacks 'Copyright: The outcomes authors'"
grep -qx 'License: Apache-2.0' <<<"$STAR" || fail "copyright: Files: * lacks 'License: Apache-2.0'"
# Every license named has its stand-alone paragraph, pointing at the text.
for lic in $(sed -n 's/^License: //p' "$COPYRIGHT" | sort -u); do
  [[ "$lic" == "Apache-2.0" ]] || fail "copyright: unexpected license ${lic}"
done
LICPARA="$(awk '/^License: Apache-2.0$/ && !prev_files { on = 1 }
               { prev_files = ($0 ~ /^(Files|Copyright|Comment):/) }
               on' "$COPYRIGHT")"
grep -q '/usr/share/common-licenses/Apache-2.0' <<<"$LICPARA" ||
  fail "copyright: the Apache-2.0 paragraph does not point at /usr/share/common-licenses/Apache-2.0"
grep -q '^                                 Apache License$' "${SRC}/LICENSE" &&
  grep -q '^                           Version 2.0, January 2004$' "${SRC}/LICENSE" ||
  fail "LICENSE is not the Apache License 2.0"
if [[ -f /usr/share/common-licenses/Apache-2.0 ]]; then
  cmp -s "${SRC}/LICENSE" /usr/share/common-licenses/Apache-2.0 ||
    fail "LICENSE differs from /usr/share/common-licenses/Apache-2.0"
fi
echo "ok: copyright: Apache-2.0, The outcomes authors"
LIBSO="$(find "${ROOT}/usr/lib" -name 'liboutcomes.so.[0-9]*' -type f | head -n 1)"
LIBDIR="$(dirname "$LIBSO")"
grep -qx 'prefix=/usr' "${LIBDIR}/pkgconfig/outcomes.pc" || fail "outcomes.pc: prefix is not /usr"
grep -qx 'ExecStart=/usr/bin/outcomes-rollupd -c /etc/outcomes/%i.conf' \
  "${ROOT}/usr/lib/systemd/system/outcomes-rollupd@.service" || fail "installed unit: ExecStart"
export LD_LIBRARY_PATH="$LIBDIR"
# The extracted binary, linked against the extracted library.
LDD="$(ldd "${ROOT}/usr/bin/outcomes-migrate")"
grep -q "liboutcomes.so.* => ${LIBDIR}/" <<<"$LDD" ||
  fail "outcomes-migrate does not load liboutcomes from the package: ${LDD}"

out="$("${ROOT}/usr/bin/outcomes-migrate" --version)" || fail "outcomes-migrate --version"
[[ "$out" == "outcomes-migrate ${VERSION}" ]] || fail "outcomes-migrate --version said '${out}'"
HELP="$("${ROOT}/usr/bin/outcomes-migrate" --help)"
grep -q -- '/usr/share/outcomes/sql' <<<"$HELP" ||
  fail "outcomes-migrate's default sql dir is not /usr/share/outcomes/sql"
echo "ok: ${out} (from the package)"
if [[ "$WANT_ROLLUPD" -eq 1 ]]; then
  out="$("${ROOT}/usr/bin/outcomes-rollupd" --version)" || fail "outcomes-rollupd --version"
  [[ "$out" == "outcomes-rollupd ${VERSION}"* ]] || fail "outcomes-rollupd --version said '${out}'"
  echo "ok: ${out} (from the package)"
fi
out="$("${ROOT}/usr/bin/outcomes-produce" --version)" || fail "outcomes-produce --version"
[[ "$out" == "outcomes-produce ${VERSION}"* ]] || fail "outcomes-produce --version said '${out}'"

# --- a migration from the installed files -----------------------------------------
psql "$CONNINFO" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${DB}\"" >/dev/null ||
  fail "CREATE DATABASE ${DB}"
DB_CREATED=1
# In a key=value conninfo the last dbname wins.
export OC_TEST_PKG_CONNINFO="${CONNINFO} dbname=${DB}"
MIGRATE=("${ROOT}/usr/bin/outcomes-migrate" --conninfo-env OC_TEST_PKG_CONNINFO
  --sql-dir "${ROOT}/usr/share/outcomes/sql" --catalog "${ROOT}/usr/share/outcomes/catalog.tsv")
"${MIGRATE[@]}" >"${TMP}/migrate.log" 2>&1 || { cat "${TMP}/migrate.log" >&2; fail "migration"; }
n_sql="$(find "${ROOT}/usr/share/outcomes/sql" -maxdepth 1 -name '*.sql' | wc -l)"
n_applied="$(psql "$OC_TEST_PKG_CONNINFO" -qAt -v ON_ERROR_STOP=1 \
  -c 'SELECT count(*) FROM outcomes.schema_migrations')"
[[ "$n_applied" -eq "$n_sql" ]] || fail "${n_applied} migrations recorded, ${n_sql} installed"
n_catalog="$(grep -Ev '^[[:space:]]*(#|$)' "${ROOT}/usr/share/outcomes/catalog.tsv" | grep -vc '^code	' || true)"
n_metrics="$(psql "$OC_TEST_PKG_CONNINFO" -qAt -v ON_ERROR_STOP=1 \
  -c 'SELECT count(*) FROM outcomes.metric_catalog')"
[[ "$n_metrics" -eq "$n_catalog" ]] || fail "${n_metrics} metrics in the database, ${n_catalog} in catalog.tsv"
# Idempotent: a second run applies nothing and changes nothing.
"${MIGRATE[@]}" >"${TMP}/migrate2.log" 2>&1 || { cat "${TMP}/migrate2.log" >&2; fail "second migration"; }
[[ "$(psql "$OC_TEST_PKG_CONNINFO" -qAt -c 'SELECT count(*) FROM outcomes.schema_migrations')" -eq "$n_sql" ]] ||
  fail "second migration changed schema_migrations"
echo "ok: migrated ${DB} from the package: ${n_applied} migrations, ${n_metrics} metrics"
