// Package vision is the image side of the captioning models: decoding untrusted
// image bytes, the Hugging Face image processors, and the vision towers whose
// rows a language model reads at its image placeholder tokens.
//
// # Image in
//
// Decode reads JPEG, PNG, GIF (first frame), BMP, TIFF and WebP, applies the
// EXIF orientation and converts to 8-bit RGB the way transformers' convert_to_rgb
// does with PIL (alpha over white, grayscale, CMYK, 16-bit). The header's pixel
// count is checked before decoding; every failure is an *Error whose Reason is
// one of not-image, truncated, corrupt, unsupported, too-large, empty; decoder
// panics on hostile input are recovered.
//
// # Preprocessing
//
// ProcessorConfig reproduces transformers' PIL image processors bit for bit:
// LlavaOnevisionImageProcessor (anyres: select_best_resolution, resize, pad,
// tiles, base image), SiglipImageProcessor, and Qwen2VLImageProcessor
// (smart_resize, 14-px patches, temporal patch 2). Resize is Pillow 13's
// Image.resize (fixed-point separable convolution, every filter).
//
// # Towers
//
// LlavaOnevision (SDAR-VL, demo-vision) runs a SigLIP tower, the MLP projector
// and pack_image_features (unpadding, anyres_max_N, image_newline). QwenVision
// (Fast-dVLM, DiffusionVL) runs the Qwen2.5-VL vision transformer (window
// attention, 2-D rotary, 2×2 patch merger) and gives the M-RoPE positions;
// RopeIndex computes a whole prompt's. Both are Encoders: Load a checkpoint
// directory (or LoadFrom the engine's open weights, one memory map), Encode an
// image, and place Features.Rows at Features.Placeholders() in the prompt.
//
// # Captions
//
// A Captioner builds the checkpoint's prompt around an image's placeholders
// and decodes it in the engine, batched with other requests; for Qwen2.5-VL
// checkpoints (either config layout) the request carries the prompt's M-RoPE
// positions, which the engine's language model rotates by.
//
// Parity with transformers 5.23 is tested on goldens written by
// tools/reference/vision_goldens.py and tools/reference/qwen25vl_lm_golden.py
// (testdata/golden/vision).
package vision
