package asr

import "bytes"

// Sniff names the audio format data starts with (wav, flac, mp3: the
// formats Decode takes), or "" when it is none of them. It reads the magic
// bytes only (a RIFF/WAVE header, "fLaC", an ID3v2 tag, an MPEG audio frame
// sync); Decode still checks the whole stream. A file behind an ID3v2 tag
// is reported as mp3 (a FLAC behind one is rare; Decode finds it).
func Sniff(data []byte) string {
	switch {
	case len(data) >= 12 && bytes.HasPrefix(data, []byte("RIFF")) && string(data[8:12]) == "WAVE":
		return "wav"
	case bytes.HasPrefix(data, []byte("fLaC")):
		return "flac"
	case bytes.HasPrefix(data, []byte("ID3")):
		return "mp3"
	}
	if h, ok := parseMP3Header(data); ok && h.layer == 3 {
		return "mp3"
	}
	return ""
}
