#!/usr/bin/env bash
# The GPU check of issue 14, run on the device machine (one H200, CUDA 13,
# PyTorch at python3, no Go toolchain) from the repository root, after
# tools/gpu/build.sh here:
#
#   run(command="bash tools/gpu/check.sh", carry=["bin/gpu"], timeout_s=560)
#
# It writes everything to $OUT (the run tool's folder; ./gpu-out without it):
#   devices.txt     what the loader found (driver, device, NVRTC, cuBLAS)
#   tests.txt       the conformance suite, device memory and graphs, the
#                   device forward against the transformers goldens, the
#                   batched paged cache against the CPU, the engine on
#                   backend cuda, the decode goldens of demo-text on the device
#   bench17.txt     SDAR-1.7B dims: forwards of 1/4/8/32 rows at batch 1,
#                   512-token context, ours vs PyTorch eager and with CUDA
#                   graphs (peer.py --device cuda [--cuda-graphs]), HBM GB/s
#   decode17.txt    block decoding at batch 1/8/32, oracle 1/2/4/8
#   bench8.txt      SDAR-8B dims forwards, ours vs PyTorch eager
# Each step has its own time limit so one hang cannot eat the lease; the
# whole script stays under 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
bin=$PWD/bin/gpu
py=${PYTHON:-python3}

# The NVIDIA libraries: the driver's folder and the nvidia-* wheels of the
# python that holds torch (libnvrtc, libcublas).
wheels=$($py - <<'PY' 2>/dev/null
import glob, os, site
dirs = []
for p in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(p, "nvidia", "*", "lib")))
print(":".join(dirs))
PY
)
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/nvidia/lib:/usr/lib/x86_64-linux-gnu:${wheels}:${LD_LIBRARY_PATH:-}"
export DLMSTREAM_CACHE_DIR=$OUT/cache

step() { # name limit_s command...
	local name=$1 limit=$2
	shift 2
	echo "== $name ($(date +%T), limit ${limit}s): $*"
	timeout "$limit" "$@"
	echo "== $name: exit $?"
}

{
	nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
	step devices 30 "$bin/dlmstream" devices
} >"$OUT/devices.txt" 2>&1

{
	(cd kernels/cuda && step cuda 120 "$bin/kernels_cuda.test" -test.v -test.count=1 -test.run 'Conformance|DeviceMemory|GraphReplay|CuBLAS|Compile|PTXCache')
	(cd engine/model/qwen && step qwen 120 "$bin/engine_model_qwen.test" -test.v -test.count=1 -test.run 'Device')
	(cd engine && step engine 60 "$bin/engine.test" -test.v -test.count=1 -test.run 'TestBackendOption')
	(cd engine/decode && step decode 120 "$bin/engine_decode.test" -test.v -test.count=1 -test.run 'TestDecodeGoldens/demo-text/cuda')
} >"$OUT/tests.txt" 2>&1

peer="tools/bench/peer.py"
{
	step bench17 150 "$bin/dlmstream" bench --backend cuda --tokens 1,4,8,32 --iters 20 --rounds 2 \
		--peer --python "$py" --peer-script "$peer" --peer-args "--device cuda"
	step bench17-graphs 120 "$bin/dlmstream" bench --backend cuda --tokens 1,4,8,32 --iters 20 --rounds 1 \
		--peer --python "$py" --peer-script "$peer" --peer-args "--device cuda --cuda-graphs"
} >"$OUT/bench17.txt" 2>&1

step decode17 120 "$bin/dlmstream" bench --backend cuda --decode --batch 1,8,32 --oracle 1,2,4,8 --max-new 64 \
	>"$OUT/decode17.txt" 2>&1

step bench8 120 "$bin/dlmstream" bench --backend cuda --dims 8b --tokens 1,4,8,32 --iters 10 --rounds 1 \
	--peer --python "$py" --peer-script "$peer" --peer-args "--device cuda" >"$OUT/bench8.txt" 2>&1

rm -rf "$OUT/cache"
grep -h "^== \|^--- FAIL\|^FAIL\|^ok\|^PASS" "$OUT"/*.txt
