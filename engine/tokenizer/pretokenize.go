package tokenizer

import (
	"time"

	"github.com/dlclark/regexp2/v2"
)

// A pre-tokenizer cuts normalized text into pieces; BPE then runs on each
// piece separately. HF pre-tokenizers form a pipeline: each stage splits
// every piece of the previous stage again.

// splitter is one stage of the pipeline.
type splitter interface {
	// split calls emit for each piece of s, in order.
	split(s string, emit func(string))
}

// regexTimeout bounds one regexp2 search so that a hostile pattern in a
// tokenizer.json cannot hang the process.
const regexTimeout = time.Second

// regexSplitter implements Split{Regex, behavior: Isolated, invert: false}
// for patterns that have no hand-written scanner: matches and the gaps
// between them are all pieces.
type regexSplitter struct {
	re *regexp2.Regexp
}

func newRegexSplitter(pattern string) (*regexSplitter, error) {
	re, err := regexp2.Compile(pattern, regexp2.Unicode)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = regexTimeout
	return &regexSplitter{re: re}, nil
}

func (r *regexSplitter) split(s string, emit func(string)) {
	locs, err := r.re.FindAllStringIndex(s, -1)
	if err != nil {
		// Timed out: keep the text as one piece rather than hang.
		emit(s)
		return
	}
	prev := 0
	for _, loc := range locs {
		if loc[0] > prev {
			emit(s[prev:loc[0]])
		}
		if loc[1] > loc[0] {
			emit(s[loc[0]:loc[1]])
		}
		prev = loc[1]
	}
	if prev < len(s) {
		emit(s[prev:])
	}
}

// prefixSpace implements ByteLevel's add_prefix_space: a piece that does
// not start with a space gets one.
type prefixSpace struct{}

func (prefixSpace) split(s string, emit func(string)) {
	if len(s) > 0 && s[0] == ' ' {
		emit(s)
		return
	}
	emit(" " + s)
}

// preTokenizer is the whole pipeline. byteLevel records whether a ByteLevel
// stage maps bytes to runes before the model sees the pieces.
type preTokenizer struct {
	stages    []splitter
	byteLevel bool
}

// split runs the pipeline on s.
func (p *preTokenizer) split(s string, emit func(string)) {
	p.run(0, s, emit)
}

func (p *preTokenizer) run(stage int, s string, emit func(string)) {
	if s == "" {
		return
	}
	if stage == len(p.stages) {
		emit(s)
		return
	}
	if stage == len(p.stages)-1 {
		p.stages[stage].split(s, emit)
		return
	}
	p.stages[stage].split(s, func(piece string) { p.run(stage+1, piece, emit) })
}
