#!/usr/bin/env python3
"""ASR front-end and WER goldens for the Go package asr/.

    pip install -r tools/reference/requirements.txt -r tools/reference/requirements-asr.txt
    python3 tools/reference/asr_goldens.py            # both
    python3 tools/reference/asr_goldens.py mel        # or one of: mel, normalizer

Writes (relative to the repository root)

  testdata/golden/asr/mel.json
      Whisper log-mel features from transformers' WhisperFeatureExtractor, numpy path
      (_np_extract_fbank_features, float64 STFT), for speech, silence, white noise, clipped
      audio, a 0.05 s clip, 128 mel bins, the demo-speech 3.2 s chunk, unpadded inputs and a
      truncated input. Each case stores its input waveform and its [n_mels, frames] features
      as base64 of gzip of float32 little-endian. Also the demo-speech training front end
      (tools/train/speech/model.py LogMel, torch.stft) on one case, and per case the max
      |diff| between the numpy path and transformers' torch path (informational).

  testdata/golden/asr/normalizer.json
      openai-whisper's EnglishTextNormalizer (PyPI openai-whisper, whisper/normalizers,
      MIT) over every held-out transcript, hand-written hard cases and 400 seeded random
      token soups over number words, digits and symbols, checked equal to
      transformers' copy of it, and tools/train/speech/eval.py's norm_words.

Deterministic: fixed seeds, gzip mtime 0; two runs give byte-identical files.
"""

import base64
import gzip
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import wave

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "testdata", "golden", "asr")
HELDOUT = os.path.join(ROOT, "testdata", "heldout", "speech")


def pack(a):
    """float array -> base64(gzip(float32 little-endian))."""
    raw = np.ascontiguousarray(np.asarray(a, dtype="<f4")).tobytes()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == 16000
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


# ---------------------------------------------------------------- mel


def mel_goldens():
    import torch
    import transformers
    from transformers import WhisperFeatureExtractor
    from transformers.models.whisper import feature_extraction_whisper as few

    torch.set_num_threads(2)
    sr = 16000
    rng = np.random.default_rng(20261201)
    speech = read_wav(os.path.join(HELDOUT, "0003.wav"))  # "seven three two", 16615 samples
    t = np.arange(sr, dtype=np.float64) / sr
    inputs = {
        "speech": speech,
        "silence": np.zeros(sr, dtype=np.float32),
        "noise": rng.uniform(-0.5, 0.5, sr).astype(np.float32),
        "clipped": np.clip(10.0 * np.sin(2 * np.pi * 440.0 * t), -1.0, 1.0).astype(np.float32),
        "short": speech[6000:6800].copy(),  # 0.05 s
    }

    def extractor(n_mels, n_samples):
        fe = WhisperFeatureExtractor(feature_size=n_mels)
        if n_samples is not None and n_samples != fe.n_samples:
            # transformers derives n_samples = chunk_length * sampling_rate; a 3.2 s chunk
            # is set directly (chunk_length=3.2 would make them floats).
            fe.n_samples = n_samples
            fe.nb_max_frames = n_samples // fe.hop_length
            fe.chunk_length = n_samples / sr
        return fe

    def run(fe, x, padded, torch_path):
        orig = few.is_torch_available
        few.is_torch_available = (lambda: True) if torch_path else (lambda: False)
        try:
            kw = dict(sampling_rate=sr, return_tensors="np")
            if not padded:
                kw.update(padding="longest", truncation=False)
            return fe(x, **kw)["input_features"][0]
        finally:
            few.is_torch_available = orig

    # name, input, n_mels, n_samples (None: transformers' default 30 s), padded;
    # "speech*4" is the speech clip tiled 4 times (66,460 samples, cut to 51,200).
    cases = [
        ("speech", "speech", 80, None, True),
        ("silence", "silence", 80, None, True),
        ("noise", "noise", 80, None, True),
        ("clipped", "clipped", 80, None, True),
        ("short", "short", 80, None, True),
        ("speech-128", "speech", 128, None, True),
        ("noise-128", "noise", 128, None, True),
        ("speech-demo", "speech", 80, 51200, True),
        ("clipped-demo", "clipped", 80, 51200, True),
        ("truncated-demo", "speech*4", 80, 51200, True),
        ("speech-unpadded", "speech", 80, None, False),
        ("short-unpadded", "short", 80, None, False),
    ]
    out_cases = []
    for name, inp, n_mels, n_samples, padded in cases:
        fe = extractor(n_mels, n_samples)
        base, _, tile = inp.partition("*")
        x = np.tile(inputs[base], int(tile or 1))
        feats = run(fe, x, padded, torch_path=False).astype(np.float32)
        torch_feats = run(fe, x, padded, torch_path=True).astype(np.float32)
        out_cases.append({
            "name": name,
            "input": base,
            "tile": int(tile or 1),
            "n_mels": n_mels,
            "n_samples": fe.n_samples,
            "padded": padded,
            "shape": list(feats.shape),
            "max_abs_diff_numpy_vs_torch": float(np.abs(feats - torch_feats).max()),
            "features": pack(feats),
        })
        print(f"mel {name:16s} {feats.shape} numpy-vs-torch {out_cases[-1]['max_abs_diff_numpy_vs_torch']:.2e}")

    # The demo-speech training front end (what the checkpoint was trained on).
    sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
    sys.path.insert(0, os.path.join(ROOT, "tools", "train", "speech"))
    import model as train_model  # noqa: E402

    cfg = json.load(open(os.path.join(ROOT, "testdata", "models", "demo-speech", "config.json")))
    fx = cfg["feature_extractor"]
    lm = train_model.LogMel(sr=fx["sampling_rate"], n_fft=fx["n_fft"], hop=fx["hop_length"],
                            n_mels=fx["n_mels"], max_frames=fx["max_frames"])
    with torch.no_grad():
        train = lm(lm.pad(inputs["speech"])[None])[0].numpy().astype(np.float32)
    ref = next(c for c in out_cases if c["name"] == "speech-demo")
    ref_feats = run(extractor(80, 51200), inputs["speech"], True, torch_path=False)
    train_case = {
        "name": "speech-demo-train",
        "input": "speech",
        "tile": 1,
        "n_mels": fx["n_mels"],
        "n_samples": fx["n_samples"],
        "padded": True,
        "shape": list(train.shape),
        "max_abs_diff_vs_speech_demo": float(np.abs(train - ref_feats).max()),
        "features": pack(train),
    }
    assert train_case["shape"] == ref["shape"]
    print(f"mel speech-demo-train vs numpy {train_case['max_abs_diff_vs_speech_demo']:.2e}")

    doc = {
        "generator": "tools/reference/asr_goldens.py",
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "reference": "WhisperFeatureExtractor._np_extract_fbank_features via __call__ (padding max_length "
                     "to n_samples with truncation; padded=false: padding longest, no truncation)",
        "encoding": "base64(gzip(float32 little-endian)); features row-major [n_mels, frames]",
        "inputs": {k: {"samples": len(v), "data": pack(v)} for k, v in inputs.items()},
        "cases": out_cases,
        "train_front_end": train_case,
    }
    write_json(os.path.join(OUT, "mel.json"), doc)


