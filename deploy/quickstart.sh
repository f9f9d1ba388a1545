#!/usr/bin/env bash
# The first thing a new user runs: installs what is missing, builds the
# project (build/), starts the local stack (Kafka + PostgreSQL, state in
# ${OUTCOMES_STACK_DIR:-/var/tmp/outcomes-stack-$(id -u)}), runs the pipeline
# on the demo data (migrations, topic, outcomes-produce, outcomes-rollupd
# until caught up), prints the case-study figures from the analyst views and
# shows what is running and what to do next.
#
#   deploy/quickstart.sh [--no-install]
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=deploy/lib/install-deps.sh
source "${OC_DEPLOY_DIR}/lib/install-deps.sh"
OC_LOG_TAG="quickstart"

CURRENT_STEP=""
step() {
  local name="$1" t0
  shift
  CURRENT_STEP="$name"
  oc_info "== ${name}"
  t0="$(oc_now)"
  "$@"
  oc_info "== ${name}: $(oc_elapsed "$t0") s"
  CURRENT_STEP=""
}

on_exit() {
  local rc=$?
  if [[ "$rc" -ne 0 && -n "$CURRENT_STEP" ]]; then
    oc_warn "step '${CURRENT_STEP}' failed (status ${rc}); see the messages above"
  fi
}

build() {
  cmake -S "$OC_SOURCE_ROOT" -B "${OC_SOURCE_ROOT}/build"
  cmake --build "${OC_SOURCE_ROOT}/build" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
}

start_stack() {
  bash "${OC_DEPLOY_DIR}/stack.sh" start
}

DEMO_TOPIC="outcomes.observations"
DEMO_PARTITIONS=6

# run_demo: migrations and the demo catalog, the topic, the demo published
# (the CSV, and Coastal Carolina's readmission rates as FHIR MeasureReports),
# and the consumer run until it has caught up. Safe to run again: the
# records are published again and end as stale duplicates; no figure
# changes.
run_demo() {
  local bin="${OC_SOURCE_ROOT}/build" catalog="${OC_DEPLOY_DIR}/demo/catalog.tsv"
  "${bin}/tools/outcomes-migrate" --sql-dir "${OC_SOURCE_ROOT}/schemas/sql" --catalog "$catalog"
  bash "${OC_DEPLOY_DIR}/stack.sh" topic create "$DEMO_TOPIC" "$DEMO_PARTITIONS"
  local file
  for file in observations.csv readmissions.ndjson; do
    "${bin}/producers/outcomes-produce" -t "$DEMO_TOPIC" --catalog "$catalog" \
      --schema-dir "${OC_SOURCE_ROOT}/schemas/avro" "${OC_DEPLOY_DIR}/demo/${file}"
  done
  "${bin}/consumers/outcomes-rollupd" --exit-at-end -X topic="$DEMO_TOPIC" \
    -X group.id=outcomes-quickstart -X schema.dir="${OC_SOURCE_ROOT}/schemas/avro"
}

# print_demo_table: the seed claims, as an analyst reads them from the views.
print_demo_table() {
  printf '\nYear over year, org level, from outcomes.metric_changes:\n\n'
  psql "$OUTCOMES_PG_CONNINFO" -X -v ON_ERROR_STOP=1 -P pager=off -c "
    SELECT org_id, metric, extract(year FROM bucket_start)::int AS year,
           round(value::numeric, 4) AS value, round(prev_value::numeric, 4) AS prev,
           round(100 * change_ratio::numeric, 1) AS change_pct
      FROM outcomes.metric_changes
     WHERE level = 'org' AND fact_grain = 'MONTH' AND grain = 'YEAR' AND prev_value IS NOT NULL
       AND (org_id, metric) IN (('coastal-carolina-health', 'readmission_rate_30d'),
                                ('coastal-carolina-health', 'er_visits'),
                                ('lasis-healthcare', 'ar_days'),
                                ('lasis-healthcare', 'first_pass_clean_claim_rate'),
                                ('kaleida-health', 'supply_cost'),
                                ('family-practice-associates', 'net_collection_rate'),
                                ('cockerell-mcintosh', 'claim_rejection_rate'))
     ORDER BY org_id, metric, year"
  printf 'The queries behind every case-study claim: docs/analysts.md\n'
}

main() {
  local install=1 env_out
  case "${1:-}" in
  --no-install) install=0 ;;
  "") ;;
  -h | --help)
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    return 0
    ;;
  *) oc_die "unknown option '$1' (try --help)" ;;
  esac
  cd "$OC_SOURCE_ROOT"
  trap on_exit EXIT
  oc_load_versions
  oc_print_versions
  if [[ "$install" -eq 1 ]]; then
    step "install packages" oc_install_deps
  fi
  step "build (build/)" build
  step "start stack" start_stack
  env_out="$(bash "${OC_DEPLOY_DIR}/stack.sh" env)"
  eval "$env_out"

  step "run the pipeline on the demo data" run_demo
  print_demo_table

  printf '\nThe outcomes stack is running:\n\n'
  bash "${OC_DEPLOY_DIR}/stack.sh" status || true
  cat <<MSG

Logs:      ${OUTCOMES_STACK_DIR}/kafka/server.log
           ${OUTCOMES_STACK_DIR}/pg/postgres.log
           ${OUTCOMES_STACK_DIR}/registry/registry.log
Binaries:  ${OC_SOURCE_ROOT}/build/

Use it from your shell:

  eval "\$(deploy/stack.sh env)"

which sets:

${env_out}

Next steps:

  psql "\$OUTCOMES_PG_CONNINFO"              # the outcomes database
  deploy/stack.sh topic create NAME 6        # a topic with 6 partitions
  kcat -L -b "\$OUTCOMES_KAFKA_BROKERS"       # what the broker holds
  build/tools/outcomes-replay -X schema.dir=schemas/avro cat --topic ${DEMO_TOPIC} --count 3
                                             # records as JSON (Confluent framing,
                                             # schema in \$OUTCOMES_SCHEMA_REGISTRY_URL)
  tests/run.sh                               # build and run every test
  deploy/stack.sh stop                       # stop Kafka, PostgreSQL, the registry

The demo data (deploy/demo/observations.csv, and readmissions.ndjson: the
readmission rates as HL7 FHIR MeasureReports) is in topic ${DEMO_TOPIC} and
applied to the outcomes schema; docs/analysts.md shows how to query it, and
outcomes.fact_sources where each figure came from.

PostgreSQL here uses trust authentication on 127.0.0.1 and its socket:
a local development stack, not a place for real data.
MSG
}

main "$@"
