package decode

import (
	"math"
	"slices"
	"testing"
)

// The walk by hand: state 0 is the current state, state a the candidate
// with drafts[:a] committed; each state is its step positions with their
// choices (token, confidence) and whether it was run. The wrapped policy
// picks each state's commits from its own choices, at the step count of
// the path that reached it; the walk moves past the drafts a state commits
// exactly (any order) and stops at the first state that commits anything
// else, or that was not run.
func TestFreeDaveAcceptance(t *testing.T) {
	type st struct {
		pos  []int
		tok  []int32
		conf []float32
		run  bool
	}
	mk := func(pos []int, tok []int32, conf ...float32) st { return st{pos, tok, conf, true} }
	drafts := []draft{{pos: 2, tok: 20}, {pos: 0, tok: 10}, {pos: 3, tok: 30}}
	tests := []struct {
		name      string
		rule      Policy
		step0     int  // the current state's step count
		states    []st // the current state, then candidates 1..len(drafts)
		n, steps  int
		wantSteps []int // the step count each state asked was given
	}{
		{name: "all hold", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{10, 30}, 0.8, 0.7),
			mk([]int{3}, []int32{30}, 0.6),
			mk(nil, nil),
		}, n: 3, steps: 3},
		{name: "current state commits another position", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.4, 0.9),
		}},
		{name: "right position, other token", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 21, 30}, 0.5, 0.9, 0.4),
		}},
		{name: "candidate 1 changes its mind", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{11, 30}, 0.8, 0.7), // position 0 now gets 11
		}, n: 1, steps: 1},
		{name: "a tie goes to the lower position; candidate 2 changes the token", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{10, 30}, 0.7, 0.7), // tie: the lower position wins, position 0
			mk([]int{3}, []int32{31}, 0.6),
		}, n: 2, steps: 2},
		{name: "candidate 2 not run: accepted, its step left to the next forward", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{10, 30}, 0.8, 0.7),
			{run: false},
		}, n: 2, steps: 2},
		{name: "candidate 1 not run: only it", states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			{run: false},
		}, n: 1, steps: 1},
		{name: "threshold: the current state commits two drafts at once", rule: Threshold{Tau: 0.9}, states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.92, 0.95, 0.5), // 2 and 0 clear the bar
			{}, // candidate 1 is jumped over: never asked
			mk([]int{3}, []int32{30}, 0.6),
			mk(nil, nil),
		}, n: 3, steps: 2},
		{name: "threshold: two drafts in the other order", rule: Threshold{Tau: 0.9}, states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.97, 0.95, 0.5),
			{},
			mk([]int{3}, []int32{31}, 0.6), // then another token at 3
		}, n: 2, steps: 1},
		{name: "threshold: a draft and a later one, not the next two", rule: Threshold{Tau: 0.9}, states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.95, 0.93), // 2 and 3: drafts 0 and 2
		}},
		{name: "threshold: the rest of the block in one step", rule: Threshold{Tau: 0.9}, states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.91, 0.99, 0.95),
		}, n: 3, steps: 1},
		{name: "threshold: more than the drafts hold", rule: Threshold{Tau: 0.9}, states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 1, 3}, []int32{10, 15, 30}, 0.95, 0.93, 0.96), // 1 was never drafted
		}, n: 1, steps: 1},
		// A static schedule of 2 steps over 4 masks commits 2 at each step:
		// the path's step count, not the drafts', decides.
		{name: "static schedule: two per step", rule: StaticTopK{Steps: 2}, step0: 1, states: []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			{},
			mk([]int{3}, []int32{30}, 0.6),
			mk(nil, nil),
		}, n: 3, steps: 2, wantSteps: []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := tt.rule
			if rule == nil {
				rule = FreeDave{}
			}
			var asked []int
			n, steps := accepted(prefixes(drafts), func(a, j int) ([]draft, bool) {
				if a >= len(tt.states) {
					t.Fatalf("state %d asked for, past the states the case gives", a)
				}
				s := tt.states[a]
				if !s.run {
					return nil, false
				}
				asked = append(asked, tt.step0+j)
				c := &Candidates{Pos: s.pos, Step: tt.step0 + j, Masks0: 4}
				for i := range s.pos {
					c.Choice = append(c.Choice, Choice{Token: s.tok[i], Conf: s.conf[i]})
				}
				var got []draft
				for _, i := range rule.Select(c) {
					got = append(got, draft{pos: s.pos[i], tok: s.tok[i]})
				}
				return got, true
			})
			if n != tt.n || steps != tt.steps {
				t.Fatalf("stopped at state %d after %d steps, want %d after %d", n, steps, tt.n, tt.steps)
			}
			if tt.wantSteps != nil && !slices.Equal(asked, tt.wantSteps) {
				t.Fatalf("states asked at steps %v, want %v", asked, tt.wantSteps)
			}
		})
	}
	if n, _ := accepted(nil, nil); n != 0 {
		t.Fatalf("no drafts: accepted %d", n)
	}
}

