package asr

import (
	"math"
	"sync"
)

// A granule's spectrum: requantization of the Huffman-decoded values (ISO/IEC
// 11172-3 2.4.3.4.7), M/S and intensity stereo folded into the mono downmix, and
// alias reduction. Lines run 0 .. 575 (18 per subband) in the bitstream's order:
// for short blocks band by band, each band's three windows one after the other.

// mp3Pow43 is |q|^(4/3) for |q| ≤ 8206 (15 + 2^13 - 1, the largest escape). [8207]
var mp3Pow43 = sync.OnceValue(func() []float32 {
	t := make([]float32, 8207)
	for i := range t {
		t[i] = float32(math.Pow(float64(i), 4.0/3))
	}
	return t
})

// mp3Pretab is the preemphasis added to the long bands' scalefactors when preflag is set.
var mp3Pretab = [22]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 2, 0}

// gain4 is 2^(e/4).
func gain4(e int) float32 {
	return float32(math.Ldexp([4]float64{1, 1.189207115002721, 1.4142135623730951, 1.6817928305074290}[e&3], e>>2))
}

// requantize writes xr[:n] from the integers q[:n] and g's gains and scalefactors,
// times scale.
func (g *mp3Channel) requantize(xr *[576]float32, q *[576]int32, n int, bands *mp3Bands, scale float32) {
	pow := mp3Pow43()
	mul := 2 // scalefactor step, in quarter powers of 2
	if g.scfScale {
		mul = 4
	}
	base := g.globalGain - 210
	band := func(lo, hi int, e int) {
		hi = min(hi, n)
		if lo >= hi {
			return
		}
		k := gain4(e) * scale
		for i, v := range q[lo:hi] {
			a := min(v, -v)
			a = -a // |v|, without a branch on the sign
			x := pow[min(int(a), len(pow)-1)] * k
			if v < 0 {
				x = -x
			}
			xr[lo+i] = x
		}
	}
	longEnd := 576 // lines in long bands
	if g.isShort() {
		longEnd = 0
		if g.mixed {
			longEnd = 36
			// (where the short bands start past line 36, at 8 kHz, the lines between
			// belong to no band)
			clear(xr[:n])
		}
	}
	for sfb := 0; sfb < 22 && int(bands.long[sfb]) < longEnd; sfb++ {
		sf := int(g.long[sfb])
		if g.preflag {
			sf += mp3Pretab[sfb]
		}
		band(int(bands.long[sfb]), min(int(bands.long[sfb+1]), longEnd), base-mul*sf)
	}
	if longEnd == 576 {
		return
	}
	for sfb := 0; sfb < 13; sfb++ {
		start, width := 3*int(bands.short[sfb]), int(bands.short[sfb+1]-bands.short[sfb])
		if start < longEnd {
			continue
		}
		for w := range 3 {
			lo := start + w*width
			band(lo, lo+width, base-8*g.subGain[w]-mul*int(g.short[sfb][w]))
		}
	}
}

// lastNonzero is one past the last nonzero line of q[:n], per short window (all
// three the same for long blocks): where intensity stereo may start.
func lastNonzero(g *mp3Channel, q *[576]int32, n int, bands *mp3Bands) (top [3]int) {
	if !g.isShort() {
		for i := n - 1; i >= 0; i-- {
			if q[i] != 0 {
				return [3]int{i + 1, i + 1, i + 1}
			}
		}
		return
	}
	// In short-band lines of each window (0 .. 192), or in long lines for the mixed part.
	for i := n - 1; i >= 0; i-- {
		if q[i] == 0 {
			continue
		}
		if g.mixed && i < 36 {
			for w := range 3 {
				top[w] = max(top[w], (i+1)/3) // below every short band of the short part
			}
			continue
		}
		sfb := 0
		for 3*int(bands.short[sfb+1]) <= i {
			sfb++
		}
		start, width := 3*int(bands.short[sfb]), int(bands.short[sfb+1]-bands.short[sfb])
		w := (i - start) / width
		top[w] = max(top[w], int(bands.short[sfb])+(i-start)%width+1)
	}
	return top
}

