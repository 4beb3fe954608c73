"""Train the demo text checkpoint (SDAR format) and write its held-out sets.

    python tools/train/text/train.py --out testdata/models/demo-text --heldout testdata/heldout/text

One command: generates the data (seeded), trains the byte-level BPE tokenizer, trains the
block-diffusion LM on two CPU threads in three phases (copy tasks, reading tasks, the main mix;
see tools/train/README.md), writes the checkpoint (bf16) with train.log, and the held-out sets
(other seeds). Re-running gives the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bdlm  # noqa: E402
import data  # noqa: E402

TRAIN_SEED, TOKENIZER_SEED, HELDOUT_SEED = 1, 2, 1001
STRING_BUDGET, NUMBER_BUDGET = 12, 8  # engine/schema defaults
BLOCK = 4
# Scene records are all optional keys, mostly absent: placing a value under the key its
# region names is learnt on the canvas itself, so scenes get more canvases than the rest.
SCAFFOLD_FRAC = {"scene": 0.75}
COPY_FRAC = 0.15  # share of copy tasks kept in the main phase after the copy phase (--copy-steps)


def tokenizer_corpus(n: int):
    r = random.Random(TOKENIZER_SEED)
    # The system prompts repeat in every extraction example; weighting them like the data
    # lets BPE learn their merges, which shortens every extraction prompt about 4x.
    for name in data.SCHEMAS:
        for _ in range(n // 8):
            yield data.system_prompt(name)
    for _ in range(n):
        system, user, answer, _, _ = data.example(r)
        yield user
        yield answer
    # The spoken and pictured record kinds (transcripts, captions) in their models' words.
    for name, fn in data.MEDIA_EXTRACTORS.items():
        for _ in range(n // 16):
            yield data.system_prompt(name)
        for _ in range(n // 4):
            text, rec = fn(r)
            yield text
            yield json.dumps(rec)


# ---------------------------------------------------------------------------------------
# Encoding: plain answers and engine/schema scaffold canvases
# ---------------------------------------------------------------------------------------


class Encoder:
    def __init__(self, tok, mix=None):
        self.tok = tok
        self.mix = mix or {}  # data.training_example's fractions
        self._alts = {}

    def ids(self, text: str) -> list[int]:
        return self.tok.encode(text).ids

    def choice_width(self, name, prop, spec):
        key = (name, prop)
        if key not in self._alts:
            alts = spec["enum"] if "enum" in spec else [True, False]
            self._alts[key] = max(len(self.ids(json.dumps(a))) for a in alts)
        return self._alts[key]

    def canvas(self, name: str, rec: dict) -> tuple[list[int], list[bool]]:
        """The scaffold engine/schema lays out for a flat schema, filled with rec: fixed JSON
        text, slots holding the value tokens then pads. Returns (ids, is_slot)."""
        schema = data.ALL_SCHEMAS[name]
        ids, slot = [], []
        text = ""

        def flush():
            nonlocal text
            if text:
                t = self.ids(text)
                ids.extend(t)
                slot.extend([False] * len(t))
                text = ""

        text += "{"
        for i, (prop, spec) in enumerate(schema["properties"].items()):
            if i:
                text += ", "
            text += json.dumps(prop) + ": "
            v = rec.get(prop)
            types = spec.get("type")
            types = types if isinstance(types, list) else [types]
            if "enum" in spec or "boolean" in types:
                flush()
                w = self.choice_width(name, prop, spec)
                val = [] if v is None else self.ids(json.dumps(v))
                fill = val + [bdlm.PAD_ID] * (w - len(val))
                quoted = False
            elif "string" in types:
                text += '"'
                flush()
                w = min(STRING_BUDGET, spec.get("maxLength", STRING_BUDGET))
                val = [] if v is None else self.ids(v)
                fill = val + [bdlm.PAD_ID] * max(0, w - len(val))
                quoted = True
            else:
                flush()
                val = [] if v is None else self.ids(json.dumps(v))
                fill = val + [bdlm.PAD_ID] * max(0, NUMBER_BUDGET - len(val))
                quoted = False
            ids.extend(fill)
            slot.extend([True] * len(fill))
            if quoted:
                text += '"'
        text += "}"
        flush()
        return ids, slot

    def example(self, r: random.Random, scaffold_frac: float, phase: str = "main", block_pad: bool = False):
        """(ids, resp, group): prompt + answer + <|im_end|> (with block_pad, + <|endoftext|> up to
        the end of that block, scored, so block decoding learns to end cleanly); resp marks the
        noised positions. phase "copy": copy tasks only; "read": reading tasks (data.reading_task)
        and COPY_FRAC copy tasks; "main": the main mix and COPY_FRAC copy tasks."""
        system, name, rec, group = None, None, None, ""
        if phase == "copy" or r.random() < COPY_FRAC:
            user, answer = data.copy_task(r)
        elif phase == "read":
            user, answer = data.reading_task(r)
        else:
            system, user, answer, name, rec, group = data.training_example(r, **self.mix)
        prompt = self.ids(bdlm.chat_prompt(user, system))
        if name is not None and r.random() < SCAFFOLD_FRAC.get(name, scaffold_frac):
            ans, slot = self.canvas(name, rec)
        else:
            ans = self.ids(answer)
            slot = [True] * len(ans)
        ids = prompt + ans + [bdlm.IM_END_ID]
        resp = [False] * len(prompt) + slot + [True]
        if block_pad:
            tail = -len(ids) % BLOCK
            ids += [bdlm.PAD_ID] * tail
            resp += [True] * tail
        return ids, resp, group


def padded_groups(exs: list, batch: int, r: random.Random):
    """(group, ids [B,L], resp [B,L] bool) for exs, (ids, resp, kind) examples, grouped by kind
    and length into batches of `batch`, in shuffled order, right-padded to the batch's length."""
    exs.sort(key=lambda e: (e[2], len(e[0])))
    groups = [exs[i:i + batch] for i in range(0, len(exs), batch)]
    r.shuffle(groups)
    for g in groups:
        L = max(len(e[0]) for e in g)
        ids = torch.full((len(g), L), bdlm.PAD_ID, dtype=torch.long)
        resp = torch.zeros((len(g), L), dtype=torch.bool)
        for i, (x, m, _) in enumerate(g):
            ids[i, :len(x)] = torch.tensor(x)
            resp[i, :len(m)] = torch.tensor(m)
        yield g, ids, resp


