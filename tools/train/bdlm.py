"""Block-diffusion language model core shared by the demo checkpoints (issue 5).

One SDAR-format LM (Qwen3 architecture, unshifted block diffusion) and what the
three trainers need around it:

- a small byte-level BPE tokenizer in the Qwen2 format (tokenizer.json +
  tokenizer_config.json with a plain ChatML template), specials at ids 0..3;
- the SDAR training objective on the concatenation [x_t ; x_0] (the noisy copy
  attends bidirectionally inside its own block and to clean earlier blocks, the
  clean copy is block-causal), unshifted cross-entropy on masked positions,
  optionally mixed with block size 1 (= autoregressive) batches;
- the reference decoder (dllm-engine-spec.md section 4.1, greedy): one token
  per forward, or every masked token whose confidence reaches a threshold;
- bf16 safetensors under Qwen3's tensor names and an SDAR config.json.

Shapes in comments: B batch, L sequence, H hidden, V vocabulary.
"""

from __future__ import annotations

import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import Qwen3Config, Qwen3ForCausalLM

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|MASK|>"]
PAD_ID, IM_START_ID, IM_END_ID, MASK_ID = 0, 1, 2, 3
STOP_IDS = (IM_END_ID, PAD_ID)

# Qwen2's pre-tokenizer pattern (digits split one by one), as in Qwen2/Qwen3 tokenizer.json.
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Like QWEN2_PATTERN, but a run of letters never takes the space or quote before it, so a
# word is the same token in running text and inside a JSON string ("Maria" and " Maria"):
# copying a value from the text into a record is then plain token copying.
WORD_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Plain ChatML (Qwen2.5 style without a default system turn).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------


def train_tokenizer(texts, vocab_size: int, extra_specials=(), pattern: str = QWEN2_PATTERN) -> Tokenizer:
    """Byte-level BPE over texts; SPECIALS then extra_specials take ids 0.. in order."""
    specials = list(SPECIALS) + list(extra_specials)
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=[AddedToken(s, normalized=False, special=True) for s in specials],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    for i, s in enumerate(specials):
        if tok.token_to_id(s) != i:
            raise SystemExit(f"tokenizer: special {s!r} got id {tok.token_to_id(s)}, want {i}")
    return tok


def save_tokenizer(tok: Tokenizer, out_dir: str) -> None:
    """tokenizer.json and tokenizer_config.json (Qwen2Tokenizer, ChatML, eos <|im_end|>)."""
    os.makedirs(out_dir, exist_ok=True)
    j = json.loads(tok.to_str())
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(j, ensure_ascii=False, indent=2) + "\n")
    added = {}
    specials = []
    for a in j["added_tokens"]:
        specials.append(a["content"])
        added[str(a["id"])] = {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": [s for s in specials if s != "<|endoftext|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "mask_token": "<|MASK|>",
        "model_max_length": 2048,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    write_json(os.path.join(out_dir, "tokenizer_config.json"), cfg)


def chat_prompt(user: str, system: str | None = None) -> str:
    """The ChatML prompt CHAT_TEMPLATE renders with add_generation_prompt=True."""
    s = ""
    if system is not None:
        s += f"<|im_start|>system\n{system}<|im_end|>\n"
    return s + f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------


def lm_config(vocab_size, hidden, layers, heads, kv_heads, head_dim, intermediate, block_size=4, max_pos=512,
              tie=False) -> Qwen3Config:
    cfg = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        hidden_act="silu",
        max_position_embeddings=max_pos,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        tie_word_embeddings=tie,
        attention_bias=False,
        bos_token_id=IM_START_ID,
        eos_token_id=IM_END_ID,
        pad_token_id=PAD_ID,
    )
    cfg.block_size = block_size
    cfg.mask_token_id = MASK_ID
    cfg._attn_implementation = "sdpa"
    return cfg


def new_lm(cfg: Qwen3Config, seed: int) -> Qwen3ForCausalLM:
    torch.manual_seed(seed)
    return Qwen3ForCausalLM(cfg).to(torch.float32)


