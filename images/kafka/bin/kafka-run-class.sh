#!/bin/sh
# Runs a class from Kafka's jars, as upstream's kafka-run-class.sh does (e.g. the perf and console tools):
#   kafka-run-class.sh org.apache.kafka.tools.ProducerPerformance --topic t ...
# `kafka-run-class.sh --classpath` prints the classpath it uses.
[ $# -ge 1 ] || { echo "USAGE: $0 classname [opts]" >&2; exit 1; }
# The jars in a fixed order: the class-data sharing archive made at build time matches only this classpath.
classpath=$(LC_ALL=C ls /opt/kafka/libs/*.jar | paste -sd:)
[ "$1" = --classpath ] && { echo "$classpath"; exit 0; }
archive=/opt/kafka/kafka.jsa
[ -f $archive ] && cds=-XX:SharedArchiveFile=$archive
: "${KAFKA_HEAP_OPTS:=-Xmx512M}"
: "${KAFKA_JVM_PERFORMANCE_OPTS:=-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
: "${KAFKA_LOG4J_OPTS:=-Dlog4j.configuration=file:/opt/kafka/config/log4j.properties}"
# shellcheck disable=SC2086 # option lists, as in upstream
exec java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_LOG4J_OPTS ${cds:-} $KAFKA_OPTS -cp "$classpath" "$@"
