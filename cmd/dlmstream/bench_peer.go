package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"dlmstream/engine/model"
	"dlmstream/engine/model/qwen"
	"dlmstream/tools/bench"
)

// Peer: tools/bench/peer.py, the same forward in PyTorch (see its docstring),
// in a child process that keeps its weights across rounds and answers one
// JSON line per request on stdin/stdout.

func defaultPython() string {
	if p := os.Getenv("DLMSTREAM_PYTHON"); p != "" {
		return p
	}
	return "python3"
}

// peerArgs are peer.py's flags for the model the bench builds from cfg. The
// mask is the one qwen.BlockStep runs: SDAR's block-causal mask of
// cfg.BlockSize (a block of k rows at position ctx spans k/B+ blocks).
func peerArgs(cfg *model.Config, ctx int, ks []int, threads int) []string {
	itoa := strconv.Itoa
	tok := make([]string, len(ks))
	for i, k := range ks {
		tok[i] = itoa(k)
	}
	args := []string{"--serve", "--threads", itoa(threads), "--context", itoa(ctx), "--tokens", strings.Join(tok, ","), "--seed", "1",
		"--hidden", itoa(cfg.HiddenSize), "--layers", itoa(cfg.NumLayers), "--heads", itoa(cfg.NumHeads), "--kv-heads", itoa(cfg.NumKVHeads),
		"--head-dim", itoa(cfg.HeadDim), "--intermediate", itoa(cfg.IntermediateSize), "--vocab", itoa(cfg.VocabSize),
		"--rope-theta", strconv.FormatFloat(cfg.RopeTheta, 'g', -1, 64), "--eps", strconv.FormatFloat(cfg.RMSNormEps, 'g', -1, 64),
		"--mask-block", itoa(max(cfg.BlockSize, 1))}
	if cfg.TieWordEmbeddings {
		args = append(args, "--tied")
	}
	return args
}

// peerInfo is the peer's first line, once its weights are built.
type peerInfo struct {
	Ready         bool    `json:"ready"`
	Torch         string  `json:"torch"`
	Python        string  `json:"python"`
	Executable    string  `json:"executable"`
	Threads       int     `json:"threads"`
	CPUCapability string  `json:"cpu_capability"`
	MKLDNNBF16    bool    `json:"mkldnn_bf16"`
	WeightBytes   int64   `json:"weight_bytes"`
	BuildS        float64 `json:"build_s"`
	Error         string  `json:"error"`
}

// peerReply answers one request {"tokens": k, "iters": n}.
type peerReply struct {
	Tokens int       `json:"tokens"`
	MS     []float64 `json:"ms"`
	Error  string    `json:"error"`
}

type peerProc struct {
	python string
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	tail   *tailBuffer
	info   peerInfo
	tmp    string // the extracted script, removed by close
	closed bool
	rss    float64
}

const peerInstall = "install it with `%[1]s -m pip install -r tools/bench/requirements.txt`, or point --python (or DLMSTREAM_PYTHON) at a python that has torch"

