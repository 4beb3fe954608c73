// Package decode turns a model's logits into tokens for diffusion language
// models: the block-diffusion state machines (SDAR unshifted, Fast-dLLM v2
// shifted with sub-blocks, full-canvas LLaDA/Dream with prefix and dual
// caches), the autoregressive baseline on the same weights and code path,
// the unmasking policies (values behind the Policy interface), and sampling.
//
// A sequence never touches tensors or the model: it says which forward it
// needs next (Work) and consumes the logits rows it asked for (Apply). The
// engine's scheduler batches the Work of many sequences into one forward.
// Rules follow ../shared/docs/dllm-engine-spec.md sections 3-5 and 10.
package decode
