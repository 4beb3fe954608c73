package decode_test

import (
	"context"
	"fmt"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// tiny-llada's ids: EOS 1568, "\n" (byte-level "Ċ") 198. The weights are
// random (confidences near 0.02, EOS probability near 1/1572), so the
// thresholds below are set where the rules fire on them.
const lladaEOS, lladaNL = 1568, 198

var lladaDelims = func() []int32 { // "\n" and a few hundred more, so AdaBlock finds one
	d := []int32{lladaNL}
	for id := int32(0); id < 400; id++ {
		d = append(d, id)
	}
	return d
}()

var lladaAdaptive = []struct {
	name string
	set  func(p *decode.CanvasParams)
}{
	{"default", func(p *decode.CanvasParams) {}},
	{"adablock", func(p *decode.CanvasParams) {
		p.AdaBlock = &decode.AdaBlock{Delims: lladaDelims, Tau: 0.001, Window: 12}
	}},
	{"rho-grow", func(p *decode.CanvasParams) { p.Length = &decode.RhoEOS{Init: 8, Chunk: 8, Lo: 0.5, Hi: 0.9} }},
	{"rho-shrink", func(p *decode.CanvasParams) { p.Length = &decode.RhoEOS{Init: 24, Chunk: 4, Lo: 0, Hi: 1e-6} }},
	{"daedal", func(p *decode.CanvasParams) { p.Daedal = &decode.Daedal{Init: 8, Chunk: 8, Expand: 0.03, Factor: 2} }},
	{"daedal-expand", func(p *decode.CanvasParams) { p.Daedal = &decode.Daedal{Init: 16, Tau: 1e-9, Expand: 0.03, Factor: 2} }},
}

var lladaPrompts = [][]int32{{398, 1102, 1037}, {12, 700, 45, 9, 1300}, {1500, 3}}

// Every adaptive option decodes tiny-llada end to end with every cache kind
// and policy; the figures (forwards, tokens per forward) are logged.
func TestCanvasAdaptiveLLaDA(t *testing.T) {
	m, a := loadModel(t, "tiny-llada", model.LoadOptions{Exact: true})
	policies := []struct {
		name string
		pol  func() decode.Policy
	}{
		{"static", func() decode.Policy { return nil }},
		{"threshold", func() decode.Policy { return decode.Threshold{Tau: 0.02} }},
		{"credit", func() decode.Policy { c := decode.DefaultCredit(); c.Tau = 0.02; return c }},
		{"localleap", func() decode.Policy { return decode.LocalLeap{High: 0.03, Low: 0.02} }},
		{"entropy", func() decode.Policy { return decode.EntropyBounded{Gamma: 0.35} }},
		{"sequential", func() decode.Policy { return decode.Sequential{} }},
	}
	for _, opt := range lladaAdaptive {
		for _, pol := range policies {
			for _, cache := range []decode.CacheKind{decode.NoCanvasCache, decode.PrefixCache, decode.DualCache} {
				fwd, toks := 0, 0
				for _, pr := range lladaPrompts {
					p := decode.CanvasParams{Params: decode.Params{MaxNew: 32, Stop: []int32{lladaEOS}, Policy: pol.pol()}, BlockLen: 8, Cache: cache}
					opt.set(&p)
					s, err := decode.NewCanvas(a, pr, p)
					if err != nil {
						t.Fatal(err)
					}
					if err := decode.Run(context.Background(), m, m.NewPool(0).NewSequence(), s); err != nil {
						t.Fatalf("%s/%s/cache=%d: %v", opt.name, pol.name, cache, err)
					}
					if n := len(s.Output()); n == 0 || n > 32 {
						t.Fatalf("%s/%s/cache=%d: %d tokens", opt.name, pol.name, cache, n)
					}
					fwd, toks = fwd+s.Forwards(), toks+len(s.Output())
				}
				if pol.name == "static" || pol.name == "threshold" {
					t.Logf("%-13s %-9s cache=%d: %3d forwards, %3d tokens, %.2f tokens/forward", opt.name, pol.name, cache, fwd, toks, float64(toks)/float64(fwd))
				}
			}
		}
	}
}

// AdaBlock composes with a template: the template's positions stay.
func TestCanvasAdaBlockTemplate(t *testing.T) {
	m, a := loadModel(t, "tiny-llada", model.LoadOptions{Exact: true})
	M := a.MaskID
	tpl := []int32{M, M, 40, M, M, M, 41, M, M, M, M, M}
	for _, cache := range []decode.CacheKind{decode.NoCanvasCache, decode.PrefixCache, decode.DualCache} {
		t.Run(fmt.Sprint(cache), func(t *testing.T) {
			p := decode.CanvasParams{Params: decode.Params{Template: tpl}, BlockLen: 8, Cache: cache,
				AdaBlock: &decode.AdaBlock{Delims: lladaDelims, Tau: 0.001}}
			got := runCanvas(t, m, a, lladaPrompts[0], p)
			if len(got) != len(tpl) || got[2] != 40 || got[6] != 41 {
				t.Fatalf("output %v, template %v", got, tpl)
			}
		})
	}
}
