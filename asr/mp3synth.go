package asr

import "math"

// The polyphase synthesis filterbank (ISO/IEC 11172-3 2.4.3.4.10, Annex A Figure
// A.2), cut down to what a 16 kHz output needs: only the nsb lowest subbands carry
// signal (the rest lie above 8 kHz, which the resampler removes), and at 44.1 and
// 48 kHz only every second output sample is computed (decim 2: the signal is band
// limited far below the halved rate's Nyquist, so dropping samples aliases nothing
// below 8 kHz). Each time slot's 32 subband samples S make the vector
// V[i] = Σk cos((16+i)(2k+1)π/64)·S[k], i = 0 .. 63, and output sample j of the slot
// is Σp D[64p+j]·V_{t-2p}[j] + D[64p+32+j]·V_{t-2p-1}[32+j], p = 0 .. 7, where V_t is
// the vector of slot t. V's symmetries (V[16] = 0, V[32-i] = -V[i], V[96-i] = V[i])
// leave 32 distinct values, of which the decimated outputs read 16.

// mp3Synth is the filterbank's state for one (downmixed) channel.
type mp3Synth struct {
	nsb, outs int // subbands used; outputs per slot, 32/decim
	// src lists the distinct V entries computed (0 .. 15, 48 .. 63), cols their
	// cosines by subband: cols[k][s] for k < nsb. [32][len(src)]
	src  []int
	cols [32][32]float32
	// loSrc[m], hiSrc[m] is where V[j] and V[32+j] come from for output m at j =
	// phase + decim·m: an index into the computed values, 1 + s, negated for -V,
	// 0 for V = 0.
	loSrc, hiSrc [32]int
	dlo, dhi     [8][32]float32  // D[64p+j], D[64p+32+j] for output m
	lo, hi       [16][32]float32 // V[j], V[32+j] of the last 16 slots (a ring)
	t            int             // slot count; slot t is lo[t&15]
}

func newMP3Synth(nsb, decim, phase int) *mp3Synth {
	s := &mp3Synth{nsb: nsb, outs: 32 / decim}
	index := map[int]int{}
	ref := func(i int) int { // i in 0 .. 63 → signed 1-based index into the computed values
		sign := 1
		switch {
		case i == 16:
			return 0
		case i > 16 && i <= 32:
			i, sign = 32-i, -1
		case i > 32 && i < 48:
			i = 96 - i
		}
		k, ok := index[i]
		if !ok {
			k = len(s.src)
			index[i] = k
			s.src = append(s.src, i)
			for sb := range nsb {
				s.cols[sb][k] = float32(math.Cos(float64((16+i)*(2*sb+1)) * math.Pi / 64))
			}
		}
		return sign * (k + 1)
	}
	for m := range s.outs {
		j := phase + decim*m
		s.loSrc[m], s.hiSrc[m] = ref(j), ref(32+j)
		for p := range 8 {
			s.dlo[p][m], s.dhi[p][m] = mp3SynthWindow[64*p+j], mp3SynthWindow[64*p+32+j]
		}
	}
	return s
}

// slot synthesises one time slot: sb holds the subband samples (sb[:nsb] used), out
// receives outs samples.
func (s *mp3Synth) slot(sb *[32]float32, out []float32) {
	var uu [33]float32 // uu[1+k] is computed value k; uu[0] = 0
	u := uu[1 : 1+len(s.src)]
	for k, x := range sb[:s.nsb] {
		col := s.cols[k][:len(u)] // (the slicing lets the compiler drop bounds checks)
		for r := range u {
			u[r] += col[r] * x
		}
	}
	t := s.t
	lo, hi := &s.lo[t&15], &s.hi[t&15]
	for m := range s.outs {
		lo[m] = value(&uu, s.loSrc[m])
		hi[m] = value(&uu, s.hiSrc[m])
	}
	var accs [32]float32
	acc := accs[:s.outs]
	for p := range 8 {
		a, b := s.lo[(t-2*p)&15][:len(acc)], s.hi[(t-2*p-1)&15][:len(acc)]
		da, db := s.dlo[p][:len(acc)], s.dhi[p][:len(acc)]
		for m := range acc {
			acc[m] += da[m]*a[m] + db[m]*b[m]
		}
	}
	copy(out, acc)
	s.t++
}

// value is the computed value ref points to (signed, 1-based; 0 is zero).
func value(u *[33]float32, ref int) float32 {
	if ref < 0 {
		return -u[-ref]
	}
	return u[ref]
}
