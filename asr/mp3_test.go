package asr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// mp3FrameEnds walks the MPEG frames of b (which starts at one): the end offset of each.
func mp3FrameEnds(b []byte) []int {
	var ends []int
	for off := 0; ; {
		h, ok := parseMP3Header(b[off:])
		if !ok || off+h.size() > len(b) {
			return ends
		}
		off += h.size()
		ends = append(ends, off)
	}
}

// TestDecodeMP3 is the table of MP3 streams cut short, with tags and junk between
// frames, with lying Xing headers, and of MPEG audio this package does not decode.
func TestDecodeMP3(t *testing.T) {
	toneMP3 := readFile(t, "testdata/tone-44k-stereo.mp3")
	mp3Xing := bytes.Clone(toneMP3) // the Info header of a CBR file, made a VBR header claiming 2^31 frames
	if i := bytes.Index(mp3Xing, []byte("Info")); i < 0 {
		t.Fatal("no Info header in the MP3 fixture")
	} else {
		copy(mp3Xing[i:], "Xing")
		binary.BigEndian.PutUint32(mp3Xing[i+8:], 1<<31)
	}
	mp3First := 10 + (int(toneMP3[6])<<21 | int(toneMP3[7])<<14 | int(toneMP3[8])<<7 | int(toneMP3[9])) // after the ID3 tag
	mp3Ends := mp3FrameEnds(toneMP3[mp3First:])
	mp3Junk := slices.Concat(toneMP3[:mp3First+mp3Ends[5]], []byte("junk between frames"), toneMP3[mp3First+mp3Ends[5]:])
	mp3Cut := bytes.Clone(toneMP3[:mp3First+417*10+300])                                    // 128 kbit/s: 417 or 418 bytes a frame; cut inside the 11th
	ape := binary.LittleEndian.AppendUint32([]byte("APETAGEX\xd0\x07\x00\x00"), 0xFFFFFFF0) // version 2000, size
	mp3APE := slices.Concat(toneMP3, ape, make([]byte, 20))
	runDecodeCases(t, []decodeCase{
		{name: "MP3 cut mid-frame", in: mp3Cut, wantReason: ReasonTruncated, wantMsg: "inside frame 10"},
		{name: "MP3 cut at a frame boundary, short of its Info header's length", in: toneMP3[:mp3First+mp3Ends[10]],
			wantReason: ReasonTruncated, wantMsg: "Xing header declares 30,870 samples"},
		{name: "MP3 with a trailing ID3v1 tag", in: append(bytes.Clone(toneMP3), append([]byte("TAG"), make([]byte, 125)...)...),
			want: &props{rate: 44100, channels: 2, samples: 11200, peak: 0.48, rms: 0.336}},
		{name: "MP3 with junk between frames", in: mp3Junk,
			want: &props{rate: 44100, channels: 2, samples: 11200, peak: 0.48, rms: -1}},
		{name: "MP3 cut inside the first frame", in: toneMP3[:mp3First+200], wantReason: ReasonTruncated},
		{name: "MP3 Xing header claims 2^31 frames", in: mp3Xing, wantReason: ReasonTooLong},
		{name: "MPEG-2.5 frame cut short", in: []byte{0xFF, 0xE3, 0x18, 0xC4, 0, 0, 0, 0}, wantReason: ReasonTruncated, wantMsg: "inside the first frame (8 of 72 bytes)"},
		{name: "MPEG-1 Layer II frames", in: bytes.Repeat(append([]byte{0xFF, 0xFD, 0x90, 0x04}, make([]byte, 518)...), 2), // 160 kbit/s: 522 bytes a frame
			wantReason: ReasonUnsupported, wantMsg: "Layer 2"},

		// hostile tags
		{name: "APE tag declaring 4 GiB after the frames ends the stream", in: mp3APE,
			want: &props{rate: 44100, channels: 2, samples: 11200, peak: 0.48, rms: -1}},
		{name: "ID3 tag declaring 256 MiB between frames ends the stream", in: slices.Concat(toneMP3[:mp3First+mp3Ends[5]], []byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f"), toneMP3[mp3First+mp3Ends[5]:]),
			wantReason: ReasonTruncated, wantMsg: "Xing header declares 30,870 samples"},
	})
}

// TestDecodeMP3HostileSideInfo rewrites fields of every frame's side information
// (MPEG-1 stereo, bit offsets after the header) or its main data to values an
// encoder never writes; decoding must not fail other than with an *Error, and every
// sample must stay in [-1, 1].
func TestDecodeMP3HostileSideInfo(t *testing.T) {
	file := readFile(t, "testdata/noisy-48k-ms.mp3") // no ID3 tag: frames from byte 0, the first the Xing frame
	first := 0
	ends := mp3FrameEnds(file)
	// rewrite applies f to the side information and main data of every audio frame.
	rewrite := func(f func(side, main []byte)) []byte {
		b := bytes.Clone(file)
		for i := 1; i < len(ends); i++ {
			frame := b[first+ends[i-1] : first+ends[i]]
			f(frame[4:36], frame[36:])
		}
		return b
	}
	set := func(side []byte, pos, n, v int) { // side's bits pos .. pos+n-1 = v, most significant first
		for i := range n {
			bit, at := v>>(n-1-i)&1, pos+i
			side[at/8] = side[at/8]&^(0x80>>(at%8)) | byte(bit<<(7-at%8))
		}
	}
	const gr0 = 20 // first granule channel's fields; each takes 59 bits
	every := func(field, n, v int) func(side, main []byte) {
		return func(side, _ []byte) {
			for k := range 4 {
				set(side, gr0+59*k+field, n, v)
			}
		}
	}
	tests := []struct {
		name string
		f    func(side, main []byte)
	}{
		{"main_data_begin 511 everywhere", func(side, _ []byte) { set(side, 0, 9, 511) }},
		{"part2_3_length 4095", every(0, 12, 4095)},
		{"big_values 511", every(12, 9, 511)},
		{"global_gain 255", every(21, 8, 255)},
		{"scalefac_compress 15", every(29, 4, 15)},
		{"window switching, block type 0 (reserved)", every(33, 3, 4)},
		{"window switching, mixed short blocks", every(33, 4, 0b1101)},
		{"table_select 4 and 14 (not used)", func(side, _ []byte) {
			for k := range 4 {
				set(side, gr0+59*k+33, 1, 0)
				set(side, gr0+59*k+34, 5, 4)
				set(side, gr0+59*k+39, 5, 14)
				set(side, gr0+59*k+44, 5, 31)
			}
		}},
		{"side information all ones", func(side, _ []byte) {
			for i := range side {
				side[i] = 0xFF
			}
		}},
		{"main data all ones", func(_, main []byte) {
			for i := range main {
				main[i] = 0xFF
			}
		}},
		{"main data pseudo-random", func(_, main []byte) {
			x := uint32(1)
			for i := range main {
				x = x*1664525 + 1013904223
				main[i] = byte(x >> 24)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Decode(rewrite(tt.f), DecodeOptions{})
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			for i, v := range a.Samples {
				if v < -1 || v > 1 || v != v {
					t.Fatalf("sample %d is %v", i, v)
				}
			}
			t.Logf("%d samples, peak %.3f, error %v", len(a.Samples), a.Info.Peak, err)
		})
	}
}
