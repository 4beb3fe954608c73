package asr

import (
	"encoding/binary"
	"testing"
)

func TestParseL16(t *testing.T) {
	cases := []struct {
		ct     string
		ok     bool
		want   L16
		reason Reason
	}{
		{"audio/L16; rate=16000", true, L16{16000, 1}, ""},
		{"audio/l16;rate=44100;channels=2", true, L16{44100, 2}, ""},
		{"AUDIO/L16; channels=1; rate=8000", true, L16{8000, 1}, ""},
		{"audio/wav", false, L16{}, ""},
		{"", false, L16{}, ""},
		{"audio/L16", true, L16{}, ReasonUnsupported},
		{"audio/L16; rate=0", true, L16{}, ReasonUnsupported},
		{"audio/L16; rate=16000; channels=9", true, L16{}, ReasonUnsupported},
		{"audio/L16; rate=abc", true, L16{}, ReasonUnsupported},
		{"audio/L16; rate=", true, L16{}, ReasonUnsupported},
	}
	for _, c := range cases {
		f, ok, err := ParseL16(c.ct)
		if ok != c.ok || ReasonOf(err) != c.reason || (err == nil && f != c.want) {
			t.Errorf("ParseL16(%q) = %+v, %v, %v; want %+v, %v, reason %q", c.ct, f, ok, err, c.want, c.ok, c.reason)
		}
	}
}

func TestL16Decode(t *testing.T) {
	be := func(v ...int16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			binary.BigEndian.PutUint16(b[2*i:], uint16(x))
		}
		return b
	}
	got, err := L16{Rate: 16000, Channels: 2}.Decode(be(16384, -16384, 32767, 32767, -32768, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 32767.0 / 32768, -0.5}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d = %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := (L16{Rate: 16000, Channels: 2}).Decode(be(1, 2, 3)); ReasonOf(err) != ReasonTruncated {
		t.Errorf("half a frame: %v, want truncated", err)
	}
	if s := (L16{Rate: 16000, Channels: 2}).Seconds(64000); s != 1 {
		t.Errorf("Seconds = %v", s)
	}
}
