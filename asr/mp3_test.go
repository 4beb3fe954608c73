package asr

import (
	"bytes"
	"encoding/binary"
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
