#!/usr/bin/env python3
"""Regenerate the golden files for dlmstream/engine/tokenizer.

Reference implementations:
  * Hugging Face `tokenizers` (Rust, via its Python wheel) for encode/decode;
  * `jinja2` rendering tokenizer_config.json's chat_template with the
    environment transformers uses (ImmutableSandboxedEnvironment,
    trim_blocks, lstrip_blocks, loopcontrols, raise_exception,
    strftime_now).

Usage (from the repository root; pins in requirements-tokenizer.txt):

    python3 -m venv /tmp/tokvenv
    /tmp/tokvenv/bin/pip install -r tools/reference/requirements-tokenizer.txt
    /tmp/tokvenv/bin/python tools/reference/tokenizer_golden.py

Outputs (deterministic; re-running gives identical files):
  testdata/tokenizer/qwen3/golden.jsonl         text -> ids, decoded, decoded_skip
  testdata/tokenizer/qwen3/decode_golden.jsonl  ids -> decoded (incl. invalid UTF-8)
  testdata/tokenizer/qwen3/chat_golden.jsonl    messages -> rendered template
  testdata/tokenizer/qwen3/added_golden.jsonl   extra added tokens (lstrip/rstrip/
                                                single_word/normalized) -> ids
  testdata/tokenizer/qwen3/variants_golden.jsonl the Qwen3 file with GPT-2 ByteLevel,
                                                cl100k, an unknown regex, ignore_merges
"""

import gzip
import json
import os
import random
import sys
from datetime import datetime

import jinja2
import tokenizers
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import AddedToken, Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(ROOT, "testdata", "tokenizer", "qwen3")


def load_tokenizer():
    with gzip.open(os.path.join(DIR, "tokenizer.json.gz"), "rt", encoding="utf-8") as f:
        return Tokenizer.from_str(f.read())


