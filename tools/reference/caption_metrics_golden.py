#!/usr/bin/env python
"""Goldens for the COCO caption metrics in vision/ (cider.go, bleu.go, captok.go).

Writes testdata/golden/vision/metrics.json from pycocoevalcap 1.2 (pins in
requirements-caption-metrics.txt): its PTBTokenizer (Stanford CoreNLP 3.4.1, run
with `java`, which must be on PATH), Cider() (CIDEr-D: sigma 6, clipping, the
bigram-count length penalty) and Bleu(4) ("closest" reference length), corpus and
per image, on caption sets built here in code plus a sample of
testdata/heldout/vision/manifest.jsonl with synthetic candidates.

Each set is scored twice: "ptb" as COCOEvalCap does it (PTBTokenizer on the
references and on the candidates, then the scorers) and "split" with the raw
strings fed to the scorers, which split them on whitespace. The "tokenizer"
cases are single captions, each tokenized as one in the middle of the text with a
caption starting with a lower-case word after it (TokenizeCaption's contract); the
script checks that every set's captions tokenize the same way inside
pycocoevalcap's own batches.

No randomness beyond random.Random with fixed seeds; output is byte-identical
run to run.

    /work/venv/bin/python tools/reference/caption_metrics_golden.py
"""

import contextlib
import io
import json
import os
import random
import sys

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join(ROOT, "testdata/heldout/vision/manifest.jsonl")
OUT = os.path.join(ROOT, "testdata/golden/vision/metrics.json")

