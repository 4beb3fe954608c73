#!/usr/bin/env python3
"""The Qwen2.5-VL language-model golden: transformers' Qwen2_5_VLForConditionalGeneration on
testdata/models/tiny-qwen25vl with one image and a caption prompt, run causally (as transformers
runs every Qwen2.5-VL checkpoint), with its multimodal rotary positions (M-RoPE).

Output: testdata/golden/vision/qwen-lm.json with
  image, prompt            the input (an image of testdata/golden/vision/images/, the instruction)
  grid_thw, features       image_grid_thw and the merger rows get_image_features gives [N, hidden]
  input_ids                the prompt as the Qwen2.5-VL chat template and processor build it: the
                           user turn holds <|vision_start|>, N x <|image_pad|>, <|vision_end|>, then
                           the instruction; then the generation prompt
  position_ids, rope_delta get_rope_index on the prompt: [3][len(input_ids)], and the delta that
                           decoding adds to the 1-D position of every later token
  generated                the greedy continuation (argmax, one token per forward, every forward over
                           the whole sequence so far with no cache), up to and including the first
                           stop id of generation_config.json, at most MAX_NEW tokens; with the
                           top-1 minus top-2 logit margin of each step
  logit_positions, logits  the logits [len(logit_positions), vocab] of one forward over prompt +
                           generated (get_rope_index on that whole sequence) at text positions before
                           the image, image rows, <|vision_end|>, the prompt's end and every generated
                           position
  block_logits             the same forward under the block-causal mask of block-diffusion decoding
                           (query q sees key k iff q // B >= k // B, B = block_size, passed as an
                           explicit 4-D additive mask), at the same positions

The script checks that generate() (KV cache, rope deltas) gives the same tokens and that the
whole-sequence forward reproduces every greedy step. It does not rewrite the checkpoint (that is
tools/reference/vision_goldens.py, which also writes the image).

Usage (from the repository root; CPU, a few seconds; pins in requirements-vision.txt):

    python3 tools/reference/qwen25vl_lm_golden.py

Deterministic: two runs give byte-identical files.
"""

from __future__ import annotations

import base64
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLD = os.path.join(ROOT, "testdata", "golden", "vision")
TINY_QWEN = os.path.join(ROOT, "testdata", "models", "tiny-qwen25vl")
IMAGE = "tall-90x300.png"  # 22x6 patches -> 11x3 merged rows: height and width ids differ
PROMPT = "Describe the image."
MAX_NEW = 12


def f32(a: torch.Tensor) -> dict:
    a = a.detach().to(torch.float32).numpy()
    return {"shape": list(a.shape), "f32": base64.b64encode(np.ascontiguousarray(a, "<f4").tobytes()).decode()}


def main() -> None:
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(TINY_QWEN, dtype=torch.float32).eval()
    c = model.config
    proc = AutoImageProcessor.from_pretrained(TINY_QWEN)
    assert proc.backend == "pil", type(proc)
    tok = AutoTokenizer.from_pretrained(TINY_QWEN)
    gen_cfg = json.load(open(os.path.join(TINY_QWEN, "generation_config.json")))
    stop = gen_cfg["eos_token_id"] if isinstance(gen_cfg["eos_token_id"], list) else [gen_cfg["eos_token_id"]]

    img = Image.open(os.path.join(GOLD, "images", IMAGE))
    img.load()
    px = proc(images=[img], return_tensors="pt")
    grid = px["image_grid_thw"]
    n = int(grid.prod()) // proc.merge_size**2
    with torch.no_grad():
        feats = model.model.get_image_features(pixel_values=px["pixel_values"], image_grid_thw=grid).pooler_output[0]
    assert feats.shape[0] == n

    # The Qwen2.5-VL processor's expansion: one <|image_pad|> per merged row.
    content = "<|vision_start|><|image_pad|><|vision_end|>" + PROMPT
    text = tok.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False)
    text = text.replace("<|image_pad|>", "<|image_pad|>" * n)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids.count(c.image_token_id) == n

    def forward(seq: list[int], block: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits [len(seq), V] of one forward with get_rope_index's positions: causal, or
        block-causal with blocks of `block` tokens."""
        input_ids = torch.tensor([seq])
        mm = (input_ids == c.image_token_id).int()
        pos, delta = model.model.get_rope_index(input_ids, mm, image_grid_thw=grid)
        mask = torch.ones_like(input_ids)
        if block:
            b = torch.arange(len(seq)) // block
            mask = torch.where(b[:, None] >= b[None, :], 0.0, torch.finfo(torch.float32).min)[None, None]
        with torch.no_grad():
            out = model(input_ids=input_ids, attention_mask=mask, pixel_values=px["pixel_values"],
                        image_grid_thw=grid, mm_token_type_ids=mm, position_ids=pos)
        return out.logits[0], pos[:, 0], delta[0, 0]

    # Greedy, one token per forward over the whole sequence so far.
    seq, generated, margins = list(ids), [], []
    for _ in range(MAX_NEW):
        logits, _, _ = forward(seq)
        top = torch.topk(logits[-1], 2)
        t = int(top.indices[0])
        generated.append(t)
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(t)
        if t in stop:
            break
    mask_id = json.load(open(os.path.join(TINY_QWEN, "config.json")))["text_config"]["mask_token_id"]
    assert mask_id not in generated, "greedy picked the mask id, which the engine never commits"

    # The KV-cached path (rope deltas for the decoded tokens) agrees.
    input_ids = torch.tensor([ids])
    mm = (input_ids == c.image_token_id).int()
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=px["pixel_values"],
                             image_grid_thw=grid, mm_token_type_ids=mm, max_new_tokens=len(generated), do_sample=False,
                             eos_token_id=stop, pad_token_id=gen_cfg.get("pad_token_id", 0))
    assert out[0, len(ids):].tolist() == generated, (out[0, len(ids):].tolist(), generated)

    # One forward over prompt + generated: the logits that predicted every greedy token.
    full, _, _ = forward(ids + generated[:-1])
    p = len(ids)
    start = ids.index(c.image_token_id)
    assert [int(full[p - 1 + g].argmax()) for g in range(len(generated))] == generated
    block = json.load(open(os.path.join(TINY_QWEN, "config.json")))["text_config"]["block_size"]
    block_full, _, _ = forward(ids + generated[:-1], block)
    assert not torch.allclose(block_full, full), "the block-causal mask changed nothing"
    _, pos, delta = forward(ids)
    positions = sorted({0, start - 2, start - 1, start, start + 1, start + n // 2, start + n - 1, start + n, start + n + 1,
                        p - 2} | {p - 1 + g for g in range(len(generated))})
    obj = {
        "image": IMAGE, "prompt": PROMPT, "grid_thw": [int(v) for v in grid[0]], "features": f32(feats),
        "input_ids": ids, "position_ids": pos.tolist(), "rope_delta": int(delta),
        "stop_ids": stop, "generated": generated, "margins": [round(m, 6) for m in margins],
        "logit_positions": positions, "logits": f32(full[positions]),
        "block_size": block, "block_logits": f32(block_full[positions]),
    }
    path = os.path.join(GOLD, "qwen-lm.json")
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    os.chmod(path, 0o644)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes): {len(ids)} prompt tokens, "
          f"{n} image rows, grid {grid[0].tolist()}, delta {int(delta)}, generated {generated}, "
          f"min margin {min(margins):.4f}")


if __name__ == "__main__":
    sys.exit(main())
