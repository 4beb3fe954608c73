package asr

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/kernels/cpu"
)

// Options tune one transcription. The zero value works: the CTC prior
// (when the checkpoint has a CTC head) guiding one-token-per-step block
// decoding, the voice-activity gate on.
type Options struct {
	// Prior drafts each window before the language model runs (default
	// CTCPrior{}; NoPrior{} for plain decoding).
	Prior Prior
	// Policy commits positions per step where the draft settles nothing
	// (default: one token per step, the most accurate; decode.Threshold{Tau:
	// 0.9} trades accuracy for forwards).
	Policy decode.Policy
	// AgreeTau and DraftTau are decode.PriorGuided's thresholds (defaults
	// 0.5 and 0.5); Veto its veto confidence (default 0: none).
	AgreeTau, DraftTau, Veto float32
	// Autoregressive decodes with block size 1 on the same weights (the
	// baseline speed is measured against); priors still anchor length.
	Autoregressive bool
	// FlashBlock reuses each block's attention over the audio and the
	// committed transcript across its denoising steps (approximate; see
	// engine.Request.FlashBlock): block-causal language models on the CPU
	// backend only.
	FlashBlock bool
	// MaxNewTokens bounds each window's transcript (default: max(48,
	// 3/2 x audio tokens), less the draft's anchor: 2 x draft + 2 blocks).
	MaxNewTokens int
	// Stream, if set, receives each committed block's text as it becomes
	// final, then a Final partial per window.
	Stream func(Partial)
	// NoVAD transcribes every window; by default windows the voice-activity
	// gate finds no speech in are skipped (empty text, no forwards).
	NoVAD bool
	// Overlap is the audio shared by consecutive windows of long input when
	// no pause allows a clean cut (default: a quarter window).
	Overlap float64 // seconds
	// NoAlign turns off onset alignment: by default a window the segmenter
	// cut from long audio whose speech the CTC head hears starting late is
	// re-cut so the speech starts where the checkpoint's training clips had
	// it (see alignOnset). An input that fits one window is left as it is.
	NoAlign bool
	// NoPrune keeps a full-canvas language model's whole canvas: by default
	// it is cut after the first pass at the first predicted end of text
	// (decode.CanvasParams.Prune, as dLLM-ASR decodes).
	NoPrune bool
}

// Transcript is the result of one transcription.
type Transcript struct {
	Text     string
	Segments []Segment
	Tokens   int // language-model tokens of the transcript
	Forwards int // language-model forwards over all windows (incl. a self prior's)
	// MinForwards is the fewest forwards any unmasking policy could take
	// for this transcript: one per block a denoising step was taken in
	// (engine.Result.Blocks), plus a self prior's.
	MinForwards int
	Prior       string // the prior used
	Windows     int    // windows decoded (after the voice-activity gate)
	// Encode is the time in the front end, encoder, projector and prior
	// (summed over windows); Decode the time in the language model.
	Encode, Decode time.Duration
}

// Segment is one window's share of a transcript; times in seconds from
// the start of the audio.
type Segment struct {
	Start, End  float64
	Text        string
	Draft       string // the prior's draft, decoded (empty without one)
	Tokens      []int32
	Forwards    int
	MinForwards int  // as Transcript's
	Speech      bool // false: the voice-activity gate skipped the window
	// Encode and Decode split the window's time as Transcript's do.
	Encode, Decode time.Duration
}

// Partial is a piece of a transcript as it forms: Text is final and
// appends to what came before in the same window; Final closes the window.
type Partial struct {
	Window int
	Text   string
	Final  bool
}

// Transcribe transcribes 16 kHz mono samples (see Decode) with the speech
// checkpoint loaded in eng. Audio longer than the checkpoint's window is
// cut into windows at pauses (overlapping where there is none), decoded
// concurrently so the engine batches them, and stitched.
func Transcribe(ctx context.Context, eng *engine.Engine, samples []float32, opts Options) (Transcript, error) {
	r, err := For(eng)
	if err != nil {
		return Transcript{}, err
	}
	return r.Transcribe(ctx, samples, opts)
}

// Transcribe is the package-level Transcribe on this recognizer.
func (r *Recognizer) Transcribe(ctx context.Context, samples []float32, opts Options) (Transcript, error) {
	return r.TranscribeSource(ctx, &sliceSource{s: samples}, opts)
}

// A Source yields 16 kHz mono samples: Read fills dst and returns how many
// it wrote, with io.EOF (or any error) when there are no more.
type Source interface {
	Read(dst []float32) (int, error)
}

