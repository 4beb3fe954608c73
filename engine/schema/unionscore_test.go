package schema

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"dlmstream/engine"
	"dlmstream/kernels/cpu"
)

// TestHeadScores checks union-head scores against bruteScores: each head
// is scored as a choice of its own width, the rest of its last block
// masked, on the block-causal (shifted and unshifted) and causal families.
func TestHeadScores(t *testing.T) {
	for _, dir := range []string{"tiny-sdar", "tiny-fastdllm", "tiny-qwen3"} {
		t.Run(dir, func(t *testing.T) {
			e, err := engine.New("../../testdata/models/"+dir, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			m := e.Model
			V := int32(m.Config().VocabSize)
			r := rand.New(rand.NewPCG(5, 6))
			toks := func(n int) []int32 {
				s := make([]int32, n)
				for i := range s {
					s[i] = 10 + r.Int32N(min(V, 500)-10)
				}
				return s
			}
			mask := e.Arch().MaskID
			B := 1
			if m.Traits().Mask.Kind == cpu.BlockCausal {
				B = m.Traits().Mask.Block
			}
			tail := slices.Repeat([]int32{mask}, B)
			for _, n := range []int{13, 16, 30} {
				prefix := toks(n)
				heads := [][]int32{toks(1), toks(5), toks(1), toks(3)}
				got, _, err := headScores(context.Background(), e, prefix, heads, mask)
				if err != nil {
					t.Fatal(err)
				}
				for i, h := range heads {
					want := bruteScores(t, m, prefix, [][]int32{h}, len(h), tail, mask, mask)[0]
					if math.Abs(got[i]-want) > 1e-3*max(1, math.Abs(want)) {
						t.Errorf("prefix %d head %d: score %.5f, brute force %.5f", n, i, got[i], want)
					}
				}
			}
		})
	}
}

// Unions extract valid JSON on every model family, the branch chosen by
// scoring (its forwards counted).
func TestExtractUnions(t *testing.T) {
	const src = `{"type":"object","properties":{
		"contact":{"oneOf":[
			{"type":"object","properties":{"email":{"type":"string","format":"email"}},"required":["email"],"additionalProperties":false},
			{"type":"object","properties":{"phone":{"type":"string","pattern":"^[0-9]{6,10}$"}},"required":["phone"],"additionalProperties":false}]},
		"amount":{"anyOf":[{"type":"number","minimum":0},{"type":"string","maxLength":6},{"type":"null"}]}},
		"required":["contact","amount"]}`
	s, err := Compile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"tiny-sdar", "tiny-fastdllm", "tiny-qwen3"} {
		t.Run(dir, func(t *testing.T) {
			e, err := engine.New("../../testdata/models/"+dir, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			res, err := Extract(context.Background(), e, "Reach Ann at ann@example.com, she owes 12.", s, Options{StringBudget: 4, Instruction: "Extract JSON."})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(res.JSON); err != nil {
				t.Fatal(err)
			}
			if res.Forwards < 3 {
				t.Errorf("%d forwards: the two unions were not scored", res.Forwards)
			}
			t.Logf("%s (%d forwards)", res.JSON, res.Forwards)
		})
	}
}
