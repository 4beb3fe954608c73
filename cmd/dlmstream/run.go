//go:build !nobeam

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/pipelines"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink" // --runner flink (portable job server)
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism" // --runner prism (local, default)
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

func init() {
	register("run", "run a pipeline (transcription, caption, extraction) on Kafka or files", runRun)
	// A portable runner (Flink, Dataflow) starts this binary as a Beam worker with
	// --worker=true and the harness flags; Beam's init hook then serves the worker and exits.
	for _, a := range os.Args[1:] {
		if a == "--worker" || a == "-worker" || strings.HasPrefix(a, "--worker=") || strings.HasPrefix(a, "-worker=") {
			flag.Parse()
			beam.Init()
		}
	}
}

// runners are the Beam runners linked into this binary (run_dataflow.go adds dataflow).
var runners = map[string]bool{"prism": true, "flink": true, "universal": true}

// runFlags are the flags of `dlmstream run`.
type runFlags struct {
	opts      pipelines.Options
	brokers   string
	inTopics  string
	runner    string
	progress  bool
	timeout   time.Duration
	verbose   bool
	modelPath string
	// Operations (run_monitor.go, run_drain.go).
	metricsAddr  string
	drainTimeout time.Duration
	logFormat    string
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.opts.Name, "pipeline", "", "pipeline: "+strings.Join(pipelines.Names, ", "))
	fs.StringVar(&f.brokers, "brokers", "", "Kafka bootstrap brokers, comma-separated (host:port)")
	fs.StringVar(&f.inTopics, "input-topics", "", "input topics, comma-separated")
	fs.StringVar(&f.opts.Group, "group", "dlmstream", "consumer group: start offsets (start=committed) and offset commits")
	fs.StringVar(&f.opts.Start, "start", kafka.StartCommitted, "start position: committed, earliest, latest, timestamp")
	fs.Int64Var(&f.opts.Source.StartTime, "start-time", 0, "start time for --start timestamp (Unix ms)")
	fs.BoolVar(&f.opts.Streaming, "streaming", false, "read Kafka without end (unbounded source); default: up to the high watermarks at start")
	fs.BoolVar(&f.opts.Source.Membership, "membership", false, "with --streaming: join the consumer group --group, sharing the topics' partitions with every worker process of the group (moved on join, leave and crash)")
	fs.DurationVar(&f.opts.Source.SessionTimeout, "session-timeout", 0, "with --membership: how long the group waits for a silent (crashed) worker before moving its partitions (default 10s)")
	fs.DurationVar(&f.opts.Source.StopAfterIdle, "stop-after-idle", 0, "with --streaming: end once every partition has had no record for this long (0: run until stopped)")
	fs.StringVar(&f.opts.InputGlob, "input-glob", "", "read files matching this glob instead of Kafka")
	fs.StringVar(&f.opts.OutputTopic, "output-topic", "", "results topic")
	fs.StringVar(&f.opts.DeadLetterTopic, "dlq-topic", "", "dead-letter topic")
	fs.StringVar(&f.opts.OutputPath, "output-path", "", "write results to this .jsonl or .parquet file instead of Kafka")
	fs.StringVar(&f.modelPath, "model", "testdata/models/demo-text", "checkpoint directory (Hugging Face layout)")
	fs.StringVar(&f.opts.Transforms.SpeechModel, "speech-model", "", "extraction pipeline: speech checkpoint that transcribes audio inputs before the JSON is extracted (empty: audio inputs are dead letters)")
	fs.StringVar(&f.opts.Transforms.VisionModel, "vision-model", "", "extraction pipeline: vision checkpoint that captions image inputs before the JSON is extracted (empty: image inputs are dead letters)")
	fs.StringVar(&f.opts.Transforms.WeightType, "weights", "", "engine weight type (bf16, int8; default: as stored)")
	fs.StringVar(&f.opts.Transforms.Backend, "backend", "cpu", "where the engine's forward runs: cpu, cuda, or auto (CUDA where a device is usable)")
	fs.IntVar(&f.opts.Transforms.MaxNewTokens, "max-new", transforms.DefaultMaxNewTokens, "largest answer in tokens")
	fs.IntVar(&f.opts.Transforms.MaxInFlight, "max-in-flight", transforms.DefaultMaxInFlight, "engine requests each worker DoFn keeps open (the engine batches them)")
	fs.IntVar(&f.opts.Transforms.MaxMessageBytes, "max-message-bytes", transforms.DefaultMaxMessageBytes, "dead-letter larger inputs")
	fs.Int64Var(&f.opts.Transforms.MaxPixels, "max-pixels", transforms.DefaultMaxPixels, "dead-letter images whose header claims more pixels")
	fs.Float64Var(&f.opts.Transforms.MaxAudioSeconds, "max-audio-seconds", transforms.DefaultMaxAudioSeconds, "dead-letter longer audio")
	fs.DurationVar(&f.opts.Transforms.LiveIdle, "live-idle", transforms.DefaultLiveIdle, "end a live audio stream (stream-id header) after this long without a chunk")
	fs.IntVar(&f.opts.Transforms.MaxLiveStreams, "max-live-streams", transforms.DefaultMaxLiveStreams, "open live streams per worker; past it the least recently fed ends")
	fs.BoolVar(&f.opts.Transforms.Partials, "partials", false, "send partial records as transcripts and captions form (on by default with --streaming and Kafka output)")
	fs.StringVar(&f.opts.Kafka.ClientID, "client-id", "", "Kafka client id (default dlmstream)")
	fs.BoolVar(&f.opts.Kafka.TLS, "tls", false, "connect to Kafka with TLS")
	fs.StringVar(&f.opts.Kafka.TLSCAFile, "tls-ca", "", "PEM file with CA certificates for the brokers")
	fs.StringVar(&f.opts.Kafka.SASLMechanism, "sasl-mechanism", "", "SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
	fs.StringVar(&f.opts.Kafka.SASLUser, "sasl-user", "", "SASL user")
	fs.StringVar(&f.opts.Kafka.SASLPassword, "sasl-password", "", "SASL password (default $DLMSTREAM_SASL_PASSWORD; never printed)")
	fs.StringVar(&f.runner, "runner", "prism", "Beam runner: prism (local), flink (needs --endpoint after --), dataflow (build with -tags dataflow)")
	fs.BoolVar(&f.progress, "progress", true, "show a progress bar for bounded Kafka runs")
	fs.DurationVar(&f.timeout, "timeout", 0, "stop the job after this long (0: no limit)")
	fs.BoolVar(&f.verbose, "v", false, "show the runner's and Beam's info logs")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json (log/slog)")
	fs.String("config", "", "YAML file of run options (`name: value` per flag, lists for comma-separated ones); the command line overrides it")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics, /healthz and /readyz on this address (host:port; empty: off)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM or SIGINT: stop reading, finish and commit in-flight work within this long, then exit")
}

