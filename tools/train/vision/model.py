"""The vision demo model: SigLIP tower + 2-layer GELU projector + SDAR LM, LLaVA-OneVision layout.

Tensor names in model.safetensors are those of the Hugging Face LLaVA-OneVision hub
checkpoints (e.g. llava-hf/llava-onevision-qwen2-0.5b-ov-hf):

    vision_tower.vision_model.*            SiglipVisionModel (vision_use_head False)
    multi_modal_projector.linear_1.*       Linear(vision hidden -> text hidden) + GELU (erf)
    multi_modal_projector.linear_2.*       Linear(text hidden -> text hidden)
    image_newline                          [text hidden]
    language_model.model.*                 the SDAR LM (Qwen3 names)
    language_model.lm_head.weight

Image feature path (the one transformers' LlavaOnevisionModel.get_image_features produces
for an SxS image with image_grid_pinpoints [[S, S]], vision_feature_layer -1, strategy
"full"): the image is resized to SxS (a no-op for our SxS PNGs), rescaled by 1/255 and
normalised with mean = std = 0.5. anyres makes two crops that are both the whole image
(the base image and the single 1x1 tile), so both give the same tower output F
[g*g, Cv] (g = S / patch, row-major patches, hidden_states[-1] = last encoder layer
before post_layernorm). After the projector P, the image tokens are

    P(F) (g*g tokens, the base image)  then  for each patch row r: P(F[r, :]) (g tokens), image_newline

that is g*g + g*(g+1) tokens (78 for S=48, patch 8). Training computes F once and
builds exactly this sequence.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import Qwen3Config, SiglipVisionConfig, SiglipVisionModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bdlm  # noqa: E402

IMAGE_PAD = "<|image_pad|>"
IMAGE_TOKEN_ID = 4  # first extra special after bdlm.SPECIALS
PROMPT = "Describe the image."
MEAN = STD = 0.5


class Projector(nn.Module):
    def __init__(self, vision_hidden, text_hidden):
        super().__init__()
        self.linear_1 = nn.Linear(vision_hidden, text_hidden)
        self.act = nn.GELU()  # "gelu" in transformers' ACT2FN is the exact erf form
        self.linear_2 = nn.Linear(text_hidden, text_hidden)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


class VisionCaptioner(nn.Module):
    def __init__(self, vcfg: SiglipVisionConfig, tcfg: Qwen3Config, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.vcfg, self.tcfg = vcfg, tcfg
        self.vision_tower = SiglipVisionModel(vcfg).to(torch.float32)
        self.multi_modal_projector = Projector(vcfg.hidden_size, tcfg.hidden_size)
        self.image_newline = nn.Parameter(torch.randn(tcfg.hidden_size) / tcfg.hidden_size**0.5)
        self.language_model = bdlm.new_lm(tcfg, seed + 1)

    @property
    def grid(self):
        return self.vcfg.image_size // self.vcfg.patch_size

    @property
    def n_image_tokens(self):
        g = self.grid
        return g * g + g * (g + 1)

    def tower(self, pixel_values):
        """pixel_values [B,3,S,S] (normalised) -> vision feature [B,g*g,Cv] = hidden_states[-1]."""
        return self.vision_tower(pixel_values=pixel_values, output_hidden_states=True).hidden_states[-1]

    def image_features(self, pixel_values, vision_feature=None):
        """pixel_values [B,3,S,S] (normalised) -> [B, n_image_tokens, H] in the LLaVA-OneVision order."""
        if vision_feature is None:
            vision_feature = self.tower(pixel_values)
        f = self.multi_modal_projector(vision_feature)  # [B,g*g,H]
        B, _, H = f.shape
        g = self.grid
        rows = f.view(B, g, g, H)
        nl = self.image_newline.view(1, 1, 1, H).expand(B, g, 1, H)
        tile = torch.cat([rows, nl], dim=2).reshape(B, g * (g + 1), H)
        return torch.cat([f, tile], dim=1)

    def embed(self, ids, pixel_values, vision_feature=None):
        """ids [B,L] with n_image_tokens IMAGE_TOKEN_ID placeholders per row -> embeds [B,L,H]."""
        e = self.language_model.get_input_embeddings()(ids)
        feats = self.image_features(pixel_values, vision_feature)
        m = ids == IMAGE_TOKEN_ID
        return e.masked_scatter(m[..., None], feats.to(e.dtype))


def pixels(img) -> torch.Tensor:
    """PIL RGB image (already SxS) -> [3,S,S] float32, rescaled 1/255 and normalised with mean=std=0.5."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32) * (1.0 / 255.0)
    return torch.from_numpy((a - MEAN) / STD).permute(2, 0, 1).contiguous()


def prompt_text(n_image_tokens: int) -> str:
    return bdlm.chat_prompt(IMAGE_PAD * n_image_tokens + PROMPT)


def prompt_ids(tok: Tokenizer, n_image_tokens: int) -> list[int]:
    ids = tok.encode(prompt_text(n_image_tokens)).ids
    assert ids.count(IMAGE_TOKEN_ID) == n_image_tokens
    return ids


# --------------------------------------------------------------------------------------
# Checkpoint directory
# --------------------------------------------------------------------------------------


