#!/usr/bin/env python3
"""Tiny random LLaDA checkpoint and its goldens, from LLaDA's own modeling code.

LLaDA (model_type "llada", GSAI-ML/LLaDA-8B-Instruct) ships its modeling code with the
checkpoint (remote code); there is no class for it in transformers. This script runs
that code itself, not a re-implementation: modeling_llada.py / configuration_llada.py as
NVlabs/Fast-dLLM keeps them in llada/model/ ("Modified from LLaDA repos": LLaDA's file
with the prefix-cache and dual-cache (replace_position) paths added; the forward without
a cache is LLaDA's), Fast-dLLM's llada/generate.py (generate, generate_with_prefix_cache,
generate_with_dual_cache) and ML-GSAI/LLaDA's generate.py (LLaDA's own generate()). The
reference code is not committed here: fetch it and pass its directories.

    git clone https://github.com/NVlabs/Fast-dLLM /work/llada-ref/Fast-dLLM   # read at 24cc59e
    git clone https://github.com/ML-GSAI/LLaDA /work/llada-ref/LLaDA           # read at b7e6c35
    pip install -r tools/reference/requirements-llada.txt
    python3 tools/reference/llada_golden.py \\
        --fastdllm /work/llada-ref/Fast-dLLM/llada --llada /work/llada-ref/LLaDA

At run time the files are copied into a temporary directory (the layout Fast-dLLM's
generate.py imports: model/{__init__,configuration_llada,modeling_llada}.py) and imported
from there; torch.compile (a decorator on the attention) is disabled. No hub access.

Outputs (relative to the repository root):

  testdata/models/tiny-llada/   config.json (LLaDA's keys, model_type llada), model.safetensors
                                (bf16, LLaDA's tensor names), generation_config.json, tokenizer
                                (make_goldens.py's BPE with <|mdm_mask|> as the mask token)
  testdata/golden/tiny-llada.safetensors
                                input_ids.{0,1}, logits.{0,1} (bidirectional, fp32 from the
                                stored weights), hidden.0.{0..L} (LLaDA's output_hidden_states),
                                logits_native.0 (the same forward natively in bf16)
  testdata/golden/decode/tiny-llada.json
                                greedy decode outputs of the reference generate functions

Deterministic: two runs give byte-identical files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import sys
import tempfile

os.environ["TORCH_COMPILE_DISABLE"] = "1"  # modeling_llada.py decorates SDPA with torch.compile

import torch  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_goldens as mg  # noqa: E402

ROOT = mg.ROOT
NAME = "tiny-llada"
MODEL_DIR = os.path.join(mg.MODELS_DIR, NAME)
SEED = 1006
MASK_TOKEN = "<|mdm_mask|>"  # LLaDA's mask token (id 126336 in LLaDA-8B)
MASK_ID = mg.MASK_ID  # 1571: the tokenizer's last token
PROMPT_VOCAB = mg.BPE_SIZE  # prompts use learned tokens only
FRAGILE = 1e-4  # a decision margin below this marks a decode case fragile

# LLaDA-8B-Instruct's config.json keys, at tiny sizes. Grouped-query attention (n_kv_heads
# < n_heads) exercises the effective_n_kv_heads path; LLaDA-8B itself is MHA (32/32).
CONFIG = {
    "activation_type": "silu",
    "alibi": False,
    "alibi_bias_max": 8.0,
    "architectures": ["LLaDAModelLM"],
    "attention_dropout": 0.0,
    "attention_layer_norm": False,
    "attention_layer_norm_with_affine": True,
    "auto_map": {
        "AutoConfig": "configuration_llada.LLaDAConfig",
        "AutoModel": "modeling_llada.LLaDAModelLM",
        "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
    },
    "bias_for_layer_norm": False,
    "block_group_size": 1,
    "block_type": "llama",
    "d_model": 48,
    "embedding_dropout": 0.0,
    "embedding_size": mg.VOCAB_SIZE,  # 1600 rows; vocab_size 1572 tokens
    "eos_token_id": mg.ENDOFTEXT_ID,
    "flash_attention": False,
    "include_bias": False,
    "include_qkv_bias": False,
    "init_cutoff_factor": None,
    "init_device": "cpu",
    "init_fn": "mitchell",
    "init_std": 0.02,
    "input_emb_norm": False,
    "layer_norm_type": "rms",
    "layer_norm_with_affine": True,
    "mask_token_id": MASK_ID,
    "max_sequence_length": 256,
    "mlp_hidden_size": 128,
    "mlp_ratio": 4,
    "model_type": "llada",
    "multi_query_attention": None,
    "n_heads": 4,
    "n_kv_heads": 2,
    "n_layers": 2,
    "pad_token_id": mg.ENDOFTEXT_ID,
    "precision": "amp_bf16",
    "residual_dropout": 0.0,
    "rms_norm_eps": 1e-05,
    "rope": True,
    "rope_full_precision": True,
    "rope_theta": 500000.0,
    "scale_logits": False,
    "torch_dtype": "bfloat16",
    "use_cache": False,
    "vocab_size": mg.TOKENIZER_SIZE,
    "weight_tying": False,
}


# --------------------------------------------------------------------------------------
# The reference code
# --------------------------------------------------------------------------------------


class Ref:
    """LLaDA's modeling code and both generate.py files, imported from a temp dir."""

    def __init__(self, fastdllm: str, llada: str):
        self.tmp = tempfile.mkdtemp(prefix="llada-ref-")
        os.makedirs(os.path.join(self.tmp, "model"))
        for f in ("__init__.py", "configuration_llada.py", "modeling_llada.py"):
            shutil.copy(os.path.join(fastdllm, "model", f), os.path.join(self.tmp, "model", f))
        shutil.copy(os.path.join(fastdllm, "generate.py"), os.path.join(self.tmp, "fastdllm_generate.py"))
        shutil.copy(os.path.join(llada, "generate.py"), os.path.join(self.tmp, "llada_generate.py"))
        sys.path.insert(0, self.tmp)
        self.cfgmod = importlib.import_module("model.configuration_llada")
        self.modeling = importlib.import_module("model.modeling_llada")
        self.fgen = importlib.import_module("fastdllm_generate")
        self.lgen = importlib.import_module("llada_generate")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, raw: dict):
        cfg = self.cfgmod.LLaDAConfig(**{k: v for k, v in raw.items() if k not in ("auto_map", "torch_dtype")})
        # transformers 5 compatibility: PretrainedConfig no longer keeps use_cache; the
        # wrapper's forward reads it.
        cfg.use_cache = False
        return cfg

    def model(self, raw: dict):
        m = self.modeling.LLaDAModelLM(self.config(raw), init_params=False)
        return m.eval()


