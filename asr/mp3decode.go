package asr

// mp3Decoder decodes MPEG-1, 2 and 2.5 Layer III frames straight to the mono
// downmix ((L+R)/2) at rate/decim, computing only what a 16 kHz output needs: the
// subbands below 8 kHz (nsb of them) and, at 44.1 and 48 kHz, every second sample.
// Everything from requantization to synthesis is linear, so channels are summed as
// early as their coding allows: an M/S frame's mid channel alone is the downmix (up
// to 1/√2); L/R frames whose channels use the same blocks are summed before the
// IMDCT; others after it (the overlap state is kept for the sum).
type mp3Decoder struct {
	header  mp3Header // the stream's first frame header
	phase   int       // output sample m is source sample phase + decim·m
	version int
	mono    bool
	bands   *mp3Bands
	nsb     int // subbands synthesised
	need    int // spectral lines needed: the nsb subbands and the 8 lines above that alias reduction reads
	decim   int // 1 or 2
	side    mp3Side
	res     []byte          // main data of the last frames: the bit reservoir
	buf     []byte          // this frame's main data, from main_data_begin, then mp3BitsPad zeros
	q       [2][576]int32   // Huffman-decoded values [channel][line]
	xr      [2][576]float32 // requantized lines [channel][line]
	hyb     mp3Hybrid
	slots   [18][32]float32 // subband samples of a granule [time slot][subband]
	synth   *mp3Synth
	// separate makes every stereo granule take the general path (both channels
	// requantized, stereo processed and transformed apart): a test hook.
	separate bool
}

// mp3Plan is the subbands and the decimation a 16 kHz output of rate Hz needs: the
// subbands that start below 8 kHz and one more (the filterbank cancels a band's
// aliasing with its neighbour's; without the margin a 32 kHz file matched the
// reference at 48 dB instead of 65), and decimation by 2 where the halved rate is
// still above 16 kHz and the kept subbands' images stay above 8 kHz. At 48 kHz: 12
// of 32 subbands, 24 kHz out; at 44.1 kHz 13, 22.05 kHz; 32 kHz 17; 24 kHz 23.
func mp3Plan(rate int) (nsb, decim int) {
	nsb = min(32, (SampleRate/2*64+rate-1)/rate+1)
	decim = 1
	if half := rate / 2; rate%2 == 0 && half > SampleRate && half-nsb*rate/64 >= SampleRate/2 {
		decim = 2
	}
	return nsb, decim
}

// newMP3Decoder returns a decoder for the stream whose first frame has header h.
// Output sample m of the stream is the source's sample phase + decim·m.
func newMP3Decoder(h mp3Header, phase int) *mp3Decoder {
	d := &mp3Decoder{header: h, phase: phase, version: h.version, mono: h.mono}
	idx := 0
	for i, r := range mp3Rates[h.version] {
		if r == h.rate {
			idx = i
		}
	}
	bands := mp3BandTables[h.version][idx]
	d.bands = &bands
	d.nsb, d.decim = mp3Plan(h.rate)
	d.need = min(576, 18*d.nsb+8)
	d.hyb.init(d.bands)
	d.synth = newMP3Synth(d.nsb, d.decim, phase%d.decim)
	return d
}

// frame decodes frame f (header included; its length checked by the caller) and
// appends its output samples to out. A frame whose main data begins in frames that
// are not there (after a cut, or a corrupt main_data_begin) decodes as silence.
func (d *mp3Decoder) frame(f []byte, out []float32) []float32 {
	h, _ := parseMP3Header(f)
	d.mono = h.mono // the channel mode may change from frame to frame
	off := 4
	if h.crc {
		off += 2
	}
	var side [32 + mp3BitsPad]byte
	n := h.sideInfo()
	if off+n > len(f) {
		n = max(len(f)-off, 0)
	}
	copy(side[:], f[off:off+n])
	parseSide(side[:], h, &d.side)
	main := f[min(off+h.sideInfo(), len(f)):]
	begin := d.side.mainBegin
	missing := begin > len(d.res)
	d.buf = d.buf[:0]
	if !missing {
		d.buf = append(d.buf, d.res[len(d.res)-begin:]...)
	}
	d.buf = append(d.buf, main...)
	dataLen := len(d.buf)
	d.buf = append(d.buf, make([]byte, mp3BitsPad)...)
	d.keep(main)
	b := mp3Bits{buf: d.buf, end: 8 * dataLen}
	mode, ext := f[3]>>6, f[3]>>4&3
	ms, is := mode == 1 && ext&2 != 0, mode == 1 && ext&1 != 0
	grs := 2
	if d.version != 1 {
		grs = 1
	}
	for gr := range grs {
		if missing {
			d.silentGranule(&out)
			continue
		}
		d.granule(&b, gr, ms, is, &out)
	}
	return out
}

// keep adds a frame's main data to the reservoir, which holds at least the last 511
// bytes (the most main_data_begin reaches back).
func (d *mp3Decoder) keep(main []byte) {
	d.res = append(d.res, main...)
	if len(d.res) > 1024 {
		d.res = append(d.res[:0], d.res[len(d.res)-511:]...)
	}
}