// TranscribeSource transcribes a stream of samples window by window, in
// memory bounded by a few windows whatever the length (a 10-minute file
// never sits in memory whole).
func (r *Recognizer) TranscribeSource(ctx context.Context, src Source, opts Options) (Transcript, error) {
	if opts.Prior == nil {
		opts.Prior = CTCPrior{}
	}
	mc := r.Mel.Config()
	win := newWindower(src, mc.NSamples, int(opts.Overlap*float64(mc.SampleRate)))
	type job struct {
		seg Segment
		err error
		n   int
	}
	var (
		jobs []*job
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 4) // windows in flight: memory stays O(window)
	)
	for i := 0; ; i++ {
		w, err := win.next()
		if err != nil {
			return Transcript{}, err
		}
		if w == nil {
			break
		}
		j := &job{n: i}
		jobs = append(jobs, j)
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, w *rawWindow) {
			defer func() { <-sem; wg.Done() }()
			j.seg, j.err = r.window(ctx, i, w, opts)
		}(i, w)
	}
	wg.Wait()
	t := Transcript{Prior: opts.Prior.Name()}
	var texts []string
	for _, j := range jobs {
		if j.err != nil {
			return Transcript{}, fmt.Errorf("window %d (%.2f-%.2f s): %w", j.n, j.seg.Start, j.seg.End, j.err)
		}
		t.Segments = append(t.Segments, j.seg)
		t.Tokens += len(j.seg.Tokens)
		t.Forwards += j.seg.Forwards
		t.MinForwards += j.seg.MinForwards
		t.Encode += j.seg.Encode
		t.Decode += j.seg.Decode
		if j.seg.Speech {
			t.Windows++
		}
		texts = append(texts, j.seg.Text)
	}
	t.Text = stitch(texts, win.overlaps)
	return t, nil
}

// Window is one audio window on its way to the language model, as priors
// see it.
type Window struct {
	rec  *Recognizer
	opts Options
	Enc  []float32 // encoder states [T, d_model]
	T    int
	rows []float32 // projector output [N, hidden]
	n    int

	ctcOnce sync.Once
	ctc     CTCHypothesis

	extraForwards int
	selfTime      time.Duration // language-model time spent by a self prior
}

// CTC is the window's greedy CTC hypothesis (ok false without a CTC head).
func (w *Window) CTC() (CTCHypothesis, bool) {
	c := w.rec.Speech.CTC
	if c == nil {
		return CTCHypothesis{}, false
	}
	w.ctcOnce.Do(func() { w.ctc = c.Greedy(c.Logits(w.Enc, w.T), w.T) })
	return w.ctc, true
}

func (w *Window) maxNew(d *decode.Draft) int {
	n := w.opts.MaxNewTokens
	if n <= 0 {
		n = max(48, 3*w.n/2)
	}
	if d != nil {
		n = min(n, 2*len(d.Tokens)+2*max(w.rec.eng.Arch().Block, 1))
	}
	return n
}

// generate decodes the window with policy p; stream gets committed blocks.
func (w *Window) generate(ctx context.Context, p decode.Policy, maxNew int, stream ...func(string)) (engine.Result, error) {
	req := engine.Request{
		Messages:       w.rec.prompt(w.n),
		Media:          []engine.Media{{Token: w.rec.audioTok, Rows: w.rows}},
		MaxNewTokens:   maxNew,
		Policy:         p,
		Autoregressive: w.opts.Autoregressive,
		FlashBlock:     w.opts.FlashBlock,
	}
	if len(stream) > 0 {
		req.Stream = stream[0]
	}
	if w.rec.eng.Model.Traits().Mask.Kind == cpu.Bidirectional {
		// A full-canvas LM (LLaDA, Dream: dLLM-ASR) decodes the transcript
		// as one block, cut at the first end predicted by the first pass.
		req.Canvas = decode.CanvasParams{BlockLen: maxNew, Prune: !w.opts.NoPrune}
	}
	return w.rec.eng.Generate(ctx, req)
}

