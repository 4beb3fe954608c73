package tokenizer

import "golang.org/x/text/unicode/norm"

// normalizer rewrites text before pre-tokenization. The zero value (no
// forms) leaves text unchanged.
type normalizer struct {
	forms []norm.Form // applied in order
}

func (n *normalizer) normalize(s string) string {
	for _, f := range n.forms {
		s = f.String(s) // returns s itself when already normalized
	}
	return s
}

// unicodeForms maps HF normalizer type names to Unicode normalization forms.
var unicodeForms = map[string]norm.Form{
	"NFC":  norm.NFC,
	"NFD":  norm.NFD,
	"NFKC": norm.NFKC,
	"NFKD": norm.NFKD,
}
