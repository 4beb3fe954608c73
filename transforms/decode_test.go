package transforms

import (
	"errors"
	"math"
	"strings"
	"testing"

	"dlmstream/connectors/kafka"
)

func TestDecodeAudioFormats(t *testing.T) {
	tests := []struct {
		name                      string
		format, bits, rate, chans int
	}{
		{"pcm8 8kHz mono", 1, 8, 8000, 1},
		{"pcm16 16kHz mono", 1, 16, 16000, 1},
		{"pcm16 44.1kHz stereo", 1, 16, 44100, 2},
		{"pcm24 48kHz stereo", 1, 24, 48000, 2},
		{"pcm32 22.05kHz mono", 1, 32, 22050, 1},
		{"float32 48kHz mono", 3, 32, 48000, 1},
		{"float32 11.025kHz 3ch", 3, 32, 11025, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := tt.rate / 2 // 0.5 s of 440 Hz at amplitude 0.5
			wav := makeWAV(tt.format, tt.bits, tt.rate, tt.chans, sine(440, tt.rate, frames, tt.chans, 0.5))
			out, info, err := DecodeAudio(wav, 60)
			if err != nil {
				t.Fatal(err)
			}
			if want := 8000; abs(len(out)-want) > 1 || info.Samples != len(out) {
				t.Fatalf("got %d samples at 16 kHz, want %d", len(out), want)
			}
			if info.SourceRate != tt.rate || info.Channels != tt.chans || info.BitDepth != tt.bits || math.Abs(info.Seconds-0.5) > 1e-3 {
				t.Fatalf("info = %+v", info)
			}
			// A 440 Hz sine of amplitude 0.5 keeps its amplitude and frequency through resampling:
			// compare the middle of the output with the ideal 16 kHz sine.
			tol := 0.01
			if tt.bits == 8 {
				tol = 0.02
			}
			var maxErr float64
			for i := 1000; i < 7000; i++ {
				want := 0.5 * math.Sin(2*math.Pi*440*float64(i)/16000)
				maxErr = math.Max(maxErr, math.Abs(float64(out[i])-want))
			}
			if maxErr > tol {
				t.Fatalf("max deviation from the ideal sine = %.4f, want <= %.3f", maxErr, tol)
			}
			if math.Abs(float64(info.Peak)-0.5) > 0.02 || math.Abs(float64(info.RMS)-0.5/math.Sqrt2) > 0.02 {
				t.Fatalf("peak %.3f rms %.3f", info.Peak, info.RMS)
			}
		})
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	// 7 kHz is above the 8 kHz output's... no: 7 kHz < 8 kHz Nyquist of 16 kHz output; 12 kHz is above it.
	rate := 48000
	x := make([]float32, rate)
	for i := range x {
		x[i] = float32(math.Sin(2 * math.Pi * 12000 * float64(i) / float64(rate)))
	}
	y := Resample(x, rate, 16000)
	var rms float64
	for _, v := range y[1000 : len(y)-1000] {
		rms += float64(v) * float64(v)
	}
	rms = math.Sqrt(rms / float64(len(y)-2000))
	if rms > 0.01 {
		t.Fatalf("12 kHz tone leaks into the 16 kHz output with rms %.4f, want < 0.01", rms)
	}
}

func TestDecodeImageFormats(t *testing.T) {
	for _, format := range []string{"png", "jpeg", "gif", "bmp", "tiff"} {
		t.Run(format, func(t *testing.T) {
			img, info, err := DecodeImage(encode(t, format, testImage(896, 448)), 1e7)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != format || info.Width != 896 || info.Height != 448 || info.ResizedW != 448 || info.ResizedH != 224 {
				t.Fatalf("info = %+v", info)
			}
			if b := img.Bounds(); b.Dx() != 448 || b.Dy() != 224 {
				t.Fatalf("resized to %v", b)
			}
			// Half red, half blue: mean R ≈ B ≈ 0.5, G ≈ 0.
			if m := info.MeanRGB; math.Abs(float64(m[0])-0.5) > 0.03 || m[1] > 0.03 || math.Abs(float64(m[2])-0.5) > 0.03 {
				t.Fatalf("mean RGB = %v", m)
			}
		})
	}
}