def sdar_config_dict(cfg: Qwen3Config) -> dict:
    """config.json body of an SDAR model with cfg's dimensions."""
    d = {
        "architectures": ["SDARForCausalLM"],
        "model_type": "sdar",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "block_size": cfg.block_size,
        "mask_token_id": cfg.mask_token_id,
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_id,
        "pad_token_id": cfg.pad_token_id,
        "head_dim": cfg.head_dim,
        "hidden_act": cfg.hidden_act,
        "hidden_size": cfg.hidden_size,
        "initializer_range": cfg.initializer_range,
        "intermediate_size": cfg.intermediate_size,
        "layer_types": ["full_attention"] * cfg.num_hidden_layers,
        "max_position_embeddings": cfg.max_position_embeddings,
        "num_attention_heads": cfg.num_attention_heads,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_key_value_heads": cfg.num_key_value_heads,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_parameters": {"rope_theta": float(cfg.rope_parameters["rope_theta"]), "rope_type": "default"},
        "rope_theta": float(cfg.rope_parameters["rope_theta"]),
        "sliding_window": None,
        "use_sliding_window": False,
        "tie_word_embeddings": bool(cfg.tie_word_embeddings),
        "torch_dtype": "bfloat16",
        "dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": cfg.vocab_size,
    }
    return d


def lm_config_of(d: dict) -> Qwen3Config:
    """The inverse of sdar_config_dict: lm_config from a saved config.json (or text_config) body."""
    return lm_config(d["vocab_size"], d["hidden_size"], d["num_hidden_layers"], d["num_attention_heads"],
                     d["num_key_value_heads"], d["head_dim"], d["intermediate_size"], block_size=d["block_size"],
                     max_pos=d["max_position_embeddings"], tie=d["tie_word_embeddings"])


def lm_tensors(lm: Qwen3ForCausalLM, prefix: str = "") -> dict:
    """bf16 copies of the LM's weights under Qwen3 names (lm_head omitted when tied)."""
    out = {}
    for name, t in lm.state_dict().items():
        if name == "lm_head.weight" and lm.config.tie_word_embeddings:
            continue
        out[prefix + name] = t.detach().to(torch.bfloat16).contiguous()
    return out


def save_lm(lm: Qwen3ForCausalLM, out_dir: str, prefix: str = "", return_only: bool = False):
    """Write model.safetensors (bf16); with return_only, return the name->tensor dict instead."""
    tensors = lm_tensors(lm, prefix)
    if return_only:
        return tensors
    os.makedirs(out_dir, exist_ok=True)
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    return tensors


def save_sdar(lm: Qwen3ForCausalLM, tok: Tokenizer, out_dir: str) -> None:
    """A complete SDAR checkpoint directory: config, generation config, weights, tokenizer."""
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "config.json"), sdar_config_dict(lm.config))
    write_json(os.path.join(out_dir, "generation_config.json"), generation_config())
    save_lm(lm, out_dir)
    save_tokenizer(tok, out_dir)


def generation_config() -> dict:
    return {"bos_token_id": IM_START_ID, "eos_token_id": [IM_END_ID, PAD_ID], "pad_token_id": PAD_ID,
            "do_sample": False}


def load_bf16(lm: Qwen3ForCausalLM, tensors: dict, prefix: str = "") -> None:
    """Load bf16 weights (as saved) into lm in fp32, so evaluation sees the rounded weights."""
    sd = {k[len(prefix):]: v.to(torch.float32) for k, v in tensors.items() if k.startswith(prefix)}
    if lm.config.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    missing, unexpected = lm.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise SystemExit(f"load: missing {missing} unexpected {unexpected}")


# --------------------------------------------------------------------------------------
# Training objective
# --------------------------------------------------------------------------------------


def additive(allowed: torch.Tensor) -> torch.Tensor:
    """[B,Q,K] bool -> [B,1,Q,K] additive fp32 mask."""
    m = torch.zeros(allowed.shape, dtype=torch.float32)
    m.masked_fill_(~allowed, torch.finfo(torch.float32).min)
    return m[:, None]