// startPeer runs `python script args...` (script empty: the embedded
// peer.py, extracted to a temporary file), its stderr copied to stderr, and
// waits for its ready line.
func startPeer(python, script string, args []string, stderr io.Writer) (*peerProc, error) {
	exe, err := exec.LookPath(python)
	if err != nil {
		return nil, fmt.Errorf("bench --peer: python %q not found (%v); set --python or DLMSTREAM_PYTHON to a python with torch (tools/bench/requirements.txt)", python, err)
	}
	p := &peerProc{python: python, tail: &tailBuffer{max: 4096}}
	if script == "" {
		f, err := os.CreateTemp("", "dlmstream-peer-*.py")
		if err != nil {
			return nil, fmt.Errorf("bench --peer: %v", err)
		}
		_, werr := f.Write(bench.PeerPy)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		p.tmp = f.Name()
		if werr != nil {
			os.Remove(p.tmp)
			return nil, fmt.Errorf("bench --peer: %v", werr)
		}
		script = p.tmp
	}
	p.cmd = exec.Command(exe, append([]string{script}, args...)...)
	p.cmd.Stderr = io.MultiWriter(stderr, p.tail)
	env := os.Environ()
	if th := threadsArg(args); th != "" { // OpenMP's pool, before torch starts it
		env = append(env, "OMP_NUM_THREADS="+th, "MKL_NUM_THREADS="+th)
	}
	p.cmd.Env = env
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("bench --peer: %v", err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		p.cleanup()
		return nil, fmt.Errorf("bench --peer: %v", err)
	}
	p.out = bufio.NewReaderSize(out, 1<<16)
	if err := p.cmd.Start(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("bench --peer: starting %s: %v", python, err)
	}
	line, rerr := p.out.ReadBytes('\n')
	if rerr != nil && len(line) == 0 {
		p.in.Close()
		werr := p.cmd.Wait()
		p.closed = true
		p.cleanup()
		var ee *exec.ExitError
		if errors.As(werr, &ee) && ee.ExitCode() == 3 {
			return nil, fmt.Errorf("bench --peer: torch is missing for %s: "+peerInstall, python)
		}
		return nil, fmt.Errorf("bench --peer: %s %s exited before it was ready (%v)%s", python, script, werr, p.tail.suffix())
	}
	if err := json.Unmarshal(line, &p.info); err != nil || !p.info.Ready {
		p.close()
		if err == nil && p.info.Error != "" {
			err = errors.New(p.info.Error)
		}
		return nil, fmt.Errorf("bench --peer: bad ready line %q (%v)%s", bytes.TrimSpace(line), err, p.tail.suffix())
	}
	return p, nil
}

func threadsArg(args []string) string {
	for i, a := range args {
		if a == "--threads" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// time asks the peer for n timed forwards of a k-token block (after one
// warm-up), in milliseconds.
func (p *peerProc) time(k, n int) ([]float64, error) {
	req, _ := json.Marshal(map[string]int{"tokens": k, "iters": n})
	if _, err := p.in.Write(append(req, '\n')); err != nil {
		_, werr := p.close()
		return nil, fmt.Errorf("bench --peer: writing to the peer: %v (%v)%s", err, werr, p.tail.suffix())
	}
	line, err := p.out.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		_, werr := p.close() // it is gone: its exit status, and all of its stderr
		return nil, fmt.Errorf("bench --peer: the peer stopped answering (%v, %v)%s", err, werr, p.tail.suffix())
	}
	return parsePeerReply(line, k, n)
}

func parsePeerReply(line []byte, k, n int) ([]float64, error) {
	var r peerReply
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("bench --peer: bad reply %q: %v", bytes.TrimSpace(line), err)
	}
	switch {
	case r.Error != "":
		return nil, fmt.Errorf("bench --peer: the peer failed at %d tokens: %s", k, r.Error)
	case r.Tokens != k || len(r.MS) != n:
		return nil, fmt.Errorf("bench --peer: asked %d timings of %d tokens, got %d of %d", n, k, len(r.MS), r.Tokens)
	}
	for _, t := range r.MS {
		if !(t > 0) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("bench --peer: bad timing %v ms at %d tokens", t, k)
		}
	}
	return r.MS, nil
}

// close ends the peer (end of its input) and returns its peak RSS in bytes
// (0 where unknown). It may be called more than once.
func (p *peerProc) close() (float64, error) {
	if p.closed {
		return p.rss, nil
	}
	p.closed = true
	p.in.Close()
	err := p.cmd.Wait()
	if ps := p.cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			p.rss = float64(ru.Maxrss) * 1024
		}
	}
	p.cleanup()
	return p.rss, err
}

