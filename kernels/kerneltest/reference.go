package kerneltest

import (
	"math"

	"dlmstream/kernels/cpu"
)

// The float64 references: naive loops that say what each op computes,
// nothing faster. Each returns the expected output and, where its
// tolerance needs one, the scale of every element (see tolerance.go).

// widenBF16 is the exact value of raw bf16 bits.
func widenBF16(b uint16) float64 { return float64(math.Float32frombits(uint32(b) << 16)) }

// refMatMul: want[i, j] = Σ_p x[i, p]·w[j, p] and scale[i, j] = Σ_p
// |x[i, p]·w[j, p]|; x [m, k] fp32, w [n, k] bf16 bits.
func refMatMul(x []float32, w []uint16, m, n, k int) (want, scale []float64) {
	want, scale = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, a float64
			for p := range k {
				t := float64(x[i*k+p]) * widenBF16(w[j*k+p])
				s += t
				a += math.Abs(t)
			}
			want[i*n+j], scale[i*n+j] = s, a
		}
	}
	return want, scale
}

// refRMSNorm: want[r, i] = w[i]·x[r, i] / √(Σ_i x[r, i]²/dim + eps).
func refRMSNorm(x, w []float32, rows, dim int, eps float32) []float64 {
	want := make([]float64, rows*dim)
	for r := range rows {
		var ss float64
		for i := range dim {
			v := float64(x[r*dim+i])
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(dim)+float64(eps))
		for i := range dim {
			want[r*dim+i] = float64(w[i]) * float64(x[r*dim+i]) * inv
		}
	}
	return want
}

// refRoPE rotates pair (i, i+headDim/2) of every head of row r by the
// angle cpu.NewRoPE documents: invFreq[i] = 1/θ^(2i/headDim) in float32,
// angle = float32(pos[r])·invFreq[i] in float32, its cos and sin in
// float64. x [rows, heads, headDim]; scale is the pair's norm.
func refRoPE(x []float32, rows, heads, headDim int, pos []int, theta float64) (want, scale []float64) {
	half := headDim / 2
	invFreq := make([]float32, half)
	base := float64(float32(theta))
	for i := range invFreq {
		e := float32(2*i) / float32(headDim)
		invFreq[i] = 1 / float32(math.Pow(base, float64(e)))
	}
	want, scale = make([]float64, len(x)), make([]float64, len(x))
	for r := range rows {
		for h := range heads {
			o := (r*heads + h) * headDim
			for i := range half {
				angle := float64(float32(pos[r]) * invFreq[i])
				c, s := math.Cos(angle), math.Sin(angle)
				x0, x1 := float64(x[o+i]), float64(x[o+half+i])
				want[o+i] = x0*c - x1*s
				want[o+half+i] = x1*c + x0*s
				scale[o+i] = math.Hypot(x0, x1)
				scale[o+half+i] = scale[o+i]
			}
		}
	}
	return want, scale
}

// refSiLUMul: want[i] = gate[i]/(1 + e^−gate[i]) · up[i].
func refSiLUMul(gate, up []float32) []float64 {
	want := make([]float64, len(gate))
	for i, g := range gate {
		want[i] = float64(g) / (1 + math.Exp(-float64(g))) * float64(up[i])
	}
	return want
}

// refAddBias: want[r, i] = x[r, i] + b[i] for rows rows (Add is one row).
func refAddBias(x, b []float32, rows int) []float64 {
	want := make([]float64, rows*len(b))
	for r := range rows {
		for i, v := range b {
			want[r*len(b)+i] = float64(x[r*len(b)+i]) + float64(v)
		}
	}
	return want
}

// refEmbed: want[r, :] = table[ids[r], :] widened; table [vocab, dim].
func refEmbed(table []uint16, ids []int32, dim int) []float64 {
	want := make([]float64, len(ids)*dim)
	for r, id := range ids {
		for i := range dim {
			want[r*dim+i] = widenBF16(table[int(id)*dim+i])
		}
	}
	return want
}

// refAttention: for query i at position qPos0+i and head h (kv head
// h/(heads/kvHeads)), the softmax over keys j < nk with mask.Allows(qPos0+i,
// j) of q·k_j/√headDim, applied to v_j; zeros when no key is allowed.
// q [nq, heads, headDim]; k, v [nk, kvHeads, headDim] as stored.
func refAttention(q, k, v []float32, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) []float64 {
	want := make([]float64, nq*heads*headDim)
	group := heads / kvHeads
	scale := 1 / math.Sqrt(float64(headDim))
	score := make([]float64, nk)
	for i := range nq {
		for h := range heads {
			qi := q[(i*heads+h)*headDim:][:headDim]
			kh := h / group
			mx := math.Inf(-1)
			for j := range nk {
				score[j] = math.Inf(-1)
				if !mask.Allows(qPos0+i, j) {
					continue
				}
				kj := k[(j*kvHeads+kh)*headDim:][:headDim]
				var s float64
				for d := range headDim {
					s += float64(qi[d]) * float64(kj[d])
				}
				score[j] = s * scale
				mx = max(mx, score[j])
			}
			if math.IsInf(mx, -1) {
				continue // no key allowed: zeros
			}
			var z float64
			for j := range nk {
				score[j] = math.Exp(score[j] - mx) // 0 for masked keys
				z += score[j]
			}
			o := want[(i*heads+h)*headDim:][:headDim]
			for j := range nk {
				vj := v[(j*kvHeads+kh)*headDim:][:headDim]
				for d := range headDim {
					o[d] += score[j] / z * float64(vj[d])
				}
			}
		}
	}
	return want
}

// refStat is RowStat in float64 with its top logit.
type refStat struct {
	token                                   int
	top, conf, margin, logitMargin, entropy float64
}

// refRowStat summarises one row of logits: the first maximum among the
// entries that are not -Inf, and p = softmax over those entries. ok is
// false when every entry is -Inf.
func refRowStat(l []float32) (s refStat, ok bool) {
	i1 := -1
	for i, v := range l {
		if !math.IsInf(float64(v), -1) && (i1 < 0 || v > l[i1]) {
			i1 = i
		}
	}
	if i1 < 0 {
		return refStat{}, false
	}
	mx := float64(l[i1])
	second := math.Inf(-1) // the largest other entry: equal to mx on a tie
	var z, ez float64
	for i, v := range l {
		d := float64(v) - mx
		if math.IsInf(d, -1) {
			continue
		}
		if i != i1 {
			second = max(second, float64(v))
		}
		z += math.Exp(d)
		ez += math.Exp(d) * d
	}
	s = refStat{token: i1, top: mx, conf: 1 / z, entropy: math.Log(z) - ez/z}
	s.margin = (1 - math.Exp(second-mx)) / z
	s.logitMargin = mx - second // +Inf with one finite entry
	return s, true
}
