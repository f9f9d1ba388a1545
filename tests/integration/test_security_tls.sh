#!/usr/bin/env bash
# TLS end to end, SASL/SCRAM and secrets (issue 7, Security).
#
# Inside a temporary directory the test generates with openssl a CA, a
# server certificate for localhost and 127.0.0.1 (SAN), a client
# certificate and an unrelated "wrong" CA, then starts its own Kafka broker
# and its own PostgreSQL cluster on free ports (the shared stack is never
# touched; deploy/stack.sh's functions do the work):
#
#   Kafka       PLAINTEXT (set-up only), SSL with client certificates
#               required, SASL_SSL with SCRAM-SHA-512 (user created at format
#               time); certificates in PEM files
#   PostgreSQL  ssl=on; TCP only through `hostssl ... scram-sha-256` (the
#               superuser keeps `trust` on the socket and over TLS for set-up)
#
# and proves:
#   - outcomes-produce publishes over SSL (CA + client certificate) and over
#     SASL_SSL (kafka.sasl.password.file); the wrong CA fails with exit 69 and
#     an error naming certificate verification; a wrong SCRAM password fails
#     with exit 69; kafka.sasl.password on -X is refused (78)
#   - outcomes-migrate connects with sslmode=verify-full, sslrootcert and a
#     password from PGPASSFILE; the wrong root certificate, a non-TLS
#     connection and a wrong password are refused with clear errors
#   - outcomes-rollupd (when built) consumes over SASL_SSL and writes over
#     verify-full TLS with pg.password.file and kafka.sasl.password.file read
#     from $CREDENTIALS_DIRECTORY, as under systemd LoadCredential=
#   - no password appears in any log or captured output, nor on the command
#     line or in the environment of any process while the test runs
#
# Run by ctest (label integration) with OC_BUILD_DIR and OC_SOURCE_DIR set
# and the stack's environment exported (OUTCOMES_KAFKA_LIBS: the broker's
# jars). Fails, never skips, when a tool is missing.
# OC_TEST_SQL_DIR overrides the migrations directory (default schemas/sql).
set -euo pipefail

: "${OC_BUILD_DIR:?set by ctest: the build directory}"
: "${OC_SOURCE_DIR:?set by ctest: the source directory}"

T_DIR=""
SAMPLER_PID=""
KAFKA_UP=0
PG_UP=0

