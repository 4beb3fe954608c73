package vision

import (
	"fmt"
	"math"
)

// BLEU scores the set with pycocoevalcap's Bleu(), returning BLEU-1 … BLEU-n for
// the corpus and for each image (bleu_scorer.py with option "closest", which is
// what Bleu(4) uses):
//
//   - per image, the modified precision p_k = Σ min(count, max count in any
//     reference) over the candidate's k-grams, divided by max(0, len−k+1), and the
//     reference length closest to the candidate's (the shorter one on a tie);
//   - BLEU-k = (Π_{j≤k} (correct_j + 1e-15)/(total_j + 1e-9))^(1/k), times the
//     brevity penalty exp(1 − r/c) when c/r < 1, with c = len + 1e-15 and
//     r = reference length + 1e-9;
//   - the corpus score does the same with the counts and lengths summed over images.
//
// pycocoevalcap counts n-grams only up to 4, so it can give BLEU-1 … BLEU-4 and no
// more; larger n here extends the same formula. n must be at least 1.
func (s *CaptionSet) BLEU(n int) (scores []float64, perImage map[string][]float64, err error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("vision: BLEU-%d: n must be at least 1", n)
	}
	const tiny, small = 1e-15, 1e-9
	var total bleuCounts
	total.guess = make([]int, n)
	total.correct = make([]int, n)
	perImage = make(map[string][]float64, len(s.ids))
	for i, id := range s.ids {
		c := countBLEU(s.cands[i], s.refs[i], n)
		total.testLen += c.testLen
		total.refLen += c.refLen
		for k := range n {
			total.guess[k] += c.guess[k]
			total.correct[k] += c.correct[k]
		}
		perImage[id] = c.bleu(tiny, small)
	}
	return total.bleu(tiny, small), perImage, nil
}

// BLEU scores candidate captions against references with pycocoevalcap's Bleu()
// after tokenizing them with TokenizeCaption: BLEU-1 … BLEU-n for the set and for
// each image. See CaptionSet.BLEU.
func BLEU(cands map[string]string, refs map[string][]string, n int) (scores []float64, perImage map[string][]float64, err error) {
	s, err := NewCaptionSet(cands, refs, nil)
	if err != nil {
		return nil, nil, err
	}
	return s.BLEU(n)
}

// bleuCounts are bleu_scorer.py's cooked test: lengths, and per n the number of
// candidate n-grams (guess) and of those found in a reference (correct, clipped).
type bleuCounts struct {
	testLen, refLen int
	guess, correct  []int // [n-1]
}

func countBLEU(cand []int32, refs [][]int32, n int) bleuCounts {
	maxRef := map[string]int{}
	c := bleuCounts{testLen: len(cand), guess: make([]int, n), correct: make([]int, n)}
	bestDiff := -1
	for _, r := range refs {
		rc := countNgrams(r, n)
		for g, k := range rc.count {
			maxRef[g] = max(maxRef[g], k)
		}
		// min((abs(l - testlen), l) for l in reflen)[1]
		d := intAbs(len(r) - len(cand))
		if bestDiff < 0 || d < bestDiff || (d == bestDiff && len(r) < c.refLen) {
			bestDiff, c.refLen = d, len(r)
		}
	}
	cc := countNgrams(cand, n)
	for _, g := range cc.order {
		c.correct[len(g)/4-1] += min(maxRef[g], cc.count[g])
	}
	for k := range n {
		c.guess[k] = max(0, len(cand)-k)
	}
	return c
}

// bleu is BLEU-1 … BLEU-n from the counts, as compute_score does it.
func (c bleuCounts) bleu(tiny, small float64) []float64 {
	out := make([]float64, len(c.guess))
	b := 1.0
	for k := range out {
		b *= (float64(c.correct[k]) + tiny) / (float64(c.guess[k]) + small)
		out[k] = math.Pow(b, 1/float64(k+1))
	}
	ratio := (float64(c.testLen) + tiny) / (float64(c.refLen) + small)
	if ratio < 1 {
		for k := range out {
			out[k] *= math.Exp(1 - 1/ratio)
		}
	}
	return out
}

func intAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
