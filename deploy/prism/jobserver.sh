#!/usr/bin/env bash
# Beam's prism runner as a separate job-server process, for submitting jobs through Beam's
# portable Job API (dlmstream run --runner universal -- --endpoint 127.0.0.1:PORT), the API
# that Flink's job server speaks.
#
#   deploy/prism/jobserver.sh start   build prism (once per Beam version), start it, wait until
#                                     ready; prints the job endpoint (127.0.0.1:PORT) on stdout
#   deploy/prism/jobserver.sh stop    stop the job server started by "start" and delete its run dir
#   deploy/prism/jobserver.sh build   only build the prism binary; prints its path
#
# Environment (all optional):
#   PRISM_CACHE    where the binary is kept between runs (default ~/.cache/dlmstream/prism); never the repo
#   PRISM_RUN_DIR  log, pid and port of a running job server (default $PRISM_CACHE/run); also the
#                  working directory of PROCESS-environment workers, so give jobs absolute paths
#   PRISM_PORT     job port (default: a free port the job server picks at start)
#   PRISM_BIN      use this prism binary instead of building one
#
# The binary is github.com/apache/beam/sdks/v2/go/cmd/prism at the Beam version in this module's
# go.mod, built with the module's go.sum (needs go, and the module cache or the module proxy once).
# Prism listens on every interface (it has no bind-address flag); the endpoint printed is the
# loopback one. The web UI is off.
#
# Jobs then run with --environment_type LOOPBACK (workers inside the submitting process) or
# PROCESS --environment_config '{"command":"/abs/path/to/dlmstream"}' (prism starts the binary as
# a worker); EXTERNAL needs a worker pool (dlmstream worker-pool).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PRISM_CACHE=${PRISM_CACHE:-$HOME/.cache/dlmstream/prism}
PRISM_RUN_DIR=${PRISM_RUN_DIR:-$PRISM_CACHE/run}

log() { echo "prism: $*" >&2; }

beam_version() {
	(cd "$REPO" && go list -m -f '{{.Version}}' github.com/apache/beam/sdks/v2)
}

# build prints the path of a prism binary, building it first if the cache has none.
build() {
	if [[ -n "${PRISM_BIN:-}" ]]; then
		[[ -x "$PRISM_BIN" ]] || { log "PRISM_BIN $PRISM_BIN is not executable"; exit 1; }
		echo "$PRISM_BIN"
		return
	fi
	command -v go >/dev/null || { log "go not found"; exit 1; }
	local version bin
	version=$(beam_version)
	bin="$PRISM_CACHE/$version/prism"
	if [[ ! -x "$bin" ]]; then
		mkdir -p "$PRISM_CACHE/$version"
		log "building github.com/apache/beam/sdks/v2/go/cmd/prism@$version into $bin"
		(cd "$REPO" && go build -o "$bin.tmp" github.com/apache/beam/sdks/v2/go/cmd/prism) >&2
		mv "$bin.tmp" "$bin"
	fi
	echo "$bin"
}

running() {
	[[ -f "$PRISM_RUN_DIR/pid" ]] && kill -0 "$(cat "$PRISM_RUN_DIR/pid")" 2>/dev/null
}

start() {
	local bin
	bin=$(build)
	if running && [[ -f "$PRISM_RUN_DIR/port" ]]; then
		log "already running (pid $(cat "$PRISM_RUN_DIR/pid"))"
		echo "127.0.0.1:$(cat "$PRISM_RUN_DIR/port")"
		return
	fi
	rm -rf "$PRISM_RUN_DIR"
	mkdir -p "$PRISM_RUN_DIR"
	# The job server's working directory is the run dir: PROCESS workers inherit it.
	(cd "$PRISM_RUN_DIR" && exec nohup "$bin" --job_port "${PRISM_PORT:-0}" --serve_http=false \
		--log_kind text --log_level info >"$PRISM_RUN_DIR/server.log" 2>&1) &
	echo $! >"$PRISM_RUN_DIR/pid"
	log "started pid $!; waiting until ready"
	local i port
	for i in $(seq 1 120); do
		if ! running; then
			log "job server exited:"; tail -40 "$PRISM_RUN_DIR/server.log" >&2; exit 1
		fi
		# Ready once it logs its endpoint and accepts connections there.
		port=$(grep -o 'Serving JobManagement.*endpoint=[^ ]*:[0-9]*' "$PRISM_RUN_DIR/server.log" 2>/dev/null |
			head -1 | sed 's/.*://' || true)
		if [[ -n "$port" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port" >"$PRISM_RUN_DIR/port"
			log "ready after ~$((i / 4)) s"
			echo "127.0.0.1:$port"
			return
		fi
		sleep 0.25
	done
	log "not ready in 30 s"; tail -40 "$PRISM_RUN_DIR/server.log" >&2; stop; exit 1
}

stop() {
	if [[ -f "$PRISM_RUN_DIR/pid" ]]; then
		local pid
		pid=$(cat "$PRISM_RUN_DIR/pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$PRISM_RUN_DIR"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop|build" >&2; exit 2 ;;
esac
