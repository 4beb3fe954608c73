//go:build dataflow

package main

// Linking the Dataflow runner pulls in the Google Cloud client libraries, so it is
// opt-in: go build -tags dataflow ./cmd/dlmstream, then
// dlmstream run --runner dataflow ... -- --project P --region R --staging_location gs://B/staging
import _ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"

func init() { runners["dataflow"] = true }
