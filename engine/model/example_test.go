package model_test

import (
	"fmt"

	"dlmstream/engine/model"
)

// The M-RoPE ids of a Qwen2.5-VL prompt: "<|vision_start|>", a 2×3 grid of
// image rows, then text. Tokens after the prompt continue at max id + 1.
func ExampleNewPositions() {
	p, err := model.NewPositions([3][]int{
		{0, 1, 1, 1, 1, 1, 1, 4, 5}, // temporal
		{0, 1, 1, 1, 2, 2, 2, 4, 5}, // height
		{0, 1, 2, 3, 1, 2, 3, 4, 5}, // width
	})
	if err != nil {
		panic(err)
	}
	t, h, w := p.At(5)
	fmt.Println("image row 5:", t, h, w)
	t, h, w = p.At(9)
	fmt.Println("first generated token:", t, h, w, "delta", p.Delta)
	// Output:
	// image row 5: 1 2 2
	// first generated token: 6 6 6 delta -3
}

// LLaDA's config.json keeps its own keys (d_model, n_layers, ...): they are
// read into the transformers fields, and a config without mask_token_id
// gets LLaDA's <|mdm_mask|> id.
func ExampleParseConfig_llada() {
	c, err := model.ParseConfig("config.json", []byte(`{"model_type": "llada", "block_type": "llama",
		"activation_type": "silu", "layer_norm_type": "rms", "rope": true, "rope_theta": 500000.0,
		"d_model": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 32, "mlp_hidden_size": 12288,
		"vocab_size": 126464, "embedding_size": 126464, "weight_tying": false}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.HiddenSize, c.NumLayers, c.HeadDim, c.IntermediateSize, c.VocabSize, c.RMSNormEps, c.TieWordEmbeddings)
	fmt.Println("mask", *c.MaskTokenID, *c.MaskTokenID == model.LLaDAMaskTokenID)
	// Output:
	// 4096 32 128 12288 126464 1e-05 false
	// mask 126336 true
}