FIXED = [
    "",
    " ",
    "  ",
    "\n",
    "\t",
    "a",
    "Hello, world!",
    "Hello world",
    " Hello world ",
    "hello   world",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX",
    # contractions
    "I'm here, you're there, we've done it, he'll go, she'd say, it's fine, don't.",
    "I'M HERE, YOU'RE THERE, WE'VE DONE IT, HE'LL GO, SHE'D SAY, IT'S FINE, DON'T.",
    "I'M here You'Re We'vE He'Ll She'D It'S DoN'T",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "''s '''t 'x 'ss ''",
    "rock'n'roll o'clock y'all",
    "'ſ 'K 'ﬅ",
    "'ſa 'ſt 'Sa 'sa 'LLa",
    # digits
    "0",
    "123",
    "1234567890",
    "3.14159265358979323846",
    "1,000,000 and 2.5e-10 and -42",
    "phone: +1 (555) 123-4567",
    "١٢٣٤٥ ۱۲۳ १२३४ 一二三 ①②③ Ⅻ ½",
    "12345678901234567890123456789012345678901234567890",
    "v1.2.3-rc4",
    "2026-11-27T13:37:00Z",
    # whitespace
    "a  b   c    d",
    "a\tb\t\tc",
    "line1\nline2\n\nline4",
    "line1\r\nline2\r\n\r\nline4",
    "trailing spaces   ",
    "   leading spaces",
    "\n\n\n",
    "   \n   \n",
    " \t \n \r\n  x",
    "x \n\n  y",
    "tabs\t\t\tand spaces   \t  mixed",
    "end with newline\n",
    "end with crlf\r\n",
    "\r",
    "\r\r\n\n\r",
    "word \u00a0nbsp\u00a0\u00a0x",
    "ideographic\u3000space",
    "em\u2003space\u2009thin\u200bzw",
    "\u2028line sep\u2029para sep",
    "\u0085nel",
    "\x0b\x0cvt ff",
    # unicode
    "café naïve résumé",
    "cafe\u0301 nai\u0308ve",  # NFD input, normalized to NFC
    "Å Å",
    "ﬁ ligature",
    "Ω ohm Ω",
    "Größe straße",
    "Здравствуй, мир!",
    "Γειά σου Κόσμε",
    "你好，世界！",
    "我爱自然语言处理。今天天气很好。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 텍스트입니다.",
    "مرحبا بالعالم",
    "السلام عليكم ورحمة الله",
    "नमस्ते दुनिया",
    "हिन्दी में लिखा गया वाक्य।",
    "שלום עולם",
    "สวัสดีชาวโลก",
    "Xin chào thế giới",
    "ᚠᛇᚻ᛫ᛒᛦᚦ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙",
    "∀x∈ℝ: x²≥0 ∑∫∂√∞≠≈",
    "→ ← ↑ ↓ ⇒ ⇔",
    "™ © ® § ¶ † ‡ • … ‰",
    "«quotes» “curly” ‘single’ „low“",
    # emoji
    "😀",
    "😀😃😄😁",
    "👍🏽 👍🏿 👋🏻",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈 flag",
    "🇺🇸🇯🇵🇩🇪",
    "❤️ ❤ ♥",
    "🧑🏽‍💻 coding",
    "text😀text",
    "emoji at end 🎉",
    # code
    "def foo(x):\n    return x * 2\n",
    "for i in range(10):\n\tprint(i)\n",
    "func main() {\n\tfmt.Println(\"hi\")\n}\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "const x = (a, b) => a + b; // arrow\n",
    "SELECT * FROM users WHERE id = 1;",
    "<html><body class=\"x\">Hi</body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "if (a && b || !c) { x += 1; } else { x -= 1; }",
    "    indented\n        more\n",
    "x=1;y=2;z=x+y",
    "a_b_c __init__ CamelCase snake_case kebab-case",
    "https://example.com/path?q=1&r=2#frag",
    "user@example.com",
    "C:\\Windows\\System32",
    "$HOME/.config ~/bin ../x ./y",
    "```python\nprint('hi')\n```",
    "// comment\n/* block */\n# hash",
    "!!!???...,,,;;;:::",
    "---===+++***",
    "()[]{}<>",
    # special tokens inside text
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nreasoning\n</think>\n\nanswer",
    "before<think>inside</think>after",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|fim_prefix|>def<|fim_suffix|>end<|fim_middle|>",
    "<|im_start|><|im_start|><|im_end|><|im_end|>",
    "x<|endoftext|>y",
    " <|im_end|> ",
    "<|vision_start|><|image_pad|><|vision_end|>",
    # invalid-looking / near misses
    "<|im_start",
    "im_start|>",
    "<|im_end|",
    "< |im_end|>",
    "<|IM_END|>",
    "<<|im_end|>>",
    "<|im_end|><",
    "<|unknown|>",
    "<thinking>",
    "</think",
    "\ufffd",
    "\ufffd\ufffd invalid replacement",
    "\x00\x01\x02 control",
    "\x7f del",
    "\ufeffBOM",
    "\u200d\u200c joiners",
    "\\xff\\xfe escaped",
    "\U0010ffff private \ue000",
    "a\u0300\u0301\u0302\u0303 stacked",
    "🏻 lone modifier",
    "\u202eRTL override",
    # long
    "a" * 300,
    " " * 100,
    "ab" * 150,
    "9" * 80,
    "😀" * 40,
    "你" * 60,
]

FRAGMENTS = [
    "the", " The", "and", " of", "tokenizer", " encoding", "Hello", "world",
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\t\n",
    "'s", "'T", "'re", "'VE", "'m", "'ll", "'D", "'",
    "0", "42", "1234567", "3.14", "-1", "1e9",
    "你好", "世界", "自然语言", "カタカナ", "한국", "مرحبا", "नमस्ते", "Ωμέγα", "Привет",
    "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "✨", "🔥",
    "def ", "return", "()", "{", "}", "[]", ";", "=>", "==", "!=", "&&", "//", "#",
    ".", ",", "!", "?", "...", "—", "-", "_", "\"", "`",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>",
    "é", "e\u0301", "ß", "ﬁ", "\u00a0", "\u3000",
]


def random_cases(n, seed=20261127):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 14)
        out.append("".join(rng.choice(FRAGMENTS) for _ in range(k)))
    return out