# (candidate, references): exact matches, partial overlaps, empty-ish candidates,
# repeated words, very long and very short candidates, punctuation and case.
FIXED = [
    ("a man riding a wave on top of a surfboard",
     ["A man riding a wave on top of a surfboard.", "A surfer rides a large wave in the ocean.",
      "a person on a surf board riding a wave", "A man surfing on a wave in the sea.",
      "The surfer is riding the big wave."]),
    ("A dog sitting on a couch.",
     ["A dog sitting on a couch.", "A brown dog lying on a sofa.", "a dog is resting on the couch"]),
    ("two cats sleeping on a bed",
     ["Two cats are sleeping on a bed.", "Two kittens curled up together on a blanket."]),
    ("a plate of food with broccoli and rice",
     ["A plate of food with broccoli, rice and chicken.", "A white plate topped with rice and vegetables.",
      "Broccoli and rice on a dinner plate.", "a meal of chicken rice and broccoli"]),
    ("", ["A red double decker bus on a city street.", "A bus driving down the road."]),
    (".", ["A train pulling into a station.", "A passenger train at the platform."]),
    ("!!! ??? ...", ["A giraffe standing next to a tree.", "A tall giraffe eating leaves."]),
    ("a", ["A cat.", "A small cat sitting on a chair."]),
    ("dog", ["A dog running through the grass.", "A black dog plays in a field."]),
    ("the the the the the the the the",
     ["The man is holding the umbrella in the rain.", "A man with an umbrella walks in the rain."]),
    ("a a a a a a a a a a a a", ["A woman sitting at a table with a laptop."]),
    ("a man a man a man a man on a horse",
     ["A man riding a horse on a beach.", "A person on horseback near the ocean."]),
    ("A very long caption that goes on and on about a kitchen with a stove, an oven, a sink, "
     "a refrigerator, cabinets, a window, a table, four chairs, a bowl of fruit, a kettle, "
     "and many other things that nobody asked about at all",
     ["A kitchen with a stove and a refrigerator.", "A clean kitchen with white cabinets.",
      "A small kitchen with an oven and a sink."]),
    ("a kitchen", ["A kitchen with a stove and a refrigerator in it.", "A clean white kitchen with wooden cabinets and a window."]),
    ("a bathroom with a toilet and a sink",
     ["A bathroom with a toilet and a sink.", "A small bathroom with a white toilet.",
      "A toilet next to a sink in a bathroom.", "a white bathroom with a sink and toilet",
      "The bathroom has a toilet, a sink and a mirror."]),
    ("A BATHROOM WITH A TOILET AND A SINK", ["a bathroom with a toilet and a sink"]),
    ("A Man's Hat Isn't Here -- It's Gone!", ["A man's hat is on the table.", "The man isn't wearing his hat."]),
    ("The children's toys (blocks) are on the floor.",
     ["Children's toys on the floor.", "Wooden blocks scattered across a rug (in a playroom)."]),
    ('A sign that says "STOP" at the corner.',
     ['A red "stop" sign on a street corner.', "A stop sign at an intersection.", "The sign reads 'STOP'."]),
    ("A black-and-white photo of a 10-year-old boy.",
     ["A black and white photo of a young boy.", "A black-and-white picture of a boy, about 10 years old."]),
    ("Two people; one is eating: pizza, pasta, and salad...",
     ["Two people eating pizza and salad.", "A couple shares a pizza; a salad is on the side."]),
    ("Is that a cat?! No, it's a dog!!",
     ["A dog that looks like a cat.", "A small dog sitting on the grass!"]),
    ("a clock tower at 3:30 p.m. in the U.S.",
     ["A clock tower showing 3:30.", "A tall clock tower in a U.S. city.", "The clock on the tower reads half past three."]),
    ("A $5 bill and 50% off coupons",
     ["A five dollar bill next to some coupons.", "Coupons for 50% off and a $5 bill."]),
    ("Mr. Smith walks his dog on Main St.",
     ["A man walking a dog down the street.", "Mr. Smith and his dog on Main St. near a shop."]),
    ("It's a red, white & blue flag.",
     ["An American flag waving.", "A red, white and blue flag on a pole."]),
    ("a banana", ["A banana.", "A yellow banana on a table.", "One ripe banana."]),
    ("a close up of a pizza on a table",
     ["A close up of a pizza on a table.", "A pizza with cheese and tomatoes on a wooden table.",
      "A large pizza sitting on top of a table.", "a pizza pie on a table", "Close-up of a cheese pizza."]),
    ("an elephant", ["An elephant walking in the dirt.", "A large elephant near a watering hole.", "an elephant in a zoo"]),
    ("zebra zebra zebra", ["Two zebras grazing in a field.", "A couple of zebras standing in the grass."]),
    ("a cat on a keyboard", ["A cat sitting on a computer keyboard.", "A cat lying on a laptop."]),
    ("purple", ["A bunch of purple flowers in a vase.", "Purple tulips in a glass vase."]),
    ("a group of people standing around a table with food on it in a restaurant at night",
     ["A group of people standing around a table.", "People gathered at a dinner table.",
      "Friends eating together in a restaurant."]),
    ("people at a table", ["A group of people standing around a table with food on it in a restaurant at night."]),
    ("a boat on the water", ["A boat on the water.", "A small boat floating on a lake.", "A sailboat on calm water."]),
    ("a boat on the water", ["A red car parked on the street.", "A car by the curb."]),
    ("a stop sign", ["A stop sign", "A stop sign.", "a STOP sign!", "A stop sign?"]),
    ("a man holding a tennis racket on a tennis court",
     ["A man holding a tennis racket on a tennis court.", "A tennis player getting ready to serve.",
      "A man on a tennis court with a racket.", "A person playing tennis.", "A tennis player in white on the court."]),
    ("a man holding a racket", ["A man holding a tennis racket on a tennis court."]),
    ("a skateboarder doing a trick", ["A skateboarder doing a trick in the air.", "A boy on a skateboard jumping."]),
    ("a pair of scissors", ["A pair of scissors on a desk.", "Scissors next to some paper.", "Orange scissors lying open."]),
    ("a laptop computer sitting on top of a desk",
     ["A laptop computer sitting on top of a desk.", "A laptop on a wooden desk next to a mug.", "A computer on a table."]),
    ("A laptop computer sitting on top of a desk.", ["a laptop computer sitting on top of a desk"]),
    ("cake cake cake cake", ["A birthday cake with candles.", "A chocolate cake on a plate.", "cake"]),
    ("a horse", ["horse", "a horse", "the horse", "a brown horse", "a horse in a field"]),
    ("café in São Paulo with Œuvre signs", ["A café in São Paulo.", "People sitting outside a café."]),
    ("a man in a (blue) shirt [left] and {right}",
     ["A man in a blue shirt.", "A man wearing a blue shirt (on the left)."]),
    ("a hot-dog stand on 5th Ave.", ["A hot dog stand on Fifth Avenue.", "A food cart on 5th Ave. in New York."]),
]