// window transcribes one window of at most NSamples samples.
func (r *Recognizer) window(ctx context.Context, idx int, raw *rawWindow, opts Options) (Segment, error) {
	rate := float64(r.Mel.Config().SampleRate)
	seg := Segment{Start: float64(raw.start) / rate, End: float64(raw.start+len(raw.samples)) / rate}
	if !opts.NoVAD && (!raw.speech || !HasSpeech(raw.samples, int(rate))) {
		if opts.Stream != nil {
			opts.Stream(Partial{Window: idx, Final: true})
		}
		return seg, nil
	}
	seg.Speech = true
	t0 := time.Now()
	mel := r.Mel.LogMel(raw.samples)
	enc, err := r.Speech.Encoder.Encode(mel)
	if err != nil {
		return seg, err
	}
	T := len(enc) / r.Speech.Encoder.Cfg.DModel
	if !opts.NoAlign && !raw.whole {
		if cut := r.alignOnset(enc, T); cut > 0 {
			raw = &rawWindow{samples: raw.samples[cut:], start: raw.start + cut, speech: true}
			if enc, err = r.Speech.Encoder.Encode(r.Mel.LogMel(raw.samples)); err != nil {
				return seg, err
			}
		}
	}
	w := &Window{rec: r, opts: opts, Enc: enc, T: T}
	w.rows = r.Speech.Projector.Project(enc, T)
	w.n = r.Speech.Projector.Tokens(T)
	draft, ok, err := opts.Prior.Draft(ctx, w)
	if err != nil {
		return seg, err
	}
	policy := opts.Policy
	if policy == nil {
		policy = decode.Threshold{Tau: 2} // one token per step
	}
	maxNew := w.maxNew(nil)
	if ok {
		seg.Draft = r.tok.Decode(draft.Tokens, true)
		maxNew = w.maxNew(&draft)
		agree, dtau := opts.AgreeTau, opts.DraftTau
		if agree == 0 {
			agree = 0.5
		}
		if dtau == 0 {
			dtau = 0.5
		}
		// FreeDave verifies the prior-guided steps (its output is then
		// PriorGuided's), so it goes outside; inside, the prior's
		// multi-token steps would bypass its drafts.
		fd, verified := policy.(decode.FreeDave)
		if verified {
			policy = fd.Of
		}
		policy = decode.PriorGuided{Draft: draft, Fallback: policy, AgreeTau: agree, DraftTau: dtau, Veto: opts.Veto}
		if verified {
			fd.Of = policy
			policy = fd
		}
	}
	t1 := time.Now()
	seg.Encode = t1.Sub(t0) - w.selfTime
	var stream []func(string)
	if opts.Stream != nil {
		stream = append(stream, func(text string) { opts.Stream(Partial{Window: idx, Text: text}) })
	}
	res, err := w.generate(ctx, policy, maxNew, stream...)
	if err != nil {
		return seg, err
	}
	if opts.Stream != nil {
		opts.Stream(Partial{Window: idx, Final: true})
	}
	seg.Decode = time.Since(t1) + w.selfTime
	seg.Text = strings.TrimSpace(res.Text)
	seg.Tokens = res.TokenIDs
	seg.Forwards = res.Forwards + w.extraForwards
	seg.MinForwards = res.Blocks + w.extraForwards
	return seg, nil
}

// Onset alignment. demo-speech-style checkpoints are trained on clips cut
// 50 ms before the speech onset, and a window that starts 50 ms earlier
// already loses its first word. Their CTC head still hears the speech, and
// its first non-blank frame moves with the onset one 20 ms frame for 20 ms
// (measured on the held-out clips: frame 1 when aligned, +2 / +5 / +10
// frames after 50 / 100 / 200 ms of leading silence). So a window whose
// first non-blank frame is late is re-cut to put it at frame 1. Aligned
// held-out clips reach frame 3, and a 20 ms cut of an aligned clip can
// already cost its first word, so only windows at frame 4 or later (about
// 60 ms late) are re-cut: on TestLongAudio this takes the stitched WER from
// 17.2% to 10.3%; the rest is the checkpoint's to fix (onset jitter in
// training).
const (
	alignFrame    = 1 // where aligned training clips have their first non-blank frame
	alignLate     = 4 // re-cut windows whose first non-blank frame is this late
	encoderStride = 2 // mel frames per encoder frame
)

// alignOnset returns how many samples to drop from the window's start (0:
// none), from the CTC head's greedy path over enc [T, D].
func (r *Recognizer) alignOnset(enc []float32, T int) int {
	c := r.Speech.CTC
	if c == nil {
		return 0
	}
	logits := c.Logits(enc, T)
	C := len(c.Vocab)
	first := -1
	for t := 0; t < T && first < 0; t++ {
		row := logits[t*C : (t+1)*C]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if best != c.Blank && c.Vocab[best] != " " {
			first = t
		}
	}
	if first < alignLate {
		return 0
	}
	return (first - alignFrame) * encoderStride * r.Mel.Config().Hop
}
