#!/usr/bin/env bash
# Configuration refusals of the programs (docs/security.md):
#   - an unknown key is rejected with exit 78 and the key named, by every
#     program (an unknown option with exit 64); a program that does not talk
#     to Kafka takes no librdkafka property;
#   - librdkafka properties that load code or run commands are refused with
#     exit 78 and the key named, from -X and from a configuration file;
#   - a password given with -X or in the environment is refused, and the
#     value is never echoed;
#   - outcomes-migrate refuses a password inside the conninfo it takes from
#     the environment (exit 78, the variable named), and still accepts one
#     from --conninfo-file or a pgpass file;
#   - a PostgreSQL host or a Kafka broker off this host without verified TLS
#     is refused with exit 78 before any connection, unless pg.insecure or
#     kafka.insecure says so.
#
# Run by ctest (label integration) with OC_BUILD_DIR, OC_SOURCE_DIR and the
# stack's OUTCOMES_PG_CONNINFO (outcomes-rollupd checks its database before
# its Kafka settings, so it gets a freshly migrated one). Fails, never skips.
set -euo pipefail

: "${OC_BUILD_DIR:?set by ctest: the build directory}"
: "${OC_SOURCE_DIR:?set by ctest: the source directory}"

T_DIR=""
DB=""
SUPER=""
PSQL=""

# shellcheck source=tests/integration/tap.bash
source "$(dirname "$0")/tap.bash"

