package vision

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// The COCO caption metrics, as pycocoevalcap 1.2 computes them (cider.go, bleu.go,
// captok.go). Scores are equal to pycocoevalcap's to 1e-6 (tested on
// testdata/golden/vision/metrics.json, written by
// tools/reference/caption_metrics_golden.py).

// CaptionSet is a caption evaluation set: for each image one candidate caption and
// one or more reference captions, as tokens. CIDEr-D depends on the whole set (its
// document frequencies come from the set's references), so score the set you
// report, not parts of it.
type CaptionSet struct {
	ids   []string    // sorted image ids
	cands [][]int32   // [image][token]
	refs  [][][]int32 // [image][reference][token]
}

// NewCaptionSet tokenizes the candidates and references of each image with
// tokenize, TokenizeCaption when nil (pycocoevalcap's PTBTokenizer; pass
// strings.Fields for captions already tokenized). cands and refs must have the
// same image ids, and every image at least one reference.
func NewCaptionSet(cands map[string]string, refs map[string][]string, tokenize func(string) []string) (*CaptionSet, error) {
	if tokenize == nil {
		tokenize = TokenizeCaption
	}
	if len(cands) == 0 {
		return nil, errors.New("vision: caption set: no images")
	}
	s := &CaptionSet{}
	for id := range cands {
		if len(refs[id]) == 0 {
			return nil, fmt.Errorf("vision: caption set: image %q has a candidate but no references", id)
		}
		s.ids = append(s.ids, id)
	}
	for id := range refs {
		if _, ok := cands[id]; !ok {
			return nil, fmt.Errorf("vision: caption set: image %q has references but no candidate", id)
		}
	}
	slices.Sort(s.ids)
	vocab := map[string]int32{}
	intern := func(caption string) []int32 {
		toks := tokenize(caption)
		out := make([]int32, len(toks))
		for k, t := range toks {
			id, ok := vocab[t]
			if !ok {
				id = int32(len(vocab))
				vocab[t] = id
			}
			out[k] = id
		}
		return out
	}
	s.cands = make([][]int32, len(s.ids))
	s.refs = make([][][]int32, len(s.ids))
	for i, id := range s.ids {
		s.cands[i] = intern(cands[id])
		for _, r := range refs[id] {
			s.refs[i] = append(s.refs[i], intern(r))
		}
	}
	return s, nil
}

// IDs returns the set's image ids, sorted; per-image results follow no order.
func (s *CaptionSet) IDs() []string { return slices.Clone(s.ids) }

// CIDErD scores each image and the set (the mean over images) with pycocoevalcap's
// Cider(), which is CIDEr-D: n-grams of 1 to 4 tokens weighted by
// tf·(log(#images) − log(max(1, df))), where df counts the images whose
// references contain the n-gram; per n the clipped cosine
// Σ min(v_cand, v_ref)·v_ref / (‖v_cand‖·‖v_ref‖) times the Gaussian length
// penalty exp(−δ²/(2·6²)); the mean over n and references, times 10.
//
// As in pycocoevalcap, δ is the difference of the two captions' bigram counts
// (cider_scorer.py's "if n == 1: length += term_freq" on a 0-based n), not of
// their lengths, and a set of one image scores 0 (log 1 = 0 weights every n-gram 0).
func (s *CaptionSet) CIDErD() (score float64, perImage map[string]float64) {
	const n, sigma = 4, 6.0
	refCounts := make([][]ngramCounts, len(s.ids))
	df := map[string]float64{}
	for i, refs := range s.refs {
		seen := map[string]bool{}
		for _, r := range refs {
			c := countNgrams(r, n)
			refCounts[i] = append(refCounts[i], c)
			for _, g := range c.order {
				seen[g] = true
			}
		}
		for g := range seen {
			df[g]++
		}
	}
	refLen := math.Log(float64(len(s.ids)))

	perImage = make(map[string]float64, len(s.ids))
	for i, id := range s.ids {
		cand := tfidf(countNgrams(s.cands[i], n), df, refLen)
		var sum [n]float64
		for _, rc := range refCounts[i] {
			ref := tfidf(rc, df, refLen)
			sim := cand.similarity(ref, sigma)
			for k := range sum {
				sum[k] += sim[k]
			}
		}
		avg := (((sum[0] + sum[1]) + sum[2]) + sum[3]) / n
		avg /= float64(len(refCounts[i]))
		avg *= 10
		perImage[id] = avg
		score += avg
	}
	return score / float64(len(s.ids)), perImage
}

// CIDErD scores candidate captions against references with pycocoevalcap's
// Cider() after tokenizing them with TokenizeCaption: the set's score and each
// image's. See CaptionSet.CIDErD.
func CIDErD(cands map[string]string, refs map[string][]string) (score float64, perImage map[string]float64, err error) {
	s, err := NewCaptionSet(cands, refs, nil)
	if err != nil {
		return 0, nil, err
	}
	score, perImage = s.CIDErD()
	return score, perImage, nil
}

// ngramCounts counts a caption's n-grams, in the order pycocoevalcap's precook
// first meets them (all unigrams, then bigrams, …), so that sums run in its order.
type ngramCounts struct {
	order []string       // distinct n-grams, first occurrence first
	count map[string]int // n-gram → count
	words int            // caption length in tokens
}

// ngramKey is n token ids, 4 bytes each: its length gives n.
func ngramKey(toks []int32) string {
	b := make([]byte, 0, 4*len(toks))
	for _, t := range toks {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	return string(b)
}

func countNgrams(toks []int32, n int) ngramCounts {
	c := ngramCounts{count: map[string]int{}, words: len(toks)}
	for k := 1; k <= n; k++ {
		for i := 0; i+k <= len(toks); i++ {
			g := ngramKey(toks[i : i+k])
			if c.count[g] == 0 {
				c.order = append(c.order, g)
			}
			c.count[g]++
		}
	}
	return c
}

// ciderVec is cider_scorer.py's counts2vec: tf-idf weights per n, their norms,
// and the "length" (the bigram count).
type ciderVec struct {
	order  []string
	weight map[string]float64 // n-gram → tf·idf
	norm   [4]float64         // [n-1]
	length int
}

func tfidf(c ngramCounts, df map[string]float64, refLen float64) ciderVec {
	v := ciderVec{order: c.order, weight: make(map[string]float64, len(c.order))}
	for _, g := range c.order {
		tf := c.count[g]
		w := float64(tf) * (refLen - math.Log(max(1, df[g])))
		v.weight[g] = w
		k := len(g)/4 - 1
		v.norm[k] += w * w
		if k == 1 {
			v.length += tf
		}
	}
	for k := range v.norm {
		v.norm[k] = math.Sqrt(v.norm[k])
	}
	return v
}

// similarity is cider_scorer.py's sim: per n, the clipped cosine of the candidate
// (v) and a reference, times the length penalty.
func (v ciderVec) similarity(ref ciderVec, sigma float64) [4]float64 {
	delta := float64(v.length - ref.length)
	penalty := math.Pow(math.E, -(delta*delta)/(2*sigma*sigma))
	var val [4]float64
	for _, g := range v.order {
		r := ref.weight[g]
		val[len(g)/4-1] += min(v.weight[g], r) * r
	}
	for k := range val {
		if v.norm[k] != 0 && ref.norm[k] != 0 {
			val[k] /= v.norm[k] * ref.norm[k]
		}
		val[k] *= penalty
	}
	return val
}
