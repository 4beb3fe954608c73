#!/usr/bin/env bash
# Builds, on a machine with Go, everything the GPU check runs (issue 14):
# the CLI and the test binaries of the packages with device tests, with
# CGO_ENABLED=0 as Dataflow builds workers, into bin/gpu/ (ignored by git;
# carry it to the device machine: the run tool's carry ["bin/gpu"]).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bin/gpu
mkdir -p "$out"
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
# The CLI without the Beam commands (demo, run): the bench and devices
# commands at 8 MB instead of 200.
go build -tags nobeam -ldflags "-s -w" -o "$out/dlmstream" ./cmd/dlmstream
for pkg in kernels/cuda engine/model/qwen engine/decode engine; do
	go test -c -ldflags "-s -w" -o "$out/$(echo "$pkg" | tr / _).test" "./$pkg"
done
ls -la "$out"
du -sh "$out"
