"""Caption quality of a saved vision checkpoint on the held-out set.

    python tools/train/vision/eval.py --model testdata/models/demo-vision --heldout testdata/heldout/vision

Uses only the checkpoint directory (config.json, model.safetensors in bf16, tokenizer.json)
and the PNGs. Decoding modes (bdlm.generate, greedy):
    ar        block size 1, one token per forward (autoregressive)
    block-1   block size 4, one token per forward (threshold None)
    t=0.9     block size 4, commit every masked token with confidence >= 0.9
    t=0.7     block size 4, same with 0.7
Metrics: exact match of the decoded caption; token accuracy = matching token ids at the same
position / max(len(predicted), len(expected)), averaged over images; tokens per forward =
(caption tokens + the closing <|im_end|>) / forwards, summed over the set.
"""

import argparse
import json
import os
import sys
import time

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import bdlm  # noqa: E402
import model as vm  # noqa: E402

MODES = [("ar", 1, None), ("block-1", None, None), ("t=0.9", None, 0.9), ("t=0.7", None, 0.7)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--modes", default=",".join(m[0] for m in MODES))
    ap.add_argument("--json", default="")
    ap.add_argument("--show-errors", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, tok = vm.load(args.model)
    lm = model.language_model
    prompt = vm.prompt_ids(tok, model.n_image_tokens)
    items = [json.loads(l) for l in open(os.path.join(args.heldout, "manifest.jsonl"))]
    if args.limit:
        items = items[: args.limit]
    prefixes = []
    with torch.no_grad():
        for it in items:
            img = Image.open(os.path.join(args.heldout, it["image"])).convert("RGB")
            prefixes.append(model.embed(torch.tensor(prompt)[None], vm.pixels(img)[None])[0])

    wanted = args.modes.split(",")
    results = {}
    print(f"model {args.model}: {len(items)} held-out images, block_size {lm.config.block_size}")
    print("| decoding | exact match | token accuracy | tokens/forward | forwards | s/image |")
    print("|---|---|---|---|---|---|")
    for name, bs, thr in MODES:
        if name not in wanted:
            continue
        ok = 0
        acc = 0.0
        toks = 0
        fws = 0
        errors = []
        captions = []
        split = {"with label": [0, 0], "no label": [0, 0]}  # [correct, total]
        t0 = time.time()
        for it, pre in zip(items, prefixes):
            ref = tok.encode(it["caption"]).ids
            out, fw = bdlm.generate(lm, prompt, 64, threshold=thr, block_size=bs, prefix_embeds=pre)
            text = tok.decode(out)
            captions.append({"image": it["image"], "caption": text, "forwards": fw})
            ok += text == it["caption"]
            part = split["with label" if ", with the " in it["caption"] else "no label"]
            part[0] += text == it["caption"]
            part[1] += 1
            if text != it["caption"] and len(errors) < args.show_errors:
                errors.append((it["image"], it["caption"], text))
            acc += sum(a == b for a, b in zip(out, ref)) / max(len(out), len(ref))
            toks += len(out) + 1
            fws += fw
        n = len(items)
        r = {"exact_match": ok / n, "token_accuracy": acc / n, "tokens_per_forward": toks / fws,
             "forwards": fws, "tokens": toks, "seconds_per_image": (time.time() - t0) / n, "n": n,
             "exact_match_split": {k: {"correct": c, "n": m} for k, (c, m) in split.items()},
             "items": captions}
        results[name] = r
        print(f"| {name} | {ok}/{n} = {100 * ok / n:.1f}% | {100 * acc / n:.1f}% | {toks / fws:.2f} | {fws} | "
              f"{r['seconds_per_image']:.2f} |", flush=True)
        print("    exact match by subset: " + ", ".join(f"{k} {c}/{m}" for k, (c, m) in split.items()))
        for e in errors:
            print(f"    {e[0]}: want {e[1]!r}\n    {' ' * len(e[0])}  got  {e[2]!r}")
    if args.json:
        bdlm.write_json(args.json, results)


if __name__ == "__main__":
    main()
