#!/usr/bin/env python3
"""Write tiny random Hugging Face checkpoints and their golden outputs.

Outputs (relative to the repository root):

  testdata/models/<name>/   config.json, generation_config.json, tokenizer.json,
                            tokenizer_config.json, safetensors weights (+ index when sharded)
  testdata/golden/<name>.safetensors
                            input_ids, logits.{causal,bidirectional,block_causal},
                            hidden.causal.{0..L}, and for bf16/fp16 checkpoints
                            logits_native.causal

Everything is random with fixed seeds, and the script is deterministic: running it
twice gives byte-identical files.

Usage (from the repository root):

    pip install -r tools/reference/requirements.txt
    python3 tools/reference/make_goldens.py            # all models
    python3 tools/reference/make_goldens.py tiny-sdar  # only some

See testdata/golden/README.md for the file contract.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import sys
from dataclasses import dataclass, field

import torch

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    GenerationConfig,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS_DIR = os.path.join(ROOT, "testdata", "models")
GOLDEN_DIR = os.path.join(ROOT, "testdata", "golden")

SEQ_LEN = 37  # deliberately not a multiple of any block size used here
DEFAULT_BLOCK = 4  # block size used for the block-causal golden of plain Qwen models

# Tokenizer: BPE_SIZE learned tokens (256 bytes + merges), then 4 special tokens.
BPE_SIZE = 1568
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # + the model's mask token, last
TOKENIZER_SIZE = BPE_SIZE + len(SPECIALS) + 1  # 1572
VOCAB_SIZE = (TOKENIZER_SIZE + 63) // 64 * 64  # 1600: embedding rows, like real Qwen > tokenizer
ENDOFTEXT_ID = BPE_SIZE
IM_START_ID = BPE_SIZE + 1
IM_END_ID = BPE_SIZE + 2
MASK_ID = BPE_SIZE + 3

QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# ChatML template with the structure of Qwen2.5's (default system prompt when none is
# given; no tool-calling branches).
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (loop.first and message['role'] == 'system') %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


# --------------------------------------------------------------------------------------
# Corpus and tokenizer
# --------------------------------------------------------------------------------------

_NAMES = (
    "Alice Bob Carol David Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy "
    "Rupert Sybil Trent Victor Walter Yusuf Zara Amara Bruno Chen Dmitri Elena Fatima "
    "Goran Hiro Ingrid Jonas Kenji Lucia Mateo Nadia Oskar Priya Quentin Rosa Sven"
).split()
_DEVICES = (
    "laptop phone tablet router printer monitor keyboard headset camera speaker "
    "microphone charger server switch sensor thermostat drone watch scanner projector"
).split()
_ITEMS = (
    "coffee beans notebooks pencils batteries cables chairs desks lamps blankets "
    "apples oranges bread cheese tickets books shoes jackets umbrellas bottles"
).split()
_CITIES = (
    "Paris Berlin Madrid Lisbon Oslo Vienna Prague Dublin Warsaw Athens Tokyo Seoul "
    "Toronto Chicago Denver Austin Boston Sydney Nairobi Lagos"
).split()
_VERBS = (
    "ordered shipped returned repaired installed configured replaced cancelled "
    "delivered packed scanned tested upgraded charged reset paired"
).split()
_ADJ = (
    "new old broken quiet fast slow cheap expensive heavy light bright dark "
    "reliable noisy small large wireless portable"
).split()
_STATUS = "pending shipped delivered cancelled refunded processing delayed".split()
_SENTENCES = [
    "{n} {v} {k} {a} {i} from the store in {c}.",
    "Order #{num} for {n}: {k} x {i}, total {price} EUR, status {s}.",
    "The {a} {d} that {n} {v} last week stopped working on {day}.",
    "{n} lives in {c} and works with {n2} on the {d} project.",
    "Please check whether the {d} in room {num} is {a} or not.",
    "Customer {n} wrote: \"My {d} is {a}, can you help me?\"",
    "Shipment {num} left {c} at {h}:{m} and should arrive in {c2} on {day}.",
    "We {v} {k} {d}s for {n2}'s team, and they're happy with them.",
    "I've told {n} that the {i} will be {s} tomorrow; she'll call back.",
    "Q: How many {i} did {n} buy? A: {k}.",
]
_WORDS = (
    "the of and to in is was for on are with as his they be at one have this from or had by "
    "word but what some we can out other were all there when up use your how said an each she "
    "which do their time if will way about many then them write would like so these her long "
    "make thing see him two has look more day could go come did number sound no most people my "
    "over know water than call first who may down side been now find any new work part take get "
    "place made live where after back little only round man year came show every good me give "
    "our under name very through just form sentence great think say help low line differ turn "
    "cause much mean before move right boy old too same tell does set three want air well also "
    "play small end put home read hand port large spell add even land here must big high such "
    "follow act why ask men change went light kind off need house picture try us again animal "
    "point mother world near build self earth father head stand own page should country found "
    "answer school grow study still learn plant cover food sun four between state keep eye never "
    "last let thought city tree cross farm hard start might story saw far sea draw left late run "
    "while press close night real life few north open seem together next white children begin "
    "walk example ease paper group always music those both mark often letter until mile river "
    "car feet care second enough plain girl usual young ready above ever red list though feel "
    "talk bird soon body dog family direct pose leave song measure door product black short "
    "numeral class wind question happen complete ship area half rock order fire south problem "
    "piece told knew pass since top whole king space heard best hour better true during hundred "
    "five remember step early hold west ground interest reach fast verb sing listen six table "
    "travel less morning ten simple several vowel toward war lay against pattern slow center "
    "love person money serve appear road map rain rule govern pull cold notice voice unit power "
    "town fine certain fly fall lead cry dark machine note wait plan figure star box noun field "
    "rest correct able pound done beauty drive stood contain front teach week final gave green "
    "quick develop ocean warm free minute strong special mind behind clear tail produce fact "
    "street inch multiply nothing course stay wheel full force blue object decide surface deep "
    "moon island foot system busy test record boat common gold possible plane stead dry wonder "
    "laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes "
    "distant fill east paint language among invoice payment account address delivery battery "
    "firmware update warranty customer support schedule meeting report budget quarter revenue "
    "network password session message request response server client database query"
).split()
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_CODE = [
    "def total(order):\n    return sum(item.price * item.qty for item in order.items)\n",
    "for i in range(10):\n    print(i, i * i)\n",
    "if device.status == 'offline':\n    device.reset()\n",
    "func Add(a, b int) int {\n\treturn a + b\n}\n",
    "SELECT name, city FROM people WHERE age > 30 ORDER BY name;\n",
    '{"order_id": 1042, "customer": "Alice", "items": [{"sku": "A-17", "qty": 2}]}\n',
    "class Device:\n    def __init__(self, name):\n        self.name = name\n",
    "x = [n for n in numbers if n % 2 == 0]\n",
    "const user = { name: \"Bob\", city: \"Oslo\" };\nconsole.log(user.name);\n",
    "while queue:\n    job = queue.pop(0)\n    job.run()\n",
]


def build_corpus(seed: int = 20240601, lines: int = 4000) -> list[str]:
    """A small deterministic corpus: English sentences, numbers and code."""
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        r = rng.random()
        if r < 0.12:
            out.append(rng.choice(_CODE))
            continue
        if r < 0.18:
            out.append(" ".join(str(rng.randint(0, 99999)) for _ in range(rng.randint(2, 6))))
            continue
        if r < 0.55:
            ws = [rng.choice(_WORDS) for _ in range(rng.randint(5, 14))]
            ws[0] = ws[0].capitalize()
            out.append(" ".join(ws) + rng.choice([".", ".", ",", "?", "!", ";"]))
            continue
        t = rng.choice(_SENTENCES)
        out.append(
            t.format(
                n=rng.choice(_NAMES),
                n2=rng.choice(_NAMES),
                v=rng.choice(_VERBS),
                k=rng.randint(1, 12),
                a=rng.choice(_ADJ),
                i=rng.choice(_ITEMS),
                d=rng.choice(_DEVICES),
                c=rng.choice(_CITIES),
                c2=rng.choice(_CITIES),
                num=rng.randint(100, 99999),
                price=f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}",
                s=rng.choice(_STATUS),
                day=rng.choice(_DAYS),
                h=f"{rng.randint(0, 23):02d}",
                m=f"{rng.randint(0, 59):02d}",
            )
        )
    return out


_BASE_TOKENIZER_JSON: str | None = None


def base_tokenizer_json() -> str:
    """Train the shared byte-level BPE (no special tokens yet); cached per process."""
    global _BASE_TOKENIZER_JSON
    if _BASE_TOKENIZER_JSON is not None:
        return _BASE_TOKENIZER_JSON
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_SIZE,
        min_frequency=1,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(build_corpus(), trainer=trainer)
    got = tok.get_vocab_size(with_added_tokens=False)
    if got != BPE_SIZE:
        raise SystemExit(f"BPE trained to {got} tokens, want {BPE_SIZE}: enlarge the corpus")
    _BASE_TOKENIZER_JSON = tok.to_str()
    return _BASE_TOKENIZER_JSON


def make_tokenizer(mask_token: str) -> Tokenizer:
    tok = Tokenizer.from_str(base_tokenizer_json())
    tok.add_special_tokens(
        [AddedToken(s, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
         for s in SPECIALS + [mask_token]]
    )
    assert tok.token_to_id(mask_token) == MASK_ID, tok.token_to_id(mask_token)
    assert tok.token_to_id("<|im_end|>") == IM_END_ID
    assert tok.get_vocab_size(with_added_tokens=True) == TOKENIZER_SIZE
    return tok


def write_tokenizer(out_dir: str, mask_token: str) -> Tokenizer:
    tok = make_tokenizer(mask_token)
    # Match the field values of Qwen2.5's tokenizer.json where the Python API uses other
    # defaults (the ByteLevel decoder's flags do not change decoding).
    j = json.loads(tok.to_str())
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    text = json.dumps(j, ensure_ascii=False, indent=2) + "\n"
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(text)
    tok = Tokenizer.from_str(text)

    added = {}
    for i, s in enumerate(SPECIALS + [mask_token]):
        added[str(BPE_SIZE + i)] = {
            "content": s,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>", mask_token],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "mask_token": mask_token,
        "model_max_length": 2048,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    write_json(os.path.join(out_dir, "tokenizer_config.json"), cfg)
    return tok


# --------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------


@dataclass
class Spec:
    name: str
    arch: str  # "qwen2" or "qwen3"
    seed: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    tied: bool
    store_dtype: torch.dtype
    rope_theta: float
    mask_token: str
    block_size: int = DEFAULT_BLOCK
    head_dim: int | None = None
    shard: str | None = None  # max_shard_size for save_pretrained
    config_edit: dict = field(default_factory=dict)  # keys set/overridden in config.json
    config_eos: int = IM_END_ID
    gen_eos: int | list[int] = IM_END_ID


SPECS = [
    Spec("tiny-qwen2", "qwen2", seed=1001, hidden=128, layers=2, heads=4, kv_heads=2, intermediate=256,
         tied=True, store_dtype=torch.float32, rope_theta=10000.0, mask_token="|<MASK>|"),
    Spec("tiny-qwen3", "qwen3", seed=1002, hidden=192, layers=3, heads=8, kv_heads=2, intermediate=384,
         head_dim=32, tied=False, store_dtype=torch.float32, rope_theta=1000000.0, mask_token="<|MASK|>",
         gen_eos=[IM_END_ID, ENDOFTEXT_ID]),
    Spec("tiny-qwen3-bf16", "qwen3", seed=1003, hidden=192, layers=3, heads=8, kv_heads=2, intermediate=384,
         head_dim=32, tied=False, store_dtype=torch.bfloat16, rope_theta=1000000.0, mask_token="<|MASK|>",
         gen_eos=[IM_END_ID, ENDOFTEXT_ID]),
    Spec("tiny-sdar", "qwen3", seed=1004, hidden=256, layers=4, heads=8, kv_heads=4, intermediate=512,
         head_dim=32, tied=False, store_dtype=torch.bfloat16, rope_theta=1000000.0, mask_token="<|MASK|>",
         block_size=4, shard="4MB",
         config_edit={"model_type": "sdar", "architectures": ["SDARForCausalLM"], "block_size": 4,
                      "mask_token_id": MASK_ID},
         config_eos=ENDOFTEXT_ID, gen_eos=[IM_END_ID, ENDOFTEXT_ID]),
    Spec("tiny-fastdllm", "qwen2", seed=1005, hidden=128, layers=2, heads=4, kv_heads=2, intermediate=256,
         tied=True, store_dtype=torch.float16, rope_theta=1000000.0, mask_token="|<MASK>|", block_size=8,
         config_edit={"model_type": "Fast_dLLM_Qwen", "architectures": ["Fast_dLLM_QwenForCausalLM"],
                      "bd_size": 8}),
]


def hf_classes(arch: str):
    return (Qwen2Config, Qwen2ForCausalLM) if arch == "qwen2" else (Qwen3Config, Qwen3ForCausalLM)


def build_config(spec: Spec):
    cfg_cls, _ = hf_classes(spec.arch)
    kw = dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        hidden_act="silu",
        max_position_embeddings=2048,
        rms_norm_eps=1e-6,
        tie_word_embeddings=spec.tied,
        rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        bos_token_id=ENDOFTEXT_ID,
        eos_token_id=spec.config_eos,
        pad_token_id=ENDOFTEXT_ID,
        use_sliding_window=False,
        attention_dropout=0.0,
        initializer_range=0.02,
    )
    if spec.head_dim is not None:
        kw["head_dim"] = spec.head_dim
    return cfg_cls(**kw)


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int) -> None:
    """Fill every parameter from one seeded generator, in sorted-name order.

    Matrices: N(0, 0.05^2); embeddings N(0, 0.2^2); an untied lm_head N(0, 0.15^2);
    norm weights: 1 + N(0, 0.1^2); biases: N(0, 0.1^2).
    """
    g = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())  # tied lm_head appears once (as embed_tokens)
    for name in sorted(params):
        p = params[name]
        if name.endswith("norm.weight"):
            v = 1.0 + 0.1 * torch.randn(p.shape, generator=g)
        elif name.endswith(".bias"):
            v = 0.1 * torch.randn(p.shape, generator=g)
        elif "embed_tokens" in name:
            v = 0.2 * torch.randn(p.shape, generator=g)
        elif name.startswith("lm_head"):
            v = 0.15 * torch.randn(p.shape, generator=g)
        else:
            v = 0.05 * torch.randn(p.shape, generator=g)
        p.copy_(v.to(p.dtype))


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def write_checkpoint(spec: Spec) -> str:
    out = os.path.join(MODELS_DIR, spec.name)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    torch.manual_seed(spec.seed)
    config = build_config(spec)
    _, model_cls = hf_classes(spec.arch)
    model = model_cls(config).to(torch.float32).eval()
    randomize(model, spec.seed)
    model = model.to(spec.store_dtype)
    model.generation_config = GenerationConfig(
        bos_token_id=ENDOFTEXT_ID, eos_token_id=spec.gen_eos, pad_token_id=ENDOFTEXT_ID
    )
    kw = {"safe_serialization": True}
    if spec.shard:
        kw["max_shard_size"] = spec.shard
    model.save_pretrained(out, **kw)

    # Edit config.json: non-standard model types keep the stock weights and tensor names.
    cpath = os.path.join(out, "config.json")
    with open(cpath, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg.update(spec.config_edit)
    # Real Qwen checkpoints written by transformers 4.x carry these two keys at the top
    # level; transformers 5 writes "dtype" and "rope_parameters" instead. Keep both forms
    # so loaders written against either see what they expect.
    cfg.setdefault("rope_theta", spec.rope_theta)
    cfg.setdefault("torch_dtype", cfg.get("dtype"))
    write_json(cpath, cfg)

    write_tokenizer(out, spec.mask_token)

    # Sanity: tied checkpoints store no lm_head; sharded ones have an index.
    names = []
    for fn in sorted(os.listdir(out)):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(out, fn), "pt") as f:
                for k in f.keys():
                    names.append(k)
                    assert f.get_slice(k).get_dtype() == {torch.float32: "F32", torch.bfloat16: "BF16",
                                                         torch.float16: "F16"}[spec.store_dtype]
    assert ("lm_head.weight" in names) == (not spec.tied), (spec.name, "lm_head")
    if spec.shard:
        assert os.path.exists(os.path.join(out, "model.safetensors.index.json")), "not sharded"
        assert sum(fn.endswith(".safetensors") for fn in os.listdir(out)) >= 2
    return out


# --------------------------------------------------------------------------------------
# Goldens
# --------------------------------------------------------------------------------------


def additive_mask(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[T,T] bool (True = query row may see key column) -> [1,1,T,T] additive float mask."""
    m = torch.zeros(allowed.shape, dtype=dtype)
    m.masked_fill_(~allowed, torch.finfo(dtype).min)
    return m[None, None].contiguous()


