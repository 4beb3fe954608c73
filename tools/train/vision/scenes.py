"""Rendered scenes with template captions for the vision demo checkpoint.

A scene is a 48x48 RGB image cut into a 3x3 grid of 16x16 cells. The
cells form five regions that never overlap:

    left   = the left column (3 cells)      right  = the right column (3 cells)
    top    = the middle cell of the top row center = the middle cell
    bottom = the middle cell of the bottom row

A scene holds 1-3 groups. A group is `count` identical shapes (same shape,
same colour) inside one region: 1-3 shapes in a side column, exactly one in
a middle cell. Groups use different regions. Optionally a short label
(1-3 capital letters, or one digit) is drawn in black with PIL's default
bitmap font in a free middle cell.

The caption is a deterministic function of the scene: groups in the fixed
region order left, top, center, bottom, right, then the label, e.g.

    two red circles on the left and a blue square at the bottom, with the text KQ in the center

so exact match against the expected caption is meaningful. Pixel-level
details (shape size, position jitter inside a cell, colour and background
jitter, which cells of a column a group uses) vary with the seed but do not
change the caption.

Everything comes from random.Random(seed); training draws seeds from one
range and the held-out set from another (see SPLITS).
"""

import random

from PIL import Image, ImageDraw, ImageFont

CANVAS = 48
CELL = 16

COLORS = {
    "red": (220, 30, 30),
    "green": (30, 170, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 205, 20),
    "purple": (140, 40, 180),
    "orange": (245, 130, 20),
}
SHAPES = ["circle", "square", "triangle"]
REGION_ORDER = ["left", "top", "center", "bottom", "right"]
REGION_CELLS = {  # (row, col) cells of each region
    "left": [(0, 0), (1, 0), (2, 0)],
    "right": [(0, 2), (1, 2), (2, 2)],
    "top": [(0, 1)],
    "center": [(1, 1)],
    "bottom": [(2, 1)],
}
REGION_PHRASE = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "center": "in the center",
    "bottom": "at the bottom",
}
COUNT_WORDS = {2: "two", 3: "three"}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

PROMPT = "Describe the image."

# Seed ranges: training draws from [0, 10**9), the held-out set from [2*10**9, ...).
SPLITS = {"train": 0, "heldout": 2_000_000_000}

_FONT = None


def font():
    global _FONT
    if _FONT is None:
        _FONT = ImageFont.load_default_imagefont()  # the fixed 6x11 bitmap font
    return _FONT


def sample_scene(rng, label_prob=0.45):
    """Returns a scene dict: groups [(region, count, color, shape)] in caption
    order, cells {region: [(row, col), ...]}, label (str or None), label_region."""
    n_groups = rng.choices([1, 2, 3], weights=[30, 40, 30])[0]
    regions = rng.sample(REGION_ORDER, n_groups)
    groups = []
    cells = {}
    for region in regions:
        cap = len(REGION_CELLS[region])
        count = rng.randint(1, cap)
        color = rng.choice(list(COLORS))
        shape = rng.choice(SHAPES)
        groups.append((region, count, color, shape))
        cells[region] = sorted(rng.sample(REGION_CELLS[region], count))
    groups.sort(key=lambda g: REGION_ORDER.index(g[0]))
    label, label_region = None, None
    free_mid = [r for r in ("top", "center", "bottom") if r not in regions]
    if free_mid and rng.random() < label_prob:
        label_region = rng.choice(free_mid)
        if rng.random() < 0.3:
            label = rng.choice(DIGITS)
        else:
            label = "".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 3)))
    return {"groups": groups, "cells": cells, "label": label, "label_region": label_region}


def caption(scene):
    parts = []
    for region, count, color, shape in scene["groups"]:
        if count == 1:
            art = "an" if color[0] in "aeiou" else "a"
            phrase = f"{art} {color} {shape}"
        else:
            phrase = f"{COUNT_WORDS[count]} {color} {shape}s"
        parts.append(f"{phrase} {REGION_PHRASE[region]}")
    if len(parts) == 1:
        text = parts[0]
    else:
        text = ", ".join(parts[:-1]) + " and " + parts[-1]
    label = scene["label"]
    if label is not None:
        kind = "number" if label in DIGITS else "text"
        text += f", with the {kind} {label} {REGION_PHRASE[scene['label_region']]}"
    return text