func (p *peerProc) cleanup() {
	if p.tmp != "" {
		os.Remove(p.tmp)
		p.tmp = ""
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

// suffix is ": <stderr tail>" for an error message, or "".
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return "; its stderr ends:\n" + s
}

// forwardTimer times n forwards of a k-token block, in milliseconds.
type forwardTimer func(k, n int) ([]float64, error)

// peerResult holds the timings of an interleaved run: per block size, per
// round, the n timings of each side (ms), the read bandwidth measured at the
// start of each round (GB/s), and the shares of the machine's CPU time that
// other processes took and that the hypervisor stole during each round (NaN
// where unknown).
type peerResult struct {
	ks            []int
	ours, peer    [][][]float64 // [block size][round][iter]
	bw            []float64     // [round]; bw[0] is the measurement of the header
	others, stole []float64     // [round]
}

// cpuSampler returns cumulative CPU time: what processes other than ours
// and the peer used, what the hypervisor stole, and the machine's total
// (busy, idle and stolen), in one unit; ok false where it cannot tell.
type cpuSampler func() (others, steal, total float64, ok bool)

// procCPU samples /proc (Linux): the busy time of every CPU in /proc/stat,
// less the user and system time of this process and of pid; and the steal.
func procCPU(pid int) cpuSampler {
	return func() (float64, float64, float64, bool) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, 0, false
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		if len(f) < 9 || f[0] != "cpu" {
			return 0, 0, 0, false
		}
		var busy, steal, total float64
		for i, x := range f[1:9] { // the guest time after steal is already in user
			v, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return 0, 0, 0, false
			}
			total += v
			switch i {
			case 3, 4: // idle, iowait
			case 7:
				steal = v
			default:
				busy += v
			}
		}
		for _, p := range []string{"self", strconv.Itoa(pid)} {
			b, err := os.ReadFile("/proc/" + p + "/stat")
			if err != nil {
				return 0, 0, 0, false
			}
			i := bytes.LastIndexByte(b, ')')
			f := strings.Fields(string(b[i+1:])) // from field 3 (state); utime, stime are fields 14, 15
			if i < 0 || len(f) < 13 {
				return 0, 0, 0, false
			}
			for _, x := range f[11:13] {
				v, err := strconv.ParseFloat(x, 64)
				if err != nil {
					return 0, 0, 0, false
				}
				busy -= v
			}
		}
		return max(busy, 0), steal, total, true
	}
}

// peerSettle separates the two sides' timings, so that one side's worker
// threads (OpenMP spins a while after a parallel region) are idle when the
// other's start.
var peerSettle = 100 * time.Millisecond

// runPeerRounds times every block size on both sides, one after the other,
// for the given rounds: ours first in rounds 1, 3, ..., the peer first in
// rounds 2, 4, ..., so that neither side always runs right after the
// other. Each round but the first starts by measuring the read bandwidth
// again (bw0 is the first); cpu (nil: none) tells what other processes ran.
func runPeerRounds(ks []int, rounds, n int, ours, peer forwardTimer, measure func() float64, bw0 float64, cpu cpuSampler, progress io.Writer) (*peerResult, error) {
	res := &peerResult{ks: ks, ours: make([][][]float64, len(ks)), peer: make([][][]float64, len(ks))}
	for r := range rounds {
		bw := bw0
		if r > 0 {
			bw = measure()
		}
		res.bw = append(res.bw, bw)
		var o0, s0, t0 float64
		ok := cpu != nil
		if ok {
			o0, s0, t0, ok = cpu()
		}
		for i, k := range ks {
			sides := []struct {
				name string
				t    forwardTimer
				dst  *[][]float64
			}{{"ours", ours, &res.ours[i]}, {"PyTorch", peer, &res.peer[i]}}
			if r%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			for _, s := range sides {
				time.Sleep(peerSettle)
				ts, err := s.t(k, n)
				if err != nil {
					return nil, err
				}
				*s.dst = append(*s.dst, ts)
				fmt.Fprintf(progress, "bench --peer: round %d/%d, %d tokens, %s: median %.1f ms\n", r+1, rounds, k, s.name, median(ts))
			}
		}
		others, stole := math.NaN(), math.NaN()
		if ok {
			if o1, s1, t1, ok := cpu(); ok && t1 > t0 {
				others, stole = max(o1-o0, 0)/(t1-t0), max(s1-s0, 0)/(t1-t0)
			}
		}
		res.others, res.stole = append(res.others, others), append(res.stole, stole)
	}
	return res, nil
}

