#!/bin/sh
# Same name and arguments as upstream's: kafka-storage.sh format -t CLUSTER_ID -c server.properties (KRaft)
exec /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool "$@"
