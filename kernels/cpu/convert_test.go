package cpu

import (
	"math"
	"testing"
)

func TestF16ToF32(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.960464477539063e-08},
		{0x03ff, 6.097555160522461e-05}, {0x0400, 6.103515625e-05}, {0x3555, 0.333251953125},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := f16(tt.h); got != tt.want {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", tt.h, got, tt.want)
		}
	}
	if !math.IsNaN(float64(f16(0x7e00))) {
		t.Error("F16 NaN did not widen to NaN")
	}
	if math.Signbit(float64(f16(0x8000))) != true {
		t.Error("-0 lost its sign")
	}
}

func TestBF16RoundTripScalar(t *testing.T) {
	tests := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3f80}, {-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above half rounds up
		{float32(math.Inf(1)), 0x7f80},
	}
	for _, tt := range tests {
		if got := bf16(tt.f); got != tt.want {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", tt.f, got, tt.want)
		}
		var back [1]float32
		if BF16ToF32(back[:], []uint16{tt.want}); bf16(back[0]) != tt.want {
			t.Errorf("round trip of %#04x changed", tt.want)
		}
	}
	var w [1]float32
	b := bf16(float32(math.NaN()))
	if BF16ToF32(w[:], []uint16{b}); !math.IsNaN(float64(w[0])) {
		t.Errorf("NaN became %#04x", b)
	}
}
