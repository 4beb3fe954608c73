//go:build !nobeam

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dlmstream/asr"
	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/embedded"
	"dlmstream/pipelines"
	"dlmstream/transforms"
)

func init() {
	register("demo", "run all three pipelines on an in-process Kafka broker and print what comes back", runDemo)
	register("broker", "serve an in-process Kafka-protocol broker (kfake) until interrupted", runBroker)
}

// runBroker serves the embedded broker for local runs: dlmstream broker --port 9092.
func runBroker(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "port on 127.0.0.1 (0: a free one)")
	partitions := fs.Int("partitions", 4, "partitions of auto-created topics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := embedded.StartOnPort(*port, *partitions)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(stdout, "in-process Kafka broker on %s (topics are created on first use; data lives in memory); Ctrl-C stops it\n", strings.Join(b.Addrs(), ","))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// Demo topics.
const (
	demoAudio, demoImages, demoText         = "demo-audio", "demo-images", "demo-text"
	demoTranscripts, demoCaptions, demoJSON = "demo-transcripts", "demo-captions", "demo-extractions"
	demoDLQ                                 = "demo-dead-letters"
	demoGroup                               = "dlmstream-demo"
)

func runDemo(args []string, stdout, stderr io.Writer) error {
	stderr = syncWriter(stderr) // slog, the progress bar and prism's workers write to it at once
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "testdata/models/demo-text", "checkpoint directory of the extraction (and caption) pipeline")
	speechModel := fs.String("speech-model", "testdata/models/demo-speech-v2", "speech checkpoint of the transcription pipeline")
	speechClips := fs.String("speech-clips", "testdata/demo/speech", "directory with the demo audio clips and their manifest.jsonl")
	visionModel := fs.String("vision-model", "testdata/models/demo-vision", "vision checkpoint of the caption pipeline")
	scenes := fs.String("scenes", "testdata/demo/vision", "directory with the demo images and their manifest.jsonl")
	schemas := fs.String("schemas", "testdata/heldout/text/schemas", "directory with the demo texts' JSON Schemas (order, person, event, device)")
	mediaSchemas := fs.String("media-schemas", "testdata/heldout/text/media", "directory with the JSON Schemas of the spoken and pictured extractions (command, scene)")
	maxNew := fs.Int("max-new", 64, "largest caption or transcript in tokens")
	brokers := fs.String("brokers", "", "use this Kafka cluster instead of the in-process broker (topics are created on it)")
	progress := fs.Bool("progress", true, "show a progress bar")
	backend := fs.String("backend", "cpu", "where the engines' forward runs: cpu, cuda, or auto (CUDA where a device is usable)")
	verbose := fs.Bool("v", false, "print the runner's log lines (job states, workers); without it only errors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := flag.CommandLine.Parse(fs.Args()); err != nil {
		return err
	}
	// Every path before the job is built: one line naming what is missing.
	for _, m := range []struct {
		flag string
		path *string
	}{{"model", model}, {"speech-model", speechModel}, {"vision-model", visionModel}} {
		p, err := resolveModel(m.flag, *m.path)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		*m.path = p
	}
	for _, d := range []struct {
		flag string
		path *string
	}{{"speech-clips", speechClips}, {"scenes", scenes}, {"schemas", schemas}, {"media-schemas", mediaSchemas}} {
		p, err := resolveInputDir(d.flag, *d.path)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		*d.path = p
	}
	// The demo's output is its report: prism's job-state lines and its
	// warning at a worker's normal stop stay off the terminal unless -v.
	level := slog.LevelError
	if *verbose {
		level = slog.LevelInfo
	}
	if err := initBeam("text", level, stderr); err != nil {
		return err
	}
	ctx := context.Background()
	var cfg kafka.Config
	if *brokers != "" {
		cfg.Brokers = strings.Split(*brokers, ",")
	} else {
		b, err := embedded.Start(2, demoAudio, demoImages, demoText, demoTranscripts, demoCaptions, demoJSON, demoDLQ)
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.Brokers = b.Addrs()
		fmt.Fprintf(stdout, "in-process Kafka broker (kfake) on %s\n", strings.Join(cfg.Brokers, ","))
	}
	inputs, refs, err := demoInputs(*schemas, *mediaSchemas, *speechClips, *scenes)
	if err != nil {
		return err
	}
	if err := produce(ctx, cfg, inputs); err != nil {
		return err
	}
	n, chunks := 0, 0
	for _, ms := range inputs {
		for _, e := range ms {
			if e.Header(kafka.HeaderStreamID) != "" {
				chunks++
			} else {
				n++
			}
		}
	}
	n++ // the live stream is one input
	fmt.Fprintf(stdout, "produced %d inputs to %s, %s, %s (one a live stream of %d audio/L16 chunks)\n", n, demoAudio, demoImages, demoText, chunks)

	tc := transforms.Config{Model: *model, MaxNewTokens: *maxNew, Backend: *backend}
	mk := func(name, in, out, model string) pipelines.Options {
		c := tc
		c.Model = model
		c.Partials = name == pipelines.Transcription // the live stream's transcript as it forms
		if name == pipelines.Extraction {
			// A spoken or pictured input is transcribed or captioned first.
			c.SpeechModel, c.VisionModel = *speechModel, *visionModel
		}
		return pipelines.Options{Name: name, Kafka: cfg, InputTopics: []string{in}, Group: demoGroup + "-" + name,
			Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: demoDLQ, Transforms: c}
	}
	opts := []pipelines.Options{
		mk(pipelines.Transcription, demoAudio, demoTranscripts, *speechModel),
		mk(pipelines.Caption, demoImages, demoCaptions, *visionModel),
		mk(pipelines.Extraction, demoText, demoJSON, *model),
	}
	start := time.Now()
	_, err = runPipelines(ctx, "prism", opts, *progress, stderr)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "pipelines done on prism in %s\n", took.Round(time.Millisecond))

	results, partials := 0, 0
	for _, topic := range []string{demoTranscripts, demoCaptions, demoJSON} {
		envs, err := kafka.ReadTopic(ctx, cfg, topic, 10*time.Second)
		if err != nil {
			return err
		}
		var finals []kafka.Envelope
		var forming []string // the live stream's partial transcripts
		for _, e := range envs {
			if e.Header("partial") != "true" {
				finals = append(finals, e)
				continue
			}
			var o transforms.Output
			if err := json.Unmarshal(e.Value, &o); err == nil && o.StreamID != "" {
				forming = append(forming, strconv.Quote(o.Text))
			}
		}
		partials += len(envs) - len(finals)
		envs = finals
		results += len(envs)
		fmt.Fprintf(stdout, "\n%s (%d):\n", topic, len(envs))
		sortByID(envs)
		for _, e := range envs {
			var o transforms.Output
			if err := json.Unmarshal(e.Value, &o); err != nil {
				return fmt.Errorf("result %s is not JSON: %w", e.Header(kafka.HeaderRequestID), err)
			}
			if o.StreamID != "" {
				fmt.Fprintf(stdout, "  %-10s live stream of %d chunks, as it formed: %s\n", o.RequestID, o.Chunks, strings.Join(forming, " -> "))
			}
			text := strconv.Quote(o.Text)
			if len(o.JSON) > 0 {
				text = string(o.JSON) // extraction: the record itself
				switch {
				case o.Transcript != "":
					text = fmt.Sprintf("from the transcript %q: %s", o.Transcript, text)
				case o.Caption != "":
					text = fmt.Sprintf("from the caption %q: %s", o.Caption, text)
				}
			}
			switch ref, ok := refs[o.RequestID]; {
			case ok && len(o.JSON) > 0:
				text += "  " + fieldCheck(o.JSON, ref)
			case ok:
				mark := "right"
				if o.Text != ref {
					mark = "WRONG"
				}
				text = fmt.Sprintf("%-32s reference %-32s %s", text, strconv.Quote(ref), mark)
			}
			if o.Prior != "" {
				text += ", prior " + o.Prior
			}
			if o.Draft != "" {
				text += fmt.Sprintf(" (draft %q)", o.Draft)
			}
			fmt.Fprintf(stdout, "  %-10s %s  (%d tokens, %d forwards, %.0f ms)\n", o.RequestID, text, o.Tokens, o.Forwards, o.EngineMS)
		}
	}
	dead, err := kafka.ReadTopic(ctx, cfg, demoDLQ, 10*time.Second)
	if err != nil {
		return err
	}
	sortByID(dead)
	fmt.Fprintf(stdout, "\n%s (%d):\n", demoDLQ, len(dead))
	for _, e := range dead {
		fmt.Fprintf(stdout, "  %-10s %s/%s: %s\n", e.Header(kafka.HeaderRequestID), e.Header(kafka.HeaderErrorStage),
			e.Header(kafka.HeaderErrorReason), e.Header(kafka.HeaderError))
	}
	fmt.Fprintf(stdout, "\n%d inputs -> %d results + %d dead letters in %s (and %d partial records: transcripts as they formed)\n",
		n, results, len(dead), took.Round(time.Millisecond), partials)
	// No Beam metrics footer here: prism's final job metrics can miss the
	// last bundle's counters (seen: engine.out 11 for 12 results), and every
	// figure above is read back from the topics.
	if results+len(dead) != n {
		return fmt.Errorf("demo: %d inputs but %d results and dead letters", n, results+len(dead))
	}
	return nil
}

