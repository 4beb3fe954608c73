"""Write the held-out set: PNGs + manifest.jsonl from the held-out seed range (scenes.SPLITS).

    python tools/train/vision/make_heldout.py --out testdata/heldout/vision --n 240

Training draws seeds from [0, 10**9); these come from [2*10**9, 2*10**9 + n). Every image is a
fresh render (its own shape sizes, positions inside cells, colour and background jitter).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenes  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=240)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seed0 = scenes.SPLITS["heldout"]
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as f:
        for i in range(args.n):
            img, cap = scenes.make(seed0 + i)
            name = f"{i + 1:04d}.png"
            img.save(os.path.join(args.out, name), optimize=True)
            f.write(json.dumps({"image": name, "caption": cap, "seed": seed0 + i}) + "\n")


if __name__ == "__main__":
    main()