# ---------------------------------------------------------------- normalizer


def load_whisper_normalizers():
    """whisper/normalizers without running whisper/__init__.py (which needs tiktoken, numba...)."""
    spec = importlib.util.find_spec("whisper")
    if spec is None or spec.origin is None:
        sys.exit("openai-whisper is not installed: pip install --no-deps -r tools/reference/requirements-asr.txt")
    d = os.path.join(os.path.dirname(spec.origin), "normalizers")
    spec = importlib.util.spec_from_file_location("whisper_normalizers", os.path.join(d, "__init__.py"),
                                                  submodule_search_locations=[d])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["whisper_normalizers"] = mod
    spec.loader.exec_module(mod)
    return mod, os.path.join(d, "english.json")


HARD_CASES = [
    # numbers
    "three hundred and twelve", "one hundred and nine", "nine hundred and fifty nine",
    "two thousand and twenty four", "nineteen ninety nine", "twenty twenty", "one oh one",
    "one two three four", "zero", "oh", "double seven", "triple three five", "double oh seven",
    "seven million", "two point five million", "half a million", "a half million", "one and a half",
    "two and a half hours", "and a half", "one thousand two hundred and thirty four",
    "a hundred", "a thousand people", "minus five", "negative twelve degrees", "plus or minus three",
    "point five", "three point one four one five nine", "one point two point three",
    "twelve hundred", "fifteen hundred dollars", "eleven hundred and one", "ten million billion",
    "one decillion", "sixties", "the nineteen sixties", "twenties", "ones and twos", "sixes and sevens",
    "one", "ones", "one day", "it is one", "1", "1s", "1.5", "the 1 and only",
    # ordinals
    "twenty first", "the twenty first of may", "first", "second place", "third time", "fifth",
    "twelfth night", "twentieth century", "one hundredth", "thousandth", "millionth", "the forty second",
    "ninety ninth", "zeroth", "eighth", "ninth", "the 21st century", "32nd street", "274th", "1st 2nd 3rd 4th",
    "the 3 rd", "5 th avenue",
    # currencies and percentages
    "twenty dollars", "$20", "$20 million", "twenty million dollars", "one dollar", "two dollars and seven cents",
    "five pounds", "ten euros", "fifty cents", "$2 and 7 cents", "£5", "€10.50", "¢7", "$0.07", "$1,000,000",
    "90 percent", "ninety percent", "fifty per cent", "12%", "12 %", "a percent", "per cent", "100%!",
    "$", "costs $ 5", "%5", "dollars",
    # times
    "ten thirty five pm", "eight thirty", "eight oclock", "eight o'clock", "at 10:30 p.m.", "7:45 am",
    "half past seven", "quarter to nine", "noon", "2:00", "12:30:45",
    # digits, commas, periods
    "1,000", "12,345,678", "1,2,3", "3.14", "the year 2025.", "version 2.0.1", "192.168.0.1", "a.b.c",
    "e.g. this", "i.e.", "U.S.A.", "dr. smith", "mr. and mrs. jones", "st. louis", "10km", "5k run",
    "h2o", "covid19", "4x4", "mp3 player", "abc123def",
    # contractions and abbreviations
    "won't", "can't", "don't", "isn't", "let's go", "ain't", "y'all", "wanna go", "gotta go", "gonna go",
    "i'ma go", "imma go", "woulda", "coulda", "shoulda", "yes ma'am", "i'd been there", "she's been",
    "he'd gone", "it's gone", "we'd done", "he's got", "you're", "they're", "it's", "he'd", "we'll",
    "i've", "i'm", "isn 't", "it 's", "rock 'n' roll", "'tis", "o'clock", "the dog's bone", "james' car",
    "mr smith", "mrs smith", "dr who", "prof x", "capt hook", "gov brown", "gen lee", "sen jones",
    "rep smith", "pres lincoln", "rev king", "hon member", "asst manager", "assoc professor", "lt dan",
    "col mustard", "sammy davis jr", "sr engineer", "john doe esq", "st patrick's day", "Mr. O'Neil's",
    # fillers, brackets, parentheses
    "hmm i think so", "um uh well", "mhm", "mmm yes", "mm-hmm", "uh-huh", "[laughter] okay",
    "<unk> word", "(inaudible) yes", "hello (world) there", "[a] (b) <c> d", "nested [a [b] c]",
    "unbalanced (paren", "empty () parens", "<tag>", "[music]",
    # British spellings
    "colour", "the colours of the flag", "centre", "theatre", "organise", "organisation", "realise",
    "travelling", "cancelled", "favourite", "honour", "labour", "neighbour", "defence", "licence",
    "grey", "aluminium", "aeroplane", "catalogue", "programme", "analyse", "behaviour", "jewellery",
    "mum", "tyre", "cheque", "storey", "plough", "manoeuvre", "paediatric", "oestrogen",
    # punctuation, symbols, diacritics, unicode
    "Hello, World!", "What?!", "wait... what", "a -- b", "well—actually", "“quoted”", "‘single’",
    "semi;colon: here", "hash #tag", "a/b", "a & b", "a + b = c", "email@example.com", "under_score",
    "café", "naïve", "résumé", "Zoë", "São Paulo", "Ångström", "Łódź", "straße", "Œuvre", "Ærø",
    "Þór", "Đorđe", "piñata", "crème brûlée", "ﬁne", "ｆｕｌｌｗｉｄｔｈ", "１２３", "½", "x²", "™",
    "ΟΔΟΣ", "İstanbul", "naïve café's", "emoji 😀 here", "tab\tseparated", "line\nbreak",
    "non\u00a0breaking", "  leading and trailing  ", "", "   ", "MiXeD CaSe",
    # everything at once
    "On March 3rd, 2021, Dr. Smith paid $1,250.50 (about 90%) for twenty one colourful programmes.",
    "It's 10:30 p.m. and we've got three hundred and sixty five days!",
    "The U.K.'s centre-left party won 52.5 per cent of the vote [applause].",
    "I'd been there twice, but she's gone now -- hmm.",
    # quirks and corner cases
    "1.5", "ninth", "the ninth", "\u0661\u0662 apples", "\u0661.\u0665 million", "ΟΔΟΣ ΟΔΟΣ.", "a\x1cb",
    "0 oh", "point million", "minus dollars", "double twenty", "$005", "five hundred point", "two point",
    "one two twenty three", "1.2.3 point 4", "3 hundred", "1e5", "twenty-one", "ninety nine percent",
    "one point five million", "2.5 thousandths", "0 hundred", "oh hundred", "zero point zero one",
    "seven oh seven", "double double", "triple", "per", "percent", "five per", "five per cents",
    "and", "and a half and a half", "two and a half and a half", "hundred and", "a hundred and one",
    "thousands of people", "the hundreds", "millions and millions", "sixties music", "the 1990s",
    "£2 and ¢7", "$3 ¢50", "€1 and ¢123", "$0x5", "$0.5", "1 1s 11 s1", "1st", "s1", "$ $ 5", "..5",
    "a%%", "%%", "%", "$", ".", "5.", ".5", "version 1.", "i'm ok. you're ok.", "rock'n'roll",
    "O'Brien's", "twenty twenty one", "nineteen oh five", "two thousand and one", "ten to ten",
    "five past five", "one in a million", "a million to one", "minus one plus one", "minus minus two",
    "negative zero", "positive", "plus", "cents", "a cent", "one cent", "ten pounds fifty",
    "twelve fifteen", "quarter past three", "nine eleven", "seven eleven", "one oh oh", "oh oh seven",
]