func sortByID(envs []kafka.Envelope) {
	sort.Slice(envs, func(i, j int) bool {
		return envs[i].Header(kafka.HeaderRequestID) < envs[j].Header(kafka.HeaderRequestID)
	})
}

func produce(ctx context.Context, cfg kafka.Config, inputs map[string][]kafka.Envelope) error {
	w, err := kafka.NewWriter(kafka.SinkConfig{Config: cfg}, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	for topic, envs := range inputs {
		for i := range envs {
			envs[i].Topic = topic
		}
		if err := w.Write(ctx, envs...); err != nil {
			return err
		}
	}
	return nil
}

// demoTexts are the extraction inputs: one text per schema of the demo
// text checkpoint (testdata/models/demo-text, trained on these four kinds).
// gold is the record the text holds, which the demo checks each
// extraction against.
var demoTexts = []struct{ schema, text, gold string }{
	{"order", "Order KT-4821 from Lena Fisher: 3 x desk lamp, total $89.97, status shipped.",
		`{"order_id":"KT-4821","customer":"Lena Fisher","product":"desk lamp","quantity":3,"total":89.97,"currency":"USD","status":"shipped"}`},
	{"person", "Meet Omar Khan, 34, who works as a designer in Lisbon. Email: omar.khan@acme.io.",
		`{"first_name":"Omar","last_name":"Khan","age":34,"city":"Lisbon","email":"omar.khan@acme.io","role":"designer"}`},
	{"event", "The book club takes place on 2026-03-14 at 18:30 in Cafe Luna, in person, with 12 attendees.",
		`{"title":"book club","date":"2026-03-14","time":"18:30","location":"Cafe Luna","attendees":12,"online":false}`},
	{"device", "The thermostat therm-042 in the kitchen is online with 87% battery and temperature 21.5 C.",
		`{"device_id":"therm-042","kind":"thermostat","room":"kitchen","battery":87,"temperature":21.5,"online":true}`},
}

// demoMedia are the spoken and pictured extraction inputs: a demo clip and
// a demo scene (file names in the clip and scene directories), sent to the
// extraction pipeline with a schema of mediaDir; the pipeline transcribes
// or captions them, then demo-text extracts the record (gold).
var demoMedia = []struct{ id, file, schema, gold string }{
	{"speech-1", "stereo-44k.flac", "command", `{"action":"turn on","device":"oven","room":"hallway"}`},
	{"scene-1", "0008.png", "scene", `{"left":"two blue circles","center":"a green circle","right":"three green triangles"}`},
}

// demoInputs makes the sample inputs: good and bad audio, images and texts;
// the texts' schemas are read from schemaDir and those of the spoken and
// pictured extractions from mediaDir, the audio clips and images with their
// reference transcripts and captions (refs, by request id) from clipDir and
// sceneDir.
func demoInputs(schemaDir, mediaDir, clipDir, sceneDir string) (inputs map[string][]kafka.Envelope, refs map[string]string, err error) {
	in := func(id, ct string, v []byte, hs ...string) kafka.Envelope {
		e := kafka.Envelope{Key: []byte(id), Value: v}.WithHeader(kafka.HeaderRequestID, id).WithHeader(kafka.HeaderContentType, ct)
		for i := 0; i+1 < len(hs); i += 2 {
			e = e.WithHeader(hs[i], hs[i+1])
		}
		return e
	}
	refs = map[string]string{}
	clips, err := readDemoFiles(clipDir)
	if err != nil {
		return nil, nil, err
	}
	var audio []kafka.Envelope
	for i, c := range clips {
		id := fmt.Sprintf("audio-%d", i+1)
		var hs []string
		if c.Draft != "" {
			hs = append(hs, kafka.HeaderDraftTranscript, c.Draft)
		}
		audio = append(audio, in(id, c.ContentType, c.data, hs...))
		refs[id] = c.Text
	}
	tone := wavTone(1, 16, 16000, 1, 500, 1.0)
	audio = append(audio,
		in(fmt.Sprintf("audio-%d", len(audio)+1), "audio/wav", []byte("this is text pretending to be audio")),
		in(fmt.Sprintf("audio-%d", len(audio)+2), "audio/wav", tone[:len(tone)/2]), // cut mid-data
	)
	live, ref, err := demoLiveStream(clipDir, clips)
	if err != nil {
		return nil, nil, err
	}
	audio = append(audio, live...)
	refs[demoLiveID] = ref
	var images []kafka.Envelope
	scenes, err := readDemoFiles(sceneDir)
	if err != nil {
		return nil, nil, err
	}
	for i, c := range scenes {
		id := fmt.Sprintf("image-%d", i+1)
		images = append(images, in(id, c.ContentType, c.data))
		refs[id] = c.Text
	}
	jpg, err := encodeDemoImage("jpeg", 320, 240)
	if err != nil {
		return nil, nil, err
	}
	images = append(images, in(fmt.Sprintf("image-%d", len(images)+1), "image/jpeg", jpg[:len(jpg)/3]))
	huge, err := encodeDemoImage("png", 1, 1)
	if err != nil {
		return nil, nil, err
	}
	binary.BigEndian.PutUint32(huge[16:], 100000) // the header now claims 100000x100000 pixels
	binary.BigEndian.PutUint32(huge[20:], 100000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29])) // IHDR checksum
	images = append(images, in(fmt.Sprintf("image-%d", len(images)+1), "image/png", huge))
	var texts []kafka.Envelope
	for i, d := range demoTexts {
		schema, err := os.ReadFile(filepath.Join(schemaDir, d.schema+".json"))
		if err != nil {
			return nil, nil, fmt.Errorf("demo schema: %w", err)
		}
		id := fmt.Sprintf("text-%d", i+1)
		texts = append(texts, in(id, "text/plain", []byte(d.text), kafka.HeaderSchema, string(schema)))
		refs[id] = d.gold
	}
	texts = append(texts, in(fmt.Sprintf("text-%d", len(texts)+1), "text/plain", []byte("A schema that is not one."), kafka.HeaderSchema, `{"type":"objekt"}`))
	files := map[string]demoFile{} // the clips and scenes by file name
	for _, c := range slices.Concat(clips, scenes) {
		files[c.Audio+c.Image] = c
	}
	for _, d := range demoMedia {
		schema, err := os.ReadFile(filepath.Join(mediaDir, d.schema+".json"))
		if err != nil {
			return nil, nil, fmt.Errorf("demo schema: %w", err)
		}
		f, ok := files[d.file]
		if !ok {
			return nil, nil, fmt.Errorf("demo: %s is in neither %s nor %s", d.file, clipDir, sceneDir)
		}
		texts = append(texts, in(d.id, f.ContentType, f.data, kafka.HeaderSchema, string(schema)))
		refs[d.id] = d.gold
	}
	return map[string][]kafka.Envelope{demoAudio: audio, demoImages: images, demoText: texts}, refs, nil
}