func median(ts []float64) float64 {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}

// writePeerTable prints the interleaved run: per block size the median
// over every round's timings of each side, their ratio, weight GB/s, the
// share of the best read bandwidth measured in the run, and GFLOP/s; then
// the median of each round.
func writePeerTable(w io.Writer, res *peerResult, n int, oursBytes, peerBytes float64, flops func(k int) float64) {
	best := slices.Max(res.bw)
	bws := make([]string, len(res.bw))
	for i, b := range res.bw {
		bws[i] = fmt.Sprintf("%.1f", b)
	}
	fmt.Fprintf(w, "%d rounds, each timing every block size on both sides one after the other (ours first in rounds 1, 3, ..., PyTorch first in 2, 4, ...), %d forwards per side after one warm-up\n", len(res.bw), n)
	fmt.Fprintf(w, "read bandwidth at the start of each round: %s GB/s; %%bw is of the best, %.1f GB/s; ratio = ours / PyTorch (below 1: ours is faster)\n", strings.Join(bws, ", "), best)
	var others, stole []string
	for i, o := range res.others {
		if !math.IsNaN(o) {
			others = append(others, fmt.Sprintf("%.0f%%", 100*o))
			stole = append(stole, fmt.Sprintf("%.0f%%", 100*res.stole[i]))
		}
	}
	if len(others) == len(res.bw) {
		fmt.Fprintf(w, "machine CPU time taken during each round by other processes: %s; stolen by the hypervisor: %s\n", strings.Join(others, ", "), strings.Join(stole, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%6s %9s %9s %6s %10s %10s %8s %9s %12s %13s\n", "tokens", "ours_ms", "torch_ms", "ratio",
		"ours_GB/s", "torch_GB/s", "ours_%bw", "torch_%bw", "ours_GFLOP/s", "torch_GFLOP/s")
	for i, k := range res.ks {
		o, p := median(slices.Concat(res.ours[i]...))/1e3, median(slices.Concat(res.peer[i]...))/1e3
		og, pg := oursBytes/o/1e9, peerBytes/p/1e9
		fmt.Fprintf(w, "%6d %9.1f %9.1f %6.2f %10.1f %10.1f %7.0f%% %8.0f%% %12.1f %13.1f\n", k, o*1e3, p*1e3, o/p,
			og, pg, 100*og/best, 100*pg/best, flops(k)/o/1e9, flops(k)/p/1e9)
	}
	fmt.Fprintf(w, "\nmedian ms per round (ours | PyTorch), and the fastest forward of each side with their ratio:\n")
	for i, k := range res.ks {
		var b strings.Builder
		fmt.Fprintf(&b, "%6d ", k)
		for _, ts := range res.ours[i] {
			fmt.Fprintf(&b, " %7.1f", median(ts))
		}
		b.WriteString("  |")
		for _, ts := range res.peer[i] {
			fmt.Fprintf(&b, " %7.1f", median(ts))
		}
		o, p := slices.Min(slices.Concat(res.ours[i]...)), slices.Min(slices.Concat(res.peer[i]...))
		fmt.Fprintf(&b, "  | fastest %.1f | %.1f, ratio %.2f", o, p, o/p)
		fmt.Fprintln(w, b.String())
	}
}

// printRSS prints the process's peak RSS and what it holds beyond the
// model's weights (all of them: the linears, the LM head and the embedding
// table).
func printRSS(w io.Writer, m model.Model) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		peak := float64(ru.Maxrss) * 1024
		wb := float64(m.WeightBytes())
		if q, ok := m.(*qwen.Model); ok && q.Embed != q.LMHead {
			wb += float64(q.Embed.Bytes())
		}
		fmt.Fprintf(w, "\npeak RSS: %.2f GB = weights %.2f GB + %.2f GB\n", peak/1e9, wb/1e9, (peak-wb)/1e9)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var v int
		if _, err := fmt.Sscanf(f, "%d", &v); err != nil || v <= 0 {
			return nil, fmt.Errorf("bad value %q", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