// The tree's walk by hand: candidate sets beyond the chain's prefixes let
// the walk go where the chain stops, a step that commits drafts out of
// their confidence order, or a token a position held as its second
// choice, and it still stops where no set is exactly what the path
// committed.
func TestFreeDaveTreeAcceptance(t *testing.T) {
	d0, d1, d2 := draft{pos: 2, tok: 20}, draft{pos: 0, tok: 10}, draft{pos: 3, tok: 30}
	alt1 := draft{pos: 0, tok: 11} // position 0's second token
	chain := prefixes([]draft{d0, d1, d2})
	type st struct {
		pos  []int
		tok  []int32
		conf []float32
	}
	tests := []struct {
		name   string
		sets   [][]draft // beyond the chain's
		states map[int]st
		n      int
		have   []draft
	}{
		{name: "drafts 1 and 2, not the next two: the chain stops", states: map[int]st{
			0: {[]int{0, 2, 3}, []int32{10, 20, 30}, []float32{0.95, 0.5, 0.93}},
		}},
		{name: "drafts 1 and 2 as a set of the tree", sets: [][]draft{{d1}, {d1, d2}}, states: map[int]st{
			0: {[]int{0, 2, 3}, []int32{10, 20, 30}, []float32{0.95, 0.5, 0.93}},
			5: {[]int{2}, []int32{20}, []float32{0.6}},
		}, n: 3, have: []draft{d0, d1, d2}},
		{name: "a second token", sets: [][]draft{{d0, alt1}}, states: map[int]st{
			0: {[]int{0, 2, 3}, []int32{10, 20, 30}, []float32{0.5, 0.95, 0.4}},
			1: {[]int{0, 3}, []int32{11, 30}, []float32{0.92, 0.5}}, // position 0 now gets its second token
			4: {[]int{3}, []int32{30}, []float32{0.5}},
		}, n: 4, have: []draft{d0, alt1}},
		{name: "a token neither draft holds", sets: [][]draft{{d0, alt1}}, states: map[int]st{
			0: {[]int{0, 2, 3}, []int32{10, 20, 30}, []float32{0.5, 0.95, 0.4}},
			1: {[]int{0, 3}, []int32{12, 30}, []float32{0.92, 0.5}},
		}, n: 1, have: []draft{d0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sets := append(slices.Clone(chain), tt.sets...)
			n, _ := accepted(sets, func(a, j int) ([]draft, bool) {
				s, ok := tt.states[a]
				if !ok {
					return nil, false
				}
				c := &Candidates{Pos: s.pos, Step: j, Masks0: 4}
				for i := range s.pos {
					c.Choice = append(c.Choice, Choice{Token: s.tok[i], Conf: s.conf[i]})
				}
				var got []draft
				for _, i := range (Threshold{Tau: 0.9}).Select(c) {
					got = append(got, draft{pos: s.pos[i], tok: s.tok[i]})
				}
				return got, true
			})
			var have []draft
			if n > 0 {
				have = sets[n-1]
			}
			if n != tt.n || !slices.Equal(have, tt.have) {
				t.Fatalf("stopped at state %d holding %v, want %d holding %v", n, have, tt.n, tt.have)
			}
		})
	}
}

// The tree's candidate sets: every combination of the drafts with their
// first or other tokens, the chain's prefixes left out (they run anyway),
// the most probable first, at most Tree of them.
func TestFreeDaveTreeSets(t *testing.T) {
	d0, d1 := draft{pos: 1, tok: 5}, draft{pos: 2, tok: 6}
	a1 := alt{draft{pos: 2, tok: 7}, 0.3}
	s := &freeDaveSeq{tree: 100, drafts: []draft{d0, d1}, pDraft: []float32{0.9, 0.6}, alts: [][]alt{nil, {a1}}}
	want := [][]draft{
		{d1},           // 0.6
		{a1.draft},     // 0.3
		{d0, a1.draft}, // 0.27
	}
	if got := s.treeSets(); !slices.EqualFunc(got, want, slices.Equal[[]draft]) {
		t.Fatalf("sets %v, want %v", got, want)
	}
	s.tree = 2
	if got := s.treeSets(); !slices.EqualFunc(got, want[:2], slices.Equal[[]draft]) {
		t.Fatalf("Tree 2: sets %v, want %v", got, want[:2])
	}
	s.tree = 0
	if got := s.treeSets(); got != nil {
		t.Fatalf("Tree 0: sets %v, want none", got)
	}
}

// others: the next most likely tokens of a row above the bar, most likely
// first, at most maxAlts, never the first; none for a row of -Inf.
func TestFreeDaveOthers(t *testing.T) {
	inf := float32(math.Inf(-1))
	row := []float32{0, 2, inf, 1, 1, -5} // softmax ~ 0.072, 0.534, 0, 0.197, 0.197, 0.0005
	got := others(row, 1, 3, 0.01)
	if len(got) != 2 || got[0].tok != 3 || got[1].tok != 4 || got[0].pos != 3 || math.Abs(float64(got[0].p)-0.1965) > 1e-3 {
		t.Fatalf("others = %+v, want tokens 3 then 4 (tie: the lower id) at position 3, p 0.197", got)
	}
	if got := others(row, 1, 3, 0.5); len(got) != 0 {
		t.Fatalf("bar 0.5: others = %+v, want none", got)
	}
	if got := others([]float32{inf, inf}, 0, 0, 0); got != nil {
		t.Fatalf("a row of -Inf: others = %+v", got)
	}
}
