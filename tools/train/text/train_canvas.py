"""Train a full-canvas demo text checkpoint (LLaDA format) on demo-text's data.

    python tools/train/text/train_canvas.py --out testdata/models/demo-text-llada

Not yet run to completion: on two CPU cores the main mix takes about 1 s/step (tools/train/
README.md has issue 18's attempt), so no checkpoint of it is committed.

The decoding methods that only apply to full-canvas models (AdaBlock, rho-EOS, DAEDAL:
dllm-engine-spec.md section 8) need a trained full-canvas checkpoint to be measured; the other
demo checkpoints are block-causal (SDAR). This one is a masked diffusion model as LLaDA trains
it (SFT recipe of Nie et al. 2025): a LLaMA-style network, fully bidirectional, the prompt never
masked, the response (answer, <|im_end|>, then <|endoftext|> pads) masked with ratio t ~ U(eps, 1]
per row, cross-entropy on the masked positions weighted 1/t and normalized by the response
length. The pads are scored, so the model predicts where its answer ends: what rho-EOS and
DAEDAL read. Each row's response is padded to a random length (up to about twice the answer),
so the model sees end-of-text tails of every length a canvas gives it.

It reuses demo-text's tokenizer (the same vocabulary, <|MASK|> at id 3) and data (train.py's
Encoder: the same mix, engine/schema scaffold canvases for a share of the extraction answers),
and is evaluated on demo-text's held-out sets. Weights are written under LLaDA's own tensor
names (modeling_llada.py's LLaDAModelLM) with LLaDA's config keys, in bf16; the network is
transformers' LlamaModel run with a bidirectional mask, which is the computation LLaDA's
"llama" block does (RMSNorm, RoPE rotate-half, SwiGLU, no biases).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bdlm  # noqa: E402
import train  # noqa: E402  (demo-text's Encoder and phases)

TRAIN_SEED = 7
EPS = 1e-3  # LLaDA's lower bound on the mask ratio


def lm_config(vocab: int, hidden: int, layers: int, heads: int, kv_heads: int, max_pos: int) -> LlamaConfig:
    cfg = LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=3 * hidden, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, head_dim=hidden // heads, hidden_act="silu",
        max_position_embeddings=max_pos, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
        attention_bias=False, mlp_bias=False, bos_token_id=bdlm.IM_START_ID, eos_token_id=bdlm.IM_END_ID,
        pad_token_id=bdlm.PAD_ID,
    )
    cfg._attn_implementation = "sdpa"
    return cfg


def llada_config(cfg: LlamaConfig) -> dict:
    """config.json in LLaDA's keys (configuration_llada.py) for cfg's network."""
    return {
        "activation_type": "silu",
        "alibi": False,
        "alibi_bias_max": 8.0,
        "architectures": ["LLaDAModelLM"],
        "attention_dropout": 0.0,
        "attention_layer_norm": False,
        "attention_layer_norm_with_affine": True,
        "bias_for_layer_norm": False,
        "block_group_size": 1,
        "block_type": "llama",
        "d_model": cfg.hidden_size,
        "embedding_dropout": 0.0,
        "embedding_size": cfg.vocab_size,
        "eos_token_id": bdlm.IM_END_ID,
        "flash_attention": False,
        "include_bias": False,
        "include_qkv_bias": False,
        "init_device": "cpu",
        "init_fn": "normal",
        "init_std": 0.02,
        "input_emb_norm": False,
        "layer_norm_type": "rms",
        "layer_norm_with_affine": True,
        "mask_token_id": bdlm.MASK_ID,
        "max_sequence_length": cfg.max_position_embeddings,
        "mlp_hidden_size": cfg.intermediate_size,
        "mlp_ratio": 3,
        "model_type": "llada",
        "multi_query_attention": None,
        "n_heads": cfg.num_attention_heads,
        "n_kv_heads": cfg.num_key_value_heads,
        "n_layers": cfg.num_hidden_layers,
        "pad_token_id": bdlm.PAD_ID,
        "precision": "amp_bf16",
        "residual_dropout": 0.0,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope": True,
        "rope_full_precision": True,
        "rope_theta": float(cfg.rope_parameters["rope_theta"]),
        "scale_logits": False,
        "torch_dtype": "bfloat16",
        "use_cache": False,
        "vocab_size": cfg.vocab_size,
        "weight_tying": bool(cfg.tie_word_embeddings),
    }


# transformers' Llama names -> modeling_llada.py's (LLaDAModelLM, block_type "llama").
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "q_proj.weight",
    "self_attn.k_proj.weight": "k_proj.weight",
    "self_attn.v_proj.weight": "v_proj.weight",
    "self_attn.o_proj.weight": "attn_out.weight",
    "post_attention_layernorm.weight": "ff_norm.weight",
    "mlp.gate_proj.weight": "ff_proj.weight",
    "mlp.up_proj.weight": "up_proj.weight",
    "mlp.down_proj.weight": "ff_out.weight",
}


def llada_tensors(lm: LlamaForCausalLM) -> dict:
    out = {}
    for name, t in lm.state_dict().items():
        t = t.detach().to(torch.bfloat16).contiguous()
        if name == "model.embed_tokens.weight":
            out["model.transformer.wte.weight"] = t
        elif name == "model.norm.weight":
            out["model.transformer.ln_f.weight"] = t
        elif name == "lm_head.weight":
            if not lm.config.tie_word_embeddings:
                out["model.transformer.ff_out.weight"] = t
        elif name.startswith("model.layers."):
            i, rest = name[len("model.layers."):].split(".", 1)
            out[f"model.transformer.blocks.{i}.{LAYER_NAMES[rest]}"] = t
        elif "rotary_emb" not in name:
            raise SystemExit(f"export: unmapped tensor {name}")
    return out


def save(lm: LlamaForCausalLM, tok_dir: str, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    bdlm.write_json(os.path.join(out, "config.json"), llada_config(lm.config))
    bdlm.write_json(os.path.join(out, "generation_config.json"), bdlm.generation_config())
    save_file(llada_tensors(lm), os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))


def batches(enc, r: random.Random, batch: int, scaffold_frac: float, phase, pool: int = 16):
    """Endless (ids [B,L], resp [B,L] bool, lens [B]) batches: demo-text's examples grouped by kind
    and length, each response followed by <|endoftext|> pads (scored) to a random length of up to
    about twice the answer, the rows right-padded to the batch's length (not scored, hidden)."""
    while True:
        ph = phase()
        exs = []
        for _ in range(batch * pool):
            ids, resp, group = enc.example(r, scaffold_frac, ph, block_pad=False)
            n = sum(resp)
            pads = r.randint(0, n + 8)
            exs.append((ids + [bdlm.PAD_ID] * pads, resp + [True] * pads, group))
        for g, ids, resp in train.padded_groups(exs, batch, r):
            yield ids, resp, torch.tensor([len(x) for x, _, _ in g], dtype=torch.long)