func (f *runFlags) options() pipelines.Options {
	o := f.opts
	if f.brokers != "" {
		o.Kafka.Brokers = strings.Split(f.brokers, ",")
	}
	if o.Kafka.SASLPassword == "" {
		o.Kafka.SASLPassword = os.Getenv("DLMSTREAM_SASL_PASSWORD")
	}
	if f.inTopics != "" {
		o.InputTopics = strings.Split(f.inTopics, ",")
	}
	o.Transforms.Model = f.modelPath
	return o
}

func runRun(args []string, stdout, stderr io.Writer) error {
	stderr = syncWriter(stderr) // slog, the progress bar and prism's workers write to it at once
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: dlmstream run --pipeline NAME [flags] [-- beam runner flags]\n\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExample (Kafka to Kafka, local runner):\n  dlmstream run --pipeline caption --brokers 127.0.0.1:9092 --input-topics images \\\n    --output-topic captions --dlq-topic captions-dlq\n")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg := configPath(args); cfg != "" {
		if err := applyConfig(fs, cfg); err != nil {
			return err
		}
	}
	if !runners[f.runner] {
		if f.runner == "dataflow" {
			return errors.New("the dataflow runner is not linked into this binary: build it with go build -tags dataflow ./cmd/dlmstream")
		}
		return fmt.Errorf("unknown runner %q (prism, flink, universal, dataflow)", f.runner)
	}
	if err := f.checkPaths(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// Everything after "--" goes to Beam's own flags (--endpoint, --environment_type, --project, ...).
	if err := flag.CommandLine.Parse(fs.Args()); err != nil {
		return err
	}
	if err := initBeam(f.logFormat, logLevel(f.verbose), stderr); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	o := f.options()
	if err := o.Validate(); err != nil {
		return err
	}
	if len(o.Kafka.Brokers) > 0 {
		// Reach the cluster (TLS, SASL) before the job is built: a wrong
		// password or certificate is one line now, not a worker's error.
		if err := kafka.Ping(context.Background(), o.Kafka, o.InputTopics...); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	stopMonitor, err := startMonitor(f.metricsAddr, stderr)
	if err != nil {
		return err
	}
	defer stopMonitor()
	ctx, stop := drainContext(context.Background(), f.drainTimeout, stderr)
	defer stop()
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	start := time.Now()
	res, err := runPipelines(ctx, f.runner, []pipelines.Options{o}, f.progress && !o.Streaming, stderr)
	kafka.CloseMembers() // leave the consumer group once the sinks have committed
	if err != nil {
		if ctx.Err() != nil && o.Streaming { // --timeout, SIGINT or SIGTERM end a streaming job
			fmt.Fprintf(stdout, "pipeline %s stopped after %s: %v\n", o.Name, time.Since(start).Round(time.Millisecond), context.Cause(ctx))
			return nil
		}
		return err
	}
	verb := "done"
	if kafka.Draining() {
		verb = "drained" // stopped reading on SIGTERM, wrote and committed what it had read
	}
	fmt.Fprintf(stdout, "pipeline %s %s in %s\n", o.Name, verb, time.Since(start).Round(time.Millisecond))
	printMetrics(stdout, res)
	return nil
}

// beamLogOnce sets Beam's log globals once per process: prism's workers
// read them unsynchronised for as long as a job runs, so a second run in
// the same process (the tests) must not write them again.
var beamLogOnce sync.Once

// initBeam runs Beam's init hooks and then makes log/slog (which Beam and
// prism log through) write text or JSON lines to w from level up. The
// order matters: each beam.Init sets slog's default handler from Beam's own
// log level (info), so ours goes after it, and Beam's level is set too for
// a binary that Init turns into a worker.
func initBeam(format string, level slog.Level, w io.Writer) error {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return fmt.Errorf("--log-format %q: want text or json", format)
	}
	beamLogOnce.Do(func() {
		beamlog.LogKind = format
		beamlog.LogLevel = strings.ToLower(level.String())
	})
	beam.Init()
	slog.SetDefault(slog.New(h))
	return nil
}

