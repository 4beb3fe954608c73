"""Check a saved vision checkpoint against transformers' LLaVA-OneVision implementation.

    python tools/train/vision/check_hf.py --model testdata/models/demo-vision --image testdata/heldout/vision/0001.png

Loads the directory with LlavaOnevisionForConditionalGeneration.from_pretrained (prints its
missing/unexpected/mismatched keys), runs the image processor from preprocessor_config.json,
and compares pixel values and image features (get_image_features: anyres base + tile +
image_newline) with what model.py computes from the same directory.
"""

import argparse
import os
import sys

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as vm  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--image", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from transformers import AutoImageProcessor, LlavaOnevisionForConditionalGeneration

    hf, info = LlavaOnevisionForConditionalGeneration.from_pretrained(
        args.model, output_loading_info=True, dtype=torch.float32)
    print("transformers load:", {k: sorted(v) if not isinstance(v, list) else v for k, v in info.items()})
    proc = AutoImageProcessor.from_pretrained(args.model)
    print("image processor:", type(proc).__name__)
    img = Image.open(args.image).convert("RGB")
    out = proc(images=[img], return_tensors="pt")
    pv, sizes = out["pixel_values"], out["image_sizes"]
    print("pixel_values", tuple(pv.shape), "image_sizes", sizes.tolist())

    ours, _ = vm.load(args.model)
    mine = vm.pixels(img)
    for k in range(pv.shape[1]):
        print(f"crop {k}: max |hf - ours| pixel diff {(pv[0, k] - mine).abs().max().item():.2e}")
    with torch.no_grad():
        feats = hf.model.get_image_features(pixel_values=pv, image_sizes=sizes).pooler_output
        f_hf = feats[0] if isinstance(feats, (list, tuple)) else feats
        f_ours = ours.image_features(mine[None])[0]
    print("image tokens: hf", tuple(f_hf.shape), "ours", tuple(f_ours.shape), "config",
          hf.config.to_dict().get("dlmstream_image_features", {}).get("num_image_tokens"))
    print(f"max |hf - ours| feature diff {(f_hf - f_ours).abs().max().item():.2e} "
          f"(feature scale {f_ours.abs().max().item():.2e})")
    # The language model weights: compare one layer's tensors and the head.
    sd_hf = hf.state_dict()
    lm = ours.language_model.state_dict()
    worst = max((sd_hf["model.language_model." + k[len("model."):]] - v).abs().max().item()
                for k, v in lm.items() if k.startswith("model."))
    worst = max(worst, (sd_hf["lm_head.weight"] - lm["lm_head.weight"]).abs().max().item())
    print(f"language model weights max diff {worst:.2e}")


if __name__ == "__main__":
    main()