def vision_config(image_size, patch_size, hidden, layers, heads, intermediate) -> SiglipVisionConfig:
    return SiglipVisionConfig(
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_channels=3,
        image_size=image_size,
        patch_size=patch_size,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
        attention_dropout=0.0,
        vision_use_head=False,
    )


def config_dict(model: VisionCaptioner) -> dict:
    v = model.vcfg
    S = v.image_size
    g = model.grid
    text = bdlm.sdar_config_dict(model.tcfg)
    text["model_type"] = "qwen3"  # SDAR is Qwen3 verbatim; block_size and mask_token_id stay
    return {
        "architectures": ["LlavaOnevisionForConditionalGeneration"],
        "model_type": "llava_onevision",
        "image_token_index": IMAGE_TOKEN_ID,
        "projector_hidden_act": "gelu",
        "multimodal_projector_bias": True,
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "image_grid_pinpoints": [[S, S]],
        "vision_aspect_ratio": "anyres_max_9",
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "dtype": "bfloat16",
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": v.hidden_size,
            "intermediate_size": v.intermediate_size,
            "num_hidden_layers": v.num_hidden_layers,
            "num_attention_heads": v.num_attention_heads,
            "num_channels": v.num_channels,
            "image_size": S,
            "patch_size": v.patch_size,
            "hidden_act": v.hidden_act,
            "layer_norm_eps": v.layer_norm_eps,
            "attention_dropout": 0.0,
            "vision_use_head": False,
        },
        "text_config": text,
        # Not read by transformers: the feature path this checkpoint was trained with.
        "dlmstream_image_features": {
            "num_image_tokens": g * g + g * (g + 1),
            "layout": (f"base image {g}x{g} patch tokens row-major, then the 1x1 anyres tile: {g} rows of "
                       f"{g} patch tokens each followed by image_newline; base and tile are the same "
                       f"{S}x{S} image so their tower outputs are equal"),
            "vision_feature": "hidden_states[-1] (last encoder layer, before post_layernorm)",
            "prompt": "<|im_start|>user\\n" + "<|image_pad|>*N" + PROMPT + "<|im_end|>\\n<|im_start|>assistant\\n",
        },
    }


def preprocessor_config(S: int) -> dict:
    return {
        "image_processor_type": "LlavaOnevisionImageProcessor",
        "processor_class": "LlavaOnevisionProcessor",
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"height": S, "width": S},
        "resample": 3,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [MEAN] * 3,
        "image_std": [STD] * 3,
        "do_pad": True,
        "image_grid_pinpoints": [[S, S]],
    }


def state_tensors(model: VisionCaptioner) -> dict:
    """bf16 tensors under the hub LLaVA-OneVision names."""
    out = {}
    for name, t in model.vision_tower.state_dict().items():
        out["vision_tower." + name] = t
    for name, t in model.multi_modal_projector.state_dict().items():
        out["multi_modal_projector." + name] = t
    out["image_newline"] = model.image_newline.data
    out = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in out.items()}
    out.update(bdlm.save_lm(model.language_model, "", prefix="language_model.", return_only=True))
    return out


def save(model: VisionCaptioner, tok: Tokenizer, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    bdlm.write_json(os.path.join(out_dir, "config.json"), config_dict(model))
    bdlm.write_json(os.path.join(out_dir, "generation_config.json"), bdlm.generation_config())
    bdlm.write_json(os.path.join(out_dir, "preprocessor_config.json"), preprocessor_config(model.vcfg.image_size))
    save_file(state_tensors(model), os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    bdlm.save_tokenizer(tok, out_dir)


def load(model_dir: str) -> tuple[VisionCaptioner, Tokenizer]:
    """Rebuild the model from config.json + model.safetensors + tokenizer.json only (fp32 copy of
    the bf16 weights)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    v = cfg["vision_config"]
    vcfg = vision_config(v["image_size"], v["patch_size"], v["hidden_size"], v["num_hidden_layers"],
                         v["num_attention_heads"], v["intermediate_size"])
    t = cfg["text_config"]
    tcfg = bdlm.lm_config_of(t)
    model = VisionCaptioner(vcfg, tcfg, seed=0)
    tensors = load_file(os.path.join(model_dir, "model.safetensors"))
    bdlm.load_bf16(model.language_model, tensors, prefix="language_model.")
    sd = {k: v.to(torch.float32) for k, v in tensors.items() if not k.startswith("language_model.")}
    own = {}
    for k, val in sd.items():
        own[k] = val
    missing, unexpected = model.load_state_dict(
        {**own, **{"language_model." + k: v for k, v in model.language_model.state_dict().items()}}, strict=False)
    if missing or unexpected:
        raise SystemExit(f"load: missing {missing} unexpected {unexpected}")
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    model.eval()
    return model, tok


def param_counts(model: VisionCaptioner) -> dict:
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    lm = model.language_model
    emb = lm.model.embed_tokens.weight.numel()
    head = 0 if lm.config.tie_word_embeddings else lm.lm_head.weight.numel()
    return {
        "vision_tower": n(model.vision_tower),
        "projector": n(model.multi_modal_projector),
        "image_newline": model.image_newline.numel(),
        "lm_embed": emb,
        "lm_layers_norm": n(lm.model) - emb,
        "lm_head": head,
        "total": n(model),
    }
