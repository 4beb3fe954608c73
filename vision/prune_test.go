package vision

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/decode"
)

// Hand-made rows [n, 2] pin the selection: duplicates and near-duplicates
// go last, the kept indices come back in prompt order, pinned rows stay.
func TestKeepDiverse(t *testing.T) {
	// Directions: 0 and 4 are east, 1 north, 2 west, 3 nearly east, 5 south.
	rows := []float32{
		1, 0, // 0 east
		0, 1, // 1 north
		-1, 0, // 2 west
		1, 0.05, // 3 nearly east
		2, 0, // 4 east, longer: the same direction as 0
		0, -1, // 5 south
	}
	tests := []struct {
		name   string
		k      int
		pinned []int
		want   []int
	}{
		{"one: the first row", 1, nil, []int{0}},
		{"two: the opposite of the first", 2, nil, []int{0, 2}},
		{"four: the compass", 4, nil, []int{0, 1, 2, 5}},
		{"five: the near-duplicate before the duplicate", 5, nil, []int{0, 1, 2, 3, 5}},
		{"all", 6, nil, []int{0, 1, 2, 3, 4, 5}},
		{"pinned north: south next", 2, []int{1}, []int{1, 5}},
		{"pinned north and south: east then west", 4, []int{1, 5}, []int{0, 1, 2, 5}},
		{"only the pinned", 2, []int{5, 3}, []int{3, 5}},
	}
	for _, tt := range tests {
		got, err := KeepDiverse(rows, 6, 2, tt.k, tt.pinned)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: KeepDiverse(k=%d, pinned %v) = %v, %v; want %v", tt.name, tt.k, tt.pinned, got, err, tt.want)
		}
	}
	bad := []struct {
		name   string
		rows   []float32
		k      int
		pinned []int
		want   string
	}{
		{"none kept", rows, 0, nil, "want 1 to 6"},
		{"more than there are", rows, 7, nil, "want 1 to 6"},
		{"fewer than pinned", rows, 1, []int{1, 2}, "want 2 to 6"},
		{"pinned outside", rows, 2, []int{6}, "pinned row 6 outside [0, 6)"},
		{"pinned twice", rows, 3, []int{1, 1}, "row 1 pinned twice"},
		{"ragged rows", rows[:11], 2, nil, "11 floats, want 6×2"},
	}
	for _, tt := range bad {
		if _, err := KeepDiverse(tt.rows, 6, 2, tt.k, tt.pinned); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// On demo-vision, pruning keeps the image_newline rows, drops exact
// duplicates first, and leaves every kept row and token at its original
// position (the text after the image too); keeping every row decodes
// exactly as no pruning does.
func TestCaptionKeepImageTokens(t *testing.T) {
	eng := demoVisionEngine(t)
	c, err := NewCaptioner(eng)
	if err != nil {
		t.Fatal(err)
	}
	dir, items := heldoutImages(t)
	img := loadImage(t, filepath.Join(dir, items[0].Image))
	f, err := c.Vision.Encode(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Layout) == 0 {
		t.Fatal("demo-vision's features mark no image_newline rows")
	}
	full, err := c.request(f, CaptionOptions{KeepImageTokens: 0.9999}) // every row, explicit positions
	if err != nil {
		t.Fatal(err)
	}
	half, err := c.request(f, CaptionOptions{KeepImageTokens: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	content := f.N - len(f.Layout)
	wantRows := len(f.Layout) + (content+1)/2
	if got := len(half.Media[0].Rows) / f.Hidden; got != wantRows {
		t.Errorf("half: %d rows, want %d (%d layout + half of %d)", got, wantRows, len(f.Layout), content)
	}
	if len(full.Tokens)-len(half.Tokens) != f.N-wantRows {
		t.Errorf("half: %d prompt tokens, want %d", len(half.Tokens), len(full.Tokens)-(f.N-wantRows))
	}
	// Each kept token carries the position it had in the full prompt: walk
	// the full prompt and find the half one's tokens in order.
	j := 0
	for p, tok := range full.Tokens {
		if j < len(half.Tokens) && half.Tokens[j] == tok && half.Positions[0][j] == full.Positions[0][p] {
			j++
		}
	}
	if j != len(half.Tokens) {
		t.Errorf("half: %d of %d tokens at their original positions", j, len(half.Tokens))
	}
	last := len(half.Tokens) - 1
	if half.Positions[0][last] != len(full.Tokens)-1 {
		t.Errorf("half: the last prompt token at position %d, want %d (renumbered?)", half.Positions[0][last], len(full.Tokens)-1)
	}
	// The layout rows survive: each image_newline row is in the kept rows.
	nl := f.Row(f.Layout[0])
	count := 0
	for r := range len(half.Media[0].Rows) / f.Hidden {
		if slices.Equal(half.Media[0].Rows[r*f.Hidden:(r+1)*f.Hidden], nl) {
			count++
		}
	}
	if count < len(f.Layout) {
		t.Errorf("half: %d image_newline rows kept, want %d", count, len(f.Layout))
	}

	opts := CaptionOptions{Policy: decode.Threshold{Tau: 0.9}}
	want, err := c.Caption(context.Background(), img, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []float64{1, 0.9999} {
		opts.KeepImageTokens = keep
		got, err := c.Caption(context.Background(), img, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != want.Text || got.Forwards != want.Forwards || got.ImageTokens != f.N || got.ImageRows != f.N {
			t.Errorf("keep %g: %q in %d forwards (%d/%d rows), want %q in %d (all %d)", keep, got.Text, got.Forwards, got.ImageTokens, got.ImageRows, want.Text, want.Forwards, f.N)
		}
	}
	opts.KeepImageTokens = 0.25
	got, err := c.Caption(context.Background(), img, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.ImageRows != f.N || got.ImageTokens != len(f.Layout)+content/4 {
		t.Errorf("keep 0.25: %d of %d rows, want %d", got.ImageTokens, got.ImageRows, len(f.Layout)+content/4)
	}
	for _, bad := range []float64{-0.1, 1.5} {
		opts.KeepImageTokens = bad
		if _, err := c.Caption(context.Background(), img, opts); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("KeepImageTokens %g", bad)) {
			t.Errorf("keep %g: err = %v", bad, err)
		}
	}
}
