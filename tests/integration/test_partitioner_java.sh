#!/usr/bin/env bash
# test_partitioner_java.sh - outcomes-produce puts a fact identity in the
# partition the Java client puts the same key in (murmur2, the Java
# producer's partitioner, is the default), so that a Java producer and
# outcomes-produce writing one topic keep each identity in one partition.
# 10,000 identities are published by outcomes-produce to one 6-partition
# topic and, with the same keys, by Kafka's own Java console producer
# (kafka.tools.ConsoleProducer, from the broker's jars) to another; the
# key -> partition maps must be equal.
source "$(dirname "$0")/produce_common.bash"

: "${OUTCOMES_STACK_DIR:?set by deploy/stack.sh env}"
LIBS="${OUTCOMES_STACK_DIR}/kafka/libs"
[[ -d "$LIBS" ]] || fail "no Kafka jars in $LIBS"
N=10000

ours="$(new_topic part_ours 6)"
java_topic="$(new_topic part_java 6)"
gen_csv "$T_DIR/ids.csv" "$N"
produce -t "$ours" "$T_DIR/ids.csv" >/dev/null || fail "outcomes-produce: exit $?"
kcat -C -b "$BROKERS" -t "$ours" -e -q -f '%k\t%p\n' | sort >"$T_DIR/ours.tsv"
[[ "$(wc -l <"$T_DIR/ours.tsv")" == "$N" ]] || fail "$(wc -l <"$T_DIR/ours.tsv") records of ours"

# The same keys through the Java client's default partitioner.
cut -f1 "$T_DIR/ours.tsv" | sed 's/$/\tx/' |
  java -Xmx256m -cp "${LIBS}/*" -Dlog4j.configuration="file:${OUTCOMES_STACK_DIR}/kafka/tools-log4j.properties" \
    kafka.tools.ConsoleProducer --bootstrap-server "$BROKERS" --topic "$java_topic" \
    --property parse.key=true --property "key.separator=	" --producer-property acks=all \
    >"$T_DIR/java.log" 2>&1 || fail "Java console producer: $(tail -5 "$T_DIR/java.log")"
kcat -C -b "$BROKERS" -t "$java_topic" -e -q -f '%k\t%p\n' | sort >"$T_DIR/java.tsv"
[[ "$(wc -l <"$T_DIR/java.tsv")" == "$N" ]] || fail "$(wc -l <"$T_DIR/java.tsv") records of Java's"
differ="$(comm -3 "$T_DIR/ours.tsv" "$T_DIR/java.tsv" | wc -l)"
[[ "$differ" == 0 ]] ||
  fail "$((differ / 2)) of $N keys in another partition than Java's: $(comm -3 "$T_DIR/ours.tsv" "$T_DIR/java.tsv" | head -4)"
used="$(cut -f2 "$T_DIR/ours.tsv" | sort -u | wc -l)"
[[ "$used" == 6 ]] || fail "only $used of 6 partitions used"
pass "$N identities: outcomes-produce and the Java producer chose the same partition for every key"
