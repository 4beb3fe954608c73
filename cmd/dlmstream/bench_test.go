package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/model/qwen"
	"dlmstream/tools/bench"
)

// fakePeer writes a shell script that speaks peer.py's --serve protocol:
// its ready line, then for {"tokens": k, ...} the timings 10k, 10k+2, 10k+1.
func fakePeer(t *testing.T, body string) (sh, script string) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	script = filepath.Join(t.TempDir(), "peer.sh")
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return sh, script
}

const fakeServe = `echo "starting $*" >&2
echo '{"ready": true, "torch": "2.15.0", "python": "3.11.7", "executable": "/fake/python", "threads": 2, "cpu_capability": "AVX512", "mkldnn_bf16": true, "weight_bytes": 4000000000, "build_s": 1.5}'
while read -r line; do
	k=$(echo "$line" | sed 's/.*"tokens":\([0-9]*\).*/\1/')
	echo "{\"tokens\": $k, \"ms\": [$((10*k)), $((10*k+2)), $((10*k+1))]}"
done
`

func TestPeerProtocol(t *testing.T) {
	sh, script := fakePeer(t, fakeServe)
	var stderr bytes.Buffer
	args := peerArgs(qwen.SDAR17B(), 512, []int{1, 4}, 2)
	p, err := startPeer(sh, script, args, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if p.info.Torch != "2.15.0" || p.info.Threads != 2 || p.info.WeightBytes != 4e9 || !p.info.MKLDNNBF16 {
		t.Errorf("ready line parsed as %+v", p.info)
	}
	got, err := p.time(4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []float64{40, 42, 41}) {
		t.Errorf("time(4, 3) = %v", got)
	}
	if _, err := p.time(4, 2); err == nil || !strings.Contains(err.Error(), "asked 2 timings of 4 tokens, got 3 of 4") {
		t.Errorf("wrong count: err = %v", err)
	}
	if _, err := p.close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := p.close(); err != nil { // a second close is a no-op
		t.Errorf("second close: %v", err)
	}
	// The peer sees our dims and threads; its stderr is passed through.
	for _, want := range []string{"--serve", "--threads 2", "--context 512", "--tokens 1,4", "--hidden 2048", "--layers 28",
		"--heads 16", "--kv-heads 8", "--head-dim 128", "--intermediate 6144", "--vocab 151936", "--rope-theta 1e+06", "--mask-block 4"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("peer args %q lack %q", stderr.String(), want)
		}
	}
	if strings.Contains(stderr.String(), "--tied") {
		t.Errorf("untied SDAR-1.7B passed --tied: %q", stderr.String())
	}
}

func TestPeerMissingTorch(t *testing.T) {
	sh, script := fakePeer(t, "echo \"peer.py: torch is not importable by /x/python (No module named 'torch')\" >&2\nexit 3\n")
	_, err := startPeer(sh, script, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "torch is missing for "+sh) || !strings.Contains(err.Error(), "pip install -r tools/bench/requirements.txt") {
		t.Errorf("err = %v", err)
	}
}

