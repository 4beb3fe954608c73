package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"dlmstream/connectors/kafka"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/protox"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow/dataflowlib"
)

// TestJobGraph builds each kind of job without running it, the way the Dataflow runner
// does before it submits (runners/dataflow Execute, as with --dry_run): the Beam
// portable pipeline proto (graphx.Marshal) and the Dataflow job (dataflowlib.Translate).
// Bounded inputs, files or Kafka up to the high watermarks, make a batch job; --streaming
// Kafka makes a streaming one. The composite transforms keep their scope names, which
// are what a runner's UI shows and what a streaming update's transform mapping names.
func TestJobGraph(t *testing.T) {
	brokers := kafka.Config{Brokers: []string{"127.0.0.1:9092"}} // never dialled: nothing runs
	model := transforms.Config{Model: "testdata/models/demo-text"}
	tests := []struct {
		name      string
		opts      Options
		streaming bool
		// composites are unique names under "pipelines.NAME/"; sdf says whether the
		// source is a splittable DoFn (Beam's splittable_dofn requirement).
		composites []string
		sdf        bool
	}{
		{
			name: "extraction files to jsonl",
			opts: Options{Name: Extraction, InputGlob: "/in/*.txt", OutputPath: "/out/x.jsonl", Transforms: model},
			composites: []string{"files.Read", "files.Read/fileio.MatchFiles", "transforms.Extract",
				"transforms.Extract/transforms.prepareFn", "transforms.Extract/transforms.generateFn",
				"files.WriteJSONL", "deadletters/files.WriteJSONL"},
		},
		{
			name:       "caption files to parquet",
			opts:       Options{Name: Caption, InputGlob: "/in/*.png", OutputPath: "/out/x.parquet", Transforms: model},
			composites: []string{"files.Read", "transforms.Caption", "files.WriteParquet", "deadletters/files.WriteJSONL"},
		},
		{
			name: "caption bounded kafka",
			opts: Options{Name: Caption, Kafka: brokers, InputTopics: []string{"images"}, Group: "g",
				OutputTopic: "captions", DeadLetterTopic: "dlq", Transforms: model},
			composites: []string{"kafka.ReadBounded", "kafka.ReadBounded/kafka.listPartitionsFn", "kafka.ReadBounded/kafka.boundedReadFn",
				"transforms.Caption", "results/kafka.Write", "deadletters/kafka.Write"},
			sdf: true,
		},
		{
			name: "transcription streaming kafka",
			opts: Options{Name: Transcription, Kafka: brokers, InputTopics: []string{"audio"}, Group: "g", Streaming: true,
				OutputTopic: "transcripts", DeadLetterTopic: "dlq", Transforms: model},
			streaming: true,
			composites: []string{"kafka.ReadUnbounded", "kafka.ReadUnbounded/kafka.unboundedReadFn",
				"transforms.Transcribe", "results/kafka.Write", "deadletters/kafka.Write"},
			sdf: true,
		},
		{
			name: "extraction streaming kafka",
			opts: Options{Name: Extraction, Kafka: brokers, InputTopics: []string{"texts"}, Group: "g", Streaming: true,
				OutputTopic: "json", DeadLetterTopic: "dlq", Transforms: model},
			streaming:  true,
			composites: []string{"kafka.ReadUnbounded", "transforms.Extract", "results/kafka.Write", "deadletters/kafka.Write"},
			sdf:        true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p, s := beam.NewPipelineWithRoot()
			if err := Build(s, tt.opts); err != nil {
				t.Fatal(err)
			}
			edges, nodes, err := p.Build()
			if err != nil {
				t.Fatal(err)
			}
			// The Dataflow runner's own test for a streaming job.
			if got := !graph.Bounded(nodes); got != tt.streaming {
				t.Errorf("streaming (some PCollection unbounded) = %v, want %v", got, tt.streaming)
			}
			const image = "gcr.io/cloud-dataflow/v1beta3/beam_go_sdk:test"
			env, err := graphx.CreateEnvironment(ctx, "beam:env:docker:v1", func(context.Context) string { return image })
			if err != nil {
				t.Fatal(err)
			}
			pipe, err := graphx.Marshal(edges, &graphx.Options{Environment: env})
			if err != nil {
				t.Fatal(err)
			}
			checkProto(t, pipe, "pipelines."+tt.opts.Name, tt.composites, tt.streaming, tt.sdf)
			checkDataflowJob(t, pipe, image, tt.streaming)
		})
	}
}

