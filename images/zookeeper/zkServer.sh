#!/bin/sh
# The part of upstream's zkServer.sh that pbx uses: `zkServer.sh [--config DIR] start-foreground [CFG]`, and
# `print-classpath`.
set -e
confdir=/conf
if [ "$1" = "--config" ]; then confdir=$2; shift 2; fi
case $1 in
  start-foreground | print-classpath) ;;
  *) echo "usage: zkServer.sh [--config DIR] start-foreground|print-classpath [zoo.cfg] (this image runs in the foreground only)" >&2; exit 2 ;;
esac
cfg=${2:-zoo.cfg}
case $cfg in /*) ;; *) cfg=$confdir/$cfg ;; esac
cp=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar
for jar in slf4j-api slf4j-simple netty-buffer netty-codec netty-common netty-handler netty-resolver netty-transport \
  netty-transport-native-unix-common netty-transport-native-epoll commons-cli commons-io metrics-core \
  jackson-annotations jackson-core jackson-databind snappy-java; do
  [ -f /usr/share/java/$jar.jar ] && cp=$cp:/usr/share/java/$jar.jar
done
[ "$1" = print-classpath ] && { echo "$cp"; exit 0; }
# The class-data sharing archive made at build time (it matches this classpath).
archive=/usr/local/lib/zookeeper.jsa
[ -f $archive ] && cds=-XX:SharedArchiveFile=$archive
# shellcheck disable=SC2086 # JVMFLAGS is a list of options, as in upstream.
exec java $JVMFLAGS ${cds:-} -Dorg.slf4j.simpleLogger.defaultLogLevel=${ZOO_LOG_LEVEL:-info} -cp "$cp" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
