package asr

import "math"

// The hybrid filterbank's second half (ISO/IEC 11172-3 2.4.3.4.10): each subband's 18
// lines go through an IMDCT (one of 36 points, or three of 12 for short blocks),
// windowed by block type, and overlap-add with the previous granule's second half.

// mp3Windows is the IMDCT window by block type: 0 normal, 1 start, 3 stop (36
// points), 2 short (12 points, the rest unused). [4][36]
var mp3Windows = func() (w [4][36]float32) {
	for i := range 36 {
		w[0][i] = float32(math.Sin(math.Pi / 36 * (float64(i) + 0.5)))
	}
	for i := range 12 {
		w[2][i] = float32(math.Sin(math.Pi / 12 * (float64(i) + 0.5)))
	}
	for i := range 18 {
		w[1][i], w[3][i+18] = w[0][i], w[0][i+18]
	}
	for i := 18; i < 24; i++ {
		w[1][i] = 1
	}
	for i := 24; i < 30; i++ {
		w[1][i] = w[2][i-18]
	}
	for i := 6; i < 12; i++ {
		w[3][i] = w[2][i-6]
	}
	for i := 12; i < 18; i++ {
		w[3][i] = 1
	}
	return w
}()

// mp3IMDCT36 holds the long IMDCT's cosines for the 18 outputs it computes, x[0..8]
// and x[18..26]; the others follow by symmetry: x[17-i] = -x[i], x[53-i] = x[i].
// [18 outputs][18 lines]
var mp3IMDCT36 = func() (c [18][18]float32) {
	for r := range 18 {
		i := r
		if r >= 9 {
			i = r + 9
		}
		for k := range 18 {
			c[r][k] = float32(math.Cos(math.Pi / 72 * float64((2*i+19)*(2*k+1))))
		}
	}
	return c
}()

// mp3IMDCT12 holds the short IMDCT's cosines. [12 outputs][6 lines]
var mp3IMDCT12 = func() (c [12][6]float32) {
	for i := range 12 {
		for k := range 6 {
			c[i][k] = float32(math.Cos(math.Pi / 24 * float64((2*i+7)*(2*k+1))))
		}
	}
	return c
}()

// imdctLong is the windowed 36-point IMDCT of the 18 lines in, block type bt.
func imdctLong(in *[18]float32, bt int, out *[36]float32) {
	w := &mp3Windows[bt]
	for r := range 18 {
		c := &mp3IMDCT36[r]
		var s0, s1 float32
		for k := 0; k < 18; k += 2 {
			s0 += c[k] * in[k]
			s1 += c[k+1] * in[k+1]
		}
		s := s0 + s1
		if r < 9 {
			out[r], out[17-r] = s*w[r], -s*w[17-r]
		} else {
			i := r + 9
			out[i], out[53-i] = s*w[i], s*w[53-i]
		}
	}
}

// imdctShort is the three windowed 12-point IMDCTs of in (window w's six lines at
// in[w]), overlapped into the 36 outputs at 6, 12 and 18.
func imdctShort(in *[3][6]float32, out *[36]float32) {
	*out = [36]float32{}
	w := &mp3Windows[2]
	for win := range 3 {
		x := &in[win]
		o := out[6+6*win : 18+6*win]
		for i := range 12 {
			c := &mp3IMDCT12[i]
			s := c[0]*x[0] + c[1]*x[1] + c[2]*x[2] + c[3]*x[3] + c[4]*x[4] + c[5]*x[5]
			o[i] += s * w[i]
		}
	}
}

// mp3Hybrid is the IMDCT's state: each subband's overlap, and where short blocks'
// lines lie in the bitstream's order.
type mp3Hybrid struct {
	overlap [32][18]float32 // second halves of the last IMDCTs, by subband
	// shortLine[w][f] is the line holding short-block frequency f of window w. [3][192]
	shortLine [3][192]uint16
}

func (h *mp3Hybrid) init(bands *mp3Bands) {
	for sfb := range 13 {
		start, width := int(bands.short[sfb]), int(bands.short[sfb+1]-bands.short[sfb])
		for w := range 3 {
			for j := range width {
				h.shortLine[w][start+j] = uint16(3*start + w*width + j)
			}
		}
	}
}

// transform runs subbands 0 .. nsb-1 of x (lines, alias reduced, of a granule coded
// as g) through the IMDCT and adds them to slots, the subband samples by time slot
// (frequency inversion applied): slots[t][sb], t = 0 .. 17. add is false for the
// first (or only) channel of a granule, which overwrites slots.
func (h *mp3Hybrid) transform(x *[576]float32, g *mp3Channel, nsb int, slots *[18][32]float32, add bool) {
	var out [36]float32
	for sb := range nsb {
		long := !g.isShort() || g.mixed && sb < 2
		if long {
			bt := g.blockType
			if g.isShort() {
				bt = 0
			}
			imdctLong((*[18]float32)(x[18*sb:18*sb+18]), bt, &out)
		} else {
			var in [3][6]float32
			for w := range 3 {
				for k := range 6 {
					in[w][k] = x[h.shortLine[w][6*sb+k]]
				}
			}
			imdctShort(&in, &out)
		}
		ov := &h.overlap[sb]
		if !add {
			for i := range 18 {
				v := out[i] + ov[i]
				if sb&1 == 1 && i&1 == 1 {
					v = -v
				}
				slots[i][sb] = v
				ov[i] = out[18+i]
			}
			continue
		}
		for i := range 18 { // a second channel: its overlap went into the first's slots
			v := out[i]
			if sb&1 == 1 && i&1 == 1 {
				v = -v
			}
			slots[i][sb] += v
			ov[i] += out[18+i]
		}
	}
}
