// Package pipelines wires dlmstream's composite pipelines: a source (Kafka, bounded or
// unbounded, or a file glob), one of the transforms, and a sink (Kafka output and
// dead-letter topics, or JSON Lines / Parquet files).
//
//	transcription  audio (WAV) → 16 kHz mono → prior-guided ASR denoising → transcripts
//	caption        images → decode, orient, resize → captions
//	extraction     text + JSON Schema → JSON
//
// With a Kafka source and a Kafka sink, input offsets are committed to the group once
// their result or dead letter is written (at-least-once). With a file sink nothing is
// committed: the files are written when the bounded job ends.
package pipelines

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"dlmstream/connectors/files"
	"dlmstream/connectors/kafka"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Pipeline names.
const (
	Transcription = "transcription"
	Caption       = "caption"
	Extraction    = "extraction"
)

// Names lists the pipelines.
var Names = []string{Transcription, Caption, Extraction}

// Options configures one pipeline.
type Options struct {
	// Name is transcription, caption or extraction.
	Name string
	// Kafka is the cluster for Kafka sources and sinks.
	Kafka kafka.Config
	// InputTopics, Group and Start configure a Kafka source (see kafka.SourceConfig).
	InputTopics []string
	Group       string
	Start       string
	// Streaming reads Kafka without end (unbounded source); otherwise up to the
	// high watermarks at job start. With Kafka output, captions and
	// transcripts also go out block by block as partial records
	// (transforms.Config.Partials).
	Streaming bool
	// InputGlob reads files instead of Kafka.
	InputGlob string
	// OutputTopic and DeadLetterTopic are the Kafka sink's topics.
	OutputTopic     string
	DeadLetterTopic string
	// OutputPath writes files instead of Kafka: results to OutputPath (.jsonl or
	// .parquet), dead letters to the same name with ".dlq.jsonl".
	OutputPath string
	// Transforms configures decoding limits and the engine (Model is required).
	// Its OutputTopic and DeadLetterTopic are filled in from the fields above.
	Transforms transforms.Config
	// Source, if set, tunes the Kafka source (Topics, Group, Start and Config are overwritten).
	Source kafka.SourceConfig
	// Sink, if set, tunes the Kafka sink (Config, Topic and Commit are overwritten).
	Sink kafka.SinkConfig
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	switch o.Name {
	case Transcription, Caption, Extraction:
	default:
		return fmt.Errorf("pipelines: unknown pipeline %q (want %s)", o.Name, strings.Join(Names, ", "))
	}
	if (o.InputGlob == "") == (len(o.InputTopics) == 0) {
		return errors.New("pipelines: give input topics or an input glob (not both)")
	}
	if o.OutputPath == "" && (o.OutputTopic == "" || o.DeadLetterTopic == "") {
		return errors.New("pipelines: give output and dead-letter topics, or an output path")
	}
	if o.OutputPath != "" && !strings.HasSuffix(o.OutputPath, ".jsonl") && !strings.HasSuffix(o.OutputPath, ".parquet") {
		return fmt.Errorf("pipelines: output path %q must end in .jsonl or .parquet", o.OutputPath)
	}
	if o.OutputPath != "" && o.Streaming {
		return errors.New("pipelines: file output needs a bounded run (no --streaming)")
	}
	if o.Transforms.Model == "" {
		return errors.New("pipelines: no model")
	}
	if len(o.InputTopics) > 0 || o.OutputPath == "" {
		return o.Kafka.Validate()
	}
	return nil
}

// Build adds the pipeline to s.
func Build(s beam.Scope, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	s = s.Scope("pipelines." + o.Name)
	var in beam.PCollection
	if o.InputGlob != "" {
		in = files.Read(s, o.InputGlob)
	} else {
		src := o.Source
		src.Config, src.Topics, src.Group, src.Start = o.Kafka, o.InputTopics, o.Group, o.Start
		if src.Start == "" && src.Group == "" {
			src.Start = kafka.StartEarliest
		}
		if err := src.Validate(); err != nil {
			return err
		}
		if o.Streaming {
			in = kafka.ReadUnbounded(s, src)
		} else {
			in = kafka.ReadBounded(s, src)
		}
	}
	tc := o.Transforms
	tc.OutputTopic, tc.DeadLetterTopic = o.OutputTopic, o.DeadLetterTopic
	// A stream's consumers see captions and transcripts form block by block.
	tc.Partials = tc.Partials || (o.Streaming && o.OutputPath == "")
	if tc.DeadLetterTopic == "" {
		tc.DeadLetterTopic = "dead-letters" // file output: the topic only labels the records
	}
	var ok, failed beam.PCollection
	switch o.Name {
	case Transcription:
		ok, failed = transforms.Transcribe(s, tc, in)
	case Caption:
		ok, failed = transforms.Caption(s, tc, in)
	case Extraction:
		ok, failed = transforms.Extract(s, tc, in)
	}
	if o.OutputPath != "" {
		dlq := strings.TrimSuffix(strings.TrimSuffix(o.OutputPath, ".jsonl"), ".parquet") + ".dlq.jsonl"
		if filepath.Ext(o.OutputPath) == ".parquet" {
			files.WriteParquet(s, o.OutputPath, ok)
		} else {
			files.WriteJSONL(s, o.OutputPath, ok)
		}
		files.WriteJSONL(s.Scope("deadletters"), dlq, failed)
		return nil
	}
	sink := o.Sink
	sink.Config, sink.Topic, sink.Commit = o.Kafka, o.OutputTopic, true
	// Two sink applications rather than a Flatten: both fuse with the transforms (see
	// transforms.apply), and they share the process's offset tracker.
	kafka.Write(s.Scope("results"), sink, ok)
	kafka.Write(s.Scope("deadletters"), sink, failed)
	return nil
}
