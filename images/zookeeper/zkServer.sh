#!/bin/sh
# The part of upstream's zkServer.sh that pbx uses: `zkServer.sh [--config DIR] start-foreground [CFG]`.
set -e
confdir=/conf
if [ "$1" = "--config" ]; then confdir=$2; shift 2; fi
if [ "$1" != "start-foreground" ]; then
  echo "usage: zkServer.sh [--config DIR] start-foreground [zoo.cfg] (this image runs in the foreground only)" >&2
  exit 2
fi
cfg=${2:-zoo.cfg}
case $cfg in /*) ;; *) cfg=$confdir/$cfg ;; esac
cp=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar
for jar in slf4j-api slf4j-simple netty-buffer netty-codec netty-common netty-handler netty-resolver netty-transport \
  netty-transport-native-unix-common netty-transport-native-epoll commons-cli commons-io metrics-core \
  jackson-annotations jackson-core jackson-databind snappy-java; do
  [ -f /usr/share/java/$jar.jar ] && cp=$cp:/usr/share/java/$jar.jar
done
# shellcheck disable=SC2086 # JVMFLAGS is a list of options, as in upstream.
exec java $JVMFLAGS -Dorg.slf4j.simpleLogger.defaultLogLevel=${ZOO_LOG_LEVEL:-info} -cp "$cp" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