cleanup() {
  local rc=$?
  if [[ -n "$DB" ]]; then
    "$PSQL" "$SUPER" -XqAt -c "DROP DATABASE IF EXISTS \"${DB}\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [[ -n "$T_DIR" ]]; then
    rm -rf "$T_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PRODUCE="${OC_BUILD_DIR}/producers/outcomes-produce"
MIGRATE="${OC_BUILD_DIR}/tools/outcomes-migrate"
REPLAY="${OC_BUILD_DIR}/tools/outcomes-replay"
GEN="${OC_BUILD_DIR}/tools/outcomes-gen"
ROLLUPD="${OC_BUILD_DIR}/consumers/outcomes-rollupd"
CATALOG="${OC_SOURCE_DIR}/schemas/catalog.tsv"
SCHEMAS="${OC_SOURCE_DIR}/schemas/avro"

setup() {
  local out
  [[ -x "$PRODUCE" && -x "$MIGRATE" ]] || bail "build first: ${PRODUCE} or ${MIGRATE} is missing"
  [[ -n "${OUTCOMES_PG_CONNINFO:-}" ]] ||
    bail "OUTCOMES_PG_CONNINFO is not set: run tests/run.sh, or eval \"\$(deploy/stack.sh env)\" after deploy/stack.sh start"
  PSQL="$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)"
  [[ -x "$PSQL" ]] || bail "psql not found: apt-get install postgresql-15"
  SUPER="$OUTCOMES_PG_CONNINFO"
  T_DIR="$(mktemp -d /tmp/oc_sec_config.XXXXXX)"
  # A secret that must never be echoed: random, from a file.
  (umask 077 && head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 24 >"${T_DIR}/secret")
  SECRET="$(<"${T_DIR}/secret")"
  printf 'org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at\n' \
    >"${T_DIR}/one.csv"
  printf 'o,,er_visits,DAY,2024-01-01,1,,,s,2024-01-01T00:00:00Z\n' >>"${T_DIR}/one.csv"
  DB="oc_sec_config_$$_${RANDOM}"
  "$PSQL" "$SUPER" -XqAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${DB}\"" ||
    bail "cannot create database ${DB}"
  if ! out="$(OUTCOMES_PG_CONNINFO="${SUPER} dbname=${DB}" "$MIGRATE" \
    --sql-dir "${OC_TEST_SQL_DIR:-${OC_SOURCE_DIR}/schemas/sql}" --catalog "$CATALOG" 2>&1)"; then
    printf '%s\n' "$out" | sed 's/^/# /'
    bail "outcomes-migrate failed on ${DB}"
  fi
}

# expect NAME WANT_RC MUST_CONTAIN CMD...: CMD exits WANT_RC, its output
# names MUST_CONTAIN and never holds the secret.
expect() {
  local name="$1" want="$2" needle="$3" rc=0 out
  shift 3
  out="$("$@" 2>&1)" || rc=$?
  if [[ "$rc" -eq "$want" && "$out" == *"$needle"* && "$out" != *"$SECRET"* ]]; then
    ok "${name} (exit ${rc})"
  else
    printf '%s\n' "$out" | head -n 5 | sed 's/^/#   /'
    not_ok "${name} (exit ${rc}, want ${want} and '${needle}' named, secret not echoed)"
  fi
}

# The programs with what they need to get as far as their configuration.
produce() {
  timeout 30 env -u OUTCOMES_KAFKA_BROKERS "$PRODUCE" --catalog "$CATALOG" --schema-dir "$SCHEMAS" \
    -b 127.0.0.1:1 "$@" "${T_DIR}/one.csv"
}
rollupd() {
  timeout 30 env -u OUTCOMES_KAFKA_BROKERS OUTCOMES_PG_CONNINFO="${SUPER} dbname=${DB}" "$ROLLUPD" \
    -X "schema.dir=${SCHEMAS}" -X brokers=127.0.0.1:1 "$@"
}

check_unknown_keys() {
  expect "outcomes-produce rejects an unknown key, naming it" 78 "bogus.key" produce -X bogus.key=1
  expect "outcomes-produce rejects an unknown key in a file, naming it and the line" 78 \
    "bogus.key" produce -F <(printf 'topic=x\nbogus.key=1\n')
  expect "outcomes-migrate rejects an unknown option, naming it" 64 "bogus" \
    "$MIGRATE" --bogus=1
  expect "outcomes-migrate rejects an unknown key, naming it" 78 "-X: unknown key 'bogus.key'" \
    "$MIGRATE" -X bogus.key=1
  expect "outcomes-migrate takes no librdkafka property" 78 "-X: unknown key 'acks'" \
    "$MIGRATE" -X acks=all
  expect "outcomes-migrate rejects an unknown key in a file, naming it" 78 "unknown key 'bogus.key'" \
    "$MIGRATE" -c <(printf 'sql.dir=/x\nbogus.key=1\n')
  expect "outcomes-replay rejects an unknown key, naming it" 78 "-X: unknown key 'bogus.key'" \
    "$REPLAY" -X bogus.key=1 dlq list
  expect "outcomes-gen rejects an unknown key, naming it" 78 "-X: unknown key 'bogus.key'" \
    "$GEN" -X bogus.key=1
  if [[ -x "$ROLLUPD" ]]; then
    expect "outcomes-rollupd rejects an unknown key, naming it" 78 "unknown key 'bogus.key'" \
      rollupd -X bogus.key=1
    expect "outcomes-rollupd rejects an unknown key in a file, naming it" 78 "bogus.key" \
      rollupd -c <(printf 'bogus.key=1\n')
  fi
}

check_denied_kafka_keys() {
  local k
  for k in plugin.library.paths ssl.engine.location sasl.kerberos.kinit.cmd; do
    expect "outcomes-produce refuses -X kafka.${k}" 78 "'${k}' is not allowed" \
      produce -X "kafka.${k}=/tmp/${SECRET}"
    expect "outcomes-produce refuses bare -X ${k}" 78 "'${k}' is not allowed" \
      produce -X "${k}=/tmp/${SECRET}"
    expect "outcomes-produce refuses kafka.${k} in a configuration file" 78 "'${k}' is not allowed" \
      produce -F <(printf 'kafka.%s=/tmp/%s\n' "$k" "$SECRET")
    if [[ -x "$ROLLUPD" ]]; then
      expect "outcomes-rollupd refuses -X kafka.${k}" 78 "'${k}' is not allowed" \
        rollupd -X "kafka.${k}=/tmp/${SECRET}"
    fi
  done
  # ssl.providers names OpenSSL provider modules; a path loads that shared
  # object (its constructors run) when the SSL context is made: it is on the
  # deny-list.
  local rc=0
  produce -X kafka.security.protocol=SSL -X "kafka.ssl.providers=/nonexistent/${RANDOM}.so" \
    -X kafka.message.timeout.ms=500 >"${T_DIR}/providers.log" 2>&1 || rc=$?
  if grep -q "'ssl.providers' is not allowed" "${T_DIR}/providers.log"; then
    ok "outcomes-produce refuses kafka.ssl.providers (it loads a shared object by path)"
  else
    not_ok "outcomes-produce refuses kafka.ssl.providers (it loads a shared object by path; exit ${rc})"
  fi
}

check_secrets_refused() {
  expect "-X kafka.sasl.password=... is refused without echoing it" 78 "kafka.sasl.password" \
    produce -X "kafka.sasl.password=${SECRET}"
  expect "bare -X sasl.password=... is refused without echoing it" 78 "sasl.password" \
    produce -X "sasl.password=${SECRET}"
  expect "-X kafka.ssl.key.password=... is refused without echoing it" 78 "ssl.key.password" \
    produce -X "kafka.ssl.key.password=${SECRET}"
  expect "kafka.sasl.password.file with a missing file names the key, not a value" 78 \
    "kafka.sasl.password" produce -X "kafka.sasl.password.file=${T_DIR}/missing"
  if [[ -x "$ROLLUPD" ]]; then
    expect "outcomes-rollupd: -X pg.password=... is refused without echoing it" 78 "pg.password" \
      rollupd -X "pg.password=${SECRET}"
    expect "outcomes-rollupd: -X kafka.sasl.password=... is refused without echoing it" 78 \
      "kafka.sasl.password" rollupd -X "kafka.sasl.password=${SECRET}"
    # A password inside the conninfo, from the environment or -X, is on
    # /proc/PID/environ or argv all the same: refused before any connection.
    local rc=0
    timeout 5 env -u OUTCOMES_KAFKA_BROKERS \
      OUTCOMES_PG_CONNINFO="${SUPER} dbname=${DB} password=${SECRET}" \
      "$ROLLUPD" -X "schema.dir=${SCHEMAS}" -X brokers=127.0.0.1:1 -X log.level=debug \
      >"${T_DIR}/conninfo-env.log" 2>&1 || rc=$?
    if grep -q -F -f "${T_DIR}/secret" "${T_DIR}/conninfo-env.log"; then
      not_ok "outcomes-rollupd never echoes a password given inside the conninfo (debug log)"
    else
      ok "outcomes-rollupd never echoes a password given inside the conninfo (debug log)"
    fi
    if [[ "$rc" -eq 78 ]] && grep -q "password" "${T_DIR}/conninfo-env.log"; then
      ok "outcomes-rollupd refuses a password inside OUTCOMES_PG_CONNINFO"
    else
      not_ok "outcomes-rollupd refuses a password inside OUTCOMES_PG_CONNINFO (exit ${rc})"
    fi
  fi
}

# outcomes-migrate reads OUTCOMES_PG_CONNINFO (or the variable of -d)
# itself: the same rule as the daemons' conninfo key, before connecting.
check_migrate_conninfo_password() {
  local sqldir="${OC_TEST_SQL_DIR:-${OC_SOURCE_DIR}/schemas/sql}"
  expect "outcomes-migrate refuses a password inside OUTCOMES_PG_CONNINFO, naming it" 78 \
    "environment OUTCOMES_PG_CONNINFO: 'conninfo' holds a password" \
    env OUTCOMES_PG_CONNINFO="${SUPER} dbname=${DB} password=${SECRET}" \
    "$MIGRATE" --sql-dir "$sqldir" --catalog "$CATALOG" --status
  expect "outcomes-migrate refuses a password inside -X conninfo, naming the key" 78 \
    "-X: 'conninfo' holds a password" \
    env -u OUTCOMES_PG_CONNINFO "$MIGRATE" -X "conninfo=${SUPER} dbname=${DB} password=${SECRET}" \
    --sql-dir "$sqldir" --catalog "$CATALOG" --status
  # A URI, in the variable named by -d; refused before any connection.
  expect "outcomes-migrate -d VAR refuses a URI with a password, naming VAR" 78 \
    "environment OC_TEST_MIGRATE_URI: 'conninfo' holds a password" \
    env OC_TEST_MIGRATE_URI="postgresql://migrator:${SECRET}@127.0.0.1:1/outcomes" \
    "$MIGRATE" -d OC_TEST_MIGRATE_URI --sql-dir "$sqldir" --catalog "$CATALOG" --status
  # Files are where passwords belong: a conninfo file, a pgpass file.
  (umask 077 && printf '# migrate\n%s dbname=%s\npassword=%s\n' "$SUPER" "$DB" "$SECRET" \
    >"${T_DIR}/migrate.conninfo")
  expect "outcomes-migrate accepts a password inside --conninfo-file" 0 "catalog:" \
    env -u OUTCOMES_PG_CONNINFO \
    "$MIGRATE" --conninfo-file "${T_DIR}/migrate.conninfo" --sql-dir "$sqldir" \
    --catalog "$CATALOG" --status
  (umask 077 && printf 'conninfo=%s dbname=%s password=%s\nsql.dir=%s\ncatalog.path=%s\n' \
    "$SUPER" "$DB" "$SECRET" "$sqldir" "$CATALOG" >"${T_DIR}/migrate.conf")
  expect "outcomes-migrate accepts a password inside its -c configuration file" 0 "catalog:" \
    env -u OUTCOMES_PG_CONNINFO "$MIGRATE" -c "${T_DIR}/migrate.conf" --status
  (umask 077 && printf '*:*:*:*:%s\n' "$SECRET" >"${T_DIR}/pgpass")
  expect "outcomes-migrate accepts a password from PGPASSFILE" 0 "catalog:" \
    env OUTCOMES_PG_CONNINFO="${SUPER} dbname=${DB}" PGPASSFILE="${T_DIR}/pgpass" \
    "$MIGRATE" --sql-dir "$sqldir" --catalog "$CATALOG" --status
}

# Servers off this host are reached through verified TLS only, unless the
# configuration says insecure: refused with exit 78 before any connection
# (192.0.2.1 is TEST-NET-1: nothing answers there, so a program that tried
# would wait for its timeout and fail otherwise).
check_tls_required_off_this_host() {
  local sqldir="${OC_TEST_SQL_DIR:-${OC_SOURCE_DIR}/schemas/sql}"
  expect "outcomes-migrate refuses a remote PostgreSQL host without verify-full" 78 \
    "PostgreSQL host '192.0.2.1' is not on this host: sslmode must be verify-full, not 'prefer'" \
    env -u PGSSLMODE OUTCOMES_PG_CONNINFO="host=192.0.2.1 dbname=o connect_timeout=2" \
    "$MIGRATE" --sql-dir "$sqldir" --catalog "$CATALOG" --status
  expect "outcomes-migrate with pg.insecure=true tries it (and cannot reach it)" 69 \
    "192.0.2.1" \
    env -u PGSSLMODE OUTCOMES_PG_CONNINFO="host=192.0.2.1 dbname=o connect_timeout=1" \
    "$MIGRATE" -X pg.insecure=true --sql-dir "$sqldir" --catalog "$CATALOG" --status
  expect "outcomes-rollupd refuses a remote PostgreSQL host without verify-full" 78 \
    "sslmode must be verify-full" \
    timeout 30 env -u PGSSLMODE OUTCOMES_PG_CONNINFO="host=192.0.2.1 dbname=o" "$ROLLUPD" \
    -X "schema.dir=${SCHEMAS}" -X brokers=127.0.0.1:1
  expect "outcomes-produce refuses a remote broker without TLS" 78 \
    "Kafka broker '192.0.2.1:9092' is not on this host: security.protocol must be ssl or sasl_ssl" \
    timeout 30 env -u OUTCOMES_KAFKA_BROKERS "$PRODUCE" --catalog "$CATALOG" \
    --schema-dir "$SCHEMAS" -b 192.0.2.1:9092 "${T_DIR}/one.csv"
  expect "outcomes-produce refuses SASL over plain text to a remote broker" 78 \
    "not 'sasl_plaintext'" \
    timeout 30 env -u OUTCOMES_KAFKA_BROKERS "$PRODUCE" --catalog "$CATALOG" \
    --schema-dir "$SCHEMAS" -b 192.0.2.1:9092 -X kafka.security.protocol=sasl_plaintext \
    "${T_DIR}/one.csv"
}

main() {
  local t0=$SECONDS
  setup
  check_unknown_keys
  check_denied_kafka_keys
  check_secrets_refused
  check_migrate_conninfo_password
  check_tls_required_off_this_host
  printf '1..%d\n' "$CHECKS"
  printf '# %d checks, %d failed, %d s\n' "$CHECKS" "$FAILURES" "$((SECONDS - t0))"
  [[ "$FAILURES" -eq 0 ]]
}

main "$@"
