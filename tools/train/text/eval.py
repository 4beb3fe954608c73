"""Measure the demo text checkpoint on its held-out sets with the PyTorch reference decoder.

    python tools/train/text/eval.py --model testdata/models/demo-text --heldout testdata/heldout/text

Reads only the saved directory (bf16 weights, tokenizer.json). For each decoding mode
(autoregressive = block size 1; block size 4 one token per forward; block size 4 with
confidence thresholds) it reports extraction field accuracy, record exact match and JSON
validity over heldout/schemas/NAME.jsonl, instruction exact match over
heldout/instructions.jsonl, and tokens per forward (answer tokens + the end token, over
forwards). Unscaffolded generation: engine/schema's scaffolded figures come from
`dlmstream infer --schema heldout/schemas --model DIR`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bdlm  # noqa: E402
import data  # noqa: E402

MODES = [  # name, block size, threshold
    ("autoregressive (block 1)", 1, None),
    ("block 4, 1 token/forward", 4, None),
    ("block 4, threshold 0.9", 4, 0.9),
    ("block 4, threshold 0.7", 4, 0.7),
]


def load(model_dir: str):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    lm = bdlm.new_lm(bdlm.lm_config_of(c), 0)
    bdlm.load_bf16(lm, load_file(os.path.join(model_dir, "model.safetensors")))
    lm.eval()
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    return lm, tok


def fields(gold: dict, got) -> int:
    if not isinstance(got, dict):
        return 0
    return sum(1 for k, v in gold.items() if k in got and got[k] == v and type(got[k]) is type(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="testdata/models/demo-text")
    ap.add_argument("--heldout", default="testdata/heldout/text")
    ap.add_argument("--limit", type=int, default=0, help="items per file (0: all)")
    ap.add_argument("--max-new", type=int, default=96)
    ap.add_argument("--json", default="", help="also write the figures here")
    ap.add_argument("--modes", default="0,1,2,3", help="indices into MODES to run")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lm, tok = load(args.model)

    ext = []
    for path in sorted(glob.glob(os.path.join(args.heldout, "schemas", "*.jsonl"))):
        name = os.path.basename(path)[:-len(".jsonl")]
        with open(path) as f:
            cases = [json.loads(l) for l in f if l.strip()]
        ext += [(name, c) for c in cases[:args.limit or None]]
    with open(os.path.join(args.heldout, "instructions.jsonl")) as f:
        ins = [json.loads(l) for l in f if l.strip()][:args.limit or None]

    results = []
    for mode, b, th in [MODES[int(i)] for i in args.modes.split(",")]:
        t0 = time.time()
        toks = fwds = 0
        gold_fields = ok_fields = exact = valid = 0
        for name, c in ext:
            p = tok.encode(bdlm.chat_prompt(c["input"], data.system_prompt(name))).ids
            out, f = bdlm.generate(lm, p, args.max_new, threshold=th, block_size=b)
            toks += len(out) + 1
            fwds += f
            text = tok.decode(out)
            try:
                got = json.loads(text)
                valid += 1
            except json.JSONDecodeError:
                got = None
            gold_fields += len(c["output"])
            ok_fields += fields(c["output"], got)
            exact += got == c["output"]
        ins_ok = 0
        for c in ins:
            p = tok.encode(bdlm.chat_prompt(c["input"])).ids
            out, f = bdlm.generate(lm, p, args.max_new, threshold=th, block_size=b)
            toks += len(out) + 1
            fwds += f
            ins_ok += tok.decode(out) == c["output"]
        r = {"mode": mode, "field_accuracy": ok_fields / gold_fields, "fields": f"{ok_fields}/{gold_fields}",
             "record_exact": f"{exact}/{len(ext)}", "json_valid": f"{valid}/{len(ext)}",
             "instruction_exact": f"{ins_ok}/{len(ins)}", "instruction_accuracy": ins_ok / max(1, len(ins)),
             "tokens": toks, "forwards": fwds, "tokens_per_forward": toks / fwds, "seconds": time.time() - t0}
        results.append(r)
        print(f"| {mode} | {100 * r['field_accuracy']:.1f}% ({r['fields']}) | {r['record_exact']} | {r['json_valid']} | "
              f"{100 * r['instruction_accuracy']:.1f}% ({r['instruction_exact']}) | {r['tokens_per_forward']:.2f} | "
              f"{r['seconds']:.0f} s |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
