#!/usr/bin/env python3
"""Synthetic speech data for the demo-speech checkpoint.

Text: template sentences over a fixed vocabulary (numbers, digit strings, times,
dates, smart-home commands, short sentences); lower-case words, no punctuation.

Audio: espeak-ng (voice, pitch, speed) -> sox resample to 16 kHz mono 16-bit.
Noise: white/pink/brown noise beds synthesized once by sox in repeatable mode
(-R); each clip gets a seeded random slice of one bed mixed in at a seeded
random SNR. Everything is a pure function of (seed, index), so the training set
and the held-out set are reproducible.

Training and held-out sets differ in
- seeds (text, voice choice, noise slice, SNR),
- pitch/speed grid: training uses pitch in {30,35,...,70} and speed in
  {140,145,...,185}; held-out uses off-grid pitch (odd values) and speeds,
  including 188-192 which training never sees,
- voices: held-out includes two voice+variant combinations that training never
  uses (HELDOUT_ONLY_VOICES).

Run as a script to write the held-out set:
    python tools/train/speech/data.py --heldout testdata/heldout/speech --n 210

Recipe v2 (issue 11, demo-speech-v2): many more voices. Training uses 6 of the 8
espeak-ng English accents (V2_TRAIN_ACCENTS) x the plain voice and 93 variants
(V2_TRAIN_VARIANTS), pitch 20..80, speed 120..200 wpm, sox reverb with random room
parameters on 65% of clips (cached with the clip); noise is added on the fly by
train.py. Two accents (V2_HELDOUT_ACCENTS) and seven variants (V2_HELDOUT_VARIANTS)
are never used in training; the voices held-out set uses only voices made of a held-out
accent and/or a held-out variant, none of which either checkpoint trained on:
    python tools/train/speech/data.py --kind voices --heldout testdata/heldout/speech-voices --n 200 --seed 4242
The v1 functions and names above are unchanged, so the v1 training cache and
testdata/heldout/speech regenerate exactly as before.
"""

import argparse
import hashlib
import io
import json
import os
import random
import subprocess
import wave

import numpy as np

SR = 16000
MAX_SECONDS = 3.2            # fixed pad length of the front end (320 mel frames)
MAX_SAMPLES = int(SR * MAX_SECONDS)

TRAIN_VOICES = [
    "en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-gb-x-rp+f2",
    "en-us+m5", "en-gb-scotland+f4", "en-029+m2", "en-us+f1", "en-gb+m7",
]
# Never used in training.
HELDOUT_ONLY_VOICES = ["en-us+f5", "en-gb+m4"]

TRAIN_PITCH = list(range(30, 71, 5))
TRAIN_SPEED = list(range(140, 186, 5))
HELDOUT_PITCH = [33, 41, 47, 53, 58, 62, 67]
HELDOUT_SPEED = [143, 152, 161, 168, 177, 188, 192]

# ---- recipe v2 (issue 11): voices
# espeak-ng 1.51 English accents with their own phoneme rules (gmw/*; the mbrola "mb-*"
# voices need the mbrola binary, which is not installed). "en" is the same voice as en-gb.
V2_ALL_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029",
                  "en-gb-x-gbcwmd", "en-us-nyc"]
V2_HELDOUT_ACCENTS = ["en-gb-x-gbcwmd", "en-us-nyc"]   # never in training (v1 or v2)
V2_TRAIN_ACCENTS = [a for a in V2_ALL_ACCENTS if a not in V2_HELDOUT_ACCENTS]
# Variants: espeak-ng-data/voices/!v (all of them except "Mr serious", whose name has a space).
V2_ALL_VARIANTS = [
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "AnxiousAndy", "Demonic", "Denis", "Diogo", "Gene",
    "Gene2", "Henrique", "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen",
    "RicishayMax", "RicishayMax2", "RicishayMax3", "Storm", "Tweaky", "UniRobot", "adam", "anika",
    "anikaRobot", "announcer", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "croak",
    "david", "ed", "edward", "edward2", "f1", "f2", "f3", "f4", "f5", "fast", "grandma", "grandpa",
    "gustave", "iven", "iven2", "iven3", "iven4", "john", "kaukovalta", "klatt", "klatt2", "klatt3",
    "klatt4", "klatt5", "klatt6", "linda", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "marcelo",
    "max", "michel", "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert",
    "robosoft", "robosoft2", "robosoft3", "robosoft4", "robosoft5", "robosoft6", "robosoft7",
    "robosoft8", "sandro", "shelby", "steph", "steph2", "steph3", "travis", "victor", "whisper",
    "whisperf", "zac"]
