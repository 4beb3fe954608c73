package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestRMSNorm(t *testing.T) {
	for _, tc := range []struct {
		rows, dim int
		eps       float32
		alias     bool
	}{{1, 1, 1e-6, false}, {3, 7, 1e-6, false}, {4, 128, 1e-6, true}, {2, 2048, 1e-5, false}, {5, 33, 1e-6, true}} {
		t.Run(fmt.Sprintf("rows%d_dim%d_alias%v", tc.rows, tc.dim, tc.alias), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.dim), 3))
			x := randF32(rng, tc.rows*tc.dim, 3)
			w := randF32(rng, tc.dim, 2)
			want := make([]float64, len(x))
			for r := range tc.rows {
				var ss float64
				for _, v := range x[r*tc.dim : (r+1)*tc.dim] {
					ss += float64(v) * float64(v)
				}
				inv := 1 / math.Sqrt(ss/float64(tc.dim)+float64(tc.eps))
				for i := range tc.dim {
					want[r*tc.dim+i] = float64(w[i]) * float64(x[r*tc.dim+i]) * inv
				}
			}
			out := make([]float32, len(x))
			if tc.alias {
				out = x
			}
			RMSNorm(out, x, w, tc.rows, tc.dim, tc.eps)
			for i, v := range want {
				if e := math.Abs(float64(out[i])-v) / math.Max(math.Abs(v), 1e-30); e > 1e-6 {
					t.Fatalf("out[%d] = %v, want %v (rel err %.3g > 1e-6)", i, out[i], v, e)
				}
			}
		})
	}
}

func TestRoPE(t *testing.T) {
	for _, tc := range []struct {
		headDim, rows, nHeads int
		theta                 float64
		pos0                  int
	}{{2, 1, 1, 10000, 0}, {64, 3, 2, 10000, 5}, {128, 4, 3, 1e6, 0}, {128, 2, 2, 1e6, 3000}, {16, 5, 4, 500, 1000}} {
		t.Run(fmt.Sprintf("d%d_rows%d_h%d_theta%g_pos%d", tc.headDim, tc.rows, tc.nHeads, tc.theta, tc.pos0), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.headDim), uint64(tc.pos0)))
			x := randF32(rng, tc.rows*tc.nHeads*tc.headDim, 1)
			pos := make([]int, tc.rows)
			for r := range pos {
				pos[r] = tc.pos0 + 3*r // non-contiguous positions
			}
			orig := append([]float32(nil), x...)
			rp := NewRoPE(tc.headDim, tc.theta)
			rp.Apply(x, tc.rows, tc.nHeads, pos)
			d, half := tc.headDim, tc.headDim/2
			// float32 angle rounding is part of the spec (torch does it), so the
			// reference uses the same float32 angle and float64 trig; the
			// tolerance covers float32 cos/sin and the rotation's rounding.
			for r := range tc.rows {
				for h := range tc.nHeads {
					base := (r*tc.nHeads + h) * d
					for i := range half {
						invf := rp.invFreq[i] // checked against torch in TestRoPEMatchesTorch
						a := float64(float32(pos[r]) * invf)
						c, s := math.Cos(a), math.Sin(a)
						x0, x1 := float64(orig[base+i]), float64(orig[base+i+half])
						w0, w1 := x0*c-x1*s, x1*c+x0*s
						if math.Abs(float64(x[base+i])-w0) > 2e-6 || math.Abs(float64(x[base+i+half])-w1) > 2e-6 {
							t.Fatalf("row %d head %d i %d: got (%v, %v), want (%v, %v)", r, h, i, x[base+i], x[base+i+half], w0, w1)
						}
					}
				}
			}
		})
	}
}

func TestRoPEConcurrentGrowth(t *testing.T) {
	rp := NewRoPE(8, 10000)
	done := make(chan []float32)
	for g := range 4 {
		go func() {
			x := make([]float32, 8)
			for i := range x {
				x[i] = 1
			}
			rp.Apply(x, 1, 1, []int{100 + 1000*g})
			done <- x
		}()
	}
	for range 4 {
		<-done
	}
	x := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	rp.Apply(x, 1, 1, []int{100})
	y := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	NewRoPE(8, 10000).Apply(y, 1, 1, []int{100})
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("grown table differs at %d: %v vs %v", i, x[i], y[i])
		}
	}
}

func TestSoftmax(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, tc := range []struct {
		name string
		x    []float32
	}{
		{"one", []float32{3}},
		{"basic", []float32{1, 2, 3, 4}},
		{"large", []float32{1000, 1001, 999}},
		{"neginf", []float32{0, inf, 1}},
		{"allneginf", []float32{inf, inf}},
		{"random", randF32(rand.New(rand.NewPCG(1, 1)), 1000, 20)},
		{"tail7", randF32(rand.New(rand.NewPCG(3, 3)), 7, 20)},
		{"tail9", randF32(rand.New(rand.NewPCG(4, 4)), 9, 20)},
		{"tail129", randF32(rand.New(rand.NewPCG(5, 5)), 129, 20)},
		{"neginflanes", []float32{inf, 1, inf, inf, 2, 3, inf, -100, 4, inf, 5, inf, inf, inf, inf, inf, inf, 0}},
		{"vocab", randF32(rand.New(rand.NewPCG(2, 2)), 151936, 30)},
	} {
		gen := append([]float32(nil), tc.x...)
		generic.softmax(gen)
		for _, p := range available() {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				x := append([]float32(nil), tc.x...)
				p.softmax(x)
				for i := range x {
					if math.Abs(float64(x[i]-gen[i])) > 2e-6*float64(gen[i])+1e-30 {
						t.Fatalf("x[%d] = %v, generic %v", i, x[i], gen[i])
					}
				}
				// x - max is rounded to float32 as in torch; the rest is float64.
				mx := float32(math.Inf(-1))
				for _, v := range tc.x {
					mx = max(mx, v)
				}
				var sum float64
				for _, v := range tc.x {
					sum += math.Exp(float64(v - mx))
				}
				for i, v := range tc.x {
					want := 0.0
					if !math.IsInf(float64(mx), -1) {
						want = math.Exp(float64(v-mx)) / sum
					}
					if math.Abs(float64(x[i])-want) > 1e-6*want+1e-30 {
						t.Fatalf("x[%d] = %v, want %v", i, x[i], want)
					}
				}
			})
		}
	}
}

