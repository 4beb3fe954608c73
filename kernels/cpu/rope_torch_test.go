package cpu

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ulps returns the distance in float32 units in the last place.
func ulps(a, b float32) int64 {
	ia, ib := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if ia < 0 {
		ia = math.MinInt32 - ia
	}
	if ib < 0 {
		ib = math.MinInt32 - ib
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// TestRoPEMatchesTorch compares inv_freq and the cos/sin tables with values
// dumped from torch 2.15 (testdata/rope_torch.py). Our inv_freq is the
// correctly rounded float32; torch's vectorised powf (Sleef, 1-ulp) differs by
// 1 ulp in about 1% of entries (22 of 2352 over 49 (headDim, theta) pairs; one
// of 64 for Qwen3's 128/1e6), so inv_freq must be within 1 ulp. cos/sin must be
// within 1 ulp where inv_freq is identical, else within 4e-6 (one float32 ulp of
// an angle up to 2^5 rad; a 1-ulp inv_freq gap can round the angle differently).
func TestRoPEMatchesTorch(t *testing.T) {
	f, err := os.Open("testdata/rope_torch.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ropes := map[string]*RoPE{}
	get := func(d, theta string) *RoPE {
		if r, ok := ropes[d+"/"+theta]; ok {
			return r
		}
		hd, _ := strconv.Atoi(d)
		th, _ := strconv.ParseFloat(theta, 64)
		r := NewRoPE(hd, th)
		ropes[d+"/"+theta] = r
		return r
	}
	hex := func(s string) float32 {
		u, err := strconv.ParseUint(s, 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		return math.Float32frombits(uint32(u))
	}
	var nInv, nInvDiff, nCS, worst int64
	invDiffers := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) == 5 && fs[0] == "inv":
			r := get(fs[1], fs[2])
			i, _ := strconv.Atoi(fs[3])
			got, want := r.invFreq[i], hex(fs[4])
			if ulps(got, want) > 1 {
				t.Errorf("d=%s theta=%s invFreq[%d] = %v, torch %v", fs[1], fs[2], i, got, want)
			}
			if got != want {
				invDiffers[fs[1]+"/"+fs[2]+"/"+fs[3]] = true
				nInvDiff++
			}
			nInv++
		case len(fs) == 7 && fs[0] == "cs":
			r := get(fs[1], fs[2])
			p, _ := strconv.Atoi(fs[3])
			i, _ := strconv.Atoi(fs[4])
			gc, gs := r.cosSin(p, i) // the table holds these (TestRoPETable)
			wc, ws := hex(fs[5]), hex(fs[6])
			var bad bool
			if invDiffers[fs[1]+"/"+fs[2]+"/"+fs[4]] {
				bad = math.Abs(float64(gc-wc)) > 4e-6 || math.Abs(float64(gs-ws)) > 4e-6
			} else {
				dc, ds := ulps(gc, wc), ulps(gs, ws)
				worst = max(worst, dc, ds)
				bad = dc > 1 || ds > 1
			}
			if bad {
				t.Errorf("d=%s pos=%d i=%d: cos,sin = %v,%v torch %v,%v", fs[1], p, i, gc, gs, wc, ws)
			}
			nCS++
		}
	}
	if nInv == 0 || nCS == 0 {
		t.Fatalf("no data read (%d inv, %d cos/sin)", nInv, nCS)
	}
	t.Logf("inv_freq: %d of %d differ by 1 ulp; %d cos/sin pairs, worst %d ulp where inv_freq is identical", nInvDiff, nInv, nCS, worst)
}

// TestRoPETable checks the grown cos/sin table against cosSin.
func TestRoPETable(t *testing.T) {
	r := NewRoPE(64, 1e6)
	for _, need := range []int{1, 300, 2000} {
		tb := r.tableFor(need)
		if tb.n < need {
			t.Fatalf("table has %d positions, need %d", tb.n, need)
		}
		for p := range need {
			for i := range 32 {
				c, s := r.cosSin(p, i)
				if tb.cos[p*32+i] != c || tb.sin[p*32+i] != s {
					t.Fatalf("table[%d][%d] = %v,%v, want %v,%v", p, i, tb.cos[p*32+i], tb.sin[p*32+i], c, s)
				}
			}
		}
	}
}
