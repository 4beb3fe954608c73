package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/model"
	"dlmstream/engine/model/qwen"
	"dlmstream/engine/tensor"
	"dlmstream/engine/tokenizer"
	"dlmstream/kernels/cpu"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	if i := slices.IndexFunc(args, func(a string) bool { return a == "--policies" || a == "-policies" }); i >= 0 {
		return runBenchPolicies(slices.Delete(slices.Clone(args), i, i+1), stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "checkpoint directory; empty uses random weights with SDAR-1.7B dimensions")
	weights := fs.String("weights", "bf16", "weight storage: bf16, int8 or f32 (random weights), or a load-time conversion for --model")
	ctx := fs.Int("context", 512, "committed tokens in the KV cache before the measured block")
	blocks := fs.String("tokens", "1,4,8,32", "block sizes (tokens per forward) to time")
	iters := fs.Int("iters", 5, "timed forwards per block size (after one warm-up)")
	layers := fs.Int("layers", 0, "override the layer count of the random model (0 keeps 28), for quick runs")
	bwBytes := fs.Int("bw-bytes", 1<<30, "buffer size for the read-bandwidth measurement")
	dec := fs.Bool("decode", false, "measure generation: autoregressive vs block decoding, batches, oracle tokens-per-forward sweep")
	batches := fs.String("batch", "1,4,16", "with --decode: concurrent requests per run")
	promptLen := fs.Int("prompt", 32, "with --decode: prompt tokens per request")
	maxNew := fs.Int("max-new", 32, "with --decode: generated tokens per request")
	oracle := fs.String("oracle", "1,2,4,8", "with --decode: tokens committed per forward in oracle mode")
	tau := fs.Float64("tau", 0.9, "with --decode: threshold of the block-decoding policy")
	block := fs.Int("block", 0, "block size of the random model (default 4, or 8 with --decode so the oracle reaches k=8)")
	peer := fs.Bool("peer", false, "also time the PyTorch peer (tools/bench/peer.py: same dims, random bf16 weights, context and threads), interleaved with ours over --rounds rounds")
	python := fs.String("python", defaultPython(), "with --peer: the python that has torch (tools/bench/requirements.txt); default $DLMSTREAM_PYTHON or python3")
	rounds := fs.Int("rounds", 3, "with --peer: rounds; each times every block size on both sides, one after the other, the order alternating")
	peerScript := fs.String("peer-script", "", "with --peer: the peer script to run (default: the tools/bench/peer.py built into this binary)")
	backend := fs.String("backend", "cpu", "where our forward runs: cpu or cuda (device 0; the bandwidth measured is the device's)")
	dims := fs.String("dims", "1.7b", "random model dimensions: 1.7b (SDAR-1.7B) or 8b (SDAR-8B)")
	peerExtra := fs.String("peer-args", "", "with --peer: extra arguments for the peer script, e.g. \"--device cuda --cuda-graphs\"")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	fs.Bool("policies", false, "instead: measure every unmasking policy on the demo checkpoints' held-out sets, quality vs tokens per forward (bench --policies -h)")
	memProfile := fs.String("memprofile", "", "write an allocation profile (allocs: bytes and objects allocated, and the heap in use) at the end of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stop, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		return err
	}
	defer stop()
	ks, err := parseInts(*blocks)
	if err != nil {
		return fmt.Errorf("bench: --tokens: %v", err)
	}
	threads := runtime.GOMAXPROCS(0)
	fmt.Fprintf(stdout, "machine: %d threads, kernels %s\n", threads, cpu.Path())
	var pp *peerProc
	if *peer {
		switch {
		case *dir != "":
			return fmt.Errorf("bench --peer: the peer builds random weights; drop --model")
		case *weights != "bf16":
			return fmt.Errorf("bench --peer: the peer runs bf16 weights; drop --weights %s", *weights)
		case *dec:
			return fmt.Errorf("bench --peer: times forwards; drop --decode")
		case *rounds < 1 || *iters < 1:
			return fmt.Errorf("bench --peer: --rounds and --iters must be positive")
		}
		// Started first, so a python without torch fails before our model is built;
		// its weights are built before ours, one side at a time.
		cfg, err := benchConfig(*dims, *layers, *block, false)
		if err != nil {
			return err
		}
		if pp, err = startPeer(*python, *peerScript, append(peerArgs(cfg, *ctx, ks, threads), strings.Fields(*peerExtra)...), stderr); err != nil {
			return err
		}
		defer pp.close()
		i := pp.info
		fmt.Fprintf(stdout, "peer: PyTorch %s (python %s, %s), %d threads, CPU capability %s, oneDNN bf16 %v; weights read per forward %.2f GB (built in %.1f s)\n",
			i.Torch, i.Python, i.Executable, i.Threads, i.CPUCapability, i.MKLDNNBF16, float64(i.WeightBytes)/1e9, i.BuildS)
		if i.Threads != threads {
			fmt.Fprintf(stdout, "peer: warning: %d torch threads, ours %d\n", i.Threads, threads)
		}
	}
	bw, err := benchBandwidth(stdout, *backend, *bwBytes, threads)
	if err != nil {
		return err
	}

	var m model.Model
	t0 := time.Now()
	if *dir == "" {
		cfg, err := benchConfig(*dims, *layers, *block, *dec)
		if err != nil {
			return err
		}
		dt := map[string]tensor.DType{"bf16": tensor.BF16, "int8": tensor.I8, "f32": tensor.F32}[*weights]
		if dt == tensor.Invalid {
			return fmt.Errorf("bench: --weights %q: want bf16, int8 or f32", *weights)
		}
		switch {
		case *backend == engine.BackendCUDA:
			if dt != tensor.BF16 {
				return fmt.Errorf("bench --backend cuda: random weights are bf16; drop --weights %s", *weights)
			}
			b, err := engine.SharedBackend()
			if err != nil {
				return err
			}
			if m, err = qwen.RandomOnDevice(cfg, 1, b); err != nil {
				return err
			}
			defer m.Close()
		default:
			if m, err = qwen.Random(cfg, 1, dt, false); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "model: random weights, SDAR-%s dims (hidden %d, %d layers, %d/%d heads, head_dim %d, intermediate %d, vocab %d, untied, block %d), %s\n",
			strings.ToUpper(*dims), cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim, cfg.IntermediateSize, cfg.VocabSize, cfg.BlockSize, *weights)
	} else {
		wt := *weights
		if !isFlagSet(fs, "weights") {
			wt = ""
		}
		if m, err = model.Load(*dir, model.LoadOptions{WeightType: wt, Exact: *backend == engine.BackendCUDA, Progress: progressPrinter(stderr, *dir)}); err != nil {
			return err
		}
		defer m.Close()
		fmt.Fprintf(stdout, "model: %s (%s)\n", *dir, m.Config().ModelType)
	}
	if _, onDevice := m.(*qwen.DeviceModel); !onDevice && *backend != engine.BackendCPU {
		t1 := time.Now()
		if m, err = engine.OnBackend(m, *backend); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backend: %s, weights uploaded in %v\n", *backend, time.Since(t1).Round(time.Millisecond))
	}
	wb := float64(m.WeightBytes())
	fmt.Fprintf(stdout, "weights read per forward: %.2f GB (built in %v); context %d tokens; bound at this bandwidth: %.1f ms/forward\n\n",
		wb/1e9, time.Since(t0).Round(time.Millisecond), *ctx, wb/bw/1e6)

	if *dec {
		bs, err := parseInts(*batches)
		if err != nil {
			return fmt.Errorf("bench: --batch: %v", err)
		}
		ks, err := parseInts(*oracle)
		if err != nil {
			return fmt.Errorf("bench: --oracle: %v", err)
		}
		var tok *tokenizer.Tokenizer
		if *dir != "" {
			if tok, err = tokenizer.Load(*dir); err != nil {
				return err
			}
		}
		e, err := engine.NewWithModel(m, tok, engine.Options{KVBudget: 8 << 30, MaxRunning: 64, MaxRows: 4096, MaxLogitRows: 1024})
		if err != nil {
			return err
		}
		if err := benchDecode(stdout, e, bs, *promptLen, *maxNew, ks, *tau); err != nil {
			return err
		}
		printRSS(stdout, m)
		return nil
	}
	ours := func(k, n int) ([]float64, error) { return timeForwards(m, *ctx, k, n) }
	if pp != nil {
		if pp.info.WeightBytes != int64(wb) {
			fmt.Fprintf(stdout, "peer: warning: the peer reads %d weight bytes per forward, ours %d\n", pp.info.WeightBytes, int64(wb))
		}
		measure := func() float64 {
			if *backend == engine.BackendCUDA {
				if b, err := engine.SharedBackend(); err == nil {
					if bw, err := b.MeasureBandwidth(int64(*bwBytes)); err == nil {
						return bw
					}
				}
				return bw
			}
			bw := cpu.MeasureReadBandwidth(*bwBytes, threads)
			debug.FreeOSMemory() // the buffer, before the next round's: RSS stays at the model's
			return bw
		}
		res, err := runPeerRounds(ks, *rounds, *iters, ours, pp.time, measure, bw, procCPU(pp.cmd.Process.Pid), stderr)
		if err != nil {
			return err
		}
		flops := func(k int) float64 { return qwen.ForwardFLOPs(m.Config(), *ctx, k) }
		writePeerTable(stdout, res, *iters, wb, float64(pp.info.WeightBytes), flops)
		printRSS(stdout, m)
		if rss, err := pp.close(); err == nil && rss > 0 {
			fmt.Fprintf(stdout, "peer peak RSS: %.2f GB\n", rss/1e9)
		}
		return nil
	}
	fmt.Fprintf(stdout, "%6s %10s %10s %12s %7s %9s %10s\n", "tokens", "median_ms", "min_ms", "weight_GB/s", "%bw", "GFLOP/s", "ms_vs_1tok")
	var base float64
	for _, k := range ks {
		times, err := ours(k, *iters)
		if err != nil {
			return err
		}
		slices.Sort(times)
		med := times[len(times)/2] / 1e3
		if base == 0 {
			base = med
		}
		gbs := wb / med / 1e9
		fmt.Fprintf(stdout, "%6d %10.1f %10.1f %12.1f %6.0f%% %9.1f %10.2f\n", k, med*1e3, times[0], gbs, 100*gbs/bw,
			qwen.ForwardFLOPs(m.Config(), *ctx, k)/med/1e9, med/base)
	}
	printRSS(stdout, m)
	return nil
}

