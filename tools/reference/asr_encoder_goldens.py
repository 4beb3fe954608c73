#!/usr/bin/env python3
"""Speech encoder goldens: transformers' WhisperEncoder (+ CTC head and projectors).

    python tools/reference/asr_encoder_goldens.py

Writes
  testdata/models/tiny-whisper-80/    dlm_asr layout (audio_config nested, as demo-speech):
                                      80 mel bins, stack-4 MLP projector, char CTC head
  testdata/models/tiny-whisper-128/   a stock WhisperModel checkpoint (model_type whisper,
                                      save_pretrained names) with 128 mel bins, plus the
                                      dLLM-ASR projector (avg-pool 2, conv k3 s2, linear)
  testdata/golden/asr/encoder-<name>.safetensors
      features  [n_mels, frames]   the encoder input (a real log-mel for demo-speech)
      encoder   [T, d_model]       WhisperEncoder last_hidden_state
      ctc       [T, n_ctc]         CTC head logits (when the checkpoint has one)
      projector [N, hidden]        projector output rows (what replaces the audio placeholders)

Deterministic (fixed seeds, 2 threads). Torch runs fp32 on the bf16-rounded weights
that the checkpoints store, as the Go engine does.
"""

import json
import os
import sys
import wave

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel
from transformers.models.whisper.modeling_whisper import WhisperEncoder

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(ROOT, "testdata", "models")
OUT = os.path.join(ROOT, "testdata", "golden", "asr")
CTC_VOCAB = ["<blank>", " "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]


def wcfg(n_mels, d, layers, heads, ffn, max_pos):
    return WhisperConfig(num_mel_bins=n_mels, d_model=d, encoder_layers=layers, encoder_attention_heads=heads,
                         encoder_ffn_dim=ffn, decoder_layers=1, decoder_attention_heads=heads, decoder_ffn_dim=ffn,
                         max_source_positions=max_pos, max_target_positions=32, activation_function="gelu",
                         dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, vocab_size=64,
                         pad_token_id=1, bos_token_id=1, eos_token_id=1, decoder_start_token_id=1)


