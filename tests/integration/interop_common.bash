# interop_common.bash - the Java side of the interop tests (sourced, not a
# test itself): the harness of tests/java (a Java Kafka client with Apicurio
# Registry's Avro serdes, Confluent framing), built once per stack, and the
# registry of the stack. Needs pipeline_common.bash sourced first.

[[ -n "${OC_TEST_REGISTRY_URL:-}" ]] ||
  fail "OUTCOMES_SCHEMA_REGISTRY_URL is not set: deploy/stack.sh start runs the registry, stack.sh env prints it"
: "${OUTCOMES_STACK_DIR:?set by deploy/stack.sh env}"
REG="$OC_TEST_REGISTRY_URL"

# interop_jar: the harness's jar, built under a lock (tests run side by
# side and share Maven's local repository).
interop_jar() {
  local out="${OUTCOMES_STACK_DIR}/java" jar
  mkdir -p "$out"
  jar="$(flock "${out}/.lock" bash "${OC_SOURCE_DIR}/tests/java/build.sh" "$out" 2>"$T_DIR/java-build.log")" ||
    fail "tests/java/build.sh: $(tail -20 "$T_DIR/java-build.log")"
  printf '%s\n' "$jar"
}

# java_tool JAR ARGS...: the harness's Tool, with the stack's broker and
# registry.
java_tool() {
  local jar="$1" cmd="$2"
  shift 2
  java -Xmx512m -cp "$jar" org.outcomes.interop.Tool "$cmd" --brokers "$BROKERS" --registry "$REG" "$@"
}
