#!/usr/bin/env python3
"""Evaluate a saved demo-speech checkpoint on the held-out set (uses only the saved dir).

    python tools/train/speech/eval.py --model testdata/models/demo-speech --heldout testdata/heldout/speech

Reports WER of (a) CTC greedy, (b) LM block decoding with threshold None (one token per
forward), (c) threshold 0.9, (d) threshold 0.7, each with tokens per forward
(= decoded transcript tokens + the closing <|im_end|>, divided by LM forwards).
"""

import argparse
import json
import os
import re
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import bdlm  # noqa: E402
import data  # noqa: E402
import model as M  # noqa: E402


def norm_words(s):
    return re.sub(r"[^a-z' ]+", " ", s.lower()).split()


def wer_counts(ref, hyp):
    """(word edit distance, reference word count)."""
    r, h = norm_words(ref), norm_words(hyp)
    prev = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        cur = [i] + [0] * len(h)
        for j in range(1, len(h) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
        prev = cur
    return prev[-1], len(r)


MODES = [("ctc_greedy", None), ("lm_t_none", None), ("lm_t0.9", 0.9), ("lm_t0.7", 0.7)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="testdata/models/demo-speech")
    ap.add_argument("--heldout", default="testdata/heldout/speech")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--max-new", type=int, default=48)
    ap.add_argument("--json", default="", help="write per-item hypotheses here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, fe, tok, cfg = M.load(args.model)
    n_audio = cfg["num_audio_tokens"]
    prompt = M.prompt_ids(tok, n_audio)
    rows = [json.loads(x) for x in open(os.path.join(args.heldout, "manifest.jsonl"))]
    if args.limit:
        rows = rows[: args.limit]

    stats = {m: {"err": 0, "words": 0, "tok": 0, "fwd": 0, "sec": 0.0, "exact": 0,
                 "groups": {}} for m, _ in MODES}
    out_rows = []
    with torch.no_grad():
        for row in rows:
            wav = data.read_wav(os.path.join(args.heldout, row["audio"])).astype("float32") / 32768.0
            t = time.time()
            feats = fe(fe.pad(wav)[None])
            enc = model.encode(feats)  # [1,T,D]
            t_enc = time.time() - t
            hyps = {"ctc_greedy": M.ctc_greedy(model.ctc_head(enc)[0])}
            secs = {"ctc_greedy": t_enc}
            fwds = {"ctc_greedy": 0}
            ntok = {"ctc_greedy": 0}
            pe = model.embed_prompt(torch.tensor(prompt)[None], enc)[0]  # [P,H]
            for m, th in MODES[1:]:
                t = time.time()
                ids, f = bdlm.generate(model.language_model, prompt, args.max_new, threshold=th, prefix_embeds=pe)
                secs[m] = time.time() - t + t_enc
                hyps[m] = tok.decode(ids, skip_special_tokens=True).strip()
                fwds[m], ntok[m] = f, len(ids) + 1
            group = "voice_in_train" if row.get("voice_in_train", True) else "voice_unseen"
            for m, _ in MODES:
                e, n = wer_counts(row["text"], hyps[m])
                s = stats[m]
                s["err"] += e
                s["words"] += n
                s["tok"] += ntok[m]
                s["fwd"] += fwds[m]
                s["sec"] += secs[m]
                s["exact"] += int(e == 0)
                g = s["groups"].setdefault(group, [0, 0])
                g[0] += e
                g[1] += n
            out_rows.append({"audio": row["audio"], "ref": row["text"], **hyps})

    print(f"items {len(rows)}  model {args.model}  heldout {args.heldout}")
    print(f"{'mode':<11} {'WER':>7} {'exact':>6} {'tok/fwd':>8} {'fwd/item':>8} {'s/item':>7}  per group WER")
    summary = {}
    for m, _ in MODES:
        s = stats[m]
        w = s["err"] / max(1, s["words"])
        tpf = s["tok"] / s["fwd"] if s["fwd"] else float("nan")
        groups = {k: v[0] / max(1, v[1]) for k, v in sorted(s["groups"].items())}
        summary[m] = {"wer": w, "exact": s["exact"] / len(rows), "tokens_per_forward": tpf,
                      "forwards_per_item": s["fwd"] / len(rows), "sec_per_item": s["sec"] / len(rows),
                      "groups": groups}
        gs = "  ".join(f"{k} {v * 100:.2f}%" for k, v in groups.items())
        print(f"{m:<11} {w * 100:6.2f}% {s['exact'] / len(rows) * 100:5.1f}% {tpf:8.2f} "
              f"{s['fwd'] / len(rows):8.2f} {s['sec'] / len(rows):7.3f}  {gs}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "items": out_rows}, f, indent=1)


if __name__ == "__main__":
    main()