// demoLiveID is the demo's live stream: two of the demo clips as a
// microphone would send them, 250 ms of audio/L16 per record.
const demoLiveID = "live-1"

// demoLiveStream makes the live stream's chunk records and its reference
// transcript from the first and last WAV clips, 0.6 s of room noise after
// each (noise, not digital silence: after a run of exact zeros the
// segmenter starts the next window up to 50 ms early, and the demo speech
// checkpoint, trained on clips cut 50 ms before the onset, can then miss a
// first word).
func demoLiveStream(clipDir string, clips []demoFile) ([]kafka.Envelope, string, error) {
	var pick []demoFile
	for _, c := range clips {
		if c.ContentType == "audio/wav" {
			pick = append(pick, c)
		}
	}
	if len(pick) < 2 {
		return nil, "", fmt.Errorf("demo: %s has fewer than two WAV clips for the live stream", clipDir)
	}
	pick = []demoFile{pick[0], pick[len(pick)-1]}
	var pcm []byte
	var words []string
	hiss := rand.New(rand.NewPCG(1, 2)) // room noise, -54 dBFS
	for _, c := range pick {
		a, err := asr.Decode(c.data, asr.DecodeOptions{})
		if err != nil {
			return nil, "", fmt.Errorf("demo clip %s: %w", c.Audio, err)
		}
		for j := 0; j < 9600; j++ {
			a.Samples = append(a.Samples, float32(0.002*hiss.NormFloat64()))
		}
		for _, v := range a.Samples {
			q := int16(math.Round(float64(max(-1, min(v, 32767.0/32768))) * 32768))
			pcm = binary.BigEndian.AppendUint16(pcm, uint16(q))
		}
		words = append(words, c.Text)
	}
	const chunk = 8000 // bytes: 250 ms at 16 kHz
	var out []kafka.Envelope
	for i, seq := 0, 0; i < len(pcm); i, seq = i+chunk, seq+1 {
		e := kafka.Envelope{Key: []byte(demoLiveID), Value: pcm[i:min(i+chunk, len(pcm))]}.
			WithHeader(kafka.HeaderRequestID, demoLiveID).WithHeader(kafka.HeaderContentType, "audio/L16; rate=16000; channels=1").
			WithHeader(kafka.HeaderStreamID, demoLiveID).WithHeader(kafka.HeaderSeq, strconv.Itoa(seq))
		if i+chunk >= len(pcm) {
			e = e.WithHeader(kafka.HeaderEndOfStream, "true")
		}
		out = append(out, e)
	}
	return out, strings.Join(words, " "), nil
}