def _jitter(rgb, rng, amount=20):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)


def render(scene, rng):
    bg = rng.randint(225, 255)
    img = Image.new("RGB", (CANVAS, CANVAS), (bg, bg, bg))
    draw = ImageDraw.Draw(img)
    for region, count, color, shape in scene["groups"]:
        for row, col in scene["cells"][region]:
            size = rng.randint(9, 13)
            x0 = col * CELL + 1 + rng.randint(0, CELL - 2 - size)
            y0 = row * CELL + 1 + rng.randint(0, CELL - 2 - size)
            x1, y1 = x0 + size - 1, y0 + size - 1
            fill = _jitter(COLORS[color], rng)
            if shape == "circle":
                draw.ellipse([x0, y0, x1, y1], fill=fill)
            elif shape == "square":
                draw.rectangle([x0, y0, x1, y1], fill=fill)
            else:
                draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
    if scene["label"] is not None:
        row = {"top": 0, "center": 1, "bottom": 2}[scene["label_region"]]
        width = 6 * len(scene["label"])
        # Glyph ink sits in rows 3..9 of the 11-pixel line (Q's tail in 10).
        x = CELL + (CELL - width) // 2 + rng.randint(-1, 1)
        x = max(CELL - 1, min(x, 2 * CELL - width + 1))
        y = row * CELL + rng.randint(-1, 3)
        ink = rng.randint(0, 50)
        draw.text((x, y), scene["label"], font=font(), fill=(ink, ink, ink))
    return img


def make(seed):
    """(PIL image, caption) for one seed."""
    img, cap, _ = make_full(seed)
    return img, cap


def make_full(seed, label_prob=0.45):
    """(PIL image, caption, scene) for one seed (label_prob other than the default only for
    the auxiliary vision pretraining)."""
    rng = random.Random(seed)
    scene = sample_scene(rng, label_prob)
    return render(scene, rng), caption(scene), scene


# Per-cell targets for the auxiliary vision loss used in training (not part of the checkpoint).
N_CELL_CLASSES = 2 + len(SHAPES) * len(COLORS)  # empty, label, shape x colour
CHARS = LETTERS + DIGITS
N_CHAR_CLASSES = 1 + len(CHARS)  # none, A..Z, 0..9
LABEL_CLASS = 1


def cell_targets(scene):
    """cells [9] (row-major 3x3) class ids and chars [9][3] label character ids (0 = none)."""
    cells = [0] * 9
    chars = [[0, 0, 0] for _ in range(9)]
    colors = list(COLORS)
    for region, _count, color, shape in scene["groups"]:
        k = 2 + SHAPES.index(shape) * len(colors) + colors.index(color)
        for row, col in scene["cells"][region]:
            cells[row * 3 + col] = k
    if scene["label"] is not None:
        i = 3 * {"top": 0, "center": 1, "bottom": 2}[scene["label_region"]] + 1
        cells[i] = LABEL_CLASS
        for j, ch in enumerate(scene["label"]):
            chars[i][j] = 1 + CHARS.index(ch)
    return cells, chars


def make_caption(seed, short_label=False):
    """The caption of make(seed) without rendering; short_label keeps only the label's first character."""
    scene = sample_scene(random.Random(seed))
    if short_label and scene["label"]:
        scene["label"] = scene["label"][0]
    return caption(scene)


def all_caption_words():
    """Every word that can occur in a caption (for tokenizer training)."""
    words = set(COLORS) | set(SHAPES) | {s + "s" for s in SHAPES} | set(COUNT_WORDS.values())
    words |= {"a", "an", "and", "with", "the", "text", "number", "on", "at", "in", "left", "right", "top", "center", "bottom"}
    return sorted(words)


if __name__ == "__main__":
    import sys

    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/scenes"
    import os

    os.makedirs(out, exist_ok=True)
    for i in range(12):
        img, cap = make(i)
        img.resize((192, 192), Image.NEAREST).save(f"{out}/{i:02d}.png")
        print(i, cap)
