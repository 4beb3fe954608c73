package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var tinyQwen25VL = filepath.Join("..", "testdata", "models", "tiny-qwen25vl")

// imagePrompt is text(5), n = lh·lw image placeholders (id 4), text(7), with
// get_rope_index's M-RoPE ids for an lh×lw merged grid: image row (y, x)
// at (5, 5+y, 5+x); the text after it continues at 5 + max(lh, lw).
func imagePrompt(lh, lw int) ([]int32, [3][]int) {
	const ph = 4
	toks := slices.Concat(ids(2, 5), slices.Repeat([]int32{ph}, lh*lw), ids(3, 7))
	for i, t := range toks {
		if t == ph && (i < 5 || i >= 5+lh*lw) {
			toks[i] = ph + 1
		}
		toks[i] %= 390 // tiny-qwen25vl's vocabulary is 416
	}
	var pos [3][]int
	for p := range 5 {
		for a := range pos {
			pos[a] = append(pos[a], p)
		}
	}
	for y := range lh {
		for x := range lw {
			pos[0], pos[1], pos[2] = append(pos[0], 5), append(pos[1], 5+y), append(pos[2], 5+x)
		}
	}
	for i := range 7 {
		for a := range pos {
			pos[a] = append(pos[a], 5+max(lh, lw)+i)
		}
	}
	return toks, pos
}

func plainPositions(n int) [3][]int {
	var pos [3][]int
	for a := range pos {
		for p := range n {
			pos[a] = append(pos[a], p)
		}
	}
	return pos
}

// M-RoPE requests: explicit equal ids decode exactly like a request with
// none (and share its prefix-cache entries); image layouts with the same
// tokens and rows but other positions never share K/V; outputs equal an
// engine without the prefix cache; bad positions are refused.
func TestRequestPositions(t *testing.T) {
	cached, err := New(tinyQwen25VL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	plain, err := New(tinyQwen25VL, Options{PrefixCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	H := cached.Model.Config().HiddenSize
	rows := make([]float32, 8*H)
	for i := range rows {
		rows[i] = float32(i%17-8) * 0.05
	}
	media := []Media{{Token: 4, Rows: rows}}
	text := ids(4, 22)
	for i := range text {
		text[i] %= 390
		if text[i] == 4 {
			text[i] = 5
		}
	}
	wide, widePos := imagePrompt(2, 4)
	tall, tallPos := imagePrompt(4, 2)
	if !slices.Equal(wide, tall) {
		t.Fatal("the two layouts must have the same tokens")
	}
	steps := []struct {
		name   string
		req    Request
		cached int // prompt rows reused
	}{
		{"text, no positions", Request{Tokens: text}, 0},
		{"text, equal explicit ids: same entries", Request{Tokens: text, Positions: plainPositions(len(text))}, 16},
		{"text, autoregressive, equal ids", Request{Tokens: text, Positions: plainPositions(len(text)), Autoregressive: true}, 0},
		{"image 2x4", Request{Tokens: wide, Media: media, Positions: widePos}, 0},
		{"image 2x4 again", Request{Tokens: wide, Media: media, Positions: widePos}, 16},
		{"image 4x2: same tokens and rows, other positions", Request{Tokens: tall, Media: media, Positions: tallPos}, 0},
		{"image 4x2, autoregressive", Request{Tokens: tall, Media: media, Positions: tallPos, Autoregressive: true}, 0},
		{"image 4x2, autoregressive again", Request{Tokens: tall, Media: media, Positions: tallPos, Autoregressive: true}, 19},
	}
	outs := map[string][]int32{}
	for _, st := range steps {
		st.req.MaxNewTokens = 10
		got, err := cached.Generate(context.Background(), st.req)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want, err := plain.Generate(context.Background(), st.req)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(got.TokenIDs, want.TokenIDs) {
			t.Errorf("%s: %v with the prefix cache, %v without", st.name, got.TokenIDs, want.TokenIDs)
		}
		if got.CachedRows != st.cached {
			t.Errorf("%s: %d cached rows, want %d", st.name, got.CachedRows, st.cached)
		}
		outs[st.name] = got.TokenIDs
	}
	noPos, err := plain.Generate(context.Background(), Request{Tokens: text, MaxNewTokens: 10, Autoregressive: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(outs["text, no positions"], outs["text, equal explicit ids: same entries"]) ||
		!slices.Equal(noPos.TokenIDs, outs["text, autoregressive, equal ids"]) {
		t.Error("equal explicit ids decode differently from 1-D positions")
	}
	if slices.Equal(outs["image 2x4"], outs["image 4x2: same tokens and rows, other positions"]) {
		t.Error("the two image layouts decode alike: positions ignored?")
	}

	sdar := newTiny(t, Options{})
	bad := []struct {
		name string
		e    *Engine
		req  Request
		want string
	}{
		{"model without M-RoPE", sdar, Request{Tokens: ids(1, 6), Positions: [3][]int{plainPositions(6)[0], {0, 1, 2, 3, 4, 9}, plainPositions(6)[2]}}, "no mrope_section"},
		{"short axis", cached, Request{Tokens: text, Positions: [3][]int{plainPositions(22)[0], plainPositions(21)[1], plainPositions(22)[2]}}, "axis 1 has 21 ids for a prompt of 22"},
		{"one axis only", cached, Request{Tokens: text, Positions: [3][]int{plainPositions(22)[0]}}, "axis 1 has 0 ids"},
		{"negative id", cached, Request{Tokens: wide, Media: media, Positions: [3][]int{widePos[0], widePos[1], append([]int{-1}, widePos[2][1:]...)}}, "negative id -1"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.e.Generate(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
