package asr

import (
	"fmt"
	"math"
	"strings"
)

// Edits counts a word alignment of a hypothesis against a reference:
// Hits+Substitutions+Deletions reference words, Hits+Substitutions+Insertions hypothesis words.
type Edits struct {
	Hits          int
	Substitutions int
	Deletions     int // reference words missing from the hypothesis
	Insertions    int // hypothesis words not in the reference
}

// Errors is S+D+I, the word edit distance.
func (e Edits) Errors() int { return e.Substitutions + e.Deletions + e.Insertions }

// RefWords is the number of reference words, H+S+D.
func (e Edits) RefWords() int { return e.Hits + e.Substitutions + e.Deletions }

// WER is Errors/RefWords: 0 when there are no errors, +Inf for errors against an empty
// reference.
func (e Edits) WER() float64 {
	switch n := e.RefWords(); {
	case e.Errors() == 0:
		return 0
	case n == 0:
		return math.Inf(1)
	default:
		return float64(e.Errors()) / float64(n)
	}
}

// Add returns the sum of two counts.
func (e Edits) Add(o Edits) Edits {
	return Edits{e.Hits + o.Hits, e.Substitutions + o.Substitutions, e.Deletions + o.Deletions, e.Insertions + o.Insertions}
}

func (e Edits) String() string {
	return fmt.Sprintf("H=%d S=%d D=%d I=%d", e.Hits, e.Substitutions, e.Deletions, e.Insertions)
}

// Alignment steps, in the order Align prefers them among equally cheap ones.
const (
	stepDiag byte = iota // hit or substitution
	stepDel              // reference word dropped
	stepIns              // hypothesis word added
)

// Align counts the edits of a minimum word edit distance alignment (unit costs) of hyp
// against ref: dynamic programming over (len(ref)+1)×(len(hyp)+1), then a backtrace.
// Among equally short alignments it prefers, from the end backwards, a hit or
// substitution, then a deletion, then an insertion; Errors() is the same for all of them.
func Align(ref, hyp []string) Edits {
	R, H := len(ref), len(hyp)
	// steps[i*(H+1)+j] is the last step of a best alignment of ref[:i] with hyp[:j];
	// cost rows prev/cur hold the distances of row i-1 and i.
	steps := make([]byte, (R+1)*(H+1))
	prev, cur := make([]int, H+1), make([]int, H+1)
	for j := 1; j <= H; j++ {
		prev[j] = j
		steps[j] = stepIns
	}
	for i := 1; i <= R; i++ {
		cur[0] = i
		steps[i*(H+1)] = stepDel
		for j := 1; j <= H; j++ {
			diag := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				diag++
			}
			best, step := diag, stepDiag
			if d := prev[j] + 1; d < best {
				best, step = d, stepDel
			}
			if in := cur[j-1] + 1; in < best {
				best, step = in, stepIns
			}
			cur[j], steps[i*(H+1)+j] = best, step
		}
		prev, cur = cur, prev
	}

	var e Edits
	for i, j := R, H; i > 0 || j > 0; {
		switch steps[i*(H+1)+j] {
		case stepDiag:
			if ref[i-1] == hyp[j-1] {
				e.Hits++
			} else {
				e.Substitutions++
			}
			i, j = i-1, j-1
		case stepDel:
			e.Deletions++
			i--
		case stepIns:
			e.Insertions++
			j--
		}
	}
	return e
}

// Corpus accumulates a corpus-level WER: total edits over total reference words, not a
// mean of per-utterance WERs. The zero value splits on whitespace without normalizing;
// set Normalizer to compare normalized text (EnglishNormalizer for published English
// figures, BasicNormalizer for the demo-speech ones). Not safe for concurrent use; Merge
// combines corpora counted separately.
type Corpus struct {
	Normalizer Normalizer // applied to reference and hypothesis; nil: none

	Edits            // totals over every Add
	Utterances   int // number of Add calls
	ExactMatches int // utterances with no word error after normalization
}

// Add aligns one utterance, adds it to the totals and returns its edits.
func (c *Corpus) Add(ref, hyp string) Edits {
	if c.Normalizer != nil {
		ref, hyp = c.Normalizer.Normalize(ref), c.Normalizer.Normalize(hyp)
	}
	e := Align(strings.Fields(ref), strings.Fields(hyp))
	c.Edits = c.Edits.Add(e)
	c.Utterances++
	if e.Errors() == 0 {
		c.ExactMatches++
	}
	return e
}

// Merge adds another corpus's counts (its normalizer is not consulted).
func (c *Corpus) Merge(o Corpus) {
	c.Edits = c.Edits.Add(o.Edits)
	c.Utterances += o.Utterances
	c.ExactMatches += o.ExactMatches
}

// WER is the corpus word error rate (S+D+I)/N over all utterances added.
func (c *Corpus) WER() float64 { return c.Edits.WER() }

// String reports the WER with its counts, e.g.
// "WER 2.41% (S=9 D=2 I=1 N=498; 210 utterances, 198 exact)".
func (c *Corpus) String() string {
	return fmt.Sprintf("WER %.2f%% (S=%d D=%d I=%d N=%d; %d utterances, %d exact)",
		100*c.WER(), c.Substitutions, c.Deletions, c.Insertions, c.RefWords(), c.Utterances, c.ExactMatches)
}
