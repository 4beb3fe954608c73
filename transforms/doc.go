// Package transforms holds dlmstream's Beam DoFns: thin adapters that decode inputs by
// content type, turn them into engine requests, and call the one engine shared by the
// worker process. Every composite has the shape
//
//	func Caption(s beam.Scope, cfg Config, col beam.PCollection) (ok, failed beam.PCollection)
//
// taking a PCollection<kafka.Envelope> and returning results (ok) and dead letters
// (failed), both PCollection<kafka.Envelope>. Every input ends up in exactly one of the
// two, which is what lets the sink commit input offsets (at-least-once delivery).
//
// # Behavior
//
// Decoding is real and bounded: audio (WAV: PCM 8/16/24/32-bit and 32-bit float, any
// rate and channel count, resampled to 16 kHz mono), images (JPEG, PNG, GIF, BMP, TIFF;
// the pixel count is checked from the header before decoding; EXIF orientation is
// applied) and text with a JSON Schema. Inputs that fail go to the dead-letter output
// with [kafka.HeaderErrorStage] and a stable [kafka.HeaderErrorReason] (see the Reason
// constants) and the stream keeps going.
//
// The engine is loaded once per process in Setup (engine.Shared), never lazily in
// ProcessElement; batching happens in the engine's scheduler, not in Beam
// (GroupIntoBatches with MaxBufferingDuration hangs on prism). While the ASR and vision
// encoders do not exist, transcription runs the text engine on the draft transcript
// header (prior-guided denoising prompt) and dead-letters audio that has none, and
// captioning prompts the engine with what decoding learned about the image. Results
// carry exactly what the engine returned.
//
// # Metrics
//
// Beam counters in namespace "dlmstream": <stage>.in, <stage>.out, <stage>.dlq.<reason>;
// distribution engine.latency_ms. The same counts go to the process's Prometheus
// registry (monitor.Registry): dlmstream_inputs_total, dlmstream_results_total and
// dlmstream_partial_results_total by task, dlmstream_dead_letters_total by task, stage
// and reason. A composite declares its engine not ready ("engine <model>",
// monitor.SetReady) when the pipeline is built; generateFn's Setup reports it ready
// once the engine is loaded.
package transforms