# shellcheck source=tests/integration/tap.bash
source "$(dirname "$0")/tap.bash"
# show FILE: a captured output, indented as a TAP comment.
show() {
  sed 's/^/#   /' "$1" | head -n 40
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$SAMPLER_PID" ]]; then
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
  fi
  if [[ "$KAFKA_UP" -eq 1 ]]; then
    # Our own throwaway broker: no graceful shutdown needed.
    local pid
    if pid="$(oc_kafka_pid)"; then
      kill -KILL "$pid" 2>/dev/null || true
      while oc_pid_alive "$pid"; do sleep 0.1; done
    fi
  fi
  if [[ "$PG_UP" -eq 1 ]]; then
    oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$(oc_pg_data)" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || true
  fi
  if [[ -n "$T_DIR" && "${OC_TEST_KEEP:-0}" != 1 ]]; then
    rm -rf "$T_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools and the stack's functions ---------------------------------------

preflight() {
  local t
  for t in openssl java kcat python3 runuser; do
    command -v "$t" >/dev/null 2>&1 || bail "${t} not found: tests/run.sh installs it (deploy/lib/install-deps.sh)"
  done
  [[ -n "${OUTCOMES_KAFKA_LIBS:-}" && -d "${OUTCOMES_KAFKA_LIBS}" ]] ||
    bail "OUTCOMES_KAFKA_LIBS is not set or missing: run tests/run.sh, or eval \"\$(deploy/stack.sh env)\" after deploy/stack.sh start"
  PRODUCE="${OC_BUILD_DIR}/producers/outcomes-produce"
  MIGRATE="${OC_BUILD_DIR}/tools/outcomes-migrate"
  ROLLUPD="${OC_BUILD_DIR}/consumers/outcomes-rollupd"
  [[ -x "$PRODUCE" ]] || bail "${PRODUCE} is missing: build first"
  [[ -x "$MIGRATE" ]] || bail "${MIGRATE} is missing: build first"
  SQL_DIR="${OC_TEST_SQL_DIR:-${OC_SOURCE_DIR}/schemas/sql}"
  CATALOG="${OC_SOURCE_DIR}/schemas/catalog.tsv"
  SCHEMAS="${OC_SOURCE_DIR}/schemas/avro"
}

# The stack's functions (port picking, kafka and pg start/stop), pointed at
# a state directory of our own.
load_stack_functions() {
  # shellcheck source=deploy/stack.sh
  source "${OC_SOURCE_DIR}/deploy/stack.sh"
  OC_LOG_TAG="test_security_tls"
  oc_load_versions
  T_DIR="$(mktemp -d /tmp/oc_sec_tls.XXXXXX)"
  chmod 0755 "$T_DIR" # the postgres user must reach pg/
  OC_STATE="${T_DIR}/stack"
  export OC_STATE
  mkdir -p "${OC_STATE}/kafka" "${T_DIR}/out" "${T_DIR}/creds" "${T_DIR}/pki"
  chmod 0755 "$OC_STATE"
  chmod 0700 "${T_DIR}/creds"
  # Keep the stack's oc_kafka_write_config as orig_oc_kafka_write_config:
  # kafka_write_tls_config extends it.
  eval "orig_$(declare -f oc_kafka_write_config)"
  # The broker's jars: the shared stack's, read only.
  ln -s "$OUTCOMES_KAFKA_LIBS" "$(oc_kafka_libs)"
  oc_pg_preflight
}

# ---- secrets ----------------------------------------------------------------

# new_secret FILE: 24 random alphanumeric characters into FILE (0600),
# without a newline; never on a command line.
new_secret() {
  (umask 077 && head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 24 >"$1")
  [[ "$(wc -c <"$1")" -eq 24 ]] || bail "cannot generate a secret in $1"
}

make_secrets() {
  new_secret "${T_DIR}/creds/sasl-password"
  new_secret "${T_DIR}/creds/pg-password"
  new_secret "${T_DIR}/creds/migrator-password"
  new_secret "${T_DIR}/creds/wrong-password"
  # Put on a command line on purpose (to prove it is refused): not one of
  # the secrets the leak checks look for, checked on its own.
  new_secret "${T_DIR}/creds/argv-password"
  # Every secret, one per line: the patterns the leak checks look for.
  local f
  for f in sasl-password pg-password migrator-password wrong-password; do
    printf '%s\n' "$(<"${T_DIR}/creds/${f}")"
  done >"${T_DIR}/creds/all-secrets"
  chmod 0600 "${T_DIR}/creds/all-secrets"
}

# The argv and environment of every process on the machine, sampled every
# 50 ms while the test runs; a line in leaks.txt for each that holds one of
# the secrets. grep reads the patterns from a file: no secret in its argv.
start_sampler() {
  (
    while :; do
      grep -l -a -F -f "${T_DIR}/creds/all-secrets" /proc/[0-9]*/cmdline /proc/[0-9]*/environ \
        2>/dev/null | while read -r f; do
        printf '%s %s: %s\n' "$(date +%T.%N)" "$f" \
          "$(tr '\0' ' ' <"${f%/*}/cmdline" 2>/dev/null | head -c 300 || true)"
      done >>"${T_DIR}/out/leaks.txt" || true
      sleep 0.05
    done
  ) &
  SAMPLER_PID=$!
}

# ---- certificates -----------------------------------------------------------

# ca NAME SUBJECT: a self-signed CA, NAME.pem + NAME.key.
ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 -subj "$2" \
    -keyout "${PKI}/$1.key" -out "${PKI}/$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"${T_DIR}/out/openssl.log"
}

# leaf NAME SUBJECT EXTENSIONS: a key (PKCS#8 PEM) and a certificate signed
# by the test CA.
leaf() {
  openssl req -new -newkey rsa:2048 -nodes -subj "$2" \
    -keyout "${PKI}/$1.key" -out "${PKI}/$1.csr" 2>>"${T_DIR}/out/openssl.log"
  printf '%s\n' "$3" >"${PKI}/$1.ext"
  openssl x509 -req -in "${PKI}/$1.csr" -CA "${PKI}/ca.pem" -CAkey "${PKI}/ca.key" \
    -CAcreateserial -days 2 -sha256 -extfile "${PKI}/$1.ext" -out "${PKI}/$1.pem" \
    2>>"${T_DIR}/out/openssl.log"
}

make_pki() {
  PKI="${T_DIR}/pki"
  if ! {
    ca ca "/CN=outcomes test CA" &&
      ca wrong-ca "/CN=an unrelated CA" &&
      leaf server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1" &&
      leaf client "/CN=outcomes-produce" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  }; then
    show "${T_DIR}/out/openssl.log"
    bail "openssl could not make the certificates"
  fi
  # Kafka's PEM key store: the unencrypted PKCS#8 key, then the chain.
  cat "${PKI}/server.key" "${PKI}/server.pem" >"${PKI}/server-keystore.pem"
  chmod 0644 "${PKI}"/*.pem
  if openssl verify -CAfile "${PKI}/ca.pem" "${PKI}/server.pem" "${PKI}/client.pem" \
    >/dev/null 2>&1 && ! openssl verify -CAfile "${PKI}/wrong-ca.pem" "${PKI}/server.pem" \
    >/dev/null 2>&1; then
    ok "openssl made a CA, a server certificate (SAN localhost, 127.0.0.1), a client certificate and an unrelated CA"
  else
    bail "the generated certificates do not verify as intended"
  fi
}

# ---- Kafka --------------------------------------------------------------------

# Our server.properties: the stack's, then SSL and SASL_SSL listeners (later
# keys win in a Java properties file).
kafka_write_tls_config() {
  orig_oc_kafka_write_config
  cat >>"$(oc_kafka_props)" <<PROPS
# test_security_tls: TLS listeners
listeners=PLAINTEXT://127.0.0.1:${OC_KAFKA_PORT},SSL://127.0.0.1:${KAFKA_SSL_PORT},SASL_SSL://127.0.0.1:${KAFKA_SASL_PORT},CONTROLLER://127.0.0.1:${OC_KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${OC_KAFKA_PORT},SSL://localhost:${KAFKA_SSL_PORT},SASL_SSL://localhost:${KAFKA_SASL_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
ssl.keystore.type=PEM
ssl.keystore.location=${PKI}/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${PKI}/ca.pem
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
}

start_kafka() {
  local t0=$SECONDS
  OC_KAFKA_PORT="$(oc_pick_port)"
  OC_KAFKA_CONTROLLER_PORT="$(oc_pick_port "$OC_KAFKA_PORT")"
  KAFKA_SSL_PORT="$(oc_pick_port "$OC_KAFKA_PORT" "$OC_KAFKA_CONTROLLER_PORT")"
  KAFKA_SASL_PORT="$(oc_pick_port "$OC_KAFKA_PORT" "$OC_KAFKA_CONTROLLER_PORT" "$KAFKA_SSL_PORT")"
  OC_KAFKA_CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  OC_KAFKA_CLUSTER_ID="A${OC_KAFKA_CLUSTER_ID:1}" # never a leading '-'
  oc_kafka_write_config() { kafka_write_tls_config; }
  oc_kafka_write_config
  # Format with the SCRAM user. The password reaches the JVM through an
  # argument file (java @file), never through argv.
  {
    printf '%s\n' -Xmx256m -Djava.awt.headless=true \
      "-Dlog4j.configuration=file:$(oc_kafka_dir)/tools-log4j.properties" \
      -cp "$(oc_kafka_libs)/*" kafka.tools.StorageTool format \
      "--cluster-id=${OC_KAFKA_CLUSTER_ID}" "--config=$(oc_kafka_props)" --add-scram
    printf 'SCRAM-SHA-512=[name=outcomes,password=%s]\n' "$(<"${T_DIR}/creds/sasl-password")"
  } >"${T_DIR}/creds/storage.args"
  if ! java "@${T_DIR}/creds/storage.args" >"${T_DIR}/out/kafka-format.log" 2>&1; then
    show "${T_DIR}/out/kafka-format.log"
    bail "kafka: StorageTool format --add-scram failed"
  fi
  rm -f "${T_DIR}/creds/storage.args"
  KAFKA_UP=1
  oc_kafka_start 2>"${T_DIR}/out/kafka-start.log" || {
    show "${T_DIR}/out/kafka-start.log"
    bail "kafka did not start"
  }
  ok "own broker up in $((SECONDS - t0)) s: SSL :${KAFKA_SSL_PORT} (client certs required), SASL_SSL :${KAFKA_SASL_PORT} (SCRAM-SHA-512)"
  TOPIC="sec_tls_$$"
  # Over the PLAINTEXT listener, through librdkafka (no JVM to start).
  "${OC_BUILD_DIR}/tests/oc_test_topic" "127.0.0.1:${OC_KAFKA_PORT}" "$TOPIC" 3 \
    >"${T_DIR}/out/topic.log" 2>&1 || {
    show "${T_DIR}/out/topic.log"
    bail "cannot create topic ${TOPIC}"
  }
}

# ---- PostgreSQL -----------------------------------------------------------------

start_pg() {
  local t0=$SECONDS data
  OC_PG_PORT="$(oc_pick_port "$OC_KAFKA_PORT" "$OC_KAFKA_CONTROLLER_PORT" "$KAFKA_SSL_PORT" "$KAFKA_SASL_PORT")"
  oc_pg_init 2>"${T_DIR}/out/pg-init.log" || {
    show "${T_DIR}/out/pg-init.log"
    bail "initdb failed"
  }
  data="$(oc_pg_data)"
  # The server's key must belong to the postgres user, mode 0600.
  cp "${PKI}/server.pem" "${PKI}/server.key" "$(oc_pg_dir)/"
  if oc_is_root; then
    chown postgres:postgres "$(oc_pg_dir)/server.pem" "$(oc_pg_dir)/server.key"
  fi
  chmod 0600 "$(oc_pg_dir)/server.key"
  printf "include 'outcomes-tls.conf'\n" | oc_as_pg tee -a "${data}/postgresql.conf" >/dev/null
  oc_as_pg tee "${data}/outcomes-tls.conf" >/dev/null <<CONF
ssl = on
ssl_cert_file = '$(oc_pg_dir)/server.pem'
ssl_key_file = '$(oc_pg_dir)/server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
log_connections = on
CONF
  # TCP only over TLS; passwords (SCRAM) for everyone but the set-up
  # superuser. No plain 'host' line: a connection without TLS is refused.
  oc_as_pg tee "${data}/pg_hba.conf" >/dev/null <<HBA
local   all  all                     trust
hostssl all  postgres  127.0.0.1/32  trust
hostssl all  all       127.0.0.1/32  scram-sha-256
HBA
  PG_UP=1
  oc_pg_start 2>"${T_DIR}/out/pg-start.log" || {
    show "${T_DIR}/out/pg-start.log"
    bail "postgres did not start"
  }
  ok "own PostgreSQL up in $((SECONDS - t0)) s on :${OC_PG_PORT} with ssl=on, hostssl + scram-sha-256"
  # The roles: a migrator (CREATEROLE, may create the schema) and the
  # daemon's login. Passwords go through stdin, never argv.
  {
    printf 'CREATE ROLE oc_migrator LOGIN CREATEROLE PASSWORD %s;\n' \
      "'$(<"${T_DIR}/creds/migrator-password")'"
    printf 'GRANT CREATE ON DATABASE outcomes TO oc_migrator;\n'
    printf 'CREATE ROLE oc_rollupd LOGIN PASSWORD %s;\n' "'$(<"${T_DIR}/creds/pg-password")'"
  } | super_sql >"${T_DIR}/out/pg-roles.log" 2>&1 || {
    show "${T_DIR}/out/pg-roles.log"
    bail "cannot create the password roles"
  }
}

# super_sql: SQL on stdin as the superuser over the unix socket.
super_sql() {
  "$(oc_pg_bin)/psql" "host=$(oc_pg_dir) port=${OC_PG_PORT} dbname=outcomes user=postgres" \
    -XqAt -v ON_ERROR_STOP=1
}

# ---- the producer ------------------------------------------------------------------

write_input() {
  local hdr="org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at"
  {
    printf '%s\n' "$hdr"
    printf 'tls-org,f1,er_visits,MONTH,2024-0%d-01,%d,,,tls-test,2024-06-01T00:00:00Z\n' \
      1 101 2 102 3 103
  } >"${T_DIR}/ssl.csv"
  {
    printf '%s\n' "$hdr"
    printf 'sasl-org,f1,er_visits,MONTH,2024-0%d-01,%d,,,tls-test,2024-06-01T00:00:00Z\n' \
      1 201 2 202 3 203 4 204
  } >"${T_DIR}/sasl.csv"
}

# produce NAME ARGS...: the producer; stdout+stderr in out/NAME.log, status
# in PRODUCE_RC.
produce() {
  local name="$1"
  shift
  PRODUCE_RC=0
  "$PRODUCE" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$TOPIC" "$@" \
    >"${T_DIR}/out/${name}.log" 2>&1 || PRODUCE_RC=$?
}

topic_count() {
  kcat -C -b "127.0.0.1:${OC_KAFKA_PORT}" -t "$TOPIC" -e -q -f '%k\n' 2>/dev/null | wc -l
}

check_produce_ssl() {
  produce ssl-ok -b "localhost:${KAFKA_SSL_PORT}" \
    -X kafka.security.protocol=SSL -X "kafka.ssl.ca.location=${PKI}/ca.pem" \
    -X "kafka.ssl.certificate.location=${PKI}/client.pem" \
    -X "kafka.ssl.key.location=${PKI}/client.key" "${T_DIR}/ssl.csv"
  if [[ "$PRODUCE_RC" -eq 0 && "$(topic_count)" -eq 3 ]]; then
    ok "outcomes-produce publishes over SSL (CA + client certificate, hostname verified): 3 records"
  else
    show "${T_DIR}/out/ssl-ok.log"
    not_ok "outcomes-produce publishes over SSL (exit ${PRODUCE_RC}, $(topic_count) records)"
  fi

  produce ssl-no-client-cert -b "localhost:${KAFKA_SSL_PORT}" \
    -X kafka.security.protocol=SSL -X "kafka.ssl.ca.location=${PKI}/ca.pem" \
    -X kafka.message.timeout.ms=4000 "${T_DIR}/ssl.csv"
  if [[ "$PRODUCE_RC" -eq 69 ]]; then
    ok "without a client certificate the SSL listener refuses the producer (exit 69)"
  else
    show "${T_DIR}/out/ssl-no-client-cert.log"
    not_ok "without a client certificate the SSL listener refuses the producer (exit ${PRODUCE_RC}, want 69)"
  fi

  produce ssl-wrong-ca -b "localhost:${KAFKA_SSL_PORT}" \
    -X kafka.security.protocol=SSL -X "kafka.ssl.ca.location=${PKI}/wrong-ca.pem" \
    -X "kafka.ssl.certificate.location=${PKI}/client.pem" \
    -X "kafka.ssl.key.location=${PKI}/client.key" \
    -X kafka.message.timeout.ms=4000 "${T_DIR}/ssl.csv"
  if [[ "$PRODUCE_RC" -eq 69 ]] && grep -qi 'certificate verify failed' "${T_DIR}/out/ssl-wrong-ca.log"; then
    ok "with the wrong CA the producer exits 69 naming certificate verification"
    grep -i -m 1 'certificate verify failed' "${T_DIR}/out/ssl-wrong-ca.log" | sed 's/^/#   /'
  else
    show "${T_DIR}/out/ssl-wrong-ca.log"
    not_ok "with the wrong CA the producer exits 69 naming certificate verification (exit ${PRODUCE_RC})"
  fi
}

check_produce_sasl() {
  local before
  before="$(topic_count)"
  # The password from a file given by path; the path is all argv shows.
  produce sasl-ok -b "localhost:${KAFKA_SASL_PORT}" \
    -X kafka.security.protocol=SASL_SSL -X "kafka.ssl.ca.location=${PKI}/ca.pem" \
    -X kafka.sasl.mechanism=SCRAM-SHA-512 -X kafka.sasl.username=outcomes \
    -X "kafka.sasl.password.file=${T_DIR}/creds/sasl-password" \
    -X kafka.debug=security,broker,conf -v "${T_DIR}/sasl.csv"
  if [[ "$PRODUCE_RC" -eq 0 && "$(topic_count)" -eq $((before + 4)) ]]; then
    ok "outcomes-produce publishes over SASL_SSL with SCRAM-SHA-512 and kafka.sasl.password.file: 4 records"
  else
    show "${T_DIR}/out/sasl-ok.log"
    not_ok "outcomes-produce publishes over SASL_SSL (exit ${PRODUCE_RC}, $(topic_count) records)"
  fi

  produce sasl-wrong-pw -b "localhost:${KAFKA_SASL_PORT}" \
    -X kafka.security.protocol=SASL_SSL -X "kafka.ssl.ca.location=${PKI}/ca.pem" \
    -X kafka.sasl.mechanism=SCRAM-SHA-512 -X kafka.sasl.username=outcomes \
    -X "kafka.sasl.password.file=${T_DIR}/creds/wrong-password" \
    -X kafka.message.timeout.ms=4000 "${T_DIR}/sasl.csv"
  if [[ "$PRODUCE_RC" -eq 69 ]] && grep -qi 'authentication' "${T_DIR}/out/sasl-wrong-pw.log"; then
    ok "a wrong SCRAM password fails with exit 69 and an authentication error"
  else
    show "${T_DIR}/out/sasl-wrong-pw.log"
    not_ok "a wrong SCRAM password fails with exit 69 and an authentication error (exit ${PRODUCE_RC})"
  fi

  # A password on the command line is refused before anything connects;
  # the value is the file's content, read by the shell, never echoed back.
  local pw
  pw="$(<"${T_DIR}/creds/argv-password")"
  PRODUCE_RC=0
  "$PRODUCE" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$TOPIC" \
    -b "localhost:${KAFKA_SASL_PORT}" -X "kafka.sasl.password=${pw}" "${T_DIR}/sasl.csv" \
    >"${T_DIR}/out/sasl-argv.log" 2>&1 || PRODUCE_RC=$?
  if [[ "$PRODUCE_RC" -eq 78 ]] && grep -q "kafka.sasl.password" "${T_DIR}/out/sasl-argv.log" &&
    ! grep -q -F -f "${T_DIR}/creds/argv-password" "${T_DIR}/out/sasl-argv.log"; then
    ok "-X kafka.sasl.password=... is refused (exit 78, key named, value not echoed)"
  else
    show "${T_DIR}/out/sasl-argv.log"
    not_ok "-X kafka.sasl.password=... is refused (exit ${PRODUCE_RC}, want 78)"
  fi
}

# ---- outcomes-migrate ----------------------------------------------------------------

# migrate NAME CONNINFO: outcomes-migrate with CONNINFO in a file and the
# password in a pgpass file; status in MIGRATE_RC.
migrate() {
  local name="$1"
  (umask 077 && printf '%s\n' "$2" >"${T_DIR}/creds/${name}.conninfo") # its owner's only
  MIGRATE_RC=0
  PGPASSFILE="${T_DIR}/creds/pgpass" "$MIGRATE" --conninfo-file "${T_DIR}/creds/${name}.conninfo" \
    --sql-dir "$SQL_DIR" --catalog "$CATALOG" -v >"${T_DIR}/out/${name}.log" 2>&1 || MIGRATE_RC=$?
}

check_migrate() {
  local base="host=localhost port=${OC_PG_PORT} dbname=outcomes user=oc_migrator"
  (umask 077 && printf 'localhost:%s:outcomes:oc_migrator:%s\n' "$OC_PG_PORT" \
    "$(<"${T_DIR}/creds/migrator-password")" >"${T_DIR}/creds/pgpass")

  migrate migrate-wrong-root "${base} sslmode=verify-full sslrootcert=${PKI}/wrong-ca.pem"
  if [[ "$MIGRATE_RC" -eq 69 ]] && grep -qi 'certificate verify failed' "${T_DIR}/out/migrate-wrong-root.log"; then
    ok "outcomes-migrate refuses a server its root certificate does not vouch for (exit 69, certificate verify failed)"
    grep -i -m 1 'certificate verify failed' "${T_DIR}/out/migrate-wrong-root.log" | sed 's/^/#   /'
  else
    show "${T_DIR}/out/migrate-wrong-root.log"
    not_ok "outcomes-migrate refuses the wrong root certificate (exit ${MIGRATE_RC})"
  fi

  migrate migrate-no-tls "${base} sslmode=disable"
  if [[ "$MIGRATE_RC" -eq 69 ]] && grep -q 'no encryption' "${T_DIR}/out/migrate-no-tls.log"; then
    ok "a connection without TLS is refused by pg_hba (hostssl only)"
  else
    show "${T_DIR}/out/migrate-no-tls.log"
    not_ok "a connection without TLS is refused by pg_hba (exit ${MIGRATE_RC})"
  fi

  migrate migrate-ok "${base} sslmode=verify-full sslrootcert=${PKI}/ca.pem"
  if [[ "$MIGRATE_RC" -eq 0 ]] && grep -q 'connection authorized: user=oc_migrator.*SSL enabled' \
    "$(oc_pg_dir)/postgres.log"; then
    ok "outcomes-migrate migrates over verify-full TLS with the password from PGPASSFILE"
  else
    show "${T_DIR}/out/migrate-ok.log"
    not_ok "outcomes-migrate migrates over verify-full TLS (exit ${MIGRATE_RC})"
  fi

  migrate migrate-ip "host=127.0.0.1 port=${OC_PG_PORT} dbname=outcomes user=oc_migrator sslmode=verify-full sslrootcert=${PKI}/ca.pem"
  # pgpass matches on the host name: this one has no password line.
  if [[ "$MIGRATE_RC" -eq 69 ]] && grep -q 'no password supplied\|password authentication failed' \
    "${T_DIR}/out/migrate-ip.log"; then
    ok "verify-full accepts the IP SAN, and without a matching pgpass line the password is required"
  else
    show "${T_DIR}/out/migrate-ip.log"
    not_ok "verify-full with host=127.0.0.1 (exit ${MIGRATE_RC})"
  fi
}

# ---- outcomes-rollupd ------------------------------------------------------------------

check_rollupd() {
  local conf="${T_DIR}/rollupd.conf" rc=0 facts
  if [[ ! -x "$ROLLUPD" ]]; then
    printf '# %s not built yet: the daemon checks are left out\n' "$ROLLUPD"
    return
  fi
  super_sql <<<"GRANT outcomes_writer TO oc_rollupd;" >/dev/null 2>&1 ||
    bail "cannot grant outcomes_writer to oc_rollupd"
  cat >"$conf" <<CONF
# As under systemd: LoadCredential=pg-password:... sasl-password:...
brokers=localhost:${KAFKA_SASL_PORT}
topic=${TOPIC}
group.id=sec-tls
conninfo=host=localhost port=${OC_PG_PORT} dbname=outcomes user=oc_rollupd sslmode=verify-full sslrootcert=${PKI}/ca.pem
pg.password.file=pg-password
schema.dir=${SCHEMAS}
kafka.security.protocol=SASL_SSL
kafka.ssl.ca.location=${PKI}/ca.pem
kafka.sasl.mechanism=SCRAM-SHA-512
kafka.sasl.username=outcomes
kafka.sasl.password.file=sasl-password
batch.max.wait=100ms
CONF
  # The environment would win over the file: clear the shared stack's.
  env -u OUTCOMES_PG_CONNINFO -u OUTCOMES_KAFKA_BROKERS -u OUTCOMES_LOG_LEVEL \
    CREDENTIALS_DIRECTORY="${T_DIR}/creds" timeout 60 "$ROLLUPD" -c "$conf" --exit-at-end \
    >"${T_DIR}/out/rollupd.log" 2>&1 || rc=$?
  facts="$(super_sql <<<"SELECT count(*) FROM outcomes.facts WHERE source = 'tls-test'" 2>/dev/null || echo '?')"
  if [[ "$rc" -eq 0 && "$facts" == "7" ]]; then
    ok "outcomes-rollupd consumes over SASL_SSL and writes over verify-full TLS with credentials from \$CREDENTIALS_DIRECTORY: 7 facts"
  else
    show "${T_DIR}/out/rollupd.log"
    not_ok "outcomes-rollupd over SASL_SSL and verify-full TLS (exit ${rc}, ${facts} facts)"
  fi

  sed -i "s|sslrootcert=${PKI}/ca.pem|sslrootcert=${PKI}/wrong-ca.pem|" "$conf"
  rc=0
  env -u OUTCOMES_PG_CONNINFO -u OUTCOMES_KAFKA_BROKERS -u OUTCOMES_LOG_LEVEL \
    CREDENTIALS_DIRECTORY="${T_DIR}/creds" timeout 15 "$ROLLUPD" -c "$conf" --exit-at-end \
    >"${T_DIR}/out/rollupd-wrong-root.log" 2>&1 || rc=$?
  if [[ "$rc" -ne 0 ]] && grep -qi 'certificate verify failed' "${T_DIR}/out/rollupd-wrong-root.log"; then
    ok "outcomes-rollupd refuses the wrong root certificate (exit ${rc}, certificate verify failed)"
  else
    show "${T_DIR}/out/rollupd-wrong-root.log"
    not_ok "outcomes-rollupd refuses the wrong root certificate (exit ${rc})"
  fi
}

# ---- secrets ------------------------------------------------------------------------

check_no_leaks() {
  local hits f
  # The check can see a secret when there is one.
  grep -q -F -f "${T_DIR}/creds/all-secrets" "${T_DIR}/creds/sasl-password" ||
    bail "the leak check does not find a secret in its own file"
  hits=""
  for f in "${T_DIR}"/out/*.log "$(oc_kafka_dir)"/*.log "$(oc_pg_dir)"/*.log; do
    [[ -f "$f" ]] || continue
    if grep -q -a -F -f "${T_DIR}/creds/all-secrets" "$f"; then
      hits+=" ${f}"
    fi
  done
  if [[ -z "$hits" ]]; then
    ok "no password in any log or captured output ($(find "${T_DIR}/out" "$(oc_kafka_dir)" "$(oc_pg_dir)" -maxdepth 1 -name '*.log' | wc -l) files, including librdkafka debug=security,conf)"
  else
    not_ok "no password in any log or captured output: found in${hits}"
  fi
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  if [[ -s "${T_DIR}/out/leaks.txt" ]]; then
    sort -u "${T_DIR}/out/leaks.txt" | head -n 10 | sed 's/^/#   /'
    not_ok "no password on any command line or in any environment"
  else
    ok "no password on any command line or in any environment (sampled every 50 ms)"
  fi
}

main() {
  local t0=$SECONDS
  preflight
  load_stack_functions
  make_secrets
  start_sampler
  make_pki
  start_kafka
  start_pg
  write_input
  check_produce_ssl
  check_produce_sasl
  check_migrate
  check_rollupd
  check_no_leaks
  printf '1..%d\n' "$CHECKS"
  printf '# %d checks, %d failed, %d s\n' "$CHECKS" "$FAILURES" "$((SECONDS - t0))"
  [[ "$FAILURES" -eq 0 ]]
}

main "$@"