def sample_noise(resp, b, gen):
    """[B,L] bool: which response positions are masked. Ratio t ~ U(1/2b, 1] per (row, block),
    each response token masked with probability t; b == 1 masks every response token; at least
    one masked token per row."""
    B, L = resp.shape
    pos = torch.arange(L)
    if b == 1:
        return resp.clone()
    nb = (L + b - 1) // b
    t = torch.rand((B, nb), generator=gen).clamp_min(1.0 / (2 * b))
    u = torch.rand((B, L), generator=gen)
    noise = resp & (u < t[:, pos // b])
    none = ~noise.any(dim=1)
    if none.any():
        r = torch.nonzero(none).squeeze(1)
        first_resp = torch.where(resp[r], pos, torch.full_like(pos, L)).min(dim=1).values
        noise[r, first_resp] = True
    return noise


def bd_loss(lm, ids, resp, gen: torch.Generator, embeds=None, block_size=None, ar_frac=0.25, shared=0,
            complementary=True):
    """SDAR block-diffusion loss on a batch: ids [B,L] long, resp [B,L] bool (noised and scored
    positions), embeds [B,L,H] optional. With probability ar_frac the batch uses block size 1.
    complementary adds a second noisy copy with the inverted mask (Fast-dLLM v2), so every
    response token is scored once per step. shared: the rows' first `shared` positions are
    identical (same system prompt), so their clean states are computed once."""
    b = block_size or lm.config.block_size
    if ar_frac > 0 and torch.rand((), generator=gen).item() < ar_frac:
        b = 1
    noise = sample_noise(resp, b, gen)
    noises = [noise, resp & ~noise] if complementary and b > 1 else [noise]
    logits, target = bd_forward(lm, ids, resp, noises, b, embeds, shared)
    return F.cross_entropy(logits.float(), target)


def bd_forward(lm, ids, resp, noises, b, embeds=None, shared=0):
    """Logits [N,V] at the masked positions of the noisy copies and their targets [N].

    The model input is [x_t1 ; x_t2 ; ... ; x_0] (one noisy copy per entry of noises, each
    [B,L] bool). Positions are absolute; blocks are pos // b. A noisy copy's query sees its own
    block bidirectionally and clean earlier blocks; x_0 is block-causal. A row's padding is every
    position after its last response token; pad keys are hidden from real queries. With shared
    > 0 the clean prefix of whole blocks before it is run once for the batch and its keys and
    values are broadcast (gradients are the same as running it per row).
    """
    B, L = ids.shape
    pos = torch.arange(L)
    blk = pos // b  # [L]
    last = torch.where(resp, pos, torch.full_like(pos, -1)).max(dim=1).values  # [B]
    valid = pos[None, :] <= last[:, None]  # [B,L]

    # The noisy copies only need the blocks that hold response tokens.
    first = torch.where(resp, pos, torch.full_like(pos, L)).min(dim=1).values.min().item()
    s = (first // b) * b
    Lt = L - s
    pf = min((shared // b) * b, s)  # shared clean prefix, whole blocks before any noise

    emb = lm.get_input_embeddings()
    if embeds is None:
        embeds = emb(ids)  # [B,L,H]
    mask_vec = emb.weight[MASK_ID]  # [H]
    copies = [torch.where(n[:, s:, None], mask_vec.expand(B, Lt, -1), embeds[:, s:]) for n in noises]  # [B,Lt,H]
    inp = torch.cat(copies + [embeds[:, pf:]], dim=1)  # [B,k*Lt+L-pf,H]
    qpos = torch.cat([pos[s:]] * len(noises) + [pos[pf:]])  # [Q]
    qblk = qpos // b
    k = len(noises)
    Q = k * Lt + L - pf
    # Which half each query/key belongs to: 0..k-1 noisy copies, k clean.
    half = torch.cat([torch.full((Lt,), i) for i in range(k)] + [torch.full((L - pf,), k)])
    same_copy = (half[:, None] == half[None, :]) & (half[:, None] < k) & (qblk[:, None] == qblk[None, :])
    to_clean = (half[None, :] == k) & (half[:, None] < k) & (qblk[:, None] > qblk[None, :])
    clean = (half[None, :] == k) & (half[:, None] == k) & (qblk[:, None] >= qblk[None, :])
    allowed = same_copy | to_clean | clean  # [Q,Q]
    kvalid = torch.cat([valid[:, s:]] * k + [valid[:, pf:]], 1)  # [B,Q]
    allowed = allowed[None] & kvalid[:, None, :]
    allowed = allowed | torch.eye(Q, dtype=torch.bool)[None]  # no empty rows for pad queries

    cache = None
    if pf > 0:
        pre = lm.model(inputs_embeds=embeds[:1, :pf],
                       attention_mask=additive((blk[:pf, None] >= blk[None, :pf])[None]),
                       position_ids=pos[None, :pf], use_cache=True)
        cache = pre.past_key_values
        for layer in cache.layers:
            layer.keys = layer.keys.expand(B, -1, -1, -1)
            layer.values = layer.values.expand(B, -1, -1, -1)
        # Every query sees the whole prefix: it is made of blocks before any query's block.
        allowed = torch.cat([torch.ones((B, Q, pf), dtype=torch.bool), allowed], 2)
    out = lm.model(inputs_embeds=inp, attention_mask=additive(allowed), position_ids=qpos[None].expand(B, -1),
                   past_key_values=cache, use_cache=cache is not None)
    h = out.last_hidden_state  # [B,Q,H]
    sel = torch.cat([n[:, s:] for n in noises] + [torch.zeros((B, L - pf), dtype=torch.bool)], 1)  # [B,Q]
    tgt = torch.cat([ids[:, s:]] * k + [ids[:, pf:]], 1)
    return lm.lm_head(h[sel]), tgt[sel]


# --------------------------------------------------------------------------------------
# Reference decoder (greedy SDAR block decoding, no cache)
# --------------------------------------------------------------------------------------


@torch.no_grad()
def generate(lm, prompt_ids, max_new, threshold=None, block_size=None, prefix_embeds=None, stop_ids=STOP_IDS):
    """Decode after prompt_ids. Returns (new token ids without the stop token, forwards).

    threshold None: one token per forward (the most confident masked one).
    threshold t: every masked token with confidence >= t, at least the most confident one.
    block_size 1 with threshold None is autoregressive decoding.
    """
    b = block_size or lm.config.block_size
    emb = lm.get_input_embeddings()
    P = len(prompt_ids)
    seq = list(prompt_ids)
    forwards = 0
    start = (P // b) * b
    while len(seq) - P < max_new:
        fill = b - (len(seq) - start)
        seq = seq + [MASK_ID] * fill
        while True:
            cur = seq[start:]
            masked = [i for i, t in enumerate(cur) if t == MASK_ID and start + i >= P]
            if not masked:
                break
            x = torch.tensor(seq)[None]  # [1,T]
            e = emb(x)
            if prefix_embeds is not None:
                e = torch.cat([prefix_embeds[None].to(e.dtype), e[:, P:]], 1)
            T = len(seq)
            blk = torch.arange(T) // b
            allowed = (blk[:, None] >= blk[None, :])[None]
            out = lm.model(inputs_embeds=e, attention_mask=additive(allowed),
                           position_ids=torch.arange(T)[None])
            h = out.last_hidden_state[0, start:]  # [b,H]
            probs = torch.softmax(lm.lm_head(h).float(), -1)  # [b,V]
            forwards += 1
            conf, x0 = probs.max(-1)
            m = torch.tensor(masked)
            order = m[torch.argsort(conf[m], descending=True, stable=True)]
            commit = [order[0].item()]
            if threshold is not None:
                commit += [i.item() for i in order[1:] if conf[i] >= threshold]
            for i in commit:
                seq[start + i] = x0[i].item()
        gen_ids = seq[P:]
        for k, t in enumerate(gen_ids):
            if t in stop_ids:
                return gen_ids[:k], forwards
        start += b
    return seq[P:P + max_new], forwards


def cosine_lr(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))