def batches(enc: Encoder, r: random.Random, batch: int, scaffold_frac: float, pool: int = 16, phase=lambda: "main",
            block_pad: bool = False):
    """Endless (ids, resp, shared) batches. Within pools of `pool` batches, examples are grouped
    by kind (schema or instruction) and length, so a batch shares its system prompt (computed
    once, see bdlm.bd_forward) and carries little padding. phase() names the current step's
    phase (Encoder.example)."""
    while True:
        ph = phase()
        exs = [enc.example(r, scaffold_frac, ph, block_pad) for _ in range(batch * pool)]
        for _, ids, resp in padded_groups(exs, batch, r):
            L = ids.shape[1]
            shared = 0
            while shared < L and bool((ids[:, shared] == ids[0, shared]).all()) and not bool(resp[:, shared].any()):
                shared += 1
            yield ids, resp, shared


# ---------------------------------------------------------------------------------------
# Held-out sets
# ---------------------------------------------------------------------------------------


def write_kinds(out: str, schemas: dict, extractors: dict, r: random.Random, n: int) -> None:
    """NAME.json (the schema) and NAME.jsonl (n texts with their gold records) per kind."""
    os.makedirs(out, exist_ok=True)
    for name, fn in extractors.items():
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(schemas[name], f, indent=2)
            f.write("\n")
        with open(os.path.join(out, name + ".jsonl"), "w") as f:
            for _ in range(n):
                text, rec = fn(r)
                f.write(json.dumps({"input": text, "output": rec}, ensure_ascii=False) + "\n")


def write_heldout(out: str, n_per_schema: int, n_instr: int) -> None:
    r = random.Random(HELDOUT_SEED)
    write_kinds(os.path.join(out, "schemas"), data.SCHEMAS, data.EXTRACTORS, r, n_per_schema)
    with open(os.path.join(out, "instructions.jsonl"), "w") as f:
        for _ in range(n_instr):
            user, ans = data.instruction(r)
            f.write(json.dumps({"input": user, "output": ans}, ensure_ascii=False) + "\n")
    # The spoken and pictured kinds (transcripts and captions as the demo's speech and vision
    # checkpoints write them), in a directory of their own so the four text kinds' figures stay
    # comparable across retrains.
    write_kinds(os.path.join(out, "media"), data.MEDIA_SCHEMAS, data.MEDIA_EXTRACTORS, random.Random(HELDOUT_SEED + 1),
                n_per_schema)


# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/models/demo-text")
    ap.add_argument("--heldout", default="testdata/heldout/text")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--scaffold-frac", type=float, default=0.35, help="share of extraction answers written as "
                    "engine/schema's canvas (the rest plain JSON)")
    ap.add_argument("--extraction-frac", type=float, default=0.6, help="main mix (after copy tasks): extraction")
    ap.add_argument("--aux-frac", type=float, default=0.2, help="main mix: training-only field questions, "
                    "picking from a list, dates and currencies (data.aux_task); the rest are instructions")
    ap.add_argument("--variant-frac", type=float, default=0.3, help="share of extraction prompts whose schema "
                    "lists its enum values shuffled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tie", type=int, default=1, help="tie the LM head to the embeddings (1: yes); tied "
                    "embeddings make copying a value from the text an identity map")
    ap.add_argument("--copy-steps", type=int, default=1800, help="copy phase: this many steps of copy tasks only "
                    "(block size 1) before the --steps of the main mix, which keeps COPY_FRAC copy tasks; 0: off")
    ap.add_argument("--read-steps", type=int, default=2400, help="reading phase after the copy phase: this many "
                    "steps of reading tasks (data.reading_task: which listed value the text holds, enum fields, "
                    "currencies, dates; block size 1) before the main mix; 0: off")
    ap.add_argument("--block-pad", type=int, default=1, help="1: score <|endoftext|> pads after <|im_end|> to the "
                    "end of its block, so block decoding learns to end cleanly")
    ap.add_argument("--snapshot", default="", help="also write the checkpoint here every 400 steps (to watch a run)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(TRAIN_SEED)
    os.makedirs(args.out, exist_ok=True)
    write_heldout(args.heldout, 50, 200)

    t0 = time.time()
    tok = bdlm.train_tokenizer(tokenizer_corpus(20000), args.vocab, pattern=bdlm.WORD_PATTERN)
    enc = Encoder(tok, dict(extraction_frac=args.extraction_frac, aux_frac=args.aux_frac,
                            variant_frac=args.variant_frac))
    heads = args.hidden // 32
    cfg = bdlm.lm_config(vocab_size=tok.get_vocab_size(), hidden=args.hidden, layers=args.layers, heads=heads,
                         kv_heads=max(1, heads // 2), head_dim=32, intermediate=3 * args.hidden, block_size=4,
                         max_pos=512, tie=bool(args.tie))
    lm = bdlm.new_lm(cfg, TRAIN_SEED)
    n_params = sum(p.numel() for p in lm.parameters())
    decay = [p for n, p in lm.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in lm.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(TRAIN_SEED)
    r = random.Random(TRAIN_SEED)
    log = open(os.path.join(args.out, "train.log"), "w")
    head = (f"# demo-text: {n_params} parameters, vocab {cfg.vocab_size}, hidden {cfg.hidden_size}, layers "
            f"{cfg.num_hidden_layers}, heads {cfg.num_attention_heads}/{cfg.num_key_value_heads}, block 4; "
            f"batch {args.batch}, copy steps {args.copy_steps}, read steps {args.read_steps}, steps {args.steps}, "
            f"lr {args.lr}, threads {args.threads}\n# step,loss,lr,seconds\n")
    log.write(head)
    print(head, end="", flush=True)
    lm.train()
    ema = None
    cur = [0]
    pre = args.copy_steps + args.read_steps

    def phase():
        return "copy" if cur[0] < args.copy_steps else "read" if cur[0] < pre else "main"

    it = batches(enc, r, args.batch, args.scaffold_frac, phase=phase, block_pad=bool(args.block_pad))
    warmup = min(100, args.steps // 10)
    total = pre + args.steps
    for step in range(total):
        cur[0] = step
        ids, resp, shared = next(it)
        if step < pre:
            # Copy and reading phases: a constant rate after warm-up and block size 1
            # (next-token prediction forms the copy circuit fastest, measured in the closing
            # note of issue 5; the reading circuit likewise, tools/train/README.md).
            lr, ar = args.lr * min(1.0, (step + 1) / warmup), 1.0
        else:
            lr = bdlm.cosine_lr(step - pre, args.steps, args.lr, 0 if pre else warmup)
            ar = 0.25
        for g in opt.param_groups:
            g["lr"] = lr
        loss = bdlm.bd_loss(lm, ids, resp, gen, shared=shared, ar_frac=ar)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if args.snapshot and step % 400 == 399:
            lm.eval()
            bdlm.save_sdar(lm, tok, args.snapshot)
            lm.train()
        if step % 20 == 0 or step == total - 1:
            line = f"{step},{ema:.4f},{lr:.2e},{time.time() - t0:.0f}"
            log.write(line + "\n")
            log.flush()
            print(line, flush=True)
    lm.eval()
    bdlm.save_sdar(lm, tok, args.out)
    log.write(f"# done in {time.time() - t0:.0f} s\n")
    log.close()
    print(f"done in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
