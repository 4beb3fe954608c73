package pipelines_test

import (
	"context"
	"log"

	"dlmstream/connectors/kafka"
	"dlmstream/pipelines"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// A caption stream from Kafka to Kafka on the local runner: results to "captions",
// undecodable images to "captions-dlq", offsets committed to group "captioner" once
// each image's result is written.
func ExampleBuild() {
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	err := pipelines.Build(s, pipelines.Options{
		Name:            pipelines.Caption,
		Kafka:           kafka.Config{Brokers: []string{"127.0.0.1:9092"}},
		InputTopics:     []string{"images"},
		Group:           "captioner",
		Start:           kafka.StartCommitted,
		Streaming:       true,
		OutputTopic:     "captions",
		DeadLetterTopic: "captions-dlq",
		Transforms:      transforms.Config{Model: "testdata/models/tiny-sdar", MaxNewTokens: 32},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		log.Fatal(err)
	}
}