// demoFile is one line of a demo input directory's manifest.jsonl: an
// audio clip (audio, text) or an image (image, caption), with its content
// type and, for audio, an optional draft transcript.
type demoFile struct {
	Audio       string `json:"audio"`
	Image       string `json:"image"`
	Text        string `json:"text"`
	Caption     string `json:"caption"`
	ContentType string `json:"content_type"`
	Draft       string `json:"draft"`
	data        []byte
}

func readDemoFiles(dir string) ([]demoFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("demo inputs: %w", err)
	}
	var out []demoFile
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c demoFile
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("demo inputs: %s line %d: %v", dir, i+1, err)
		}
		name := c.Audio + c.Image
		if c.Caption != "" {
			c.Text = c.Caption
		}
		if c.data, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("demo inputs: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// wavTone encodes seconds of a sine at freq Hz as WAV (format 1 = PCM, 3 = float).
func wavTone(format, bits, rate, channels int, freq, seconds float64) []byte {
	var data bytes.Buffer
	frames := int(seconds * float64(rate))
	for i := range frames {
		v := 0.4 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		for range channels {
			switch {
			case format == 3:
				binary.Write(&data, binary.LittleEndian, math.Float32bits(float32(v)))
			case bits == 16:
				binary.Write(&data, binary.LittleEndian, int16(v*32767))
			case bits == 24:
				x := int32(v * 8388607)
				data.Write([]byte{byte(x), byte(x >> 8), byte(x >> 16)})
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(format), uint16(channels), uint32(rate), uint32(rate * channels * bits / 8), uint16(channels * bits / 8), uint16(bits)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

// encodeDemoImage draws a w×h sky-over-grass picture.
func encodeDemoImage(format string, w, h int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 90, G: 160, B: 230, A: 255}
			if y > h*2/3 {
				c = color.NRGBA{R: 60, G: 150 + uint8(x%40), B: 60, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	return b.Bytes(), err
}
