#!/usr/bin/env python3
"""Write the vision goldens: test images, tiny random vision checkpoints and what
transformers computes from them.

Outputs (relative to the repository root):

  testdata/golden/vision/images/*.{png,webp,jpg}   input images (synthetic, odd sizes)
  testdata/golden/vision/resize.json               PIL Image.resize for every filter
  testdata/golden/vision/preprocess.json           pixel_values of the transformers image
                                                   processors (PIL backend)
  testdata/golden/vision/siglip.json               SiglipVisionModel hidden states, post
                                                   layernorm, attention-pooling head
  testdata/golden/vision/siglip-head/              that tiny SigLIP (config + safetensors)
  testdata/golden/vision/llava.json                LlavaOnevisionModel.get_image_features
                                                   (demo-vision, tiny-sdar-vl)
  testdata/golden/vision/qwen.json                 Qwen2.5-VL vision tower (merger rows)
                                                   and get_rope_index position ids
  testdata/models/tiny-sdar-vl/                    LLaVA-OneVision layout, SigLIP + SDAR
  testdata/models/tiny-qwen25vl/                   Qwen2.5-VL + block-diffusion fields

Arrays are base64 of little-endian float32 (or uint8) with their shape beside them.
pixel_values are stored as the uint8 pixels they are an exact function of: the script
checks that rescaling and normalizing those bytes with the processor's own methods gives
transformers' pixel_values bit for bit, and stores their float64 sum as a second check.

Usage (from the repository root; CPU only, about a minute):

    pip install -r tools/reference/requirements-vision.txt   # no torchvision: PIL backends
    python3 tools/reference/vision_goldens.py

Everything is seeded; running it twice gives identical files.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
import sys
import types
import zlib

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLD = os.path.join(ROOT, "testdata", "golden", "vision")
IMAGES = os.path.join(GOLD, "images")
MODELS = os.path.join(ROOT, "testdata", "models")
DEMO = os.path.join(MODELS, "demo-vision")
TINY_VL = os.path.join(MODELS, "tiny-sdar-vl")
TINY_QWEN = os.path.join(MODELS, "tiny-qwen25vl")


def b64(a: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode()


def u8z(a: np.ndarray) -> str:
    """uint8 bytes, zlib-compressed (level 9), base64."""
    return base64.b64encode(zlib.compress(np.ascontiguousarray(a, dtype="u1").tobytes(), 9)).decode()


def f32(a) -> dict:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return {"shape": list(a.shape), "f32": b64(a, "<f4")}


def write_json(name: str, obj) -> None:
    path = os.path.join(GOLD, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    os.chmod(path, 0o644)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


# ---------------------------------------------------------------- images


def photo(w: int, h: int, seed: int) -> Image.Image:
    """A photo-like image: smooth colour fields, soft-edged shapes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 100 * np.sin(x / w * 3.1 + 0.5) * np.cos(y / h * 2.3)
    g = 127 + 90 * np.sin((x + y) / (w + h) * 5.0)
    b = 127 + 110 * np.cos(x / w * 1.7 - y / h * 2.9)
    im = Image.fromarray(np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for i in range(12):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        rr = int(rng.integers(3, max(4, min(w, h) // 4)))
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        if i % 2:
            d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=col)
        else:
            d.rectangle([cx - rr, cy - rr // 2, cx + rr, cy + rr // 2], fill=col)
    return im.filter(ImageFilter.GaussianBlur(1.5))


def gradient(w: int, h: int) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 255 // max(w + h - 2, 1)], -1)
    return Image.fromarray(a.astype(np.uint8), "RGB")


def checker(w: int, h: int, cell: int) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    on = ((x // cell + y // cell) % 2).astype(bool)
    a = np.zeros((h, w, 3), np.uint8)
    a[on] = (250, 240, 20)
    a[~on] = (10, 30, 200)
    return Image.fromarray(a, "RGB")


def rgba(w: int, h: int) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 5 % 256, y * 7 % 256, (x * y) % 256, (x * 255 // max(w - 1, 1))], -1)
    return Image.fromarray(a.astype(np.uint8), "RGBA")


def palette(w: int, h: int) -> Image.Image:
    """A paletted image whose index 0 is transparent."""
    im = checker(w, h, 5).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    im.info["transparency"] = 0
    return im


def make_images() -> dict[str, Image.Image]:
    """name -> image as PIL opens it from disk."""
    os.makedirs(IMAGES, exist_ok=True)
    ims = {
        "gradient-37x53.png": gradient(37, 53),
        "checker-61x47.png": checker(61, 47, 6),
        "photo-640x480.png": photo(640, 480, 1),
        "photo-200x150.png": photo(200, 150, 2),
        "tall-90x300.png": photo(90, 300, 3),
        "wide-500x120.png": photo(500, 120, 4),
        "line-1x300.png": gradient(1, 300),
        "line-300x1.png": gradient(300, 1),
        "small-20x12.png": photo(20, 12, 5),
        "rgba-50x30.png": rgba(50, 30),
        "gray-33x21.png": gradient(33, 21).convert("L"),
        "palette-30x20.png": palette(30, 20),
    }
    for name, im in ims.items():
        kw = {"transparency": im.info["transparency"]} if "transparency" in im.info else {}
        im.save(os.path.join(IMAGES, name), optimize=True, **kw)
    # Decoder fixtures (not preprocessed: their pixels come from lossy codecs or
    # conversions the Go decoders need not match bit for bit).
    photo(64, 48, 6).save(os.path.join(IMAGES, "photo-64x48-lossy.webp"), quality=80)
    photo(64, 48, 6).save(os.path.join(IMAGES, "photo-64x48-lossless.webp"), lossless=True)
    rgba(40, 24).save(os.path.join(IMAGES, "rgba-40x24.webp"), lossless=True)
    photo(64, 48, 6).convert("CMYK").save(os.path.join(IMAGES, "photo-64x48-cmyk.jpg"), quality=90)
    out = {}
    for name in ims:
        out[name] = Image.open(os.path.join(IMAGES, name))
        out[name].load()
    return out


# ---------------------------------------------------------------- resize


def resize_goldens(images) -> None:
    cases = []
    sizes = {
        "gradient-37x53.png": [(48, 48), (100, 23), (37, 80), (5, 7)],
        "checker-61x47.png": [(28, 28), (122, 47), (61, 13), (90, 70)],
        "photo-200x150.png": [(48, 48), (37, 53), (99, 76), (13, 150)],
        "photo-640x480.png": [(56, 56), (112, 84), (641, 3)],
        "line-1x300.png": [(48, 48), (1, 17)],
        "line-300x1.png": [(48, 48), (17, 3)],
    }
    for name, targets in sizes.items():
        src = images[name].convert("RGB")
        for w, h in targets:
            for f in [0, 1, 2, 3, 4, 5, 6, 7]:
                out = np.array(src.resize((w, h), resample=f))
                cases.append({"image": name, "w": w, "h": h, "filter": f, "u8z": u8z(out)})
    write_json("resize.json", {"pillow": Image.__version__, "cases": cases})


# ---------------------------------------------------------------- preprocessing


SIGLIP_BILINEAR = {
    "image_processor_type": "SiglipImageProcessor",
    "do_resize": True,
    "size": {"height": 30, "width": 44},
    "resample": 2,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}

SIGLIP_LANCZOS = dict(SIGLIP_BILINEAR, size={"height": 32, "width": 32}, resample=1,
                      image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711])


def processor_from(cfg: dict, cls):
    kw = {k: v for k, v in cfg.items() if k not in ("image_processor_type", "processor_class")}
    return cls(**kw)


def u8_from_pixels(proc, pv: np.ndarray) -> np.ndarray:
    """Recover the uint8 pixels [..., 3, H, W] behind normalized pixel_values, and check
    that the processor's own rescale + normalize reproduce them bit for bit."""
    mean = np.array(proc.image_mean, np.float64).reshape(3, 1, 1)
    std = np.array(proc.image_std, np.float64).reshape(3, 1, 1)
    u = np.rint((pv.astype(np.float64) * std + mean) / proc.rescale_factor)
    assert u.min() >= 0 and u.max() <= 255, (u.min(), u.max())
    u = u.astype(np.uint8)
    for idx in np.ndindex(u.shape[:-3]):
        back = proc.normalize(proc.rescale(u[idx], proc.rescale_factor), proc.image_mean, proc.image_std)
        assert np.array_equal(back, pv[idx]), "pixel_values are not an exact function of uint8 pixels"
    return u


def preprocess_goldens(images) -> None:
    from transformers import AutoImageProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    procs = {}
    for name, d in [("demo-vision", DEMO), ("tiny-sdar-vl", TINY_VL), ("tiny-qwen25vl", TINY_QWEN)]:
        cfg = json.load(open(os.path.join(d, "preprocessor_config.json")))
        p = AutoImageProcessor.from_pretrained(d)
        assert p.backend == "pil", type(p)
        procs[name] = (cfg, p)
    for name, cfg in [("siglip-bilinear", SIGLIP_BILINEAR), ("siglip-lanczos", SIGLIP_LANCZOS)]:
        procs[name] = (cfg, processor_from(cfg, SiglipImageProcessorPil))
    cases = []
    for pname, (cfg, proc) in procs.items():
        for iname, im in images.items():
            case = {"processor": pname, "processor_config": cfg, "image": iname, "class": type(proc).__name__}
            try:
                out = proc(images=[im], return_tensors="np")
            except ValueError as e:
                case["error"] = str(e)
                cases.append(case)
                continue
            pv = np.asarray(out["pixel_values"])
            case["sum"] = float(pv.astype(np.float64).sum())
            case["max_abs"] = float(np.abs(pv).max())
            if isinstance(proc, Qwen2VLImageProcessorPil):
                t, gh, gw = (int(v) for v in out["image_grid_thw"][0])
                ps, ms, tp = proc.patch_size, proc.merge_size, proc.temporal_patch_size
                # Undo patchify: rows (gh/m, gw/m, m, m) x (C, T, P, P) -> [3, H, W] of frame 0.
                x = pv.reshape(gh // ms, gw // ms, ms, ms, 3, tp, ps, ps)[:, :, :, :, :, 0]
                x = x.transpose(4, 0, 2, 5, 1, 3, 6).reshape(3, gh * ps, gw * ps)
                u = u8_from_pixels(proc, x)
                back = proc.normalize(proc.rescale(u, proc.rescale_factor), proc.image_mean, proc.image_std)
                again, _, _ = proc.patchify(back, patch_size=ps, merge_size=ms, temporal_patch_size=tp)
                assert np.array_equal(again, pv), "Qwen patch layout"
                case.update(grid_thw=[t, gh, gw], shape=list(pv.shape), u8z=u8z(u), u8_shape=list(u.shape),
                            rows=[0, 1, 5, pv.shape[0] - 1], rows_f32=f32(pv[[0, 1, 5, pv.shape[0] - 1]]))
            else:
                pv = pv[0] if pv.ndim == 5 else pv
                u = u8_from_pixels(proc, pv)
                case.update(shape=list(pv.shape), u8z=u8z(u))
                if "image_sizes" in out:
                    case["image_sizes"] = [int(v) for v in out["image_sizes"][0]]
            cases.append(case)
    write_json("preprocess.json", {"cases": cases})


# ---------------------------------------------------------------- checkpoints


def save_safetensors(path: str, tensors: dict) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in sorted(tensors.items())}, path, metadata={"format": "pt"})
    os.chmod(path, 0o644)


def fix_modes(d: str) -> None:
    """save_pretrained writes safetensors 0600; the repository wants 0644."""
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)


def randomize(model: torch.nn.Module, seed: int, scale: float = 0.2) -> None:
    """Replace every parameter with seeded noise (norm weights near 1), so that
    every path of the forward pass is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if ("norm" in name or ".ln_" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * noise)
            else:
                p.copy_(scale * noise)


def copy_tokenizer(dst: str) -> None:
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(os.path.join(DEMO, f), os.path.join(dst, f))


def make_tiny_sdar_vl():
    """A LLaVA-OneVision (SDAR-VL layout) checkpoint: SigLIP 28 px / patch 7 (4x4
    patches), 2-layer GELU projector, image_newline, SDAR (Qwen3) LM, several grid
    pinpoints (up to 4x4 tiles, which makes anyres_max_9 interpolate)."""
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    demo = json.load(open(os.path.join(DEMO, "config.json")))
    text = dict(demo["text_config"])
    text.update(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, max_position_embeddings=512, dtype="float32",
                torch_dtype="float32", layer_types=["full_attention"] * 2)
    vision = dict(demo["vision_config"])
    vision.update(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
                  image_size=28, patch_size=7)
    pinpoints = [[28, 28], [28, 56], [56, 28], [56, 56], [28, 84], [84, 28], [56, 112], [112, 56], [84, 84], [112, 112]]
    cfg = LlavaOnevisionConfig(
        vision_config=vision, text_config=text, image_token_index=4, projector_hidden_act="gelu",
        vision_feature_layer=-1, vision_feature_select_strategy="full", image_grid_pinpoints=pinpoints,
        vision_aspect_ratio="anyres_max_9", multimodal_projector_bias=True, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlavaOnevisionForConditionalGeneration(cfg).eval()
    randomize(model, 11)
    os.makedirs(TINY_VL, exist_ok=True)
    # demo-vision's weight names: vision_tower.*, multi_modal_projector.*, image_newline,
    # language_model.model.*, language_model.lm_head.weight.
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith("model.language_model."):
            k = "language_model.model." + k[len("model.language_model."):]
        elif k.startswith("model."):
            k = k[len("model."):]
        elif k == "lm_head.weight":
            k = "language_model.lm_head.weight"
        sd[k] = v.detach().to(torch.float32).clone()
    save_safetensors(os.path.join(TINY_VL, "model.safetensors"), sd)
    conf = json.loads(json.dumps(demo))  # same layout and key order as demo-vision
    conf.pop("dlmstream_image_features", None)
    conf.update(dtype="float32", torch_dtype="float32", image_grid_pinpoints=pinpoints,
                vision_config=vision, text_config=text)
    with open(os.path.join(TINY_VL, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")
    pre = json.load(open(os.path.join(DEMO, "preprocessor_config.json")))
    pre.update(size={"height": 28, "width": 28}, image_grid_pinpoints=pinpoints)
    with open(os.path.join(TINY_VL, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2, sort_keys=True)
        f.write("\n")
    shutil.copy(os.path.join(DEMO, "generation_config.json"), TINY_VL)
    copy_tokenizer(TINY_VL)
    # Reload through transformers to prove the directory loads with no missing keys.
    return load_llava(TINY_VL)


def load_llava(d: str):
    from transformers import LlavaOnevisionForConditionalGeneration

    model, info = LlavaOnevisionForConditionalGeneration.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    assert not bad, f"{d}: {bad}"
    return model.eval()


# ---------------------------------------------------------------- SigLIP tower


def siglip_goldens(images) -> None:
    from transformers import SiglipVisionConfig, SiglipVisionModel
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    d = os.path.join(GOLD, "siglip-head")
    cfg = SiglipVisionConfig(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                             image_size=32, patch_size=8, vision_use_head=True, hidden_act="gelu_pytorch_tanh",
                             layer_norm_eps=1e-6)
    torch.manual_seed(0)
    model = SiglipVisionModel(cfg).eval()
    randomize(model, 21)
    model.save_pretrained(d)
    fix_modes(d)
    proc = processor_from(SIGLIP_LANCZOS, SiglipImageProcessorPil)
    cases = []
    for name in ["photo-200x150.png", "checker-61x47.png"]:
        pv = torch.from_numpy(np.asarray(proc(images=[images[name]], return_tensors="np")["pixel_values"]))
        with torch.no_grad():
            out = model(pixel_values=pv, output_hidden_states=True)
        cases.append({
            "image": name, "pixel_values": f32(pv[0]),
            "hidden_states": [f32(h[0]) for h in out.hidden_states],
            "last_hidden_state": f32(out.last_hidden_state[0]), "pooler_output": f32(out.pooler_output[0]),
        })
    write_json("siglip.json", {"processor_config": SIGLIP_LANCZOS, "cases": cases})


# ---------------------------------------------------------------- LLaVA-OneVision features


def num_tokens(model, proc, h, w) -> int:
    from transformers.models.llava_onevision.processing_llava_onevision import LlavaOnevisionProcessor

    ns = types.SimpleNamespace(image_processor=proc, vision_aspect_ratio=model.config.vision_aspect_ratio,
                               num_image_tokens=(model.config.vision_config.image_size // model.config.vision_config.patch_size) ** 2)
    ns._get_unpadded_features = lambda *a: LlavaOnevisionProcessor._get_unpadded_features(ns, *a)
    return LlavaOnevisionProcessor._get_number_of_features(ns, h, w, proc.size["height"], proc.size["width"])


def llava_goldens(images, tiny) -> None:
    from transformers import AutoImageProcessor

    cases = []
    for mname, d, model in [("demo-vision", DEMO, load_llava(DEMO)), ("tiny-sdar-vl", TINY_VL, tiny)]:
        proc = AutoImageProcessor.from_pretrained(d)
        names = list(images) if mname == "tiny-sdar-vl" else ["photo-640x480.png", "gradient-37x53.png", "rgba-50x30.png"]
        for iname in names:
            out = proc(images=[images[iname]], return_tensors="pt")
            variants = [(-1, "full")]
            if mname == "tiny-sdar-vl" and iname in ("photo-200x150.png", "tall-90x300.png", "gradient-37x53.png"):
                variants.append((-2, "full"))
            if mname == "tiny-sdar-vl" and iname == "gradient-37x53.png":
                variants.append((-1, "default"))
            for layer, strategy in variants:
                case = {"model": mname, "image": iname, "vision_feature_layer": layer,
                        "vision_feature_select_strategy": strategy,
                        "image_sizes": [int(v) for v in out["image_sizes"][0]]}
                try:
                    with torch.no_grad():
                        feats = model.model.get_image_features(
                            pixel_values=out["pixel_values"], image_sizes=out["image_sizes"],
                            batch_num_images=out["batch_num_images"], vision_feature_layer=layer,
                            vision_feature_select_strategy=strategy).pooler_output
                except ValueError as e:
                    case["error"] = str(e)
                    cases.append(case)
                    continue
                f = feats[0]
                case["features"] = f32(f)
                h, w = case["image_sizes"]
                case["processor_num_image_tokens"] = num_tokens(model, proc, h, w)
                cases.append(case)
    write_json("llava.json", {"cases": cases})


# ---------------------------------------------------------------- Qwen2.5-VL


def make_tiny_qwen():
    from tokenizers import AddedToken, Tokenizer
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    os.makedirs(TINY_QWEN, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(DEMO, "tokenizer.json"))
    tok.add_special_tokens([AddedToken("<|vision_start|>", special=True, normalized=False),
                            AddedToken("<|vision_end|>", special=True, normalized=False),
                            AddedToken("<|video_pad|>", special=True, normalized=False)])
    tok.save(os.path.join(TINY_QWEN, "tokenizer.json"))
    vs, ve, vp = (tok.token_to_id(t) for t in ["<|vision_start|>", "<|vision_end|>", "<|video_pad|>"])
    tc = json.load(open(os.path.join(DEMO, "tokenizer_config.json")))
    for i, t in [(vs, "<|vision_start|>"), (ve, "<|vision_end|>"), (vp, "<|video_pad|>")]:
        tc["added_tokens_decoder"][str(i)] = {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                              "single_word": False, "special": True}
        tc["additional_special_tokens"].append(t)
    with open(os.path.join(TINY_QWEN, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2, sort_keys=True)
        f.write("\n")
    vision = dict(depth=4, hidden_size=64, intermediate_size=96, num_heads=4, in_channels=3, patch_size=14,
                  spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1, 3],
                  out_hidden_size=64, hidden_act="silu", tokens_per_second=2)
    text = dict(vocab_size=416, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
                bos_token_id=1, eos_token_id=2, pad_token_id=0)
    cfg = Qwen2_5_VLConfig(vision_config=vision, text_config=text, image_token_id=4, video_token_id=vp,
                           vision_start_token_id=vs, vision_end_token_id=ve, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    randomize(model, 31)
    model.save_pretrained(TINY_QWEN)
    fix_modes(TINY_QWEN)
    # Block-diffusion fields of Fast-dVLM / DiffusionVL (not read by transformers).
    p = os.path.join(TINY_QWEN, "config.json")
    conf = json.load(open(p))
    for c in (conf, conf["text_config"]):
        c.update(bd_size=4, block_size=4, mask_token_id=3)
    with open(p, "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")
    pre = {"image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor",
           "do_resize": True, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
           "do_convert_rgb": True, "min_pixels": 56 * 56, "max_pixels": 28 * 28 * 80, "patch_size": 14,
           "temporal_patch_size": 2, "merge_size": 2}
    with open(os.path.join(TINY_QWEN, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2, sort_keys=True)
        f.write("\n")
    shutil.copy(os.path.join(DEMO, "generation_config.json"), TINY_QWEN)
    model, info = Qwen2_5_VLForConditionalGeneration.from_pretrained(TINY_QWEN, dtype=torch.float32, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    assert not bad, bad
    return model.eval()


def qwen_goldens(images, model) -> None:
    from transformers import AutoImageProcessor

    proc = AutoImageProcessor.from_pretrained(TINY_QWEN)
    c = model.config
    cases = []
    for iname in ["photo-640x480.png", "gradient-37x53.png", "tall-90x300.png", "wide-500x120.png",
                  "rgba-50x30.png", "small-20x12.png", "checker-61x47.png"]:
        out = proc(images=[images[iname]], return_tensors="pt")
        grid = out["image_grid_thw"]
        with torch.no_grad():
            feats = model.model.get_image_features(pixel_values=out["pixel_values"], image_grid_thw=grid).pooler_output[0]
        n = feats.shape[0]
        # A prompt: text, <|vision_start|>, n x <|image_pad|>, <|vision_end|>, text.
        ids = [1, 10, 11, c.vision_start_token_id] + [c.image_token_id] * n + [c.vision_end_token_id, 12, 13, 14]
        input_ids = torch.tensor([ids])
        mm = (input_ids == c.image_token_id).int()
        pos, delta = model.model.get_rope_index(input_ids, mm, image_grid_thw=grid)
        cases.append({"image": iname, "grid_thw": [int(v) for v in grid[0]], "features": f32(feats),
                      "input_ids": ids, "position_ids": pos[:, 0].tolist(), "rope_delta": int(delta[0, 0])})
    write_json("qwen.json", {"cases": cases})


def main() -> None:
    os.makedirs(GOLD, exist_ok=True)
    images = make_images()
    resize_goldens(images)
    tiny = make_tiny_sdar_vl()
    qwen = make_tiny_qwen()
    preprocess_goldens(images)
    siglip_goldens(images)
    llava_goldens(images, tiny)
    qwen_goldens(images, qwen)


if __name__ == "__main__":
    sys.exit(main())