// stereo turns xr[0], xr[1] (the two channels' requantized lines 0 .. n) into L and R:
// M/S (ms) and intensity stereo (is, from the bands above the right channel's last
// nonzero line, top). version selects the intensity coding (MPEG-1 ratios, MPEG-2
// powers of 2).
func stereo(xr *[2][576]float32, r *mp3Channel, n int, ms, is bool, top [3]int, bands *mp3Bands, version int) {
	const invSqrt2 = 0.70710678118654752
	isLine := [576]bool{} // lines coded as intensity stereo
	if is {
		mark := func(lo, hi int, pos, illegal int) {
			if pos == illegal {
				return
			}
			kl, kr := isRatios(pos, version, r.scfCompress&1)
			for i := lo; i < min(hi, n); i++ {
				l := xr[0][i]
				xr[0][i], xr[1][i] = l*kl, l*kr
				isLine[i] = true
			}
		}
		if !r.isShort() {
			for sfb := 0; sfb < 22; sfb++ {
				lo, hi := int(bands.long[sfb]), int(bands.long[sfb+1])
				if lo < top[0] {
					continue
				}
				pos, illegal := isPos(r, sfb, -1, version)
				mark(lo, hi, pos, illegal)
			}
		} else {
			for sfb := 0; sfb < 13; sfb++ {
				start, width := 3*int(bands.short[sfb]), int(bands.short[sfb+1]-bands.short[sfb])
				if r.mixed && start < 36 {
					continue
				}
				for w := range 3 {
					if int(bands.short[sfb]) < top[w] {
						continue
					}
					pos, illegal := isPos(r, sfb, w, version)
					mark(start+w*width, start+(w+1)*width, pos, illegal)
				}
			}
		}
	}
	if !ms {
		return
	}
	for i := range n {
		if isLine[i] {
			continue
		}
		m, s := xr[0][i], xr[1][i]
		xr[0][i], xr[1][i] = (m+s)*invSqrt2, (m-s)*invSqrt2
	}
}

// isPos is the intensity position of right channel r's band sfb (window w, -1 for a
// long band) and the value that means "not intensity coded". The top band carries no
// scalefactor: it takes the one below.
func isPos(r *mp3Channel, sfb, w, version int) (pos, illegal int) {
	if w < 0 {
		if sfb == 21 {
			sfb = 20
		}
		if version == 1 {
			return int(r.long[sfb]), 7
		}
		return int(r.long[sfb]), int(r.isMaxLong[sfb])
	}
	if sfb == 12 {
		sfb = 11
	}
	if version == 1 {
		return int(r.short[sfb][w]), 7
	}
	return int(r.short[sfb][w]), int(r.isMaxShort[sfb])
}

// isRatios is the gains of the left channel's value in L and R at intensity position
// pos (ISO/IEC 11172-3 2.4.3.4.9.3; 13818-3 2.4.3.2 with intensity_scale scale).
func isRatios(pos, version, scale int) (kl, kr float32) {
	if version == 1 {
		t := math.Tan(float64(pos) * math.Pi / 12)
		if pos == 6 {
			return 1, 0
		}
		return float32(t / (1 + t)), float32(1 / (1 + t))
	}
	k := float32(math.Pow(2, -float64((pos+1)>>1)*[2]float64{0.25, 0.5}[scale]))
	if pos&1 != 0 {
		return k, 1
	}
	return 1, k
}

// mp3AliasCS, mp3AliasCA are the alias reduction butterflies' coefficients
// (ISO/IEC 11172-3 Table 3-B.9: c[i] → cs = 1/√(1+c²), ca = c/√(1+c²)).
var mp3AliasCS, mp3AliasCA = func() (cs, ca [8]float32) {
	c := [8]float64{-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037}
	for i, v := range c {
		d := math.Sqrt(1 + v*v)
		cs[i], ca[i] = float32(1/d), float32(v/d)
	}
	return
}()

// antialias applies the alias reduction butterflies across the subband boundaries
// 1 .. bounds of x (lines in long order): all of them for long blocks, the first
// for mixed ones, none for short blocks.
func antialias(x *[576]float32, g *mp3Channel, bounds int) {
	if g.isShort() {
		if !g.mixed {
			return
		}
		bounds = 1
	}
	for sb := 1; sb <= bounds; sb++ {
		for i := range 8 {
			lo, hi := x[18*sb-1-i], x[18*sb+i]
			x[18*sb-1-i] = lo*mp3AliasCS[i] - hi*mp3AliasCA[i]
			x[18*sb+i] = hi*mp3AliasCS[i] + lo*mp3AliasCA[i]
		}
	}
}