func TestPeerFailures(t *testing.T) {
	if _, err := startPeer("no-such-python-for-dlmstream", "", nil, io.Discard); err == nil || !strings.Contains(err.Error(), "not found") ||
		!strings.Contains(err.Error(), "DLMSTREAM_PYTHON") {
		t.Errorf("missing python: err = %v", err)
	}
	sh, script := fakePeer(t, "echo 'Traceback: boom' >&2\nexit 1\n")
	if _, err := startPeer(sh, script, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "exited before it was ready") ||
		!strings.Contains(err.Error(), "Traceback: boom") {
		t.Errorf("crash before ready: err = %v", err)
	}
	sh, script = fakePeer(t, "echo 'not json'\n")
	if _, err := startPeer(sh, script, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "bad ready line") {
		t.Errorf("bad ready line: err = %v", err)
	}
	sh, script = fakePeer(t, `echo '{"ready": true, "threads": 2}'
read -r line
echo 'MemoryError' >&2
exit 1
`)
	p, err := startPeer(sh, script, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.time(1, 1); err == nil || !strings.Contains(err.Error(), "stopped answering") || !strings.Contains(err.Error(), "MemoryError") {
		t.Errorf("crash mid-run: err = %v", err)
	}
	p.close()
}

func TestParsePeerReply(t *testing.T) {
	if ms, err := parsePeerReply([]byte(`{"tokens": 8, "ms": [1.5, 2.25]}`+"\n"), 8, 2); err != nil || !slices.Equal(ms, []float64{1.5, 2.25}) {
		t.Errorf("good reply: %v, %v", ms, err)
	}
	for _, c := range []struct{ line, want string }{
		{`{"error": "RuntimeError: out of memory"}`, "failed at 8 tokens: RuntimeError: out of memory"},
		{`{"tokens": 4, "ms": [1, 2]}`, "got 2 of 4"},
		{`{"tokens": 8, "ms": [1]}`, "got 1 of 8"},
		{`{"tokens": 8, "ms": [1, 0]}`, "bad timing 0"},
		{`{"tokens": 8, "ms": [1, -3]}`, "bad timing -3"},
		{`tokens 8`, "bad reply"},
	} {
		if _, err := parsePeerReply([]byte(c.line), 8, 2); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.line, err, c.want)
		}
	}
}

func TestRunPeerRoundsTable(t *testing.T) {
	settle := peerSettle
	defer func() { peerSettle = settle }()
	peerSettle = 0
	var calls []string
	timer := func(side string, base float64) forwardTimer {
		round := map[int]int{}
		return func(k, n int) ([]float64, error) {
			calls = append(calls, fmt.Sprintf("%s%d", side, k))
			round[k]++
			ts := make([]float64, n)
			for i := range ts { // rounds 1, 2, 3 take base·k + 0, 10, 20 ms (+i)
				ts[i] = base*float64(k) + 10*float64(round[k]-1) + float64(i)
			}
			return ts, nil
		}
	}
	bws := []float64{20, 25}
	measure := func() float64 { b := bws[0]; bws = bws[1:]; return b }
	cpuTimes := [][3]float64{{0, 0, 0}, {10, 1, 100}, {10, 1, 100}, {60, 1, 200}, {60, 1, 200}, {62, 6, 300}} // others, steal, total at each round's start and end
	cpu := func() (float64, float64, float64, bool) {
		c := cpuTimes[0]
		cpuTimes = cpuTimes[1:]
		return c[0], c[1], c[2], true
	}
	res, err := runPeerRounds([]int{1, 8}, 3, 3, timer("o", 100), timer("p", 200), measure, 24, cpu, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"o1", "p1", "o8", "p8", "p1", "o1", "p8", "o8", "o1", "p1", "o8", "p8"}; !slices.Equal(calls, want) {
		t.Errorf("call order %v, want %v", calls, want)
	}
	if !slices.Equal(res.bw, []float64{24, 20, 25}) || !slices.Equal(res.others, []float64{0.1, 0.5, 0.02}) || !slices.Equal(res.stole, []float64{0.01, 0, 0.05}) {
		t.Errorf("bandwidths %v, others' CPU %v, steal %v", res.bw, res.others, res.stole)
	}
	var out bytes.Buffer
	writePeerTable(&out, res, 3, 2.5e9, 2e9, func(k int) float64 { return 1e9 * float64(k) })
	// 1 token: ours 100..122 ms, median of the 9 = 111 (round 2: 110, 111, 112);
	// PyTorch 200..222, median 211. ratio 0.53; 2.5 GB / 0.111 s = 22.5 GB/s,
	// 90% of the best bandwidth 25; PyTorch 2 GB / 0.211 s = 9.5 GB/s, 38%;
	// 1 GFLOP / 0.111 s = 9.0 GFLOP/s, 4.7 for PyTorch.
	// 8 tokens: ours 800..822 (median 811), PyTorch 1600..1622 (median 1611).
	for _, want := range []string{
		"read bandwidth at the start of each round: 24.0, 20.0, 25.0 GB/s; %bw is of the best, 25.0 GB/s; ratio = ours / PyTorch (below 1: ours is faster)",
		"tokens   ours_ms  torch_ms  ratio  ours_GB/s torch_GB/s ours_%bw torch_%bw ours_GFLOP/s torch_GFLOP/s",
		"     1     111.0     211.0   0.53       22.5        9.5      90%       38%          9.0           4.7",
		"     8     811.0    1611.0   0.50        3.1        1.2      12%        5%          9.9           5.0",
		"machine CPU time taken during each round by other processes: 10%, 50%, 2%; stolen by the hypervisor: 1%, 0%, 5%",
		"     1    101.0   111.0   121.0  |   201.0   211.0   221.0  | fastest 100.0 | 200.0, ratio 0.50",
		"     8    801.0   811.0   821.0  |  1601.0  1611.0  1621.0  | fastest 800.0 | 1600.0, ratio 0.50",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("table lacks line %q:\n%s", want, out.String())
		}
	}

	boom := func(k, n int) ([]float64, error) { return nil, fmt.Errorf("boom") }
	if _, err := runPeerRounds([]int{1}, 3, 1, timer("o", 1), boom, measure, 24, nil, io.Discard); err == nil || err.Error() != "boom" {
		t.Errorf("peer failure: err = %v", err)
	}
}