// prime adds frame f's main data to the reservoir without decoding it.
func (d *mp3Decoder) prime(f []byte) {
	h, _ := parseMP3Header(f)
	off := 4 + h.sideInfo()
	if h.crc {
		off += 2
	}
	d.keep(f[min(off, len(f)):])
}

// restart makes d a decoder that has decoded nothing, its reservoir holding res.
// After it primes the frames before frame k and decodes warmFrames frames (two
// granules), its state, and so its output from frame k on, is exactly that of a
// decoder that decoded every frame: the IMDCT overlap is the last granule's, and
// the synthesis reads the last 16 time slots, all of that granule.
func (d *mp3Decoder) restart(res []byte) {
	d.res = append(d.res[:0], res...)
	d.hyb.overlap = [32][18]float32{}
	d.synth.lo, d.synth.hi = [16][32]float32{}, [16][32]float32{}
}

// warmFrames is the frames that hold two granules.
func (d *mp3Decoder) warmFrames() int {
	if d.version == 1 {
		return 1
	}
	return 2
}

// granule decodes granule gr of the frame whose main data b holds, at its position.
func (d *mp3Decoder) granule(b *mp3Bits, gr int, ms, is bool, out *[]float32) {
	const invSqrt2 = 0.70710678118654752
	nch := 2
	if d.mono {
		nch = 1
	}
	gs := &d.side.gr[gr]
	same := nch == 2 && sameBlocks(&gs[0], &gs[1]) && !d.separate
	// Lines to decode per channel: M/S with matching blocks needs the mid channel
	// alone; intensity stereo needs all of the right channel (its last nonzero line
	// is where intensity coding starts).
	need := [2]int{d.need, d.need}
	switch {
	case nch == 1:
	case is:
		need[1] = 576
	case ms && same:
		need[1] = 0
	}
	var decoded [2]int
	for ch := range nch {
		g := &gs[ch]
		start := b.pos
		end := min(start+g.part23, b.end)
		if gr == 1 { // MPEG-1: the bands scfsi marks keep granule 0's scalefactors
			g.long = d.side.gr[0][ch].long
		}
		g.scalefactors(b, d.version, gr == 1, d.side.scfsi[ch], d.version != 1 && is && ch == 1)
		if need[ch] > 0 {
			decoded[ch] = g.huffman(b, end, &d.q[ch], need[ch], d.bands)
		}
		b.pos = end
	}
	x := &d.xr[0]
	switch {
	case nch == 1:
		gs[0].requantize(x, &d.q[0], d.need, d.bands, 1)
	case need[1] == 0: // M/S: (L+R)/2 = M/√2
		gs[0].requantize(x, &d.q[0], d.need, d.bands, invSqrt2)
	case !is && !ms && same:
		gs[0].requantize(x, &d.q[0], d.need, d.bands, 0.5)
		gs[1].requantize(&d.xr[1], &d.q[1], d.need, d.bands, 0.5)
		for i := range d.need {
			x[i] += d.xr[1][i]
		}
	default:
		gs[0].requantize(x, &d.q[0], d.need, d.bands, 0.5)
		gs[1].requantize(&d.xr[1], &d.q[1], d.need, d.bands, 0.5)
		var top [3]int
		if is {
			top = lastNonzero(&gs[1], &d.q[1], decoded[1], d.bands)
		}
		stereo(&d.xr, &gs[1], d.need, ms, is, top, d.bands, d.version)
		if same {
			for i := range d.need {
				x[i] += d.xr[1][i]
			}
		} else { // the channels transform differently: sum after the IMDCT
			antialias(&d.xr[1], &gs[1], min(d.nsb, 31))
			antialias(x, &gs[0], min(d.nsb, 31))
			d.hyb.transform(x, &gs[0], d.nsb, &d.slots, false)
			d.hyb.transform(&d.xr[1], &gs[1], d.nsb, &d.slots, true)
			d.synthesise(out)
			return
		}
	}
	antialias(x, &gs[0], min(d.nsb, 31))
	d.hyb.transform(x, &gs[0], d.nsb, &d.slots, false)
	d.synthesise(out)
}

// silentGranule decodes a granule of zeros (its main data is missing).
func (d *mp3Decoder) silentGranule(out *[]float32) {
	x := &d.xr[0]
	for i := range d.need {
		x[i] = 0
	}
	d.hyb.transform(x, &mp3Channel{}, d.nsb, &d.slots, false)
	d.synthesise(out)
}

// synthesise runs the granule's 18 time slots through the synthesis filterbank.
func (d *mp3Decoder) synthesise(out *[]float32) {
	n := len(*out)
	o := append(*out, make([]float32, 18*d.synth.outs)...)
	for t := range 18 {
		d.synth.slot(&d.slots[t], o[n+t*d.synth.outs:])
	}
	*out = o
}