def mask_patterns(T: int, B: int) -> dict[str, torch.Tensor]:
    q = torch.arange(T)[:, None]
    k = torch.arange(T)[None, :]
    return {
        "causal": k <= q,
        "bidirectional": torch.ones(T, T, dtype=torch.bool),
        "block_causal": (q // B) >= (k // B),
    }


def load(spec: Spec, path: str, dtype: torch.dtype, attn: str = "eager"):
    cfg_cls, model_cls = hf_classes(spec.arch)
    # The edited model_type is not one transformers knows; build the stock config from
    # config.json's fields directly so the stored weights load into the stock class.
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        raw = json.load(f)
    for k in ("model_type", "architectures", "transformers_version", "torch_dtype", "dtype"):
        raw.pop(k, None)
    for k in spec.config_edit:
        raw.pop(k, None)
    config = cfg_cls(**raw)
    model = model_cls.from_pretrained(path, config=config, dtype=dtype, attn_implementation=attn)
    model.eval()
    for n, p in model.named_parameters():
        assert p.dtype == dtype, (n, p.dtype)
    return model


@torch.no_grad()
def forward(model, ids: torch.Tensor, mask: torch.Tensor | None, hidden: bool = False):
    out = model(input_ids=ids[None], attention_mask=mask, use_cache=False, output_hidden_states=hidden)
    return out


def golden(spec: Spec, path: str) -> dict:
    T, B = SEQ_LEN, spec.block_size
    g = torch.Generator().manual_seed(spec.seed + 7)
    # Random ids over the tokenizer's vocabulary except the mask id (the last id).
    ids = torch.randint(0, MASK_ID, (T,), generator=g, dtype=torch.int64)
    assert int(ids.max()) < MASK_ID

    model = load(spec, path, torch.float32)
    pats = mask_patterns(T, B)
    tensors: dict[str, torch.Tensor] = {"input_ids": ids.contiguous()}
    stats = {}

    stock = forward(model, ids, None, hidden=True)
    causal = stock.logits[0].float()
    tensors["logits.causal"] = causal.contiguous()
    hs = stock.hidden_states
    L = spec.layers
    assert len(hs) == L + 1, (len(hs), L)
    for i, h in enumerate(hs):
        tensors[f"hidden.causal.{i}"] = h[0].float().contiguous()

    # Pin down what HF puts in the hidden states: [0] = embeddings, [L] = final-norm output.
    emb = model.model.embed_tokens(ids[None])[0]
    assert torch.equal(hs[0][0], emb), "hidden_states[0] is not the embedding output"
    lm = model.lm_head(hs[L][0])
    assert torch.allclose(lm, causal, atol=1e-5, rtol=0), "hidden_states[L] is not the normed output"

    via_mask = forward(model, ids, additive_mask(pats["causal"], torch.float32)).logits[0]
    d = (via_mask - causal).abs().max().item()
    stats["max|causal(4D mask) - causal(stock)|"] = d
    assert d <= 1e-6, f"{spec.name}: 4-D causal mask disagrees with the stock causal path by {d}"

    for kind in ("bidirectional", "block_causal"):
        lg = forward(model, ids, additive_mask(pats[kind], torch.float32)).logits[0].float()
        tensors[f"logits.{kind}"] = lg.contiguous()
        d = (lg - causal).abs().max().item()
        stats[f"max|{kind} - causal|"] = d
        assert d > 1e-2, f"{spec.name}: {kind} logits barely differ from causal ({d})"
    d = (tensors["logits.bidirectional"] - tensors["logits.block_causal"]).abs().max().item()
    stats["max|bidirectional - block_causal|"] = d
    assert d > 1e-2

    # Cross-check with the SDPA attention path (same masks, as 4-D float and as 4-D bool).
    # Note: the eager path ADDS the mask, so a bool 4-D mask there is silently wrong.
    smodel = load(spec, path, torch.float32, attn="sdpa")
    worst = 0.0
    for kind, allowed in pats.items():
        for m in (additive_mask(allowed, torch.float32), allowed[None, None]):
            lg = forward(smodel, ids, m).logits[0]
            worst = max(worst, (lg - tensors[f"logits.{kind}"]).abs().max().item())
    stats["max|sdpa - eager| (3 masks, float+bool)"] = worst
    assert worst <= 1e-4, f"{spec.name}: sdpa and eager disagree by {worst}"
    del smodel

    # The logits must not be flat: report the spread and the argmax variety.
    stats["logits.causal std"] = causal.std().item()
    stats["distinct argmax (causal)"] = int(causal.argmax(-1).unique().numel())
    assert causal.std().item() > 0.1, "logits are nearly flat"

    meta = {
        "block_size": str(B),
        "model": spec.name,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[spec.store_dtype],
        "compute_dtype": "float32",
        "seq_len": str(T),
        "vocab_size": str(VOCAB_SIZE),
        "mask_token_id": str(MASK_ID),
        "hidden_states": "hidden.causal.0 = token embeddings; hidden.causal.i = output of layer i "
        "for i < L; hidden.causal.L = output of layer L AFTER the final RMSNorm",
        "mask_fill": "additive float mask: 0 allowed, finfo(float32).min blocked; eager attention",
    }

    if spec.store_dtype != torch.float32:
        native_dtype = spec.store_dtype
        try:
            nmodel = load(spec, path, native_dtype)
            nat = forward(nmodel, ids, None).logits[0].float()
            tensors["logits_native.causal"] = nat.contiguous()
            d = (nat - causal).abs().max().item()
            stats[f"max|native {meta['dtype']} - fp32 causal|"] = d
            meta["native_dtype"] = meta["dtype"]
            del nmodel
        except (RuntimeError, NotImplementedError) as e:  # e.g. fp16 matmul unsupported on CPU
            stats["native"] = f"skipped: {e}"

    out = os.path.join(GOLDEN_DIR, f"{spec.name}.safetensors")
    save_file(tensors, out, metadata=meta)
    canonicalize_header(out)
    with safe_open(out, "pt") as f:
        assert f.metadata() == meta
        for k, v in tensors.items():
            assert torch.equal(f.get_tensor(k), v), k
    return stats


def canonicalize_header(path: str) -> None:
    """Rewrite a safetensors header with a fixed key order.

    safetensors keeps __metadata__ in a hash map, so its key order (and the file's bytes)
    changes from run to run. The tensor data and offsets are untouched: only the JSON
    header is re-serialized (metadata keys sorted, tensors in data order) and padded with
    spaces to a multiple of 8 bytes, as the format requires.
    """
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8 : 8 + n])
    data = buf[8 + n :]
    meta = header.pop("__metadata__", None)
    ordered = {}
    if meta is not None:
        ordered["__metadata__"] = dict(sorted(meta.items()))
    for k in sorted(header, key=lambda k: (header[k]["data_offsets"][0], k)):
        ordered[k] = header[k]
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="models to write (default: all)")
    args = ap.parse_args(argv)
    specs = [s for s in SPECS if not args.names or s.name in args.names]
    if args.names and len(specs) != len(args.names):
        ap.error(f"unknown model name; known: {[s.name for s in SPECS]}")
    os.makedirs(MODELS_DIR, exist_ok=True)
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"tokenizer size {TOKENIZER_SIZE}, vocab_size {VOCAB_SIZE}, mask id {MASK_ID}")
    for spec in specs:
        path = write_checkpoint(spec)
        stats = golden(spec, path)
        print(f"{spec.name}:")
        for k, v in stats.items():
            print(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