func TestPeerScriptEmbedded(t *testing.T) {
	src, err := os.ReadFile("../../tools/bench/peer.py")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, bench.PeerPy) {
		t.Error("bench.PeerPy differs from tools/bench/peer.py")
	}
	for _, flag := range []string{"--serve", "--threads", "--context", "--hidden", "--kv-heads", "--head-dim", "--intermediate", "--rope-theta", "--mask-block", "--tied"} {
		if !bytes.Contains(src, []byte(`"`+flag+`"`)) {
			t.Errorf("peer.py has no %s flag", flag)
		}
	}
}

// TestPeerTorch runs the real peer.py at toy dims when $DLMSTREAM_PYTHON
// names a python with torch (skipped otherwise): the protocol end to end.
func TestPeerTorch(t *testing.T) {
	py := os.Getenv("DLMSTREAM_PYTHON")
	if py == "" || testing.Short() {
		t.Skip("set DLMSTREAM_PYTHON to a python with torch")
	}
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s has no torch: %v", py, err)
	}
	cfg := qwen.SDAR17B()
	cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim, cfg.IntermediateSize, cfg.VocabSize = 128, 2, 4, 2, 32, 256, 1000
	p, err := startPeer(py, "", peerArgs(cfg, 16, []int{1, 8}, 1), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if want := int64(2 * (2*(2*128*128+2*128*64+3*128*256) + 1000*128)); p.info.WeightBytes != want || p.info.Threads != 1 {
		t.Errorf("info %+v, want %d weight bytes and 1 thread", p.info, want)
	}
	for _, k := range []int{1, 8} {
		if ms, err := p.time(k, 2); err != nil || len(ms) != 2 {
			t.Errorf("time(%d, 2) = %v, %v", k, ms, err)
		}
	}
	if _, err := p.close(); err != nil {
		t.Error(err)
	}
}

func TestProcCPU(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	others, steal, total, ok := procCPU(os.Getpid())()
	if !ok || total <= 0 || others < 0 || steal < 0 || others+steal > total {
		t.Errorf("procCPU = %v, %v, %v, %v", others, steal, total, ok)
	}
	if _, _, _, ok := procCPU(-1)(); ok {
		t.Error("procCPU of a missing pid reported ok")
	}
}