def random_char_cases(n, seed=7):
    """Random code points from several scripts, including whitespace."""
    rng = random.Random(seed)
    ranges = [(0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x17F), (0x370, 0x3FF),
              (0x400, 0x4FF), (0x600, 0x6FF), (0x900, 0x97F), (0x3040, 0x30FF),
              (0x4E00, 0x4FFF), (0xAC00, 0xACFF), (0x1F300, 0x1F64F),
              (0x2000, 0x206F)]
    out = []
    for _ in range(n):
        k = rng.randint(1, 30)
        s = []
        for _ in range(k):
            lo, hi = rng.choice(ranges)
            s.append(chr(rng.randint(lo, hi)))
        out.append("".join(s))
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def encode_golden(tok):
    texts = FIXED + random_cases(220) + random_char_cases(80)
    rows = []
    for t in texts:
        ids = tok.encode(t, add_special_tokens=False).ids
        rows.append({
            "text": t,
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        })
    return rows


def decode_golden(tok):
    """Id sequences that need not form valid UTF-8: single byte tokens,
    cut multi-byte characters, random ids including specials."""
    rng = random.Random(99)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    seqs = [[], [151643], [151644, 151645], [151667, 151668]]
    # Each of the 256 single-byte tokens alone.
    byte_ids = []
    for s in ["你", "😀", "👍🏽", "é", "नमस्ते"]:
        byte_ids.extend(tok.encode(s).ids)
    for i in range(len(byte_ids)):
        seqs.append(byte_ids[: i + 1])
        seqs.append(byte_ids[i:])
    for _ in range(120):
        k = rng.randint(1, 12)
        seqs.append([rng.randrange(vocab) for _ in range(k)])
    rows = []
    for ids in seqs:
        rows.append({
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        })
    return rows


def render_chat(template, messages, add_generation_prompt, enable_thinking):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    kwargs = {"messages": messages, "add_generation_prompt": add_generation_prompt}
    if enable_thinking is not None:
        kwargs["enable_thinking"] = enable_thinking
    return env.from_string(template).render(**kwargs)


def chat_golden():
    with open(os.path.join(DIR, "tokenizer_config.json"), encoding="utf-8") as f:
        template = json.load(f)["chat_template"]
    S = lambda c: {"role": "system", "content": c}
    U = lambda c: {"role": "user", "content": c}
    A = lambda c: {"role": "assistant", "content": c}
    T = lambda c: {"role": "tool", "content": c}
    convs = [
        [U("Hello")],
        [S("You are a helpful assistant."), U("Hi there")],
        [U("What is 2+2?"), A("4"), U("And 3+3?")],
        [S("sys"), U("q1"), A("a1"), U("q2"), A("a2")],
        [U("q"), A("<think>\nsome reasoning\n</think>\n\nThe answer.")],
        [U("q1"), A("<think>\nr1\n</think>\n\na1"), U("q2")],
        [U("q1"), A("<think>r</think>a"), U("q2"), A("<think>\n\nr2\n\n</think>\n\n\na2")],
        [S("first"), U("u"), S("second system")],
        [U("call a tool"), A("ok"), T("result 1"), T("result 2"), A("done")],
        [U("<tool_response>x</tool_response>"), A("a")],
        [U("q"), A("\n\nleading newlines")],
        [U("  spaced  \n"), A("  ")],
        [U(""), A("")],
        [U("你好"), A("你好！有什么可以帮你？"), U("讲个笑话")],
        [U("multi\nline\n\ninput"), A("mul</think>ti")],
        [{"role": "developer", "content": "ignored role"}, U("x")],
    ]
    rows = []
    for msgs in convs:
        for agp in (True, False):
            for et in (None, True, False):
                rows.append({
                    "messages": msgs,
                    "add_generation_prompt": agp,
                    "enable_thinking": et,
                    "rendered": render_chat(template, msgs, agp, et),
                })
    return rows