# Never in training (v1 or v2): two female, three male, two Klatt-synthesizer voices.
# f5 and m4 are also the unseen variants of testdata/heldout/speech.
V2_HELDOUT_VARIANTS = ["f5", "m4", "m6", "klatt3", "Andy", "steph", "edward"]
V2_TRAIN_VARIANTS = [v for v in V2_ALL_VARIANTS if v not in V2_HELDOUT_VARIANTS]
V2_PLAIN_FRAC = 0.15          # training clips with the accent's plain voice (no variant)
V2_PITCH = (20, 80)           # espeak-ng -p, uniform integers
V2_SPEED = (120, 200)         # espeak-ng -s (wpm), uniform integers
V2_REVERB_FRAC = 0.65         # training clips with sox reverb (held-out: 0.5)
V2_HELDOUT_REVERB_FRAC = 0.5

# ---------------------------------------------------------------- text

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
        "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORD_ONES = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
            "sixteenth", "seventeenth", "eighteenth", "nineteenth"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ROOMS = ["kitchen", "bedroom", "living room", "bathroom", "garage", "office", "hallway",
         "garden", "basement"]
DEVICES = ["lights", "lamp", "fan", "heater", "radio", "television", "oven", "speaker"]
OPENABLE = ["door", "window", "blinds", "curtains", "gate"]
NAMES = ["anna", "ben", "maria", "david", "sarah", "peter", "lucy", "tom", "emma", "john",
         "paul", "kate"]
CITIES = ["london", "paris", "berlin", "tokyo", "boston", "madrid", "rome", "denver",
          "chicago", "sydney"]
GENRES = ["jazz", "rock", "classical", "pop", "country", "piano"]
COLORS = ["red", "blue", "green", "yellow", "white", "black", "orange", "purple"]
ANIMALS = ["dog", "cat", "bird", "horse", "fish", "rabbit"]
OBJECTS = ["book", "car", "cup", "box", "ball", "phone", "key", "bag", "chair", "table"]
PLACES = ["on the table", "in the box", "under the chair", "near the door", "in the car",
          "on the shelf", "in the garden", "by the window"]
ADJS = ["big", "small", "old", "new", "happy", "quiet", "fast", "slow"]
VERBS = ["sees", "likes", "finds", "moves", "wants", "needs", "buys", "sells"]
TASKS = ["call mom", "buy milk", "feed the cat", "take the pills", "water the plants",
         "check the mail", "pay the bills", "walk the dog"]
UNITS = ["seconds", "minutes", "hours"]


def plural(w):
    return w + "es" if w.endswith("x") else w + "s"


def number_words(n):
    """0..999 in words, British style ("three hundred and twelve")."""
    if n < 20:
        return ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return TENS[t] + ("" if o == 0 else " " + ONES[o])
    h, r = divmod(n, 100)
    s = ONES[h] + " hundred"
    return s if r == 0 else s + " and " + number_words(r)


def ordinal_words(n):
    """1..31 as ordinals."""
    if n < 20:
        return ORD_ONES[n]
    t, o = divmod(n, 10)
    if o == 0:
        return TENS[t][:-1] + "ieth"
    return TENS[t] + " " + ORD_ONES[o]


def time_words(r):
    h = r.randint(1, 12)
    m = r.choice([0, 0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, r.randint(1, 59)])
    ampm = r.choice(["am", "pm", ""])
    k = r.random()
    if k < 0.15 and m == 30:
        s = "half past " + ONES[h]
    elif k < 0.15 and m == 15:
        s = "quarter past " + ONES[h]
    elif m == 0:
        s = number_words(h) + r.choice([" oclock", ""]) if ampm == "" else number_words(h)
    elif m < 10:
        s = number_words(h) + " oh " + ONES[m]
    else:
        s = number_words(h) + " " + number_words(m)
    if ampm:
        s += " " + ampm
    return s.strip()