// checkProto checks the portable pipeline: one root composite named root holding the
// composites, every PCollection unbounded from the source on when streaming and none
// otherwise, and the splittable-DoFn requirement when sdf.
func checkProto(t *testing.T, pipe *pipepb.Pipeline, root string, composites []string, streaming, sdf bool) {
	t.Helper()
	comps := pipe.GetComponents()
	names := map[string]*pipepb.PTransform{}
	for _, tr := range comps.GetTransforms() {
		names[tr.GetUniqueName()] = tr
	}
	if ids := pipe.GetRootTransformIds(); len(ids) != 1 || comps.GetTransforms()[ids[0]].GetUniqueName() != root {
		t.Errorf("root transforms %v, want one named %s", ids, root)
	}
	for _, c := range composites {
		tr, ok := names[root+"/"+c]
		if !ok {
			t.Errorf("no transform %s/%s", root, c)
			continue
		}
		if strings.HasSuffix(c, "Fn") {
			if tr.GetSpec().GetUrn() != "beam:transform:pardo:v1" {
				t.Errorf("%s is %q, want a ParDo", c, tr.GetSpec().GetUrn())
			}
		} else if len(tr.GetSubtransforms()) == 0 {
			t.Errorf("%s is not a composite", c)
		}
	}
	unbounded := 0
	for _, pc := range comps.GetPcollections() {
		if pc.GetIsBounded() == pipepb.IsBounded_UNBOUNDED {
			unbounded++
		}
	}
	// Streaming: the partition list is bounded (impulse), the records and all after them not.
	if streaming != (unbounded > 0) {
		t.Errorf("%d unbounded PCollections of %d, streaming %v", unbounded, len(comps.GetPcollections()), streaming)
	}
	const splittable = "beam:requirement:pardo:splittable_dofn:v1"
	if got := slices.Contains(pipe.GetRequirements(), splittable); got != sdf {
		t.Errorf("requirements %v: splittable DoFn %v, want %v", pipe.GetRequirements(), got, sdf)
	}
	for id, e := range comps.GetEnvironments() {
		if e.GetUrn() != "beam:env:docker:v1" {
			t.Errorf("environment %s is %s, want docker (Dataflow's)", id, e.GetUrn())
		}
	}
}

// checkDataflowJob translates the pipeline to a Dataflow job as the runner does and checks
// the job type, the staged worker binary and the pipeline options that point at the model.
func checkDataflowJob(t *testing.T, pipe *pipepb.Pipeline, image string, streaming bool) {
	t.Helper()
	const (
		staging   = "gs://bucket/staging/go-1-0"
		workerURL = staging + "/worker"
		modelURL  = staging + "/model"
	)
	sum := sha256.Sum256(protox.MustEncode(pipe))
	opts := &dataflowlib.JobOptions{
		Name: "dlmstream-test", Project: "project", Region: "europe-west4", Streaming: streaming,
		Experiments: []string{"beam_fn_api", "use_runner_v2", "use_unified_worker", "use_portable_job_submission"},
		Options:     beam.PipelineOptions.Export(), TempLocation: "gs://bucket/tmp", ContainerImage: image,
		MachineType: "n1-standard-8", MaxNumWorkers: 4,
	}
	job, err := dataflowlib.Translate(context.Background(), pipe, opts, workerURL, modelURL, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	wantType, wantAPI := "JOB_TYPE_BATCH", "FNAPI_BATCH"
	if streaming {
		wantType, wantAPI = "JOB_TYPE_STREAMING", "FNAPI_STREAMING"
	}
	if job.Type != wantType {
		t.Errorf("job type %s, want %s", job.Type, wantType)
	}
	var version struct {
		JobType string `json:"job_type"`
	}
	if err := json.Unmarshal(job.Environment.Version, &version); err != nil || version.JobType != wantAPI {
		t.Errorf("environment version %s (%v), want job_type %s", job.Environment.Version, err, wantAPI)
	}
	if len(job.Environment.WorkerPools) != 1 {
		t.Fatalf("%d worker pools, want 1", len(job.Environment.WorkerPools))
	}
	wp := job.Environment.WorkerPools[0]
	if len(wp.Packages) != 1 || wp.Packages[0].Name != "worker" || wp.Packages[0].Location != workerURL {
		t.Errorf("worker packages %+v, want the binary staged as %q at %s", wp.Packages, "worker", workerURL)
	}
	if wp.WorkerHarnessContainerImage != image || len(wp.SdkHarnessContainerImages) != 1 || wp.SdkHarnessContainerImages[0].ContainerImage != image {
		t.Errorf("worker images %q and %+v, want %s", wp.WorkerHarnessContainerImage, wp.SdkHarnessContainerImages, image)
	}
	if wp.MachineType != opts.MachineType || wp.AutoscalingSettings.MaxNumWorkers != opts.MaxNumWorkers {
		t.Errorf("worker pool machine %q, max workers %d; want %q, %d", wp.MachineType, wp.AutoscalingSettings.MaxNumWorkers, opts.MachineType, opts.MaxNumWorkers)
	}
	var sdk struct {
		Options struct {
			PipelineURL string   `json:"pipelineUrl"`
			Experiments []string `json:"experiments"`
			Region      string   `json:"region"`
		} `json:"options"`
	}
	if err := json.Unmarshal(job.Environment.SdkPipelineOptions, &sdk); err != nil {
		t.Fatal(err)
	}
	if sdk.Options.PipelineURL != modelURL || sdk.Options.Region != opts.Region || !slices.Contains(sdk.Options.Experiments, "use_portable_job_submission") {
		t.Errorf("pipeline options %s", job.Environment.SdkPipelineOptions)
	}
}