def random_cases(n=400, seed=1):
    """Random token soups over number words, digits, symbols and contractions."""
    import random

    rnd = random.Random(seed)
    vocab = ("zero oh o one two three five nine ten eleven twelve nineteen twenty thirty ninety first "
             "second third fifth ninth twelfth twentieth ones twos sixes twenties hundred thousand million "
             "billion hundreds thousandth millionth and a half point double triple minus plus negative "
             "dollar dollars cents cent pound euros per cent percent the of st th nd rd s mr dr it's won't "
             "can't i'd she's colour centre organise travelling hmm um uh").split()
    vocab += ["1", "2", "10", "12", "100", "1,000", "0.5", "3.14", "5.", ".5", "$", "$5", "£2", "€3", "¢7",
              "%", "5%", ".", ",", "-", "(x)", "[y]", "<z>", "'", "é", "ΟΔΟΣ", "1st", "2nd", "90s", "10km"]
    out = []
    for _ in range(n):
        k = rnd.randint(1, 8)
        toks = [rnd.choice(vocab) for _ in range(k)]
        s = ""
        for t in toks:
            s += t + rnd.choice([" ", " ", " ", "", ", ", ". ", "  "])
        out.append(s.strip() if rnd.random() < 0.7 else s)
    return out


def normalizer_goldens():
    import transformers
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer as HFNormalizer

    mod, mapping_path = load_whisper_normalizers()
    whisper_norm = mod.EnglishTextNormalizer()
    mapping = json.load(open(mapping_path, encoding="utf-8"))
    hf_norm = HFNormalizer(mapping)

    def norm_words(s):  # copied from tools/train/speech/eval.py (importing it loads the model code)
        return re.sub(r"[^a-z' ]+", " ", s.lower()).split()

    transcripts = []
    with open(os.path.join(HELDOUT, "manifest.jsonl"), encoding="utf-8") as f:
        for line in f:
            transcripts.append(json.loads(line)["text"])
    seen, cases = set(), []
    for source, texts in (("heldout", transcripts), ("hard", HARD_CASES), ("random", random_cases())):
        for s in texts:
            if s in seen:
                continue
            seen.add(s)
            want = whisper_norm(s)
            if hf_norm(s) != want:
                sys.exit(f"transformers and whisper normalizers differ on {s!r}")
            cases.append({"source": source, "in": s, "english": want, "basic": " ".join(norm_words(s))})
    doc = {
        "generator": "tools/reference/asr_goldens.py",
        "reference": "openai-whisper EnglishTextNormalizer (whisper/normalizers/english.py), equal to "
                     "transformers' EnglishTextNormalizer with english.json on every case; basic: "
                     "tools/train/speech/eval.py norm_words joined by spaces",
        "openai_whisper": importlib.metadata.version("openai-whisper"),
        "transformers": transformers.__version__,
        "python": sys.version.split()[0],
        "cases": cases,
    }
    write_json(os.path.join(OUT, "normalizer.json"), doc)
    n_held = sum(c["source"] == "heldout" for c in cases)
    print(f"normalizer: {len(cases)} strings ({n_held} held-out transcripts)")


def write_json(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    which = sys.argv[1:] or ["mel", "normalizer"]
    for w in which:
        {"mel": mel_goldens, "normalizer": normalizer_goldens}[w]()