func TestDecodeImageEXIFOrientation(t *testing.T) {
	jpg := withEXIFOrientation(encode(t, "jpeg", testImage(64, 32)), 6) // 6: rotate 90° clockwise
	img, info, err := DecodeImage(jpg, 1e7)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 32 || info.Height != 64 || !info.Rotated {
		t.Fatalf("info = %+v, want 32x64 rotated", info)
	}
	// Red was on the left; after a clockwise quarter turn it is on top.
	top, bottom := img.NRGBAAt(img.Bounds().Dx()/2, 2), img.NRGBAAt(img.Bounds().Dx()/2, img.Bounds().Dy()-3)
	if top.R < 200 || top.B > 60 || bottom.B < 200 || bottom.R > 60 {
		t.Fatalf("top %v bottom %v: orientation not applied", top, bottom)
	}
}

func TestValidateSchema(t *testing.T) {
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"object with properties", `{"type":"object","properties":{"title":{"type":"string"},"year":{"type":"integer"}},"required":["title"]}`, true},
		{"properties out of alphabetical order", `{"type":"object","properties":{"year":{"type":"integer"},"title":{"type":"string"}}}`, true},
		{"array of strings", `{"type":"array","items":{"type":"string"}}`, true},
		{"tuple (draft-07)", `{"type":"array","items":[{"type":"string"},{"type":"integer"}]}`, true},
		{"bad tuple item", `{"type":"array","items":[{"type":"string"},7]}`, false},
		{"type list", `{"type":["string","null"]}`, true},
		{"boolean schema property", `{"properties":{"x":true}}`, true},
		{"not JSON", `{"type":`, false},
		{"not an object", `["type"]`, false},
		{"unknown type", `{"type":"objekt"}`, false},
		{"properties not an object", `{"properties":[1]}`, false},
		{"required not strings", `{"required":[1]}`, false},
		{"bad nested", `{"properties":{"a":{"items":{"type":7}}}}`, false},
		{"empty", ``, false},
		{"too deep", strings.Repeat(`{"items":`, 40) + `{}` + strings.Repeat(`}`, 40), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ValidateSchema([]byte(tt.doc))
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateSchema(%s) = %v, want ok=%v", tt.doc, err, tt.ok)
			}
			// The docs are compact already: the output is the input, key order kept
			// (the scaffold and the prompt follow the schema's property order).
			if err == nil && out != tt.doc {
				t.Fatalf("ValidateSchema(%s) = %s, want the document unchanged", tt.doc, out)
			}
			if err != nil && AsRejection(err, "").Reason != ReasonInvalidSchema {
				t.Fatalf("reason %q", AsRejection(err, "").Reason)
			}
		})
	}
}