// logLevel is warnings and errors, or info lines too when verbose.
func logLevel(verbose bool) slog.Level {
	if verbose {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

// runPipelines builds every pipeline into one Beam job and runs it; with progress set
// and Kafka inputs it draws a progress bar from the group's committed offsets.
func runPipelines(ctx context.Context, runner string, opts []pipelines.Options, progress bool, stderr io.Writer) (beam.PipelineResult, error) {
	p, s := beam.NewPipelineWithRoot()
	for _, o := range opts {
		if err := pipelines.Build(s, o); err != nil {
			return nil, err
		}
	}
	stopBar := func() {}
	if progress {
		stopBar = startProgress(ctx, opts, stderr)
	}
	res, err := beam.Run(ctx, runner, p)
	stopBar()
	return res, err
}

// startProgress draws "[=====>    ] done/total inputs" on w until the returned func is called.
func startProgress(ctx context.Context, opts []pipelines.Options, w io.Writer) func() {
	type job struct {
		cfg    kafka.Config
		group  string
		ranges []kafka.PartitionRange
	}
	var jobs []job
	for _, o := range opts {
		if len(o.InputTopics) == 0 || o.Group == "" || o.OutputPath != "" {
			continue
		}
		src := o.Source
		src.Config, src.Topics, src.Group, src.Start = o.Kafka, o.InputTopics, o.Group, o.Start
		ranges, err := kafka.ListRanges(ctx, src, true)
		if err != nil {
			continue
		}
		jobs = append(jobs, job{o.Kafka, o.Group, ranges})
	}
	if len(jobs) == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		draw := func() {
			var d, n int64
			for _, j := range jobs {
				jd, jn, err := kafka.Progress(ctx, j.cfg, j.group, j.ranges)
				if err != nil {
					return
				}
				d, n = d+jd, n+jn
			}
			fmt.Fprintf(w, "\r%s %d/%d inputs  %.1f/s   ", bar(d, n, 30), d, n, float64(d)/time.Since(start).Seconds())
		}
		for {
			select {
			case <-done:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// bar renders a fixed-width progress bar.
func bar(done, total int64, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("=", width) + "]"
	}
	n := int(done * int64(width) / total)
	n = min(max(n, 0), width)
	s := strings.Repeat("=", n)
	if n < width {
		s += ">" + strings.Repeat(" ", width-n-1)
	}
	return "[" + s + "]"
}

// printMetrics prints the job's dlmstream counters (summed over steps) and engine
// latency, when the runner reports metrics.
func printMetrics(w io.Writer, res beam.PipelineResult) {
	if res == nil {
		return
	}
	q := res.Metrics().Query(func(r beam.MetricResult) bool { return r.Namespace() == "dlmstream" })
	counts := map[string]int64{}
	for _, c := range q.Counters() {
		counts[c.Name()] += c.Result()
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-36s %d\n", n, counts[n])
	}
	type dist struct{ n, sum, lo, hi int64 }
	dists := map[string]*dist{}
	for _, d := range q.Distributions() {
		r := d.Result()
		if r.Count == 0 {
			continue
		}
		a := dists[d.Name()]
		if a == nil {
			a = &dist{lo: r.Min, hi: r.Max}
			dists[d.Name()] = a
		}
		a.n, a.sum, a.lo, a.hi = a.n+r.Count, a.sum+r.Sum, min(a.lo, r.Min), max(a.hi, r.Max)
	}
	for name, a := range dists {
		fmt.Fprintf(w, "  %-36s n=%d mean=%.1f min=%d max=%d\n", name, a.n, float64(a.sum)/float64(a.n), a.lo, a.hi)
	}
}
