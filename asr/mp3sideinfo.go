package asr

// Layer III side information (ISO/IEC 11172-3 2.4.1.7, 13818-3 2.4.1.7) and the
// scalefactors at the start of each granule's main data.

// mp3Channel is the side information of one granule of one channel, and the
// scalefactors read for it.
type mp3Channel struct {
	part23      int // bits of main data: scalefactors and Huffman codes
	bigValues   int // pairs in the big_values regions
	globalGain  int
	scfCompress int  // scalefac_compress: 4 bits (MPEG-1), 9 bits (MPEG-2)
	switched    bool // window_switching_flag
	blockType   int  // 0 normal, 1 start, 2 short, 3 stop
	mixed       bool
	table       [3]int // table_select per region
	subGain     [3]int // subblock_gain per short window
	region0     int    // region0_count
	region1     int    // region1_count
	preflag     bool
	scfScale    bool
	count1Table int

	long  [22]uint8    // scalefactors of the long bands
	short [13][3]uint8 // of the short bands, per window
	// isMax[sfb] is the (illegal) intensity position meaning "not intensity coded"
	// for the MPEG-2 right channel: 2^slen - 1 of the band's scalefactor width.
	isMaxLong  [22]uint8
	isMaxShort [13]uint8
}

// mp3Side is a frame's side information.
type mp3Side struct {
	mainBegin int              // main_data_begin: bytes of main data in earlier frames
	scfsi     [2][4]bool       // MPEG-1: granule 1 reuses granule 0's scalefactors, per band group
	gr        [2][2]mp3Channel // [granule][channel]
}

// isShort reports whether g codes short blocks (in part, if mixed).
func (g *mp3Channel) isShort() bool { return g.blockType == 2 }

// sameBlocks reports whether a and b transform alike (block type and mixing).
func sameBlocks(a, b *mp3Channel) bool { return a.blockType == b.blockType && a.mixed == b.mixed }

// parseSide reads the side information of a frame with header h from b (the bytes
// after the header and CRC).
func parseSide(b []byte, h mp3Header, s *mp3Side) {
	r := mp3Bits{buf: b} // b is padded by the caller
	nch, ngr := 2, 2
	if h.mono {
		nch = 1
	}
	if h.version == 1 {
		s.mainBegin = r.read(9)
		if h.mono { // private bits
			r.read(5)
		} else {
			r.read(3)
		}
		for ch := range nch {
			for band := range 4 {
				s.scfsi[ch][band] = r.read(1) != 0
			}
		}
	} else {
		ngr = 1
		s.mainBegin = r.read(8)
		if h.mono {
			r.read(1)
		} else {
			r.read(2)
		}
	}
	for gr := range ngr {
		for ch := range nch {
			g := &s.gr[gr][ch]
			g.part23 = r.read(12)
			g.bigValues = r.read(9)
			g.globalGain = r.read(8)
			if h.version == 1 {
				g.scfCompress = r.read(4)
			} else {
				g.scfCompress = r.read(9)
			}
			g.blockType, g.mixed = 0, false
			if g.switched = r.read(1) != 0; g.switched {
				g.blockType = r.read(2)
				g.mixed = r.read(1) != 0
				g.table = [3]int{r.read(5), r.read(5), 0}
				g.subGain = [3]int{r.read(3), r.read(3), r.read(3)}
				g.region0, g.region1 = 7, 0 // region 1 runs to the end
				if g.blockType == 2 && !g.mixed {
					g.region0 = 8
				}
				if g.blockType == 0 { // reserved: read as a normal block
					g.mixed = false
				}
			} else {
				g.table = [3]int{r.read(5), r.read(5), r.read(5)}
				g.subGain = [3]int{}
				g.region0, g.region1 = r.read(4), r.read(3)
			}
			if h.version == 1 {
				g.preflag = r.read(1) != 0
			} else {
				g.preflag = false
			}
			g.scfScale = r.read(1) != 0
			g.count1Table = r.read(1)
		}
	}
}

