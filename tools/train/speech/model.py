"""demo-speech model: Whisper encoder + CTC head + frame-stacking projector + SDAR LM.

Weight names (one model.safetensors, bf16):
  model.encoder.*          HF WhisperEncoder, named as in WhisperForConditionalGeneration
  ctc_head.{weight,bias}   Linear(d_model -> len(ctc vocab)), blank id 0 (the ASR prior)
  projector.linear_1.*     Linear(stack * d_model -> hidden)
  projector.linear_2.*     Linear(hidden -> hidden)      (GELU in between)
  language_model.*         SDAR LM (Qwen3 names: model.layers.*, model.norm, lm_head)

Front end (Whisper's, padded to FEAT["max_frames"] instead of 30 s): 16 kHz waveform
zero-padded/truncated to max_frames*hop samples, STFT n_fft 400 hop 160 periodic hann
(centered, reflect pad), power spectrum, last frame dropped, slaney mel filterbank (80),
log10(clamp 1e-10), max(x, x.max()-8) per utterance, (x+4)/4.

Shapes in comments: B batch, F mel frames, T encoder frames (F/2), N audio tokens (T/stack),
H LM hidden, D encoder width.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bdlm  # noqa: E402

AUDIO_TOKEN = "<|audio_pad|>"
INSTRUCTION = "Transcribe the audio."
# CTC labels: blank, space, a-z, apostrophe (character-level prior).
CTC_VOCAB = ["<blank>", " "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]

# ---------------------------------------------------------------- front end


def hz_to_mel_slaney(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mel)


def mel_to_hz_slaney(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filters(sr=16000, n_fft=400, n_mels=80):
    """Slaney-scale, slaney-normalized triangular filters (librosa's default), [n_fft//2+1, n_mels]."""
    fft_freqs = np.linspace(0, sr // 2, n_fft // 2 + 1)
    pts = mel_to_hz_slaney(np.linspace(hz_to_mel_slaney(0.0), hz_to_mel_slaney(sr / 2), n_mels + 2))
    fdiff = np.diff(pts)
    ramps = pts[:, None] - fft_freqs[None, :]  # [n_mels+2, bins]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))  # [n_mels, bins]
    w = w.astype(np.float32) * (2.0 / (pts[2:] - pts[:-2])).astype(np.float32)[:, None]
    return w.T.copy()


class LogMel:
    def __init__(self, sr=16000, n_fft=400, hop=160, n_mels=80, max_frames=320):
        self.sr, self.n_fft, self.hop, self.n_mels, self.max_frames = sr, n_fft, hop, n_mels, max_frames
        self.filters = torch.from_numpy(mel_filters(sr, n_fft, n_mels))  # [bins, n_mels]
        self.window = torch.hann_window(n_fft)

    def pad(self, wav):
        """float waveform (numpy/torch, [-1,1]) -> [max_frames*hop] fp32 tensor."""
        n = self.max_frames * self.hop
        w = torch.as_tensor(np.asarray(wav, dtype=np.float32))[:n]
        return F.pad(w, (0, n - len(w)))

    def __call__(self, wavs):
        """[B, max_frames*hop] fp32 -> [B, n_mels, max_frames]."""
        st = torch.stft(wavs, self.n_fft, self.hop, window=self.window, return_complex=True)
        power = (st[..., :-1].abs() ** 2)  # [B, bins, F]
        mel = self.filters.T @ power  # [B, n_mels, F]
        logm = torch.clamp(mel, min=1e-10).log10()
        mx = logm.amax(dim=(1, 2), keepdim=True)
        logm = torch.maximum(logm, mx - 8.0)
        return (logm + 4.0) / 4.0


# ---------------------------------------------------------------- model


class Projector(nn.Module):
    """Stack `stack` consecutive encoder frames (concatenated in time order), then Linear-GELU-Linear."""

    def __init__(self, d_in, hidden, stack):
        super().__init__()
        self.stack = stack
        self.linear_1 = nn.Linear(d_in * stack, hidden)
        self.linear_2 = nn.Linear(hidden, hidden)

    def forward(self, x):  # [B,T,D] -> [B,T/stack,H]
        B, T, D = x.shape
        x = x[:, : T - T % self.stack].reshape(B, T // self.stack, self.stack * D)
        return self.linear_2(F.gelu(self.linear_1(x)))


class EncoderHolder(nn.Module):
    def __init__(self, wcfg):
        super().__init__()
        self.encoder = WhisperEncoder(wcfg)


class DLMASR(nn.Module):
    def __init__(self, wcfg: WhisperConfig, lcfg, stack: int, n_ctc: int, audio_token_id: int):
        super().__init__()
        self.model = EncoderHolder(wcfg)
        self.ctc_head = nn.Linear(wcfg.d_model, n_ctc)
        self.projector = Projector(wcfg.d_model, lcfg.hidden_size, stack)
        self.language_model = bdlm.new_lm(lcfg, seed=1)
        self.audio_token_id = audio_token_id

    def encode(self, feats):
        """[B,n_mels,F] -> encoder states [B,T,D]."""
        return self.model.encoder(feats).last_hidden_state

    def embed_prompt(self, ids, enc):
        """ids [B,L] with N audio placeholders per row; placeholders overwritten by projector(enc)."""
        e = self.language_model.get_input_embeddings()(ids)  # [B,L,H]
        a = self.projector(enc)  # [B,N,H]
        m = ids == self.audio_token_id
        e = e.clone()
        e[m] = a.reshape(-1, a.shape[-1]).to(e.dtype)
        return e


def whisper_config(d_model, layers, heads, ffn, max_source_positions, n_mels=80):
    return WhisperConfig(
        num_mel_bins=n_mels, d_model=d_model, encoder_layers=layers, encoder_attention_heads=heads,
        encoder_ffn_dim=ffn, decoder_layers=1, decoder_attention_heads=heads, decoder_ffn_dim=ffn,
        max_source_positions=max_source_positions, max_target_positions=64, activation_function="gelu",
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, encoder_layerdrop=0.0,
        scale_embedding=False, vocab_size=64, pad_token_id=1, bos_token_id=1, eos_token_id=1,
        decoder_start_token_id=1)


AUDIO_KEYS = ["model_type", "num_mel_bins", "d_model", "encoder_layers", "encoder_attention_heads",
              "encoder_ffn_dim", "max_source_positions", "activation_function", "scale_embedding",
              "layer_norm_eps"]


def audio_config_dict(wcfg):
    d = {k: getattr(wcfg, k, None) for k in AUDIO_KEYS}
    d["model_type"] = "whisper"
    d["layer_norm_eps"] = 1e-5  # nn.LayerNorm default used by WhisperEncoder
    return d


def config_dict(model: DLMASR, fe: LogMel, tok: Tokenizer):
    wcfg = model.model.encoder.config
    lcfg = model.language_model.config
    stack = model.projector.stack
    n_tok = fe.max_frames // 2 // stack
    return {
        "model_type": "dlm_asr",
        "architectures": ["DLMASRForConditionalGeneration"],
        "audio_config": audio_config_dict(wcfg),
        "feature_extractor": {
            "feature_extractor_type": "WhisperFeatureExtractor", "sampling_rate": fe.sr,
            "n_fft": fe.n_fft, "hop_length": fe.hop, "n_mels": fe.n_mels, "max_frames": fe.max_frames,
            "n_samples": fe.max_frames * fe.hop, "window": "hann (periodic)", "mel_scale": "slaney",
            "mel_norm": "slaney", "padding": "zero-pad/truncate the waveform to n_samples, audio at the start",
            "log": "log10(clamp(mel,1e-10)); max(x, x.max()-8) per utterance; (x+4)/4",
        },
        "ctc": {"vocab": CTC_VOCAB, "blank_id": 0, "unit": "character",
                "input": "model.encoder output (after layer_norm), 50 Hz"},
        "projector": {
            "type": "stack_mlp", "stack": stack, "input_dim": wcfg.d_model * stack,
            "hidden_size": lcfg.hidden_size, "output_dim": lcfg.hidden_size, "activation": "gelu",
            "ops": f"x[B,T,D] -> reshape [B,T/{stack},{stack}*D] (frames t..t+{stack - 1} concatenated in "
                   "time order) -> linear_1 -> gelu (erf) -> linear_2",
            "num_audio_tokens": n_tok,
        },
        "text_config": bdlm.sdar_config_dict(lcfg),
        "audio_token_id": model.audio_token_id,
        "audio_token": AUDIO_TOKEN,
        "num_audio_tokens": n_tok,
        "prompt": {"user": AUDIO_TOKEN + "*num_audio_tokens + " + json.dumps(INSTRUCTION),
                   "template": "ChatML user turn, then '<|im_start|>assistant\\n'; target transcript + <|im_end|>"},
        "torch_dtype": "bfloat16",
    }


def prompt_ids(tok: Tokenizer, n_audio: int):
    return tok.encode(bdlm.chat_prompt(AUDIO_TOKEN * n_audio + INSTRUCTION)).ids


def save(model: DLMASR, fe: LogMel, tok: Tokenizer, out_dir: str):
    os.makedirs(out_dir, exist_ok=True)
    tensors = {}
    for name, t in model.state_dict().items():
        if not name.startswith("language_model."):
            tensors[name] = t.detach().to(torch.bfloat16).contiguous()
    tensors.update(bdlm.save_lm(model.language_model, out_dir, prefix="language_model.", return_only=True))
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    bdlm.write_json(os.path.join(out_dir, "config.json"), config_dict(model, fe, tok))
    bdlm.write_json(os.path.join(out_dir, "generation_config.json"), bdlm.generation_config())
    bdlm.save_tokenizer(tok, out_dir)


def load(out_dir: str):
    """Rebuild (model fp32 holding the bf16-rounded weights, LogMel, Tokenizer, config) from a saved dir."""
    with open(os.path.join(out_dir, "config.json")) as f:
        cfg = json.load(f)
    ac, tc, fc = cfg["audio_config"], cfg["text_config"], cfg["feature_extractor"]
    wcfg = whisper_config(ac["d_model"], ac["encoder_layers"], ac["encoder_attention_heads"],
                          ac["encoder_ffn_dim"], ac["max_source_positions"], ac["num_mel_bins"])
    lcfg = bdlm.lm_config_of(tc)
    model = DLMASR(wcfg, lcfg, cfg["projector"]["stack"], len(cfg["ctc"]["vocab"]), cfg["audio_token_id"])
    tensors = load_file(os.path.join(out_dir, "model.safetensors"))
    bdlm.load_bf16(model.language_model, tensors, prefix="language_model.")
    rest = {k: v.to(torch.float32) for k, v in tensors.items() if not k.startswith("language_model.")}
    missing, unexpected = model.load_state_dict(rest, strict=False)
    missing = [k for k in missing if not k.startswith("language_model.")]
    if missing or unexpected:
        raise SystemExit(f"load: missing {missing} unexpected {unexpected}")
    model.eval()
    fe = LogMel(fc["sampling_rate"], fc["n_fft"], fc["hop_length"], fc["n_mels"], fc["max_frames"])
    tok = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
    return model, fe, tok, cfg


def ctc_greedy(logits, vocab=CTC_VOCAB):
    """[T,C] -> string (collapse repeats, drop blanks)."""
    best = logits.argmax(-1).tolist()
    out, prev = [], -1
    for c in best:
        if c != prev and c != 0:
            out.append(vocab[c])
        prev = c
    return " ".join("".join(out).split())