# Small sets for the edge cases.
EDGE = {
    "single": [("a dog on a couch", ["A dog on a couch.", "A dog sleeping on a sofa."])],
    "single-exact": [("a red bus", ["A red bus."])],
    "no-overlap": [
        ("a red bus", ["A cat sleeping on a bed.", "A kitten on a blanket."]),
        ("purple mountains", ["A man riding a bike.", "A cyclist on the road."]),
    ],
    "empty-candidates": [
        ("", ["A man on a horse."]),
        ("", ["A woman with an umbrella.", "A person holding an umbrella in the rain."]),
        ("a bowl of fruit", ["A bowl of fruit on a table.", "Apples and bananas in a bowl."]),
    ],
    "reflen-tie": [  # candidate of length 4, references of length 3 and 5: "closest" takes 3
        ("a cat on mats", ["a cat sits", "a cat on the mats"]),
        ("a dog in a park", ["a dog", "a dog in a big park", "dog in park"]),
    ],
}

# Single captions for the tokenizer, inside what TokenizeCaption reproduces; 400
# generated ones are added to these.
TOKENIZER = [
    "", " ", "a", "A", ".", "...", "!!!", "?!", "a dog.", "A dog. A cat.", "the dog.,", "the dog.)",
    "the park.the dog", "hello!world what?yes", "a dog..", "a dog....", "x...y", "c....", "a..",
    "Two dogs, playing in the park.", "A big, fluffy, white dog; a cat: sitting",
    "What is that? a dog!", "WHAT?! no!!", "the end?!", "?!? !? ?? ... ?.",
    "A man's dog (brown) isn't \"happy\" -- really...", "He said: 'yes'; OK?!",
    "a man's hat", "the men's room", "dogs' bowls", "james' car", "the dogs' bowl.",
    "it isn't a cat, it's a dog", "they're here and we'd go and i'll see", "you've got it",
    "we've.", "we've,", "he's here", "she'd go", "I'm", "i'M DON'T WON'T CAN'T",
    "shouldn't couldn't wouldn't ain't", "don't Don't", "can't won't cannot Cannot CANNOT",
    "gotta wanna gonna lemme gimme", "'tis 'twas", "'em 'cause 'til 'till", "rock 'n' roll",
    "in the '80s", "the 80's", "the 1990s", "it's 5 o'clock", "o'brien d'angelo l'oreal d'oh",
    "ma'am ne'er e'er o'er", "y'all", "the u.s.'s flag", "the man's.", "it's.", "isn't.",
    "dog’s don’t it’s ’90s ‘hi’", "“fancy quotes” ‘single’", "«quoted» ‹x›", "``double backtick''",
    "`single'", "''quoted''", "he said \"hi\"", "\"hi,\" he said.", "a sign that says \"no parking.\"",
    "a – b — c … d", "a - b", "a -- b", "a --- b", "h--i --j k---l", "-f g- 5- dogs",
    "a b-c d - e", "-5 degrees", "+1 and 1+1", "a t-shirt", "a two-story building",
    "a 10-year-old boy", "3-4 dogs", "x-ray", "e-mail", "black-and-white", "the-end.", "end-.",
    "a 3.5-inch screen", "1,000-year", "3.5-3.6 a-3.5", "a/b black/white 1/2 and/or", "1/2/3 a/b/c",
    "dog/cat-like 3/4-inch a/b. a/b, the a/b's", "a / b a/ b a /b", "a_b a__b dog_",
    "the year 2019.", "room 101.", "at 3:30.", "at 3:30 p.m.", "12:30pm 5pm 10km 3rd 2nd 1st",
    "3.5. 4,000.", "5.,", "3.5.,", "1,000,000", "1.2.3", ".5 inches", ",5", "5,",
    "costs $5.00 and 10%", "#1 fan", "#hash @name", "a # b", "a @ b", "fish & chips", "fish&chips",
    "A&W root beer", "AT&T S&P AB&CD", "A&w Ab&C", "a * b", "a ** b", "a+b", "a = b", "a <- b",
    "5° × © § ¥", "€5 and £3", "a dog 😀 here",
    "café naïve über São Paulo", "ÀB Ça ŒUVRE straße", "ΣΑΣ", "İstanbul",
    "tab\there", "a\u00a0b", "two\nlines",
    "(a) [b] {c}", "a (b c) d", "-LRB- x -RRB-", "-lrb-",
    "the letter a.", "the letter A. next", "vitamin C. next", "plan b.", "plan b. The end",
    "plan b. the end", "plan B. The end", "plan b.  the", "plan b. (The", "plan b. 5", "plan b.,",
    "plan b. The", "x b. The.", "x b. A", "a. b", "i.", "a b.c. The dog", "x c.d The dog",
    "a man in the U.S. Army", "in the U.S.", "e.g. a dog", "i.e., a cat", "a.m. p.m. u.k. u.s.a.",
    "the U.S.A. The", "x.y.", "u.s.a", "etc.", "etc. The dog", "a dog, etc. and a cat", "etc.,",
    "mr. and mrs. jones", "Mr. Smith", "Dr. Who", "st. louis", "on main st.", "5th Ave.",
    "a picture of a man.", "a man. a dog", "the wash.", "in la.", "to pa.", "the Wash.", "in La.",
    "the est.", "a sq. ft.", "a mass.", "the Mass.", "no.", "no. 5", "fig. 3", "the fig.", "mo.",
    "a co.", "Acme Co.", "Acme Inc.", "a rev.", "the gen.", "a col.", "the m.", "jan. feb. mon. tue.",
    "inc. corp. co. ltd. jr. sr. vs. mt. ft.", "a Mfg. plant", "a mfg. plant", "Pty. Ltd.",
    "wed.", "they wed.", "the sun.", "on sat.", "the dec.", "a dog in the sept.", "the end.",
    "no.5", "no.  5", "x b. He said", "x b. THE END", "x b. Mr. Smith", "x b. Mrs. Smith", "x b. Jan went",
    "x b. The.", "x b. The?", "dog,e-mail inc,-is st..-the.", "park...-p.m.s", "e-mail.parks", "t-shirt.Co",
    "3:30-does", "3.5-3.6", "A'rehe B'rex n'tthey", "Y'hello Y't Y'd Y'dcan y'all", "MA'AM ma'Am do'The",
    "US$5 A$ $5", "cannot've gonna.,  cannot., gonna're gonna3", "cannot's cannots", "'10 season", "the '10",
    "'10s", "'tWash.. 'tisn", "he'ss we'reb", "isn'tx", "a_b_c a_1 _a a_ ab_cd-ef", "a/b/c/d a-b-c/d a/b-1",
    ":30 a:30", "u.s.'s e.g., b.5", "ÀB. Éclair", "x b. Éclair dog",
    "A yellow circle at the top, a purple square in the center and three green circles on the right, "
    "with the text VHH at the bottom",
]