// regions is where Huffman regions 1 and 2 start, in lines.
func (g *mp3Channel) regions(bands *mp3Bands) (r1, r2 int) {
	switch {
	case g.blockType == 2 && !g.mixed:
		return 3 * int(bands.short[3]), 576
	case g.switched:
		return int(bands.long[8]), 576
	}
	r1 = int(bands.long[min(g.region0+1, 22)])
	r2 = int(bands.long[min(g.region0+g.region1+2, 22)])
	return r1, r2
}

// mp3Bands is the scalefactor band layout at one sample rate: band starts, in lines.
type mp3Bands struct {
	long  [23]uint16 // long bands 0 .. 21 and the end, 576
	short [14]uint16 // short bands 0 .. 12 and the end, 192 (per window)
}

// mp3BandTables holds the layouts by version (1, 2, 2.5) and rate index
// (ISO/IEC 11172-3 Table 3-B.8, 13818-3 Table B.2).
var mp3BandTables = map[int][3]mp3Bands{
	1: {
		{long: [23]uint16{0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 52, 62, 74, 90, 110, 134, 162, 196, 238, 288, 342, 418, 576},
			short: [14]uint16{0, 4, 8, 12, 16, 22, 30, 40, 52, 66, 84, 106, 136, 192}}, // 44.1 kHz
		{long: [23]uint16{0, 4, 8, 12, 16, 20, 24, 30, 36, 42, 50, 60, 72, 88, 106, 128, 156, 190, 230, 276, 330, 384, 576},
			short: [14]uint16{0, 4, 8, 12, 16, 22, 28, 38, 50, 64, 80, 100, 126, 192}}, // 48 kHz
		{long: [23]uint16{0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 54, 66, 82, 102, 126, 156, 194, 240, 296, 364, 448, 550, 576},
			short: [14]uint16{0, 4, 8, 12, 16, 22, 30, 42, 58, 78, 104, 138, 180, 192}}, // 32 kHz
	},
	2: {
		{long: [23]uint16{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
			short: [14]uint16{0, 4, 8, 12, 18, 24, 32, 42, 56, 74, 100, 132, 174, 192}}, // 22.05 kHz
		{long: [23]uint16{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 114, 136, 162, 194, 232, 278, 332, 394, 464, 540, 576},
			short: [14]uint16{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 136, 180, 192}}, // 24 kHz
		{long: [23]uint16{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
			short: [14]uint16{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192}}, // 16 kHz
	},
	25: {
		{long: [23]uint16{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
			short: [14]uint16{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192}}, // 11.025 kHz
		{long: [23]uint16{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
			short: [14]uint16{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192}}, // 12 kHz
		{long: [23]uint16{0, 12, 24, 36, 48, 60, 72, 88, 108, 132, 160, 192, 232, 280, 336, 400, 476, 566, 568, 570, 572, 574, 576},
			short: [14]uint16{0, 8, 16, 24, 36, 52, 72, 96, 124, 160, 162, 164, 166, 192}}, // 8 kHz
	},
}

// mp3Slen is MPEG-1's scalefactor widths (slen1, slen2) by scalefac_compress.
var mp3Slen = [16][2]int{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {3, 0}, {1, 1}, {1, 2}, {1, 3},
	{2, 1}, {2, 2}, {2, 3}, {3, 1}, {3, 2}, {3, 3}, {4, 2}, {4, 3}}

// mp3LSFBands is MPEG-2's scalefactors per partition, by slen table (0 .. 5) and
// block kind (long, short, mixed): ISO/IEC 13818-3 Table B.3 nr_of_sfb_block.
var mp3LSFBands = [6][3][4]int{
	{{6, 5, 5, 5}, {9, 9, 9, 9}, {6, 9, 9, 9}},
	{{6, 5, 7, 3}, {9, 9, 12, 6}, {6, 9, 12, 6}},
	{{11, 10, 0, 0}, {18, 18, 0, 0}, {15, 18, 0, 0}},
	{{7, 7, 7, 0}, {12, 12, 12, 0}, {6, 15, 12, 0}},
	{{6, 6, 6, 3}, {12, 9, 9, 6}, {6, 12, 9, 6}},
	{{8, 8, 5, 0}, {15, 12, 9, 0}, {6, 18, 9, 0}},
}

// scalefactors reads g's scalefactors from b. MPEG-1 granule 1 (gr1) keeps the bands
// scfsi marks from granule 0, which g already holds. isRight is the MPEG-2 right
// channel of an intensity stereo frame, whose scalefactors are intensity positions.
func (g *mp3Channel) scalefactors(b *mp3Bits, version int, gr1 bool, scfsi [4]bool, isRight bool) {
	if version == 1 {
		s1, s2 := mp3Slen[g.scfCompress][0], mp3Slen[g.scfCompress][1]
		if g.isShort() {
			first := 0
			if g.mixed {
				for sfb := range 8 {
					g.long[sfb] = uint8(b.read(s1))
				}
				first = 3
			}
			for sfb := first; sfb < 12; sfb++ {
				n := s1
				if sfb >= 6 {
					n = s2
				}
				for w := range 3 {
					g.short[sfb][w] = uint8(b.read(n))
				}
			}
			g.short[12] = [3]uint8{}
			return
		}
		groups := [5]int{0, 6, 11, 16, 21}
		for grp := range 4 {
			if gr1 && scfsi[grp] {
				continue
			}
			n := s1
			if grp >= 2 {
				n = s2
			}
			for sfb := groups[grp]; sfb < groups[grp+1]; sfb++ {
				g.long[sfb] = uint8(b.read(n))
			}
		}
		g.long[21] = 0
		return
	}
	// MPEG-2: four partitions of slen[i] bits each.
	var slen [4]int
	var tab int
	sfc := g.scfCompress
	switch {
	case isRight:
		is := sfc >> 1
		switch {
		case is < 180:
			slen, tab = [4]int{is / 36, is % 36 / 6, is % 6, 0}, 3
		case is < 244:
			is -= 180
			slen, tab = [4]int{is & 63 >> 4, is & 15 >> 2, is & 3, 0}, 4
		default:
			is -= 244
			slen, tab = [4]int{is / 3, is % 3, 0, 0}, 5
		}
	case sfc < 400:
		slen, tab = [4]int{sfc >> 4 / 5, sfc >> 4 % 5, sfc & 15 >> 2, sfc & 3}, 0
	case sfc < 500:
		sfc -= 400
		slen, tab = [4]int{sfc >> 2 / 5, sfc >> 2 % 5, sfc & 3, 0}, 1
	default:
		sfc -= 500
		slen, tab = [4]int{sfc / 3, sfc % 3, 0, 0}, 2
		g.preflag = true
	}
	kind := 0
	if g.isShort() {
		kind = 1
		if g.mixed {
			kind = 2
		}
	}
	// The scalefactors in order: long bands (all, or the mixed block's first 6), then
	// short bands per window.
	slot := 0
	longs := 0
	switch kind {
	case 0:
		longs = 22
	case 2:
		longs = 6
	}
	firstShort := 0
	if kind == 2 {
		firstShort = 3
	}
	g.long, g.short = [22]uint8{}, [13][3]uint8{}
	for part := range 4 {
		n := mp3LSFBands[tab][kind][part]
		mx := uint8(1<<slen[part] - 1)
		for range n {
			v := uint8(b.read(slen[part]))
			if slot < longs {
				g.long[slot], g.isMaxLong[slot] = v, mx
			} else if k := slot - longs; firstShort+k/3 < 13 {
				g.short[firstShort+k/3][k%3], g.isMaxShort[firstShort+k/3] = v, mx
			}
			slot++
		}
	}
	for ; slot < longs; slot++ { // bands past the partitions: no scalefactor
		g.isMaxLong[slot] = g.isMaxLong[max(slot-1, 0)]
	}
}