def date_words(r):
    mo = r.randrange(12)
    d = r.randint(1, 28 if mo == 1 else 30)
    if r.random() < 0.5:
        return MONTHS[mo] + " " + ordinal_words(d)
    return "the " + ordinal_words(d) + " of " + MONTHS[mo]


def gen_number(r):
    k = r.random()
    if k < 0.35:
        return number_words(r.randint(0, 99))
    if k < 0.75:
        return number_words(r.randint(100, 999))
    return " ".join(ONES[r.randint(0, 9)] for _ in range(r.randint(3, 5)))


def gen_time(r):
    t = time_words(r)
    return r.choice([t, t, "at " + t, "it is " + t, "meet me at " + t])


def gen_date(r):
    d = date_words(r)
    return r.choice([d, d, "on " + d, "next " + r.choice(DAYS), "today is " + d,
                     r.choice(DAYS) + " " + MONTHS[r.randrange(12)] + " " + ordinal_words(r.randint(1, 28))])


def gen_command(r):
    k = r.randrange(14)
    room = r.choice(ROOMS)
    if k == 0:
        return f"turn {r.choice(['on', 'off'])} the {room} {r.choice(DEVICES)}"
    if k == 1:
        return f"set a timer for {number_words(r.randint(1, 60))} {r.choice(UNITS)}"
    if k == 2:
        return f"set an alarm for {time_words(r)}"
    if k == 3:
        return f"play some {r.choice(GENRES)} music"
    if k == 4:
        return f"call {r.choice(NAMES)}"
    if k == 5:
        return f"what is the weather in {r.choice(CITIES)}"
    if k == 6:
        return f"remind me to {r.choice(TASKS)}"
    if k == 7:
        return f"{r.choice(['open', 'close'])} the {room} {r.choice(OPENABLE)}"
    if k == 8:
        return f"set the temperature to {number_words(r.randint(10, 30))} degrees"
    if k == 9:
        return r.choice(["volume up", "volume down", "stop", "pause the music", "next song",
                         "lock the front door", "unlock the back door", "what time is it",
                         "cancel the timer", "good morning", "good night", "mute the speaker"])
    if k == 10:
        return f"dim the {room} lights to {number_words(r.choice(range(10, 101, 10)))} percent"
    if k == 11:
        return f"send a message to {r.choice(NAMES)}"
    if k == 12:
        return f"remind me on {date_words(r)}"
    return f"turn the {r.choice(DEVICES)} {r.choice(['on', 'off'])}"


def gen_sentence(r):
    k = r.randrange(6)
    if k == 0:
        return f"the {r.choice(ADJS)} {r.choice(ANIMALS)} is {r.choice(PLACES)}"
    if k == 1:
        return f"{r.choice(NAMES)} {r.choice(VERBS)} the {r.choice(COLORS)} {r.choice(OBJECTS)}"
    if k == 2:
        return f"the {r.choice(OBJECTS)} is {r.choice(COLORS)}"
    if k == 3:
        return f"{r.choice(NAMES)} lives in {r.choice(CITIES)}"
    if k == 4:
        return f"i have {number_words(r.randint(2, 20))} {plural(r.choice(OBJECTS))}"
    return f"{r.choice(NAMES)} and {r.choice(NAMES)} went to {r.choice(CITIES)} on {r.choice(DAYS)}"


GENERATORS = [(gen_number, 0.2), (gen_time, 0.15), (gen_date, 0.15), (gen_command, 0.3),
              (gen_sentence, 0.2)]


def gen_text(r):
    x = r.random()
    for g, w in GENERATORS:
        if x < w:
            return " ".join(g(r).split())
        x -= w
    return " ".join(GENERATORS[-1][0](r).split())


def vocabulary():
    """All words the generators can emit (for the model card)."""
    words = set()
    for lst in [ONES, TENS, ORD_ONES, MONTHS, DAYS, ROOMS, DEVICES, OPENABLE, NAMES, CITIES,
                GENRES, COLORS, ANIMALS, OBJECTS, PLACES, ADJS, VERBS, TASKS, UNITS]:
        for w in lst:
            words.update(w.split())
    words.update(plural(w) for w in OBJECTS)
    r = random.Random(0)
    for _ in range(20000):
        words.update(gen_text(r).split())
    words.discard("")
    return sorted(words)