# --------------------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------------------


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int) -> None:
    """make_goldens.py's scheme: matrices N(0, 0.05^2), the embedding N(0, 0.2^2), the
    output head (transformer.ff_out) N(0, 0.15^2), norm weights 1 + N(0, 0.1^2)."""
    g = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    for name in sorted(params):
        p = params[name]
        if name.endswith("norm.weight") or name.endswith("ln_f.weight"):
            v = 1.0 + 0.1 * torch.randn(p.shape, generator=g)
        elif name.endswith("transformer.wte.weight"):
            v = 0.2 * torch.randn(p.shape, generator=g)
        elif name.endswith("transformer.ff_out.weight"):
            v = 0.15 * torch.randn(p.shape, generator=g)
        else:
            v = 0.05 * torch.randn(p.shape, generator=g)
        p.copy_(v.to(p.dtype))


def write_checkpoint(ref: Ref) -> None:
    if os.path.isdir(MODEL_DIR):
        shutil.rmtree(MODEL_DIR)
    os.makedirs(MODEL_DIR)
    torch.manual_seed(SEED)
    model = ref.model(CONFIG)
    randomize(model, SEED)
    sd = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    names = sorted(sd)
    assert "model.transformer.ff_out.weight" in names and "model.transformer.wte.weight" in names, names
    path = os.path.join(MODEL_DIR, "model.safetensors")
    save_file(sd, path, metadata={"format": "pt"})
    mg.canonicalize_header(path)
    cfg = dict(CONFIG, transformers_version=transformers.__version__)
    mg.write_json(os.path.join(MODEL_DIR, "config.json"), cfg)
    mg.write_json(os.path.join(MODEL_DIR, "generation_config.json"),
                  {"bos_token_id": mg.ENDOFTEXT_ID, "eos_token_id": [mg.IM_END_ID, mg.ENDOFTEXT_ID],
                   "pad_token_id": mg.ENDOFTEXT_ID})
    mg.write_tokenizer(MODEL_DIR, MASK_TOKEN)