// benchConfig is the random model of the bench: SDAR-1.7B dimensions, with
// the layer count and block size overrides of --layers and --block.
// benchBandwidth measures the memory bandwidth that bounds our forward on
// the backend: the host's read bandwidth, or the device's.
func benchBandwidth(stdout io.Writer, backend string, bytes, threads int) (float64, error) {
	switch backend {
	case engine.BackendCPU:
		bw := cpu.MeasureReadBandwidth(bytes, threads)
		debug.FreeOSMemory() // the buffer: peak RSS is then the model's and the run's
		fmt.Fprintf(stdout, "read bandwidth: %.1f GB/s (%d threads, %d MB buffer)\n", bw, threads, bytes>>20)
		return bw, nil
	case engine.BackendCUDA:
		b, err := engine.SharedBackend()
		if err != nil {
			return 0, err
		}
		bw, err := b.MeasureBandwidth(int64(bytes))
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "%v\ndevice bandwidth: %.0f GB/s (copies of %d MB, read + write)\n", b, bw, bytes>>20)
		return bw, nil
	}
	return 0, fmt.Errorf("bench: --backend %q: want cpu or cuda", backend)
}

func benchConfig(dims string, layers, block int, decode bool) (*model.Config, error) {
	var cfg *model.Config
	switch dims {
	case "1.7b":
		cfg = qwen.SDAR17B()
	case "8b":
		cfg = qwen.SDAR8B()
	default:
		return nil, fmt.Errorf("bench: --dims %q: want 1.7b or 8b", dims)
	}
	if layers > 0 {
		cfg.NumLayers = layers
	}
	switch {
	case block > 0:
		cfg.BlockSize = block
	case decode:
		cfg.BlockSize = 8
	}
	return cfg, nil
}

// timeForwards times n forwards of a k-token block after ctx committed
// positions (qwen.BlockStep), after one untimed warm-up, in milliseconds.
func timeForwards(m model.Model, ctx, k, n int) ([]float64, error) {
	run, free, err := qwen.BlockStep(m, ctx, k, 1)
	if err != nil {
		return nil, err
	}
	defer free()
	if err := run(); err != nil {
		return nil, err
	}
	times := make([]float64, n)
	for i := range times {
		s := time.Now()
		if err := run(); err != nil {
			return nil, err
		}
		times[i] = float64(time.Since(s).Nanoseconds()) / 1e6
	}
	return times, nil
}