# ---------------------------------------------------------------- audio


def reverb_effect(rv):
    """sox effect string for a reverb dict (None: dry). A 0.4 s pad lets the tail ring out;
    norm -1 keeps the wet mix from clipping."""
    if not rv:
        return ""
    return (f" pad 0 0.4 reverb {rv['reverberance']} {rv['hf_damping']} {rv['room_scale']} 100 "
            f"{rv['pre_delay']} {rv['wet_gain']} norm -1")


def synth(text, voice, pitch, speed, reverb=None):
    """espeak-ng -> sox: int16 mono 16 kHz samples (optionally through sox reverb)."""
    cmd = (f"espeak-ng --stdout -v {voice} -p {pitch} -s {speed} '{text}' | "
           f"sox -D -t wav - -t raw -r {SR} -e signed -b 16 -c 1 -"  # -D: no dither (deterministic)
           + reverb_effect(reverb))
    p = subprocess.run(cmd, shell=True, capture_output=True, check=True)
    return np.frombuffer(p.stdout, np.int16).copy()


def trim_silence(a, thresh=200, margin=800):
    """Cut leading/trailing near-silence, keeping a 0.05 s margin."""
    idx = np.nonzero(np.abs(a.astype(np.int32)) > thresh)[0]
    if len(idx) == 0:
        return a
    lo = max(0, idx[0] - margin)
    hi = min(len(a), idx[-1] + margin)
    return a[lo:hi]


_NOISE = {}


def noise_beds(cache_dir):
    """White/pink/brown noise, 30 s each, generated by sox in repeatable mode."""
    if _NOISE:
        return _NOISE
    os.makedirs(cache_dir, exist_ok=True)
    for kind in ["whitenoise", "pinknoise", "brownnoise"]:
        path = os.path.join(cache_dir, f"{kind}.raw")
        if not os.path.exists(path):
            subprocess.run(["sox", "-R", "-n", "-t", "raw", "-r", str(SR), "-e", "signed",
                            "-b", "16", "-c", "1", path, "synth", "30", kind, "vol", "0.5"],
                           check=True)
        _NOISE[kind] = np.fromfile(path, np.int16).astype(np.float32)
    return _NOISE


def add_noise(a, rng, snr_db, beds):
    """Mix a random slice of a random noise bed into int16 speech at snr_db."""
    kind = ["whitenoise", "pinknoise", "brownnoise"][rng.integers(3)]
    bed = beds[kind]
    off = rng.integers(0, len(bed) - len(a))
    n = bed[off:off + len(a)]
    x = a.astype(np.float32)
    ps = np.mean(x ** 2) + 1e-6
    pn = np.mean(n ** 2) + 1e-6
    n = n * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    y = np.clip(x + n, -32768, 32767)
    return y.astype(np.int16), kind


def item_params(split, seed, i):
    """(text, voice, pitch, speed) for item i of a split, deterministic."""
    r = random.Random(f"{split}-{seed}-{i}")
    text = gen_text(r)
    if split == "train":
        voice = r.choice(TRAIN_VOICES)
        pitch = r.choice(TRAIN_PITCH)
        speed = r.choice(TRAIN_SPEED)
    else:
        voice = r.choice(TRAIN_VOICES + HELDOUT_ONLY_VOICES * 2)
        pitch = r.choice(HELDOUT_PITCH)
        speed = r.choice(HELDOUT_SPEED)
    return text, voice, pitch, speed


def make_item(split, seed, i, max_samples=MAX_SAMPLES):
    """Clean clip for item i; re-synthesizes faster if it would exceed max_samples."""
    text, voice, pitch, speed = item_params(split, seed, i)
    while True:
        a = trim_silence(synth(text, voice, pitch, speed))
        if len(a) <= max_samples or speed > 300:
            return text, voice, pitch, speed, a[:max_samples]
        speed += 20


# ---- recipe v2