def randomize(mod, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(mod.named_parameters()):
            if "embed_positions" in name:
                continue  # sinusoidal, fixed
            if name.endswith("layer_norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))
            p.copy_(p.to(torch.bfloat16).to(torch.float32))


class StackMLP(nn.Module):
    """x [T,D] -> [T/s, s*D] -> linear_1 -> gelu -> linear_2 (demo-speech's projector)."""

    def __init__(self, d, hidden, stack):
        super().__init__()
        self.stack = stack
        self.linear_1 = nn.Linear(d * stack, hidden)
        self.linear_2 = nn.Linear(hidden, hidden)

    def forward(self, x):
        T, D = x.shape
        x = x[: T - T % self.stack].reshape(T // self.stack, self.stack * D)
        return self.linear_2(F.gelu(self.linear_1(x)))


class PoolConvLinear(nn.Module):
    """dLLM-ASR / Step-Audio-2 style: avg-pool k2 s2 (25 Hz), conv1d k3 s2 p1 + ReLU (12.5 Hz),
    linear_1 + ReLU, linear_2 (into the LM width)."""

    def __init__(self, d, inner, hidden):
        super().__init__()
        self.conv = nn.Conv1d(d, d, 3, 2, 1)
        self.linear_1 = nn.Linear(d, inner)
        self.linear_2 = nn.Linear(inner, hidden)

    def forward(self, x):  # [T, D]
        x = F.avg_pool1d(x.T[None], 2, 2)  # [1, D, T/2]
        x = F.relu(self.conv(x))[0].T  # [T', D]
        return self.linear_2(F.relu(self.linear_1(x)))


def bf16(sd):
    return {k: v.detach().to(torch.bfloat16).contiguous() for k, v in sd.items()}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def audio_config(c):
    return {"model_type": "whisper", "num_mel_bins": c.num_mel_bins, "d_model": c.d_model,
            "encoder_layers": c.encoder_layers, "encoder_attention_heads": c.encoder_attention_heads,
            "encoder_ffn_dim": c.encoder_ffn_dim, "max_source_positions": c.max_source_positions,
            "activation_function": "gelu", "scale_embedding": False, "layer_norm_eps": 1e-5}


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def tiny80():
    name = "tiny-whisper-80"
    c = wcfg(80, 64, 2, 4, 128, 50)
    enc = WhisperEncoder(c).eval()
    randomize(enc, 11)
    ctc = nn.Linear(64, len(CTC_VOCAB))
    proj = StackMLP(64, 96, 4)
    randomize(ctc, 12)
    randomize(proj, 13)
    d = os.path.join(MODELS, name)
    os.makedirs(d, exist_ok=True)
    sd = {"model.encoder." + k: v for k, v in enc.state_dict().items()}
    sd.update({"ctc_head." + k: v for k, v in ctc.state_dict().items()})
    sd.update({"projector." + k: v for k, v in proj.state_dict().items()})
    save_file(bf16(sd), os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(d, "config.json"), {
        "model_type": "dlm_asr", "architectures": ["DLMASRForConditionalGeneration"],
        "audio_config": audio_config(c),
        "ctc": {"vocab": CTC_VOCAB, "blank_id": 0, "unit": "character"},
        "projector": {"type": "stack_mlp", "stack": 4, "input_dim": 256, "hidden_size": 96, "output_dim": 96,
                      "activation": "gelu"},
        "feature_extractor": {"feature_extractor_type": "WhisperFeatureExtractor", "sampling_rate": 16000,
                              "n_fft": 400, "hop_length": 160, "n_mels": 80, "max_frames": 100, "n_samples": 16000},
        "audio_token_id": 4, "num_audio_tokens": 12,
    })
    g = torch.Generator().manual_seed(14)
    feats = torch.randn(80, 100, generator=g) * 0.5
    return name, d, feats


def tiny128():
    name = "tiny-whisper-128"
    c = wcfg(128, 64, 2, 2, 160, 60)
    full = WhisperModel(c).eval()
    randomize(full, 21)
    proj = PoolConvLinear(64, 80, 48)
    randomize(proj, 22)
    d = os.path.join(MODELS, name)
    full.save_pretrained(d, safe_serialization=True)
    # Re-save in bf16 with the projector added; keep transformers' names (encoder.*, decoder.*).
    sd = load_file(os.path.join(d, "model.safetensors"))
    sd = {k: v for k, v in sd.items() if not k.startswith("decoder.")}  # the encoder is what is read
    sd.update({"projector." + k: v for k, v in proj.state_dict().items()})
    save_file(bf16(sd), os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    cfg["projector"] = {"type": "pool_conv_mlp", "pool": 2, "conv_kernel": 3, "conv_stride": 2, "conv_padding": 1,
                        "activation": "relu", "inner_size": 80, "hidden_size": 48}
    write_json(os.path.join(d, "config.json"), cfg)
    fe = WhisperFeatureExtractor(feature_size=128)
    fe.save_pretrained(d)
    g = torch.Generator().manual_seed(24)
    feats = torch.randn(128, 120, generator=g) * 0.5
    return name, d, feats


def demo():
    name = "demo-speech"
    d = os.path.join(MODELS, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    a, fe = cfg["audio_config"], cfg["feature_extractor"]
    wav = read_wav(os.path.join(ROOT, "testdata", "heldout", "speech", "0003.wav"))
    ext = WhisperFeatureExtractor(feature_size=fe["n_mels"], chunk_length=30)
    ext.n_samples, ext.nb_max_frames = fe["n_samples"], fe["max_frames"]
    feats = torch.from_numpy(ext(wav, sampling_rate=16000, return_tensors="np").input_features[0])
    return name, d, feats


def run(name, d, feats):
    sd = {k: v.to(torch.float32) for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    a = cfg.get("audio_config", cfg)
    c = wcfg(a["num_mel_bins"], a["d_model"], a["encoder_layers"], a["encoder_attention_heads"],
             a["encoder_ffn_dim"], a["max_source_positions"])
    enc = WhisperEncoder(c).eval()
    pre = "model.encoder." if "model.encoder.conv1.weight" in sd else "encoder."
    missing, unexpected = enc.load_state_dict({k[len(pre):]: v for k, v in sd.items() if k.startswith(pre)}, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    out = {"features": feats.contiguous()}
    with torch.no_grad():
        h = enc(feats[None]).last_hidden_state[0]
        out["encoder"] = h.contiguous()
        if "ctc_head.weight" in sd:
            ctc = nn.Linear(*sd["ctc_head.weight"].shape[::-1])
            ctc.load_state_dict({"weight": sd["ctc_head.weight"], "bias": sd["ctc_head.bias"]})
            out["ctc"] = ctc(h).contiguous()
        p = cfg["projector"]
        psd = {k[len("projector."):]: v for k, v in sd.items() if k.startswith("projector.")}
        if p["type"] == "stack_mlp":
            mod = StackMLP(a["d_model"], p["hidden_size"], p["stack"])
        else:
            mod = PoolConvLinear(a["d_model"], p["inner_size"], p["hidden_size"])
        mod.load_state_dict(psd)
        out["projector"] = mod(h).contiguous()
    save_file(out, os.path.join(OUT, f"encoder-{name}.safetensors"))
    print(name, {k: list(v.shape) for k, v in out.items()})


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    for make in (tiny80, tiny128, demo):
        run(*make())


if __name__ == "__main__":
    sys.exit(main())