def generated_captions(n, seed=20261202):
    """Caption-like strings from a fixed vocabulary: cases, clitics, punctuation, quotes."""
    rng = random.Random(seed)
    vocab = """a an the A The An two three 2 3 10 100 1,000 3.5 12:30 man woman person people child
    children dog dogs cat cats bus train car street road table plate pizza sandwich banana giraffe zebra
    elephant horse sheep bird kite surfboard skateboard skis snow beach ocean water wave field grass tree
    building clock tower sign stop red blue green white black yellow brown orange purple large small big
    tall old young sitting standing riding holding eating walking flying playing lying parked on in of
    with next to near at top front behind under over and is are its his her their it's man's woman's
    dog's people's isn't doesn't can't don't they're there's black-and-white t-shirt hot-dog close-up
    two-story double-decker U.S. St. Mr. Dr. etc. a.m. p.m. TV NYC OK I I'm you're we've he'll she'd""".split()
    puncts = [".", ",", "!", "?", ";", ":", "...", " -", " --", "'s", ")", '"']
    out = []
    for _ in range(n):
        words = []
        for _ in range(rng.randint(1, 18)):
            w = rng.choice(vocab)
            r = rng.random()
            if r < 0.08:
                w = "(" + w
            elif r < 0.12:
                w = '"' + w
            elif r < 0.14:
                w = "'" + w
            if rng.random() < 0.15:
                w += rng.choice(puncts)
            words.append(w)
        s = " ".join(words)
        r = rng.random()
        if r < 0.5:
            s = s[0].upper() + s[1:] + "."
        elif r < 0.6:
            s = s.upper()
        out.append(s)
    return out


def tokenize_single(captions):
    """Tokenize each caption as one in the middle of pycocoevalcap's text, followed by a
    caption that starts with a lower-case word (TokenizeCaption's contract)."""
    lines = [{"caption": "x"}]
    for c in captions:
        lines += [{"caption": c}, {"caption": "x"}]
    out = PTBTokenizer().tokenize({0: lines})[0]
    return out[1::2]