// TestPrepareDeadLetters is the dead-letter table: every bad input is rejected with a
// stable stage and reason (and nothing panics).
func TestPrepareDeadLetters(t *testing.T) {
	wav := makeWAV(1, 16, 16000, 1, sine(440, 16000, 16000, 1, 0.5))
	jpg := encode(t, "jpeg", testImage(64, 64))
	schema := `{"type":"object","properties":{"title":{"type":"string"}}}`
	env := func(ct string, value []byte, hs ...string) kafka.Envelope {
		e := kafka.Envelope{Value: value}
		if ct != "" {
			e = e.WithHeader(kafka.HeaderContentType, ct)
		}
		for i := 0; i+1 < len(hs); i += 2 {
			e = e.WithHeader(hs[i], hs[i+1])
		}
		return e
	}
	draft := []string{kafka.HeaderDraftTranscript, "hello world"}
	tests := []struct {
		name       string
		kind       string
		cfg        Config
		in         kafka.Envelope
		wantReason string // "" = accepted
	}{
		{"good wav", KindTranscribe, Config{}, env("audio/wav", wav, draft...), ""},
		{"not audio", KindTranscribe, Config{}, env("audio/wav", []byte("this is plain text, not a wav file"), draft...), ReasonNotAudio},
		{"truncated wav", KindTranscribe, Config{}, env("audio/wav", wav[:len(wav)/2], draft...), ReasonTruncated},
		{"truncated wav header", KindTranscribe, Config{}, env("audio/wav", wav[:30], draft...), ReasonTruncated},
		{"unsupported sample format (16-bit float)", KindTranscribe, Config{}, env("audio/wav", makeWAV(3, 16, 16000, 1, sine(440, 16000, 100, 1, 0.5)), draft...), ReasonUnsupportedFormat},
		{"unsupported sample format (mu-law)", KindTranscribe, Config{}, env("audio/wav", makeWAV(7, 8, 8000, 1, sine(440, 8000, 100, 1, 0.5)), draft...), ReasonUnsupportedFormat},
		{"audio too long", KindTranscribe, Config{MaxAudioSeconds: 0.5}, env("audio/wav", wav, draft...), ReasonTooLong},
		{"audio under the length limit, over the decoding work (384 kHz, 8 channels)", KindTranscribe, Config{MaxAudioSeconds: 1},
			env("audio/wav", makeWAV(1, 16, 384000, 8, sine(440, 384000, 76800, 8, 0.5)), draft...), ReasonTooLong},
		{"audio without draft", KindTranscribe, Config{}, env("audio/wav", wav), ""}, // a speech checkpoint needs none
		{"wrong content-type for audio", KindTranscribe, Config{}, env("image/png", wav, draft...), ReasonContentType},
		{"good jpeg", KindCaption, Config{}, env("image/jpeg", jpg), ""},
		{"non-image bytes", KindCaption, Config{}, env("image/png", []byte("GIF? no, just text")), ReasonNotImage},
		{"truncated png", KindCaption, Config{}, env("image/png", encode(t, "png", testImage(64, 64))[:150]), ReasonTruncated},
		{"truncated jpeg", KindCaption, Config{}, env("image/jpeg", jpg[:len(jpg)/2]), ReasonTruncated},
		{"header claims 100000x100000", KindCaption, Config{}, env("image/png", pngClaiming(t, 100000, 100000)), ReasonTooManyPixels},
		{"wrong content-type for image", KindCaption, Config{}, env("application/pdf", jpg), ReasonContentType},
		{"good extraction", KindExtract, Config{}, env("text/plain", []byte("Dune, 1965"), kafka.HeaderSchema, schema), ""},
		{"invalid JSON Schema", KindExtract, Config{}, env("text/plain", []byte("Dune"), kafka.HeaderSchema, `{"type":"objekt"}`), ReasonInvalidSchema},
		{"missing schema", KindExtract, Config{}, env("text/plain", []byte("Dune")), ReasonInvalidSchema},
		{"schema id without registry", KindExtract, Config{}, env("text/plain", []byte("Dune"), kafka.HeaderSchemaID, "books-v1"), ReasonUnknownSchemaID},
		{"text not UTF-8", KindExtract, Config{}, env("text/plain", []byte{0xff, 0xfe, 0x00}, kafka.HeaderSchema, schema), ReasonInvalidText},
		{"oversize message", KindCaption, Config{MaxMessageBytes: 1000}, env("image/jpeg", make([]byte, 2000)), ReasonOversize},
		{"sidecar over its limit", KindExtract, Config{}, env("text/plain", []byte("Dune"), kafka.HeaderSidecarError, "sidecar in/a.schema.json is 2000000 bytes, over the 1048576-byte sidecar limit"), ReasonBadSidecar},
		{"unreadable draft sidecar", KindTranscribe, Config{}, env("audio/wav", wav, append(draft, kafka.HeaderSidecarError, "sidecar in/a.draft.txt: input/output error")...), ReasonBadSidecar},
		{"wrong content-type for text", KindExtract, Config{}, env("video/mp4", []byte("Dune"), kafka.HeaderSchema, schema), ReasonContentType},
		{"audio for extraction without a speech model", KindExtract, Config{}, env("audio/wav", wav, kafka.HeaderSchema, schema), ReasonNoASREncoder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task, err := Prepare(tt.cfg, tt.kind, tt.in)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if task.User == "" || task.System == "" {
					t.Fatalf("task has no prompt: %+v", task)
				}
				return
			}
			var r *Rejection
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want a *Rejection with reason %s", err, tt.wantReason)
			}
			if r.Reason != tt.wantReason || r.Stage != StageDecode {
				t.Fatalf("rejected at %s with %s (%v), want %s/%s", r.Stage, r.Reason, r.Err, StageDecode, tt.wantReason)
			}
		})
	}
}

func FuzzDecodeAudio(f *testing.F) {
	f.Add(makeWAV(1, 16, 16000, 1, sine(440, 16000, 64, 1, 0.5)))
	f.Add(makeWAV(3, 32, 44100, 2, sine(440, 44100, 64, 2, 0.5)))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := DecodeAudio(data, 5)
		if err == nil && len(out) > 5*16000+16 {
			t.Fatalf("%d samples past the 5 s limit", len(out))
		}
		if err != nil && AsRejection(err, "").Reason == "" {
			t.Fatalf("error without reason: %v", err)
		}
	})
}

func FuzzDecodeImage(f *testing.F) {
	f.Add(encode(f, "png", testImage(8, 8)))
	f.Add(encode(f, "jpeg", testImage(8, 8)))
	f.Add(encode(f, "gif", testImage(8, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = DecodeImage(data, 1<<20) // must not panic or allocate past the pixel bound
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
