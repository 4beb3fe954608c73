#!/usr/bin/env bash
# Local single-node Apache Kafka 4.x broker (KRaft mode, no ZooKeeper) for integration tests.
#
#   deploy/kafka/broker.sh start   fetch jars (once), format storage, start, wait until ready;
#                                  prints the bootstrap address (127.0.0.1:PORT) on stdout
#   deploy/kafka/broker.sh stop    stop the broker started by "start" and delete its data
#   deploy/kafka/broker.sh fetch   only fetch the jars
#   deploy/kafka/broker.sh env     the secure listener's settings as export lines (eval them)
#   deploy/kafka/broker.sh restart stop the broker process and start it again on the same
#                                  ports and data (fault tests)
#
# Besides the PLAINTEXT listener the broker has a SASL_SSL listener with SCRAM-SHA-512:
# "start" makes a throwaway CA and a broker certificate for 127.0.0.1 (openssl), and a SCRAM
# user with a random password (stored at format time, KRaft --add-scram). "env" prints
#   DLMSTREAM_KAFKA_SECURE_BROKERS  127.0.0.1:PORT of the SASL_SSL listener
#   DLMSTREAM_KAFKA_CA              the CA certificate (PEM) that signed the broker's
#   DLMSTREAM_KAFKA_SASL_USER, DLMSTREAM_KAFKA_SASL_PASSWORD
# which the TLS/SASL integration tests read (they skip when unset).
#
# Environment (all optional):
#   KAFKA_VERSION    org.apache.kafka:kafka_2.13 version from Maven Central (default 4.4.0)
#   KAFKA_CACHE      where jars are kept between runs (default ~/.cache/dlmstream/kafka); never the repo
#   KAFKA_RUN_DIR    data, logs, pid and port of a running broker (default $KAFKA_CACHE/run)
#   KAFKA_PORT       client port (default: a free port picked at start)
#   KAFKA_PARTITIONS default partitions of auto-created topics (default 4)
#   KAFKA_ADVERTISED_PORT  port the PLAINTEXT listener advertises (default KAFKA_PORT): a fault
#                    test puts a proxy it controls there
#   KAFKA_AUTO_CREATE auto.create.topics.enable (default true); a fault test turns it off to
#                    have a topic that does not exist until it creates it
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
		echo "127.0.0.1:$(cat "$KAFKA_RUN_DIR/advertised-port" 2>/dev/null || cat "$KAFKA_RUN_DIR/port")"
		return
	fi
	rm -rf "$KAFKA_RUN_DIR"
	mkdir -p "$KAFKA_RUN_DIR/data"
	local port=${KAFKA_PORT:-$(free_port)}
	local cport sport
	cport=$(free_port)
	while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
	sport=$(free_port)
	while [[ "$sport" == "$port" || "$sport" == "$cport" ]]; do sport=$(free_port); done
	local aport=${KAFKA_ADVERTISED_PORT:-$port}
	make_tls
	local user=dlmstream password
	password=$(openssl rand -hex 16)
	cat >"$KAFKA_RUN_DIR/secure.env" <<ENV
export DLMSTREAM_KAFKA_SECURE_BROKERS=127.0.0.1:$sport
export DLMSTREAM_KAFKA_CA=$KAFKA_RUN_DIR/tls/ca.pem
export DLMSTREAM_KAFKA_SASL_USER=$user
export DLMSTREAM_KAFKA_SASL_PASSWORD=$password
ENV
	chmod 600 "$KAFKA_RUN_DIR/secure.env"
	# Inter-broker and controller traffic stays on the PLAINTEXT listeners; the
	# broker does not connect to its own advertised address (one node, RF 1).
	cat >"$KAFKA_RUN_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$aport,SASL_SSL://127.0.0.1:$sport
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_RUN_DIR/tls/broker-keystore.pem
log.dirs=$KAFKA_RUN_DIR/data
num.partitions=$KAFKA_PARTITIONS
auto.create.topics.enable=${KAFKA_AUTO_CREATE:-true}
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
	local scram="SCRAM-SHA-512=[name=$user,password=$password]"
	java_run kafka.tools.StorageTool format -t "$cluster" -c "$KAFKA_RUN_DIR/server.properties" \
		--standalone --add-scram "$scram" >"$KAFKA_RUN_DIR/format.log" 2>&1 ||
		java_run kafka.tools.StorageTool format -t "$cluster" -c "$KAFKA_RUN_DIR/server.properties" \
			--add-scram "$scram" >"$KAFKA_RUN_DIR/format.log" 2>&1 ||
		{ log "format failed:"; cat "$KAFKA_RUN_DIR/format.log" >&2; exit 1; }
	echo "$port" >"$KAFKA_RUN_DIR/port"
	echo "$aport" >"$KAFKA_RUN_DIR/advertised-port"
	launch
}

# launch starts the formatted broker and waits until it answers.
launch() {
	local port
	port=$(cat "$KAFKA_RUN_DIR/port")
	nohup java -Xms256m -Xmx768m -XX:+UseSerialGC -Djava.awt.headless=true -cp "$LIBS/*" \
		kafka.Kafka "$KAFKA_RUN_DIR/server.properties" >>"$KAFKA_RUN_DIR/server.log" 2>&1 &
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
			echo "127.0.0.1:$(cat "$KAFKA_RUN_DIR/advertised-port")"
			return
		fi
		sleep 0.5
	done
	log "not ready in 120 s"; tail -40 "$KAFKA_RUN_DIR/server.log" >&2; stop; exit 1
}

# make_tls writes a throwaway CA and a broker certificate for 127.0.0.1 and
# localhost, valid 7 days, and the broker's PEM keystore (PKCS#8 key + chain).
make_tls() {
	local d="$KAFKA_RUN_DIR/tls"
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 -subj "/CN=dlmstream test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
		-keyout "$d/broker.key" -out "$d/broker.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/broker.ext"
	openssl x509 -req -sha256 -days 7 -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -extfile "$d/broker.ext" -out "$d/broker.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$d/broker.key" -out "$d/broker.pk8"
	cat "$d/broker.pk8" "$d/broker.pem" >"$d/broker-keystore.pem"
	chmod 600 "$d"/*.key "$d/broker.pk8" "$d/broker-keystore.pem"
}

# restart stops the broker process (SIGTERM, controlled shutdown) and starts
# it again with the same configuration and data.
restart() {
	[[ -f "$KAFKA_RUN_DIR/pid" ]] || { log "not running"; exit 1; }
	halt
	launch
}

# halt stops the broker process and keeps its data.
halt() {
	local pid
	pid=$(cat "$KAFKA_RUN_DIR/pid" 2>/dev/null || true)
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
		kill -9 "$pid" 2>/dev/null || true
	fi
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
	halt
	rm -rf "$KAFKA_RUN_DIR"
}

case "${1:-}" in
fetch) fetch ;;
start) start ;;
stop) stop ;;
restart) restart ;;
env) cat "$KAFKA_RUN_DIR/secure.env" ;;
*) echo "usage: $0 start|stop|restart|env|fetch" >&2; exit 2 ;;
esac
