# topic.bash - new_topic, and the framing of values, for the shell tests
# (sourced by pipeline_common.bash and produce_common.bash, not a test
# itself).

# Values on the tests' topics are single-object unless a test says
# otherwise: the stack's registry (OUTCOMES_SCHEMA_REGISTRY_URL from
# `deploy/stack.sh env`) is kept as OC_TEST_REGISTRY_URL, for the tests of
# the Confluent framing to pass on with -X schema.registry.url.
OC_TEST_REGISTRY_URL="${OC_TEST_REGISTRY_URL:-${OUTCOMES_SCHEMA_REGISTRY_URL:-}}"
unset OUTCOMES_SCHEMA_REGISTRY_URL

# new_topic PREFIX [PARTITIONS]: create a topic with a unique name and
# PARTITIONS partitions (default 3) on OUTCOMES_KAFKA_BROKERS, print its
# name; fail (the caller's fail) when the broker refuses. Through
# librdkafka's Admin API (tests/oc_test_topic.c), which returns once every
# partition has a leader: `deploy/stack.sh topic create` starts a JVM, 2-5 s
# a topic on a busy machine (test_stack.sh covers that command).
new_topic() {
  local name out helper="${OC_BUILD_DIR}/tests/oc_test_topic"
  [[ -x "$helper" ]] || fail "$helper is missing: build the tests (cmake --build $OC_BUILD_DIR)"
  name="${1}_$$_${RANDOM}_$(date +%s%N | tail -c 6)"
  out="$("$helper" "$OUTCOMES_KAFKA_BROKERS" "$name" "${2:-3}" 2>&1)" ||
    fail "cannot create topic $name: $out"
  echo "$name"
}
