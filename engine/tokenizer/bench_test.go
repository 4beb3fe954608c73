package tokenizer

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// benchText builds about n bytes of mixed text deterministically: English
// prose, Go and Python code, Chinese and Japanese, numbers, whitespace.
func benchText(n int) string {
	rng := rand.New(rand.NewPCG(42, 42))
	words := strings.Fields("the of and to in is was for that with as on by it from at this " +
		"model token tokenizer encoding stream engine diffusion attention kernel memory " +
		"Kubernetes PostgreSQL throughput latency benchmark deterministic Unicode normalization " +
		"isn't they're we've I'm you'll he'd")
	cjk := []string{"自然语言处理", "今天天气很好", "机器学习模型", "数据流", "東京都", "ひらがな", "カタカナ", "한국어"}
	code := []string{
		"func (t *Tokenizer) Encode(text string) []int32 {\n\tout := make([]int32, 0, len(text)/3)\n\treturn out\n}\n",
		"def forward(self, x):\n    h = self.norm(x)\n    return x + self.mlp(h)\n",
		"for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\n",
		"SELECT id, name FROM users WHERE created_at > '2026-01-01';\n",
	}
	var sb strings.Builder
	for sb.Len() < n {
		switch k := rng.IntN(10); {
		case k < 6: // a sentence
			for i, m := 0, 5+rng.IntN(15); i < m; i++ {
				w := words[rng.IntN(len(words))]
				if i == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				}
				sb.WriteString(w)
				if i < m-1 {
					sb.WriteByte(' ')
				}
			}
			sb.WriteString(". ")
		case k < 7:
			sb.WriteString(code[rng.IntN(len(code))])
		case k < 9:
			for i := 0; i < 3; i++ {
				sb.WriteString(cjk[rng.IntN(len(cjk))])
			}
			sb.WriteString("。")
		default:
			sb.WriteString(strconv.Itoa(rng.IntN(1e9)) + ", " + strconv.FormatFloat(rng.Float64()*1e4, 'f', 3, 64) + "\n\n")
		}
	}
	return sb.String()
}

// BenchmarkEncode reports MB/s of Encode on 1 MB of mixed text, with the
// per-piece cache (warm after the first iteration) and without it. Run
// with -cpu 1 for the single-core figure.
func BenchmarkEncode(b *testing.B) {
	tok := qwen3(b)
	text := benchText(1 << 20)
	for _, cache := range []bool{true, false} {
		name := "cache"
		if !cache {
			name = "nocache"
		}
		b.Run(name, func(b *testing.B) {
			tok.model.useCache = cache
			defer func() { tok.model.useCache = true }()
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				tok.Encode(text)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := qwen3(b)
	text := benchText(1 << 20)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Decode(ids, false)
	}
}
