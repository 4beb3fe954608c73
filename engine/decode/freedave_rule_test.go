package decode

import "testing"

// The acceptance rule by hand: state 0 is the current state, state i+1
// the candidate with drafts[:i+1] committed; each state is its step
// positions with their choices (token, confidence). A draft is accepted
// when the state before it commits exactly it (its most confident choice:
// same position, same token) and that state was run or is the current one.
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
		name   string
		states []st // the current state, then candidates 1..len(drafts)
		want   int
	}{
		{"all hold", []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{10, 30}, 0.8, 0.7),
			mk([]int{3}, []int32{30}, 0.6),
			mk(nil, nil),
		}, 3},
		{"current state commits another position", []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.4, 0.9),
		}, 0},
		{"right position, other token", []st{
			mk([]int{0, 2, 3}, []int32{10, 21, 30}, 0.5, 0.9, 0.4),
		}, 0},
		{"candidate 1 changes its mind", []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{11, 30}, 0.8, 0.7), // position 0 now gets 11
		}, 1},
		{"a tie goes to the lower position; candidate 2 changes the token", []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{10, 30}, 0.7, 0.7), // tie: the lower position wins, position 0
			mk([]int{3}, []int32{31}, 0.6),
		}, 2},
		{"candidate 2 not run: accepted, its step left to the next forward", []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			mk([]int{0, 3}, []int32{10, 30}, 0.8, 0.7),
			{run: false},
		}, 2},
		{"candidate 1 not run: only it", []st{
			mk([]int{0, 2, 3}, []int32{10, 20, 30}, 0.5, 0.9, 0.4),
			{run: false},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			choices := func(s st) []Choice {
				ch := make([]Choice, len(s.pos))
				for i := range ch {
					ch[i] = Choice{Token: s.tok[i], Conf: s.conf[i]}
				}
				return ch
			}
			cur := tt.states[0]
			got := accepted(cur.pos, choices(cur), drafts, func(i int) ([]int, []Choice, bool) {
				if i+1 >= len(tt.states) {
					t.Fatalf("candidate %d asked for, past the states the case gives", i+1)
				}
				s := tt.states[i+1]
				return s.pos, choices(s), s.run
			})
			if got != tt.want {
				t.Fatalf("accepted %d drafts, want %d", got, tt.want)
			}
		})
	}
	if got := accepted([]int{1}, []Choice{{Token: 5, Conf: 1}}, nil, nil); got != 0 {
		t.Fatalf("no drafts: accepted %d", got)
	}
}