def load_reference(ref: Ref, dtype: torch.dtype = torch.float32):
    """The stored checkpoint as LLaDA's code loads it, upcast to fp32 (or kept in bf16)."""
    with open(os.path.join(MODEL_DIR, "config.json"), encoding="utf-8") as f:
        raw = json.load(f)
    model = ref.model(raw)
    model = model.to(dtype)
    sd = {k: v.to(dtype) for k, v in load_file(os.path.join(MODEL_DIR, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(sd, strict=True)
    assert not missing and not unexpected
    for n, p in model.named_parameters():
        assert p.dtype == dtype, n
    return model


# --------------------------------------------------------------------------------------
# Logit goldens
# --------------------------------------------------------------------------------------


@torch.no_grad()
def logit_goldens(model, native) -> dict:
    g = torch.Generator().manual_seed(SEED + 7)
    seq0 = torch.randint(0, MASK_ID, (20,), generator=g, dtype=torch.int64)
    prompt = torch.randint(0, PROMPT_VOCAB, (8,), generator=g, dtype=torch.int64)
    seq1 = torch.cat([prompt, torch.full((16,), MASK_ID, dtype=torch.int64)])  # a decoding canvas
    tensors, stats = {}, {}
    for i, ids in enumerate((seq0, seq1)):
        out = model(input_ids=ids[None], output_hidden_states=True)
        lg = out.logits[0].float()
        tensors[f"input_ids.{i}"] = ids.contiguous()
        tensors[f"logits.{i}"] = lg.contiguous()
        # All-ones attention_mask is the same forward (the reference drops it).
        lg1 = model(input_ids=ids[None], attention_mask=torch.ones(1, len(ids), dtype=torch.int64)).logits[0]
        assert torch.equal(lg1, lg)
        # Bidirectional: the first row's logits change when the last token does.
        alt = ids.clone()
        alt[-1] = (alt[-1] + 1) % MASK_ID
        d = (model(input_ids=alt[None]).logits[0, 0] - lg[0]).abs().max().item()
        stats[f"seq {i}: max|row 0 change when the last token changes|"] = d
        assert d > 1e-4, "attention is not bidirectional"
        stats[f"seq {i}: logits std"] = lg.std().item()
        if i == 0:
            # LLaDA's code run natively in bf16 (PyTorch CPU): the bound for the
            # engine's packed bf16 path.
            nat = native(input_ids=ids[None]).logits[0].float()
            tensors["logits_native.0"] = nat.contiguous()
            stats["seq 0: max|native bf16 - fp32|"] = (nat - lg).abs().max().item()
            hs = out.hidden_states
            assert len(hs) == CONFIG["n_layers"] + 1
            for l, h in enumerate(hs):
                tensors[f"hidden.0.{l}"] = h[0].float().contiguous()
    meta = {
        "model": NAME,
        "mask_token_id": str(MASK_ID),
        "vocab_size": str(mg.VOCAB_SIZE),
        "dtype": "bfloat16",
        "compute_dtype": "float32",
        "attention": "bidirectional (LLaDA's forward: SDPA with no mask)",
        "hidden_states": "hidden.0.0 = token embeddings; hidden.0.i = output of block i for i < L; "
        "hidden.0.L = output of block L AFTER ln_f",
        "reference": "NVlabs/Fast-dLLM llada/model/modeling_llada.py (LLaDA's modeling code)",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
    }
    out = os.path.join(mg.GOLDEN_DIR, f"{NAME}.safetensors")
    save_file(tensors, out, metadata=meta)
    mg.canonicalize_header(out)
    with safe_open(out, "pt") as f:
        assert f.metadata() == meta
    return stats


# --------------------------------------------------------------------------------------
# Decode goldens
# --------------------------------------------------------------------------------------


class Margins:
    """Wraps Fast-dLLM's get_transfer_index to record how close each decision was.

    argmax: smallest top1 - top2 logit gap at a committed position; select: smallest gap
    in log confidence between the last committed and the first uncommitted position
    (static top-k), or between a confidence and the threshold (the confidences of a
    random model are small, so log space is where fp32 noise of ~1e-5 on logits shows); renorm: whether committing with the mask
    token excluded from the softmax (as the engine does) would choose other positions;
    mask: whether a committed token was the mask id itself (the engine never emits it).
    """

    def __init__(self, fgen):
        self.fgen, self.orig = fgen, fgen.get_transfer_index
        self.reset()

    def reset(self):
        self.argmax, self.select, self.renorm, self.mask = float("inf"), float("inf"), False, False

    def __enter__(self):
        def wrapped(logits, temperature, remasking, mask_index, x, num_transfer_tokens, threshold=None):
            x0, transfer = self.orig(logits, temperature, remasking, mask_index, x, num_transfer_tokens, threshold)
            self.observe(logits[0].double(), mask_index[0], transfer[0], x0[0], num_transfer_tokens, threshold)
            return x0, transfer

        self.fgen.get_transfer_index = wrapped
        return self

    def __exit__(self, *exc):
        self.fgen.get_transfer_index = self.orig

    def observe(self, logits, masked, transfer, x0, k, threshold):
        top2 = logits.topk(2, dim=-1)
        gaps = (top2.values[:, 0] - top2.values[:, 1])[transfer]
        if gaps.numel():
            self.argmax = min(self.argmax, gaps.min().item())
        if bool((x0[transfer] == MASK_ID).any()):
            self.mask = True
        p = torch.softmax(logits, dim=-1)
        conf = p.gather(-1, logits.argmax(-1, keepdim=True))[:, 0]
        masked_conf = conf[masked]
        if threshold is None:
            kk = int(k[0])
            srt = masked_conf.sort(descending=True).values
            if 0 < kk < srt.numel():
                self.select = min(self.select, (srt[kk - 1].log() - srt[kk].log()).item())
        else:
            srt = masked_conf.sort(descending=True).values[1:]  # the first is always committed
            if srt.numel():
                self.select = min(self.select, (srt.log() - math.log(threshold)).abs().min().item())
        # The engine's rule: the mask token never wins the argmax and is left out of the
        # softmax. Flag a case where that changes the transfer set.
        lg = logits.clone()
        lg[:, MASK_ID] = float("-inf")
        x0e = lg.argmax(-1)
        ce = torch.softmax(lg, dim=-1).gather(-1, x0e[:, None])[:, 0]
        ce = torch.where(masked, ce, torch.full_like(ce, float("-inf")))
        n = int(k[0]) if threshold is None else int(masked.sum())
        sel = ce.topk(n).indices
        keep = torch.zeros_like(transfer)
        keep[sel] = True
        if threshold is not None:
            order = sel
            for j in range(1, n):
                if ce[order[j]] < threshold:
                    keep[order[j]] = False
        if not torch.equal(keep, transfer) or not torch.equal(x0e[transfer], x0[transfer]):
            self.renorm = True


def finite(v: float) -> float | None:
    return None if v == float("inf") else v


def make_prompts() -> dict[str, list[int]]:
    g = torch.Generator().manual_seed(4242)
    return {f"p{n}": torch.randint(0, PROMPT_VOCAB, (n,), generator=g, dtype=torch.int64).tolist() for n in (3, 8, 13)}


CACHES = {"none": "generate", "prefix": "generate_with_prefix_cache", "dual": "generate_with_dual_cache"}


def decode_goldens(ref: Ref, model) -> dict:
    prompts = make_prompts()
    # (gen_length, block_length, steps, threshold): steps over the whole generation as
    # LLaDA's generate() takes them (steps // num_blocks per block).
    settings = [
        (24, 8, 24, None),  # one token per step
        (24, 8, 12, None),  # two per step
        (24, 8, 6, None),  # four per step
        (16, 16, 8, None),  # one block
        (24, 8, 24, 0.02),  # Fast-dLLM threshold (v1 rule; confidences of a random model are low)
    ]
    cases = []
    for pname, prompt in prompts.items():
        x = torch.tensor(prompt, dtype=torch.int64)[None]
        for gen, block, steps, tau in settings:
            base = None
            for cache, fn in CACHES.items():
                with Margins(ref.fgen) as mr:
                    out, nfe = getattr(ref.fgen, fn)(model, x, steps=steps, gen_length=gen, block_length=block,
                                                     temperature=0.0, remasking="low_confidence",
                                                     mask_id=MASK_ID, threshold=tau)
                tokens = out[0, len(prompt):].tolist()
                assert MASK_ID not in tokens, (pname, cache, tokens)
                policy = {"kind": "static", "steps": steps // (gen // block)} if tau is None else {"kind": "threshold", "tau": tau}
                c = {
                    "name": f"{pname}_g{gen}_b{block}_" + (f"s{steps}" if tau is None else f"t{tau}") + f"_{cache}",
                    "prompt": prompt, "gen_length": gen, "block_length": block, "steps": steps,
                    "policy": policy, "cache": cache, "output": tokens, "forwards": nfe,
                    "margins": {"argmax": finite(mr.argmax), "select": finite(mr.select)},
                    "mask_renorm_differs": mr.renorm, "mask_committed": mr.mask,
                }
                c["fragile"] = mr.argmax < FRAGILE or mr.select < FRAGILE or mr.renorm or mr.mask
                if cache == "none":
                    base = tokens
                    if tau is None:  # LLaDA's own generate() (ML-GSAI/LLaDA) must agree
                        lo = ref.lgen.generate(model, x, steps=steps, gen_length=gen, block_length=block,
                                               temperature=0.0, remasking="low_confidence", mask_id=MASK_ID)
                        c["llada_generate_agrees"] = lo[0, len(prompt):].tolist() == tokens
                else:
                    c["agree_with_no_cache"] = sum(a == b for a, b in zip(tokens, base))
                cases.append(c)
    return {
        "model": NAME,
        "mask_token_id": MASK_ID,
        "reference": "NVlabs/Fast-dLLM llada/generate.py (generate, generate_with_prefix_cache, "
        "generate_with_dual_cache) on its llada/model/modeling_llada.py; no-cache static cases also "
        "through ML-GSAI/LLaDA generate.py generate()",
        "temperature": 0.0,
        "remasking": "low_confidence",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "cases": cases,
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fastdllm", required=True, help="Fast-dLLM's llada/ directory (generate.py, model/)")
    ap.add_argument("--llada", required=True, help="ML-GSAI/LLaDA checkout (generate.py)")
    args = ap.parse_args(argv)
    ref = Ref(args.fastdllm, args.llada)
    try:
        print(f"torch {torch.__version__}, transformers {transformers.__version__}")
        write_checkpoint(ref)
        model = load_reference(ref)
        for k, v in logit_goldens(model, load_reference(ref, torch.bfloat16)).items():
            print(f"  {k}: {v:.6g}")
        doc = decode_goldens(ref, model)
    finally:
        ref.close()
    os.makedirs(os.path.join(mg.GOLDEN_DIR, "decode"), exist_ok=True)
    mg.write_json(os.path.join(mg.GOLDEN_DIR, "decode", f"{NAME}.json"), doc)
    for c in doc["cases"]:
        extra = f" agree={c['agree_with_no_cache']}/{c['gen_length']}" if "agree_with_no_cache" in c else ""
        if "llada_generate_agrees" in c:
            extra += f" llada_generate={'same' if c['llada_generate_agrees'] else 'DIFFERS'}"
        print(f"  {c['name']}: nfe={c['forwards']} margins={c['margins']}{extra}" + (" FRAGILE" if c["fragile"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