def v2_reverb(r, frac):
    """Random sox reverb parameters (None = dry) from random.Random r."""
    if r.random() >= frac:
        return None
    return {"reverberance": r.randint(10, 90), "hf_damping": r.randint(10, 90),
            "room_scale": r.randint(10, 100), "pre_delay": r.randint(0, 30),
            "wet_gain": r.choice([-6, -4, -3, -2, -1, 0])}


def v2_voice_groups():
    """Held-out voice groups of the voices set: {group: [voice, ...]}; no voice is used in training."""
    return {
        "unseen_accent_plain": list(V2_HELDOUT_ACCENTS),
        "unseen_accent_unseen_variant": [f"{a}+{v}" for a in V2_HELDOUT_ACCENTS for v in V2_HELDOUT_VARIANTS],
        "seen_accent_unseen_variant": [f"{a}+{v}" for a in V2_TRAIN_ACCENTS for v in V2_HELDOUT_VARIANTS],
    }


V2_GROUP_WEIGHTS = [("unseen_accent_plain", 0.2), ("unseen_accent_unseen_variant", 0.4),
                    ("seen_accent_unseen_variant", 0.4)]


def v2_train_voices():
    return [a for a in V2_TRAIN_ACCENTS] + [f"{a}+{v}" for a in V2_TRAIN_ACCENTS for v in V2_TRAIN_VARIANTS]


def item_params_v2(split, seed, i):
    """(text, voice, pitch, speed, reverb, group) for item i of a v2 split, deterministic.

    split "train"/"dev": training voices; split "voices": held-out voices only."""
    r = random.Random(f"v2-{split}-{seed}-{i}")
    text = gen_text(r)
    if split == "voices":
        x, group = r.random(), V2_GROUP_WEIGHTS[-1][0]
        for g, w in V2_GROUP_WEIGHTS:
            if x < w:
                group = g
                break
            x -= w
        voice = r.choice(v2_voice_groups()[group])
        frac = V2_HELDOUT_REVERB_FRAC
    else:
        accent = r.choice(V2_TRAIN_ACCENTS)
        voice = accent if r.random() < V2_PLAIN_FRAC else accent + "+" + r.choice(V2_TRAIN_VARIANTS)
        group = "train"
        frac = V2_REVERB_FRAC
    pitch = r.randint(*V2_PITCH)
    speed = r.randint(*V2_SPEED)
    return text, voice, pitch, speed, v2_reverb(r, frac), group


def make_item_v2(split, seed, i, max_samples=MAX_SAMPLES):
    """Clip for v2 item i: (params dict, int16 samples); re-synthesizes faster if too long."""
    text, voice, pitch, speed, rv, group = item_params_v2(split, seed, i)
    while True:
        a = trim_silence(synth(text, voice, pitch, speed, rv))
        if len(a) <= max_samples or speed > 320:
            return ({"text": text, "voice": voice, "pitch": pitch, "speed": speed, "reverb": rv,
                     "group": group}, a[:max_samples])
        speed += 20


def _v2_worker(job):
    split, seed, i = job
    p, a = make_item_v2(split, seed, i)
    return p["text"], p["voice"], a


def build_train_cache_v2(n, seed, cache_dir, log=print, workers=2):
    """Synthesize n v2 training clips once (a pool of `workers` processes; item i is a pure
    function of (seed, i), so the result does not depend on it); cached as one npz."""
    import multiprocessing as mp
    os.makedirs(cache_dir, exist_ok=True)
    key = hashlib.sha1(f"v2-{n}-{seed}-{V2_TRAIN_ACCENTS}-{V2_TRAIN_VARIANTS}-{V2_PITCH}-{V2_SPEED}-"
                       f"{V2_REVERB_FRAC}-{V2_PLAIN_FRAC}-{MAX_SAMPLES}".encode()).hexdigest()[:10]
    path = os.path.join(cache_dir, f"train-v2-{key}.npz")
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        return list(z["texts"]), z["audio"], z["offsets"], list(z["voices"])
    texts, voices, chunks, offsets = [], [], [], [0]
    jobs = [("train", seed, i) for i in range(n)]
    with mp.Pool(workers) as pool:
        for k, (text, voice, a) in enumerate(pool.imap(_v2_worker, jobs, chunksize=64)):
            texts.append(text)
            voices.append(voice)
            chunks.append(a)
            offsets.append(offsets[-1] + len(a))
            if (k + 1) % 2000 == 0:
                log(f"synth {k + 1}/{n}")
    audio = np.concatenate(chunks)
    np.savez(path + ".tmp.npz", texts=np.array(texts), audio=audio, offsets=np.array(offsets),
             voices=np.array(voices))
    os.replace(path + ".tmp.npz", path)
    return texts, audio, np.array(offsets), voices


