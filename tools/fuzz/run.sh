#!/usr/bin/env bash
# tools/fuzz/run.sh: run the project's go test -fuzz targets, one after
# another, each for FUZZTIME, and print execs and crashes per target.
#
#   tools/fuzz/run.sh                 every target, 10 minutes each
#   FUZZTIME=30s tools/fuzz/run.sh    a quick pass
#   tools/fuzz/run.sh FuzzConfig FuzzDecodeWAV   only these targets
#
# Environment: FUZZTIME (default 10m), FUZZ_PARALLEL (fuzzing workers,
# default: all cores), FUZZ_LOG_DIR (each target's go test output, default a
# temp dir). A crash leaves its input under the package's
# testdata/fuzz/<Target>/ (go test's own rule): commit it with the fix, and
# it becomes a seed that every `go test` runs. The seed corpora run in CI
# as part of the README's test command. Exit status 1 if any target
# crashed or failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZTIME=${FUZZTIME:-10m}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-$(nproc)}
FUZZ_LOG_DIR=${FUZZ_LOG_DIR:-$(mktemp -d)}
mkdir -p "$FUZZ_LOG_DIR"

# package target: every input class the issue names, and the rest.
TARGETS=(
	"./engine/model/safetensors FuzzSafetensorsHeader"
	"./engine/model/safetensors FuzzOpen"
	"./engine/model FuzzConfig"
	"./engine/tokenizer FuzzLoadTokenizerJSON"
	"./engine/tokenizer FuzzEncodeDecode"
	"./asr FuzzDecodeWAV"
	"./asr FuzzDecodeFLAC"
	"./asr FuzzDecodeMP3"
	"./asr FuzzDecode"
	"./asr FuzzEnglishNormalizer"
	"./vision FuzzDecodeImage"
	"./transforms FuzzDecodeAudio"
	"./transforms FuzzDecodeImage"
	"./engine/schema FuzzCompile"
	"./engine/schema FuzzRandomSchema"
	"./connectors/kafka FuzzEnvelopeRoundTrip"
)

# corpus counts the inputs in a target's corpus folder (0 if none yet).
corpus() { if [[ -d $1 ]]; then find "$1" -type f | wc -l; else echo 0; fi; }

want=" $* "
status=0
printf '%-44s %10s %12s %8s %s\n' target time execs crashes result
for t in "${TARGETS[@]}"; do
	read -r pkg name <<<"$t"
	if [[ $# -gt 0 && "$want" != *" $name "* ]]; then
		continue
	fi
	log="$FUZZ_LOG_DIR/${pkg//\//_}.$name.log"
	before=$(corpus "$pkg/testdata/fuzz/$name")
	result=ok
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -parallel "$FUZZ_PARALLEL" "$pkg" >"$log" 2>&1 || result=FAIL
	after=$(corpus "$pkg/testdata/fuzz/$name")
	# go test prints "fuzz: elapsed: 10m0s, execs: 123456 (205/sec), new interesting: ..." lines.
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	elapsed=$(grep -o 'elapsed: [0-9hms.]*' "$log" | tail -1 | awk '{print $2}')
	crashes=$((after - before))
	if [[ $result == FAIL || $crashes -gt 0 ]]; then status=1; fi
	printf '%-44s %10s %12s %8s %s\n' "$pkg $name" "${elapsed:-?}" "${execs:-?}" "$crashes" "$result"
done
echo "logs: $FUZZ_LOG_DIR"
exit $status