def mdm_loss(lm, ids, resp, lens, gen: torch.Generator, suffix_frac: float = 0.0):
    """LLaDA's SFT loss: t ~ U(eps, 1] per row, each response position masked with probability t
    (at least one), CE on masked positions / t, normalized by the row's response length. A
    suffix_frac share of the rows instead masks the response from a uniformly drawn position on
    (t: the share masked): the leftmost mask is then predicted from the answer before it and the
    prompt, next-token prediction, which forms the copy circuit fastest (as the SDAR trainer's
    block-size-1 phases do), and the later masks see the left-to-right state semi-autoregressive
    decoding gives them."""
    B, L = ids.shape
    t = (1 - EPS) * torch.rand((B, 1), generator=gen) + EPS
    noise = resp & (torch.rand((B, L), generator=gen) < t)
    suffix = torch.rand((B,), generator=gen) < suffix_frac
    if suffix.any():
        pos = torch.arange(L)[None, :]
        first = torch.where(resp, pos, L).min(1).values
        last = torch.where(resp, pos, -1).max(1).values
        cut = first + (torch.rand((B,), generator=gen) * (last - first + 1).float()).long()
        tail = resp & (pos >= cut[:, None])
        noise = torch.where(suffix[:, None], tail, noise)
        share = tail.sum(1, keepdim=True).float() / resp.sum(1, keepdim=True).clamp_min(1).float()
        t = torch.where(suffix[:, None], share.clamp_min(EPS), t)
    none = ~noise.any(1)
    if none.any():
        first = torch.argmax(resp.int(), 1)
        noise[none, first[none]] = True
    x = torch.where(noise, torch.full_like(ids, bdlm.MASK_ID), ids)
    keys = torch.arange(L)[None, :] < lens[:, None]  # [B,L] real positions
    allowed = keys[:, None, :].expand(B, L, L) | torch.eye(L, dtype=torch.bool)[None]
    h = lm.model(input_ids=x, attention_mask=bdlm.additive(allowed), position_ids=torch.arange(L)[None].expand(B, -1))
    logits = lm.lm_head(h.last_hidden_state[noise])  # [N,V]
    ce = F.cross_entropy(logits.float(), ids[noise], reduction="none")
    w = (1 / t.expand(B, L))[noise] / resp.sum(1, keepdim=True).expand(B, L)[noise]
    return (ce * w).sum() / B


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/models/demo-text-llada")
    ap.add_argument("--tokenizer", default="testdata/models/demo-text", help="directory holding demo-text's tokenizer")
    ap.add_argument("--copy-steps", type=int, default=2000, help="copy tasks only, first")
    ap.add_argument("--read-steps", type=int, default=1500, help="then reading tasks (data.reading_task)")
    ap.add_argument("--steps", type=int, default=6000, help="then the main mix")
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--suffix-pre", type=float, default=0.7, help="copy and reading phases: share of rows masked "
                    "from a random position on (mdm_loss)")
    ap.add_argument("--suffix", type=float, default=0.3, help="main mix: the same share")
    ap.add_argument("--scaffold-frac", type=float, default=0.35)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=0, help="stop the main mix early after this many minutes "
                    "(0: no limit); the cosine schedule is still over --steps")
    ap.add_argument("--snapshot", default="", help="also write the checkpoint here every 500 steps")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(TRAIN_SEED)
    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    enc = train.Encoder(tok, dict(extraction_frac=0.6, aux_frac=0.2, variant_frac=0.3))
    heads = args.hidden // 32
    cfg = lm_config(tok.get_vocab_size(), args.hidden, args.layers, heads, max(1, heads // 2), 512)
    lm = LlamaForCausalLM(cfg).to(torch.float32)
    n_params = sum(p.numel() for p in lm.parameters())
    decay = [p for p in lm.parameters() if p.ndim >= 2]
    no_decay = [p for p in lm.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(TRAIN_SEED)
    r = random.Random(TRAIN_SEED)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "train.log"), "w")
    head = (f"# demo-text-llada: {n_params} parameters, vocab {cfg.vocab_size}, hidden {cfg.hidden_size}, layers "
            f"{cfg.num_hidden_layers}, heads {cfg.num_attention_heads}/{cfg.num_key_value_heads}, full canvas; "
            f"batch {args.batch}, copy steps {args.copy_steps}, read steps {args.read_steps}, steps {args.steps}, "
            f"suffix masks {args.suffix_pre}/{args.suffix}, "
            f"lr {args.lr}, threads {args.threads}\n# step,loss,lr,seconds\n")
    log.write(head)
    print(head, end="", flush=True)
    cur = [0]
    pre = args.copy_steps + args.read_steps

    def phase():
        return "copy" if cur[0] < args.copy_steps else "read" if cur[0] < pre else "main"

    it = batches(enc, r, args.batch, args.scaffold_frac, phase)
    warmup = 100
    total = pre + args.steps
    t0 = time.time()
    ema = None
    lm.train()
    for step in range(total):
        cur[0] = step
        if step >= pre and args.minutes and time.time() - t0 > 60 * args.minutes:
            log.write(f"# stopped at step {step}: --minutes {args.minutes}\n")
            break
        ids, resp, lens = next(it)
        if step < pre:
            lr = args.lr * min(1.0, (step + 1) / warmup)
        else:
            lr = bdlm.cosine_lr(step - pre, args.steps, args.lr, 0)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = mdm_loss(lm, ids, resp, lens, gen, args.suffix_pre if step < pre else args.suffix)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if args.snapshot and step % 500 == 499:
            save(lm, args.tokenizer, args.snapshot)
        if step % 20 == 0 or step == total - 1:
            line = f"{step},{ema:.4f},{lr:.2e},{time.time() - t0:.0f}"
            log.write(line + "\n")
            log.flush()
            print(line, flush=True)
    lm.eval()
    save(lm, args.tokenizer, args.out)
    log.write(f"# done in {time.time() - t0:.0f} s\n")
    log.close()
    print(f"done in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