def build_train_cache(n, seed, cache_dir, log=print):
    """Synthesize n clean training clips once; cached as one npz under cache_dir."""
    os.makedirs(cache_dir, exist_ok=True)
    key = hashlib.sha1(f"v1-{n}-{seed}-{TRAIN_VOICES}-{MAX_SAMPLES}".encode()).hexdigest()[:10]
    path = os.path.join(cache_dir, f"train-{key}.npz")
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        return list(z["texts"]), z["audio"], z["offsets"]
    texts, chunks, offsets = [], [], [0]
    for i in range(n):
        text, _, _, _, a = make_item("train", seed, i)
        texts.append(text)
        chunks.append(a)
        offsets.append(offsets[-1] + len(a))
        if (i + 1) % 2000 == 0:
            log(f"synth {i + 1}/{n}")
    audio = np.concatenate(chunks)
    np.savez(path + ".tmp.npz", texts=np.array(texts), audio=audio, offsets=np.array(offsets))
    os.replace(path + ".tmp.npz", path)
    return texts, audio, np.array(offsets)


def write_wav(path, a):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(a.astype("<i2").tobytes())


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").copy()


def write_heldout(out_dir, n, seed, cache_dir):
    os.makedirs(out_dir, exist_ok=True)
    beds = noise_beds(cache_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        text, voice, pitch, speed, a = make_item("heldout", seed, i)
        snr = float(np.round(rng.uniform(15, 30), 1))
        y, kind = add_noise(a, rng, snr, beds)
        name = f"{i + 1:04d}.wav"
        write_wav(os.path.join(out_dir, name), y)
        rows.append({"audio": name, "text": text, "voice": voice, "pitch": pitch,
                     "speed": speed, "noise": kind, "snr_db": snr,
                     "voice_in_train": voice in TRAIN_VOICES})
    with open(os.path.join(out_dir, "manifest.jsonl"), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return rows


def write_heldout_voices(out_dir, n, seed, cache_dir):
    """The v2 voices held-out set: only voices no checkpoint trained on, reverb on half the
    clips, every clip noisy (SNR 15-30 dB). Bit-exact reproducible (sox -D, seeded)."""
    os.makedirs(out_dir, exist_ok=True)
    beds = noise_beds(cache_dir)
    rng = np.random.default_rng(seed)
    train_voices = set(TRAIN_VOICES) | set(v2_train_voices())
    rows = []
    for i in range(n):
        p, a = make_item_v2("voices", seed, i)
        assert p["voice"] not in train_voices, p["voice"]
        snr = float(np.round(rng.uniform(15, 30), 1))
        y, kind = add_noise(a, rng, snr, beds)
        name = f"{i + 1:04d}.wav"
        write_wav(os.path.join(out_dir, name), y)
        accent, _, variant = p["voice"].partition("+")
        rows.append({"audio": name, "text": p["text"], "voice": p["voice"], "accent": accent,
                     "variant": variant, "voice_group": p["group"], "pitch": p["pitch"],
                     "speed": p["speed"], "reverb": p["reverb"], "noise": kind, "snr_db": snr,
                     "voice_in_train": False})
    with open(os.path.join(out_dir, "manifest.jsonl"), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["v1", "voices"], default="v1",
                    help="v1: testdata/heldout/speech (seed 777, n 210); voices: testdata/heldout/speech-voices "
                         "(seed 4242, n 200)")
    ap.add_argument("--heldout", default="testdata/heldout/speech")
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--cache", default="/tmp/dlmstream-speech-cache")
    args = ap.parse_args()
    if args.kind == "voices":
        rows = write_heldout_voices(args.heldout, args.n, args.seed, args.cache)
    else:
        rows = write_heldout(args.heldout, args.n, args.seed, args.cache)
    print(f"wrote {len(rows)} items to {args.heldout}")


if __name__ == "__main__":
    main()
