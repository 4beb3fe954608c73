package model

import (
	"strings"
	"testing"
)

func TestPositions(t *testing.T) {
	// A prompt of text(2), a 2x2 image, text(1): get_rope_index's layout.
	p, err := NewPositions([3][]int{{0, 1, 2, 2, 2, 2, 4}, {0, 1, 2, 2, 3, 3, 4}, {0, 1, 2, 3, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Delta != -2 || p.Len() != 7 {
		t.Fatalf("delta %d, len %d; want -2, 7", p.Delta, p.Len())
	}
	var none *Positions
	tests := []struct {
		name    string
		p       *Positions
		pos     int
		t, h, w int
		plain   bool
	}{
		{"text before the image", p, 1, 1, 1, 1, true},
		{"image row", p, 4, 2, 3, 2, false},
		{"text after the image", p, 6, 4, 4, 4, false},
		{"generated: pos + delta", p, 9, 7, 7, 7, false},
		{"nil: 1-D", none, 9, 9, 9, 9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, c := tt.p.At(tt.pos)
			if a != tt.t || b != tt.h || c != tt.w || tt.p.Plain(tt.pos) != tt.plain {
				t.Errorf("At(%d) = %d, %d, %d (plain %v); want %d, %d, %d (%v)", tt.pos, a, b, c, tt.p.Plain(tt.pos), tt.t, tt.h, tt.w, tt.plain)
			}
		})
	}
}

func TestNewPositionsErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		ids  [3][]int
		want string
	}{
		{"empty", [3][]int{}, "no position ids"},
		{"ragged", [3][]int{{0, 1}, {0, 1}, {0}}, "axis 2 has 1 ids, axis 0 has 2"},
		{"negative", [3][]int{{0, 1}, {0, -1}, {0, 1}}, "axis 1 position 1 has negative id -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPositions(tt.ids); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
