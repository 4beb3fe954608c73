package asr

import (
	"encoding/binary"
	"sync"
)

// Layer III main data is read with mp3Bits, and its spectral values are Huffman
// decoded through two-level lookup tables built once from mp3tables.go's codewords.

// mp3Bits reads bits, most significant first, from buf. buf carries mp3BitsPad zero
// bytes past the data, so a reader may look up to 64 bits past end without a bounds
// check failing; end is where the data stops, in bits.
type mp3Bits struct {
	buf []byte
	pos int // bits read
	end int // bits in buf before the padding
}

const mp3BitsPad = 64

// peek is the next 32 bits, left aligned (bits past end read as 0). pos must be at
// most end+64.
func (b *mp3Bits) peek() uint32 {
	return uint32(binary.BigEndian.Uint64(b.buf[b.pos>>3:]) << (b.pos & 7) >> 32)
}

// read reads n ≤ 24 bits.
func (b *mp3Bits) read(n int) int {
	if n == 0 {
		return 0
	}
	v := int(b.peek() >> (32 - n))
	b.pos += n
	return v
}

// mp3HuffLUT is a code table arranged for lookup: entry w>>(32-mp3RootBits) of the
// next 32 bits w is a leaf, length<<8 | x<<4 | y (length 0: no codeword starts so),
// or a link, 1<<31 | bits<<24 | offset, to a second-level table of 1<<bits entries
// indexed by the bits after the first mp3RootBits.
type mp3HuffLUT []uint32

const mp3RootBits = 8

// mp3HuffLUTs holds the lookup table of every code table, by table number. [34]
var mp3HuffLUTs = sync.OnceValue(func() [34]mp3HuffLUT {
	var luts [34]mp3HuffLUT
	built := map[*uint32]mp3HuffLUT{}
	for n, t := range mp3HuffTables {
		if len(t.codes) == 0 {
			continue
		}
		if l, ok := built[&t.codes[0]]; ok {
			luts[n] = l
			continue
		}
		luts[n] = newHuffLUT(t.codes)
		built[&t.codes[0]] = luts[n]
	}
	return luts
})

// newHuffLUT builds the lookup table of codes (code<<13 | length<<8 | xy).
func newHuffLUT(codes []uint32) mp3HuffLUT {
	lut := make(mp3HuffLUT, 1<<mp3RootBits)
	sub := map[uint32]int{} // root prefix → the longest code under it
	for _, c := range codes {
		code, n, xy := c>>13, int(c>>8&31), c&0xFF
		if n <= mp3RootBits {
			first := code << (mp3RootBits - n)
			for i := range uint32(1) << (mp3RootBits - n) {
				lut[first+i] = uint32(n)<<8 | xy
			}
			continue
		}
		p := code >> (n - mp3RootBits)
		sub[p] = max(sub[p], n-mp3RootBits)
	}
	for p := range uint32(1) << mp3RootBits { // in prefix order, so the table is the same every time
		bits, ok := sub[p]
		if !ok {
			continue
		}
		lut[p] = 1<<31 | uint32(bits)<<24 | uint32(len(lut))
		lut = append(lut, make([]uint32, 1<<bits)...)
	}
	for _, c := range codes {
		code, n, xy := c>>13, int(c>>8&31), c&0xFF
		if n <= mp3RootBits {
			continue
		}
		link := lut[code>>(n-mp3RootBits)]
		bits, off := int(link>>24&31), link&0xFFFFFF
		rest := code & (1<<(n-mp3RootBits) - 1) // the bits after the root prefix
		first := off + rest<<(bits-(n-mp3RootBits))
		for i := range uint32(1) << (bits - (n - mp3RootBits)) {
			lut[first+i] = uint32(n)<<8 | xy
		}
	}
	return lut
}

// decode reads one codeword: its x<<4 | y, and false when the bits start none.
func (l mp3HuffLUT) decode(b *mp3Bits) (uint32, bool) {
	w := b.peek()
	e := l[w>>(32-mp3RootBits)]
	if e>>31 != 0 {
		bits := e >> 24 & 31
		e = l[e&0xFFFFFF+(w<<mp3RootBits)>>(32-bits)]
	}
	n := int(e >> 8 & 31)
	b.pos += n
	return e & 0xFF, n != 0
}

// huffman decodes the spectral values of one granule of one channel into q (lines
// 0 .. 575, as signed integers), reading from b up to end (the granule's
// part2_3_length): big_values pairs in up to three regions, then count1 quadruples.
// It stops once need lines are decoded (the rest are not used) and returns how many
// lines it wrote, the lines past them being zero; q[:need] is written in full.
func (g *mp3Channel) huffman(b *mp3Bits, end int, q *[576]int32, need int, bounds *mp3Bands) int {
	luts := mp3HuffLUTs()
	big := min(2*g.bigValues, 576)
	r1, r2 := g.regions(bounds)
	i := 0
	for i < big && i < need && b.pos < end {
		table := g.table[0]
		stop := min(r1, big)
		switch {
		case i >= r2:
			table, stop = g.table[2], big
		case i >= r1:
			table, stop = g.table[1], min(r2, big)
		}
		lut, linbits := luts[table], mp3HuffTables[table].linbits
		if lut == nil { // tables 0, 4 and 14: zeros
			for ; i < stop; i++ {
				q[i] = 0
			}
			continue
		}
		for ; i < stop && i < need && b.pos < end; i += 2 {
			xy, ok := lut.decode(b)
			if !ok {
				return g.zeroFrom(q, i, need)
			}
			x, y := int32(xy>>4), int32(xy&15)
			if x == 15 && linbits > 0 {
				x += int32(b.read(linbits))
			}
			if x != 0 && b.read(1) != 0 {
				x = -x
			}
			if y == 15 && linbits > 0 {
				y += int32(b.read(linbits))
			}
			if y != 0 && b.read(1) != 0 {
				y = -y
			}
			q[i], q[i+1] = x, y
		}
	}
	lut := luts[32+g.count1Table]
	for i+4 <= 576 && i < need && b.pos < end {
		v, ok := lut.decode(b)
		if !ok {
			break
		}
		for k := range 4 {
			val := int32(v >> (3 - k) & 1)
			if val != 0 && b.read(1) != 0 {
				val = -val
			}
			q[i+k] = val
		}
		i += 4
		if b.pos > end { // the last quadruple ran past the granule's bits: it is not one
			i -= 4
			break
		}
	}
	return g.zeroFrom(q, i, need)
}

// zeroFrom zeroes q[i:need] and returns i, the lines decoded.
func (g *mp3Channel) zeroFrom(q *[576]int32, i, need int) int {
	for k := i; k < need; k++ {
		q[k] = 0
	}
	return i
}