def added_golden(tok):
    """Extra added tokens exercising lstrip/rstrip/single_word/normalized."""
    extra = [
        {"content": "<mask>", "lstrip": True, "rstrip": False, "single_word": False, "normalized": False, "special": True},
        {"content": "[R]", "lstrip": False, "rstrip": True, "single_word": False, "normalized": False, "special": False},
        {"content": "qqw", "lstrip": False, "rstrip": False, "single_word": True, "normalized": False, "special": False},
        {"content": "café", "lstrip": False, "rstrip": False, "single_word": False, "normalized": True, "special": False},
        {"content": "<both>", "lstrip": True, "rstrip": True, "single_word": False, "normalized": False, "special": True},
    ]
    tok.add_tokens([AddedToken(e["content"], single_word=e["single_word"], lstrip=e["lstrip"],
                               rstrip=e["rstrip"], normalized=e["normalized"], special=e["special"])
                    for e in extra if not e["special"]])
    tok.add_special_tokens([AddedToken(e["content"], single_word=e["single_word"], lstrip=e["lstrip"],
                                       rstrip=e["rstrip"], normalized=e["normalized"], special=e["special"])
                            for e in extra if e["special"]])
    names = {e["content"] for e in extra}
    defs = [a for a in json.loads(tok.to_str())["added_tokens"] if a["content"] in names]
    texts = [
        "a <mask> b", "a   <mask>", "<mask>", "x<mask>y", "a\n\t <mask>\n",
        "[R]  z", "[R]\n\nz", "a [R] b", "[R]",
        "qqw", "a qqw b", "qqws", "sqqw", "qqw.", "(qqw)", "a  qqw", "qqwqqw", "_qqw", "qqw_",
        "1qqw", "qqwé", "éqqw",
        "café", "cafe\u0301", "a café b", "xcaféy",
        "a  <both>  b", "<both>", "\n<both>\n", "<mask><both>[R]qqw",
        "<|im_start|> <mask> <|im_end|>",
    ]
    rows = []
    for t in texts:
        ids = tok.encode(t, add_special_tokens=False).ids
        rows.append({"text": t, "ids": ids,
                     "decoded": tok.decode(ids, skip_special_tokens=False),
                     "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    return defs, rows


CL100K = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Variants of the Qwen3 tokenizer.json: (name, {top-level key: new value},
# {model key: new value}). The Go test applies the same patches.
VARIANTS = [
    ("gpt2_bytelevel", {"normalizer": None, "pre_tokenizer": {
        "type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}}, {}),
    ("gpt2_prefix_space", {"normalizer": None, "pre_tokenizer": {
        "type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}}, {}),
    ("cl100k_split", {"normalizer": None, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": CL100K}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}}, {}),
    ("unknown_regex", {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\p{L}+|\p{N}+|\s+|[^\s\p{L}\p{N}]+"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}}, {}),
    ("ignore_merges", {}, {"ignore_merges": True}),
]


def variants_golden():
    with gzip.open(os.path.join(DIR, "tokenizer.json.gz"), "rt", encoding="utf-8") as f:
        base = f.read()
    texts = FIXED + random_cases(60, seed=5)
    rows = []
    for name, top, model in VARIANTS:
        d = json.loads(base)
        d.update(top)
        d["model"].update(model)
        tok = Tokenizer.from_str(json.dumps(d))
        rows.append({"variant": name, "top": top, "model": model})
        for t in texts:
            ids = tok.encode(t, add_special_tokens=False).ids
            rows.append({"variant": name, "text": t, "ids": ids,
                         "decoded": tok.decode(ids, skip_special_tokens=False),
                         "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    return rows


def main():
    print("tokenizers", tokenizers.__version__, "jinja2", jinja2.__version__, file=sys.stderr)
    tok = load_tokenizer()
    write_jsonl(os.path.join(DIR, "golden.jsonl"), encode_golden(tok))
    write_jsonl(os.path.join(DIR, "decode_golden.jsonl"), decode_golden(tok))
    write_jsonl(os.path.join(DIR, "chat_golden.jsonl"), chat_golden())
    defs, rows = added_golden(load_tokenizer())
    write_jsonl(os.path.join(DIR, "added_golden.jsonl"), [{"added_tokens": defs}] + rows)
    write_jsonl(os.path.join(DIR, "variants_golden.jsonl"), variants_golden())


if __name__ == "__main__":
    main()
