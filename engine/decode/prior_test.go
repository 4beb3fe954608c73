package decode

import (
	"slices"
	"testing"
)

func TestPriorGuidedSelect(t *testing.T) {
	const M = -1 // mask
	// Four masked positions of a block whose offset 0 is generated index 4.
	cands := func(gen []int32, toks []int32, confs []float32) *Candidates {
		c := &Candidates{Generated: gen, Base: 4}
		for i := range toks {
			c.Pos = append(c.Pos, i)
			c.Choice = append(c.Choice, Choice{Token: toks[i], Conf: confs[i]})
		}
		return c
	}
	prefix := []int32{10, 11, 12, 13, M, M, M, M}
	draft := Draft{Tokens: []int32{10, 11, 12, 13, 14, 15, 16, 17}, Conf: []float32{1, 1, 1, 1, 0.9, 0.9, 0.2, 0.9}, Tail: 99}
	tests := []struct {
		name  string
		p     PriorGuided
		gen   []int32
		toks  []int32
		confs []float32
		want  []int
	}{
		{"agreement commits", PriorGuided{Draft: draft, AgreeTau: 0.5, DraftTau: 0.5}, prefix,
			[]int32{14, 15, 16, 17}, []float32{0.8, 0.6, 0.7, 0.55}, []int{0, 1, 3}}, // 16's draft conf 0.2 proposes nothing
		{"disagreement waits", PriorGuided{Draft: draft, AgreeTau: 0.5, DraftTau: 0.5}, prefix,
			[]int32{14, 7, 7, 7}, []float32{0.4, 0.9, 0.9, 0.9}, []int{1}}, // only the top one (progress)
		{"model below AgreeTau", PriorGuided{Draft: draft, AgreeTau: 0.7, DraftTau: 0.5}, prefix,
			[]int32{14, 15, 16, 17}, []float32{0.8, 0.6, 0.9, 0.65}, []int{2, 0}},
		{"fallback adds its own", PriorGuided{Draft: draft, Fallback: Threshold{Tau: 0.85}, AgreeTau: 0.5, DraftTau: 0.5}, prefix,
			[]int32{14, 7, 7, 7}, []float32{0.6, 0.95, 0.9, 0.3}, []int{1, 2, 0}},
		{"veto holds a fallback pick", PriorGuided{Draft: draft, Fallback: Threshold{Tau: 0.85}, AgreeTau: 0.5, DraftTau: 0.5, Veto: 0.8}, prefix,
			[]int32{14, 7, 7, 7}, []float32{0.97, 0.95, 0.9, 0.3}, []int{0, 2}}, // 15 (conf 0.9) vetoes 7; 16 (conf 0.2) does not
		{"tail past the draft", PriorGuided{Draft: Draft{Tokens: []int32{10, 11, 12, 13, 14}, Conf: []float32{1, 1, 1, 1, 1}, Tail: 99}, AgreeTau: 0.5, DraftTau: 0.5}, prefix,
			[]int32{14, 99, 99, 99}, []float32{0.9, 0.8, 0.8, 0.8}, []int{0, 1, 2, 3}},
		{"dropped word realigns", PriorGuided{Draft: Draft{Tokens: []int32{10, 12, 13, 14, 15}, Conf: []float32{1, 1, 1, 1, 1}, Tail: -1}, AgreeTau: 0.5, DraftTau: 0.5}, prefix,
			[]int32{14, 15, 5, 6}, []float32{0.9, 0.8, 0.8, 0.8}, []int{0, 1}}, // draft lacks 11: shift -1
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Select(cands(tt.gen, tt.toks, tt.confs))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPriorGuidedShift(t *testing.T) {
	p := PriorGuided{Draft: Draft{Tokens: []int32{1, 2, 3, 4, 5, 6}}}
	tests := []struct {
		prefix []int32
		want   int
	}{
		{nil, 0},
		{[]int32{1, 2, 3}, 0},
		{[]int32{1, 3}, 1},        // the output skipped 2: draft runs ahead
		{[]int32{1, 2, 9, 3}, -1}, // the output added 9
		{[]int32{7, 8, 9}, 0},     // nothing in common: no shift
	}
	for _, tt := range tests {
		if got := p.shift(tt.prefix); got != tt.want {
			t.Errorf("shift(%v) = %d, want %d", tt.prefix, got, tt.want)
		}
	}
}
