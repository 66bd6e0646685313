#!/bin/sh
# Runs a class from Kafka's jars, as upstream's kafka-run-class.sh does (e.g. the perf and console tools):
#   kafka-run-class.sh org.apache.kafka.tools.ProducerPerformance --topic t ...
[ $# -ge 1 ] || { echo "USAGE: $0 classname [opts]" >&2; exit 1; }
: "${KAFKA_HEAP_OPTS:=-Xmx512M}"
: "${KAFKA_JVM_PERFORMANCE_OPTS:=-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
: "${KAFKA_LOG4J_OPTS:=-Dlog4j.configuration=file:/opt/kafka/config/log4j.properties}"
# shellcheck disable=SC2086 # option lists, as in upstream
exec java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_LOG4J_OPTS $KAFKA_OPTS -cp '/opt/kafka/libs/*' "$@"
