#!/usr/bin/env python3
"""Per voice group / accent / variant WER from an eval.py --json file (issue 11).

    python tools/train/speech/eval.py --model M --heldout H --json /tmp/h.json
    python tools/train/speech/groups.py --heldout H --json /tmp/h.json [--by voice_group,accent,variant]

Joins eval.py's per-item hypotheses with the held-out manifest and prints, for every
value of each manifest field in --by, clips, WER and exact match of each decoding mode.
Fields missing from a manifest row are derived from "voice" (accent = before "+",
variant = after it, voice_group = voice_in_train).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from eval import MODES, wer_counts  # noqa: E402


def field(row, name):
    if name in row:
        v = row[name]
    elif name == "accent":
        v = row["voice"].partition("+")[0]
    elif name == "variant":
        v = row["voice"].partition("+")[2]
    elif name == "voice_group":
        v = "voice_in_train" if row.get("voice_in_train", True) else "voice_unseen"
    elif name == "reverb":
        v = None
    else:
        v = row.get(name)
    if name == "reverb":
        v = "reverb" if v else "dry"
    return str(v) if v != "" else "(plain)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--by", default="voice_group,accent,variant,reverb")
    args = ap.parse_args()
    rows = {json.loads(x)["audio"]: json.loads(x) for x in open(os.path.join(args.heldout, "manifest.jsonl"))}
    items = json.load(open(args.json))["items"]
    modes = [m for m, _ in MODES]
    for name in args.by.split(","):
        acc = {}
        for it in items:
            key = field(rows[it["audio"]], name)
            a = acc.setdefault(key, {m: [0, 0, 0] for m in modes} | {"n": 0})
            a["n"] += 1
            for m in modes:
                e, n = wer_counts(it["ref"], it[m])
                a[m][0] += e
                a[m][1] += n
                a[m][2] += int(e == 0)
        print(f"\n{name:<30} {'clips':>5}  " + "  ".join(f"{m + ' WER/exact':>22}" for m in modes))
        for key in sorted(acc):
            a = acc[key]
            cells = "  ".join(f"{a[m][0] / max(1, a[m][1]) * 100:9.2f}% / {a[m][2] / a['n'] * 100:5.1f}%    "
                              for m in modes)
            print(f"{key:<30} {a['n']:5d}  {cells}")


if __name__ == "__main__":
    main()
