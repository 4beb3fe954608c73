#!/usr/bin/env bash
# Local single-node Apache Kafka 4.x broker (KRaft mode, no ZooKeeper) for integration tests.
#
#   deploy/kafka/broker.sh start   fetch jars (once), format storage, start, wait until ready;
#                                  prints the bootstrap address (127.0.0.1:PORT) on stdout
#   deploy/kafka/broker.sh stop    stop the broker started by "start" and delete its data
#   deploy/kafka/broker.sh fetch   only fetch the jars
#
# Environment (all optional):
#   KAFKA_VERSION    org.apache.kafka:kafka_2.13 version from Maven Central (default 4.4.0)
#   KAFKA_CACHE      where jars are kept between runs (default ~/.cache/dlmstream/kafka); never the repo
#   KAFKA_RUN_DIR    data, logs, pid and port of a running broker (default $KAFKA_CACHE/run)
#   KAFKA_PORT       client port (default: a free port picked at start)
#   KAFKA_PARTITIONS default partitions of auto-created topics (default 4)
#
# Jars come with mvn (dependency:copy-dependencies of kafka_2.13 and its runtime dependencies) and are
# reused on later runs. Needs Java 17+ and mvn.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
KAFKA_CACHE=${KAFKA_CACHE:-$HOME/.cache/dlmstream/kafka}
KAFKA_RUN_DIR=${KAFKA_RUN_DIR:-$KAFKA_CACHE/run}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-4}
LIBS="$KAFKA_CACHE/$KAFKA_VERSION/libs"

log() { echo "kafka: $*" >&2; }

fetch() {
	if [[ -f "$LIBS/.complete" ]]; then
		return
	fi
	command -v mvn >/dev/null || { log "mvn not found"; exit 1; }
	local work="$KAFKA_CACHE/$KAFKA_VERSION/mvn"
	mkdir -p "$work" "$LIBS"
	cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dlmstream</groupId>
  <artifactId>kafka-broker-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>2.0.17</version></dependency>
  </dependencies>
</project>
POM
	log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and dependencies into $LIBS"
	mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$LIBS" >&2
	touch "$LIBS/.complete"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

java_run() {
	java -Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
		-Djava.awt.headless=true -cp "$LIBS/*" "$@"
}

start() {
	fetch
	if [[ -f "$KAFKA_RUN_DIR/pid" ]] && kill -0 "$(cat "$KAFKA_RUN_DIR/pid")" 2>/dev/null; then
		log "already running (pid $(cat "$KAFKA_RUN_DIR/pid"))"
		echo "127.0.0.1:$(cat "$KAFKA_RUN_DIR/port")"
		return
	fi
	rm -rf "$KAFKA_RUN_DIR"
	mkdir -p "$KAFKA_RUN_DIR/data"
	local port=${KAFKA_PORT:-$(free_port)}
	local cport
	cport=$(free_port)
	while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
	cat >"$KAFKA_RUN_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_RUN_DIR/data
num.partitions=$KAFKA_PARTITIONS
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
log.segment.bytes=16777216
PROPS
	local cluster
	cluster=$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
	java_run kafka.tools.StorageTool format -t "$cluster" -c "$KAFKA_RUN_DIR/server.properties" \
		--standalone >"$KAFKA_RUN_DIR/format.log" 2>&1 ||
		java_run kafka.tools.StorageTool format -t "$cluster" -c "$KAFKA_RUN_DIR/server.properties" \
			>"$KAFKA_RUN_DIR/format.log" 2>&1 || { log "format failed:"; cat "$KAFKA_RUN_DIR/format.log" >&2; exit 1; }
	echo "$port" >"$KAFKA_RUN_DIR/port"
	nohup java -Xms256m -Xmx768m -XX:+UseSerialGC -Djava.awt.headless=true -cp "$LIBS/*" \
		kafka.Kafka "$KAFKA_RUN_DIR/server.properties" >"$KAFKA_RUN_DIR/server.log" 2>&1 &
	echo $! >"$KAFKA_RUN_DIR/pid"
	log "started pid $! on 127.0.0.1:$port; waiting until ready"
	local i
	for i in $(seq 1 240); do
		if ! kill -0 "$(cat "$KAFKA_RUN_DIR/pid")" 2>/dev/null; then
			log "broker exited:"; tail -40 "$KAFKA_RUN_DIR/server.log" >&2; exit 1
		fi
		# Ready when the broker answers a Metadata request listing itself.
		if ready_py "$port"; then
			log "ready after ~$((i / 2)) s"
			echo "127.0.0.1:$port"
			return
		fi
		sleep 0.5
	done
	log "not ready in 120 s"; tail -40 "$KAFKA_RUN_DIR/server.log" >&2; stop; exit 1
}

# ready_py sends a Kafka Metadata v1 request and checks that at least one broker is listed.
ready_py() {
	python3 - "$1" <<'PY' 2>/dev/null
import socket, struct, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=1)
client = b"ready"
# Metadata v1: topics = null (all topics)
body = struct.pack(">hhih", 3, 1, 7, len(client)) + client + struct.pack(">i", -1)
s.sendall(struct.pack(">i", len(body)) + body)
n = struct.unpack(">i", s.recv(4))[0]
data = b""
while len(data) < n:
    chunk = s.recv(n - len(data))
    if not chunk:
        break
    data += chunk
brokers = struct.unpack(">i", data[4:8])[0]
sys.exit(0 if brokers >= 1 else 1)
PY
}

stop() {
	if [[ -f "$KAFKA_RUN_DIR/pid" ]]; then
		local pid
		pid=$(cat "$KAFKA_RUN_DIR/pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$KAFKA_RUN_DIR"
}

case "${1:-}" in
fetch) fetch ;;
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop|fetch" >&2; exit 2 ;;
esac