// TestSiLUMul: every length up to 17 (the 8- and 16-lane tails) and a long
// row, with the saturating arguments (|g| past 87.3, where exp(-g) is 0 or
// clamped) in vector lanes and tails, on every path against float64 and
// against the generic path.
func TestSiLUMul(t *testing.T) {
	edges := []float32{100, -100, 0, 87.5, -87.5, -88.5, 88.5, -1e-3, 30, -30, -88.72, -89, 1e-30}
	lens := []int{1037}
	for n := 1; n <= 17; n++ {
		lens = append(lens, n)
	}
	for _, n := range lens {
		rng := rand.New(rand.NewPCG(uint64(n), 8))
		g, u := randF32(rng, n, 8), randF32(rng, n, 2)
		for i := range g {
			if i%3 == 0 {
				g[i] = edges[(i/3+n)%len(edges)]
			}
		}
		gen := append([]float32(nil), g...)
		generic.siluMul(gen, u)
		for _, p := range available() {
			got := append([]float32(nil), g...)
			p.siluMul(got, u)
			for i := range g {
				gv := float64(g[i])
				want := gv / (1 + math.Exp(-gv)) * float64(u[i])
				if math.Abs(float64(got[i])-want) > 1e-6*math.Abs(want)+1e-7 || math.Abs(float64(got[i]-gen[i])) > 2e-6*math.Abs(want)+1e-7 {
					t.Fatalf("%s n=%d: SiLUMul[%d] (g=%v) = %v, want %v, generic %v", p.name, n, i, g[i], got[i], want, gen[i])
				}
			}
		}
	}
}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	g := randF32(rng, 1037, 8)
	g[5], g[6], g[7], g[8] = 100, -100, 0, 87.5
	u := randF32(rng, 1037, 2)
	for _, p := range available() {
		got := append([]float32(nil), g...)
		p.siluMul(got, u)
		for i := range g {
			gv := float64(g[i])
			want := gv / (1 + math.Exp(-gv)) * float64(u[i])
			if math.Abs(float64(got[i])-want) > 1e-6*math.Abs(want)+1e-7 {
				t.Fatalf("%s: SiLUMul[%d] (g=%v) = %v, want %v", p.name, i, g[i], got[i], want)
			}
		}
	}
	d := []float32{1, 2, 3}
	Add(d, []float32{10, 20, 30, 40})
	if d[0] != 11 || d[1] != 22 || d[2] != 33 {
		t.Fatalf("Add = %v", d)
	}
	x := []float32{1, 2, 3, 4, 5, 6}
	AddBias(x, []float32{10, 100, 1000}, 2)
	if want := []float32{11, 102, 1003, 14, 105, 1006}; fmt.Sprint(x) != fmt.Sprint(want) {
		t.Fatalf("AddBias = %v, want %v", x, want)
	}
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		f    float32
		bits uint16
	}{
		{1, 0x3f80}, {-2, 0xc000}, {0, 0}, {float32(math.Inf(1)), 0x7f80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above half
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // max float rounds to +Inf (as torch)
	} {
		var got [1]uint16
		F32ToBF16(got[:], []float32{tc.f})
		if got[0] != tc.bits {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", tc.f, got[0], tc.bits)
		}
	}
	var nan [1]uint16
	F32ToBF16(nan[:], []float32{float32(math.NaN())})
	if f := math.Float32frombits(uint32(nan[0]) << 16); !math.IsNaN(float64(f)) {
		t.Errorf("NaN -> %#04x is not NaN", nan[0])
	}
	var f [2]float32
	BF16ToF32(f[:], []uint16{0x3f80, 0xc0a0})
	if f[0] != 1 || f[1] != -5 {
		t.Errorf("BF16ToF32 = %v", f)
	}
	for _, tc := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x0001, 5.960464477539063e-08}, {0x7bff, 65504}, {0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))}} {
		var g [1]float32
		F16ToF32(g[:], []uint16{tc.h})
		if math.Float32bits(g[0]) != math.Float32bits(tc.want) {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", tc.h, g[0], tc.want)
		}
	}
}

func TestMeasureReadBandwidth(t *testing.T) {
	if gbs := MeasureReadBandwidth(1<<20, 2); !(gbs > 0) || math.IsInf(gbs, 0) {
		t.Fatalf("MeasureReadBandwidth = %v", gbs)
	}
	b := make([]uint64, 100)
	for i := range b {
		b[i] = uint64(i * i)
	}
	var want uint64
	for i := 0; i+8 <= len(b); i += 8 {
		want += b[i] ^ b[i+4]
		want += b[i+1] ^ b[i+5]
		want += b[i+2] ^ b[i+6]
		want += b[i+3] ^ b[i+7]
	}
	if got := readSumGeneric(b[:96]); got != want {
		t.Fatalf("readSumGeneric = %d, want %d", got, want)
	}
	var plain uint64
	for _, v := range b[:96] {
		plain += v
	}
	if got := readSum(b[:96]); got != plain && got != want {
		t.Fatalf("readSum = %d, want %d (plain sum) or %d (generic fold)", got, plain, want)
	}
}
