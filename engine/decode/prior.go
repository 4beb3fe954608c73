package decode

// Draft is a proposal for the tokens a request will generate: an ASR
// prior's hypothesis (a CTC transcript, the model's own first pass, another
// system's transcript) re-tokenized into the model's vocabulary, with a
// confidence in [0, 1] per token. Tail is proposed at every position past
// the draft's end (the padding a checkpoint emits after its stop token; -1
// for none).
type Draft struct {
	Tokens []int32
	Conf   []float32
	Tail   int32
}

// PriorGuided adds a draft's evidence to a fallback policy (dLLM-ASR's
// prior-guided denoising on a block-diffusion model).
//
// The canvas the model sees is the usual one: masks where nothing is
// committed (block-diffusion checkpoints are trained on masks, not on noisy
// drafts), and the draft rides along as a proposal per position. Draft
// tokens with confidence below DraftTau propose nothing (they stay
// masked). At each step the positions the Fallback selects are committed,
// plus every masked position where the model's choice equals the aligned
// draft token with model confidence at least AgreeTau: two independent
// recognizers agreeing is strong evidence, so the block needs fewer
// forwards. With Veto > 0, a fallback choice (other than the most
// confident one, which always commits so every step makes progress) waits
// when a draft token of confidence at least Veto says otherwise.
//
// Alignment: the committed prefix of the output is aligned to a prefix of
// the draft by edit distance, so a word the draft dropped or added shifts
// the later proposals instead of spoiling them.
type PriorGuided struct {
	Draft    Draft
	Fallback Policy // default: one token per step (Threshold{Tau: 2})
	AgreeTau float32
	DraftTau float32
	Veto     float32
}

// Unwrap and Rewrap make PriorGuided a Wrapper of its Fallback, so a
// stateful fallback (Credit) keeps its state and logit fusion under a prior.
func (p PriorGuided) Unwrap() Policy { return p.Fallback }

func (p PriorGuided) Rewrap(inner Policy) Policy {
	p.Fallback = inner
	return p
}

// Select implements Policy.
func (p PriorGuided) Select(c *Candidates) []int {
	if c.Len() == 0 {
		return nil
	}
	fb := p.Fallback
	if fb == nil {
		fb = Threshold{Tau: 2}
	}
	base := fb.Select(c)
	shift := p.shift(c.Generated[:c.Base+c.Pos[0]])
	top := byKey(c, conf)[0]
	chosen := make([]bool, c.Len())
	out := []int{top}
	chosen[top] = true
	for _, i := range base {
		if chosen[i] {
			continue
		}
		if tok, dc, ok := p.proposal(c.Base + c.Pos[i] + shift); p.Veto > 0 && ok && dc >= p.Veto && tok != c.Choice[i].Token {
			continue
		}
		chosen[i] = true
		out = append(out, i)
	}
	for i, ch := range c.Choice {
		if chosen[i] {
			continue
		}
		if tok, dc, ok := p.proposal(c.Base + c.Pos[i] + shift); ok && dc >= p.DraftTau && tok == ch.Token && ch.Conf >= p.AgreeTau {
			chosen[i] = true
			out = append(out, i)
		}
	}
	return out
}

// proposal is the draft's token at draft index d.
func (p PriorGuided) proposal(d int) (tok int32, conf float32, ok bool) {
	switch {
	case d < 0:
		return 0, 0, false
	case d < len(p.Draft.Tokens):
		return p.Draft.Tokens[d], p.Draft.Conf[d], true
	case p.Draft.Tail >= 0:
		return p.Draft.Tail, 1, true
	}
	return 0, 0, false
}

// shift aligns the committed output prefix with the draft: the draft index
// of generated position g is g+shift, where the prefix best matches
// draft[:len(prefix)+shift] (least edit distance; on ties, an alignment
// whose last draft token is the prefix's last token, then the smallest
// shift in magnitude).
func (p PriorGuided) shift(prefix []int32) int {
	d := p.Draft.Tokens
	n := len(prefix)
	if n == 0 || len(d) == 0 {
		return 0
	}
	// prev[j] = edit distance between prefix[:i] and d[:j].
	prev := make([]int, len(d)+1)
	cur := make([]int, len(d)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= n; i++ {
		cur[0] = i
		for j := 1; j <= len(d); j++ {
			sub := prev[j-1]
			if prefix[i-1] != d[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	abs := func(x int) int { return max(x, -x) }
	ends := func(j int) bool { return j > 0 && d[j-1] == prefix[n-1] }
	best := min(n, len(d))
	for j := 0; j <= len(d); j++ {
		switch {
		case prev[j] < prev[best],
			prev[j] == prev[best] && ends(j) && !ends(best),
			prev[j] == prev[best] && ends(j) == ends(best) && abs(j-n) < abs(best-n):
			best = j
		}
	}
	return best - n
}
