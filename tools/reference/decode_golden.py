#!/usr/bin/env python3
"""Token goldens for block-diffusion decoding (SDAR and Fast-dLLM v2), greedy.

A plain PyTorch reference of the decoding loops of docs section 4.1 (SDAR, unshifted)
and 4.2 (Fast-dLLM v2, shifted, sub-blocks), run on the tiny random checkpoints in
testdata/models/. The Go decoder must reproduce the token outputs exactly.

Independence from any KV-cached implementation: every step forwards the FULL sequence
so far (prompt + finished blocks + current canvas) through transformers' stock
Qwen3ForCausalLM / Qwen2ForCausalLM, eager attention, with an explicit 4-D additive
block-causal mask (query q sees key k iff q//B >= k//B), in float32 from the stored
weights upcast exactly. No "commit" forwards are needed (nothing is cached).

The one exception is the Fast-dLLM v2 sub-block cache variant ("block_cache": true),
which is approximate by design: it needs a KV-cached forward, so it runs through a
small explicit Qwen2 forward (ManualQwen2) that is first checked against the
transformers logits (max abs diff < 1e-4).

Output: testdata/golden/decode/<model>.json (see testdata/golden/README.md,
"Decode goldens"). Deterministic: two runs give byte-identical files.

Usage (from the repository root):

    python3 tools/reference/decode_golden.py                 # both models
    python3 tools/reference/decode_golden.py tiny-sdar       # or one
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys

import torch

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

import transformers  # noqa: E402
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS_DIR = os.path.join(ROOT, "testdata", "models")
OUT_DIR = os.path.join(ROOT, "testdata", "golden", "decode")

PROMPT_SEED = 4242
PROMPT_LENS = (3, 8, 13)  # shorter than a block; multiple of 4 and 8; neither
PROMPT_VOCAB = 1568  # learned tokens only: no specials, no mask
MAX_NEW = 24
SUB_BLOCK = 4  # Fast-dLLM v2 small_block_size for tiny-fastdllm (bd_size 8)
STOP_ID = 1570  # <|im_end|>, a stop id of both models
# A decision margin below this (logit gap or confidence margin) marks a case "fragile":
# fp32 noise of another implementation (~1e-5 on logits) could flip that decision.
FRAGILE = 1e-4

# Random weights rarely emit a stop id. tiny-sdar: the first of 40 prompts
# (randint(0, 1571, (6,)) with seeds PROMPT_SEED+100+i) whose static steps=2 output
# holds a stop id was i = 25; frozen here so regeneration stays cheap.
SDAR_STOP_PROMPT = [737, 1074, 1057, 1042, 1040, 1108]


def fastdllm_stop_prompts() -> dict[str, list[int]]:
    """tiny-fastdllm mostly copies the previous token (tied embeddings), so a prompt
    ending in <|im_end|> makes it emit <|im_end|> first: a stop inside the first block
    (P=5) and a stop on the AR-style first token (P=8). "chat9" holds stop ids inside
    the prompt, which must not stop decoding (only generated positions count)."""
    p3, p8, p13 = make_prompts()
    return {
        "stop5": p13[:4] + [STOP_ID],
        "stop8": p8[:7] + [STOP_ID],
        "chat9": [1569] + p13[:3] + [STOP_ID, 1569] + p3,
    }

# Fields edited into config.json by make_goldens.py that the stock configs do not know.
NONSTOCK_KEYS = ("model_type", "architectures", "transformers_version", "torch_dtype", "dtype",
                 "block_size", "mask_token_id", "bd_size")


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_model(name: str):
    """Loads a tiny checkpoint into the stock class, float32, eager attention."""
    path = os.path.join(MODELS_DIR, name)
    raw = read_json(os.path.join(path, "config.json"))
    model_type = raw["model_type"]
    if model_type == "sdar":
        cfg_cls, model_cls = Qwen3Config, Qwen3ForCausalLM
    elif model_type == "Fast_dLLM_Qwen":
        cfg_cls, model_cls = Qwen2Config, Qwen2ForCausalLM
    else:
        raise ValueError(f"{name}: unexpected model_type {model_type}")
    kw = {k: v for k, v in raw.items() if k not in NONSTOCK_KEYS}
    config = cfg_cls(**kw)
    model = model_cls.from_pretrained(path, config=config, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    for n, p in model.named_parameters():
        assert p.dtype == torch.float32, (n, p.dtype)
    return model, raw


def mask_id_of(name: str, raw: dict) -> int:
    if "mask_token_id" in raw:
        return int(raw["mask_token_id"])
    tok = read_json(os.path.join(MODELS_DIR, name, "tokenizer.json"))
    ids = [t["id"] for t in tok["added_tokens"] if t["content"] == "|<MASK>|"]
    assert len(ids) == 1, ids
    return int(ids[0])


def stop_ids_of(name: str, raw: dict) -> list[int]:
    gen = read_json(os.path.join(MODELS_DIR, name, "generation_config.json"))
    eos = gen.get("eos_token_id", raw.get("eos_token_id"))
    if raw["model_type"] == "sdar":
        # SDAR: the generation_config list (config.json's eos is only <|endoftext|>).
        assert isinstance(eos, list), eos
        return [int(x) for x in eos]
    # Fast-dLLM v2: one stop token; config and generation_config agree.
    ids = eos if isinstance(eos, list) else [eos]
    cfg_eos = raw["eos_token_id"]
    assert ids == (cfg_eos if isinstance(cfg_eos, list) else [cfg_eos]), (ids, cfg_eos)
    return [int(x) for x in ids]


def make_prompts() -> list[list[int]]:
    g = torch.Generator().manual_seed(PROMPT_SEED)
    return [torch.randint(0, PROMPT_VOCAB, (n,), generator=g, dtype=torch.int64).tolist() for n in PROMPT_LENS]


# --------------------------------------------------------------------------------------
# Forward passes
# --------------------------------------------------------------------------------------


def block_causal_additive(T: int, B: int) -> torch.Tensor:
    q = torch.arange(T)[:, None]
    k = torch.arange(T)[None, :]
    allowed = (q // B) >= (k // B)
    m = torch.zeros(T, T, dtype=torch.float32)
    m.masked_fill_(~allowed, torch.finfo(torch.float32).min)
    return m[None, None].contiguous()  # [1,1,T,T]


class HFRef:
    """Full-sequence forward through transformers, block-causal 4-D additive mask."""

    def __init__(self, model, B: int):
        self.model = model
        self.B = B
        self.forwards = 0

    @torch.no_grad()
    def logits(self, ids: list[int]) -> torch.Tensor:
        self.forwards += 1
        x = torch.tensor(ids, dtype=torch.int64)[None]  # [1,T]
        out = self.model(input_ids=x, attention_mask=block_causal_additive(len(ids), self.B), use_cache=False)
        return out.logits[0].float()  # [T,V]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class ManualQwen2:
    """Explicit Qwen2 forward (q/k/v biases, tied or untied head) with a KV view.

    full(ids) -> logits [T,V], kv: per layer (K [T,kvH,D] post-RoPE, V [T,kvH,D]).
    sub(...)  -> logits for a few block rows attending (no mask) to prefix KV + block KV,
                 overwriting the block KV rows in place.
    """

    def __init__(self, model, B: int):
        cfg = model.config
        self.B = B
        self.H = cfg.num_attention_heads
        self.KVH = cfg.num_key_value_heads
        self.D = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.H
        self.eps = cfg.rms_norm_eps
        theta = cfg.rope_parameters["rope_theta"]
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.D, 2, dtype=torch.int64).float() / self.D))  # [D/2]
        sd = {k: v.detach().float() for k, v in model.state_dict().items()}
        self.emb = sd["model.embed_tokens.weight"]  # [V,hidden]
        self.head = sd.get("lm_head.weight", self.emb)  # [V,hidden]
        self.norm = sd["model.norm.weight"]
        self.layers = []
        for i in range(cfg.num_hidden_layers):
            p = f"model.layers.{i}."
            self.layers.append({k[len(p):]: v for k, v in sd.items() if k.startswith(p)})
        self.forwards = 0
        self.cached_forwards = 0

    def rms(self, x, w):  # x [T,h]
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, pos):  # x [T,heads,D], pos [T]
        f = pos.float()[:, None] * self.inv_freq[None, :]  # [T,D/2]
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]  # [T,1,D]
        return x * cos + rotate_half(x) * sin

    def qkv(self, L, x, pos):  # x [T,h] -> q [T,H,D], k,v [T,KVH,D]
        h = self.rms(x, L["input_layernorm.weight"])
        T = x.shape[0]
        q = (h @ L["self_attn.q_proj.weight"].T + L["self_attn.q_proj.bias"]).view(T, self.H, self.D)
        k = (h @ L["self_attn.k_proj.weight"].T + L["self_attn.k_proj.bias"]).view(T, self.KVH, self.D)
        v = (h @ L["self_attn.v_proj.weight"].T + L["self_attn.v_proj.bias"]).view(T, self.KVH, self.D)
        return self.rope(q, pos), self.rope(k, pos), v

    def attn_mlp(self, L, x, q, K, V, add_mask):
        # q [Tq,H,D], K,V [Tk,KVH,D], add_mask [Tq,Tk] or None
        rep = self.H // self.KVH
        Kh = K.repeat_interleave(rep, dim=1).transpose(0, 1)  # [H,Tk,D]
        Vh = V.repeat_interleave(rep, dim=1).transpose(0, 1)
        s = q.transpose(0, 1) @ Kh.transpose(1, 2) / math.sqrt(self.D)  # [H,Tq,Tk]
        if add_mask is not None:
            s = s + add_mask
        a = torch.softmax(s, dim=-1) @ Vh  # [H,Tq,D]
        a = a.transpose(0, 1).reshape(q.shape[0], self.H * self.D)
        x = x + a @ L["self_attn.o_proj.weight"].T
        h = self.rms(x, L["post_attention_layernorm.weight"])
        g = torch.nn.functional.silu(h @ L["mlp.gate_proj.weight"].T) * (h @ L["mlp.up_proj.weight"].T)
        return x + g @ L["mlp.down_proj.weight"].T

    def logits_of(self, x):
        return self.rms(x, self.norm) @ self.head.T

    @torch.no_grad()
    def full(self, ids: list[int]):
        self.forwards += 1
        T = len(ids)
        pos = torch.arange(T)
        mask = block_causal_additive(T, self.B)[0, 0]
        x = self.emb[torch.tensor(ids)]
        kv = []
        for L in self.layers:
            q, k, v = self.qkv(L, x, pos)
            kv.append((k, v))
            x = self.attn_mlp(L, x, q, k, v, mask)
        return self.logits_of(x), kv

    @torch.no_grad()
    def sub(self, ids: list[int], pos0: int, prefix_kv, block_kv, s: int):
        """ids: sub-block tokens at absolute positions pos0.., = block rows [s, s+len)."""
        self.forwards += 1
        self.cached_forwards += 1
        n = len(ids)
        pos = pos0 + torch.arange(n)
        x = self.emb[torch.tensor(ids)]
        for L, (pk, pv), (bk, bv) in zip(self.layers, prefix_kv, block_kv):
            q, k, v = self.qkv(L, x, pos)
            bk[s:s + n] = k  # in-place overwrite of the block KV rows
            bv[s:s + n] = v
            x = self.attn_mlp(L, x, q, torch.cat((pk, bk)), torch.cat((pv, bv)), None)
        return self.logits_of(x)


# --------------------------------------------------------------------------------------
# Greedy pick and selection
# --------------------------------------------------------------------------------------


def pick(row: torch.Tensor, mask_id: int) -> tuple[int, float, float]:
    """row [V] logits -> (argmax token with the mask banned, its softmax probability,
    logit gap between the best and second-best token: information only)."""
    l = row.clone()
    l[mask_id] = float("-inf")
    x0 = int(torch.argmax(l))  # first index on ties
    p = torch.softmax(l, dim=-1)  # fp32, full vocab
    top2 = torch.topk(l, 2).values
    return x0, float(p[x0]), float(top2[0] - top2[1])


class Margins:
    """Smallest decision margins of a run (information for debugging Go mismatches).

    logit: min over committed tokens of (top-1 - top-2 logit).
    conf:  min over selection decisions of |c - tau| (every thresholded candidate) and of
           the confidence gap at the top-k cut (k-th vs (k+1)-th, when it decides)."""

    def __init__(self):
        self.logit = float("inf")
        self.conf = float("inf")

    def commit(self, picks, sel):
        for j in sel:
            self.logit = min(self.logit, picks[j][2])

    def cut(self, conf, order, k):
        if 0 < k < len(order):
            self.conf = min(self.conf, conf[order[k - 1]] - conf[order[k]])

    def tau(self, conf, tau, skip=()):
        for j, c in enumerate(conf):
            if j not in skip:
                self.conf = min(self.conf, abs(c - tau))

    def as_dict(self):
        r = lambda v: None if v == float("inf") else float(f"{v:.3g}")  # noqa: E731
        return {"min_logit_gap": r(self.logit), "min_conf_margin": r(self.conf)}


def order_by_conf(conf: list[float]) -> list[int]:
    """Indices into conf by descending confidence; ties: lower index first."""
    _, idx = torch.sort(torch.tensor(conf, dtype=torch.float32), descending=True, stable=True)
    return idx.tolist()


def truncate(gen: list[int], stop_ids: list[int], max_new: int) -> list[int]:
    for i, t in enumerate(gen):
        if t in stop_ids:
            gen = gen[: i + 1]
            break
    return gen[:max_new]


# --------------------------------------------------------------------------------------
# SDAR (unshifted), section 4.1
# --------------------------------------------------------------------------------------


def decode_sdar(ref: HFRef, prompt, B, mask_id, stop_ids, steps, kind, tau, max_new):
    P = len(prompt)
    seq = list(prompt)
    block_start = (P // B) * B
    tps = []
    mg = Margins()
    ref.forwards = 0
    while True:
        seq += [mask_id] * (block_start + B - len(seq))  # prompt tail (first block) + masks
        m = sum(t == mask_id for t in seq[block_start:])
        nt = [m // steps + (1 if s < m % steps else 0) for s in range(steps)]
        step = 0
        while mask_id in seq[block_start:]:
            assert step < steps and nt[step] > 0, (step, nt)
            logits = ref.logits(seq)  # [T,V], row i predicts position i
            cand = [i for i in range(block_start, block_start + B) if seq[i] == mask_id]
            picks = [pick(logits[i], mask_id) for i in cand]
            conf = [c for _, c, _ in picks]
            k = min(nt[step], len(cand))
            order = order_by_conf(conf)
            if kind == "static":
                sel = order[:k]
                mg.cut(conf, order, k)
            elif kind == "dynamic":
                above = [j for j in order if conf[j] > tau]
                sel = above if len(above) >= k else order[:k]
                mg.tau(conf, tau)
                if len(above) < k:
                    mg.cut(conf, order, k)
            else:
                raise ValueError(kind)
            mg.commit(picks, sel)
            for j in sel:
                seq[cand[j]] = picks[j][0]
            tps.append(len(sel))
            step += 1
        gen = seq[P:]
        if any(t in stop_ids for t in gen) or len(gen) >= max_new:
            break
        block_start += B
    return truncate(seq[P:], stop_ids, max_new), ref.forwards, tps, mg.as_dict()


# --------------------------------------------------------------------------------------
# Fast-dLLM v2 (shifted, sub-blocks), section 4.2
# --------------------------------------------------------------------------------------


def decode_fastdllm(ref, prompt, B, Sb, mask_id, stop_ids, kind, tau, k, max_new, block_cache):
    """ref: HFRef (block_cache False) or ManualQwen2 (either)."""
    P = len(prompt)
    seq = list(prompt)
    tps = []
    mg = Margins()
    ref.forwards = 0
    if isinstance(ref, ManualQwen2):
        ref.cached_forwards = 0

    def full_logits(ids):
        if isinstance(ref, ManualQwen2):
            return ref.full(ids)
        return ref.logits(ids), None

    def done():
        return truncate(seq[P:], stop_ids, max_new), ref.forwards, tps, mg.as_dict()

    def ar_token(row):
        x0, _, gap = pick(row, mask_id)
        mg.logit = min(mg.logit, gap)
        return x0

    if P >= B and P % B == 0:
        logits, _ = full_logits(seq)
        seq.append(ar_token(logits[P - 1]))  # first token of the next block, AR style
        if seq[-1] in stop_ids or len(seq) - P >= max_new:
            return done()
    block_start = ((len(seq) - 1) // B) * B
    while True:
        seq += [mask_id] * (block_start + B - len(seq))
        assert seq[block_start] != mask_id  # offset 0 is always known (prompt or AR token)
        prefix_kv = block_kv = None
        stopped = False
        for s in range(0, B, Sb):
            e = s + Sb
            while any(seq[block_start + j] == mask_id for j in range(s, e)):
                cand = [j for j in range(s, e) if seq[block_start + j] == mask_id]
                if block_cache and block_kv is not None and seq[block_start + s] != mask_id:
                    rows = ref.sub(seq[block_start + s:block_start + e], block_start + s, prefix_kv, block_kv, s)
                    # rows[r] predicts block offset s+r+1; masked j > s here.
                    picks = [pick(rows[j - 1 - s], mask_id) for j in cand]
                else:
                    logits, kv = full_logits(seq)
                    if block_cache:
                        prefix_kv = [(kk[:block_start], vv[:block_start]) for kk, vv in kv]
                        block_kv = [(kk[block_start:].clone(), vv[block_start:].clone()) for kk, vv in kv]
                    picks = [pick(logits[block_start + j - 1], mask_id) for j in cand]
                conf = [c for _, c, _ in picks]
                order = order_by_conf(conf)
                if kind == "threshold":
                    sel = [order[0]] + [j for j in order[1:] if conf[j] > tau]
                    mg.tau(conf, tau, skip=(order[0],))
                    if conf[order[0]] <= tau:
                        mg.cut(conf, order, 1)
                elif kind == "static":
                    sel = order[: min(k, len(cand))]
                    mg.cut(conf, order, min(k, len(cand)))
                else:
                    raise ValueError(kind)
                mg.commit(picks, sel)
                for j in sel:
                    seq[block_start + cand[j]] = picks[j][0]
                tps.append(len(sel))
                # Stop: a stop id in the block with no mask before it.
                for j in range(B):
                    t = seq[block_start + j]
                    if t == mask_id:
                        break
                    if t in stop_ids and block_start + j >= P:
                        stopped = True
                        break
                if stopped:
                    break
            if stopped:
                break
        if stopped or len(seq) - P >= max_new:
            return done()
        logits, _ = full_logits(seq)  # block full: next block's first token from its last row
        seq.append(ar_token(logits[-1]))
        if seq[-1] in stop_ids or len(seq) - P >= max_new:
            return done()
        block_start += B


# --------------------------------------------------------------------------------------
# Checks of the manual forward
# --------------------------------------------------------------------------------------


@torch.no_grad()
def check_manual(man: ManualQwen2, hf: HFRef, B: int, Sb: int) -> dict:
    g = torch.Generator().manual_seed(PROMPT_SEED + 1)
    ids = torch.randint(0, PROMPT_VOCAB, (3 * B - 3,), generator=g).tolist()  # partial last block
    want = hf.logits(ids)
    got, kv = man.full(ids)
    d_full = (got - want).abs().max().item()
    assert d_full < 1e-4, f"manual full forward vs transformers: {d_full}"
    # Sub-block path with an exact block KV (all block tokens known) equals the full rows.
    ids = ids + torch.randint(0, PROMPT_VOCAB, (3,), generator=g).tolist()  # 3 whole blocks
    full, kv = man.full(ids)
    bs = 2 * B
    worst = 0.0
    for s in range(0, B, Sb):
        prefix_kv = [(k[:bs], v[:bs]) for k, v in kv]
        block_kv = [(k[bs:].clone(), v[bs:].clone()) for k, v in kv]
        rows = man.sub(ids[bs + s:bs + s + Sb], bs + s, prefix_kv, block_kv, s)
        worst = max(worst, (rows - full[bs + s:bs + s + Sb]).abs().max().item())
    assert worst < 1e-4, f"manual sub-block forward vs full forward: {worst}"
    return {"max|manual full - transformers|": d_full, "max|manual sub - manual full|": worst}


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def write_json(path: str, obj) -> None:
    text = json.dumps(obj, indent=1, sort_keys=False, ensure_ascii=False)
    # Keep lists of numbers on one line.
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def case(name, prompt, policy, out, fwd, tps, margins, **extra):
    d = {"name": name, "prompt": prompt, "max_new": MAX_NEW, "policy": policy}
    d.update(extra)
    d.update({"output": out, "forwards": fwd, "tokens_per_step": tps})
    d.update(margins)
    d["fragile"] = any(v is not None and v < FRAGILE for v in margins.values())
    return d


def demo_text_prompts() -> list[tuple[str, list[int]]]:
    """Chat prompts of the trained demo text checkpoint, built as its trainer builds them
    (tools/train: engine/schema's system message + compact schema, ChatML): the first
    held-out case of each extraction schema and the first four held-out instructions,
    tokenized with the checkpoint's tokenizer.json."""
    from tokenizers import Tokenizer

    sys.path[:0] = [os.path.join(ROOT, "tools", "train"), os.path.join(ROOT, "tools", "train", "text")]
    import bdlm  # noqa: E402
    import data  # noqa: E402

    tok = Tokenizer.from_file(os.path.join(MODELS_DIR, "demo-text", "tokenizer.json"))
    held = os.path.join(ROOT, "testdata", "heldout", "text")
    out = []
    for name in ("order", "person", "event", "device"):
        with open(os.path.join(held, "schemas", name + ".jsonl"), encoding="utf-8") as f:
            case = json.loads(f.readline())
        out.append((name, tok.encode(bdlm.chat_prompt(case["input"], data.system_prompt(name))).ids))
    with open(os.path.join(held, "instructions.jsonl"), encoding="utf-8") as f:
        for i in range(4):
            case = json.loads(f.readline())
            out.append((f"instr{i}", tok.encode(bdlm.chat_prompt(case["input"])).ids))
    return out


def run_sdar(name: str) -> dict:
    model, raw = load_model(name)
    B = int(raw["block_size"])
    mask_id = mask_id_of(name, raw)
    stop_ids = stop_ids_of(name, raw)
    ref = HFRef(model, B)
    policies = [
        ("static_s4", {"kind": "static", "steps": B}),
        ("static_s2", {"kind": "static", "steps": 2}),
        ("static_s1", {"kind": "static", "steps": 1}),
        ("dynamic_t0.9_s4", {"kind": "dynamic", "steps": B, "tau": 0.9}),
        ("dynamic_t0.5_s4", {"kind": "dynamic", "steps": B, "tau": 0.5}),
        # Random weights: confidences are 0.02..0.51 (median 0.12), so 0.9 and 0.5 almost
        # never fire; 0.15 makes the dynamic rule commit several tokens per step.
        ("dynamic_t0.15_s4", {"kind": "dynamic", "steps": B, "tau": 0.15}),
    ]
    cases = []
    prompts = [(f"p{len(p)}", p) for p in make_prompts()] + [("stop6", SDAR_STOP_PROMPT)]
    max_new = MAX_NEW
    if name == "demo-text":
        # A trained checkpoint: real prompts, whole answers, and the thresholds the model card reports.
        prompts = demo_text_prompts()
        max_new = 96
        policies = [
            ("static_s4", {"kind": "static", "steps": B}),
            ("dynamic_t0.9_s4", {"kind": "dynamic", "steps": B, "tau": 0.9}),
            ("dynamic_t0.7_s4", {"kind": "dynamic", "steps": B, "tau": 0.7}),
        ]
    for pn, prompt in prompts:
        for pname, pol in policies:
            out, fwd, tps, mg = decode_sdar(ref, prompt, B, mask_id, stop_ids, pol["steps"], pol["kind"],
                                            pol.get("tau"), max_new)
            cases.append(case(f"{pn}_{pname}", prompt, pol, out, fwd, tps, mg, block_cache=False, max_new=max_new))
    return {"model": name, "mask_token_id": mask_id, "stop_ids": stop_ids, "block_size": B,
            "shifted": False, "cases": cases}


def run_fastdllm(name: str) -> tuple[dict, dict]:
    model, raw = load_model(name)
    B = int(raw["bd_size"])
    mask_id = mask_id_of(name, raw)
    stop_ids = stop_ids_of(name, raw)
    hf = HFRef(model, B)
    man = ManualQwen2(model, B)
    stats = check_manual(man, hf, B, SUB_BLOCK)
    policies = [
        ("threshold_t0.9", {"kind": "threshold", "tau": 0.9}),
        ("threshold_t0.5", {"kind": "threshold", "tau": 0.5}),
        # Random weights: masked positions whose left neighbour is still masked get low
        # confidence; 0.2 makes the threshold rule commit several tokens per step.
        ("threshold_t0.2", {"kind": "threshold", "tau": 0.2}),
        ("static_k1", {"kind": "static", "k": 1}),
        ("static_k2", {"kind": "static", "k": 2}),
    ]
    cases = []
    prompts = [(f"p{len(p)}", p) for p in make_prompts()]
    runs = [(False, prompts), (True, prompts), (False, list(fastdllm_stop_prompts().items()))]
    for cache, plist in runs:
        for pn, prompt in plist:
            for pname, pol in policies:
                ref = man if cache else hf
                out, fwd, tps, mg = decode_fastdllm(ref, prompt, B, SUB_BLOCK, mask_id, stop_ids, pol["kind"],
                                                pol.get("tau"), pol.get("k"), MAX_NEW, cache)
                extra = {"sub_block": SUB_BLOCK, "block_cache": cache}
                if cache:
                    extra["cached_forwards"] = man.cached_forwards
                cases.append(case(f"{pn}_{pname}" + ("_blockcache" if cache else ""), prompt, pol,
                                  out, fwd, tps, mg, **extra))
    return {"model": name, "mask_token_id": mask_id, "stop_ids": stop_ids, "block_size": B,
            "shifted": True, "sub_block": SUB_BLOCK, "cases": cases}, stats


def summarize(doc: dict) -> None:
    for c in doc["cases"]:
        multi = sum(1 for n in c["tokens_per_step"] if n > 1)
        stop = any(t in doc["stop_ids"] for t in c["output"])
        extra = f" cached={c['cached_forwards']}" if "cached_forwards" in c else ""
        print(f"  {c['name']:32s} out={len(c['output']):2d} fwd={c['forwards']:3d}{extra} "
              f"steps={len(c['tokens_per_step']):3d} multi={multi:2d} stop={stop} "
              f"logit_gap={c['min_logit_gap']} conf_margin={c['min_conf_margin']}"
              + (" FRAGILE" if c["fragile"] else ""))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="tiny-sdar, tiny-fastdllm, demo-text (default: all)")
    args = ap.parse_args(argv)
    names = args.names or ["tiny-sdar", "tiny-fastdllm", "demo-text"]
    os.makedirs(OUT_DIR, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    for name in names:
        if name in ("tiny-sdar", "demo-text"):
            doc = run_sdar(name)
        elif name == "tiny-fastdllm":
            doc, stats = run_fastdllm(name)
            for k, v in stats.items():
                print(f"  {k}: {v:.3g}")
        else:
            ap.error(f"unknown model {name}")
        write_json(os.path.join(OUT_DIR, f"{name}.json"), doc)
        print(f"{name}:")
        summarize(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