def heldout_sample():
    rows = [json.loads(line) for line in open(MANIFEST, encoding="utf-8")]
    rows = rows[::6]  # 40 images
    rng = random.Random(20261201)
    colors = ["red", "green", "blue", "yellow", "purple", "orange"]
    out = []
    for k, row in enumerate(rows):
        ref = row["caption"]
        words = ref.split()
        kind = k % 10
        if kind == 0:
            cand = ref  # exact
        elif kind == 1:
            cand = ref.capitalize() + "."
        elif kind == 2:
            cand = ref.split(", with the text")[0]  # drops the text clause
        elif kind == 3:
            cand = " ".join(rng.choice(colors) if w in colors else w for w in words)
        elif kind == 4:
            cand = " ".join(words[:3])  # short: length penalty
        elif kind == 5:
            cand = ref + " and " + ref  # long: length penalty
        elif kind == 6:
            shuffled = words[:]
            rng.shuffle(shuffled)
            cand = " ".join(shuffled)
        elif kind == 7:
            cand = "A photo of " + ref.upper() + "!"
        elif kind == 8:
            cand = ""
        else:
            cand = " ".join(w for i, w in enumerate(words) if i % 3 != 1)
        out.append(("heldout-" + row["image"], cand, [ref]))
    return out


def score(gts, res):
    """pycocoevalcap's Cider() and Bleu(4) on {id: [strings]} dicts (same keys, same order)."""
    cider, cider_per = Cider().compute_score(gts, res)
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its counts
        bleu, bleu_per = Bleu(4).compute_score(gts, res, verbose=0)
    ids = list(gts.keys())
    return {
        "cider": float(cider),
        "cider_per_image": {i: float(v) for i, v in zip(ids, cider_per)},
        "bleu": [float(v) for v in bleu],
        "bleu_per_image": {i: [float(bleu_per[k][j]) for k in range(4)] for j, i in enumerate(ids)},
    }


def build_set(name, items):
    """items: [(id, candidate, [references])], scored by both paths."""
    items = sorted(items)
    ids = [i for i, _, _ in items]
    cands = {i: c for i, c, _ in items}
    refs = {i: r for i, _, r in items}

    gts_tok = PTBTokenizer().tokenize({i: [{"caption": r} for r in refs[i]] for i in ids})
    res_tok = PTBTokenizer().tokenize({i: [{"caption": cands[i]}] for i in ids})
    # The batch must tokenize each caption as it would alone (see tokenize_single).
    flat = [c for i in ids for c in [cands[i]] + refs[i]]
    alone = dict(zip(flat, tokenize_single(flat)))
    for i in ids:
        for raw, tok in [(cands[i], res_tok[i][0])] + list(zip(refs[i], gts_tok[i])):
            if alone[raw] != tok:
                sys.exit(f"{name}/{i}: {raw!r} tokenizes to {tok!r} in the batch, {alone[raw]!r} alone")

    ptb = score({i: gts_tok[i] for i in ids}, {i: res_tok[i] for i in ids})
    ptb["cands"] = {i: res_tok[i][0] for i in ids}
    ptb["refs"] = {i: gts_tok[i] for i in ids}
    split = score({i: refs[i] for i in ids}, {i: [cands[i]] for i in ids})
    return {"name": name, "ids": ids, "cands": cands, "refs": refs, "ptb": ptb, "split": split}


def main():
    fixed = [(f"fixed-{k:03d}", c, r) for k, (c, r) in enumerate(FIXED)]
    sets = [build_set("main", fixed + heldout_sample()), build_set("fixed", fixed)]
    for name, items in EDGE.items():
        sets.append(build_set(name, [(f"{name}-{k}", c, r) for k, (c, r) in enumerate(items)]))
    cases = TOKENIZER + generated_captions(400)
    toks = tokenize_single(cases)
    golden = {
        "about": "pycocoevalcap 1.2 (Stanford CoreNLP 3.4.1 PTBTokenizer), by tools/reference/caption_metrics_golden.py",
        "tokenizer": [{"in": s, "tokens": t} for s, t in zip(cases, toks)],
        "sets": sets,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    main_set = sets[0]
    print(f"wrote {OUT}: {len(main_set['ids'])} images in main, CIDEr-D {main_set['ptb']['cider']:.4f}, "
          f"BLEU-4 {main_set['ptb']['bleu'][3]:.4f}; {len(cases)} tokenizer cases")


if __name__ == "__main__":
    main()
